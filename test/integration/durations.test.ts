// Durations of 2^31 ms (about 24.8 days) or more: Node's timers fire such a delay after 1 ms, so
// `--duration 30d` used to end a run at once. They now run, up to the ceiling of 36525d (100
// years); beyond it a duration is bad input.
import { afterEach, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { runCli, startCli, type RunningCli } from '../support/cli.js';

const running: RunningCli[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Last stderr line as JSON (the --json summary). */
function summaryOf(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('durations of 2^31 ms or more', () => {
  it('node --duration 30d is still running after a couple of seconds, and stops on SIGTERM', async () => {
    const node = startCli(['node', '--port', '0', '--json', '--duration', '30d', '--stats-every', '30d']);
    running.push(node);
    await node.waitForLine(/"event":"started"/);
    await sleep(2500);
    expect(node.child.exitCode, node.stderr()).toBeNull();
    // --stats-every 30d must not fire either (setInterval would run it every millisecond)
    expect(node.stdout()).not.toMatch(/"event":"stats"/);
    node.child.kill('SIGTERM');
    const end = await node.exited;
    expect(end.code, end.stderr).toBe(0);
    expect(summaryOf(end.stderr)).toMatchObject({ summary: 'node', reason: 'signal' });
  }, 90_000);

  it('testnet --duration 30d is still running after a couple of seconds', async () => {
    const net = startCli(['testnet', '--nodes', '2', '--infohashes', '0', '--json', '--duration', '30d']);
    running.push(net);
    await net.waitForLine(/"bootstrap"/);
    await sleep(2500);
    expect(net.child.exitCode, net.stderr()).toBeNull();
    net.child.kill('SIGTERM');
    const end = await net.exited;
    expect(end.code, end.stderr).toBe(0);
    expect(summaryOf(end.stderr)).toMatchObject({ summary: 'testnet', reason: 'SIGTERM' });
  }, 90_000);

  it('a live crawl --duration 30d runs its pass to the end instead of stopping at once', async () => {
    const net = await Testnet.start({ nodes: 8, infohashes: 20, seed: 3, fillMsPerNode: 1000 });
    cleanups.push(() => net.close());
    const r = await runCli(['crawl', '--bootstrap', net.state().bootstrap, '--no-db', '--json', '--duration', '30d', '--timeout', '500ms'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(r.stderr);
    expect(summary.stopped_by).toBe('done');
    expect(summary.nodes_answered).toBeGreaterThan(0);
  }, 120_000);

  it('a duration beyond 36525d is one line on stderr and exit 2', async () => {
    const cases = [
      ['node', '--port', '0', '--duration', '36526d'],
      ['crawl', '--testnet', '10', '--duration', '99999999999999999999d'],
      ['testnet', '--nodes', '1', '--duration', '3155760000001ms'],
      ['routing', 'save', 'x.json', '--duration', '36526d'],
      ['node', '--port', '0', '--stats-every', '36526d'],
      ['ping', '127.0.0.1:1', '--timeout', '52596001m'],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args)));
    results.forEach((r, i) => {
      const lines = r.stderr.trim().split('\n');
      expect(r.code, `${cases[i].join(' ')}: ${r.stderr}`).toBe(2);
      expect(lines, cases[i].join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
      expect(lines[0]).toMatch(/longer than the maximum, 36525d \(100 years\)/);
    });
    // the ceiling itself is accepted: checked without waiting 100 years
    const atCeiling = await runCli(['crawl', '--testnet', '10', '--duration', '36525d', '--json']);
    expect(atCeiling.code, atCeiling.stderr).toBe(0);
  }, 120_000);
});
