// The metadata queue of crawl --metadata, on a real database and real (scripted) peers: results
// are committed as they come, failures are retried at their time and given up after the last
// attempt, and what a run leaves pending is what the next run does.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/core/store/index.js';
import { ConnectionLimits, MetadataQueue, fetchMetadata } from '../../../src/core/metadata/index.js';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { toHex } from '../../../src/core/wire/hex.js';
import type { PeerInfo } from '../../../src/core/wire/types.js';
import { makeInfo, startFakePeer, type FakePeer } from '../../support/fake-peer.js';
import { tempDir } from '../store/helpers.js';

const peers: FakePeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()));
});

const policy = new AddressPolicy({ loopbackOnly: true });

describe('MetadataQueue', () => {
  it('commits results, retries failures at their time, gives up after the last attempt, and a later run carries on', async () => {
    const good = makeInfo({ name: 'good one' });
    const liar = makeInfo({ name: 'liar' });
    const lonely = makeInfo({ name: 'nobody has it' });
    const honest = await startFakePeer(good.infohash, good.info, 'honest');
    const lying = await startFakePeer(liar.infohash, liar.info, 'hash-mismatch');
    peers.push(honest, lying);
    const swarm = new Map<string, PeerInfo[]>([
      [toHex(good.infohash), [{ host: honest.host, port: honest.port, family: 4 }]],
      [toHex(liar.infohash), [{ host: lying.host, port: lying.port, family: 4 }]],
    ]);
    const store = new SqliteStore(join(tempDir(), 'q.db'));
    store.recordInfohashes([good, liar, lonely].map((x, i) => ({ infohash: x.infohash, seenAt: i })));
    const limits = new ConnectionLimits(8, 8);
    let clock = 1_000_000;
    const queue = (maxAttempts: number) =>
      new MetadataQueue({
        store,
        concurrency: 2,
        pollMs: 20,
        retryMs: 3_600_000,
        maxAttempts,
        now: () => clock,
        fetch: (ih, signal) =>
          fetchMetadata(ih, swarm.get(toHex(ih)) ?? [], {
            limits,
            perInfohash: 2,
            deadlineMs: 2000,
            peerDeadlineMs: 1000,
            refusal: (h, p) => policy.refusal(h, p),
            signal,
          }),
      });

    const first = queue(2);
    first.start();
    await first.finish();
    expect(first.tally).toEqual({ fetched: 1, failed: 2 });
    expect(store.showTorrent(good.infohash)?.name).toBe('good one');
    expect(store.showTorrent(liar.infohash)).toBeNull();
    expect(store.metadataCounts()).toEqual({ fetched: 1, failed: 0, pending: 2 });
    expect(store.dueMetadata(clock, 10)).toEqual([]); // retries wait for their time

    clock += 2 * 3_600_000; // a later run, after the retry time
    const second = queue(2);
    second.start();
    await second.finish();
    expect(second.tally).toEqual({ fetched: 0, failed: 2 });
    expect(store.metadataCounts()).toEqual({ fetched: 1, failed: 2, pending: 0 });
    clock += 10 * 3_600_000;
    expect(store.dueMetadata(clock, 10)).toEqual([]); // failed for good
    store.close();
  }, 30_000);
});
