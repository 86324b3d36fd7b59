// A crawl of one or more address families. BEP 32 makes IPv4 and IPv6 two DHTs with keyspaces,
// routing tables and node lists of their own, so each family gets its own CrawlEngine and its
// own strategy instance (a strategy sees one family, ctx.family), all on the same DhtClient. With
// several families the engines share the infohash dedup set (an infohash met over both is
// printed and stored once), the limits, the abort signal and one entry in the run log; the
// summary adds the families up and reports each under by_family.
//
// --resume: each family saves its own traversal; a family that finished its pass while another
// was still running is written down (MARKER), so resuming continues only the unfinished ones.
import type { Family } from '../wire/types.js';
import { Key20Set } from './compact-sets.js';
import type { Crawl } from './create-crawl.js';
import { CrawlEngine } from './engine.js';
import type { CrawlEngineOptions } from './engine-options.js';
import type { Strategy, TaskFailure } from './strategy.js';
import type { CrawlPacing, CrawlStats, CrawlSummary, FamilySummary, StopReason } from './types.js';

export interface FamilyCrawlOptions extends Omit<CrawlEngineOptions, 'strategy' | 'family' | 'shared' | 'recordRun'> {
  /** The families to crawl, each at most once. */
  families: readonly Family[];
  /** A fresh strategy instance for each family. */
  strategyFor(family: Family): Strategy;
}

interface FamiliesMarker {
  v: 1;
  /** Families that finished their pass in the interrupted run. */
  done: Family[];
}

/** When families stop for different reasons, the run reports the most telling one. */
const STOP_ORDER: readonly StopReason[] = ['error', 'aborted', 'stopped', 'duration', 'max_queries', 'max_infohashes', 'stalled', 'done'];

export class FamilyCrawl implements Crawl {
  readonly engines: readonly CrawlEngine[];
  private readonly opts: FamilyCrawlOptions;
  private readonly multi: boolean;
  private readonly dedup = new Key20Set(4096);
  private readonly markerKey: string;
  /** The Krpc engine's query counters when the run began. */
  private base = { all: 0, v6: 0 };
  /** Engines skipped on --resume because their family had finished its pass. */
  private readonly skipped = new Set<CrawlEngine>();

  constructor(opts: FamilyCrawlOptions) {
    const families = [...new Set(opts.families)].sort();
    if (families.length === 0) throw new Error('crawl: no address family to crawl');
    this.opts = opts;
    this.multi = families.length > 1;
    const shared = { dedup: this.dedup, queriesSent: (family?: Family) => this.queriesSent(family) };
    const { families: _f, strategyFor, log, onProgress, stateKey, ...common } = opts;
    this.engines = families.map((family) => {
      const strategy = strategyFor(family);
      return new CrawlEngine({
        ...common,
        family,
        strategy,
        recordRun: false,
        ...(stateKey !== undefined ? { stateKey: family === 6 ? `${stateKey}:v6` : stateKey } : {}),
        ...(this.multi ? { shared } : {}),
        ...(log ? { log: this.multi ? (text: string) => log(`IPv${family}: ${text}`) : log } : {}),
        ...(onProgress ? { onProgress: () => this.progressTick(family) } : {}),
      });
    });
    this.markerKey = `${stateKey ?? `crawl:${this.engines[0].strategy.name}`}:families`;
  }

  get engine(): CrawlEngine {
    return this.engines[0];
  }

  get strategy(): Strategy {
    return this.engines[0].strategy;
  }

  async run(): Promise<CrawlSummary> {
    const { store } = this.opts;
    const wall = this.opts.wallClock ?? Date.now;
    const c = this.opts.node.engine.counters;
    this.base = { all: c.queriesSent, v6: c.queriesSentV6 ?? 0 };
    const runId = store ? await store.beginRun({ strategy: this.strategy.name, startedAt: wall() }) : undefined;
    if (this.multi && store && this.opts.resume) {
      const marker = await store.loadState<FamiliesMarker>(this.markerKey);
      const done = marker?.v === 1 && Array.isArray(marker.done) ? this.engines.filter((e) => marker.done.includes(e.family)) : [];
      // a marker naming every family is not one this code writes: then nothing is skipped
      if (done.length < this.engines.length) {
        for (const e of done) {
          this.skipped.add(e);
          this.opts.log?.(`IPv${e.family}: crawl: its pass finished in the interrupted run; resuming the other family only`);
        }
      }
    }
    const running = this.engines.filter((e) => !this.skipped.has(e));
    const finishedDone = new Set<Family>([...this.skipped].map((e) => e.family));
    const summaries = new Map<CrawlEngine, CrawlSummary>();
    let failure: unknown;
    await Promise.all(
      running.map(async (e) => {
        try {
          const s = await e.run();
          summaries.set(e, s);
          if (s.stopped_by === 'done' && this.multi && store && running.some((o) => !o.isFinished)) {
            // written at once, so that a kill -9 of the other family does not redo this one
            finishedDone.add(e.family);
            await store.saveState(this.markerKey, { v: 1, done: [...finishedDone] } satisfies FamiliesMarker);
          }
        } catch (err) {
          failure ??= err;
          for (const other of running) other.stop('error');
        }
      }),
    );
    if (failure !== undefined) throw failure;

    const summary = this.summarize(running.map((e) => [e, summaries.get(e)!] as const));
    if (store && this.multi) {
      if (summary.state_saved) await store.saveState(this.markerKey, { v: 1, done: [...finishedDone] } satisfies FamiliesMarker);
      else await store.clearState(this.markerKey);
    }
    if (store && runId !== undefined) await store.endRun(runId, { endedAt: wall(), summary });
    return summary;
  }

  stop(): void {
    for (const e of this.engines) e.stop('stopped');
  }

  /** Live statistics over every family crawled. */
  stats(): CrawlStats {
    return this.combine(this.engines.filter((e) => !this.skipped.has(e)).map((e) => e.stats()));
  }

  /** Queries sent since the run began: to one family's addresses (the Krpc engine counts IPv6 ones), or all. */
  private queriesSent(family?: Family): number {
    const c = this.opts.node.engine.counters;
    const all = c.queriesSent - this.base.all;
    if (family === undefined) return all;
    const v6 = (c.queriesSentV6 ?? 0) - this.base.v6;
    return family === 6 ? v6 : all - v6;
  }

  /** One progress report per tick: the first family still running reports for all. */
  private progressTick(family: Family): void {
    const first = this.engines.find((e) => !e.isFinished && !this.skipped.has(e));
    if (first?.family === family) this.opts.onProgress?.(this.stats());
  }

  private summarize(parts: ReadonlyArray<readonly [CrawlEngine, CrawlSummary]>): CrawlSummary {
    const byFamily: NonNullable<CrawlSummary['by_family']> = {};
    for (const [e, s] of parts) byFamily[`${e.family}`] = familySummary(s);
    if (!this.multi) return { ...parts[0][1], by_family: byFamily };
    const stopped = STOP_ORDER.find((r) => parts.some(([, s]) => s.stopped_by === r)) ?? 'done';
    const resumedFrom = parts.map(([, s]) => s.resumed_from).filter((r) => r !== undefined);
    return {
      ...this.combine(parts.map(([, s]) => s)),
      stopped_by: stopped,
      resumed: parts.some(([, s]) => s.resumed),
      ...(resumedFrom.length > 0
        ? {
            resumed_from: {
              queries_sent: resumedFrom.reduce((n, r) => n + r.queries_sent, 0),
              unique_infohashes: resumedFrom.reduce((n, r) => n + r.unique_infohashes, 0),
              saved_at: resumedFrom.map((r) => r.saved_at).sort().pop()!,
            },
          }
        : {}),
      state_saved: parts.some(([, s]) => s.state_saved),
      by_family: byFamily,
    };
  }

  /** Adds up the families' statistics; the queries are the run's (the families share one Krpc engine). */
  private combine(list: readonly CrawlStats[]): CrawlStats {
    if (!this.multi) return list[0];
    const sum = (f: (s: CrawlStats) => number): number => list.reduce((n, s) => n + f(s), 0);
    const clients: Record<string, number> = {};
    const failures = {} as Record<TaskFailure, number>;
    const sanitizer = {} as CrawlStats['sanitizer'];
    for (const s of list) {
      for (const [k, v] of Object.entries(s.clients)) clients[k] = (clients[k] ?? 0) + v;
      for (const [k, v] of Object.entries(s.failures)) failures[k as TaskFailure] = (failures[k as TaskFailure] ?? 0) + v;
      for (const [k, v] of Object.entries(s.sanitizer)) sanitizer[k as keyof typeof sanitizer] = (sanitizer[k as keyof typeof sanitizer] ?? 0) + v;
    }
    const sampleAnswers = this.engines.reduce((n, e) => n + (this.skipped.has(e) ? 0 : e.sampleAnswers), 0);
    const answeredSample = sum((s) => s.nodes_answered_sample);
    const queries = this.queriesSent();
    const withDb = list.every((s) => s.new_infohashes !== null);
    const newOnes = withDb ? sum((s) => s.new_infohashes ?? 0) : null;
    const unique = sum((s) => s.unique_infohashes);
    const traversal = sum((s) => s.memory.traversal_bytes);
    const queried = sum((s) => s.nodes_queried);
    return {
      strategy: list[0].strategy,
      nodes_seen: sum((s) => s.nodes_seen),
      nodes_queried: queried,
      nodes_answered: sum((s) => s.nodes_answered),
      nodes_answered_sample: answeredSample,
      bep51_rate: sampleAnswers > 0 ? answeredSample / sampleAnswers : null,
      clients,
      unique_infohashes: unique,
      new_infohashes: newOnes,
      queries_sent: queries,
      queries_per_new_infohash: (newOnes ?? unique) > 0 ? queries / (newOnes ?? unique) : null,
      in_flight: sum((s) => s.in_flight),
      failures,
      interval_skips: sum((s) => s.interval_skips),
      sanitizer,
      progress: sum((s) => s.progress) / list.length,
      duration_ms: Math.max(...list.map((s) => s.duration_ms)),
      memory: {
        traversal_bytes: traversal,
        traversal_bytes_per_visited_node: queried > 0 ? traversal / queried : null,
        dedup_bytes: this.dedup.bytes,
        engine_bytes: sum((s) => s.memory.engine_bytes),
      },
      pacing: combinePacing(list.map((s) => s.pacing)),
      // waiting only when every family is: then for all their nodes, the next of them first
      waiting: list.every((s) => s.waiting)
        ? {
            for: list[0].waiting!.for,
            nodes: sum((s) => s.waiting!.nodes),
            next_in_ms: list.reduce<number | null>((m, s) => (s.waiting!.next_in_ms === null ? m : m === null ? s.waiting!.next_in_ms : Math.min(m, s.waiting!.next_in_ms)), null),
          }
        : null,
    };
  }
}

/** The families share the rate limit; each has its own window and round-trip estimate. */
function combinePacing(list: readonly CrawlPacing[]): CrawlPacing {
  const sum = (f: (p: CrawlPacing) => number): number => list.reduce((n, p) => n + f(p), 0);
  return {
    ...list[0],
    queries_per_s: Math.round(sum((p) => p.queries_per_s) * 10) / 10,
    window: sum((p) => p.window),
    window_max: sum((p) => p.window_max),
    timeout_ms: Math.max(...list.map((p) => p.timeout_ms)),
    stalled: sum((p) => p.stalled),
    late_replies: sum((p) => p.late_replies),
    waiting_late: sum((p) => p.waiting_late),
  };
}

function familySummary(s: CrawlSummary): FamilySummary {
  return {
    stopped_by: s.stopped_by,
    progress: s.progress,
    nodes_seen: s.nodes_seen,
    nodes_queried: s.nodes_queried,
    nodes_answered: s.nodes_answered,
    nodes_answered_sample: s.nodes_answered_sample,
    bep51_rate: s.bep51_rate,
    unique_infohashes: s.unique_infohashes,
    new_infohashes: s.new_infohashes,
    queries_sent: s.queries_sent,
    failures: { ...s.failures },
    resumed: s.resumed,
    state_saved: s.state_saved,
  };
}
