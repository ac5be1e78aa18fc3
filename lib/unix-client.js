'use strict';

/**
 * The client of `alknet-docker serve` on a unix socket, in plain JavaScript: one connection per
 * call (the server's rule), each carrying one StreamCall (lib/stream-call.js) with Node's own
 * socket backpressure.
 */

const net = require('node:net');
const { Client } = require('./client');
const { CallError } = require('./errors');
const { StreamCall } = require('./stream-call');

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

// Codes with which connect() itself fails (EAGAIN: the server's accept queue is full).
const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

// The CallError of a failed connection (ENOENT, ECONNREFUSED, EPIPE, …): worth retrying.
function connectionError(path, socket, err) {
  const connecting = socket.connecting || CONNECT_ERRORS.has(err.code);
  return new CallError(`${connecting ? 'cannot connect to' : 'connection to'} unix://${path} ${connecting ? 'failed' : 'broke'}: ${err.message}`, {
    code: 'INTERNAL',
    retryable: true,
    details: { errno: err.code },
    cause: err,
  });
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
    const socket = net.connect(this._path);
    socket.setNoDelay?.(true);
    let call;
    try {
      call = new StreamCall(socket, { operation, input, raw, authToken: this._authToken }, sink, {
        done: (c) => this._calls.delete(c),
        errorOf: (err) => connectionError(this._path, socket, err),
      });
    } catch (err) {
      // A request that cannot be framed (over 64 MiB): the socket goes too, and quietly.
      socket.on('error', () => {});
      socket.destroy();
      throw err;
    }
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

module.exports = { UnixClient, socketPath };
