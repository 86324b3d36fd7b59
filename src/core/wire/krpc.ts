// Typed KRPC messages: `decodeMessage` (never throws) builds objects from the validated view of
// krpc-view.ts; the encoders write canonical datagrams.
import { STR, Tape, buildValueIn, encode, keyString, setKey } from './bencode.js';
import { encodePeer, readNodes, readPeer } from './compact.js';
import { F, KrpcView, MAX_WANT, W, bodyField, errorParts, scanKrpc, warningTexts } from './krpc-view.js';
import type {
  BDict,
  BEncodable,
  BValue,
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

/** Builds the typed message of an error-free view (the view stays usable afterwards). */
export function messageFromView(view: KrpcView): KrpcMessage {
  const tape = view.tape;
  const f = view.f;
  const buf = tape.buf;
  const backing = buf.buffer;
  const base = buf.byteOffset;
  const tTok = f[F.t];
  const t = new Uint8Array(backing, base + tape.start(tTok), tape.length(tTok));
  let msg: KrpcMessage;
  if (view.y === 0x71) {
    const rawArgs = rawDict(tape, f[F.a], backing, base);
    msg = { y: 'q', t, q: view.method, a: queryArgs(view, rawArgs), rawArgs } satisfies KrpcQuery;
  } else if (view.y === 0x72) {
    const rawBody = rawDict(tape, f[F.r], backing, base);
    msg = { y: 'r', t, r: responseBody(view, rawBody, backing, base), rawBody } satisfies KrpcResponse;
  } else {
    const { code, message } = errorParts(view);
    msg = { y: 'e', t, code, message: utf8.decode(message) } satisfies KrpcErrorMessage;
  }
  const vTok = f[F.version];
  if (vTok >= 0) msg.v = new Uint8Array(backing, base + tape.start(vTok), tape.length(vTok));
  if (f[F.ip] >= 0) {
    const ip = f[F.ip];
    msg.ip = readPeer(tape.buf, tape.start(ip), tape.length(ip) >= 18 ? 6 : 4);
  }
  if (f[F.ro] >= 0) msg.ro = view.flag(F.ro);
  if (view.warn !== 0) msg.warnings = warningTexts(view.warn);
  return msg;
}

/**
 * The `a` / `r` dict as a BDict. Same result as buildValue, but the usual KRPC keys are stored
 * with named property stores, which V8 runs much faster than stores under computed keys.
 */
function rawDict(tape: Tape, dict: number, backing: ArrayBufferLike, base: number): BDict {
  const d = tape.data;
  const buf = tape.buf;
  const stop = d[dict * 4 + 3];
  const out: BDict = {};
  for (let j = dict + 1; j < stop; ) {
    const ks = d[j * 4 + 1];
    const ke = d[j * 4 + 2];
    const vt = j + 1;
    const value: BValue =
      tape.kind(vt) === STR ? new Uint8Array(backing, base + d[vt * 4 + 1], d[vt * 4 + 2] - d[vt * 4 + 1]) : buildValueIn(tape, vt, backing, base);
    switch (bodyField(buf, ks, ke - ks)) {
      case F.id: out.id = value; break;
      case F.nodes: out.nodes = value; break;
      case F.nodes6: out.nodes6 = value; break;
      case F.token: out.token = value; break;
      case F.values: out.values = value; break;
      case F.target: out.target = value; break;
      case F.info_hash: out.info_hash = value; break;
      case F.want: out.want = value; break;
      case F.port: out.port = value; break;
      case F.samples: out.samples = value; break;
      default: {
        const key = keyString(buf, ks, ke);
        if (key === '__proto__') setKey(out, key, value);
        else out[key] = value;
      }
    }
    j = tape.next(vt);
  }
  return out;
}

function bigintOf(view: KrpcView, field: number): bigint {
  const n = view.int(field) as number | bigint;
  return typeof n === 'bigint' ? n : BigInt(n);
}

function queryArgs(view: KrpcView, raw: BDict): QueryArgs {
  const f = view.f;
  const a: QueryArgs = { id: raw.id as Uint8Array };
  if (f[F.target] >= 0) a.target = raw.target as Uint8Array;
  if (f[F.info_hash] >= 0) a.info_hash = raw.info_hash as Uint8Array;
  if (f[F.token] >= 0) a.token = raw.token as Uint8Array;
  if (f[F.port] >= 0) a.port = view.int(F.port) as number;
  if (f[F.implied_port] >= 0) a.implied_port = view.flag(F.implied_port);
  if (f[F.seed] >= 0) a.seed = view.flag(F.seed);
  if (f[F.noseed] >= 0) a.noseed = view.flag(F.noseed);
  if (f[F.scrape] >= 0) a.scrape = view.flag(F.scrape);
  if (f[F.want] >= 0) a.want = wantList(view);
  if (f[F.v] >= 0) {
    a.v = raw.v as BValue;
    a.v_raw = view.tape.raw(f[F.v]);
  }
  if (f[F.k] >= 0) a.k = raw.k as Uint8Array;
  if (f[F.sig] >= 0) a.sig = raw.sig as Uint8Array;
  if (f[F.seq] >= 0) a.seq = bigintOf(view, F.seq);
  if (f[F.cas] >= 0) a.cas = bigintOf(view, F.cas);
  if (f[F.salt] >= 0) a.salt = raw.salt as Uint8Array;
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

function responseBody(view: KrpcView, raw: BDict, backing: ArrayBufferLike, base: number): ResponseBody {
  const f = view.f;
  const tape = view.tape;
  const buf = tape.buf;
  const r: ResponseBody = { id: raw.id as Uint8Array };
  let tok = f[F.nodes];
  if (tok >= 0) r.nodes = readNodes(buf, backing, base, tape.start(tok), tape.end(tok), 4);
  tok = f[F.nodes6];
  if (tok >= 0) r.nodes6 = readNodes(buf, backing, base, tape.start(tok), tape.end(tok), 6);
  if (f[F.values] >= 0) r.values = peerValues(view);
  if (f[F.token] >= 0) r.token = raw.token as Uint8Array;
  if (f[F.samples] >= 0) {
    const s = raw.samples as Uint8Array;
    const samples: Uint8Array[] = new Array(s.length / 20);
    for (let i = 0; i < samples.length; i++) samples[i] = s.subarray(i * 20, i * 20 + 20);
    r.samples = samples;
  }
  if (f[F.num] >= 0) r.num = view.int(F.num) as number;
  if (f[F.interval] >= 0) r.interval = view.int(F.interval) as number;
  if (f[F.BFsd] >= 0) r.BFsd = raw.BFsd as Uint8Array;
  else if (f[F.BFse] >= 0) r.BFsd = raw.BFse as Uint8Array;
  if (f[F.BFpe] >= 0) r.BFpe = raw.BFpe as Uint8Array;
  if (f[F.v] >= 0) {
    r.v = raw.v as BValue;
    r.v_raw = tape.raw(f[F.v]);
  }
  if (f[F.k] >= 0) r.k = raw.k as Uint8Array;
  if (f[F.sig] >= 0) r.sig = raw.sig as Uint8Array;
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
