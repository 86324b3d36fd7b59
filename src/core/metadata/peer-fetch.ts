// One TCP connection to one peer, asking for one info dictionary (BEP 3 handshake with the
// extension bit, BEP 10 extension handshake, BEP 9 ut_metadata requests). Every way a peer can
// fail us ends the connection with a reason (counted by the caller), never a throw:
//   - a deadline for the whole exchange (a trickling peer cannot hold the slot),
//   - a stall guard: no useful message for `stallMs` ends it even before the deadline,
//   - every message strictly parsed (peer-wire.ts); the assembled dictionary SHA-1 checked.
import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import {
  HANDSHAKE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MSG_EXTENDED,
  EXT_HANDSHAKE,
  OUR_UT_METADATA_ID,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMetadataRequest,
  metadataPieceLength,
  metadataPieces,
  parseExtendedHandshake,
  parseHandshake,
  parseMetadataMessage,
  readFrame,
  METADATA_PIECE_LENGTH,
} from '../wire/peer-wire.js';

/** Why a peer gave us nothing; the summary counts these. */
export type PeerFailure =
  | 'connect' // refused, unreachable, reset before the handshake
  | 'timeout' // the per-peer deadline passed
  | 'stall' // nothing useful for stallMs
  | 'closed' // the peer closed mid-exchange (libtorrent does so when it lacks the torrent)
  | 'bad_handshake'
  | 'wrong_infohash'
  | 'no_extensions' // no BEP 10 bit in the handshake
  | 'no_metadata' // no ut_metadata, or no metadata_size
  | 'bad_size' // metadata_size 0 or above the cap
  | 'bad_message' // malformed frame, bencode, piece out of range, wrong data length
  | 'reject'
  | 'hash_mismatch'
  | 'aborted';

export const PEER_FAILURES: readonly PeerFailure[] = [
  'connect',
  'timeout',
  'stall',
  'closed',
  'bad_handshake',
  'wrong_infohash',
  'no_extensions',
  'no_metadata',
  'bad_size',
  'bad_message',
  'reject',
  'hash_mismatch',
  'aborted',
];

export type PeerFetchResult =
  | { ok: true; info: Uint8Array; client: string | null }
  | { ok: false; reason: PeerFailure; detail: string; client: string | null };

export interface PeerFetchOptions {
  host: string;
  port: number;
  infohash: Uint8Array;
  peerId: Uint8Array;
  /** Whole exchange, connect included. */
  deadlineMs: number;
  /** Longest wait for the next useful message (handshake, extension handshake, a piece). */
  stallMs?: number;
  /** ut_metadata requests in flight at once (libtorrent serves a few at a time). */
  window?: number;
  signal?: AbortSignal;
  client?: string;
}

export const DEFAULT_STALL_MS = 5000;
const DEFAULT_WINDOW = 2;

export function fetchFromPeer(opts: PeerFetchOptions): Promise<PeerFetchResult> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let settled = false;
    let client: string | null = null;
    let connected = false;
    // Received bytes not yet consumed; grows by concatenation, bounded by MAX_MESSAGE_LENGTH + a chunk.
    let buf: Uint8Array = new Uint8Array(0);
    let stage: 'handshake' | 'extended' | 'pieces' = 'handshake';
    let peerUt = 0;
    let size = 0;
    let info: Uint8Array | null = null;
    let received: Uint8Array | null = null;
    let next = 0;
    let inFlight = 0;
    let done = 0;
    const window = Math.max(1, opts.window ?? DEFAULT_WINDOW);
    const stallMs = opts.stallMs ?? DEFAULT_STALL_MS;

    const finish = (r: PeerFetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(stall);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const fail = (reason: PeerFailure, detail: string): void => finish({ ok: false, reason, detail, client });
    const deadline = setTimeout(() => fail('timeout', `no metadata within ${opts.deadlineMs} ms`), opts.deadlineMs);
    let stall = setTimeout(() => fail('stall', `nothing useful for ${stallMs} ms`), stallMs);
    const progress = (): void => {
      clearTimeout(stall);
      stall = setTimeout(() => fail('stall', `nothing useful for ${stallMs} ms`), stallMs);
    };
    const onAbort = (): void => fail('aborted', 'stopped');
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const request = (): void => {
      const pieces = metadataPieces(size);
      while (inFlight < window && next < pieces) {
        socket.write(encodeMetadataRequest(peerUt, next++));
        inFlight++;
      }
    };

    const onMessage = (id: number, payload: Uint8Array): void => {
      if (id !== MSG_EXTENDED || payload.length === 0) return; // bitfield, have, choke...: not ours
      const sub = payload[0];
      const body = payload.subarray(1);
      if (sub === EXT_HANDSHAKE) {
        if (stage !== 'extended') return; // a repeated extension handshake changes nothing we use
        const hs = parseExtendedHandshake(body);
        if (!hs.ok) return fail(hs.error.code === 'bad_value' && /metadata_size/.test(hs.error.message) ? 'bad_size' : 'bad_message', hs.error.message);
        client = hs.value.client;
        if (hs.value.utMetadata === null) return fail('no_metadata', 'peer does not offer ut_metadata');
        if (hs.value.metadataSize === null) return fail('no_metadata', 'peer announces no metadata_size');
        peerUt = hs.value.utMetadata;
        size = hs.value.metadataSize;
        received = new Uint8Array(metadataPieces(size));
        info = new Uint8Array(size);
        stage = 'pieces';
        progress();
        request();
        return;
      }
      if (sub !== OUR_UT_METADATA_ID || stage !== 'pieces') return; // other extensions (pex...)
      const m = parseMetadataMessage(body, size);
      if (!m.ok) return fail('bad_message', m.error.message);
      if (m.value.type === 'request') return; // we have nothing to give
      if (m.value.type === 'reject') return fail('reject', `peer rejected piece ${m.value.piece}`);
      const { piece, data } = m.value;
      if (received![piece]) return fail('bad_message', `piece ${piece} sent twice`);
      if (piece >= next) return fail('bad_message', `piece ${piece} was not requested`);
      received![piece] = 1;
      info!.set(data, piece * METADATA_PIECE_LENGTH);
      inFlight--;
      done++;
      progress();
      if (done === metadataPieces(size)) {
        if (!hashesTo(info!, opts.infohash)) return fail('hash_mismatch', 'the info dictionary does not hash to the infohash');
        return finish({ ok: true, info: info!, client });
      }
      request();
    };

    const onData = (chunk: Buffer): void => {
      if (settled) return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let off = 0;
      if (stage === 'handshake') {
        if (buf.length < HANDSHAKE_LENGTH) return;
        const hs = parseHandshake(buf.subarray(0, HANDSHAKE_LENGTH));
        if (!hs.ok) return fail('bad_handshake', hs.error.message);
        if (!Buffer.from(hs.value.infohash).equals(opts.infohash)) return fail('wrong_infohash', 'peer answered for another infohash');
        if (!hs.value.extensions) return fail('no_extensions', 'peer does not support BEP 10 extensions');
        stage = 'extended';
        off = HANDSHAKE_LENGTH;
        progress();
      }
      while (!settled) {
        const f = readFrame(buf, off, MAX_MESSAGE_LENGTH);
        if (f.kind === 'partial') break;
        if (f.kind === 'error') return fail('bad_message', f.error.message);
        off = f.end;
        if (f.kind === 'message') onMessage(f.id, f.payload);
      }
      // Keep only the unread tail (copied: the frame views into `buf` are done with).
      buf = off === 0 ? buf : buf.slice(off);
    };

    socket.on('data', onData);
    socket.on('error', (err) => fail(connected ? 'closed' : 'connect', err.message));
    socket.on('close', () => fail(connected ? 'closed' : 'connect', 'peer closed the connection'));
    socket.setNoDelay(true);
    socket.connect({ host: opts.host, port: opts.port }, () => {
      connected = true;
      socket.write(encodeHandshake(opts.infohash, opts.peerId, { extensions: true }));
      socket.write(encodeExtendedHandshake({ utMetadata: OUR_UT_METADATA_ID, ...(opts.client ? { client: opts.client } : {}) }));
    });
  });
}

/**
 * Whether `info` is the dictionary of `infohash`: its SHA-1 (v1), or its SHA-256 cut to 20 bytes
 * (BEP 52: how a v2 or hybrid torrent is announced on the DHT, next to its v1 hash).
 */
function hashesTo(info: Uint8Array, infohash: Uint8Array): boolean {
  if (createHash('sha1').update(info).digest().equals(infohash)) return true;
  return createHash('sha256').update(info).digest().subarray(0, 20).equals(infohash);
}
