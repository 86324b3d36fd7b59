// The report as one self-contained HTML file: inline CSS and SVG drawn here, no script, no
// external resource, so it opens offline and can be mailed around. A chart whose data the
// database does not hold says so (and which command fills it) instead of drawing an empty frame.
import type { ReportData, ReportRun } from '../../core/store/types.js';
import { percent } from '../records.js';
import { humanSize } from '../text.js';
import { escapeXml } from './escape.js';
import { barChart, compactNumber, heatStrip, hBarChart, lineChart } from './svg-charts.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Clients drawn by name in the census; the rest are summed into one "other" bar. */
const CENSUS_CLIENTS = 12;

export interface ReportOptions {
  /** Shown in the header: which database this is ("crawl.db"). */
  source: string;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function bucketLabel(start: number, bucketMs: number): string {
  const t = new Date(start).toISOString();
  if (bucketMs < HOUR) return t.slice(11, 16);
  if (bucketMs === HOUR) return `${t.slice(5, 10)} ${t.slice(11, 13)}h`;
  return t.slice(0, 10);
}

function bucketName(bucketMs: number): string {
  if (bucketMs < HOUR) return 'minute';
  if (bucketMs === HOUR) return 'hour';
  return 'day';
}

/** Labels of log2 buckets: 0, 1, 2-3, 4-7, ... */
function log2Labels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? '0' : i === 1 ? '1' : `${2 ** (i - 1)}–${2 ** i - 1}`));
}

function section(id: string, heading: string, body: string): string {
  return `<section id="${id}"><h2>${escapeXml(heading)}</h2>${body}</section>`;
}

function missing(what: string, how: string): string {
  return `<p class="missing">${escapeXml(what)} <code>${escapeXml(how)}</code></p>`;
}

function table(headers: string[], rows: Array<Array<string | number>>, numeric: boolean[]): string {
  const th = headers.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeXml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeXml(String(c))}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

function discoverySection(d: ReportData): string {
  const { buckets, bucketMs, before } = d.discovery;
  if (buckets.length === 0) return section('discovery', 'Discovery', missing('No infohashes in this period: run a crawl into this database,', 'bitscrape crawl --db FILE'));
  const categories = buckets.map((b) => bucketLabel(b.start, bucketMs));
  const unit = bucketName(bucketMs);
  let total = before;
  const cumulative = buckets.map((b) => (total += b.count));
  return section(
    'discovery',
    'Discovery',
    barChart({
      title: `New infohashes per ${unit}`,
      kind: 'discovery-new',
      categories,
      series: [{ name: 'new infohashes', values: buckets.map((b) => b.count) }],
      xLabel: `first seen (UTC, one bar per ${unit})`,
      yLabel: `infohashes per ${unit}`,
    }) +
      lineChart({
        title: 'Infohashes known, cumulative',
        kind: 'discovery-cumulative',
        categories,
        values: cumulative,
        xLabel: `first seen (UTC, per ${unit})`,
        yLabel: 'infohashes (total)',
      }),
  );
}

function keyspaceSection(d: ReportData): string {
  const { infohashes, nodesSampled } = d.keyspace;
  if (d.infohashes === 0 && nodesSampled.every((n) => n === 0)) {
    return section('keyspace', 'Keyspace coverage', missing('No infohashes or sampled nodes yet:', 'bitscrape crawl --db FILE'));
  }
  return section(
    'keyspace',
    'Keyspace coverage',
    heatStrip({
      title: 'Keyspace coverage by first byte (256 prefixes)',
      kind: 'keyspace',
      rows: [
        { name: 'infohashes found', cells: infohashes },
        { name: 'nodes sampled', cells: nodesSampled },
      ],
      unit: ['infohashes', 'nodes answered sample_infohashes'],
      xLabel: 'first byte of the infohash / node id (hex); darker is more',
    }),
  );
}

function clientsSection(d: ReportData): string {
  const rate = d.bep51.known > 0 ? d.bep51.supported / d.bep51.known : null;
  const head =
    rate === null
      ? '<p>BEP 51 support: not known yet (no node was asked sample_infohashes).</p>'
      : `<p class="figure"><strong>${percent(rate)}</strong> of ${d.bep51.known.toLocaleString('en-US')} nodes asked answer BEP 51 <code>sample_infohashes</code>.</p>`;
  if (d.clients.length === 0) return section('clients', 'Clients and BEP 51', head + missing('No nodes recorded yet:', 'bitscrape crawl --db FILE'));
  const named = d.clients.slice(0, CENSUS_CLIENTS);
  const rest = d.clients.slice(CENSUS_CLIENTS);
  const rows = named.map((c) => ({ label: c.client ?? 'unknown', values: [c.nodes, c.bep51_nodes] }));
  if (rest.length > 0) {
    rows.push({
      label: `other (${rest.length} clients)`,
      values: [rest.reduce((s, c) => s + c.nodes, 0), rest.reduce((s, c) => s + c.bep51_nodes, 0)],
    });
  }
  return section(
    'clients',
    'Clients and BEP 51',
    head +
      hBarChart({
        title: 'Client versions of the nodes seen (BEP 5 "v")',
        kind: 'clients',
        rows,
        series: ['nodes', 'answer BEP 51'],
        xLabel: 'nodes',
      }),
  );
}

function swarmsSection(d: ReportData): string {
  const s = d.swarms;
  if (s.scraped === 0) return section('swarms', 'Swarm sizes', missing('No scrape results in this database: scrape what the crawl found,', 'bitscrape scrape --from-db --db FILE'));
  const top = table(
    ['infohash', 'seeders', 'leechers', 'peers', 'scraped'],
    s.top.map((t) => [t.infohash, t.seeders, t.leechers, t.peers, iso(t.scraped_at)]),
    [false, true, true, true, false],
  );
  return section(
    'swarms',
    'Swarm sizes',
    barChart({
      title: `Swarm sizes of ${s.scraped.toLocaleString('en-US')} scraped infohashes (BEP 33 estimates)`,
      kind: 'swarms',
      categories: log2Labels(s.seeders.length),
      series: [
        { name: 'seeders', values: s.seeders },
        { name: 'leechers', values: s.leechers },
      ],
      xLabel: 'peers in the swarm (log2 buckets)',
      yLabel: 'infohashes',
    }) + `<h3>Biggest swarms</h3>${top}`,
  );
}

function metadataSection(d: ReportData): string {
  const t = d.torrents;
  if (t.count === 0) return section('metadata', 'Torrents', missing('No torrent metadata in this database (names, sizes, file types): fetch it with', 'bitscrape metadata --from-db --db FILE'));
  const head = `<p class="figure"><strong>${t.count.toLocaleString('en-US')}</strong> torrents named, ${escapeXml(humanSize(t.total_size))} in all.</p>`;
  const chart = hBarChart({
    title: 'File types by size (the 15 largest)',
    kind: 'file-types',
    rows: t.fileTypes.map((f) => ({ label: f.ext === '' ? '(no extension)' : `.${f.ext}`, values: [f.bytes] })),
    series: ['bytes'],
    xLabel: 'bytes in files of this type',
  });
  const rows = (list: ReportData['torrents']['largest']): Array<Array<string | number>> =>
    list.map((r) => [r.name, humanSize(r.total_size), r.file_count, r.seeders ?? '', r.leechers ?? '', r.infohash]);
  const headers = ['name', 'size', 'files', 'seeders', 'leechers', 'infohash'];
  const numeric = [false, true, true, true, true, false];
  const best =
    t.bestSeeded.length > 0
      ? `<h3>Best seeded</h3>${table(headers, rows(t.bestSeeded), numeric)}`
      : missing('No scrape results for these torrents: scrape them for the best-seeded list,', 'bitscrape scrape --from-db --db FILE');
  return section('metadata', 'Torrents', head + chart + `<h3>Largest</h3>${table(headers, rows(t.largest), numeric)}` + best);
}

function runField(r: ReportRun, key: string): string {
  const v = r.summary?.[key];
  return typeof v === 'number' ? v.toLocaleString('en-US') : typeof v === 'string' ? v : '';
}

function runsSection(d: ReportData): string {
  if (d.runs.length === 0) return section('runs', 'Crawl runs', missing('No crawl run recorded:', 'bitscrape crawl --db FILE'));
  return section(
    'runs',
    'Crawl runs',
    table(
      ['started', 'strategy', 'stopped by', 'queries', 'infohashes', 'new', 'BEP 51 rate'],
      d.runs.map((r) => {
        const rate = r.summary?.['bep51_rate'];
        return [
          iso(r.started_at),
          r.strategy,
          r.summary ? runField(r, 'stopped_by') : r.ended_at === null ? 'did not end' : '',
          runField(r, 'queries_sent'),
          runField(r, 'unique_infohashes'),
          runField(r, 'new_infohashes'),
          typeof rate === 'number' ? percent(rate) : '',
        ];
      }),
      [false, false, false, true, true, true, true],
    ),
  );
}

const CSS = `
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 16px}
h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}.figure{font-size:1.05em}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:150px}
.card b{display:block;font-size:1.5em}
svg.chart{display:block;max-width:100%;height:auto;margin:12px 0}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}
.missing{background:#fafafa;border:1px dashed #bbb;padding:12px;color:#555}
code{background:#f1f1f1;padding:1px 4px;border-radius:3px}`;

export function renderReport(d: ReportData, opts: ReportOptions): string {
  const rate = d.bep51.known > 0 ? percent(d.bep51.supported / d.bep51.known) : 'not known';
  const cards = [
    ['infohashes', compactNumber(d.infohashes)],
    ['nodes', compactNumber(d.nodes)],
    ['BEP 51 support', rate],
    ['scraped', compactNumber(d.swarms.scraped)],
    ['torrents named', compactNumber(d.torrents.count)],
    ['crawl runs', String(d.runs.length)],
  ]
    .map(([k, v]) => `<div class="card"><b>${escapeXml(v)}</b>${escapeXml(k)}</div>`)
    .join('');
  const period = d.since === null ? 'everything in the database' : `since ${iso(d.since)}`;
  const empty = d.infohashes === 0 && d.nodes === 0 && d.runs.length === 0;
  const body = empty
    ? `<p class="missing">This database holds nothing ${d.since === null ? 'yet' : 'for this period'}: no infohashes, no nodes, no crawl runs. Run <code>bitscrape crawl --db FILE</code> first, then make the report again.</p>`
    : discoverySection(d) + keyspaceSection(d) + clientsSection(d) + swarmsSection(d) + metadataSection(d) + runsSection(d);
  return (
    '<!doctype html>\n' +
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>bitscrape report: ${escapeXml(opts.source)}</title><style>${CSS}</style></head><body>` +
    `<h1>bitscrape report</h1><p class="meta">${escapeXml(opts.source)} · ${escapeXml(period)} · made ${iso(d.generatedAt)}</p>` +
    `<div class="cards">${cards}</div>${body}</body></html>\n`
  );
}
