// A routing file that cannot help must neither be destroyed nor keep a command from working:
// a corrupt file is moved aside, and a file full of dead contacts falls back to --bootstrap.
// Against a small in-process testnet of real bitscrape nodes on loopback.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/testnet.js';
import { runCli, tempHome } from '../support/cli.js';

let net: Testnet;
let bootstrap: string;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 12, infohashes: 0, seed: 11, fillMsPerNode: 2000 });
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
