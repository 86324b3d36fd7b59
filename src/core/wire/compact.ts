// Compact peer info (ip + port: 6 / 18 bytes) and compact node info (id + ip + port: 26 / 38
// bytes). Pure: no node:net.
import { formatIPv4, formatIPv6, ipv4ToNumber, parseIPv6 } from './ip.js';
import type { Family, NodeInfo, PeerInfo } from './types.js';

export const PEER4_LENGTH = 6;
export const PEER6_LENGTH = 18;
export const NODE4_LENGTH = 26;
export const NODE6_LENGTH = 38;
export const ID_LENGTH = 20;

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

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad port ${port}`);
}

function badHost(peer: PeerInfo): RangeError {
  return new RangeError(`not an IPv${peer.family} address: ${JSON.stringify(peer.host)}`);
}

/** Writes a peer's ip and port at `off`; returns the offset after it. Throws on a bad host/port. */
export function writePeer(out: Uint8Array, off: number, peer: PeerInfo): number {
  checkPort(peer.port);
  if (peer.family === 4) {
    // Written from the number: no 4-byte array per address on the encode path.
    const ip = ipv4ToNumber(peer.host);
    if (ip < 0) throw badHost(peer);
    out[off++] = ip >>> 24;
    out[off++] = (ip >>> 16) & 0xff;
    out[off++] = (ip >>> 8) & 0xff;
    out[off++] = ip & 0xff;
  } else {
    const ip = parseIPv6(peer.host);
    if (ip === null) throw badHost(peer);
    out.set(ip, off);
    off += 16;
  }
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
