// The KRPC hot path: one scan of a datagram, then the envelope and the fields of `a` / `r` are
// located and validated by offset, without building objects. `decodeMessage` (krpc-codec.ts) builds
// its objects from this same view, so the two readings cannot disagree.
import { DICT, INT, LIST, STR, Tape, scan, type ScanOptions } from './bencode.js';
import { ID_LENGTH, NODE4_LENGTH, NODE6_LENGTH, PEER4_LENGTH, PEER6_LENGTH } from './compact.js';
import type { WireError, WireErrorCode } from './types.js';

/** Limits for one KRPC datagram. */
export const DATAGRAM_SCAN: ScanOptions = { maxDepth: 16, maxTokens: 1000, maxStringLength: 8192 };
/** Longest transaction id accepted (LT sends 2 bytes, JC 4, ML 6). */
export const MAX_T_LENGTH = 32;
/** Longest method name accepted. */
const MAX_METHOD_LENGTH = 64;
/** Longest write token accepted (LT / ML use 4 bytes, JC 8). */
export const MAX_TOKEN_LENGTH = 64;
/** BEP 44 limits. */
export const MAX_SALT_LENGTH = 64;
export const MAX_V_LENGTH = 1000;
/** BEP 33 bloom filter size. */
export const BLOOM_LENGTH = 256;
/** Most `want` entries read from a query. */
export const MAX_WANT = 16;
/** 2^63 - 1: `seq` and `cas` are int64 on every implementation. */
export const MAX_SEQ = 0x7fffffffffffffffn;

/** Slots of `KrpcView.f`: the token index of each field, or -1 when absent (or ignored). */
export const F = {
  // envelope
  t: 0,
  y: 1,
  q: 2,
  a: 3,
  r: 4,
  e: 5,
  /** the envelope's client tag `v` */
  version: 6,
  ip: 7,
  ro: 8,
  // inside `a` (queries) or `r` (responses)
  id: 9,
  target: 10,
  info_hash: 11,
  token: 12,
  port: 13,
  implied_port: 14,
  seed: 15,
  noseed: 16,
  scrape: 17,
  want: 18,
  nodes: 19,
  nodes6: 20,
  values: 21,
  samples: 22,
  num: 23,
  interval: 24,
  BFsd: 25,
  BFse: 26,
  BFpe: 27,
  /** BEP 44 value `v` inside `a` / `r` */
  v: 28,
  k: 29,
  sig: 30,
  seq: 31,
  cas: 32,
  salt: 33,
} as const;
const FIELD_COUNT = 34;

/** Bits of `KrpcView.warn`: lenient readings a caller may count or log. */
export const W = {
  NODES_RAGGED: 1 << 0,
  NODES_BAD_TYPE: 1 << 1,
  NODES6_RAGGED: 1 << 2,
  NODES6_BAD_TYPE: 1 << 3,
  VALUES_SKIPPED: 1 << 4,
  VALUES_LEGACY_STRING: 1 << 5,
  VALUES_BAD: 1 << 6,
  TOKEN_BAD: 1 << 7,
  SAMPLES_BAD: 1 << 8,
  NUM_BAD: 1 << 9,
  INTERVAL_BAD: 1 << 10,
  BLOOM_BAD: 1 << 11,
  V_NOT_CANONICAL: 1 << 12,
  K_BAD: 1 << 13,
  SIG_BAD: 1 << 14,
  SEQ_BAD: 1 << 15,
  IP_ODD_LENGTH: 1 << 16,
  IP_BAD: 1 << 17,
  VERSION_BAD: 1 << 18,
  RO_BAD: 1 << 19,
  ERROR_SHAPE: 1 << 20,
} as const;

const WARNING_TEXT: ReadonlyArray<readonly [number, string]> = [
  [W.NODES_RAGGED, 'nodes: length not a multiple of 26, tail ignored'],
  [W.NODES_BAD_TYPE, 'nodes: not a string, ignored'],
  [W.NODES6_RAGGED, 'nodes6: length not a multiple of 38, tail ignored'],
  [W.NODES6_BAD_TYPE, 'nodes6: not a string, ignored'],
  [W.VALUES_SKIPPED, 'values: entries that are not 6 or 18 byte strings skipped'],
  [W.VALUES_LEGACY_STRING, 'values: read from a single string of 6-byte peers'],
  [W.VALUES_BAD, 'values: neither a list nor a string of 6-byte peers, ignored'],
  [W.TOKEN_BAD, 'token: not a string of at most 64 bytes, ignored'],
  [W.SAMPLES_BAD, 'samples: not a string whose length is a multiple of 20, ignored'],
  [W.NUM_BAD, 'num: not an integer, ignored'],
  [W.INTERVAL_BAD, 'interval: not an integer, ignored'],
  [W.BLOOM_BAD, 'BFsd/BFse/BFpe: not a 256-byte string, ignored'],
  [W.V_NOT_CANONICAL, 'v: not canonical bencode, ignored'],
  [W.K_BAD, 'k: not a 32-byte string, ignored'],
  [W.SIG_BAD, 'sig: not a 64-byte string, ignored'],
  [W.SEQ_BAD, 'seq: not an integer in 0..2^63-1, ignored'],
  [W.IP_ODD_LENGTH, 'ip: length neither 6 nor 18, read leniently'],
  [W.IP_BAD, 'ip: not a string of at least 6 bytes, ignored'],
  [W.VERSION_BAD, 'v: client tag is not a string, ignored'],
  [W.RO_BAD, 'ro: not an integer, ignored'],
  [W.ERROR_SHAPE, 'e: not a [code, message] list, read leniently'],
];

export function warningTexts(bits: number): string[] {
  const out: string[] = [];
  for (const [bit, text] of WARNING_TEXT) if (bits & bit) out.push(text);
  return out;
}

const Y_QUERY = 0x71;
const Y_RESPONSE = 0x72;
const Y_ERROR = 0x65;

/** The fields of `a` each method takes (the others are ignored). */
const METHOD_FIELDS: Record<string, readonly number[]> = {
  ping: [F.id],
  find_node: [F.id, F.target, F.want],
  get_peers: [F.id, F.info_hash, F.want, F.noseed, F.scrape],
  announce_peer: [F.id, F.info_hash, F.token, F.port, F.implied_port, F.seed],
  sample_infohashes: [F.id, F.target, F.want],
  get: [F.id, F.target, F.want, F.seq],
  put: [F.id, F.token, F.v, F.k, F.sig, F.seq, F.cas, F.salt],
};
const UNKNOWN_METHOD_FIELDS: readonly number[] = [F.id, F.target, F.info_hash, F.want];
const KNOWN_METHODS = Object.keys(METHOD_FIELDS);

/**
 * A scanned and validated KRPC datagram, read by offsets. Check `error` first. Backed by a tape
 * that the next `scanKrpc` into the same view overwrites; byte views alias the datagram.
 */
export class KrpcView {
  readonly tape: Tape;
  buf: Uint8Array = new Uint8Array(0);
  error: WireError | null = null;
  /** Token index per field (see `F`), -1 when absent or ignored as invalid. */
  readonly f = new Int32Array(FIELD_COUNT).fill(-1);
  /** The fields set by the last scan, so the next scan resets only those. */
  readonly setFields = new Int32Array(FIELD_COUNT);
  setCount = 0;
  /** 'q', 'r' or 'e' as a char code (0 before y is known). */
  y = 0;
  /** The query's method name ('' unless y is 'q'); interned for the known methods. */
  method = '';
  /** True when the method is one of the known ones (else the responder answers 204). */
  knownMethod = false;
  /** Warning bits (see `W`). */
  warn = 0;

  constructor(tape: Tape = new Tape(128)) {
    this.tape = tape;
  }

  has(field: number): boolean {
    return this.f[field] >= 0;
  }
  /** The string payload of a field, aliasing the datagram, or undefined. */
  bytes(field: number): Uint8Array | undefined {
    const tok = this.f[field];
    return tok >= 0 && this.tape.kind(tok) === STR ? this.tape.bytes(tok) : undefined;
  }
  /** [start, end) of a string field's payload in `buf`, or [-1, -1]. */
  start(field: number): number {
    const tok = this.f[field];
    return tok >= 0 ? this.tape.start(tok) : -1;
  }
  end(field: number): number {
    const tok = this.f[field];
    return tok >= 0 ? this.tape.end(tok) : -1;
  }
  length(field: number): number {
    const tok = this.f[field];
    return tok >= 0 ? this.tape.length(tok) : -1;
  }
  /** An integer field's value, or undefined. */
  int(field: number): number | bigint | undefined {
    const tok = this.f[field];
    return tok >= 0 && this.tape.kind(tok) === INT ? this.tape.int(tok) : undefined;
  }
  /** An integer flag (implied_port, seed, noseed, scrape, ro): true when present and non-zero. */
  flag(field: number): boolean {
    const v = this.int(field);
    return v !== undefined && v !== 0 && v !== 0n;
  }
  /** True when the `want` list asks for `what` ('n4' / 'n6'). */
  wants(what: string): boolean {
    const list = this.f[F.want];
    if (list < 0) return false;
    const tape = this.tape;
    for (let j = list + 1; j < tape.data[list * 4 + 3]; j = tape.next(j)) {
      if (tape.kind(j) === STR && equalsLatin1(tape.buf, tape.start(j), tape.end(j), what)) return true;
    }
    return false;
  }
}

function equalsLatin1(buf: Uint8Array, s: number, e: number, str: string): boolean {
  if (e - s !== str.length) return false;
  for (let i = 0; i < str.length; i++) if (buf[s + i] !== str.charCodeAt(i)) return false;
  return true;
}

// Field lookup by key bytes: switch on the length, then compare bytes.
function rootField(buf: Uint8Array, s: number, len: number): number {
  if (len === 1) {
    switch (buf[s]) {
      case 0x74: return F.t;
      case 0x79: return F.y;
      case 0x71: return F.q;
      case 0x61: return F.a;
      case 0x72: return F.r;
      case 0x65: return F.e;
      case 0x76: return F.version;
    }
    return -1;
  }
  if (len === 2) {
    if (buf[s] === 0x69 && buf[s + 1] === 0x70) return F.ip;
    if (buf[s] === 0x72 && buf[s + 1] === 0x6f) return F.ro;
  }
  return -1;
}

const BODY_KEYS: ReadonlyArray<readonly [string, number]> = [
  ['v', F.v], ['k', F.k],
  ['id', F.id],
  ['sig', F.sig], ['seq', F.seq], ['cas', F.cas], ['num', F.num],
  ['want', F.want], ['port', F.port], ['salt', F.salt], ['seed', F.seed], ['BFsd', F.BFsd], ['BFse', F.BFse], ['BFpe', F.BFpe],
  ['nodes', F.nodes], ['token', F.token],
  ['target', F.target], ['values', F.values], ['nodes6', F.nodes6], ['noseed', F.noseed], ['scrape', F.scrape],
  ['samples', F.samples],
  ['interval', F.interval],
  ['info_hash', F.info_hash],
  ['implied_port', F.implied_port],
];
// Per key length: the candidate keys as byte arrays and their fields.
const BODY_KEY_BYTES: Uint8Array[][] = [];
const BODY_KEY_FIELDS: number[][] = [];
for (let len = 0; len <= 12; len++) {
  BODY_KEY_BYTES.push([]);
  BODY_KEY_FIELDS.push([]);
}
for (const [key, field] of BODY_KEYS) {
  BODY_KEY_BYTES[key.length].push(Uint8Array.from(key, (c) => c.charCodeAt(0)));
  BODY_KEY_FIELDS[key.length].push(field);
}

/** The field (see `F`) of a key of `a` / `r` at buf[s, s + len), or -1. */
function bodyField(buf: Uint8Array, s: number, len: number): number {
  if (len > 12) return -1;
  const candidates = BODY_KEY_BYTES[len];
  for (let c = 0; c < candidates.length; c++) {
    const key = candidates[c];
    let i = 0;
    while (i < len && buf[s + i] === key[i]) i++;
    if (i === len) return BODY_KEY_FIELDS[len][c];
  }
  return -1;
}

function methodName(tape: Tape, tok: number): string {
  const buf = tape.buf;
  const s = tape.start(tok);
  const e = tape.end(tok);
  for (const m of KNOWN_METHODS) if (equalsLatin1(buf, s, e, m)) return m;
  return tape.latin1(tok);
}

const sharedView = new KrpcView(new Tape(256));

/** Scans and validates one KRPC datagram. Never throws; check `view.error`. */
export function scanKrpc(buf: Uint8Array, into: KrpcView = sharedView): KrpcView {
  const v = into;
  const f = v.f;
  for (let i = 0; i < v.setCount; i++) f[v.setFields[i]] = -1;
  v.setCount = 0;
  v.buf = buf;
  v.error = null;
  v.y = 0;
  v.method = '';
  v.knownMethod = false;
  v.warn = 0;
  if (buf.length === 0) return fail(v, 'empty', 'empty datagram');
  if (buf[0] !== 0x64) return fail(v, 'not_dict', 'datagram is not a bencoded dict');
  const tape = v.tape;
  const err = scan(buf, DATAGRAM_SCAN, tape);
  if (err !== null) {
    v.error = err;
    return v;
  }
  const d = tape.data;

  // Envelope keys.
  const rootStop = d[3];
  for (let j = 1; j < rootStop; ) {
    const field = rootField(buf, d[j * 4 + 1], d[j * 4 + 2] - d[j * 4 + 1]);
    if (field >= 0) {
      f[field] = j + 1;
      v.setFields[v.setCount++] = field;
    }
    j = tape.next(j + 1);
  }

  const t = f[F.t];
  if (t < 0) return fail(v, 'missing_key', "missing 't'");
  if (tape.kind(t) !== STR) return fail(v, 'bad_type', "'t' is not a string");
  if (tape.length(t) > MAX_T_LENGTH) return fail(v, 'bad_length', `'t' longer than ${MAX_T_LENGTH} bytes`);

  const y = f[F.y];
  if (y < 0) return fail(v, 'missing_key', "missing 'y'");
  if (tape.kind(y) !== STR || tape.length(y) !== 1) return fail(v, 'bad_value', "'y' is not a 1-byte string");
  const yc = buf[tape.start(y)];
  if (yc !== Y_QUERY && yc !== Y_RESPONSE && yc !== Y_ERROR) return fail(v, 'bad_value', "'y' is not q, r or e");
  v.y = yc;

  checkEnvelopeExtras(v, tape);

  if (yc === Y_QUERY) return checkQuery(v, tape);
  if (yc === Y_RESPONSE) return checkResponse(v, tape);
  checkError(v, tape);
  return v;
}

function fail(v: KrpcView, code: WireErrorCode, message: string, krpcCode?: number): KrpcView {
  const error: WireError = { code, message };
  const t = v.f[F.t];
  if (t >= 0 && v.tape.kind(t) === STR && v.tape.length(t) <= MAX_T_LENGTH) error.t = v.tape.bytes(t);
  if (v.y !== 0) error.y = String.fromCharCode(v.y);
  if (krpcCode !== undefined) error.krpcCode = krpcCode;
  v.error = error;
  return v;
}

function checkEnvelopeExtras(v: KrpcView, tape: Tape): void {
  const f = v.f;
  const ver = f[F.version];
  if (ver >= 0 && tape.kind(ver) !== STR) {
    f[F.version] = -1;
    v.warn |= W.VERSION_BAD;
  }
  const ip = f[F.ip];
  if (ip >= 0) {
    if (tape.kind(ip) !== STR || tape.length(ip) < PEER4_LENGTH) {
      f[F.ip] = -1;
      v.warn |= W.IP_BAD;
    } else if (tape.length(ip) !== PEER4_LENGTH && tape.length(ip) !== PEER6_LENGTH) {
      v.warn |= W.IP_ODD_LENGTH;
    }
  }
  const ro = f[F.ro];
  if (ro >= 0 && tape.kind(ro) !== INT) {
    f[F.ro] = -1;
    v.warn |= W.RO_BAD;
  }
}

/** Finds the fields of dict token `dict` (a or r). */
function indexBody(v: KrpcView, tape: Tape, dict: number): void {
  const d = tape.data;
  const buf = tape.buf;
  const stop = d[dict * 4 + 3];
  for (let j = dict + 1; j < stop; ) {
    const field = bodyField(buf, d[j * 4 + 1], d[j * 4 + 2] - d[j * 4 + 1]);
    if (field >= 0) {
      v.f[field] = j + 1;
      v.setFields[v.setCount++] = field;
    }
    j = tape.next(j + 1);
  }
}

function isUint(tape: Tape, tok: number, max: bigint): boolean {
  if (tape.kind(tok) !== INT) return false;
  const n = tape.int(tok);
  return typeof n === 'number' ? n >= 0 : n >= 0n && n <= max;
}

// ----- queries: strict, a failure is answered with an error (krpcCode) ------------------------

function checkQuery(v: KrpcView, tape: Tape): KrpcView {
  const f = v.f;
  const q = f[F.q];
  if (q < 0) return fail(v, 'missing_key', "missing 'q'", 203);
  if (tape.kind(q) !== STR) return fail(v, 'bad_type', "'q' is not a string", 203);
  if (tape.length(q) > MAX_METHOD_LENGTH) return fail(v, 'bad_length', "'q' is too long", 203);
  v.method = methodName(tape, q);
  v.knownMethod = KNOWN_METHODS.includes(v.method);
  const a = f[F.a];
  if (a < 0) return fail(v, 'missing_key', "missing 'a'", 203);
  if (tape.kind(a) !== DICT) return fail(v, 'bad_type', "'a' is not a dict", 203);
  indexBody(v, tape, a);
  const err = checkId(v, tape, F.id, 'id', true);
  if (err) return err;

  // Fields a method does not take are ignored, so no reader sees an unvalidated token.
  const used = v.knownMethod ? METHOD_FIELDS[v.method] : UNKNOWN_METHOD_FIELDS;
  for (let i = 0; i < v.setCount; i++) {
    const field = v.setFields[i];
    if (field >= F.id && !used.includes(field)) f[field] = -1;
  }

  if (!v.knownMethod) {
    // Unknown method: keep the known fields that are well formed, drop the rest quietly.
    if (f[F.target] >= 0 && !isLen(tape, f[F.target], ID_LENGTH)) f[F.target] = -1;
    if (f[F.info_hash] >= 0 && !isLen(tape, f[F.info_hash], ID_LENGTH)) f[F.info_hash] = -1;
    if (f[F.want] >= 0 && tape.kind(f[F.want]) !== LIST) f[F.want] = -1;
    return v;
  }

  switch (v.method) {
    case 'ping':
      return v;
    case 'find_node':
    case 'sample_infohashes':
      return checkId(v, tape, F.target, 'target', true) ?? checkWant(v, tape) ?? v;
    case 'get_peers':
      return checkId(v, tape, F.info_hash, 'info_hash', true) ?? checkWant(v, tape) ?? checkFlag(v, tape, F.noseed, 'noseed') ?? checkFlag(v, tape, F.scrape, 'scrape') ?? v;
    case 'announce_peer':
      return (
        checkId(v, tape, F.info_hash, 'info_hash', true) ??
        checkToken(v, tape, true) ??
        checkFlag(v, tape, F.implied_port, 'implied_port') ??
        checkFlag(v, tape, F.seed, 'seed') ??
        checkPort(v, tape) ??
        v
      );
    case 'get':
      return checkId(v, tape, F.target, 'target', true) ?? checkWant(v, tape) ?? checkSeq(v, tape, F.seq, 'seq') ?? v;
    case 'put':
      return checkPut(v, tape);
  }
  return v;
}

function isLen(tape: Tape, tok: number, len: number): boolean {
  return tape.kind(tok) === STR && tape.length(tok) === len;
}

function checkId(v: KrpcView, tape: Tape, field: number, name: string, required: boolean): KrpcView | null {
  const tok = v.f[field];
  if (tok < 0) return required ? fail(v, 'missing_key', `missing '${name}'`, 203) : null;
  if (tape.kind(tok) !== STR) return fail(v, 'bad_type', `'${name}' is not a string`, 203);
  if (tape.length(tok) !== ID_LENGTH) return fail(v, 'bad_length', `'${name}' is not 20 bytes`, 203);
  return null;
}

function checkBytes(v: KrpcView, tape: Tape, field: number, name: string, len: number): KrpcView | null {
  const tok = v.f[field];
  if (tok < 0) return null;
  if (tape.kind(tok) !== STR) return fail(v, 'bad_type', `'${name}' is not a string`, 203);
  if (tape.length(tok) !== len) return fail(v, 'bad_length', `'${name}' is not ${len} bytes`, 203);
  return null;
}

function checkWant(v: KrpcView, tape: Tape): KrpcView | null {
  const tok = v.f[F.want];
  if (tok >= 0 && tape.kind(tok) !== LIST) return fail(v, 'bad_type', "'want' is not a list", 203);
  return null;
}

function checkFlag(v: KrpcView, tape: Tape, field: number, name: string): KrpcView | null {
  const tok = v.f[field];
  if (tok >= 0 && tape.kind(tok) !== INT) return fail(v, 'bad_type', `'${name}' is not an integer`, 203);
  return null;
}

function checkToken(v: KrpcView, tape: Tape, required: boolean): KrpcView | null {
  const tok = v.f[F.token];
  if (tok < 0) return required ? fail(v, 'missing_key', "missing 'token'", 203) : null;
  if (tape.kind(tok) !== STR) return fail(v, 'bad_type', "'token' is not a string", 203);
  if (tape.length(tok) > MAX_TOKEN_LENGTH) return fail(v, 'bad_length', `'token' longer than ${MAX_TOKEN_LENGTH} bytes`, 203);
  return null;
}

function checkPort(v: KrpcView, tape: Tape): KrpcView | null {
  const tok = v.f[F.port];
  if (tok < 0) {
    // With implied_port=1 the UDP source port is used, so `port` may be left out.
    return v.flag(F.implied_port) ? null : fail(v, 'missing_key', "missing 'port'", 203);
  }
  if (tape.kind(tok) !== INT) return fail(v, 'bad_type', "'port' is not an integer", 203);
  const n = tape.int(tok);
  if (typeof n !== 'number' || n < 0 || n > 65535) return fail(v, 'bad_value', 'invalid port', 203);
  return null;
}

function checkSeq(v: KrpcView, tape: Tape, field: number, name: string): KrpcView | null {
  const tok = v.f[field];
  if (tok < 0) return null;
  if (!isUint(tape, tok, MAX_SEQ)) return fail(v, tape.kind(tok) === INT ? 'bad_value' : 'bad_type', `'${name}' is not an integer in 0..2^63-1`, 203);
  return null;
}

function checkPut(v: KrpcView, tape: Tape): KrpcView {
  const f = v.f;
  const err =
    checkToken(v, tape, true) ??
    checkBytes(v, tape, F.k, 'k', 32) ??
    checkBytes(v, tape, F.sig, 'sig', 64) ??
    checkSeq(v, tape, F.seq, 'seq') ??
    checkSeq(v, tape, F.cas, 'cas');
  if (err) return err;
  const value = f[F.v];
  if (value < 0) return fail(v, 'missing_key', "missing 'v'", 203);
  if (tape.rawEnd(value) - tape.rawStart(value) > MAX_V_LENGTH) return fail(v, 'too_long', `'v' longer than ${MAX_V_LENGTH} bytes`, 205);
  if (!tape.isCanonical(value)) return fail(v, 'unsorted_keys', "'v' is not canonical bencode", 203);
  const salt = f[F.salt];
  if (salt >= 0) {
    if (tape.kind(salt) !== STR) return fail(v, 'bad_type', "'salt' is not a string", 203);
    if (tape.length(salt) > MAX_SALT_LENGTH) return fail(v, 'too_long', `'salt' longer than ${MAX_SALT_LENGTH} bytes`, 207);
  }
  if (f[F.k] >= 0) {
    // A mutable item must be signed and sequenced.
    if (f[F.sig] < 0) return fail(v, 'missing_key', "missing 'sig'", 203);
    if (f[F.seq] < 0) return fail(v, 'missing_key', "missing 'seq'", 203);
  }
  return v;
}

// ----- responses: only `id` is required; other faults drop the field with a warning ----------

function checkResponse(v: KrpcView, tape: Tape): KrpcView {
  const f = v.f;
  const r = f[F.r];
  if (r < 0) return fail(v, 'missing_key', "missing 'r'");
  if (tape.kind(r) !== DICT) return fail(v, 'bad_type', "'r' is not a dict");
  const first = v.setCount;
  indexBody(v, tape, r);
  const id = f[F.id];
  if (id < 0) return fail(v, 'missing_key', "missing 'id'");
  if (!isLen(tape, id, ID_LENGTH)) return fail(v, tape.kind(id) === STR ? 'bad_length' : 'bad_type', "'id' is not a 20-byte string");

  // Visit only the fields present; a faulty one is dropped (-1) with a warning bit.
  let warn = v.warn;
  for (let i = first; i < v.setCount; i++) {
    const field = v.setFields[i];
    const tok = f[field];
    let bad = 0;
    switch (field) {
      case F.nodes:
        if (tape.kind(tok) !== STR) bad = W.NODES_BAD_TYPE;
        else if (tape.length(tok) % NODE4_LENGTH !== 0) warn |= W.NODES_RAGGED;
        break;
      case F.nodes6:
        if (tape.kind(tok) !== STR) bad = W.NODES6_BAD_TYPE;
        else if (tape.length(tok) % NODE6_LENGTH !== 0) warn |= W.NODES6_RAGGED;
        break;
      case F.values: {
        const kind = tape.kind(tok);
        if (kind === LIST) {
          for (let j = tok + 1; j < tape.data[tok * 4 + 3]; j = tape.next(j)) {
            if (!isPeerString(tape, j)) warn |= W.VALUES_SKIPPED;
          }
        } else if (kind === STR && tape.length(tok) % PEER4_LENGTH === 0) {
          warn |= W.VALUES_LEGACY_STRING;
        } else {
          bad = W.VALUES_BAD;
        }
        break;
      }
      case F.token:
        if (tape.kind(tok) !== STR || tape.length(tok) > MAX_TOKEN_LENGTH) bad = W.TOKEN_BAD;
        break;
      case F.samples:
        if (tape.kind(tok) !== STR || tape.length(tok) % ID_LENGTH !== 0) bad = W.SAMPLES_BAD;
        break;
      case F.num:
        if (!isSafeInt(tape, tok)) bad = W.NUM_BAD;
        break;
      case F.interval:
        if (!isSafeInt(tape, tok)) bad = W.INTERVAL_BAD;
        break;
      case F.BFsd:
      case F.BFse:
      case F.BFpe:
        if (!isLen(tape, tok, BLOOM_LENGTH)) bad = W.BLOOM_BAD;
        break;
      case F.v:
        if (!tape.isCanonical(tok)) bad = W.V_NOT_CANONICAL;
        break;
      case F.k:
        if (!isLen(tape, tok, 32)) bad = W.K_BAD;
        break;
      case F.sig:
        if (!isLen(tape, tok, 64)) bad = W.SIG_BAD;
        break;
      case F.seq:
        if (!isUint(tape, tok, MAX_SEQ)) bad = W.SEQ_BAD;
        break;
      case F.id:
        break;
      default:
        // Query-only fields (target, port, want, ...) have no meaning in a response.
        f[field] = -1;
    }
    if (bad !== 0) {
      f[field] = -1;
      warn |= bad;
    }
  }
  v.warn = warn;
  return v;
}

function isPeerString(tape: Tape, tok: number): boolean {
  return tape.kind(tok) === STR && (tape.length(tok) === PEER4_LENGTH || tape.length(tok) === PEER6_LENGTH);
}

function isSafeInt(tape: Tape, tok: number): boolean {
  return tape.kind(tok) === INT && typeof tape.int(tok) === 'number';
}

// ----- errors: any shape is accepted -----------------------------------------------------------

function checkError(v: KrpcView, tape: Tape): void {
  const e = v.f[F.e];
  if (e < 0 || tape.kind(e) !== LIST) {
    v.warn |= W.ERROR_SHAPE;
    return;
  }
  const first = e + 1;
  const stop = tape.data[e * 4 + 3];
  if (first >= stop || !isSafeInt(tape, first)) {
    v.warn |= W.ERROR_SHAPE;
    return;
  }
  const second = tape.next(first);
  if (second >= stop || tape.kind(second) !== STR) v.warn |= W.ERROR_SHAPE;
}

/** For a y='e' view: the error code (201 when none is readable) and message bytes. */
export function errorParts(v: KrpcView): { code: number; message: Uint8Array } {
  const tape = v.tape;
  const e = v.f[F.e];
  let code = 201;
  let message: Uint8Array = new Uint8Array(0);
  if (e >= 0) {
    const kind = tape.kind(e);
    if (kind === STR) message = tape.bytes(e);
    else if (kind === INT && isSafeInt(tape, e)) code = tape.int(e) as number;
    else if (kind === LIST) {
      const stop = tape.data[e * 4 + 3];
      let j = e + 1;
      if (j < stop && isSafeInt(tape, j)) {
        code = tape.int(j) as number;
        j++;
      }
      if (j < stop && tape.kind(j) === STR) message = tape.bytes(j);
    }
  }
  return { code, message };
}
