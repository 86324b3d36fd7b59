// For interop tests: the shared libtorrent network started by the global setup, and a helper
// for suites that need a network of their own (e.g. distinct IPs for BEP 33).
import { afterAll, beforeAll, inject } from 'vitest';
import {
  defaultTimeoutMs,
  startLibtorrentNetwork,
  type LibtorrentNetwork,
  type LibtorrentNetworkOptions,
} from './libtorrent-network.js';
import type { LibtorrentState, LtFamily, LtNode } from './state.js';
import './provided.js';

/** The shared network's state; throws (so the test fails, never skips) when it is missing. */
export function sharedLibtorrent(): LibtorrentState {
  const state = inject('libtorrent');
  if (state) return state;
  throw new Error(
    inject('libtorrentError') ??
      'the shared libtorrent network was not started: global setup found no test/interop file in this run',
  );
}

/** The nodes of one address family. */
export function nodesOf(state: LibtorrentState, family: LtFamily = 'v4'): LtNode[] {
  return state.nodes.filter((n) => n.family === family);
}

/**
 * Starts a private network in beforeAll and stops it in afterAll of the calling suite.
 * Returns a getter (the network exists only once beforeAll has run).
 */
export function useLibtorrentNetwork(options: LibtorrentNetworkOptions): () => LibtorrentNetwork {
  let network: LibtorrentNetwork | undefined;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(options.nodes, options.infohashes);
  beforeAll(async () => {
    network = await startLibtorrentNetwork({ ...options, timeoutMs });
  }, timeoutMs + 10_000);
  afterAll(async () => {
    await network?.stop();
  }, 30_000);
  return () => {
    if (!network) throw new Error('the libtorrent network of this suite did not start');
    return network;
  };
}
