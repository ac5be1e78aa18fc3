#!/usr/bin/env node
'use strict';

// build-addon.js — the package's install (and build) script: configures and builds the addon with
// node-gyp against the headers of the node that runs it, never against headers downloaded at
// install time, so `npm install` works offline wherever the package is installed.
//
//   node scripts/build-addon.js [--debug]
//
// The headers must be those of the running node: the addon uses node's libuv directly, not only
// N-API. They are looked for next to it first (<prefix>/include/node, <prefix> two levels above
// process.execPath: /usr for Debian's and NodeSource's packages, the install directory for nvm
// and the official tarballs), then in npm_config_nodedir; headers of another version are refused.
// Without matching headers it stops with a message naming what to install instead of reaching for
// the network.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** The node version of the headers under `dir` ("20.20.2"), or null when there are none. */
function headersVersion(dir) {
  try {
    const h = fs.readFileSync(path.join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    const part = (name) => new RegExp(`#define\\s+NODE_${name}_VERSION\\s+(\\d+)`).exec(h)?.[1];
    const v = [part('MAJOR'), part('MINOR'), part('PATCH')];
    return v.every(Boolean) && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h')) ? v.join('.') : null;
  } catch {
    return null;
  }
}

function findNodeDir() {
  const own = path.resolve(path.dirname(process.execPath), '..');
  const candidates = [own, process.env.npm_config_nodedir].filter(Boolean);
  const seen = [];
  for (const dir of candidates) {
    const version = headersVersion(dir);
    if (version === process.versions.node) return { dir };
    seen.push(`${path.join(dir, 'include', 'node')}: ${version ? `headers of node ${version}` : 'no headers'}`);
  }
  return { seen };
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

const found = findNodeDir();
if (!found.dir) {
  console.error(
    `alknet-docker: no headers of node ${process.versions.node} (${process.execPath}):\n  ${found.seen.join('\n  ')}\n` +
      'Install the headers of this node (they come with the official tarballs, nvm and NodeSource; ' +
      "Debian's nodejs needs libnode-dev), or point npm_config_nodedir at them.",
  );
  process.exit(1);
}
const debug = process.argv.includes('--debug') ? ['--debug'] : [];
run(['configure', `--nodedir=${found.dir}`, ...debug]);
run(['build', '--jobs=max', ...debug]);
