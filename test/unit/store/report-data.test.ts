import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/core/store/index.js';
import { discoveryBucket, log2Bucket } from '../../../src/core/store/report-queries.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 1, 10, 0, 0);

/** An infohash whose first byte is `prefix`, unique by `n`. */
function key(prefix: number, n: number): Uint8Array {
  const b = new Uint8Array(20);
  b[0] = prefix;
  new DataView(b.buffer).setUint32(16, n);
  return b;
}

describe('report data', () => {
  it('buckets discovery per hour with empty hours kept, and counts what came before --since', () => {
    const store = SqliteStore.open(':memory:');
    store.recordInfohashes([
      { infohash: key(1, 1), seenAt: T0 + 5 },
      { infohash: key(2, 2), seenAt: T0 + 10 * 60_000 },
      { infohash: key(3, 3), seenAt: T0 + 3 * HOUR + 1 },
      { infohash: key(4, 4), seenAt: T0 + 5 * HOUR },
    ]);
    const all = store.reportData({});
    expect(all.discovery.bucketMs).toBe(HOUR);
    expect(all.discovery.buckets.map((b) => b.count)).toEqual([2, 0, 0, 1, 0, 1]);
    expect(all.discovery.buckets[0].start).toBe(T0);
    expect(all.discovery.before).toBe(0);
    const later = store.reportData({ since: T0 + 2 * HOUR });
    expect(later.infohashes).toBe(2);
    expect(later.discovery.before).toBe(2);
    expect(later.discovery.buckets.reduce((s, b) => s + b.count, 0)).toBe(2);
    store.close();
  });

  it('counts infohashes and sampled nodes per first byte, BEP 51 support and clients', () => {
    const store = SqliteStore.open(':memory:');
    store.recordInfohashes([0, 0, 0xff, 0x80].map((p, i) => ({ infohash: key(p, i), seenAt: T0 })));
    store.recordNodes([
      { addr: '127.0.0.1:1', seenAt: T0, id: key(0x10, 1), client: 'LT 2.0.8', bep51: true, sampledAt: T0 },
      { addr: '127.0.0.1:2', seenAt: T0, id: key(0x10, 2), client: 'LT 2.0.8', bep51: false },
      { addr: '127.0.0.1:3', seenAt: T0, id: key(0xfe, 3), client: 'UT 3526', bep51: true, sampledAt: T0 },
      { addr: '127.0.0.1:4', seenAt: T0, id: key(0x20, 4) },
    ]);
    const d = store.reportData();
    expect(d.keyspace.infohashes[0]).toBe(2);
    expect(d.keyspace.infohashes[0xff]).toBe(1);
    expect(d.keyspace.infohashes[0x80]).toBe(1);
    expect(d.keyspace.infohashes.reduce((a, b) => a + b)).toBe(4);
    expect(d.keyspace.nodesSampled[0x10]).toBe(1);
    expect(d.keyspace.nodesSampled[0xfe]).toBe(1);
    expect(d.keyspace.nodesSampled.reduce((a, b) => a + b)).toBe(2);
    expect(d.bep51).toEqual({ known: 3, supported: 2 });
    expect(d.clients[0]).toEqual({ client: 'LT 2.0.8', nodes: 2, bep51_nodes: 1 });
    expect(d.clients).toHaveLength(3);
    store.close();
  });

  it('histograms seeders and leechers in log2 buckets and lists the biggest swarms first', () => {
    const store = SqliteStore.open(':memory:');
    const keys = [0, 1, 2, 3].map((n) => key(n, n));
    store.recordInfohashes(keys.map((k) => ({ infohash: k, seenAt: T0 })));
    store.updateScrape([
      { infohash: keys[0], seeders: 0, leechers: 1, peers: 1, scrapedAt: T0 },
      { infohash: keys[1], seeders: 3, leechers: 0, peers: 3, scrapedAt: T0 },
      { infohash: keys[2], seeders: 100, leechers: 20, peers: 110, scrapedAt: T0 },
    ]);
    const s = store.reportData({ topSwarms: 2 }).swarms;
    expect(s.scraped).toBe(3);
    // buckets 0 | 1 | 2-3 | 4-7 | ... | 64-127
    expect(s.seeders[0]).toBe(1);
    expect(s.seeders[2]).toBe(1);
    expect(s.seeders[7]).toBe(1);
    expect(s.leechers[0]).toBe(1);
    expect(s.leechers[1]).toBe(1);
    expect(s.leechers[5]).toBe(1);
    expect(s.seeders).toHaveLength(s.leechers.length);
    expect(s.top.map((t) => t.seeders)).toEqual([100, 3]);
    store.close();
  });

  it('an empty database gives empty aggregates, not errors', () => {
    const store = SqliteStore.open(':memory:');
    const d = store.reportData();
    expect(d.infohashes).toBe(0);
    expect(d.discovery.buckets).toEqual([]);
    expect(d.swarms.scraped).toBe(0);
    expect(d.runs).toEqual([]);
    store.close();
  });

  it('picks minutes for a short crawl, hours for days, days for months', () => {
    expect(discoveryBucket(20 * 60_000)).toBe(60_000);
    expect(discoveryBucket(30 * HOUR)).toBe(HOUR);
    expect(discoveryBucket(60 * 24 * HOUR)).toBe(24 * HOUR);
    expect([0, 1, 2, 3, 4, 7, 8].map(log2Bucket)).toEqual([0, 1, 2, 2, 3, 3, 4]);
  });
});
