// A routing file that cannot help must neither be destroyed nor keep a command from working:
// a corrupt file is moved aside, and a file full of dead contacts falls back to --bootstrap.
// Against a small in-process testnet of real bitscrape nodes on loopback.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli, tempHome } from '../support/cli.js';

let net: Testnet;
let bootstrap: string;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 12, infohashes: 10, seed: 11, fillMsPerNode: 2000 });
  bootstrap = net.state().bootstrap;
});

afterAll(async () => {
  await net?.close();
});

describe('a corrupt routing file', () => {
  it('node moves it aside (one warning line) and saves its new table under the usual name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-recovery-'));
    const routing = join(dir, 'routing.json');
    const corrupt = '{"version": 1, "id": "zz';
    writeFileSync(routing, corrupt);
    const r = await runCli(['node', '--port', '0', '--routing-file', routing, '--bootstrap', bootstrap, '--duration', '4s', '--stats-every', '1h'], {
      home: tempHome(),
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const aside = readdirSync(dir).filter((f) => f.startsWith('routing.json.corrupt-'));
    expect(aside, readdirSync(dir).join(' ')).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]), 'utf8')).toBe(corrupt);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toContain(`routing file ${routing}: not valid JSON`);
    expect(warnings[0]).toContain(`moved it to ${join(dir, aside[0])}`);
    // What the node learnt is saved where the corrupt file was.
    const saved = JSON.parse(readFileSync(routing, 'utf8')) as { nodes: unknown[] };
    expect(saved.nodes.length).toBeGreaterThan(0);
  }, 120_000);
});

/**
 * A routing file left by a run against a network that is gone: 40 nodes that answered then
 * (verified, seen a minute ago, so they look good), nobody at their addresses now.
 */
function staleRoutingFile(dir: string): string {
  const path = join(dir, 'stale.json');
  const minuteAgo = new Date(Date.now() - 60_000).toISOString();
  const nodes = Array.from({ length: 40 }, (_, i) => ({ id: randomBytes(20).toString('hex'), host: `127.0.0.${100 + i}`, port: 9, last_seen: minuteAgo, flags: 8 | 1 }));
  writeFileSync(path, JSON.stringify({ version: 1, id: randomBytes(20).toString('hex'), saved_at: new Date().toISOString(), nodes }));
  return path;
}

describe('a routing file whose nodes are all gone', () => {
  it('find-node --bootstrap still asks the bootstrap node and finds the live network', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-recovery-'));
    const routing = staleRoutingFile(dir);
    const target = randomBytes(20).toString('hex');
    const r = await runCli(['find-node', target, '--bootstrap', bootstrap, '--routing-file', routing, '--json'], { home: tempHome(), timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const truth = net.nodes
      .map((n) => Buffer.from(n.id).toString('hex'))
      .sort((a, b) => Buffer.compare(xor(a, target), xor(b, target)))
      .slice(0, 8);
    expect(ndjson(r.stdout).map((x) => x.id)).toEqual(truth);
    // The live nodes it met are saved back; the dead ones, failing, make way for them.
    const saved = JSON.parse(readFileSync(routing, 'utf8')) as { nodes: Array<{ port: number }> };
    expect(saved.nodes.some((n) => n.port !== 9), `${saved.nodes.length} saved, none live; ${r.stderr}`).toBe(true);
  }, 120_000);

  it('crawl --bootstrap indexes every infohash of the live network', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-recovery-'));
    const routing = staleRoutingFile(dir);
    const r = await runCli(['crawl', '--bootstrap', bootstrap, '--routing-file', routing, '--no-db', '--json', '--duration', '60s'], { home: tempHome(), timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const found = new Set(ndjson(r.stdout).map((x) => x.infohash));
    const announced = net.state().infohashes.map((x) => x.infohash);
    expect(announced).toHaveLength(10);
    for (const ih of announced) expect(found.has(ih), ih).toBe(true);
  }, 120_000);
});

function xor(hex: string, target: string): Buffer {
  const a = Buffer.from(hex, 'hex');
  const t = Buffer.from(target, 'hex');
  return Buffer.from(a.map((x, i) => x ^ t[i]));
}
