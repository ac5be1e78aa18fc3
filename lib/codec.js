'use strict';

/**
 * The wire codecs of the alknet call protocol for the JS client: frames (`u32` BE length +
 * UTF-8 JSON) and, on the raw carriage, chunks (`[type u8][length u32 BE][payload]`).
 */

const kMaxFrameBytes = 64 * 1024 * 1024;
const kMaxChunkBytes = 16 * 1024 * 1024;

const ChunkType = Object.freeze({ stdin: 0, stdout: 1, stderr: 2, controlIn: 3, controlOut: 4 });

/**
 * Encodes one frame.
 * @param {string} type e.g. "call.requested"
 * @param {string} id
 * @param {unknown} payload
 * @returns {Buffer}
 */
function encodeFrame(type, id, payload) {
  const json = Buffer.from(JSON.stringify({ type, id, payload }), 'utf8');
  if (json.length === 0 || json.length > kMaxFrameBytes) throw new RangeError('frame too large');
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

/**
 * Encodes `payload` as chunks of `type` (several when above the 16 MiB chunk limit; one empty
 * chunk for an empty payload). Returns the buffers to write, in order.
 * @param {number} type
 * @param {Uint8Array} payload
 * @returns {Buffer[]}
 */
function encodeChunks(type, payload) {
  const out = [];
  let offset = 0;
  do {
    const n = Math.min(kMaxChunkBytes, payload.length - offset);
    const header = Buffer.allocUnsafe(5);
    header.writeUInt8(type, 0);
    header.writeUInt32BE(n, 1);
    out.push(header);
    if (n > 0) out.push(Buffer.from(payload.buffer, payload.byteOffset + offset, n));
    offset += n;
  } while (offset < payload.length);
  return out;
}

/**
 * Splits a byte stream into frames, then (after switchToChunks) into chunks. Incremental: push()
 * bytes as they arrive, then take what is complete. Errors are sticky.
 */
class Decoder {
  constructor() {
    this._chunks = []; // buffered Buffers
    this._length = 0; // their total length
    this._chunkMode = false;
    /** @type {string|null} */
    this.error = null;
  }

  /** @param {Buffer} bytes */
  push(bytes) {
    if (bytes.length === 0) return;
    this._chunks.push(bytes);
    this._length += bytes.length;
  }

  /** Decodes the remaining bytes as raw-carriage chunks from now on. */
  switchToChunks() {
    this._chunkMode = true;
  }

  /** True while bytes of an incomplete frame or chunk are buffered. */
  partial() {
    return this._length > 0;
  }

  // The first `n` buffered bytes as one Buffer (without consuming them).
  _peek(n) {
    if (this._chunks[0].length < n) {
      const joined = Buffer.concat(this._chunks, this._length);
      this._chunks = [joined];
    }
    return this._chunks[0];
  }

  _consume(n) {
    const first = this._peek(n);
    const out = first.subarray(0, n);
    if (first.length === n) {
      this._chunks.shift();
    } else {
      this._chunks[0] = first.subarray(n);
    }
    this._length -= n;
    return out;
  }

  /**
   * The next complete frame as `{type, id, payload, size}`, or null.
   * @returns {{type: string, id: string, payload: any, size: number}|null}
   */
  nextFrame() {
    if (this.error !== null || this._chunkMode || this._length < 4) return null;
    const n = this._peek(4).readUInt32BE(0);
    if (n === 0 || n > kMaxFrameBytes) {
      this.error = `bad frame length ${n}`;
      return null;
    }
    if (this._length < 4 + n) return null;
    this._consume(4);
    const body = this._consume(n);
    let frame;
    try {
      frame = JSON.parse(body.toString('utf8'));
    } catch (err) {
      this.error = `frame is not JSON: ${err.message}`;
      return null;
    }
    if (frame === null || typeof frame !== 'object' || typeof frame.type !== 'string') {
      this.error = 'frame without a type';
      return null;
    }
    frame.size = n;
    return frame;
  }

  /**
   * The next complete chunk as `{type, payload}`, or null.
   * @returns {{type: number, payload: Buffer}|null}
   */
  nextChunk() {
    if (this.error !== null || !this._chunkMode || this._length < 5) return null;
    const header = this._peek(5);
    const type = header.readUInt8(0);
    const n = header.readUInt32BE(1);
    if (type > 4) {
      this.error = `unknown chunk type ${type}`;
      return null;
    }
    if (n > kMaxChunkBytes) {
      this.error = `chunk of ${n} bytes exceeds the limit`;
      return null;
    }
    if (this._length < 5 + n) return null;
    this._consume(5);
    return { type, payload: n === 0 ? Buffer.alloc(0) : this._consume(n) };
  }
}

module.exports = { encodeFrame, encodeChunks, Decoder, ChunkType, kMaxFrameBytes, kMaxChunkBytes };
