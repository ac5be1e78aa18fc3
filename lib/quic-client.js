'use strict';

/**
 * The client of `alknet-docker serve` over QUIC (mutual TLS, ALPN alknet/call): one connection
 * per client, made at the first call and made again at the next call after it failed or ended,
 * shared by every call — each call is one bidirectional stream carrying a StreamCall
 * (lib/stream-call.js). The connection runs in the native addon on this thread's event loop
 * (cpp/node/quic_*), with QUIC flow control as the backpressure.
 */

const { EventEmitter } = require('node:events');
const native = require('./native');
const { Client } = require('./client');
const { CallError } = require('./errors');
const { StreamCall } = require('./stream-call');
const { deliverRestAfterThrow } = require('./after-throw');

/**
 * Parses "quic://host:port" ("quic://[::1]:4433") into its host and port.
 * @param {string} address
 * @returns {{host: string, port: number}}
 */
function quicAddress(address) {
  if (typeof address !== 'string') throw new TypeError('address must be a string');
  const m = /^quic:\/\/(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})\/?$/.exec(address);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new TypeError(`unsupported address ${JSON.stringify(address)}: expected quic://host:port`);
  }
  return { host: m[1] ?? m[2], port };
}

// Event kinds of a native QuicStream delivery (cpp/node/quic_stream_wrap.h QuicStreamEvent).
const kOpen = 0;
const kData = 1;
const kEnd = 2;
const kError = 3;
const kDrain = 4;
const kClose = 5;

/**
 * A native QuicStream as the socket-like object a StreamCall runs on. Like a paused socket, it
 * emits nothing while paused: what arrives meanwhile waits for resume().
 */
class QuicSocket extends EventEmitter {
  constructor(connection) {
    super();
    /** True until the stream exists on the connection. */
    this.connecting = true;
    this._paused = false;
    this._held = null; // [kind, value, …] received while paused, or not yet replayed
    this._gone = false; // destroyed, or closed
    this._native = new native.QuicStream(connection, (events) => this._receive(events));
  }

  // One native delivery, from event index `from`. A listener that throws does not cost the rest
  // of it (the stream's end and close come once); its error goes on afterwards.
  _receive(events, from = 0) {
    let i = from;
    try {
      for (; i < events.length && !this._gone; i += 2) {
        if (this._paused || this._held !== null) {
          (this._held ??= []).push(events[i], events[i + 1]);
        } else {
          this._emitEvent(events[i], events[i + 1]);
        }
      }
    } catch (error) {
      deliverRestAfterThrow(() => this._receive(events, i + 2));
      throw error;
    }
  }

  _emitEvent(kind, value) {
    switch (kind) {
      case kOpen:
        this.connecting = false;
        break;
      case kData:
        this.emit('data', value);
        break;
      case kEnd:
        this.emit('end');
        break;
      case kError: {
        const err = new Error(value.message);
        err.retryable = value.retryable;
        err.forbidden = value.forbidden;
        this.emit('error', err);
        break;
      }
      case kDrain:
        this.emit('drain');
        break;
      case kClose:
        this._gone = true;
        this._held = null;
        this.emit('close');
        break;
      default:
        break;
    }
  }

  _replay() {
    try {
      while (this._held !== null && !this._paused && !this._gone) {
        const held = this._held;
        const kind = held.shift();
        const value = held.shift();
        if (held.length === 0) this._held = null;
        this._emitEvent(kind, value);
      }
    } catch (error) {
      // A listener threw: what is still held goes on from a later tick.
      if (this._held !== null) process.nextTick(() => this._replay());
      throw error;
    }
  }

  write(bytes) {
    return this._native.write(bytes);
  }

  end() {
    this._native.end();
  }

  destroy() {
    if (this._gone) return;
    this._gone = true;
    this._held = null;
    this._native.reset();
  }

  pause() {
    this._paused = true;
    this._native.pause();
  }

  resume() {
    this._paused = false;
    this._native.resume();
    // Like a socket, never from inside the caller.
    if (this._held !== null) process.nextTick(() => this._replay());
  }
}

/**
 * A client of `alknet-docker serve` over QUIC, with the same interface as Engine.
 */
class QuicClient extends Client {
  /**
   * @param {string} address "quic://host:port"
   * @param {import('./index').QuicOptions} [options]
   */
  constructor(address, options = {}) {
    super();
    const { host, port } = quicAddress(address);
    for (const name of ['ca', 'cert', 'key', 'serverName', 'authToken']) {
      if (options[name] !== undefined && typeof options[name] !== 'string') {
        throw new TypeError(`options.${name} must be a string`);
      }
    }
    if (Boolean(options.cert) !== Boolean(options.key)) {
      throw new TypeError('options.cert and options.key go together');
    }
    for (const name of ['idleTimeoutMs', 'keepAliveMs', 'handshakeTimeoutMs']) {
      const v = options[name];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
        throw new TypeError(`options.${name} must be a non-negative integer`);
      }
    }
    this._host = host;
    this._port = port;
    this._authToken = options.authToken;
    this._connectionOptions = {
      host,
      port,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      serverName: options.serverName,
      idleTimeoutMs: options.idleTimeoutMs,
      keepAliveMs: options.keepAliveMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    };
    this._connection = null;
    this._connections = 0;
    this._calls = new Set();
    this._closed = null;
  }

  /** @returns {string} the server's address. */
  get endpoint() {
    const host = this._host.includes(':') ? `[${this._host}]` : this._host;
    return `quic://${host}:${this._port}`;
  }

  // The shared connection: the current one while it is usable, else a new one.
  _connect() {
    if (this._connection !== null && this._connection.usable()) return this._connection;
    // A failed or ended connection: its streams already failed; let its handles go.
    this._connection?.close();
    this._connection = new native.QuicConnection(this._connectionOptions);
    this._connections++;
    return this._connection;
  }

  _errorOf(err) {
    // The server refusing our certificate is an authentication failure; other TLS failures
    // (an untrusted server) are not worth retrying either. Anything else — the connection
    // could not be made, broke, timed out, the server reset the call — is.
    const options = { code: err.forbidden ? 'FORBIDDEN' : 'INTERNAL', retryable: Boolean(err.retryable) && !err.forbidden, cause: err };
    const message = err.message.includes('quic://') ? err.message : `${this.endpoint}: ${err.message}`;
    return new CallError(message, options);
  }

  _start(operation, input, raw, sink) {
    if (this._closed) throw new CallError('the client is closed', { code: 'INTERNAL' });
    JSON.stringify(input ?? {}); // throws a TypeError on what cannot be sent, like the engine
    const stream = new QuicSocket(this._connect());
    let call;
    try {
      call = new StreamCall(stream, { operation, input, raw, authToken: this._authToken }, sink, {
        done: (c) => this._calls.delete(c),
        errorOf: (err) => this._errorOf(err),
      });
    } catch (err) {
      stream.destroy();  // a request that cannot be framed (over 64 MiB): its stream goes too
      throw err;
    }
    this._calls.add(call);
    return call;
  }

  /**
   * @returns {{calls: number, connected: boolean, connections: number}} calls in flight, whether
   *   a connection is open (or being made), and how many connections were made so far.
   */
  stats() {
    return { calls: this._calls.size, connected: this._connection?.usable() ?? false, connections: this._connections };
  }

  /**
   * Cancels every call in flight (they reject with CANCELLED) and closes the connection
   * (CONNECTION_CLOSE). Resolves once its socket is closed.
   * @returns {Promise<void>}
   */
  close() {
    if (!this._closed) {
      this._failLive('the client was closed');
      for (const call of [...this._calls]) call.cancel();
      const connection = this._connection;
      this._connection = null;
      this._closed = new Promise((resolve) => {
        if (connection === null || !connection.close(() => resolve())) resolve();
      });
    }
    return this._closed;
  }
}

module.exports = { QuicClient, quicAddress, QuicSocket };
