'use strict';

// Diagnostic (not a benchmark): where the wall time of `alknet-docker call … docker/container/logs`
// goes on the replay — on a CPU, waiting for a CPU (run queue), or blocked (waiting for data, i.e.
// a flow-control stall). Reads /proc/PID/schedstat of the call process (sampled every 20 ms up to
// its exit) and of every thread of serve and of the fake daemon.
//
//   node call-schedstat.js [--bytes 67108864 --lineLen 100 --runs 2]

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const c = require('./lib/common');
const { startServe } = require('./lib/serve');

const opt = c.options({ bytes: 64 * 1024 * 1024, lineLen: 100, runs: 2 });
const lines = Math.floor(opt.bytes / opt.lineLen);

function schedstat(pid, threads = false) {
  const files = threads ? fs.readdirSync(`/proc/${pid}/task`).map((t) => `/proc/${pid}/task/${t}/schedstat`) : [`/proc/${pid}/schedstat`];
  let run = 0;
  let wait = 0;
  for (const f of files) {
    const [r, w] = fs.readFileSync(f, 'utf8').split(' ').map(Number);
    run += r / 1e9;
    wait += w / 1e9;
  }
  return { run, wait };
}

async function main() {
  const sock = path.join(c.SCRATCH, `alk-bench-sched-fake-${process.pid}.sock`);
  const fake = spawn(process.execPath, [path.join(__dirname, 'lib', 'fake-daemon.js'), '--socket', sock, '--lines', String(lines), '--lineLen', String(opt.lineLen)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => fake.stdout.once('data', resolve));
  const serve = await startServe({ dockerHost: `unix://${sock}`, name: 'sched' });
  const id = 'feedfacecafe'.padEnd(64, '0');
  const f = (x) => x.toFixed(2);
  try {
    for (let i = 0; i < opt.runs; i++) {
      const s0 = schedstat(serve.pid, true);
      const t0 = process.hrtime.bigint();
      const child = spawn(c.ALK_BIN, ['call', serve.address, 'docker/container/logs', JSON.stringify({ containerId: id, follow: true })], { stdio: ['ignore', 'ignore', 'inherit'] });
      let last = { run: 0, wait: 0 };
      const timer = setInterval(() => {
        try {
          last = schedstat(child.pid);
        } catch {}
      }, 20);
      await new Promise((resolve) => child.on('exit', resolve));
      clearInterval(timer);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const s1 = schedstat(serve.pid, true);
      const sr = s1.run - s0.run;
      const sw = s1.wait - s0.wait;
      console.log(
        `wall ${f(wall)} s | call: on-CPU ${f(last.run)}, run queue ${f(last.wait)}, blocked ≈ ${f(wall - last.run - last.wait)} | serve: on-CPU ${f(sr)}, run queue ${f(sw)}, blocked ≈ ${f(wall - sr - sw)} | load ${require('node:os').loadavg()[0].toFixed(1)}`,
      );
    }
  } finally {
    await serve.stop();
    fake.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
