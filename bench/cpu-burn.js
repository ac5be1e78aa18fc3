'use strict';

// A control for benchmarks on this 2-core machine: takes a steady share of one core (busy, then
// asleep, in 4 ms periods) so that a run of the in-process client can be measured with as much CPU
// taken from it as the QUIC endpoints take (Run 15 in RESULTS.md). Not a benchmark itself.
//
//   node cpu-burn.js FRACTION SECONDS      e.g. node cpu-burn.js 0.25 120 &
//
// Stops after SECONDS or on SIGTERM / SIGINT, and prints the share of a core it really took.

const fraction = Number(process.argv[2]);
const seconds = Number(process.argv[3]);
if (!(fraction > 0 && fraction < 1) || !(seconds > 0)) {
  console.error('usage: node cpu-burn.js FRACTION(0..1) SECONDS');
  process.exit(2);
}

const PERIOD_MS = 4;
const started = performance.now();
const cpuAtStart = process.cpuUsage();

function report() {
  const wallMs = performance.now() - started;
  const share = cpuMsSinceStart() / wallMs;
  console.error(`cpu-burn: asked ${fraction}, took ${share.toFixed(2)} of a core over ${(wallMs / 1000).toFixed(1)} s`);
  process.exit(0);
}

function cpuMsSinceStart() {
  const cpu = process.cpuUsage(cpuAtStart);
  return (cpu.user + cpu.system) / 1000;
}

// Each period spins for whatever keeps the CPU taken so far at FRACTION of the time gone by: the
// timers' rounding and Node's own work then count against the share instead of adding to it.
function tick() {
  const t = performance.now();
  if (t - started >= seconds * 1000) return report();
  const owedMs = Math.min(PERIOD_MS, fraction * (t - started + PERIOD_MS) - cpuMsSinceStart());
  while (performance.now() - t < owedMs);
  setTimeout(tick, Math.max(1, PERIOD_MS - (performance.now() - t)));
}

process.on('SIGTERM', report);
process.on('SIGINT', report);
tick();
