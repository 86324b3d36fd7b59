// Bit-level helpers on 20-byte ids for the prefix trees of traversal strategies.

export function compareIds(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < 20; i++) {
    const d = a[ao + i] - b[bo + i];
    if (d !== 0) return d;
  }
  return 0;
}

/** The first 32 bits as an unsigned number. */
export function top32(id: Uint8Array, off = 0): number {
  return ((id[off] << 24) | (id[off + 1] << 16) | (id[off + 2] << 8) | id[off + 3]) >>> 0;
}

export function bitAt(id: Uint8Array, bit: number): number {
  return (id[bit >> 3] >> (7 - (bit & 7))) & 1;
}

/** A copy of id with bit `bit` set. */
export function withBit(id: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(id);
  out[bit >> 3] |= 0x80 >> (bit & 7);
  return out;
}

/** A copy of id with bit `bit` flipped. */
export function flipBit(id: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(id);
  out[bit >> 3] ^= 0x80 >> (bit & 7);
  return out;
}

/** The first `depth` bits of id, then zeros. */
export function prefixStart(id: Uint8Array, depth: number): Uint8Array {
  const out = new Uint8Array(20);
  const whole = depth >> 3;
  out.set(id.subarray(0, whole));
  const rest = depth & 7;
  if (rest > 0) out[whole] = id[whole] & ((0xff << (8 - rest)) & 0xff);
  return out;
}

/** Whether id starts with the first `depth` bits of start. */
export function inPrefix(id: Uint8Array, start: Uint8Array, depth: number): boolean {
  const whole = depth >> 3;
  for (let i = 0; i < whole; i++) if (id[i] !== start[i]) return false;
  const rest = depth & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (id[whole] & mask) === (start[whole] & mask);
}

/** The position of id in the keyspace as a fraction in [0, 1) (first 48 bits). */
export function keyspaceFraction(id: Uint8Array): number {
  return (top32(id) * 65536 + ((id[4] << 8) | id[5])) / 2 ** 48;
}

/** XOR distance of a and b as a fraction of the keyspace (first 56 bits). */
export function distanceFraction(a: Uint8Array, b: Uint8Array): number {
  let x = 0;
  for (let i = 0; i < 7; i++) x = x * 256 + (a[i] ^ b[i]);
  return x / 2 ** 56;
}
