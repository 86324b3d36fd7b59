// The traversal Strategy contract: the engine owns sockets, rate limits, sanitizing, dedup and
// storage; a strategy only decides whom to ask next and with which target. Plugins import these
// as types only (`import type { Strategy } from 'bitscrape'`); everything they need at run time
// arrives through StrategyContext, so a plugin package needs no dependency at all.
import type { Family, NodeInfo } from '../wire/types.js';

/** A contact the crawl may query. `id` is what we expect it to answer with, when known. */
export interface CrawlNode {
  id?: Uint8Array;
  host: string;
  port: number;
  family: Family;
}

/** One query the strategy wants sent. */
export interface CrawlTask {
  node: CrawlNode;
  method: 'sample_infohashes' | 'find_node';
  target: Uint8Array;
  /** Opaque tag for the strategy (e.g. which table the task belongs to). */
  tag?: unknown;
}

/** What a strategy may return from next(). */
export type NextResult =
  | { task: CrawlTask }
  /** Nothing to send now; ask again when a reply arrives or at `retryAt` (engine clock ms). */
  | { wait: true; retryAt?: number }
  /** The strategy has nothing more to do (the engine still waits for in-flight replies). */
  | { done: true };

export interface TaskReply {
  /** The responder's id (verified against the expected id by the engine). */
  id: Uint8Array;
  /** Contacts from `nodes`/`nodes6`, already sanitized (no bogons, no banned or unreachable ones). */
  nodes: NodeInfo[];
  /** BEP 51 fields, present when the node answered sample_infohashes properly. */
  samples?: Uint8Array[];
  num?: number;
  interval?: number;
  /** How many of `samples` the engine had not seen before in this run. */
  newSamples: number;
  /** Raw client tag, if any. */
  version?: Uint8Array;
}

export type TaskFailure = 'timeout' | 'error' | 'unsupported' | 'bad_reply' | 'id_mismatch' | 'refused';

/** Runtime helpers the engine hands to a strategy (so plugins need no imports at run time). */
export interface StrategyHelpers {
  randomId(): Uint8Array;
  /** A random id whose first `bits` bits equal those of `prefix`. */
  randomIdInPrefix(prefix: Uint8Array, bits: number): Uint8Array;
  /** Negative if a is closer to target than b, 0 if equal, positive otherwise. */
  compareDistance(a: Uint8Array, b: Uint8Array, target: Uint8Array): number;
  commonPrefixBits(a: Uint8Array, b: Uint8Array): number;
  toHex(id: Uint8Array): string;
  /** Deterministic under a seeded run (SimNetwork), Math.random otherwise. */
  random(): number;
  /** The part of the keyspace `range` names (absent: all of it), drawing ids with these helpers. */
  keyPart(range?: KeyRange): KeyPart;
  /** An empty contact index that keeps at most `capacity` contacts. */
  contactIndex(capacity: number): ContactIndex;
  /** The text key of an endpoint (`host|port`), for sets and maps of endpoints. */
  endpointKey(host: string, port: number): string;
}

/** A part of the keyspace as a strategy walks it (StrategyOptions.range, or all of it). */
export interface KeyPart {
  /** Leading bits the part fixes (0: the whole keyspace). */
  readonly bits: number;
  /** The part's first id: its prefix, then zeros. */
  readonly start: Uint8Array;
  /** Whether this is all of the keyspace. */
  readonly whole: boolean;
  /** A random id inside the part (seeded like the other helpers). */
  randomId(): Uint8Array;
  /** Whether an id lies in the part. */
  has(id: Uint8Array): boolean;
}

/** A contact kept in a ContactIndex: always with its 20-byte id. */
export type IndexedContact = CrawlNode & { id: Uint8Array };

/**
 * A bounded set of contacts, one per endpoint, that finds the closest ones to a target (XOR)
 * without sorting all of them: a strategy's pool of nodes to start lookups from.
 */
export interface ContactIndex {
  readonly capacity: number;
  readonly size: number;
  /** Rough heap estimate in bytes (for memoryBytes()). */
  readonly bytes: number;
  /** Adds a contact with a 20-byte id; false when it has none, its endpoint is present, or the index is full. */
  add(node: CrawlNode): boolean;
  remove(host: string, port: number): void;
  /** The `count` contacts closest to target that `accept` takes (default all), closest first. */
  closest(target: Uint8Array, count: number, accept?: (c: IndexedContact) => boolean): IndexedContact[];
}

export interface StrategyContext {
  /** The engine's clock in ms (virtual on SimNetwork). */
  now(): number;
  helpers: StrategyHelpers;
  /** The address family the crawl runs on. */
  family: Family;
  /** Closest known-good contacts from the engine's routing table (bootstrapped before seed()). */
  closestKnown(target: Uint8Array, count: number): CrawlNode[];
  /** A full iterative find_node lookup through the engine (counted in the crawl's query budget). */
  lookup(target: Uint8Array): Promise<CrawlNode[]>;
  /** Whether the engine's sanitizer would currently allow querying this node. */
  allowed(node: CrawlNode): boolean;
  /** Engine-side minimum BEP 51 interval override in seconds (`--min-interval`), or undefined. */
  minIntervalS?: number;
  /**
   * Engine clock ms from which a sample_infohashes to this node honours its last BEP 51
   * `interval` (or the --min-interval override); 0 when it was never sampled. The engine refuses
   * an earlier sample_infohashes (failure 'refused'); a find_node may go at any time.
   */
  sampleAllowedAt(node: CrawlNode): number;
  /** Free-form progress lines for the user (stderr). */
  log(text: string): void;
  /**
   * Query slots free now (the engine's concurrency window minus what is in flight): how many
   * tasks next() will be asked for before the next reply. It changes as the window adapts.
   */
  slots(): number;
}

export interface StrategyWait {
  /** Why: 'bep51_interval' (nodes to sample again once their interval has passed), or a plugin's word. */
  reason: string;
  /** Nodes waited for. */
  nodes: number;
  /** Engine clock ms of the next one, or null. */
  next_at: number | null;
}

export interface Strategy {
  readonly name: string;
  /** Prepares initial candidates (may run lookups). */
  seed(ctx: StrategyContext): Promise<void>;
  /** The next query to send, or why not. Called whenever a query slot is free. */
  next(ctx: StrategyContext): NextResult;
  onReply(task: CrawlTask, reply: TaskReply, ctx: StrategyContext): void;
  onFailure(task: CrawlTask, failure: TaskFailure, ctx: StrategyContext): void;
  /**
   * Optional: the task got no reply within the adaptive timeout and its slot went to another
   * query. It is still in flight: onReply or onFailure follows (a late reply up to the hard
   * timeout). A strategy that waits for its tasks may stop waiting for this one here.
   */
  onStall?(task: CrawlTask, ctx: StrategyContext): void;
  /** Progress of one full pass, 0..1 (for status lines and ETA). */
  progress(): number;
  /** Serializable state for resume (JSON-safe), or undefined if the strategy cannot resume. */
  saveState?(): unknown;
  /** Restores state saved by saveState(); returns false when the state is not usable. */
  restoreState?(state: unknown, ctx: StrategyContext): boolean;
  /** Traversal memory estimate in bytes (reported by the bench). */
  memoryBytes?(): number;
  /**
   * What the strategy waits for while it has nothing to send (shown in the progress line, so a
   * finished sweep that waits out BEP 51 intervals says so), or null.
   */
  waitingFor?(now: number): StrategyWait | null;
}

/** What a plugin contributes for each strategy: a description and a factory. */
export interface StrategyDefinition {
  name: string;
  description: string;
  create(options: StrategyOptions): Strategy;
}

export interface StrategyOptions {
  /** Query slots the engine will keep busy. */
  concurrency: number;
  /** Free-form options from `--strategy-opt key=value`. */
  params: Record<string, string>;
  /**
   * Walk only this part of the keyspace (a lease of a shared crawl, or `--shard`): the ids whose
   * first `bits` bits are `index`. Absent: the whole keyspace.
   */
  range?: KeyRange;
}

/** Part `index` of the 2^bits equal parts of the keyspace (by the ids' first bits). */
export interface KeyRange {
  bits: number;
  index: number;
}
