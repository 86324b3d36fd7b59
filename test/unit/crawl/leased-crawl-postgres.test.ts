// The leased-crawl scenario (test/support/leased-scenario.ts) on a real PostgreSQL database:
// four crawlers on one simulated world, each with its own connection pool, share a pass; one is
// killed mid-range (its engines stop, its connections are terminated without a goodbye) and the
// others finish its ranges once its leases expire, with nothing it printed lost.
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../../src/core/store/index.js';
import { fourCrawlersKillOne, KILLED } from '../../support/leased-scenario.js';
import { freshDatabase, sql } from '../../support/postgres-db.js';

describe('leased crawl on a simulated world, one PostgreSQL database', () => {
  it('four crawlers find what one finds, about one query per node, and finish a killed crawler\'s ranges', async () => {
    const url = await freshDatabase();
    const nameOf = (i: number): string => `crawler${i}`;
    // each crawler its own pool, named so that the kill can find its connections
    const stores = await Promise.all([0, 1, 2, 3].map((i) => PostgresStore.open(`${url}?application_name=${nameOf(i)}`)));
    let terminated = 0;
    try {
      const out = await fourCrawlersKillOne(
        {
          storeFor: (i) => stores[i],
          cutOff: async (i) => {
            const rows = await sql<{ pid: number }>(url, 'SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE application_name = $1', [nameOf(i)]);
            terminated = rows.length;
            await stores[i].close().catch(() => undefined);
          },
        },
        { nodes: 20_000, seed: 5, ranges: 16, concurrency: 64, leaseMs: 60_000 },
      );
      expect(out.killedMidRange).toBe(true);
      expect(terminated).toBeGreaterThan(0);
      const [pass] = await sql<{ ranges: number; done: string; active: string }>(
        url,
        "SELECT p.ranges, count(*) FILTER (WHERE l.state = 'done') AS done, count(*) FILTER (WHERE l.state = 'active') AS active FROM passes p JOIN leases l USING (pass) WHERE p.pass = 1 GROUP BY p.ranges",
      );
      expect(pass).toEqual({ ranges: 16, done: '16', active: '0' });
      // the killed crawler's leases expired and the others took its ranges over
      expect(out.results.reduce((n, r) => n + r.rangesTakenOver, 0)).toBeGreaterThanOrEqual(1);
      expect(out.results.every((r) => r.end === 'pass_done')).toBe(true);
      const owners = await sql<{ owner: string }>(url, "SELECT DISTINCT owner FROM leases WHERE pass = 1 AND state = 'done'");
      expect(owners.map((r) => r.owner)).not.toContain(`crawler-${KILLED}`);

      // together they find what one crawler finds, about once per node
      expect(out.shared.recall.infohash_recall).toBeGreaterThanOrEqual(out.alone.recall.infohash_recall - 0.03);
      expect(out.shared.traffic.queries_per_distinct_node).toBeLessThanOrEqual(out.alone.traffic.queries_per_distinct_node * 1.1);
      // each infohash printed as new once overall; everything the killed crawler printed is stored
      expect(new Set(out.printedNew).size).toBe(out.printedNew.length);
      expect(out.printedByKilled.length).toBeGreaterThan(0);
      const [stored] = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM infohashes WHERE encode(infohash, 'hex') = ANY($1)", [out.printedByKilled]);
      expect(Number(stored.n)).toBe(out.printedByKilled.length);
      const [all] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM infohashes');
      expect(Number(all.n)).toBe(out.found.size);
    } finally {
      for (const s of stores) await s.close().catch(() => undefined);
    }
  }, 600_000);
});
