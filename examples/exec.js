#!/usr/bin/env node
'use strict';

// Runs a command in a running container and exits with its exit code, like `docker exec`.
//
//   node examples/exec.js <container> <command> [args...]
//   node examples/exec.js -i <container> <command> [args...]   # with stdin (a Duplex)

const { Engine } = require('..');

async function main() {
  const args = process.argv.slice(2);
  const interactive = args[0] === '-i';
  if (interactive) args.shift();
  const [container, ...command] = args;
  if (!container || command.length === 0) {
    console.error('usage: node examples/exec.js [-i] <container> <command> [args...]');
    process.exitCode = 2;
    return;
  }
  const docker = new Engine();
  try {
    if (interactive) {
      // stdin flows to the process; end of our stdin half-closes its stdin, output keeps flowing.
      const session = docker.containers.exec(container, command, { stdin: true });
      process.stdin.pipe(session);
      session.pipe(process.stdout);
      session.stderr.pipe(process.stderr);
      const { exitCode } = await session.exit;
      process.stdin.unpipe(session);
      process.stdin.destroy();
      process.exitCode = exitCode;
    } else {
      const { exitCode, stdout, stderr } = await docker.containers.exec(container, command);
      process.stdout.write(stdout);
      process.stderr.write(stderr);
      process.exitCode = exitCode;
    }
  } catch (err) {
    console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
    process.exitCode = 125;
  } finally {
    await docker.close();
  }
}

main();
