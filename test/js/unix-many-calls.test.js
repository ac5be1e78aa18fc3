'use strict';

// A coordinator that opens hundreds of calls at once on `alknet-docker serve`'s unix socket (one
// connection per call) sees every one succeed: none is turned away by a full accept queue. 2000,
// not a few hundred: the server, in its own process, drains a small queue about as fast as one JS
// thread fills it; 2000 overflowed the old 128-connection queue on every run.
// Needs the server binary: ALKNET_DOCKER_BIN, or the CMake build of scripts/test.sh
// (out/release/alknet-docker).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { connect } = require('../../lib');
const { SERVER_BINARY, waitFor } = require('./helpers');

const binary = SERVER_BINARY;

test('2000 calls opened at once over unix all succeed', { skip: !binary && 'no alknet-docker binary (build it with CMake)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alknet-js-'));
  const sock = path.join(dir, 'serve.sock');
  const server = spawn(binary, ['serve', '--listen', `unix://${sock}`, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (c) => (serverLog += c));
  t.after(async () => {
    server.kill('SIGTERM');
    await once(server, 'exit').catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => fs.existsSync(sock), { what: `server socket (${serverLog})` });
  const client = connect(`unix://${sock}`);
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
