// The public surface of the KRPC engine (implemented in krpc-engine.ts). Lookups, the responder,
// crawl strategies and commands program against these types only.
import type { KrpcView } from '../wire/krpc-view.js';
import type { BEncodable, KrpcErrorMessage, KrpcResponse, QueryMethod, WireError } from '../wire/types.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface QueryOptions {
  /** Per-attempt timeout; default from KrpcOptions.timeoutMs. */
  timeoutMs?: number;
  /** Extra attempts after a timeout (not after an error reply); default KrpcOptions.retries. */
  retries?: number;
  /** The node id we expect the reply to carry; a different id is reported as `id_mismatch`. */
  expectId?: Uint8Array;
  /** Skip the queue of the rate limiter (used by nothing on the public DHT; tests only). */
  noRateLimit?: boolean;
  /**
   * Called once when stallMs pass after the (first) send without a reply: the caller may stop
   * waiting (free a slot) while the query itself still waits for a late reply until its timeout.
   */
  onStall?: () => void;
  /** When onStall fires, ms after the send (an adaptive timeout); ignored when >= the timeout. */
  stallMs?: number;
}

export type QueryFailure =
  | { kind: 'timeout'; attempts: number }
  | { kind: 'error'; code: number; message: string; msg: KrpcErrorMessage; rttMs: number }
  /**
   * The reply decoded but lacked what the method requires (e.g. get_peers without token and nodes).
   * `msg` is that reply: a sample_infohashes answered with nodes only still carries usable contacts.
   */
  | { kind: 'bad_reply'; message: string; rttMs: number; msg?: KrpcResponse }
  | { kind: 'id_mismatch'; msg: KrpcResponse; rttMs: number }
  /** Refused locally: address policy (bogon, loopback-only), or the engine is closed. */
  | { kind: 'refused'; message: string };

export type QueryOutcome =
  | { ok: true; msg: KrpcResponse; rttMs: number; from: Endpoint }
  | ({ ok: false } & QueryFailure);

export interface KrpcCounters {
  sent: number;
  received: number;
  queriesSent: number;
  /** Of queriesSent, those to IPv6 destinations (a crawl reports its cost per family). */
  queriesSentV6?: number;
  responses: number;
  timeouts: number;
  errors: number;
  malformed: number;
  unmatched: number;
  queriesReceived: number;
  refused: number;
  rateLimited: number;
  /** Replies that decoded but lacked what the method requires (outcome bad_reply). */
  badReplies?: number;
  /** Replies whose id differed from QueryOptions.expectId (outcome id_mismatch). */
  idMismatches?: number;
  /** Exceptions thrown by onQuery/onMalformedQuery/onResponse callbacks, or encode failures in respond (caught). */
  handlerErrors?: number;
  byMethod: Record<string, { sent: number; ok: number; timeout: number; error: number }>;
  /** Replies by remote client tag (hex of `v`, or '' for none). */
  byVersion: Record<string, number>;
}

/**
 * Sees every well-formed incoming query as its scanned view, before any object is built: the
 * responder reads fields by offset; messageFromView (wire/krpc-codec.ts) builds the decoded query
 * for a handler that wants one. The view, and byte fields read from it, alias the datagram and
 * are valid only during the call.
 */
export type QueryHandler = (view: KrpcView, host: string, port: number) => void;
/** A datagram that failed to decode but was recognisably a query with a readable t (a 203 may be due). */
export type MalformedQueryHandler = (err: WireError, from: Endpoint) => void;
export type ResponseObserver = (msg: KrpcResponse, from: Endpoint, method: string) => void;

export interface KrpcEngine {
  readonly id: Uint8Array;
  /** Sends a query and resolves (never rejects) with the outcome. */
  query(to: Endpoint, method: QueryMethod | string, args: { [key: string]: BEncodable | undefined }, opts?: QueryOptions): Promise<QueryOutcome>;
  /** Incoming queries go to this handler (the responder); null drops them. */
  onQuery(handler: QueryHandler | null): void;
  /** Undecodable queries with a readable t go to this handler (the responder); null drops them. */
  onMalformedQuery(handler: MalformedQueryHandler | null): void;
  /** Sees every matched response (routing table updates, BEP 42 external-ip learning). */
  onResponse(observer: ResponseObserver): void;
  /** Send a response / error for a query we received (echoes t; adds ip, v). */
  respond(to: Endpoint, t: Uint8Array, body: { [key: string]: BEncodable | undefined }): void;
  respondError(to: Endpoint, t: Uint8Array, code: number, message: string): void;
  /** Sends pre-encoded bytes (hot-path responder templates). */
  sendRaw(to: Endpoint, data: Uint8Array): void;
  readonly counters: KrpcCounters;
  readonly inFlight: number;
  close(): Promise<void>;
}
