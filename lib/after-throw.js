'use strict';

/**
 * Runs `rest` — the rest of a native delivery, after a listener threw from inside it — so that
 * what the addon will never send again (a call's end, its close) still arrives. A listener that
 * throws again there is reported as uncaught on its own, on the next tick; the caller rethrows
 * the first error itself.
 * @param {() => void} rest
 */
function deliverRestAfterThrow(rest) {
  try {
    rest();
  } catch (later) {
    process.nextTick(() => {
      throw later;
    });
  }
}

module.exports = { deliverRestAfterThrow };
