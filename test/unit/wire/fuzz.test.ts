// Seeded mutation fuzzing of the wire layer. Valid KRPC datagrams of every kind are mutated
// (byte flips, bencode-significant bytes, truncations, insertions, deletions, splices, length
// tweaks) and every result must:
//   - decode without throwing (decodeMessage, scanKrpc, decode);
//   - give the same verdict and the same fields through the hot-path view and decodeMessage;
//   - be accepted by our bencode decoder exactly when a naive reference decoder accepts it,
//     with equal values;
//   - re-encode byte for byte when it is canonical.
// FUZZ_ITERATIONS sets the number of mutated inputs (default 100000; `npm run fuzz` runs more).
import { describe, expect, it } from 'vitest';
import { Tape, decode, encode, scan } from '../../../src/core/wire/bencode.js';
import { encodeNodes, encodePeer } from '../../../src/core/wire/compact.js';
import { decodeMessage, encodeError, encodeQuery, encodeResponse } from '../../../src/core/wire/krpc-codec.js';
import { DATAGRAM_SCAN, F, KrpcView, errorParts, scanKrpc } from '../../../src/core/wire/krpc-view.js';
import type { BDict, BValue, KrpcMessage, NodeInfo } from '../../../src/core/wire/types.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x6b727063);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = mulberry32(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
const pick = <T>(xs: ArrayLike<T>): T => xs[int(xs.length)];
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ----- corpus: valid datagrams of every kind ----------------------------------------------------

function corpus(): Uint8Array[] {
  const id = bytes(20);
  const target = bytes(20);
  const t = bytes(4);
  const nodes = (n: number, family: 4 | 6): NodeInfo[] =>
    Array.from({ length: n }, (_, i) => ({
      id: bytes(20),
      host: family === 4 ? `${1 + i}.${int(256)}.${int(256)}.${int(256)}` : `2001:db8::${(i + 1).toString(16)}`,
      port: int(65536),
      family,
    }));
  const v = { v: latin1('LT\x02\x08') };
  return [
    encodeQuery(t, 'ping', { id }, v),
    encodeQuery(t, 'find_node', { id, target, want: ['n4', 'n6'] }, { ro: true }),
    encodeQuery(t, 'get_peers', { id, info_hash: target, noseed: 1, scrape: 1 }),
    encodeQuery(t, 'announce_peer', { id, info_hash: target, port: 6881, token: bytes(4), implied_port: 1, seed: 0 }),
    encodeQuery(t, 'sample_infohashes', { id, target }),
    encodeQuery(t, 'get', { id, target, seq: 5 }),
    encodeQuery(t, 'put', { id, token: bytes(4), v: latin1('Hello World!') }),
    encodeQuery(t, 'put', { id, token: bytes(4), v: { a: [1, latin1('x')], b: { c: -2 } }, k: bytes(32), sig: bytes(64), seq: 1, cas: 0, salt: latin1('foobar') }),
    encodeQuery(t, 'vote', { id, target, vote: 2 }),
    encodeResponse(t, { id, nodes: encodeNodes(nodes(8, 4)) }, { ip: { host: '203.0.113.7', port: 4000, family: 4 }, v: v.v }),
    encodeResponse(t, { id, nodes6: encodeNodes(nodes(3, 6)), nodes: encodeNodes(nodes(2, 4)) }, { ip: encodePeer({ host: '2001:db8::7', port: 1, family: 6 }) }),
    encodeResponse(t, {
      id,
      token: bytes(4),
      values: [encodePeer({ host: '10.0.0.1', port: 1, family: 4 }), encodePeer({ host: '2001:db8::2', port: 2, family: 6 })],
      nodes: encodeNodes(nodes(2, 4)),
      BFsd: bytes(256),
      BFpe: bytes(256),
    }),
    encodeResponse(t, { id, token: bytes(4), values: latin1('\x01\x02\x03\x04\x00\x50') }),
    encodeResponse(t, { id, interval: 21600, num: 95, samples: bytes(60), nodes: encodeNodes(nodes(2, 4)) }),
    encodeResponse(t, { id, token: bytes(4), v: { x: [1, 2] }, k: bytes(32), sig: bytes(64), seq: 7, nodes: encodeNodes(nodes(1, 4)) }),
    encodeError(t, 203, 'Protocol Error'),
    latin1('d1:e14:Protocol Error1:t2:aa1:y1:ee'),
  ];
}

// ----- mutations ----------------------------------------------------------------------------

const SIGNIFICANT = latin1('dlie:0123456789-+');
const SNIPPETS = ['e', 'i0e', 'i-0e', 'i03e', '0:', '1:', '20:', '26:', '999:', 'le', 'de', 'd1:ai1ee', 'l', 'd', '2:id', '1:y1:q', '1:y1:r', '5:nodes', '9:info_hash', 'i65536e', 'i-1e', 'i99999999999999999999e'].map(latin1);

function mutate(src: Uint8Array, all: Uint8Array[]): Uint8Array {
  let b: Uint8Array = src.slice();
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    const at = int(b.length + 1);
    switch (int(9)) {
      case 0: // random byte
        if (b.length > 0) b[int(b.length)] = int(256);
        break;
      case 1: // bencode-significant byte
        if (b.length > 0) b[int(b.length)] = pick(SIGNIFICANT);
        break;
      case 2: // truncate
        b = b.subarray(0, int(b.length + 1));
        break;
      case 3: // insert random bytes
        b = concat(b.subarray(0, at), bytes(1 + int(4)), b.subarray(at));
        break;
      case 4: // insert a bencode snippet
        b = concat(b.subarray(0, at), pick(SNIPPETS), b.subarray(at));
        break;
      case 5: {
        // delete a range
        const len = 1 + int(8);
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + len)));
        break;
      }
      case 6: {
        // duplicate a range
        const len = 1 + int(30);
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        break;
      }
      case 7: {
        // splice the tail of another message
        const other = pick(all);
        b = concat(b.subarray(0, at), other.subarray(int(other.length)));
        break;
      }
      case 8: {
        // nudge a digit (string lengths, integers)
        const digits: number[] = [];
        for (let i = 0; i < b.length; i++) if (b[i] >= 0x30 && b[i] <= 0x39) digits.push(i);
        if (digits.length > 0) {
          const i = pick(digits);
          b[i] = 0x30 + ((b[i] - 0x30 + (rand() < 0.5 ? 1 : 9)) % 10);
        }
        break;
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ----- a naive reference decoder, to check the scanner's verdicts ------------------------------

// Not an Error: capturing a stack trace per rejected input would dominate the run time.
class RefError {
  constructor(readonly message: string) {}
}

function referenceDecode(buf: Uint8Array): BValue | RefError {
  const s = Buffer.from(buf).toString('latin1');
  let pos = 0;
  let tokens = 0;
  const token = () => {
    if (++tokens > 1000) throw new RefError('tokens');
  };
  const str = (): [string, number] => {
    const colon = s.indexOf(':', pos);
    if (colon < 0) throw new RefError('no colon');
    const digits = s.slice(pos, colon);
    if (!/^(0|[1-9][0-9]*)$/.test(digits) || digits.length > 9) throw new RefError('length');
    const len = Number(digits);
    if (colon + 1 + len > s.length || len > 8192) throw new RefError('too long');
    pos = colon + 1 + len;
    token();
    return [s, colon + 1];
  };
  const value = (depth: number): BValue => {
    const c = s[pos];
    if (c === undefined) throw new RefError('eof');
    if (c === 'i') {
      const end = s.indexOf('e', pos);
      if (end < 0) throw new RefError('eof');
      const digits = s.slice(pos + 1, end);
      if (!/^(0|-?[1-9][0-9]*)$/.test(digits)) throw new RefError('int');
      pos = end + 1;
      token();
      const big = BigInt(digits);
      return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    if (c >= '0' && c <= '9') {
      const start = str()[1];
      return buf.slice(start, pos);
    }
    if (c === 'l' || c === 'd') {
      if (depth >= 16) throw new RefError('depth');
      token();
      pos++;
      if (c === 'l') {
        const list: BValue[] = [];
        while (s[pos] !== 'e') list.push(value(depth + 1));
        pos++;
        return list;
      }
      const dict: BDict = {};
      const seen = new Set<string>();
      while (s[pos] !== 'e') {
        if (s[pos] === undefined || !(s[pos] >= '0' && s[pos] <= '9')) throw new RefError('key');
        const start = str()[1];
        const key = s.slice(start, pos);
        if (seen.has(key)) throw new RefError('duplicate');
        seen.add(key);
        const v = value(depth + 1);
        if (key === '__proto__') Object.defineProperty(dict, key, { value: v, enumerable: true, writable: true, configurable: true });
        else dict[key] = v;
      }
      pos++;
      return dict;
    }
    throw new RefError('byte');
  };
  try {
    if (s.length === 0) throw new RefError('empty');
    const v = value(0);
    if (pos !== s.length) throw new RefError('trailing');
    return v;
  } catch (e) {
    if (e instanceof RefError) return e;
    throw e;
  }
}

function same(a: BValue | undefined, b: BValue | undefined): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
}

// ----- the agreement checks ---------------------------------------------------------------------

function fail(input: Uint8Array, why: string): never {
  throw new Error(`${why}\n  input (hex): ${hex(input)}`);
}

const view = new KrpcView();
const tape = new Tape();

function bytesAt(v: KrpcView, field: number): Uint8Array | undefined {
  return v.has(field) ? v.bytes(field) : undefined;
}

/** Every field the view exposes must match what decodeMessage built from the same datagram. */
function checkAgreement(input: Uint8Array, m: KrpcMessage): void {
  const eq = (a: Uint8Array | undefined, b: Uint8Array | undefined, what: string) => {
    if (!same(a, b)) fail(input, `view and decodeMessage disagree on ${what}`);
  };
  eq(bytesAt(view, F.t), m.t, 't');
  if (String.fromCharCode(view.y) !== m.y) fail(input, 'y differs');
  eq(bytesAt(view, F.version), m.v, 'v');
  if (view.has(F.ip) !== (m.ip !== undefined)) fail(input, 'ip presence differs');
  if (m.y === 'q') {
    if (view.method !== m.q) fail(input, 'method differs');
    const a = m.a;
    eq(bytesAt(view, F.id), a.id, 'a.id');
    eq(bytesAt(view, F.target), a.target, 'a.target');
    eq(bytesAt(view, F.info_hash), a.info_hash, 'a.info_hash');
    eq(bytesAt(view, F.token), a.token, 'a.token');
    eq(bytesAt(view, F.salt), a.salt, 'a.salt');
    eq(bytesAt(view, F.k), a.k, 'a.k');
    eq(bytesAt(view, F.sig), a.sig, 'a.sig');
    if (view.int(F.port) !== a.port) fail(input, 'port differs');
    if (view.has(F.implied_port) && view.flag(F.implied_port) !== a.implied_port) fail(input, 'implied_port differs');
    if (view.has(F.v) !== (a.v_raw !== undefined)) fail(input, 'v presence differs');
    if (a.v_raw && (view.tape.rawStart(view.f[F.v]) !== a.v_raw.byteOffset - input.byteOffset || !tape)) fail(input, 'v_raw range differs');
    if (a.seq !== undefined && BigInt(view.int(F.seq)!) !== a.seq) fail(input, 'seq differs');
    if (a.want && !a.want.every((w) => view.wants(w))) fail(input, 'want differs');
    if (!same(a.id, m.rawArgs.id)) fail(input, 'rawArgs.id differs');
  } else if (m.y === 'r') {
    const r = m.r;
    eq(bytesAt(view, F.id), r.id, 'r.id');
    eq(bytesAt(view, F.token), r.token, 'r.token');
    eq(bytesAt(view, F.k), r.k, 'r.k');
    if ((view.has(F.nodes) ? Math.floor(view.length(F.nodes) / 26) : undefined) !== r.nodes?.length) fail(input, 'nodes count differs');
    if ((view.has(F.nodes6) ? Math.floor(view.length(F.nodes6) / 38) : undefined) !== r.nodes6?.length) fail(input, 'nodes6 count differs');
    if ((view.has(F.samples) ? view.length(F.samples) / 20 : undefined) !== r.samples?.length) fail(input, 'samples count differs');
    if (view.int(F.num) !== r.num || view.int(F.interval) !== r.interval) fail(input, 'num/interval differ');
    if (view.has(F.values) !== (r.values !== undefined)) fail(input, 'values presence differs');
    if (r.nodes) for (const n of r.nodes) if (n.id.length !== 20 || n.port < 0 || n.port > 65535) fail(input, 'bad node');
    if (r.values) for (const p of r.values) if (p.family !== 4 && p.family !== 6) fail(input, 'bad peer');
  } else {
    const parts = errorParts(view);
    if (parts.code !== m.code || parts.message.length > Buffer.byteLength(m.message) * 3) fail(input, 'error code/message differ');
  }
}

/** The typed fields against the plain object tree, which the reference decoder vouches for. */
function checkTyped(input: Uint8Array, m: KrpcMessage, raw: BDict): void {
  if (!same(m.t, raw.t)) fail(input, 't differs from the plain decode');
  const str = (d: BValue | undefined, key: string, len?: number): Uint8Array | undefined => {
    const x = d !== undefined && typeof d === 'object' && !(d instanceof Uint8Array) && !Array.isArray(d) ? d[key] : undefined;
    return x instanceof Uint8Array && (len === undefined || x.length === len) ? x : undefined;
  };
  if (m.y === 'q') {
    if (!same(m.a.id, str(raw.a, 'id', 20))) fail(input, 'a.id differs from the plain decode');
    for (const key of ['target', 'info_hash'] as const) {
      if (m.a[key] !== undefined && !same(m.a[key], str(raw.a, key, 20))) fail(input, `a.${key} differs from the plain decode`);
    }
    if (m.a.port !== undefined && m.a.port !== (raw.a as BDict).port) fail(input, 'a.port differs from the plain decode');
  } else if (m.y === 'r') {
    if (!same(m.r.id, str(raw.r, 'id', 20))) fail(input, 'r.id differs from the plain decode');
    for (const [key, size] of [['nodes', 26], ['nodes6', 38]] as const) {
      const packed = str(raw.r, key);
      const list = m.r[key];
      if ((packed === undefined) !== (list === undefined)) fail(input, `${key} presence differs from the plain decode`);
      if (packed && list) {
        if (list.length !== Math.floor(packed.length / size)) fail(input, `${key} count differs from the plain decode`);
        list.forEach((n, i) => {
          if (!same(n.id, packed.subarray(i * size, i * size + 20))) fail(input, `${key}[${i}].id differs`);
          if (n.port !== ((packed[i * size + size - 2] << 8) | packed[i * size + size - 1])) fail(input, `${key}[${i}].port differs`);
        });
      }
    }
    const samples = str(raw.r, 'samples');
    if (m.r.samples && !same(m.r.samples[0], samples?.subarray(0, 20))) fail(input, 'samples differ from the plain decode');
  }
}

function checkOne(input: Uint8Array): void {
  let res: ReturnType<typeof decodeMessage>;
  try {
    res = decodeMessage(input);
    scanKrpc(input, view);
  } catch (e) {
    fail(input, `threw: ${(e as Error).stack}`);
  }
  // Verdicts agree.
  if (res.ok !== (view.error === null)) fail(input, `verdicts differ: decodeMessage ok=${res.ok}, view error=${view.error?.code}`);
  if (!res.ok && res.error.code !== view.error?.code) fail(input, `error codes differ: ${res.error.code} vs ${view.error?.code}`);
  if (!res.ok && res.error.krpcCode !== undefined && (res.error.y !== 'q' || !res.error.t)) fail(input, 'answerable error without t / y=q');
  if (res.ok) checkAgreement(input, res.value);

  // The bencode layer against the reference decoder.
  const ours = decode(input, DATAGRAM_SCAN);
  const ref = referenceDecode(input);
  if (ours.ok === ref instanceof RefError) {
    fail(input, `bencode verdicts differ: ours ${ours.ok ? 'ok' : ours.error.code}, reference ${ref instanceof RefError ? ref.message : 'ok'}`);
  }
  if (ours.ok) {
    if (!same(ours.value, ref as BValue)) fail(input, 'decoded values differ from the reference');
    if (res.ok) {
      const raw = ours.value as BDict;
      const m = res.value;
      if (m.y === 'q' && !same(m.rawArgs, raw.a)) fail(input, 'rawArgs differs from the plain decode');
      if (m.y === 'r' && !same(m.rawBody, raw.r)) fail(input, 'rawBody differs from the plain decode');
      checkTyped(input, m, raw);
    }
    // Canonical input re-encodes byte for byte.
    if (scan(input, DATAGRAM_SCAN, tape) !== null) fail(input, 'scan disagrees with decode');
    if (tape.isCanonical(0) && !Buffer.from(encode(ours.value)).equals(input)) fail(input, 'canonical input did not re-encode byte for byte');
  } else if (res.ok) {
    fail(input, 'decodeMessage accepted what the bencode decoder rejected');
  }
}

describe('wire fuzz', () => {
  const base = corpus();

  it('accepts every unmutated corpus message', () => {
    for (const m of base) {
      const res = decodeMessage(m);
      expect(res.ok, res.ok ? '' : res.error.message).toBe(true);
      checkOne(m);
    }
  });

  it(`survives ${ITERATIONS} mutated datagrams, and its two views agree`, () => {
    let accepted = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(pick(base), base);
      checkOne(input);
      if (view.error === null) accepted++;
    }
    // The mutations must leave a fair share valid, or the agreement checks test nothing.
    expect(accepted).toBeGreaterThan(ITERATIONS * 0.05);
    expect(accepted).toBeLessThan(ITERATIONS * 0.9);
  }, Math.max(120_000, (ITERATIONS / 100_000) * 60_000));
});
