'use strict';

/**
 * alknet-docker: the Docker Engine API from Node.js through a C++ core on Node's own event loop.
 *
 *   const { Engine } = require('alknet-docker');
 *   const docker = new Engine();                       // DOCKER_HOST or the local socket
 *   const run = docker.containers.run({ image: 'busybox', command: ['echo', 'hi'] });
 *   for await (const out of run) process.stdout.write(out.text);
 *   const { exitCode } = await run.completed;
 *
 * `connect('unix:///run/alknet-docker.sock')` or `connect('quic://host:4433', {ca, cert, key})`
 * gives the same interface on a remote `alknet-docker serve`.
 */

const { CallError } = require('./errors');
const { Client } = require('./client');
const { Subscription } = require('./subscription');
const { RawStream } = require('./raw-stream');
const { UnixClient } = require('./unix-client');

// The engine and the QUIC client need the addon; the unix client does not. Load the addon only
// when asked for.
let engineModule;
function engine() {
  engineModule ??= require('./engine');
  return engineModule;
}
let quicModule;
function quic() {
  quicModule ??= require('./quic-client');
  return quicModule;
}

/**
 * Connects to an `alknet-docker serve`: "unix:///path/to/socket" (one connection per call, opened
 * with the call) or "quic://host:port" (one connection for every call, made at the first one).
 * @param {string} address
 * @param {import('./index').ConnectOptions} [options]
 * @returns {UnixClient | import('./quic-client').QuicClient}
 */
function connect(address, options) {
  if (typeof address === 'string' && address.startsWith('quic://')) return new (quic().QuicClient)(address, options);
  if (typeof address === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(address) && !address.startsWith('unix://')) {
    throw new TypeError(`unsupported address ${JSON.stringify(address)}: expected unix:///path or quic://host:port`);
  }
  return new UnixClient(address, options);
}

module.exports = {
  get Engine() {
    return engine().Engine;
  },
  connect,
  Client,
  UnixClient,
  get QuicClient() {
    return quic().QuicClient;
  },
  CallError,
  Subscription,
  RawStream,
};
