// docs/output.md's exit-code contract, command by command and in both output modes: nothing
// answered or nothing found is 1; a closed stdout ends a run at once with 0.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet, type TestnetState } from '../../src/core/dht/udp-testnet.js';
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

describe('a closed stdout', () => {
  it('scrape - --json: the reader going away after one record ends scrape promptly with 0', async () => {
    const home = tempHome();
    const child = spawn(process.execPath, [...cliNodeArgs(), 'scrape', '-', '--json', ...local(), '--concurrency', '4'], {
      cwd: ROOT,
      env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.on('error', () => undefined);
    // like `crawl --json | scrape -`: more infohashes than it could scrape soon, and stdin stays open
    const lines = [state.infohashes[0].infohash, ...Array.from({ length: 400 }, (_, i) => (i + 1).toString(16).padStart(40, '0'))];
    child.stdin.write(lines.join('\n') + '\n');
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('close', (code) => resolve({ code, at: Date.now() })));
    const hardStop = setTimeout(() => child.kill('SIGKILL'), 100_000);
    // the first record, then `head -1` goes away
    const closedAt = await new Promise<number>((resolve) =>
      child.stdout.once('data', () => {
        child.stdout.destroy();
        resolve(Date.now());
      }),
    );
    const { code, at } = await exited;
    clearTimeout(hardStop);
    child.stdin.destroy();
    if (process.env.SHOW_MS) console.log(`scrape ended ${at - closedAt} ms after its reader went away`);
    expect(code, stderr).toBe(0);
    // generous for a loaded machine; a scrape that carries on takes minutes for 400 infohashes
    expect(at - closedAt, stderr).toBeLessThan(20_000);
  }, 120_000);
});
