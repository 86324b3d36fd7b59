import { describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { CrawlEngine } from '../../../src/core/crawl/engine.js';
import { KeyspaceStrategy } from '../../../src/core/crawl/keyspace.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import type { CrawlTask, NextResult, Strategy, StrategyContext, TaskFailure, TaskReply } from '../../../src/core/crawl/strategy.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall } from '../../../src/core/crawl/sim-crawl.js';
import { crawlInfohashRecord, type CrawlInfohashRecord } from '../../../src/output/crawl-records.js';
import { DhtClient } from '../../../src/core/dht/dht-client.js';
import { RoutingTable } from '../../../src/core/dht/routing-table.js';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import type { Transport } from '../../../src/core/net/transport.js';
import { NodeKind, type SimWorld } from '../../../src/core/sim/world.js';
import { toHex } from '../../../src/core/wire/hex.js';

/** A strategy that hands out a fixed list of tasks and records what comes back. */
class ScriptedStrategy implements Strategy {
  readonly name = 'scripted';
  readonly replies: Array<{ task: CrawlTask; reply: TaskReply }> = [];
  readonly failures: Array<{ task: CrawlTask; failure: TaskFailure }> = [];
  private inFlight = 0;
  constructor(private readonly tasks: CrawlTask[]) {}
  async seed(): Promise<void> {}
  next(): NextResult {
    const task = this.tasks.shift();
    if (task) {
      this.inFlight++;
      return { task };
    }
    return this.inFlight > 0 ? { wait: true } : { done: true };
  }
  onReply(task: CrawlTask, reply: TaskReply): void {
    this.inFlight--;
    this.replies.push({ task, reply });
  }
  onFailure(task: CrawlTask, failure: TaskFailure): void {
    this.inFlight--;
    this.failures.push({ task, failure });
  }
  progress(): number {
    return 0;
  }
}

/** A crawler node whose transport records every destination. */
function recordingCrawler(world: SimWorld, clock: ReturnType<typeof createTestnet>['clock'], sent: string[]): DhtClient {
  const inner = world.attachClient('10.255.0.7', 6881);
  const transport: Transport = {
    get endpoints() {
      return inner.endpoints;
    },
    send(data, host, port) {
      sent.push(`${host}:${port}`);
      inner.send(data, host, port);
    },
    onMessage: (h) => inner.onMessage(h),
    close: () => inner.close(),
  };
  const id = new Uint8Array(20).fill(3);
  const engine = new Krpc({ transport, clock, id, policy: AddressPolicy.simulated(), rateLimit: false, timeoutMs: 1000 });
  return new DhtClient({ engine, clock, table: new RoutingTable({ id, clock }) });
}

const firstOf = (w: SimWorld, pred: (i: number) => boolean): number => {
  for (let i = 0; i < w.size; i++) if (pred(i)) return i;
  throw new Error('none');
};

describe('CrawlEngine stop conditions', () => {
  it('stops at --max-queries', async () => {
    const net = createTestnet({ nodes: 1000, infohashes: 500, seed: 11 });
    const crawl = createCrawl({ node: attachCrawler(net), strategy: new KeyspaceStrategy(), concurrency: 16, seed: 1, limits: { maxQueries: 300 } });
    const s = await driveCrawl(net, crawl);
    expect(s.stopped_by).toBe('max_queries');
    expect(s.queries_sent).toBeGreaterThanOrEqual(300);
    expect(s.queries_sent).toBeLessThanOrEqual(300 + 16);
    expect(s.in_flight).toBe(0); // limits let in-flight queries finish
  });

  it('stops at --max-infohashes with exactly that many', async () => {
    const net = createTestnet({ nodes: 1000, infohashes: 1000, seed: 12 });
    const seen: string[] = [];
    const crawl = createCrawl({ node: attachCrawler(net), strategy: 'keyspace', seed: 1, limits: { maxInfohashes: 50 }, onInfohash: (r) => seen.push(toHex(r.infohash)) });
    const s = await driveCrawl(net, crawl);
    expect(s.stopped_by).toBe('max_infohashes');
    expect(s.unique_infohashes).toBe(50);
    expect(seen.length).toBe(50);
    expect(new Set(seen).size).toBe(50);
  });

  it('stops after --duration of engine time', async () => {
    const net = createTestnet({ nodes: 1000, seed: 13 });
    const crawl = createCrawl({ node: attachCrawler(net), seed: 1, limits: { durationMs: 20_000 } });
    const s = await driveCrawl(net, crawl);
    expect(s.stopped_by).toBe('duration');
    expect(s.duration_ms).toBeGreaterThanOrEqual(20_000);
    expect(s.duration_ms).toBeLessThan(20_000 + 2_500); // the last queries' timeout at most
  });

  it('stops at once on abort, abandoning what is in flight', async () => {
    const net = createTestnet({ nodes: 1000, seed: 14 });
    const controller = new AbortController();
    net.clock.setTimeout(() => controller.abort(), 15_000);
    const crawl = createCrawl({ node: attachCrawler(net), seed: 1, concurrency: 32, signal: controller.signal });
    const s = await driveCrawl(net, crawl);
    expect(s.stopped_by).toBe('aborted');
    expect(s.duration_ms).toBe(15_000);
    expect(s.in_flight).toBeGreaterThan(0);
    expect(s.progress).toBeLessThan(1);
  });
});

describe('CrawlEngine safety', () => {
  it('never sends to bogons and tells the strategy why', async () => {
    const net = createTestnet({ nodes: 200, seed: 21 });
    const sent: string[] = [];
    const node = recordingCrawler(net.world, net.clock, sent);
    const good = firstOf(net.world, (i) => net.world.isResponsive(i));
    const target = new Uint8Array(20);
    const bogons = [
      { host: '0.0.0.5', port: 6881 },
      { host: '224.0.0.1', port: 6881 },
      { host: '255.255.255.255', port: 6881 },
      { host: '10.0.0.9', port: 0 },
      { host: '198.51.100.1', port: 6881 },
    ];
    const tasks: CrawlTask[] = [...bogons, net.world.endpointOf(good)].map((ep) => ({ node: { ...ep, family: 4 }, method: 'find_node', target }));
    const strategy = new ScriptedStrategy(tasks);
    const crawl = createCrawl({ node, strategy, bootstrapBelow: 0 });
    const s = await driveCrawl(net, crawl);
    expect(sent).toEqual([`${net.world.endpointOf(good).host}:${net.world.endpointOf(good).port}`]);
    expect(strategy.failures.map((f) => f.failure)).toEqual(['refused', 'refused', 'refused', 'refused', 'refused']);
    expect(strategy.replies.length).toBe(1);
    expect(s.sanitizer.bogons).toBe(5);
  });

  it('honours a node\'s BEP 51 interval unless --min-interval overrides it', async () => {
    for (const minIntervalS of [undefined, 0]) {
      const net = createTestnet({ nodes: 200, seed: 22 });
      const w = net.world;
      const i = firstOf(w, (n) => w.isResponsive(n) && w.supportsBep51(n));
      const task = (): CrawlTask => ({ node: { ...w.endpointOf(i), id: w.idOf(i), family: 4 }, method: 'sample_infohashes', target: new Uint8Array(20) });
      // the second task is handed out only after the first answered
      const strategy = new ScriptedStrategy([task()]);
      const original = strategy.onReply.bind(strategy);
      let again = true;
      strategy.onReply = (t, r) => {
        original(t, r);
        if (again) (strategy as unknown as { tasks: CrawlTask[] }).tasks.push(task());
        again = false;
      };
      const crawl = createCrawl({ node: attachCrawler(net), strategy, bootstrapBelow: 0, ...(minIntervalS !== undefined ? { minIntervalS } : {}) });
      const s = await driveCrawl(net, crawl);
      if (minIntervalS === undefined) {
        expect(s.interval_skips).toBe(1);
        expect(strategy.failures.map((f) => f.failure)).toEqual(['refused']);
        expect(w.sampled[i]).toBe(1);
        expect(crawl.engine.context.sampleAllowedAt({ ...w.endpointOf(i), family: 4 })).toBeGreaterThanOrEqual(300_000);
      } else {
        expect(s.interval_skips).toBe(0);
        expect(w.sampled[i]).toBe(2);
        expect(w.counters.earlySamples).toBe(1);
      }
    }
  });

  it('takes a node that answers under another id once the id is confirmed, and bans a spoofer', async () => {
    const net = createTestnet({ nodes: 400, seed: 23 });
    const w = net.world;
    const honest = firstOf(w, (n) => w.isResponsive(n) && w.supportsBep51(n) && w.storedBy(n) > 0);
    const spoofer = firstOf(w, (n) => w.kind[n] === NodeKind.spoofer);
    const wrongId = new Uint8Array(20).fill(0x42); // what a lying referrer said
    const tasks: CrawlTask[] = [
      { node: { ...w.endpointOf(honest), id: wrongId, family: 4 }, method: 'sample_infohashes', target: new Uint8Array(20) },
      { node: { ...w.endpointOf(spoofer), id: w.idOf(spoofer), family: 4 }, method: 'sample_infohashes', target: new Uint8Array(20) },
    ];
    const strategy = new ScriptedStrategy(tasks);
    const crawl = createCrawl({ node: attachCrawler(net), strategy, bootstrapBelow: 0 });
    const s = await driveCrawl(net, crawl);
    expect(strategy.replies.map((r) => Buffer.from(r.reply.id).toString('hex'))).toEqual([Buffer.from(w.idOf(honest)).toString('hex')]);
    expect(strategy.replies[0].reply.samples?.length).toBeGreaterThan(0);
    expect(strategy.failures.map((f) => f.failure)).toEqual(['id_mismatch']);
    expect(crawl.engine.sanitizer.isBanned(w.endpointOf(spoofer).host, w.endpointOf(spoofer).port)).toBe(true);
    expect(crawl.engine.sanitizer.isBanned(w.endpointOf(honest).host, w.endpointOf(honest).port)).toBe(false);
    expect(w.counters.earlySamples).toBe(0); // the check is a ping, not a second sample
    expect(s.sanitizer.bans).toBe(1);
  });

  it('settles a verification ping whose send throws as a failed task, freeing its slot', async () => {
    const net = createTestnet({ nodes: 400, seed: 23 });
    const w = net.world;
    const honest = firstOf(w, (n) => w.isResponsive(n) && w.supportsBep51(n) && w.storedBy(n) > 0);
    const task: CrawlTask = { node: { ...w.endpointOf(honest), id: new Uint8Array(20).fill(0x42), family: 4 }, method: 'sample_infohashes', target: new Uint8Array(20) };
    const strategy = new ScriptedStrategy([task]);
    const node = attachCrawler(net);
    const query = node.engine.query.bind(node.engine);
    node.engine.query = (to, method, args, opts) => {
      if (method === 'ping') throw new Error('socket gone');
      return query(to, method, args, opts);
    };
    const logs: string[] = [];
    const crawl = createCrawl({ node, strategy, bootstrapBelow: 0, log: (t) => logs.push(t) });
    const s = await driveCrawl(net, crawl);
    expect(strategy.failures.map((f) => f.failure)).toEqual(['id_mismatch']);
    expect(strategy.replies).toEqual([]);
    expect(s.stopped_by).toBe('done');
    expect(s.in_flight).toBe(0);
    expect(logs.filter((l) => l.includes('failed'))).toEqual([]);
  });
});

describe('CrawlEngine storage and resume', () => {
  it('stores what it finds and says which infohashes the database already had', async () => {
    const net = createTestnet({ nodes: 600, infohashes: 300, seed: 31 });
    const store = new SqliteStore(':memory:');
    const known = Array.from({ length: 20 }, (_, j) => Uint8Array.from(net.world.infohashes.subarray(j * 20, j * 20 + 20)));
    store.recordInfohashes(known.map((infohash) => ({ infohash, seenAt: 1 })));
    const records: CrawlInfohashRecord[] = [];
    const crawl = createCrawl({ node: attachCrawler(net), store, seed: 2, onInfohash: (r) => records.push(crawlInfohashRecord(r)), wallClock: () => 1_700_000_000_000 });
    const s = await driveCrawl(net, crawl);
    const knownHex = new Set(known.map((k) => Buffer.from(k).toString('hex')));
    const again = records.filter((r) => knownHex.has(r.infohash));
    expect(again.length).toBeGreaterThan(10);
    for (const r of records) expect(r.in_db_before).toBe(knownHex.has(r.infohash));
    expect(s.new_infohashes).toBe(s.unique_infohashes - again.length);
    expect(records[0]).toMatchObject({ first_seen: '2023-11-14T22:13:20.000Z' });
    expect(records[0].infohash).toMatch(/^[0-9a-f]{40}$/);
    expect(records[0].source_id).toMatch(/^[0-9a-f]{40}$/);
    expect(records[0].source_addr).toMatch(/^10\.\d+\.\d+\.\d+:\d+$/);
    expect([...store.listInfohashes()].length).toBe(20 + (s.new_infohashes ?? 0));
    expect(store.stats().bep51_nodes).toBe(s.nodes_answered_sample);
    expect(store.loadState('crawl:keyspace')).toBeUndefined(); // a finished pass leaves no state
    store.close();
  });

  it('resumes an interrupted pass from the store; the two runs together find what one would', async () => {
    const opts = { nodes: 1500, infohashes: 750, seed: 32 };
    const one = createTestnet(opts);
    const full = await driveCrawl(one, createCrawl({ node: attachCrawler(one), seed: 3 }));

    const net = createTestnet(opts);
    const store = new SqliteStore(':memory:');
    const first = await driveCrawl(net, createCrawl({ node: attachCrawler(net), store, seed: 3, limits: { maxQueries: Math.round(full.queries_sent / 2) } }));
    expect(first.stopped_by).toBe('max_queries');
    expect(first.state_saved).toBe(true);
    expect(store.loadState('crawl:keyspace')).toMatchObject({ v: 1, strategy: 'keyspace' });

    const second = await driveCrawl(net, createCrawl({ node: attachCrawler(net, { port: 6882 }), store, seed: 4, resume: true }));
    expect(second.resumed).toBe(true);
    expect(second.resumed_from?.unique_infohashes).toBe(first.unique_infohashes);
    expect(second.stopped_by).toBe('done');
    expect(store.loadState('crawl:keyspace')).toBeUndefined();

    const found = new Set([...store.listInfohashes()].map((r) => r.infohash));
    const recall = measureRecall(net.world, found).infohash_recall;
    expect(recall).toBeGreaterThanOrEqual(0.98);
    // nodes visited before the interruption are not visited again
    expect(first.queries_sent + second.queries_sent).toBeLessThan(full.queries_sent * 1.2);
    store.close();
  });

  it('checkpoints the traversal while it runs, behind the data it has stored', async () => {
    const net = createTestnet({ nodes: 1000, infohashes: 500, seed: 34 });
    const store = new SqliteStore(':memory:');
    let midway: { state: { cursor: string }; engine: { unique_infohashes: number } } | undefined;
    let storedAtCheckpoint = 0;
    net.clock.setTimeout(() => {
      midway = store.loadState('crawl:keyspace');
      storedAtCheckpoint = [...store.listInfohashes()].length;
    }, 25_000); // between the first checkpoint (10 s after seeding, ~24 s) and the end of the pass (~38 s)
    const s = await driveCrawl(net, createCrawl({ node: attachCrawler(net), store, seed: 5, checkpointEveryMs: 10_000 }));
    expect(s.duration_ms).toBeGreaterThan(25_000);
    expect(midway?.state.cursor).toMatch(/^[0-9a-f]{40}$/);
    expect(midway!.state.cursor).not.toBe('00'.repeat(20));
    expect(storedAtCheckpoint).toBeGreaterThanOrEqual(midway!.engine.unique_infohashes);
    expect(s.stopped_by).toBe('done');
    expect(store.loadState('crawl:keyspace')).toBeUndefined();
    store.close();
  });

  it('leaves a saved traversal alone when stopped before it was restored', async () => {
    const net = createTestnet({ nodes: 300, seed: 35 });
    const store = new SqliteStore(':memory:');
    const saved = { v: 1, strategy: 'keyspace', saved_at: 'x', engine: { queries_sent: 5, unique_infohashes: 1 }, state: { marker: true } };
    store.saveState('crawl:keyspace', saved);
    const controller = new AbortController();
    net.clock.setTimeout(() => controller.abort(), 50); // during the bootstrap lookup
    const s = await driveCrawl(net, createCrawl({ node: attachCrawler(net), store, resume: true, signal: controller.signal }));
    expect(s.stopped_by).toBe('aborted');
    expect(s.state_saved).toBe(false);
    expect(store.loadState('crawl:keyspace')).toEqual(saved);
    store.close();
  });

  it('refuses to resume a state that belongs to another strategy and starts a new pass', async () => {
    const net = createTestnet({ nodes: 300, seed: 33 });
    const store = new SqliteStore(':memory:');
    store.saveState('crawl:keyspace', { v: 1, strategy: 'other', saved_at: '', engine: {}, state: {} });
    const lines: string[] = [];
    const s = await driveCrawl(net, createCrawl({ node: attachCrawler(net), store, resume: true, log: (t) => lines.push(t) }));
    expect(s.resumed).toBe(false);
    expect(s.stopped_by).toBe('done');
    expect(lines.join('\n')).toMatch(/not usable/);
    store.close();
  });
});

describe('CrawlEngine context', () => {
  it('hands the strategy deterministic helpers and the routing table', async () => {
    const net = createTestnet({ nodes: 300, seed: 41 });
    const a = new CrawlEngine({ node: attachCrawler(net), strategy: new ScriptedStrategy([]), seed: 9 });
    const b = new CrawlEngine({ node: attachCrawler(net, { port: 7001 }), strategy: new ScriptedStrategy([]), seed: 9 });
    const ctx: StrategyContext = a.context;
    expect(Array.from(ctx.helpers.randomId())).toEqual(Array.from(b.context.helpers.randomId()));
    const prefix = new Uint8Array(20).fill(0xff);
    const id = ctx.helpers.randomIdInPrefix(prefix, 12);
    expect(id[0]).toBe(0xff);
    expect(id[1] >> 4).toBe(0xf);
    expect(ctx.family).toBe(4);
    expect(ctx.allowed({ host: '0.0.0.1', port: 1, family: 4 })).toBe(false);
    expect(ctx.allowed({ host: '10.0.0.1', port: 6881, family: 4 })).toBe(true);
    expect(ctx.allowed({ host: '10.0.0.1', port: 6881, family: 6 })).toBe(false);
  });
});
