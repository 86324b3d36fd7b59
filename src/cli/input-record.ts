// One value from one input line: a plain value, or an NDJSON record whose natural field holds it
// (`address` for nodes, `infohash` for torrents, `target`/`id` for ids), so the JSON output of
// one command feeds another: `bitscrape find-node X --json | bitscrape ping -`. The one place
// every command that reads `-` turns a line into its value (infohash-input, endpoint-input,
// id-input build on it).
import { quote } from './errors.js';

export type LineValue =
  | { ok: true; value: string; field: string | null }
  | { ok: false; error: string; skip?: undefined }
  /** An NDJSON record without any of the fields: not a value, not a mistake either (a summary line). */
  | { ok: false; skip: true };

/** The natural fields of each kind of input, in order of preference. */
export const INPUT_FIELDS = {
  address: ['address'],
  infohash: ['infohash'],
  id: ['target', 'id'],
} as const;

/**
 * The value of a line: the line itself, or the first of `fields` present in a JSON record.
 * `expected` names what the field should hold, for the error when it holds no string.
 */
export function lineValue(text: string, fields: readonly string[], expected = 'a string'): LineValue {
  const value = text.trim();
  if (value === '') return { ok: false, error: 'empty input' };
  if (!value.startsWith('{')) return { ok: true, value, field: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ok: false, error: `invalid JSON: ${quote(value)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, error: 'JSON input must be an object' };
  const field = fields.find((f) => f in parsed);
  if (field === undefined) return { ok: false, skip: true };
  const v = (parsed as Record<string, unknown>)[field];
  if (typeof v !== 'string') return { ok: false, error: `"${field}" field is not ${expected}: ${showValue(v)}` };
  return { ok: true, value: v.trim(), field };
}

/** A JSON value in an error message: numbers, booleans and null as they are; the rest quoted. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'object' && v !== null) return quote(JSON.stringify(v));
  return String(v);
}
