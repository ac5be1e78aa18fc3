'use strict';

// Set-up and clean-up against the real daemon with plain node:http (never timed). Every
// container the benchmarks create carries the label bench=1 and runs with --network none.

const http = require('node:http');
const { DOCKER_SOCK, IMAGE } = require('./common');

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(method, path, body, { socketPath = DOCKER_SOCK } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        socketPath,
        agent: socketPath === DOCKER_SOCK ? agent : undefined,
        method,
        path: `/v1.41${path}`,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
      },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          if (res.statusCode >= 400) {
            const err = new Error(`${method} ${path}: ${res.statusCode} ${text.trim()}`);
            err.status = res.statusCode;
            reject(err);
            return;
          }
          try {
            resolve(text ? JSON.parse(text) : null);
          } catch {
            resolve(text);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** Creates a bench container; returns its id. */
async function create({ cmd, openStdin = false, stdinOnce = false, attachStdin = false, tty = false }) {
  const res = await request('POST', '/containers/create', {
    Image: IMAGE,
    Cmd: cmd,
    Labels: { bench: '1' },
    OpenStdin: openStdin,
    StdinOnce: stdinOnce,
    AttachStdin: attachStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: tty,
    HostConfig: { NetworkMode: 'none' },
  });
  return res.Id;
}

const start = (id) => request('POST', `/containers/${id}/start`);
const wait = (id) => request('POST', `/containers/${id}/wait`);
const inspect = (id) => request('GET', `/containers/${id}/json`);
const remove = (id) => request('DELETE', `/containers/${id}?force=1&v=1`).catch((e) => (e.status === 404 ? null : Promise.reject(e)));

/** Ids of every container labelled bench=1. */
async function benchContainers() {
  const filters = encodeURIComponent(JSON.stringify({ label: ['bench=1'] }));
  const list = await request('GET', `/containers/json?all=1&filters=${filters}`);
  return list.map((c) => c.Id);
}

/** Runs `fn` over items with at most `n` at once. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

async function removeAll(ids, concurrency = 4) {
  await pool(ids, concurrency, (id) => remove(id));
}

module.exports = { request, create, start, wait, inspect, remove, benchContainers, pool, removeAll, agent };
