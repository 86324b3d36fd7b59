// Numbers in NDJSON records and JSON summaries come rounded (docs/output.md), and summary
// fields with no meaning in a run are left out rather than null.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/core/store/index.js';
import { Testnet, type TestnetState } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli, tempHome } from '../support/cli.js';

let net: Testnet;
let state: TestnetState;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 8, infohashes: 4, seed: 44, fillMsPerNode: 2000 });
  state = net.state();
}, 120_000);

afterAll(async () => {
  await net?.close();
});

/** Every number of `value` (nested), with the field it sits in. */
function numbers(value: unknown, key = ''): Array<[string, number]> {
  if (typeof value === 'number') return [[key, value]];
  if (Array.isArray(value)) return value.flatMap((v) => numbers(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => numbers(v, k));
  return [];
}

/** The documented rule, written out again: milliseconds 2 decimals, the rest 4 significant digits (at least 2 decimals). */
function isRounded(key: string, n: number): boolean {
  if (Number.isInteger(n)) return true;
  const twoDecimals = Math.round(n * 100) / 100 === n;
  if (key === 'ms' || key.endsWith('_ms')) return twoDecimals;
  return Math.abs(n) < 100 ? Number(n.toPrecision(4)) === n : twoDecimals;
}

function expectRounded(rec: Record<string, unknown>): void {
  const all = numbers(rec);
  expect(all.length).toBeGreaterThan(0);
  for (const [key, n] of all) expect(isRounded(key, n), `${key}: ${n}`).toBe(true);
}

function lastJsonLine(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('numbers in JSON output', () => {
  it('a live crawl summary: duration_ms to 2 decimals, ratios to 4 digits, no database figures without a database', async () => {
    const r = await runCli(['crawl', '--bootstrap', state.bootstrap, '--duration', '3s', '--no-db', '--json', '--fresh'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const summary = lastJsonLine(r.stderr);
    expect(summary.summary).toBe('crawl');
    expect(summary.nodes_answered).toBeGreaterThan(0);
    expectRounded(summary);
    expect(summary).not.toHaveProperty('new_infohashes');
    expect(summary).not.toHaveProperty('queries_per_new_infohash');
    expect(Object.values(summary)).not.toContain(null);
    expect(summary.database).toBe(false);
  }, 120_000);

  it('with a database the figures are there; ping and find-node records are rounded too', async () => {
    const home = tempHome();
    const withDb = await runCli(['crawl', '--testnet', '150', '--db', join(home, 'c.db'), '--json'], { home, timeoutMs: 90_000 });
    expect(withDb.code, withDb.stderr).toBe(0);
    const summary = lastJsonLine(withDb.stderr);
    expectRounded(summary);
    expect(summary.new_infohashes).toBe(ndjson(withDb.stdout).length);
    expect(typeof summary.queries_per_new_infohash).toBe('number');

    const ping = await runCli(['ping', ...state.nodes.slice(0, 3).map((n) => n.address), '--json', '--fresh'], { timeoutMs: 60_000 });
    for (const rec of ndjson(ping.stdout)) expectRounded(rec);
    const find = await runCli(['find-node', state.nodes[3].id, '--bootstrap', state.bootstrap, '--json', '--fresh'], { timeoutMs: 60_000 });
    for (const rec of ndjson(find.stdout)) expectRounded(rec);
    expectRounded(lastJsonLine(find.stderr));
  }, 240_000);

  it('db stats of an empty database leaves out the rate and the times (JSON and human)', async () => {
    const home = tempHome();
    const db = join(home, 'empty.db');
    SqliteStore.open(db).close();
    const json = await runCli(['db', 'stats', '--db', db, '--json'], { home });
    expect(json.code, json.stderr).toBe(0);
    const [rec] = ndjson(json.stdout);
    expect(rec).toMatchObject({ infohashes: 0, nodes: 0 });
    expect(Object.values(rec)).not.toContain(null);
    expect(rec).not.toHaveProperty('bep51_rate');
    const human = await runCli(['db', 'stats', '--db', db], { home });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^infohashes +0$/m);
    expect(human.stdout).not.toMatch(/BEP 51 support rate|first seen|last seen| -$/m);
  }, 120_000);
});
