// Human views of crawl statistics: the status line and the summary table.
import type { TestnetResult } from '../core/crawl/testnet.js';
import type { CrawlStats, CrawlSummary } from '../core/crawl/types.js';
import { formatDuration } from '../cli/duration.js';

export function crawlStatusLine(s: CrawlStats): string {
  const pct = Math.round(s.progress * 1000) / 10;
  const rate = s.duration_ms > 0 ? Math.round((s.queries_sent * 1000) / s.duration_ms) : 0;
  return `${s.strategy} ${pct}% | ${s.nodes_queried} nodes queried, ${s.nodes_answered_sample} sampled | ${s.unique_infohashes} infohashes | ${s.queries_sent} queries (${rate}/s) | ${formatDuration(s.duration_ms)}`;
}

function pct(x: number | null): string {
  return x === null ? '-' : `${Math.round(x * 1000) / 10}%`;
}

export function crawlSummaryPairs(s: CrawlSummary): Array<[string, string | number]> {
  const clients = Object.entries(s.clients)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([c, n]) => `${c}: ${n}`)
    .join(', ');
  const families = Object.entries(s.by_family ?? {});
  // one family: which one; several: a line each (what crawled there, and how it ended)
  const perFamily: Array<[string, string | number]> =
    families.length === 1
      ? [['family', `IPv${families[0][0]}`]]
      : families.map(([f, x]) => [
          `IPv${f}`,
          `${x.nodes_answered} nodes answered, ${x.nodes_answered_sample} sampled, ${x.unique_infohashes} infohashes, ${x.queries_sent} queries, ${x.stopped_by}`,
        ]);
  return [
    ['strategy', s.strategy],
    ['stopped by', s.stopped_by + (s.resumed ? ' (resumed)' : '')],
    ...perFamily,
    ['nodes seen', s.nodes_seen],
    ['nodes queried', s.nodes_queried],
    ['nodes answered', s.nodes_answered],
    ['answered sample_infohashes', s.nodes_answered_sample],
    ['BEP 51 support rate', pct(s.bep51_rate)],
    ['unique infohashes', s.unique_infohashes],
    ['new to the database', s.new_infohashes ?? '-'],
    ['queries sent', s.queries_sent],
    ['queries per new infohash', s.queries_per_new_infohash === null ? '-' : Math.round(s.queries_per_new_infohash * 100) / 100],
    ['clients', clients || '-'],
    ['duration', formatDuration(s.duration_ms)],
    ['state saved for --resume', s.state_saved ? 'yes' : 'no'],
  ];
}

export function testnetPairs(r: TestnetResult): Array<[string, string | number]> {
  return [
    ['simulated nodes', r.world.nodes],
    ['infohash recall', `${pct(r.recall.infohash_recall)} (${r.recall.infohashes_found} of ${r.recall.infohashes_reachable} reachable, ${r.recall.infohashes_total} stored)`],
    ['BEP 51 nodes sampled', `${pct(r.recall.bep51_node_recall)} (${r.recall.bep51_nodes_sampled} of ${r.recall.bep51_nodes_responsive})`],
    ['queries per distinct node', Math.round(r.traffic.queries_per_distinct_node * 100) / 100],
    ['simulated time', formatDuration(r.virtual_ms)],
    ['wall time', formatDuration(r.wall_ms)],
  ];
}
