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
 * `connect('unix:///run/alknet-docker.sock')` gives the same interface on a remote
 * `alknet-docker serve`.
 */

const { CallError } = require('./errors');
const { Client } = require('./client');
const { Subscription } = require('./subscription');
const { RawStream } = require('./raw-stream');
const { UnixClient, connect } = require('./unix-client');

// The engine needs the addon; the unix client does not. Load the addon only when asked for.
let engineModule;
function engine() {
  engineModule ??= require('./engine');
  return engineModule;
}

module.exports = {
  get Engine() {
    return engine().Engine;
  },
  connect,
  Client,
  UnixClient,
  CallError,
  Subscription,
  RawStream,
};
