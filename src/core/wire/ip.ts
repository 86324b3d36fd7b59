// IP addresses as text, bytes and numbers: the one parser and formatter of each family. Pure.
// Parsing is strict: IPv4 is a dotted quad only (no leading zeros, no octal or shorthand forms,
// octets 0-255); IPv6 is hex groups with at most one "::" and an optional dotted IPv4 tail.
import type { Family } from './types.js';

// ---------------------------------------------------------------------------------------------
// IPv4

/** Dotted-quad text → unsigned 32-bit number, or -1. */
export function ipv4ToNumber(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** The unsigned 32-bit number of the 4 address bytes at `off`. */
export function ipv4NumberAt(b: Uint8Array, off = 0): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Dotted-quad text → 4 bytes, or null. */
export function parseIPv4(s: string): Uint8Array | null {
  const n = ipv4ToNumber(s);
  return n < 0 ? null : Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

const DEC = Array.from({ length: 256 }, (_, i) => String(i));
const DEC_DOT = Array.from({ length: 256 }, (_, i) => `${i}.`);

/** Dotted-quad text of the 4 bytes at `off`. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  // Three concatenations of table strings, paired rather than chained (shorter intermediates; a
  // gain of a few % at most on a whole decodeMessage). Tables of octet pairs were much slower:
  // 64K entries fall out of the CPU caches. String.fromCharCode per address was no faster.
  return (DEC_DOT[b[off]] + DEC_DOT[b[off + 1]]) + (DEC_DOT[b[off + 2]] + DEC[b[off + 3]]);
}

/** Dotted-quad text of an unsigned 32-bit number. */
export function numberToIpv4(n: number): string {
  return (DEC_DOT[n >>> 24] + DEC_DOT[(n >>> 16) & 255]) + (DEC_DOT[(n >>> 8) & 255] + DEC[n & 255]);
}

// ---------------------------------------------------------------------------------------------
// IPv6

/**
 * IPv6 text → 16 bytes, or null. A zone ("%eth0") and brackets are rejected: a bare address is
 * what compact encodings carry. parseScopedIPv6 takes the text sockets report.
 */
export function parseIPv6(s: string): Uint8Array | null {
  // 45 = six 4-digit groups, six colons and a 15-character IPv4 tail; nothing valid is longer.
  if (s.length < 2 || s.length > 45) return null;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const headText = dbl >= 0 ? s.slice(0, dbl) : s;
  const tailText = dbl >= 0 ? s.slice(dbl + 2) : '';
  // The dotted IPv4 tail may only end the address: the head carries it when there is no "::".
  const head = parseGroups(headText, dbl < 0);
  const tail = parseGroups(tailText, true);
  if (!head || !tail) return null;
  const explicit = head.length + tail.length;
  if (dbl >= 0 ? explicit > 7 : explicit !== 8) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < head.length; i++) {
    out[2 * i] = head[i] >>> 8;
    out[2 * i + 1] = head[i] & 0xff;
  }
  for (let i = 0, w = 8 - tail.length; i < tail.length; i++, w++) {
    out[2 * w] = tail[i] >>> 8;
    out[2 * w + 1] = tail[i] & 0xff;
  }
  return out;
}

/** The 16-bit groups of colon-separated text ('' → none), or null. */
function parseGroups(text: string, v4Last: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (v4Last && i === parts.length - 1 && p.includes('.')) {
      const v4 = ipv4ToNumber(p);
      if (v4 < 0) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
      continue;
    }
    if (p.length < 1 || p.length > 4) return null;
    let g = 0;
    for (let j = 0; j < p.length; j++) {
      const d = hexDigit(p.charCodeAt(j));
      if (d < 0) return null;
      g = g * 16 + d;
    }
    groups.push(g);
  }
  return groups;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** IPv6 text with an optional non-empty %zone (dropped), as sockets report link-local peers → 16 bytes, or null. */
export function parseScopedIPv6(s: string): Uint8Array | null {
  const pct = s.indexOf('%');
  if (pct < 0) return parseIPv6(s);
  return pct === s.length - 1 ? null : parseIPv6(s.slice(0, pct));
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

// ---------------------------------------------------------------------------------------------
// Either family

/** A bare IPv4 or IPv6 address (no zone) → 4 or 16 bytes, or null: what compact encodings carry. */
export function parseIp(s: string): Uint8Array | null {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

/** The IP of a host as sockets name it (an IPv6 one may carry a %zone, dropped) → 4 or 16 bytes, or null. */
export function parseHostIp(host: string): Uint8Array | null {
  return host.includes(':') ? parseScopedIPv6(host) : parseIPv4(host);
}

/** 4 or 6 for an IP literal (an IPv6 one may carry a %zone), 0 for anything else, host names included. */
export function ipFamily(host: string): 0 | Family {
  if (host.includes(':')) return parseScopedIPv6(host) ? 6 : 0;
  return ipv4ToNumber(host) >= 0 ? 4 : 0;
}

/**
 * The canonical text of an IP literal, as sockets report source addresses (IPv6 lowercase and
 * compressed the RFC 5952 way; a %zone is kept). Anything else is returned unchanged.
 */
export function canonicalIp(host: string): string {
  if (!host.includes(':')) return host;
  const b = parseScopedIPv6(host);
  if (!b) return host;
  const pct = host.indexOf('%');
  const text = formatIPv6(b, 0);
  return pct >= 0 ? text + host.slice(pct) : text;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else the input bytes.
 * A dual-stack socket reports v4 peers that way; hashing must not depend on the socket kind.
 */
export function unmapV4(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.subarray(12, 16);
}
