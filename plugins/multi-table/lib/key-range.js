// The part of the keyspace a strategy is given under `crawl --leases` or `--shard`
// (StrategyOptions.range: the ids whose first `bits` bits are `index`); absent, the whole
// keyspace. (Each strategy package carries its own copy: a plugin has no dependencies.)

/** @import { KeyRange } from 'bitscrape' */

export class KeyPart {
  /** @param {KeyRange} [range] */
  constructor(range) {
    this.bits = range?.bits ?? 0;
    /** The range's first id: its prefix, then zeros. */
    this.start = new Uint8Array(20);
    for (let b = 0; b < this.bits; b++) if (((range?.index ?? 0) >> (this.bits - 1 - b)) & 1) this.start[b >> 3] |= 0x80 >> (b & 7);
  }

  /** Whether this is all of the keyspace. */
  get whole() {
    return this.bits === 0;
  }

  /**
   * A random id inside the part.
   * @param {{ randomId(): Uint8Array, randomIdInPrefix(prefix: Uint8Array, bits: number): Uint8Array }} helpers the strategy context's
   */
  randomId(helpers) {
    return this.whole ? helpers.randomId() : helpers.randomIdInPrefix(this.start, this.bits);
  }

  /**
   * Whether an id lies in the part.
   * @param {Uint8Array} id
   */
  has(id) {
    for (let b = 0; b < this.bits; b++) if (((id[b >> 3] ^ this.start[b >> 3]) & (0x80 >> (b & 7))) !== 0) return false;
    return true;
  }
}
