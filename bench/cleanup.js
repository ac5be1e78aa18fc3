'use strict';

// Removes every container labelled bench=1 (force), e.g. after an interrupted benchmark.
//
//   node cleanup.js

const api = require('./lib/docker-api');

(async () => {
  const ids = await api.benchContainers();
  await api.removeAll(ids, 4);
  console.log(`removed ${ids.length} containers labelled bench=1`);
  api.agent.destroy();
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
