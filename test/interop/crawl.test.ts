// crawl and sample against a real libtorrent network: 50 nodes on distinct loopback addresses
// holding 200 announced infohashes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runCli, tempHome } from '../support/cli.js';
import { datagramLogEnv, maxPerDestinationInWindow, readDatagramLog } from '../support/datagram-log.js';
import { useLibtorrentNetwork } from './harness/shared.js';

describe('crawl against libtorrent', () => {
  const net = useLibtorrentNetwork({ nodes: 50, infohashes: 200, distinctIps: true });

  it('one crawl finds all 200 infohashes, politely', async () => {
    const { state } = net();
    const boot = state.nodes[7];
    const home = tempHome();
    const datagrams = join(home, 'datagrams.json');
    const r = await runCli(['crawl', '--bootstrap', `${boot.host}:${boot.port}`, '--json', '--duration', '120s'], { home, timeoutMs: 170_000, env: datagramLogEnv(datagrams) });
    expect(r.code, r.stderr).toBe(0);
    const found = new Set(ndjson(r.stdout).map((x) => x.infohash as string));
    const truth = state.infohashes.map((ih) => ih.info_hash);
    const missing = truth.filter((ih) => !found.has(ih));
    expect(missing, `missing ${missing.length}`).toEqual([]);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.summary).toBe('crawl');
    expect(summary.nodes_answered_sample).toBeGreaterThanOrEqual(45);
    expect(summary.clients['LT 2.0.8']).toBeGreaterThan(0);
    // Politeness, at every moment and at the socket: at most 5 datagrams to one node within any second
    // (an average over the run would wrongly fail a crawl shorter than a second)
    // (spans under 999.9 ms: the limiter times a send after the socket call, on the clock the log
    // reads; the margin covers only the rounding of its time origin).
    const log = readDatagramLog(datagrams);
    expect(log.length).toBeGreaterThanOrEqual(summary.queries_sent);
    const busiest = maxPerDestinationInWindow(log, 999.9);
    expect(busiest.max, `datagrams to ${busiest.to} within a second`).toBeLessThanOrEqual(5);

    // The database holds what was printed.
    const db = await runCli(['db', 'stats', '--json'], { home });
    const stats = ndjson(db.stdout)[0];
    expect(stats.infohashes).toBe(found.size);
  }, 180_000);

  it('sample reports samples, num and interval of a libtorrent node', async () => {
    const { state } = net();
    const node = state.nodes[3];
    const r = await runCli(['sample', `${node.host}:${node.port}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = ndjson(r.stdout);
    expect(rec.ok).toBe(true);
    expect(rec.supported).toBe(true);
    expect(rec.interval).toBe(0);
    expect(rec.num as number).toBeGreaterThan(0);
    expect(rec.samples_count).toBe(Math.min(20, rec.num as number));
    const all = new Set(state.infohashes.map((ih) => ih.info_hash));
    for (const s of rec.samples as string[]) expect(all.has(s)).toBe(true);
  });
});
