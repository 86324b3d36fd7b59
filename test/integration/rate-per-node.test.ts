// The per-destination rate limit on a loopback testnet: local ip:port keys get the fast local
// default (no flag needed), --rate-per-node sets it. Asserted by what the limiter lets through,
// not by wall time: one node pinged 20 times at once fits the local window (50 in any second) but
// not a 0.5/s limit (locally one in any 2 s, refused beyond a 10 s wait).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli } from '../support/cli.js';

describe('per-node rate limit on loopback', () => {
  let net: Testnet;
  beforeAll(async () => {
    net = await Testnet.start({ nodes: 20, infohashes: 41, seed: 41 });
  }, 120_000);
  afterAll(async () => {
    await net?.close();
  });

  const pingSame = (extra: string[]) => {
    const addr = net.state().bootstrap;
    return runCli(['ping', ...Array<string>(20).fill(addr), '--concurrency', '20', '--fresh', '--json', ...extra], { timeoutMs: 90_000 });
  };

  it('20 pings to one local node all go out under the default limit', async () => {
    const r = await pingSame([]);
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(20);
    expect(recs.filter((x) => x.ok !== true)).toEqual([]);
  }, 120_000);

  it('--rate-per-node 0.5 holds the same pings to one per 2 s and refuses what would wait too long', async () => {
    const r = await pingSame(['--rate-per-node', '0.5']);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(20);
    const refused = recs.filter((x) => x.ok !== true);
    // 1 at once, one every 2 s within the 10 s wait bound; the rest refused by our own limiter.
    expect(refused.length).toBeGreaterThanOrEqual(12);
    for (const x of refused) expect(x.error).toMatch(/rate limited/);
  }, 120_000);

  it('get-peers - with 41 infohashes on 20 nodes finds every announced swarm, no flag', async () => {
    const state = net.state();
    const input = state.infohashes.map((i) => i.infohash).join('\n') + '\n';
    const r = await runCli(['get-peers', '-', '--json', '--fresh', '--bootstrap', state.bootstrap], { input, timeoutMs: 110_000 });
    expect(r.code, r.stderr).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(41);
    const want = new Map(state.infohashes.map((i) => [i.infohash, i.announcers.length]));
    for (const rec of recs) expect(rec.peers_count, String(rec.infohash)).toBe(want.get(rec.infohash as string));
    // No lookup waited on our own limiter long enough to lose a query to it.
    expect(recs.reduce((n, x) => n + (x.errors as number), 0)).toBe(0);
  }, 120_000);
});
