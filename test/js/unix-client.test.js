'use strict';

// The JS client of `alknet-docker serve` on a unix socket: the same interface as the engine.
// Needs the server binary: ALKNET_DOCKER_BIN, or the CMake build of scripts/test.sh
// (out/release/alknet-docker).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const crypto = require('node:crypto');
const { once } = require('node:events');
const { connect, CallError } = require('../../lib');
const { Engine, SERVER_BINARY, serveUnix, spec, waitFor, sleep } = require('./helpers');

const binary = SERVER_BINARY;

test('unix client', { skip: !binary && 'no alknet-docker binary (build it with CMake)' }, async (t) => {
  const { dir, address } = await serveUnix(t);
  const client = connect(address);

  await t.test('ping, list and errors', async () => {
    assert.equal((await client.system.ping()).ok, true);
    assert.ok(Array.isArray(await client.containers.list({ all: true })));
    await assert.rejects(client.containers.inspect('alknet-no-such-container'), { code: 'CONTAINER_NOT_FOUND' });
    await assert.rejects(client.call('docker/nothing'), { code: 'NOT_FOUND' });
    await assert.rejects(client.containers.list({ limit: 'x' }), { code: 'INVALID_INPUT', details: { field: 'limit' } });
  });

  await t.test('run yields the output and completes with the exit code', async () => {
    const run = client.containers.run(spec(['sh', '-c', 'echo one; echo two >&2; exit 6']));
    const events = [];
    for await (const event of run) events.push(event);
    assert.deepEqual(events.map((e) => e.text).sort(), ['one\n', 'two\n']);
    assert.deepEqual(await run.completed, { exitCode: 6 });
    assert.equal(client.stats().calls, 0);
  });

  await t.test('exec and attach', async () => {
    const { id } = await client.containers.create(spec(['cat'], { openStdin: true, stdinOnce: true }));
    try {
      const stream = client.containers.attach(id);
      await once(stream, 'open');
      await client.containers.start(id);
      assert.deepEqual(await client.containers.exec(id, ['sh', '-c', 'echo hi; exit 7']), { exitCode: 7, stdout: 'hi\n', stderr: '' });
      const payload = crypto.randomBytes(4 << 20);
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.end(payload);
      assert.deepEqual(await stream.exit, { exitCode: 0 });
      assert.ok(Buffer.concat(chunks).equals(payload));
    } finally {
      await client.containers.remove(id, { force: true });
    }
  });

  await t.test('break out of a follow closes the call', async () => {
    const { id } = await client.containers.create(spec(['sh', '-c', 'while true; do echo t; sleep 0.01; done']));
    try {
      await client.containers.start(id);
      let n = 0;
      for await (const _ of client.containers.logs(id, { follow: true })) if (++n === 3) break;
      assert.equal(client.stats().calls, 0);
    } finally {
      await client.containers.remove(id, { force: true });
    }
  });

  await t.test('a request too large to frame leaves no socket behind', async () => {
    const pipes = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('Pipe')).length;
    await sleep(200); // the sockets of the calls before have closed
    const before = pipes();
    await assert.rejects(client.call('docker/system/ping', { pad: 'x'.repeat(65 << 20) }), RangeError);
    assert.equal(client.stats().calls, 0);
    await waitFor(() => pipes() <= before, { what: `sockets back to ${before} (now ${pipes()})` });
  });

  await t.test('an unreachable server is a retryable error', async () => {
    const nowhere = connect(`unix://${path.join(dir, 'none.sock')}`);
    const err = await nowhere.system.ping().catch((e) => e);
    assert.ok(err instanceof CallError);
    assert.equal(err.retryable, true);
  });
  await client.close();
});

// A unix socket shows a killed server as a plain end of stream, like the end of a query's answer:
// a subscription must still fail (retryably), never end as if completed.
test('a server killed during a follow fails it, not completes it', { skip: !binary && 'no alknet-docker binary (build it with CMake)' }, async (t) => {
  const { address, server } = await serveUnix(t);
  const client = connect(address);
  const { id } = await client.containers.create(spec(['sh', '-c', 'while true; do echo t; sleep 0.01; done']));
  const engine = new Engine();
  try {
    await client.containers.start(id);
    const follow = client.containers.logs(id, { follow: true });
    let lines = 0;
    const failure = await (async () => {
      for await (const _ of follow) {
        if (++lines === 5) server.kill('SIGKILL');
      }
    })().then(() => null, (e) => e);
    assert.ok(failure instanceof CallError, `the follow ended without an error after ${lines} lines`);
    assert.equal(failure.retryable, true);
    assert.equal(client.stats().calls, 0);
  } finally {
    await engine.containers.remove(id, { force: true });
    await engine.close();
    await client.close();
  }
});
