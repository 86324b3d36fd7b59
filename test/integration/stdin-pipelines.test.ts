// `-` on every command that takes addresses, targets or infohashes: plain lines or the NDJSON of
// another command, through real shell pipes against the in-process testnet on 127.0.0.1.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet, type TestnetState } from '../../src/core/dht/udp-testnet.js';
import { cliNodeArgs, ndjson, runCli, runCommand, type CliResult } from '../support/cli.js';

let net: Testnet;
let state: TestnetState;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 12, infohashes: 2, seed: 71, fillMsPerNode: 2000 });
  state = net.state();
}, 120_000);

afterAll(async () => {
  await net?.close();
});

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const cli = (args: string[]): string => [process.execPath, ...cliNodeArgs(), ...args].map(shq).join(' ');

/** `bitscrape A | bitscrape B` in a real shell; the result is B's (stderr of both). */
function pipeline(a: string[], b: string[], timeoutMs = 90_000): Promise<CliResult> {
  return runCommand('sh', ['-c', `${cli(a)} | ${cli(b)}`], { noStdin: true, timeoutMs });
}

const net0 = (): string[] => ['--bootstrap', state.bootstrap, '--fresh', '--allow-private'];

describe('stdin pipelines', () => {
  it('find-node X --json | ping -: every node found is pinged', async () => {
    const target = state.nodes[3].id;
    const r = await pipeline(['find-node', target, '--json', ...net0()], ['ping', '-', '--json', '--fresh']);
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs.length).toBeGreaterThanOrEqual(4);
    const known = new Set(state.nodes.map((n) => n.address));
    for (const rec of recs) {
      expect(known.has(rec.address as string)).toBe(true);
      expect(rec.ok).toBe(true);
    }
  }, 120_000);

  it('find-node X --json | sample - --json: the found nodes are sampled', async () => {
    const r = await pipeline(['find-node', state.nodes[5].id, '--json', ...net0()], ['sample', '-', '--json', '--fresh']);
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs.length).toBeGreaterThanOrEqual(4);
    expect(recs.every((x) => x.ok === true && Array.isArray(x.samples))).toBe(true);
  }, 120_000);

  it('find-node - reads targets: plain hex and NDJSON records (target, else id), each looked up once', async () => {
    const input = [state.nodes[1].id, JSON.stringify({ target: state.nodes[2].id, id: state.nodes[9].id }), JSON.stringify({ id: state.nodes[4].id, address: 'x' }), '{"summary":"x"}', ''].join('\n');
    const r = await runCli(['find-node', '-', '--json', ...net0()], { input, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const targets = new Set(ndjson(r.stdout).map((x) => x.target));
    expect([...targets].sort()).toEqual([state.nodes[1].id, state.nodes[2].id, state.nodes[4].id].sort());
  }, 120_000);

  it('get - reads targets from NDJSON records; nothing stored gives exit 1', async () => {
    const input = JSON.stringify({ target: state.nodes[6].id }) + '\n';
    const r = await runCli(['get', '-', '--json', ...net0()], { input, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(ndjson(r.stdout)).toEqual([expect.objectContaining({ target: state.nodes[6].id, found: false })]);
  }, 120_000);

  it('query - sends the query to every address read', async () => {
    const input = state.nodes.slice(0, 3).map((n) => JSON.stringify({ address: n.address })).join('\n');
    const r = await runCli(['query', '-', 'ping', '--json', '--fresh'], { input, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(new Set(ndjson(r.stdout).map((x) => x.address))).toEqual(new Set(state.nodes.slice(0, 3).map((n) => n.address)));
  }, 120_000);
});

/** 20,000 lines of binary noise: what `cat some.bin | bitscrape X -` sends. */
function binaryLines(): Buffer {
  const lines: Buffer[] = [];
  let x = 12345;
  for (let i = 0; i < 20_000; i++) {
    const line = Buffer.alloc(40);
    for (let j = 0; j < line.length; j++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const b = x >> 16 & 0xff;
      line[j] = b === 0x0a || b === 0x0d ? 0x1b : b;
    }
    lines.push(line, Buffer.from('\n'));
  }
  return Buffer.concat(lines);
}

describe('binary stdin', () => {
  const OFFLINE = ['--bootstrap', '127.0.0.1:9', '--fresh', '--timeout', '200ms'];
  const commands: Array<[string, string[]]> = [
    ['ping', ['ping', '-']],
    ['sample', ['sample', '-']],
    ['query', ['query', '-', 'ping']],
    ['find-node', ['find-node', '-', ...OFFLINE]],
    ['get', ['get', '-', ...OFFLINE]],
    ['get-peers', ['get-peers', '-', ...OFFLINE]],
    ['announce', ['announce', '-', '--implied-port', ...OFFLINE]],
    ['scrape', ['scrape', '-', ...OFFLINE]],
  ];
  const input = binaryLines();
  it.each(commands)('%s -: a few error lines, then a count; exit 2; nothing raw on the terminal', async (_name, args) => {
    const r = await runCli([...args, '--json'], { input, timeoutMs: 90_000 });
    expect(r.code, r.stderr.slice(0, 2000)).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    // five bad lines, the count, and at most a summary
    expect(lines.length, r.stderr.slice(0, 2000)).toBeLessThanOrEqual(7);
    // (a few noise lines are blank or start with # once trimmed: skipped, not bad)
    const more = /… and ([\d,]+) more bad lines/.exec(r.stderr);
    expect(Number(more?.[1].replace(/,/g, ''))).toBeGreaterThan(19_000);
    for (const line of lines) {
      expect(line.length).toBeLessThan(300);
      expect(line).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    }
  }, 120_000);
});

describe('a reader that leaves', () => {
  // Nodes that never answer, so each ping or lookup takes its full timeout (2 attempts of 2s): the
  // test can tell "stopped at the first write after the reader left" (about one lookup after
  // `head` exits) from "finished the next lookup first" (two). Receive-only sockets on loopback.
  const silent: Socket[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 6; i++) {
      const s = createSocket('udp4');
      s.on('message', () => undefined);
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      silent.push(s);
    }
  });
  afterAll(() => {
    for (const s of silent) s.close();
  });
  const addr = (s: Socket): string => `127.0.0.1:${s.address().port}`;
  const infohashes = Array.from({ length: 6 }, (_, i) => String(i + 1).padStart(40, '0'));

  it.each([
    ['ping', () => ['ping', ...silent.map(addr)]],
    ['get-peers', () => ['get-peers', ...infohashes, '--bootstrap', addr(silent[0]), '--fresh', '--allow-private']],
  ])('%s --json | head -n 1: ends with exit 0 at the next write, without finishing the lookup after it', async (_name, args) => {
    const ms = 'echo $(( $(date +%s%N) / 1000000 ))';
    const script = `${cli([...args(), '--timeout', '2s', '--concurrency', '1', '--json'])} 2>/dev/null | { head -n 1 >/dev/null; ${ms}; }; echo "status \${PIPESTATUS[0]}"; ${ms}`;
    const r = await runCommand('bash', ['-c', script], { noStdin: true, timeoutMs: 90_000 });
    const [headDone, status, end] = r.stdout.trim().split('\n');
    expect(status, r.stdout + r.stderr).toBe('status 0');
    // one lookup takes about 4 s here; finishing the next one too would take about 8 s
    const gap = Number(end) - Number(headDone);
    expect(gap, `ended ${gap} ms after head`).toBeLessThan(6000);
  }, 120_000);
});
