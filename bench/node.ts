// `bitscrape node` against webtorrent's bittorrent-dht, each in a child process of its own on
// 127.0.0.1 with a routing table of realistic size (8 contacts at each of 40 prefix depths
// around its id, 320 in all), under the same closed-loop load from a third process
// (bench/node-helpers/load.mjs: 16 loopback source addresses, 8 queries in flight each).
// Runs alternate (ours, theirs, theirs, ours) for pings alone and for a mixed load (ping,
// find_node, get_peers in turn). On this 2-core machine the load generator saturates before a
// fast server does, so the figure to trust is the server's CPU time per answered query, which
// each server measures itself (process.cpuUsage, reported with its answered count every 250 ms).
//
// Both servers run with every feature on: ours with its per-source limiter (limit set out of
// reach), tokens, routing-table updates and counters; bittorrent-dht as it ships.
//
// Env: BENCH_NODE_SECONDS (measured seconds per run, default 2.5), BENCH_NODE_ROUNDS (default 3),
// BENCH_NODE_PROFILE=DIR (write a --cpu-prof of our server there and print where time goes),
// BENCH_NODE_EVENTS=1 (keep the per-info-hash NDJSON events on; off by default since
// bittorrent-dht writes nothing per query), BENCH_NODE_BIN=path/to/run.js (which CLI to start).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '..');
const HELPERS = join(HERE, 'node-helpers');
const PER_DEPTH = 8;
const DEPTHS = 40;
const STATS_MS = 250;

type Mix = 'ping' | 'mixed';

interface Sample {
  uptimeMs: number;
  answered: number;
  cpuUs: number;
  rss: number;
}

/** A server process that reports Samples; phases read them around a measured window. */
class Server {
  port = 0;
  latest: Sample | null = null;
  private waiters: Array<(s: Sample) => void> = [];
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {}
  push(s: Sample): void {
    this.latest = s;
    for (const w of this.waiters.splice(0)) w(s);
  }
  nextSample(timeoutMs = 5000): Promise<Sample> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${this.name}: no stats for ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((s) => {
        clearTimeout(timer);
        res(s);
      });
    });
  }
}

interface RunResult {
  server: string;
  mix: Mix;
  qps: number;
  usPerQuery: number;
  rssMb: number;
  lost: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An id sharing exactly `bits` leading bits with `own`. */
function idAtDepth(own: Uint8Array, bits: number): Buffer {
  const id = randomFillSync(Buffer.alloc(20));
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    id[i >> 3] = (id[i >> 3] & ~mask) | (own[i >> 3] & mask);
  }
  const mask = 0x80 >> (bits & 7);
  id[bits >> 3] = (id[bits >> 3] & ~mask) | (~own[bits >> 3] & mask);
  return id;
}

/** A routing file for our server: its id and 320 contacts laid out like a settled table. */
function writeRoutingFile(path: string): void {
  const own = randomFillSync(Buffer.alloc(20));
  const now = new Date().toISOString();
  const nodes = [];
  let n = 0;
  for (let d = 0; d < DEPTHS; d++) {
    for (let j = 0; j < PER_DEPTH; j++) {
      n++;
      nodes.push({ id: idAtDepth(own, d).toString('hex'), host: `127.0.${2 + (n >> 8)}.${n & 0xff || 1}`, port: 10000 + n, last_seen: now, flags: 8 });
    }
  }
  writeFileSync(path, JSON.stringify({ version: 1, id: own.toString('hex'), saved_at: now, nodes }));
}

export function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * How to start the CLI: BENCH_NODE_BIN if set; the build (bin/run.js) when dist/ is newer than
 * every source; else bin/dev.js through tsx, whose transform adds some per-call overhead (it
 * keeps function names by wrapping closures), so figures from a build are the ones to quote.
 */
function cliEntry(): string[] {
  if (process.env.BENCH_NODE_BIN) return [resolve(process.env.BENCH_NODE_BIN)];
  try {
    if (newestMtime(join(ROOT, 'dist')) >= newestMtime(join(ROOT, 'src'))) return [join(ROOT, 'bin', 'run.js')];
  } catch {
    // no dist/
  }
  return ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js')];
}

async function startOurs(home: string, profileDir: string | null): Promise<Server> {
  const routing = join(home, 'routing.json');
  writeRoutingFile(routing);
  const args = [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...cliEntry(),
    'node',
    '--port',
    '0',
    '--json',
    '--routing-file',
    routing,
    '--stats-every',
    `${STATS_MS}ms`,
    // The limiter stays in the path, with a limit no load here reaches.
    '--inbound-rate',
    '1000000',
    // Info-hash events are a stream for a consumer to read; bittorrent-dht has no such output.
    ...(process.env.BENCH_NODE_EVENTS ? [] : ['--no-infohashes']),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new Server('bitscrape node', child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((res, rej) => {
    child.on('exit', (code) => rej(new Error(`bitscrape node exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec.event === 'started') server.port = Number(String((rec.addresses as string[])[0]).split(':').pop());
      if (rec.event === 'bootstrapped') res();
      if (rec.event === 'stats') {
        server.push({
          uptimeMs: rec.uptime_ms as number,
          answered: (rec.answered as number) + (rec.errors as number),
          cpuUs: (rec.cpu_user_us as number) + (rec.cpu_system_us as number),
          rss: rec.rss_bytes as number,
        });
      }
    });
  });
  await ready;
  return server;
}

async function startTheirs(): Promise<Server> {
  const child = fork(join(HELPERS, 'bdht-server.mjs'), [JSON.stringify({ perDepth: PER_DEPTH, depths: DEPTHS, statsMs: STATS_MS })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const server = new Server('bittorrent-dht', child);
  await new Promise<void>((res, rej) => {
    child.on('exit', (code) => rej(new Error(`bittorrent-dht server exited (${code})`)));
    child.on('message', (m: Record<string, number | string>) => {
      if (m.type === 'ready') {
        server.port = m.port as number;
        res();
      } else if (m.type === 'stats') {
        server.push({ uptimeMs: m.uptime_ms as number, answered: m.answered as number, cpuUs: (m.cpu_user_us as number) + (m.cpu_system_us as number), rss: m.rss_bytes as number });
      }
    });
  });
  return server;
}

async function startLoad(): Promise<ChildProcess> {
  const child = fork(join(HELPERS, 'load.mjs'), [JSON.stringify({ sockets: 16, window: 8 })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((res) => child.once('message', () => res()));
  return child;
}

async function phase(server: Server, load: ChildProcess, mix: Mix, seconds: number): Promise<RunResult> {
  load.send({ cmd: 'start', port: server.port, mix });
  await sleep(700); // warm-up: JIT and caches settle
  const a = await server.nextSample();
  await sleep(seconds * 1000);
  const b = await server.nextSample();
  const done = new Promise<Record<string, number>>((res) => load.once('message', (m: Record<string, number>) => res(m)));
  load.send({ cmd: 'stop' });
  const report = await done;
  await sleep(250); // let the server go idle before the next run
  const answered = b.answered - a.answered;
  return {
    server: server.name,
    mix,
    qps: answered / ((b.uptimeMs - a.uptimeMs) / 1000),
    usPerQuery: answered > 0 ? (b.cpuUs - a.cpuUs) / answered : NaN,
    rssMb: b.rss / 1048576,
    lost: report.lost,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Where a profiled function belongs, for the by-area summary. */
function areaOf(name: string, url: string): string {
  if (name === '(garbage collector)') return 'garbage collector';
  if (url.includes('/core/wire/')) return 'wire: scanning the datagram (src/core/wire)';
  if (url.includes('/core/dht/')) return 'dht: responder, table, tokens, peer store (src/core/dht)';
  if (url.includes('/core/net/')) return 'net: Krpc engine, UDP transport (src/core/net)';
  if (url.includes('/commands/') || url.includes('/output/') || url.includes('/cli/')) return 'command: stats, events (src/commands, src/output)';
  if (url === '') return 'builtins: performance.now, typed-array copies, hex';
  const io = ['node:dgram', 'node:internal/dgram', 'node:internal/process/task_queues', 'node:dns', 'node:internal/dns', 'node:buffer', 'node:internal/buffer', 'node:internal/async_hooks', 'node:internal/validators', 'node:internal/net'];
  if (io.some((prefix) => url.startsWith(prefix))) return 'node: dgram send/receive (incl. the kernel), buffers, ticks';
  const startup = ['node:internal/modules', 'node:internal/bootstrap', 'node:fs', 'node:path', 'node:internal/url', 'node:internal/fs', 'node:internal/deps', 'node:internal/main'];
  if (startup.some((prefix) => url.startsWith(prefix)) || url.includes('tsx') || url.includes('esbuild') || url.includes('@oclif')) return 'start-up: loading modules';
  if (url.includes('node:internal/crypto')) return 'node: crypto (tokens)';
  return 'other';
}

/** Self time of a .cpuprofile: the top functions ("12.3%  name (file:line)") and the share per area. */
export function summariseProfile(path: string, top = 15): { functions: string[]; areas: string[] } {
  interface ProfileNode {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const prof = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]);
    const dt = prof.timeDeltas[i] ?? 0;
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    const file = f.url ? f.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/') : '';
    const key = `${f.functionName || '(anonymous)'}${file ? ` (${file}:${f.lineNumber + 1})` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const area = areaOf(f.functionName, f.url);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    total += dt;
  }
  const pct = (v: number): string => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
  return {
    functions: [...self.entries()].sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, v]) => `${pct(v)}  ${k}`),
    areas: [...areas.entries()].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${pct(v)}  ${k}`),
  };
}

export async function run(): Promise<RunResult[]> {
  const seconds = Number(process.env.BENCH_NODE_SECONDS ?? 2.5);
  const rounds = Number(process.env.BENCH_NODE_ROUNDS ?? 3);
  const profileDir = process.env.BENCH_NODE_PROFILE ? resolve(process.env.BENCH_NODE_PROFILE) : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), 'bitscrape-bench-node-'));
  const t0 = Date.now();
  const children: ChildProcess[] = [];
  const results: RunResult[] = [];
  try {
    // allSettled: when one fails to start, the others that did are still killed below
    const started = await Promise.allSettled([startOurs(home, profileDir), startTheirs(), startLoad()]);
    for (const s of started) if (s.status === 'fulfilled') children.push(s.value instanceof Server ? s.value.child : s.value);
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    const [ours, theirs, load] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [Server, Server, ChildProcess];
    for (const mix of ['ping', 'mixed'] as const) {
      for (let r = 0; r < rounds; r++) {
        for (const server of r % 2 === 0 ? [ours, theirs] : [theirs, ours]) results.push(await phase(server, load, mix, seconds));
      }
    }
    report(results, ours, theirs);
    console.log(`our server ran as: node ${cliEntry().map((a) => a.replace(ROOT + '/', '')).join(' ')} node ...`);
    // Orderly stops: ours saves and exits 0 on SIGTERM (and writes its profile).
    const oursExit = new Promise<number | null>((res) => ours.child.once('exit', (code) => res(code)));
    ours.child.kill('SIGTERM');
    theirs.child.send({ cmd: 'exit' });
    load.send({ cmd: 'exit' });
    const code = await Promise.race([oursExit, sleep(10_000).then(() => -1)]);
    if (code !== 0) console.log(`bitscrape node exit code on SIGTERM: ${code}`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
  if (profileDir) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the main thread is thread 0 (under tsx
    // the loader's worker thread writes one too).
    const profiles = readdirSync(profileDir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    const newest = profiles.sort().pop();
    if (newest) {
      const summary = summariseProfile(join(profileDir, newest));
      console.log(`\nprofile of bitscrape node (whole run incl. start-up, self time, idle excluded): ${join(profileDir, newest)}`);
      console.log('by area:');
      for (const line of summary.areas) console.log(`  ${line}`);
      console.log('top functions:');
      for (const line of summary.functions) console.log(`  ${line}`);
    }
  }
  console.log(`\n(node bench took ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return results;
}

function report(results: RunResult[], ours: Server, theirs: Server): void {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const num = (x: number, d = 1): string => x.toFixed(d);
  console.log(`closed-loop loopback load: 16 sources x 8 in flight; tables: ${PER_DEPTH * DEPTHS} contacts each; runs alternate`);
  console.log(`${pad('load', 7)}${pad('server', 16)}${pad('µs CPU/query', 14)}${pad('queries/s', 11)}${pad('RSS MB', 8)}runs (µs/query)`);
  const summary: Record<Mix, { ours: number; theirs: number }> = { ping: { ours: NaN, theirs: NaN }, mixed: { ours: NaN, theirs: NaN } };
  for (const mix of ['ping', 'mixed'] as const) {
    for (const server of [ours, theirs]) {
      const rs = results.filter((r) => r.mix === mix && r.server === server.name);
      const us = median(rs.map((r) => r.usPerQuery));
      summary[mix][server === ours ? 'ours' : 'theirs'] = us;
      console.log(
        `${pad(mix, 7)}${pad(server.name, 16)}${pad(num(us), 14)}${pad(num(median(rs.map((r) => r.qps)), 0), 11)}${pad(num(Math.max(...rs.map((r) => r.rssMb)), 0), 8)}${rs.map((r) => num(r.usPerQuery)).join(' ')}`,
      );
    }
  }
  const pingRatio = summary.ping.ours / summary.ping.theirs;
  const mixedRatio = summary.mixed.ours / summary.mixed.theirs;
  console.log(`ratio ours/theirs, CPU per answered query: ping ${num(pingRatio, 2)}x (target <= 0.6x), mixed ${num(mixedRatio, 2)}x (target <= 0.3x)`);
  console.log(`ours: ${num(summary.ping.ours)} µs/ping (aim ~13), ${num(summary.mixed.ours)} µs/mixed query (aim ~15)`);
}
