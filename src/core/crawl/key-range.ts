// Parts of the keyspace: part `index` of 2^bits, the ids whose first `bits` bits are `index`.
// Leases of a shared crawl and `crawl --shard i/n` hand them to strategies.
import type { KeyPart, KeyRange, StrategyHelpers } from './strategy.js';

/** Most bits a range may have: with the keyspace walk's own stripes (up to 6 bits) within the 16 it supports. */
const MAX_RANGE_BITS = 10;

/** The first id of the range. */
export function rangeStart(range: KeyRange): Uint8Array {
  const id = new Uint8Array(20);
  for (let b = 0; b < range.bits; b++) if ((range.index >> (range.bits - 1 - b)) & 1) id[b >> 3] |= 0x80 >> (b & 7);
  return id;
}

/** The first id after the range; null for the last range (it runs to the end of the keyspace). */
export function rangeEnd(range: KeyRange): Uint8Array | null {
  if (range.index + 1 >= 2 ** range.bits) return null;
  return rangeStart({ bits: range.bits, index: range.index + 1 });
}

/** Whether an id lies in the range. */
export function inRange(range: KeyRange, id: Uint8Array): boolean {
  for (let b = 0; b < range.bits; b++) {
    const want = (range.index >> (range.bits - 1 - b)) & 1;
    if (((id[b >> 3] >> (7 - (b & 7))) & 1) !== want) return false;
  }
  return true;
}

/** A range as strategies walk it (StrategyContext.helpers.keyPart): random ids inside it, membership. */
export class KeyRangePart implements KeyPart {
  readonly bits: number;
  readonly start: Uint8Array;
  private readonly range: KeyRange;

  /** @param ids the context's helpers, whose randomness the part's ids come from */
  constructor(
    range: KeyRange | undefined,
    private readonly ids: Pick<StrategyHelpers, 'randomId' | 'randomIdInPrefix'>,
  ) {
    this.range = range ?? { bits: 0, index: 0 };
    this.bits = this.range.bits;
    this.start = rangeStart(this.range);
  }

  get whole(): boolean {
    return this.bits === 0;
  }

  randomId(): Uint8Array {
    return this.whole ? this.ids.randomId() : this.ids.randomIdInPrefix(this.start, this.bits);
  }

  has(id: Uint8Array): boolean {
    return inRange(this.range, id);
  }
}

/** Bits of a count of ranges that is a power of two (1, 2, 4, … 2^MAX_RANGE_BITS), else null. */
export function rangeBits(count: number): number | null {
  if (!Number.isInteger(count) || count < 1) return null;
  const bits = Math.log2(count);
  return Number.isInteger(bits) && bits <= MAX_RANGE_BITS ? bits : null;
}

/** "i/n" as a range: shard i (0-based) of n, n a power of two. */
export function parseShard(text: string): KeyRange | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return 'expected i/n, e.g. 0/4';
  const index = Number(m[1]);
  const n = Number(m[2]);
  const bits = rangeBits(n);
  if (bits === null) return `n must be a power of two from 1 to ${2 ** MAX_RANGE_BITS}`;
  if (index >= n) return `i must be below n (0 to ${n - 1})`;
  return { bits, index };
}
