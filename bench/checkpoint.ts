// Cost of one crawl checkpoint (core/crawl/checkpoint.ts) for a traversal that has visited N
// nodes: the keyspace strategy's saveState(), the JSON of the saved state and its write to a
// crawl database file (WAL, synchronous=NORMAL), as the engine does every few seconds. The event
// loop is blocked for that long, so this is also the pause a checkpoint puts on a running crawl.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { savedState } from '../src/core/crawl/checkpoint.js';
import { KeyspaceStrategy } from '../src/core/crawl/keyspace.js';
import { SqliteStore } from '../src/core/store/sqlite-store.js';
import type { StrategyContext } from '../src/core/crawl/strategy.js';

export interface CheckpointBenchResult {
  visited: number;
  state_bytes: number;
  /** Median and worst wall time of one checkpoint, ms. */
  median_ms: number;
  max_ms: number;
  /** Median CPU time of one checkpoint, ms (what it costs on a machine shared with others). */
  median_cpu_ms: number;
}

/** A keyspace traversal with `visited` IPv4 nodes behind it, through its own restoreState. */
function traversal(visited: number): KeyspaceStrategy {
  const packed = randomBytes(visited * 10);
  const strategy = new KeyspaceStrategy();
  const ctx = { family: 4 } as StrategyContext; // restoreState reads only the family
  const ok = strategy.restoreState({ v: 1, cursor: '00'.repeat(20), depth: 0, swept: false, replied: 0, visited4: packed.toString('base64'), visited6: [] }, ctx);
  if (!ok) throw new Error('checkpoint bench: synthetic state refused');
  return strategy;
}

export async function run(visited = 100_000, rounds = 15): Promise<CheckpointBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-bench-checkpoint-'));
  try {
    const strategy = traversal(visited);
    const store = new SqliteStore(join(dir, 'crawl.db'));
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      const state = savedState(strategy, { queries: visited, unique: visited, savedAt: Date.now() });
      store.saveState('crawl:keyspace', state);
      const used = process.cpuUsage(cpu);
      times.push(performance.now() - started);
      cpuTimes.push((used.user + used.system) / 1000);
      if (i === 0) bytes = JSON.stringify(state).length;
    }
    store.close();
    times.sort((a, b) => a - b);
    cpuTimes.sort((a, b) => a - b);
    const result: CheckpointBenchResult = {
      visited,
      state_bytes: bytes,
      median_ms: Math.round(times[Math.floor(times.length / 2)] * 10) / 10,
      max_ms: Math.round(times[times.length - 1] * 10) / 10,
      median_cpu_ms: Math.round(cpuTimes[Math.floor(cpuTimes.length / 2)] * 10) / 10,
    };
    console.log(
      `checkpoint of a ${visited.toLocaleString('en-US')}-node traversal: ${(bytes / 1e6).toFixed(2)} MB of state, ` +
        `median ${result.median_ms} ms (${result.median_cpu_ms} ms CPU), worst ${result.max_ms} ms over ${rounds} saves`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
