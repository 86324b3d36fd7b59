// crawl over IPv6 (BEP 32) against real bitscrape nodes: a testnet bound to ::1, and for
// --family both a second one on 127.0.0.1 with the same seed (the same ids and infohashes: a
// dual-stack network whose two halves hold the same content).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { formatEndpoint } from '../../src/core/net/address.js';
import { hasIPv6Loopback } from '../support/ipv6.js';
import { ndjson, runCli, tempHome } from '../support/cli.js';

const v6 = await hasIPv6Loopback();
const NODES = 30;
const INFOHASHES = 24;

describe.runIf(v6)('crawl over IPv6 loopback', () => {
  let net6: Testnet;
  let net4: Testnet;
  let truth: string[];
  const boot = (net: Testnet): string => formatEndpoint(net.bootstrap.host, net.bootstrap.port);

  beforeAll(async () => {
    net6 = await Testnet.start({ nodes: NODES, infohashes: INFOHASHES, seed: 61, host: '::1', maintenanceMs: 0 });
    net4 = await Testnet.start({ nodes: NODES, infohashes: INFOHASHES, seed: 61, host: '127.0.0.1', maintenanceMs: 0 });
    truth = net6.state().infohashes.map((ih) => ih.infohash).sort();
  }, 120_000);

  afterAll(async () => {
    await net6?.close();
    await net4?.close();
  });

  it('--bootstrap [::1]:P crawls the IPv6 DHT and finds every infohash', async () => {
    const home = tempHome();
    const r = await runCli(['crawl', '--bootstrap', boot(net6), '--json', '--duration', '60s', '--timeout', '5s'], { home, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const printed = ndjson(r.stdout).map((x) => x.infohash as string);
    expect(printed.sort()).toEqual(truth);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ summary: 'crawl', stopped_by: 'done', nodes_answered_sample: NODES });
    expect(Object.keys(summary.by_family)).toEqual(['6']);
    expect(ndjson(r.stdout).every((x) => (x.source_addr as string).startsWith('[::1]:'))).toBe(true);
    const db = ndjson((await runCli(['db', 'stats', '--json'], { home })).stdout)[0];
    expect(db.infohashes).toBe(INFOHASHES);
  }, 120_000);

  it('--family both walks both networks into one database, each infohash printed once', async () => {
    const home = tempHome();
    const r = await runCli(['crawl', '--family', 'both', '--bootstrap', boot(net4), '--bootstrap', boot(net6), '--json', '--duration', '60s', '--timeout', '5s'], { home, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const printed = ndjson(r.stdout).map((x) => x.infohash as string);
    expect(printed.sort()).toEqual(truth);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.stopped_by).toBe('done');
    expect(summary.by_family['4']).toMatchObject({ stopped_by: 'done', nodes_answered_sample: NODES });
    expect(summary.by_family['6']).toMatchObject({ stopped_by: 'done', nodes_answered_sample: NODES });
    expect(summary.by_family['4'].unique_infohashes + summary.by_family['6'].unique_infohashes).toBe(INFOHASHES);
    expect(summary.nodes_answered).toBe(2 * NODES);
    const db = ndjson((await runCli(['db', 'stats', '--json'], { home })).stdout)[0];
    expect(db.infohashes).toBe(INFOHASHES);
    expect(db.bep51_nodes).toBe(2 * NODES);
  }, 120_000);

  it('a family without a socket is one line and exit 2', async () => {
    const r = await runCli(['crawl', '--family', '6', '--bind', '127.0.0.1', '--bootstrap', boot(net4), '--no-db']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['crawl: --family 6: no IPv6 socket is bound (see --bind)']);
  });
});

describe('crawl --testnet --family', () => {
  it('simulates a dual-stack DHT for both and an IPv6 one for 6, and reports recall over what those reach', async () => {
    const both = await runCli(['crawl', '--testnet', '800', '--family', 'both', '--json'], { timeoutMs: 90_000 });
    expect(both.code, both.stderr).toBe(0);
    const s = JSON.parse(both.stderr.trim().split('\n').pop()!);
    expect(Object.keys(s.by_family)).toEqual(['4', '6']);
    expect(s.by_family['6'].nodes_answered_sample).toBeGreaterThan(0);
    expect(s.recall.infohash_recall).toBeGreaterThanOrEqual(0.9);
    expect(ndjson(both.stdout)).toHaveLength(s.unique_infohashes);

    const six = await runCli(['crawl', '--testnet', '500', '--family', '6', '--json'], { timeoutMs: 90_000 });
    expect(six.code, six.stderr).toBe(0);
    const s6 = JSON.parse(six.stderr.trim().split('\n').pop()!);
    expect(Object.keys(s6.by_family)).toEqual(['6']);
    expect(s6.recall.infohash_recall).toBeGreaterThanOrEqual(0.9);
    expect(ndjson(six.stdout).every((r) => (r.source_addr as string).startsWith('[fd00::'))).toBe(true);
  }, 120_000);
});
