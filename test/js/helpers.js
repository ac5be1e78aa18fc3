'use strict';

// Shared by the node:test files of test/js (not a test file itself). The tests run against the
// real daemon (scripts/docker-up.sh) and the test image; containers get --network none (the test
// daemon may have no bridge) and the labels alknet-test.suite=js and alknet-test.run=<host>:<pid>
// of the test process (node --test runs each file in a process of its own), so a run cleans up
// its own containers and the leftovers of dead runs, never those of another live run.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');
const { Engine } = require('../../lib');

const IMAGE = process.env.ALK_TEST_IMAGE || 'alknet-test/busybox:latest';
const REGISTRY_IMAGE = process.env.ALK_TEST_REGISTRY_IMAGE || '127.0.0.1:5000/alknet-test/busybox:latest';
/** The label value naming this test process: its host and pid. */
const RUN_ID = `${os.hostname()}:${process.pid}`;
const LABELS = { 'alknet-test.suite': 'js', 'alknet-test.run': RUN_ID };
/** A label filter (containers.list `filters.label`) for this process' containers. */
const RUN_FILTER = `alknet-test.run=${RUN_ID}`;

/** A container spec for the test image. */
function spec(command, extra = {}) {
  return { image: IMAGE, command, networkMode: 'none', labels: LABELS, ...extra };
}

/** Polls `fn` until it returns truthy (or throws after `timeoutMs`); returns its value. */
async function waitFor(fn, { timeoutMs = 10000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Waits until the engine holds no busy or hijacked docker connection and no call. */
function released(engine, what = 'docker connections released') {
  return waitFor(() => {
    const s = engine.stats();
    return s.busy === 0 && s.hijacked === 0 && s.calls === 0;
  }, { what: `${what} (${JSON.stringify(engine.stats())})` });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// A JS-test container of no live run: its run's process (on this host) is gone, or it has no run
// label (made before runs were labelled) and is over an hour old. Another host's runs are theirs.
function leftover(container) {
  const run = container.Labels?.['alknet-test.run'];
  if (run === undefined) return Date.now() / 1000 - container.Created > 3600;
  const at = run.lastIndexOf(':');
  const pid = Number(run.slice(at + 1));
  return run.slice(0, at) === os.hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid);
}

/**
 * Removes (force) the containers of this test process, and the leftovers of JS test runs that
 * died (their process is gone); the containers of other live runs stay.
 */
async function cleanup(engine) {
  const list = await engine.containers.list({ all: true, filters: { label: ['alknet-test.suite=js'] } });
  const ours = list.filter((c) => c.Labels?.['alknet-test.run'] === RUN_ID || leftover(c));
  await Promise.all(ours.map((c) => engine.containers.remove(c.Id, { force: true }).catch(() => {})));
}

/** The `alknet-docker` binary: ALKNET_DOCKER_BIN, or the CMake build of scripts/test.sh; undefined if none. */
const SERVER_BINARY = [
  process.env.ALKNET_DOCKER_BIN,
  path.join(__dirname, '..', '..', 'out', 'release', 'alknet-docker'),
  path.join(__dirname, '..', '..', 'out', 'debug', 'alknet-docker'),
].find((f) => f && fs.existsSync(f));

/**
 * Starts `alknet-docker serve` (SERVER_BINARY, which must exist) on a unix socket in a fresh
 * temporary folder and resolves once the socket file is there. `t.after` stops the server
 * (SIGTERM, awaiting its exit) and removes the folder. Resolves to { dir, sock, address } with
 * address = `unix://${sock}`; the server's stderr is in the timeout message if it never listens.
 */
async function serveUnix(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alknet-js-'));
  const sock = path.join(dir, 'serve.sock');
  const server = spawn(SERVER_BINARY, ['serve', '--listen', `unix://${sock}`, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (c) => (serverLog += c));
  t.after(async () => {
    // A test may have stopped it already: 'exit' then came before this waits.
    if (server.exitCode === null && server.signalCode === null) {
      const exited = once(server, 'exit').catch(() => {});
      server.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => fs.existsSync(sock), { what: `server socket (${serverLog})` });
  return { dir, sock, address: `unix://${sock}`, server };
}

const LIB = path.join(__dirname, '..', '..', 'lib');

/**
 * Runs node with `argv` in a child whose env names the library (ALKNET_LIB), writing `input` (if
 * any) to its stdin; resolves with {code, signal, stdout, stderr}, or rejects after `timeoutMs` (a
 * hang: the child is SIGKILLed).
 */
function runNode(argv, { timeoutMs = 30000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, ALKNET_LIB: LIB },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child hung; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Runs `source` with `node -e` (after the node options `args`): see runNode. */
function runChild(source, { timeoutMs = 30000, args = [] } = {}) {
  return runNode([...args, '-e', source], { timeoutMs });
}

module.exports = { Engine, IMAGE, REGISTRY_IMAGE, LABELS, RUN_ID, RUN_FILTER, LIB, SERVER_BINARY, spec, waitFor, released, cleanup, serveUnix, runNode, runChild, sleep };
