// The two strategy plugins crawl a network of real libtorrent 2.0.8 nodes on loopback, through
// the crawl engine over UDP on real time (the same code path `crawl --strategy NAME` takes).
import { afterEach, describe, expect, it } from 'vitest';
import { openSession, type DhtSession } from '../../src/cli/dht-session.js';
import { createCrawl } from '../../src/core/crawl/create.js';
import { STRATEGY_API_VERSION, type StrategiesHook } from '../../src/cli/strategy-plugins.js';
import type { Strategy, StrategyDefinition } from '../../src/core/crawl/strategy.js';
import type { CrawlSummary } from '../../src/core/crawl/types.js';
import { sharedLibtorrent } from './harness/shared.js';

/** The plugin's strategy as `crawl` gets it: from the package's `strategies` hook. */
async function pluginStrategy(dir: string): Promise<StrategyDefinition> {
  const hook = (await import(new URL(`../../plugins/${dir}/lib/hooks/strategies.js`, import.meta.url).href)) as { default: StrategiesHook };
  const [def] = await hook.default({ api: STRATEGY_API_VERSION });
  return def;
}

let session: DhtSession | undefined;
afterEach(async () => {
  await session?.close({ save: false });
  session = undefined;
});

async function crawlLibtorrent(strategy: Strategy, durationMs: number): Promise<{ summary: CrawlSummary; found: Set<string>; announced: Set<string> }> {
  const lt = sharedLibtorrent();
  session = await openSession(
    { bootstrap: [lt.bootstrap[0]], fresh: true, timeout: 1000, port: 0, rate: 500, 'allow-private': false },
    { readOnly: true },
  );
  const found = new Set<string>();
  const crawl = createCrawl({ session, strategy, concurrency: 8, limits: { durationMs }, onInfohash: (r) => found.add(r.infohash) });
  const summary = await crawl.run();
  return { summary, found, announced: new Set(lt.infohashes.map((ih) => ih.info_hash)) };
}

describe('strategy plugins on a libtorrent network', () => {
  it('random-target samples libtorrent nodes and finds announced infohashes', async () => {
    const strategy = (await pluginStrategy('random-target')).create({ concurrency: 8, params: { rotate: '0.5', k: '4', rounds: '12' } });
    const { summary, found, announced } = await crawlLibtorrent(strategy, 20_000);
    expect(['done', 'duration']).toContain(summary.stopped_by);
    expect(summary.nodes_answered_sample).toBeGreaterThanOrEqual(8);
    expect(summary.clients['LT 2.0.8']).toBeGreaterThanOrEqual(8);
    for (const ih of found) expect(announced.has(ih), `${ih} was never announced`).toBe(true);
    expect(found.size).toBeGreaterThanOrEqual(announced.size / 2);
  }, 40_000);

  it('multi-table samples the libtorrent nodes and finds most announced infohashes', async () => {
    const strategy = (await pluginStrategy('multi-table')).create({ concurrency: 8, params: { tables: '3', k: '4', window: '6', 'tables-total': '12' } });
    const { summary, found, announced } = await crawlLibtorrent(strategy, 20_000);
    expect(['done', 'duration']).toContain(summary.stopped_by);
    expect(summary.nodes_answered_sample).toBeGreaterThanOrEqual(15);
    for (const ih of found) expect(announced.has(ih), `${ih} was never announced`).toBe(true);
    expect(found.size).toBeGreaterThanOrEqual(announced.size * 0.8);
  }, 40_000);
});
