// Torrent metadata through the store contract: stored with its files, shown, searched by the
// words of its name and paths, listed by name, and the infohashes still without metadata. Run
// against SQLite (FTS5) and PostgreSQL (indexed words) by contract.ts.
import { describe, expect, it } from 'vitest';
import type { InfohashRow, InfohashStore, TorrentRecord } from '../../../src/core/store/types.js';
import { hex, ih } from './helpers.js';

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

async function all(rows: Iterable<InfohashRow> | AsyncIterable<InfohashRow>): Promise<InfohashRow[]> {
  const out: InfohashRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

export function torrentContract(name: string, open: () => Promise<InfohashStore>): void {
  describe(`torrents in the store: ${name}`, () => {
  it('stores a torrent with its files and shows it', async () => {
    const store = await open();
    expect(await store.saveTorrent(torrent(1, 'Ubuntu 24.04 Desktop', ['ubuntu.iso', 'SHA256SUMS'], { private: true }))).toBe(true);
    expect(await store.showTorrent(ih(1))).toEqual({
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
    expect(await store.showTorrent(ih(2))).toBeNull();
    await store.close();
  });

  it('finds torrents by words of the name and of file paths, case-insensitively, name matches first', async () => {
    const store = await open();
    await store.saveTorrent(torrent(1, 'rp000005.bin', ['rp000005.bin']));
    await store.saveTorrent(torrent(2, 'Holiday photos', ['2023/Beach_day/IMG_0001.JPG', 'notes about ubuntu.txt']));
    await store.saveTorrent(torrent(3, 'Ubuntu Server', ['ubuntu-server.iso']));
    await store.saveTorrent(torrent(4, 'Café Crème', ['menu.pdf']));
    const names = async (q: string): Promise<string[]> => (await store.searchTorrents(q, 10)).map((h) => h.name);
    expect(await names('rp000005')).toEqual(['rp000005.bin']);
    expect(await names('RP000005 bin')).toEqual(['rp000005.bin']);
    expect(await names('img_0001')).toEqual(['Holiday photos']);
    expect(await names('beach')).toEqual(['Holiday photos']);
    expect(await names('ubuntu')).toEqual(['Ubuntu Server', 'Holiday photos']);
    expect(await names('ubuntu server')).toEqual(['Ubuntu Server']);
    expect(await names('cafe')).toEqual(['Café Crème']);
    expect(await names('nothing-here')).toEqual([]);
    expect(await names('"; DROP TABLE torrents; --')).toEqual([]);
    expect(await names('(ubuntu*')).toEqual(['Ubuntu Server', 'Holiday photos']);
    expect(await store.searchTorrents('ubuntu', 1)).toEqual([{ infohash: hex(ih(3)), name: 'Ubuntu Server', total_size: 100, file_count: 1 }]);
    await store.close();
  });

  it('replaces a torrent saved again (files and index follow)', async () => {
    const store = await open();
    await store.saveTorrent(torrent(1, 'old name', ['a.txt', 'b.txt']));
    expect(await store.saveTorrent(torrent(1, 'new name', ['c.txt']))).toBe(false);
    expect((await store.showTorrent(ih(1)))?.files).toEqual([{ path: 'c.txt', length: 100 }]);
    expect(await store.searchTorrents('old', 10)).toEqual([]);
    expect(await store.searchTorrents('new', 10)).toHaveLength(1);
    await store.close();
  });

  it('lists names with the infohashes and tells which have no metadata yet', async () => {
    const store = await open();
    await store.recordInfohashes([1, 2, 3].map((n) => ({ infohash: ih(n), seenAt: 100 * n })));
    await store.saveTorrent(torrent(2, 'two', ['2.bin']));
    expect((await all(store.listInfohashes())).map((r) => r.name)).toEqual([null, 'two', null]);
    expect((await store.missingMetadata()).map(hex)).toEqual([hex(ih(1)), hex(ih(3))]);
    expect((await store.missingMetadata(1)).map(hex)).toEqual([hex(ih(1))]);
    await store.close();
  });

  it('report: torrent counts, the largest and best seeded, bytes per file type', async () => {
    const store = await open();
    await store.recordInfohashes([1, 2, 3].map((n) => ({ infohash: ih(n), seenAt: 100 * n })));
    await store.saveTorrent({ ...torrent(1, 'Big', ['movie.MKV', 'sub/movie.srt', 'README']), totalSize: 5000, files: [{ path: 'movie.MKV', length: 4900 }, { path: 'sub/movie.srt', length: 60 }, { path: 'README', length: 40 }] });
    await store.saveTorrent({ ...torrent(2, 'Small', ['a.tar.gz', 'dir.d/file']), totalSize: 300, files: [{ path: 'a.tar.gz', length: 200 }, { path: 'dir.d/file', length: 100 }] });
    await store.updateScrape([{ infohash: ih(2), seeders: 9, leechers: 1, peers: 10, scrapedAt: 1 }]);
    const t = (await store.reportData({})).torrents;
    expect(t.count).toBe(2);
    expect(t.total_size).toBe(5300);
    expect(t.largest.map((r) => r.name)).toEqual(['Big', 'Small']);
    expect(t.largest[0]).toMatchObject({ infohash: hex(ih(1)), total_size: 5000, file_count: 3, seeders: null });
    expect(t.bestSeeded).toEqual([{ infohash: hex(ih(2)), name: 'Small', total_size: 300, file_count: 2, seeders: 9, leechers: 1 }]);
    expect(t.fileTypes).toEqual([
      { ext: 'mkv', bytes: 4900, files: 1 },
      { ext: 'gz', bytes: 200, files: 1 },
      { ext: '', bytes: 140, files: 2 },
      { ext: 'srt', bytes: 60, files: 1 },
    ]);
    expect((await store.reportData({ since: 250 })).torrents.count).toBe(0);
    await store.close();
  });
});
}
