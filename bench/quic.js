'use strict';

// Benchmark 6: the QUIC transport against the same operations in-process (issue 4, Performance).
//
//   node quic.js [--reps 5 --warmup 1 --modes handshake,idle,logs-real,logs-replay,attach
//                 --handshakes 200 --follows 1000 --followContainers 1 --logBytes 67108864
//                 --replayBytes 67108864 --lineLen 100 --attachBytes 67108864 --attachLogDriver json-file
//                 --attachDirections both,in,out
//                 --vias inproc,quic,unix]
//
// Every measurement is a run of the C++ program bench/cpp/quic_bench (QUIC_BENCH; built with
// -DALK_BENCH=ON), one process per run, so each run's CPU and memory are its own:
//   inproc  the ops Engine in the bench process (no framing, no transport)
//   quic    a CallClient in the bench process → `alknet-docker serve` (a separate process) over
//           QUIC on loopback, mutual TLS with certificates made by scripts/make-certs.sh
//   unix    the same through serve's unix socket (reference: the call layer without QUIC)
// Runs of one mode are interleaved (the order of the vias rotates every repetition). Prints a
// markdown table and writes results/quic.json. Containers carry bench=1 and are removed at the end
// (also on error and Ctrl-C); serve and the replay daemon are stopped.
//
// Modes:
//   handshake    --handshakes fresh QUIC connections (connect → first stream open), fresh
//                connections + one docker/system/ping over QUIC and over the unix socket, and pings
//                on one open QUIC connection; p50 / p99.
//   idle         --follows concurrent log follows of quiet containers on ONE connection (quic; unix
//                is one connection per call); serve's VmRSS before, after the first follow, after
//                all (median of 5 samples 1 s apart): (RSS_all − RSS_1) / (follows − 1). A fresh serve
//                per via. inproc reads the bench process itself (engine + handlers, no transport).
//   logs-real    a follow of a container that printed --logBytes in --lineLen-byte lines and exited.
//   logs-replay  the same from lib/fake-daemon.js (dockerd 20.10's wire format from memory): the
//                client side is the limit, not the daemon.
//   attach       --attachBytes through a `cat` container (OpenStdin, StdinOnce) on the raw carriage;
//                --attachLogDriver none takes dockerd's logging of the echoed bytes out of the run.
//                --attachDirections: both (through `cat` and back), in (stdin into `cat >/dev/null`),
//                out (`head -c` of /dev/zero on stdout); a row each, the payload counted once.

const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const c = require('./lib/common');
const api = require('./lib/docker-api');

const opt = c.options({
  reps: 5,
  warmup: 1,
  modes: 'handshake,idle,logs-real,logs-replay,attach',
  handshakes: 200,
  follows: 1000,
  followContainers: 1,
  logBytes: 64 << 20,
  replayBytes: 64 << 20,
  lineLen: 100,
  attachBytes: 64 << 20,
  attachLogDriver: 'json-file',
  attachDirections: 'both,in,out',
  vias: 'inproc,quic,unix',
  settle: 3,
  maxStreams: 2048,
});

const QUIC_BENCH = path.resolve(
  process.env.QUIC_BENCH ?? path.join(path.dirname(c.ALK_BIN), 'bench', 'cpp', 'quic_bench'),
);
const MAKE_CERTS = path.join(c.ALK_ROOT, 'scripts', 'make-certs.sh');

/** Where each attach direction's runs go in results (both keeps its older name). */
const ATTACH_KEYS = { both: 'attach', in: 'attachIn', out: 'attachOut' };

const children = new Set(); // long-running processes to stop at the end
const containers = []; // ids to remove at the end
let tmp;

/** A UDP port free right now on 127.0.0.1 (serve needs a concrete port). */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `alknet-docker serve` on QUIC (127.0.0.1) and a unix socket; resolves its addresses. */
async function startServe(name, { dockerHost } = {}) {
  const port = await freeUdpPort();
  const sock = path.join(tmp, `${name}.sock`);
  const logFile = path.join(tmp, `${name}.log`);
  const args = [
    'serve',
    '--listen', `quic://127.0.0.1:${port}`,
    '--listen', `unix://${sock}`,
    '--cert', path.join(tmp, 'certs', 'server.crt'),
    '--key', path.join(tmp, 'certs', 'server.key'),
    '--client-ca', path.join(tmp, 'certs', 'ca.crt'),
    '--max-streams', String(opt.maxStreams),
    '--quiet',
  ];
  if (dockerHost) args.push('--docker-host', dockerHost);
  // One docker connection per follow: raise the descriptor limit as far as the hard limit allows.
  const quoted = [c.ALK_BIN, ...args].map((a) => `'${a}'`).join(' ');
  const logFd = fs.openSync(logFile, 'w');
  const child = spawn('sh', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted}`], {
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => (exited = code ?? signal));
  let quic;
  for (let i = 0; i < 200 && exited === null; i++) {
    const m = /listening on (quic:\/\/[^,\s]+)/.exec(fs.readFileSync(logFile, 'utf8'));
    if (m && fs.existsSync(sock)) {
      quic = m[1];
      break;
    }
    await c.sleep(50);
  }
  if (!quic) throw new Error(`serve ${name} did not start (${exited}): ${fs.readFileSync(logFile, 'utf8')}`);
  const entry = {
    pid: child.pid,
    quic,
    unix: `unix://${sock}`,
    logFile,
    fdLimit: Number(/Max open files\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/limits`, 'utf8'))?.[1]),
    async stop() {
      children.delete(entry);
      if (exited !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, c.sleep(15000)]);
      if (exited === null) child.kill('SIGKILL');
    },
  };
  children.add(entry);
  return entry;
}

/** lib/fake-daemon.js replaying `lines` log lines; resolves its socket. */
async function startFake(lines) {
  const sock = path.join(tmp, 'fake.sock');
  const child = spawn(process.execPath, [path.join(__dirname, 'lib', 'fake-daemon.js'), '--socket', sock, '--lines', String(lines), '--lineLen', String(opt.lineLen)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`fake daemon exited ${code}`)));
  });
  const entry = {
    pid: child.pid,
    sock,
    async stop() {
      children.delete(entry);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
  children.add(entry);
  return entry;
}

/** Runs quic_bench once; resolves the JSON it printed (throws on an error result). */
function bench(mode, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(QUIC_BENCH, [mode, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let r;
      try {
        r = JSON.parse(out.trim().split('\n').pop());
      } catch {
        reject(new Error(`quic_bench ${mode}: exit ${code}, no JSON\n${out}\n${err}`));
        return;
      }
      if (r.error) reject(new Error(`quic_bench ${mode} ${args.join(' ')}: ${r.error}`));
      else resolve(r);
    });
  });
}

function common(serve, extra = []) {
  return ['--quic', serve.quic, '--unix', serve.unix, '--certs', path.join(tmp, 'certs'), '--server-pid', String(serve.pid), ...extra];
}

/** reps (+ warm-up) of `run(via)` with the vias rotating; returns {via: [results]}. */
async function interleaved(label, vias, run) {
  const out = Object.fromEntries(vias.map((v) => [v, []]));
  for (let rep = -opt.warmup; rep < opt.reps; rep++) {
    for (const via of c.rotate(vias, rep + opt.warmup)) {
      const r = await run(via);
      r.loadavg = os.loadavg()[0];
      c.log(`${label} ${rep < 0 ? 'warm-up' : `rep ${rep + 1}`} ${via}: ${c.fmt(r.MBps)} MB/s, ${c.fmt(r.ms, 0)} ms, client CPU ${c.fmt(r.clientCpuS, 2)} s, serve CPU ${c.fmt(r.serverCpuS, 2)} s`);
      if (rep >= 0) out[via].push(r);
    }
  }
  return out;
}

const med = (rs, k) => c.median(rs.map((r) => r[k]));

async function main() {
  const modes = opt.modes.split(',');
  const vias = opt.vias.split(',');
  if (!fs.existsSync(QUIC_BENCH)) throw new Error(`${QUIC_BENCH} not found: cmake -DALK_BENCH=ON (see README.md), or set QUIC_BENCH`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alk-bench-quic-'));
  execFileSync('bash', [MAKE_CERTS, path.join(tmp, 'certs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const results = { versions: c.versions(), options: opt, quicBench: QUIC_BENCH };
  c.log(`quic: modes ${modes.join(' ')}; vias ${vias.join(' ')}; load ${results.versions.loadavg}`);
  const serve = await startServe('serve');
  results.serveFdLimit = serve.fdLimit;

  if (modes.includes('handshake')) {
    c.log(`handshake: ${opt.handshakes} connections of each kind`);
    results.handshake = await bench('handshake', [...common(serve), '--n', String(opt.handshakes)]);
    delete results.handshake.samples;
  }

  if (modes.includes('idle')) {
    const ids = [];
    for (let i = 0; i < opt.followContainers; i++) {
      const id = await api.create({ cmd: ['sh', '-c', 'echo ready; exec sleep 86400'] });
      containers.push(id);
      ids.push(id);
      await api.start(id);
    }
    results.idle = {};
    for (const via of vias) {
      // A fresh server per via: memory freed by an earlier run would be reused.
      const fresh = await startServe(`idle-${via}`);
      c.log(`idle: ${opt.follows} follows over ${via} (serve fd limit ${fresh.fdLimit})`);
      const r = await bench('idle-follows', [...common(fresh), '--via', via, '--containers', ids.join(','), '--follows', String(opt.follows), '--settle', String(opt.settle)]);
      await fresh.stop();
      c.log(`idle ${via}: ${c.fmt(r.perFollowKiB)} KiB per follow (RSS ${r.one.rssKiB} → ${r.all.rssKiB} KiB, ${r.all.fds} fds)`);
      results.idle[via] = r;
    }
  }

  const lines = (bytes) => Math.floor(bytes / opt.lineLen);
  if (modes.includes('logs-real')) {
    const n = lines(opt.logBytes);
    const t0 = Date.now();
    const id = await api.create({ cmd: ['sh', '-c', `yes ${'a'.repeat(opt.lineLen - 1)} | head -n ${n}`] });
    containers.push(id);
    await api.start(id);
    const w = await api.wait(id);
    if (w.StatusCode !== 0) throw new Error(`the log writer exited ${w.StatusCode}`);
    c.log(`logs-real: ${n} lines written in ${Date.now() - t0} ms`);
    const dockerd = c.pidOf('dockerd');
    results.logsReal = await interleaved('logs-real', vias, async (via) => {
      const d0 = c.procCpu(dockerd);
      const r = await bench('logs', [...common(serve), '--via', via, '--container', id, '--expect-bytes', String(n * opt.lineLen), '--expect-lines', String(n)]);
      r.dockerdCpuS = c.procCpu(dockerd) - d0;
      return r;
    });
  }

  if (modes.includes('logs-replay')) {
    const n = lines(opt.replayBytes);
    const fake = await startFake(n);
    const replay = await startServe('serve-replay', { dockerHost: `unix://${fake.sock}` });
    const id = 'feedfacecafe'.padEnd(64, '0');
    results.logsReplay = await interleaved('logs-replay', vias, (via) =>
      bench('logs', [...common(replay), '--via', via, '--docker-host', `unix://${fake.sock}`, '--container', id, '--expect-bytes', String(n * opt.lineLen), '--expect-lines', String(n)]),
    );
    await replay.stop();
    await fake.stop();
  }

  if (modes.includes('attach')) {
    for (const direction of String(opt.attachDirections).split(',')) {
      if (!ATTACH_KEYS[direction]) throw new Error(`--attachDirections: ${direction} is not both, in or out`);
      results[ATTACH_KEYS[direction]] = await interleaved(`attach ${direction}`, vias, (via) =>
        bench('attach', [...common(serve), '--via', via, '--direction', direction, '--bytes', String(opt.attachBytes), '--image', c.IMAGE, '--docker-cli', c.DOCKER_CLI, '--log-driver', opt.attachLogDriver]),
      );
    }
  }
  await serve.stop();
  results.loadavgEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');

  const table = report(results, vias);
  results.table = table;
  const file = path.join(__dirname, 'results', 'quic.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(results, null, 2));
  process.stdout.write(`${table}\n`);
  c.log(`results in ${file}`);
}

function report(r, vias) {
  const rows = [];
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
  const throughput = (label, set, extra = '') => {
    if (!set) return;
    const mb = Object.fromEntries(vias.map((v) => [v, set[v]?.length ? med(set[v], 'MBps') : undefined]));
    const cpu = (v) => (set[v]?.length ? `${c.fmt(med(set[v], 'clientCpuS'), 2)}${v === 'inproc' ? '' : ` + ${c.fmt(med(set[v], 'serverCpuS'), 2)}`}` : '–');
    rows.push(
      `| ${label} | ${vias.map((v) => c.fmt(mb[v])).join(' / ')} MB/s | **${ratio(mb.quic, mb.inproc)}** (≥ 0.9×) | ${ratio(mb.unix, mb.inproc)} | ${vias.map(cpu).join(' / ')} s${extra} |`,
    );
  };
  const lines = [
    `QUIC vs in-process, medians of ${opt.reps} interleaved runs (load average ${r.versions.loadavg} → ${r.loadavgEnd}, ${r.versions.cpus} CPUs, commit ${r.versions.alkCommit}).`,
    '',
    `| measurement | ${vias.join(' / ')} | QUIC ÷ in-process (target) | unix ÷ in-process | CPU s: ${vias.join(' / ')} (client + serve) |`,
    '| --- | --- | --- | --- | --- |',
  ];
  throughput(`logs follow, real daemon, ${(opt.logBytes / 2 ** 20).toFixed(0)} MiB in ${opt.lineLen} B lines`, r.logsReal);
  throughput(`logs follow, replay daemon, ${(opt.replayBytes / 2 ** 20).toFixed(0)} MiB`, r.logsReplay);
  const mib = (opt.attachBytes / 2 ** 20).toFixed(0);
  throughput(`attach through \`cat\` and back, ${mib} MiB, raw carriage`, r.attach);
  throughput(`attach, stdin only (into \`cat >/dev/null\`), ${mib} MiB`, r.attachIn);
  throughput(`attach, stdout only (\`head -c\` of /dev/zero), ${mib} MiB`, r.attachOut);
  lines.push(...rows);
  if (r.handshake) {
    const h = r.handshake;
    lines.push(
      '',
      `| connection (${h.quicHandshakeMs.n} each) | p50 ms | p99 ms |`,
      '| --- | --- | --- |',
      `| QUIC handshake: connect → first stream open (target p50 ≤ 3 ms) | **${c.fmt(h.quicHandshakeMs.p50, 2)}** | ${c.fmt(h.quicHandshakeMs.p99, 2)} |`,
      `| QUIC new connection + docker/system/ping answered | ${c.fmt(h.quicConnectPingMs.p50, 2)} | ${c.fmt(h.quicConnectPingMs.p99, 2)} |`,
      `| unix socket new connection + docker/system/ping answered | ${c.fmt(h.unixConnectPingMs.p50, 2)} | ${c.fmt(h.unixConnectPingMs.p99, 2)} |`,
      `| ping on an open QUIC connection | ${c.fmt(h.quicWarmPingMs.p50, 2)} | ${c.fmt(h.quicWarmPingMs.p99, 2)} |`,
    );
  }
  if (r.idle) {
    lines.push(
      '',
      `| ${opt.follows} idle log follows | RSS before → 1 follow → all (KiB) | per follow KiB (target ≤ 20 over QUIC) | anon per follow KiB | fds with all open | time to open all |`,
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const [via, x] of Object.entries(r.idle)) {
      const who = via === 'inproc' ? 'in-process (bench process: engine + handlers)' : via === 'quic' ? 'QUIC, one connection (serve)' : 'unix, a connection per call (serve)';
      lines.push(`| ${who} | ${x.before.rssKiB} → ${x.one.rssKiB} → ${x.all.rssKiB} | **${c.fmt(x.perFollowKiB)}** | ${c.fmt(x.perFollowAnonKiB)} | ${x.all.fds} | ${c.fmt(x.openMs / 1000, 1)} s |`);
    }
  }
  return lines.join('\n');
}

async function cleanup() {
  for (const child of [...children]) await child.stop().catch(() => {});
  if (containers.length) await api.removeAll(containers, 4).catch(() => {});
  containers.length = 0;
  api.agent.destroy();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  cleanup().finally(() => process.exit(130));
});

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
