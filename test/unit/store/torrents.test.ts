// Torrent metadata in the crawl database: stored with its files, shown, searched by the words of
// its name and paths (FTS5), listed by name, and the infohashes still without metadata.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore, ftsQuery, type TorrentRecord } from '../../../src/core/crawl/store/index.js';
import { hex, ih, tempDir } from './helpers.js';

function torrent(n: number, name: string, paths: string[], extra: Partial<TorrentRecord> = {}): TorrentRecord {
  return {
    infohash: ih(n),
    name,
    totalSize: paths.length * 100,
    pieceLength: 16384,
    pieces: 1,
    private: false,
    version: '1',
    files: paths.map((path) => ({ path, length: 100 })),
    fetchedAt: 1000 + n,
    sourceAddr: '127.0.0.1:6881',
    sourceClient: 'libtorrent/2.0.8.0',
    ...extra,
  };
}

function open(): SqliteStore {
  return new SqliteStore(join(tempDir(), 'c.db'));
}

describe('torrents in the store', () => {
  it('stores a torrent with its files and shows it', () => {
    const store = open();
    expect(store.saveTorrent(torrent(1, 'Ubuntu 24.04 Desktop', ['ubuntu.iso', 'SHA256SUMS'], { private: true }))).toBe(true);
    expect(store.showTorrent(ih(1))).toEqual({
      infohash: hex(ih(1)),
      name: 'Ubuntu 24.04 Desktop',
      total_size: 200,
      piece_length: 16384,
      pieces: 1,
      private: true,
      version: '1',
      file_count: 2,
      fetched_at: 1001,
      source_addr: '127.0.0.1:6881',
      source_client: 'libtorrent/2.0.8.0',
      files: [
        { path: 'ubuntu.iso', length: 100 },
        { path: 'SHA256SUMS', length: 100 },
      ],
    });
    expect(store.showTorrent(ih(2))).toBeNull();
    store.close();
  });

  it('finds torrents by words of the name and of file paths, case-insensitively, name matches first', () => {
    const store = open();
    store.saveTorrent(torrent(1, 'rp000005.bin', ['rp000005.bin']));
    store.saveTorrent(torrent(2, 'Holiday photos', ['2023/Beach_day/IMG_0001.JPG', 'notes about ubuntu.txt']));
    store.saveTorrent(torrent(3, 'Ubuntu Server', ['ubuntu-server.iso']));
    store.saveTorrent(torrent(4, 'Café Crème', ['menu.pdf']));
    const names = (q: string) => store.searchTorrents(q, 10).map((h) => h.name);
    expect(names('rp000005')).toEqual(['rp000005.bin']);
    expect(names('RP000005 bin')).toEqual(['rp000005.bin']);
    expect(names('img_0001')).toEqual(['Holiday photos']);
    expect(names('beach')).toEqual(['Holiday photos']);
    expect(names('ubuntu')).toEqual(['Ubuntu Server', 'Holiday photos']);
    expect(names('ubuntu server')).toEqual(['Ubuntu Server']);
    expect(names('cafe')).toEqual(['Café Crème']);
    expect(names('nothing-here')).toEqual([]);
    expect(names('"; DROP TABLE torrents; --')).toEqual([]);
    expect(names('(ubuntu*')).toEqual(['Ubuntu Server', 'Holiday photos']);
    expect(store.searchTorrents('ubuntu', 1)).toEqual([{ infohash: hex(ih(3)), name: 'Ubuntu Server', total_size: 100, file_count: 1 }]);
    store.close();
  });

  it('replaces a torrent saved again (files and index follow)', () => {
    const store = open();
    store.saveTorrent(torrent(1, 'old name', ['a.txt', 'b.txt']));
    expect(store.saveTorrent(torrent(1, 'new name', ['c.txt']))).toBe(false);
    expect(store.showTorrent(ih(1))?.files).toEqual([{ path: 'c.txt', length: 100 }]);
    expect(store.searchTorrents('old', 10)).toEqual([]);
    expect(store.searchTorrents('new', 10)).toHaveLength(1);
    store.close();
  });

  it('lists names with the infohashes and tells which have no metadata yet', () => {
    const store = open();
    store.recordInfohashes([1, 2, 3].map((n) => ({ infohash: ih(n), seenAt: 100 * n })));
    store.saveTorrent(torrent(2, 'two', ['2.bin']));
    expect([...store.listInfohashes()].map((r) => r.name)).toEqual([null, 'two', null]);
    expect(store.missingMetadata().map(hex)).toEqual([hex(ih(1)), hex(ih(3))]);
    expect(store.missingMetadata(1).map(hex)).toEqual([hex(ih(1))]);
    store.close();
  });

  it('quotes every word of a query, so FTS5 syntax is text', () => {
    expect(ftsQuery('rp000005.bin')).toBe('"rp000005" "bin"');
    expect(ftsQuery('a* OR "b"')).toBe('"a" "OR" "b"');
    expect(ftsQuery(' -- ')).toBeNull();
  });
});
