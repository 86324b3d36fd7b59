// The CLI as people type it: -h, a mistyped command (piped, under CI, and at a real terminal),
// shell completion, and the help examples.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { cliEnv, cliNodeArgs, ROOT, runCli, tempHome, type CliResult } from '../support/cli.js';

const home = tempHome();
afterAll(() => rmSync(home, { recursive: true, force: true }));

function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return cliEnv(home, { CI: undefined, ...extra });
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI under a real pseudo-terminal of 120x40 (util-linux `script`). `answer` is typed
 * once the output contains `when`. Killed after `timeoutMs`.
 */
function inTerminal(args: string[], opts: { env: NodeJS.ProcessEnv; when?: RegExp; answer?: string; timeoutMs?: number }): Promise<CliResult & { answered: boolean }> {
  const command = [process.execPath, ...cliNodeArgs(), ...args].map(quote).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${command}`, '/dev/null'], { cwd: ROOT, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let answered = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!answered && opts.when && opts.answer !== undefined && opts.when.test(stdout)) {
        answered = true;
        child.stdin.write(opts.answer);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolvePromise({ code, signal, stdout, stderr, answered });
    });
  });
}

/** Runs the CLI with stdin a pipe that stays open: a prompt would wait on it until the kill. */
function withOpenStdin(args: string[], e: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...cliNodeArgs(), ...args], { cwd: ROOT, env: e, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

describe('-h', () => {
  it.each([[[]], [['ping']], [['routing', 'show']]])('%j -h prints what --help prints', async (words) => {
    const [short, long] = await Promise.all([runCli([...words, '-h'], { home }), runCli([...words, '--help'], { home })]);
    expect(long.code, long.stderr).toBe(0);
    expect(long.stdout).toMatch(/USAGE/);
    expect(short.code, short.stderr).toBe(0);
    expect(short.stdout).toBe(long.stdout);
    expect(short.stderr).toBe('');
  }, 60_000);
});

describe('a mistyped command', () => {
  it('without a terminal: one line naming the closest command, exit 2, stdin never read', async () => {
    const r = await withOpenStdin(['pnig', '127.0.0.1:6881'], env());
    expect(r.signal, 'killed: it waited for input').toBeNull();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("bitscrape: 'pnig' is not a bitscrape command; did you mean 'ping'? (bitscrape help lists them)\n");
  }, 60_000);

  it('names commands of a topic with their topic, and suggests nothing for a word that is no typo', async () => {
    const [topic, far] = await Promise.all([withOpenStdin(['routing', 'shwo'], env()), withOpenStdin(['xyzzy'], env())]);
    expect(topic.code).toBe(2);
    expect(topic.stderr).toBe("bitscrape: 'routing shwo' is not a bitscrape command; did you mean 'routing show'? (bitscrape help lists them)\n");
    expect(far.code).toBe(2);
    expect(far.stderr).toBe("bitscrape: 'xyzzy' is not a bitscrape command (bitscrape help lists them)\n");
  }, 60_000);

  it('quotes what was typed with control characters escaped, so it cannot drive the terminal', async () => {
    const r = await withOpenStdin(['pn\x1b[2Jig'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("bitscrape: 'pn\\u001b[2Jig' is not a bitscrape command (bitscrape help lists them)\n");
  }, 60_000);

  it('at a terminal with CI set: the same one line, no question', async () => {
    const r = await inTerminal(['pnig'], { env: env({ CI: 'true' }) });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/Did you mean/);
    expect(r.stdout.trim()).toBe("bitscrape: 'pnig' is not a bitscrape command; did you mean 'ping'? (bitscrape help lists them)");
  }, 60_000);

  it('at a terminal: asks "Did you mean …?" and on yes runs that command with the arguments given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-habits-'));
    try {
      const keyFile = join(dir, 'my.key');
      const r = await inTerminal(['kegen', keyFile], { env: env(), when: /Did you mean keygen\?/, answer: 'y\r' });
      expect(r.answered, r.stdout).toBe(true);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/kegen is not a bitscrape command/);
      expect(existsSync(keyFile)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('at a terminal: on no, exit 2', async () => {
    const r = await inTerminal(['pnig'], { env: env(), when: /Did you mean ping\?/, answer: 'n\r' });
    expect(r.answered, r.stdout).toBe(true);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toMatch(/bitscrape help/);
  }, 60_000);
});

describe('shell completion', () => {
  it('`autocomplete --help` explains the setup', async () => {
    const r = await runCli(['autocomplete', '--help'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bitscrape autocomplete \[SHELL\]/);
    expect(r.stdout).toMatch(/zsh/);
  }, 60_000);

  it('`autocomplete bash` prints the setup and writes a completion function with every command and its flags', async () => {
    const r = await runCli(['autocomplete', 'bash'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bitscrape autocomplete script bash/);
    const functions = readFileSync(join(home, 'cache', 'bitscrape', 'autocomplete', 'functions', 'bash', 'bitscrape.bash'), 'utf8');
    expect(functions).toMatch(/^ping --json --debug --bootstrap .*--concurrency/m);
    expect(functions).toMatch(/^routing:show /m);
    expect(functions).toMatch(/^announce .*--peer-port/m);
  }, 60_000);
});

describe('help examples', () => {
  let net: Testnet;
  beforeAll(async () => {
    net = await Testnet.start({ nodes: 4, infohashes: 0, seed: 11, fillMsPerNode: 1000 });
  });
  afterAll(async () => {
    await net?.close();
  });

  it('every `announce` example runs as written (against a local testnet)', async () => {
    const r = await runCli(['announce', '--help'], { home });
    expect(r.code, r.stderr).toBe(0);
    const examples = r.stdout
      .slice(r.stdout.indexOf('\nEXAMPLES\n'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('$ bitscrape announce '))
      .map((l) => l.slice('$ bitscrape '.length).split(/\s+/));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const args of examples) {
      const run = await runCli([...args, '--bootstrap', net.state().bootstrap, '--fresh', '--timeout', '2s'], { home });
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
  }, 120_000);
});
