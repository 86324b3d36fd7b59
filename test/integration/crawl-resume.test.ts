// Interrupted crawls: everything printed is in the database, even after kill -9, and --resume
// carries an interrupted traversal on (the simulated world is the same for the same seed).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, ndjson, runCli, tempHome } from '../support/cli.js';
import { SqliteStore } from '../../src/core/store/sqlite-store.js';
import { Testnet } from '../../src/core/dht/udp-testnet.js';

describe('interrupted crawls', () => {
  it('after kill -9, every infohash already printed is in the database', async () => {
    const home = tempHome();
    const db = join(home, 'k.db');
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), 'crawl', '--testnet', '20000', '--json', '--db', db], {
      cwd: ROOT,
      env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 300) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('close', () => resolve());
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const printed = out
      .split('\n')
      .filter((l) => l.endsWith('}'))
      .map((l) => JSON.parse(l).infohash as string);
    expect(printed.length).toBeGreaterThanOrEqual(200); // the kill came after ~300 lines (the last one may be cut off)
    const stored = new Set(ndjson((await runCli(['db', 'export', '--db', db], { home })).stdout).map((r) => r.infohash as string));
    const missing = printed.filter((ih) => !stored.has(ih));
    expect(missing).toEqual([]);
  }, 120_000);

  it('a live crawl killed with SIGKILL a few seconds in can --resume (checkpoints every few seconds)', async () => {
    const net = await Testnet.start({ nodes: 24, infohashes: 60, seed: 8 });
    const home = tempHome();
    const db = join(home, 'live.db');
    const args = ['crawl', '--bootstrap', net.state().bootstrap, '--fresh', '--json', '--db', db];
    // --rate 4: a pass over 24 nodes (lookups included) takes 10 s or more, so the crawl is
    // still running at its first checkpoint
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), ...args, '--rate', '4'], {
      cwd: ROOT,
      env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no record; stderr: ${err}`)), 60_000);
        child.stdout.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const savedState = (): unknown => {
        const store = new SqliteStore(db, { readonly: true });
        try {
          return store.loadState('crawl:keyspace');
        } finally {
          store.close();
        }
      };
      // a checkpoint within seconds of the first record (it used to take a minute)
      const deadline = Date.now() + 30_000;
      while (savedState() === undefined) {
        expect(Date.now() < deadline && child.exitCode === null, `no checkpoint; stderr: ${err}`).toBe(true);
        await new Promise((r) => setTimeout(r, 200));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));

      const resumed = await runCli([...args, '--resume', '--max-queries', '3'], { home, timeoutMs: 60_000 });
      // 1 when what was left of the pass had nobody new to ask within 3 queries
      expect([0, 1], resumed.stderr).toContain(resumed.code);
      const s = JSON.parse(resumed.stderr.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
      expect(s.resumed).toBe(true);
      expect(s.resumed_from.queries_sent).toBeGreaterThan(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await net.close();
    }
  }, 180_000);

  it('--resume continues a traversal that stopped early and finishes it', async () => {
    const home = tempHome();
    const db = join(home, 'r.db');
    const args = ['crawl', '--testnet', '1500', '--seed', '4', '--json', '--db', db];
    const first = await runCli([...args, '--max-queries', '400'], { home });
    expect(first.code, first.stderr).toBe(0);
    const s1 = JSON.parse(first.stderr.trim().split('\n').pop()!);
    expect(s1.stopped_by).toBe('max_queries');
    expect(s1.state_saved).toBe(true);

    const second = await runCli([...args, '--resume'], { home });
    expect(second.code, second.stderr).toBe(0);
    const s2 = JSON.parse(second.stderr.trim().split('\n').pop()!);
    expect(s2.resumed).toBe(true);
    expect(s2.stopped_by).toBe('done');
    // The resumed run did not start over: it needed fewer queries than a whole pass.
    const whole = JSON.parse((await runCli(['crawl', '--testnet', '1500', '--seed', '4', '--json', '--no-db'], { home })).stderr.trim().split('\n').pop()!);
    expect(s2.queries_sent).toBeLessThan(whole.queries_sent);
    // Together the two runs found what one whole pass finds.
    const union = new Set([...ndjson(first.stdout), ...ndjson(second.stdout)].map((r) => r.infohash as string));
    expect(union.size).toBeGreaterThanOrEqual(whole.unique_infohashes * 0.98);
  }, 120_000);
});
