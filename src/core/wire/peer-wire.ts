// The subset of the BitTorrent peer wire needed to fetch an info dictionary: the BEP 3 handshake
// (with the BEP 10 extension bit), length-prefixed message framing, the BEP 10 extension
// handshake and BEP 9 ut_metadata messages. Strict and bounded: every length is checked against
// a cap before anything is allocated or kept. Pure: no I/O, no timers.
import { decode, encode, scan, Tape, wireError } from './bencode.js';
import type { BDict, BEncodable, BValue, Result, WireError } from './types.js';

const PROTOCOL_NAME = 'BitTorrent protocol';
/** 1 + 19 + 8 reserved + 20 infohash + 20 peer id. */
export const HANDSHAKE_LENGTH = 68;
/** BEP 9: metadata travels in pieces of 16 KiB; only the last may be shorter. */
export const METADATA_PIECE_LENGTH = 16_384;
/** Largest info dictionary we accept (documented in docs/output.md); BEP 9 sets no limit. */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;
/**
 * Longest peer message we read. The largest we need is a ut_metadata data message (16 KiB and a
 * small dict); a bitfield of a torrent whose info dict is at the cap is about 52 KiB.
 */
export const MAX_MESSAGE_LENGTH = 128 * 1024;
/** Longest extension handshake (libtorrent's is ~200 bytes). */
const MAX_EXTENDED_HANDSHAKE = 16 * 1024;
/** BEP 3 message id of BEP 10 extended messages; sub-id 0 is the extension handshake. */
export const MSG_EXTENDED = 20;
export const EXT_HANDSHAKE = 0;
/** The extended message id we ask peers to use for ut_metadata messages to us. */
export const OUR_UT_METADATA_ID = 1;
/** Longest client name (`v`) we keep; longer ones are cut. */
export const MAX_CLIENT_LENGTH = 64;

const PROTOCOL_BYTES = new TextEncoder().encode(PROTOCOL_NAME);

export interface Handshake {
  reserved: Uint8Array;
  infohash: Uint8Array;
  peerId: Uint8Array;
  /** BEP 10: reserved[5] & 0x10. */
  extensions: boolean;
  /** BEP 5: reserved[7] & 0x01. */
  dht: boolean;
}

export function encodeHandshake(infohash: Uint8Array, peerId: Uint8Array, opts: { extensions?: boolean; dht?: boolean } = {}): Uint8Array {
  if (infohash.length !== 20 || peerId.length !== 20) throw new Error('handshake: infohash and peer id are 20 bytes');
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out[0] = PROTOCOL_BYTES.length;
  out.set(PROTOCOL_BYTES, 1);
  if (opts.extensions !== false) out[20 + 5] |= 0x10;
  if (opts.dht) out[20 + 7] |= 0x01;
  out.set(infohash, 28);
  out.set(peerId, 48);
  return out;
}

/** Parses the first HANDSHAKE_LENGTH bytes of `buf` (the caller waits until it has them). */
export function parseHandshake(buf: Uint8Array): Result<Handshake, WireError> {
  if (buf.length < HANDSHAKE_LENGTH) return { ok: false, error: wireError('truncated', `handshake is ${HANDSHAKE_LENGTH} bytes, got ${buf.length}`) };
  if (buf[0] !== PROTOCOL_BYTES.length) return { ok: false, error: wireError('bad_value', `handshake protocol name length ${buf[0]}, not 19`) };
  for (let i = 0; i < PROTOCOL_BYTES.length; i++) {
    if (buf[1 + i] !== PROTOCOL_BYTES[i]) return { ok: false, error: wireError('bad_value', 'handshake protocol is not "BitTorrent protocol"') };
  }
  const reserved = buf.slice(20, 28);
  return {
    ok: true,
    value: {
      reserved,
      infohash: buf.slice(28, 48),
      peerId: buf.slice(48, 68),
      extensions: (reserved[5] & 0x10) !== 0,
      dht: (reserved[7] & 0x01) !== 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Framing: <4-byte big-endian length><id><payload>; length 0 is a keep-alive.

export type Frame =
  /** Not enough bytes yet. */
  | { kind: 'partial' }
  | { kind: 'keepalive'; end: number }
  | { kind: 'message'; id: number; payload: Uint8Array; end: number }
  | { kind: 'error'; error: WireError };

/**
 * The frame starting at `offset` of `buf`. `payload` aliases `buf`. A length above `maxLength`
 * is an error as soon as the 4 length bytes are in, before the body is waited for.
 */
export function readFrame(buf: Uint8Array, offset = 0, maxLength = MAX_MESSAGE_LENGTH): Frame {
  if (buf.length - offset < 4) return { kind: 'partial' };
  const len = ((buf[offset] << 24) >>> 0) + (buf[offset + 1] << 16) + (buf[offset + 2] << 8) + buf[offset + 3];
  if (len === 0) return { kind: 'keepalive', end: offset + 4 };
  if (len > maxLength) return { kind: 'error', error: wireError('too_long', `peer message of ${len} bytes (at most ${maxLength})`) };
  if (buf.length - offset - 4 < len) return { kind: 'partial' };
  const start = offset + 4;
  return { kind: 'message', id: buf[start], payload: buf.subarray(start + 1, start + len), end: start + len };
}

/** One framed message: length prefix, id, payload. */
export function encodeMessage(id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, 1 + payload.length);
  out[4] = id;
  out.set(payload, 5);
  return out;
}

/** A framed BEP 10 extended message: id 20, the sub-id, then `body`. */
export function encodeExtended(extId: number, body: Uint8Array): Uint8Array {
  const payload = new Uint8Array(1 + body.length);
  payload[0] = extId;
  payload.set(body, 1);
  return encodeMessage(MSG_EXTENDED, payload);
}

// ---------------------------------------------------------------------------------------------
// BEP 10 extension handshake

export interface ExtendedHandshake {
  /** The peer's message id for ut_metadata; null when it does not support it (absent or 0). */
  utMetadata: number | null;
  /** Null when absent (the peer has no metadata to give). */
  metadataSize: number | null;
  /** The `v` client name, decoded (escaped where not UTF-8) and cut to MAX_CLIENT_LENGTH; null when absent. */
  client: string | null;
}

export function encodeExtendedHandshake(opts: { utMetadata?: number; metadataSize?: number; client?: string } = {}): Uint8Array {
  const dict: { [key: string]: BEncodable } = { m: { ut_metadata: opts.utMetadata ?? OUR_UT_METADATA_ID } };
  if (opts.metadataSize !== undefined) dict.metadata_size = opts.metadataSize;
  if (opts.client !== undefined) dict.v = opts.client;
  return encodeExtended(EXT_HANDSHAKE, encode(dict));
}

const tape = new Tape(64);

/**
 * The body of an extension handshake (after the sub-id). Strict where it matters to us: a dict,
 * `m` a dict of non-negative ids, `metadata_size` (when present) an integer in
 * 1..MAX_METADATA_SIZE, `v` a string. Unknown keys are ignored.
 */
export function parseExtendedHandshake(body: Uint8Array): Result<ExtendedHandshake, WireError> {
  if (body.length > MAX_EXTENDED_HANDSHAKE) return { ok: false, error: wireError('too_long', `extension handshake of ${body.length} bytes`) };
  const r = decode(body, { maxDepth: 4, maxTokens: 512, maxStringLength: 4096 });
  if (!r.ok) return r;
  const d = r.value;
  if (!isDict(d)) return { ok: false, error: wireError('not_dict', 'extension handshake is not a dictionary') };
  let utMetadata: number | null = null;
  if (d.m !== undefined) {
    if (!isDict(d.m)) return { ok: false, error: wireError('bad_type', 'extension handshake: "m" is not a dictionary') };
    const id = d.m.ut_metadata;
    if (id !== undefined) {
      if (typeof id !== 'number' || id < 0 || id > 255) return { ok: false, error: wireError('bad_value', 'extension handshake: bad ut_metadata id') };
      utMetadata = id === 0 ? null : id;
    }
  }
  let metadataSize: number | null = null;
  if (d.metadata_size !== undefined) {
    const size = d.metadata_size;
    if (typeof size !== 'number' && typeof size !== 'bigint') return { ok: false, error: wireError('bad_type', 'extension handshake: metadata_size is not an integer') };
    if (size <= 0 || size > MAX_METADATA_SIZE) {
      return { ok: false, error: wireError('bad_value', `extension handshake: metadata_size ${size} outside 1..${MAX_METADATA_SIZE}`) };
    }
    metadataSize = Number(size);
  }
  let client: string | null = null;
  if (d.v !== undefined) {
    if (!(d.v instanceof Uint8Array)) return { ok: false, error: wireError('bad_type', 'extension handshake: "v" is not a string') };
    client = textOf(d.v.subarray(0, MAX_CLIENT_LENGTH * 4));
    if ([...client].length > MAX_CLIENT_LENGTH) client = [...client].slice(0, MAX_CLIENT_LENGTH).join('');
  }
  return { ok: true, value: { utMetadata, metadataSize, client } };
}

// ---------------------------------------------------------------------------------------------
// BEP 9 ut_metadata

const UT_REQUEST = 0;
const UT_DATA = 1;
const UT_REJECT = 2;

export type MetadataMessage =
  | { type: 'request'; piece: number }
  | { type: 'reject'; piece: number }
  /** `data` aliases the input. */
  | { type: 'data'; piece: number; totalSize: number; data: Uint8Array };

/** Number of 16 KiB pieces of an info dictionary of `size` bytes. */
export function metadataPieces(size: number): number {
  return Math.ceil(size / METADATA_PIECE_LENGTH);
}

/** Byte length of piece `piece` of an info dictionary of `size` bytes. */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE_LENGTH, size - piece * METADATA_PIECE_LENGTH);
}

export function encodeMetadataRequest(peerExtId: number, piece: number): Uint8Array {
  return encodeExtended(peerExtId, encode({ msg_type: UT_REQUEST, piece }));
}

export function encodeMetadataReject(peerExtId: number, piece: number): Uint8Array {
  return encodeExtended(peerExtId, encode({ msg_type: UT_REJECT, piece }));
}

export function encodeMetadataData(peerExtId: number, piece: number, totalSize: number, data: Uint8Array): Uint8Array {
  const head = encode({ msg_type: UT_DATA, piece, total_size: totalSize });
  const body = new Uint8Array(head.length + data.length);
  body.set(head);
  body.set(data, head.length);
  return encodeExtended(peerExtId, body);
}

/**
 * A ut_metadata message body (after the sub-id), checked against the info dictionary's size as
 * the peer announced it: the piece index in range, `total_size` equal to that size, the data
 * exactly as long as that piece. Only a data message may carry bytes after its dict.
 */
export function parseMetadataMessage(body: Uint8Array, metadataSize: number): Result<MetadataMessage, WireError> {
  const fail = (code: WireError['code'], message: string): Result<MetadataMessage, WireError> => ({ ok: false, error: wireError(code, `ut_metadata: ${message}`) });
  const err = scan(body, { maxDepth: 2, maxTokens: 32, maxStringLength: 256, allowTrailing: true }, tape);
  if (err) return { ok: false, error: { ...err, message: `ut_metadata: ${err.message}` } };
  if (tape.kind(0) !== 3) return fail('not_dict', 'message is not a dictionary');
  const dictEnd = tape.rootEnd;
  const d = decode(body.subarray(0, dictEnd), { maxDepth: 2, maxTokens: 32, maxStringLength: 256 });
  if (!d.ok || !isDict(d.value)) return fail('syntax', 'message is not a dictionary');
  const dict = d.value;
  const type = dict.msg_type;
  const piece = dict.piece;
  if (typeof type !== 'number') return fail('missing_key', 'no integer msg_type');
  if (typeof piece !== 'number') return fail('missing_key', 'no integer piece');
  const pieces = metadataPieces(metadataSize);
  if (piece < 0 || piece >= pieces) return fail('bad_value', `piece ${piece} outside 0..${pieces - 1}`);
  if (type === UT_REQUEST || type === UT_REJECT) {
    if (dictEnd !== body.length) return fail('trailing', `${body.length - dictEnd} bytes after a ${type === UT_REQUEST ? 'request' : 'reject'}`);
    return { ok: true, value: { type: type === UT_REQUEST ? 'request' : 'reject', piece } };
  }
  if (type !== UT_DATA) return fail('bad_value', `unknown msg_type ${type}`);
  const total = dict.total_size;
  if (typeof total !== 'number') return fail('missing_key', 'data without an integer total_size');
  if (total !== metadataSize) return fail('bad_value', `total_size ${total} differs from the announced metadata_size ${metadataSize}`);
  const want = metadataPieceLength(metadataSize, piece);
  const got = body.length - dictEnd;
  if (got !== want) return fail('bad_length', `piece ${piece} has ${got} bytes, expected ${want}`);
  return { ok: true, value: { type: 'data', piece, totalSize: total, data: body.subarray(dictEnd) } };
}

// ---------------------------------------------------------------------------------------------

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes as text: UTF-8 when they are valid UTF-8; otherwise ASCII kept and every other byte
 * written as `\xNN`, so a name in a legacy encoding is shown (and stays distinct) instead of
 * failing or turning into replacement characters.
 */
export function textOf(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    let s = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      s += b < 0x80 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    }
    return s;
  }
}
