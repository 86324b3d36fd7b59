// One infohash from one line of input: 40 hex digits, a magnet link, or an NDJSON record with an
// `infohash` field (so `bitscrape crawl --json | bitscrape scrape -` works). Shared by every
// command that takes infohashes (scrape, get-peers, announce).
import magnet from 'magnet-uri';
import { fromHex } from '../core/wire/hex.js';

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
  if (/^magnet:/i.test(value)) return fromMagnet(value);
  if (value.startsWith('{')) return fromRecord(value);
  return { ok: false, error: `not an infohash (40 hex digits), magnet link or JSON record: ${preview(value)}` };
}

function fromMagnet(uri: string): InfohashInput {
  let hex: string | undefined;
  try {
    hex = magnet(uri).infoHash;
  } catch (err) {
    // Bad percent-escapes make decodeURIComponent throw inside the parser.
    return { ok: false, error: `unreadable magnet link: ${(err as Error).message}` };
  }
  // The parser takes any 40 characters after urn:btih: without checking them.
  if (typeof hex !== 'string' || !HEX40.test(hex)) {
    return { ok: false, error: `magnet link without a BitTorrent v1 infohash (xt=urn:btih:…): ${preview(uri)}` };
  }
  return { ok: true, infohash: fromHex(hex, 20)! };
}

function fromRecord(line: string): InfohashInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, error: `invalid JSON: ${preview(line)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, error: 'JSON input must be an object' };
  if (!('infohash' in parsed)) return { ok: false, skip: true };
  const field = (parsed as { infohash: unknown }).infohash;
  if (typeof field !== 'string' || !HEX40.test(field.trim())) {
    return { ok: false, error: `"infohash" field is not 40 hex digits: ${preview(JSON.stringify(field) ?? String(field))}` };
  }
  return { ok: true, infohash: fromHex(field.trim(), 20)! };
}

/** Long or binary-looking inputs are shortened so one bad line stays one line of error. */
function preview(text: string): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}
