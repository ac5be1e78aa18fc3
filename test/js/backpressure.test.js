'use strict';

// Backpressure end to end, made observable with a stand-in daemon on a unix socket in this
// process: while the consumer of an async iterator stalls, the engine must stop reading the
// daemon's socket, so the daemon's writes stop being accepted; once the consumer pulls again
// every byte arrives, in order. (The real-daemon variant is in lifecycle.test.js.)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { Engine } = require('../../lib');
const { sleep } = require('./helpers');

const LINE = 100; // bytes per log line, newline included
const LINES = 200000; // 20 MB

// Docker's multiplexed frame of one stdout line "<9-digit counter> xxx…\n".
function frame(i) {
  const out = Buffer.alloc(8 + LINE, 0x78);
  out.writeUInt32BE(0x01000000, 0); // stream 1 (stdout), three zero bytes
  out.writeUInt32BE(LINE, 4);
  out.write(String(i).padStart(9, '0'), 8, 'latin1');
  out[8 + LINE - 1] = 0x0a;
  return out;
}

function fakeDaemon(sock, stats) {
  return http.createServer((req, res) => {
    if (req.url.endsWith('/_ping')) {
      res.writeHead(200, { 'Api-Version': '1.41', 'Content-Type': 'text/plain' });
      res.end('OK');
    } else if (/\/containers\/[^/]+\/json/.test(req.url)) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ Id: 'f'.repeat(64), Config: { Tty: false, Labels: {} }, State: { Status: 'running', Running: true } }));
    } else if (/\/containers\/[^/]+\/logs/.test(req.url)) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
      let i = 0;
      const pump = () => {
        while (i < LINES) {
          const batch = [];
          for (let k = 0; k < 100 && i < LINES; k++) batch.push(frame(i++));
          const buf = Buffer.concat(batch);
          stats.sent += buf.length;
          if (!res.write(buf)) {
            stats.blocked++;
            stats.waiting = true;
            res.once('drain', () => {
              stats.waiting = false;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      pump();
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"message":"not here"}');
    }
  }).listen(sock);
}

// Resolves once the daemon is blocked while the consumer stalls: it waits for 'drain' and
// stats.sent stayed the same for `quietMs` and across at least `turns` polls. Each poll is a turn
// of the event loop, where the engine's reads and the daemon's 'drain' would run, so a process the
// scheduler left waiting does not pass for a blocked daemon. Fails if that does not happen within
// `timeoutMs`: the daemon kept writing (an engine without backpressure takes all 20 MB and the
// daemon ends, never waiting). How long the buffers on the way take to fill depends on the load
// (20–90 ms here, idle or with every CPU busy), hence a wait with a far deadline, not a sleep.
async function daemonBlocked(stats, { quietMs = 300, turns = 15, timeoutMs = 20000 } = {}) {
  const start = Date.now();
  let sent = -1;
  let since = start;
  let quietTurns = 0;
  for (;;) {
    if (stats.sent !== sent || !stats.waiting) {
      sent = stats.sent;
      since = Date.now();
      quietTurns = 0;
    } else if (++quietTurns >= turns && Date.now() - since >= quietMs) {
      return;
    }
    const mb = (stats.sent / 1e6).toFixed(1);
    assert.ok(Date.now() - start < timeoutMs, `the daemon kept writing while the consumer stalled: ${mb} MB sent in ${timeoutMs} ms`);
    await sleep(20);
  }
}

test('a stalled consumer stops the engine reading the daemon; every byte arrives afterwards', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alknet-bp-'));
  const sock = path.join(dir, 'docker.sock');
  const stats = { sent: 0, blocked: 0, waiting: false };
  const server = fakeDaemon(sock, stats);
  const engine = new Engine({ host: `unix://${sock}` });
  try {
    await new Promise((r) => server.once('listening', r));
    const logs = engine.containers.logs('fake', { follow: true });
    let next = 0;
    let received = 0;
    let stalled = false;
    for await (const event of logs) {
      // Outputs may carry several lines (one per docker frame); check the counters in order.
      for (const line of event.text.split('\n')) {
        if (line === '') continue;
        assert.equal(line.slice(0, 9), String(next).padStart(9, '0'));
        next++;
      }
      received += event.text.length;
      if (next >= 1000 && !stalled) {
        stalled = true;
        // Stall: the daemon must be blocked within a bounded amount of data.
        await daemonBlocked(stats);
        assert.ok(stats.blocked > 0, 'the daemon never saw backpressure');
        const inFlight = (stats.sent - received) / 1e6;
        assert.ok(inFlight < 12, `${inFlight.toFixed(1)} MB in flight while stalled`);
      }
    }
    assert.equal(next, LINES);
    assert.equal(received, LINES * LINE);
    await logs.completed;
  } finally {
    await engine.close();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
