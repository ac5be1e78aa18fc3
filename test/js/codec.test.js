'use strict';

// The JS client's frame and chunk codecs (lib/codec.js): every split of the input decodes the
// same, limits are enforced, errors are sticky. No daemon needed.

const test = require('node:test');
const assert = require('node:assert/strict');
const { encodeFrame, encodeChunks, Decoder, ChunkType } = require('../../lib/codec');

function stream() {
  return Buffer.concat([
    encodeFrame('call.responded', '1', { output: { carriage: 'raw', tty: false } }),
    ...encodeChunks(ChunkType.stdout, Buffer.from('hello')),
    ...encodeChunks(ChunkType.stderr, Buffer.from([0xff, 0x00, 0xfe])),
    ...encodeChunks(ChunkType.stdout, Buffer.alloc(0)),
    ...encodeChunks(ChunkType.controlOut, Buffer.from('{"type":"exit","code":3}')),
  ]);
}

function decodeAll(bytes, pieceSize) {
  const d = new Decoder();
  const events = [];
  let raw = false;
  for (let i = 0; i < bytes.length; i += pieceSize) {
    d.push(bytes.subarray(i, i + pieceSize));
    for (;;) {
      if (!raw) {
        const f = d.nextFrame();
        if (f === null) break;
        events.push(['frame', f.type, f.id, JSON.stringify(f.payload)]);
        raw = true;
        d.switchToChunks();
      } else {
        const c = d.nextChunk();
        if (c === null) break;
        events.push(['chunk', c.type, c.payload.toString('hex')]);
      }
    }
  }
  assert.equal(d.error, null);
  assert.equal(d.partial(), false);
  return events;
}

test('a frame then chunks decode the same at every split', () => {
  const bytes = stream();
  const whole = decodeAll(bytes, bytes.length);
  assert.deepEqual(whole, [
    ['frame', 'call.responded', '1', '{"output":{"carriage":"raw","tty":false}}'],
    ['chunk', 1, Buffer.from('hello').toString('hex')],
    ['chunk', 2, 'ff00fe'],
    ['chunk', 1, ''],
    ['chunk', 4, Buffer.from('{"type":"exit","code":3}').toString('hex')],
  ]);
  for (let size = 1; size < bytes.length; size++) assert.deepEqual(decodeAll(bytes, size), whole, `split ${size}`);
});

test('large payloads are split into chunks of at most 16 MiB', () => {
  const big = Buffer.alloc(16 * 1024 * 1024 + 3, 7);
  const parts = encodeChunks(ChunkType.stdin, big);
  assert.equal(parts.length, 4); // header, 16 MiB, header, 3 bytes
  assert.equal(parts[0].readUInt32BE(1), 16 * 1024 * 1024);
  assert.equal(parts[2].readUInt32BE(1), 3);
  assert.equal(encodeChunks(ChunkType.stdin, Buffer.alloc(0)).length, 1);
});

test('bad input is a sticky error', () => {
  const zero = new Decoder();
  zero.push(Buffer.from([0, 0, 0, 0]));
  assert.equal(zero.nextFrame(), null);
  assert.match(zero.error, /bad frame length 0/);

  const huge = new Decoder();
  huge.push(Buffer.from([0x04, 0x00, 0x00, 0x01]));
  assert.equal(huge.nextFrame(), null);
  assert.match(huge.error, /bad frame length/);

  const notJson = new Decoder();
  notJson.push(Buffer.from([0, 0, 0, 2, 0x7b, 0x7b]));
  assert.equal(notJson.nextFrame(), null);
  assert.match(notJson.error, /not JSON/);
  notJson.push(encodeFrame('call.completed', '1', {}));
  assert.equal(notJson.nextFrame(), null, 'errors are sticky');

  const chunk = new Decoder();
  chunk.switchToChunks();
  chunk.push(Buffer.from([9, 0, 0, 0, 0]));
  assert.equal(chunk.nextChunk(), null);
  assert.match(chunk.error, /unknown chunk type 9/);

  const tooBig = new Decoder();
  tooBig.switchToChunks();
  tooBig.push(Buffer.from([1, 0x01, 0x00, 0x00, 0x01]));
  assert.equal(tooBig.nextChunk(), null);
  assert.match(tooBig.error, /exceeds the limit/);
});
