// The one-call entry point for commands: a crawl from a session (or a DhtClient), a strategy name
// or instance, the address families, limits and sinks.
import type { DhtClient } from '../dht/dht-client.js';
import type { Family } from '../wire/types.js';
import { CRAWL_DEFAULTS } from './defaults.js';
import type { CrawlEngine } from './engine.js';
import type { CrawlEngineOptions } from './engine-options.js';
import { FamilyCrawl } from './families.js';
import { DEFAULT_STRATEGY, strategies, type StrategyRegistry } from './registry.js';
import type { KeyRange, Strategy } from './strategy.js';
import type { CrawlStats, CrawlSummary } from './types.js';

export interface CreateCrawlOptions extends Omit<CrawlEngineOptions, 'node' | 'strategy' | 'shared' | 'recordRun'> {
  /** A CLI session (anything with a DhtClient as `node`), or pass `node`. */
  session?: { node: DhtClient };
  node?: DhtClient;
  /**
   * A strategy name looked up in the registry (default 'keyspace'), a factory called once per
   * family, or an instance (one family only: a strategy instance walks one keyspace).
   */
  strategy?: Strategy | string | ((family: Family) => Strategy);
  /** `--strategy-opt key=value` pairs for a strategy built by name. */
  strategyParams?: Record<string, string>;
  /** Default: the process-wide registry (built-ins plus plugins). */
  registry?: StrategyRegistry;
  /** Walk only this part of the keyspace (a lease, or --shard); strategies get it in their options. */
  range?: KeyRange;
  /** Address families to crawl in this run (default [family], i.e. [4]); one engine each. */
  families?: readonly Family[];
}

export interface Crawl {
  run(): Promise<CrawlSummary>;
  /** Ends the crawl soon: in-flight queries are abandoned, state saved for --resume. */
  stop(): void;
  stats(): CrawlStats;
  /** The first family's engine (the only one in a one-family crawl). */
  readonly engine: CrawlEngine;
  /** One engine per family, IPv4 first. */
  readonly engines: readonly CrawlEngine[];
  readonly strategy: Strategy;
}

export function createCrawl(options: CreateCrawlOptions): Crawl {
  const node = options.node ?? options.session?.node;
  if (!node) throw new Error('createCrawl: pass a session or a node');
  const { session: _s, node: _n, strategy: chosen, strategyParams, registry, families: asked, family, range, ...rest } = options;
  const families = asked ?? [family ?? 4];
  const concurrency = rest.concurrency ?? CRAWL_DEFAULTS.concurrency;
  let strategyFor: (family: Family) => Strategy;
  if (typeof chosen === 'function') strategyFor = chosen;
  else if (typeof chosen === 'object' && chosen !== null) {
    if (new Set(families).size > 1) throw new Error('createCrawl: a strategy instance walks one family; pass a name or a factory to crawl several');
    strategyFor = () => chosen;
  } else {
    strategyFor = () => (registry ?? strategies).create(chosen ?? DEFAULT_STRATEGY, { concurrency, params: strategyParams ?? {}, ...(range ? { range } : {}) });
  }
  return new FamilyCrawl({ ...rest, concurrency, node, families, strategyFor });
}
