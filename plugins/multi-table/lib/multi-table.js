// The `multi-table` strategy: several temporary routing tables, each homed at a random id, are
// filled at once, and each is swapped for a fresh one when it stops yielding new infohashes.
//
// One main table keeps every node that answered (bounded); it seeds each new temporary table
// with the nodes closest to the new home. A temporary table is a Kademlia table: bucket b holds
// up to k nodes sharing exactly b leading bits with the home. Its candidates are asked closest to
// the home first: those as close as the closest answer so far with the home as target (the table
// converges on its home), the others with a random target inside their own bucket (which fills
// that bucket). Every node a table takes is asked with sample_infohashes the first time any
// table meets it; afterwards only with find_node, and only to help a table converge.
//
// A table is swapped out after `window` answers in a row without a new infohash, or when it
// has nothing left to ask. Without `tables-total` there is no end: the crawl's limits stop it.
//
// Given a range (a lease of `crawl --leases`, or `--shard`), it walks that part only: tables are
// homed inside it, only nodes inside it are sampled, and a node outside it is asked only with the
// home as target while it brings the table closer (the way in), never to fill a bucket outside.
// The range is done after `dry-tables` tables in a row sampled no node for the first time.

/**
 * @import { ContactIndex, CrawlNode, CrawlTask, KeyPart, KeyRange, NextResult, Strategy, StrategyContext,
 *   StrategyDefinition, TaskFailure, TaskReply } from 'bitscrape'
 */

/**
 * @typedef {object} MultiTableOptions
 * @property {number} [tables] temporary tables at once (default 8)
 * @property {number} [k] nodes per bucket of a temporary table (default 8)
 * @property {number} [window] answers in a row without a new infohash before a table is swapped (default 16)
 * @property {number} [tablesTotal] temporary tables to use before the crawl is done (default 0: no end)
 * @property {number} [pool] nodes the main table keeps (default 10000)
 * @property {KeyRange} [range] the part of the keyspace to walk (default: all of it)
 * @property {number} [dryTables] tables in a row that sample no node for the first time before
 *   the crawl is done (default 16 with a range, else 0: no such end)
 */

/**
 * @typedef {object} Candidate
 * @property {CrawlNode & { id: Uint8Array }} node
 * @property {string} key
 */

/** @typedef {{ table: TempTable, key: string, bucket: number }} Tag */

/** Endpoint status bits, shared by all tables. */
const SAMPLED = 1;
const NO_BEP51 = 2;
const DEAD = 4;

class TempTable {
  /** @param {number} serial @param {Uint8Array} home */
  constructor(serial, home) {
    this.serial = serial;
    this.home = home;
    /** Nodes taken per bucket (asked, answered; failed ones give their place back). */
    this.counts = new Uint8Array(161);
    /** @type {Candidate[]} closest to home first */
    this.candidates = [];
    /** Endpoints this table has met (candidates and taken ones). */
    this.keys = new Set();
    this.inFlight = 0;
    /** Answers and failures in a row without a new infohash. */
    this.dry = 0;
    /** Longest prefix shared with the home by a node that answered. */
    this.deepest = 0;
    this.asked = 0;
    this.found = 0;
    /** Nodes this table sampled, the first time any table met them. */
    this.fresh = 0;
    this.retired = false;
  }

  get bytes() {
    return 400 + this.candidates.length * 170 + this.keys.size * 80;
  }
}

/** @implements {Strategy} */
export class MultiTableStrategy {
  /** @param {MultiTableOptions} [options] */
  constructor(options = {}) {
    this.name = 'multi-table';
    this.width = options.tables ?? 8;
    this.k = options.k ?? 8;
    this.window = options.window ?? 16;
    this.tablesTotal = options.tablesTotal ?? 0;
    this.range = options.range;
    this.dryLimit = options.dryTables ?? ((this.range?.bits ?? 0) === 0 ? 0 : 16);
    /** Tables retired in a row that sampled no node for the first time. */
    this.dryRun = 0;
    this.pool = options.pool ?? 10_000;
    /** @type {Map<string, number>} endpoint → status bits */
    this.status = new Map();
    /** @type {TempTable[]} */
    this.tables = [];
    this.turn = 0;
    this.started = 0;
    this.retired = 0;
    this.candidateCap = 32 * this.k;
  }

  /** @type {KeyPart | undefined} */
  #part;
  /** @type {ContactIndex | undefined} */
  #main;

  /** The part of the keyspace walked (the context's helpers build it in seed()). */
  get part() {
    return this.#part ?? unseeded();
  }

  /** The main table: every node that answered, bounded (built in seed()). */
  get main() {
    return this.#main ?? unseeded();
  }

  /** @param {StrategyContext} ctx */
  async seed(ctx) {
    this.#part = ctx.helpers.keyPart(this.range);
    this.#main = ctx.helpers.contactIndex(this.pool);
    for (const n of ctx.closestKnown(this.part.randomId(), 64)) this.main.add(n);
    while (this.tables.length < this.width && this.mayStart()) this.tables.push(this.startTable(ctx));
  }

  /**
   * @param {StrategyContext} ctx
   * @returns {NextResult}
   */
  next(ctx) {
    const now = ctx.now();
    // Each table gets a turn; a table that has dried up is replaced, at most a few times per call
    // (a world with nothing to offer must not spin here).
    let replacements = 2 * this.width;
    for (let i = 0; i < this.tables.length; i++) {
      const at = (this.turn + i) % this.tables.length;
      let table = this.tables[at];
      if (table.retired) continue;
      let task = table.dry < this.window ? this.pick(table, ctx, now) : undefined;
      // dried up: replaced at once (its answers still on the way only feed the main table);
      // out of candidates: replaced once its answers, which may bring new ones, are in
      while (!task && (table.dry >= this.window || table.inFlight === 0) && replacements > 0) {
        replacements--;
        this.retire(table);
        if (!this.mayStart()) break;
        table = this.startTable(ctx);
        this.tables[at] = table;
        task = this.pick(table, ctx, now);
      }
      if (task) {
        this.turn = at + 1;
        return { task };
      }
    }
    this.tables = this.tables.filter((t) => !t.retired);
    if (this.tables.length === 0) return { done: true };
    // answers on their way bring new candidates; with none, the crawl has stalled
    return { wait: true };
  }

  /**
   * @param {CrawlTask} task
   * @param {TaskReply} reply
   * @param {StrategyContext} ctx
   */
  onReply(task, reply, ctx) {
    const tag = /** @type {Tag} */ (task.tag);
    const table = tag.table;
    table.inFlight--;
    this.main.add({ ...task.node, id: reply.id });
    if (task.method === 'sample_infohashes' && reply.samples === undefined) this.mark(tag.key, NO_BEP51);
    if (reply.newSamples > 0) {
      table.dry = 0;
      table.found += reply.newSamples;
    } else table.dry++;
    if (table.retired) return;
    const depth = ctx.helpers.commonPrefixBits(reply.id, table.home);
    if (depth > table.deepest) table.deepest = depth;
    for (const n of reply.nodes) this.offer(table, n, ctx);
  }

  /**
   * @param {CrawlTask} task
   * @param {TaskFailure} failure
   * @param {StrategyContext} _ctx
   */
  onFailure(task, failure, _ctx) {
    const tag = /** @type {Tag} */ (task.tag);
    const table = tag.table;
    table.inFlight--;
    table.dry++;
    table.counts[tag.bucket]--;
    if (failure === 'timeout' || failure === 'id_mismatch') {
      this.mark(tag.key, DEAD);
      this.main.remove(task.node.host, task.node.port);
    } else if (failure === 'unsupported') this.mark(tag.key, NO_BEP51);
  }

  progress() {
    return this.tablesTotal > 0 ? Math.min(1, this.retired / this.tablesTotal) : 0;
  }

  memoryBytes() {
    let tables = 0;
    for (const t of this.tables) tables += t.bytes;
    return (this.#main?.bytes ?? 0) + this.status.size * 90 + tables;
  }

  /** Temporary tables started so far (for tests and the bench). */
  get tablesStarted() {
    return this.started;
  }

  get tablesRetired() {
    return this.retired;
  }

  // ---- tables ---------------------------------------------------------------------------------

  mayStart() {
    return (this.tablesTotal <= 0 || this.started < this.tablesTotal) && (this.dryLimit <= 0 || this.dryRun < this.dryLimit);
  }

  /**
   * @param {StrategyContext} ctx
   * @returns {TempTable}
   */
  startTable(ctx) {
    const table = new TempTable(++this.started, this.part.randomId());
    for (const c of this.main.closest(table.home, 2 * this.k, (c) => ctx.allowed(c))) this.offer(table, c, ctx);
    for (const n of ctx.closestKnown(table.home, this.k)) this.offer(table, n, ctx);
    return table;
  }

  /** @param {TempTable} table */
  retire(table) {
    if (table.retired) return;
    table.retired = true;
    table.candidates = [];
    table.keys.clear();
    this.retired++;
    this.dryRun = table.fresh > 0 ? 0 : this.dryRun + 1;
  }

  /**
   * Adds a contact to a table's candidates (sorted, closest to the home first, capped).
   * @param {TempTable} table
   * @param {CrawlNode} n
   * @param {StrategyContext} ctx
   */
  offer(table, n, ctx) {
    if (!n.id || n.id.length !== 20 || n.family !== ctx.family) return;
    const key = ctx.helpers.endpointKey(n.host, n.port);
    if (table.keys.has(key) || ((this.status.get(key) ?? 0) & DEAD) !== 0) return;
    const bucket = ctx.helpers.commonPrefixBits(n.id, table.home);
    if (table.counts[bucket] >= this.k) return;
    const list = table.candidates;
    const compare = ctx.helpers.compareDistance;
    if (list.length >= this.candidateCap && compare(n.id, list[list.length - 1].node.id, table.home) >= 0) return;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(list[mid].node.id, n.id, table.home) <= 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, { node: { id: Uint8Array.from(n.id), host: n.host, port: n.port, family: n.family }, key });
    table.keys.add(key);
    if (list.length > this.candidateCap) {
      const dropped = /** @type {Candidate} */ (list.pop());
      table.keys.delete(dropped.key);
    }
  }

  /**
   * The table's next query: its closest candidate worth asking.
   * @param {TempTable} table
   * @param {StrategyContext} ctx
   * @param {number} now
   * @returns {CrawlTask | undefined}
   */
  pick(table, ctx, now) {
    const list = table.candidates;
    const helpers = ctx.helpers;
    for (let i = 0; i < list.length; i++) {
      const { node, key } = list[i];
      const status = this.status.get(key) ?? 0;
      const bucket = helpers.commonPrefixBits(node.id, table.home);
      const frontier = bucket + 1 >= table.deepest;
      // outside the range (a bucket the home shares fewer bits with than the range has): the frontier only
      const sample = this.part.has(node.id) && (status & (SAMPLED | NO_BEP51 | DEAD)) === 0 && ctx.sampleAllowedAt(node) <= now;
      // a node met before is worth a query only to bring the table closer to its home
      const useful = (status & DEAD) === 0 && table.counts[bucket] < this.k && (sample || frontier) && ctx.allowed(node);
      if (!useful) {
        list.splice(i, 1);
        i--;
        continue;
      }
      list.splice(i, 1);
      table.counts[bucket]++;
      table.inFlight++;
      table.asked++;
      if (sample) {
        this.mark(key, SAMPLED);
        table.fresh++;
      }
      const target = frontier ? table.home : inBucket(table.home, bucket, ctx);
      /** @type {Tag} */
      const tag = { table, key, bucket };
      return { node, method: sample ? 'sample_infohashes' : 'find_node', target, tag };
    }
    return undefined;
  }

  /** @param {string} key @param {number} bit */
  mark(key, bit) {
    this.status.set(key, (this.status.get(key) ?? 0) | bit);
  }
}

/**
 * A random id in bucket b of a table homed at home: the first b bits equal, bit b different.
 * @param {Uint8Array} home
 * @param {number} b
 * @param {StrategyContext} ctx
 */
function inBucket(home, b, ctx) {
  if (b >= 160) return Uint8Array.from(home);
  const prefix = Uint8Array.from(home);
  prefix[b >> 3] ^= 0x80 >> (b & 7);
  return ctx.helpers.randomIdInPrefix(prefix, b + 1);
}

/** @returns {never} */
function unseeded() {
  throw new Error('multi-table: seed() has not run');
}

/**
 * `--strategy-opt` keys: the option each sets and its range (README.md lists them); all integers.
 * @type {Record<string, { field: string, min: number, max: number }>}
 */
const PARAMS = {
  tables: { field: 'tables', min: 1, max: 256 },
  k: { field: 'k', min: 1, max: 255 },
  window: { field: 'window', min: 1, max: 1_000_000 },
  'tables-total': { field: 'tablesTotal', min: 0, max: 1_000_000_000 },
  pool: { field: 'pool', min: 1, max: 1_000_000 },
  'dry-tables': { field: 'dryTables', min: 0, max: 1_000_000 },
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
export const multiTableDefinition = {
  name: 'multi-table',
  description: 'several temporary routing tables homed at random ids, each swapped for a new one when it stops yielding new infohashes',
  create(options) {
    /** @type {Record<string, number>} */
    const parsed = {};
    for (const [key, text] of Object.entries(options.params)) {
      const spec = Object.hasOwn(PARAMS, key) ? PARAMS[key] : undefined;
      if (!spec) throw optionError(`multi-table: unknown --strategy-opt '${shown(key)}' (known: ${Object.keys(PARAMS).join(', ')})`);
      // plain decimal integers only: no 1e3, 0x10, Infinity or blanks
      const value = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!(value >= spec.min && value <= spec.max)) {
        throw optionError(`multi-table: --strategy-opt '${shown(`${key}=${text}`)}': expected an integer within ${spec.min}..${spec.max}`);
      }
      parsed[spec.field] = value;
    }
    return new MultiTableStrategy({ ...parsed, ...(options.range ? { range: options.range } : {}) });
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
