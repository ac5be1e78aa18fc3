#!/usr/bin/env node
'use strict';

// Spawns several containers in parallel with run(), streams their output prefixed with each job's
// name, awaits every completion — which comes from the daemon's own stream end, never from
// polling — and prints the exit codes. Exits non-zero when a job failed.
//
//   node examples/coordinator.js [image]                      the in-process engine
//   node examples/coordinator.js [image] --server quic://host:4433 --ca ca.crt --cert c.crt --key c.key
//   node examples/coordinator.js [image] --server unix:///run/alknet.sock
//                                                             through `alknet-docker serve`

const { parseArgs } = require('node:util');
const { Engine, connect } = require('..');

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { server: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' } },
});
const image = positionals[0] || process.env.ALK_TEST_IMAGE || 'alknet-test/busybox:latest';

const jobs = {
  count: 'for i in 1 2 3 4 5; do echo "step $i"; sleep 0.1; done',
  fail: 'echo "about to fail" >&2; sleep 0.2; exit 3',
  hash: 'head -c 1000000 /dev/urandom | md5sum',
  slow: 'sleep 0.5; echo "done sleeping"',
};

async function runJob(docker, name, script) {
  const run = docker.containers.run({
    image,
    command: ['sh', '-c', script],
    networkMode: 'none', // these jobs need no network
    labels: { 'example.job': name },
  });
  let partial = { stdout: '', stderr: '' };
  for await (const event of run) {
    // Events carry whatever the daemon read; print whole lines with the job's prefix.
    const text = partial[event.stream] + (event.text ?? Buffer.from(event.base64, 'base64').toString());
    const lines = text.split('\n');
    partial[event.stream] = lines.pop();
    const out = event.stream === 'stderr' ? process.stderr : process.stdout;
    for (const line of lines) out.write(`[${name}] ${line}\n`);
  }
  for (const [stream, rest] of Object.entries(partial)) {
    if (rest) (stream === 'stderr' ? process.stderr : process.stdout).write(`[${name}] ${rest}\n`);
  }
  const { exitCode } = await run.completed;
  return exitCode;
}

async function main() {
  const docker = flags.server ? connect(flags.server, { ca: flags.ca, cert: flags.cert, key: flags.key }) : new Engine();
  console.log(`coordinating through ${flags.server ?? 'the in-process engine'}`);
  const started = Date.now();
  const names = Object.keys(jobs);
  const results = await Promise.allSettled(names.map((name) => runJob(docker, name, jobs[name])));
  console.log(`\nall ${names.length} jobs finished in ${Date.now() - started} ms`);
  let failed = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      console.log(`  ${names[i].padEnd(6)} exit ${r.value}`);
      if (r.value !== 0) failed++;
    } else {
      console.log(`  ${names[i].padEnd(6)} error ${r.reason.code}: ${r.reason.message}`);
      failed++;
    }
  });
  await docker.close();
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 2;
});
