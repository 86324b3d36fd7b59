// `--arg key=value` for the raw query command. Values: `i:42` integer, `hex:…` bytes,
// `l:a,b` list of strings, 40 hex digits → 20 bytes (ids, targets, infohashes), anything else a
// UTF-8 string.
import { fromHex } from '../core/wire/hex.js';
import { quote } from './errors.js';
import type { BEncodable } from '../core/wire/types.js';

export function parseQueryArg(text: string): { key: string; value: BEncodable } | { error: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) return { error: `--arg ${quote(text)}: expected key=value` };
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  if (raw.startsWith('i:')) {
    if (!/^-?\d+$/.test(raw.slice(2))) return { error: `--arg ${quote(key)}: ${quote(raw)} is not an integer` };
    const n = BigInt(raw.slice(2));
    return { key, value: n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n };
  }
  if (raw.startsWith('hex:')) {
    const bytes = fromHex(raw.slice(4));
    if (!bytes) return { error: `--arg ${quote(key)}: ${quote(raw.slice(4))} is not hex` };
    return { key, value: bytes };
  }
  if (raw.startsWith('l:')) return { key, value: raw.length > 2 ? raw.slice(2).split(',') : [] };
  if (/^[0-9a-fA-F]{40}$/.test(raw)) return { key, value: fromHex(raw, 20)! };
  return { key, value: raw };
}
