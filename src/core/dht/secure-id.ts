// BEP 42: node ids bound to the node's external IP, plus learning that IP from replies.
import { randomFillSync } from 'node:crypto';
import { parseHostIp, unmapV4 } from '../wire/ip.js';
import { ID_BYTES, type NodeId } from './node-id.js';

const CRC32C_TABLE = buildCrc32cTable();

function buildCrc32cTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32C (Castagnoli), as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

function toIpBytes(ip: Uint8Array | string): Uint8Array | null {
  const bytes = typeof ip === 'string' ? parseHostIp(ip) : ip;
  if (!bytes || (bytes.length !== 4 && bytes.length !== 16)) return null;
  return unmapV4(bytes);
}

/** crc32c of the masked IP with r (0–7) in the top bits of byte 0. */
function secureCrc(ip: Uint8Array, r: number): number {
  const mask = ip.length === 4 ? V4_MASK : V6_MASK;
  const buf = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) buf[i] = ip[i] & mask[i];
  buf[0] |= (r & 7) << 5;
  return crc32c(buf);
}

/**
 * A BEP 42 id for `ip`. `rand` (a byte) picks r = rand & 7 and becomes id[19]; omitted, it is
 * random. The other free bits are random.
 */
export function generateSecureId(ip: Uint8Array | string, rand?: number): NodeId {
  const bytes = toIpBytes(ip);
  if (!bytes) throw new TypeError(`not an IP address: ${String(ip)}`);
  const id = randomFillSync(new Uint8Array(ID_BYTES));
  const r = rand === undefined ? id[19] : rand & 0xff;
  const crc = secureCrc(bytes, r & 7);
  id[0] = crc >>> 24;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2] & 7);
  id[19] = r;
  return id;
}

/** Whether `id` carries the top 21 crc bits for `ip`. Exempt ranges are NOT special-cased here. */
export function isSecureId(id: NodeId, ip: Uint8Array | string): boolean {
  const bytes = toIpBytes(ip);
  if (!bytes || id.length !== ID_BYTES) return false;
  const crc = secureCrc(bytes, id[19] & 7);
  const top = ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) >>> 0;
  return ((top ^ crc) & 0xfffff800) === 0;
}

/** Local, private and similar ranges, where ids need not follow BEP 42. */
export function isBep42Exempt(ip: Uint8Array | string): boolean {
  const b = toIpBytes(ip);
  if (!b) return false;
  if (b.length === 4) {
    return (
      b[0] === 10 ||
      b[0] === 127 ||
      (b[0] === 172 && (b[1] & 0xf0) === 16) ||
      (b[0] === 192 && b[1] === 168) ||
      (b[0] === 169 && b[1] === 254) ||
      (b[0] === 100 && (b[1] & 0xc0) === 64)
    );
  }
  let loopback = b[15] === 1;
  for (let i = 0; i < 15 && loopback; i++) if (b[i] !== 0) loopback = false;
  if (loopback) return true;
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return true; // fec0::/10 site-local
  if ((b[0] & 0xfe) === 0xfc) return true; // fc00::/7 unique local
  // Multicast with interface-, link- or site-local scope.
  if (b[0] === 0xff) {
    const scope = b[1] & 0x0f;
    return scope === 1 || scope === 2 || scope === 5;
  }
  return false;
}

/** Whether a node's id passes BEP 42 for its address, counting exempt ranges as passing. */
export function bep42Ok(id: NodeId, ip: Uint8Array | string): boolean {
  return isBep42Exempt(ip) || isSecureId(id, ip);
}

export interface ExternalIpVoterOptions {
  /** Distinct voters needed before a consensus is reported (mldht waits for more than 20). */
  minVoters?: number;
  /** Voters remembered; the oldest are forgotten first. */
  maxVoters?: number;
}

export interface IpConsensus {
  ip: string;
  votes: number;
  voters: number;
}

/**
 * Collects the `ip` field of replies. Each responder (keyed by the caller: IP on the public
 * DHT, ip:port on loopback) has one vote, its latest; one reply alone is never trusted.
 */
export class ExternalIpVoter {
  private readonly minVoters: number;
  private readonly maxVoters: number;
  private readonly ballots = new Map<string, string>();

  constructor(opts: ExternalIpVoterOptions = {}) {
    this.minVoters = Math.max(1, opts.minVoters ?? 21);
    this.maxVoters = Math.max(this.minVoters, opts.maxVoters ?? 256);
  }

  vote(voter: string, ip: string): void {
    this.ballots.delete(voter); // re-insert so the map stays in recency order
    this.ballots.set(voter, ip);
    if (this.ballots.size > this.maxVoters) {
      const oldest = this.ballots.keys().next().value as string;
      this.ballots.delete(oldest);
    }
  }

  get voters(): number {
    return this.ballots.size;
  }

  /** The most common answer once enough distinct voters have spoken, else undefined. */
  consensus(): IpConsensus | undefined {
    if (this.ballots.size < this.minVoters) return undefined;
    const tally = new Map<string, number>();
    let best: string | undefined;
    let bestVotes = 0;
    for (const ip of this.ballots.values()) {
      const n = (tally.get(ip) ?? 0) + 1;
      tally.set(ip, n);
      if (n > bestVotes) {
        best = ip;
        bestVotes = n;
      }
    }
    return best === undefined ? undefined : { ip: best, votes: bestVotes, voters: this.ballots.size };
  }
}
