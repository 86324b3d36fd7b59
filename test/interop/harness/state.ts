// The shape of the state file launch_network.py writes once its libtorrent network is ready.
// Field names are the file's own (snake_case, as written by Python).

export type LtFamily = 'v4' | 'v6';

export interface LtNode {
  index: number;
  family: LtFamily;
  host: string;
  port: number;
  /** 40 hex chars; null if the node did not answer the final ping. */
  id: string | null;
}

export interface LtAnnouncer {
  /** Index of the announcing node. */
  node: number;
  /** The peer endpoints it is stored under ("host:port" / "[::1]:port"), one per family. */
  peers: string[];
}

export interface LtInfohash {
  index: number;
  /** 40 hex chars; the same for a given index on every run. */
  info_hash: string;
  name: string;
  /** Big torrents only (bigTorrents): their file count and info dictionary size in bytes. */
  files?: number;
  metadata_size?: number;
  seeders: LtAnnouncer[];
  leechers: LtAnnouncer[];
  /** Node indices whose get_peers returned values (absent with verification off). */
  holders?: Partial<Record<LtFamily, number[]>>;
  holder_endpoints?: Partial<Record<LtFamily, string[]>>;
  /** Union of the peers those holders returned. */
  stored_peers?: Partial<Record<LtFamily, string[]>>;
}

export interface LibtorrentState {
  format: 1;
  /** e.g. "libtorrent-rasterbar 2.0.8.0". */
  implementation: string;
  /** Hex of the `v` the nodes send ("4c540208" = "LT\x02\x08"). */
  version_hex: string[];
  pid: number;
  families: LtFamily[];
  distinct_ips: boolean;
  base_port: number;
  /** "host:port" of node 0, one per family. */
  bootstrap: string[];
  /** Each info-hash is stored on at least this many nodes (0 when not verified). */
  min_holders: number;
  verified: boolean;
  /** One entry per node and family. */
  nodes: LtNode[];
  infohashes: LtInfohash[];
  settings: Record<string, number | boolean | string>;
  timings: Record<string, number>;
  rss_kb: number | null;
  workdir: string;
}
