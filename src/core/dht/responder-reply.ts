// Byte-level reply building for the responder's hot path. A reply is written straight into a
// scratch buffer from pre-encoded pieces (our id entry, the envelope tail with `v`, bencoded
// keys, cached compact node records), in canonical key order, then copied out once. No objects
// are built and the generic encoder is not involved.
//
//   d 2:ip 6:<ip><port> 1:r d <body keys, sorted> e 1:t <n>:<t> [1:v 4:<v>] 1:y 1:r e
import { parseIp } from '../wire/ip.js';
import type { RoutingEntry } from './routing-table.js';

/** BEP 32: replies are kept to at most this many bytes. */
export const MAX_REPLY_BYTES = 1024;

const SCRATCH_BYTES = 8192;

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Bencoded keys (length prefix included), in the order they sort. */
export const KEY = {
  BFpe: ascii('4:BFpe'),
  BFsd: ascii('4:BFsd'),
  interval: ascii('8:interval'),
  nodes: ascii('5:nodes'),
  nodes6: ascii('6:nodes6'),
  num: ascii('3:num'),
  samples: ascii('7:samples'),
  token: ascii('5:token'),
  values: ascii('6:values'),
} as const;

const HEAD_IP4 = ascii('d2:ip6:');
const HEAD_IP6 = ascii('d2:ip18:');
const HEAD_NO_IP = ascii('d');
const OPEN_R = ascii('1:rd');
const CLOSE_R_T = ascii('e1:t');
const Y_R_END = ascii('1:y1:re');

/** Compact node info (26 / 38 bytes) of routing entries, computed once per entry. */
export class CompactNodeCache {
  private readonly cache = new WeakMap<RoutingEntry, Uint8Array>();

  get(e: RoutingEntry): Uint8Array | null {
    let bytes = this.cache.get(e);
    if (bytes !== undefined) return bytes;
    const ip = parseIp(e.host);
    if (ip === null || ip.length !== (e.family === 4 ? 4 : 16) || e.id.length !== 20) return null;
    bytes = new Uint8Array(20 + ip.length + 2);
    bytes.set(e.id, 0);
    bytes.set(ip, 20);
    bytes[20 + ip.length] = e.port >>> 8;
    bytes[21 + ip.length] = e.port & 0xff;
    this.cache.set(e, bytes);
    return bytes;
  }
}

/**
 * Writes one reply at a time: begin(), body pieces in key order, end(). The id entry is always
 * written by the caller at its sorted place (after BFpe/BFsd, before everything else).
 */
export class ReplyWriter {
  readonly nodes = new CompactNodeCache();
  private readonly buf = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private pos = 0;
  /** Reused by nodeString. */
  private readonly records: Uint8Array[] = [];
  /** `2:id20:<our id>` */
  private readonly idEntry: Uint8Array;
  /** `1:v4:<tag>1:y1:re` (or just `1:y1:re` without a tag) */
  private readonly tail: Uint8Array;

  constructor(id: Uint8Array, version: Uint8Array | null) {
    if (id.length !== 20) throw new RangeError('a node id is 20 bytes');
    this.idEntry = concat(ascii('2:id20:'), id);
    this.tail = version ? concat(ascii(`1:v${version.length}:`), version, Y_R_END) : Y_R_END;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** What end() will add for a transaction id of `tLength` bytes. */
  closingBytes(tLength: number): number {
    return CLOSE_R_T.length + digits(tLength) + 1 + tLength + this.tail.length;
  }

  /** Envelope head: `ip` (the requester as we saw it; omitted when `ip` is null), then `r` opens. */
  begin(ip: Uint8Array | null, port: number): void {
    this.pos = 0;
    if (ip === null) {
      this.raw(HEAD_NO_IP);
    } else {
      this.raw(ip.length === 4 ? HEAD_IP4 : HEAD_IP6);
      this.raw(ip);
      this.buf[this.pos++] = port >>> 8;
      this.buf[this.pos++] = port & 0xff;
    }
    this.raw(OPEN_R);
  }

  id(): void {
    this.raw(this.idEntry);
  }

  /** A pre-encoded key followed by a byte string. */
  string(key: Uint8Array, value: Uint8Array): void {
    this.raw(key);
    this.length_(value.length);
    this.raw(value);
  }

  /** A pre-encoded key followed by an integer. */
  int(key: Uint8Array, n: number): void {
    this.raw(key);
    this.buf[this.pos++] = 0x69; // i
    this.decimal(n);
    this.buf[this.pos++] = 0x65; // e
  }

  /** A pre-encoded key followed by the compact records of `entries` (all of one family). */
  nodeString(key: Uint8Array, entries: readonly RoutingEntry[]): void {
    const records = this.records;
    records.length = 0;
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      const bytes = this.nodes.get(entries[i]);
      if (bytes === null) continue;
      records.push(bytes);
      total += bytes.length;
    }
    this.raw(key);
    this.length_(total);
    for (let i = 0; i < records.length; i++) this.raw(records[i]);
  }

  /** `<len>:` then `len` bytes of payload written by the caller through pieces. */
  length_(n: number): void {
    this.decimal(n);
    this.buf[this.pos++] = 0x3a; // :
  }

  /** List open / close, for `values`. */
  listOpen(key: Uint8Array): void {
    this.raw(key);
    this.buf[this.pos++] = 0x6c; // l
  }
  listClose(): void {
    this.buf[this.pos++] = 0x65;
  }

  /** One compact peer as a list item: `6:<ip><port>` / `18:<ip><port>`. */
  peer(ip: Uint8Array, port: number): void {
    this.length_(ip.length + 2);
    this.raw(ip);
    this.buf[this.pos++] = port >>> 8;
    this.buf[this.pos++] = port & 0xff;
  }

  raw(bytes: Uint8Array): void {
    const buf = this.buf;
    let p = this.pos;
    const n = bytes.length;
    // TypedArray#set has a fixed cost that a loop beats for a few bytes; from about 16 it wins.
    if (n > 16) {
      buf.set(bytes, p);
      p += n;
    } else {
      for (let i = 0; i < n; i++) buf[p++] = bytes[i];
    }
    this.pos = p;
  }

  /** Closes `r`, echoes the transaction id `src[tStart, tEnd)`, adds the tail; returns the datagram. */
  end(src: Uint8Array, tStart: number, tEnd: number): Buffer {
    const buf = this.buf;
    this.raw(CLOSE_R_T);
    this.length_(tEnd - tStart);
    let p = this.pos;
    for (let i = tStart; i < tEnd; i++) buf[p++] = src[i];
    this.pos = p;
    this.raw(this.tail);
    const out = Buffer.allocUnsafe(this.pos);
    buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private decimal(n: number): void {
    const buf = this.buf;
    if (n < 10) {
      buf[this.pos++] = 0x30 + n;
      return;
    }
    if (n < 100) {
      buf[this.pos++] = 0x30 + ((n / 10) | 0);
      buf[this.pos++] = 0x30 + (n % 10);
      return;
    }
    const s = String(n);
    for (let i = 0; i < s.length; i++) buf[this.pos++] = s.charCodeAt(i);
  }
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : String(n).length;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
