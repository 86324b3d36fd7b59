// The `random-target` strategy: the way the widely used Go crawler with a PostgreSQL backend
// walks the DHT. A random target id is drawn and replaced every few seconds (engine clock); for
// each target an iterative find_node lookup runs from the closest contacts we know, and once it
// has settled, the k closest nodes that answered are asked with sample_infohashes (those whose
// BEP 51 interval allows it and that did not show they lack BEP 51). Nodes that answered are
// kept in a bounded contact index that seeds the next lookups.
//
// No pass over the keyspace, so no natural end: it runs until the crawl's limits stop it, or
// for `rounds` targets. It is the baseline the keyspace strategy is measured against.
//
// Given a range (a lease of `crawl --leases`, or `--shard`), it walks that part only: targets are
// drawn inside it, only nodes inside it are sampled, each once, and the range is done after
// `dry-rounds` targets in a row whose lookup settled brought no node of the range to sample for
// the first time.
// Nodes outside it still answer the lookups' find_node: they are the way in.

/**
 * @import { ContactIndex, CrawlNode, CrawlTask, KeyPart, KeyRange, NextResult, Strategy, StrategyContext,
 *   StrategyDefinition, StrategyOptions, TaskFailure, TaskReply } from 'bitscrape'
 */

/**
 * @typedef {object} RandomTargetOptions
 * @property {number} [rotateS] seconds a target lives (default 5)
 * @property {number} [k] closest nodes a lookup settles on (default 8)
 * @property {number} [rounds] targets to walk before the crawl is done (default 0: no end)
 * @property {number} [pool] contacts kept for seeding lookups (default 10000)
 * @property {KeyRange} [range] the part of the keyspace to walk (default: all of it)
 * @property {number} [dryRounds] targets in a row without a node to sample for the first time
 *   before the crawl is done (default 8 with a range, else 0: no such end)
 */

/**
 * @typedef {object} Candidate
 * @property {CrawlNode} node
 * @property {string} key
 * @property {0 | 1 | 2 | 3} state 0 new, 1 asked, 2 answered, 3 failed
 */

/**
 * @typedef {object} Round
 * @property {number} n
 * @property {Uint8Array} target
 * @property {number} startedAt engine clock ms
 * @property {Candidate[]} shortlist closest first, capped
 * @property {Map<string, Candidate>} byKey
 * @property {number} inFlight lookup queries of this round waiting for an answer
 * @property {CrawlNode[] | null} toSample the settled closest nodes still to sample (null while looking up)
 * @property {number} fresh nodes this round sampled for the first time
 */

/** @typedef {{ round: number, key: string }} Tag */

const NEW = 0;
const ASKED = 1;
const ANSWERED = 2;
const FAILED = 3;

/** @implements {Strategy} */
export class RandomTargetStrategy {
  /** @param {RandomTargetOptions} [options] */
  constructor(options = {}) {
    this.name = 'random-target';
    this.rotateMs = (options.rotateS ?? 5) * 1000;
    this.k = options.k ?? 8;
    this.maxRounds = options.rounds ?? 0;
    this.range = options.range;
    this.dryLimit = options.dryRounds ?? ((this.range?.bits ?? 0) === 0 ? 0 : 8);
    /** Settled rounds in a row, before the current one, that sampled no node for the first time. */
    this.dry = 0;
    this.pool = options.pool ?? 10_000;
    /** Endpoints that answered sample_infohashes without samples (no BEP 51): find_node only. */
    this.noSample = new Set();
    /** Endpoints sampled so far (with a range, each is sampled once). */
    this.sampled = new Set();
    /** @type {Round | null} */
    this.round = null;
    this.roundsStarted = 0;
    this.shortlistCap = this.k * 8;
  }

  /** @type {KeyPart | undefined} */
  #part;
  /** @type {ContactIndex | undefined} */
  #index;

  /** The part of the keyspace walked (the context's helpers build it in seed()). */
  get part() {
    return this.#part ?? unseeded();
  }

  /** Contacts that answered, kept for seeding lookups (built in seed()). */
  get index() {
    return this.#index ?? unseeded();
  }

  /** @param {StrategyContext} ctx */
  async seed(ctx) {
    this.#part = ctx.helpers.keyPart(this.range);
    this.#index = ctx.helpers.contactIndex(this.pool);
    // the engine has bootstrapped its routing table; its contacts seed the first lookups
    for (const n of ctx.closestKnown(this.part.randomId(), 64)) this.index.add(n);
  }

  /**
   * @param {StrategyContext} ctx
   * @returns {NextResult}
   */
  next(ctx) {
    const now = ctx.now();
    let round = this.round;
    if (round === null || now >= round.startedAt + this.rotateMs) {
      // a round cut short before its lookup settled says nothing about the range
      const dry = round === null || round.fresh > 0 ? 0 : round.toSample === null ? this.dry : this.dry + 1;
      if ((this.maxRounds > 0 && this.roundsStarted >= this.maxRounds) || (this.dryLimit > 0 && dry >= this.dryLimit)) {
        if (round !== null && round.inFlight > 0) return { wait: true };
        return { done: true };
      }
      this.dry = dry;
      round = this.startRound(ctx, now);
    }
    const task = this.pick(round, ctx, now);
    if (task) return { task };
    // the lookup has settled (or waits for answers): the next target comes on the timer
    return { wait: true, retryAt: round.startedAt + this.rotateMs };
  }

  /**
   * @param {CrawlTask} task
   * @param {TaskReply} reply
   * @param {StrategyContext} ctx
   */
  onReply(task, reply, ctx) {
    const tag = /** @type {Tag} */ (task.tag);
    const node = { ...task.node, id: Uint8Array.from(reply.id) };
    this.index.add(node);
    if (task.method === 'sample_infohashes' && reply.samples === undefined) this.markNoSample(tag.key);
    const round = this.round;
    if (round === null || round.n !== tag.round) return;
    if (task.method === 'find_node') round.inFlight--;
    const c = round.byKey.get(tag.key);
    if (c && task.method === 'find_node') c.state = ANSWERED;
    for (const n of reply.nodes) this.offer(round, n, ctx);
  }

  /**
   * @param {CrawlTask} task
   * @param {TaskFailure} failure
   * @param {StrategyContext} _ctx
   */
  onFailure(task, failure, _ctx) {
    const tag = /** @type {Tag} */ (task.tag);
    if (failure === 'timeout' || failure === 'id_mismatch') this.index.remove(task.node.host, task.node.port);
    if (failure === 'unsupported') this.markNoSample(tag.key);
    const round = this.round;
    if (round === null || round.n !== tag.round || task.method !== 'find_node') return;
    round.inFlight--;
    const c = round.byKey.get(tag.key);
    if (c) c.state = FAILED;
  }

  progress() {
    return this.maxRounds > 0 ? Math.min(1, this.roundsStarted / this.maxRounds) : 0;
  }

  memoryBytes() {
    const shortlist = this.round ? this.round.shortlist.length * 160 : 0;
    return (this.#index?.bytes ?? 0) + (this.noSample.size + this.sampled.size) * 90 + shortlist;
  }

  /** Contacts in the index (for tests). */
  get contacts() {
    return this.#index?.size ?? 0;
  }

  get rounds() {
    return this.roundsStarted;
  }

  // ---- lookups --------------------------------------------------------------------------------

  /**
   * @param {StrategyContext} ctx
   * @param {number} now
   * @returns {Round}
   */
  startRound(ctx, now) {
    const target = this.part.randomId();
    /** @type {Round} */
    const round = { n: ++this.roundsStarted, target, startedAt: now, shortlist: [], byKey: new Map(), inFlight: 0, toSample: null, fresh: 0 };
    // replies of the previous target still count towards the index; they no longer steer a lookup
    this.round = round;
    for (const c of this.index.closest(target, this.k * 2, (c) => ctx.allowed(c))) this.offer(round, c, ctx);
    for (const n of ctx.closestKnown(target, this.k)) this.offer(round, n, ctx);
    return round;
  }

  /**
   * Adds a contact to the round's shortlist (kept sorted, closest first).
   * @param {Round} round
   * @param {CrawlNode} n
   * @param {StrategyContext} ctx
   */
  offer(round, n, ctx) {
    if (!n.id || n.id.length !== 20 || n.family !== ctx.family) return;
    const key = ctx.helpers.endpointKey(n.host, n.port);
    if (round.byKey.has(key)) return;
    const list = round.shortlist;
    const compare = ctx.helpers.compareDistance;
    if (list.length >= this.shortlistCap && compare(n.id, /** @type {Uint8Array} */ (list[list.length - 1].node.id), round.target) >= 0) return;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(/** @type {Uint8Array} */ (list[mid].node.id), n.id, round.target) <= 0) lo = mid + 1;
      else hi = mid;
    }
    /** @type {Candidate} */
    const c = { node: { id: Uint8Array.from(n.id), host: n.host, port: n.port, family: n.family }, key, state: NEW };
    list.splice(lo, 0, c);
    round.byKey.set(key, c);
    if (list.length > this.shortlistCap) {
      const dropped = /** @type {Candidate} */ (list.pop());
      if (dropped.state === NEW) round.byKey.delete(dropped.key);
    }
  }

  /**
   * The round's next query: a lookup step while the lookup runs, then the samples of the closest.
   * @param {Round} round
   * @param {StrategyContext} ctx
   * @param {number} now
   * @returns {CrawlTask | undefined}
   */
  pick(round, ctx, now) {
    if (round.toSample === null) {
      const step = this.lookupStep(round, ctx);
      if (step || round.inFlight > 0) return step;
      round.toSample = this.settled(round, now, ctx).reverse();
    }
    const node = round.toSample.pop();
    if (!node) return undefined;
    /** @type {Tag} */
    const tag = { round: round.n, key: ctx.helpers.endpointKey(node.host, node.port) };
    if (!this.sampled.has(tag.key)) {
      round.fresh++;
      // bounded like noSample: a long crawl samples more nodes than it needs to remember
      if (this.sampled.size >= this.pool * 4) this.sampled.clear();
      this.sampled.add(tag.key);
    }
    return { node, method: 'sample_infohashes', target: round.target, tag };
  }

  /**
   * The closest contact not yet asked, while fewer than k closer ones have answered or are
   * waiting for an answer (a Kademlia lookup's end condition).
   * @param {Round} round
   * @param {StrategyContext} ctx
   * @returns {CrawlTask | undefined}
   */
  lookupStep(round, ctx) {
    let live = 0;
    for (const c of round.shortlist) {
      if (live >= this.k) return undefined;
      if (c.state === FAILED) continue;
      if (c.state !== NEW) {
        live++;
        continue;
      }
      if (!ctx.allowed(c.node)) {
        c.state = FAILED;
        continue;
      }
      c.state = ASKED;
      round.inFlight++;
      /** @type {Tag} */
      const tag = { round: round.n, key: c.key };
      return { node: c.node, method: 'find_node', target: round.target, tag };
    }
    return undefined;
  }

  /**
   * The k closest nodes that answered the lookup and may be sampled now, closest first; with a
   * range, only those inside it not sampled yet.
   * @param {Round} round
   * @param {number} now
   * @param {StrategyContext} ctx
   * @returns {CrawlNode[]}
   */
  settled(round, now, ctx) {
    /** @type {CrawlNode[]} */
    const out = [];
    for (const c of round.shortlist) {
      if (out.length >= this.k) break;
      if (c.state !== ANSWERED) continue;
      if (!this.part.whole && (!this.part.has(/** @type {Uint8Array} */ (c.node.id)) || this.sampled.has(c.key))) continue;
      if (!this.noSample.has(c.key) && ctx.sampleAllowedAt(c.node) <= now && ctx.allowed(c.node)) out.push(c.node);
    }
    return out;
  }

  /** @param {string} key */
  markNoSample(key) {
    // bounded: a long crawl meets more non-BEP 51 nodes than it needs to remember
    if (this.noSample.size >= this.pool * 2) this.noSample.clear();
    this.noSample.add(key);
  }
}

/** @returns {never} */
function unseeded() {
  throw new Error('random-target: seed() has not run');
}

/**
 * `--strategy-opt` keys: the option each sets and its range (README.md lists them).
 * @type {Record<string, { field: string, integer: boolean, min: number, max: number }>}
 */
const PARAMS = {
  // seconds; 0 would draw a new target on every call
  rotate: { field: 'rotateS', integer: false, min: 0.001, max: 3600 },
  k: { field: 'k', integer: true, min: 1, max: 64 },
  rounds: { field: 'rounds', integer: true, min: 0, max: 1_000_000_000 },
  pool: { field: 'pool', integer: true, min: 1, max: 1_000_000 },
  'dry-rounds': { field: 'dryRounds', integer: true, min: 0, max: 1_000_000 },
};

/**
 * A bad `--strategy-opt`: bitscrape reports an Error named StrategyOptionError as bad input (one
 * line, exit 2) rather than as an internal error.
 * @param {string} message
 */
function optionError(message) {
  const err = new Error(message);
  err.name = 'StrategyOptionError';
  return err;
}

/** @type {StrategyDefinition} */
export const randomTargetDefinition = {
  name: 'random-target',
  description: 'a random target every few seconds: find_node towards it and sample the closest nodes (baseline; the Go crawler with a PostgreSQL backend)',
  create(options) {
    /** @type {Record<string, number>} */
    const parsed = {};
    for (const [key, text] of Object.entries(options.params)) {
      const spec = Object.hasOwn(PARAMS, key) ? PARAMS[key] : undefined;
      if (!spec) throw optionError(`random-target: unknown --strategy-opt '${shown(key)}' (known: ${Object.keys(PARAMS).join(', ')})`);
      // plain decimals only: no 1e3, 0x10, Infinity or blanks
      const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
      if (!(value >= spec.min && value <= spec.max) || (spec.integer && !Number.isInteger(value))) {
        throw optionError(`random-target: --strategy-opt '${shown(`${key}=${text}`)}': expected ${spec.integer ? 'an integer' : 'a number'} within ${spec.min}..${spec.max}`);
      }
      parsed[spec.field] = value;
    }
    return new RandomTargetStrategy({ ...parsed, ...(options.range ? { range: options.range } : {}) });
  },
};

/**
 * Input echoed in a message: at most 64 characters, control characters escaped.
 * @param {string} text
 */
function shown(text) {
  const cut = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return cut.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
