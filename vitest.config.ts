import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/support/slow-first-sequencer.js';

// Every test refuses non-loopback destinations (docs/architecture.md, "Tests set BITSCRAPE_LOOPBACK_ONLY").
process.env.BITSCRAPE_LOOPBACK_ONLY = '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'plugins/*/test/**/*.test.ts'],
    environment: 'node',
    // Generous: CLI tests start several processes, and the suite must pass on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files wait on real timeouts and child processes rather than the CPU, so four at once
    // fit a 2-core machine (vitest's default, cores - 1, would run them one after another).
    // Interop files that start libtorrent networks reserve their own port blocks (harness/ports.ts).
    maxWorkers: 4,
    sequence: { sequencer: SlowFirstSequencer },
    env: { BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1' },
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
  },
});
