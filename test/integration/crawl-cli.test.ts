// The crawl, sample and db commands offline: the simulated testnet and the database.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
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
