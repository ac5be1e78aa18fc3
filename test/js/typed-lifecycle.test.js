'use strict';

// The container actions of the typed API against the real daemon: kill (with and without a
// docker signal), stop, restart, stats and resize; and the `signal` call option, which must be an
// AbortSignal everywhere but in kill(), where a string or number names the docker signal.

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

test('the signal call option must be an AbortSignal (and highWaterMark a positive number): a TypeError before anything is sent, and no crash later', async () => {
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
    // A highWaterMark that is not a positive number would turn backpressure off: refused too.
    for (const highWaterMark of ['1024', Number.NaN, 0, -1, {}]) {
      assert.throws(() => engine.subscribe('docker/container/logs', { containerId: id, follow: true }, { highWaterMark }), TypeError);
      assert.throws(() => engine.open('docker/container/attach', { containerId: id }, { highWaterMark }), TypeError);
      assert.throws(() => engine.containers.logs(id, { follow: true, highWaterMark }), TypeError);
    }
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

test('stop: the stop signal, SIGKILL after timeout, and changed: false when stopped already', async () => {
  const { id } = await engine.containers.create(spec(['sh', '-c', TRAPS]));
  const { id: deaf } = await engine.containers.create(spec(['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.05; done']));
  try {
    const { exited } = await startTrapped(id);
    assert.deepEqual(await engine.containers.stop(id, { timeout: 30 }), { ok: true, changed: true });
    assert.equal((await exited).exitCode, 43, 'the stop signal (TERM) reached the trap');
    assert.deepEqual(await engine.containers.stop(id), { ok: true, changed: false });

    // A process that ignores TERM is killed once the timeout has passed.
    const { exited: deafExited } = await startTrapped(deaf);
    const t0 = Date.now();
    assert.deepEqual(await engine.containers.stop(deaf, { timeout: 1 }), { ok: true, changed: true });
    assert.ok(Date.now() - t0 >= 900, `stopped after ${Date.now() - t0} ms, before the 1 s timeout`);
    assert.equal((await deafExited).exitCode, 137);
  } finally {
    await engine.containers.remove(id, { force: true });
    await engine.containers.remove(deaf, { force: true });
  }
  await released(engine);
});

test('restart: the container runs again, started anew', async () => {
  const { id } = await engine.containers.create(spec(['sh', '-c', TRAPS]));
  try {
    await startTrapped(id);
    const before = (await engine.containers.inspect(id)).State;
    assert.equal(before.Running, true);
    const exited = engine.containers.wait(id, { condition: 'next-exit' });
    assert.deepEqual(await engine.containers.restart(id, { timeout: 5 }), { ok: true });
    assert.equal((await exited).exitCode, 43, 'restart stopped it with the stop signal');
    const after = (await engine.containers.inspect(id)).State;
    assert.equal(after.Running, true);
    assert.notEqual(after.StartedAt, before.StartedAt);
    assert.notEqual(after.Pid, before.Pid);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

test('stats: one sample with stream: false, and a stream of samples', async () => {
  const { id } = await engine.containers.create(spec(['sh', '-c', 'while true; do :; done']));
  try {
    await engine.containers.start(id);
    const samples = [];
    for await (const sample of engine.containers.stats(id, { stream: false })) samples.push(sample);
    assert.equal(samples.length, 1);
    const [one] = samples;
    assert.equal(one.id, id);
    assert.ok(Number.isFinite(Date.parse(one.read)), one.read);
    assert.equal(typeof one.memory_stats.usage, 'number');
    assert.ok(one.memory_stats.usage > 0, 'memory usage');
    assert.equal(typeof one.cpu_stats.cpu_usage.total_usage, 'number');
    assert.ok(one.cpu_stats.cpu_usage.total_usage > 0, 'cpu usage');
    assert.ok(one.pids_stats.current >= 1);

    // A stream: samples about once a second, the busy loop's CPU time growing; break releases it.
    const stream = [];
    for await (const sample of engine.containers.stats(id)) {
      stream.push(sample);
      if (stream.length === 3) break;
    }
    assert.ok(Date.parse(stream[2].read) > Date.parse(stream[1].read));
    assert.ok(stream[2].cpu_stats.cpu_usage.total_usage > stream[1].cpu_stats.cpu_usage.total_usage, 'cpu time grows');
    await released(engine, 'stats stream released after break');
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});

test('resize: a TTY container sees its new size', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60'], { tty: true }));
  try {
    await engine.containers.start(id);
    // The container's TTY is PID 1's stdin (an exec gets a terminal of its own).
    const size = async () => (await engine.containers.exec(id, 'stty size < /proc/1/fd/0')).stdout;
    assert.deepEqual(await engine.containers.resize(id, { cols: 123, rows: 45 }), { ok: true });
    assert.equal(await size(), '45 123\n');
    await engine.containers.resize(id, { cols: 80, rows: 24 });
    assert.equal(await size(), '24 80\n');
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});
