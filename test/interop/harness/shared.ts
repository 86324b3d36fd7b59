// For interop tests: the shared libtorrent network started by the global setup.
import { inject } from 'vitest';
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
