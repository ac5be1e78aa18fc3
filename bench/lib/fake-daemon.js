'use strict';

// A fake Docker daemon on a unix socket that replays a logs stream from memory, so the client
// — not dockerd — is the bottleneck. The logs body is pre-encoded exactly as dockerd 20.10 sends
// it: HTTP/1.1 chunked, one chunk per multiplexed frame (`6c\r\n` + 8-byte header + line +
// `\r\n`), the same response headers (no Content-Type on API 1.41). Also answers what the
// clients ask before the logs: /_ping (GET/HEAD, API-Version 1.41), /version, and
// /containers/{id}/json (Config.Tty false, State exited).
//
//   node lib/fake-daemon.js --socket /tmp/fake.sock --lines 671088 --lineLen 100
//
// Prints "ready <socket>" on stdout once listening. Every logs request gets the whole stream.

const fs = require('node:fs');
const net = require('node:net');
const { options } = require('./common');

const opt = options({ socket: '/tmp/alk-bench-fake.sock', lines: 671088, lineLen: 100, stderrEvery: 0 });

function encodeLogs(lines, lineLen, stderrEvery) {
  const line = Buffer.alloc(lineLen, 'a');
  line[lineLen - 1] = 0x0a;
  const sizeLine = Buffer.from(`${(lineLen + 8).toString(16)}\r\n`);
  const per = sizeLine.length + 8 + lineLen + 2;
  const tail = Buffer.from('0\r\n\r\n');
  const buf = Buffer.allocUnsafe(per * lines + tail.length);
  let o = 0;
  for (let i = 0; i < lines; i++) {
    o += sizeLine.copy(buf, o);
    buf[o] = stderrEvery > 0 && i % stderrEvery === stderrEvery - 1 ? 2 : 1;
    buf[o + 1] = 0;
    buf[o + 2] = 0;
    buf[o + 3] = 0;
    buf.writeUInt32BE(lineLen, o + 4);
    o += 8;
    o += line.copy(buf, o);
    buf[o++] = 0x0d;
    buf[o++] = 0x0a;
  }
  tail.copy(buf, o);
  return buf;
}

const body = encodeLogs(opt.lines, opt.lineLen, opt.stderrEvery);
const server_ = 'Docker/20.10.24+dfsg1 (linux)';
const common = () =>
  `Api-Version: 1.41\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: ${server_}\r\nDate: ${new Date().toUTCString()}\r\n`;

function respond(socket, status, type, payload, head = false) {
  const text = { 200: 'OK', 404: 'Not Found' }[status] ?? 'Error';
  const data = Buffer.from(payload);
  socket.write(
    `HTTP/1.1 ${status} ${text}\r\n${common()}Content-Type: ${type}\r\nContent-Length: ${data.length}\r\n\r\n`,
  );
  if (!head) socket.write(data);
}

function inspectJson(id) {
  return JSON.stringify({
    Id: id.length === 64 ? id : id.padEnd(64, '0'),
    Created: '2026-11-27T00:00:00Z',
    Path: 'sh',
    Args: ['-c', 'replay'],
    State: { Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: '2026-11-27T00:00:00Z', FinishedAt: '2026-11-27T00:00:01Z' },
    Name: '/replay',
    Config: { Tty: false, OpenStdin: false, AttachStdout: true, AttachStderr: true, Image: 'alknet-test/busybox:latest', Labels: { bench: '1' } },
    HostConfig: { LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'none' },
  });
}

const versionJson = JSON.stringify({
  Platform: { Name: '' },
  Version: '20.10.24+dfsg1',
  ApiVersion: '1.41',
  MinAPIVersion: '1.12',
  GitCommit: '5d6db84',
  GoVersion: 'go1.19.8',
  Os: 'linux',
  Arch: 'amd64',
  KernelVersion: 'replay',
});

function handle(socket, method, target) {
  const url = new URL(target, 'http://fake');
  const p = url.pathname.replace(/^\/v1\.\d+/, '');
  if (p === '/_ping') {
    socket.write(
      `HTTP/1.1 200 OK\r\n${common()}Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\n`,
    );
    if (method !== 'HEAD') socket.write('OK');
    return;
  }
  if (p === '/version') return respond(socket, 200, 'application/json', versionJson, method === 'HEAD');
  let m = /^\/containers\/([^/]+)\/json$/.exec(p);
  if (m) return respond(socket, 200, 'application/json', inspectJson(m[1]), method === 'HEAD');
  m = /^\/containers\/([^/]+)\/logs$/.exec(p);
  if (m && method === 'GET') {
    socket.write(`HTTP/1.1 200 OK\r\n${common()}Transfer-Encoding: chunked\r\n\r\n`);
    socket.write(body);
    return;
  }
  respond(socket, 404, 'application/json', JSON.stringify({ message: `fake daemon: no route ${method} ${p}` }));
}

const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  let skip = 0; // request body bytes still to discard
  socket.on('error', () => {});
  socket.on('data', (d) => {
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, pending.length);
        skip -= n;
        pending = pending.subarray(n);
        if (skip > 0) return;
      }
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = pending.subarray(0, end).toString('latin1');
      pending = pending.subarray(end + 4);
      const [requestLine, ...headers] = head.split('\r\n');
      const [method, target] = requestLine.split(' ');
      for (const h of headers) {
        const m = /^content-length:\s*(\d+)/i.exec(h);
        if (m) skip = Number(m[1]);
      }
      handle(socket, method, target);
    }
  });
});

try {
  fs.unlinkSync(opt.socket);
} catch {}
server.listen(opt.socket, () => process.stdout.write(`ready ${opt.socket} ${body.length}\n`));
process.on('SIGTERM', () => {
  server.close();
  try {
    fs.unlinkSync(opt.socket);
  } catch {}
  process.exit(0);
});
