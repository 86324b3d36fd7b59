// Preloaded (`node --require`) into every process bench/startup.ts times: at exit, writes the
// process's own CPU time (user + system µs, start-up included) to fd 3, which the bench reads.
// Wall time on a shared machine swings with the load; CPU time barely does.
'use strict';
const { writeSync } = require('node:fs');

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  try {
    writeSync(3, `${user + system}\n`);
  } catch {
    // fd 3 not open: started by something other than the bench
  }
});
