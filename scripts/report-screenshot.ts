// `npm run report:screenshot`: a PNG of the report for the README. Crawls a simulated DHT into a
// temporary database with the built CLI, makes the report, and has headless Chromium draw it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openInChromium } from '../test/support/browser.js';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'report.png'));
const dir = mkdtempSync(join(tmpdir(), 'bitscrape-report-'));
try {
  const cli = (args: string[]): void => {
    execFileSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1' } });
  };
  const db = join(dir, 'crawl.db');
  cli(['crawl', '--testnet', '5000', '--seed', '7', '--db', db]);
  const html = join(dir, 'report.html');
  cli(['report', '--db', db, '-o', html]);
  const page = await openInChromium(pathToFileURL(html).href, { width: 1280 });
  try {
    if (page.problems.length > 0) throw new Error(`the report page logged errors: ${JSON.stringify(page.problems)}`);
    writeFileSync(out, await page.screenshot());
  } finally {
    await page.close();
  }
  process.stderr.write(`wrote ${out}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
