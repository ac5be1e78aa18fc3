'use strict';

// The container actions of the typed API against the real daemon: kill (with and without a
// docker signal); and the `signal` call option, which must be an AbortSignal everywhere but in
// kill(), where a string or number names the docker signal.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Engine } = require('../../lib');
const { spec, released, cleanup, sleep } = require('./helpers');

const engine = new Engine();
test.after(async () => {
  await cleanup(engine);
  await engine.close();
});

// A shell as PID 1 that exits 43 on SIGTERM and 41 on SIGHUP; SIGKILL ends it with 137. (PID 1
// ignores the signals it has no handler for, so only the traps can end it before a KILL.)
const TRAPS = 'trap "exit 43" TERM; trap "exit 41" HUP; echo ready; while true; do sleep 0.05; done';

// Starts the container and resolves, once its traps are set (it printed "ready" once more: the
// logs keep the earlier runs' lines), with `exited`, the promise of its next exit.
const starts = new Map();
async function startTrapped(id) {
  const n = (starts.get(id) ?? 0) + 1;
  starts.set(id, n);
  const waited = engine.containers.wait(id, { condition: 'next-exit' });
  await engine.containers.start(id);
  let seen = 0;
  for await (const entry of engine.containers.logs(id, { follow: true })) {
    seen += entry.text.split('ready').length - 1;
    if (seen >= n) break;
  }
  return { exited: waited };
}

test('kill: a docker signal given as signal (name or number) reaches the process; the default is KILL', async () => {
  const { id } = await engine.containers.create(spec(['sh', '-c', TRAPS]));
  try {
    let { exited } = await startTrapped(id);
    assert.deepEqual(await engine.containers.kill(id, { signal: 'TERM' }), { ok: true });
    assert.equal((await exited).exitCode, 43, 'SIGTERM reached the trap');

    // A number, with the call's AbortSignal as abortSignal.
    ({ exited } = await startTrapped(id));
    const ac = new AbortController();
    assert.deepEqual(await engine.containers.kill(id, { signal: 1, abortSignal: ac.signal }), { ok: true });
    assert.equal((await exited).exitCode, 41, 'SIGHUP (1) reached the trap');

    // An AbortSignal as signal is the call's; the docker signal is the default, KILL.
    ({ exited } = await startTrapped(id));
    assert.deepEqual(await engine.containers.kill(id, { signal: new AbortController().signal }), { ok: true });
    assert.equal((await exited).exitCode, 137, 'SIGKILL');

    ({ exited } = await startTrapped(id));
    await engine.containers.kill(id, { signal: 'SIGHUP' });
    assert.equal((await exited).exitCode, 41, 'SIGHUP by its SIG name');

    ({ exited } = await startTrapped(id));
    await engine.containers.kill(id);
    assert.equal((await exited).exitCode, 137);

    // An aborted signal: nothing is sent.
    ({ exited } = await startTrapped(id));
    await assert.rejects(engine.containers.kill(id, { signal: 'TERM', abortSignal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal((await engine.containers.inspect(id)).State.Running, true);
    await engine.containers.kill(id, { signal: 'TERM' });
    assert.equal((await exited).exitCode, 43);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

test('the signal call option must be an AbortSignal: a TypeError before anything is sent, and no crash later', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60']));
  try {
    await engine.containers.start(id);
    const ac = new AbortController();
    // The protocol level: call() rejects, subscribe() and open() throw.
    await assert.rejects(engine.call('docker/container/kill', { containerId: id }, { signal: 'TERM' }), TypeError);
    await assert.rejects(engine.call('docker/container/kill', { containerId: id }, { signal: {} }), TypeError);
    assert.throws(() => engine.subscribe('docker/container/logs', { containerId: id, follow: true }, { signal: 'x' }), TypeError);
    assert.throws(() => engine.open('docker/container/attach', { containerId: id }, { signal: 9 }), TypeError);
    // The typed level throws, like it does for a bad container id.
    assert.throws(() => engine.containers.stop(id, { signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.restart(id, { signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.logs(id, { follow: true, signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.exec(id, 'true', { signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.attach(id, { signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.run(spec(['true']), { signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.create(spec(['true']), { signal: 'TERM' }), TypeError);
    assert.throws(() => engine.system.ping({ signal: 'TERM' }), TypeError);
    assert.throws(() => engine.containers.kill(id, { signal: 'TERM', abortSignal: 'INT' }), TypeError);
    assert.throws(() => engine.containers.kill(id, { signal: ac.signal, abortSignal: ac.signal }), TypeError);
    assert.throws(() => engine.containers.kill(id, { signal: 1.5 }), TypeError);
    assert.equal(engine.stats().calls, 0, 'a call was started');
    // Had a kill been sent, its answer would arrive now (and the container would be gone).
    await sleep(300);
    assert.equal((await engine.containers.inspect(id)).State.Running, true, 'a kill reached the daemon');
    // Other realms' and polyfilled signals pass the duck-typed check.
    const foreign = { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };
    assert.equal((await engine.system.ping({ signal: foreign })).ok, true);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});
