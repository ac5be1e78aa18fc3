'use strict';

// connect('quic://…'): the QUIC client of `alknet-docker serve` (mutual TLS), against the real
// daemon and a real server started here with certificates from scripts/make-certs.sh. Needs the
// server binary (ALKNET_DOCKER_BIN, or the CMake build of scripts/test.sh: out/release), certtool
// (gnutls-bin) and the addon.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const dgram = require('node:dgram');
const { spawn, execFileSync } = require('node:child_process');
const { once, on } = require('node:events');
const { Worker } = require('node:worker_threads');
const { connect, CallError } = require('../../lib');
const { Engine, SERVER_BINARY, spec, sleep, waitFor } = require('./helpers');

const root = path.join(__dirname, '..', '..');
const binary = SERVER_BINARY;
let certtool = true;
try {
  execFileSync('certtool', ['--version'], { stdio: 'ignore' });
} catch {
  certtool = false;
}

/** A UDP port nobody used a moment ago (serve takes no port 0). */
async function freePort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/** `alknet-docker serve` on quic://127.0.0.1:port; resolves once it listens. */
async function startServer(certs, port) {
  const proc = spawn(
    binary,
    [
      'serve',
      '--listen',
      `quic://127.0.0.1:${port}`,
      '--cert',
      path.join(certs, 'server.crt'),
      '--key',
      path.join(certs, 'server.key'),
      '--client-ca',
      path.join(certs, 'ca.crt'),
      '--quiet',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr.on('data', (c) => (log += c));
  const exited = once(proc, 'exit');
  const m = await waitFor(() => /listening on quic:\/\/127\.0\.0\.1:(\d+)/.exec(log) || proc.exitCode !== null, {
    timeoutMs: 20000,
    what: 'the QUIC server to listen',
  });
  assert.ok(Array.isArray(m), `the server did not start: ${log}`);
  return { proc, port: Number(m[1]), exited, log: () => log };
}

async function stopServer(server, signal = 'SIGTERM') {
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill(signal);
  await server.exited;
}

// n numbered lines of 91 bytes: what a container prints (linesCommand) and what every log call
// must return (lines).
const PAD = 'abcdefghijklmnopqrstuvwxyz'.repeat(3);
const linesCommand = (n) => ['awk', `BEGIN { for (i = 1; i <= ${n}; i++) printf "line %06d %s\\n", i, "${PAD}" }`];
const lines = (n) => Array.from({ length: n }, (_, i) => `line ${String(i + 1).padStart(6, '0')} ${PAD}\n`).join('');

test('quic client', { skip: (!binary && 'no alknet-docker binary (build it with CMake)') || (!certtool && 'no certtool (gnutls-bin)') }, async (t) => {
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'alknet-js-quic-'));
  execFileSync('bash', [path.join(root, 'scripts', 'make-certs.sh'), certs], { stdio: 'ignore' });
  const cert = (name) => path.join(certs, name);
  const tls = (who) => ({ ca: cert('ca.crt'), cert: cert(`${who}.crt`), key: cert(`${who}.key`) });
  const docker = new Engine();
  const containers = [];
  let server = await startServer(certs, await freePort());
  const address = () => `quic://127.0.0.1:${server.port}`;
  t.after(async () => {
    await Promise.all(containers.map((id) => docker.containers.remove(id, { force: true }).catch(() => {})));
    await docker.close();
    await stopServer(server);
    fs.rmSync(certs, { recursive: true, force: true });
  });
  const client = connect(address(), tls('client-a'));
  t.after(() => client.close());

  await t.test('the connection is made at the first call and shared by the next ones', async () => {
    assert.equal(client.endpoint, address());
    assert.deepEqual(client.stats(), { calls: 0, connected: false, connections: 0 });
    assert.equal((await client.system.ping()).ok, true);
    await assert.rejects(client.containers.inspect('alknet-no-such-container'), { code: 'CONTAINER_NOT_FOUND' });
    await assert.rejects(client.containers.list({ limit: 'x' }), { code: 'INVALID_INPUT', details: { field: 'limit' } });
    assert.deepEqual(client.stats(), { calls: 0, connected: true, connections: 1 });
  });

  await t.test('100 concurrent log subscriptions on one connection, each byte-exact and completed', async () => {
    const { id } = await docker.containers.create(spec(linesCommand(2000)));
    containers.push(id);
    await docker.containers.start(id);
    await docker.containers.wait(id);
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const logs = client.containers.logs(id);
        let text = '';
        let events = 0;
        for await (const e of logs) {
          text += e.text;
          events++;
        }
        await logs.completed;
        return { text, events };
      }),
    );
    const expected = lines(2000);
    for (const [i, r] of results.entries()) {
      assert.equal(r.events, 2000, `call ${i}`);
      assert.ok(r.text === expected, `call ${i}: the text differs`);
    }
    assert.equal(client.stats().connections, 1);
    assert.equal(client.stats().calls, 0);
  });

  await t.test('a 16 MiB attach round trip over the raw carriage', async () => {
    const { id } = await docker.containers.create(spec(['cat'], { openStdin: true, stdinOnce: true }));
    containers.push(id);
    const stream = client.containers.attach(id);
    await once(stream, 'open');
    await client.containers.start(id);
    const payload = crypto.randomBytes(16 << 20);
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    for (let off = 0; off < payload.length; off += 1 << 20) {
      if (!stream.write(payload.subarray(off, off + (1 << 20)))) await once(stream, 'drain');
    }
    stream.end();
    assert.deepEqual(await stream.exit, { exitCode: 0 });
    const got = Buffer.concat(chunks);
    assert.equal(got.length, payload.length);
    assert.ok(got.equals(payload), 'stdout differs from stdin');
    assert.equal(client.stats().connections, 1);
  });

  await t.test('a consumer that stops pulling pauses the stream and loses nothing', async () => {
    const n = 60000; // 5.6 MB: more than the subscription's buffer and the stream's window
    const { id } = await docker.containers.create(spec(linesCommand(n)));
    containers.push(id);
    await docker.containers.start(id);
    await docker.containers.wait(id);
    const logs = client.containers.logs(id, { highWaterMark: 64 << 10 });
    const first = await logs.next();
    await sleep(1000); // not pulling: the subscription pauses the QUIC stream
    let text = first.value.text;
    let events = 1;
    for await (const e of logs) {
      text += e.text;
      if (++events % 20000 === 0) await sleep(200);
    }
    assert.equal(events, n);
    assert.ok(text === lines(n), 'the text differs');
  });

  await t.test('exec: exit code 7, stdout and stderr apart', async () => {
    const { id } = await docker.containers.create(spec(['sleep', '120']));
    containers.push(id);
    await docker.containers.start(id);
    assert.deepEqual(await client.containers.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 7']), {
      exitCode: 7,
      stdout: 'out\n',
      stderr: 'err\n',
    });
  });

  await t.test('a call outlives the collection of everything JS dropped', async () => {
    const { id } = await docker.containers.create(spec(['sleep', '1']));
    containers.push(id);
    await docker.containers.start(id);
    const waited = client.containers.wait(id);
    for (let i = 0; i < 5; i++) {
      global.gc?.();
      await sleep(50);
    }
    assert.deepEqual(await waited, { exitCode: 0 });
  });

  await t.test('a client certificate from another CA is refused, not worth retrying', async () => {
    const other = connect(address(), tls('other-client'));
    const err = await other.system.ping().catch((e) => e);
    await other.close();
    assert.ok(err instanceof CallError, String(err));
    assert.equal(err.code, 'FORBIDDEN', err.message);
    assert.equal(err.retryable, false);
  });

  await t.test('an untrusted server certificate is refused by the client, not worth retrying', async () => {
    const wrong = connect(address(), { ...tls('client-a'), ca: cert('other-ca.crt') });
    const err = await wrong.system.ping().catch((e) => e);
    await wrong.close();
    assert.ok(err instanceof CallError, String(err));
    assert.equal(err.retryable, false, err.message);
    assert.match(err.message, /certificate/);
  });

  // A time limit, and unref'd workers: a stuck worker fails this test instead of hanging the run.
  await t.test('from a worker thread, and a worker terminated with a stream open', { timeout: 60000 }, async () => {
    const { id } = await docker.containers.create(spec(['sh', '-c', 'while true; do echo w; sleep 0.1; done']));
    containers.push(id);
    await docker.containers.start(id);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { connect } = require(${JSON.stringify(path.join(root, 'lib'))});
      (async () => {
        const client = connect(workerData.address, workerData.tls);
        const pong = await client.system.ping();
        const logs = client.containers.logs(workerData.id, { follow: true });
        const first = await logs.next();
        parentPort.postMessage({ ok: pong.ok, first: first.value.text });
        if (workerData.close) {
          logs.cancel();
          await client.close();
          parentPort.postMessage('closed');
        }
      })().catch((err) => parentPort.postMessage({ error: String(err) }));
    `;
    for (const close of [true, false]) {
      const worker = new Worker(source, { eval: true, workerData: { address: address(), tls: tls('client-a'), id, close } });
      worker.unref();
      // on() queues: the worker's two messages can arrive in one turn, and a once() attached after
      // the first would miss the second.
      const messages = on(worker, 'message');
      // Listened for from the start, for the same reason: when the worker ends soon after its last
      // message, Node emits the messages still queued and then 'exit' in one callback (Worker's
      // kOnExit drains the port, then emits), before the awaits above it resume; a once() attached
      // after the 'closed' message missed the exit on a loaded machine and the test timed out.
      const exited = once(worker, 'exit');
      const [msg] = (await messages.next()).value;
      assert.deepEqual(msg, { ok: true, first: 'w\n' });
      if (close) {
        assert.equal((await messages.next()).value[0], 'closed');
        const [code] = await exited;
        assert.equal(code, 0, 'a closed client lets the worker end');
      } else {
        // The follow is still open: terminate() tears the env down under it.
        await worker.terminate();
        await exited;
      }
    }
  });

  await t.test('process.exit() with a stream open neither hangs nor crashes', async () => {
    const { id } = await docker.containers.create(spec(['sh', '-c', 'while true; do echo p; sleep 0.1; done']));
    containers.push(id);
    await docker.containers.start(id);
    const source = `
      const { connect } = require(${JSON.stringify(path.join(root, 'lib'))});
      const client = connect(process.argv[1], JSON.parse(process.argv[2]));
      (async () => {
        for await (const e of client.containers.logs(process.argv[3], { follow: true })) {
          process.stdout.write(e.text);
          process.exit(0);
        }
      })();
    `;
    const child = spawn(process.execPath, ['-e', source, address(), JSON.stringify(tls('client-a')), id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errText = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (errText += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    assert.equal(signal, null, `the child hung or crashed: ${errText}`);
    assert.equal(code, 0, errText);
    assert.equal(out, 'p\n');
  });

  await t.test('the server killed under an open call: a retryable error, then a new connection', async () => {
    // A killed server sends nothing, but the client's next datagram (a keep-alive PING within
    // 0.5 s) meets an ICMP port unreachable: the call fails then, long before the 30 s idle timeout.
    const quick = connect(address(), { ...tls('client-a'), idleTimeoutMs: 30000, keepAliveMs: 500 });
    const { id } = await docker.containers.create(spec(['sh', '-c', 'while true; do echo t; sleep 0.1; done']));
    containers.push(id);
    await docker.containers.start(id);
    const follow = quick.containers.logs(id, { follow: true });
    const first = await follow.next();
    assert.equal(first.value.text, 't\n');
    const port = server.port;
    await stopServer(server, 'SIGKILL');
    const killedAt = Date.now();
    const err = await (async () => {
      for await (const _ of follow);
    })().catch((e) => e);
    assert.ok(err instanceof CallError, String(err));
    assert.equal(err.retryable, true, err.message);
    assert.match(err.message, /ICMP port unreachable/);
    // A generous ceiling, not a timing: the keep-alive interval plus a loopback round trip.
    assert.ok(Date.now() - killedAt < 5000, `noticed after ${Date.now() - killedAt} ms`);
    assert.equal(quick.stats().connected, false);

    server = await startServer(certs, port);
    assert.equal((await quick.system.ping()).ok, true);
    assert.deepEqual(quick.stats(), { calls: 0, connected: true, connections: 2 });
    await quick.close();
  });

  await client.close();
  assert.deepEqual(client.stats(), { calls: 0, connected: false, connections: 1 });
  await assert.rejects(client.system.ping(), { code: 'INTERNAL' });
});

test('quic addresses and options', () => {
  assert.throws(() => connect('quic://host'), TypeError);
  assert.throws(() => connect('quic://host:0'), TypeError);
  assert.throws(() => connect('quic://host:70000'), TypeError);
  assert.throws(() => connect('tcp://host:1'), /expected unix:\/\/\/path or quic:\/\/host:port/);
  assert.throws(() => connect('quic://host:1', { cert: '/c.pem' }), /go together/);
  assert.throws(() => connect('quic://host:1', { idleTimeoutMs: -1 }), TypeError);
  assert.equal(connect('quic://[::1]:4433').endpoint, 'quic://[::1]:4433');
  assert.equal(connect('quic://localhost:4433/').endpoint, 'quic://localhost:4433');
});
