'use strict';

// Interactive sessions: attach and exec with stdin as Duplex streams.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Readable, Writable } = require('node:stream');
const { once } = require('node:events');
const { Engine } = require('../../lib');
const { spec, released, cleanup, waitFor } = require('./helpers');

const engine = new Engine();
test.after(async () => {
  await cleanup(engine);
  await engine.close();
});

// A cat container whose stdin closes with the attach's (StdinOnce), attached before its start.
async function attachedCat(extra = {}) {
  const { id } = await engine.containers.create(
    spec(['cat'], { openStdin: true, stdinOnce: true, attachStdin: true, attachStdout: true, attachStderr: true, ...extra }),
  );
  const stream = engine.containers.attach(id);
  await once(stream, 'open');
  await engine.containers.start(id);
  return { id, stream };
}

// Hashes what flows through, counting the bytes.
function digestSink() {
  const hash = crypto.createHash('sha256');
  const sink = new Writable({
    write(chunk, _enc, cb) {
      hash.update(chunk);
      sink.bytes += chunk.length;
      cb();
    },
  });
  sink.bytes = 0;
  sink.digest = () => hash.digest('hex');
  return sink;
}

test('attach: 16 MiB round trip through cat, byte-exact, with pipe()', async () => {
  const { id, stream } = await attachedCat();
  const payload = crypto.randomBytes(16 * 1024 * 1024);
  const expected = crypto.createHash('sha256').update(payload).digest('hex');
  // 64 KiB pieces, like a file read.
  const pieces = [];
  for (let i = 0; i < payload.length; i += 65536) pieces.push(payload.subarray(i, i + 65536));
  const sink = digestSink();
  Readable.from(pieces).pipe(stream);
  stream.pipe(sink);
  await once(sink, 'finish');
  assert.equal(sink.bytes, payload.length);
  assert.equal(sink.digest(), expected);
  // end() (done by pipe) half-closed stdin: cat saw EOF and exited 0, after its output.
  assert.deepEqual(await stream.exit, { exitCode: 0 });
  assert.equal(stream.tty, false);
  await engine.containers.remove(id);
  await released(engine);
});

// A process that reads nothing from stdin until /tmp/go exists, then counts the bytes of its stdin
// (wc -c) and prints the count at its end.
const COUNT_AFTER_GO = 'while [ ! -f /tmp/go ]; do sleep 0.05; done; wc -c';

// Writes 64 KiB blocks into `stream` until the bytes stall: write() returned false and no 'drain'
// came for a second (the process does not read, so every buffer on the way is full). Resolves with
// the bytes written; fails past 256 MiB (no backpressure at all).
async function fillUntilStalled(stream) {
  const block = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  for (;;) {
    assert.ok(written < 256 * 1024 * 1024, `write() kept accepting: ${written} bytes`);
    written += block.length;
    if (stream.write(block)) continue;
    const drained = await once(stream, 'drain', { signal: AbortSignal.timeout(1000) }).then(() => true, () => false);
    if (!drained) return written;
  }
}

// Proves write()/'drain' on a session whose process reads after `go()`: write() returns false and
// the writes stall while it does not read; 'drain' follows once it reads (20 s ceiling: a missing
// drain fails instead of hanging); every byte written reaches the process.
async function assertDrainFollowsReading(stream, go) {
  const out = [];
  stream.on('data', (c) => out.push(c));
  const written = await fillUntilStalled(stream);
  assert.equal(stream.writableNeedDrain, true, 'write() returned false');
  const drained = once(stream, 'drain', { signal: AbortSignal.timeout(20000) });
  await go();
  await drained;
  stream.end();
  assert.deepEqual(await stream.exit, { exitCode: 0 });
  assert.equal(Buffer.concat(out).toString().trim(), String(written), 'bytes counted by the process');
  return written;
}

test('attach: write() returns false while the container does not read, drain follows once it reads', async () => {
  const { id } = await engine.containers.create(
    spec(['sh', '-c', COUNT_AFTER_GO], { openStdin: true, stdinOnce: true, attachStdin: true, attachStdout: true, attachStderr: true }),
  );
  try {
    const stream = engine.containers.attach(id);
    await once(stream, 'open');
    await engine.containers.start(id);
    await assertDrainFollowsReading(stream, () => engine.containers.exec(id, 'touch /tmp/go'));
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

test('exec with stdin: write() returns false while the process does not read, drain follows once it reads', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60']));
  try {
    await engine.containers.start(id);
    const session = engine.containers.exec(id, ['sh', '-c', COUNT_AFTER_GO], { stdin: true });
    await once(session, 'open');
    await assertDrainFollowsReading(session, () => engine.containers.exec(id, 'touch /tmp/go'));
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

test('attach: end() makes a cat container exit 0 while output keeps flowing', async () => {
  const { id, stream } = await attachedCat();
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.write('hello ');
  stream.end('world\n');
  await once(stream, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'hello world\n');
  assert.deepEqual(await stream.exit, { exitCode: 0 });
  assert.equal((await engine.containers.inspect(id)).State.ExitCode, 0);
  await engine.containers.remove(id);
});

test('attach: a destroyed Duplex releases the docker connection', async () => {
  const { id, stream } = await attachedCat();
  stream.write('ping\n');
  const [first] = await once(stream, 'data');
  assert.equal(first.toString(), 'ping\n');
  stream.destroy();
  await assert.rejects(stream.exit, { code: 'CANCELLED' });
  await released(engine, 'attach released after destroy');
  await engine.containers.remove(id, { force: true });
});

test('exec with stdin: a Duplex with stderr, exit code and half-close', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60']));
  try {
    await engine.containers.start(id);
    const session = engine.containers.exec(id, ['sh', '-c', 'cat; echo done >&2; exit 4'], { stdin: true });
    const out = [];
    const err = [];
    session.on('data', (c) => out.push(c));
    session.stderr.on('data', (c) => err.push(c));
    session.end('through stdin\n');
    assert.deepEqual(await session.exit, { exitCode: 4 });
    assert.equal(Buffer.concat(out).toString(), 'through stdin\n');
    assert.equal(Buffer.concat(err).toString(), 'done\n');
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

// The resize is a request of its own to the daemon (POST /exec/{id}/resize), in no order with the
// process's start or its output: the process reports its TTY's size (or stty's error) each time it
// changes, until it is the size the test asks for. The daemon holds a resize up to 10 s for the
// exec to start (moby ContainerExecResize), so 20 s is a deadline, not a timing.
const REPORT_SIZE_UNTIL_RESIZED = [
  'last=',
  'until [ "$last" = "33 100" ]; do size=$(stty size 2>&1); [ "$size" = "$last" ] || echo "$size"; last=$size; sleep 0.05; done',
  'sleep 30',
].join('; ');

test('exec with a TTY: resize and signal', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60']));
  try {
    await engine.containers.start(id);
    const session = engine.containers.exec(id, ['sh', '-c', REPORT_SIZE_UNTIL_RESIZED], { tty: true, stdin: true });
    await once(session, 'open');
    assert.equal(session.tty, true);
    session.resize(100, 33);
    let text = '';
    session.on('data', (c) => {
      text += c.toString();
    });
    // On a timeout the match below fails, showing what the process reported.
    await waitFor(() => text.includes('33 100'), { timeoutMs: 20000, what: 'the TTY size' }).catch(() => {});
    assert.match(text, /33 100/);
    session.signal('INT'); // a TTY turns it into ^C
    const { exitCode } = await session.exit;
    assert.notEqual(exitCode, 0);
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});
