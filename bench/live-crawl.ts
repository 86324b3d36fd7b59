// A live `bitscrape crawl` of a loopback libtorrent network (python3-libtorrent, through the
// interop harness): 50 real nodes on distinct 127.0.x.y addresses holding 200 infohashes, the
// interop crawl test's network. The nodes answer BEP 51 with interval 0, so the crawl re-samples
// each one several times and the per-node limit on local destinations sets the pace.
//
// Each round crawls once with every CLI, in an order that rotates from round to round, each from
// an empty home (no routing file, empty database). Reported per CLI: the median wall time of the
// process and of the crawl itself (its summary's duration_ms), the queries sent, the infohashes
// found, and the most datagrams sent to one node within any second, counted at the socket
// (test/support/datagram-log.cjs; spans under 999 ms, as the interop test counts) against
// libtorrent's rule of at most 5 packets/s from one source.
//
// CLIs: this checkout's build (bin/run.js; dist/ must be newer than src/), the same with
// --rate-per-node 50 (the general local default: what the politeness count looks like when the
// crawl's own limit is not in force), and with BENCH_LIVE_CRAWL_BASELINE_BIN=path/to/bin/run.js
// another build, e.g. main's, measured in the same run (ratios are to it).
// Env: BENCH_LIVE_CRAWL_ROUNDS (default 5).
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLibtorrentNetwork } from '../test/interop/harness/libtorrent-network.js';
import { ROOT, cliEntry, cliEnv, tempHome } from '../test/support/cli.js';
import { datagramLogEnv, maxPerDestinationInWindow, readDatagramLog } from '../test/support/datagram-log.js';
import { renderTable } from '../src/output/table.js';

const NODES = 50;
const INFOHASHES = 200;
/** A crawl that has not exited by then is a failure, not a slow sample. */
const RUN_DEADLINE_MS = 170_000;

interface Cli {
  name: string;
  bin: string;
  extra: string[];
}

interface Sample {
  wall_ms: number;
  crawl_ms: number;
  queries: number;
  infohashes: number;
  max_per_node_s: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** This checkout's built CLI: timing bin/dev.js through tsx would measure the compiler too. */
function builtCli(): string {
  const entry = cliEntry();
  if (entry.length !== 1) throw new Error('dist/ is missing or older than src/; run `npm run build` first');
  return entry[0];
}

function crawlOnce(cli: Cli, bootstrap: string): Promise<Sample> {
  const home = tempHome();
  const log = join(home, 'datagrams.json');
  const args = [cli.bin, 'crawl', '--bootstrap', bootstrap, '--json', '--duration', '120s', ...cli.extra];
  return new Promise<Sample>((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: cliEnv(home, datagramLogEnv(log)), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wall = performance.now() - started;
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`${cli.name}: crawl exited ${signal ?? code}: ${err.trim().split('\n').pop() ?? ''}`);
        const summary = JSON.parse(err.trim().split('\n').pop()!) as { summary: string; duration_ms: number; queries_sent: number };
        if (summary.summary !== 'crawl') throw new Error(`${cli.name}: no crawl summary on stderr`);
        const found = new Set(out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { infohash: string }).infohash));
        const busiest = maxPerDestinationInWindow(readDatagramLog(log), 999);
        resolvePromise({ wall_ms: wall, crawl_ms: summary.duration_ms, queries: summary.queries_sent, infohashes: found.size, max_per_node_s: busiest.max });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });
  });
}

export async function run(rounds = Number(process.env.BENCH_LIVE_CRAWL_ROUNDS ?? 5)): Promise<void> {
  const here = builtCli();
  const clis: Cli[] = [];
  const baselineBin = process.env.BENCH_LIVE_CRAWL_BASELINE_BIN;
  if (baselineBin) {
    if (!existsSync(baselineBin)) throw new Error(`BENCH_LIVE_CRAWL_BASELINE_BIN: no ${baselineBin}`);
    clis.push({ name: 'baseline', bin: resolve(baselineBin), extra: [] });
  }
  clis.push({ name: 'this checkout', bin: here, extra: [] });
  clis.push({ name: 'this, --rate-per-node 50', bin: here, extra: ['--rate-per-node', '50'] });

  const net = await startLibtorrentNetwork({ nodes: NODES, infohashes: INFOHASHES, distinctIps: true });
  try {
    const bootstrap = `${net.state.nodes[7].host}:${net.state.nodes[7].port}`;
    const samples = new Map<string, Sample[]>(clis.map((c) => [c.name, []]));
    // one unrecorded round: disk caches and the nodes' tables warm for every CLI alike
    for (const c of clis) await crawlOnce(c, bootstrap);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < clis.length; i++) {
        const c = clis[(i + r) % clis.length];
        samples.get(c.name)!.push(await crawlOnce(c, bootstrap));
      }
    }
    const base = baselineBin ? median(samples.get('baseline')!.map((s) => s.crawl_ms)) : null;
    const rows = clis.map((c) => {
      const s = samples.get(c.name)!;
      const crawl = median(s.map((x) => x.crawl_ms));
      return [
        c.name,
        median(s.map((x) => x.wall_ms)).toFixed(0),
        crawl.toFixed(0),
        base === null ? '' : (crawl / base).toFixed(2),
        median(s.map((x) => x.queries)).toFixed(0),
        `${Math.min(...s.map((x) => x.infohashes))}/${INFOHASHES}`,
        `${Math.min(...s.map((x) => x.max_per_node_s))}-${Math.max(...s.map((x) => x.max_per_node_s))}`,
      ];
    });
    console.log(`${net.state.implementation}, ${NODES} nodes on distinct loopback IPs, ${INFOHASHES} infohashes: medians of ${rounds} alternated rounds`);
    console.log(renderTable(['CLI', 'wall ms', 'crawl ms', 'x baseline', 'queries', 'found (min)', 'max/node/s (runs: min-max)'], rows));
    console.log("max/node/s: most datagrams to one node within any second, at the socket; libtorrent's rule is at most 5");
  } finally {
    await net.stop();
  }
}
