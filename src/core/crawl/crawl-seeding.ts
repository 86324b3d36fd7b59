// Before a crawl's pump starts: fill a thin routing table, restore a saved traversal (--resume)
// and seed the strategy, each only while the crawl has not been stopped.
import type { DhtClient } from '../dht/dht-client.js';
import type { Family } from '../wire/types.js';
import type { CrawlCheckpoints } from './checkpoint.js';
import type { Strategy, StrategyContext } from './strategy.js';
import { CRAWL_LOOKUP_RETRIES } from './strategy-context.js';

export interface SeedingParts {
  node: DhtClient;
  family: Family;
  strategy: Strategy;
  ctx: StrategyContext;
  /** Bootstrap first when the table holds fewer nodes of the family than this (0 never). */
  bootstrapBelow: number;
  /** Restore from these (--resume); absent without a store or without --resume. */
  checkpoints: CrawlCheckpoints | undefined;
  stopped(): boolean;
}

/** What the seeding got to; written as it goes, since the engine may stop without waiting for it. */
export interface SeedingState {
  resumed: boolean;
  seeded: boolean;
}

export async function seedCrawl(p: SeedingParts, state: SeedingState): Promise<void> {
  const below = p.bootstrapBelow;
  if (!p.stopped() && below > 0 && familyTableSize(p.node, p.family, below) < below) {
    await p.node.bootstrapTable({ families: [p.family], retries: CRAWL_LOOKUP_RETRIES });
  }
  if (!p.stopped() && p.checkpoints) state.resumed = await p.checkpoints.restore(p.ctx);
  if (!p.stopped()) {
    await p.strategy.seed(p.ctx);
    state.seeded = true;
  }
}

/** Routing-table nodes of the crawl's family (a table may hold both), counted up to `enough`. */
function familyTableSize(node: DhtClient, family: Family, enough: number): number {
  const table = node.table;
  return table.closest(table.id, enough, (e) => e.family === family).length;
}
