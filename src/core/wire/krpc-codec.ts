// Typed KRPC messages: `decodeMessage` (never throws) builds objects from the validated view of
// krpc-view.ts; the encoders write canonical datagrams.
import { STR, Tape, buildValue, buildValueIn, encode, scan, view as byteView } from './bencode.js';
import { encodePeer, readNodes, readPeer } from './compact.js';
import { DATAGRAM_SCAN, F, KrpcView, MAX_WANT, W, errorParts, scanKrpc, warningTexts } from './krpc-view.js';
import type {
  BDict,
  BEncodable,
  KrpcErrorMessage,
  KrpcMessage,
  KrpcQuery,
  KrpcResponse,
  PeerInfo,
  QueryArgs,
  ResponseBody,
  Result,
  WireError,
} from './types.js';

const ownView = new KrpcView();
const utf8 = new TextDecoder('utf-8');

/**
 * Decodes and validates one KRPC datagram. Never throws, whatever the input. Byte fields alias
 * `buf`. A malformed query yields an error carrying `t`, `y: 'q'` and `krpcCode` so a responder
 * can answer it; other failures mean "drop".
 */
export function decodeMessage(buf: Uint8Array): Result<KrpcMessage, WireError> {
  const view = scanKrpc(buf, ownView);
  if (view.error !== null) return { ok: false, error: view.error };
  return { ok: true, value: messageFromView(view) };
}

// The whole `a` / `r` dict (rawArgs / rawBody) is rarely read (the `--raw` output, a few
// unknown keys), yet building it eagerly cost a dict and a byte view per key on every message.
// It is built on first read instead, from the dict's own bytes in the datagram: those bytes were
// validated with the rest, and unlike the tape they are not overwritten by the next decode.
// The public fields are assigned in the constructor, not declared as class fields: class fields
// are defined (not stored) before the constructor body runs, a few % slower overall.
const lazyTape = new Tape(64);

/** The BDict encoded at buf[start, end), a dict the datagram's scan already validated. */
function dictAt(buf: Uint8Array, start: number, end: number): BDict {
  const bytes = byteView(buf, start, end);
  const err = scan(bytes, DATAGRAM_SCAN, lazyTape);
  // Only possible if the caller rewrote the datagram after decoding it.
  if (err !== null) throw new Error(`KRPC datagram changed after decoding: ${err.message}`);
  return buildValue(lazyTape, 0) as BDict;
}

/** A decoded response; `rawBody` is built on first read (then kept), and may be assigned. */
class Response implements KrpcResponse {
  declare y: 'r';
  declare t: Uint8Array;
  declare r: ResponseBody;
  declare v?: Uint8Array;
  declare ip?: PeerInfo;
  declare ro?: boolean;
  declare warnings?: string[];
  #buf: Uint8Array;
  #start: number;
  #end: number;
  #raw: BDict | undefined;

  constructor(t: Uint8Array, r: ResponseBody, buf: Uint8Array, start: number, end: number) {
    this.y = 'r';
    this.t = t;
    this.r = r;
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }
  get rawBody(): BDict {
    return (this.#raw ??= dictAt(this.#buf, this.#start, this.#end));
  }
  set rawBody(value: BDict) {
    this.#raw = value;
  }
}

/** A decoded query; `rawArgs` is built on first read (then kept), and may be assigned. */
class Query implements KrpcQuery {
  declare y: 'q';
  declare t: Uint8Array;
  declare q: string;
  declare a: QueryArgs;
  declare v?: Uint8Array;
  declare ip?: PeerInfo;
  declare ro?: boolean;
  declare warnings?: string[];
  #buf: Uint8Array;
  #start: number;
  #end: number;
  #raw: BDict | undefined;

  constructor(t: Uint8Array, q: string, a: QueryArgs, buf: Uint8Array, start: number, end: number) {
    this.y = 'q';
    this.t = t;
    this.q = q;
    this.a = a;
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }
  get rawArgs(): BDict {
    return (this.#raw ??= dictAt(this.#buf, this.#start, this.#end));
  }
  set rawArgs(value: BDict) {
    this.#raw = value;
  }
}

/**
 * Builds the typed message of an error-free view (the view stays usable afterwards).
 * `rawArgs` / `rawBody` are getters on the message's prototype, not own properties: read them
 * by name (Object.keys and spreads do not list them).
 */
export function messageFromView(view: KrpcView): KrpcMessage {
  const tape = view.tape;
  const f = view.f;
  const buf = tape.buf;
  const backing = buf.buffer;
  const base = buf.byteOffset;
  const d = tape.data;
  const tTok = f[F.t];
  const t = new Uint8Array(backing, base + d[tTok * 4 + 1], d[tTok * 4 + 2] - d[tTok * 4 + 1]);
  let msg: KrpcMessage;
  if (view.y === 0x71) {
    const a = f[F.a];
    msg = new Query(t, view.method, queryArgs(view, backing, base), buf, d[a * 4 + 1], d[a * 4 + 2]);
  } else if (view.y === 0x72) {
    const r = f[F.r];
    msg = new Response(t, responseBody(view, backing, base), buf, d[r * 4 + 1], d[r * 4 + 2]);
  } else {
    const { code, message } = errorParts(view);
    msg = { y: 'e', t, code, message: utf8.decode(message) } satisfies KrpcErrorMessage;
  }
  const vTok = f[F.version];
  if (vTok >= 0) msg.v = new Uint8Array(backing, base + d[vTok * 4 + 1], d[vTok * 4 + 2] - d[vTok * 4 + 1]);
  const ip = f[F.ip];
  if (ip >= 0) msg.ip = readPeer(buf, d[ip * 4 + 1], d[ip * 4 + 2] - d[ip * 4 + 1] >= 18 ? 6 : 4);
  if (f[F.ro] >= 0) msg.ro = view.flag(F.ro);
  if (view.warn !== 0) msg.warnings = warningTexts(view.warn);
  return msg;
}

/** The payload of string token `tok`, aliasing the datagram. */
function bytesAt(tape: Tape, tok: number, backing: ArrayBufferLike, base: number): Uint8Array {
  const d = tape.data;
  return new Uint8Array(backing, base + d[tok * 4 + 1], d[tok * 4 + 2] - d[tok * 4 + 1]);
}

function bigintOf(view: KrpcView, field: number): bigint {
  const n = view.int(field) as number | bigint;
  return typeof n === 'bigint' ? n : BigInt(n);
}

function queryArgs(view: KrpcView, backing: ArrayBufferLike, base: number): QueryArgs {
  const f = view.f;
  const tape = view.tape;
  const a: QueryArgs = { id: bytesAt(tape, f[F.id], backing, base) };
  if (f[F.target] >= 0) a.target = bytesAt(tape, f[F.target], backing, base);
  if (f[F.info_hash] >= 0) a.info_hash = bytesAt(tape, f[F.info_hash], backing, base);
  if (f[F.token] >= 0) a.token = bytesAt(tape, f[F.token], backing, base);
  if (f[F.port] >= 0) a.port = view.int(F.port) as number;
  if (f[F.implied_port] >= 0) a.implied_port = view.flag(F.implied_port);
  if (f[F.seed] >= 0) a.seed = view.flag(F.seed);
  if (f[F.noseed] >= 0) a.noseed = view.flag(F.noseed);
  if (f[F.scrape] >= 0) a.scrape = view.flag(F.scrape);
  if (f[F.want] >= 0) a.want = wantList(view);
  if (f[F.v] >= 0) {
    a.v = buildValueIn(tape, f[F.v], backing, base);
    a.v_raw = tape.raw(f[F.v]);
  }
  if (f[F.k] >= 0) a.k = bytesAt(tape, f[F.k], backing, base);
  if (f[F.sig] >= 0) a.sig = bytesAt(tape, f[F.sig], backing, base);
  if (f[F.seq] >= 0) a.seq = bigintOf(view, F.seq);
  if (f[F.cas] >= 0) a.cas = bigintOf(view, F.cas);
  if (f[F.salt] >= 0) a.salt = bytesAt(tape, f[F.salt], backing, base);
  return a;
}

function wantList(view: KrpcView): string[] {
  const tape = view.tape;
  const list = view.f[F.want];
  const out: string[] = [];
  for (let j = list + 1; j < tape.data[list * 4 + 3] && out.length < MAX_WANT; j = tape.next(j)) {
    if (tape.kind(j) === STR) out.push(tape.latin1(j));
  }
  return out;
}

function responseBody(view: KrpcView, backing: ArrayBufferLike, base: number): ResponseBody {
  const f = view.f;
  const tape = view.tape;
  const buf = tape.buf;
  const id = bytesAt(tape, f[F.id], backing, base);
  let tok = f[F.nodes];
  // `nodes` goes into the literal: the common reply then needs no property added afterwards.
  const r: ResponseBody =
    tok >= 0 ? { id, nodes: readNodes(buf, backing, base, tape.start(tok), tape.end(tok), 4) } : { id };
  tok = f[F.nodes6];
  if (tok >= 0) r.nodes6 = readNodes(buf, backing, base, tape.start(tok), tape.end(tok), 6);
  if (f[F.values] >= 0) r.values = peerValues(view);
  if (f[F.token] >= 0) r.token = bytesAt(tape, f[F.token], backing, base);
  if (f[F.samples] >= 0) {
    const s = bytesAt(tape, f[F.samples], backing, base);
    const samples: Uint8Array[] = new Array(s.length / 20);
    for (let i = 0; i < samples.length; i++) samples[i] = s.subarray(i * 20, i * 20 + 20);
    r.samples = samples;
  }
  if (f[F.num] >= 0) r.num = view.int(F.num) as number;
  if (f[F.interval] >= 0) r.interval = view.int(F.interval) as number;
  if (f[F.BFsd] >= 0) r.BFsd = bytesAt(tape, f[F.BFsd], backing, base);
  else if (f[F.BFse] >= 0) r.BFsd = bytesAt(tape, f[F.BFse], backing, base);
  if (f[F.BFpe] >= 0) r.BFpe = bytesAt(tape, f[F.BFpe], backing, base);
  if (f[F.v] >= 0) {
    r.v = buildValueIn(tape, f[F.v], backing, base);
    r.v_raw = tape.raw(f[F.v]);
  }
  if (f[F.k] >= 0) r.k = bytesAt(tape, f[F.k], backing, base);
  if (f[F.sig] >= 0) r.sig = bytesAt(tape, f[F.sig], backing, base);
  if (f[F.seq] >= 0) r.seq = bigintOf(view, F.seq);
  return r;
}

function peerValues(view: KrpcView): PeerInfo[] {
  const tape = view.tape;
  const buf = tape.buf;
  const tok = view.f[F.values];
  const out: PeerInfo[] = [];
  if (view.warn & W.VALUES_LEGACY_STRING && tape.kind(tok) === STR) {
    for (let off = tape.start(tok); off < tape.end(tok); off += 6) out.push(readPeer(buf, off, 4));
    return out;
  }
  for (let j = tok + 1; j < tape.data[tok * 4 + 3]; j = tape.next(j)) {
    if (tape.kind(j) !== STR) continue;
    const len = tape.length(j);
    if (len === 6) out.push(readPeer(buf, tape.start(j), 4));
    else if (len === 18) out.push(readPeer(buf, tape.start(j), 6));
  }
  return out;
}

// ----- encoders -------------------------------------------------------------------------------

export type ArgsDict = { [key: string]: BEncodable | undefined };

export interface QueryEnvelope {
  /** Our client tag. */
  v?: Uint8Array;
  /** BEP 43: we are read-only. */
  ro?: boolean;
}

export interface ResponseEnvelope {
  v?: Uint8Array;
  /** BEP 42: the requester's address as we saw it (PeerInfo or compact 6/18 bytes). */
  ip?: PeerInfo | Uint8Array;
}

export function encodeQuery(t: Uint8Array, method: string, args: ArgsDict, opts: QueryEnvelope = {}): Uint8Array {
  return encode({ a: args, q: method, ro: opts.ro ? 1 : undefined, t, v: opts.v, y: 'q' });
}

export function encodeResponse(t: Uint8Array, body: ArgsDict, opts: ResponseEnvelope = {}): Uint8Array {
  const ip = opts.ip === undefined ? undefined : opts.ip instanceof Uint8Array ? opts.ip : encodePeer(opts.ip);
  return encode({ ip, r: body, t, v: opts.v, y: 'r' });
}

/** An error reply; `t` is echoed unchanged, whatever its length. */
export function encodeError(t: Uint8Array, code: number, message: string, opts: { v?: Uint8Array } = {}): Uint8Array {
  return encode({ e: [code, message], t, v: opts.v, y: 'e' });
}
