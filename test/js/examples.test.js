'use strict';

// The examples a newcomer runs first (examples/*.js; coordinator.js runs in scripts/demo.sh), each
// as its own process against the real daemon, and the ESM entry point.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Engine, IMAGE, REGISTRY_IMAGE, spec, cleanup, runNode } = require('./helpers');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

/** Runs examples/<name> with `args` (and `input` on its stdin): its {code, signal, stdout, stderr}. */
function example(name, args, { input, timeoutMs = 60000 } = {}) {
  return runNode([path.join(EXAMPLES, name), ...args], { input, timeoutMs });
}

test('examples', async (t) => {
  const engine = new Engine();
  t.after(async () => {
    await cleanup(engine);
    await engine.close();
  });
  const { id } = await engine.containers.create(spec(['sleep', '300']));
  await engine.containers.start(id);

  await t.test('exec.js passes the exit code and keeps stdout and stderr apart', async () => {
    const r = await example('exec.js', [id, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 7']);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, 'to-out\n');
    assert.equal(r.stderr, 'to-err\n');
  });

  await t.test('exec.js -i streams stdin to the process and ends it with ours', async () => {
    const input = 'line one\nline two\n'.repeat(1000);
    const r = await example('exec.js', ['-i', id, 'cat'], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, input);
  });

  await t.test('exec.js on a missing container says why and fails', async () => {
    const r = await example('exec.js', ['alknet-no-such-container', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NOT_FOUND/);
  });

  await t.test('attach.js runs a throwaway shell fed from a pipe and removes it', async () => {
    // attach.js's throwaway carries no label but the engine's own (alknet.managed, alknet.owner):
    // find it in the daemon's events of the run's window, created and destroyed. Containers of other
    // tests running at the same time carry labels of their own and are not matched, nor touched.
    const since = Math.floor(Date.now() / 1000);
    const r = await example('attach.js', [], { input: 'echo attached-$((6*7))\nexit 4\n' });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /attached-42/);
    const until = Math.floor(Date.now() / 1000) + 1;
    const created = new Set();
    const destroyed = new Set();
    const events = engine.system.events({ since: String(since), until: String(until), filters: { type: ['container'] } });
    for await (const ev of events) {
      const attrs = ev.Actor?.Attributes ?? {};
      const labels = Object.keys(attrs).filter((k) => k !== 'image' && k !== 'name' && !k.startsWith('exitCode'));
      const onlyEngineLabels = labels.length === 2 && attrs['alknet.managed'] === 'true' && attrs['alknet.owner'] !== undefined;
      if (attrs.image !== IMAGE || !onlyEngineLabels) continue;
      if (ev.Action === 'create') created.add(ev.Actor.ID);
      if (ev.Action === 'destroy') destroyed.add(ev.Actor.ID);
    }
    const left = [...created].filter((id) => !destroyed.has(id));
    assert.ok(created.size >= 1, 'attach.js created its throwaway container');
    assert.deepEqual(left, [], 'the throwaway container is removed');
  });

  await t.test('pull.js pulls from the local registry and reports it', async () => {
    await engine.images.remove(REGISTRY_IMAGE, { force: true }).catch(() => {});
    const r = await example('pull.js', [REGISTRY_IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`pulled ${REGISTRY_IMAGE.replace(/[.]/g, '\\.')}`));
    const image = await engine.images.inspect(REGISTRY_IMAGE);
    assert.ok(image.id || image.Id, 'the image is there after the pull');
  });

  await t.test('pull.js of an image that does not exist fails with the daemon error', async () => {
    const r = await example('pull.js', [`${REGISTRY_IMAGE.split('/')[0]}/alknet-test/missing:latest`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /[A-Z_]+: /);
  });
});

test('the ESM entry point exports the CommonJS API', async () => {
  const esm = await import('../../lib/index.mjs');
  const cjs = require('../../lib');
  for (const name of ['connect', 'Client', 'UnixClient', 'CallError', 'Subscription', 'RawStream', 'Engine', 'QuicClient']) {
    assert.equal(esm[name], cjs[name], name);
  }
  assert.equal(esm.default, cjs);
  const engine = new esm.Engine();
  try {
    const pong = await engine.system.ping();
    assert.equal(pong.ok, true);
  } finally {
    await engine.close();
  }
});
