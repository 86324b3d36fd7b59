// Four `crawl --leases` processes sharing one PostgreSQL database, on a network of real libtorrent
// 2.0.8 nodes on 127.0.0.1, each crawler bound to an address of its own (127.0.0.2 … 127.0.0.5),
// as crawlers side by side on one machine run: libtorrent answers each of them, together they
// find every infohash the network holds, each exits 0, and the lease table shows every range of
// the pass walked once, by one of them.
import { describe, expect, it } from 'vitest';
import { ndjson, startCli, tempHome } from '../support/cli.js';
import { freshDatabase, sql } from '../support/postgres-db.js';
import { useLibtorrentNetwork } from './harness/shared.js';

const CRAWLERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const RANGES = 16;

interface Summary {
  nodes_answered_sample: number;
  clients: Record<string, number>;
  leases: { passes: number[]; ranges_done: number; ranges_taken_over: number; end: string };
}

describe('four crawlers with --leases on one PostgreSQL, against libtorrent', () => {
  const net = useLibtorrentNetwork({ nodes: 40, infohashes: 120 });

  it('each on its own 127.x address: together they find every infohash, each exits 0, no range walked twice', async () => {
    const { state } = net();
    const url = await freshDatabase();
    const boot = state.nodes[5];
    const crawlers = CRAWLERS.map((host) =>
      startCli(
        ['crawl', '--bind', host, '--bootstrap', `${boot.host}:${boot.port}`, '--fresh', '--json', '--leases', '--ranges', String(RANGES), '--lease', '30s', '--duration', '150s', '--db', url],
        { home: tempHome(), timeoutMs: 200_000 },
      ),
    );
    const results = await Promise.all(crawlers.map((c) => c.exited));
    const summaries = results.map((r, i) => {
      expect(r.code, `${CRAWLERS[i]}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stderr.trim().split('\n').pop()!) as Summary;
    });

    // libtorrent nodes on 127.0.0.1 answered every crawler on its own address
    for (const [i, s] of summaries.entries()) {
      expect(s.leases.end, CRAWLERS[i]).toBe('pass_done');
      expect(s.clients['LT 2.0.8'], CRAWLERS[i]).toBeGreaterThan(0);
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
  }, 300_000);
});
