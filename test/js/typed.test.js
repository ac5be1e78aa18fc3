'use strict';

// The typed API end to end against the real daemon.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Engine, CallError } = require('../../lib');
const { IMAGE, REGISTRY_IMAGE, spec, released, cleanup } = require('./helpers');

const engine = new Engine();
test.after(async () => {
  await cleanup(engine);
  await engine.close();
});

test('system: ping, version, info', async () => {
  const ping = await engine.system.ping();
  assert.equal(ping.ok, true);
  assert.match(ping.apiVersion, /^1\.\d+$/);
  const version = await engine.system.version();
  assert.equal(typeof version.ApiVersion, 'string');
  const info = await engine.system.info();
  assert.equal(typeof info.Containers, 'number');
});

test('create → start → logs → wait → remove', async () => {
  const { id, warnings } = await engine.containers.create(
    spec(['sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 5']),
  );
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.ok(Array.isArray(warnings));
  const waited = engine.containers.wait(id, { condition: 'next-exit' });
  assert.deepEqual(await engine.containers.start(id), { ok: true, changed: true });
  const logs = [];
  for await (const entry of engine.containers.logs(id, { follow: true, timestamps: true })) {
    logs.push(entry);
  }
  assert.deepEqual(
    logs.filter((e) => e.stream === 'stdout').map((e) => e.text),
    ['out1\n', 'out2\n', 'out3\n'],
  );
  assert.deepEqual(
    logs.filter((e) => e.stream === 'stderr').map((e) => e.text),
    ['err1\n', 'err2\n', 'err3\n'],
  );
  assert.ok(logs.every((e) => /^\d{4}-\d\d-\d\dT/.test(e.timestamp)));
  for (const e of logs) assert.deepEqual(Object.keys(e), ['stream', 'text', 'timestamp']);
  assert.equal((await waited).exitCode, 5);
  const inspected = await engine.containers.inspect(id);
  assert.equal(inspected.State.ExitCode, 5);
  assert.equal((await engine.containers.remove(id)).ok, true);
  await assert.rejects(engine.containers.inspect(id), { code: 'CONTAINER_NOT_FOUND' });
  await released(engine);
});

test('exec: exit code 7 with separate stdout and stderr', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60']));
  try {
    await engine.containers.start(id);
    const result = await engine.containers.exec(id, ['sh', '-c', 'echo to-out; echo to-err >&2; exit 7']);
    assert.deepEqual(result, { exitCode: 7, stdout: 'to-out\n', stderr: 'to-err\n' });
    const ok = await engine.containers.exec(id, 'printf "a\\nb"', { encoding: 'buffer' });
    assert.equal(ok.exitCode, 0);
    assert.deepEqual(ok.stdout, Buffer.from('a\nb'));
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

test('run: a container printing 10 MB then exiting 3 yields every byte, then {exitCode: 3}', async () => {
  const bytes = 10 * 1000 * 1000;
  // 100-byte lines: 99 'x' and a newline.
  const run = engine.containers.run(
    spec(['sh', '-c', `yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c ${bytes}; exit 3`]),
  );
  let total = 0;
  let bad = 0;
  let tail = '';
  for await (const event of run) {
    assert.equal(event.stream, 'stdout');
    const text = event.text;
    total += text.length;
    // Each complete line must be 99 x's: checks that no byte is lost or duplicated in the middle.
    const joined = tail + text;
    const lines = joined.split('\n');
    tail = lines.pop();
    for (const line of lines) if (line.length !== 99) bad++;
  }
  assert.equal(total, bytes);
  assert.equal(bad, 0);
  assert.equal(tail, '');
  assert.deepEqual(await run.completed, { exitCode: 3 });
  assert.match(run.containerId, /^[0-9a-f]{64}$/);
  await released(engine);
});

test('output events: UTF-8 as text, other bytes as base64, with the documented keys in order', async () => {
  const run = engine.containers.run(
    spec(['sh', '-c', "printf 'ascii\\n'; printf 'w\\303\\266rld \\342\\234\\223\\n'; printf '\\377\\376x' >&2; exit 4"]),
  );
  const events = [];
  for await (const event of run) events.push(event);
  assert.deepEqual(await run.completed, { exitCode: 4 });
  const out = events.filter((e) => e.stream === 'stdout');
  assert.equal(out.map((e) => e.text).join(''), 'ascii\nwörld ✓\n');
  for (const e of out) assert.deepEqual(Object.keys(e), ['stream', 'text']);
  const err = events.filter((e) => e.stream === 'stderr');
  assert.deepEqual(err, [{ base64: Buffer.from([0xff, 0xfe, 0x78]).toString('base64'), stream: 'stderr' }]);
  assert.deepEqual(Object.keys(err[0]), ['base64', 'stream']);
  await released(engine);
});

// Lines that arrive one at a time reach JS as one event per delivery (no batch arrays, see
// cpp/node/js_call.h); lines read at once come as one batch. Both must give the same objects, for
// every kind of event: text and base64, stdout and stderr, with and without timestamps.
test('output events: one at a time and in a batch give the same objects', async () => {
  const spaced = (lines) => lines.join('; sleep 0.3; ');
  // run() carries the bytes as they are (attach): not UTF-8 becomes base64.
  const run = engine.containers.run(
    spec(['sh', '-c', spaced(["printf 'a\\n'", "printf '\\377\\n' >&2", "printf 'b\\n' >&2", "printf '\\376\\n'"])]),
  );
  const events = [];
  for await (const e of run) events.push(e);
  assert.deepEqual(await run.completed, { exitCode: 0 });
  assert.deepEqual(events, [
    { stream: 'stdout', text: 'a\n' },
    { base64: Buffer.from([0xff, 0x0a]).toString('base64'), stream: 'stderr' },
    { stream: 'stderr', text: 'b\n' },
    { base64: Buffer.from([0xfe, 0x0a]).toString('base64'), stream: 'stdout' },
  ]);
  assert.deepEqual(Object.keys(events[1]), ['base64', 'stream']);
  // logs with timestamps: followed while the lines come, then read back in one go.
  const { id } = await engine.containers.create(spec(['sh', '-c', spaced(["echo a", "echo b >&2", "echo c"])]));
  try {
    await engine.containers.start(id);
    const followed = [];
    for await (const e of engine.containers.logs(id, { follow: true, timestamps: true })) followed.push(e);
    const batched = [];
    for await (const e of engine.containers.logs(id, { timestamps: true })) batched.push(e);
    assert.deepEqual(
      followed.map(({ timestamp, ...rest }) => rest),
      [
        { stream: 'stdout', text: 'a\n' },
        { stream: 'stderr', text: 'b\n' },
        { stream: 'stdout', text: 'c\n' },
      ],
    );
    assert.deepEqual(followed, batched);
    for (const e of followed) assert.deepEqual(Object.keys(e), ['stream', 'text', 'timestamp']);
    assert.ok(followed.every((e) => /^\d{4}-\d\d-\d\dT/.test(e.timestamp)));
  } finally {
    await engine.containers.remove(id, { force: true });
  }
  await released(engine);
});

test('CallError: a missing container', async () => {
  const err = await engine.containers.inspect('alknet-no-such-container').catch((e) => e);
  assert.ok(err instanceof CallError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'CallError');
  assert.equal(err.code, 'CONTAINER_NOT_FOUND');
  assert.equal(err.retryable, false);
  // Streams too: the iterator throws the error.
  await assert.rejects(async () => {
    for await (const _ of engine.containers.logs('alknet-no-such-container')) assert.fail('no output expected');
  }, { name: 'CallError', code: 'CONTAINER_NOT_FOUND' });
});

test('CallError: a bad input field is INVALID_INPUT naming the field', async () => {
  const err = await engine.containers.list({ limit: 'ten' }).catch((e) => e);
  assert.equal(err.code, 'INVALID_INPUT');
  assert.deepEqual(err.details, { field: 'limit' });
  assert.match(err.message, /limit/);
  const unknown = await engine.call('docker/container/inspect', { containerId: 'x', bogus: 1 }).catch((e) => e);
  assert.equal(unknown.code, 'INVALID_INPUT');
  assert.match(unknown.message, /bogus/);
});

test('CallError: an unknown operation is NOT_FOUND', async () => {
  const err = await engine.call('docker/container/teleport', {}).catch((e) => e);
  assert.equal(err.code, 'NOT_FOUND');
  assert.match(err.message, /teleport/);
});

test('CallError: an unreachable daemon is DOCKER_UNAVAILABLE, retryable', async () => {
  const nowhere = new Engine({ host: 'unix:///nonexistent/docker.sock' });
  try {
    const err = await nowhere.system.ping().catch((e) => e);
    assert.equal(err.code, 'DOCKER_UNAVAILABLE');
    assert.equal(err.retryable, true);
    const sub = await (async () => {
      for await (const _ of nowhere.system.events()) assert.fail('no event expected');
    })().catch((e) => e);
    assert.equal(sub.code, 'DOCKER_UNAVAILABLE');
  } finally {
    await nowhere.close();
  }
  assert.throws(() => new Engine({ host: 'ftp://example' }), TypeError);
});

test('options out of range are refused, not taken modulo 2^64 or as no limit', async () => {
  for (const connectTimeoutMs of [-1, 0.5, NaN, '100', 2 ** 64]) {
    assert.throws(() => new Engine({ connectTimeoutMs }), TypeError, String(connectTimeoutMs));
  }
  const quick = new Engine({ connectTimeoutMs: 0 });
  await assert.rejects(quick.close({ graceMs: '100' }), TypeError);
  await assert.rejects(quick.close({ graceMs: -1 }), TypeError);
  await quick.close({ graceMs: 0 });
});

test('protocol level: call, subscribe, discovery', async () => {
  const ops = await engine.call('services/list');
  const names = ops.map((o) => o.name);
  for (const name of ['docker/container/run', 'docker/container/attach', 'docker/image/pull']) {
    assert.ok(names.includes(name), name);
  }
  // A subscription through call() resolves with every output.
  const { id } = await engine.containers.create(spec(['echo', 'one']));
  await engine.containers.start(id);
  await engine.containers.wait(id);
  const outputs = await engine.call('docker/container/logs', { containerId: id });
  assert.deepEqual(outputs, [{ stream: 'stdout', text: 'one\n' }]);
  await engine.containers.remove(id);
});

test('AbortSignal: an aborted call rejects and releases its connection', async () => {
  const { id } = await engine.containers.create(spec(['sleep', '60']));
  try {
    await engine.containers.start(id);
    const ac = new AbortController();
    const waiting = engine.containers.wait(id, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(waiting, { name: 'AbortError' });
    await released(engine, 'wait released after abort');
    const ac2 = new AbortController();
    const logs = engine.containers.logs(id, { follow: true, signal: ac2.signal });
    setTimeout(() => ac2.abort(new Error('enough')), 50);
    await assert.rejects(async () => {
      for await (const _ of logs) { /* nothing is printed */ }
    }, { message: 'enough' });
    await released(engine, 'logs released after abort');
    await assert.rejects(engine.system.ping({ signal: AbortSignal.abort() }), { name: 'AbortError' });
  } finally {
    await engine.containers.remove(id, { force: true });
  }
});

test('images: list, inspect, pull with progress, remove', async () => {
  const list = await engine.images.list();
  assert.ok(list.some((i) => (i.RepoTags || []).includes(IMAGE)));
  const inspected = await engine.images.inspect(IMAGE);
  assert.equal(typeof inspected.Id, 'string');
  await assert.rejects(engine.images.inspect('alknet-test/no-such-image:nope'), { code: 'IMAGE_NOT_FOUND' });

  await engine.images.remove(REGISTRY_IMAGE).catch(() => {});
  const pull = engine.images.pull(REGISTRY_IMAGE);
  const statuses = [];
  for await (const progress of pull) statuses.push(progress.status);
  await pull.completed;
  assert.ok(statuses.length > 0);
  assert.ok(statuses.some((s) => /Downloaded newer image|Image is up to date|Pull complete/.test(s)), statuses.join('|'));
  const removed = await engine.images.remove(REGISTRY_IMAGE);
  assert.ok(Array.isArray(removed));

  const missing = engine.images.pull('127.0.0.1:5000/alknet-test/no-such-image:latest');
  await assert.rejects(async () => {
    for await (const _ of missing) { /* progress */ }
  }, (err) => err instanceof CallError && ['IMAGE_NOT_FOUND', 'DOCKER_ERROR'].includes(err.code));
  await assert.rejects(missing.completed);
});
