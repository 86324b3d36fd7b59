// Types of what test/support/global-setup.ts provides to tests (read with `inject`).
import type { LibtorrentState } from './state.js';

/** The shared network every interop run gets (one per test run, started in global setup). */
export const SHARED_NETWORK = { nodes: 20, infohashes: 50, seeders: 1, leechers: 1 } as const;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared libtorrent network; null when it was not started or failed to start. */
    libtorrent: LibtorrentState | null;
    /** Why the shared network is missing (null when it is running). */
    libtorrentError: string | null;
  }
}
