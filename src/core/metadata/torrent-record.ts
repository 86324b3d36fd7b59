// A fetched torrent as a row of the crawl database.
import type { TorrentRecord } from '../store/torrents.js';
import type { MetadataResult } from './fetcher.js';

/** The database row of a fetched torrent (r.ok). */
export function torrentRecord(r: MetadataResult, fetchedAt: number): TorrentRecord {
  const info = r.info!;
  return {
    infohash: r.infohash,
    name: info.name,
    totalSize: info.totalSize,
    pieceLength: info.pieceLength,
    pieces: info.pieces,
    private: info.private,
    version: String(info.version),
    files: info.files,
    fetchedAt,
    sourceAddr: r.peer?.address ?? null,
    sourceClient: r.peer?.client ?? null,
  };
}
