// Crawlers sharing one PostgreSQL database with --leases, on a loopback network of real
// bitscrape nodes: the ranges of the pass are split between them, each infohash is printed as new
// once overall, and together they find what one crawler finds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli, startCli, tempHome } from '../support/cli.js';
import { freshDatabase, sql } from '../support/postgres-db.js';

describe('crawl --leases on one PostgreSQL', () => {
  let net: Testnet;
  beforeAll(async () => {
    net = await Testnet.start({ nodes: 16, infohashes: 400, seed: 7, fillMsPerNode: 1000 });
  }, 120_000);
  afterAll(() => net?.close());

  it('three crawlers split the pass; every range is done once; what they print as new is what one crawler finds', async () => {
    const common = ['--bootstrap', net.state().bootstrap, '--fresh', '--json', '--min-interval', '0', '--leases', '--ranges', '8', '--lease', '20s'];
    const alone = await runCli(['crawl', ...common, '--db', await freshDatabase()], { home: tempHome(), timeoutMs: 120_000 });
    expect(alone.code, alone.stderr).toBe(0);
    const aloneFound = new Set(ndjson(alone.stdout).map((r) => r.infohash as string));
    expect(aloneFound.size).toBeGreaterThan(300);

    const url = await freshDatabase();
    const crawlers = [0, 1, 2].map(() => startCli(['crawl', ...common, '--db', url, '--only-new'], { home: tempHome(), timeoutMs: 120_000 }));
    const results = await Promise.all(crawlers.map((c) => c.exited));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      // a fresh range is announced by its lease line, not by a --resume note about the whole database
      expect(r.stderr).not.toMatch(/--resume/);
    }
    const printed = results.flatMap((r) => ndjson(r.stdout).map((x) => x.infohash as string));
    // each new infohash printed once overall
    expect(new Set(printed).size).toBe(printed.length);
    expect(printed.length).toBeGreaterThanOrEqual(aloneFound.size * 0.95);
    const summaries = results.map((r) => JSON.parse(r.stderr.trim().split('\n').pop()!) as { leases: { ranges_done: number; end: string } });
    expect(summaries.reduce((n, s) => n + s.leases.ranges_done, 0)).toBe(8);
    for (const s of summaries) expect(s.leases.end).toBe('pass_done');
    const [pass] = await sql<{ done: string }>(url, "SELECT count(*) FILTER (WHERE state = 'done') AS done FROM leases WHERE pass = 1");
    expect(Number(pass.done)).toBe(8);
    const [stored] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM infohashes');
    expect(Number(stored.n)).toBe(printed.length);
  }, 240_000);

  it('--shard and --leases are checked: one line, exit 2', async () => {
    const home = tempHome();
    for (const args of [['--shard', '3/3'], ['--shard', '4/4'], ['--leases', '--no-db'], ['--leases', '--ranges', '6', '--db', `${home}/x.db`]]) {
      const r = await runCli(['crawl', '--testnet', '100', ...args], { home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 120_000);
});
