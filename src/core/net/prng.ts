// A small seeded pseudo-random generator (sfc32, seeded through splitmix32) for simulations
// and tests: the same seed always gives the same sequence. Not for anything secret.

function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Any number works as a seed; non-integers are truncated, and it is taken modulo 2^32. */
  constructor(readonly seed: number) {
    let s = Math.trunc(seed) | 0;
    let out: number;
    [s, out] = splitmix32(s);
    this.a = out;
    [s, out] = splitmix32(s);
    this.b = out;
    [s, out] = splitmix32(s);
    this.c = out;
    this.d = 1;
    // let the state mix before handing out numbers
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** Uniform in [0, 2^32). */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [min, max] (both inclusive; the span must fit in 2^32). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** n pseudo-random bytes (e.g. simulated node ids). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let v = this.uint32();
      for (let j = i; j < i + 4 && j < n; j++, v >>>= 8) out[j] = v & 0xff;
    }
    return out;
  }

  /** An independent generator derived from this one (e.g. one per simulated node). */
  fork(): Prng {
    return new Prng(this.uint32());
  }
}
