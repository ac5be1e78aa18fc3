'use strict';

// Benchmark 6: interactive echo round trip through an attached `cat`.
//
//   node echo.js [--iterations 500 --rounds 3 --warmup 20 --clients addon,dockerode]
//
// One running `cat` container per client (OpenStdin, StdinOnce, Tty false), attached once. One round trip =
// write a short unique line to stdin, wait until the same line came back on stdout. This is the
// latency a user feels typing into an attached shell (or an agent driving a REPL). Clients are
// interleaved (rotating order every iteration), all in this process:
//   addon      engine.containers.attach(id) → a Duplex; write() / 'data'
//   dockerode  container.attach({stream, stdin, stdout, stderr, hijack}) → the hijacked socket,
//              output demultiplexed with docker.modem.demuxStream
// Every echoed line is checked against what was written; a mismatch aborts the run.

const path = require('node:path');
const os = require('node:os');
const { Writable } = require('node:stream');
const c = require('./lib/common');
const api = require('./lib/docker-api');

const opt = c.options({ iterations: 500, rounds: 3, warmup: 20, clients: 'addon,dockerode' });

// Resolves with each complete line that arrives on a byte source, in order.
class LineWaiter {
  constructor() {
    this.buffered = '';
    this.waiting = null;
  }

  push(bytes) {
    this.buffered += bytes.toString('latin1');
    this._check();
  }

  next(expected) {
    return new Promise((resolve, reject) => {
      this.waiting = { expected, resolve, reject };
      this._check();
    });
  }

  _check() {
    if (!this.waiting) return;
    const nl = this.buffered.indexOf('\n');
    if (nl < 0) return;
    const line = this.buffered.slice(0, nl);
    this.buffered = this.buffered.slice(nl + 1);
    const { expected, resolve, reject } = this.waiting;
    this.waiting = null;
    if (line === expected) resolve();
    else reject(new Error(`echoed ${JSON.stringify(line)}, expected ${JSON.stringify(expected)}`));
  }
}

async function openAddon(engine, id) {
  const session = engine.containers.attach(id, { stdin: true, stdout: true, stderr: true });
  await new Promise((resolve, reject) => {
    session.once('open', resolve);
    session.once('error', reject);
  });
  const lines = new LineWaiter();
  session.on('data', (d) => lines.push(d));
  session.stderr.resume();
  return { lines, write: (s) => session.write(s), close: () => session.end(), exit: session.exit };
}

async function openDockerode(docker, id) {
  const ct = docker.getContainer(id);
  const stream = await ct.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const lines = new LineWaiter();
  const out = new Writable({
    write(d, _e, cb) {
      lines.push(d);
      cb();
    },
  });
  const err = new Writable({ write: (_d, _e, cb) => cb() });
  docker.modem.demuxStream(stream, out, err);
  return { lines, write: (s) => stream.write(s), close: () => stream.end(), exit: ct.wait() };
}

async function main() {
  const clients = opt.clients.split(',');
  const { Engine } = require(c.ALK_ROOT);
  const Docker = require(path.join(__dirname, 'node_modules', 'dockerode'));
  const engine = new Engine();
  const docker = new Docker({ socketPath: c.DOCKER_SOCK });
  const ids = {};
  const sessions = {};
  const samples = Object.fromEntries(clients.map((k) => [k, []])); // [round][i] ms
  try {
    for (const name of clients) {
      ids[name] = await api.create({ cmd: ['cat'], openStdin: true, stdinOnce: true, attachStdin: true });
      await api.start(ids[name]);
    }
    if (clients.includes('addon')) sessions.addon = await openAddon(engine, ids.addon);
    if (clients.includes('dockerode')) sessions.dockerode = await openDockerode(docker, ids.dockerode);

    c.log(`echo: ${opt.warmup} warm-up + ${opt.rounds} × ${opt.iterations} round trips; clients ${clients.join(' ')}`);
    let k = 0;
    for (let round = -1; round < opt.rounds; round++) {
      const n = round < 0 ? opt.warmup : opt.iterations;
      const times = Object.fromEntries(clients.map((name) => [name, []]));
      for (let i = 0; i < n; i++) {
        for (const name of c.rotate(clients, k++)) {
          const s = sessions[name];
          const line = `${name}-${round}-${i}-0123456789abcdef`;
          const t0 = process.hrtime.bigint();
          const echoed = s.lines.next(line);
          s.write(`${line}\n`);
          await echoed;
          times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }
      if (round >= 0) {
        for (const name of clients) samples[name].push(times[name]);
        c.log(`round ${round + 1}: ${clients.map((name) => `${name} p50 ${c.percentile(times[name], 50).toFixed(3)} p99 ${c.percentile(times[name], 99).toFixed(3)}`).join(' | ')}  load ${os.loadavg()[0].toFixed(1)}`);
      }
    }
    // Closing stdin must end each `cat` with exit code 0.
    for (const name of clients) {
      sessions[name].close();
      const result = await sessions[name].exit;
      const code = result.exitCode ?? result.StatusCode;
      if (code !== 0) throw new Error(`${name}: cat exited ${code} after stdin EOF`);
    }
    c.log('stdin EOF: every cat exited 0');
  } finally {
    await api.removeAll(Object.values(ids));
    await engine.close();
    api.agent.destroy();
  }

  const rows = [
    '| client | p50 ms per round (min / med / max) | p99 ms per round (min / med / max) | pooled p50 / p99 ms | pooled p50 ÷ dockerode |',
    '| --- | --- | --- | --- | --- |',
  ];
  const pooled = (name) => samples[name].flat();
  const p50 = (name) => (samples[name]?.length ? c.percentile(pooled(name), 50) : NaN);
  for (const name of clients) {
    const rounds = samples[name];
    rows.push(
      `| ${name} | ${c.fmtMmm(rounds.map((r) => c.percentile(r, 50)), 3)} | ${c.fmtMmm(rounds.map((r) => c.percentile(r, 99)), 3)} | ${c.fmt(p50(name), 3)} / ${c.fmt(c.percentile(pooled(name), 99), 3)} | ${c.fmt(p50(name) / p50('dockerode'), 3)} |`,
    );
  }
  const table = rows.join('\n');
  process.stdout.write(`\n${table}\n`);
  c.log(`results: ${c.saveResults('echo', { options: opt, versions: c.versions(), samples, table })}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
