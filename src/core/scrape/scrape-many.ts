// The scrape operation: BEP 33 swarm estimates and peers for many infohashes, a bounded number
// at a time, results as each one finishes.
import { formatEndpoint } from '../net/address.js';
import { toHex } from '../wire/hex.js';
import type { ScrapeRecord } from '../store/types.js';
import { mapConcurrent } from '../util/pool.js';
import { scrapeInfohash, type ScrapeClient, type ScrapeOptions, type ScrapeResult } from './scrape-infohash.js';
import { roundEstimate } from './tally.js';

export { mapConcurrent, untilStopped } from '../util/pool.js';
export { scrapeInfohash, type ScrapeClient, type ScrapeOptions, type ScrapeResult } from './scrape-infohash.js';
export { ScrapeTally, bloomHas, roundEstimate, type SwarmEstimate } from './tally.js';

export interface ScrapeManyOptions extends ScrapeOptions {
  /** Scrapes in flight; default 8. */
  concurrency?: number;
}

export const DEFAULT_SCRAPE_CONCURRENCY = 8;

/** Scrapes every infohash of `source`, `concurrency` at a time; yields results as they finish. */
export function scrapeMany(
  client: ScrapeClient,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: ScrapeManyOptions = {},
): AsyncGenerator<ScrapeResult> {
  return mapConcurrent(source, opts.concurrency ?? DEFAULT_SCRAPE_CONCURRENCY, (ih) => scrapeInfohash(client, ih, opts));
}

/** Whether anyone answered the lookup at all. */
export function answered(r: ScrapeResult): boolean {
  return r.nodesAnswered > 0;
}

/** The NDJSON record of one result (docs/output.md, `scrape`). */
export function scrapeRecord(r: ScrapeResult, opts: { peers?: boolean; scrapedAt?: number } = {}): Record<string, unknown> {
  const saturated = !Number.isFinite(r.seeders) || !Number.isFinite(r.leechers);
  return {
    infohash: toHex(r.infohash),
    seeders: roundEstimate(r.seeders),
    leechers: roundEstimate(r.leechers),
    ...(saturated ? { saturated: true } : {}),
    peers: r.peers.length,
    ...(opts.peers ? { peer_list: peerList(r) } : {}),
    nodes_answered: r.nodesAnswered,
    nodes_with_filters: r.nodesWithFilters,
    queries: r.queries,
    duration_ms: Math.round(r.ms),
    ...(opts.scrapedAt !== undefined ? { scraped_at: new Date(opts.scrapedAt).toISOString() } : {}),
  };
}

/** Peer endpoints as `host:port` / `[v6]:port`, IPv4 first, sorted. */
export function peerList(r: ScrapeResult): string[] {
  return [...r.peers]
    .sort((a, b) => a.family - b.family || a.host.localeCompare(b.host, 'en', { numeric: true }) || a.port - b.port)
    .map((p) => formatEndpoint(p.host, p.port));
}

/**
 * The crawl-database row of one result. Counts are whole numbers there; a saturated filter
 * (more than about 7800 IPs, where the estimate stops) is written as that ceiling.
 */
export function scrapeRow(r: ScrapeResult, scrapedAt: number): ScrapeRecord {
  return { infohash: r.infohash, seeders: storedCount(r.seeders), leechers: storedCount(r.leechers), peers: r.peers.length, scrapedAt };
}

/** The largest count a 2048-bit filter can express: one zero bit left. */
export const SATURATED_COUNT = Math.round(Math.log(1 / 2048) / (2 * Math.log(1 - 1 / 2048)));

function storedCount(n: number): number {
  return Number.isFinite(n) ? Math.round(n) : SATURATED_COUNT;
}
