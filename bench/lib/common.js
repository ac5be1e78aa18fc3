'use strict';

// Shared helpers of the benchmarks: options, statistics, processes with their CPU time, /proc
// readings, and where the product under test is (ALK_ROOT / ALK_BIN / ALKNET_DOCKER_ADDON).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const BENCH = path.resolve(__dirname, '..');
// The package under test (lib/ + build/Release/alknet_docker.node); ALKNET_DOCKER_ADDON (read by
// lib/native.js) may name another addon build.
const ALK_ROOT = path.resolve(process.env.ALK_ROOT ?? path.join(BENCH, '..'));
// The alknet-docker binary (cmake -B out/bench).
const ALK_BIN = path.resolve(process.env.ALK_BIN ?? path.join(ALK_ROOT, 'out', 'bench', 'alknet-docker'));
// The 20.10 CLI, not the 28.x one first on PATH.
const DOCKER_CLI = process.env.DOCKER_CLI ?? '/usr/bin/docker';
const DOCKER_SOCK = process.env.DOCKER_SOCK ?? '/var/run/docker.sock';
const IMAGE = process.env.BENCH_IMAGE ?? 'alknet-test/busybox:latest';
const TIME = '/usr/bin/time';
// Scratch files (payloads, outputs whose size is checked): tmpfs.
const SCRATCH = process.env.BENCH_SCRATCH ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());

/** --name value / --flag options over defaults (numbers stay numbers). */
function options(defaults, argv = process.argv.slice(2)) {
  const out = { ...defaults, _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      out[key] = true;
    } else {
      out[key] = typeof defaults[key] === 'number' ? Number(next) : next;
      i++;
    }
  }
  return out;
}

function sorted(xs) {
  return [...xs].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty array. */
function percentile(xs, p) {
  const s = sorted(xs);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

function median(xs) {
  const s = sorted(xs);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** {min, med, max} of an array. */
function mmm(xs) {
  const s = sorted(xs);
  return { min: s[0], med: median(s), max: s[s.length - 1] };
}

function fmt(x, digits = 1) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  return x.toFixed(digits);
}

function fmtMmm(xs, digits = 1) {
  const { min, med, max } = mmm(xs);
  return `${fmt(min, digits)} / ${fmt(med, digits)} / ${fmt(max, digits)}`;
}

/** Rotates `items` by `k` (interleaving: a different client goes first each repetition). */
function rotate(items, k) {
  const n = items.length;
  const r = ((k % n) + n) % n;
  return [...items.slice(r), ...items.slice(0, r)];
}

/** CPU seconds (user+sys) of a live process, from /proc/PID/stat. */
function procCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tck = 100; // USER_HZ
    return (Number(fields[11]) + Number(fields[12])) / tck;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes of a live process, from /proc/PID/status. */
function procRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function pidOf(name) {
  try {
    return Number(execFileSync('pidof', ['-s', name], { encoding: 'utf8' }).trim()) || null;
  } catch {
    return null;
  }
}

/**
 * Runs a command under /usr/bin/time: resolves {ms, user, sys, cpu, code, stderr} — ms from
 * spawn to exit (process start-up included), user/sys of the process and its children.
 * `stdin`/`stdout` may be file paths.
 */
function timed(cmd, args, { stdin, stdout, env, timeoutMs = 600_000 } = {}) {
  const timeFile = path.join(SCRATCH, `bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const stdio = [
    stdin ? fs.openSync(stdin, 'r') : 'ignore',
    stdout ? fs.openSync(stdout, 'w') : 'ignore',
    'pipe',
  ];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(TIME, ['-o', timeFile, '-f', '%U %S %M', cmd, ...args], {
      stdio,
      env: env ?? process.env,
    });
    for (const fd of stdio) if (typeof fd === 'number') fs.closeSync(fd);
    let stderr = '';
    child.stderr.on('data', (d) => {
      if (stderr.length < 4096) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      let user = NaN;
      let sys = NaN;
      let maxRssKb = NaN;
      try {
        const line = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop();
        [user, sys, maxRssKb] = line.split(' ').map(Number);
        fs.unlinkSync(timeFile);
      } catch {}
      resolve({ ms, user, sys, cpu: user + sys, maxRssKb, code, signal, stderr, pid: child.pid });
    });
  });
}

/** Runs a Node script in a fresh process; resolves the JSON it printed last on stdout. */
function nodeJson(script, args, { env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop();
      let parsed;
      try {
        parsed = JSON.parse(last);
      } catch {
        reject(new Error(`${path.basename(script)} ${args.join(' ')}: exit ${code ?? signal}, no JSON\n${out}\n${err}`));
        return;
      }
      resolve({ ...parsed, exitCode: code, signal, stderr: err });
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function fileSize(p) {
  try {
    return fs.statSync(p).size;
  } catch {
    return -1;
  }
}

/** The versions of everything measured. */
function versions() {
  const v = { node: process.version };
  const tryRun = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'n/a';
    }
  };
  v.dockerCli = tryRun(DOCKER_CLI, ['version', '--format', '{{.Client.Version}} / daemon {{.Server.Version}} API {{.Server.APIVersion}}']);
  v.curl = tryRun('curl', ['--version']).split('\n')[0];
  try {
    v.dockerode = require(path.join(BENCH, 'node_modules', 'dockerode', 'package.json')).version;
    v.dockerModem = require(path.join(BENCH, 'node_modules', 'docker-modem', 'package.json')).version;
  } catch {}
  v.alkRoot = ALK_ROOT;
  v.alkBin = ALK_BIN;
  v.alkCommit = tryRun('git', ['-C', ALK_ROOT, 'rev-parse', '--short', 'HEAD']);
  if (v.alkCommit === 'n/a' && fs.existsSync(path.join(ALK_ROOT, 'SNAPSHOT_COMMIT'))) {
    v.alkCommit = `snapshot of ${fs.readFileSync(path.join(ALK_ROOT, 'SNAPSHOT_COMMIT'), 'utf8').trim().slice(0, 7)}`;
  }
  v.loadavg = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  v.cpus = os.cpus().length;
  return v;
}

/** Writes results/NAME-TIMESTAMP.json; returns its path. */
function saveResults(name, data) {
  const dir = path.join(BENCH, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}

function log(...args) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

module.exports = {
  BENCH,
  ALK_ROOT,
  ALK_BIN,
  DOCKER_CLI,
  DOCKER_SOCK,
  IMAGE,
  SCRATCH,
  options,
  percentile,
  median,
  mmm,
  fmt,
  fmtMmm,
  rotate,
  procCpu,
  procRss,
  pidOf,
  timed,
  nodeJson,
  sleep,
  fileSize,
  versions,
  saveResults,
  log,
};
