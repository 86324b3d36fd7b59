// One BEP 33 scrape: a get_peers lookup with scrape=1, the responders' filters merged into seed
// and downloader estimates, and the swarm's peers. libtorrent answers scrape=1 with filters
// *instead of* values, so the nodes that sent filters but no values are asked once more with a
// plain get_peers — just those nodes, not a second lookup, nearest first, two at a time, until
// the peers collected cover the swarm the filters describe (storers usually hold the same set,
// so one wave is the common case).
import type { Clock } from '../net/clock.js';
import type { KrpcEngine } from '../net/krpc-types.js';
import { usablePeer, type ContactFilter, type LookupEnd, type LookupNode, type LookupOptions, type LookupResult } from '../dht/lookup.js';
import { compareDistance, idToHex } from '../dht/node-id.js';
import type { PeerInfo } from '../wire/types.js';
import { ScrapeTally } from './tally.js';
import { endpointKeyOf } from '../net/endpoint-key.js';

/** What a scrape needs from a DHT client; DhtClient provides it. */
export interface ScrapeClient {
  readonly engine: KrpcEngine;
  readonly clock: Clock;
  /** The filter its lookups apply to peers; the follow-up queries apply it too. */
  readonly allowPeer?: ContactFilter;
  getPeers(infohash: Uint8Array, extra?: Partial<LookupOptions> & { scrape?: boolean }): Promise<LookupResult>;
}

export interface ScrapeOptions {
  /** Passed to the lookup (alpha, timeouts, caps). */
  lookup?: Partial<LookupOptions>;
  /** Filter-only nodes asked again for their values, nearest first; default 8, 0 = never. */
  maxValueFetches?: number;
  /** Follow-up queries sent at once; default 2. */
  valueFetchWave?: number;
  /** Per-attempt timeout of those follow-up queries (default: the engine's). */
  valueTimeoutMs?: number;
}

export interface ScrapeResult {
  infohash: Uint8Array;
  /** BEP 33 estimates (distinct IPs); Infinity when the merged filter is saturated. */
  seeders: number;
  leechers: number;
  /** Every peer endpoint learnt, from the lookup and from the follow-up queries. */
  peers: PeerInfo[];
  /** Distinct peer endpoints left out (port 0, bogons): neither listed nor counted. */
  droppedPeers: number;
  nodesAnswered: number;
  nodesWithFilters: number;
  /** Follow-up get_peers (no scrape) sent to filter-only nodes, and how many of them answered. */
  valueQueries: number;
  valueReplies: number;
  /** Every query this scrape sent: the lookup's and the follow-ups. */
  queries: number;
  timeouts: number;
  ms: number;
  end: LookupEnd;
}

export async function scrapeInfohash(client: ScrapeClient, infohash: Uint8Array, opts: ScrapeOptions = {}): Promise<ScrapeResult> {
  const started = client.clock.now();
  const lookup = await client.getPeers(infohash, { ...opts.lookup, scrape: true });

  const tally = new ScrapeTally();
  const withFilters = new Set<string>();
  for (const s of lookup.scrapes) {
    if (tally.addFilters(s.BFsd, s.BFpe)) withFilters.add(idToHex(s.from.id));
  }

  const peers = new Map<string, PeerInfo>();
  const gaveValues = new Set<string>();
  const unclassified: string[] = [];
  for (const { peer, from } of lookup.peers) {
    peers.set(endpointKeyOf(peer), peer);
    let fromPlainNode = false;
    for (const id of from) {
      const key = idToHex(id);
      gaveValues.add(key);
      if (!withFilters.has(key)) fromPlainNode = true;
    }
    if (fromPlainNode) unclassified.push(peer.host);
  }
  tally.addUnclassifiedPeers(unclassified);

  const fetchFrom = lookup.scrapes
    .map((s) => s.from)
    .filter((n) => withFilters.has(idToHex(n.id)) && !gaveValues.has(idToHex(n.id)))
    .sort((a, b) => compareDistance(a.id, b.id, infohash))
    // An aborted scrape (Ctrl-C) ends now; its partial result is the caller's to drop or keep.
    .slice(0, lookup.end === 'aborted' ? 0 : (opts.maxValueFetches ?? 8));
  const estimate = tally.estimate();
  const wave = Math.max(1, opts.valueFetchWave ?? 2);
  let valueQueries = 0;
  let valueReplies = 0;
  let valueTimeouts = 0;
  const dropped = new Set(lookup.droppedPeers.map(endpointKeyOf));
  while (valueQueries < fetchFrom.length && !coversSwarm(peers.values(), estimate.swarm)) {
    const batch = fetchFrom.slice(valueQueries, valueQueries + wave);
    valueQueries += batch.length;
    const fetched = await fetchValues(client.engine, infohash, batch, opts.valueTimeoutMs);
    for (const p of fetched.peers) {
      if (usablePeer(p, client.allowPeer)) peers.set(endpointKeyOf(p), p);
      else dropped.add(endpointKeyOf(p));
    }
    valueReplies += fetched.replies;
    valueTimeouts += fetched.timeouts;
  }

  return {
    infohash,
    seeders: estimate.seeders,
    leechers: estimate.leechers,
    peers: [...peers.values()],
    droppedPeers: dropped.size,
    nodesAnswered: lookup.stats.replies,
    nodesWithFilters: estimate.nodesWithFilters,
    valueQueries,
    valueReplies,
    queries: lookup.stats.queries + valueQueries,
    timeouts: lookup.stats.timeouts + valueTimeouts,
    ms: client.clock.now() - started,
    end: lookup.end,
  };
}

/** A plain get_peers to each node, in parallel; peers from every reply that has values. */
async function fetchValues(
  engine: KrpcEngine,
  infohash: Uint8Array,
  nodes: LookupNode[],
  timeoutMs?: number,
): Promise<{ peers: PeerInfo[]; replies: number; timeouts: number }> {
  const peers: PeerInfo[] = [];
  let replies = 0;
  let timeouts = 0;
  const outcomes = await Promise.all(
    nodes.map((n) =>
      engine.query(n, 'get_peers', { id: engine.id, info_hash: infohash }, { expectId: n.id, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }),
    ),
  );
  for (const out of outcomes) {
    if (!out.ok) {
      if (out.kind === 'timeout') timeouts++;
      continue;
    }
    replies++;
    peers.push(...(out.msg.r.values ?? []));
  }
  return { peers, replies, timeouts };
}

/**
 * Whether the distinct peer IPs collected reach the filters' estimate of the swarm (with the
 * estimate's own slack: a few percent, at least half a peer).
 */
function coversSwarm(peers: Iterable<PeerInfo>, swarm: number): boolean {
  if (!Number.isFinite(swarm)) return false;
  const ips = new Set<string>();
  for (const p of peers) ips.add(p.host);
  return ips.size >= swarm - Math.max(0.5, 0.05 * swarm);
}

