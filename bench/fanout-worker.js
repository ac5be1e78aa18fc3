'use strict';

// One process of the fan-out benchmark:
//
//   node fanout-worker.js none|addon|dockerode IDS_FILE SETTLE_S DURATION_S DOCKERD_PID
//
// Loads the library, makes one ping (so connection set-up is behind us), waits 1 s, reads its RSS
// ("before"), opens one logs follow (tail 0, stdout+stderr) on the first container, waits 1 s,
// reads its RSS again ("one": the code paths are paged in and warm), then opens one follow per
// other container id in IDS_FILE, all at once, and consumes them all, counting lines. After SETTLE_S it samples its RSS every second for
// DURATION_S and measures its CPU (and dockerd's) over that window. `none` does everything but
// the follows. Prints one JSON line.

const fs = require('node:fs');
const path = require('node:path');
const { Writable } = require('node:stream');
const { ALK_ROOT, procCpu, sleep } = require('./lib/common');

const [client, idsFile, settleArg, durationArg, dockerdArg] = process.argv.slice(2);
const ids = fs.readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
const settle = Number(settleArg) * 1000;
const duration = Number(durationArg) * 1000;
const dockerd = Number(dockerdArg);

function countNl(s) {
  let n = 0;
  let i = -1;
  while ((i = s.indexOf(typeof s === 'string' ? '\n' : 10, i + 1)) !== -1) n++;
  return n;
}

(async () => {
  const r = { client, subs: client === 'none' ? 0 : ids.length, lines: 0, errors: 0 };
  let firstSeen = 0;
  let openStart = 0;
  let allOpen = null;
  const seen = new Set();
  const onLines = (i, n) => {
    r.lines += n;
    if (!seen.has(i)) {
      seen.add(i);
      if (++firstSeen === ids.length) allOpen = Date.now() - openStart;
    }
  };
  let closeAll = async (_closers) => {};
  let engineStats = () => undefined;

  // open(i) starts follow i and returns its closer. The first follow is opened alone and given a
  // second, so the RSS is also known with one follow open ("rssOne": code paged in, JIT warm);
  // then the other N-1 are opened at once.
  let open = null;
  if (client === 'addon') {
    const { Engine } = require(ALK_ROOT);
    const engine = new Engine();
    await engine.system.ping();
    engineStats = () => engine.stats();
    open = (i) => {
      const sub = engine.containers.logs(ids[i], { follow: true, tail: 0 });
      (async () => {
        try {
          for await (const ev of sub) onLines(i, countNl(ev.text ?? Buffer.from(ev.base64 ?? '', 'base64')));
        } catch (err) {
          if (err.code !== 'CANCELLED') r.errors++;
        }
      })();
      return async () => sub.cancel();
    };
    closeAll = async (closers) => {
      await Promise.all(closers.map((c) => c()));
      await engine.close();
    };
  } else if (client === 'dockerode') {
    const Docker = require(path.join(__dirname, 'node_modules', 'dockerode'));
    const docker = new Docker();
    await docker.ping();
    open = async (i) => {
      const stream = await docker.getContainer(ids[i]).logs({ follow: true, stdout: true, stderr: true, tail: 0 });
      const sink = new Writable({
        write(chunk, _e, cb) {
          onLines(i, countNl(chunk));
          cb();
        },
      });
      docker.modem.demuxStream(stream, sink, sink);
      stream.on('error', () => r.errors++);
      return async () => stream.destroy();
    };
    closeAll = async (closers) => Promise.all(closers.map((c) => c()));
  }
  await sleep(1000);
  r.rssBefore = process.memoryUsage().rss;
  r.memBefore = process.memoryUsage();
  r.engineBefore = engineStats();
  let closers = [];
  if (open) {
    closers.push(await open(0));
    await sleep(1000);
    r.rssOne = process.memoryUsage().rss;
    openStart = Date.now();
    closers = closers.concat(await Promise.all(ids.slice(1).map((_, k) => open(k + 1))));
  }

  await sleep(settle);
  const rss = [];
  const lines0 = r.lines;
  const c0 = process.cpuUsage();
  const d0 = procCpu(dockerd);
  const t0 = Date.now();
  for (let s = 0; s < duration / 1000; s++) {
    await sleep(1000);
    rss.push(process.memoryUsage().rss);
  }
  const cpu = process.cpuUsage(c0);
  const wall = (Date.now() - t0) / 1000;
  r.dockerdCpuPct = ((procCpu(dockerd) - d0) / wall) * 100;
  r.cpuPct = ((cpu.user + cpu.system) / 1e6 / wall) * 100;
  r.linesPerSec = (r.lines - lines0) / wall;
  r.rssSamples = rss;
  r.rssPeak = process.resourceUsage().maxRSS * 1024;
  r.openMs = allOpen;
  r.followsDelivering = seen.size;
  // Where the memory is: V8 heap, external (Buffers), and for the addon its daemon connections.
  r.memSteady = process.memoryUsage();
  r.engineSteady = engineStats();
  await closeAll(closers);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
})().catch((err) => {
  process.stdout.write(`${JSON.stringify({ client, error: String(err?.stack ?? err) })}\n`);
  process.exit(1);
});
