// Runs the bitscrape CLI as a child process (bin/dev.js through tsx, so no build is needed),
// with its data directories in a temp dir and BITSCRAPE_LOOPBACK_ONLY=1.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const DEV = join(ROOT, 'bin', 'dev.js');
const RUN = join(ROOT, 'bin', 'run.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The built CLI starts several times faster; use it only when dist/ is newer than every source. */
export function cliEntry(): string[] {
  try {
    if (newestMtime(join(ROOT, 'dist')) >= newestMtime(join(ROOT, 'src'))) return [RUN];
  } catch {
    // no dist/ yet
  }
  return ['--import', 'tsx', '--no-warnings', DEV];
}
let entry: string[] | undefined;

/** Node arguments that start the CLI (before the CLI's own): bin/run.js or bin/dev.js through tsx. */
export function cliNodeArgs(): string[] {
  entry ??= cliEntry();
  return entry;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** stdin: text (written as UTF-8) or raw bytes. */
  input?: string | Uint8Array;
  env?: Record<string, string>;
  /** Kill the child after this long (ms). */
  timeoutMs?: number;
  /** A fixed home for XDG dirs (default: a new temp dir per call). */
  home?: string;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'bitscrape-test-'));
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const home = opts.home ?? tempHome();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...cliNodeArgs(), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        BITSCRAPE_LOOPBACK_ONLY: '1',
        NO_COLOR: '1',
        XDG_DATA_HOME: join(home, 'data'),
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_CACHE_HOME: join(home, 'cache'),
        ...opts.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    // a command may exit before reading all its input (a usage error): that is its answer, not ours
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Parses NDJSON stdout into records (throws on a line that is not JSON: stdout must be data only). */
export function ndjson(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
