// One infohash from one line of input: 40 hex digits, a magnet link, or an NDJSON record with an
// `infohash` field (so `bitscrape crawl --json | bitscrape scrape -` works). Shared by every
// command that takes infohashes (scrape, get-peers, announce).
import { fromHex } from '../core/wire/hex.js';
import { quote } from './errors.js';
import { INPUT_FIELDS, lineValue, showValue } from './input-record.js';
import { magnetInfohash } from './magnet.js';

export type InfohashInput =
  | { ok: true; infohash: Uint8Array }
  | { ok: false; error: string; skip?: undefined }
  /** An NDJSON record without an `infohash` field: not an infohash, not a mistake either. */
  | { ok: false; skip: true };

const HEX40 = /^[0-9a-fA-F]{40}$/;

export function parseInfohashInput(text: string): InfohashInput {
  const line = lineValue(text, INPUT_FIELDS.infohash, '40 hex digits');
  if (!line.ok) return line;
  const value = line.value;
  if (line.field !== null) {
    if (!HEX40.test(value)) return { ok: false, error: `"${line.field}" field is not 40 hex digits: ${showValue(value)}` };
    return { ok: true, infohash: fromHex(value, 20)! };
  }
  if (HEX40.test(value)) return { ok: true, infohash: fromHex(value, 20)! };
  if (/^magnet:/i.test(value)) {
    const r = magnetInfohash(value);
    return r.ok ? { ok: true, infohash: r.value } : { ok: false, error: r.error };
  }
  return { ok: false, error: `not an infohash (40 hex digits), magnet link or JSON record: ${quote(value)}` };
}
