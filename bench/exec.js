'use strict';

// Benchmark 3: exec round trip of `true` in a running `sleep` container.
//
//   node exec.js [--iterations 100 --rounds 3 --warmup 5 --clients addon,dockerode,raw,call,cli]
//
// One round trip = create the exec, start it attached, read its output to the end, know its exit
// code. Clients (interleaved: every iteration runs each client once, in a rotating order):
//   addon      await engine.containers.exec(id, ['true'])                     (in this process)
//   dockerode  container.exec({Cmd, AttachStdout, AttachStderr}) → exec.start({Detach:false}),
//              read the stream to its end → exec.inspect() for ExitCode        (in this process)
//   raw        the same three requests with node:http on the unix socket     (in this process)
//   call       alknet-docker call unix://SERVE docker/container/exec '{"containerId":…,"command":["true"]}'
//              through a running serve, one process per round trip (spawn → exit)
//   cli        /usr/bin/docker exec ID true, one process per round trip (spawn → exit)
// Each client must return exit code 0 every time, and 7 for a final `sh -c 'exit 7'`.

const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const c = require('./lib/common');
const api = require('./lib/docker-api');
const { startServe } = require('./lib/serve');

const opt = c.options({ iterations: 100, rounds: 3, warmup: 5, clients: 'addon,dockerode,raw,call,cli' });

const keepAlive = new http.Agent({ keepAlive: true });

function rawRequest(method, p, body, agent = keepAlive) {
  return new Promise((resolve, reject) => {
    const data = body ? Buffer.from(JSON.stringify(body)) : null;
    const req = http.request(
      {
        socketPath: c.DOCKER_SOCK,
        agent,
        method,
        path: `/v1.41${p}`,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
      },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          if (res.statusCode >= 400) return reject(new Error(`${method} ${p}: ${res.statusCode}`));
          const text = Buffer.concat(parts).toString();
          resolve({ text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function rawExec(id, cmd) {
  const created = (await rawRequest('POST', `/containers/${id}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true })).json();
  // dockerd answers the attached start with the raw stream and closes the connection at its end.
  await rawRequest('POST', `/exec/${created.Id}/start`, { Detach: false, Tty: false }, false);
  return (await rawRequest('GET', `/exec/${created.Id}/json`)).json().ExitCode;
}

function spawnExit(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

async function main() {
  const clients = opt.clients.split(',');
  const { Engine } = require(c.ALK_ROOT);
  const Docker = require(path.join(__dirname, 'node_modules', 'dockerode'));
  const engine = new Engine();
  const docker = new Docker({ socketPath: c.DOCKER_SOCK });
  const serve = clients.includes('call') ? await startServe({ dockerHost: `unix://${c.DOCKER_SOCK}`, name: 'exec' }) : null;
  const id = await api.create({ cmd: ['sleep', '86400'] });
  await api.start(id);
  const container = docker.getContainer(id);

  const exec = {
    async addon(cmd) {
      return (await engine.containers.exec(id, cmd)).exitCode;
    },
    async dockerode(cmd) {
      const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await e.start({ Detach: false });
      await new Promise((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
        stream.resume();
      });
      return (await e.inspect()).ExitCode;
    },
    raw: (cmd) => rawExec(id, cmd),
    call: (cmd) => spawnExit(c.ALK_BIN, ['call', serve.address, 'docker/container/exec', JSON.stringify({ containerId: id, command: cmd })]),
    cli: (cmd) => spawnExit(c.DOCKER_CLI, ['exec', id, ...cmd]),
  };

  const samples = Object.fromEntries(clients.map((k) => [k, []])); // [round][i] ms
  let k = 0;
  try {
    c.log(`exec: ${opt.warmup} warm-up + ${opt.rounds} × ${opt.iterations} iterations; clients ${clients.join(' ')}`);
    for (let round = -1; round < opt.rounds; round++) {
      const n = round < 0 ? opt.warmup : opt.iterations;
      const times = Object.fromEntries(clients.map((name) => [name, []]));
      for (let i = 0; i < n; i++) {
        for (const name of c.rotate(clients, k++)) {
          const t0 = process.hrtime.bigint();
          const code = await exec[name](['true']);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (code !== 0) throw new Error(`${name}: exec true gave exit code ${code}`);
          times[name].push(ms);
        }
      }
      if (round >= 0) {
        for (const name of clients) samples[name].push(times[name]);
        c.log(`round ${round + 1}: ${clients.map((name) => `${name} p50 ${c.percentile(times[name], 50).toFixed(1)} p99 ${c.percentile(times[name], 99).toFixed(1)}`).join(' | ')}  load ${require('node:os').loadavg()[0].toFixed(1)}`);
      }
    }
    for (const name of clients) {
      const code = await exec[name](['sh', '-c', 'exit 7']);
      if (code !== 7) throw new Error(`${name}: sh -c 'exit 7' gave exit code ${code}`);
    }
    c.log('exit code check: 7 from every client');
  } finally {
    await api.remove(id);
    await engine.close();
    if (serve) await serve.stop();
    keepAlive.destroy();
    api.agent.destroy();
  }

  const rows = [
    '| client | p50 ms per round (min / med / max) | p99 ms per round (min / med / max) | pooled p50 / p99 ms | pooled p50 ÷ raw | pooled p50 ÷ dockerode | pooled p50 ÷ docker exec |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const pooled = (name) => samples[name].flat();
  const p50 = (name) => (samples[name]?.length ? c.percentile(pooled(name), 50) : NaN);
  for (const name of clients) {
    const rounds = samples[name];
    rows.push(
      `| ${name} | ${c.fmtMmm(rounds.map((r) => c.percentile(r, 50)), 1)} | ${c.fmtMmm(rounds.map((r) => c.percentile(r, 99)), 1)} | ${c.fmt(p50(name), 1)} / ${c.fmt(c.percentile(pooled(name), 99), 1)} | ${c.fmt(p50(name) / p50('raw'), 3)} | ${c.fmt(p50(name) / p50('dockerode'), 3)} | ${c.fmt(p50(name) / p50('cli'), 3)} |`,
    );
  }
  const table = rows.join('\n');
  process.stdout.write(`\n${table}\n`);
  c.log(`results: ${c.saveResults('exec', { options: opt, versions: c.versions(), samples, table })}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
