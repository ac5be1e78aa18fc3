'use strict';

// A run still in flight when its engine goes away: engine.close(), a worker thread that exits or
// is terminated, and process.exit() in the main thread. The native close lets the run's
// force-remove reach the daemon before the engine's handles close (Engine::close waits up to 3 s
// for it). process.exit() in the main thread runs no cleanup for its own engines (a documented
// limit) but tears its workers down first, engines included. `serve` closes its engine the same
// way at SIGTERM, so a run cut off by the grace period removes its container before it exits.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { Worker } = require('node:worker_threads');
const { Engine, connect } = require('../../lib');
const { IMAGE, LABELS, RUN_FILTER, LIB, SERVER_BINARY, runChild, waitFor } = require('./helpers');

// Every container of this file carries the case label and the run's; test.after removes this
// run's whatever happened.
const CASE_LABELS = { ...LABELS, 'alknet-test.case': 'exit-cleanup' };
const RUN = {
  image: IMAGE,
  command: ['sh', '-c', 'echo started; exec sleep 1000'],
  networkMode: 'none',
  labels: CASE_LABELS,
};

const engine = new Engine();
test.after(async () => {
  const list = await engine.containers.list({ all: true, filters: { label: ['alknet-test.case=exit-cleanup', RUN_FILTER] } });
  await Promise.all(list.map((c) => engine.containers.remove(c.Id, { force: true }).catch(() => {})));
  await engine.close();
});

async function exists(id) {
  const err = await engine.containers.inspect(id).then(() => null, (e) => e);
  if (err && err.code !== 'CONTAINER_NOT_FOUND') throw err;
  return err === null;
}

// `promise`, or a rejection naming `what` after `ms` (a generous ceiling against a hang).
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The source of a script that starts the run, reports its container id once the container has
// printed (so it runs) with `report(id)`, then does `then` while the run is still in flight.
function runScript(report, then) {
  return `
    const { Engine } = require(process.env.ALKNET_LIB);
    const engine = new Engine();
    (async () => {
      const run = engine.containers.run(${JSON.stringify(RUN)});
      for await (const event of run) {
        if (event.text !== 'started\\n') continue;
        ${report}(run.containerId);
        ${then}
      }
    })();
  `;
}

test('engine.close() with a run in flight: the container is gone when close() resolves', async () => {
  const other = new Engine();
  const run = other.containers.run(RUN);
  const iterating = (async () => {
    for await (const event of run) assert.equal(event.text, 'started\n');
  })();
  iterating.catch(() => {}); // asserted below
  await waitFor(() => run.containerId, { what: 'the run created its container' });
  const id = run.containerId;
  await waitFor(async () => (await engine.containers.inspect(id)).State.Running, { what: 'the container runs' });
  // graceMs 0: no waiting in JS, so only the native close can have let the removal through.
  await other.close({ graceMs: 0 });
  assert.equal(await exists(id), false, 'the container outlived engine.close()');
  await assert.rejects(iterating, { code: 'CANCELLED' });
});

for (const ending of ['terminate', 'exit']) {
  test(`a worker ${ending === 'exit' ? 'calling process.exit()' : 'terminated'} with a run in flight: its container is removed`, async () => {
    const report = `require('node:worker_threads').parentPort.postMessage`;
    const then = ending === 'exit' ? 'process.exit(0);' : '/* keep following until terminated */';
    const worker = new Worker(runScript(report, then), { eval: true, env: { ...process.env, ALKNET_LIB: LIB } });
    const exited = new Promise((resolve, reject) => {
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    const id = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.match(id, /^[0-9a-f]{64}$/);
    if (ending === 'terminate') worker.terminate();
    const code = await within(exited, 15000, 'the worker exit');
    assert.equal(code, ending === 'exit' ? 0 : 1);
    // The worker's env teardown waited for the engine's close, and that for the removal.
    assert.equal(await exists(id), false, 'the container outlived the worker');
  });
}

test('process.exit() in the main thread with a run in flight in a worker: the worker is torn down first, its container removed', async () => {
  const workerSource = runScript(`require('node:worker_threads').parentPort.postMessage`, '/* keep following */');
  const { code, signal, stdout, stderr } = await runChild(`
    const { Worker } = require('node:worker_threads');
    const worker = new Worker(${JSON.stringify(workerSource)}, { eval: true });
    worker.once('message', (id) => {
      console.log(id);
      process.exit(0);
    });
  `);
  assert.equal(signal, null, `the child hung or crashed: ${stderr}`);
  assert.equal(code, 0, stderr);
  const id = stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(await exists(id), false, 'the container outlived the process');
});

test('process.exit() in the main thread: the process exits at once; the run\'s container is left (no cleanup hook runs there)', async () => {
  const { code, signal, stdout, stderr } = await runChild(runScript('console.log', 'process.exit(0);'));
  assert.equal(signal, null, `the child hung or crashed: ${stderr}`);
  assert.equal(code, 0, stderr);
  const id = stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  try {
    // Node's process.exit() in the main thread calls exit() without tearing the environment down,
    // so the addon's cleanup hook never runs (README: "process.exit()"). If this starts failing,
    // Node changed: update the README.
    assert.equal((await engine.containers.inspect(id)).State.Running, true);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});

test('serve: SIGTERM with a run in flight past the grace period: the container is removed before serve exits', { skip: !SERVER_BINARY && 'no alknet-docker binary (build it with CMake)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alknet-exit-'));
  const sock = path.join(dir, 'serve.sock');
  const server = spawn(SERVER_BINARY, ['serve', '--listen', `unix://${sock}`, '--quiet', '--shutdown-grace', '0.2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (c) => (serverLog += c));
  const serverExit = once(server, 'exit');
  t.after(() => {
    server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => fs.existsSync(sock), { what: `server socket (${serverLog})` });
  const client = connect(`unix://${sock}`);
  const run = client.containers.run(RUN);
  const iterating = (async () => {
    for await (const event of run) assert.equal(event.text, 'started\n');
  })();
  iterating.catch(() => {}); // the server resets the call; only the container matters here
  await waitFor(() => run.containerId, { what: 'the run created its container' });
  const id = run.containerId;
  await waitFor(async () => (await engine.containers.inspect(id)).State.Running, { what: 'the container runs' });
  server.kill('SIGTERM');
  const [code] = await within(serverExit, 15000, `serve's exit (${serverLog})`);
  assert.equal(code, 0, serverLog);
  assert.equal(await exists(id), false, `the container outlived serve (${serverLog})`);
  await iterating.catch(() => {});
  await client.close();
});
