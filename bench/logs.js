'use strict';

// Benchmarks 1 and 2: throughput of a logs follow of an exited container, five consumers.
//
//   node logs.js --target real     # the real dockerd: a container that ran `yes <99 a> | head -n N`
//   node logs.js --target replay   # lib/fake-daemon.js replays the same wire format from memory
//
// Options: --bytes 67108864 --lineLen 100 --reps 5 --warmup 1 --clients call,curl,cli,addon,dockerode
//
// Consumers (interleaved: the order rotates every repetition; one warm-up round not counted):
//   call       alknet-docker call unix://SERVE docker/container/logs '{"containerId":…,"follow":true}'
//              through a running `alknet-docker serve` (its CPU is read from /proc, per run)
//   curl       curl -sS --unix-socket SOCK -o /dev/null -w '%{size_download}' …/logs?follow=1&stdout=1&stderr=1
//   cli        /usr/bin/docker logs -f ID   (the 20.10 CLI)
//   addon      the Node addon, for await over containers.logs(id, {follow: true})  (logs-client.js)
//   dockerode  container.logs + modem.demuxStream                                    (logs-client.js)
// Every run is checked: payload bytes and newlines equal what the container wrote (curl: raw
// body bytes = payload + 8 per frame). A run that does not match aborts the benchmark.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const c = require('./lib/common');
const api = require('./lib/docker-api');
const { startServe } = require('./lib/serve');
const { countCallOutput } = require('./lib/call-output');

const opt = c.options({
  target: 'real',
  bytes: 64 * 1024 * 1024,
  lineLen: 100,
  reps: 5,
  warmup: 1,
  clients: 'call,curl,cli,addon,dockerode',
});

const lines = Math.floor(opt.bytes / opt.lineLen);
const payload = lines * opt.lineLen;

function countNewlines(file) {
  const data = fs.readFileSync(file);
  let n = 0;
  let i = -1;
  while ((i = data.indexOf(10, i + 1)) !== -1) n++;
  return { bytes: data.length, lines: n };
}

async function startFake() {
  const sock = path.join(c.SCRATCH, `alk-bench-fake-${process.pid}.sock`);
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'lib', 'fake-daemon.js'), '--socket', sock, '--lines', String(lines), '--lineLen', String(opt.lineLen)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => (String(d).startsWith('ready') ? resolve() : reject(new Error(String(d)))));
    child.once('exit', (code) => reject(new Error(`fake daemon exited ${code}`)));
  });
  return { child, sock, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

async function main() {
  const clients = opt.clients.split(',');
  c.log(`logs ${opt.target}: ${lines} lines × ${opt.lineLen} B = ${payload} B payload; clients ${clients.join(' ')}; ${opt.reps} reps + ${opt.warmup} warm-up`);
  let sock;
  let id;
  let fake = null;
  let daemonPid;
  if (opt.target === 'replay') {
    fake = await startFake();
    sock = fake.sock;
    id = 'feedfacecafe'.padEnd(64, '0');
    daemonPid = fake.pid;
  } else {
    sock = c.DOCKER_SOCK;
    const t0 = Date.now();
    id = await api.create({ cmd: ['sh', '-c', `yes ${'a'.repeat(opt.lineLen - 1)} | head -n ${lines}`] });
    await api.start(id);
    const w = await api.wait(id);
    if (w.StatusCode !== 0) throw new Error(`the log writer exited ${w.StatusCode}`);
    c.log(`container ${id.slice(0, 12)} wrote its log in ${Date.now() - t0} ms`);
    daemonPid = c.pidOf('dockerd');
  }
  const dockerHost = `unix://${sock}`;
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  const serve = await startServe({ dockerHost, name: `logs-${opt.target}` });
  const out = path.join(c.SCRATCH, `alk-bench-logs-out-${process.pid}`);
  const url = `http://localhost/v1.41/containers/${id}/logs?follow=1&stdout=1&stderr=1`;

  const expect = (name, got, want) => {
    if (got !== want) throw new Error(`${name}: got ${got}, expected ${want} — bytes lost or added`);
  };

  const run = {
    async call() {
      const s0 = c.procCpu(serve.pid);
      const r = await c.timed(c.ALK_BIN, ['call', serve.address, 'docker/container/logs', JSON.stringify({ containerId: id, follow: true })], { stdout: out });
      const serveCpu = c.procCpu(serve.pid) - s0;
      if (r.code !== 0) throw new Error(`call exited ${r.code}: ${r.stderr}`);
      const n = countCallOutput(out);
      expect('call bytes', n.bytes, payload);
      expect('call lines', n.lines, lines);
      expect('call non-output lines', n.other, 0);
      return { ms: r.ms, clientCpu: r.cpu, serveCpu, events: n.events, maxRssKb: r.maxRssKb };
    },
    async curl() {
      const r = await c.timed('curl', ['-sS', '--unix-socket', sock, '-o', '/dev/null', '-w', '%{size_download}', url], { stdout: out });
      if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
      expect('curl raw body bytes', Number(fs.readFileSync(out, 'utf8')), payload + 8 * lines);
      return { ms: r.ms, clientCpu: r.cpu, maxRssKb: r.maxRssKb };
    },
    async cli() {
      const r = await c.timed(c.DOCKER_CLI, ['logs', '-f', id], { stdout: out, env });
      if (r.code !== 0) throw new Error(`docker logs exited ${r.code}: ${r.stderr}`);
      const n = countNewlines(out);
      expect('cli bytes', n.bytes, payload);
      expect('cli lines', n.lines, lines);
      return { ms: r.ms, clientCpu: r.cpu, maxRssKb: r.maxRssKb };
    },
    async addon() {
      return nodeClient('addon');
    },
    async dockerode() {
      return nodeClient('dockerode');
    },
  };

  async function nodeClient(name) {
    const r = await c.nodeJson(path.join(__dirname, 'logs-client.js'), [name, id], { env });
    if (r.error) throw new Error(`${name}: ${r.error}`);
    expect(`${name} bytes`, r.bytes, payload);
    expect(`${name} lines`, r.lines, lines);
    return { ms: r.ms, clientCpu: r.cpuUser + r.cpuSys, events: r.events, maxRssKb: r.maxRss / 1024 };
  }

  const samples = Object.fromEntries(clients.map((k) => [k, []]));
  try {
    for (let rep = -opt.warmup; rep < opt.reps; rep++) {
      for (const name of c.rotate(clients, rep + opt.warmup)) {
        const d0 = c.procCpu(daemonPid);
        const r = await run[name]();
        r.daemonCpu = c.procCpu(daemonPid) - d0;
        r.loadavg = require('node:os').loadavg()[0];
        c.log(`${rep < 0 ? 'warm-up' : `rep ${rep + 1}`} ${name.padEnd(9)} ${r.ms.toFixed(0).padStart(6)} ms  ${(payload / 1e6 / (r.ms / 1e3)).toFixed(1).padStart(6)} MB/s  client ${r.clientCpu.toFixed(2)} s${r.serveCpu !== undefined ? `  serve ${r.serveCpu.toFixed(2)} s` : ''}  daemon ${r.daemonCpu.toFixed(2)} s  load ${r.loadavg.toFixed(1)}`);
        if (rep >= 0) samples[name].push(r);
      }
    }
  } finally {
    try {
      fs.unlinkSync(out);
    } catch {}
    await serve.stop();
    if (fake) fake.stop();
    if (opt.target === 'real') await api.remove(id);
  }
  report(samples, clients);
}

function report(samples, clients) {
  const med = (name, f) => c.median(samples[name].map(f));
  const mbs = (r) => payload / 1e6 / (r.ms / 1e3);
  const total = (r) => r.clientCpu + (r.serveCpu ?? 0);
  const rows = [];
  rows.push(`| client | time ms (min / med / max) | MB/s (min / med / max) | lines/s (med) | client CPU s (med) | serve CPU s (med) | client+serve CPU s (med) | ${opt.target === 'real' ? 'dockerd' : 'fake daemon'} CPU s (med) | MB/s ÷ curl | MB/s ÷ docker logs | CPU ÷ docker logs |`);
  rows.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const ref = (name) => (samples[name]?.length ? med(name, mbs) : NaN);
  const refCpu = samples.cli?.length ? med('cli', total) : NaN;
  for (const name of clients) {
    const s = samples[name];
    const m = med(name, mbs);
    rows.push(
      `| ${name} | ${c.fmtMmm(s.map((r) => r.ms), 0)} | ${c.fmtMmm(s.map(mbs), 1)} | ${(lines / (med(name, (r) => r.ms) / 1e3) / 1e3).toFixed(0)} k | ${c.fmt(med(name, (r) => r.clientCpu), 2)} | ${name === 'call' ? c.fmt(med(name, (r) => r.serveCpu), 2) : '–'} | ${c.fmt(med(name, total), 2)} | ${c.fmt(med(name, (r) => r.daemonCpu), 2)} | ${c.fmt(m / ref('curl'), 2)} | ${c.fmt(m / ref('cli'), 2)} | ${c.fmt(med(name, total) / refCpu, 2)} |`,
    );
  }
  const table = rows.join('\n');
  process.stdout.write(`\n${table}\n`);
  const file = c.saveResults(`logs-${opt.target}`, { options: opt, lines, payload, versions: c.versions(), samples, table });
  c.log(`results: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
