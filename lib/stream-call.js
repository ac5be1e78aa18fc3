'use strict';

/**
 * One call of a client of `alknet-docker serve` over one byte stream — a unix socket connection
 * (lib/unix-client.js) or a QUIC stream (lib/quic-client.js): the request frame, the frames the
 * server answers, the raw carriage both ways (lib/codec.js), and the stream's own backpressure
 * (the stream is paused while the consumer is behind; write() returns false until 'drain').
 *
 * The stream is socket-like: write(bytes) → boolean, end(), destroy(), pause(), resume(), and
 * the events 'data' (Buffer), 'end', 'error' (Error), 'close', 'drain'.
 */

const { CallError } = require('./errors');
const { encodeFrame, encodeChunks, Decoder, ChunkType } = require('./codec');
const { deliverRestAfterThrow } = require('./after-throw');

let nextId = 1;

class StreamCall {
  /**
   * Sends the request at once; the answers go to `sink` (see Client#_open).
   * @param {object} stream the socket-like stream the call owns
   * @param {{operation: string, input: any, raw: boolean, authToken?: string}} request
   * @param {object} sink
   * @param {{done: (call: StreamCall) => void, errorOf: (err: Error) => CallError}} hooks
   *   done: the call ended (whatever the way); errorOf: the CallError of a stream failure
   */
  constructor(stream, request, sink, hooks) {
    this._sink = sink;
    this._raw = request.raw;
    this._hooks = hooks;
    this._decoder = new Decoder();
    this._state = 'json'; // json → raw → done
    this._outputs = 0;
    this._controlError = null;
    this._congested = false;
    this._stream = stream;
    const payload = { operationId: request.operation, input: request.input ?? {} };
    if (request.raw) payload.carriage = 'raw';
    if (request.authToken) payload.auth_token = request.authToken;
    stream.write(encodeFrame('call.requested', `js-${process.pid}-${nextId++}`, payload));
    stream.on('data', (bytes) => this._onData(bytes));
    stream.on('end', () => this._onEnd());
    stream.on('error', (err) => this._fail(hooks.errorOf(err)));
    stream.on('close', () => this._onEnd());
    stream.on('drain', () => {
      if (this._congested) {
        this._congested = false;
        if (this._state !== 'done') this._sink.drain();
      }
    });
  }

  _finish() {
    this._state = 'done';
    this._hooks.done(this);
    this._stream.end();
  }

  _fail(err) {
    if (this._state === 'done') return;
    this._state = 'done';
    this._hooks.done(this);
    this._stream.destroy();
    this._sink.error(err);
  }

  _onEnd() {
    if (this._state === 'done') return;
    // A query's single answer is followed by the end of the server's side. A subscription ends
    // with call.completed: more than one output, or a sink that waits for the completion, then
    // the end of the stream means the server went away (killed, restarted, its grace over) — a
    // unix socket shows that as a plain end of stream too.
    if (
      this._state === 'json' &&
      this._outputs === 1 &&
      !this._decoder.partial() &&
      this._sink.awaitsCompletion !== true
    ) {
      this._finish();
      this._sink.answered();
      return;
    }
    this._fail(new CallError('the server closed the call before its end', { code: 'INTERNAL', retryable: true }));
  }

  _onData(bytes) {
    this._decoder.push(bytes);
    try {
      this._readAll();
    } catch (error) {
      // A listener threw (the sink runs user code: 'open', 'data', 'control'): the rest of what
      // this read brought — the call's end perhaps — is still read; then the error goes on.
      deliverRestAfterThrow(() => this._readAll());
      throw error;
    }
  }

  _readAll() {
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
    for (const b of buffers) ok = this._stream.write(b) && ok;
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
    this._stream.pause();
  }

  resume() {
    this._stream.resume();
  }

  cancel() {
    if (this._state === 'done') return;
    this._state = 'done';
    this._hooks.done(this);
    // Aborting the stream is the cancellation (a unix connection closed, a QUIC stream reset):
    // the server stops the handler.
    this._stream.destroy();
  }
}

module.exports = { StreamCall };
