import { defineConfig } from 'vitest/config';

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
    env: { BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1' },
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
  },
});
