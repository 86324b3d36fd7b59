// The KRPC engine: transactions, timeouts (one timer wheel), retries, outbound rate limits,
// address policy and counters, over any Transport (UDP or SimNetwork).
//
// Transaction ids are 4 random bytes; a pending query is keyed by t|ip|port, so a reply counts
// only when it comes from exactly the endpoint we asked. Anything else is unmatched: counted and
// dropped silently (answering it would make us an amplifier). query() never rejects.
import { randomFillSync } from 'node:crypto';
import { toHex } from '../wire/hex.js';
import { encodeError, encodeQuery, encodeResponse, messageFromView } from '../wire/krpc-codec.js';
import { canonicalIp } from '../wire/ip.js';
import { KrpcView, scanKrpc } from '../wire/krpc-view.js';
import type { BEncodable, KrpcQuery, KrpcResponse } from '../wire/types.js';
import { AddressPolicy } from './address.js';
import type { Clock } from './clock.js';
import { endpointKey } from './endpoint-key.js';
import type {
  Endpoint,
  KrpcCounters,
  KrpcEngine,
  MalformedQueryHandler,
  QueryHandler,
  QueryOptions,
  QueryOutcome,
  ResponseObserver,
} from './krpc-types.js';
import { RateLimiter, type RateLimitOptions } from './rate-limiter.js';
import { checkResponse } from './response-rules.js';
import { TimerWheel, type TimerRef } from './timer-wheel.js';
import type { Transport } from './transport.js';

/** A BEP 20 style client tag: two letters, then major and minor<<4|tiny (libtorrent's layout). */
function clientTag(letters: string, major: number, minor: number, tiny = 0): Uint8Array {
  if (letters.length !== 2) throw new Error(`client tag needs two letters (got '${letters}')`);
  return Uint8Array.of(letters.charCodeAt(0) & 0xff, letters.charCodeAt(1) & 0xff, major & 0xff, ((minor & 0x0f) << 4) | (tiny & 0x0f));
}

/** Our tag: 'BS' 0.1.0. */
export const BITSCRAPE_CLIENT_TAG: Uint8Array = clientTag('BS', 0, 1, 0);

const KRPC_DEFAULTS = {
  timeoutMs: 2000,
  retries: 1,
  readOnly: true,
} as const;

export interface KrpcOptions {
  transport: Transport;
  clock: Clock;
  /** Our node id (20 bytes); added as `id` to queries and responses that do not set one. */
  id: Uint8Array;
  /** Client tag sent as `v` (default BITSCRAPE_CLIENT_TAG); null sends none. */
  v?: Uint8Array | null;
  /** Add ro=1 to queries (BEP 43), so nobody puts us in a routing table. Default true. */
  readOnly?: boolean;
  /** Per-attempt timeout (default 2000 ms). */
  timeoutMs?: number;
  /** Extra attempts after a timeout (default 1). */
  retries?: number;
  /** Outbound limits (default RATE_LIMIT_DEFAULTS); false disables them. */
  rateLimit?: RateLimitOptions | false;
  /** Address policy; default one built from the transport's bound addresses. */
  policy?: AddressPolicy;
  /** A datagram that failed to decode but was recognisably a query with a t (a 203 may be due). */
  onMalformedQuery?: MalformedQueryHandler;
  /** close() also closes the transport (default false: whoever opened it closes it). */
  closeTransport?: boolean;
}

/** KrpcCounters plus the engine's optional extras, always present here. */
export type KrpcEngineCounters = KrpcCounters & Required<Pick<KrpcCounters, 'queriesSentV6' | 'badReplies' | 'idMismatches' | 'handlerErrors'>>;

type Resolve = (outcome: QueryOutcome) => void;

class Pending {
  done = false;
  attempts = 0;
  sentAt = 0;
  timer: TimerRef | null = null;
  /** The caller's "stop waiting" signal (QueryOptions.onStall), armed on the first send. */
  onStall: (() => void) | null = null;
  stallMs = 0;
  stallTimer: TimerRef | null = null;
  constructor(
    readonly key: string,
    readonly to: Endpoint,
    readonly method: string,
    readonly bytes: Uint8Array,
    readonly timeoutMs: number,
    public retriesLeft: number,
    readonly expectId: Uint8Array | undefined,
    /** Rate-limit key, or null to skip the limiter. */
    readonly limitKey: string | null,
    /** limitKey is a local ip:port (the policy keys loopback/private networks by port). */
    readonly limitLocal: boolean,
    readonly resolve: Resolve,
  ) {}
}

interface MethodStats {
  sent: number;
  ok: number;
  timeout: number;
  error: number;
}

const TID_POOL = 4096;

export class Krpc implements KrpcEngine {
  readonly id: Uint8Array;
  readonly counters: KrpcEngineCounters = {
    sent: 0,
    received: 0,
    queriesSent: 0,
    queriesSentV6: 0,
    responses: 0,
    timeouts: 0,
    errors: 0,
    malformed: 0,
    unmatched: 0,
    queriesReceived: 0,
    refused: 0,
    rateLimited: 0,
    badReplies: 0,
    idMismatches: 0,
    handlerErrors: 0,
    byMethod: {},
    byVersion: {},
  };
  readonly policy: AddressPolicy;
  /** Null when rate limiting is disabled. */
  readonly limiter: RateLimiter | null;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly wheel: TimerWheel;
  private readonly v: Uint8Array | undefined;
  private readonly readOnly: boolean;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly closeTransport: boolean;
  private readonly pending = new Map<string, Pending>();
  private queryHandler: QueryHandler | null = null;
  private readonly observers: ResponseObserver[] = [];
  private malformedHandler: MalformedQueryHandler | null;
  /** One view for incoming datagrams, reused: nothing keeps it past onDatagram. */
  private readonly view = new KrpcView();
  private readonly hasV4: boolean;
  private readonly hasV6: boolean;
  private readonly tidPool = Buffer.allocUnsafe(TID_POOL);
  private tidPos = TID_POOL;
  private closed = false;

  constructor(options: KrpcOptions) {
    if (options.id.length !== 20) throw new Error(`node id must be 20 bytes (got ${options.id.length})`);
    this.id = options.id;
    this.transport = options.transport;
    this.clock = options.clock;
    this.v = options.v === null ? undefined : (options.v ?? BITSCRAPE_CLIENT_TAG);
    this.readOnly = options.readOnly ?? KRPC_DEFAULTS.readOnly;
    this.timeoutMs = options.timeoutMs ?? KRPC_DEFAULTS.timeoutMs;
    this.retries = options.retries ?? KRPC_DEFAULTS.retries;
    this.closeTransport = options.closeTransport ?? false;
    this.malformedHandler = options.onMalformedQuery ?? null;
    const endpoints = options.transport.endpoints;
    this.policy = options.policy ?? new AddressPolicy({ localAddresses: endpoints.map((e) => e.host) });
    // With no endpoints reported (a bare test transport) do not guess: allow both families.
    this.hasV4 = endpoints.length === 0 || endpoints.some((e) => e.family === 4);
    this.hasV6 = endpoints.length === 0 || endpoints.some((e) => e.family === 6);
    this.wheel = new TimerWheel(options.clock);
    this.limiter = options.rateLimit === false ? null : new RateLimiter(options.clock, options.rateLimit ?? {});
    options.transport.onMessage(this.onDatagram);
  }

  /** The per-attempt timeout queries get unless they set their own, ms. */
  get queryTimeoutMs(): number {
    return this.timeoutMs;
  }

  /** Queries not yet resolved, including those waiting for the rate limiter. */
  get inFlight(): number {
    return this.pending.size;
  }

  query(
    to: Endpoint,
    method: string,
    args: { [key: string]: BEncodable | undefined },
    opts: QueryOptions = {},
  ): Promise<QueryOutcome> {
    if (this.closed) return this.refuse('engine closed');
    const refusal = this.policy.refusal(to.host, to.port);
    if (refusal !== null) return this.refuse(refusal);
    const v6 = to.host.includes(':');
    if (v6 ? !this.hasV6 : !this.hasV4) return this.refuse(`no IPv${v6 ? 6 : 4} socket for ${to.host}`);
    const host = v6 ? canonicalIp(to.host) : to.host;

    let tid = 0;
    let key = '';
    do {
      tid = this.nextTid();
      key = pendingKey(tid, host, to.port);
    } while (this.pending.has(key));
    const t = new Uint8Array(4);
    t[0] = tid >>> 24;
    t[1] = (tid >>> 16) & 0xff;
    t[2] = (tid >>> 8) & 0xff;
    t[3] = tid & 0xff;

    let bytes: Uint8Array;
    try {
      bytes = encodeQuery(t, method, args.id === undefined ? { ...args, id: this.id } : args, { v: this.v, ro: this.readOnly });
    } catch (err) {
      return this.refuse(`cannot encode ${method} query: ${(err as Error).message}`);
    }

    const dest = host === to.host ? to : { host, port: to.port };
    const limitKey = this.limiter && !opts.noRateLimit ? this.policy.rateLimitKey(host, to.port) : null;
    return new Promise<QueryOutcome>((resolve) => {
      const p = new Pending(
        key,
        dest,
        method,
        bytes,
        opts.timeoutMs ?? this.timeoutMs,
        opts.retries ?? this.retries,
        opts.expectId,
        limitKey,
        limitKey !== null && limitKey !== host,
        resolve,
      );
      if (opts.onStall && opts.stallMs !== undefined && opts.stallMs < p.timeoutMs) {
        p.onStall = opts.onStall;
        p.stallMs = Math.max(0, opts.stallMs);
      }
      this.pending.set(key, p);
      this.dispatch(p);
    });
  }

  onQuery(handler: QueryHandler | null): void {
    this.queryHandler = handler;
  }

  onResponse(observer: ResponseObserver): void {
    this.observers.push(observer);
  }

  onMalformedQuery(handler: MalformedQueryHandler | null): void {
    this.malformedHandler = handler;
  }

  respond(to: Endpoint, t: Uint8Array, body: { [key: string]: BEncodable | undefined }): void {
    if (this.closed) return;
    const full = body.id === undefined ? { ...body, id: this.id } : body;
    let bytes: Uint8Array;
    try {
      bytes = encodeResponse(t, full, { v: this.v, ip: { host: to.host, port: to.port, family: to.host.includes(':') ? 6 : 4 } });
    } catch {
      try {
        // An address the compact form cannot carry (e.g. with a %zone): answer without `ip`.
        bytes = encodeResponse(t, full, { v: this.v });
      } catch {
        this.counters.handlerErrors++;
        return;
      }
    }
    this.sendRaw(to, bytes);
  }

  respondError(to: Endpoint, t: Uint8Array, code: number, message: string): void {
    if (this.closed) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeError(t, code, message, { v: this.v });
    } catch {
      this.counters.handlerErrors++;
      return;
    }
    this.sendRaw(to, bytes);
  }

  sendRaw(to: Endpoint, data: Uint8Array): void {
    if (this.closed) return;
    this.counters.sent++;
    this.transport.send(data, to.host, to.port);
  }

  /** Resolves every pending query as refused; the transport stays open unless closeTransport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending.values()]) this.finish(p, { ok: false, kind: 'refused', message: 'engine closed' });
    this.limiter?.close();
    this.wheel.clear();
    if (this.closeTransport) await this.transport.close();
  }

  // -------------------------------------------------------------------------------------------
  // Outgoing

  private refuse(message: string): Promise<QueryOutcome> {
    this.counters.refused++;
    return Promise.resolve({ ok: false, kind: 'refused', message });
  }

  /** Sends the next attempt, through the rate limiter unless it is skipped. */
  private dispatch(p: Pending): void {
    if (p.limitKey === null || !this.limiter) this.transmit(p);
    else this.limiter.acquire(p.limitKey, this.onRateDecision, p, p.limitLocal);
  }

  private readonly onRateDecision = (p: Pending, granted: boolean): void => {
    if (p.done) return; // answered (late reply to an earlier attempt) or closed meanwhile
    if (granted) {
      this.transmit(p);
      return;
    }
    this.counters.rateLimited++;
    if (p.attempts > 0) {
      // A retry that may not go out: the node simply did not answer in time.
      this.counters.timeouts++;
      this.methodStats(p.method).timeout++;
      this.finish(p, { ok: false, kind: 'timeout', attempts: p.attempts });
      return;
    }
    this.finish(p, { ok: false, kind: 'refused', message: `rate limited: ${p.limitKey} over its limit` });
  };

  private transmit(p: Pending): void {
    p.attempts++;
    p.sentAt = this.clock.now();
    this.counters.sent++;
    this.counters.queriesSent++;
    if (p.to.host.includes(':')) this.counters.queriesSentV6++;
    this.methodStats(p.method).sent++;
    this.transport.send(p.bytes, p.to.host, p.to.port);
    p.timer = this.wheel.add(p.timeoutMs, this.onTimeout, p);
    if (p.onStall && p.attempts === 1) p.stallTimer = this.wheel.add(p.stallMs, this.onStallTimer, p);
  }

  private readonly onStallTimer = (p: Pending): void => {
    p.stallTimer = null;
    const fn = p.onStall;
    p.onStall = null;
    if (p.done || !fn) return;
    try {
      fn();
    } catch {
      this.counters.handlerErrors++;
    }
  };

  private readonly onTimeout = (p: Pending): void => {
    p.timer = null;
    if (p.done) return;
    if (p.retriesLeft > 0) {
      p.retriesLeft--;
      this.dispatch(p);
      return;
    }
    this.counters.timeouts++;
    this.methodStats(p.method).timeout++;
    this.finish(p, { ok: false, kind: 'timeout', attempts: p.attempts });
  };

  private finish(p: Pending, outcome: QueryOutcome): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(p.key);
    if (p.timer) {
      this.wheel.cancel(p.timer);
      p.timer = null;
    }
    if (p.stallTimer) {
      this.wheel.cancel(p.stallTimer);
      p.stallTimer = null;
    }
    p.onStall = null;
    p.resolve(outcome);
  }

  private nextTid(): number {
    if (this.tidPos >= TID_POOL) {
      randomFillSync(this.tidPool);
      this.tidPos = 0;
    }
    const v = this.tidPool.readUInt32BE(this.tidPos);
    this.tidPos += 4;
    return v;
  }

  private methodStats(method: string): MethodStats {
    const byMethod = this.counters.byMethod;
    return (byMethod[method] ??= { sent: 0, ok: 0, timeout: 0, error: 0 });
  }

  // -------------------------------------------------------------------------------------------
  // Incoming

  private readonly onDatagram = (data: Uint8Array, host: string, port: number): void => {
    if (this.closed) return;
    const c = this.counters;
    c.received++;
    const view = scanKrpc(data, this.view);
    if (view.error !== null) {
      c.malformed++;
      const err = view.error;
      const handler = this.malformedHandler;
      if (err.y === 'q' && err.t && handler) {
        try {
          handler(err, { host, port });
        } catch {
          c.handlerErrors++;
        }
      }
      return;
    }
    if (view.y === 0x71) {
      c.queriesReceived++;
      const handler = this.queryHandler;
      if (handler) {
        try {
          handler(view, host, port);
        } catch {
          c.handlerErrors++;
        }
      }
      return;
    }
    const msg = messageFromView(view) as Exclude<ReturnType<typeof messageFromView>, KrpcQuery>;
    // A response or an error: never answered, whatever it holds.
    const t = msg.t;
    const p = t.length === 4 ? this.pending.get(pendingKey(((t[0] << 24) | (t[1] << 16) | (t[2] << 8) | t[3]) >>> 0, host, port)) : undefined;
    if (!p || p.attempts === 0) {
      c.unmatched++;
      return;
    }
    const rttMs = this.clock.now() - p.sentAt;
    const version = msg.v ? toHex(msg.v) : '';
    c.byVersion[version] = (c.byVersion[version] ?? 0) + 1;
    const stats = this.methodStats(p.method);
    if (msg.y === 'e') {
      c.errors++;
      stats.error++;
      this.finish(p, { ok: false, kind: 'error', code: msg.code, message: msg.message, msg, rttMs });
      return;
    }
    c.responses++;
    if (p.expectId && !sameBytes(p.expectId, msg.r.id)) {
      c.idMismatches++;
      stats.error++;
      this.finish(p, { ok: false, kind: 'id_mismatch', msg, rttMs });
      return;
    }
    const problem = checkResponse(p.method, msg);
    if (problem !== null) {
      c.badReplies++;
      stats.error++;
      this.finish(p, { ok: false, kind: 'bad_reply', message: problem, rttMs, msg });
      return;
    }
    stats.ok++;
    this.finish(p, { ok: true, msg, rttMs, from: p.to });
    this.notify(msg, p.to, p.method);
  };

  private notify(msg: KrpcResponse, from: Endpoint, method: string): void {
    for (const observer of this.observers) {
      try {
        observer(msg, from, method);
      } catch {
        this.counters.handlerErrors++;
      }
    }
  }
}

/** A query in flight is known by its transaction id and the endpoint it went to. */
function pendingKey(tid: number, host: string, port: number): string {
  return `${tid}|${endpointKey(host, port)}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
