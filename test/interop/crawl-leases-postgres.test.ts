// Four `crawl --leases` processes sharing one PostgreSQL database, on a network of real libtorrent
// 2.0.8 nodes on 127.0.0.1, each crawler bound to an address of its own (127.0.0.2 … 127.0.0.5),
// as crawlers side by side on one machine run: libtorrent answers each of them, together they
// find every infohash the network holds, each exits 0, and the lease table shows every range of
// the pass walked once, by one of them.
//
// A pass over 40 nodes takes seconds, less than four CLIs take to start on a loaded machine: a
// crawler starting last could find the pass done (and exit 1, nothing to crawl). So the test
// starts the pass itself and holds every range until the four are connected and waiting, then
// hands the ranges back; the crawlers poll every third of --lease (3 s) and share out the pass.
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/core/store/index.js';
import { ndjson, startCli, tempHome } from '../support/cli.js';
import { freshDatabase, sql } from '../support/postgres-db.js';
import { useLibtorrentNetwork } from './harness/shared.js';

const CRAWLERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const RANGES = 64;
const LEASE_MS = 9_000;

interface Summary {
  nodes_answered_sample: number;
  leases: { passes: number[]; ranges_done: number; ranges_taken_over: number; end: string };
}

describe('four crawlers with --leases on one PostgreSQL, against libtorrent', () => {
  const net = useLibtorrentNetwork({ nodes: 40, infohashes: 120 });

  it('each on its own 127.x address: together they find every infohash, each exits 0, no range walked twice', async () => {
    const { state } = net();
    const url = await freshDatabase();
    const boot = state.nodes[5];
    // the pass, every range held by the test (its connections named apart from the crawlers')
    const asTest = `${url}?application_name=bitscrape-test`;
    const gate = await PostgresStore.open(asTest);
    const pass = await gate.currentPass(RANGES, 0, Date.now());
    expect(pass?.pass).toBe(1);
    for (let r = 0; r < RANGES; r++) expect(await gate.claimRange('test', 1, 3_600_000, Date.now())).toMatchObject({ range: r });
    await gate.close();

    const crawlers = CRAWLERS.map((host) =>
      startCli(
        ['crawl', '--bind', host, '--bootstrap', `${boot.host}:${boot.port}`, '--fresh', '--json', '--leases', '--ranges', String(RANGES), '--lease', `${LEASE_MS / 1000}s`, '--duration', '150s', '--db', url],
        { home: tempHome(), timeoutMs: 240_000 },
      ),
    );
    // each waiting crawler polls on one connection of its own
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [{ n }] = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bitscrape'");
      if (Number(n) >= CRAWLERS.length) break;
      const exited = crawlers.find((c) => c.child.exitCode !== null);
      if (exited) throw new Error(`a crawler exited while the ranges were held: ${exited.stderr()}`);
      if (Date.now() > deadline) throw new Error(`only ${n} crawlers connected within 120 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const release = await PostgresStore.open(asTest);
    for (let r = 0; r < RANGES; r++) await release.releaseRange('test', 1, r);
    await release.close();
    const results = await Promise.all(crawlers.map((c) => c.exited));
    const summaries = results.map((r, i) => {
      expect(r.code, `${CRAWLERS[i]}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stderr.trim().split('\n').pop()!) as Summary;
    });

    // libtorrent nodes on 127.0.0.1 (the only nodes there are) answered every crawler on its own
    // address (summed over its ranges; the summary's client table is its last range's)
    for (const [i, s] of summaries.entries()) {
      expect(s.leases.end, CRAWLERS[i]).toBe('pass_done');
      expect(s.nodes_answered_sample, CRAWLERS[i]).toBeGreaterThan(0);
    }
    // every infohash the network holds, found by one crawler or another, and stored
    const found = new Set(results.flatMap((r) => ndjson(r.stdout).map((x) => x.infohash as string)));
    const missing = state.infohashes.map((ih) => ih.info_hash).filter((ih) => !found.has(ih));
    expect(missing, `missing ${missing.length} of ${state.infohashes.length}`).toEqual([]);
    const [stored] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM infohashes');
    expect(Number(stored.n)).toBe(found.size);

    // the lease table: one pass, every range done once by one owner, none taken over; the
    // crawlers' own counts add up to it
    const leases = await sql<{ pass: number; range: number; state: string; owner: string }>(url, 'SELECT pass, range, state, owner FROM leases ORDER BY range');
    expect(leases.map((l) => [l.pass, l.range, l.state])).toEqual(Array.from({ length: RANGES }, (_, r) => [1, r, 'done']));
    const owners = new Map<string, number>();
    for (const l of leases) owners.set(l.owner, (owners.get(l.owner) ?? 0) + 1);
    const byNumber = (a: number, b: number): number => a - b;
    expect([...owners.values()].sort(byNumber)).toEqual(summaries.map((s) => s.leases.ranges_done).filter((n) => n > 0).sort(byNumber));
    expect(summaries.reduce((n, s) => n + s.leases.ranges_done, 0)).toBe(RANGES);
    expect(summaries.reduce((n, s) => n + s.leases.ranges_taken_over, 0)).toBe(0);
    // and from the network's side: no node answered sample_infohashes in two ranges
    expect(summaries.reduce((n, s) => n + s.nodes_answered_sample, 0)).toBeLessThanOrEqual(state.nodes.length);
  }, 400_000);
});
