import { describe, expect, it } from 'vitest';
import { ScrapeBloom } from '../../../src/core/dht/bloom.js';
import { ScrapeTally, bloomHas, roundEstimate } from '../../../src/core/scrape/tally.js';
import { SATURATED_COUNT, scrapeRecord, scrapeRow, type ScrapeResult } from '../../../src/core/scrape/scrape-many.js';
import { decodeMessage, encodeResponse } from '../../../src/core/wire/index.js';

function filterOf(ips: string[]): Uint8Array {
  const f = new ScrapeBloom();
  for (const ip of ips) f.insertIp(ip);
  return f.bits;
}

const SEEDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const LEECHES = ['10.0.1.1', '10.0.1.2'];

describe('merging BEP 33 filters from several responders', () => {
  it('estimates 3 seeders and 2 leechers from one storer', () => {
    const t = new ScrapeTally();
    expect(t.addFilters(filterOf(SEEDS), filterOf(LEECHES))).toBe(true);
    const e = t.estimate();
    expect(e.seeders).toBeCloseTo(3, 0);
    expect(Math.abs(e.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(e.leechers - 2)).toBeLessThan(0.5);
    expect(e.nodesWithFilters).toBe(1);
  });

  it('takes the union: overlapping partial views add up to the distinct IPs, not the sum', () => {
    const t = new ScrapeTally();
    t.addFilters(filterOf(['10.0.0.1', '10.0.0.2']), filterOf(['10.0.1.1']));
    t.addFilters(filterOf(['10.0.0.2', '10.0.0.3']), filterOf(['10.0.1.2']));
    t.addFilters(filterOf(SEEDS), filterOf(LEECHES)); // a storer that knows everyone
    const e = t.estimate();
    expect(e.nodesWithFilters).toBe(3);
    expect(t.seeds.bits).toEqual(filterOf(SEEDS));
    expect(t.downloaders.bits).toEqual(filterOf(LEECHES));
    expect(Math.abs(e.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(e.leechers - 2)).toBeLessThan(0.5);
  });

  it('estimates the whole swarm once per IP: an IP both seeding and downloading counts once', () => {
    const t = new ScrapeTally();
    t.addFilters(filterOf(SEEDS), filterOf([...LEECHES, SEEDS[0]]));
    const e = t.estimate();
    expect(Math.abs(e.leechers - 3)).toBeLessThan(0.5);
    expect(Math.abs(e.swarm - 5)).toBeLessThan(0.5);
  });

  it('counts a node with only one of the two filters, and ignores a filter of the wrong size', () => {
    const t = new ScrapeTally();
    expect(t.addFilters(filterOf(SEEDS), undefined)).toBe(true);
    expect(t.addFilters(new Uint8Array(128), new Uint8Array(255))).toBe(false);
    expect(t.badFilters).toBe(2);
    const e = t.estimate();
    expect(e.nodesWithFilters).toBe(1);
    expect(Math.abs(e.seeders - 3)).toBeLessThan(0.5);
    expect(e.leechers).toBe(0);
  });

  it('no filters at all means an empty swarm, not an error', () => {
    const e = new ScrapeTally().estimate();
    expect(e).toEqual({ seeders: 0, leechers: 0, swarm: 0, nodesWithFilters: 0 });
  });

  it('counts peers from values-only replies as downloaders unless the seed filter has their IP', () => {
    const t = new ScrapeTally();
    t.addFilters(filterOf(SEEDS), filterOf(LEECHES));
    // A node without BEP 33 returns every peer; the seeds are already known, one IP is new.
    t.addUnclassifiedPeers([...SEEDS, ...LEECHES, '10.0.2.9']);
    const e = t.estimate();
    expect(Math.abs(e.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(e.leechers - 3)).toBeLessThan(0.5);
    // The filters received are not modified by the local one.
    expect(t.downloaders.bits).toEqual(filterOf(LEECHES));
  });

  it('bloomHas finds inserted addresses (IPv4, IPv6, v4-mapped) and not others', () => {
    const bits = filterOf(['192.0.2.1', '2001:db8::1']);
    expect(bloomHas(bits, Uint8Array.of(192, 0, 2, 1))).toBe(true);
    const mapped = new Uint8Array(16);
    mapped.set([0xff, 0xff, 192, 0, 2, 1], 10);
    expect(bloomHas(bits, mapped)).toBe(true);
    const v6 = new Uint8Array(16);
    v6.set([0x20, 0x01, 0x0d, 0xb8]);
    v6[15] = 1;
    expect(bloomHas(bits, v6)).toBe(true);
    expect(bloomHas(bits, Uint8Array.of(192, 0, 2, 2))).toBe(false);
  });

  it('a saturated union reads as Infinity, printed as null with saturated: true', () => {
    const t = new ScrapeTally();
    t.addFilters(new Uint8Array(256).fill(0xff), filterOf(LEECHES));
    const e = t.estimate();
    expect(e.seeders).toBe(Infinity);
    expect(roundEstimate(e.seeders)).toBeNull();
    const r: ScrapeResult = {
      infohash: new Uint8Array(20).fill(0xab),
      seeders: e.seeders,
      leechers: e.leechers,
      peers: [{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.10', port: 2 }, { host: '10.0.0.9', port: 3 }].map((p) => ({ ...p, family: 4 as const })),
      droppedPeers: 0,
      nodesAnswered: 8,
      nodesWithFilters: 1,
      valueQueries: 1,
      valueReplies: 1,
      queries: 12,
      timeouts: 0,
      ms: 41.6,
      end: 'converged',
    };
    const rec = scrapeRecord(r, { peers: true });
    expect(rec).toMatchObject({ infohash: 'ab'.repeat(20), seeders: null, leechers: 2, saturated: true, peers: 3, nodes_answered: 8, nodes_with_filters: 1, queries: 12, duration_ms: 42 });
    expect(rec.peer_list).toEqual(['10.0.0.1:1', '10.0.0.9:3', '10.0.0.10:2']);
    expect(scrapeRecord(r)).not.toHaveProperty('peer_list');
    const row = scrapeRow(r, 1234);
    expect(row).toEqual({ infohash: r.infohash, seeders: SATURATED_COUNT, leechers: 2, peers: 3, scrapedAt: 1234 });
    expect(SATURATED_COUNT).toBeGreaterThan(7000);
  });

  it('estimates are printed with one decimal', () => {
    expect(roundEstimate(2.9876)).toBe(3);
    expect(roundEstimate(1224.9308)).toBe(1224.9);
    expect(roundEstimate(0)).toBe(0);
  });
});

describe("mldht's BFse spelling", () => {
  it('arrives as BFsd, so it is merged like libtorrent seed filters', () => {
    const seeds = filterOf(SEEDS);
    const bytes = encodeResponse(Uint8Array.of(1, 2), { id: new Uint8Array(20), token: Uint8Array.of(9), BFse: seeds, BFpe: filterOf(LEECHES) });
    const msg = decodeMessage(bytes);
    expect(msg.ok).toBe(true);
    if (!msg.ok || msg.value.y !== 'r') throw new Error('not a reply');
    const t = new ScrapeTally();
    t.addFilters(msg.value.r.BFsd, msg.value.r.BFpe);
    expect(Math.abs(t.estimate().seeders - 3)).toBeLessThan(0.5);
  });
});
