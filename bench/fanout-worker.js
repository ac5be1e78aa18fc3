'use strict';

// One process of the fan-out benchmark:
//
//   node fanout-worker.js none|addon|dockerode IDS_FILE SETTLE_S DURATION_S DOCKERD_PID [HALF_SAMPLES [WARMUP_FOLLOWS WARMUP_S]]
//
// Loads the library, makes one ping (so connection set-up is behind us), runs WARMUP_FOLLOWS
// follows for WARMUP_S seconds and closes them (default none), waits 1 s, reads its RSS
// ("before"), opens one logs follow (tail 0, stdout+stderr) on the first container, waits 1 s,
// reads its RSS again ("one": the code paths are paged in and warm). Then it opens the follows in
// two bursts: first up to half of the ids in IDS_FILE (floor(N/2) open in all), waits SETTLE_S and
// samples its RSS every second HALF_SAMPLES times (default 5; the median is "half"); then the
// other half at once. All follows are consumed, counting lines. After SETTLE_S it samples its RSS
// every second for DURATION_S and measures its CPU (and dockerd's) over that window ("steady",
// with all N open). steady − half is what the second half of the follows costs once the one-time
// costs (the first optimizing compile in the process, the first young-generation growth) are
// behind. `none` does everything but the follows (same waits). Prints one JSON line.

const fs = require('node:fs');
const path = require('node:path');
const { Writable } = require('node:stream');
const v8 = require('node:v8');
const { ALK_ROOT, procCpu, sleep } = require('./lib/common');

const [client, idsFile, settleArg, durationArg, dockerdArg, halfSamplesArg, warmupFollowsArg, warmupSecondsArg] = process.argv.slice(2);
const ids = fs.readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
const settle = Number(settleArg) * 1000;
const duration = Number(durationArg) * 1000;
const dockerd = Number(dockerdArg);
const halfSamples = Number(halfSamplesArg ?? 5);
const warmupFollows = Math.min(Number(warmupFollowsArg ?? 0), ids.length);
const warmupMs = Number(warmupSecondsArg ?? 0) * 1000;

// The young generation: space_size is its capacity (both semispaces; a doubling is a one-time
// cost, not a per-follow one), physical_space_size the memory committed to it (part of the RSS).
function newSpace() {
  return v8.getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space');
}
const newSpaceSize = () => newSpace()?.space_size;
const newSpacePhysical = () => newSpace()?.physical_space_size;

// The file-backed part of the RSS (RssFile: pages of the node binary and of the shared libraries,
// e.g. V8's optimizing compiler, paged in the first time it runs), in bytes. The rest of the RSS is
// memory the process allocated.
function rssFile() {
  const m = /^RssFile:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function countNl(s) {
  let n = 0;
  let i = -1;
  while ((i = s.indexOf(typeof s === 'string' ? '\n' : 10, i + 1)) !== -1) n++;
  return n;
}

(async () => {
  const r = { client, subs: client === 'none' ? 0 : ids.length, lines: 0, errors: 0 };
  // When each follow first delivered a line: "all follows delivering after ms" per burst.
  const firstSeenAt = new Array(ids.length).fill(0);
  const onLines = (i, n) => {
    r.lines += n;
    if (!firstSeenAt[i]) firstSeenAt[i] = Date.now();
  };
  const seenIn = (from, to) => firstSeenAt.slice(from, to).filter(Boolean).length;
  const burstMs = (from, to, start) => (seenIn(from, to) === to - from ? Math.max(...firstSeenAt.slice(from, to)) - start : null);
  let closeAll = async (_closers) => {};
  let engineStats = () => undefined;

  // open(i) starts follow i and returns its closer. The first follow is opened alone and given a
  // second, so the RSS is also known with one follow open ("rssOne": code paged in, JIT warm);
  // then the others are opened in two bursts (see the top of the file).
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
  // Warm-up: the first `warmupFollows` follows run for `warmupMs`, then close, before anything is
  // read. Two one-time transients end here instead of inside the window: the process's first
  // optimizing compile (V8 paging TurboFan's code in from the node binary; dockerode's require
  // already did it, the addon's first hot loop does it) and the young generation that loading
  // left behind (dockerode's require leaves 8 MiB, which V8 shrinks to 1 MiB after ~10 s idle;
  // bench/idle.js). The window then measures what the follows themselves cost.
  if (open && warmupFollows > 0 && warmupMs > 0) {
    const warm = await Promise.all(ids.slice(0, warmupFollows).map((_, k) => open(k)));
    await sleep(warmupMs);
    await Promise.all(warm.map((close) => close()));
    r.warmupLines = r.lines;
    r.lines = 0;
    firstSeenAt.fill(0);
  }
  await sleep(1000);
  r.rssBefore = process.memoryUsage().rss;
  r.rssFileBefore = rssFile();
  r.memBefore = process.memoryUsage();
  r.engineBefore = engineStats();
  r.newSpaceBefore = newSpaceSize();
  let closers = [];
  // Burst 1: follows 1 .. half-1 (half open in all with the first); burst 2: half .. N-1.
  const half = Math.floor(ids.length / 2);
  let start1 = 0;
  let start2 = 0;
  if (open) {
    closers.push(await open(0));
    await sleep(1000);
    r.rssOne = process.memoryUsage().rss;
    start1 = Date.now();
    closers = closers.concat(await Promise.all(ids.slice(1, half).map((_, k) => open(k + 1))));
  }
  await sleep(settle);
  const rssHalf = [];
  const youngHalf = [];
  for (let s = 0; s < halfSamples; s++) {
    await sleep(1000);
    rssHalf.push(process.memoryUsage().rss);
    youngHalf.push(newSpacePhysical());
  }
  r.halfFollows = open ? half : 0;
  r.rssHalfSamples = rssHalf;
  r.youngHalfSamples = youngHalf;
  r.memHalf = process.memoryUsage();
  r.newSpaceHalf = newSpaceSize();
  if (open) {
    start2 = Date.now();
    closers = closers.concat(await Promise.all(ids.slice(half).map((_, k) => open(half + k))));
  }

  await sleep(settle);
  const rss = [];
  const young = [];
  const files = [];
  const lines0 = r.lines;
  const c0 = process.cpuUsage();
  const d0 = procCpu(dockerd);
  const t0 = Date.now();
  for (let s = 0; s < duration / 1000; s++) {
    await sleep(1000);
    rss.push(process.memoryUsage().rss);
    young.push(newSpacePhysical());
    files.push(rssFile());
  }
  const cpu = process.cpuUsage(c0);
  const wall = (Date.now() - t0) / 1000;
  r.dockerdCpuPct = ((procCpu(dockerd) - d0) / wall) * 100;
  r.cpuPct = ((cpu.user + cpu.system) / 1e6 / wall) * 100;
  r.linesPerSec = (r.lines - lines0) / wall;
  r.rssSamples = rss;
  r.youngSamples = young;
  r.rssFileSamples = files;
  r.rssPeak = process.resourceUsage().maxRSS * 1024;
  // Each burst from its start until every follow of it delivered a line; openMs is the longer.
  r.openMsHalf1 = open ? burstMs(1, half, start1) : null;
  r.openMsHalf2 = open ? burstMs(half, ids.length, start2) : null;
  r.openMs = r.openMsHalf1 === null || r.openMsHalf2 === null ? null : Math.max(r.openMsHalf1, r.openMsHalf2);
  r.followsDelivering = seenIn(0, ids.length);
  r.newSpaceSteady = newSpaceSize();
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
