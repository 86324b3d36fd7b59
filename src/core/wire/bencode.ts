// Strict bencode: one validating, offset-based scanner (`scan`) that records every value as a
// token on a flat tape, an object decoder (`decode`) that builds BValues from that tape, and a
// canonical encoder (`encode`). Pure: no I/O, no timers.
//
// Decoded byte strings are Uint8Array views that ALIAS the input buffer (zero copy): copy them
// (`slice()`) before keeping them if the input buffer may be reused.
import type { BDict, BEncodable, BValue, Result, WireError, WireErrorCode } from './types.js';

// ---------------------------------------------------------------------------------------------
// Tape layout: 4 int32 per token.
//   [0] kind (INT | STR | LIST | DICT), plus the UNSORTED flag on dicts whose keys are out of order
//   [1] INT: offset of the first digit or '-';  STR: payload start;  LIST/DICT: offset of 'l'/'d'
//   [2] INT: offset of the closing 'e';          STR: payload end;    LIST/DICT: offset after 'e'
//   [3] STR: offset of the length prefix (raw start);  LIST/DICT: index of the token after the
//       container (skip pointer);  INT: unused
// Dict children are stored as key token, value token(s), key token, ...
// ---------------------------------------------------------------------------------------------

export const INT = 0;
export const STR = 1;
export const LIST = 2;
export const DICT = 3;
/** Set on a dict token whose keys are not in ascending byte order (non-canonical). */
const UNSORTED = 8;
const KIND_MASK = 7;

const CH_D = 0x64;
const CH_L = 0x6c;
const CH_I = 0x69;
const CH_E = 0x65;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;

export interface ScanOptions {
  /** Deepest allowed container nesting; the root container is level 1. Default 16. */
  maxDepth?: number;
  /** Most tokens (values and keys) allowed. Default 1000. */
  maxTokens?: number;
  /** Longest allowed byte string. Default 8192 (datagram-sized). */
  maxStringLength?: number;
  /** Accept bytes after the root value (then `tape.rootEnd` tells where the root ended). Default false. */
  allowTrailing?: boolean;
}

const DEFAULT_MAX_DEPTH = 16;
const DEFAULT_MAX_TOKENS = 1000;
const DEFAULT_MAX_STRING = 8192;

const NO_OPTIONS: ScanOptions = {};

export function wireError(code: WireErrorCode, message: string): WireError {
  return { code, message };
}

/** The scanner's output: a flat list of tokens pointing into `buf`. Reusable across scans. */
export class Tape {
  buf: Uint8Array = new Uint8Array(0);
  /** Token storage, 4 int32 per token (see the layout above). */
  data: Int32Array;
  /** Number of tokens. Token 0 is the root value. */
  count = 0;
  /** Offset just after the root value. */
  rootEnd = 0;
  /** Number of dicts with keys out of order (0 means the input is canonical). */
  unsortedDicts = 0;
  // Scanner work areas, kept here so a scan allocates nothing.
  stack: Int32Array = new Int32Array(DEFAULT_MAX_DEPTH + 1);
  prevKey: Int32Array = new Int32Array(DEFAULT_MAX_DEPTH + 1);
  isDict: Uint8Array = new Uint8Array(DEFAULT_MAX_DEPTH + 1);

  constructor(initialTokens = 64) {
    this.data = new Int32Array(initialTokens * 4);
  }

  kind(i: number): number {
    return this.data[i * 4] & KIND_MASK;
  }
  /** Payload start (strings), first digit (ints), opening byte (containers). */
  start(i: number): number {
    return this.data[i * 4 + 1];
  }
  /** Payload end (strings), offset of 'e' (ints), offset after the closing 'e' (containers). */
  end(i: number): number {
    return this.data[i * 4 + 2];
  }
  /** Byte length of a string token's payload. */
  length(i: number): number {
    return this.data[i * 4 + 2] - this.data[i * 4 + 1];
  }
  /** Index of the token that follows value `i` (skips a container's children). */
  next(i: number): number {
    const k = this.data[i * 4] & KIND_MASK;
    return k >= LIST ? this.data[i * 4 + 3] : i + 1;
  }
  /** Start of the value's encoding, [rawStart, rawEnd) is exactly its bencoded bytes. */
  rawStart(i: number): number {
    const k = this.data[i * 4] & KIND_MASK;
    if (k === INT) return this.data[i * 4 + 1] - 1;
    if (k === STR) return this.data[i * 4 + 3];
    return this.data[i * 4 + 1];
  }
  rawEnd(i: number): number {
    return this.data[i * 4 + 2] + ((this.data[i * 4] & KIND_MASK) === INT ? 1 : 0);
  }
  /** The encoded bytes of value `i` (aliases the input). */
  raw(i: number): Uint8Array {
    return view(this.buf, this.rawStart(i), this.rawEnd(i));
  }
  /** A string token's payload (aliases the input). */
  bytes(i: number): Uint8Array {
    return view(this.buf, this.data[i * 4 + 1], this.data[i * 4 + 2]);
  }
  /** A string token's payload as latin1 (one char per byte). */
  latin1(i: number): string {
    return latin1(this.buf, this.data[i * 4 + 1], this.data[i * 4 + 2]);
  }
  /** An integer token's value: a number when safe, else a bigint. */
  int(i: number): number | bigint {
    return readInt(this.buf, this.data[i * 4 + 1], this.data[i * 4 + 2]);
  }
  /** True when no dict inside value `i` (inclusive) has keys out of order. */
  isCanonical(i: number): boolean {
    if (this.unsortedDicts === 0) return true;
    const stop = this.next(i);
    for (let j = i; j < stop; j++) if (this.data[j * 4] & UNSORTED) return false;
    return true;
  }
  /** The value token stored under `key` (latin1) in dict token `dict`, or -1. */
  find(dict: number, key: string): number {
    const d = this.data;
    if ((d[dict * 4] & KIND_MASK) !== DICT) return -1;
    const buf = this.buf;
    const stop = d[dict * 4 + 3];
    const klen = key.length;
    let j = dict + 1;
    while (j < stop) {
      const s = d[j * 4 + 1];
      if (d[j * 4 + 2] - s === klen) {
        let k = 0;
        while (k < klen && buf[s + k] === key.charCodeAt(k)) k++;
        if (k === klen) return j + 1;
      }
      const v = j + 1;
      j = (d[v * 4] & KIND_MASK) >= LIST ? d[v * 4 + 3] : v + 1;
    }
    return -1;
  }
}

const sharedTape = new Tape(256);

/** A Uint8Array view of buf[start, end) that shares its memory. */
export function view(buf: Uint8Array, start: number, end: number): Uint8Array {
  // A direct constructor call is cheaper than subarray() on a Buffer (no species lookup).
  return new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
}

const CHAR = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 1) return CHAR[buf[start]];
  if (n <= 24) {
    let s = '';
    for (let i = start; i < end; i++) s += CHAR[buf[i]];
    return s;
  }
  // Chunked: apply() with too many arguments would overflow the stack.
  let s = '';
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}

/**
 * Reads the integer whose digits (with an optional leading '-') span buf[start, end).
 * The scanner has already validated the syntax.
 */
export function readInt(buf: Uint8Array, start: number, end: number): number | bigint {
  if (end - start <= 15) {
    let i = start;
    let neg = false;
    if (buf[i] === CH_MINUS) {
      neg = true;
      i++;
    }
    let n = 0;
    for (; i < end; i++) n = n * 10 + (buf[i] - CH_0);
    return neg ? -n : n;
  }
  const big = BigInt(latin1(buf, start, end));
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return big <= max && big >= -max ? Number(big) : big;
}

function compareBytes(buf: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const al = ae - as;
  const bl = be - bs;
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const d = buf[as + i] - buf[bs + i];
    if (d !== 0) return d;
  }
  return al - bl;
}

/**
 * Validates `buf` as one bencoded value and records its tokens on `tape` (by default a shared
 * tape, valid until the next scan without an explicit tape). Returns null on success.
 * Never throws.
 */
export function scan(buf: Uint8Array, opts: ScanOptions = NO_OPTIONS, tape: Tape = sharedTape): WireError | null {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  const maxStr = opts.maxStringLength ?? DEFAULT_MAX_STRING;
  tape.buf = buf;
  tape.count = 0;
  tape.rootEnd = 0;
  tape.unsortedDicts = 0;
  const end = buf.length;
  if (end === 0) return wireError('empty', 'empty input');
  if (tape.stack.length <= maxDepth) {
    tape.stack = new Int32Array(maxDepth + 1);
    tape.prevKey = new Int32Array(maxDepth + 1);
    tape.isDict = new Uint8Array(maxDepth + 1);
  }
  // Every token starts at its own byte of input, so this capacity is never exceeded.
  const capacity = Math.min(maxTokens, end) + 1;
  if (tape.data.length < capacity * 4) tape.data = new Int32Array(Math.max(capacity, tape.data.length) * 4);
  const stack = tape.stack;
  const prevKey = tape.prevKey;
  const isDictAt = tape.isDict;
  const d = tape.data;
  let n = 0;
  let pos = 0;
  let depth = 0;
  // Inside a dict: true when the next item must be a key (or the closing 'e').
  let wantKey = false;
  let inDict = false;

  for (;;) {
    if (pos >= end) return wireError('truncated', `input ends inside a value at offset ${pos}`);
    const c = buf[pos];

    if (c === CH_E) {
      if (depth === 0) return wireError('syntax', `unexpected 'e' at offset ${pos}`);
      if (inDict && !wantKey) return wireError('syntax', `dict key without a value at offset ${pos}`);
      const tok = stack[depth - 1];
      d[tok * 4 + 2] = pos + 1;
      d[tok * 4 + 3] = n;
      pos++;
      if (d[tok * 4] & UNSORTED) {
        const dup = findDuplicateKey(tape, tok, n);
        if (dup >= 0) return wireError('duplicate_key', `duplicate dict key at offset ${dup}`);
      }
      depth--;
    } else {
      if (n >= maxTokens) return wireError('too_many_tokens', `more than ${maxTokens} tokens`);
      const o = n * 4;

      if (c >= CH_0 && c <= CH_9) {
        // Byte string: len ':' payload
        let p = pos + 1;
        let len = c - CH_0;
        if (c === CH_0) {
          if (p < end && buf[p] >= CH_0 && buf[p] <= CH_9) return wireError('syntax', `leading zero in a string length at offset ${pos}`);
        } else {
          while (p < end) {
            const ch = buf[p];
            if (ch < CH_0 || ch > CH_9) break;
            len = len * 10 + (ch - CH_0);
            if (len > end) return wireError('truncated', `string at offset ${pos} runs past the end`);
            p++;
          }
        }
        if (p >= end) return wireError('truncated', `string length at offset ${pos} runs past the end`);
        if (buf[p] !== CH_COLON) return wireError('syntax', `bad string length at offset ${pos}`);
        p++;
        if (len > end - p) return wireError('truncated', `string at offset ${pos} runs past the end`);
        if (len > maxStr) return wireError('too_long', `string of ${len} bytes at offset ${pos} (limit ${maxStr})`);
        d[o] = STR;
        d[o + 1] = p;
        d[o + 2] = p + len;
        d[o + 3] = pos;
        n++;
        if (wantKey) {
          // A dict key: check order against the previous key of this dict.
          const prev = prevKey[depth - 1];
          if (prev >= 0) {
            // Most keys differ from the previous one in their first byte.
            const ps = d[prev * 4 + 1];
            const cmp = len > 0 && ps < d[prev * 4 + 2] && buf[ps] !== buf[p] ? buf[ps] - buf[p] : compareBytes(buf, ps, d[prev * 4 + 2], p, p + len);
            if (cmp === 0) return wireError('duplicate_key', `duplicate dict key at offset ${pos}`);
            if (cmp > 0) {
              const dictTok = stack[depth - 1];
              if (!(d[dictTok * 4] & UNSORTED)) {
                d[dictTok * 4] |= UNSORTED;
                tape.unsortedDicts++;
              }
            }
          }
          prevKey[depth - 1] = o >> 2;
          pos = p + len;
          wantKey = false;
          continue;
        }
        pos = p + len;
      } else if (wantKey) {
        return wireError('syntax', `dict key is not a byte string at offset ${pos}`);
      } else if (c === CH_I) {
        let p = pos + 1;
        if (p < end && buf[p] === CH_MINUS) p++;
        const digits = p;
        if (p < end && buf[p] === CH_0) {
          p++;
          if (p < end && buf[p] !== CH_E) {
            return wireError('syntax', `leading zero in an integer at offset ${pos}`);
          }
          if (digits !== pos + 1) return wireError('syntax', `negative zero at offset ${pos}`);
        } else {
          while (p < end && buf[p] >= CH_0 && buf[p] <= CH_9) p++;
        }
        if (p >= end) return wireError('truncated', `integer at offset ${pos} runs past the end`);
        if (p === digits || buf[p] !== CH_E) return wireError('syntax', `bad integer at offset ${pos}`);
        d[o] = INT;
        d[o + 1] = pos + 1;
        d[o + 2] = p;
        d[o + 3] = 0;
        n++;
        pos = p + 1;
      } else if (c === CH_L || c === CH_D) {
        if (depth >= maxDepth) return wireError('too_deep', `nesting deeper than ${maxDepth} at offset ${pos}`);
        const isDict = c === CH_D;
        d[o] = isDict ? DICT : LIST;
        d[o + 1] = pos;
        d[o + 2] = 0;
        d[o + 3] = 0;
        stack[depth] = n;
        prevKey[depth] = -1;
        isDictAt[depth] = isDict ? 1 : 0;
        depth++;
        n++;
        pos++;
        inDict = isDict;
        wantKey = isDict;
        continue;
      } else {
        return wireError('syntax', `unexpected byte 0x${c.toString(16).padStart(2, '0')} at offset ${pos}`);
      }
    }

    // A value is complete (scalar, or a container just closed).
    if (depth === 0) break;
    inDict = isDictAt[depth - 1] === 1;
    wantKey = inDict;
  }

  tape.count = n;
  tape.rootEnd = pos;
  if (pos !== end && !opts.allowTrailing) return wireError('trailing', `${end - pos} bytes after the root value`);
  return null;
}

/** Full duplicate check for a dict whose keys arrived out of order. Returns an offset or -1. */
function findDuplicateKey(tape: Tape, dict: number, stop: number): number {
  const d = tape.data;
  const buf = tape.buf;
  const keys: number[] = [];
  let j = dict + 1;
  while (j < stop) {
    keys.push(j);
    j = tape.next(j + 1);
  }
  keys.sort((a, b) => compareBytes(buf, d[a * 4 + 1], d[a * 4 + 2], d[b * 4 + 1], d[b * 4 + 2]));
  for (let k = 1; k < keys.length; k++) {
    const a = keys[k - 1];
    const b = keys[k];
    if (compareBytes(buf, d[a * 4 + 1], d[a * 4 + 2], d[b * 4 + 1], d[b * 4 + 2]) === 0) return d[b * 4 + 3];
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Object view, built from the tape.
// ---------------------------------------------------------------------------------------------

// Keys seen in KRPC traffic, interned so building a dict does not create a new string per key.
const KNOWN_KEYS = [
  'a', 'e', 'q', 'r', 't', 'v', 'y', 'k', 'p',
  'id', 'ip', 'ro',
  'cas', 'num', 'seq', 'sig',
  'BFpe', 'BFsd', 'BFse', 'salt', 'want',
  'nodes', 'token',
  'nodes6', 'target', 'values', 'noseed', 'scrape',
  'samples',
  'interval',
  'info_hash',
  'implied_port',
];
const KEYS_BY_LENGTH: string[][] = [];
for (const k of KNOWN_KEYS) (KEYS_BY_LENGTH[k.length] ??= []).push(k);

/** A dict key as latin1, returning an interned string for common KRPC keys. */
function keyString(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 1) return CHAR[buf[start]];
  const candidates = KEYS_BY_LENGTH[len];
  if (candidates !== undefined) {
    for (let c = 0; c < candidates.length; c++) {
      const k = candidates[c];
      let i = 0;
      while (i < len && buf[start + i] === k.charCodeAt(i)) i++;
      if (i === len) return k;
    }
  }
  return latin1(buf, start, end);
}

// Build state, module-level so the recursion passes no extra arguments. Reading buf.buffer and
// buf.byteOffset once per build (not once per string) is measurably faster.
let cursor = 0;
let backing: ArrayBufferLike = new ArrayBuffer(0);
let base = 0;

/** Builds the BValue of token `i` from a scanned tape. Byte strings alias the tape's input. */
export function buildValue(tape: Tape, i: number): BValue {
  return buildValueIn(tape, i, tape.buf.buffer, tape.buf.byteOffset);
}

/** buildValue for a caller that already holds tape.buf.buffer and tape.buf.byteOffset. */
export function buildValueIn(tape: Tape, i: number, buffer: ArrayBufferLike, byteOffset: number): BValue {
  backing = buffer;
  base = byteOffset;
  return build(tape.data, tape.buf, i);
}

function build(d: Int32Array, buf: Uint8Array, i: number): BValue {
  const o = i * 4;
  const k = d[o] & KIND_MASK;
  if (k === STR) {
    cursor = i + 1;
    return new Uint8Array(backing, base + d[o + 1], d[o + 2] - d[o + 1]);
  }
  if (k === INT) {
    cursor = i + 1;
    return readInt(buf, d[o + 1], d[o + 2]);
  }
  const stop = d[o + 3];
  let j = i + 1;
  if (k === LIST) {
    const list: BValue[] = [];
    while (j < stop) {
      list.push(build(d, buf, j));
      j = cursor;
    }
    cursor = stop;
    return list;
  }
  const dict: BDict = {};
  while (j < stop) {
    const key = keyString(buf, d[j * 4 + 1], d[j * 4 + 2]);
    const value = build(d, buf, j + 1);
    if (key === '__proto__') setKey(dict, key, value);
    else dict[key] = value;
    j = cursor;
  }
  cursor = stop;
  return dict;
}

/** Stores a decoded entry; '__proto__' must become an own property, not the prototype. */
export function setKey(dict: BDict, key: string, value: BValue): void {
  if (key === '__proto__') Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
  else dict[key] = value;
}

/**
 * Decodes one bencoded value. Strict: see `scan`. Byte strings alias `buf`.
 * Never throws.
 */
export function decode(buf: Uint8Array, opts?: ScanOptions): Result<BValue, WireError> {
  const err = scan(buf, opts, sharedTape);
  if (err !== null) return { ok: false, error: err };
  return { ok: true, value: buildValue(sharedTape, 0) };
}

// ---------------------------------------------------------------------------------------------
// Canonical encoder.
//
// Dict keys are byte strings written as latin1: each char code (0..255) is one byte, which is
// how the decoder reads them, so decode → encode round-trips byte for byte. A key with a char
// above 0xFF is a programming error and throws. Keys are sorted by their bytes (for latin1 keys
// that is plain UTF-16 code unit order). String VALUES are written as UTF-8.
// ---------------------------------------------------------------------------------------------

// Work lists filled by the sizing pass and consumed in the same order by the writing pass.
let sortedKeys: string[][] = [];
let keyCursor = 0;

/** Encodes a value in canonical bencode. Throws on values that cannot be encoded. */
export function encode(value: BEncodable): Uint8Array {
  sortedKeys = [];
  const size = sizeOf(value);
  const out = new Uint8Array(size);
  keyCursor = 0;
  const end = write(out, 0, value);
  sortedKeys = [];
  if (end !== size) throw new Error(`bencode: size mismatch (${end} vs ${size})`);
  return out;
}

function digitsOf(n: number): number {
  let len = n < 0 ? 2 : 1;
  let a = n < 0 ? -n : n;
  while (a >= 10) {
    a = Math.floor(a / 10);
    len++;
  }
  return len;
}

function utf8Length(s: string): number {
  let len = s.length;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  }
  return len;
}

function sizeOf(v: BEncodable): number {
  if (v instanceof Uint8Array) return digitsOf(v.length) + 1 + v.length;
  if (ArrayBuffer.isView(v)) throw new TypeError('bencode: only Uint8Array byte strings can be encoded');
  switch (typeof v) {
    case 'string': {
      const n = utf8Length(v);
      return digitsOf(n) + 1 + n;
    }
    case 'number':
      if (!Number.isInteger(v)) throw new TypeError(`bencode: cannot encode non-integer number ${v}`);
      return Number.isSafeInteger(v) ? digitsOf(v) + 2 : BigInt(v).toString().length + 2;
    case 'bigint':
      return v.toString().length + 2;
    case 'object': {
      if (Array.isArray(v)) {
        let size = 2;
        for (let i = 0; i < v.length; i++) {
          if (v[i] === undefined) throw new TypeError('bencode: cannot encode undefined in a list');
          size += sizeOf(v[i]);
        }
        return size;
      }
      if (v === null) break;
      const dict = v as { [key: string]: BEncodable | undefined };
      const keys = Object.keys(dict);
      const present: string[] = [];
      for (let i = 0; i < keys.length; i++) if (dict[keys[i]] !== undefined) present.push(keys[i]);
      present.sort();
      sortedKeys.push(present);
      let size = 2;
      for (let i = 0; i < present.length; i++) {
        const key = present[i];
        for (let c = 0; c < key.length; c++) {
          if (key.charCodeAt(c) > 0xff) throw new TypeError(`bencode: dict key ${JSON.stringify(key)} is not latin1`);
        }
        size += digitsOf(key.length) + 1 + key.length + sizeOf(dict[key] as BEncodable);
      }
      return size;
    }
  }
  throw new TypeError(`bencode: cannot encode ${v === null ? 'null' : typeof v}`);
}

function writeDigits(out: Uint8Array, pos: number, n: number): number {
  if (n < 0) {
    out[pos++] = CH_MINUS;
    n = -n;
  }
  if (n < 10) {
    out[pos] = CH_0 + n;
    return pos + 1;
  }
  const len = digitsOf(n);
  let p = pos + len - 1;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    out[p--] = CH_0 + (n - q * 10);
    n = q;
  }
  out[p] = CH_0 + n;
  return pos + len;
}

function writeAscii(out: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}

const utf8Encoder = new TextEncoder();

function write(out: Uint8Array, pos: number, v: BEncodable): number {
  if (v instanceof Uint8Array) {
    pos = writeDigits(out, pos, v.length);
    out[pos++] = CH_COLON;
    out.set(v, pos);
    return pos + v.length;
  }
  switch (typeof v) {
    case 'string': {
      const n = utf8Length(v);
      pos = writeDigits(out, pos, n);
      out[pos++] = CH_COLON;
      if (n === v.length) return writeAscii(out, pos, v);
      utf8Encoder.encodeInto(v, out.subarray(pos, pos + n));
      return pos + n;
    }
    case 'number':
      out[pos++] = CH_I;
      pos = Number.isSafeInteger(v) ? writeDigits(out, pos, v) : writeAscii(out, pos, BigInt(v).toString());
      out[pos++] = CH_E;
      return pos;
    case 'bigint':
      out[pos++] = CH_I;
      pos = writeAscii(out, pos, v.toString());
      out[pos++] = CH_E;
      return pos;
    default: {
      if (Array.isArray(v)) {
        out[pos++] = CH_L;
        for (let i = 0; i < v.length; i++) pos = write(out, pos, v[i]);
        out[pos++] = CH_E;
        return pos;
      }
      const dict = v as { [key: string]: BEncodable | undefined };
      const keys = sortedKeys[keyCursor++];
      out[pos++] = CH_D;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        pos = writeDigits(out, pos, key.length);
        out[pos++] = CH_COLON;
        pos = writeAscii(out, pos, key);
        pos = write(out, pos, dict[key] as BEncodable);
      }
      out[pos++] = CH_E;
      return pos;
    }
  }
}
