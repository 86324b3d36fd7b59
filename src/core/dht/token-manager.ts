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
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../net/clock.js';
import { ipToBytes, unmapV4 } from './ip-bytes.js';

export const TOKEN_BYTES = 4;
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

function makeToken(ip: string, secret: Uint8Array, target: Uint8Array): Uint8Array {
  const raw = ipToBytes(ip);
  // A host that is not an IP literal still gets a stable token, from its text.
  const ipBytes = raw ? unmapV4(raw) : Buffer.from(ip, 'utf8');
  const h = createHash('sha1').update(ipBytes).update(secret).update(target).digest();
  return new Uint8Array(h.subarray(0, TOKEN_BYTES));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
