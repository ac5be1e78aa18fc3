'use strict';

// lib/index.d.ts against the usages in test/js/types/*.ts, with the TypeScript compiler (--strict,
// --noEmit): typescript and @types/node are devDependencies, so `npm install` in the checkout brings
// them; ALK_TS_MODULES may name another node_modules folder holding both. Skipped without them.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function typescript() {
  const dirs = [process.env.ALK_TS_MODULES].filter(Boolean);
  try {
    dirs.push(path.dirname(path.dirname(require.resolve('typescript/package.json'))));
  } catch {
    // not installed
  }
  for (const dir of dirs) {
    const tsc = path.join(dir, 'typescript', 'bin', 'tsc');
    if (fs.existsSync(tsc) && fs.existsSync(path.join(dir, '@types', 'node'))) return { tsc, typeRoots: path.join(dir, '@types') };
  }
  return null;
}

const ts = typescript();
const files = fs.readdirSync(path.join(__dirname, 'types')).filter((f) => f.endsWith('.ts')).map((f) => path.join(__dirname, 'types', f));

test('index.d.ts type-checks the documented usages (tsc --strict)', { skip: !ts && 'no TypeScript (set ALK_TS_MODULES)' }, () => {
  const args = [ts.tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--types', 'node', '--typeRoots', ts.typeRoots, ...files];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
