// What happens to an answer once the engine has routed it: the id is checked against the one the
// endpoint gave before, the books and the tally count the node, the routing table hears of it,
// its contacts are filtered, its samples go to the intake and its BEP 51 interval to the interval
// book, and the strategy is told. Failures are counted here too, on their way to the strategy.
import type { DhtClient } from '../dht/dht-client.js';
import type { Clock } from '../net/clock.js';
import { checkResponse } from '../net/response-rules.js';
import type { Family, KrpcResponse } from '../wire/types.js';
import type { Key20Set } from './compact-sets.js';
import type { CrawlIntake } from './crawl-intake.js';
import type { CrawlTally } from './crawl-stats.js';
import { ANSWERED, ANSWERED_SAMPLE_ANY, type EndpointBook, SAMPLE_OK, SEEN } from './endpoint-book.js';
import type { IntervalBook } from './interval-book.js';
import type { Sanitizer } from './sanitizer.js';
import type { CrawlTask, Strategy, StrategyContext, TaskFailure, TaskReply } from './strategy.js';
import type { StopReason } from './types.js';

export interface ReplyIntakeOptions {
  node: Pick<DhtClient, 'noteReply'>;
  family: Family;
  clock: Pick<Clock, 'now'>;
  /** Wall clock for node records, Unix ms. */
  wall: () => number;
  strategy: Strategy;
  ctx: StrategyContext;
  sanitizer: Sanitizer;
  book: EndpointBook;
  intervals: IntervalBook;
  tally: CrawlTally;
  intake: CrawlIntake;
  /** Infohashes found in this run: --max-infohashes stops the crawl when it holds that many. */
  dedup: Key20Set;
  maxInfohashes?: number;
  /** --min-interval: replaces the BEP 51 interval nodes ask for. */
  minIntervalS?: number;
  stop(reason: StopReason): void;
}

/** libtorrent without BEP 51 answers sample_infohashes like find_node: not a sample, but its contacts count. */
export function answersLikeFindNode(task: CrawlTask, msg: KrpcResponse): boolean {
  return task.method === 'sample_infohashes' && msg.rawBody.samples === undefined && Boolean(msg.r.nodes || msg.r.nodes6);
}

export class ReplyIntake {
  constructor(private readonly o: ReplyIntakeOptions) {}

  /** An answer to a task; `sampleOk` false when a sample_infohashes came back without samples. */
  answered(task: CrawlTask, msg: KrpcResponse, rttMs: number, sampleOk: boolean): void {
    const o = this.o;
    const n = task.node;
    const id = msg.r.id;
    if (!o.sanitizer.noteReply(n.host, n.port, id)) {
      this.failed(task, 'id_mismatch'); // a second different id: the oracle just banned it
      return;
    }
    const isSample = task.method === 'sample_infohashes';
    const bits = o.book.mark(n.host, n.port, ANSWERED | (isSample ? ANSWERED_SAMPLE_ANY : 0) | (isSample && sampleOk ? SAMPLE_OK : 0));
    if (!(bits & ANSWERED)) o.tally.noteClient(msg.v);
    o.node.noteReply(id, { host: n.host, port: n.port }, rttMs, msg.v);

    const raw = o.family === 6 ? msg.r.nodes6 : msg.r.nodes;
    const contacts = raw ? o.sanitizer.filterContacts(raw) : [];
    for (const c of contacts) o.book.mark(c.host, c.port, SEEN);

    const reply: TaskReply = { id, nodes: contacts, newSamples: 0, ...(msg.v ? { version: msg.v } : {}) };
    if (isSample && sampleOk) {
      const r = msg.r;
      const interval = r.interval ?? 0;
      const waitS = o.minIntervalS ?? interval;
      o.intervals.note(n.host, n.port, o.clock.now(), waitS);
      reply.samples = r.samples ?? [];
      reply.num = r.num;
      reply.interval = interval;
      reply.newSamples = o.intake.takeSamples(reply.samples, id, n, msg.v);
      o.intake.recordNode(n, msg.v, { id, bep51: true, sampledAt: o.wall(), sampleIntervalS: interval, ...(r.num !== undefined ? { num: r.num } : {}) });
    } else {
      o.intake.recordNode(n, msg.v, { id, ...(isSample ? { bep51: false } : {}) });
    }
    o.strategy.onReply(task, reply, o.ctx);
    if (o.maxInfohashes !== undefined && o.dedup.size >= o.maxInfohashes) o.stop('max_infohashes');
  }

  /** The claimed id held: the first answer is the node's, checked as any answer would be. */
  verified(task: CrawlTask, answer: KrpcResponse, rttMs: number): void {
    if (checkResponse(task.method, answer) === null) this.answered(task, answer, rttMs, true);
    else if (answersLikeFindNode(task, answer)) this.answered(task, answer, rttMs, false);
    else this.failed(task, 'bad_reply');
  }

  /** Error 204: the node answered but does not know the method (a sample_infohashes: no BEP 51). */
  unsupported(task: CrawlTask, v: Uint8Array | undefined): void {
    const n = task.node;
    const isSample = task.method === 'sample_infohashes';
    this.o.book.mark(n.host, n.port, ANSWERED | (isSample ? ANSWERED_SAMPLE_ANY : 0));
    if (isSample) this.o.intake.recordNode(n, v, { bep51: false });
    this.failed(task, 'unsupported');
  }

  failed(task: CrawlTask, failure: TaskFailure): void {
    this.o.tally.failures[failure]++;
    this.o.strategy.onFailure(task, failure, this.o.ctx);
  }
}
