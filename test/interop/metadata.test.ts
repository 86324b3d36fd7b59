// BEP 9/10 against real libtorrent seeders on loopback: infohashes found through a get_peers
// lookup, info dictionaries fetched over TCP (one-piece ones, and libtorrent-built torrents of
// 400 files whose dictionaries span several 16 KiB metadata pieces, hybrid v1+v2 and v1 only),
// names and file lists as libtorrent wrote them, .torrent files that hash to their infohash.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../support/cli.js';
import { useLibtorrentNetwork } from './harness/shared.js';

describe('metadata from a libtorrent network (10 nodes, 4 small torrents, 2 of 400 files)', () => {
  const net = useLibtorrentNetwork({ nodes: 10, infohashes: 4, bigTorrents: 2 });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitscrape-metadata-lt-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fetches every infohash found by lookup, multi-piece dictionaries included, and saves .torrent files that hash right', async () => {
    const { state, bootstrap } = net();
    const hashes = state.infohashes.map((ih) => ih.info_hash);
    const torrents = join(dir, 'torrents');
    const args = ['metadata', '--bootstrap', bootstrap[0], '--fresh', '--json', '--save-torrents', torrents, ...hashes];
    const r = await runCli(args, { timeoutMs: 60_000 });
    expect(r.code, `${JSON.stringify(args)}\n${r.stderr}`).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs.map((x) => x.infohash).sort()).toEqual([...hashes].sort());
    for (const ih of state.infohashes) {
      const rec = recs.find((x) => x.infohash === ih.info_hash)! as Record<string, any>;
      expect(rec.ok, JSON.stringify(rec)).toBe(true);
      expect(rec.name).toBe(ih.name);
      expect(rec.peer.client).toBe('libtorrent/2.0.8.0');
      expect(rec.peer.address).toMatch(/^127\.0\.0\.1:\d+$/);
      const saved = readFileSync(join(torrents, `${ih.info_hash}.torrent`));
      const info = saved.subarray(7, saved.length - 1);
      expect(createHash('sha1').update(info).digest('hex')).toBe(ih.info_hash);
      if (ih.files) {
        // hundreds of files: more than 40 KiB, so at least 3 metadata pieces
        expect(ih.metadata_size).toBeGreaterThan(40 * 1024);
        expect(info.length).toBe(ih.metadata_size);
        expect(rec.files).toHaveLength(ih.files);
        expect(rec.version).toBe(ih.name.endsWith('hybrid') ? 'hybrid' : 1);
        expect(rec.files[0]).toEqual({ path: 'dir00/file-00000-café-metadata-interop-' + 'x'.repeat(32) + '.bin', length: 31 });
        expect(rec.total_size).toBe(rec.files.reduce((a: number, f: { length: number }) => a + f.length, 0));
        expect(rec.piece_length).toBe(16384);
      } else {
        expect(rec).toMatchObject({ files: [{ path: ih.name, length: rec.total_size }], pieces: 1, private: false, version: 1 });
      }
    }
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ summary: 'metadata', infohashes: 6, fetched: 6, failed: 0, torrents_saved: 6 });
  }, 90_000);

  it("tries a magnet's x.pe peer directly (no lookup)", async () => {
    const { state } = net();
    const big = state.infohashes.find((ih) => ih.files)!;
    const seeder = big.seeders[0].peers[0];
    const magnet = `magnet:?xt=urn:btih:${big.info_hash}&dn=x&x.pe=${seeder}`;
    const r = await runCli(['metadata', '--no-lookup', '--json', magnet], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(ndjson(r.stdout)[0]).toMatchObject({ infohash: big.info_hash, ok: true, name: big.name, peer: { address: seeder }, peers_tried: 1 });
  }, 40_000);

  it('a peer without the torrent closes the connection: counted, exit 1', async () => {
    const { state } = net();
    const a = state.infohashes[0];
    // infohash k is held by nodes k and k+1 only: node 3 does not have infohash 0
    const stranger = state.infohashes[3].seeders[0].peers[0];
    expect([...a.seeders, ...a.leechers].flatMap((x) => x.peers)).not.toContain(stranger);
    const magnet = `magnet:?xt=urn:btih:${a.info_hash}&x.pe=${stranger}`;
    const r = await runCli(['metadata', '--no-lookup', '--json', magnet], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(ndjson(r.stdout)[0]).toMatchObject({ infohash: a.info_hash, ok: false, peers_tried: 1 });
    expect(String(ndjson(r.stdout)[0].error)).toMatch(/1 closed/);
  }, 40_000);
});
