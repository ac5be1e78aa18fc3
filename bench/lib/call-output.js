'use strict';

// Counts what `alknet-docker call … docker/container/logs` printed: one JSON output per line,
// `{"stream","text"|"base64"}`. Returns {bytes, lines, events, other} — bytes and newlines of the
// payload, the number of output events, and lines that were not output events.

const fs = require('node:fs');

function countCallOutput(file) {
  const data = fs.readFileSync(file);
  const r = { bytes: 0, lines: 0, events: 0, other: 0, stdout: 0, stderr: 0 };
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(10, start);
    if (end < 0) end = data.length;
    if (end > start) {
      const ev = JSON.parse(data.toString('utf8', start, end));
      let bytes = null;
      if (typeof ev.text === 'string') bytes = Buffer.from(ev.text, 'utf8');
      else if (typeof ev.base64 === 'string') bytes = Buffer.from(ev.base64, 'base64');
      if (bytes && (ev.stream === 'stdout' || ev.stream === 'stderr')) {
        r.events++;
        r[ev.stream] += bytes.length;
        r.bytes += bytes.length;
        let i = -1;
        while ((i = bytes.indexOf(10, i + 1)) !== -1) r.lines++;
      } else {
        r.other++;
      }
    }
    start = end + 1;
  }
  return r;
}

module.exports = { countCallOutput };
