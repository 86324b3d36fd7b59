// The BitTorrent v1 infohash of a magnet link (BEP 9: `xt=urn:btih:` followed by exactly 40 hex
// digits or 32 RFC 4648 base32 characters, either case). Anything else in the btih value is an
// error, never a guess: a truncated or over-long hash must not turn into a lookup of another one.
// Other parameters (dn, tr, ...) are not read.
import { fromHex } from '../core/wire/hex.js';
import type { PeerInfo, Result } from '../core/wire/types.js';
import { parseEndpoint } from '../core/net/address.js';
import { canonicalIp, ipFamily } from '../core/wire/ip.js';
import { quote } from './errors.js';

const HEX40 = /^[0-9a-f]{40}$/i;
const BASE32_32 = /^[a-z2-7]{32}$/i;
const BTIH = 'urn:btih:';

export function magnetInfohash(uri: string): Result<Uint8Array, string> {
  if (!/^magnet:\?/i.test(uri)) return { ok: false, error: `not a magnet link (magnet:?…): ${quote(uri)}` };
  const values: string[] = [];
  // URLSearchParams decodes %-escapes and never throws (a bad escape stays as it is).
  for (const [key, value] of new URLSearchParams(uri.slice(uri.indexOf('?') + 1))) {
    if (key === 'xt' && value.slice(0, BTIH.length).toLowerCase() === BTIH) values.push(value.slice(BTIH.length));
  }
  if (values.length === 0) return { ok: false, error: `magnet link without a BitTorrent v1 infohash (xt=urn:btih:…): ${quote(uri)}` };
  let infohash: Uint8Array | null = null;
  for (const value of values) {
    const ih = btih(value);
    if (!ih) return { ok: false, error: `magnet link's btih is not 40 hex digits or 32 base32 characters: ${quote(value)}` };
    if (infohash && Buffer.compare(infohash, ih) !== 0) return { ok: false, error: 'magnet link with two different btih infohashes' };
    infohash = ih;
  }
  return { ok: true, value: infohash! };
}

function btih(value: string): Uint8Array | null {
  if (HEX40.test(value)) return fromHex(value, 20);
  if (BASE32_32.test(value)) return base32(value.toUpperCase());
  return null;
}

/** 32 base32 characters (A-Z, 2-7; already checked) → 20 bytes. */
function base32(text: string): Uint8Array {
  const out = new Uint8Array(20);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    acc = (acc << 5) | (c >= 65 ? c - 65 : c - 50 + 26); // 'A'..'Z' → 0..25, '2'..'7' → 26..31
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1; // keep only the bits not yet written
    }
  }
  return out;
}

export interface MagnetPeers {
  peers: PeerInfo[];
  /** x.pe values that are not IP:port (names are not resolved: a magnet must not make us look up hosts). */
  bad: string[];
}

/** The magnet's `x.pe` peer addresses (BEP 9), IP literals only, in the order given. */
export function magnetPeers(uri: string): MagnetPeers {
  const out: MagnetPeers = { peers: [], bad: [] };
  if (!/^magnet:\?/i.test(uri)) return out;
  for (const [key, value] of new URLSearchParams(uri.slice(uri.indexOf('?') + 1))) {
    if (key !== 'x.pe') continue;
    const ep = parseEndpoint(value);
    const family = ep.ok ? ipFamily(ep.value.host) : 0;
    if (!ep.ok || family === 0) out.bad.push(value);
    else out.peers.push({ host: canonicalIp(ep.value.host), port: ep.value.port, family });
  }
  return out;
}
