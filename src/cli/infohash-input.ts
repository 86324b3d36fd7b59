// One infohash from one line of input: 40 hex digits, a magnet link, or an NDJSON record with an
// `infohash` field (so `bitscrape crawl --json | bitscrape scrape -` works). Shared by every
// command that takes infohashes (scrape, get-peers, announce).
import { fromHex, toHex } from '../core/wire/hex.js';
import { quote } from './errors.js';
import { INPUT_FIELDS, lineValue, showValue } from './input-record.js';
import { magnetInfohash } from './magnet.js';
import { untilStopped } from '../core/util/pool.js';

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

export interface InfohashStreamTally {
  infohashes: number;
  duplicates: number;
  badInputs: number;
}

/**
 * Valid, distinct infohashes from input lines, then from the database, until `stop`. Bad lines
 * go to `bad` (and are counted); NDJSON records without an `infohash` field are skipped silently.
 * Each infohash comes with its input line (none for the database's), for what else it carries.
 */
export async function* distinctInfohashes<L extends { value: string }>(
  lines: AsyncIterable<L>,
  fromDb: readonly Uint8Array[],
  tally: InfohashStreamTally,
  stop: Promise<void>,
  bad: (line: L, error: string) => void,
): AsyncGenerator<{ infohash: Uint8Array; line?: L }> {
  const seen = new Set<string>();
  const accept = (ih: Uint8Array): boolean => {
    const key = toHex(ih);
    if (seen.has(key)) {
      tally.duplicates++;
      return false;
    }
    seen.add(key);
    tally.infohashes++;
    return true;
  };
  for await (const line of untilStopped(lines, stop)) {
    const r = parseInfohashInput(line.value);
    if (r.ok) {
      if (accept(r.infohash)) yield { infohash: r.infohash, line };
    } else if (!r.skip) {
      tally.badInputs++;
      bad(line, r.error);
    }
  }
  let stopping = false;
  void stop.then(() => (stopping = true));
  for (const ih of fromDb) {
    if (stopping) return;
    if (accept(ih)) yield { infohash: ih };
  }
}
