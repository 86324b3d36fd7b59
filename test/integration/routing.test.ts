// `routing save | load | show` against a small in-process testnet of bitscrape nodes on loopback:
// the save → load round trip with the saved id kept and with a new id, per-node liveness, and
// bad routing files (one line on stderr, exit 2, no stack, good files never overwritten).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli, tempHome } from '../support/cli.js';

let net: Testnet;
let dir: string;
let saved: string;
let bootstrap: string;
const home = tempHome();

function expectOneLineError(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

/** A port nothing listens on: a testnet node's, after the testnet is gone, is not guaranteed; 9 (discard) is. */
const DEAD = { host: '127.0.0.1', port: 9 };

function readJson(path: string): { version: number; id: string; nodes: Array<{ id: string; host: string; port: number; flags: number; last_seen: string }> } {
  return JSON.parse(readFileSync(path, 'utf8'));
}

beforeAll(async () => {
  net = await Testnet.start({ nodes: 12, infohashes: 0, seed: 7, fillMsPerNode: 2000 });
  bootstrap = net.state().bootstrap;
  dir = mkdtempSync(join(tmpdir(), 'bitscrape-routing-'));
  saved = join(dir, 'saved.json');
  const r = await runCli(['routing', 'save', saved, '--bootstrap', bootstrap, '--duration', '10s', '--json'], { home });
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await net?.close();
});

describe('routing save', () => {
  it('fills a table from the testnet and writes it as a versioned file of testnet nodes', () => {
    const file = readJson(saved);
    expect(file.version).toBe(1);
    expect(file.id).toMatch(/^[0-9a-f]{40}$/);
    const testnetIds = new Map(net.nodes.map((n) => [Buffer.from(n.id).toString('hex'), n.port]));
    // 12 nodes with random ids do not all fit in a k=8 table, but most do.
    expect(file.nodes.length).toBeGreaterThanOrEqual(8);
    for (const n of file.nodes) {
      expect(testnetIds.get(n.id), n.id).toBe(n.port);
      expect(n.host).toBe('127.0.0.1');
      expect(n.flags & 8).toBe(8); // verified: each one answered us
    }
  });

  it('reports the save as one JSON line', async () => {
    const out = join(dir, 'again.json');
    const r = await runCli(['routing', 'save', out, '--bootstrap', bootstrap, '--duration', '5s', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ file: out });
    expect(recs[0].nodes).toBe(readJson(out).nodes.length);
    expect(recs[0].buckets as number).toBeGreaterThanOrEqual(1);
  });

  it('leaves a good file untouched when nothing answers (exit 1)', async () => {
    const victim = join(dir, 'victim.json');
    copyFileSync(saved, victim);
    const before = readFileSync(victim, 'utf8');
    const r = await runCli(['routing', 'save', victim, '--fresh', '--bootstrap', `${DEAD.host}:${DEAD.port}`, '--duration', '3s', '--timeout', '300ms'], { home });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no node answered/);
    expect(readFileSync(victim, 'utf8')).toBe(before);
  });
});

describe('routing load', () => {
  it('keeps the saved id and finds every saved node alive', async () => {
    const file = readJson(saved);
    const r = await runCli(['routing', 'load', saved, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(file.nodes.length);
    expect(recs.every((x) => x.status === 'alive')).toBe(true);
    expect(new Set(recs.map((x) => x.id))).toEqual(new Set(file.nodes.map((n) => n.id)));
    const summary = JSON.parse(r.stderr.trim());
    expect(summary).toMatchObject({ kept_id: true, id: file.id, nodes: file.nodes.length, alive: file.nodes.length, dead: 0, saved: null });
    expect(summary.table_nodes).toBe(file.nodes.length);
    // Without --save the file is not rewritten.
    expect(readJson(saved)).toEqual(file);
  });

  it('with --new-id re-inserts the nodes into a table for a fresh id, and --save writes it', async () => {
    const copy = join(dir, 'newid.json');
    copyFileSync(saved, copy);
    const before = readJson(copy);
    const r = await runCli(['routing', 'load', copy, '--new-id', '--save', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stderr.trim());
    expect(summary.kept_id).toBe(false);
    expect(summary.id).not.toBe(before.id);
    expect(summary.alive).toBe(before.nodes.length);
    const after = readJson(copy);
    expect(after.id).toBe(summary.id);
    // Re-insertion follows the new id's bucket layout; every node saved is one that answered.
    expect(after.nodes.length).toBe(summary.table_nodes);
    expect(after.nodes.length).toBeGreaterThanOrEqual(Math.min(8, before.nodes.length));
    const savedIds = new Set(before.nodes.map((n) => n.id));
    for (const n of after.nodes) expect(savedIds.has(n.id)).toBe(true);
  });

  it('reports dead nodes, and --save writes back only the live ones', async () => {
    const mixed = join(dir, 'mixed.json');
    const file = readJson(saved);
    const deadId = 'ff'.repeat(20);
    file.nodes.push({ id: deadId, host: DEAD.host, port: DEAD.port, last_seen: new Date().toISOString(), flags: 8 });
    writeFileSync(mixed, JSON.stringify(file));
    const r = await runCli(['routing', 'load', mixed, '--save', '--timeout', '300ms', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const dead = ndjson(r.stdout).filter((x) => x.status !== 'alive');
    expect(dead).toEqual([expect.objectContaining({ id: deadId, address: '127.0.0.1:9', status: 'timeout' })]);
    const summary = JSON.parse(r.stderr.trim());
    expect(summary).toMatchObject({ alive: file.nodes.length - 1, dead: 1 });
    const after = readJson(mixed);
    expect(after.nodes.map((n) => n.id)).not.toContain(deadId);
    expect(after.nodes.length).toBe(file.nodes.length - 1);
  });

  it('exits 1 when no node answers, and --save leaves the file as it was', async () => {
    const allDead = join(dir, 'dead.json');
    const text = JSON.stringify({ version: 1, id: '11'.repeat(20), saved_at: new Date().toISOString(), nodes: [{ id: 'ee'.repeat(20), host: DEAD.host, port: DEAD.port, last_seen: new Date().toISOString(), flags: 8 }] });
    writeFileSync(allDead, text);
    const r = await runCli(['routing', 'load', allDead, '--save', '--timeout', '300ms'], { home });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^nodes alive +0 of 1$/m);
    expect(r.stderr).toMatch(/none of the 1 nodes answered/);
    expect(readFileSync(allDead, 'utf8')).toBe(text);
  });
});

describe('routing show', () => {
  it('prints one NDJSON record per node and a summary line on stderr', async () => {
    const file = readJson(saved);
    const r = await runCli(['routing', 'show', saved, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(file.nodes.length);
    for (const rec of recs) {
      expect(rec).toMatchObject({ live: true, state: 'good', verified: true });
      expect(rec.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(typeof rec.bucket).toBe('number');
    }
    const summary = JSON.parse(r.stderr.trim());
    expect(summary).toMatchObject({ id: file.id, file_nodes: file.nodes.length, nodes: file.nodes.length, good: file.nodes.length });
  });

  it('prints the buckets as a table', async () => {
    const r = await runCli(['routing', 'show', saved], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bucket.*prefix bits.*nodes.*good.*questionable/);
    expect(r.stdout).toContain(readJson(saved).id);
  });
});

describe('bad routing files', () => {
  const bad = (name: string, text: string | null): string => {
    const p = join(dir, name);
    if (text !== null) writeFileSync(p, text);
    return p;
  };

  it('missing, truncated, garbage, wrong-version and invalid files are one line and exit 2', async () => {
    const good = readFileSync(saved, 'utf8');
    const cases: Array<[string, RegExp]> = [
      [bad('missing.json', null), /routing file not found/],
      [bad('truncated.json', good.slice(0, Math.floor(good.length / 2))), /not valid JSON, truncated or corrupt/],
      [bad('garbage.json', '\u0000\u0001binary garbage\n'), /not valid JSON/],
      [bad('version.json', good.replace('"version": 1', '"version": 99')), /unsupported version 99/],
      [bad('badnode.json', good.replace(/"port": \d+/, '"port": 0')), /nodes\[0\]\.port/],
    ];
    // `show` shares the loader with `load`; two of its cases are enough to check its wiring.
    const runs = cases.flatMap(([path, pattern], i) => [
      runCli(['routing', 'load', path], { home }).then((r) => ({ r, pattern, what: `load ${path}` })),
      ...(i < 2 ? [runCli(['routing', 'show', path, '--json'], { home }).then((r) => ({ r, pattern, what: `show ${path}` }))] : []),
    ]);
    for (const { r, pattern, what } of await Promise.all(runs)) {
      expect(r.code, what).toBe(2);
      expectOneLineError(r, pattern);
    }
  }, 120_000);

  it('routing save refuses a corrupt --routing-file to start from, without touching FILE', async () => {
    const out = join(dir, 'untouched.json');
    copyFileSync(saved, out);
    const before = readFileSync(out, 'utf8');
    const corrupt = bad('corrupt-start.json', '{"version": 1, "id": ');
    const r = await runCli(['routing', 'save', out, '--routing-file', corrupt, '--bootstrap', bootstrap, '--duration', '2s'], { home });
    expectOneLineError(r, /not valid JSON/);
    expect(readFileSync(out, 'utf8')).toBe(before);
    expect(readFileSync(corrupt, 'utf8')).toBe('{"version": 1, "id": ');
  });
});
