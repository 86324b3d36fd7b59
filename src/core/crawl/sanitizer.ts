// The crawl's junk filter, after mldht's sanitizing rules: without it most queries of a crawl
// go to dead, spoofed or unroutable contacts that crowd real routing tables.
// - bogon filter: nothing that is not usable unicast for us (policy), port 0, 0.0.0.0/8, multicast;
// - ID-mismatch oracle (passive): an endpoint that answers under an id other than the one it was
//   listed with is recorded; a second, different id bans it (its IP on the public internet, its
//   ip:port where many nodes share an IP: the policy's rate-limit key decides);
// - non-reachability cache: an endpoint that failed more than once recently is skipped;
// - per-IP outgoing throttle: a token bucket per policy.rateLimitKey.
import type { AddressPolicy } from '../net/address.js';
import type { Clock } from '../net/clock.js';
import { KeyedTokenBuckets } from '../net/token-bucket.js';
import type { NodeInfo } from '../wire/types.js';
import { EndpointMap, hash20 } from './compact-sets.js';
import { endpointKey } from '../net/endpoint-key.js';

export interface SanitizerOptions {
  policy: AddressPolicy;
  clock: Clock;
  /** Queries per second to one IP (one ip:port on private networks); default 0.5. */
  throttleRatePerSec?: number;
  /** Burst per IP; default 5. */
  throttleBurst?: number;
  /** IPs tracked by the throttle at most (least recently used forgotten); default 10000. */
  throttleMaxKeys?: number;
  /** How long failures count as "recent"; default 30 min. */
  unreachableWindowMs?: number;
  /** Failures within the window after which an endpoint is skipped; default 2 (mldht: "failed >1 time"). */
  unreachableAfter?: number;
  /** Endpoints the non-reachability cache keeps at most; default 262144. */
  unreachableMax?: number;
  /** Endpoints with a recorded id mismatch kept at most; default 65536. */
  oracleMax?: number;
  /** Bans kept at most; default 65536. */
  bansMax?: number;
}

export interface SanitizerCounters {
  /** Contacts or tasks dropped because their address is not usable unicast (or port 0). */
  bogons: number;
  /** Bans issued by the id-mismatch oracle. */
  bans: number;
  /** Contacts or tasks dropped because their IP (or ip:port) is banned. */
  banned_skips: number;
  /** Contacts or tasks dropped because the endpoint failed more than once recently. */
  unreachable_skips: number;
  /** Tasks refused because their IP was over its outgoing budget. */
  throttled: number;
  /** Replies whose id differed from the one the endpoint was listed with. */
  id_mismatches: number;
}

export type Verdict = 'bogon' | 'banned' | 'unreachable' | 'throttled';

/** 32 bits of a hash of the id: two ids of one endpoint compare with a 2^-32 chance of error. */
function fingerprint(id: Uint8Array): number {
  return hash20(id, 0);
}

export class Sanitizer {
  readonly counters: SanitizerCounters = { bogons: 0, bans: 0, banned_skips: 0, unreachable_skips: 0, throttled: 0, id_mismatches: 0 };
  private readonly policy: AddressPolicy;
  private readonly clock: Clock;
  private readonly throttle: KeyedTokenBuckets;
  private readonly windowS: number;
  private readonly unreachableAfter: number;
  private readonly unreachableMax: number;
  /** value: failures (capped at 255); extra: clock seconds of the last failure. */
  private readonly failures = new EndpointMap(256);
  /** Endpoint → fingerprint of the id it answered with when it first contradicted its listing. */
  private readonly oracle = new Map<string, number>();
  private readonly oracleMax: number;
  private readonly bans = new Set<string>();
  private readonly bansMax: number;

  constructor(options: SanitizerOptions) {
    this.policy = options.policy;
    this.clock = options.clock;
    this.throttle = new KeyedTokenBuckets({
      ratePerSec: options.throttleRatePerSec ?? 0.5,
      burst: options.throttleBurst ?? 5,
      maxKeys: options.throttleMaxKeys ?? 10_000,
    });
    this.windowS = (options.unreachableWindowMs ?? 30 * 60_000) / 1000;
    this.unreachableAfter = options.unreachableAfter ?? 2;
    this.unreachableMax = options.unreachableMax ?? 262_144;
    this.oracleMax = options.oracleMax ?? 65_536;
    this.bansMax = options.bansMax ?? 65_536;
  }

  /** Not usable unicast for us, or port 0. 0.0.0.0/8 and multicast stay bogons whatever the policy opens. */
  isBogon(host: string, port: number): boolean {
    return this.policy.isBogon(host, port);
  }

  isBanned(host: string, port: number): boolean {
    return this.bans.size > 0 && this.bans.has(this.policy.rateLimitKey(host, port));
  }

  /** Failed more than once (unreachableAfter) within the window. */
  isUnreachable(host: string, port: number): boolean {
    const n = this.failures.get(host, port);
    if (n < this.unreachableAfter) return false;
    return this.nowS() - this.failures.extraOf(host, port) <= this.windowS;
  }

  isThrottled(host: string, port: number): boolean {
    return this.throttle.get(this.policy.rateLimitKey(host, port), this.clock.now()).available(this.clock.now()) < 1;
  }

  /** Why this endpoint must not be queried now, or null. Counts what it rejects. */
  verdict(host: string, port: number): Verdict | null {
    if (this.isBogon(host, port)) {
      this.counters.bogons++;
      return 'bogon';
    }
    if (this.isBanned(host, port)) {
      this.counters.banned_skips++;
      return 'banned';
    }
    if (this.isUnreachable(host, port)) {
      this.counters.unreachable_skips++;
      return 'unreachable';
    }
    if (this.isThrottled(host, port)) {
      this.counters.throttled++;
      return 'throttled';
    }
    return null;
  }

  /** Whether a query may go out now (no counting: a strategy may ask about many candidates). */
  allowed(host: string, port: number): boolean {
    return !this.isBogon(host, port) && !this.isBanned(host, port) && !this.isUnreachable(host, port) && !this.isThrottled(host, port);
  }

  /** Takes one token of the endpoint's outgoing budget; false (and counted) when none is left. */
  take(host: string, port: number): boolean {
    if (this.throttle.tryTake(this.policy.rateLimitKey(host, port), this.clock.now())) return true;
    this.counters.throttled++;
    return false;
  }

  /** Contacts from a reply, minus bogons, banned and recently unreachable ones (counted). */
  filterContacts(nodes: readonly NodeInfo[]): NodeInfo[] {
    const out: NodeInfo[] = [];
    for (const n of nodes) {
      if (this.isBogon(n.host, n.port)) this.counters.bogons++;
      else if (this.isBanned(n.host, n.port)) this.counters.banned_skips++;
      else if (this.isUnreachable(n.host, n.port)) this.counters.unreachable_skips++;
      else out.push(n);
    }
    return out;
  }

  noteTimeout(host: string, port: number): void {
    if (this.failures.size >= this.unreachableMax) this.forgetOldFailures();
    const n = this.failures.get(host, port);
    // failures older than the window start a new count
    const stale = n > 0 && this.nowS() - this.failures.extraOf(host, port) > this.windowS;
    this.failures.set(host, port, Math.min(255, (stale ? 0 : n) + 1), this.nowS());
  }

  /**
   * A reply with the expected id (or none expected). Clears the endpoint's failures; an endpoint
   * the oracle recorded under another id is banned now (its second, different id).
   */
  noteReply(host: string, port: number, id: Uint8Array): boolean {
    if (this.failures.get(host, port) !== 0) this.failures.set(host, port, 0, 0);
    const key = endpointKey(host, port);
    const seen = this.oracle.get(key);
    if (seen !== undefined && seen !== fingerprint(id)) {
      this.ban(host, port);
      return false;
    }
    return true;
  }

  /**
   * The endpoint answered under `id` although it was listed with another. Returns 'banned' when
   * that makes a second different id, else 'recorded' (the caller may verify it once, expecting
   * the new id, as mldht's active mode does).
   */
  noteMismatch(host: string, port: number, id: Uint8Array): 'recorded' | 'banned' {
    this.counters.id_mismatches++;
    const key = endpointKey(host, port);
    const fp = fingerprint(id);
    const seen = this.oracle.get(key);
    if (seen !== undefined) {
      if (seen !== fp) {
        this.ban(host, port);
        return 'banned';
      }
      return 'recorded';
    }
    if (this.oracle.size >= this.oracleMax) this.oracle.delete(this.oracle.keys().next().value!);
    this.oracle.set(key, fp);
    return 'recorded';
  }

  /** Bans the endpoint's IP (public internet) or ip:port (private/loopback networks). */
  ban(host: string, port: number): void {
    const key = this.policy.rateLimitKey(host, port);
    if (this.bans.has(key)) return;
    if (this.bans.size >= this.bansMax) this.bans.delete(this.bans.values().next().value!);
    this.bans.add(key);
    this.counters.bans++;
  }

  /** Approximate bytes held by the caches. */
  get bytes(): number {
    return this.failures.bytes + this.oracle.size * 90 + this.bans.size * 70 + this.throttle.size * 120;
  }


  private nowS(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private forgetOldFailures(): void {
    const now = this.nowS();
    const gone = this.failures.prune((_n, at) => now - at > this.windowS);
    // still full of recent failures: keep only the endpoints that already count as unreachable
    if (gone === 0) this.failures.prune((n) => n < this.unreachableAfter);
  }
}
