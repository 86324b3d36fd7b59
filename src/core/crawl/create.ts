// The one-call entry point for commands: a crawl from a session (or a DhtNode), a strategy name
// or instance, limits and sinks.
import type { DhtNode } from '../dht/dht-node.js';
import { CrawlEngine, type CrawlEngineOptions } from './engine.js';
import { DEFAULT_STRATEGY, strategies, type StrategyRegistry } from './registry.js';
import type { Strategy } from './strategy.js';
import type { CrawlStats, CrawlSummary } from './types.js';

export interface CreateCrawlOptions extends Omit<CrawlEngineOptions, 'node' | 'strategy'> {
  /** A CLI session (anything with a DhtNode as `node`), or pass `node`. */
  session?: { node: DhtNode };
  node?: DhtNode;
  /** A strategy, or a name looked up in the registry (default 'keyspace'). */
  strategy?: Strategy | string;
  /** `--strategy-opt key=value` pairs for a strategy built by name. */
  strategyParams?: Record<string, string>;
  /** Default: the process-wide registry (built-ins plus plugins). */
  registry?: StrategyRegistry;
}

export interface Crawl {
  run(): Promise<CrawlSummary>;
  /** Ends the crawl soon: in-flight queries are abandoned, state saved for --resume. */
  stop(): void;
  stats(): CrawlStats;
  readonly engine: CrawlEngine;
  readonly strategy: Strategy;
}

export function createCrawl(options: CreateCrawlOptions): Crawl {
  const node = options.node ?? options.session?.node;
  if (!node) throw new Error('createCrawl: pass a session or a node');
  const { session: _s, node: _n, strategy: chosen, strategyParams, registry, ...rest } = options;
  const concurrency = rest.concurrency ?? 16;
  const strategy =
    typeof chosen === 'object' && chosen !== null
      ? chosen
      : (registry ?? strategies).create(chosen ?? DEFAULT_STRATEGY, { concurrency, params: strategyParams ?? {} });
  const engine = new CrawlEngine({ ...rest, concurrency, node, strategy });
  return {
    run: () => engine.run(),
    stop: () => engine.stop('stopped'),
    stats: () => engine.stats(),
    engine,
    strategy,
  };
}
