// Under --json a long run reports `progress` lines on stderr every few seconds (here every
// 200 ms) while stdout carries only the records, so a pipeline can watch it.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/wire/hex.js';
import { cliEnv, cliNodeArgs, ROOT, tempHome } from '../support/cli.js';
import { FakeDht, swarm } from '../support/fake-scrape-dht.js';

describe('progress lines', () => {
  let dht: FakeDht;
  const IH = ['a'.repeat(40), 'b'.repeat(40)];
  beforeAll(async () => {
    dht = await FakeDht.start(12);
    dht.store(fromHex(IH[0])!, swarm(3, 2));
    dht.store(fromHex(IH[1])!, swarm(1, 1, 7));
  });
  afterAll(async () => {
    await dht?.stop();
  });

  it('scrape --json: progress records on stderr while stdin is still open, only scrape records on stdout', async () => {
    const child = spawn(process.execPath, [...cliNodeArgs(), 'scrape', '-', '--json', '--bootstrap', dht.bootstrap, '--fresh', '--timeout', '500ms'], {
      cwd: ROOT,
      env: cliEnv(tempHome(), { BITSCRAPE_PROGRESS_EVERY_MS: '200' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.write(IH.join('\n') + '\n');
    // keep stdin open until a progress line has come, then end the input
    const deadline = Date.now() + 60_000;
    while (!/"progress":"scrape"/.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    const progress = err
      .split('\n')
      .filter((l) => l.startsWith('{"progress"'))
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toMatchObject({ progress: 'scrape', infohashes: 2, answered: 2, with_peers: 2 });
    expect(typeof progress[0].elapsed_ms).toBe('number');
    for (const line of out.trim().split('\n')) expect(Object.keys(JSON.parse(line) as object)).toContain('infohash');
  }, 90_000);
});
