// A leased crawler walks several ranges, one crawl each; its summary adds them up. Counter tables
// (clients, failures, sanitizer) must be summed too, not copied from the last range.
import { describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { keyspaceDefinition } from '../../../src/core/crawl/keyspace.js';
import { sumRangeSummaries } from '../../../src/core/crawl/leased-crawl.js';
import { attachCrawler, createTestnet, driveCrawl } from '../../../src/core/crawl/sim-crawl.js';
import type { CrawlSummary } from '../../../src/core/crawl/types.js';

async function rangeSummary(index: number): Promise<CrawlSummary> {
  const net = createTestnet({ nodes: 400, infohashes: 200, seed: 70 + index });
  const range = { bits: 1, index };
  const strategy = keyspaceDefinition.create({ concurrency: 32, params: {}, range });
  return driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy, concurrency: 32, seed: index + 1, range }));
}

describe('sumRangeSummaries', () => {
  it('adds counts and counter tables of every range; the pass end says done', async () => {
    const a = await rangeSummary(0);
    const b = await rangeSummary(1);
    expect(Object.keys(a.clients).length).toBeGreaterThan(0);
    const sum = sumRangeSummaries([a, b], 'pass_done');
    expect(sum.queries_sent).toBe(a.queries_sent + b.queries_sent);
    expect(sum.nodes_answered).toBe(a.nodes_answered + b.nodes_answered);
    expect(sum.unique_infohashes).toBe(a.unique_infohashes + b.unique_infohashes);
    for (const k of new Set([...Object.keys(a.clients), ...Object.keys(b.clients)])) {
      expect(sum.clients[k]).toBe((a.clients[k] ?? 0) + (b.clients[k] ?? 0));
    }
    for (const k of Object.keys(a.failures) as (keyof CrawlSummary['failures'])[]) {
      expect(sum.failures[k]).toBe(a.failures[k] + b.failures[k]);
    }
    expect(sum.sanitizer.id_mismatches).toBe(a.sanitizer.id_mismatches + b.sanitizer.id_mismatches);
    expect(sum.interval_skips).toBe(a.interval_skips + b.interval_skips);
    expect(sum.stopped_by).toBe('done');
    expect(sum.bep51_rate).not.toBeNull();
    expect(sum.bep51_rate!).toBeGreaterThanOrEqual(Math.min(a.bep51_rate!, b.bep51_rate!));
    expect(sum.bep51_rate!).toBeLessThanOrEqual(Math.max(a.bep51_rate!, b.bep51_rate!));
  });

  it('a stopped crawler keeps the stop reason of its last range', async () => {
    const a = await rangeSummary(0);
    expect(sumRangeSummaries([{ ...a, stopped_by: 'aborted' }], 'stopped').stopped_by).toBe('aborted');
  });
});
