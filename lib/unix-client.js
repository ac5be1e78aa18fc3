'use strict';

/**
 * The client of `alknet-docker serve` on a unix socket, in plain JavaScript: one connection per
 * call (the server's rule), the frame and chunk codecs of lib/codec.js, and Node's own socket
 * backpressure (the socket is paused while a consumer is behind; write() waits for 'drain').
 */

const net = require('node:net');
const { Client } = require('./client');
const { CallError } = require('./errors');
const { encodeFrame, encodeChunks, Decoder, ChunkType } = require('./codec');

/**
 * Parses "unix:///path" (or an absolute path) into the socket path.
 * @param {string} address
 * @returns {string}
 */
function socketPath(address) {
  if (typeof address !== 'string') throw new TypeError('address must be a string');
  if (address.startsWith('unix://')) {
    const path = address.slice('unix://'.length);
    if (path.startsWith('/')) return path;
  } else if (address.startsWith('/')) {
    return address;
  }
  throw new TypeError(`unsupported address ${JSON.stringify(address)}: expected unix:///path`);
}

let nextId = 1;

// One call on its own connection.
class UnixCall {
  constructor(client, operation, input, raw, sink) {
    this._sink = sink;
    this._raw = raw;
    this._decoder = new Decoder();
    this._state = 'json'; // json → raw → done
    this._outputs = 0;
    this._controlError = null;
    this._congested = false;
    this._socket = net.connect(client._path);
    this._socket.setNoDelay?.(true);
    const payload = { operationId: operation, input: input ?? {} };
    if (raw) payload.carriage = 'raw';
    if (client._authToken) payload.auth_token = client._authToken;
    this._socket.write(encodeFrame('call.requested', `js-${process.pid}-${nextId++}`, payload));
    this._socket.on('data', (bytes) => this._onData(bytes));
    this._socket.on('end', () => this._onEnd());
    this._socket.on('error', (err) => this._onError(err));
    this._socket.on('close', () => this._onEnd());
    this._socket.on('drain', () => {
      if (this._congested) {
        this._congested = false;
        if (this._state !== 'done') this._sink.drain();
      }
    });
    this._client = client;
  }

  _finish() {
    this._state = 'done';
    this._client._calls.delete(this);
    this._socket.end();
  }

  _fail(err) {
    if (this._state === 'done') return;
    this._state = 'done';
    this._client._calls.delete(this);
    this._socket.destroy();
    this._sink.error(err);
  }

  _onError(err) {
    const connecting = this._socket.connecting || err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
    this._fail(
      new CallError(`${connecting ? 'cannot connect to' : 'connection to'} unix://${this._client._path} ${connecting ? 'failed' : 'broke'}: ${err.message}`, {
        code: 'INTERNAL',
        retryable: true,
        details: { errno: err.code },
        cause: err,
      }),
    );
  }

  _onEnd() {
    if (this._state === 'done') return;
    if (this._state === 'json' && this._outputs > 0 && !this._decoder.partial()) {
      // A query's single answer is followed by the end of the server's side.
      this._finish();
      this._sink.answered();
      return;
    }
    this._fail(new CallError('the server closed the call before its end', { code: 'INTERNAL', retryable: true }));
  }

  _onData(bytes) {
    this._decoder.push(bytes);
    if (this._state === 'json') this._readFrames();
    if (this._state === 'raw') this._readChunks();
    if (this._decoder.error !== null && this._state !== 'done') {
      this._fail(new CallError(`bad stream from the server: ${this._decoder.error}`, { code: 'INTERNAL' }));
    }
  }

  _readFrames() {
    let batch = null;
    let bytes = 0;
    const flush = () => {
      if (batch !== null) {
        const items = batch;
        batch = null;
        this._sink.outputs(items, bytes);
        bytes = 0;
      }
    };
    for (;;) {
      const frame = this._decoder.nextFrame();
      if (frame === null) break;
      const payload = frame.payload ?? {};
      if (frame.type === 'call.responded') {
        const output = payload.output;
        if (this._raw && output && output.carriage === 'raw') {
          flush();
          this._state = 'raw';
          this._decoder.switchToChunks();
          this._sink.rawOpen(Boolean(output.tty));
          return;
        }
        this._outputs++;
        (batch ??= []).push(output);
        bytes += frame.size;
      } else if (frame.type === 'call.completed') {
        flush();
        this._finish();
        this._sink.completed();
        return;
      } else if (frame.type === 'call.error') {
        flush();
        this._fail(CallError.fromPayload(payload));
        return;
      }
    }
    flush();
  }

  _readChunks() {
    for (;;) {
      if (this._state !== 'raw') return;
      const chunk = this._decoder.nextChunk();
      if (chunk === null) return;
      switch (chunk.type) {
        case ChunkType.stdout:
          this._sink.stdout(chunk.payload);
          break;
        case ChunkType.stderr:
          this._sink.stderr(chunk.payload);
          break;
        case ChunkType.controlOut: {
          let msg;
          try {
            msg = JSON.parse(chunk.payload.toString('utf8'));
          } catch {
            this._fail(new CallError('bad control message from the server', { code: 'INTERNAL' }));
            return;
          }
          if (msg && msg.type === 'exit') {
            const code = Number.isInteger(msg.code) ? msg.code : -1;
            if (this._controlError) {
              this._fail(this._controlError);
            } else {
              this._finish();
              this._sink.exit(code);
            }
            return;
          }
          if (msg && msg.type === 'error') this._controlError = CallError.fromPayload(msg);
          this._sink.control(msg);
          break;
        }
        default:
          this._fail(new CallError('the server sent a client-to-server chunk', { code: 'INTERNAL' }));
          return;
      }
    }
  }

  _writeAll(buffers) {
    let ok = true;
    for (const b of buffers) ok = this._socket.write(b) && ok;
    if (!ok) this._congested = true;
    return ok;
  }

  write(bytes) {
    if (this._state !== 'raw' || bytes.length === 0) return true;
    return this._writeAll(encodeChunks(ChunkType.stdin, bytes));
  }

  endInput() {
    if (this._state !== 'raw') return;
    this._writeAll(encodeChunks(ChunkType.controlIn, Buffer.from('{"type":"eof"}')));
  }

  control(message) {
    if (this._state !== 'raw') return;
    this._writeAll(encodeChunks(ChunkType.controlIn, Buffer.from(JSON.stringify(message))));
  }

  pause() {
    this._socket.pause();
  }

  resume() {
    this._socket.resume();
  }

  cancel() {
    if (this._state === 'done') return;
    this._state = 'done';
    this._client._calls.delete(this);
    // Closing the connection is the cancellation: the server stops the handler.
    this._socket.destroy();
  }
}

/**
 * A client of `alknet-docker serve` on a unix socket, with the same interface as Engine.
 */
class UnixClient extends Client {
  /**
   * @param {string} address "unix:///path/to/socket"
   * @param {{authToken?: string}} [options]
   */
  constructor(address, options = {}) {
    super();
    this._path = socketPath(address);
    this._authToken = options.authToken;
    this._calls = new Set();
    this._closed = false;
  }

  /** @returns {string} the server's address. */
  get endpoint() {
    return `unix://${this._path}`;
  }

  _start(operation, input, raw, sink) {
    if (this._closed) throw new CallError('the client is closed', { code: 'INTERNAL' });
    JSON.stringify(input ?? {}); // throws a TypeError on what cannot be sent, like the engine
    const call = new UnixCall(this, operation, input, raw, sink);
    this._calls.add(call);
    return call;
  }

  /** @returns {{calls: number}} calls in flight. */
  stats() {
    return { calls: this._calls.size };
  }

  /** Cancels every call in flight. @returns {Promise<void>} */
  close() {
    if (!this._closed) {
      this._closed = true;
      this._failLive('the client was closed');
      for (const call of [...this._calls]) call.cancel();
    }
    return Promise.resolve();
  }
}

/**
 * Connects to an `alknet-docker serve` (the connection per call is opened lazily).
 * @param {string} address "unix:///path/to/socket"
 * @param {{authToken?: string}} [options]
 * @returns {UnixClient}
 */
function connect(address, options) {
  return new UnixClient(address, options);
}

module.exports = { UnixClient, connect, socketPath };
