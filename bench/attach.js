'use strict';

// Benchmark 4: attach throughput — 64 MiB through a `cat` container and back.
//
//   node attach.js [--bytes 67108864 --chunk 65536 --reps 5 --warmup 1 --clients addon,dockerode,cli,call]
//
// Per run a fresh container (untimed): Cmd ["cat"], OpenStdin, StdinOnce, AttachStdin/out/err,
// Tty false, --network none, label bench=1. Clients (interleaved, order rotating per repetition):
//   addon      Node addon: containers.attach(id) Duplex → start → write/end, read stdout  (attach-client.js)
//   dockerode  container.attach({hijack: true, stdin…}) → start → write/end, demuxStream (attach-client.js)
//   cli        /usr/bin/docker start -ai ID < payload > out           (spawn → exit)
//   call       POST /containers/ID/start, then
//              alknet-docker call --raw unix://SERVE docker/container/attach '{"containerId":ID}' < payload > out
//              through a running serve (timed from the start request to the process exit)
// Checked every run: all BYTES came back on stdout, nothing on stderr, and the container exited 0
// after the stdin half-close.

const fs = require('node:fs');
const path = require('node:path');
const c = require('./lib/common');
const api = require('./lib/docker-api');
const { startServe } = require('./lib/serve');

const opt = c.options({ bytes: 64 * 1024 * 1024, chunk: 65536, reps: 5, warmup: 1, clients: 'addon,dockerode,cli,call' });

async function main() {
  const clients = opt.clients.split(',');
  const payloadFile = path.join(c.SCRATCH, `alk-bench-attach-in-${process.pid}`);
  const outFile = path.join(c.SCRATCH, `alk-bench-attach-out-${process.pid}`);
  fs.writeFileSync(payloadFile, Buffer.alloc(opt.bytes, 'x'));
  const serve = clients.includes('call') ? await startServe({ dockerHost: `unix://${c.DOCKER_SOCK}`, name: 'attach' }) : null;
  const fresh = () => api.create({ cmd: ['cat'], openStdin: true, stdinOnce: true, attachStdin: true });

  const check = (name, cond, what) => {
    if (!cond) throw new Error(`${name}: ${what}`);
  };

  const run = {
    async addon(id) {
      return nodeClient('addon', id);
    },
    async dockerode(id) {
      return nodeClient('dockerode', id);
    },
    async cli(id) {
      const r = await c.timed(c.DOCKER_CLI, ['start', '-ai', id], { stdin: payloadFile, stdout: outFile });
      check('cli', r.code === 0, `docker start -ai exited ${r.code}: ${r.stderr}`);
      check('cli', c.fileSize(outFile) === opt.bytes, `read back ${c.fileSize(outFile)} B of ${opt.bytes}`);
      return { ms: r.ms, clientCpu: r.cpu };
    },
    async call(id) {
      const s0 = c.procCpu(serve.pid);
      const t0 = process.hrtime.bigint();
      await api.start(id);
      const r = await c.timed(c.ALK_BIN, ['call', '--raw', serve.address, 'docker/container/attach', JSON.stringify({ containerId: id })], { stdin: payloadFile, stdout: outFile });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const serveCpu = c.procCpu(serve.pid) - s0;
      check('call', r.code === 0, `call --raw exited ${r.code}: ${r.stderr}`);
      check('call', c.fileSize(outFile) === opt.bytes, `read back ${c.fileSize(outFile)} B of ${opt.bytes}`);
      return { ms, clientCpu: r.cpu, serveCpu };
    },
  };

  async function nodeClient(name, id) {
    const r = await c.nodeJson(path.join(__dirname, 'attach-client.js'), [name, id, String(opt.bytes), String(opt.chunk)]);
    check(name, !r.error, r.error);
    check(name, r.bytesOut === opt.bytes, `read back ${r.bytesOut} B of ${opt.bytes}`);
    check(name, r.bytesErr === 0, `${r.bytesErr} B on stderr`);
    check(name, r.exitCode === 0, `container exit code ${r.exitCode}`);
    return { ms: r.ms, clientCpu: r.cpuUser + r.cpuSys };
  }

  const samples = Object.fromEntries(clients.map((k) => [k, []]));
  const dockerd = c.pidOf('dockerd');
  try {
    c.log(`attach: ${opt.bytes} B in ${opt.chunk} B writes; ${opt.reps} reps + ${opt.warmup} warm-up; clients ${clients.join(' ')}`);
    for (let rep = -opt.warmup; rep < opt.reps; rep++) {
      for (const name of c.rotate(clients, rep + opt.warmup)) {
        const id = await fresh();
        try {
          const d0 = c.procCpu(dockerd);
          const r = await run[name](id);
          r.daemonCpu = c.procCpu(dockerd) - d0;
          const w = await api.wait(id);
          check(name, w.StatusCode === 0, `container exited ${w.StatusCode}`);
          c.log(`${rep < 0 ? 'warm-up' : `rep ${rep + 1}`} ${name.padEnd(9)} ${r.ms.toFixed(0).padStart(6)} ms ${(opt.bytes / 1e6 / (r.ms / 1e3)).toFixed(1).padStart(6)} MB/s client ${r.clientCpu.toFixed(2)} s${r.serveCpu !== undefined ? ` serve ${r.serveCpu.toFixed(2)} s` : ''} dockerd ${r.daemonCpu.toFixed(2)} s load ${require('node:os').loadavg()[0].toFixed(1)}`);
          if (rep >= 0) samples[name].push(r);
        } finally {
          await api.remove(id);
        }
      }
    }
  } finally {
    for (const f of [payloadFile, outFile]) {
      try {
        fs.unlinkSync(f);
      } catch {}
    }
    if (serve) await serve.stop();
    api.agent.destroy();
  }

  const mbs = (r) => opt.bytes / 1e6 / (r.ms / 1e3);
  const med = (name, f) => c.median(samples[name].map(f));
  const ref = (name) => (samples[name]?.length ? med(name, mbs) : NaN);
  const rows = [
    '| client | time ms (min / med / max) | MB/s (min / med / max) | client CPU s (med) | serve CPU s (med) | dockerd CPU s (med) | MB/s ÷ dockerode | MB/s ÷ docker CLI |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of clients) {
    const s = samples[name];
    rows.push(
      `| ${name} | ${c.fmtMmm(s.map((r) => r.ms), 0)} | ${c.fmtMmm(s.map(mbs), 1)} | ${c.fmt(med(name, (r) => r.clientCpu), 2)} | ${name === 'call' ? c.fmt(med(name, (r) => r.serveCpu), 2) : '–'} | ${c.fmt(med(name, (r) => r.daemonCpu), 2)} | ${c.fmt(med(name, mbs) / ref('dockerode'), 2)} | ${c.fmt(med(name, mbs) / ref('cli'), 2)} |`,
    );
  }
  const table = rows.join('\n');
  process.stdout.write(`\n${table}\n`);
  c.log(`results: ${c.saveResults('attach', { options: opt, versions: c.versions(), samples, table })}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
