// `bitscrape metadata` against a loopback libtorrent network (python3-libtorrent, through the
// interop harness): 50 nodes, 200 one-seeder torrents, every infohash fetched by lookup + BEP 9.
// Reports fetches per second (wall), CPU ms per fetch and peak RSS of the CLI process, and, as
// the baseline measured in the same run, `get-peers` of the same 200 infohashes (the lookups
// alone): the ratios say what the TCP fetch adds on top of finding the peers.
// BENCH_METADATA_TORRENTS=N changes the count.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLibtorrentNetwork } from '../test/interop/harness/libtorrent-network.js';
import { ROOT, cliNodeArgs, cliEnv, tempHome } from '../test/support/cli.js';
import { renderTable } from '../src/output/table.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const USAGE = join(HERE, 'node-helpers', 'usage-on-exit.cjs');

interface Run {
  wall_ms: number;
  cpu_ms: number;
  max_rss_mb: number;
  records: Array<Record<string, unknown>>;
}

function runCli(args: string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', USAGE, ...cliNodeArgs(), ...args], {
      cwd: ROOT,
      env: cliEnv(tempHome()),
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let usage = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (usage += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wall = performance.now() - started;
      if (code !== 0) return reject(new Error(`${args[0]} exited ${code}: ${err.slice(-500)}`));
      const u = JSON.parse(usage.trim()) as { cpu_us: number; max_rss_kb: number };
      const records = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ wall_ms: wall, cpu_ms: u.cpu_us / 1000, max_rss_mb: u.max_rss_kb / 1024, records });
    });
    child.stdin!.end(input);
  });
}

export async function run(): Promise<void> {
  const torrents = Number(process.env.BENCH_METADATA_TORRENTS ?? 200);
  const net = await startLibtorrentNetwork({ nodes: 50, infohashes: torrents, seeders: 1, leechers: 0 });
  try {
    const input = net.state.infohashes.map((ih) => ih.info_hash).join('\n') + '\n';
    const rows: string[][] = [];
    // Default politeness (--rate 100 queries/s in all) bounds the lookups; --rate 2000 shows the
    // fetch path itself.
    for (const rate of ['100', '2000']) {
      const common = ['-', '--json', '--bootstrap', net.bootstrap[0], '--fresh', '--rate', rate];
      const lookups = await runCli(['get-peers', ...common], input);
      const fetches = await runCli(['metadata', ...common, '--concurrency', '16'], input);
      const ok = fetches.records.filter((r) => r.ok === true).length;
      if (ok !== torrents) throw new Error(`only ${ok} of ${torrents} fetched`);
      rows.push(
        [`get-peers --rate ${rate} (baseline)`, String(torrents), (torrents / (lookups.wall_ms / 1000)).toFixed(1), (lookups.cpu_ms / torrents).toFixed(2), lookups.max_rss_mb.toFixed(0)],
        [`metadata --rate ${rate}`, String(ok), (ok / (fetches.wall_ms / 1000)).toFixed(1), (fetches.cpu_ms / ok).toFixed(2), fetches.max_rss_mb.toFixed(0)],
        ['  metadata / get-peers', '', (lookups.wall_ms / fetches.wall_ms).toFixed(2), (fetches.cpu_ms / lookups.cpu_ms).toFixed(2), (fetches.max_rss_mb / lookups.max_rss_mb).toFixed(2)],
      );
    }
    console.log(`${net.state.implementation}, 50 nodes, ${torrents} torrents (1 seeder each), CLI: ${cliNodeArgs().join(' ').includes('dev.js') ? 'bin/dev.js (tsx)' : 'bin/run.js (built)'}`);
    console.log(renderTable(['command', 'infohashes', 'per second', 'CPU ms each', 'peak RSS MB'], rows));
    console.log('(CPU and RSS are the whole CLI process, start-up included)');
  } finally {
    await net.stop();
  }
}
