// What the crawl keeps of the replies: samples through the run's dedup set into infohash
// batches, answering nodes into node batches. Infohash records are emitted once their batch is
// committed (the database says whether it had each one), so everything printed is in the
// database even after a kill -9; without a store they are emitted at once.
import { formatEndpoint } from '../net/address.js';
import type { Clock } from '../net/clock.js';
import { BatchWriter } from '../store/batch-writer.js';
import type { InfohashRecord, InfohashStore, NodeRecord, RecordResult } from '../store/types.js';
import { decodeVersion } from '../wire/version.js';
import type { Key20Set } from './compact-sets.js';
import type { CrawlNode } from './strategy.js';
import type { CrawlInfohash } from './types.js';

export interface CrawlIntakeOptions {
  clock: Clock;
  /** Infohashes found in this run (shared by the engines of a multi-family run). */
  dedup: Key20Set;
  /** Wall clock for records, Unix ms. */
  wall: () => number;
  /** --max-infohashes: samples past it are not taken. */
  maxInfohashes?: number;
  /** Infohash batches: flush at this many records or this long after the first (default 500 / 250 ms). */
  batch?: { maxItems?: number; maxDelayMs?: number };
  onInfohash?(record: CrawlInfohash): void;
  log(text: string): void;
  /** A write failed (the engine stops on the first). */
  onStoreError(err: unknown): void;
}

export class CrawlIntake {
  /** Infohashes new in this run; of those, written to the store, and new to it. */
  readonly counts = { unique: 0, stored: 0, newToDb: 0 };
  private infohashWriter?: BatchWriter<InfohashRecord, RecordResult[]>;
  private nodeWriter?: BatchWriter<NodeRecord, unknown>;

  constructor(private readonly opts: CrawlIntakeOptions) {}

  /** From now on records go to the store, in batches. */
  open(store: InfohashStore): void {
    const batch = this.opts.batch ?? {};
    const common = {
      clock: this.opts.clock,
      maxItems: batch.maxItems ?? 500,
      maxDelayMs: batch.maxDelayMs ?? 250,
      onError: (err: unknown) => this.opts.onStoreError(err),
    };
    this.infohashWriter = new BatchWriter<InfohashRecord, RecordResult[]>({
      ...common,
      write: (items) => store.recordInfohashes(items),
      onWritten: (results, items) => {
        this.counts.stored += items.length;
        for (let i = 0; i < items.length; i++) {
          const isNew = results[i]?.isNew ?? false;
          if (isNew) this.counts.newToDb++;
          this.emit(items[i], !isNew);
        }
      },
    });
    this.nodeWriter = new BatchWriter<NodeRecord, unknown>({ ...common, maxItems: 1000, maxDelayMs: 1000, write: (items) => store.recordNodes(items) });
  }

  /** Takes the samples new to the run; returns how many were. */
  takeSamples(samples: Uint8Array[], sourceId: Uint8Array, n: CrawlNode, v: Uint8Array | undefined): number {
    let fresh = 0;
    const limit = this.opts.maxInfohashes;
    const dedup = this.opts.dedup;
    const version = decodeVersion(v);
    const addr = formatEndpoint(n.host, n.port);
    for (const s of samples) {
      if (limit !== undefined && dedup.size >= limit) break;
      if (s.length !== 20 || !dedup.add(s)) continue;
      fresh++;
      this.counts.unique++;
      const record: InfohashRecord = {
        infohash: Uint8Array.from(s),
        seenAt: this.opts.wall(),
        sourceId: Uint8Array.from(sourceId),
        sourceAddr: addr,
        ...(version.client ? { sourceClient: version.client } : {}),
        sourceVersionHex: version.hex,
      };
      if (this.infohashWriter) {
        try {
          this.infohashWriter.add(record);
        } catch (err) {
          this.opts.onStoreError(err);
        }
      } else this.emit(record, false);
    }
    return fresh;
  }

  /** Records an answering node (with a store). */
  recordNode(n: CrawlNode, v: Uint8Array | undefined, extra: Partial<NodeRecord>): void {
    if (!this.nodeWriter) return;
    const version = decodeVersion(v);
    try {
      this.nodeWriter.add({
        addr: formatEndpoint(n.host, n.port),
        seenAt: this.opts.wall(),
        ...(version.hex ? { versionHex: version.hex } : {}),
        ...(version.client ? { client: version.client } : {}),
        ...extra,
      });
    } catch (err) {
      this.opts.onStoreError(err);
    }
  }

  /** Writes what is buffered (a failure goes to onStoreError). */
  async flush(): Promise<void> {
    try {
      await this.infohashWriter?.flush();
      await this.nodeWriter?.flush();
    } catch (err) {
      this.opts.onStoreError(err);
    }
  }

  private emit(r: InfohashRecord, inDb: boolean): void {
    if (!this.opts.onInfohash) return;
    try {
      this.opts.onInfohash({ ...r, inDbBefore: inDb });
    } catch (err) {
      this.opts.log(`crawl: onInfohash failed: ${(err as Error).message}`);
    }
  }
}
