// db copy: streams one store into another in batches (one transaction each). Every import merges
// idempotently, so a copy cut short (Ctrl-C, a lost connection) is finished by running it again.
import type { InfohashRow, InfohashStore, NodeRow } from './types.js';

export interface CopyCounts {
  infohashes: number;
  torrents: number;
  newInfohashes: number;
  nodes: number;
  newNodes: number;
  runs: number;
  ms: number;
}

export interface CopyOptions {
  /** Rows per transaction (default 5000). */
  batch?: number;
  /** Stops between batches; what was committed stays. */
  signal?: AbortSignal;
  onProgress?(counts: CopyCounts): void;
}

export async function copyStore(from: InfohashStore, to: InfohashStore, options: CopyOptions = {}): Promise<CopyCounts> {
  const started = Date.now();
  const size = options.batch ?? 5000;
  const counts: CopyCounts = { infohashes: 0, torrents: 0, newInfohashes: 0, nodes: 0, newNodes: 0, runs: 0, ms: 0 };
  const stopped = (): boolean => options.signal?.aborted === true;
  const report = (): void => {
    counts.ms = Date.now() - started;
    options.onProgress?.(counts);
  };

  let infohashes: InfohashRow[] = [];
  const flushInfohashes = async (): Promise<void> => {
    counts.newInfohashes += await to.importInfohashes(infohashes);
    counts.infohashes += infohashes.length;
    infohashes = [];
    report();
  };
  for await (const row of from.listInfohashes({ order: 'infohash' })) {
    if (stopped()) break;
    infohashes.push(row);
    if (infohashes.length >= size) await flushInfohashes();
  }
  if (!stopped() && infohashes.length > 0) await flushInfohashes();

  let nodes: NodeRow[] = [];
  const flushNodes = async (): Promise<void> => {
    counts.newNodes += await to.importNodes(nodes);
    counts.nodes += nodes.length;
    nodes = [];
    report();
  };
  if (!stopped()) {
    for await (const row of from.listNodes()) {
      if (stopped()) break;
      nodes.push(row);
      if (nodes.length >= size) await flushNodes();
    }
    if (!stopped() && nodes.length > 0) await flushNodes();
  }
  // torrents after the infohashes they name; saving one again replaces it with the same data
  if (!stopped()) {
    for await (const t of from.listTorrents()) {
      if (stopped()) break;
      await to.saveTorrent({
        infohash: Buffer.from(t.infohash, 'hex'),
        name: t.name,
        totalSize: t.total_size,
        pieceLength: t.piece_length,
        pieces: t.pieces,
        private: t.private,
        version: t.version,
        files: t.files,
        fetchedAt: t.fetched_at,
        sourceAddr: t.source_addr,
        sourceClient: t.source_client,
      });
      counts.torrents++;
      if (counts.torrents % 1000 === 0) report();
    }
  }
  if (!stopped()) counts.runs = await to.importRuns(await from.listRuns());
  counts.ms = Date.now() - started;
  return counts;
}
