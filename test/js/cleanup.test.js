'use strict';

// The test suites' own cleanup (helpers.cleanup): it removes this run's containers and those of
// dead runs, and leaves another live run's alone, so two JS test runs on one daemon can overlap.

const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { Engine } = require('../../lib');
const { spec, cleanup, LABELS, RUN_ID } = require('./helpers');

const engine = new Engine();
test.after(async () => {
  await cleanup(engine);
  await engine.close();
});

async function exists(id) {
  const err = await engine.containers.inspect(id).then(() => null, (e) => e);
  if (err && err.code !== 'CONTAINER_NOT_FOUND') throw err;
  return err === null;
}

// A container labelled as made by the run `run` (host:pid).
async function labelled(run) {
  const { id } = await engine.containers.create(spec(['true'], { labels: { ...LABELS, 'alknet-test.run': run } }));
  return id;
}

test('cleanup removes this run\'s containers and dead runs\' leftovers, not another live run\'s', async () => {
  // Another run, alive while the test runs; and one whose process has exited.
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(dead, 'exit');
  const ids = {};
  try {
    ids.own = await labelled(RUN_ID);
    ids.live = await labelled(`${os.hostname()}:${live.pid}`);
    ids.dead = await labelled(`${os.hostname()}:${dead.pid}`);
    ids.otherHost = await labelled(`alknet-elsewhere.invalid:${dead.pid}`);
    await cleanup(engine);
    assert.equal(await exists(ids.own), false, 'this run\'s container was left');
    assert.equal(await exists(ids.dead), false, 'a dead run\'s container was left');
    assert.equal(await exists(ids.live), true, 'a live run\'s container was removed');
    assert.equal(await exists(ids.otherHost), true, 'another host\'s run is not ours to judge');
  } finally {
    live.kill();
    await Promise.all(Object.values(ids).map((id) => engine.containers.remove(id, { force: true }).catch(() => {})));
  }
});
