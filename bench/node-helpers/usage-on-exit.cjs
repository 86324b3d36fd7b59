// Preloaded (`node --require`) into a CLI run bench/metadata.ts measures: at exit, writes the
// process's CPU time (user + system µs, start-up included) and peak RSS (KiB) as one JSON line
// to fd 3, which the bench reads.
'use strict';
const { writeSync } = require('node:fs');

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  try {
    writeSync(3, `${JSON.stringify({ cpu_us: user + system, max_rss_kb: process.resourceUsage().maxRSS })}\n`);
  } catch {
    // fd 3 not open: started by something other than the bench
  }
});
