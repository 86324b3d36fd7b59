// The two strategy plugins, linked into a temporary bitscrape home, crawl a network of real
// libtorrent 2.0.8 nodes on loopback through `crawl --strategy NAME`.
import { rmSync } from 'node:fs';
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

async function crawl(strategy: string, opts: string[]): Promise<{ summary: Record<string, any>; found: Set<string>; announced: Set<string> }> {
  const lt = sharedLibtorrent();
  const args = ['crawl', '--bootstrap', lt.bootstrap[0], '--fresh', '--no-db', '--json', '--duration', '20s', '--concurrency', '8', '--strategy', strategy];
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
});
