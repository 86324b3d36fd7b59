// The metadata of one infohash: peers from the magnet's x.pe first, then from a get_peers
// lookup (started at once, in parallel), each tried over TCP until one hands over an info
// dictionary that hashes to the infohash. Bounded: connections per infohash, the run's shared
// ConnectionLimits (total and per IP), a deadline per peer and one per infohash.
import { randomBytes } from 'node:crypto';
import { formatEndpoint } from '../net/address.js';
import type { PeerInfo } from '../wire/types.js';
import { decodeInfo, type TorrentInfo } from './info.js';
import type { ConnectionLimits } from './limits.js';
import { fetchFromPeer, type PeerFailure, type PeerFetchResult } from './peer-fetch.js';

export interface MetadataFetchOptions {
  limits: ConnectionLimits;
  /** Connections at once for this infohash. */
  perInfohash: number;
  deadlineMs: number;
  peerDeadlineMs: number;
  stallMs?: number;
  /** Most peers tried for one infohash. */
  maxPeers?: number;
  /** Why we must not connect to host:port (bogon, port 0, outside loopback), or null. */
  refusal: (host: string, port: number) => string | null;
  /** The swarm's peers (a get_peers lookup); absent: only the given peers are tried. */
  lookup?: (infohash: Uint8Array, signal: AbortSignal) => Promise<PeerInfo[]>;
  /** Default: a fresh random id per connection (libtorrent drops a second connection with an id it already has on that torrent). */
  peerId?: Uint8Array;
  /** Our `v` in the extension handshake. */
  client?: string;
  signal?: AbortSignal;
}

export interface MetadataResult {
  infohash: Uint8Array;
  ok: boolean;
  info?: TorrentInfo;
  /** The info dictionary exactly as received (hashes to the infohash). */
  raw?: Uint8Array;
  peer?: { address: string; client: string | null };
  peersTried: number;
  /** Peers found (x.pe and lookup), distinct, before the address policy. */
  peersFound: number;
  /** Peers not connected to because of the address policy. */
  peersRefused: number;
  failures: Partial<Record<PeerFailure, number>>;
  ms: number;
  error?: string;
  /** Cut short by the caller's signal (Ctrl-C): neither printed nor stored. */
  aborted: boolean;
}

export const DEFAULT_MAX_PEERS = 50;

/** Azureus-style peer id: -BS0100- and 12 random bytes. */
export function newPeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode('-BS0100-'));
  id.set(randomBytes(12), 8);
  return id;
}

export async function fetchMetadata(infohash: Uint8Array, direct: readonly PeerInfo[], opts: MetadataFetchOptions): Promise<MetadataResult> {
  const started = performance.now();
  const ctrl = new AbortController();
  const onOuterAbort = (): void => ctrl.abort();
  if (opts.signal?.aborted) ctrl.abort();
  else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, opts.deadlineMs);
  const maxPeers = opts.maxPeers ?? DEFAULT_MAX_PEERS;

  const seen = new Set<string>();
  const queue: PeerInfo[] = [];
  let refused = 0;
  let tried = 0;
  const failures: Partial<Record<PeerFailure, number>> = {};
  let wake: () => void = () => undefined;
  let woken = new Promise<void>((r) => (wake = r));
  const notify = (): void => {
    wake();
    woken = new Promise<void>((r) => (wake = r));
  };
  const add = (peers: readonly PeerInfo[]): void => {
    for (const p of peers) {
      const key = formatEndpoint(p.host, p.port);
      if (seen.has(key)) continue;
      seen.add(key);
      if (opts.refusal(p.host, p.port) !== null) refused++;
      else queue.push(p);
    }
    notify();
  };
  add(direct);

  let lookupPending = opts.lookup !== undefined;
  let lookupError: string | null = null;
  if (opts.lookup) {
    opts
      .lookup(infohash, ctrl.signal)
      .then(add, (err: Error) => (lookupError = err.message))
      .finally(() => {
        lookupPending = false;
        notify();
      });
  }
  const aborted = new Promise<void>((r) => ctrl.signal.addEventListener('abort', () => r(), { once: true }));

  let winner: { peer: PeerInfo; result: Extract<PeerFetchResult, { ok: true }> } | null = null;
  const worker = async (): Promise<void> => {
    while (!ctrl.signal.aborted) {
      const peer = tried < maxPeers ? queue.shift() : undefined;
      if (!peer) {
        if (!lookupPending || tried >= maxPeers) return;
        await Promise.race([woken, aborted]);
        continue;
      }
      const release = await opts.limits.acquire(peer.host, ctrl.signal);
      if (!release) return;
      tried++;
      let r: PeerFetchResult;
      try {
        r = await fetchFromPeer({
          host: peer.host,
          port: peer.port,
          infohash,
          peerId: opts.peerId ?? newPeerId(),
          deadlineMs: opts.peerDeadlineMs,
          ...(opts.stallMs !== undefined ? { stallMs: opts.stallMs } : {}),
          signal: ctrl.signal,
          ...(opts.client !== undefined ? { client: opts.client } : {}),
        });
      } finally {
        release();
      }
      if (r.ok) {
        if (!winner) winner = { peer, result: r };
        ctrl.abort();
        return;
      }
      // A connection cut by our own stop (a winner elsewhere, the deadline) says nothing of the peer.
      if (r.reason !== 'aborted') failures[r.reason] = (failures[r.reason] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.perInfohash) }, worker));
  ctrl.abort(); // ends a lookup still running
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onOuterAbort);

  const base = {
    infohash,
    peersTried: tried,
    peersFound: seen.size,
    peersRefused: refused,
    failures,
    ms: performance.now() - started,
    aborted: Boolean(opts.signal?.aborted) && !winner,
  };
  const won = winner as { peer: PeerInfo; result: Extract<PeerFetchResult, { ok: true }> } | null;
  if (won) {
    const peer = { address: formatEndpoint(won.peer.host, won.peer.port), client: won.result.client };
    const info = decodeInfo(won.result.info);
    // It hashed right, so every honest peer would send the same bytes: no point asking another.
    if (!info.ok) return { ...base, ok: false, peer, error: info.error, raw: won.result.info };
    return { ...base, ok: true, info: info.value, raw: won.result.info, peer };
  }
  return { ...base, ok: false, error: failureText(base, timedOut, lookupError) };
}

function failureText(r: Pick<MetadataResult, 'peersTried' | 'peersFound' | 'peersRefused' | 'failures'>, timedOut: boolean, lookupError: string | null): string {
  const reasons = Object.entries(r.failures)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k.replace(/_/g, ' ')}`)
    .join(', ');
  const head = timedOut ? 'deadline passed' : r.peersFound === 0 ? 'no peers found' : 'no peer gave the metadata';
  const parts = [`${r.peersTried} peer${r.peersTried === 1 ? '' : 's'} tried${reasons ? ` (${reasons})` : ''}`];
  if (r.peersRefused > 0) parts.push(`${r.peersRefused} refused by the address policy`);
  if (lookupError) parts.push(`lookup failed: ${lookupError}`);
  return `${head}: ${parts.join('; ')}`;
}
