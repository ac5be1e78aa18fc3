'use strict';

// Benchmark 5: 200 concurrent log follows in one Node process — RSS growth per follow and CPU.
//
//   node fanout.js [--containers 200 --settle 5 --duration 20 --half-samples 5 --warmup-follows 20 --warmup 10 --reps 3 --clients none,addon,dockerode --max-semi-space 0 --keep]
//
// Starts N containers (concurrency 4, --network none, label bench=1, OpenStdin) each running
// `sh -c 'while :; do echo tick; read -t 0.100 x; done'` (a line every ~100 ms; `read -t` on the
// idle stdin paces the loop without forking a sleep). Then per repetition, for each client in a
// rotating order, a fresh `node fanout-worker.js` first runs --warmup-follows follows for --warmup
// seconds and closes them (so each process's first optimizing compile is behind it; 0 = cold, as
// in Runs 1–8), then opens one follow per container (tail 0) and
// reports RSS before subscribing, RSS with half of the follows open (median of --half-samples 1 s
// samples after --settle), RSS every second of the window with all open, and CPU % of one core
// over it. `none` is the same process without follows. `--max-semi-space MiB` (a control, 0 = V8's
// default) caps the young generation's semispaces in every worker (NODE_OPTIONS
// --max-semi-space-size): at 1 it stays at its initial size, so its growth — a one-time cost that
// lands in a different phase for each client — is out of every figure. Every container is removed at the end (also on
// error / Ctrl-C); `node cleanup.js` removes anything labelled bench=1 that survived.

const fs = require('node:fs');
const path = require('node:path');
const c = require('./lib/common');
const api = require('./lib/docker-api');

const opt = c.options({ containers: 200, settle: 5, duration: 20, 'half-samples': 5, 'warmup-follows': 20, warmup: 10, 'max-semi-space': 0, reps: 3, clients: 'none,addon,dockerode', concurrency: 4 });

async function main() {
  const clients = opt.clients.split(',');
  const ids = [];
  const idsFile = path.join(c.SCRATCH, `alk-bench-fanout-ids-${process.pid}`);
  let stopping = false;
  const cleanup = async () => {
    c.log(`removing ${ids.length} containers`);
    await api.removeAll(ids, opt.concurrency);
    try {
      fs.unlinkSync(idsFile);
    } catch {}
  };
  process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    stopping = true;
    cleanup().finally(() => process.exit(130));
  });
  const samples = Object.fromEntries(clients.map((k) => [k, []]));
  try {
    const t0 = Date.now();
    await api.pool(Array.from({ length: opt.containers }), opt.concurrency, async () => {
      if (stopping) return;
      const id = await api.create({ cmd: ['sh', '-c', 'while :; do echo tick; read -t 0.100 x; done'], openStdin: true });
      ids.push(id);
      await api.start(id);
    });
    c.log(`${ids.length} containers started in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const running = (await Promise.all(ids.map((id) => api.inspect(id)))).filter((j) => j.State.Running).length;
    if (running !== opt.containers) throw new Error(`only ${running} of ${opt.containers} containers are running`);
    fs.writeFileSync(idsFile, ids.join('\n'));
    const dockerd = c.pidOf('dockerd');
    const semi = opt['max-semi-space'];
    const env = semi ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=${semi}`.trim() } : undefined;
    for (let rep = 0; rep < opt.reps; rep++) {
      for (const name of c.rotate(clients, rep)) {
        const r = await c.nodeJson(path.join(__dirname, 'fanout-worker.js'), [name, idsFile, String(opt.settle), String(opt.duration), String(dockerd), String(opt['half-samples']), String(opt['warmup-follows']), String(opt.warmup)], { env });
        if (r.error) throw new Error(`${name}: ${r.error}`);
        if (r.errors) throw new Error(`${name}: ${r.errors} follow streams failed`);
        if (name !== 'none' && r.followsDelivering !== opt.containers) {
          throw new Error(`${name}: only ${r.followsDelivering} of ${opt.containers} follows delivered lines`);
        }
        r.rssSteady = c.median(r.rssSamples);
        r.growthPerFollow = name === 'none' ? NaN : (r.rssSteady - r.rssBefore) / opt.containers;
        // Without the one-time cost of the first follow (code paged in, JIT): the other N-1.
        r.marginalPerFollow = name === 'none' ? NaN : (r.rssSteady - r.rssOne) / (opt.containers - 1);
        // The second half of the follows, opened once the first half has run for a while: what one
        // more follow costs with the one-time costs (first optimizing compile, first young-generation
        // growth) behind. For `none` (no follows) the same difference over the same count is the drift.
        r.rssHalf = c.median(r.rssHalfSamples);
        r.slopePerFollow = (r.rssSteady - r.rssHalf) / (opt.containers - Math.floor(opt.containers / 2));
        // The same without the V8 young generation (RSS − its committed size, per sample): its
        // growth is one-time and lands in the first half for one client, the second for another.
        const oldRss = (rss, young) => c.median(rss.map((x, i) => x - young[i]));
        r.slopeNoYoungPerFollow = (oldRss(r.rssSamples, r.youngSamples) - oldRss(r.rssHalfSamples, r.youngHalfSamples)) / (opt.containers - Math.floor(opt.containers / 2));
        // The growth split into file-backed pages (the node binary's code paged in, e.g. V8's
        // optimizing compiler at the first optimized function: once per process, shared with
        // every other node process, and evictable) and memory the process allocated (the rest).
        r.fileGrowthPerFollow = name === 'none' ? NaN : (c.median(r.rssFileSamples) - r.rssFileBefore) / opt.containers;
        r.allocatedGrowthPerFollow = r.growthPerFollow - r.fileGrowthPerFollow;
        // The part of the growth that is the V8 heap and Buffers (the rest is native memory).
        r.jsGrowth = r.memSteady.heapUsed + r.memSteady.external - (r.memBefore.heapUsed + r.memBefore.external);
        samples[name].push(r);
        c.log(`rep ${rep + 1} ${name.padEnd(9)} RSS before ${(r.rssBefore / 2 ** 20).toFixed(1)} MiB steady ${(r.rssSteady / 2 ** 20).toFixed(1)} MiB (${(r.growthPerFollow / 1024).toFixed(1)} KiB/follow; after the first ${(r.marginalPerFollow / 1024).toFixed(1)}; half ${(r.rssHalf / 2 ** 20).toFixed(1)} MiB, second half ${(r.slopePerFollow / 1024).toFixed(1)} KiB/follow, without the young generation ${(r.slopeNoYoungPerFollow / 1024).toFixed(1)}; new space ${[r.newSpaceBefore, r.newSpaceHalf, r.newSpaceSteady].map((x) => (x / 2 ** 20).toFixed(0)).join('→')} MiB) CPU ${r.cpuPct.toFixed(1)} % lines/s ${r.linesPerSec.toFixed(0)} dockerd ${r.dockerdCpuPct.toFixed(0)} % open ${r.openMsHalf1}+${r.openMsHalf2} ms heap+external ${(r.jsGrowth / 2 ** 20).toFixed(1)} MiB${r.engineSteady ? ` engine ${JSON.stringify(r.engineSteady)}` : ''} load ${require('node:os').loadavg()[0].toFixed(1)}`);
      }
    }
  } finally {
    if (!opt.keep) await cleanup();
    api.agent.destroy();
  }

  const MiB = 2 ** 20;
  const med = (name, f) => c.median(samples[name].map(f));
  const rows = [
    '| client | follows | RSS before MiB (med) | RSS steady MiB (min / med / max) | RSS peak MiB (med) | growth per follow KiB (min / med / max) | growth per follow after the first KiB (min / med / max) | growth per follow, second half KiB (min / med / max) | second half without the V8 young generation KiB (min / med / max) | of which V8 heap + external KiB per follow (med) | CPU % of a core (min / med / max) | lines/s (med) | all follows delivering after ms (med) | dockerd CPU % (med) | growth ÷ dockerode | growth after the first ÷ dockerode | second half ÷ dockerode | second half without young gen. ÷ dockerode | CPU ÷ dockerode |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const has = (name) => samples[name]?.length > 0;
  for (const name of clients) {
    const s = samples[name];
    const g = name === 'none' ? '–' : c.fmtMmm(s.map((r) => r.growthPerFollow / 1024), 1);
    const gr = has('dockerode') && name !== 'none' ? c.fmt(med(name, (r) => r.growthPerFollow) / med('dockerode', (r) => r.growthPerFollow), 2) : '–';
    const mr = has('dockerode') && name !== 'none' ? c.fmt(med(name, (r) => r.marginalPerFollow) / med('dockerode', (r) => r.marginalPerFollow), 2) : '–';
    const sr = has('dockerode') && name !== 'none' ? c.fmt(med(name, (r) => r.slopePerFollow) / med('dockerode', (r) => r.slopePerFollow), 2) : '–';
    const syr = has('dockerode') && name !== 'none' ? c.fmt(med(name, (r) => r.slopeNoYoungPerFollow) / med('dockerode', (r) => r.slopeNoYoungPerFollow), 2) : '–';
    // For `none` the second-half columns are the drift with no follows (same difference, same count).
    const paren = (x) => (name === 'none' ? `(${x})` : x);
    const sh = paren(c.fmtMmm(s.map((r) => r.slopePerFollow / 1024), 1));
    const shy = paren(c.fmtMmm(s.map((r) => r.slopeNoYoungPerFollow / 1024), 1));
    const cr = has('dockerode') ? c.fmt(med(name, (r) => r.cpuPct) / med('dockerode', (r) => r.cpuPct), 2) : '–';
    rows.push(
      `| ${name} | ${s[0].subs} | ${c.fmt(med(name, (r) => r.rssBefore / MiB), 1)} | ${c.fmtMmm(s.map((r) => r.rssSteady / MiB), 1)} | ${c.fmt(med(name, (r) => r.rssPeak / MiB), 1)} | ${g} | ${name === 'none' ? '–' : c.fmtMmm(s.map((r) => r.marginalPerFollow / 1024), 1)} | ${sh} | ${shy} | ${name === 'none' ? '–' : c.fmt(med(name, (r) => r.jsGrowth / opt.containers / 1024), 1)} | ${c.fmtMmm(s.map((r) => r.cpuPct), 1)} | ${c.fmt(med(name, (r) => r.linesPerSec), 0)} | ${name === 'none' ? '–' : c.fmt(med(name, (r) => r.openMs), 0)} | ${c.fmt(med(name, (r) => r.dockerdCpuPct), 0)} | ${gr} | ${mr} | ${sr} | ${syr} | ${cr} |`,
    );
  }
  // The growth per follow of the first table split by kind of page.
  rows.push('', '| client | growth per follow KiB (med) | of which file-backed pages KiB (min / med / max) | of which allocated memory KiB (min / med / max) | allocated ÷ dockerode |', '| --- | --- | --- | --- | --- |');
  for (const name of clients.filter((n) => n !== 'none')) {
    const s = samples[name];
    const ar = has('dockerode') ? c.fmt(med(name, (r) => r.allocatedGrowthPerFollow) / med('dockerode', (r) => r.allocatedGrowthPerFollow), 2) : '–';
    rows.push(
      `| ${name} | ${c.fmt(med(name, (r) => r.growthPerFollow / 1024), 1)} | ${c.fmtMmm(s.map((r) => r.fileGrowthPerFollow / 1024), 1)} | ${c.fmtMmm(s.map((r) => r.allocatedGrowthPerFollow / 1024), 1)} | ${ar} |`,
    );
  }
  const table = rows.join('\n');
  process.stdout.write(`\n${table}\n`);
  c.log(`results: ${c.saveResults('fanout', { options: opt, versions: c.versions(), samples, table })}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
