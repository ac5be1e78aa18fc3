#!/usr/bin/env node
'use strict';

// Pulls an image with a progress bar: the daemon's per-layer progress events are summed into one
// line; the pull's completion (or its error, reported inside the daemon's stream) ends it.
//
//   node examples/pull.js <image[:tag]>

const { Engine } = require('..');

function bar(fraction, width = 30) {
  const full = Math.round(fraction * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

function mib(n) {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

async function main() {
  const image = process.argv[2];
  if (!image) {
    console.error('usage: node examples/pull.js <image[:tag]>');
    process.exitCode = 2;
    return;
  }
  const docker = new Engine();
  const layers = new Map(); // id → {current, total, status}
  const draw = (status) => {
    let current = 0;
    let total = 0;
    for (const l of layers.values()) {
      current += l.current;
      total += l.total;
    }
    const fraction = total > 0 ? Math.min(1, current / total) : 0;
    const line = `${bar(fraction)} ${mib(current)}/${mib(total)} ${layers.size} layer(s) ${status}`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line.slice(0, process.stdout.columns - 1).padEnd(process.stdout.columns - 1)}`);
    } else {
      console.log(line);
    }
  };
  try {
    const pull = docker.images.pull(image);
    for await (const p of pull) {
      if (p.id && p.progressDetail && p.progressDetail.total) {
        const layer = layers.get(p.id) ?? { current: 0, total: 0 };
        layer.total = p.progressDetail.total;
        layer.current = p.status === 'Downloading' ? p.progressDetail.current : layer.total;
        layers.set(p.id, layer);
      } else if (p.id && /complete|exists/i.test(p.status) && layers.has(p.id)) {
        const layer = layers.get(p.id);
        layer.current = layer.total;
      }
      draw(p.id ? `${p.id}: ${p.status}` : p.status);
    }
    await pull.completed;
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(`pulled ${image}`);
  } catch (err) {
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
    process.exitCode = 1;
  } finally {
    await docker.close();
  }
}

main();
