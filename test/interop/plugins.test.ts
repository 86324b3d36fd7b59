// The two strategy plugins, linked into a temporary bitscrape home, crawl a network of real
// libtorrent 2.0.8 nodes on loopback through `crawl --strategy NAME`.
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli, tempHome } from '../support/cli.js';
import { sharedLibtorrent } from './harness/shared.js';

let home: string;
beforeAll(async () => {
  home = tempHome();
  for (const dir of ['random-target', 'multi-table']) {
    const r = await runCli(['plugins', 'link', `./plugins/${dir}`], { home });
    expect(r.code, r.stderr).toBe(0);
  }
}, 60_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function crawl(strategy: string, opts: string[], extra: string[] = ['--no-db']): Promise<{ summary: Record<string, any>; found: Set<string>; announced: Set<string> }> {
  const lt = sharedLibtorrent();
  const args = ['crawl', '--bootstrap', lt.bootstrap[0], '--fresh', ...extra, '--json', '--duration', '20s', '--concurrency', '8', '--strategy', strategy];
  for (const o of opts) args.push('--strategy-opt', o);
  const r = await runCli(args, { home, timeoutMs: 40_000 });
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
  expect(summary).toMatchObject({ summary: 'crawl', strategy });
  return { summary, found: new Set(ndjson(r.stdout).map((x) => x.infohash as string)), announced: new Set(lt.infohashes.map((ih) => ih.info_hash)) };
}

function hits(found: Set<string>, announced: Set<string>): number {
  return [...found].filter((ih) => announced.has(ih)).length;
}

describe('strategy plugins on a libtorrent network, through the crawl command', () => {
  it('random-target samples libtorrent nodes and finds announced infohashes', async () => {
    const { summary, found, announced } = await crawl('random-target', ['rotate=0.5', 'k=4', 'rounds=12']);
    expect(['done', 'duration']).toContain(summary.stopped_by);
    expect(summary.nodes_answered_sample).toBeGreaterThanOrEqual(8);
    expect(summary.clients['LT 2.0.8']).toBeGreaterThanOrEqual(8);
    // Other suites announce into the shared network too, so count only the launcher's infohashes.
    expect(hits(found, announced)).toBeGreaterThanOrEqual(announced.size / 2);
  }, 60_000);

  it('multi-table samples the libtorrent nodes and finds most announced infohashes', async () => {
    const { summary, found, announced } = await crawl('multi-table', ['tables=3', 'k=4', 'window=6', 'tables-total=12']);
    expect(['done', 'duration']).toContain(summary.stopped_by);
    expect(summary.nodes_answered_sample).toBeGreaterThanOrEqual(15);
    expect(hits(found, announced)).toBeGreaterThanOrEqual(announced.size * 0.8);
  }, 60_000);

  // the options that make each plugin's range walk short on 20 nodes
  const underRange: Array<[string, string[]]> = [
    ['random-target', ['rotate=0.2', 'k=4', 'dry-rounds=4']],
    ['multi-table', ['tables=2', 'k=4', 'window=6', 'dry-tables=4']],
  ];

  it('under --shard 1/2 each plugin samples only nodes of its half, and ends by itself', async () => {
    for (const [strategy, opts] of underRange) {
      const db = `${home}/${strategy}-shard.db`;
      const { summary } = await crawl(strategy, opts, ['--shard', '1/2', '--db', db]);
      expect(summary.stopped_by, strategy).toBe('done');
      const file = new Database(db, { readonly: true });
      const sampled = file.prepare('SELECT hex(id) AS id FROM nodes WHERE last_sampled IS NOT NULL').all() as Array<{ id: string }>;
      file.close();
      expect(sampled.length, strategy).toBeGreaterThan(0);
      // ids whose first bit is 1
      for (const n of sampled) expect(Number.parseInt(n.id[0], 16), `${strategy} sampled ${n.id}`).toBeGreaterThanOrEqual(8);
    }
  }, 120_000);

  it('under --leases each plugin walks range after range to the end of the pass', async () => {
    for (const [strategy, opts] of underRange) {
      const { summary, found, announced } = await crawl(strategy, opts, ['--leases', '--ranges', '4', '--db', `${home}/${strategy}-leases.db`]);
      expect(summary.leases, strategy).toMatchObject({ ranges_done: 4, ranges_taken_over: 0, end: 'pass_done' });
      expect(hits(found, announced), strategy).toBeGreaterThanOrEqual(announced.size * 0.8);
    }
  }, 120_000);
});
