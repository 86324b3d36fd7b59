// Writing infohashes and nodes in batches, and the queries behind `bitscrape db`.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import type { InfohashRow } from '../../../src/core/store/types.js';
import { hex, ih, tempDir } from './helpers.js';

let store: SqliteStore;

beforeEach(() => {
  store = new SqliteStore(join(tempDir(), 'crawl.db'));
});

afterEach(() => {
  store.close();
});

function rows(): InfohashRow[] {
  return [...store.listInfohashes({ order: 'infohash' })];
}

describe('recordInfohashes', () => {
  it('reports which infohashes the database did not have yet', () => {
    expect(store.recordInfohashes([{ infohash: ih(1), seenAt: 100 }]).map((r) => r.isNew)).toEqual([true]);
    const results = store.recordInfohashes([
      { infohash: ih(1), seenAt: 200 },
      { infohash: ih(2), seenAt: 200 },
    ]);
    expect(results.map((r) => [hex(r.infohash), r.isNew])).toEqual([
      [hex(ih(1)), false],
      [hex(ih(2)), true],
    ]);
  });

  it('counts a repeat inside one batch as already seen', () => {
    const results = store.recordInfohashes([
      { infohash: ih(5), seenAt: 10 },
      { infohash: ih(5), seenAt: 20 },
    ]);
    expect(results.map((r) => r.isNew)).toEqual([true, false]);
    expect(rows()[0]).toMatchObject({ times_seen: 2, first_seen: 10, last_seen: 20 });
  });

  it('keeps first/last seen as min/max and the first known source', () => {
    const source = { sourceId: ih(99, 0x11), sourceAddr: '127.0.0.1:6881', sourceClient: 'LT 2.0.8', sourceVersionHex: '4c540208' };
    store.recordInfohashes([{ infohash: ih(1), seenAt: 500 }]);
    store.recordInfohashes([{ infohash: ih(1), seenAt: 900, ...source }]);
    store.recordInfohashes([{ infohash: ih(1), seenAt: 300, sourceClient: 'UT 3.5', sourceAddr: '127.0.0.2:1' }]);
    expect(rows()).toEqual([
      {
        infohash: hex(ih(1)),
        first_seen: 300,
        last_seen: 900,
        times_seen: 3,
        source_id: hex(ih(99, 0x11)),
        source_addr: '127.0.0.1:6881',
        source_client: 'LT 2.0.8',
        source_version_hex: '4c540208',
        seeders: null,
        leechers: null,
        peers: null,
        scraped_at: null,
        name: null,
      },
    ]);
  });

  it('writes a batch atomically: a failing record leaves none of the batch behind', () => {
    store.recordInfohashes([{ infohash: ih(1), seenAt: 1 }]);
    const bad = { infohash: ih(3), seenAt: null as unknown as number }; // violates NOT NULL in SQL
    expect(() =>
      store.recordInfohashes([
        { infohash: ih(1), seenAt: 50 },
        { infohash: ih(2), seenAt: 50 },
        bad,
        { infohash: ih(4), seenAt: 50 },
      ]),
    ).toThrow(/NOT NULL/);
    expect([ih(2), ih(3), ih(4)].map((h) => store.has(h))).toEqual([false, false, false]);
    // The update to the existing row was rolled back too.
    expect(rows()).toMatchObject([{ infohash: hex(ih(1)), times_seen: 1, last_seen: 1 }]);
  });

  it('refuses infohashes that are not 20 bytes before writing anything', () => {
    expect(() =>
      store.recordInfohashes([
        { infohash: ih(1), seenAt: 1 },
        { infohash: new Uint8Array(19), seenAt: 1 },
      ]),
    ).toThrow(/index 1/);
    expect(store.has(ih(1))).toBe(false);
  });

  it('has() answers from the database', () => {
    expect(store.has(ih(1))).toBe(false);
    store.recordInfohashes([{ infohash: ih(1), seenAt: 1 }]);
    expect(store.has(ih(1))).toBe(true);
    expect(store.has(ih(1, 0xcd))).toBe(false);
  });
});

describe('recordNodes', () => {
  it('upserts nodes, keeping what an update does not say', () => {
    const first = store.recordNodes([
      { addr: '127.0.0.1:1', seenAt: 100, id: ih(1, 0x22), client: 'LT 2.0.8', versionHex: '4c540208', bep51: true, sampledAt: 100, sampleIntervalS: 60, num: 40 },
      { addr: '[::1]:2', seenAt: 100 },
    ]);
    expect(first).toEqual([
      { addr: '127.0.0.1:1', isNew: true },
      { addr: '[::1]:2', isNew: true },
    ]);
    const second = store.recordNodes([{ addr: '127.0.0.1:1', seenAt: 200 }, { addr: '[::1]:2', seenAt: 50, bep51: false }]);
    expect(second.map((r) => r.isNew)).toEqual([false, false]);

    const stats = store.stats();
    expect(stats.nodes).toBe(2);
    expect(stats.bep51_nodes).toBe(1);
    expect(stats.bep51_rate).toBe(0.5);
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    const stored = db.prepare('SELECT * FROM nodes ORDER BY addr').all();
    expect(stored).toEqual([
      {
        addr: '127.0.0.1:1',
        id: Buffer.from(ih(1, 0x22)),
        version_hex: '4c540208',
        client: 'LT 2.0.8',
        bep51: 1,
        first_seen: 100,
        last_seen: 200,
        last_sampled: 100,
        sample_interval_s: 60,
        num: 40,
      },
      {
        addr: '[::1]:2',
        id: null,
        version_hex: null,
        client: null,
        bep51: 0,
        first_seen: 50,
        last_seen: 100,
        last_sampled: null,
        sample_interval_s: null,
        num: null,
      },
    ]);
  });
});

describe('listInfohashes', () => {
  beforeEach(() => {
    store.recordInfohashes([
      { infohash: ih(1), seenAt: 1000, sourceClient: 'LT 2.0.8' },
      { infohash: ih(2), seenAt: 2000, sourceClient: 'lt 1.2.19' },
      { infohash: ih(3), seenAt: 3000, sourceClient: 'UT 3.5.5' },
      { infohash: ih(4), seenAt: 4000 },
      { infohash: ih(5), seenAt: 5000, sourceClient: 'L_ weird' },
    ]);
    store.recordInfohashes([{ infohash: ih(1), seenAt: 9000 }]);
  });

  const ids = (list: Iterable<InfohashRow>) => [...list].map((r) => r.infohash.slice(-2));

  it('orders by first seen by default, with a limit', () => {
    expect(ids(store.listInfohashes())).toEqual(['01', '02', '03', '04', '05']);
    expect(ids(store.listInfohashes({ limit: 2 }))).toEqual(['01', '02']);
    expect(ids(store.listInfohashes({ order: 'first_seen', direction: 'desc', limit: 2 }))).toEqual(['05', '04']);
  });

  it('orders by last seen and by times seen', () => {
    expect(ids(store.listInfohashes({ order: 'last_seen', direction: 'desc' }))[0]).toBe('01');
    expect(ids(store.listInfohashes({ order: 'times_seen', direction: 'desc', limit: 1 }))).toEqual(['01']);
  });

  it('filters by first seen', () => {
    expect(ids(store.listInfohashes({ since: 3000 }))).toEqual(['03', '04', '05']);
  });

  it('filters by client prefix, case-insensitively and literally', () => {
    expect(ids(store.listInfohashes({ client: 'LT' }))).toEqual(['01', '02']);
    expect(ids(store.listInfohashes({ client: 'ut 3' }))).toEqual(['03']);
    // "_" is not a wildcard here.
    expect(ids(store.listInfohashes({ client: 'L_' }))).toEqual(['05']);
    expect(ids(store.listInfohashes({ client: 'LT', since: 1500 }))).toEqual(['02']);
  });

  it('streams: rows arrive one by one from an iterator', () => {
    const it = store.listInfohashes();
    expect(it.next().value?.infohash).toBe(hex(ih(1)));
    it.return?.();
    // Ended early, the handle can write again.
    expect(() => store.recordInfohashes([{ infohash: ih(9), seenAt: 9 }])).not.toThrow();
  });

  it('allows two identical listings open at once', () => {
    const a = store.listInfohashes();
    const b = store.listInfohashes();
    expect(a.next().value?.infohash).toBe(hex(ih(1)));
    expect(b.next().value?.infohash).toBe(hex(ih(1)));
    expect([...a]).toHaveLength(4);
    expect([...b]).toHaveLength(4);
  });

  it('close() ends a listing left open (stdout closed mid-export)', () => {
    const it = store.listInfohashes();
    it.next();
    const unstarted = store.listInfohashes();
    expect(() => store.close()).not.toThrow();
    expect(() => unstarted.next()).toThrow(/not open/);
  });

  it('rejects a negative limit and an unknown order', () => {
    expect(() => store.listInfohashes({ limit: -1 })).toThrow(RangeError);
    expect(() => store.listInfohashes({ order: '__proto__' as 'infohash' })).toThrow(/unknown order/);
    expect(() => store.listInfohashes({ order: 'rowid; DROP TABLE x' as 'infohash' })).toThrow(/unknown order/);
  });
});

describe('stats', () => {
  it('is zeroed and null on an empty database', () => {
    expect(store.stats()).toEqual({
      infohashes: 0,
      nodes: 0,
      bep51_nodes: 0,
      bep51_rate: null,
      first_seen: null,
      last_seen: null,
      scraped: 0,
      clients: [],
    });
  });

  it('counts infohashes, nodes, BEP 51 support and sources per client', () => {
    store.recordNodes([
      { addr: '127.0.0.1:1', seenAt: 1, client: 'LT 2.0.8', bep51: true },
      { addr: '127.0.0.1:2', seenAt: 1, client: 'LT 2.0.8', bep51: false },
      { addr: '127.0.0.1:3', seenAt: 1, client: 'LT 2.0.8' },
      { addr: '127.0.0.1:4', seenAt: 1, client: 'UT 3.5', bep51: true },
      { addr: '127.0.0.1:5', seenAt: 1 },
    ]);
    store.recordInfohashes([
      { infohash: ih(1), seenAt: 100, sourceClient: 'LT 2.0.8' },
      { infohash: ih(2), seenAt: 200, sourceClient: 'LT 2.0.8' },
      { infohash: ih(3), seenAt: 300, sourceClient: 'ML 1.0' },
    ]);
    store.updateScrape([{ infohash: ih(2), seeders: 1, leechers: 2, peers: 3, scrapedAt: 400 }]);
    expect(store.stats()).toEqual({
      infohashes: 3,
      nodes: 5,
      bep51_nodes: 2,
      bep51_rate: 2 / 3,
      first_seen: 100,
      last_seen: 300,
      scraped: 1,
      clients: [
        { client: 'LT 2.0.8', nodes: 3, bep51_nodes: 1, infohashes_sourced: 2 },
        { client: 'UT 3.5', nodes: 1, bep51_nodes: 1, infohashes_sourced: 0 },
        { client: null, nodes: 1, bep51_nodes: 0, infohashes_sourced: 0 },
        { client: 'ML 1.0', nodes: 0, bep51_nodes: 0, infohashes_sourced: 1 },
      ],
    });
  });
});

describe('scrape results', () => {
  beforeEach(() => {
    store.recordInfohashes([1, 2, 3, 4].map((n) => ({ infohash: ih(n), seenAt: n })));
  });

  it('updates stored infohashes and skips unknown ones', () => {
    const updated = store.updateScrape([
      { infohash: ih(1), seeders: 10, leechers: 5, peers: 15, scrapedAt: 1000 },
      { infohash: ih(77), seeders: 1, leechers: 1, peers: 2, scrapedAt: 1000 },
    ]);
    expect(updated).toBe(1);
    expect(store.has(ih(77))).toBe(false);
    expect([...store.listInfohashes({ limit: 1 })][0]).toMatchObject({ seeders: 10, leechers: 5, peers: 15, scraped_at: 1000 });
  });

  it('selects never-scraped infohashes, then those scraped before the cutoff, stalest first', () => {
    store.updateScrape([
      { infohash: ih(1), seeders: 0, leechers: 0, peers: 0, scrapedAt: 5000 },
      { infohash: ih(2), seeders: 0, leechers: 0, peers: 0, scrapedAt: 1000 },
      { infohash: ih(3), seeders: 0, leechers: 0, peers: 0, scrapedAt: 9000 },
    ]);
    const hexes = (list: Uint8Array[]) => list.map((h) => hex(h).slice(-2));
    expect(hexes(store.selectForScrape())).toEqual(['04']);
    expect(hexes(store.selectForScrape({ olderThanMs: 4000, now: 10_000 }))).toEqual(['04', '02', '01']);
    expect(hexes(store.selectForScrape({ olderThanMs: 4000, now: 10_000, limit: 2 }))).toEqual(['04', '02']);
    expect(store.selectForScrape({ limit: 0 })).toEqual([]);
  });
});

describe('resume state', () => {
  it('saves, overwrites, loads and clears JSON values', () => {
    expect(store.loadState('keyspace')).toBeUndefined();
    store.saveState('keyspace', { prefix: 'ab', depth: 3, done: [1, 2] });
    expect(store.loadState('keyspace')).toEqual({ prefix: 'ab', depth: 3, done: [1, 2] });
    store.saveState('keyspace', { prefix: 'ac' });
    expect(store.loadState<{ prefix: string }>('keyspace')?.prefix).toBe('ac');
    store.saveState('other', 42);
    store.clearState('keyspace');
    expect(store.loadState('keyspace')).toBeUndefined();
    expect(store.loadState('other')).toBe(42);
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => store.saveState('k', undefined)).toThrow(TypeError);
  });

  it('survives close and reopen', () => {
    const path = join(tempDir(), 'resume.db');
    const a = new SqliteStore(path);
    a.saveState('keyspace', { cursor: 'ff' });
    a.close();
    const b = new SqliteStore(path);
    expect(b.loadState('keyspace')).toEqual({ cursor: 'ff' });
    b.close();
  });
});

describe('runs', () => {
  it('records a run start and its end with a JSON summary', () => {
    const id = store.beginRun({ strategy: 'keyspace', startedAt: 100 });
    const other = store.beginRun({ strategy: 'random', startedAt: 150 });
    expect(other).not.toBe(id);
    store.endRun(id, { endedAt: 200, summary: { infohashes: 3 } });
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    expect(db.prepare('SELECT * FROM runs WHERE id = ?').get(id)).toEqual({
      id,
      started_at: 100,
      ended_at: 200,
      strategy: 'keyspace',
      summary: '{"infohashes":3}',
    });
  });
});
