// Runs the bitscrape CLI under a real pseudo-terminal of a given size (util-linux `script`), the
// way a person sees it: stdout (or stderr) is a terminal with `stty cols N rows M`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { displayWidth } from '../../src/output/text.js';
import { cliEntry, ROOT, tempHome } from './cli.js';

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

export function runInPty(args: string[], opts: PtyOptions): Promise<PtyResult> {
  const home = opts.home ?? tempHome();
  const cli = [process.execPath, ...cliEntry(), ...args].map(shellQuote).join(' ');
  const discard = opts.terminal === 'stderr' ? '>/dev/null' : '2>/dev/null';
  const command = `stty cols ${opts.cols} rows ${opts.rows ?? 40}; exec ${cli} ${discard}`;
  const env: Record<string, string | undefined> = {
    ...process.env,
    BITSCRAPE_LOOPBACK_ONLY: '1',
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    ...opts.env,
  };
  // The terminal decides the width here, and colour is on as for a person at a terminal.
  delete env.COLUMNS;
  delete env.NO_COLOR;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let raw = '';
    child.stdout.on('data', (d: Buffer) => (raw += d.toString()));
    child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = plain(raw).split('\n');
      while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      resolve({ code, lines, raw });
    });
  });
}

/** The widest line, in terminal columns. */
export function widest(lines: string[]): number {
  return Math.max(0, ...lines.map(displayWidth));
}
