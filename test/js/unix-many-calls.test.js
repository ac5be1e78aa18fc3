'use strict';

// A coordinator that opens hundreds of calls at once on `alknet-docker serve`'s unix socket (one
// connection per call) sees every one succeed: none is turned away by a full accept queue. 2000,
// not a few hundred: the server, in its own process, drains a small queue about as fast as one JS
// thread fills it; 2000 overflowed the old 128-connection queue on every run.
// Needs the server binary: ALKNET_DOCKER_BIN, or the CMake build of scripts/test.sh
// (out/release/alknet-docker).

const test = require('node:test');
const assert = require('node:assert/strict');
const { connect } = require('../../lib');
const { SERVER_BINARY, serveUnix } = require('./helpers');

const binary = SERVER_BINARY;

test('2000 calls opened at once over unix all succeed', { skip: !binary && 'no alknet-docker binary (build it with CMake)' }, async (t) => {
  const { address } = await serveUnix(t);
  const client = connect(address);
  try {
    const results = await Promise.allSettled(Array.from({ length: 2000 }, () => client.system.ping()));
    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(failed.length, 0, `${failed.length} of 2000 failed, e.g. ${failed[0] && failed[0].reason.message}`);
    for (const r of results) assert.equal(r.value.ok, true);
    assert.equal(client.stats().calls, 0);
  } finally {
    await client.close();
  }
});
