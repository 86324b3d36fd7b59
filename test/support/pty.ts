// Runs commands under a real pseudo-terminal WITH A SIZE (util-linux `script`), the way a person's
// terminal runs them. A 0 x 0 pty turns the spinner off (src/output/progress.ts) and hides
// terminal-only behaviour, and so does CI=1, which is removed from the child's environment here.
// Two shapes: startInPty for interactive runs (type keys, wait for output), runInPty for "run the
// CLI at this width and give me the screen".
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { displayWidth } from '../../src/output/text.js';
import { cliEntry, ROOT, tempHome } from './cli.js';

/** `node bin/dev.js` through tsx, quoted for a shell command line. */
export const DEV_CLI = `'${process.execPath}' --import tsx --no-warnings '${join(ROOT, 'bin', 'dev.js')}'`;

export interface PtyStartOptions {
  cols?: number;
  rows?: number;
  cwd?: string;
  /** Added to the environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

export interface PtyRun {
  /** Everything the terminal showed so far (spinner frames, stderr, stdout unless redirected). */
  output(): string;
  /** Sends bytes as typed keys: '\x03' is Ctrl-C. */
  type(keys: string): void;
  /** Resolves when the terminal output matches, rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** The exit code of the command line (script -e passes it through). */
  exited: Promise<number | null>;
  kill(): void;
}

export function startInPty(commandLine: string, opts: PtyStartOptions = {}): PtyRun {
  // script(1) runs the line with $SHELL, which CI leaves unset (so /bin/sh, dash, which dies with
  // the pty's Ctrl-C). bash, on every Debian, waits for the command and dies with SIGINT only when
  // the command did: that is what lets a test tell "exited 130" from "killed by SIGINT".
  const env: Record<string, string | undefined> = { ...process.env, SHELL: '/bin/bash', BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1', CI: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn('script', ['-qfec', `stty cols ${opts.cols ?? 120} rows ${opts.rows ?? 40}; ${commandLine}`, '/dev/null'], {
    cwd: opts.cwd ?? ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of [...waiters]) w();
  });
  return {
    output: () => out,
    type: (keys) => {
      child.stdin.write(keys);
    },
    waitFor(pattern, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out)) finish();
          else if (done) finish(new Error(`the command ended before ${pattern}; terminal: ${out.slice(-2000)}`));
        };
        const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${timeoutMs} ms; terminal: ${out.slice(-2000)}`)), timeoutMs);
        const finish = (err?: Error): void => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export interface PtyOptions {
  cols: number;
  rows?: number;
  /** Which stream goes to the terminal; the other is discarded. Default stdout. */
  terminal?: 'stdout' | 'stderr';
  env?: Record<string, string>;
  home?: string;
  timeoutMs?: number;
}

export interface PtyResult {
  code: number | null;
  /** What the terminal showed, escape sequences removed, one entry per line. */
  lines: string[];
  /** The raw bytes as text, escape sequences included. */
  raw: string;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Terminal text without CSI escape sequences (colour, cursor), and without the pty's \r. */
export function plain(raw: string): string {
  return raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** Runs the CLI with ARGS at a terminal of opts.cols columns, colour on, and returns the screen. */
export async function runInPty(args: string[], opts: PtyOptions): Promise<PtyResult> {
  const home = opts.home ?? tempHome();
  const cli = [process.execPath, ...cliEntry(), ...args].map(shellQuote).join(' ');
  const discard = opts.terminal === 'stderr' ? '>/dev/null' : '2>/dev/null';
  const run = startInPty(`exec ${cli} ${discard} </dev/null`, {
    cols: opts.cols,
    ...(opts.rows !== undefined ? { rows: opts.rows } : {}),
    env: {
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_CACHE_HOME: join(home, 'cache'),
      // The terminal decides the width here, and colour is on as for a person at a terminal.
      COLUMNS: undefined,
      NO_COLOR: undefined,
      ...opts.env,
    },
  });
  const timer = setTimeout(() => run.kill(), opts.timeoutMs ?? 60_000);
  const code = await run.exited;
  clearTimeout(timer);
  const raw = run.output();
  const lines = plain(raw).split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { code, lines, raw };
}

/** The widest line, in terminal columns. */
export function widest(lines: string[]): number {
  return Math.max(0, ...lines.map(displayWidth));
}
