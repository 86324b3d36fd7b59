// Fetching torrent metadata (BEP 9/10) for infohashes, and its NDJSON record.
import { toHex } from '../wire/hex.js';
import type { MetadataResult } from './fetcher.js';

export { decodeInfo, MAX_FILES, type InfoFile, type TorrentInfo } from './info.js';
export { ConnectionLimits } from './limits.js';
export { fetchFromPeer, PEER_FAILURES, DEFAULT_STALL_MS, type PeerFailure, type PeerFetchOptions, type PeerFetchResult } from './peer-fetch.js';
export { torrentRecord } from './torrent-record.js';
export { MetadataQueue, type MetadataQueueOptions, type MetadataQueueStore, type QueueTally } from './queue.js';
export { fetchMetadata, newPeerId, DEFAULT_MAX_PEERS, type MetadataFetchOptions, type MetadataResult } from './fetcher.js';

/** The NDJSON record of one infohash (docs/output.md, `metadata`). */
export function metadataRecord(r: MetadataResult): Record<string, unknown> {
  const info = r.ok ? r.info : undefined;
  return {
    infohash: toHex(r.infohash),
    ok: r.ok,
    ...(info
      ? {
          name: info.name,
          total_size: info.totalSize,
          files: info.files.map((f) => ({ path: f.path, length: f.length })),
          piece_length: info.pieceLength,
          pieces: info.pieces,
          private: info.private,
          version: info.version,
        }
      : {}),
    ...(r.peer ? { peer: r.peer } : {}),
    peers_tried: r.peersTried,
    ms: Math.round(r.ms),
    ...(r.ok ? {} : { error: r.error ?? 'failed' }),
  };
}

/** A .torrent holding just the info dictionary, byte for byte as received: `d4:info<info>e`. */
export function torrentFileBytes(info: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode('d4:info');
  const out = new Uint8Array(head.length + info.length + 1);
  out.set(head);
  out.set(info, head.length);
  out[out.length - 1] = 0x65; // 'e'
  return out;
}
