import bencode from 'bencode';
import { describe, expect, it } from 'vitest';
import { DICT, INT, LIST, STR, Tape, decode, encode, scan } from '../../../src/core/wire/bencode.js';
import type { BValue } from '../../../src/core/wire/types.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function decodeOk(s: string): BValue {
  const res = decode(bytes(s));
  if (!res.ok) throw new Error(`expected ${JSON.stringify(s)} to decode: ${res.error.message}`);
  return res.value;
}

function errorCode(s: string | Uint8Array, opts?: Parameters<typeof decode>[1]): string | null {
  const res = decode(typeof s === 'string' ? bytes(s) : s, opts);
  return res.ok ? null : res.error.code;
}

describe('bencode decode: strictness', () => {
  it.each([
    ['i03e', 'syntax'], // leading zero
    ['03:abc', 'syntax'], // leading zero in a length
    ['00:', 'syntax'],
    ['i-0e', 'syntax'], // negative zero
    ['i-03e', 'syntax'],
    ['ie', 'syntax'],
    ['i-e', 'syntax'],
    ['i+1e', 'syntax'],
    ['i1.5e', 'syntax'],
    ['i 1e', 'syntax'],
    ['-1:', 'syntax'],
    ['d1:ae', 'syntax'], // key without a value
    ['di1e1:ae', 'syntax'], // non-string key
    ['dle1:ae', 'syntax'],
    ['d1:a0:1:a0:e', 'duplicate_key'],
    ['d1:b0:1:a0:1:b0:e', 'duplicate_key'], // unsorted, duplicate not adjacent
    ['5:abc', 'truncated'], // length beyond the input
    ['99999999999999999999:a', 'truncated'],
    ['i12', 'truncated'],
    ['l', 'truncated'],
    ['d1:a', 'truncated'],
    ['ld', 'truncated'],
    ['e', 'syntax'],
    ['x', 'syntax'],
    ['i1ei2e', 'trailing'],
    ['dei', 'trailing'],
    ['le\n', 'trailing'],
    ['', 'empty'],
  ])('%j is rejected with %s', (input, code) => {
    expect(errorCode(input)).toBe(code);
  });

  it.each([
    ['i0e', 0],
    ['i-1e', -1],
    ['i42e', 42],
    ['i9007199254740991e', Number.MAX_SAFE_INTEGER],
    ['i-9007199254740991e', -Number.MAX_SAFE_INTEGER],
    ['i9007199254740992e', 9007199254740992n],
    ['i-9007199254740992e', -9007199254740992n],
    ['i9223372036854775807e', 9223372036854775807n],
    ['i123456789012345678901234567890e', 123456789012345678901234567890n],
  ])('%j decodes to %s (number when safe, bigint beyond)', (input, value) => {
    expect(decodeOk(input)).toBe(value);
  });

  it('decodes strings, lists and dicts', () => {
    const v = decodeOk('d1:al1:xi2eli3eee1:b0:1:cdee') as Record<string, BValue>;
    expect(text(((v.a as BValue[])[0]) as Uint8Array)).toBe('x');
    expect((v.a as BValue[])[1]).toBe(2);
    expect((v.a as BValue[])[2]).toEqual([3]);
    expect((v.b as Uint8Array).length).toBe(0);
    expect(v.c).toEqual({});
  });

  it('reads dict keys as latin1 and keeps byte strings as bytes', () => {
    const v = decodeOk('d2:\xff\x001:\x80e') as Record<string, BValue>;
    expect(Object.keys(v)).toEqual(['\xff\x00']);
    expect([...(v['\xff\x00'] as Uint8Array)]).toEqual([0x80]);
  });

  it('returns byte strings that alias the input', () => {
    const input = bytes('l3:abce');
    const v = decode(input);
    expect(v.ok).toBe(true);
    const s = (v.ok ? v.value : []) as Uint8Array[];
    input[3] = 0x7a; // 'z'
    expect(text(s[0])).toBe('zbc');
  });

  it("stores a '__proto__' key as data, not as the prototype", () => {
    const v = decodeOk('d9:__proto__d1:ai1eee') as Record<string, BValue>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ a: 1 });
  });

  it('accepts unsorted keys on read but reports the input as non-canonical', () => {
    const tape = new Tape();
    expect(scan(bytes('d1:bi1e1:ai2ee'), {}, tape)).toBeNull();
    expect(tape.isCanonical(0)).toBe(false);
    expect(tape.unsortedDicts).toBe(1);
    expect(scan(bytes('d1:ai2e1:bd1:xi1e1:yi1eee'), {}, tape)).toBeNull();
    expect(tape.isCanonical(0)).toBe(true);
    // A prefix sorts first: "a" < "ab".
    expect(scan(bytes('d2:abi1e1:ai2ee'), {}, tape)).toBeNull();
    expect(tape.isCanonical(0)).toBe(false);
    // Canonical-ness is per subtree.
    expect(scan(bytes('d1:ad1:zi1e1:yi2ee1:bd1:xi1eee'), {}, tape)).toBeNull();
    const a = tape.find(0, 'a');
    const b = tape.find(0, 'b');
    expect(tape.isCanonical(a)).toBe(false);
    expect(tape.isCanonical(b)).toBe(true);
  });

  it('enforces depth, token and string-length limits', () => {
    const nested = (n: number) => 'l'.repeat(n) + 'e'.repeat(n);
    expect(errorCode(nested(16))).toBeNull();
    expect(errorCode(nested(17))).toBe('too_deep');
    expect(errorCode(nested(5), { maxDepth: 4 })).toBe('too_deep');
    const list = (n: number) => 'l' + 'i1e'.repeat(n - 1) + 'e';
    expect(errorCode(list(1000))).toBeNull();
    expect(errorCode(list(1001))).toBe('too_many_tokens');
    expect(errorCode(`8192:${'x'.repeat(8192)}`)).toBeNull();
    expect(errorCode(`8193:${'x'.repeat(8193)}`)).toBe('too_long');
    expect(errorCode('5:abcde', { maxStringLength: 4 })).toBe('too_long');
  });

  it('can stop after the root value when trailing bytes are allowed', () => {
    const tape = new Tape();
    expect(scan(bytes('d1:ai1eeXYZ'), { allowTrailing: true }, tape)).toBeNull();
    expect(tape.rootEnd).toBe(8);
  });

  it('records the raw byte range of every value', () => {
    const input = bytes('d1:ad1:bi-12e1:cl2:xyee1:d3:abce');
    const tape = new Tape();
    expect(scan(input, {}, tape)).toBeNull();
    const a = tape.find(0, 'a');
    expect(tape.kind(a)).toBe(DICT);
    expect(text(tape.raw(a))).toBe('d1:bi-12e1:cl2:xyee');
    const b = tape.find(a, 'b');
    expect(tape.kind(b)).toBe(INT);
    expect(text(tape.raw(b))).toBe('i-12e');
    expect(tape.int(b)).toBe(-12);
    const c = tape.find(a, 'c');
    expect(tape.kind(c)).toBe(LIST);
    expect(text(tape.raw(c))).toBe('l2:xye');
    const d = tape.find(0, 'd');
    expect(tape.kind(d)).toBe(STR);
    expect(text(tape.raw(d))).toBe('3:abc');
    expect(text(tape.bytes(d))).toBe('abc');
    expect(tape.find(0, 'zz')).toBe(-1);
  });
});

describe('bencode encode', () => {
  it('writes canonical form: keys sorted by bytes, a prefix first', () => {
    const out = encode({ b: 1, a: 2, ab: 3, B: 4, '': 5 });
    expect(text(out)).toBe('d0:i5e1:Bi4e1:ai2e2:abi3e1:bi1ee');
  });

  it('writes strings as UTF-8, keys as latin1, bytes as they are', () => {
    expect(text(encode('é'))).toBe('2:\xc3\xa9');
    expect(text(encode({ '\xe9': 1 }))).toBe('d1:\xe9i1ee');
    expect(text(encode(Uint8Array.of(0, 255)))).toBe('2:\x00\xff');
    expect(() => encode({ '\u20ac': 1 })).toThrow(/latin1/);
  });

  it('omits undefined dict values, rejects what cannot be encoded', () => {
    expect(text(encode({ a: undefined, b: 1 }))).toBe('d1:bi1ee');
    expect(() => encode(1.5)).toThrow(/non-integer/);
    expect(() => encode(Number.NaN)).toThrow();
    expect(() => encode([undefined as unknown as number])).toThrow();
    expect(() => encode(null as unknown as number)).toThrow();
    expect(() => encode(true as unknown as number)).toThrow();
    expect(() => encode(new Uint16Array(2) as unknown as Uint8Array)).toThrow();
  });

  it('writes integers of every size', () => {
    expect(text(encode(0))).toBe('i0e');
    expect(text(encode(-7))).toBe('i-7e');
    expect(text(encode(1234567890123))).toBe('i1234567890123e');
    expect(text(encode(2 ** 60))).toBe('i1152921504606846976e');
    expect(text(encode(9223372036854775807n))).toBe('i9223372036854775807e');
    expect(text(encode(-5n))).toBe('i-5e');
  });

  it('round-trips decode → encode byte for byte on canonical input', () => {
    const samples = [
      'd1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe',
      'li-1ei0ei9007199254740993e0:leded0:0:ee',
      'd3:seqi1e1:v12:Hello World!e',
    ];
    for (const s of samples) expect(text(encode(decodeOk(s)))).toBe(s);
  });

  it('matches the bencode npm package on dicts of ASCII keys', () => {
    const value = { t: Buffer.from('aa'), y: 'q', q: 'find_node', a: { id: Buffer.alloc(20, 1), target: Buffer.alloc(20, 2), want: ['n4', 'n6'] }, n: -3 };
    expect(Buffer.from(encode(value)).equals(Buffer.from(bencode.encode(value)))).toBe(true);
  });
});
