// The store contract: what every InfohashStore does, run against SQLite (contract-sqlite.test.ts)
// and PostgreSQL (test/integration/store-postgres.test.ts). Everything is awaited, so the same
// tests hold for the synchronous and the asynchronous implementation.
import { describe, expect, it } from 'vitest';
import type { InfohashRow, InfohashStore } from '../../../src/core/store/types.js';
import { torrentContract } from './torrent-contract.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

function key(n: number, first = 0xab): Uint8Array {
  const b = new Uint8Array(20).fill(first);
  new DataView(b.buffer).setUint32(16, n);
  return b;
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function all(rows: Iterable<InfohashRow> | AsyncIterable<InfohashRow>): Promise<InfohashRow[]> {
  const out: InfohashRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

export function storeContract(name: string, open: () => Promise<InfohashStore>): void {
  torrentContract(name, open);
  describe(`store contract: ${name}`, () => {
    it('tells new infohashes from known ones, within a batch and across batches, and keeps the first source', async () => {
      const store = await open();
      try {
        const first = await store.recordInfohashes([
          { infohash: key(1), seenAt: T0, sourceAddr: '127.0.0.1:1', sourceClient: 'LT 2.0.8', sourceId: key(9, 1), sourceVersionHex: '4c540208' },
          { infohash: key(2), seenAt: T0 + 1 },
          { infohash: key(1), seenAt: T0 + 5, sourceAddr: '127.0.0.1:2' },
        ]);
        expect(first.map((r) => r.isNew)).toEqual([true, true, false]);
        expect(hex(first[2].infohash)).toBe(hex(key(1)));
        const second = await store.recordInfohashes([
          { infohash: key(2), seenAt: T0 - 10 },
          { infohash: key(3), seenAt: T0 + 20 },
        ]);
        expect(second.map((r) => r.isNew)).toEqual([false, true]);
        expect(await store.has(key(1))).toBe(true);
        expect(await store.has(key(4))).toBe(false);
        const rows = await all(store.listInfohashes({ order: 'infohash' }));
        expect(rows.map((r) => r.infohash)).toEqual([hex(key(1)), hex(key(2)), hex(key(3))]);
        expect(rows[0]).toMatchObject({ first_seen: T0, last_seen: T0 + 5, times_seen: 2, source_addr: '127.0.0.1:1', source_client: 'LT 2.0.8', source_id: hex(key(9, 1)), source_version_hex: '4c540208' });
        expect(rows[1]).toMatchObject({ first_seen: T0 - 10, last_seen: T0 + 1, times_seen: 2, source_addr: null, seeders: null, scraped_at: null });
        await expect(async () => store.recordInfohashes([{ infohash: new Uint8Array(19), seenAt: T0 }])).rejects.toThrow(/20 bytes/);
      } finally {
        await store.close();
      }
    });

    it('lists with since, client prefix, order, direction and limit, arrival order breaking ties', async () => {
      const store = await open();
      try {
        await store.recordInfohashes([
          { infohash: key(5), seenAt: T0, sourceClient: 'LT 2.0.8' },
          { infohash: key(4), seenAt: T0, sourceClient: 'UT 3526' },
          { infohash: key(3), seenAt: T0 + 10, sourceClient: 'lt 1.2' },
          { infohash: key(2), seenAt: T0 + 20 },
        ]);
        const ids = async (q: Parameters<InfohashStore['listInfohashes']>[0]): Promise<string[]> => (await all(store.listInfohashes(q))).map((r) => r.infohash);
        expect(await ids({})).toEqual([key(5), key(4), key(3), key(2)].map(hex));
        expect(await ids({ direction: 'desc' })).toEqual([key(2), key(3), key(4), key(5)].map(hex));
        expect(await ids({ since: T0 + 10 })).toEqual([key(3), key(2)].map(hex));
        expect(await ids({ client: 'LT' })).toEqual([key(5), key(3)].map(hex));
        expect(await ids({ client: '%' })).toEqual([]);
        expect(await ids({ order: 'infohash', limit: 2 })).toEqual([key(2), key(3)].map(hex));
        expect(await ids({ limit: 0 })).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('pages through more rows than one page holds', async () => {
      const store = await open();
      try {
        const n = 2500;
        await store.recordInfohashes(Array.from({ length: n }, (_, i) => ({ infohash: key(i), seenAt: T0 + (i % 7) })));
        const rows = await all(store.listInfohashes({}));
        expect(rows).toHaveLength(n);
        expect(new Set(rows.map((r) => r.infohash)).size).toBe(n);
        for (let i = 1; i < rows.length; i++) expect(rows[i].first_seen).toBeGreaterThanOrEqual(rows[i - 1].first_seen);
        expect(await all(store.listInfohashes({ limit: 1234, order: 'infohash', direction: 'desc' }))).toHaveLength(1234);
      } finally {
        await store.close();
      }
    });

    it('merges what it learns about nodes and counts them in stats', async () => {
      const store = await open();
      try {
        const a = await store.recordNodes([
          { addr: '127.0.0.1:1', seenAt: T0, id: key(1, 0x10), client: 'LT 2.0.8', versionHex: '4c540208' },
          { addr: '127.0.0.1:2', seenAt: T0, bep51: false },
          { addr: '127.0.0.1:1', seenAt: T0 + 5, bep51: true, sampledAt: T0 + 5, sampleIntervalS: 60, num: 12 },
        ]);
        expect(a.map((r) => r.isNew)).toEqual([true, true, false]);
        const b = await store.recordNodes([{ addr: '127.0.0.1:2', seenAt: T0 + 9, client: 'UT 3526' }]);
        expect(b[0].isNew).toBe(false);
        await store.recordInfohashes([{ infohash: key(1), seenAt: T0, sourceClient: 'LT 2.0.8' }]);
        const s = await store.stats();
        expect(s).toMatchObject({ infohashes: 1, nodes: 2, bep51_nodes: 1, bep51_rate: 0.5, first_seen: T0, last_seen: T0, scraped: 0 });
        expect(s.clients).toEqual([
          { client: 'LT 2.0.8', nodes: 1, bep51_nodes: 1, infohashes_sourced: 1 },
          { client: 'UT 3526', nodes: 1, bep51_nodes: 0, infohashes_sourced: 0 },
        ]);
        const report = await store.reportData({});
        expect(report.keyspace.nodesSampled[0x10]).toBe(1);
        expect(report.bep51).toEqual({ known: 2, supported: 1 });
      } finally {
        await store.close();
      }
    });

    it('stores scrape results for known infohashes only, and picks never-scraped then stale ones', async () => {
      const store = await open();
      try {
        await store.recordInfohashes([1, 2, 3].map((n) => ({ infohash: key(n), seenAt: T0 })));
        expect(await store.updateScrape([
          { infohash: key(1), seeders: 5, leechers: 2, peers: 7, scrapedAt: T0 + 100 },
          { infohash: key(9), seeders: 1, leechers: 1, peers: 1, scrapedAt: T0 + 100 },
        ])).toBe(1);
        const never = (await store.selectForScrape({})).map(hex).sort();
        expect(never).toEqual([key(2), key(3)].map(hex));
        expect(await store.selectForScrape({ limit: 1 })).toHaveLength(1);
        const withStale = (await store.selectForScrape({ olderThanMs: 50, now: T0 + 200 })).map(hex);
        expect(withStale.slice(-1)).toEqual([hex(key(1))]);
        expect(withStale).toHaveLength(3);
        expect(await store.selectForScrape({ olderThanMs: 500, now: T0 + 200 })).toHaveLength(2);
        const rows = await all(store.listInfohashes({ order: 'infohash' }));
        expect(rows[0]).toMatchObject({ seeders: 5, leechers: 2, peers: 7, scraped_at: T0 + 100 });
        const report = await store.reportData({});
        expect(report.swarms.scraped).toBe(1);
        expect(report.swarms.seeders[3]).toBe(1); // 5 is in 4-7
        expect(report.swarms.top[0]).toMatchObject({ infohash: hex(key(1)), seeders: 5 });
      } finally {
        await store.close();
      }
    });

    it('keeps resume state and runs', async () => {
      const store = await open();
      try {
        expect(await store.loadState('k')).toBeUndefined();
        await store.saveState('k', { a: [1, 2], b: 'x' });
        await store.saveState('k', { a: [3] });
        expect(await store.loadState('k')).toEqual({ a: [3] });
        await store.clearState('k');
        expect(await store.loadState('k')).toBeUndefined();
        const id = await store.beginRun({ strategy: 'keyspace', startedAt: T0 });
        await store.endRun(id, { endedAt: T0 + 1000, summary: { stopped_by: 'done', queries_sent: 12 } });
        const second = await store.beginRun({ strategy: 'random', startedAt: T0 + 2000 });
        expect(second).not.toBe(id);
        const report = await store.reportData({});
        expect(report.runs.map((r) => r.strategy)).toEqual(['random', 'keyspace']);
        expect(report.runs[1]).toMatchObject({ started_at: T0, ended_at: T0 + 1000, summary: { stopped_by: 'done', queries_sent: 12 } });
        expect(report.runs[0].summary).toBeNull();
      } finally {
        await store.close();
      }
    });

    it('report discovery buckets agree with the rows', async () => {
      const store = await open();
      try {
        const hour = 3_600_000;
        await store.recordInfohashes([
          { infohash: key(1, 0x00), seenAt: T0 },
          { infohash: key(2, 0x00), seenAt: T0 + 1 },
          { infohash: key(3, 0xff), seenAt: T0 + 4 * hour },
        ]);
        const r = await store.reportData({});
        expect(r.infohashes).toBe(3);
        expect(r.discovery.bucketMs).toBe(hour);
        expect(r.discovery.buckets.map((b) => b.count)).toEqual([2, 0, 0, 0, 1]);
        expect(r.keyspace.infohashes[0]).toBe(2);
        expect(r.keyspace.infohashes[0xff]).toBe(1);
        const later = await store.reportData({ since: T0 + hour });
        expect(later.infohashes).toBe(1);
        expect(later.discovery.before).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('leases: a pass is split into ranges that crawlers claim once, renew, finish; expired leases are taken over', async () => {
      const store = await open();
      try {
        const T = 1_000_000;
        const pass = await store.currentPass(4, 60_000, T);
        expect(pass).toMatchObject({ pass: 1, ranges: 4, pending: 4, active: 0, done: 0, finished_at: null });
        // a second crawler starting now joins the same pass
        expect((await store.currentPass(4, 60_000, T + 1))?.pass).toBe(1);
        const a = await store.claimRange('a', 1, 10_000, T);
        const b = await store.claimRange('b', 1, 10_000, T);
        expect(a).toEqual({ pass: 1, range: 0, ranges: 4, takenOver: false });
        expect(b?.range).toBe(1);
        expect(await store.renewLease('a', 1, 0, 10_000, T + 5_000)).toBe(true);
        expect(await store.renewLease('b', 1, 0, 10_000, T + 5_000)).toBe(false);
        // b dies; its lease expires at T + 10 s and c takes it over after the two pending ones
        const c1 = await store.claimRange('c', 1, 10_000, T + 11_000);
        const c2 = await store.claimRange('c', 1, 10_000, T + 11_000);
        expect([c1?.range, c2?.range]).toEqual([2, 3]);
        const c3 = await store.claimRange('c', 1, 10_000, T + 11_000);
        expect(c3).toEqual({ pass: 1, range: 1, ranges: 4, takenOver: true });
        expect(await store.claimRange('d', 1, 10_000, T + 11_000)).toBeNull();
        expect(await store.finishRange('b', 1, 1, T + 12_000)).toBe(false);
        for (const r of [1, 2, 3]) expect(await store.finishRange('c', 1, r, T + 12_000)).toBe(true);
        expect(await store.passStatus(1)).toMatchObject({ done: 3, active: 1, finished_at: null });
        // a released range goes back to pending, claimable at once
        await store.releaseRange('a', 1, 0);
        const again = await store.claimRange('e', 1, 10_000, T + 12_000);
        expect(again).toMatchObject({ range: 0, takenOver: false });
        expect(await store.finishRange('e', 1, 0, T + 13_000)).toBe(true);
        expect(await store.passStatus(1)).toMatchObject({ done: 4, active: 0, pending: 0, finished_at: T + 13_000 });
        // the next pass waits for the interval, then starts once
        expect(await store.currentPass(4, 60_000, T + 20_000)).toBeNull();
        const next = await store.currentPass(8, 60_000, T + 73_000);
        expect(next).toMatchObject({ pass: 2, ranges: 8, pending: 8 });
        expect((await store.currentPass(8, 60_000, T + 73_001))?.pass).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('leases: crawlers claiming at once never get the same range', async () => {
      const s = await open();
      try {
        const T = 5_000_000;
        // on PostgreSQL the claims run on several pooled connections at once (SKIP LOCKED)
        await s.currentPass(16, 0, T);
        const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => s.claimRange(`w${i}`, 1, 60_000, T)));
        const ranges = claims.map((c) => c?.range);
        expect(new Set(ranges).size).toBe(16);
        expect(await s.claimRange('late', 1, 60_000, T)).toBeNull();
      } finally {
        await s.close();
      }
    });

    it('sample due times: nodes of an id range sampled within their interval, by whoever sampled them', async () => {
      const s = await open();
      try {
        const id = (first: number): Uint8Array => new Uint8Array(20).fill(first);
        await s.recordNodes([
          // in [0x40.., 0x80..): due later, due already, never sampled, sampled without interval
          { addr: '127.0.0.1:1', seenAt: T0, id: id(0x41), bep51: true, sampledAt: T0, sampleIntervalS: 300 },
          { addr: '127.0.0.1:2', seenAt: T0, id: id(0x42), bep51: true, sampledAt: T0 - 400_000, sampleIntervalS: 300 },
          { addr: '127.0.0.1:3', seenAt: T0, id: id(0x43) },
          { addr: '[::1]:4', seenAt: T0, id: id(0x7f), bep51: true, sampledAt: T0, sampleIntervalS: 21_600 },
          // outside it, on either side
          { addr: '127.0.0.1:5', seenAt: T0, id: id(0x3f), bep51: true, sampledAt: T0, sampleIntervalS: 300 },
          { addr: '127.0.0.1:6', seenAt: T0, id: id(0x80), bep51: true, sampledAt: T0, sampleIntervalS: 300 },
        ]);
        const lo = new Uint8Array(20);
        lo[0] = 0x40;
        const hi = new Uint8Array(20);
        hi[0] = 0x80;
        const due = await s.sampleDueTimes(lo, hi, T0 + 1000);
        expect(due.sort((a, b) => a.dueAt - b.dueAt)).toEqual([
          { addr: '127.0.0.1:1', dueAt: T0 + 300_000 },
          { addr: '[::1]:4', dueAt: T0 + 21_600_000 },
        ]);
        // the last range runs to the end of the keyspace; a later sample by another crawler moves the time
        await s.recordNodes([{ addr: '127.0.0.1:6', seenAt: T0 + 60_000, bep51: true, sampledAt: T0 + 60_000, sampleIntervalS: 300 }]);
        expect(await s.sampleDueTimes(hi, null, T0 + 1000)).toEqual([{ addr: '127.0.0.1:6', dueAt: T0 + 360_000 }]);
        // once the interval has passed the node is free again
        expect(await s.sampleDueTimes(hi, null, T0 + 360_000)).toEqual([]);
      } finally {
        await s.close();
      }
    });
  });
}
