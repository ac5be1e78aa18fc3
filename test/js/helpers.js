'use strict';

// Shared by the node:test files of test/js (not a test file itself). The tests run against the
// real daemon (scripts/docker-up.sh) and the test image; containers get --network none (the test
// daemon may have no bridge) and the label alknet-test.suite=js, so a failed run can be cleaned up.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');
const { Engine } = require('../../lib');

const IMAGE = process.env.ALK_TEST_IMAGE || 'alknet-test/busybox:latest';
const REGISTRY_IMAGE = process.env.ALK_TEST_REGISTRY_IMAGE || '127.0.0.1:5000/alknet-test/busybox:latest';
const LABELS = { 'alknet-test.suite': 'js' };

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

/** Removes every container the JS tests labelled (force). */
async function cleanup(engine) {
  const list = await engine.containers.list({ all: true, filters: { label: ['alknet-test.suite=js'] } });
  await Promise.all(list.map((c) => engine.containers.remove(c.Id, { force: true }).catch(() => {})));
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
    server.kill('SIGTERM');
    await once(server, 'exit').catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => fs.existsSync(sock), { what: `server socket (${serverLog})` });
  return { dir, sock, address: `unix://${sock}` };
}

const LIB = path.join(__dirname, '..', '..', 'lib');

/**
 * Runs `source` with `node -e` in a child whose env names the library (ALKNET_LIB); resolves with
 * {code, signal, stdout, stderr}, or rejects after `timeoutMs` (a hang: the child is SIGKILLed).
 */
function runChild(source, { timeoutMs = 30000, args = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '-e', source], {
      env: { ...process.env, ALKNET_LIB: LIB },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child hung; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

module.exports = { Engine, IMAGE, REGISTRY_IMAGE, LABELS, LIB, SERVER_BINARY, spec, waitFor, released, cleanup, serveUnix, runChild, sleep };
