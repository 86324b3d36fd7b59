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

// The rounding rules for numbers we print (docs/output.md): timers and ratios carry float
// noise nobody can use (`60210.279541015625`). Integers are never touched.

/** Milliseconds: 2 decimals (`60210.28`). */
export function roundMs(x: number): number {
  return Number.isInteger(x) || !Number.isFinite(x) ? x : Math.round(x * 100) / 100;
}

/** Any other number: 4 significant digits, never fewer than 2 decimals (`0.6524`, `12.35`, `1234.57`). */
export function roundNumber(x: number): number {
  if (Number.isInteger(x) || !Number.isFinite(x)) return x;
  return Math.abs(x) < 100 ? Number(x.toPrecision(4)) : Math.round(x * 100) / 100;
}

/** Whether a field holds milliseconds (`rtt_ms`, `duration_ms`, node's `ms`). */
function isMsField(key: string): boolean {
  return key === 'ms' || key.endsWith('_ms');
}

/** JSON.stringify replacer: every number of a record rounded by the rule for its field. */
function roundedNumbers(key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  return isMsField(key) ? roundMs(value) : roundNumber(value);
}

/** A share 0..1 as a percentage for human output (`65.2%`). */
export function percent(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

/** A record as one JSON line (no newline), numbers rounded: every NDJSON line and JSON summary. */
export function jsonLine(record: unknown): string {
  return JSON.stringify(record, roundedNumbers);
}

/** A record as indented JSON for human mode, numbers rounded. */
export function jsonPretty(record: unknown): string {
  return JSON.stringify(record, roundedNumbers, 2);
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
