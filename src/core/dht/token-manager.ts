// Write tokens for get_peers -> announce_peer (and BEP 44 get -> put).
//
// token = first 4 bytes of sha1(ip ‖ secret ‖ target). The port is deliberately left out (as
// libtorrent does): a peer behind a NAT may reach us from a different source port for the
// announce than for the get_peers, and binding the port would make it fail for no security
// gain; the token only proves the requester can receive at that IP. Binding the target keeps a
// token from being reused for other info-hashes.
//
// The secret rotates every `rotateMs` (default 5 min) and the previous one is still accepted,
// so a token lives between one and two periods (5–10 min). Rotation is lazy, driven by the
// injected clock on each call: no timers to clean up.
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../net/clock.js';
import { parseHostIp, unmapV4 } from '../wire/ip.js';

const TOKEN_BYTES = 4;
const SECRET_BYTES = 16;

export interface TokenManagerOptions {
  clock: Clock;
  /** Secret lifetime; default 5 minutes. */
  rotateMs?: number;
  /** Source of secrets (tests); default crypto random. */
  randomSecret?: () => Uint8Array;
}

export class TokenManager {
  private readonly clock: Clock;
  private readonly rotateMs: number;
  private readonly randomSecret: () => Uint8Array;
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;

  constructor(opts: TokenManagerOptions) {
    this.clock = opts.clock;
    this.rotateMs = opts.rotateMs ?? 5 * 60_000;
    this.randomSecret = opts.randomSecret ?? (() => randomFillSync(new Uint8Array(SECRET_BYTES)));
    this.current = this.randomSecret();
    this.previous = this.randomSecret(); // never handed out, so nothing matches it
    this.rotatedAt = this.clock.now();
  }

  /** The token for a requester at `ip` asking about `target`. */
  issue(ip: string, target: Uint8Array): Uint8Array {
    this.rotateIfDue();
    return makeToken(ip, this.current, target);
  }

  /** Whether `token` was issued to `ip` for `target` within the last one to two periods. */
  verify(token: Uint8Array, ip: string, target: Uint8Array): boolean {
    this.rotateIfDue();
    if (token.length !== TOKEN_BYTES) return false;
    return sameBytes(token, makeToken(ip, this.current, target)) || sameBytes(token, makeToken(ip, this.previous, target));
  }

  private rotateIfDue(): void {
    const now = this.clock.now();
    const periods = Math.floor((now - this.rotatedAt) / this.rotateMs);
    if (periods <= 0) return;
    // After two or more silent periods the old current secret is too old to honour as well.
    this.previous = periods === 1 ? this.current : this.randomSecret();
    this.current = this.randomSecret();
    this.rotatedAt += periods * this.rotateMs;
  }
}

// The requester's IP bytes, by address text: a busy responder sees the same sources again and
// again, and parsing the text costs more than the hash. Bounded; cleared when full.
const ipCache = new Map<string, Uint8Array>();
const IP_CACHE_MAX = 4096;
// ip (<= 16) ‖ secret ‖ target, hashed in one call (crypto.hash avoids a Hash object per token).
let scratch = Buffer.alloc(64);

function ipBytesOf(ip: string): Uint8Array {
  let bytes = ipCache.get(ip);
  if (bytes !== undefined) return bytes;
  const raw = parseHostIp(ip);
  // A host that is not an IP literal still gets a stable token, from its text.
  bytes = raw ? Uint8Array.from(unmapV4(raw)) : Buffer.from(ip, 'utf8');
  if (ipCache.size >= IP_CACHE_MAX) ipCache.clear();
  ipCache.set(ip, bytes);
  return bytes;
}

function makeToken(ip: string, secret: Uint8Array, target: Uint8Array): Uint8Array {
  const ipBytes = ipBytesOf(ip);
  const n = ipBytes.length + secret.length + target.length;
  if (scratch.length < n) scratch = Buffer.alloc(n);
  scratch.set(ipBytes, 0);
  scratch.set(secret, ipBytes.length);
  scratch.set(target, ipBytes.length + secret.length);
  const h = hash('sha1', scratch.subarray(0, n), 'buffer');
  return Uint8Array.of(h[0], h[1], h[2], h[3]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
