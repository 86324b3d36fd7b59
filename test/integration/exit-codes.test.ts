// docs/output.md's exit-code contract, command by command and in both output modes: nothing
// answered or nothing found is 1; a closed stdout ends a run at once with 0.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet, type TestnetState } from '../../src/core/dht/testnet.js';
import { cliNodeArgs, ROOT, runCli, tempHome } from '../support/cli.js';

let net: Testnet;
let state: TestnetState;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 12, infohashes: 2, seed: 91, fillMsPerNode: 2000 });
  state = net.state();
}, 120_000);

afterAll(async () => {
  await net?.close();
});

/** An id nothing in the testnet stores (no peers announced, no item put). */
const UNKNOWN = '5a'.repeat(20);
const DEAD = '127.0.0.1:9';
const OFFLINE = ['--bootstrap', DEAD, '--fresh', '--timeout', '200ms'];
const local = (): string[] => ['--bootstrap', state.bootstrap, '--fresh', '--allow-private'];

describe('nothing answered or nothing found exits 1', () => {
  const cases: Array<[string, () => string[]]> = [
    ['ping (silent node)', () => ['ping', DEAD, '--timeout', '200ms']],
    ['query (silent node)', () => ['query', DEAD, 'ping', '--timeout', '200ms']],
    ['sample (silent node)', () => ['sample', DEAD, '--timeout', '200ms']],
    ['find-node (silent bootstrap)', () => ['find-node', UNKNOWN, ...OFFLINE]],
    ['scrape (silent bootstrap)', () => ['scrape', UNKNOWN, ...OFFLINE]],
    ['announce (silent bootstrap)', () => ['announce', UNKNOWN, '--implied-port', ...OFFLINE]],
    ['get-peers (nodes answer, no peers)', () => ['get-peers', UNKNOWN, ...local()]],
    ['get (nodes answer, no item)', () => ['get', UNKNOWN, ...local()]],
  ];
  for (const mode of [['--json'], []]) {
    it.each(cases)(`%s ${mode.length > 0 ? '--json' : '(human)'}`, async (_name, args) => {
      const r = await runCli([...args(), ...mode], { timeoutMs: 90_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/no node answered|no node accepted|no peers found|no valid item found|timeout/);
    }, 120_000);
  }

  it('get-peers with peers found still exits 0', async () => {
    const r = await runCli(['get-peers', state.infohashes[0].infohash, ...local(), '--json'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
});
