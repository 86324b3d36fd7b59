// crawl over IPv6 (BEP 32) against real libtorrent: an IPv6-only network on [::1], and a
// dual-stack one (every node on 127.0.0.1 and [::1]) crawled with --family both.
import { describe, expect, it } from 'vitest';
import { ndjson, runCli, tempHome } from '../support/cli.js';
import { nodesOf, useLibtorrentNetwork } from './harness/shared.js';

describe('crawl over IPv6 against libtorrent', () => {
  const net = useLibtorrentNetwork({ nodes: 20, infohashes: 40, ipv6: true, ipv4: false });

  it('--bootstrap [::1]:P finds every infohash of an IPv6-only network', async () => {
    const { state, bootstrap } = net();
    const home = tempHome();
    const r = await runCli(['crawl', '--bootstrap', bootstrap[0], '--json', '--duration', '90s'], { home, timeoutMs: 130_000 });
    expect(r.code, r.stderr).toBe(0);
    const found = new Set(ndjson(r.stdout).map((x) => x.infohash as string));
    const missing = state.infohashes.map((ih) => ih.info_hash).filter((ih) => !found.has(ih));
    expect(missing, `missing ${missing.length}`).toEqual([]);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(Object.keys(summary.by_family)).toEqual(['6']);
    expect(summary.nodes_answered_sample, r.stderr.trim().split('\n').pop()).toBeGreaterThanOrEqual(18);
    expect(summary.clients['LT 2.0.8']).toBeGreaterThan(0);
  }, 140_000);
});

describe('crawl --family both against dual-stack libtorrent', () => {
  const net = useLibtorrentNetwork({ nodes: 16, infohashes: 30, ipv6: true });

  it('walks both families into one database, each infohash printed once', async () => {
    const { state } = net();
    const v4 = nodesOf(state, 'v4')[0];
    const home = tempHome();
    // one IPv4 router: the IPv6 side is found through it (find_node with want n6)
    const r = await runCli(['crawl', '--family', 'both', '--bootstrap', `${v4.host}:${v4.port}`, '--json', '--duration', '90s'], { home, timeoutMs: 130_000 });
    expect(r.code, r.stderr).toBe(0);
    const printed = ndjson(r.stdout).map((x) => x.infohash as string);
    expect(new Set(printed).size).toBe(printed.length);
    const missing = state.infohashes.map((ih) => ih.info_hash).filter((ih) => !printed.includes(ih));
    expect(missing, `missing ${missing.length}`).toEqual([]);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.by_family['4'].nodes_answered_sample).toBeGreaterThanOrEqual(14);
    expect(summary.by_family['6'].nodes_answered_sample).toBeGreaterThanOrEqual(14);
    const db = ndjson((await runCli(['db', 'stats', '--json'], { home })).stdout)[0];
    expect(db.infohashes).toBe(printed.length);
  }, 140_000);
});
