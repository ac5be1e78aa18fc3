#!/usr/bin/env node
'use strict';

// An interactive shell in a container: the terminal in raw mode, the container's TTY resized on
// SIGWINCH, stdin and stdout wired to the session.
//
//   node examples/attach.js              # a throwaway container running sh (removed at the end)
//   node examples/attach.js <container>  # attach to a running container started with -it

const { Engine } = require('..');

const image = process.env.ALK_TEST_IMAGE || 'alknet-test/busybox:latest';

async function main() {
  const docker = new Engine();
  let container = process.argv[2];
  let throwaway = false;
  if (!container) {
    ({ id: container } = await docker.containers.create({
      image,
      command: ['sh'],
      tty: true,
      openStdin: true,
      stdinOnce: true,
      networkMode: 'none',
    }));
    throwaway = true;
  }
  const session = docker.containers.attach(container);
  await new Promise((resolve, reject) => {
    session.once('open', resolve);
    session.once('error', reject);
  });
  if (throwaway) await docker.containers.start(container);

  const tty = process.stdin.isTTY && process.stdout.isTTY;
  const resize = () => session.resize(process.stdout.columns, process.stdout.rows);
  if (tty) {
    process.stdin.setRawMode(true);
    resize();
    process.stdout.on('resize', resize); // Node's SIGWINCH
  }
  process.stdin.pipe(session);
  session.pipe(process.stdout);
  session.stderr.pipe(process.stderr);

  let exitCode = 1;
  try {
    ({ exitCode } = await session.exit);
  } catch (err) {
    console.error(`\r\n${err.code ?? 'ERROR'}: ${err.message}`);
  } finally {
    if (tty) process.stdin.setRawMode(false);
    process.stdout.off('resize', resize);
    process.stdin.unpipe(session);
    process.stdin.destroy();
    if (throwaway) await docker.containers.remove(container, { force: true }).catch(() => {});
    await docker.close();
  }
  process.exitCode = exitCode;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
