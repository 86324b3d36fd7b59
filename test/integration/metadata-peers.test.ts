// The metadata fetcher against scripted hostile peers on loopback: every misbehaviour is counted
// under its reason and dropped (never a crash, never a stored wrong answer), and an honest peer
// of the same swarm still wins.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLimits, fetchFromPeer, fetchMetadata, newPeerId, type PeerFailure } from '../../src/core/metadata/index.js';
import { SqliteStore } from '../../src/core/store/index.js';
import { AddressPolicy } from '../../src/core/net/address.js';
import { toHex } from '../../src/core/wire/hex.js';
import { ndjson, runCli, startCli } from '../support/cli.js';
import { makeInfo, sha1, startFakePeer, type FakePeer, type FakePeerMode } from '../support/fake-peer.js';

const peers: FakePeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()));
});

async function peer(ih: Uint8Array, info: Uint8Array, mode: FakePeerMode, opts: { trickleMs?: number } = {}): Promise<FakePeer> {
  const p = await startFakePeer(ih, info, mode, opts);
  peers.push(p);
  return p;
}

// Three metadata pieces, so out-of-range and per-piece checks are exercised past piece 0.
const big = makeInfo({ files: 500 });
const policy = new AddressPolicy({ loopbackOnly: true });
const refusal = (h: string, p: number) => (policy.isBogonPeer(h, p) ? 'bogon' : policy.refusal(h, p));

describe('fetchFromPeer against hostile peers', () => {
  it('the test dictionary spans three metadata pieces', () => {
    expect(big.info.length).toBeGreaterThan(2 * 16384);
    expect(big.info.length).toBeLessThan(3 * 16384);
  });

  it('takes the dictionary from an honest peer', async () => {
    const p = await peer(big.infohash, big.info, 'honest');
    const r = await fetchFromPeer({ host: p.host, port: p.port, infohash: big.infohash, peerId: newPeerId(), deadlineMs: 5000 });
    expect(r.ok).toBe(true);
    expect(r.ok && Buffer.from(r.info).equals(Buffer.from(big.info))).toBe(true);
    expect(r.client).toBe('fake/honest');
    expect(p.requests).toBe(3);
  });

  const cases: Array<[FakePeerMode, PeerFailure]> = [
    ['size-zero', 'bad_size'],
    ['size-over', 'bad_size'],
    ['piece-out-of-range', 'bad_message'],
    ['short-data', 'bad_message'],
    ['long-data', 'bad_message'],
    ['hash-mismatch', 'hash_mismatch'],
    ['reject', 'reject'],
    ['bad-bencode', 'bad_message'],
    ['bad-ext-handshake', 'bad_message'],
    ['other-infohash', 'wrong_infohash'],
    ['no-extensions', 'no_extensions'],
    ['no-ut-metadata', 'no_metadata'],
    ['silent', 'stall'],
    ['trickle', 'stall'],
  ];
  for (const [mode, reason] of cases) {
    it(`${mode}: dropped as ${reason}`, async () => {
      const p = await peer(big.infohash, big.info, mode);
      const started = Date.now();
      const r = await fetchFromPeer({ host: p.host, port: p.port, infohash: big.infohash, peerId: newPeerId(), deadlineMs: 3000, stallMs: 500 });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason).toBe(reason);
      expect(Date.now() - started).toBeLessThan(2500);
    });
  }

  it('a peer that trickles faster than the stall guard is cut by the deadline', async () => {
    const p = await peer(big.infohash, big.info, 'trickle', { trickleMs: 50 });
    const started = Date.now();
    const r = await fetchFromPeer({ host: p.host, port: p.port, infohash: big.infohash, peerId: newPeerId(), deadlineMs: 800, stallMs: 5000 });
    expect(!r.ok && r.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts a v2 infohash (SHA-256 of the dictionary, cut to 20 bytes, BEP 52)', async () => {
    const v2 = createHash('sha256').update(big.info).digest().subarray(0, 20);
    const p = await peer(v2, big.info, 'honest');
    const r = await fetchFromPeer({ host: p.host, port: p.port, infohash: v2, peerId: newPeerId(), deadlineMs: 5000 });
    expect(r.ok).toBe(true);
  });

  it('a closed port is a connect failure', async () => {
    const p = await peer(big.infohash, big.info, 'honest');
    await p.stop();
    peers.pop();
    const r = await fetchFromPeer({ host: p.host, port: p.port, infohash: big.infohash, peerId: newPeerId(), deadlineMs: 2000 });
    expect(!r.ok && r.reason).toBe('connect');
  });
});

describe('fetchMetadata', () => {
  it('counts every hostile peer of a swarm and takes the honest one', async () => {
    const hostile: FakePeerMode[] = ['hash-mismatch', 'reject', 'size-over', 'other-infohash', 'short-data'];
    const bad = await Promise.all(hostile.map((m) => peer(big.infohash, big.info, m)));
    const good = await peer(big.infohash, big.info, 'honest');
    const r = await fetchMetadata(big.infohash, [...bad, good].map((p) => ({ host: p.host, port: p.port, family: 4 as const })), {
      limits: new ConnectionLimits(8, 8),
      perInfohash: 1, // one at a time, in order: every hostile peer is met before the honest one
      deadlineMs: 10_000,
      peerDeadlineMs: 3000,
      stallMs: 1000,
      refusal,
    });
    expect(r.ok).toBe(true);
    expect(Buffer.from(r.raw!).equals(Buffer.from(big.info))).toBe(true);
    expect(r.peer?.address).toBe(`127.0.0.1:${good.port}`);
    expect(r.peersTried).toBe(6);
    expect(r.failures).toEqual({ hash_mismatch: 1, reject: 1, bad_size: 1, wrong_infohash: 1, bad_message: 1 });
    expect(r.info?.files).toHaveLength(500);
  });

  it('never connects to bogons, port 0 or (loopback only) anything off loopback', async () => {
    const r = await fetchMetadata(
      big.infohash,
      [
        { host: '0.0.0.0', port: 6881, family: 4 },
        { host: '127.0.0.1', port: 0, family: 4 },
        { host: '192.0.2.1', port: 6881, family: 4 },
        { host: '8.8.8.8', port: 6881, family: 4 },
        { host: '224.0.0.1', port: 6881, family: 4 },
      ],
      { limits: new ConnectionLimits(4, 4), perInfohash: 4, deadlineMs: 2000, peerDeadlineMs: 1000, refusal },
    );
    expect(r.ok).toBe(false);
    expect(r.peersTried).toBe(0);
    expect(r.peersRefused).toBe(5);
    expect(r.error).toMatch(/refused by the address policy/);
  });

  it('stops at the infohash deadline', async () => {
    const silent = await Promise.all([1, 2, 3].map(() => peer(big.infohash, big.info, 'silent')));
    const started = Date.now();
    const r = await fetchMetadata(big.infohash, silent.map((p) => ({ host: p.host, port: p.port, family: 4 as const })), {
      limits: new ConnectionLimits(8, 8),
      perInfohash: 1,
      deadlineMs: 700,
      peerDeadlineMs: 5000,
      stallMs: 5000,
      refusal,
    });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^deadline passed/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps to the per-IP connection limit', async () => {
    const silent = await Promise.all([1, 2, 3, 4].map(() => peer(big.infohash, big.info, 'silent')));
    const limits = new ConnectionLimits(16, 2);
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, limits.inUse)), 10);
    await fetchMetadata(big.infohash, silent.map((p) => ({ host: p.host, port: p.port, family: 4 as const })), {
      limits,
      perInfohash: 4,
      deadlineMs: 1500,
      peerDeadlineMs: 400,
      stallMs: 400,
      refusal,
    });
    clearInterval(watch);
    expect(most).toBe(2);
    expect(silent.reduce((a, p) => a + p.connections, 0)).toBe(4);
  });
});

describe('bitscrape metadata with scripted peers (x.pe, --no-lookup)', () => {
  const magnet = (ih: Uint8Array, ...ps: FakePeer[]) => `magnet:?xt=urn:btih:${toHex(ih)}${ps.map((p) => `&x.pe=127.0.0.1:${p.port}`).join('')}`;

  it('prints a record, writes a .torrent that hashes to the infohash, and drops the liars', async () => {
    const small = makeInfo({ files: 2, name: Uint8Array.from([0x66, 0x61, 0x6b, 0x65, 0xe9]) });
    const liar = await peer(small.infohash, small.info, 'hash-mismatch');
    const good = await peer(small.infohash, small.info, 'honest');
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-torrents-'));
    const r = await runCli(['metadata', magnet(small.infohash, liar, good), '--no-lookup', '--connections', '1', '--json', '--save-torrents', dir], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const [rec] = ndjson(r.stdout);
    expect(rec).toMatchObject({
      infohash: toHex(small.infohash),
      ok: true,
      name: 'fake\\xe9',
      total_size: 2001,
      files: [
        { path: `dir/file-0-${'n'.repeat(40)}.bin`, length: 1000 },
        { path: `dir/file-1-${'n'.repeat(40)}.bin`, length: 1001 },
      ],
      piece_length: 16384,
      pieces: 1,
      private: false,
      peer: { address: `127.0.0.1:${good.port}`, client: 'fake/honest' },
      peers_tried: 2,
    });
    const torrent = readFileSync(join(dir, `${toHex(small.infohash)}.torrent`));
    expect(torrent.subarray(0, 7).toString()).toBe('d4:info');
    expect(Buffer.from(sha1(torrent.subarray(7, torrent.length - 1))).equals(Buffer.from(small.infohash))).toBe(true);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!)).toMatchObject({ summary: 'metadata', fetched: 1, peer_failures: { hash_mismatch: 1 } });
  });

  it('exits 1 and writes nothing when every peer lies', async () => {
    const modes: FakePeerMode[] = ['hash-mismatch', 'long-data', 'bad-bencode'];
    const ps = await Promise.all(modes.map((m) => peer(big.infohash, big.info, m)));
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-torrents-'));
    const r = await runCli(['metadata', magnet(big.infohash, ...ps), '--no-lookup', '--json', '--save-torrents', dir], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    const [rec] = ndjson(r.stdout);
    expect(rec).toMatchObject({ infohash: toHex(big.infohash), ok: false, peers_tried: 3 });
    expect(rec.error).toMatch(/no peer gave the metadata: 3 peers tried \(2 bad message, 1 hash mismatch\)/);
    expect(rec).not.toHaveProperty('name');
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, `${toHex(big.infohash)}.torrent`))).toBe(false);
  });

  it('human mode: a table, and bad input is exit 2', async () => {
    const small = makeInfo({ files: 1, name: 'Ubuntu Desktop' });
    const good = await peer(small.infohash, small.info, 'honest');
    const r = await runCli(['metadata', magnet(small.infohash, good), 'not-a-hash', '--no-lookup'], { timeoutMs: 30_000, env: { COLUMNS: '200' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^infohash\s+name\s+size\s+files\s+peer\n/);
    expect(r.stdout).toMatch(/Ubuntu Desktop\s+1000 B\s+1\s+127\.0\.0\.1:\d+ fake\/honest/);
    expect(r.stderr).toMatch(/not an infohash/);
  });

  it('refuses a duration without sense', async () => {
    const r = await runCli(['metadata', toHex(big.infohash), '--no-lookup', '--peer-deadline', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid duration 'soon'/);
  });

  it('SIGTERM: what finished is printed, fetches in flight are dropped, the summary says interrupted, exit 143', async () => {
    const quick = makeInfo({ files: 1, name: 'quick' });
    const good = await peer(quick.infohash, quick.info, 'honest');
    const stuck = await peer(big.infohash, big.info, 'silent');
    const run = startCli(['metadata', magnet(quick.infohash, good), magnet(big.infohash, stuck), '--no-lookup', '--json', '--stall-timeout', '1h', '--peer-deadline', '1h', '--deadline', '1h'], { timeoutMs: 60_000 });
    await run.waitForLine(/"ok":true/, 30_000);
    run.child.kill('SIGTERM');
    const r = await run.exited;
    expect(r.code, r.stderr).toBe(143);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ infohash: toHex(quick.infohash), ok: true, name: 'quick' });
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!)).toMatchObject({ summary: 'metadata', infohashes: 2, fetched: 1, failed: 0, interrupted: true });
  }, 70_000);

  it('--db stores the torrents (searchable, shown, named in db list); --from-db --missing picks the rest', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bitscrape-metadata-db-'));
    const db = join(home, 'crawl.db');
    const a = makeInfo({ files: 2, name: 'Ubuntu 24.04 Desktop' });
    const b = makeInfo({ files: 1, name: 'rp000005.bin' });
    const pa = await peer(a.infohash, a.info, 'honest');
    const pb = await peer(b.infohash, b.info, 'hash-mismatch');
    // a database with both infohashes (as a crawl would leave it)
    const store = new SqliteStore(db);
    store.recordInfohashes([a, b].map((x, i) => ({ infohash: x.infohash, seenAt: 1000 + i })));
    store.close();

    const r = await runCli(['metadata', magnet(a.infohash, pa), magnet(b.infohash, pb), '--no-lookup', '--json', '--db', db], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!)).toMatchObject({ fetched: 1, failed: 1, db_stored: 1 });

    const search = await runCli(['db', 'search', 'DESKTOP', 'ubuntu', '--db', db, '--json'], { timeoutMs: 30_000 });
    expect(search.code, search.stderr).toBe(0);
    expect(ndjson(search.stdout)).toEqual([{ infohash: toHex(a.infohash), name: 'Ubuntu 24.04 Desktop', total_size: 2001, files: 2 }]);
    const nothing = await runCli(['db', 'search', 'rp000005', '--db', db], { timeoutMs: 30_000 });
    expect(nothing.code).toBe(1); // the liar's torrent was never stored
    const show = await runCli(['db', 'show', toHex(a.infohash), '--db', db, '--json'], { timeoutMs: 30_000 });
    expect(ndjson(show.stdout)[0]).toMatchObject({ name: 'Ubuntu 24.04 Desktop', files: [{ length: 1000 }, { length: 1001 }], peer: { address: `127.0.0.1:${pa.port}`, client: 'fake/honest' } });
    const list = await runCli(['db', 'list', '--db', db, '--json'], { timeoutMs: 30_000 });
    expect(ndjson(list.stdout).map((x) => x.name)).toEqual(['Ubuntu 24.04 Desktop', null]);

    const missing = await runCli(['metadata', '--from-db', '--missing', '--no-lookup', '--db', db, '--json'], { timeoutMs: 30_000 });
    expect(missing.code).toBe(1); // no x.pe, no lookup: nobody to ask
    expect(ndjson(missing.stdout).map((x) => x.infohash)).toEqual([toHex(b.infohash)]);
  }, 90_000);
});
