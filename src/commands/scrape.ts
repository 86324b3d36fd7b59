import { Args, Flags } from '@oclif/core';
import { BaseCommand, durationFlag, type InputLine } from '../cli/base-command.js';
import { dhtFlags, openSession, type DhtSession } from '../cli/dht-session.js';
import { formatDuration } from '../cli/duration.js';
import { BadInputError, CliError, NothingFoundError } from '../cli/errors.js';
import { where } from '../cli/endpoint-input.js';
import { distinctInfohashes } from '../cli/infohash-input.js';
import { StoreWriteError, type ScrapeRecord } from '../core/store/index.js';
import { openStore } from '../cli/store.js';
import { MAX_SCRAPE_LIMIT, atMost } from '../cli/ceilings.js';
import {
  DEFAULT_SCRAPE_CONCURRENCY,
  answered,
  peerList,
  roundEstimate,
  scrapeMany,
  scrapeRecord,
  scrapeRow,
  type ScrapeResult,
} from '../core/scrape/scrape-many.js';
import { toHex } from '../core/wire/hex.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderTable, type Column } from '../output/table.js';
import { jsonLine } from '../output/records.js';
import { fanOutAbortController } from '../core/util/fan-out-abort.js';

const STREAM_COLUMNS: Array<[string, number]> = [
  ['infohash', -40],
  ['seeders', 8],
  ['leechers', 8],
  ['peers', 6],
  ['nodes', 6],
  ['ms', 6],
];
const STREAM_HEADER = STREAM_COLUMNS.map(([h, w]) => (w < 0 ? h.padEnd(-w) : h.padStart(w))).join('  ');

/** One result as a fixed-width line under STREAM_HEADER (and its peers, space-separated, with --peers). */
function streamLine(r: ScrapeResult, withPeers: boolean): string {
  const cells = [toHex(r.infohash), estimateText(r.seeders), estimateText(r.leechers), String(r.peers.length), String(r.nodesAnswered), String(Math.round(r.ms))];
  const line = cells.map((c, i) => (STREAM_COLUMNS[i][1] < 0 ? c.padEnd(-STREAM_COLUMNS[i][1]) : c.padStart(STREAM_COLUMNS[i][1]))).join('  ');
  return withPeers ? `${line}  ${peerList(r).join(' ')}`.trimEnd() : line;
}

/** Database rows are written in transactions of this many results. */
const DB_BATCH = 50;
/** Peers shown per infohash in the human table (--peers); NDJSON lists them all. */
const TABLE_PEERS = 20;

interface Tally {
  infohashes: number;
  answered: number;
  withPeers: number;
  droppedPeers: number;
  badInputs: number;
  duplicates: number;
  queries: number;
  dbUpdated: number;
}

export default class Scrape extends BaseCommand {
  static override description =
    'BEP 33 scrape: estimated seeders and leechers, and the peers, of many infohashes (arguments, stdin or the crawl database)';
  static override examples = [
    '<%= config.bin %> scrape 0123456789abcdef0123456789abcdef01234567 --peers',
    '<%= config.bin %> crawl --json | <%= config.bin %> scrape - --json',
    '<%= config.bin %> scrape --from-db --older-than 6h --limit 1000',
  ];
  static override strict = false;
  static override args = {
    infohash: Args.string({
      description: '40-hex infohash or magnet link (btih: 40 hex or 32 base32); - reads stdin (one per line, or NDJSON records with an "infohash" field)',
      required: false,
    }),
  };
  static override flags = {
    ...dhtFlags,
    concurrency: Flags.integer({ description: 'infohashes scraped at once (at most 64)', default: DEFAULT_SCRAPE_CONCURRENCY, min: 1, max: 64 }),
    alpha: Flags.integer({ description: 'queries in flight per lookup (at most 16)', default: 4, min: 1, max: 16 }),
    peers: Flags.boolean({ description: 'list the peers found (NDJSON: peer_list)' }),
    'from-db': Flags.boolean({ description: 'scrape infohashes from the crawl database: never scraped ones (and, with --older-than, stale ones)' }),
    db: Flags.string({ description: 'crawl database to read (--from-db) and update with the results; default: crawl.db in the data directory' }),
    'older-than': durationFlag({ description: 'with --from-db: also rescrape infohashes last scraped longer ago than this (e.g. 6h; 0: every one; at most 36525d)', zero: 'every one' }),
    limit: Flags.integer({ description: `with --from-db: scrape at most this many infohashes ${atMost(MAX_SCRAPE_LIMIT)}`, min: 1, max: MAX_SCRAPE_LIMIT }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Scrape);
    const args = argv as string[];
    if (!flags['from-db'] && (flags['older-than'] !== undefined || flags.limit !== undefined)) {
      throw new BadInputError('--older-than and --limit select from the database: use them with --from-db');
    }
    if (args.length === 0 && !flags['from-db']) throw new BadInputError('no infohash given (arguments, - for stdin, or --from-db)');

    // The database is touched only when asked for (--db or --from-db), never just because the
    // default file exists: scraping a few hashes by hand should not rewrite a crawl's rows.
    const store = flags['from-db'] || flags.db !== undefined ? await openStore(flags.db, { mustExist: true }) : null;
    let fromDb: Uint8Array[] = [];
    try {
      if (store && flags['from-db']) {
        fromDb = await store.selectForScrape({
          ...(flags['older-than'] !== undefined ? { olderThanMs: flags['older-than'] } : {}),
          ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        });
      }
    } catch (err) {
      await store?.close();
      throw err;
    }

    const tally: Tally = { infohashes: 0, answered: 0, withPeers: 0, droppedPeers: 0, badInputs: 0, duplicates: 0, queries: 0, dbUpdated: 0 };
    const started = Date.now();
    let session: DhtSession | null = null;
    const rows: ScrapeResult[] = [];
    // A person at a terminal gets one table, biggest swarms first, fitted to its width; a pipe
    // gets the same columns a line at a time, in the order the results come.
    const streamRows = !flags.json && !process.stdout.isTTY;
    const pendingRows: ScrapeRecord[] = [];
    // A failed write (full disk) ends the scrape: the results already stored stay, and the
    // command says how many, exit 1.
    let writeFailure: StoreWriteError | null = null;
    const flushRows = async (): Promise<void> => {
      if (!store || writeFailure || pendingRows.length === 0) return;
      try {
        tally.dbUpdated += await store.updateScrape(pendingRows.splice(0));
      } catch (err) {
        if (!(err instanceof StoreWriteError)) throw err;
        writeFailure = err;
        abort.abort();
        stop();
      }
    };

    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const abort = fanOutAbortController();
    // Ctrl-C / SIGTERM: lookups in flight are cut short; what finished is printed and stored.
    const signal = this.stopSignal();
    const onSignal = (): void => {
      abort.abort();
      stop();
    };
    if (signal.aborted) onSignal();
    else signal.addEventListener('abort', onSignal, { once: true });
    // A closed stdout (`| head`) ends the run at once: no new infohash, scrapes in flight cut
    // short (what finished before is stored).
    this.outputGone.addEventListener('abort', () => {
      abort.abort();
      stop();
    }, { once: true });
    const progress = startProgress('scraping', flags.json ? false : undefined, { json: 'scrape' });

    try {
      session = await openSession(flags, { readOnly: true });
      const { node } = session;
      // Lookups seed from the routing table; fill it once rather than have every concurrent
      // lookup start at the same few bootstrap contacts.
      if (node.table.size < 8) await node.bootstrapTable({ signal: abort.signal });

      const source = this.infohashes(args, fromDb, tally, stopped);
      const results = scrapeMany(node, source, {
        concurrency: flags.concurrency,
        lookup: { alpha: flags.alpha, signal: abort.signal },
        valueTimeoutMs: flags.timeout,
      });
      for await (const r of results) {
        if (r.end === 'aborted') continue; // cut short by Ctrl-C: partial, neither shown nor stored
        const scrapedAt = Date.now();
        tally.queries += r.queries;
        if (answered(r)) tally.answered++;
        if (r.peers.length > 0) tally.withPeers++;
        tally.droppedPeers += r.droppedPeers;
        // a slow reader pauses the intake (the pool starts no new scrape until it catches up)
        if (flags.json) await this.stdout.recordAndWait(scrapeRecord(r, { peers: flags.peers, scrapedAt }));
        else if (streamRows) {
          // into a pipe: a line per result as it arrives, so `| head` gets its lines (and ends the run) at once
          if (rows.length === 0) this.stdout.text(STREAM_HEADER + '\n');
          rows.push(r);
          this.stdout.text(streamLine(r, flags.peers) + '\n');
          if (this.stdout.backlogged) await this.stdout.drained();
        } else rows.push(r);
        // Results finished after stdout went away are still stored. Nobody answering says nothing about the swarm: leave such rows for a later scrape.
        if (store && answered(r)) {
          pendingRows.push(scrapeRow(r, scrapedAt));
          if (pendingRows.length >= DB_BATCH) await flushRows();
        }
        progress.update(`scraped ${tally.answered}/${tally.infohashes} (${tally.withPeers} with peers)`, {
          infohashes: tally.infohashes,
          answered: tally.answered,
          with_peers: tally.withPeers,
          queries: tally.queries,
        });
      }
    } finally {
      signal.removeEventListener('abort', onSignal);
      progress.stop();
      try {
        await flushRows();
      } finally {
        await store?.close();
        await session?.close();
      }
    }

    const failure = writeFailure as StoreWriteError | null;
    if (failure) {
      const kept = tally.dbUpdated === 0 ? 'no result was stored' : `the first ${tally.dbUpdated} results are stored, later ones are not`;
      throw new CliError(`${failure.message}; ${kept}`, 1);
    }
    if (!flags.json && !streamRows && rows.length > 0) this.stdout.text(this.table(rows, flags.peers) + '\n');
    const interrupted = this.stoppedBySignal !== null;
    this.summary(tally, Date.now() - started, flags.json, store !== null, interrupted);

    if (interrupted) return; // the base command exits 130 / 143
    if (tally.badInputs > 0) this.exit(2);
    if (tally.infohashes === 0) {
      this.note(flags['from-db'] ? 'scrape: no infohash in the database needs a scrape' : 'scrape: no infohash in the input');
      return;
    }
    if (tally.answered === 0 && !this.stdout.closed) throw new NothingFoundError(`no node answered for any of ${tally.infohashes} infohash(es)`);
  }

  /**
   * Valid, distinct infohashes from the arguments, stdin and the database, in that order. Bad
   * lines are reported (with their line number) and counted; NDJSON records without an
   * `infohash` field are skipped silently.
   */
  private async *infohashes(args: string[], fromDb: Uint8Array[], tally: Tally, stop: Promise<void>): AsyncGenerator<Uint8Array> {
    if (args.includes('-')) stop.then(() => process.stdin.destroy());
    const bad = (input: InputLine, error: string): void => this.badLines.add(`scrape: ${where(input)}${error}`);
    for await (const { infohash } of distinctInfohashes(this.inputs(args), fromDb, tally, stop, bad)) yield infohash;
  }

  private table(results: ScrapeResult[], withPeers: boolean): string {
    const head: Column[] = [
      { header: 'infohash', hex: true },
      { header: 'seeders', align: 'right' },
      { header: 'leechers', align: 'right' },
      { header: 'peers', align: 'right' },
      { header: 'nodes', align: 'right', drop: 2 },
      { header: 'with filters', align: 'right', drop: 3 },
      { header: 'ms', align: 'right', drop: 1 },
    ];
    if (withPeers) head.push({ header: 'peer list', wrap: true });
    const size = (r: ScrapeResult): number => (Number.isFinite(r.seeders + r.leechers) ? r.seeders + r.leechers : Number.MAX_VALUE);
    const sorted = [...results].sort((a, b) => size(b) - size(a));
    return renderTable(
      head,
      sorted.map((r) => {
        const row: Array<string | number> = [
          toHex(r.infohash),
          estimateText(r.seeders),
          estimateText(r.leechers),
          r.peers.length,
          r.nodesAnswered,
          r.nodesWithFilters,
          Math.round(r.ms),
        ];
        if (withPeers) {
          const list = peerList(r);
          row.push(list.slice(0, TABLE_PEERS).join('\n') + (list.length > TABLE_PEERS ? `\n… ${list.length - TABLE_PEERS} more` : ''));
        }
        return row;
      }),
    );
  }

  private summary(t: Tally, ms: number, json: boolean, withDb: boolean, interrupted: boolean): void {
    if (json) {
      this.note(
        jsonLine({
          summary: 'scrape',
          infohashes: t.infohashes,
          answered: t.answered,
          with_peers: t.withPeers,
          dropped_peers: t.droppedPeers,
          bad_inputs: t.badInputs,
          duplicates: t.duplicates,
          queries: t.queries,
          ...(withDb ? { db_updated: t.dbUpdated } : {}),
          ...(interrupted ? { interrupted: true } : {}),
          duration_ms: ms,
        }),
      );
      return;
    }
    const parts = [
      `${t.infohashes} infohash${t.infohashes === 1 ? '' : 'es'}`,
      `${t.answered} answered`,
      `${t.withPeers} with peers`,
      ...(t.droppedPeers > 0 ? [`${t.droppedPeers} peer${t.droppedPeers === 1 ? '' : 's'} dropped (port 0 or bogon)`] : []),
      `${t.badInputs} bad input${t.badInputs === 1 ? '' : 's'}`,
      ...(t.duplicates > 0 ? [`${t.duplicates} duplicate${t.duplicates === 1 ? '' : 's'}`] : []),
      `${t.queries} queries`,
      ...(withDb ? [`${t.dbUpdated} database row${t.dbUpdated === 1 ? '' : 's'} updated`] : []),
    ];
    this.note(fitLine(`scrape: ${parts.join(', ')} in ${formatDuration(ms)}${interrupted ? ' (interrupted)' : ''}`));
  }
}

function estimateText(n: number): string {
  const v = roundEstimate(n);
  return v === null ? 'saturated' : v.toFixed(1);
}
