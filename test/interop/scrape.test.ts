// BEP 33 against real libtorrent: each node on its own loopback address (the filters hash the
// IP, so on one shared address a whole swarm would count as 1), 3 seeders and 2 downloaders per
// infohash. libtorrent answers scrape=1 with filters instead of values, so the peer list also
// tests the follow-up get_peers to the storers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as runCliShared } from '../support/cli.js';
import { useLibtorrentNetwork } from './harness/shared.js';


// The shared runner, with this suite's environment (XDG dirs) and a time cap.
function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): ReturnType<typeof runCliShared> {
  return runCliShared(args, { env: env as Record<string, string>, input, timeoutMs: 50_000 });
}

const records = (out: string): Array<Record<string, any>> =>
  out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

describe('scrape on a libtorrent network with distinct IPs (3 seeders, 2 downloaders each)', () => {
  const net = useLibtorrentNetwork({ nodes: 20, infohashes: 5, seeders: 3, leechers: 2, distinctIps: true });
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'bitscrape-scrape-lt-'));
    env = { XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('estimates 3 seeders and 2 leechers (within 0.5) and lists the announced peers', async () => {
    const { state, bootstrap } = net();
    const hashes = state.infohashes.map((ih) => ih.info_hash);
    const args = ['scrape', '--bootstrap', bootstrap[0], '--fresh', '--json', '--peers', ...hashes];
    const r = await runCli(args, env);
    expect(r.code, `${JSON.stringify(args)}\n${r.stderr}`).toBe(0);
    const recs = records(r.stdout);
    expect(recs.map((x) => x.infohash).sort()).toEqual([...hashes].sort());
    for (const ih of state.infohashes) {
      const rec = recs.find((x) => x.infohash === ih.info_hash)!;
      expect(Math.abs(rec.seeders - 3), `seeders of ${ih.info_hash}: ${rec.seeders}`).toBeLessThan(0.5);
      expect(Math.abs(rec.leechers - 2), `leechers of ${ih.info_hash}: ${rec.leechers}`).toBeLessThan(0.5);
      expect(rec.nodes_with_filters).toBeGreaterThanOrEqual(1);
      const announced = [...ih.seeders, ...ih.leechers].flatMap((a) => a.peers);
      expect(announced).toHaveLength(5);
      expect(rec.peer_list).toEqual(expect.arrayContaining(announced));
      expect(rec.peers).toBe(rec.peer_list.length);
    }
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ summary: 'scrape', infohashes: 5, answered: 5, with_peers: 5, bad_inputs: 0 });
  }, 60_000);

  it('stdin pipeline: NDJSON and hex lines are scraped, a bad line is reported and makes the exit code 2', async () => {
    const { state, bootstrap } = net();
    const [a, b, c] = state.infohashes;
    const input = [
      JSON.stringify({ infohash: a.info_hash }),
      b.info_hash,
      'this is not an infohash',
      JSON.stringify({ summary: 'crawl' }),
      `magnet:?xt=urn:btih:${c.info_hash}&dn=${c.name}`,
    ].join('\n');
    const r = await runCli(['scrape', '--bootstrap', bootstrap[0], '--fresh', '--json', '-'], env, input + '\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^scrape: line 3: not an infohash/m);
    const recs = records(r.stdout);
    expect(recs.map((x) => x.infohash).sort()).toEqual([a.info_hash, b.info_hash, c.info_hash].sort());
    for (const rec of recs) {
      expect(Math.abs(rec.seeders - 3)).toBeLessThan(0.5);
      expect(Math.abs(rec.leechers - 2)).toBeLessThan(0.5);
      expect(rec.peers).toBeGreaterThanOrEqual(5);
    }
  }, 60_000);
});
