// Bad command-line input: one line on stderr naming the problem, exit 2, no stack trace.
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

function expectOneLine(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines.length, stderr).toBe(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

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

  it('an unknown flag is a usage error with exit 2', async () => {
    const r = await runCli(['ping', '127.0.0.1:9', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
