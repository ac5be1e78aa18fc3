'use strict';

// Loads the addon built by `npm install` (node-gyp: build/Release, or build/Debug after
// `npm run build:debug`). ALKNET_DOCKER_ADDON names another build to load instead.
const path = require('node:path');

function load() {
  const candidates = process.env.ALKNET_DOCKER_ADDON
    ? [path.resolve(process.env.ALKNET_DOCKER_ADDON)]
    : [
        path.join(__dirname, '..', 'build', 'Release', 'alknet_docker.node'),
        path.join(__dirname, '..', 'build', 'Debug', 'alknet_docker.node'),
      ];
  let firstError;
  for (const file of candidates) {
    try {
      return require(file);
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
      firstError ??= err;
    }
  }
  const err = new Error(
    `alknet-docker: the native addon is not built (looked for ${candidates.join(', ')}); run \`npm install\` or \`npm run build\``,
    { cause: firstError },
  );
  err.code = 'MODULE_NOT_FOUND';
  throw err;
}

module.exports = load();
