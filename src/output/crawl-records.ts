// Views of a crawl: its infohash records, the status line, the summary as a key-value block and
// as the JSON summary line.
import type { TestnetResult } from '../core/crawl/sim-crawl.js';
import type { CrawlInfohash, CrawlStats, CrawlSummary, CrawlWaiting } from '../core/crawl/types.js';
import { toHex } from '../core/wire/hex.js';
import { formatDuration } from '../cli/duration.js';
import { percent } from './records.js';
import type { KeyValue } from './table.js';

/** One infohash new in the run, as `crawl --json` prints it (docs/output.md, crawl). */
export type CrawlInfohashRecord = {
  infohash: string;
  /** ISO time of the sighting. */
  first_seen: string;
  in_db_before: boolean;
  source_id: string;
  source_addr: string;
  source_client: string | null;
  source_version_hex: string;
};

export function crawlInfohashRecord(r: CrawlInfohash): CrawlInfohashRecord {
  return {
    infohash: toHex(r.infohash),
    first_seen: new Date(r.seenAt).toISOString(),
    in_db_before: r.inDbBefore,
    source_id: r.sourceId ? toHex(r.sourceId) : '',
    source_addr: r.sourceAddr ?? '',
    source_client: r.sourceClient ?? null,
    source_version_hex: r.sourceVersionHex ?? '',
  };
}

/** The text line of an infohash (without --json): its hex, for piping into scrape. */
export function crawlInfohashLine(r: CrawlInfohash): string {
  return `${toHex(r.infohash)}\n`;
}

export function crawlStatusLine(s: CrawlStats, extra: CrawlProgressExtra = {}): string {
  const pct = Math.round(s.progress * 1000) / 10;
  const rate = s.duration_ms > 0 ? Math.round((s.queries_sent * 1000) / s.duration_ms) : 0;
  const p = s.pacing;
  // after the sweep the line says what the crawl still waits for, never a silent 100%
  const head = s.waiting ? `${s.strategy} ${pct}% | waiting for ${waitingText(s.waiting)}` : `${s.strategy} ${pct}%`;
  const found = s.new_infohashes !== null ? `${s.unique_infohashes} infohashes (${s.new_infohashes} new)` : `${s.unique_infohashes} infohashes`;
  const meta = extra.metadataFetched !== undefined ? ` | ${extra.metadataFetched} metadata fetched` : '';
  return `${head} | ${s.nodes_queried} nodes queried, ${s.nodes_answered_sample} sampled | ${found}${meta} | ${s.queries_sent} queries (${rate}/s, now ${Math.round(p.queries_per_s)}/s; window ${p.window}, timeout ${Math.round(p.timeout_ms)} ms) | ${formatDuration(s.duration_ms)}`;
}

export interface CrawlProgressExtra {
  /** Metadata fetched so far (crawl --metadata). */
  metadataFetched?: number;
}

function waitingText(w: CrawlWaiting): string {
  const next = w.next_in_ms === null ? '' : `, next in ${formatDuration(w.next_in_ms)}`;
  if (w.for === 'bep51_interval') return `the BEP 51 interval of ${w.nodes} ${w.nodes === 1 ? 'node' : 'nodes'}${next}`;
  return `${w.nodes} ${w.nodes === 1 ? 'node' : 'nodes'} (${w.for})${next}`;
}

/** The figures of a crawl's `progress` lines under --json (docs/output.md, Progress). */
export function crawlProgressFigures(s: CrawlStats, extra: CrawlProgressExtra = {}): Record<string, unknown> {
  return {
    pass: s.progress,
    nodes_queried: s.nodes_queried,
    nodes_sampled: s.nodes_answered_sample,
    unique_infohashes: s.unique_infohashes,
    ...(s.new_infohashes !== null ? { new_infohashes: s.new_infohashes } : {}),
    ...(extra.metadataFetched !== undefined ? { metadata_fetched: extra.metadataFetched } : {}),
    queries_sent: s.queries_sent,
    queries_per_s: s.pacing.queries_per_s,
    in_flight: s.in_flight,
    window: s.pacing.window,
    ...(s.waiting ? { waiting: s.waiting } : {}),
  };
}

/**
 * The summary's JSON fields. Figures with no meaning in this run are left out rather than null:
 * without a database, `new_infohashes` and `queries_per_new_infohash`; with no answer to count,
 * `bep51_rate`; before any node was visited, the per-node memory figure.
 */
export function crawlSummaryRecord(s: CrawlSummary, database: boolean): Record<string, unknown> {
  const leaveOut = new Set<string>();
  if (!database) leaveOut.add('new_infohashes').add('queries_per_new_infohash');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    if (value === null || leaveOut.has(key)) continue;
    out[key] = key === 'memory' || key === 'pacing' ? Object.fromEntries(Object.entries(value as object).filter(([, v]) => v !== null)) : value;
  }
  return out;
}

function pct(x: number | null): string | null {
  return x === null ? null : percent(x);
}

/** Key-value lines of the summary; renderKeyValues leaves out the null ones. */
export function crawlSummaryPairs(s: CrawlSummary): KeyValue[] {
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
    ['new to the database', s.new_infohashes],
    ['queries sent', s.queries_sent],
    // Without a database "new" would only mean "found": the figure is left out.
    ['queries per new infohash', s.new_infohashes === null ? null : s.queries_per_new_infohash],
    ['clients', clients || null],
    ['duration', formatDuration(s.duration_ms)],
    ['state saved for --resume', s.state_saved ? 'yes' : 'no'],
  ];
}

export function testnetPairs(r: TestnetResult): KeyValue[] {
  return [
    ['simulated nodes', r.world.nodes],
    ['infohash recall', `${percent(r.recall.infohash_recall)} (${r.recall.infohashes_found} of ${r.recall.infohashes_reachable} reachable, ${r.recall.infohashes_total} stored)`],
    ['BEP 51 nodes sampled', `${percent(r.recall.bep51_node_recall)} (${r.recall.bep51_nodes_sampled} of ${r.recall.bep51_nodes_responsive})`],
    ['queries per distinct node', r.traffic.queries_per_distinct_node],
    ['simulated time', formatDuration(r.virtual_ms)],
    ['wall time', formatDuration(r.wall_ms)],
  ];
}
