import { describe, expect, it } from 'vitest';
import { ScrapeBloom } from '../../../src/core/dht/bloom.js';
import { getPeers } from '../../../src/core/dht/lookup.js';
import { idToHex } from '../../../src/core/dht/node-id.js';
import type { Endpoint, KrpcEngine, QueryOptions, QueryOutcome } from '../../../src/core/net/krpc-types.js';
import { scrapeInfohash, scrapeMany, type ScrapeClient } from '../../../src/core/scrape/scrape-many.js';
import type { BEncodable, PeerInfo } from '../../../src/core/wire/types.js';
import { FakeNetwork, prng, randomBytesFrom, type FakeEngine, type FakeNode } from '../../support/fake-engine.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { runUntilSettled } from '../../support/virtual-time.js';

/** How a storing node answers get_peers with scrape=1. */
type Style = 'libtorrent' | 'mldht' | 'no-bep33';

/**
 * The lookup tests' fake network, with storers that answer BEP 33 like real clients: real
 * filters built from the stored IPs, and libtorrent's habit of sending them instead of values.
 */
class Bep33Engine implements KrpcEngine {
  constructor(
    private readonly inner: FakeEngine,
    private readonly net: FakeNetwork,
    private readonly styleOf: (n: FakeNode) => Style,
  ) {}
  get id(): Uint8Array {
    return this.inner.id;
  }
  get counters() {
    return this.inner.counters;
  }
  get inFlight(): number {
    return this.inner.inFlight;
  }
  get sent() {
    return this.inner.sent;
  }
  async query(to: Endpoint, method: string, args: { [key: string]: BEncodable | undefined }, opts?: QueryOptions): Promise<QueryOutcome> {
    const out = await this.inner.query(to, method, args, opts);
    const node = this.net.find(to);
    if (!out.ok || method !== 'get_peers' || !node) return out;
    const r = out.msg.r;
    delete r.BFsd;
    delete r.BFpe;
    const stored = node.peers.get(idToHex(args.info_hash as Uint8Array));
    if (!stored || !args.scrape) return out;
    const style = this.styleOf(node);
    if (style === 'no-bep33') return out;
    const seeds = new ScrapeBloom();
    const downloaders = new ScrapeBloom();
    for (const [p, seed] of stored) (seed ? seeds : downloaders).insertIp(p.host);
    r.BFsd = seeds.bits;
    r.BFpe = downloaders.bits;
    if (style === 'libtorrent') delete r.values;
    return out;
  }
  onQuery(): void {}
  onMalformedQuery(): void {}
  onResponse(): void {}
  respond(): void {}
  respondError(): void {}
  sendRaw(): void {}
  async close(): Promise<void> {}
}

const peer = (host: string, port: number): PeerInfo => ({ host, port, family: 4 });
const SWARM: Array<[PeerInfo, boolean]> = [
  [peer('10.1.0.1', 6881), true],
  [peer('10.1.0.2', 6881), true],
  [peer('10.1.0.3', 51413), true],
  [peer('10.2.0.1', 6881), false],
  [peer('10.2.0.2', 6882), false],
];

function setup(styleOf: (n: FakeNode) => Style, seed = 11) {
  const clock = new VirtualClock();
  const net = new FakeNetwork(clock, { size: 300, seed });
  const inner = net.engine(randomBytesFrom(prng(seed + 1), 20));
  const engine = new Bep33Engine(inner, net, styleOf);
  const bootstrap = [{ host: net.nodes[0].host, port: net.nodes[0].port }];
  const client: ScrapeClient = {
    engine,
    clock,
    getPeers: (infohash, extra = {}) => getPeers({ engine, clock, target: infohash, bootstrap, ...extra }),
  };
  return { clock, net, engine, client };
}

describe('scrapeInfohash', () => {
  it('libtorrent storers: estimates 3 seeders / 2 leechers and fetches values from those nodes only', async () => {
    const { clock, net, engine, client } = setup(() => 'libtorrent');
    const ih = randomBytesFrom(prng(5), 20);
    const holders = net.storePeers(ih, SWARM);
    const r = await runUntilSettled(clock, scrapeInfohash(client, ih));

    expect(Math.abs(r.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(r.leechers - 2)).toBeLessThan(0.5);
    expect(r.nodesWithFilters).toBeGreaterThanOrEqual(6);
    expect(r.nodesAnswered).toBeGreaterThanOrEqual(8);
    expect(r.peers.map((p) => `${p.host}:${p.port}`).sort()).toEqual(SWARM.map(([p]) => `${p.host}:${p.port}`).sort());

    // The scrape lookup carries scrape=1; the follow-ups are plain get_peers to storers only.
    const scrapeQueries = engine.sent.filter((q) => q.method === 'get_peers' && q.args.scrape === 1);
    const plain = engine.sent.filter((q) => q.method === 'get_peers' && q.args.scrape === undefined);
    expect(scrapeQueries.length + plain.length).toBe(engine.sent.length);
    expect(plain.length).toBe(r.valueQueries);
    // Every storer holds the whole swarm: the first wave of two covers it.
    expect(plain.length).toBe(2);
    const holderKeys = new Set(holders.map((h) => `${h.host}:${h.port}`));
    for (const q of plain) {
      expect(holderKeys.has(`${q.to.host}:${q.to.port}`)).toBe(true);
      expect(q.opts.expectId).toBeInstanceOf(Uint8Array);
    }
    // Not a second lookup: each storer is asked again at most once.
    expect(new Set(plain.map((q) => `${q.to.host}:${q.to.port}`)).size).toBe(plain.length);
    expect(r.queries).toBe(engine.sent.length);
    expect(r.valueReplies).toBe(plain.length);
  });

  it('storers holding different parts of the swarm: follow-ups go on, nearest first, until the filters are covered', async () => {
    const { clock, net, engine, client } = setup(() => 'libtorrent');
    const ih = randomBytesFrom(prng(12), 20);
    const holders = net.storePeers(ih, SWARM);
    // Each storer knows a single peer (as if each announcer reached one node), cycling.
    holders.forEach((h, i) => h.peers.set(idToHex(ih), [SWARM[i % SWARM.length]]));
    const r = await runUntilSettled(clock, scrapeInfohash(client, ih));
    expect(Math.abs(r.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(r.leechers - 2)).toBeLessThan(0.5);
    expect(r.peers).toHaveLength(5);
    expect(r.valueQueries).toBeGreaterThanOrEqual(5);
    expect(r.valueQueries).toBeLessThanOrEqual(8);
    const plain = engine.sent.filter((q) => q.method === 'get_peers' && q.args.scrape === undefined);
    expect(plain).toHaveLength(r.valueQueries);
    // Nearest storer first.
    const order = holders.map((h) => `${h.host}:${h.port}`);
    const asked = plain.map((q) => `${q.to.host}:${q.to.port}`);
    const askedHolders = order.filter((k) => asked.includes(k));
    expect(askedHolders).toEqual(order.slice(0, askedHolders.length));
  });

  it('mldht storers send values with the filters: no follow-up queries', async () => {
    const { clock, net, engine, client } = setup(() => 'mldht');
    const ih = randomBytesFrom(prng(6), 20);
    net.storePeers(ih, SWARM);
    const r = await runUntilSettled(clock, scrapeInfohash(client, ih));
    expect(r.valueQueries).toBe(0);
    expect(engine.sent.every((q) => q.args.scrape === 1)).toBe(true);
    expect(Math.abs(r.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(r.leechers - 2)).toBeLessThan(0.5);
    expect(r.peers).toHaveLength(5);
  });

  it('storers without BEP 33: their peers count as leechers; mixed with filters, known seeds are not', async () => {
    {
      const { clock, net, client } = setup(() => 'no-bep33');
      const ih = randomBytesFrom(prng(7), 20);
      net.storePeers(ih, SWARM);
      const r = await runUntilSettled(clock, scrapeInfohash(client, ih));
      expect(r.nodesWithFilters).toBe(0);
      expect(r.seeders).toBe(0);
      expect(Math.abs(r.leechers - 5)).toBeLessThan(0.5);
      expect(r.valueQueries).toBe(0);
    }
    {
      let i = 0;
      const styles = new Map<FakeNode, Style>();
      const { clock, net, client } = setup((n) => {
        if (!styles.has(n)) styles.set(n, i++ % 2 === 0 ? 'libtorrent' : 'no-bep33');
        return styles.get(n)!;
      });
      const ih = randomBytesFrom(prng(8), 20);
      net.storePeers(ih, SWARM);
      const r = await runUntilSettled(clock, scrapeInfohash(client, ih));
      expect(r.nodesWithFilters).toBeGreaterThan(0);
      expect(Math.abs(r.seeders - 3)).toBeLessThan(0.5);
      expect(Math.abs(r.leechers - 2)).toBeLessThan(0.5);
    }
  });

  it.each(['libtorrent', 'mldht'] as const)('%s storers: port-0 and bogon peers are dropped and counted, in the lookup and the follow-ups', async (style) => {
    const { clock, net, engine } = setup(() => style);
    const bootstrap = [{ host: net.nodes[0].host, port: net.nodes[0].port }];
    const allowPeer = (host: string, port: number): boolean => port > 0 && host !== '0.0.0.0' && !host.startsWith('224.');
    const client: ScrapeClient = {
      engine,
      clock,
      allowPeer,
      getPeers: (infohash, extra = {}) => getPeers({ engine, clock, target: infohash, bootstrap, allowPeer, ...extra }),
    };
    const ih = randomBytesFrom(prng(13), 20);
    const bad: Array<[PeerInfo, boolean]> = [
      [peer('10.1.0.9', 0), false],
      [peer('0.0.0.0', 6881), true],
      [peer('224.0.0.1', 6881), false],
    ];
    net.storePeers(ih, [...SWARM, ...bad]);
    const r = await runUntilSettled(clock, scrapeInfohash(client, ih));
    expect(r.peers.map((p) => `${p.host}:${p.port}`).sort()).toEqual(SWARM.map(([p]) => `${p.host}:${p.port}`).sort());
    expect(r.droppedPeers).toBe(bad.length);
    // libtorrent storers send no values with scrape=1: only the follow-ups saw the bad peers.
    if (style === 'libtorrent') expect(r.valueQueries).toBeGreaterThan(0);
    else expect(r.valueQueries).toBe(0);
  });

  it('an infohash nobody stores: zero estimates, zero peers, nodes still answered', async () => {
    const { clock, engine, client } = setup(() => 'libtorrent');
    const r = await runUntilSettled(clock, scrapeInfohash(client, randomBytesFrom(prng(9), 20)));
    expect(r).toMatchObject({ seeders: 0, leechers: 0, peers: [], nodesWithFilters: 0, valueQueries: 0 });
    expect(r.nodesAnswered).toBeGreaterThanOrEqual(8);
    expect(engine.sent.every((q) => q.args.scrape === 1)).toBe(true);
  });

  it('maxValueFetches bounds (or turns off) the follow-ups', async () => {
    const { clock, net, client } = setup(() => 'libtorrent');
    const ih = randomBytesFrom(prng(10), 20);
    net.storePeers(ih, SWARM);
    const two = await runUntilSettled(clock, scrapeInfohash(client, ih, { maxValueFetches: 2 }));
    expect(two.valueQueries).toBe(2);
    const none = await runUntilSettled(clock, scrapeInfohash(client, ih, { maxValueFetches: 0 }));
    expect(none.valueQueries).toBe(0);
    expect(none.peers).toEqual([]);
    expect(Math.abs(none.seeders - 3)).toBeLessThan(0.5);
  });
});

describe('scrapeMany', () => {
  it('scrapes every infohash with bounded concurrency and yields one result each', async () => {
    const { clock, net, engine, client } = setup(() => 'libtorrent');
    const hashes = Array.from({ length: 10 }, (_, i) => randomBytesFrom(prng(100 + i), 20));
    hashes.slice(0, 5).forEach((ih) => net.storePeers(ih, SWARM));
    let lookups = 0;
    let peak = 0;
    const counting: ScrapeClient = {
      engine,
      clock,
      getPeers: async (ih, extra) => {
        peak = Math.max(peak, ++lookups);
        try {
          return await client.getPeers(ih, extra);
        } finally {
          lookups--;
        }
      },
    };
    const collect = async () => {
      const out = [];
      for await (const r of scrapeMany(counting, hashes, { concurrency: 3 })) out.push(r);
      return out;
    };
    const results = await runUntilSettled(clock, collect());
    expect(results.map((r) => idToHex(r.infohash)).sort()).toEqual(hashes.map(idToHex).sort());
    for (const r of results) {
      const stored = hashes.slice(0, 5).some((h) => idToHex(h) === idToHex(r.infohash));
      expect(r.peers.length).toBe(stored ? 5 : 0);
      expect(Math.round(r.seeders)).toBe(stored ? 3 : 0);
    }
    expect(peak).toBe(3);
  });
});
