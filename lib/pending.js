'use strict';

// The promise a waiting next() returns, made and settled by the addon (cpp/node/pending.h).
//
// Why not `new Promise(...)`: its resolving functions (two closures and their context) live on
// the JS heap as long as the wait does. A follow waits between every two lines, so with hundreds
// of follows open those ~150 bytes each are what survives every scavenge, and V8 grows the young
// generation for them. A promise made natively is the promise alone.
//
// A wait is identified by a slot number, reused once settled; the addon keeps one deferred per
// slot for this environment (each worker has its own module instance and its own table).

const native = require('./native');

const freeSlots = [];
let slotCount = 0;

/**
 * Opens a wait: its slot number is written into `holder._slot`.
 * @returns {Promise<any>} pending until the slot is settled, exactly once, with resolvePending or
 * rejectPending.
 */
function openPending(holder) {
  const slot = freeSlots.length > 0 ? freeSlots.pop() : slotCount++;
  const promise = native.pendingWait(slot);
  holder._slot = slot;
  return promise;
}

/** Fulfils the wait of `slot` with `value`; the slot is free again. */
function resolvePending(slot, value) {
  native.pendingSettle(slot, value, true);
  freeSlots.push(slot);
}

/** Rejects the wait of `slot` with `reason`; the slot is free again. */
function rejectPending(slot, reason) {
  native.pendingSettle(slot, reason, false);
  freeSlots.push(slot);
}

module.exports = { openPending, resolvePending, rejectPending };
