'use strict';

// A listener that throws from inside a native delivery (a stream's 'data' or 'open' listener
// runs synchronously in it) must not cost the rest of that delivery: the addon sends a call's end
// once, so an exit or a close lost behind the throw would leave the call unsettled for good. The
// error still goes on to the caller (the addon reports it as uncaught). No daemon needed.

const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { dispatch } = require('../../lib/engine');
const { QuicSocket } = require('../../lib/quic-client');
const { StreamCall } = require('../../lib/stream-call');
const { encodeFrame, encodeChunks, ChunkType } = require('../../lib/codec');

// Kinds of lib/engine.js (cpp/node/js_call.h).
const kStdout = 1;
const kExit = 5;
const kCompleted = 6;

test('engine: the rest of a batch is delivered after a sink call throws, then the error goes on', () => {
  const seen = [];
  const sink = {
    stdout(bytes) {
      seen.push(`stdout ${bytes}`);
      throw new Error('listener failed');
    },
    exit(code) {
      seen.push(`exit ${code}`);
    },
    completed() {
      seen.push('completed');
    },
  };
  const batch = [kStdout, Buffer.from('a'), kExit, 3, kCompleted, null];
  assert.throws(() => dispatch(batch, sink), /listener failed/);
  assert.deepEqual(seen, ['stdout a', 'exit 3', 'completed']);
});

test('engine: a batch whose listeners do not throw is delivered once, in order', () => {
  const seen = [];
  const sink = {
    stdout: (b) => seen.push(`stdout ${b}`),
    exit: (c) => seen.push(`exit ${c}`),
  };
  dispatch([kStdout, Buffer.from('a'), kStdout, Buffer.from('b'), kExit, 0], sink);
  assert.deepEqual(seen, ['stdout a', 'stdout b', 'exit 0']);
});

// A QuicSocket without its native stream: only its delivery path is exercised.
function bareQuicSocket() {
  const s = Object.create(QuicSocket.prototype);
  EventEmitter.call(s);
  s.connecting = false;
  s._paused = false;
  s._held = null;
  s._gone = false;
  return s;
}

// Kinds of lib/quic-client.js (cpp/node/quic_stream_wrap.h).
const kData = 1;
const kEnd = 2;
const kClose = 5;

test('quic: the end and close of a stream arrive after a data listener throws', () => {
  const s = bareQuicSocket();
  const seen = [];
  s.on('data', (b) => {
    seen.push(`data ${b}`);
    throw new Error('listener failed');
  });
  s.on('end', () => seen.push('end'));
  s.on('close', () => seen.push('close'));
  assert.throws(
    () => s._receive([kData, Buffer.from('x'), kEnd, null, kClose, null]),
    /listener failed/,
  );
  assert.deepEqual(seen, ['data x', 'end', 'close']);
});

test('quic: events held while paused are replayed to the end after a listener throws', async () => {
  const s = bareQuicSocket();
  s._native = { pause() {}, resume() {} };
  const seen = [];
  let throwOnce = true;
  s.on('data', (b) => {
    seen.push(`data ${b}`);
    if (throwOnce) {
      throwOnce = false;
      throw new Error('listener failed');
    }
  });
  s.on('close', () => seen.push('close'));
  s.pause();
  s._receive([kData, Buffer.from('1'), kData, Buffer.from('2'), kClose, null]);
  assert.deepEqual(seen, []);
  assert.throws(() => {
    s._paused = false;
    s._replay();
  }, /listener failed/);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['data 1', 'data 2', 'close']);
});

test('stream call: the exit in the same read arrives after a stdout listener throws', () => {
  const socket = new EventEmitter();
  socket.write = () => true;
  socket.end = () => {};
  socket.destroy = () => {};
  const seen = [];
  const sink = {
    rawOpen: () => seen.push('open'),
    stdout(bytes) {
      seen.push(`stdout ${bytes}`);
      throw new Error('listener failed');
    },
    exit: (code) => seen.push(`exit ${code}`),
    error: (err) => seen.push(`error ${err.message}`),
    control() {},
  };
  // eslint-disable-next-line no-new
  new StreamCall(socket, { operation: 'docker/container/attach', input: {}, raw: true }, sink, {
    done() {},
    errorOf: (err) => err,
  });
  const read = Buffer.concat([
    encodeFrame('call.responded', '1', { output: { carriage: 'raw', tty: false } }),
    ...encodeChunks(ChunkType.stdout, Buffer.from('a')),
    ...encodeChunks(ChunkType.controlOut, Buffer.from('{"type":"exit","code":3}')),
  ]);
  assert.throws(() => socket.emit('data', read), /listener failed/);
  assert.deepEqual(seen, ['open', 'stdout a', 'exit 3']);
});
