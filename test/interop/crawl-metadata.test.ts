// crawl --metadata on a 50-node libtorrent network: every infohash the crawl finds ends named in
// the database (the hybrid torrent under both its v1 and its v2 infohash), db search finds one by
// a word of its name, and .torrent files written from the database's infohashes hash right.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../support/cli.js';
import { useLibtorrentNetwork } from './harness/shared.js';

describe('crawl --metadata on a 50-node libtorrent network', () => {
  const net = useLibtorrentNetwork({ nodes: 50, infohashes: 20, bigTorrents: 2 });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitscrape-crawl-metadata-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names every infohash found, searchably; a second run has nothing left to do', async () => {
    const { state, bootstrap } = net();
    const db = join(dir, 'crawl.db');
    const r = await runCli(['crawl', '--bootstrap', bootstrap[0], '--fresh', '--db', db, '--metadata', '--json', '--duration', '60s'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const found = ndjson(r.stdout).map((x) => x.infohash as string);
    for (const ih of state.infohashes) expect(found).toContain(ih.info_hash);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.metadata).toMatchObject({ fetched: found.length, failed: 0, pending: 0, in_database: found.length });

    const list = await runCli(['db', 'list', '--db', db, '--json', '--limit', '1000'], { timeoutMs: 30_000 });
    const rows = ndjson(list.stdout);
    expect(rows).toHaveLength(found.length);
    for (const ih of state.infohashes) expect(rows.find((x) => x.infohash === ih.info_hash)?.name).toBe(ih.name);
    // libtorrent announces a hybrid torrent under its v2 infohash too: named the same
    const hybrid = state.infohashes.find((ih) => ih.name.endsWith('hybrid'))!;
    expect(rows.filter((x) => x.name === hybrid.name)).toHaveLength(2);

    const search = await runCli(['db', 'search', 'bs00007', '--db', db, '--json'], { timeoutMs: 30_000 });
    expect(search.code, search.stderr).toBe(0);
    expect(ndjson(search.stdout)).toEqual([{ infohash: state.infohashes[7].info_hash, name: 'bs00007.bin', total_size: 29, files: 1 }]);
    const byPath = await runCli(['db', 'search', 'file-00123', '--db', db, '--json'], { timeoutMs: 30_000 });
    expect(ndjson(byPath.stdout).map((x) => x.name).sort()).toEqual([hybrid.name, hybrid.name, 'bsbig021-v1'].sort());

    const again = await runCli(['crawl', '--bootstrap', bootstrap[0], '--fresh', '--db', db, '--metadata', '--json', '--duration', '60s'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stderr.trim().split('\n').pop()!).metadata).toMatchObject({ fetched: 0, failed: 0, pending: 0 });

    const torrents = join(dir, 'torrents');
    const saved = await runCli(['metadata', '--from-db', '--db', db, '--bootstrap', bootstrap[0], '--fresh', '--json', '--save-torrents', torrents], { timeoutMs: 120_000 });
    expect(saved.code, saved.stderr).toBe(0);
    const files = readdirSync(torrents);
    expect(files).toHaveLength(found.length);
    for (const f of files) {
      const info = readFileSync(join(torrents, f)).subarray(7, -1);
      const ih = f.replace('.torrent', '');
      const v1 = createHash('sha1').update(info).digest('hex');
      const v2 = createHash('sha256').update(info).digest('hex').slice(0, 40);
      expect([v1, v2]).toContain(ih);
    }
  }, 300_000);
});
