// Runs a shell command line under a real pseudo-terminal WITH A SIZE (util-linux `script`), the
// way a user's terminal runs it: stderr is a TTY of 120 x 40, so the spinner (ora) is on. A
// 0 x 0 pty turns the spinner off (src/output/progress.ts) and hides terminal-only behaviour, and
// so does CI=1, which is removed from the child's environment here.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** `node bin/dev.js` through tsx, quoted for a shell command line. */
export const DEV_CLI = `'${process.execPath}' --import tsx --no-warnings '${join(ROOT, 'bin', 'dev.js')}'`;

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

export function runInPty(commandLine: string, opts: { cwd?: string; env?: Record<string, string> } = {}): PtyRun {
  const env: NodeJS.ProcessEnv = { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1', ...opts.env };
  delete env.CI;
  const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${commandLine}`, '/dev/null'], {
    cwd: opts.cwd ?? ROOT,
    env,
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
