// A crawler whose PostgreSQL goes away mid-run: it stops sending, retries the connection for a
// bounded time (BITSCRAPE_DB_RETRY_MS, 3 s here), then exits 1 with one line; everything it
// printed before is in the database once the server is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startCli } from '../support/cli.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';

describe('a lost database connection', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres({ durable: true });
    const admin = new pg.Client({ connectionString: `${cluster.base}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE lost');
    await admin.end();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('crawl stops, retries for a bounded time, exits 1 with one line; what it printed is stored', async () => {
    const url = `${cluster.base}/lost`;
    const crawl = startCli(['crawl', '--testnet', '20000', '--seed', '9', '--db', url, '--json'], { env: { BITSCRAPE_DB_RETRY_MS: '3000' } });
    await crawl.waitForLine(/"infohash"/, 60_000);
    // a few hundred printed, then the server goes down hard
    const deadline = Date.now() + 30_000;
    while (crawl.stdout().split('\n').length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const crashedAt = Date.now();
    await cluster.crash();
    const r = await crawl.exited;
    const took = Date.now() - crashedAt;
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^crawl: postgres:\/\/bitscrape@127\.0\.0\.1:\d+\/lost: database write failed: lost the connection/);
    expect(r.stderr).not.toContain(cluster.password);
    expect(took).toBeLessThan(30_000);
    const printed = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { infohash: string }).infohash);
    expect(printed.length).toBeGreaterThan(100);

    await cluster.restart();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const stored = new Set((await client.query<{ h: string }>("SELECT encode(infohash, 'hex') AS h FROM infohashes")).rows.map((x) => x.h));
    await client.end();
    for (const ih of printed) expect(stored.has(ih)).toBe(true);
  }, 150_000);
});
