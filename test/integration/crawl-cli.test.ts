// The crawl, sample and db commands offline: the simulated testnet and the database.
import { describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli, tempHome } from '../support/cli.js';

describe('crawl --testnet', () => {
  it('prints each infohash once as NDJSON and a summary with recall on stderr', async () => {
    const r = await runCli(['crawl', '--testnet', '400', '--json', '--seed', '5']);
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    const ids = recs.map((x) => x.infohash as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rec of recs) {
      expect(rec.infohash).toMatch(/^[0-9a-f]{40}$/);
      expect(rec.source_addr).toMatch(/^10\.\d+\.\d+\.\d+:\d+$/);
      expect(Number.isNaN(Date.parse(rec.first_seen as string))).toBe(false);
      expect(rec.in_db_before).toBe(false);
    }
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.testnet).toBe(true);
    expect(summary.recall.infohash_recall).toBeGreaterThanOrEqual(0.98);
    expect(summary.unique_infohashes).toBe(ids.length);
  });

  it('writes to --db, and a second crawl with --only-new prints nothing new', async () => {
    const home = tempHome();
    const db = join(home, 'x.db');
    const first = await runCli(['crawl', '--testnet', '200', '--json', '--db', db, '--seed', '2'], { home });
    expect(first.code, first.stderr).toBe(0);
    const n = ndjson(first.stdout).length;
    expect(n).toBeGreaterThan(150);
    const stats = ndjson((await runCli(['db', 'stats', '--db', db, '--json'], { home })).stdout)[0];
    expect(stats.infohashes).toBe(n);
    const second = await runCli(['crawl', '--testnet', '200', '--json', '--db', db, '--seed', '2', '--only-new'], { home });
    expect(second.code, second.stderr).toBe(0);
    expect(ndjson(second.stdout)).toHaveLength(0);
    const list = ndjson((await runCli(['db', 'export', '--db', db, '--limit', '5'], { home })).stdout);
    expect(list).toHaveLength(5);
    expect(list[0].first_seen).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('--max-infohashes stops early; an unknown strategy is one line and exit 2', async () => {
    const r = await runCli(['crawl', '--testnet', '300', '--json', '--max-infohashes', '20']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.stopped_by).toBe('max_infohashes');
    expect(ndjson(r.stdout).length).toBeGreaterThanOrEqual(20);
    const bad = await runCli(['crawl', '--testnet', '100', '--strategy', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/unknown strategy 'nope' \(known: .*keyspace/);
  });

  it('db commands on a missing database are one line and exit 2', async () => {
    const r = await runCli(['db', 'list', '--db', '/nonexistent/crawl.db']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('crawl says why it ended with nothing', () => {
  const lastLine = (stderr: string): string => stderr.trim().split('\n').pop()!;

  it('--max-queries smaller than the bootstrap needs, and --duration that ends during the bootstrap, are named, not "no node answered"', async () => {
    const net = await Testnet.start({ nodes: 8, infohashes: 10, seed: 9, fillMsPerNode: 1000 });
    // a bootstrap node that never answers: the bootstrap waits out its timeouts (2 x 3s)
    const silent = createSocket('udp4');
    silent.on('message', () => undefined);
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const [budget, duration] = await Promise.all([
        runCli(['crawl', '--bootstrap', net.state().bootstrap, '--fresh', '--no-db', '--max-queries', '3', '--json']),
        runCli(['crawl', '--bootstrap', `127.0.0.1:${silent.address().port}`, '--fresh', '--allow-private', '--no-db', '--duration', '1s', '--timeout', '3s', '--json']),
      ]);
      expect(budget.code, budget.stderr).toBe(1);
      expect(lastLine(budget.stderr)).toMatch(/^crawl: the query budget \(--max-queries 3\) ran out during the bootstrap \(\d+ quer(y|ies) sent\); no node was crawled/);
      expect(duration.code, duration.stderr).toBe(1);
      expect(lastLine(duration.stderr)).toMatch(/^crawl: --duration 1s ended during the bootstrap \(\d+ quer(y|ies) sent\); no node was crawled/);
      // the duration counts from the start: the bootstrap's timeouts do not outlast it
      const summary = JSON.parse(duration.stderr.trim().split('\n').find((l) => l.startsWith('{'))!);
      expect(summary.stopped_by).toBe('duration');
      expect(summary.duration_ms).toBeLessThan(2500);
    } finally {
      silent.close();
      await net.close();
    }
  }, 120_000);

  it('--resume with nothing to resume says why: no crawl yet, or the last pass finished', async () => {
    const home = tempHome();
    const db = join(home, 'r.db');
    const first = await runCli(['crawl', '--testnet', '100', '--db', db, '--resume', '--json'], { home });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('crawl: --resume: this database holds no keyspace crawl to resume; starting a new pass');
    const second = await runCli(['crawl', '--testnet', '100', '--db', db, '--resume', '--json'], { home });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/crawl: --resume: the last keyspace crawl of this database finished its pass \(\d{4}-\d\d-\d\dT[^)]+\), so there is nothing to resume; starting a new pass/);
  }, 120_000);
});
