// Compact peer info (ip + port: 6 / 18 bytes) and compact node info (id + ip + port: 26 / 38
// bytes), plus the IP text forms they are shown in. Pure: no node:net.
import type { Family, NodeInfo, PeerInfo } from './types.js';

export const PEER4_LENGTH = 6;
export const PEER6_LENGTH = 18;
export const NODE4_LENGTH = 26;
export const NODE6_LENGTH = 38;
export const ID_LENGTH = 20;

const DEC = Array.from({ length: 256 }, (_, i) => String(i));
const DEC_DOT = Array.from({ length: 256 }, (_, i) => `${i}.`);

/** Dotted-quad text of the 4 bytes at `off`. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  // Three concatenations of table strings, paired rather than chained (shorter intermediates; a
  // gain of a few % at most on a whole decodeMessage). Tables of octet pairs were much slower:
  // 64K entries fall out of the CPU caches. String.fromCharCode per address was no faster.
  return (DEC_DOT[b[off]] + DEC_DOT[b[off + 1]]) + (DEC_DOT[b[off + 2]] + DEC[b[off + 3]]);
}

/**
 * Text of the 16-byte IPv6 address at `off`, in the form Node reports for socket addresses
 * (libuv inet_ntop, RFC 5952 style): lowercase, no leading zeros, the longest run of two or more
 * zero groups (the first one on a tie) written as "::", and IPv4-mapped / IPv4-compatible
 * addresses with a dotted tail (`::ffff:1.2.3.4`). Matches `dgram` rinfo.address, so hosts
 * compare equal as strings.
 */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const w: number[] = new Array(8);
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i] << 8) | b[off + 2 * i + 1];
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && w[i] === 0) {
      if (curBase < 0) curBase = i;
    } else if (curBase >= 0) {
      const len = i - curBase;
      if (len > bestLen) {
        bestBase = curBase;
        bestLen = len;
      }
      curBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      return s + formatIPv4(b, off + 12);
    }
    s += w[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

/** Text form of a 4- or 16-byte address. */
export function formatIP(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
}

/** Strict dotted quad (no leading zeros, each part 0..255) → 4 bytes, or null. */
export function parseIPv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  return parseIPv4Into(s, out, 0) ? out : null;
}

function parseIPv4Into(s: string, out: Uint8Array, off: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[off + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      if (value > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

function isHexGroup(p: string): boolean {
  if (p.length === 0 || p.length > 4) return false;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
    if (!hex) return false;
  }
  return true;
}

/**
 * IPv6 text (hex groups, one optional "::", an optional dotted IPv4 tail) → 16 bytes, or null.
 * Zone ids ("%eth0") and brackets are rejected: they have no place in compact encodings.
 */
export function parseIPv6(s: string): Uint8Array | null {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  if (dbl < 0 && headParts.length === 0) return null;
  const words: number[] = [];
  const tailWords: number[] = [];
  const lastList = dbl >= 0 ? tailParts : headParts;
  for (const [parts, into] of [
    [headParts, words],
    [tailParts, tailWords],
  ] as const) {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (parts === lastList && i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIPv4Into(p, v4, 0)) return null;
        into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (isHexGroup(p)) {
        into.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
  }
  const explicit = words.length + tailWords.length;
  if (dbl >= 0 ? explicit > 7 : explicit !== 8) return null;
  while (words.length + tailWords.length < 8) words.push(0);
  words.push(...tailWords);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** An IPv4 or IPv6 text address → 4 or 16 bytes, or null. */
export function parseIP(s: string): Uint8Array | null {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

/** The peer stored in buf[off, off + 6) (family 4) or buf[off, off + 18) (family 6). */
export function readPeer(buf: Uint8Array, off: number, family: Family): PeerInfo {
  if (family === 4) {
    return { host: formatIPv4(buf, off), port: (buf[off + 4] << 8) | buf[off + 5], family: 4 };
  }
  return { host: formatIPv6(buf, off), port: (buf[off + 16] << 8) | buf[off + 17], family: 6 };
}

/** Compact peer info of 6 or 18 bytes → PeerInfo; null for any other length. */
export function decodePeer(bytes: Uint8Array): PeerInfo | null {
  if (bytes.length === PEER4_LENGTH) return readPeer(bytes, 0, 4);
  if (bytes.length === PEER6_LENGTH) return readPeer(bytes, 0, 6);
  return null;
}

/**
 * Concatenated compact node records (26 bytes for family 4, 38 for 6) → NodeInfo[]. A ragged
 * tail is ignored; `ragged` says whether there was one. Node ids alias `bytes`.
 */
export function decodeNodes(bytes: Uint8Array, family: Family): { nodes: NodeInfo[]; ragged: boolean } {
  const size = family === 4 ? NODE4_LENGTH : NODE6_LENGTH;
  const nodes = readNodes(bytes, bytes.buffer, bytes.byteOffset, 0, bytes.length, family);
  return { nodes, ragged: nodes.length * size !== bytes.length };
}

/**
 * The whole node records in buf[start, end). `backing` and `base` are buf.buffer and
 * buf.byteOffset, passed in because reading them per call costs more than the rest of a record.
 */
export function readNodes(
  buf: Uint8Array,
  backing: ArrayBufferLike,
  base: number,
  start: number,
  end: number,
  family: Family,
): NodeInfo[] {
  const size = family === 4 ? NODE4_LENGTH : NODE6_LENGTH;
  const count = Math.floor((end - start) / size);
  const nodes: NodeInfo[] = new Array(count);
  for (let i = 0, off = start; i < count; i++, off += size) {
    const id = new Uint8Array(backing, base + off, ID_LENGTH);
    const ip = off + ID_LENGTH;
    nodes[i] =
      family === 4
        ? { id, host: formatIPv4(buf, ip), port: (buf[ip + 4] << 8) | buf[ip + 5], family: 4 }
        : { id, host: formatIPv6(buf, ip), port: (buf[ip + 16] << 8) | buf[ip + 17], family: 6 };
  }
  return nodes;
}

function ipBytes(host: string, family: Family): Uint8Array {
  const ip = family === 4 ? parseIPv4(host) : parseIPv6(host);
  if (ip === null) throw new RangeError(`not an IPv${family} address: ${JSON.stringify(host)}`);
  return ip;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad port ${port}`);
}

/** Writes a peer's ip and port at `off`; returns the offset after it. Throws on a bad host/port. */
export function writePeer(out: Uint8Array, off: number, peer: PeerInfo): number {
  checkPort(peer.port);
  const ip = ipBytes(peer.host, peer.family);
  out.set(ip, off);
  off += ip.length;
  out[off++] = peer.port >> 8;
  out[off++] = peer.port & 0xff;
  return off;
}

/** Compact peer info (6 or 18 bytes). Throws on a bad host/port: encoding our own data. */
export function encodePeer(peer: PeerInfo): Uint8Array {
  const out = new Uint8Array(peer.family === 4 ? PEER4_LENGTH : PEER6_LENGTH);
  writePeer(out, 0, peer);
  return out;
}

/** Compact node info (26 or 38 bytes). Throws on a bad id/host/port. */
export function encodeNode(node: NodeInfo): Uint8Array {
  return encodeNodes([node]);
}

/**
 * Concatenated compact node info for `nodes` or `nodes6`. All nodes must be of one family (the
 * two families go under different keys); mixing them, a bad id, host or port throws.
 */
export function encodeNodes(nodes: readonly NodeInfo[]): Uint8Array {
  if (nodes.length === 0) return new Uint8Array(0);
  const family = nodes[0].family;
  const size = family === 4 ? NODE4_LENGTH : NODE6_LENGTH;
  const out = new Uint8Array(size * nodes.length);
  let off = 0;
  for (const n of nodes) {
    if (n.family !== family) throw new RangeError('encodeNodes: nodes of both families in one list');
    if (n.id.length !== ID_LENGTH) throw new RangeError(`encodeNodes: id of ${n.id.length} bytes`);
    out.set(n.id, off);
    off = writePeer(out, off + ID_LENGTH, n);
  }
  return out;
}
