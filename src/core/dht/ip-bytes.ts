// IP address text <-> bytes, for hashing (tokens, BEP 33 blooms) and BEP 42 checks.
// Kept local to dht/ so these pure structures don't depend on the network layer.
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from '../wire/types.js';

/** 4 bytes for IPv4, 16 for IPv6; null when `host` is not an IP literal. */
export function ipToBytes(host: string): Uint8Array | null {
  if (isIPv4(host)) return parseV4(host);
  if (isIPv6(host)) return parseV6(host);
  return null;
}

export function ipFamily(host: string): Family | null {
  if (isIPv4(host)) return 4;
  if (isIPv6(host)) return 6;
  return null;
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

function parseV4(host: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = host.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function parseV6(host: string): Uint8Array {
  const out = new Uint8Array(16);
  const zone = host.indexOf('%');
  let text = zone >= 0 ? host.slice(0, zone) : host;
  // A dotted IPv4 tail fills the last 4 bytes.
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    tail = parseV4(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, null];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const groups = rest === null ? headGroups : [...headGroups, ...Array(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  for (let i = 0; i < 8; i++) {
    const value = parseInt(groups[i], 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}
