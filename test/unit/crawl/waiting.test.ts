// After its sweep the keyspace crawl waits out BEP 51 intervals to re-sample nodes whose stores
// were not read whole; its statistics say so, and so does the progress line (never a silent 100%).
import { describe, expect, it } from 'vitest';
import { runTestnetCrawl } from '../../../src/core/crawl/sim-crawl.js';
import type { CrawlStats } from '../../../src/core/crawl/types.js';
import { crawlProgressFigures, crawlStatusLine } from '../../../src/output/crawl-records.js';

describe('what the crawl waits for', () => {
  it('is null during the sweep and names the BEP 51 interval of the nodes to re-sample after it', async () => {
    const seen: CrawlStats[] = [];
    await runTestnetCrawl({ nodes: 3000, seed: 2, strategy: 'keyspace', onProgress: (s) => seen.push(s) });
    const sweeping = seen.filter((s) => s.progress < 1);
    expect(sweeping.length).toBeGreaterThan(0);
    for (const s of sweeping) expect(s.waiting).toBeNull();
    const waiting = seen.find((s) => s.waiting !== null);
    expect(waiting).toBeDefined();
    expect(waiting!.progress).toBe(1);
    expect(waiting!.waiting).toMatchObject({ for: 'bep51_interval' });
    expect(waiting!.waiting!.nodes).toBeGreaterThan(0);
    expect(waiting!.waiting!.next_in_ms).toBeGreaterThanOrEqual(0);

    const line = crawlStatusLine(waiting!);
    expect(line).toMatch(/^keyspace 100% \| waiting for the BEP 51 interval of \d+ nodes, next in \d/);
    const figures = crawlProgressFigures(waiting!, { metadataFetched: 3 });
    expect(figures).toMatchObject({ pass: 1, metadata_fetched: 3, waiting: { for: 'bep51_interval' } });
    expect(crawlStatusLine(sweeping[0])).not.toMatch(/waiting/);
  }, 120_000);
});
