// Outbound politeness: a per-destination limit, then a global token bucket. A request over the
// limit waits instead of being dropped, but only up to maxWaitMs and only maxQueued at a time,
// so a lookup never stalls forever: beyond either bound it is refused at once.
//
// Two stages so one busy destination cannot hold up the others: the per-key limit (a public IP's
// bucket or a local endpoint's send window) hands out reservations (a later key slot is booked,
// the wait runs on the timer wheel), and only then the request joins the FIFO of the global bucket.
//
// Destinations come in two kinds, with their own per-destination limits: a public IP, and an
// ip:port on a loopback or private network we use (AddressPolicy.rateLimitKey). Public nodes are
// other people's and libtorrent bans an IP for 5 minutes after 50 packets within 10 s, so their
// default (a token bucket) stays far below that; a local network (a testnet, a LAN) can take much
// more, and is limited by an exact sliding window (send-window.ts): at most N sends in any W ms.
// A window send is granted only when the sends already granted allow it, so a send that the
// global queue delayed cannot crowd the next ones into less than W ms. Its time is taken after
// the callback has sent, not at the grant: a process paused between the two (a loaded machine,
// a GC) would otherwise let the next send go out less than W ms after this one left the socket.
import type { Clock } from './clock.js';
import { KeyedLimits } from './keyed-limits.js';
import { SendWindow } from './send-window.js';
import { TimerWheel } from './timer-wheel.js';
import { KeyedTokenBuckets, TokenBucket } from './token-bucket.js';

export interface RateLimitOptions {
  /** Global sends per second (default 100). */
  globalRatePerSec?: number;
  /** Global burst (default 100). */
  globalBurst?: number;
  /** Sends per second to one public IP (default 0.5: one per 2 s). */
  perKeyRatePerSec?: number;
  /** Burst per public IP (default 5). */
  perKeyBurst?: number;
  /** Sends to one ip:port on a loopback/private network in any localPerKeyWindowMs (default 50, at most 64). */
  localPerKeyMax?: number;
  /** The window of localPerKeyMax, ms (default 1000). */
  localPerKeyWindowMs?: number;
  /**
   * Local ip:ports get the public per-IP bucket instead of the window (default false): for the
   * simulated world, whose private addresses stand for public nodes.
   */
  localAsPublic?: boolean;
  /** Destination keys tracked at most (default 10000). */
  maxKeys?: number;
  /** Longest a request may wait before it is refused (default 10000 ms). */
  maxWaitMs?: number;
  /** Requests waiting at most; more are refused at once (default 4096). */
  maxQueued?: number;
}

export const RATE_LIMIT_DEFAULTS: Required<RateLimitOptions> = {
  globalRatePerSec: 100,
  globalBurst: 100,
  perKeyRatePerSec: 0.5,
  perKeyBurst: 5,
  localPerKeyMax: 50,
  localPerKeyWindowMs: 1000,
  localAsPublic: false,
  maxKeys: 10_000,
  maxWaitMs: 10_000,
  maxQueued: 4096,
};

export interface RateLimiterStats {
  /** Granted at once. */
  immediate: number;
  /** Granted after waiting. */
  delayed: number;
  /** Refused: would wait longer than maxWaitMs, queue full, or limiter closed. */
  refused: number;
}

/**
 * Shortest wait between drains of the global queue, and before re-checking a send held back by its
 * window, ms: more than the timer wheel's slack (1 ms), so an early timer does not come straight back.
 */
const DRAIN_MIN_MS = 1.5;

/** Called exactly once per acquire: granted=true means send now, before returning (a window times the send by the return). */
export type RateDecision<A> = (arg: A, granted: boolean) => void;

class Waiter {
  constructor(
    readonly cb: RateDecision<any>,
    readonly arg: unknown,
    readonly deadline: number,
    /** The window of a local key (its sends are recorded there), or null for a bucket key. */
    readonly window: SendWindow | null,
  ) {}
}

export class RateLimiter {
  readonly options: Required<RateLimitOptions>;
  readonly stats: RateLimiterStats = { immediate: 0, delayed: 0, refused: 0 };
  private readonly global: TokenBucket;
  private readonly perKey: KeyedTokenBuckets;
  /** Local keys: windows, or public-style buckets with localAsPublic. */
  private readonly perLocalKey: KeyedLimits<SendWindow> | KeyedTokenBuckets;
  private readonly wheel: TimerWheel;
  /** Waiting for their per-key slot (their timers live on the wheel). */
  private readonly keyStage = new Set<Waiter>();
  /** FIFO waiting for a global token; head is the index of the first live entry. */
  private globalQueue: Waiter[] = [];
  private head = 0;
  private drainArmed = false;
  private closed = false;
  /** Deferred callbacks that threw (caught). */
  callbackErrors = 0;

  constructor(
    private readonly clock: Clock,
    options: RateLimitOptions = {},
  ) {
    const o = { ...RATE_LIMIT_DEFAULTS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
    this.options = o;
    const now = clock.now();
    this.global = new TokenBucket(o.globalRatePerSec, o.globalBurst, now);
    const publicBuckets = { ratePerSec: o.perKeyRatePerSec, burst: o.perKeyBurst, maxKeys: o.maxKeys };
    this.perKey = new KeyedTokenBuckets(publicBuckets);
    if (o.localAsPublic) this.perLocalKey = new KeyedTokenBuckets(publicBuckets);
    else {
      new SendWindow(o.localPerKeyMax, o.localPerKeyWindowMs); // bad options throw here, not at the first send
      this.perLocalKey = new KeyedLimits(o.maxKeys, () => new SendWindow(o.localPerKeyMax, o.localPerKeyWindowMs));
    }
    this.wheel = new TimerWheel(clock);
  }

  /** Requests waiting now (both stages). */
  get queued(): number {
    return this.keyStage.size + this.globalQueue.length - this.head;
  }

  /** Destination keys currently tracked. */
  get trackedKeys(): number {
    return this.perKey.size + this.perLocalKey.size;
  }

  /** Takes a slot only if one is free right now (no queueing). local: key is a local ip:port. */
  tryAcquire(key: string, local = false): boolean {
    if (this.closed) return false;
    const now = this.clock.now();
    if (this.globalQueue.length > this.head || this.global.available(now) < 1) return false;
    if (!(local ? this.perLocalKey : this.perKey).get(key, now).tryTake(now)) return false;
    this.global.tryTake(now);
    this.stats.immediate++;
    return true;
  }

  /**
   * Calls cb(arg, true) when a send to key is allowed (synchronously when allowed at once), or
   * cb(arg, false) when it is refused. Passing a shared cb and a per-call arg avoids closures.
   * local: key is an ip:port on a loopback/private network (the local per-destination limit).
   */
  acquire<A>(key: string, cb: RateDecision<A>, arg: A, local = false): void {
    if (this.closed || this.queued >= this.options.maxQueued) {
      this.stats.refused++;
      cb(arg, false);
      return;
    }
    const now = this.clock.now();
    const limit = (local ? this.perLocalKey : this.perKey).get(key, now);
    const keyWait = limit.reserve(now, this.options.maxWaitMs);
    if (keyWait < 0) {
      this.stats.refused++;
      cb(arg, false);
      return;
    }
    const window = limit instanceof SendWindow ? limit : null;
    if (keyWait === 0 && this.globalQueue.length === this.head && this.global.tryTake(now)) {
      this.stats.immediate++;
      try {
        cb(arg, true);
      } finally {
        window?.sentAt(this.clock.now());
      }
      return;
    }
    const w = new Waiter(cb, arg, now + this.options.maxWaitMs, window);
    if (keyWait > 0) this.waitForKey(w, keyWait);
    else this.enterGlobal(w, now);
  }

  /** Refuses everything waiting and any later request. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wheel.clear();
    const waiting = [...this.keyStage, ...this.globalQueue.slice(this.head)];
    this.keyStage.clear();
    this.globalQueue = [];
    this.head = 0;
    for (const w of waiting) this.refuse(w);
  }

  private waitForKey(w: Waiter, ms: number): void {
    this.keyStage.add(w);
    this.wheel.add(ms, this.onKeySlot, w);
  }

  private readonly onKeySlot = (w: Waiter): void => {
    if (!this.keyStage.delete(w)) return;
    this.enterGlobal(w, this.clock.now());
  };

  /**
   * A window send that would break its window now (it was delayed past a later booking, or the
   * wheel fired early) goes back to wait for its key; false when it may go on. At least
   * DRAIN_MIN_MS, so an early-fired timer does not come straight back.
   */
  private heldByWindow(w: Waiter, now: number): boolean {
    const wait = w.window ? w.window.msUntilSendable(now) : 0;
    if (wait === 0) return false;
    if (now + wait > w.deadline) this.refuse(w);
    else this.waitForKey(w, Math.max(wait, DRAIN_MIN_MS));
    return true;
  }

  private enterGlobal(w: Waiter, now: number): void {
    if (this.heldByWindow(w, now)) return;
    const ahead = this.globalQueue.length - this.head;
    if (ahead === 0 && this.global.tryTake(now)) {
      this.grant(w);
      return;
    }
    // FIFO: the n-th waiter gets its token when the bucket has refilled n tokens' worth.
    const predictedMs = ((ahead + 1 - this.global.available(now)) * 1000) / this.options.globalRatePerSec;
    if (now + predictedMs > w.deadline) {
      this.refuse(w);
      return;
    }
    this.globalQueue.push(w);
    this.armDrain(now);
  }

  private armDrain(now: number): void {
    if (this.drainArmed || this.globalQueue.length === this.head) return;
    this.drainArmed = true;
    // At least the wheel's slack past now: the wheel fires entries up to DRAIN_MIN_MS early, so
    // a drain armed for less (a token under a millisecond away, at rates near 1000/s) fired in
    // the same pass, found no token, re-armed and spun there for ever without time moving on.
    this.wheel.add(Math.max(DRAIN_MIN_MS, this.global.msUntilToken(now)), this.onDrain, this);
  }

  private readonly onDrain = (): void => {
    this.drainArmed = false;
    const now = this.clock.now();
    const q = this.globalQueue;
    while (this.head < q.length) {
      const w = q[this.head];
      if (!this.heldByWindow(w, now)) {
        if (!this.global.tryTake(now)) break;
        this.grant(w);
      }
      q[this.head++] = undefined as unknown as Waiter;
    }
    if (this.head === q.length) {
      this.globalQueue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > q.length) {
      this.globalQueue = q.slice(this.head);
      this.head = 0;
    }
    this.armDrain(now);
  };

  private grant(w: Waiter): void {
    this.stats.delayed++;
    this.call(w, true);
    w.window?.sentAt(this.clock.now());
  }

  private refuse(w: Waiter): void {
    this.stats.refused++;
    this.call(w, false);
  }

  /** A throwing callback must not strand the waiters queued behind it. */
  private call(w: Waiter, granted: boolean): void {
    try {
      w.cb(w.arg, granted);
    } catch {
      this.callbackErrors++;
    }
  }
}
