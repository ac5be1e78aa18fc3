'use strict';

// One Node client of the attach benchmark, in its own process:
//
//   node attach-client.js addon|dockerode CONTAINER_ID BYTES [CHUNK]
//
// The container is a created (not started) `cat` with OpenStdin, StdinOnce, Tty false. Timed
// window: attach (stdin, stdout, stderr) → start → write BYTES in CHUNK writes honouring
// backpressure while reading stdout → end() (half-close) → until BYTES were read back. Then
// (untimed) the container must exit 0 on its own. Prints one JSON line:
// {client, ms, bytesOut, bytesErr, exitCode, cpuUser, cpuSys}.

const path = require('node:path');
const { Writable } = require('node:stream');
const { ALK_ROOT } = require('./lib/common');

const [client, id, bytesArg, chunkArg] = process.argv.slice(2);
const total = Number(bytesArg);
const chunkSize = Number(chunkArg ?? 65536);
const chunk = Buffer.alloc(chunkSize, 'x');

// Writes `total` bytes to `w` honouring write() → false / 'drain', then end().
function pump(w) {
  let left = total;
  const more = () => {
    while (left > 0) {
      const n = Math.min(left, chunkSize);
      left -= n;
      if (!w.write(n === chunkSize ? chunk : chunk.subarray(0, n))) {
        w.once('drain', more);
        return;
      }
    }
    w.end();
  };
  more();
}

async function viaAddon(r) {
  const { Engine } = require(ALK_ROOT);
  const engine = new Engine();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const s = engine.containers.attach(id, { stdin: true, stdout: true, stderr: true });
  const allRead = new Promise((resolve, reject) => {
    s.on('data', (d) => {
      r.bytesOut += d.length;
      if (r.bytesOut >= total) resolve();
    });
    s.stderr.on('data', (d) => (r.bytesErr += d.length));
    s.on('error', reject);
    s.on('end', () => (r.bytesOut >= total ? resolve() : reject(new Error(`stdout ended after ${r.bytesOut} B`))));
  });
  await new Promise((resolve, reject) => {
    s.once('open', resolve);
    s.once('error', reject);
  });
  await engine.containers.start(id);
  pump(s);
  await allRead;
  r.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  r.cpu = process.cpuUsage(c0);
  r.exitCode = (await withTimeout(s.exit, 15000)).exitCode;
  await engine.close();
}

async function viaDockerode(r) {
  const Docker = require(path.join(__dirname, 'node_modules', 'dockerode'));
  const docker = new Docker();
  const ct = docker.getContainer(id);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const stream = await ct.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const allRead = new Promise((resolve, reject) => {
    const out = new Writable({
      write(d, _e, cb) {
        r.bytesOut += d.length;
        if (r.bytesOut >= total) resolve();
        cb();
      },
    });
    const err = new Writable({
      write(d, _e, cb) {
        r.bytesErr += d.length;
        cb();
      },
    });
    docker.modem.demuxStream(stream, out, err);
    stream.on('error', reject);
    stream.on('end', () => (r.bytesOut >= total ? resolve() : reject(new Error(`stdout ended after ${r.bytesOut} B`))));
  });
  await ct.start();
  pump(stream);
  await allRead;
  r.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  r.cpu = process.cpuUsage(c0);
  r.exitCode = (await withTimeout(ct.wait(), 15000)).StatusCode;
}

function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

(async () => {
  const run = { addon: viaAddon, dockerode: viaDockerode }[client];
  if (!run || !id || !total) throw new Error('usage: node attach-client.js addon|dockerode CONTAINER_ID BYTES [CHUNK]');
  const r = { bytesOut: 0, bytesErr: 0 };
  await run(r);
  process.stdout.write(
    `${JSON.stringify({ client, ms: r.ms, bytesOut: r.bytesOut, bytesErr: r.bytesErr, exitCode: r.exitCode, cpuUser: r.cpu.user / 1e6, cpuSys: r.cpu.system / 1e6 })}\n`,
  );
  process.exit(0);
})().catch((err) => {
  process.stdout.write(`${JSON.stringify({ client, error: String(err?.stack ?? err) })}\n`);
  process.exit(1);
});
