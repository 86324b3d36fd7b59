// The StrategyContext a crawl engine hands its strategy: the routing table's closest nodes and
// lookups of the crawl's family, the sanitizer's verdicts, BEP 51 intervals, seeded helpers (and
// what plugins would otherwise copy: key parts, a contact index, endpoint keys).
import { randomFillSync } from 'node:crypto';
import type { DhtClient } from '../dht/dht-client.js';
import { commonPrefixBits, compareDistance, randomIdInPrefix } from '../dht/node-id.js';
import type { Prng } from '../net/prng.js';
import { toHex } from '../wire/hex.js';
import type { Family, NodeInfo } from '../wire/types.js';
import { endpointKey } from '../net/endpoint-key.js';
import { PrefixContactIndex } from './contact-index.js';
import { KeyRangePart } from './key-range.js';
import type { Sanitizer } from './sanitizer.js';
import type { CrawlNode, StrategyContext, StrategyHelpers } from './strategy.js';

/**
 * The crawl sends every query once (no retries), its lookups too: they only seed the
 * traversal, which meets a node whose answer came late again anyway.
 */
export const CRAWL_LOOKUP_RETRIES = 0;

export interface StrategyContextParts {
  node: DhtClient;
  family: Family;
  sanitizer: Sanitizer;
  prng: Prng;
  minIntervalS?: number;
  /** Engine clock ms from which a node may be sampled again. */
  sampleAllowedAt(n: CrawlNode): number;
  /** Query slots free now. */
  slots(): number;
  log(text: string): void;
}

export function buildStrategyContext(p: StrategyContextParts): StrategyContext {
  const { prng, family, node, sanitizer } = p;
  const randomId = (): Uint8Array => prng.bytes(20);
  const helpers = buildStrategyHelpers({
    randomId,
    randomIdInPrefix: (prefix, bits) => randomIdInPrefix(prefix, bits, randomId),
    compareDistance,
    commonPrefixBits,
    toHex,
    random: () => prng.next(),
  });
  const table = node.table;
  const toCrawlNode = (e: NodeInfo): CrawlNode => ({ id: Uint8Array.from(e.id), host: e.host, port: e.port, family: e.family });
  return {
    now: () => node.clock.now(),
    helpers,
    family,
    closestKnown: (target, count) =>
      table
        .closest(target, count, (e) => e.family === family && table.stateOf(e) !== 'bad' && sanitizer.allowed(e.host, e.port))
        .map(toCrawlNode),
    lookup: async (target) => {
      const r = await node.findNode(target, { families: [family], retries: CRAWL_LOOKUP_RETRIES });
      return r.closest.map(toCrawlNode);
    },
    allowed: (n) => n.family === family && sanitizer.allowed(n.host, n.port),
    ...(p.minIntervalS !== undefined ? { minIntervalS: p.minIntervalS } : {}),
    sampleAllowedAt: p.sampleAllowedAt,
    log: p.log,
    slots: p.slots,
  };
}

/** The helpers a context's randomness and id functions come with; the rest are built on them. */
export type BaseStrategyHelpers = Omit<StrategyHelpers, 'keyPart' | 'contactIndex' | 'endpointKey'>;

/**
 * All the helpers a strategy gets: `base` plus key parts drawing their ids from base's randomness,
 * contact indexes and endpoint keys, so plugins need no copies of these.
 */
export function buildStrategyHelpers(base: BaseStrategyHelpers): StrategyHelpers {
  return {
    ...base,
    keyPart: (range) => new KeyRangePart(range, base),
    contactIndex: (capacity) => new PrefixContactIndex(capacity),
    endpointKey,
  };
}

/** A random PRNG seed, for runs not asked to be deterministic. */
export function randomSeed(): number {
  const b = new Uint32Array(1);
  randomFillSync(b);
  return b[0];
}
