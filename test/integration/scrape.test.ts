// The scrape command end to end (bin/dev.js in a child process) against a small fake DHT on
// loopback whose storers answer BEP 33 like libtorrent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as runCliShared } from '../support/cli.js';
import { SqliteStore } from '../../src/core/store/index.js';
import { fromHex, toHex } from '../../src/core/wire/hex.js';
import { FakeDht, swarm, type SwarmPeer } from '../support/fake-scrape-dht.js';


// The shared runner, with this suite's environment (XDG dirs) and a time cap.
function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): ReturnType<typeof runCliShared> {
  return runCliShared(args, { env: env as Record<string, string>, input, timeoutMs: 25_000 });
}

const records = (out: string): Array<Record<string, any>> =>
  out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

/** Deterministic infohashes: sha1-looking, distinct. */
const IH = Array.from({ length: 6 }, (_, i) => (i + 1).toString(16).repeat(40));

/** A swarm whose storers also hand out port-0 and bogon peers (as broken or hostile nodes do). */
const MIXED_IH = 'de'.repeat(20);
const GOOD_PEERS = ['10.3.0.1:6881', '10.3.0.2:7000', '127.0.0.1:6881', '8.8.8.8:51413'];
const BAD_PEERS = ['10.3.0.3:0', '127.0.0.1:0', '0.0.0.0:6881', '224.0.0.1:6881', '192.0.2.7:6881', '255.255.255.255:6881'];
const mixedSwarm = (): SwarmPeer[] =>
  [...GOOD_PEERS, ...BAD_PEERS].map((a, i) => {
    const [host, port] = a.split(':');
    return { host, port: Number(port), family: 4 as const, seed: i % 2 === 0 };
  });

describe('bitscrape scrape against a fake libtorrent-style DHT', () => {
  let dht: FakeDht;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const common = (): string[] => ['--bootstrap', dht.bootstrap, '--fresh', '--timeout', '500ms'];

  beforeAll(async () => {
    dht = await FakeDht.start(30);
    dht.store(fromHex(IH[0])!, swarm(3, 2));
    dht.store(fromHex(IH[1])!, swarm(5, 1, 11));
    dht.store(fromHex(IH[2])!, swarm(0, 4, 12));
    dht.store(fromHex(MIXED_IH)!, mixedSwarm());
    home = mkdtempSync(join(tmpdir(), 'bitscrape-scrape-'));
    env = { XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
  });

  afterAll(async () => {
    await dht?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('arguments (hex and magnet) → one NDJSON record each, estimates and peers, summary on stderr', async () => {
    const r = await runCli(['scrape', ...common(), '--json', '--peers', IH[0], `magnet:?xt=urn:btih:${IH[1].toUpperCase()}&dn=x`, IH[3]], env);
    expect(r.code, r.stderr).toBe(0);
    const recs = records(r.stdout);
    expect(recs.map((x) => x.infohash).sort()).toEqual([IH[0], IH[1], IH[3]]);
    const a = recs.find((x) => x.infohash === IH[0])!;
    expect(Math.abs(a.seeders - 3)).toBeLessThan(0.5);
    expect(Math.abs(a.leechers - 2)).toBeLessThan(0.5);
    expect(a.peers).toBe(5);
    expect(a.peer_list).toEqual(swarm(3, 2).map((p) => `${p.host}:${p.port}`));
    expect(a.nodes_with_filters).toBe(8);
    expect(a.nodes_answered).toBeGreaterThanOrEqual(8);
    expect(typeof a.duration_ms).toBe('number');
    expect(a.scraped_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const b = recs.find((x) => x.infohash === IH[1])!;
    expect(Math.abs(b.seeders - 5)).toBeLessThan(0.5);
    expect(Math.abs(b.leechers - 1)).toBeLessThan(0.5);
    const none = recs.find((x) => x.infohash === IH[3])!;
    expect(none).toMatchObject({ seeders: 0, leechers: 0, peers: 0, nodes_with_filters: 0, peer_list: [] });

    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ summary: 'scrape', infohashes: 3, answered: 3, with_peers: 2, bad_inputs: 0 });
    expect(summary.queries).toBeGreaterThan(0);
  });

  it('stdin: hex, NDJSON and magnet lines are scraped; bad lines reported by number; exit 2 at the end', async () => {
    const input = [
      IH[0],
      JSON.stringify({ infohash: IH[2], first_seen: '2024-01-01T00:00:00Z' }),
      '{"summary":"crawl","infohashes":2}', // no infohash field: skipped silently
      'not-an-infohash',
      '',
      '# a comment',
      `magnet:?xt=urn:btih:${IH[4]}`,
      '{"infohash": "123"}',
      IH[0], // a repeat is scraped once
    ].join('\n');
    const r = await runCli(['scrape', ...common(), '--json', '-'], env, input + '\n');
    expect(r.code).toBe(2);
    expect(records(r.stdout).map((x) => x.infohash).sort()).toEqual([IH[0], IH[2], IH[4]]);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => /^scrape: line \d+:/.test(l))).toEqual([
      expect.stringMatching(/^scrape: line 4: not an infohash/),
      expect.stringMatching(/^scrape: line 8: "infohash" field is not 40 hex digits/),
    ]);
    expect(JSON.parse(lines.pop()!)).toMatchObject({ infohashes: 3, bad_inputs: 2, duplicates: 1, answered: 3 });
    const c = records(r.stdout).find((x) => x.infohash === IH[2])!;
    expect(c.seeders).toBe(0);
    expect(Math.abs(c.leechers - 4)).toBeLessThan(0.5);
  });

  it('--from-db scrapes unscraped rows, updates them, and a second run finds nothing to do; human table', async () => {
    const db = join(home, 'crawl.db');
    const store = SqliteStore.open(db);
    store.recordInfohashes([IH[0], IH[2], IH[5]].map((h) => ({ infohash: fromHex(h)!, seenAt: Date.now() })));
    store.close();

    const r = await runCli(['scrape', ...common(), '--from-db', '--db', db], env);
    expect(r.code, r.stderr).toBe(0);
    for (const h of [IH[0], IH[2], IH[5]]) expect(r.stdout).toContain(h);
    expect(r.stdout).toMatch(/seeders.*leechers.*peers/);
    expect(r.stderr).toMatch(/scrape: 3 infohashes, 3 answered, 2 with peers, 0 bad inputs, \d+ queries, 3 database rows updated in /);

    const after = SqliteStore.open(db, { readonly: true });
    const rows = new Map([...after.listInfohashes()].map((row) => [row.infohash, row]));
    after.close();
    expect(rows.get(IH[0])).toMatchObject({ seeders: 3, leechers: 2, peers: 5 });
    expect(rows.get(IH[2])).toMatchObject({ seeders: 0, leechers: 4, peers: 4 });
    expect(rows.get(IH[5])).toMatchObject({ seeders: 0, leechers: 0, peers: 0 });
    expect(rows.get(IH[0])!.scraped_at).toBeGreaterThan(Date.now() - 60_000);

    const again = await runCli(['scrape', ...common(), '--from-db', '--db', db, '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/no infohash in the database needs a scrape/);
  });

  // On this loopback network private and loopback peers are real; port 0 and bogons never are.
  it('port-0 and bogon peers from values are dropped and counted: get-peers and scrape', async () => {
    const gp = await runCli(['get-peers', ...common(), '--json', MIXED_IH], env);
    expect(gp.code).toBe(0);
    const [rec] = records(gp.stdout);
    expect(rec.peers.map((p: { address: string }) => p.address).sort()).toEqual([...GOOD_PEERS].sort());
    expect(rec).toMatchObject({ peers_count: GOOD_PEERS.length, dropped_peers: BAD_PEERS.length });
    expect(JSON.parse(gp.stderr.trim().split('\n').pop()!)).toMatchObject({ summary: 'get-peers', with_peers: 1, dropped_peers: BAD_PEERS.length });

    // scrape: libtorrent-style storers send filters, then values to the follow-up queries.
    const sc = await runCli(['scrape', ...common(), '--json', '--peers', MIXED_IH], env);
    expect(sc.code).toBe(0);
    const [srec] = records(sc.stdout);
    expect([...srec.peer_list].sort()).toEqual([...GOOD_PEERS].sort());
    expect(srec.peers).toBe(GOOD_PEERS.length);
    expect(JSON.parse(sc.stderr.trim().split('\n').pop()!)).toMatchObject({ summary: 'scrape', dropped_peers: BAD_PEERS.length });

    const human = await runCli(['scrape', ...common(), MIXED_IH], env);
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(/with peers, 6 peers dropped \(port 0 or bogon\)/);
  });

  it('exit 1 when nobody answers for any infohash', async () => {
    const r = await runCli(['scrape', '--bootstrap', '127.0.0.1:9', '--fresh', '--timeout', '200ms', '--json', IH[0]], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no node answered/);
    expect(records(r.stdout)).toMatchObject([{ infohash: IH[0], nodes_answered: 0 }]);
  });
});
