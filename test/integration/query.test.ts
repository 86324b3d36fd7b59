// `query` against real bitscrape nodes on 127.0.0.1 (the in-process testnet): replies decoded
// key by key, error replies reported with their code and exit 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet, type TestnetState } from '../../src/core/dht/udp-testnet.js';
import { ndjson, runCli } from '../support/cli.js';

const HEX40 = /^[0-9a-f]{40}$/;
const NODE = { id: expect.stringMatching(HEX40), address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) };

let net: Testnet;
let state: TestnetState;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 8, infohashes: 2, seed: 33, fillMsPerNode: 2000 });
  state = net.state();
}, 120_000);

afterAll(async () => {
  await net?.close();
});

async function query(args: string[]): Promise<{ code: number | null; rec: Record<string, unknown>; stdout: string; stderr: string }> {
  const r = await runCli(['query', ...args, '--json'], { timeoutMs: 60_000 });
  const recs = ndjson(r.stdout);
  expect(recs, r.stderr).toHaveLength(1);
  return { code: r.code, rec: recs[0], stdout: r.stdout, stderr: r.stderr };
}

describe('query', () => {
  it('find_node: the id as hex and nodes as {id, address}, nothing left as hex:', async () => {
    const { code, rec, stdout } = await query([state.nodes[0].address, 'find_node', '--arg', `target=${state.nodes[5].id}`]);
    expect(code).toBe(0);
    expect(rec).toMatchObject({ ok: true, y: 'r', id: state.nodes[0].id, client: expect.stringMatching(/^BS /) });
    const reply = rec.reply as { id: string; nodes: unknown[] };
    expect(reply.id).toBe(state.nodes[0].id);
    expect(reply.nodes.length).toBeGreaterThanOrEqual(1);
    for (const n of reply.nodes) expect(n).toEqual(NODE);
    const known = new Set(state.nodes.map((n) => `${n.id}@${n.address}`));
    for (const n of reply.nodes as Array<{ id: string; address: string }>) expect(known.has(`${n.id}@${n.address}`)).toBe(true);
    expect(stdout).not.toContain('hex:');
  }, 60_000);

  it('get_peers: values as addresses, a hex token, nodes; with scrape=1 the BEP 33 filters and their estimates', async () => {
    const ih = state.infohashes[0];
    const holder = ih.holders[0];
    const { code, rec, stdout } = await query([holder, 'get_peers', '--arg', `info_hash=${ih.infohash}`]);
    expect(code).toBe(0);
    const reply = rec.reply as { token: string; values: string[]; nodes: unknown[] };
    expect(reply.token).toMatch(/^[0-9a-f]+$/);
    expect([...reply.values].sort()).toEqual([...ih.announcers].sort());
    for (const n of reply.nodes) expect(n).toEqual(NODE);
    expect(stdout).not.toContain('hex:');

    const scrape = await query([holder, 'get_peers', '--arg', `info_hash=${ih.infohash}`, '--arg', 'scrape=i:1']);
    expect(scrape.code).toBe(0);
    const filters = scrape.rec.reply as { BFsd: { estimate: number; hex: string }; BFpe: { estimate: number; hex: string } };
    // Both announcers are sockets on 127.0.0.1: one distinct IP, announced as downloaders.
    expect(filters.BFsd.estimate).toBe(0);
    expect(filters.BFpe.estimate).toBe(1);
    expect(filters.BFpe.hex).toMatch(/^[0-9a-f]{512}$/);

    const far = await query([state.nodes[1].address, 'get_peers', '--arg', `info_hash=${'00'.repeat(20)}`]);
    const farReply = far.rec.reply as { values?: unknown; nodes: unknown[] };
    expect(farReply.values).toBeUndefined();
    expect(farReply.nodes.length).toBeGreaterThanOrEqual(1);
    for (const n of farReply.nodes) expect(n).toEqual(NODE);
  }, 120_000);

  it('sample_infohashes: samples as 40-hex infohashes', async () => {
    const ih = state.infohashes[1];
    const { code, rec, stdout } = await query([ih.holders[0], 'sample_infohashes', '--arg', `target=${ih.infohash}`]);
    expect(code).toBe(0);
    const reply = rec.reply as { samples: string[]; num: number; interval: number; nodes: unknown[] };
    expect(reply.samples).toContain(ih.infohash);
    for (const s of reply.samples) expect(s).toMatch(HEX40);
    expect(reply.num).toBeGreaterThanOrEqual(1);
    expect(typeof reply.interval).toBe('number');
    expect(stdout).not.toContain('hex:');
  }, 60_000);

  it('an error reply exits 1 with its code and message in the record, with --json and without', async () => {
    const to = state.nodes[2].address;
    const args = [to, 'announce_peer', '--arg', `info_hash=${state.infohashes[0].infohash}`, '--arg', 'port=i:6881', '--arg', 'token=hex:00', '--read-write'];
    const json = await query(args);
    expect(json.code).toBe(1);
    expect(json.rec).toMatchObject({ ok: false, y: 'e', error_code: 203, error_message: expect.stringMatching(/token/) });
    expect(json.stderr).toMatch(/^query: error 203: /m);

    const human = await runCli(['query', ...args], { timeoutMs: 60_000 });
    expect(human.code).toBe(1);
    expect(JSON.parse(human.stdout)).toMatchObject({ y: 'e', error_code: 203 });
    expect(human.stderr.trim().split('\n')).toHaveLength(1);

    const unknown = await query([to, 'no_such_method']);
    expect(unknown.code).toBe(1);
    expect(unknown.rec).toMatchObject({ y: 'e', error_code: 204 });
  }, 120_000);
});
