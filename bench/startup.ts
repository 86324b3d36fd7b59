// Start-up of the built CLI (bin/run.js with dist/ and oclif.manifest.json from `npm run build`)
// against `node -e 0` measured in the same run: `--version`, `ping --help`, and a `ping` of a
// bitscrape node on 127.0.0.1 (a one-node testnet started here, in this process). For scale, one
// more row imports @oclif/core and does nothing else: what any oclif command costs at least.
//
// Each round runs every case once, in an order that rotates from round to round, so a burst of
// load from elsewhere falls on all of them alike. Reported per case: the median wall time and the
// median CPU time of the process (user + system, start-up included, written to fd 3 at exit by
// node-helpers/cpu-on-exit.cjs), and both as ratios to `node -e 0`. On a machine shared with
// others the CPU ratio is the steadier one. Targets: `--version` and `ping --help` <= 3x.
//
// Env: BENCH_STARTUP_ROUNDS (default 11), BENCH_STARTUP_BIN=path/to/run.js (which CLI to time;
// default this checkout's bin/run.js, whose dist/ must be newer than src/).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Testnet } from '../src/core/dht/udp-testnet.js';
import { newestMtime } from './node.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '..');
const CPU_ON_EXIT = join(HERE, 'node-helpers', 'cpu-on-exit.cjs');
/** A case that has not exited by then is a failure, not a slow sample. */
const CASE_DEADLINE_MS = 60_000;

interface Case {
  name: string;
  args: string[];
  /** A target ratio to `node -e 0`, when there is one. */
  target?: number;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

export interface StartupRow {
  name: string;
  wall_ms: number;
  cpu_ms: number;
  wall_ratio: number;
  cpu_ratio: number;
  target?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The CLI to time: the build, and only a fresh one (src/ through tsx is not what users start). */
function builtCli(): string {
  if (process.env.BENCH_STARTUP_BIN) return resolve(process.env.BENCH_STARTUP_BIN);
  const stale = !existsSync(join(ROOT, 'dist')) || newestMtime(join(ROOT, 'dist')) < newestMtime(join(ROOT, 'src'));
  const manifest = join(ROOT, 'oclif.manifest.json');
  if (stale || !existsSync(manifest) || statSync(manifest).mtimeMs < newestMtime(join(ROOT, 'dist'))) {
    throw new Error('dist/ or oclif.manifest.json is missing or older than src/; run `npm run build` first');
  }
  return join(ROOT, 'bin', 'run.js');
}

/** Runs `node --require cpu-on-exit <args>` once; rejects unless it exits 0. */
function timeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', CPU_ON_EXIT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let cpu = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdio[3]!.on('data', (d: Buffer) => (cpu += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_DEADLINE_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      const cpuUs = Number.parseInt(cpu, 10);
      if (code !== 0 || !Number.isFinite(cpuUs)) {
        reject(new Error(`node ${args.join(' ')} exited ${signal ?? code}: ${stderr.trim().split('\n')[0] ?? ''}`));
        return;
      }
      resolvePromise({ wallMs, cpuMs: cpuUs / 1000 });
    });
  });
}

export async function run(rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 11)): Promise<StartupRow[]> {
  const cli = builtCli();
  const home = mkdtempSync(join(tmpdir(), 'bitscrape-bench-startup-'));
  // production, as users run it: no NODE_ENV (vitest's "test" makes oclif look for sources)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BITSCRAPE_LOOPBACK_ONLY: '1',
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
  };
  delete env.NODE_ENV;
  const net = await Testnet.start({ nodes: 1, infohashes: 0, fillMsPerNode: 0 });
  try {
    const target = net.state().bootstrap;
    const cases: Case[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'import @oclif/core', args: ['--input-type=module', '-e', "import '@oclif/core';"] },
      { name: 'bitscrape --version', args: [cli, '--version'], target: 3 },
      { name: 'bitscrape ping --help', args: [cli, 'ping', '--help'], target: 3 },
      { name: `bitscrape ping ${target}`, args: [cli, 'ping', target, '--fresh', '--timeout', '5s'] },
    ];
    const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
    // one unrecorded round: disk caches warm for every case alike
    for (const c of cases) await timeOnce(c.args, env);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[(i + r) % cases.length];
        samples.get(c.name)!.push(await timeOnce(c.args, env));
      }
    }
    const base = samples.get('node -e 0')!;
    const baseWall = median(base.map((s) => s.wallMs));
    const baseCpu = median(base.map((s) => s.cpuMs));
    const rows: StartupRow[] = cases.map((c) => {
      const s = samples.get(c.name)!;
      const wall = median(s.map((x) => x.wallMs));
      const cpu = median(s.map((x) => x.cpuMs));
      return { name: c.name, wall_ms: wall, cpu_ms: cpu, wall_ratio: wall / baseWall, cpu_ratio: cpu / baseCpu, ...(c.target ? { target: c.target } : {}) };
    });
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log(`start-up of ${cli.replace(ROOT + '/', '')}: medians of ${rounds} alternated rounds, ratios to node -e 0 of the same run`);
    console.log(`${'case'.padEnd(w)}  ${'wall ms'.padStart(8)}  ${'x node'.padStart(6)}  ${'CPU ms'.padStart(7)}  ${'x node'.padStart(6)}  target`);
    for (const r of rows) {
      const verdict = r.target === undefined ? '' : `<= ${r.target}x ${r.wall_ratio <= r.target && r.cpu_ratio <= r.target ? 'ok' : 'MISSED'}`;
      console.log(
        `${r.name.padEnd(w)}  ${r.wall_ms.toFixed(0).padStart(8)}  ${r.wall_ratio.toFixed(2).padStart(6)}  ${r.cpu_ms.toFixed(0).padStart(7)}  ${r.cpu_ratio.toFixed(2).padStart(6)}  ${verdict}`,
      );
    }
    return rows;
  } finally {
    await net.close();
    rmSync(home, { recursive: true, force: true });
  }
}
