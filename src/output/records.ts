// Builders for the JSON records commands print (field conventions: docs/output.md).
import { formatEndpoint } from '../core/net/address.js';
import { decodeVersion } from '../core/wire/version.js';
import { toHex } from '../core/wire/hex.js';
import type { BValue } from '../core/wire/types.js';

export function versionFields(v: Uint8Array | undefined): { client: string | null; version_hex: string | null } {
  if (!v || v.length === 0) return { client: null, version_hex: null };
  const d = decodeVersion(v);
  return { client: d.client, version_hex: d.hex };
}

export function address(e: { host: string; port: number }): string {
  return formatEndpoint(e.host, e.port);
}

export function ms(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A bencoded value as JSON: printable byte strings as text, other bytes as `hex:<hex>`, big ints as strings. */
export function bvalueToJson(v: BValue): unknown {
  if (v instanceof Uint8Array) {
    for (let i = 0; i < v.length; i++) {
      if (v[i] < 0x20 || v[i] > 0x7e) return `hex:${toHex(v)}`;
    }
    return Buffer.from(v).toString('latin1');
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(bvalueToJson);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = bvalueToJson(v[k]);
  return out;
}
