import { Args, Flags } from '@oclif/core';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseCommand, durationFlag, type InputLine } from '../cli/base-command.js';
import { MAX_SCRAPE_LIMIT, atMost } from '../cli/ceilings.js';
import { dhtFlags, openSession, type DhtSession } from '../cli/dht-session.js';
import { formatDuration } from '../cli/duration.js';
import { where } from '../cli/endpoint-input.js';
import { BadInputError, CliError, NothingFoundError, quote } from '../cli/errors.js';
import { distinctInfohashes } from '../cli/infohash-input.js';
import { magnetPeers } from '../cli/magnet.js';
import { openStore } from '../cli/store.js';
import { StoreWriteError } from '../core/store/index.js';
import {
  ConnectionLimits,
  DEFAULT_MAX_PEERS,
  PEER_FAILURES,
  fetchMetadata,
  metadataRecord,
  torrentFileBytes,
  torrentRecord,
  type MetadataResult,
  type PeerFailure,
} from '../core/metadata/index.js';
import { AddressPolicy } from '../core/net/address.js';
import { mapConcurrent } from '../core/util/pool.js';
import { writeFileAtomic } from '../core/util/atomic-file.js';
import { fromHex, toHex } from '../core/wire/hex.js';
import type { PeerInfo } from '../core/wire/types.js';
import { startProgress } from '../output/progress.js';
import { jsonLine } from '../output/records.js';
import { fitLine, renderTable } from '../output/table.js';
import { humanSize } from '../output/text.js';
import { fanOutAbortController } from '../core/util/fan-out-abort.js';

/** Deadlines are timers: kept well inside what one Node timer runs. */
const MAX_DEADLINE_MS = 3_600_000;
const CLIENT = 'bitscrape 0.1';

interface Job {
  infohash: Uint8Array;
  peers: PeerInfo[];
}

interface Tally {
  infohashes: number;
  fetched: number;
  failed: number;
  badInputs: number;
  duplicates: number;
  peersTried: number;
  saved: number;
  stored: number;
  failures: Partial<Record<PeerFailure, number>>;
}

export default class Metadata extends BaseCommand {
  static override description =
    'BEP 9/10: fetch the info dictionary (name, files, sizes) of infohashes from their peers over TCP';
  static override examples = [
    '<%= config.bin %> metadata 0123456789abcdef0123456789abcdef01234567',
    "<%= config.bin %> metadata 'magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&x.pe=203.0.113.5:6881' --json",
    '<%= config.bin %> crawl --json | <%= config.bin %> metadata - --json --save-torrents torrents/',
  ];
  static override strict = false;
  static override args = {
    infohash: Args.string({
      description: '40-hex infohash or magnet link (its x.pe peers are tried first); - reads stdin (one per line, or NDJSON records with an "infohash" field)',
      required: false,
    }),
  };
  static override flags = {
    ...dhtFlags,
    concurrency: Flags.integer({ description: 'infohashes fetched at once (at most 256)', default: 8, min: 1, max: 256 }),
    connections: Flags.integer({ description: 'peer connections at once per infohash (at most 32)', default: 4, min: 1, max: 32 }),
    'max-connections': Flags.integer({ description: 'peer connections at once in total (at most 4096)', default: 64, min: 1, max: 4096 }),
    'per-ip': Flags.integer({ description: 'peer connections at once to one IP (at most 64)', default: 2, min: 1, max: 64 }),
    'max-peers': Flags.integer({ description: 'peers tried per infohash (at most 1000)', default: DEFAULT_MAX_PEERS, min: 1, max: 1000 }),
    deadline: durationFlag({ description: 'time per infohash, lookup included (e.g. 60s; at most 1h)', default: 60_000 }),
    'peer-deadline': durationFlag({ description: 'time per peer connection (e.g. 15s; at most 1h)', default: 15_000 }),
    'stall-timeout': durationFlag({ description: 'a peer that sends nothing useful for this long is dropped (at most 1h)', default: 5_000 }),
    alpha: Flags.integer({ description: 'queries in flight per lookup (at most 16)', default: 4, min: 1, max: 16 }),
    'no-lookup': Flags.boolean({ description: "no DHT lookup: try only the magnet links' x.pe peers" }),
    'save-torrents': Flags.string({ description: 'write <infohash>.torrent files (d4:info<info dictionary as received>e) into this directory' }),
    'from-db': Flags.boolean({ description: 'fetch for the infohashes of the crawl database' }),
    missing: Flags.boolean({ description: 'with --from-db: only infohashes without metadata in the database yet' }),
    db: Flags.string({ description: 'crawl database to read (--from-db) and store the torrents in; default: crawl.db in the data directory' }),
    limit: Flags.integer({ description: `with --from-db: at most this many infohashes ${atMost(MAX_SCRAPE_LIMIT)}`, min: 1, max: MAX_SCRAPE_LIMIT }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Metadata);
    const args = argv as string[];
    if (!flags['from-db'] && (flags.limit !== undefined || flags.missing)) throw new BadInputError('--limit and --missing select from the database: use them with --from-db');
    if (args.length === 0 && !flags['from-db']) throw new BadInputError('no infohash given (arguments, - for stdin, or --from-db)');
    for (const name of ['deadline', 'peer-deadline', 'stall-timeout'] as const) {
      if (flags[name] <= 0 || flags[name] > MAX_DEADLINE_MS) throw new BadInputError(`--${name} must be more than 0 and at most 1h`);
    }
    const saveDir = flags['save-torrents'];
    if (saveDir !== undefined) {
      try {
        await mkdir(saveDir, { recursive: true });
      } catch (err) {
        throw new BadInputError(`--save-torrents: cannot create ${quote(saveDir)}: ${(err as Error).message}`);
      }
    }
    // The database is written only when asked for (--db or --from-db), as for scrape.
    const store = flags['from-db'] || flags.db !== undefined ? await openStore(flags.db, { mustExist: true }) : null;
    let fromDb: Uint8Array[] = [];
    try {
      if (store && flags['from-db']) {
        if (flags.missing) fromDb = await store.missingMetadata(flags.limit);
        else for await (const r of store.listInfohashes(flags.limit !== undefined ? { limit: flags.limit } : {})) fromDb.push(fromHex(r.infohash, 20)!);
      }
    } catch (err) {
      await store?.close();
      throw err;
    }

    const tally: Tally = { infohashes: 0, fetched: 0, failed: 0, badInputs: 0, duplicates: 0, peersTried: 0, saved: 0, stored: 0, failures: {} };
    const started = Date.now();
    const rows: MetadataResult[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const abort = fanOutAbortController();
    const signal = this.stopSignal();
    const onSignal = (): void => {
      abort.abort();
      stop();
    };
    if (signal.aborted) onSignal();
    else signal.addEventListener('abort', onSignal, { once: true });
    this.stdout.once('closed', () => {
      abort.abort();
      stop();
    });
    const progress = startProgress('fetching metadata', flags.json ? false : undefined, { json: 'metadata' });
    let session: DhtSession | null = null;
    let saveError: string | null = null;
    let writeFailure: StoreWriteError | null = null;

    try {
      let policy: AddressPolicy;
      let lookup: ((ih: Uint8Array, s: AbortSignal) => Promise<PeerInfo[]>) | undefined;
      if (flags['no-lookup']) {
        policy = new AddressPolicy({ allowPrivate: flags['allow-private'] });
      } else {
        session = await openSession(flags, { readOnly: true });
        const { node } = session;
        policy = session.policy;
        if (node.table.size < 8) await node.bootstrapTable({ signal: abort.signal });
        lookup = async (ih, s) => (await node.getPeers(ih, { alpha: flags.alpha, signal: s })).peers.map((p) => p.peer);
      }
      const limits = new ConnectionLimits(flags['max-connections'], flags['per-ip']);
      const refusal = (host: string, port: number): string | null => (policy.isBogonPeer(host, port) ? 'bogon' : policy.refusal(host, port));

      const source = this.jobs(args, fromDb, tally, stopped);
      const results = mapConcurrent(source, flags.concurrency, (job) =>
        fetchMetadata(job.infohash, job.peers, {
          limits,
          perInfohash: flags.connections,
          deadlineMs: flags.deadline,
          peerDeadlineMs: flags['peer-deadline'],
          stallMs: flags['stall-timeout'],
          maxPeers: flags['max-peers'],
          refusal,
          ...(lookup ? { lookup } : {}),
          client: CLIENT,
          signal: abort.signal,
        }),
      );
      for await (const r of results) {
        if (r.aborted) continue; // cut short by Ctrl-C: partial, not shown
        tally.peersTried += r.peersTried;
        for (const [k, n] of Object.entries(r.failures)) tally.failures[k as PeerFailure] = (tally.failures[k as PeerFailure] ?? 0) + n;
        if (r.ok) tally.fetched++;
        else tally.failed++;
        if (r.ok && saveDir !== undefined && r.raw && !saveError) {
          try {
            await writeFileAtomic(join(saveDir, `${toHex(r.infohash)}.torrent`), torrentFileBytes(r.raw));
            tally.saved++;
          } catch (err) {
            saveError = `--save-torrents: ${(err as Error).message}`;
            abort.abort();
            stop();
          }
        }
        // Stored before it is printed: a printed torrent is in the database.
        if (r.ok && store && !writeFailure) {
          try {
            await store.saveTorrent(torrentRecord(r, Date.now()));
            tally.stored++;
          } catch (err) {
            if (!(err instanceof StoreWriteError)) throw err;
            writeFailure = err;
            abort.abort();
            stop();
            continue;
          }
        }
        if (flags.json) await this.stdout.recordAndWait(metadataRecord(r));
        else rows.push(r);
        progress.update(`metadata ${tally.fetched}/${tally.infohashes} fetched`, {
          infohashes: tally.infohashes,
          fetched: tally.fetched,
          failed: tally.failed,
          peers_tried: tally.peersTried,
          ...(store ? { stored: tally.stored } : {}),
        });
      }
    } finally {
      signal.removeEventListener('abort', onSignal);
      progress.stop();
      try {
        await store?.close();
      } finally {
        await session?.close();
      }
    }

    const failure = writeFailure as StoreWriteError | null;
    if (failure) throw new CliError(`${failure.message}; ${tally.stored === 0 ? 'no torrent was stored' : `the first ${tally.stored} torrents are stored, later ones are not`}`, 1);
    if (saveError) throw new CliError(`${saveError}; ${tally.saved} torrent file(s) written before it`, 1);
    if (!flags.json && rows.length > 0) this.stdout.text(this.table(rows) + '\n');
    const interrupted = this.stoppedBySignal !== null;
    this.summary(tally, Date.now() - started, flags.json, saveDir !== undefined, store !== null, interrupted);
    if (interrupted) return;
    if (tally.badInputs > 0) this.exit(2);
    if (tally.infohashes === 0) {
      this.note(flags['from-db'] ? `metadata: no infohash in the database${flags.missing ? ' lacks metadata' : ''}` : 'metadata: no infohash in the input');
      return;
    }
    if (tally.fetched === 0 && !this.stdout.closed) throw new NothingFoundError(`no metadata fetched for any of ${tally.infohashes} infohash(es)`);
  }

  /** Distinct infohashes (with their magnet's x.pe peers) from the arguments, stdin and the database. */
  private async *jobs(args: string[], fromDb: Uint8Array[], tally: Tally, stop: Promise<void>): AsyncGenerator<Job> {
    if (args.includes('-')) stop.then(() => process.stdin.destroy());
    const bad = (input: InputLine, error: string): void => this.badLines.add(`metadata: ${where(input)}${error}`);
    for await (const { infohash, line } of distinctInfohashes(this.inputs(args), fromDb, tally, stop, bad)) {
      const pe = line ? magnetPeers(line.value) : { peers: [], bad: [] };
      if (line && pe.bad.length > 0) {
        tally.badInputs++;
        bad(line, `x.pe is not IP:port: ${quote(pe.bad[0])}`);
      }
      yield { infohash, peers: pe.peers };
    }
  }

  private table(results: MetadataResult[]): string {
    return renderTable(
      [
        { header: 'infohash', hex: true, drop: 2 },
        { header: 'name', wrap: true },
        { header: 'size', align: 'right' },
        { header: 'files', align: 'right' },
        { header: 'peer', wrap: true, drop: 1 },
      ],
      results.map((r) => [
        toHex(r.infohash),
        r.ok ? r.info!.name : `(${r.error})`,
        r.ok ? humanSize(r.info!.totalSize) : '',
        r.ok ? r.info!.files.length : '',
        r.peer ? `${r.peer.address}${r.peer.client ? ` ${r.peer.client}` : ''}` : '',
      ]),
    );
  }

  private summary(t: Tally, ms: number, json: boolean, saving: boolean, withDb: boolean, interrupted: boolean): void {
    const failures = PEER_FAILURES.filter((k) => t.failures[k]).map((k) => [k, t.failures[k]!] as const);
    if (json) {
      this.note(
        jsonLine({
          summary: 'metadata',
          infohashes: t.infohashes,
          fetched: t.fetched,
          failed: t.failed,
          bad_inputs: t.badInputs,
          duplicates: t.duplicates,
          peers_tried: t.peersTried,
          peer_failures: Object.fromEntries(failures),
          ...(saving ? { torrents_saved: t.saved } : {}),
          ...(withDb ? { db_stored: t.stored } : {}),
          ...(interrupted ? { interrupted: true } : {}),
          duration_ms: ms,
        }),
      );
      return;
    }
    const parts = [
      `${t.infohashes} infohash${t.infohashes === 1 ? '' : 'es'}`,
      `${t.fetched} fetched`,
      `${t.failed} failed`,
      `${t.badInputs} bad input${t.badInputs === 1 ? '' : 's'}`,
      ...(t.duplicates > 0 ? [`${t.duplicates} duplicate${t.duplicates === 1 ? '' : 's'}`] : []),
      `${t.peersTried} peer${t.peersTried === 1 ? '' : 's'} tried${failures.length ? ` (${failures.map(([k, n]) => `${n} ${k.replace(/_/g, ' ')}`).join(', ')})` : ''}`,
      ...(saving ? [`${t.saved} torrent file${t.saved === 1 ? '' : 's'} written`] : []),
      ...(withDb ? [`${t.stored} stored in the database`] : []),
    ];
    this.note(fitLine(`metadata: ${parts.join(', ')} in ${formatDuration(ms)}${interrupted ? ' (interrupted)' : ''}`));
  }
}
