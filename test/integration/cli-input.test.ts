// Bad command-line input: one line on stderr naming the problem, exit 2, no stack trace.
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

function expectOneLine(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines.length, stderr).toBe(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

/** Every stderr line short and printable: no raw control bytes (C0 but newline, DEL, C1). */
function expectShortPrintableLines(stderr: string): void {
  expect(stderr.length).toBeLessThan(4000);
  for (const line of stderr.split('\n')) {
    expect(line.length, line.slice(0, 200)).toBeLessThan(500);
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  }
}

const HEX = 'c9e15763f722f23e98a29decdfae341b98d53056';
/** Every byte value but the line breaks: what `cat some.bin | bitscrape ... -` sends. */
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0x0a && b !== 0x0d));
const OFFLINE = ['--bootstrap', '127.0.0.1:9', '--fresh', '--timeout', '200ms'];

describe('bad input', () => {
  it('ping nothost:99999 exits 2 with one line', async () => {
    const r = await runCli(['ping', 'nothost:99999']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/99999/);
    expect(r.stdout).toBe('');
  });

  it('find-node with a malformed target exits 2 with one line', async () => {
    const r = await runCli(['find-node', 'xyz', '--bootstrap', '127.0.0.1:9']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/target/);
  });

  it('get-peers reports bad stdin lines with their line numbers, exits 2 after the rest', async () => {
    const r = await runCli(['get-peers', '-', '--bootstrap', '127.0.0.1:9', '--timeout', '200ms', '--json'], { input: 'nothex\n' + 'ab'.repeat(20) + '\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 1: not an infohash/);
    // The good line was still processed: one record on stdout.
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('a missing routing file given explicitly is one line and exit 2', async () => {
    const r = await runCli(['find-node', 'random', '--routing-file', '/nonexistent/x.json']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/routing file not found/);
  });

  it('a silent node gives exit 1 (nothing answered)', async () => {
    const r = await runCli(['ping', '127.0.0.1:9', '--timeout', '200ms', '--json']);
    expect(r.code).toBe(1);
    const rec = JSON.parse(r.stdout.trim());
    expect(rec.ok).toBe(false);
  });

  it.each([['0'], ['5/s'], ['20000']])('--rate-per-node %s is one line and exit 2', async (value) => {
    const r = await runCli(['get-peers', HEX, ...OFFLINE, `--rate-per-node=${value}`]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/invalid rate/);
    expect(r.stdout).toBe('');
  });

  it('an unknown flag is a usage error with exit 2', async () => {
    const r = await runCli(['ping', '127.0.0.1:9', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  // A btih of 39 or 41 hex digits is a bad magnet link for every command that takes them: one
  // line naming it, exit 2, no lookup of some other infohash.
  const magnetCommands: Array<[string, string[], string]> = [
    ['get-peers', ['get-peers'], HEX.slice(1)],
    ['announce', ['announce', '--implied-port'], `${HEX}0`],
    ['scrape', ['scrape', '--json'], `${'a'.repeat(39)}`],
  ];
  it.each(magnetCommands)('%s refuses a magnet link whose btih has the wrong length (exit 2)', async (_name, cmd, btih) => {
    const r = await runCli([...cmd, `magnet:?xt=urn:btih:${btih}&dn=x`, ...OFFLINE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/btih is not 40 hex digits or 32 base32 characters/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing was looked up: no record on stdout.
    expect(r.stdout).toBe('');
  });

  it('a 10 MB line and a binary line on stdin give short, printable error lines (get-peers, ping)', async () => {
    const big = 'x'.repeat(10_000_000);
    const input = Buffer.concat([Buffer.from(`${big}\n`), BINARY, Buffer.from(`\nmagnet:?xt=urn:btih:${HEX}0\n`)]);
    const gp = await runCli(['get-peers', '-', ...OFFLINE, '--json'], { input, timeoutMs: 60_000 });
    expect(gp.code).toBe(2);
    expect(gp.stderr).toMatch(/line 1: not an infohash .*'x{64}…' \(10000000 chars\)/);
    expect(gp.stderr).toMatch(/line 2: not an infohash .*\\u0001\\u0002/);
    expect(gp.stderr).toMatch(/line 3: magnet link's btih is not 40 hex/);
    expectShortPrintableLines(gp.stderr);
    expect(gp.stdout).toBe('');

    // Addresses: the input was quoted twice before (in the error and again in its detail).
    const ping = await runCli(['ping', '-', '--timeout', '200ms'], { input: Buffer.concat([Buffer.from(`${big}:1\n`), BINARY, Buffer.from(':1\n')]), timeoutMs: 60_000 });
    expect(ping.code).toBe(2);
    expect(ping.stderr).toMatch(/line 1: bad host name in 'x{64}…' \(10000002 chars\)/);
    expect(ping.stderr.trim().split('\n')).toHaveLength(2);
    expectShortPrintableLines(ping.stderr);
  });

  it('scrape counts bad stdin lines (bad magnets, 10 MB, binary) and still scrapes the good one', async () => {
    const input = Buffer.concat([
      Buffer.from(`magnet:?xt=urn:btih:${'a'.repeat(39)}\nmagnet:?xt=urn:btih:${HEX}0\n${HEX}\n${'y'.repeat(10_000_000)}\n`),
      BINARY,
      Buffer.from('\n'),
    ]);
    const r = await runCli(['scrape', '-', ...OFFLINE, '--json'], { input, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).infohash)).toEqual([HEX]);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ summary: 'scrape', infohashes: 1, bad_inputs: 4 });
    expectShortPrintableLines(r.stderr);
  });

  it('flag values are quoted by a short prefix, with control characters escaped', async () => {
    const r = await runCli(['get', `${'e'.repeat(100_000)}\x1b[2J`, ...OFFLINE]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/target must be 40 hex digits, got 'e{64}…' \(100004 chars\)/);
    const d = await runCli(['find-node', 'random', ...OFFLINE.slice(0, 3), '--timeout', `1\x1b[2J${'s'.repeat(100_000)}`]);
    expect(d.code).toBe(2);
    expectOneLine(d.stderr);
    expect(d.stderr).toMatch(/invalid duration '1\\u001b\[2J/);
    expectShortPrintableLines(d.stderr);
  });
});
