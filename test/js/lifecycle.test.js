'use strict';

// Resource lifetime: cancelled calls release their docker connections, run kills what it started,
// and GC, worker threads and process exit never crash or hang with calls in flight.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { Engine } = require('../../lib');
const { spec, released, cleanup, waitFor, sleep, runChild, LIB, LABELS } = require('./helpers');

const engine = new Engine();
test.after(async () => {
  await cleanup(engine);
  await engine.close();
});

test('break out of a logs follow: the connection is released, the container untouched', async () => {
  const { id } = await engine.containers.create(spec(['sh', '-c', 'while true; do echo tick; sleep 0.01; done']));
  try {
    await engine.containers.start(id);
    let n = 0;
    for await (const entry of engine.containers.logs(id, { follow: true })) {
      assert.equal(entry.text, 'tick\n');
      if (++n === 5) break;
    }
    await released(engine, 'logs follow released after break');
    assert.equal((await engine.containers.inspect(id)).State.Running, true);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});

test('an aborted run (signal) and a broken-off run kill and remove their containers', async () => {
  const ac = new AbortController();
  const run = engine.containers.run(spec(['sh', '-c', 'echo started; sleep 60']), { signal: ac.signal });
  await assert.rejects(async () => {
    for await (const event of run) {
      assert.equal(event.text, 'started\n');
      ac.abort();
    }
  }, { name: 'AbortError' });
  await assert.rejects(run.completed, { name: 'AbortError' });
  const id = run.containerId;
  assert.match(id, /^[0-9a-f]{64}$/);
  await waitFor(async () => {
    const err = await engine.containers.inspect(id).then(() => null, (e) => e);
    return err && err.code === 'CONTAINER_NOT_FOUND';
  }, { what: 'the aborted run removed its container' });

  const run2 = engine.containers.run(spec(['sh', '-c', 'echo started; sleep 60']));
  for await (const event of run2) {
    assert.equal(event.text, 'started\n');
    break;
  }
  await assert.rejects(run2.completed, { code: 'CANCELLED' });
  await waitFor(async () => {
    const err = await engine.containers.inspect(run2.containerId).then(() => null, (e) => e);
    return err && err.code === 'CONTAINER_NOT_FOUND';
  }, { what: 'the broken-off run removed its container' });
  await released(engine);
});

test('engine.close() with a run in flight: the run fails CANCELLED, its container is removed', async () => {
  const other = new Engine();
  const run = other.containers.run(spec(['sh', '-c', 'echo started; sleep 60']));
  const iterating = (async () => {
    for await (const event of run) assert.equal(event.text, 'started\n');
  })();
  iterating.catch(() => {}); // asserted below, after close()
  await waitFor(() => run.containerId, { what: 'the run created its container' });
  await other.close();
  await assert.rejects(iterating, { code: 'CANCELLED' });
  await assert.rejects(run.completed, { code: 'CANCELLED' });
  await waitFor(async () => {
    const err = await engine.containers.inspect(run.containerId).then(() => null, (e) => e);
    return err && err.code === 'CONTAINER_NOT_FOUND';
  }, { what: 'the run removed its container' });
  assert.equal(other.stats(), null);
});

test('a slow consumer of 100 MB keeps RSS bounded: backpressure reaches the container', async () => {
  const total = 100 * 1000 * 1000;
  const run = engine.containers.run(spec(['sh', '-c', `yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c ${total}`]));
  const rss0 = process.memoryUsage().rss;
  let maxRss = rss0;
  let bytes = 0;
  let iterations = 0;
  for await (const event of run) {
    bytes += event.text.length;
    iterations++;
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    await sleep(10);
    if (iterations === 200) break;
  }
  const growth = (maxRss - rss0) / 1e6;
  // Without backpressure the whole 100 MB (and its JSON) would be buffered within the 2 s.
  assert.ok(growth < 48, `RSS grew by ${growth.toFixed(1)} MB`);
  assert.ok(bytes < total / 4, `consumed ${bytes} bytes in 200 slow iterations`);
  await released(engine);
});

test('a slow consumer (one iteration per 10 ms) of a 100 MB logs follow keeps RSS bounded: backpressure', async () => {
  const total = 100 * 1000 * 1000;
  const consume = 30 * 1000 * 1000;
  // The ceiling on RSS growth while following: far below the 70+ MB still unread at the end, which
  // the daemon holds (in its log file) once the container has exited. Without backpressure the
  // engine reads it all within seconds: ~140 MB of growth, against ~17 MB with it.
  const ceilingMB = 48;
  // Under ASan (scripts/js-asan.sh) freed memory stays resident in its quarantine (256 MB), so RSS
  // says nothing there; the ceiling then applies to what JS holds (V8 heap + external buffers),
  // where outputs read ahead of the consumer would pile up.
  const sanitized = Boolean(process.env.ALK_SANITIZED);
  const what = sanitized ? 'V8 heap + external' : 'RSS';
  const memory = sanitized ? () => process.memoryUsage().heapUsed + process.memoryUsage().external : () => process.memoryUsage.rss();
  // No newlines: the daemon's log driver cuts the output into 16 KiB messages, one event each.
  const { id } = await engine.containers.create(spec(['sh', '-c', `head -c ${total} /dev/zero | tr '\\0' x`]));
  try {
    let exited = null;
    let bytesAtExit = 0;
    let bytes = 0;
    const waiting = engine.containers.wait(id, { condition: 'next-exit' });
    waiting.then((w) => {
      exited = w;
      bytesAtExit = bytes;
    }, () => {});
    await engine.containers.start(id);
    const rss0 = memory();
    let maxRss = rss0;
    const deadline = Date.now() + 55000;
    let bad = 0;
    for await (const event of engine.containers.logs(id, { follow: true })) {
      if (!/^x+$/.test(event.text)) bad++;
      bytes += event.text.length;
      maxRss = Math.max(maxRss, memory());
      await sleep(10);
      if (exited !== null && bytes >= consume) break;
      if (Date.now() > deadline) break;
    }
    const growth = (maxRss - rss0) / 1e6;
    assert.equal(bad, 0, 'events other than the container\'s bytes');
    assert.deepEqual(exited, { exitCode: 0 }, 'the container wrote its 100 MB and exited');
    assert.ok(bytes >= consume, `consumed only ${bytes} bytes within 55 s`);
    // The container finished writing long before the consumer caught up: the rest waited outside.
    assert.ok(total - bytesAtExit > ceilingMB * 1e6, `${bytesAtExit} bytes consumed when the container exited`);
    assert.ok(growth < ceilingMB, `${what} grew by ${growth.toFixed(1)} MB with ${((total - bytes) / 1e6).toFixed(0)} MB unread`);
    await released(engine, 'logs follow released after break');
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});

test('GC with live subscriptions: nothing is finalized under a live call', { skip: typeof global.gc !== 'function' && 'needs --expose-gc' }, async () => {
  const { id } = await engine.containers.create(spec(['sh', '-c', 'while true; do echo tick; sleep 0.05; done']));
  try {
    await engine.containers.start(id);
    let seen = 0;
    (function start() {
      // Nothing keeps these subscriptions reachable from JS but the native calls themselves.
      const logs = engine.containers.logs(id, { follow: true, highWaterMark: 64 });
      logs.next().then(() => seen++);
      engine.system.events();
      const scratch = new Engine();
      scratch.system.ping().then(() => seen++);
    })();
    for (let i = 0; i < 5; i++) {
      global.gc();
      await sleep(20);
    }
    await waitFor(() => seen === 2, { what: 'outputs of unreferenced calls' });
    assert.equal(engine.stats().calls, 2);
    for (let i = 0; i < 3; i++) {
      global.gc();
      await sleep(20);
    }
    assert.equal(engine.stats().calls, 2);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});

test('two worker threads use the addon at once', async () => {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Engine } = require(process.env.ALKNET_LIB);
    (async () => {
      const engine = new Engine();
      const run = engine.containers.run(workerData.spec);
      let text = '';
      for await (const event of run) text += event.text;
      const { exitCode } = await run.completed;
      // Leave a follow open: terminate() must cope with it.
      engine.system.events();
      parentPort.postMessage({ text, exitCode });
    })().catch((err) => parentPort.postMessage({ error: String(err) }));
  `;
  process.env.ALKNET_LIB = LIB;
  const workers = [1, 2].map((n) => new Worker(source, {
    eval: true,
    workerData: { spec: spec(['sh', '-c', `for i in 1 2 3; do echo w${n}-$i; done; exit ${n}`]) },
  }));
  const results = await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  })));
  assert.deepEqual(results, [
    { text: 'w1-1\nw1-2\nw1-3\n', exitCode: 1 },
    { text: 'w2-1\nw2-2\nw2-3\n', exitCode: 2 },
  ]);
  const codes = await Promise.all(workers.map((w) => w.terminate()));
  assert.deepEqual(codes, [1, 1]);
});

test('worker.terminate() while an engine closes, streams are open and a for await waits', async () => {
  process.env.ALKNET_LIB = LIB;
  const source = `
    const { parentPort } = require('node:worker_threads');
    const { Engine } = require(process.env.ALKNET_LIB);
    const a = new Engine();
    const b = new Engine();
    a.system.events();
    // A for await waiting in next() when the worker goes: its promise is the addon's (pending.js).
    (async () => {
      for await (const event of b.system.events()) void event;
    })();
    a.system.ping().then(() => {
      a.close();
      parentPort.postMessage('closing');
    });
  `;
  for (let i = 0; i < 3; i++) {
    const worker = new Worker(source, { eval: true });
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.equal(await worker.terminate(), 1);
  }
});

test('a worker that ends on its own with idle engines exits; process exit with open streams neither crashes nor hangs', async () => {
  const idle = await runChild(`
    const { Engine } = require(process.env.ALKNET_LIB);
    const engine = new Engine();
    engine.system.ping().then((p) => console.log('ping', p.ok));
  `);
  assert.equal(idle.code, 0, idle.stderr);
  assert.equal(idle.stdout.trim(), 'ping true');

  const open = await runChild(`
    const { Engine } = require(process.env.ALKNET_LIB);
    const labels = ${JSON.stringify(LABELS)};
    const engine = new Engine();
    (async () => {
      engine.system.events();
      const run = engine.containers.run({ image: ${JSON.stringify(spec([]).image)}, command: ['sh', '-c', 'while true; do echo x; sleep 0.01; done'], networkMode: 'none', labels });
      const { id } = await engine.containers.create({ image: ${JSON.stringify(spec([]).image)}, command: ['cat'], openStdin: true, networkMode: 'none', labels });
      const attach = engine.containers.attach(id);
      await engine.containers.start(id);
      attach.write('x');
      for await (const event of run) break;
      process.exit(0);
    })();
  `);
  assert.equal(open.signal, null, open.stderr);
  assert.equal(open.code, 0, open.stderr);
});
