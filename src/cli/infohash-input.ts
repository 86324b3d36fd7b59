// One infohash from one line of input: 40 hex digits, a magnet link, or an NDJSON record with an
// `infohash` field (so `bitscrape crawl --json | bitscrape scrape -` works). Shared by every
// command that takes infohashes (scrape, get-peers, announce).
import { fromHex } from '../core/wire/hex.js';
import { quote } from './errors.js';
import { magnetInfohash } from './magnet.js';

export type InfohashInput =
  | { ok: true; infohash: Uint8Array }
  | { ok: false; error: string; skip?: undefined }
  /** An NDJSON record without an `infohash` field: not an infohash, not a mistake either. */
  | { ok: false; skip: true };

const HEX40 = /^[0-9a-fA-F]{40}$/;

export function parseInfohashInput(text: string): InfohashInput {
  const value = text.trim();
  if (value === '') return { ok: false, error: 'empty input' };
  if (HEX40.test(value)) return { ok: true, infohash: fromHex(value, 20)! };
  if (/^magnet:/i.test(value)) {
    const r = magnetInfohash(value);
    return r.ok ? { ok: true, infohash: r.value } : { ok: false, error: r.error };
  }
  if (value.startsWith('{')) return fromRecord(value);
  return { ok: false, error: `not an infohash (40 hex digits), magnet link or JSON record: ${quote(value)}` };
}

function fromRecord(line: string): InfohashInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, error: `invalid JSON: ${quote(line)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, error: 'JSON input must be an object' };
  if (!('infohash' in parsed)) return { ok: false, skip: true };
  const field = (parsed as { infohash: unknown }).infohash;
  if (typeof field !== 'string' || !HEX40.test(field.trim())) {
    // Numbers, booleans and null print short as they are; strings and containers are quoted.
    const shown = typeof field === 'string' ? quote(field) : typeof field === 'object' && field !== null ? quote(JSON.stringify(field)) : String(field);
    return { ok: false, error: `"infohash" field is not 40 hex digits: ${shown}` };
  }
  return { ok: true, infohash: fromHex(field.trim(), 20)! };
}
