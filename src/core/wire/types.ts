// Shared wire-level types. Pure: no I/O, no timers.

/** A value that never throws: decoders and queries return this instead. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** A decoded bencode value. Byte strings stay bytes; dict keys are byte strings read as latin1. */
export type BValue = number | bigint | Uint8Array | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}
/** What the encoder accepts: a BValue, or a JS string (encoded as UTF-8). */
export type BEncodable = BValue | string | BEncodable[] | { [key: string]: BEncodable | undefined };

export type WireErrorCode =
  | 'empty'
  | 'not_dict' // root is not a dictionary
  | 'syntax' // bad bencode syntax (leading zero, bad char, -0, ...)
  | 'truncated' // a length or container runs past the end
  | 'trailing' // bytes after the root value
  | 'too_deep'
  | 'too_many_tokens'
  | 'too_long' // a string longer than allowed
  | 'duplicate_key'
  | 'unsorted_keys' // only reported where canonical form is required (BEP 44 v)
  | 'missing_key'
  | 'bad_type'
  | 'bad_length'
  | 'bad_value';

export interface WireError {
  code: WireErrorCode;
  message: string;
  /** Transaction id, when the envelope was readable enough to answer with a 203. */
  t?: Uint8Array;
  /** 'q' when the datagram was a query, so a responder may answer 203. */
  y?: string;
  /**
   * For a malformed query: the KRPC error code to answer with. 203 (protocol error) unless the
   * fault has its own code: 205 (BEP 44 `v` too big), 207 (salt too big). Absent when the
   * datagram should be dropped silently.
   */
  krpcCode?: number;
}

export type Family = 4 | 6;

/** A peer endpoint (compact peer info, BEP 5 / 32). host is a canonical IP string. */
export interface PeerInfo {
  host: string;
  port: number;
  family: Family;
}

/** A node contact (compact node info). */
export interface NodeInfo extends PeerInfo {
  id: Uint8Array;
}

export type QueryMethod =
  | 'ping'
  | 'find_node'
  | 'get_peers'
  | 'announce_peer'
  | 'sample_infohashes'
  | 'get'
  | 'put';

/** Arguments of a query, validated per method. Unknown keys are kept in `raw`. */
export interface QueryArgs {
  id: Uint8Array;
  target?: Uint8Array;
  info_hash?: Uint8Array;
  token?: Uint8Array;
  port?: number;
  implied_port?: boolean;
  seed?: boolean;
  noseed?: boolean;
  scrape?: boolean;
  want?: string[];
  // BEP 44
  v?: BValue;
  /** The raw canonical bytes of `v` as they appeared on the wire (BEP 44 hashing/signing). */
  v_raw?: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  seq?: bigint;
  cas?: bigint;
  salt?: Uint8Array;
}

/** Response body fields, validated by type; which ones a method requires is checked by the caller. */
export interface ResponseBody {
  id: Uint8Array;
  nodes?: NodeInfo[];
  nodes6?: NodeInfo[];
  values?: PeerInfo[];
  token?: Uint8Array;
  // BEP 51
  samples?: Uint8Array[];
  num?: number;
  interval?: number;
  // BEP 33 (BFse, mldht's spelling, is read into BFsd)
  BFsd?: Uint8Array;
  BFpe?: Uint8Array;
  // BEP 44
  v?: BValue;
  v_raw?: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  seq?: bigint;
}

interface Envelope {
  t: Uint8Array;
  /** Client version tag (BEP 20 style), raw. */
  v?: Uint8Array;
  /** BEP 42: our address as the remote saw it. */
  ip?: PeerInfo;
  /** BEP 43 read-only flag (queries). */
  ro?: boolean;
  /** Lenient readings applied while decoding (e.g. a nodes string with a ragged tail). */
  warnings?: string[];
}

export interface KrpcQuery extends Envelope {
  y: 'q';
  /** Method name as sent (may be unknown to us). */
  q: string;
  a: QueryArgs;
  /** The whole `a` dict, unknown keys included. */
  rawArgs: BDict;
}

export interface KrpcResponse extends Envelope {
  y: 'r';
  r: ResponseBody;
  /** The whole `r` dict, unknown keys included. */
  rawBody: BDict;
}

export interface KrpcErrorMessage extends Envelope {
  y: 'e';
  code: number;
  message: string;
}

export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcErrorMessage;

export const KRPC_ERRORS = {
  GENERIC: 201,
  SERVER: 202,
  PROTOCOL: 203,
  METHOD_UNKNOWN: 204,
  V_TOO_BIG: 205,
  BAD_SIGNATURE: 206,
  SALT_TOO_BIG: 207,
  CAS_MISMATCH: 301,
  SEQ_TOO_OLD: 302,
} as const;
