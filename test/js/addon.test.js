'use strict';

// The built addon's symbols: it exports only the Node-API entry points, keeps its llhttp copy
// private (hidden, bound inside the addon — node exports llhttp symbols of another version),
// links no libuv (it runs on the one inside node), and needs nothing from outside but Node-API,
// libuv, GnuTLS, ngtcp2 (the QUIC client) and the C/C++ runtime (a missing source in binding.gyp
// shows up here, not as a lazy-binding crash at run time).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

const addon = [
  process.env.ALKNET_DOCKER_ADDON,
  path.join(__dirname, '..', '..', 'build', 'Release', 'alknet_docker.node'),
].find((f) => f && fs.existsSync(f));

function tool(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

const haveNm = tool('nm', ['--version']) !== null;

// The symbols defined by the sanitizer runtimes an ASan/UBSan build links (scripts/js-asan.sh):
// such a build imports them unversioned (__asan_*, __ubsan_*, and the operator new/delete and
// __cxa_* functions the runtime intercepts). Empty for a normal build.
function sanitizerRuntime() {
  // "libasan.so.8 => /lib/…", or just the path when the runtime is preloaded (LD_PRELOAD)
  const libs = [...(tool('ldd', [addon]) ?? '').matchAll(/(\/\S*\/lib(?:asan|ubsan)\.so[.\d]*)/g)].map((m) => m[1]);
  const names = libs.flatMap((lib) => tool('nm', ['-D', '--defined-only', lib]).split('\n'));
  return new Set(names.map((l) => l.trim().split(/\s+/).at(-1)?.replace(/@.*/, '')).filter(Boolean));
}

test('addon symbols', { skip: (!addon && 'addon not built') || (!haveNm && 'no nm (binutils)') }, () => {
  const dynamic = tool('nm', ['-D', addon]).split('\n').filter(Boolean);
  const symbols = dynamic.filter((l) => /^[0-9a-f]+ [TDBRVW] /.test(l)).map((l) => l.split(' '));
  const defined = symbols.map(([, , name]) => name);
  // Besides the entry points only the standard library's vague-linkage code is exported: typeinfo
  // and vtables of std:: templates, and weak instantiations of std:: templates over std:: types
  // (std::deque<long>) — libstdc++ declares namespace std with default visibility, so
  // -fvisibility=hidden cannot hide them; -Bsymbolic still binds the addon to its own copies.
  const ours = symbols
    .filter(([, type, name]) => !/^_ZT[ISV]S/.test(name) && !(type === 'W' && /^_ZNK?St/.test(name)))
    .map(([, , name]) => name);
  assert.deepEqual(ours.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  assert.deepEqual(defined.filter((s) => s.includes('3alk')), [], 'no alk:: symbol exported');

  assert.deepEqual(dynamic.filter((l) => /llhttp/.test(l)), [], 'no llhttp symbol in the dynamic table');
  const all = tool('nm', [addon]).split('\n');
  const execute = all.find((l) => / llhttp_execute$/.test(l));
  assert.ok(execute, 'llhttp is compiled in');
  assert.match(execute, / t llhttp_execute$/, 'llhttp_execute is local to the addon');

  const undefinedSyms = dynamic.filter((l) => /^\s+U /.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  const runtime = sanitizerRuntime();
  const foreign = undefinedSyms.filter(
    (s) => !/^(napi_|node_api_|uv_|gnutls_|ngtcp2_)/.test(s) && !s.includes('@') && !runtime.has(s),
  );
  assert.deepEqual(foreign, [], 'unresolved symbols outside Node-API, libuv, GnuTLS, ngtcp2 and the runtime');
  assert.ok(undefinedSyms.some((s) => s.startsWith('uv_')), 'libuv comes from node');
});

test('no libuv is linked', { skip: !addon && 'addon not built' }, () => {
  const ldd = tool('ldd', [addon]);
  if (ldd === null) return;
  assert.doesNotMatch(ldd, /libuv/);
  assert.match(ldd, /libgnutls/);
});

test('the addon runs on Node\'s libuv', { skip: !addon && 'addon not built' }, () => {
  const native = require(addon);
  assert.equal(native.uvVersion, process.versions.uv);
});
