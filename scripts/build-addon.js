#!/usr/bin/env node
'use strict';

// build-addon.js — the package's install (and build) script: configures and builds the addon with
// node-gyp against the headers of the node that runs it, never against headers downloaded at
// install time, so `npm install` works offline wherever the package is installed.
//
//   node scripts/build-addon.js [--debug]
//
// The headers are looked for next to the running node (<prefix>/include/node, where <prefix> is
// two levels above process.execPath: /usr for Debian's and NodeSource's packages, the install
// directory for nvm and the official tarballs). npm_config_nodedir, when set, wins. Without
// headers it stops with a message naming what to install instead of reaching for the network.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const hasHeaders = (dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'));

function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return configured;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return hasHeaders(prefix) ? prefix : null;
}

// npm hands its own node-gyp to install scripts; otherwise the devDependency's.
function nodeGypBin() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  return require.resolve('node-gyp/bin/node-gyp.js');
}

function run(args) {
  const r = spawnSync(process.execPath, [nodeGypBin(), ...args], { stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const nodedir = findNodeDir();
if (!nodedir) {
  console.error(
    `alknet-docker: no Node.js headers next to ${process.execPath} ` +
      `(looked for ${path.resolve(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h')}).\n` +
      'Install the headers of this node (they come with the official tarballs, nvm and NodeSource; ' +
      "Debian's nodejs needs libnode-dev), or point npm_config_nodedir at them.",
  );
  process.exit(1);
}
const debug = process.argv.includes('--debug') ? ['--debug'] : [];
run(['configure', `--nodedir=${nodedir}`, ...debug]);
run(['build', '--jobs=max', ...debug]);
