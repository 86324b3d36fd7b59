// The aggregates `bitscrape report` draws, computed in SQLite: a report of a database with
// millions of infohashes reads grouped counts, never the rows themselves (the swarm histogram
// streams the scraped rows once, with constant memory).
import type Database from 'better-sqlite3';
import { reportRun, type StoredRun } from './run-rows.js';
import type { ReportData, ReportDiscovery, ReportQuery, ReportRun, ReportSwarm, ReportTorrent, ReportTorrents } from './types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Fewer bars than this at hourly width and the chart switches to minutes (a short crawl). */
const MIN_BARS = 3;
/** More bars than this at hourly width and it switches to days. */
const MAX_HOURLY_BARS = 24 * 14;

/** Width of one discovery bar for data spanning `spanMs`. */
export function discoveryBucket(spanMs: number): number {
  if (spanMs < MIN_BARS * HOUR) return MINUTE;
  if (spanMs > MAX_HOURLY_BARS * HOUR) return DAY;
  return HOUR;
}

/** Bucket index for a count: 0, 1, 2-3, 4-7, ... (bucket i >= 1 holds [2^(i-1), 2^i)). */
export function log2Bucket(n: number): number {
  return n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1;
}

function addAt(counts: number[], index: number): void {
  while (counts.length <= index) counts.push(0);
  counts[index]++;
}

function discovery(db: Database.Database, since: number | null): ReportDiscovery {
  const span = db
    .prepare('SELECT min(first_seen) AS lo, max(first_seen) AS hi FROM infohashes WHERE first_seen >= ?')
    .get(since ?? Number.MIN_SAFE_INTEGER) as { lo: number | null; hi: number | null };
  const before = since === null ? 0 : (db.prepare('SELECT count(*) AS n FROM infohashes WHERE first_seen < ?').get(since) as { n: number }).n;
  if (span.lo === null || span.hi === null) return { bucketMs: HOUR, buckets: [], before };
  const bucketMs = discoveryBucket(span.hi - span.lo);
  const first = Math.floor(span.lo / bucketMs);
  const last = Math.floor(span.hi / bucketMs);
  const buckets = Array.from({ length: last - first + 1 }, (_, i) => ({ start: (first + i) * bucketMs, count: 0 }));
  const rows = db
    .prepare('SELECT first_seen / ? AS b, count(*) AS n FROM infohashes WHERE first_seen >= ? GROUP BY b')
    .all(bucketMs, span.lo) as Array<{ b: number; n: number }>;
  // Integer division in SQLite truncates toward zero; times before 1970 do not occur here.
  for (const r of rows) buckets[Math.floor(r.b) - first].count += r.n;
  return { bucketMs, buckets, before };
}

function perPrefix(db: Database.Database, sql: string, since: number): number[] {
  const cells = new Array<number>(256).fill(0);
  for (const r of db.prepare(sql).all(since) as Array<{ p: string | null; n: number }>) {
    if (r.p !== null && r.p.length === 2) cells[parseInt(r.p, 16)] += r.n;
  }
  return cells;
}

function swarms(db: Database.Database, since: number, top: number): ReportData['swarms'] {
  const seeders: number[] = [];
  const leechers: number[] = [];
  let scraped = 0;
  const rows = db
    .prepare('SELECT seeders, leechers FROM infohashes WHERE scraped_at IS NOT NULL AND first_seen >= ?')
    .iterate(since) as IterableIterator<{ seeders: number | null; leechers: number | null }>;
  for (const r of rows) {
    scraped++;
    addAt(seeders, log2Bucket(r.seeders ?? 0));
    addAt(leechers, log2Bucket(r.leechers ?? 0));
  }
  const width = Math.max(seeders.length, leechers.length);
  while (seeders.length < width) seeders.push(0);
  while (leechers.length < width) leechers.push(0);
  const biggest = db
    .prepare(
      `SELECT lower(hex(infohash)) AS infohash, coalesce(seeders, 0) AS seeders, coalesce(leechers, 0) AS leechers,
         coalesce(peers, 0) AS peers, scraped_at
       FROM infohashes WHERE scraped_at IS NOT NULL AND first_seen >= ?
       ORDER BY coalesce(seeders, 0) + coalesce(leechers, 0) DESC, peers DESC, infohash LIMIT ?`,
    )
    .all(since, top) as ReportSwarm[];
  return { scraped, seeders, leechers, top: biggest };
}

function runs(db: Database.Database, since: number): ReportRun[] {
  const rows = db
    .prepare('SELECT started_at, ended_at, strategy, summary FROM runs WHERE started_at >= ? ORDER BY started_at DESC LIMIT 50')
    .all(since) as StoredRun[];
  return rows.map(reportRun);
}

/** How many torrent rows the report's tables show, and file types in the chart. */
export const REPORT_TOP_TORRENTS = 15;
export const REPORT_FILE_TYPES = 15;

function torrents(db: Database.Database, since: number): ReportTorrents {
  const scope = 'FROM torrents t JOIN infohashes i ON i.infohash = t.infohash WHERE i.first_seen >= ?';
  const cols = `lower(hex(t.infohash)) AS infohash, t.name, t.total_size, t.file_count, i.seeders, i.leechers`;
  const totals = db.prepare(`SELECT count(*) AS count, coalesce(sum(t.total_size), 0) AS total_size ${scope}`).get(since) as { count: number; total_size: number };
  const largest = db.prepare(`SELECT ${cols} ${scope} ORDER BY t.total_size DESC, t.infohash LIMIT ?`).all(since, REPORT_TOP_TORRENTS) as ReportTorrent[];
  const bestSeeded = db
    .prepare(`SELECT ${cols} ${scope} AND i.seeders IS NOT NULL ORDER BY i.seeders DESC, i.leechers DESC, t.infohash LIMIT ?`)
    .all(since, REPORT_TOP_TORRENTS) as ReportTorrent[];
  // the extension: what follows the last '.', when that is short and holds no '/'
  const fileTypes = db
    .prepare(
      `WITH f AS (
         SELECT files.length, CASE WHEN instr(files.path, '.') = 0 THEN ''
           ELSE lower(replace(files.path, rtrim(files.path, replace(files.path, '.', '')), '')) END AS ext
         FROM files JOIN torrents t ON t.rowid = files.torrent JOIN infohashes i ON i.infohash = t.infohash
         WHERE i.first_seen >= ?)
       SELECT CASE WHEN length(ext) > 10 OR instr(ext, '/') > 0 OR instr(ext, ' ') > 0 THEN '' ELSE ext END AS ext,
         sum(length) AS bytes, count(*) AS files
       FROM f GROUP BY 1 ORDER BY bytes DESC LIMIT ?`,
    )
    .all(since, REPORT_FILE_TYPES) as Array<{ ext: string; bytes: number; files: number }>;
  return { ...totals, largest, bestSeeded, fileTypes };
}

/** Every aggregate of the report, read in one transaction so the charts agree with each other. */
export function readReportData(db: Database.Database, query: ReportQuery = {}, now = Date.now()): ReportData {
  const since = query.since ?? null;
  const from = since ?? Number.MIN_SAFE_INTEGER;
  return db.transaction((): ReportData => {
    const counts = db
      .prepare('SELECT (SELECT count(*) FROM infohashes WHERE first_seen >= ?) AS ih, (SELECT count(*) FROM nodes WHERE last_seen >= ?) AS nodes')
      .get(from, from) as { ih: number; nodes: number };
    const bep = db
      .prepare('SELECT count(bep51) AS known, coalesce(sum(bep51 = 1), 0) AS supported FROM nodes WHERE last_seen >= ?')
      .get(from) as { known: number; supported: number };
    const clients = db
      .prepare(
        `SELECT client, count(*) AS nodes, coalesce(sum(bep51 = 1), 0) AS bep51_nodes FROM nodes
         WHERE last_seen >= ? GROUP BY client ORDER BY nodes DESC, client IS NULL, client`,
      )
      .all(from) as ReportData['clients'];
    return {
      generatedAt: now,
      since,
      infohashes: counts.ih,
      nodes: counts.nodes,
      discovery: discovery(db, since),
      keyspace: {
        infohashes: perPrefix(db, 'SELECT hex(substr(infohash, 1, 1)) AS p, count(*) AS n FROM infohashes WHERE first_seen >= ? GROUP BY p', from),
        nodesSampled: perPrefix(
          db,
          'SELECT hex(substr(id, 1, 1)) AS p, count(*) AS n FROM nodes WHERE id IS NOT NULL AND last_sampled IS NOT NULL AND last_seen >= ? GROUP BY p',
          from,
        ),
      },
      bep51: bep,
      clients,
      swarms: swarms(db, from, query.topSwarms ?? 20),
      runs: runs(db, from),
      torrents: torrents(db, from),
    };
  })();
}
