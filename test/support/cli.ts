// Runs the bitscrape CLI as a child process (bin/dev.js through tsx, so no build is needed),
// with its data directories in a temp dir and BITSCRAPE_LOOPBACK_ONLY=1.
import { spawn, type ChildProcess } from 'node:child_process';
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
  env?: Record<string, string | undefined>;
  /** Kill the child after this long (ms). */
  timeoutMs?: number;
  /** A fixed home for XDG dirs (default: a new temp dir per call). */
  home?: string;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'bitscrape-test-'));
}

/**
 * The environment of a CLI child: loopback only, no colour, XDG dirs under `home`; `extra` adds
 * variables, and an `undefined` value removes one (e.g. `CI: undefined` for terminal behaviour).
 */
export function cliEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BITSCRAPE_LOOPBACK_ONLY: '1',
    NO_COLOR: '1',
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RunOptions extends CliOptions {
  /** stdin ignored instead of piped (input is then not written). */
  noStdin?: boolean;
}

/**
 * Node's "possible EventTarget memory leak" warning on a CLI's stderr: noise a user sees, and a
 * sign of listeners piling up. Every CLI run of the suite fails on it.
 */
function listenerWarning(stderr: string): Error | null {
  const line = stderr.split('\n').find((l) => l.includes('MaxListenersExceededWarning'));
  return line ? new Error(`the CLI printed Node's listener warning: ${line}`) : null;
}

/** Runs any command (node, sh, runuser…) with the CLI's environment and collects what it printed. */
export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const home = opts.home ?? tempHome();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: cliEnv(home, opts.env), stdio: [opts.noStdin ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const leak = listenerWarning(stderr);
      if (leak) reject(leak);
      else resolvePromise({ code, signal, stdout, stderr });
    });
    if (child.stdin) {
      // a command may exit before reading all its input (a usage error): that is its answer, not ours
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    }
  });
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return runCommand(process.execPath, [...cliNodeArgs(), ...args], opts);
}

/** Parses NDJSON stdout into records (throws on a line that is not JSON: stdout must be data only). */
export function ndjson(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is read. */
  exited: Promise<CliResult>;
  /** Waits until stdout holds a line matching `pattern` (rejects on exit or after timeoutMs). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export interface StartOptions extends Omit<CliOptions, 'input'> {
  /** A command the CLI runs under, e.g. ['runuser', '-u', 'nobody', '--'] or ['prlimit', '--fsize=100000']. */
  prefix?: string[];
}

/** Starts the CLI and returns at once, for commands that run until stopped (node, testnet) or run as another user. */
export function startCli(args: string[], opts: StartOptions = {}): RunningCli {
  const home = opts.home ?? tempHome();
  entry ??= cliEntry();
  const argv = [process.execPath, ...entry, ...args];
  const [cmd, ...rest] = [...(opts.prefix ?? []), ...argv];
  const child = spawn(cmd, rest, {
    cwd: ROOT,
    env: cliEnv(home, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const exited = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const l of listeners) l();
      const leak = listenerWarning(stderr);
      if (leak) reject(leak);
      else resolvePromise({ code, signal, stdout, stderr });
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 60_000): Promise<string> =>
    new Promise((resolveLine, reject) => {
      const give = setTimeout(() => done(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      const check = (): void => {
        const line = stdout.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) done(null, line);
        else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`exited (${child.exitCode ?? child.signalCode}) before a line matching ${pattern}; stderr: ${stderr}`));
      };
      const done = (err: Error | null, line?: string): void => {
        clearTimeout(give);
        listeners.delete(check);
        if (err) reject(err);
        else resolveLine(line!);
      };
      listeners.add(check);
      check();
    });
  return { child, stdout: () => stdout, stderr: () => stderr, exited, waitForLine };
}

/**
 * Runs the CLI once per argument list, all in one process (test/support/cli-batch.ts): for
 * tables of quick runs such as flag checks, where a start-up per row would cost minutes on a
 * loaded machine. Each result is what the run wrote and its exit code.
 */
export async function runCliBatch(lists: string[][], opts: Omit<CliOptions, 'input'> = {}): Promise<Array<{ code: number; stdout: string; stderr: string }>> {
  const home = opts.home ?? tempHome();
  const batch = join(ROOT, 'test', 'support', 'cli-batch.ts');
  const r = await runCommand(process.execPath, ['--import', 'tsx', '--no-warnings', batch, JSON.stringify(lists)], { ...opts, home, noStdin: true, timeoutMs: opts.timeoutMs ?? 120_000 });
  if (r.code !== 0) throw new Error(`cli-batch failed (${r.code ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<{ code: number; stdout: string; stderr: string }>;
}
