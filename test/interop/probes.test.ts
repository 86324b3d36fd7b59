// The probe commands against a real libtorrent DHT on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../support/cli.js';
import { nodesOf, sharedLibtorrent } from './harness/shared.js';

function xorCompare(a: string, b: string, target: string): number {
  const ta = Buffer.from(target, 'hex');
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  for (let i = 0; i < 20; i++) {
    const d = (ba[i] ^ ta[i]) - (bb[i] ^ ta[i]);
    if (d !== 0) return d;
  }
  return 0;
}

describe('probes against libtorrent', () => {
  it('ping gets the node id, the LT version and our address', async () => {
    const lt = sharedLibtorrent();
    const [node] = nodesOf(lt);
    const r = await runCli(['ping', `${node.host}:${node.port}`, '--json', '--fresh']);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = ndjson(r.stdout);
    expect(rec.ok).toBe(true);
    expect(rec.id).toBe(node.id);
    expect(rec.client).toBe('LT 2.0.8');
    expect(rec.version_hex).toBe('4c540208');
    expect(String(rec.ip)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(rec.bep42_exempt).toBe(true);
  });

  it('find-node returns the true 8 closest nodes of the network', async () => {
    const lt = sharedLibtorrent();
    const nodes = nodesOf(lt);
    const target = 'a5'.repeat(20);
    const r = await runCli(['find-node', target, '--bootstrap', `${nodes[3].host}:${nodes[3].port}`, '--json', '--fresh']);
    expect(r.code, r.stderr).toBe(0);
    const got = ndjson(r.stdout).map((x) => x.id as string);
    const truth = nodes
      .map((n) => n.id as string)
      .sort((a, b) => xorCompare(a, b, target))
      .slice(0, 8);
    expect(got).toEqual(truth);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary.found).toBe(8);
  });

  it('get-peers finds the peers libtorrent announced', async () => {
    const lt = sharedLibtorrent();
    const [boot] = nodesOf(lt);
    const ih = lt.infohashes[1];
    const r = await runCli(['get-peers', ih.info_hash, '--bootstrap', `${boot.host}:${boot.port}`, '--json', '--fresh']);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = ndjson(r.stdout);
    const peers = (rec.peers as Array<{ address: string }>).map((p) => p.address).sort();
    expect(peers).toEqual([...(ih.stored_peers?.v4 ?? [])].sort());
    expect((rec.nodes as Array<{ token: string | null }>).some((n) => n.token)).toBe(true);
  });

  it('announce stores our peer on libtorrent nodes, and get-peers sees it afterwards', async () => {
    const lt = sharedLibtorrent();
    const [, boot] = nodesOf(lt);
    const ih = '5eed'.repeat(10);
    const bootstrap = `${boot.host}:${boot.port}`;
    const a = await runCli(['announce', ih, '--peer-port', '40123', '--bootstrap', bootstrap, '--json', '--fresh']);
    expect(a.code, a.stderr).toBe(0);
    const [ann] = ndjson(a.stdout);
    expect(ann.accepted as number).toBeGreaterThanOrEqual(6);
    const g = await runCli(['get-peers', ih, '--bootstrap', bootstrap, '--json', '--fresh']);
    const [rec] = ndjson(g.stdout);
    expect((rec.peers as Array<{ address: string }>).map((p) => p.address)).toContain('127.0.0.1:40123');
  });

  it('query shows libtorrent\'s error for a bad token (exit 1: an error reply)', async () => {
    const lt = sharedLibtorrent();
    const [node] = nodesOf(lt);
    const r = await runCli(['query', `${node.host}:${node.port}`, 'announce_peer', '--arg', `info_hash=${'ab'.repeat(20)}`, '--arg', 'port=i:1', '--arg', 'token=hex:00', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const [rec] = ndjson(r.stdout);
    expect(rec.error_code).toBe(203);
    expect(rec.client).toBe('LT 2.0.8');
  });
});
