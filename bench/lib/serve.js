'use strict';

// Starts `alknet-docker serve --listen unix://…` (its log lines go to SCRATCH/…-serve.log) and
// resolves once it listens. The caller reads its CPU with procCpu(serve.pid).

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ALK_BIN, SCRATCH, sleep } = require('./common');

async function startServe({ dockerHost, name = 'serve' } = {}) {
  const sock = path.join(SCRATCH, `alk-bench-${name}-${process.pid}.sock`);
  const logFile = path.join(SCRATCH, `alk-bench-${name}-${process.pid}.log`);
  try {
    fs.unlinkSync(sock);
  } catch {}
  const logFd = fs.openSync(logFile, 'w');
  const args = ['serve', '--listen', `unix://${sock}`];
  if (dockerHost) args.push('--docker-host', dockerHost);
  const child = spawn(ALK_BIN, args, { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => (exited = code ?? signal));
  for (let i = 0; i < 200 && !exited; i++) {
    if (fs.existsSync(sock) && /listening on/.test(fs.readFileSync(logFile, 'utf8'))) break;
    await sleep(50);
  }
  if (exited !== null || !fs.existsSync(sock)) {
    throw new Error(`alknet-docker serve did not start (${exited}): ${fs.readFileSync(logFile, 'utf8')}`);
  }
  return {
    pid: child.pid,
    address: `unix://${sock}`,
    logFile,
    async stop() {
      if (exited !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, sleep(15000)]);
    },
  };
}

module.exports = { startServe };
