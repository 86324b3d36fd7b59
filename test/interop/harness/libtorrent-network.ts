// Starts launch_network.py (real libtorrent DHT nodes on loopback) and hands back its state.
// Interop tests must fail, not skip, when libtorrent is unavailable: every problem here throws.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePortRange, type PortReservation } from './ports.js';
import type { LibtorrentState } from './state.js';

export type { LibtorrentState, LtAnnouncer, LtFamily, LtInfohash, LtNode } from './state.js';

/** Debian's interpreter: python3-libtorrent is installed for it only (not for pyenv/venv). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const HARNESS_DIR = dirname(fileURLToPath(import.meta.url));
export const LAUNCHER = join(HARNESS_DIR, 'launch_network.py');

export interface LibtorrentNetworkOptions {
  nodes: number;
  infohashes: number;
  /** Seeding announcers per info-hash (default 1). */
  seeders?: number;
  /** Downloading announcers per info-hash (default 1). */
  leechers?: number;
  /** Node i binds its own 127.0.x.y instead of all sharing 127.0.0.1 (BEP 33 counts need it). */
  distinctIps?: boolean;
  /** Every node also listens on [::1]:port. */
  ipv6?: boolean;
  /** With ipv6: false runs IPv6 only (default true). */
  ipv4?: boolean;
  /** BEP 51 interval the nodes report (default 0: fresh samples). */
  sampleInterval?: number;
  /** Readiness: each info-hash stored on this many nodes (default min(8, nodes-1)). */
  minHolders?: number;
  /** Give up (and kill the launcher) after this long; default defaultTimeoutMs(). */
  timeoutMs?: number;
  /** Interpreter to run; default /usr/bin/python3. */
  python?: string;
  /** Also seed this many torrents of `bigFiles` files built by libtorrent (even: hybrid v1+v2, odd: v1 only). */
  bigTorrents?: number;
  /** Files per big torrent (launcher default 400: an info dictionary above 40 KiB). */
  bigFiles?: number;
  /** Further launch_network.py arguments. */
  extraArgs?: string[];
}

export interface LibtorrentNetwork {
  readonly state: LibtorrentState;
  /** "host:port" of node 0, one per family. */
  readonly bootstrap: string[];
  /** Wall-clock milliseconds from spawn to ready. */
  readonly startupMs: number;
  /** Stops the launcher (its whole process group) and frees the ports. Idempotent. */
  stop(): Promise<void>;
}

/** Generous on purpose: allows twice the measured start-up on a busy 2-core machine. */
export function defaultTimeoutMs(nodes: number, infohashes: number): number {
  return Math.max(60_000, 30_000 + nodes * 500 + infohashes * 50);
}

/** The hosts node i binds, as launch_network.py assigns them. */
export function nodeHosts(index: number, opts: Pick<LibtorrentNetworkOptions, 'distinctIps' | 'ipv6' | 'ipv4'>): string[] {
  const hosts: string[] = [];
  if (opts.ipv4 !== false) hosts.push(opts.distinctIps ? distinctLoopbackHost(index) : '127.0.0.1');
  if (opts.ipv6) hosts.push('::1');
  return hosts;
}

/** 127.0.x.y for node i: counts 0.1, 0.2, ... skipping y = 0 and y = 255. */
export function distinctLoopbackHost(index: number): string {
  const perBlock = 254;
  const n = Math.floor(index / perBlock) * 256 + (index % perBlock) + 1;
  return `127.0.${n >> 8}.${n & 0xff}`;
}

const EXIT_MEANING: Record<number, string> = {
  3: 'libtorrent is not importable',
  4: 'a port was taken',
  5: 'the network did not become ready in time',
};

/** Keeps the last few KB of a stream for error messages. */
function tailOf(stream: NodeJS.ReadableStream | null, limit = 4000): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-limit);
  });
  return () => text.trim();
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  signalGroup(child, 'SIGTERM');
  if (!(await waitForExit(child, 10_000))) {
    signalGroup(child, 'SIGKILL');
    await waitForExit(child, 5_000);
  }
}

function readState(path: string): LibtorrentState | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LibtorrentState;
  } catch {
    return undefined; // not written yet (the launcher renames it into place when complete)
  }
}

function launcherArgs(o: LibtorrentNetworkOptions, basePort: number, statePath: string, timeoutMs: number): string[] {
  const args = [
    '-B', // no __pycache__ in the source tree
    LAUNCHER,
    '--nodes', String(o.nodes),
    '--infohashes', String(o.infohashes),
    '--seeders', String(o.seeders ?? 1),
    '--leechers', String(o.leechers ?? 1),
    '--base-port', String(basePort),
    '--state', statePath,
    // the launcher gives up a little before we do, so its own message reaches us
    '--ready-timeout', String(Math.max(5, timeoutMs / 1000 - 3)),
    '--parent-pid', String(process.pid),
    '--sample-interval', String(o.sampleInterval ?? 0),
  ];
  if (o.distinctIps) args.push('--distinct-ips');
  if (o.ipv6) args.push('--ipv6');
  if (o.ipv6 && o.ipv4 === false) args.push('--no-ipv4');
  if (o.minHolders !== undefined) args.push('--min-holders', String(o.minHolders));
  if (o.bigTorrents) args.push('--big-torrents', String(o.bigTorrents));
  if (o.bigFiles !== undefined) args.push('--big-files', String(o.bigFiles));
  args.push(...(o.extraArgs ?? []));
  return args;
}

interface Attempt {
  network?: LibtorrentNetwork;
  /** The launcher found a port taken after all (a race with a foreign process): try again. */
  portClash?: boolean;
}

async function attemptStart(o: LibtorrentNetworkOptions, timeoutMs: number, ports: PortReservation): Promise<Attempt> {
  const python = o.python ?? SYSTEM_PYTHON;
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-lt-'));
  const statePath = join(dir, 'state.json');
  const started = Date.now();
  const cleanupDir = (): void => rmSync(dir, { recursive: true, force: true });

  const child = spawn(python, launcherArgs(o, ports.basePort, statePath, timeoutMs), {
    detached: true, // own process group, so stop() reaches everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
  });
  const stderr = tailOf(child.stderr);
  tailOf(child.stdout);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  child.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();

  const fail = async (message: string): Promise<never> => {
    await terminate(child);
    cleanupDir();
    throw new Error(message);
  };

  for (;;) {
    const state = readState(statePath);
    if (state) {
      let stopping: Promise<void> | undefined;
      const network: LibtorrentNetwork = {
        state,
        bootstrap: state.bootstrap,
        startupMs: Date.now() - started,
        stop: () =>
          (stopping ??= terminate(child).finally(() => {
            cleanupDir();
            ports.release();
          })),
      };
      return { network };
    }
    if (spawnError) {
      const code = (spawnError as NodeJS.ErrnoException).code;
      return fail(
        code === 'ENOENT'
          ? `${python} not found: the interop tests need Debian's python3 with python3-libtorrent (apt-get install -y python3-libtorrent)`
          : `cannot start ${python}: ${spawnError.message}`,
      );
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      const code = child.exitCode;
      if (code === 4) {
        cleanupDir();
        return { portClash: true };
      }
      const meaning = code !== null && EXIT_MEANING[code] ? ` (${EXIT_MEANING[code]})` : '';
      const hint =
        code === 3 ? `; install it with \`apt-get install -y python3-libtorrent\` and run with ${SYSTEM_PYTHON}` : '';
      return fail(
        `libtorrent network launcher exited with ${code ?? child.signalCode}${meaning}${hint}\n${stderr()}`,
      );
    }
    if (Date.now() - started > timeoutMs) {
      return fail(`libtorrent network (${o.nodes} nodes, ${o.infohashes} info-hashes) not ready after ${timeoutMs} ms\n${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a network of real libtorrent nodes on loopback and resolves once it is ready. */
export async function startLibtorrentNetwork(options: LibtorrentNetworkOptions): Promise<LibtorrentNetwork> {
  if (!Number.isInteger(options.nodes) || options.nodes < 2) throw new Error('nodes must be an integer >= 2');
  if ((options.seeders ?? 1) + (options.leechers ?? 1) > options.nodes) {
    throw new Error('seeders + leechers must not exceed nodes');
  }
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(options.nodes, options.infohashes);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = await reservePortRange(options.nodes, (i) => nodeHosts(i, options));
    let result: Attempt;
    try {
      result = await attemptStart(options, Math.max(1000, deadline - Date.now()), ports);
    } catch (err) {
      ports.release();
      throw err;
    }
    if (result.network) return result.network;
    ports.release();
  }
  throw new Error('could not find free loopback ports for the libtorrent network after 3 attempts');
}
