import { Flags } from '@oclif/core';
import { BaseCommand, durationFlag } from '../cli/base-command.js';
import { durationText } from '../cli/duration.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { crawlFamilies, familiesOfFlag, familyFlag } from '../cli/crawl-families.js';
import { BadInputError, CliError, NothingFoundError, quote } from '../cli/errors.js';
import { dbFlag, openStore } from '../cli/store.js';
import { MAX_COUNT, MAX_SIM_INFOHASHES, MAX_SIM_NODES, atMost } from '../cli/ceilings.js';
import { describeStrategies, loadStrategyRegistry } from '../cli/strategy-plugins.js';
import { createCrawl } from '../core/crawl/create-crawl.js';
import { CRAWL_DEFAULTS, MAX_CRAWL_CONCURRENCY } from '../core/crawl/defaults.js';
import { CrawlStoreError } from '../core/crawl/errors.js';
import { isStrategyOptionError } from '../core/crawl/strategy-options.js';
import { DEFAULT_STRATEGY, type StrategyRegistry } from '../core/crawl/registry.js';
import { runTestnetCrawl, simulatedRateLimit } from '../core/crawl/sim-crawl.js';
import type { CrawlerOptions } from '../core/crawl/sim-crawl.js';
import type { CrawlInfohash, CrawlStats, CrawlSummary } from '../core/crawl/types.js';
import { StoreWriteError, type InfohashStore, type QueueCounts } from '../core/store/index.js';
import { ConnectionLimits, MetadataQueue, fetchMetadata } from '../core/metadata/index.js';
import type { DhtSession } from '../cli/dht-session.js';
import { crawlInfohashLine, crawlInfohashRecord, crawlProgressFigures, crawlStatusLine, crawlSummaryPairs, crawlSummaryRecord, testnetPairs } from '../output/crawl-records.js';
import { createMetrics } from '../output/metrics.js';
import { metricsFlag, parseMetricsAddress, serveMetrics, type MetricsServer } from '../cli/metrics-server.js';
import { trackPendingCalls } from '../core/util/pending-calls.js';
import { parseShard, rangeBits } from '../core/crawl/key-range.js';
import { rangeShares, runLeasedCrawl, sumRangeSummaries } from '../core/crawl/leased-crawl.js';
import { hostname } from 'node:os';
import { startProgress, type Progress } from '../output/progress.js';
import { renderKeyValues, renderTable } from '../output/table.js';
import { jsonLine } from '../output/records.js';
import { fanOutSignal } from '../core/util/fan-out-abort.js';

export default class Crawl extends BaseCommand {
  static override description = 'Index infohashes with BEP 51 sample_infohashes, walking the keyspace (or a plugin strategy)';
  static override examples = [
    '<%= config.bin %> crawl --testnet 2000',
    '<%= config.bin %> crawl --json --duration 10m | <%= config.bin %> scrape - --json',
    '<%= config.bin %> crawl --resume',
    "<%= config.bin %> crawl --family both --bootstrap router.bittorrent.com:6881",
    '<%= config.bin %> crawl --list-strategies',
  ];
  static override flags = {
    ...dhtFlags,
    strategy: Flags.string({ char: 's', description: `traversal strategy (default ${DEFAULT_STRATEGY}; see --list-strategies)`, default: DEFAULT_STRATEGY }),
    'strategy-opt': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'strategy option key=value (repeatable); keys and ranges: docs/output.md (keyspace) or the plugin\'s README' }),
    'list-strategies': Flags.boolean({ description: 'list the strategies available (built in and from plugins) and exit' }),
    testnet: Flags.integer({ description: `crawl an in-process simulated DHT of N nodes (offline, virtual time) and report recall (at least 10, at most ${MAX_SIM_NODES})`, min: 10, max: MAX_SIM_NODES }),
    'testnet-infohashes': Flags.integer({ description: `infohashes stored in the simulated DHT (default: as many as nodes) ${atMost(MAX_SIM_INFOHASHES)}`, min: 1, max: MAX_SIM_INFOHASHES }),
    seed: Flags.integer({ description: 'seed of the simulated DHT (0..4294967295: a 32-bit seed)', default: 1, min: 0, max: 0xffff_ffff }),
    db: dbFlag,
    'no-db': Flags.boolean({ description: 'stream only: no database (default with --testnet unless --db is given)' }),
    'only-new': Flags.boolean({ description: 'print only infohashes the database did not have' }),
    resume: Flags.boolean({ description: 'continue the traversal saved in the database by an interrupted crawl' }),
    duration: durationFlag({ description: 'stop after this long, counted from the start, bootstrap included (e.g. 10m, 6h, 7d; at most 36525d, 100 years)' }),
    'max-queries': Flags.integer({ description: `stop after this many queries, the bootstrap's included ${atMost(MAX_COUNT)}`, min: 1, max: MAX_COUNT }),
    'max-infohashes': Flags.integer({ description: `stop after this many distinct infohashes ${atMost(MAX_COUNT)}`, min: 1, max: MAX_COUNT }),
    family: familyFlag,
    // the crawl's own pacing defaults (docs/architecture.md, "Crawl pacing"): the per-node limits stay those of every command
    rate: Flags.integer({ description: `global query rate limit per second (at most 5000); politeness is per node: --rate-per-node, BEP 51 intervals, each node asked once per pass`, default: CRAWL_DEFAULTS.ratePerSec, min: 1, max: 5000 }),
    concurrency: Flags.integer({ description: `most queries in flight per address family: the bound of the window that grows while the rate allows (at most ${MAX_CRAWL_CONCURRENCY})`, default: CRAWL_DEFAULTS.concurrency, min: 1, max: MAX_CRAWL_CONCURRENCY }),
    metadata: Flags.boolean({ description: 'also fetch the metadata (BEP 9: names, files) of the infohashes found, through a queue in the database; the crawl finishes the fetches due before it exits' }),
    'metadata-concurrency': Flags.integer({ description: 'with --metadata: infohashes fetched at once (at most 256)', default: 8, min: 1, max: 256 }),
    'metadata-deadline': durationFlag({ description: 'with --metadata: time per infohash (at most 1h)', default: 60_000 }),
    metrics: metricsFlag,
    shard: Flags.string({ description: 'crawl only part i of n equal parts of the keyspace (n a power of two up to 1024): a fixed split between crawlers, no leases', helpValue: 'i/n', exclusive: ['leases'] }),
    leases: Flags.boolean({ description: 'share the pass with other crawlers of the same database (PostgreSQL, or one SQLite file on one machine): claim a range of the keyspace at a time with a lease, walk it, claim the next' }),
    ranges: Flags.integer({ description: 'with --leases: ranges a new pass is split into (a power of two, at most 1024)', default: CRAWL_DEFAULTS.leaseRanges, min: 1, max: 1024 }),
    lease: durationFlag({ description: 'with --leases: how long a claimed range stays ours without renewal (renewed every third of it; at most 1h)', default: CRAWL_DEFAULTS.leaseMs, max: 3_600_000, maxText: '1h' }),
    'pass-interval': durationFlag({ description: 'with --leases: keep crawling, starting the next pass this long after one ends (0: start the next pass at once; default: stop after the pass)', zero: 'start the next pass at once' }),
    'min-interval': durationFlag({
      description: 'override every node\'s BEP 51 interval with this one, whole seconds (explicit opt-in; nodes ask for up to 6h; 0: re-sample at once; at most 6h)',
      zero: 're-sample at once',
      max: 6 * 3_600_000,
      maxText: '6h (BEP 51)',
      wholeSeconds: true,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Crawl);
    const registry = await loadStrategyRegistry(this.config);
    if (flags['list-strategies']) return this.listStrategies(registry, flags.json);
    if (!registry.has(flags.strategy)) throw new BadInputError(`unknown strategy ${quote(flags.strategy)} (known: ${registry.names().join(', ')})`);
    const strategyParams: Record<string, string> = {};
    for (const opt of flags['strategy-opt'] ?? []) {
      const eq = opt.indexOf('=');
      if (eq <= 0) throw new BadInputError(`--strategy-opt ${quote(opt)}: expected key=value`);
      strategyParams[opt.slice(0, eq)] = opt.slice(eq + 1);
    }
    // options are checked before anything is opened: a bad one changes nothing (strategies are cheap to build)
    try {
      registry.create(flags.strategy, { concurrency: flags.concurrency, params: strategyParams });
    } catch (err) {
      throw strategyInputError(err);
    }
    if (flags['no-db'] && (flags.db || flags.resume)) throw new BadInputError('--no-db cannot be combined with --db or --resume');
    const useDb = flags.testnet !== undefined ? flags.db !== undefined : !flags['no-db'];
    if (flags.resume && !useDb) throw new BadInputError('--resume needs the database (--db)');
    if (flags.metadata && (!useDb || flags.testnet !== undefined)) throw new BadInputError('--metadata needs the database and a live crawl (not --no-db, not --testnet)');
    if (flags['metadata-deadline'] <= 0 || flags['metadata-deadline'] > 3_600_000) throw new BadInputError('--metadata-deadline must be more than 0 and at most 1h');
    const metricsAt = flags.metrics === undefined ? undefined : parseMetricsAddress(flags.metrics);
    const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
    if (typeof shard === 'string') throw new BadInputError(`--shard ${quote(flags.shard!)}: ${shard}`);
    if (flags.leases) {
      if (!useDb) throw new BadInputError('--leases needs the database the crawlers share (--db)');
      if (flags.testnet !== undefined) throw new BadInputError('--leases needs a live crawl: the crawlers of a simulated network live in one process (see docs/architecture.md)');
      if (flags.resume) throw new BadInputError('--leases resumes by itself: each range continues from its checkpoint');
      if (rangeBits(flags.ranges) === null) throw new BadInputError(`--ranges ${flags.ranges}: a power of two from 1 to 1024`);
    }
    const opened = useDb ? await openStore(flags.db) : undefined;
    // Writes are timed for the metrics, and a database still answering (PostgreSQL) pauses the
    // crawl like a slow reader does: a lost connection stops the sending, not only the storing.
    const storeWrites = opened ? trackPendingCalls(opened, (method, ms) => this.observeStoreWrite(method, ms)) : undefined;
    const store = storeWrites?.tracked;

    // Ctrl-C / SIGTERM (the base command picks the exit code) or a closed stdout: stop, flush, save.
    const closed = new AbortController();
    this.stdout.once('closed', () => closed.abort());
    const signal = fanOutSignal(this.stopSignal(), closed.signal);
    const progress = startProgress('crawl starting', flags.json ? false : undefined, { json: 'crawl' });
    let metricsServer: MetricsServer | undefined;
    if (metricsAt) {
      const metrics = createMetrics({
        engine: () => this.liveSession?.engine.counters,
        routing: () => this.liveSession?.node.table.stats(),
        crawl: () => this.latest,
        infohashes: () => this.latest?.unique_infohashes ?? 0,
        ...(store ? { infohashesNew: () => this.latest?.new_infohashes ?? 0 } : {}),
        ...(flags.metadata ? { metadata: () => ({ ok: this.queue?.tally.fetched ?? 0, failed: this.queue?.tally.failed ?? 0 }) } : {}),
      });
      this.observeWrite = (s) => metrics.observeStoreWrite(s);
      try {
        metricsServer = await serveMetrics(metrics, metricsAt);
      } catch (err) {
        await store?.close();
        progress.stop();
        throw err;
      }
      progress.log(`crawl: metrics at http://${metricsServer.address}/metrics`);
    }
    const limits = {
      ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
      ...(flags['max-queries'] !== undefined ? { maxQueries: flags['max-queries'] } : {}),
      ...(flags['max-infohashes'] !== undefined ? { maxInfohashes: flags['max-infohashes'] } : {}),
    };
    const common = {
      strategy: flags.strategy,
      strategyParams,
      registry,
      concurrency: flags.concurrency,
      limits,
      signal,
      // a slow reader pauses the crawl; no record is dropped
      backpressure: () => (this.stdout.backlogged ? this.stdout.drained() : null) ?? storeWrites?.busy() ?? null,
      resume: flags.resume,
      ...(store ? { store } : {}),
      ...(shard ? { range: shard } : {}),
      ...(flags['min-interval'] !== undefined ? { minIntervalS: flags['min-interval'] / 1000 } : {}),
      onInfohash: (r: CrawlInfohash) => this.emit(r, flags),
      onProgress: (s: CrawlStats) => {
        this.latest = s;
        const extra = this.queue ? { metadataFetched: this.queue.tally.fetched } : {};
        progress.update(crawlStatusLine(s, extra), crawlProgressFigures(s, extra));
      },
      log: (text: string) => progress.log(text),
    };
    try {
      if (flags.testnet !== undefined) {
        const crawler = { rateLimit: simulatedRateLimit(flags.rate), queryTimeoutMs: flags.timeout };
        await this.runTestnet(flags.testnet, flags['testnet-infohashes'], flags.seed, { ...common, families: familiesOfFlag(flags.family) ?? [4] }, crawler, progress, flags.json);
      }
      else await this.runLive(flags, common, progress, store);
    } catch (err) {
      // A full disk or an I/O error mid-run: what happened and what was kept, exit 1.
      if (err instanceof CrawlStoreError) throw new CliError(err.message, 1);
      // a write that failed before the traversal started (the run's record): nothing was found yet
      if (err instanceof StoreWriteError) throw new CliError(`${err.message}; no infohash was stored, no traversal was saved for --resume`, 1);
      throw strategyInputError(err);
    } finally {
      progress.stop();
      await metricsServer?.close();
      await store?.close();
    }
  }

  /** The live crawl's session, the latest statistics and the metadata queue, for --metrics and progress. */
  private liveSession: DhtSession | undefined;
  private latest: CrawlStats | undefined;
  private queue: MetadataQueue | null = null;
  private observeWrite: ((seconds: number) => void) | undefined;

  private observeStoreWrite(method: string, ms: number): void {
    if (method === 'recordInfohashes' || method === 'recordNodes' || method === 'updateScrape' || method === 'saveTorrent') this.observeWrite?.(ms / 1000);
  }

  /** What the leased run did: its passes and ranges (the summary's figures are summed over its ranges). */
  private leased: { passes: number[]; ranges_done: number; ranges_taken_over: number; end: string } | null = null;

  /**
   * --leases: range after range of the shared pass, each a crawl of its own under a checkpoint
   * key of its own; the figures are summed over the ranges this crawler walked.
   */
  private async runLeased(
    flags: { ranges: number; lease: number; 'pass-interval'?: number; concurrency: number; rate: number },
    options: Parameters<typeof createCrawl>[0],
    store: InfohashStore,
    progress: Progress,
  ): Promise<CrawlSummary> {
    const signal = options.signal ?? new AbortController().signal;
    const summaries: CrawlSummary[] = [];
    // several ranges at once, the crawler's slots and rate split between them
    const share = rangeShares(flags.concurrency, flags.rate, flags.ranges);
    const result = await runLeasedCrawl({
      store,
      owner: `${hostname()}:${process.pid}`,
      strategy: typeof options.strategy === 'string' ? options.strategy : 'keyspace',
      ranges: flags.ranges,
      leaseMs: flags.lease,
      ...(flags['pass-interval'] !== undefined ? { passIntervalMs: flags['pass-interval'] } : {}),
      now: () => Date.now(),
      sleep: (ms, s) => sleepUnlessAborted(ms, s),
      signal,
      log: (text) => progress.log(text),
      rangesAtOnce: share.rangesAtOnce,
      // no node sampled again within the interval it asked for, whichever crawler sampled it
      sharedIntervals: true,
      crawlRange: (range, stateKey, _claim, sampleDue) =>
        createCrawl({ ...options, concurrency: share.concurrency, ratePerSec: share.ratePerSec, range, stateKey, resume: 'if-saved', ...(sampleDue ? { sampleDue } : {}) }),
      onRange: (claim, summary, finished) => {
        summaries.push(summary);
        progress.log(`crawl: range ${claim.range + 1} of ${claim.ranges} ${finished ? 'done' : `stopped (${summary.stopped_by})`}: ${summary.unique_infohashes} infohashes, ${summary.queries_sent} queries`);
      },
    });
    this.leased = { passes: result.passes, ranges_done: result.rangesDone, ranges_taken_over: result.rangesTakenOver, end: result.end };
    if (result.end === 'lease_lost') this.note('crawl: our lease ran out and another crawler took the range over; stopping (a slow database, or a clock far off)');
    if (summaries.length === 0) throw new NothingFoundError(result.end === 'pass_done' ? 'every range of the pass is done already: nothing to crawl (start the next pass with --pass-interval, or later)' : 'no range was crawled');
    return sumRangeSummaries(summaries, result.end);
  }

  private emit(r: CrawlInfohash, flags: { json: boolean; 'only-new': boolean }): void {
    if (flags['only-new'] && r.inDbBefore) return;
    if (flags.json) this.stdout.record(crawlInfohashRecord(r));
    else this.stdout.text(crawlInfohashLine(r));
  }

  private async runTestnet(nodes: number, infohashes: number | undefined, seed: number, common: Parameters<typeof createCrawl>[0] & { strategy: string }, crawler: CrawlerOptions, progress: Progress, json: boolean): Promise<void> {
    progress.update(`building a simulated DHT of ${nodes} nodes`);
    const result = await runTestnetCrawl({ ...common, nodes, ...(infohashes !== undefined ? { infohashes } : {}), seed, crawler });
    progress.stop();
    const database = common.store !== undefined;
    if (json) this.note(jsonLine({ summary: 'crawl', testnet: true, ...crawlSummaryRecord(result.summary, database), recall: result.recall, traffic: result.traffic, world: result.world, virtual_ms: result.virtual_ms, wall_ms: result.wall_ms }));
    else this.note(renderKeyValues([...testnetPairs(result), ...crawlSummaryPairs(result.summary)], { stream: process.stderr }));
  }

  private async runLive(
    flags: Parameters<typeof openSession>[0] & { json: boolean; family?: string; duration?: number; 'max-queries'?: number; metadata: boolean; 'metadata-concurrency': number; 'metadata-deadline': number; leases: boolean; ranges: number; lease: number; 'pass-interval'?: number; concurrency: number; rate: number },
    common: Parameters<typeof createCrawl>[0],
    progress: Progress,
    store: InfohashStore | undefined,
  ): Promise<void> {
    const asked = familiesOfFlag(flags.family);
    // at most 5 packets in any second to one node on a local network too (libtorrent's limit per source), not the usual 50
    const localPerNode = { localPerKeyMax: CRAWL_DEFAULTS.localPerNodeMax, localPerKeyWindowMs: CRAWL_DEFAULTS.localWindowMs };
    const session = await openSession(flags, { readOnly: true, localPerNode, ...(asked ? { families: asked } : {}) });
    this.liveSession = session;
    let summary: CrawlSummary;
    let queue: MetadataQueue | null = null;
    let counts: QueueCounts | null = null;
    try {
      const explicit = flags.bootstrap && flags.bootstrap.length > 0 ? session.node.bootstrap.map((b) => b.host) : [];
      const families = crawlFamilies(asked, explicit, session.transport.endpoints.map((e) => e.family));
      if (flags.metadata && store) {
        queue = metadataQueue(session, store, flags['metadata-concurrency'], flags['metadata-deadline']);
        this.queue = queue;
        queue.start();
      }
      progress.update('bootstrapping');
      try {
        if (flags.leases) summary = await this.runLeased(flags, { ...common, session, families }, store!, progress);
        else summary = await createCrawl({ ...common, session, families }).run();
      } catch (err) {
        await queue?.abort();
        throw err;
      }
      if (queue) {
        // Ctrl-C or a closed stdout: fetches in flight are dropped (they stay pending in the
        // database); otherwise the fetches due now are finished, each within its deadline.
        if (common.signal?.aborted) await queue.abort();
        else {
          progress.update('fetching the metadata still due');
          try {
            await queue.finish();
          } catch (err) {
            if (err instanceof StoreWriteError) throw new CliError(`${err.message}; the torrents fetched before it are stored`, 1);
            throw err;
          }
        }
        counts = await store!.metadataCounts();
      }
    } finally {
      await session.close();
    }
    progress.stop();
    const byFamily = Object.entries(summary.by_family ?? {});
    if (byFamily.length > 1) {
      for (const [family, s] of byFamily) if (s.nodes_answered === 0) this.note(`crawl: no IPv${family} node answered`);
    }
    const metadata = queue && counts ? { fetched: queue.tally.fetched, failed: queue.tally.failed, pending: counts.pending, failed_for_good: counts.failed, in_database: counts.fetched } : null;
    if (flags.json) this.note(jsonLine({ summary: 'crawl', ...crawlSummaryRecord(summary, store !== undefined), database: store !== undefined, ...(metadata ? { metadata } : {}), ...(this.leased ? { leases: this.leased } : {}) }));
    else {
      const pairs = crawlSummaryPairs(summary);
      if (this.leased) pairs.push(['leases', `pass ${this.leased.passes.join(', ')}: ${this.leased.ranges_done} ranges done by this crawler (${this.leased.ranges_taken_over} taken over), ${this.leased.end === 'pass_done' ? 'the pass is done' : this.leased.end}`]);
      if (metadata) pairs.push(['metadata', `${metadata.fetched} fetched, ${metadata.failed} failed this run; ${metadata.in_database} torrents in the database, ${metadata.pending} pending`]);
      this.note(renderKeyValues(pairs, { stream: process.stderr }));
    }
    if (summary.nodes_answered === 0 && !this.stdout.closed && !this.stoppedBySignal) throw new NothingFoundError(noAnswerReason(summary, flags));
  }

  private listStrategies(registry: StrategyRegistry, json: boolean): void {
    const rows = describeStrategies(registry);
    if (json) for (const r of rows) this.stdout.record({ ...r });
    else this.stdout.text(renderTable([{ header: 'strategy' }, { header: 'plugin', wrap: true }, { header: 'description', wrap: true }], rows.map((r) => [r.name, r.plugin, r.description])) + '\n');
  }
}

/** The metadata queue of a live crawl: lookups through the crawl's own node, its address policy. */
function metadataQueue(session: DhtSession, store: InfohashStore, concurrency: number, deadlineMs: number): MetadataQueue {
  const limits = new ConnectionLimits(Math.min(4096, concurrency * 8), 2);
  const { node, policy } = session;
  const refusal = (host: string, port: number): string | null => (policy.isBogonPeer(host, port) ? 'bogon' : policy.refusal(host, port));
  return new MetadataQueue({
    store,
    concurrency,
    pollMs: 500,
    fetch: (ih, signal) =>
      fetchMetadata(ih, [], {
        limits,
        perInfohash: 4,
        deadlineMs,
        peerDeadlineMs: Math.min(deadlineMs, 15_000),
        refusal,
        lookup: async (target, s) => (await node.getPeers(target, { signal: s })).peers.map((p) => p.peer),
        client: 'bitscrape 0.1',
        signal,
      }),
  });
}

/** A strategy option error (ours or a plugin's) is bad input: one line, exit 2; other errors stay what they are. */
function strategyInputError(err: unknown): unknown {
  return isStrategyOptionError(err) ? new BadInputError(err.message) : err;
}

/**
 * Why a crawl ended with no node answered. A limit that ran out before the crawl queried its
 * first node ended it during the bootstrap: saying "no node answered" would blame the network.
 */
function noAnswerReason(summary: CrawlSummary, flags: { duration?: number; 'max-queries'?: number }): string {
  const bootstrapOnly = summary.nodes_queried === 0;
  const sent = `${summary.queries_sent} ${summary.queries_sent === 1 ? 'query' : 'queries'} sent`;
  if (bootstrapOnly && summary.stopped_by === 'max_queries' && flags['max-queries'] !== undefined) {
    return `the query budget (--max-queries ${flags['max-queries']}) ran out during the bootstrap (${sent}); no node was crawled: give a larger --max-queries`;
  }
  if (bootstrapOnly && summary.stopped_by === 'duration' && flags.duration !== undefined) {
    return `--duration ${durationText(flags.duration)} ended during the bootstrap (${sent}); no node was crawled: give a longer --duration`;
  }
  return 'no node answered';
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    t.unref();
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One summary for the ranges a leased crawler walked: its counts summed, the rest from the last range. */
