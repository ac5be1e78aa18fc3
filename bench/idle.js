'use strict';

// How a client's process settles when it idles after loading: RSS and V8's young generation every
// 5 s for 30 s, after one ping. Shows whether a "before" read soon after loading is at rest
// (bench/RESULTS.md, Run 9).
//
//   node idle.js addon|dockerode

const path = require('node:path');
const v8 = require('node:v8');
const { ALK_ROOT, sleep } = require('./lib/common');

const newSpace = () => v8.getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space');
const MiB = 2 ** 20;

(async () => {
  const client = process.argv[2];
  if (client === 'addon') {
    const { Engine } = require(ALK_ROOT);
    const engine = new Engine();
    await engine.system.ping();
    await engine.close();
  } else if (client === 'dockerode') {
    const Docker = require(path.join(__dirname, 'node_modules', 'dockerode'));
    await new Docker().ping();
  } else {
    throw new Error('usage: node idle.js addon|dockerode');
  }
  for (let t = 0; t <= 30; t += 5) {
    const ns = newSpace();
    console.log(`${t} s: RSS ${(process.memoryUsage().rss / MiB).toFixed(1)} MiB, young generation ${(ns.space_size / MiB).toFixed(0)} MiB (committed ${(ns.physical_space_size / MiB).toFixed(1)})`);
    await sleep(5000);
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
