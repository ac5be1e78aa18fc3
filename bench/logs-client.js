'use strict';

// One Node consumer of a logs follow, in its own process (so its CPU is its own):
//
//   node logs-client.js addon|dockerode CONTAINER_ID
//
// `addon`: the alknet-docker Node addon, `for await` over containers.logs(id, {follow: true}).
// `dockerode`: container.logs({follow, stdout, stderr}) + modem.demuxStream into two Writables.
// Both count payload bytes and newlines of every output. The daemon is DOCKER_HOST (or the local
// socket). Prints one JSON line: {client, ms, bytes, lines, events, cpuUser, cpuSys, maxRss}.
// The timed window starts just before the logs call (libraries loaded, engine constructed) and
// ends when the stream ended; CPU is process.cpuUsage() over the same window.

const path = require('node:path');
const { Writable } = require('node:stream');
const { ALK_ROOT } = require('./lib/common');

const [client, id] = process.argv.slice(2);

function countNl(s) {
  let n = 0;
  let i = -1;
  while ((i = s.indexOf('\n', i + 1)) !== -1) n++;
  return n;
}

function countNlBuf(b) {
  let n = 0;
  let i = -1;
  while ((i = b.indexOf(10, i + 1)) !== -1) n++;
  return n;
}

async function viaAddon() {
  const { Engine } = require(ALK_ROOT);
  const engine = new Engine();
  const r = { bytes: 0, lines: 0, events: 0 };
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for await (const ev of engine.containers.logs(id, { follow: true })) {
    r.events++;
    if (ev.text !== undefined) {
      r.bytes += Buffer.byteLength(ev.text, 'utf8');
      r.lines += countNl(ev.text);
    } else if (ev.base64 !== undefined) {
      const b = Buffer.from(ev.base64, 'base64');
      r.bytes += b.length;
      r.lines += countNlBuf(b);
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(c0);
  await engine.close();
  return { ...r, ms, cpu };
}

async function viaDockerode() {
  const Docker = require(path.join(__dirname, 'node_modules', 'dockerode'));
  const docker = new Docker();
  const r = { bytes: 0, lines: 0, events: 0 };
  const sink = () =>
    new Writable({
      write(chunk, _enc, cb) {
        r.events++;
        r.bytes += chunk.length;
        r.lines += countNlBuf(chunk);
        cb();
      },
    });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const stream = await docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true });
  await new Promise((resolve, reject) => {
    docker.modem.demuxStream(stream, sink(), sink());
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(c0);
  return { ...r, ms, cpu };
}

(async () => {
  const run = { addon: viaAddon, dockerode: viaDockerode }[client];
  if (!run || !id) throw new Error('usage: node logs-client.js addon|dockerode CONTAINER_ID');
  const r = await run();
  process.stdout.write(
    `${JSON.stringify({
      client,
      ms: r.ms,
      bytes: r.bytes,
      lines: r.lines,
      events: r.events,
      cpuUser: r.cpu.user / 1e6,
      cpuSys: r.cpu.system / 1e6,
      maxRss: process.resourceUsage().maxRSS * 1024,
    })}\n`,
  );
})().catch((err) => {
  process.stdout.write(`${JSON.stringify({ client, error: String(err?.stack ?? err) })}\n`);
  process.exitCode = 1;
});
