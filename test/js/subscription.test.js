'use strict';

// Subscription (lib/subscription.js) over a stand-in transport: the order of outputs, the end,
// and `completed`, which is made only when first read — whether that is before or after the call
// ended, it settles the same way. No daemon needed.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Subscription } = require('../../lib/subscription');
const { CallError } = require('../../lib/errors');

// A subscription whose transport is driven by the test: returns it and its sink.
function fake(options) {
  let sink = null;
  const ctl = { cancelled: 0, pause() {}, resume() {}, cancel: () => ctl.cancelled++ };
  const sub = new Subscription((s) => {
    sink = s;
    return ctl;
  }, options);
  return { sub, sink, ctl };
}

test('outputs arrive in order, before and while next() waits; completed read after the end', async () => {
  const { sub, sink } = fake();
  sink.outputs([{ n: 1 }, { n: 2 }], 10);
  const waiting = (async () => {
    const seen = [];
    for await (const v of sub) seen.push(v.n);
    return seen;
  })();
  await new Promise((resolve) => setImmediate(resolve));
  sink.outputs([{ n: 3 }], 5);
  sink.completed();
  assert.deepEqual(await waiting, [1, 2, 3]);
  assert.equal(sub.completed, sub.completed, 'the same promise on every read');
  assert.equal(await sub.completed, undefined);
});

test('completed read before the end settles with the terminal result', async () => {
  const { sub, sink } = fake({ terminal: 'completed' });
  const completed = sub.completed;
  sink.outputs([{ text: 'a' }, { terminal: true, exitCode: 3 }], 10);
  sink.completed();
  assert.deepEqual(await completed, { exitCode: 3 });
  assert.equal(sub.completed, completed);
  const items = [];
  for await (const v of sub) items.push(v);
  assert.deepEqual(items, [{ text: 'a' }]);
});

test('an error ends the iterator after the outputs before it; completed rejects, read before or after', async () => {
  const early = fake();
  const before = early.sub.completed;
  early.sink.error(new CallError('gone', { code: 'NOT_FOUND' }));
  await assert.rejects(before, { code: 'NOT_FOUND' });

  const { sub, sink } = fake();
  sink.outputs([{ n: 1 }], 1);
  sink.error(new CallError('gone', { code: 'NOT_FOUND' }));
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const v of sub) seen.push(v.n);
    })(),
    { code: 'NOT_FOUND' },
  );
  assert.deepEqual(seen, [1]);
  await assert.rejects(sub.completed, { code: 'NOT_FOUND' });
});

test('break cancels the call; completed, never read or read late, rejects with CANCELLED unhandled by no one', async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on('unhandledRejection', onUnhandled);
  try {
    const quiet = fake();
    quiet.sink.outputs([{ n: 1 }], 1);
    for await (const _ of quiet.sub) break;
    assert.equal(quiet.ctl.cancelled, 1);

    const { sub, sink, ctl } = fake();
    sink.outputs([{ n: 1 }], 1);
    for await (const _ of sub) break;
    assert.equal(ctl.cancelled, 1);
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(sub.completed, { code: 'CANCELLED' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(unhandled, 0);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a pending next() ends with done when the call completes; a second concurrent next() is refused', async () => {
  const { sub, sink } = fake();
  const first = sub.next();
  await assert.rejects(sub.next(), /pending/);
  sink.completed();
  assert.deepEqual(await first, { value: undefined, done: true });
  assert.deepEqual(await sub.next(), { value: undefined, done: true });
});

test('waits made by the addon (lib/pending.js): settled in any order, slots reused, misuse refused', async () => {
  const native = require('../../lib/native');
  const { openPending, resolvePending, rejectPending } = require('../../lib/pending');
  const a = {};
  const b = {};
  const pa = openPending(a);
  const pb = openPending(b);
  assert.notEqual(a._slot, b._slot);
  rejectPending(b._slot, new Error('b failed'));
  resolvePending(a._slot, { value: 1, done: false });
  assert.deepEqual(await pa, { value: 1, done: false });
  await assert.rejects(pb, /b failed/);

  const c = {};
  const pc = openPending(c);
  assert.ok(c._slot === a._slot || c._slot === b._slot, 'a settled slot is reused');
  assert.throws(() => native.pendingWait(c._slot), { name: 'TypeError', message: /already has a wait/ });
  for (const bad of [-1, 1.5, 'x', undefined, 2 ** 32, 1e6]) {
    assert.throws(() => native.pendingWait(bad), TypeError, String(bad));
    assert.throws(() => native.pendingSettle(bad, 0, true), TypeError, String(bad));
  }
  resolvePending(c._slot, 'c');
  assert.equal(await pc, 'c');
  assert.throws(() => native.pendingSettle(c._slot, 0, true), { name: 'TypeError', message: /no wait/ });
});

test('many subscriptions waiting at once each get their own output', async () => {
  const subs = Array.from({ length: 50 }, () => fake());
  const firsts = subs.map(({ sub }) => sub.next());
  subs.forEach(({ sink }, i) => sink.output({ n: i }, 1));
  const got = await Promise.all(firsts);
  assert.deepEqual(got.map((r) => r.value.n), subs.map((_, i) => i));
  const ends = subs.map(({ sub }) => sub.next());
  subs.forEach(({ sink }) => sink.completed());
  for (const end of await Promise.all(ends)) assert.deepEqual(end, { value: undefined, done: true });
});
