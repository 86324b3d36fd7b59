// Start-up: the oclif manifest the build writes (scripts/oclif-manifest.js) and that bin/dev.js
// ignores, the `--version` answer of bin/run.js, and heavy packages loaded only by runs that use
// them. The start-up times themselves are measured by `npm run bench startup`.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { cliEnv, cliNodeArgs, ROOT, tempHome, type CliResult } from '../support/cli.js';

const RECORDER = join(ROOT, 'test', 'support', 'record-modules.mjs');

interface Run extends CliResult {
  /** Modules the run resolved (RECORD_MODULES), one per entry. */
  modules: string[];
}

function run(nodeArgs: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; record?: boolean; terminal?: boolean } = {}): Promise<Run> {
  const home = tempHome();
  const record = join(home, 'modules.txt');
  const env = cliEnv(home, { CI: undefined, ...(opts.record ? { RECORD_MODULES: record } : {}), ...opts.env });

  const argv = [process.execPath, ...nodeArgs];
  // a real pseudo-terminal of 120x40 when asked for (util-linux `script`)
  const [cmd, args] = opts.terminal
    ? ['script', ['-qfec', `stty cols 120 rows 40; ${argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`, '/dev/null']]
    : [argv[0], argv.slice(1)];
  return new Promise((resolvePromise, reject) => {
    // script's stdin stays open: at its end script would end the session
    const child = spawn(cmd, args as string[], { cwd: opts.cwd ?? ROOT, env, stdio: [opts.terminal ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin?.destroy();
      let modules: string[] = [];
      try {
        modules = readFileSync(record, 'utf8').split('\n').filter(Boolean);
      } catch {
        // nothing recorded
      }
      rmSync(home, { recursive: true, force: true });
      resolvePromise({ code, signal, stdout, stderr, modules });
    });
  });
}

/** The CLI as the tests start it, with the module recorder in front of the entry script. */
function cliWithRecorder(args: string[]): string[] {
  const entry = cliNodeArgs();
  return [...entry.slice(0, -1), '--import', RECORDER, entry[entry.length - 1], ...args];
}

const loaded = (r: Run, pkg: string): boolean => r.modules.some((m) => m === pkg || m.includes(`/node_modules/${pkg}/`));

/** Command ids from the files under src/commands (`db/list.ts` → `db:list`). */
function commandIdsInSources(dir = join(ROOT, 'src', 'commands')): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(join(ROOT, 'src', 'commands'), join(e.parentPath, e.name)).replace(/\.ts$/, '').split('/').join(':'))
    .sort();
}

const MANIFEST_SCRIPT = `
import { buildManifest } from './scripts/oclif-manifest.js';
process.stdout.write(JSON.stringify(await buildManifest(process.cwd())));
`;

describe('oclif manifest', () => {
  it('the generator lists every command with its flags, args and module', async () => {
    // from the sources (development mode maps dist/ to src/); the build runs it on dist/
    const r = await run(['--import', 'tsx', '--no-warnings', '--input-type=module', '-e', MANIFEST_SCRIPT], { env: { NODE_ENV: 'development' } });
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(r.stdout) as { version: string; commands: Record<string, { flags: Record<string, unknown>; args: Record<string, unknown>; relativePath: string[]; isESM: boolean; description?: string }> };
    expect(manifest.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(Object.keys(manifest.commands).sort()).toEqual(commandIdsInSources());
    for (const [id, c] of Object.entries(manifest.commands)) {
      expect(c.isESM, id).toBe(true);
      expect(Object.keys(c.flags), id).toEqual(expect.arrayContaining(['json', 'debug']));
      expect(c.description, id).toBeTruthy();
      expect(readFileSync(join(ROOT, ...c.relativePath), 'utf8'), id).toMatch(/export default class/);
    }
    expect(Object.keys(manifest.commands.ping.args)).toEqual(['address']);
    expect(Object.keys(manifest.commands.announce.flags)).toContain('peer-port');
  }, 60_000);

  it('`npm run build` writes it after compiling, and removes a stale one first', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.build).toBe('rm -rf dist oclif.manifest.json && tsc -p tsconfig.json && node scripts/oclif-manifest.js');
  });

  describe('bin/dev.js next to a stale manifest', () => {
    let copy: string;
    beforeAll(() => {
      // a checkout of its own, so the stale file never meets the other tests
      copy = mkdtempSync(join(tmpdir(), 'bitscrape-manifest-'));
      for (const p of ['bin', 'src', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, p), join(copy, p), { recursive: true });
      symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(copy, 'node_modules'));
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      const stale = {
        version,
        commands: {
          'stale-cmd': { id: 'stale-cmd', description: 'STALE COMMAND', flags: {}, args: {}, aliases: [], hiddenAliases: [], pluginType: 'core', isESM: true, relativePath: ['dist', 'commands', 'stale-cmd.js'] },
          ping: { id: 'ping', description: 'STALE PING', flags: {}, args: {}, aliases: [], hiddenAliases: [], pluginType: 'core', isESM: true, relativePath: ['dist', 'commands', 'ping.js'] },
        },
      };
      writeFileSync(join(copy, 'oclif.manifest.json'), JSON.stringify(stale));
    });
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it('oclif itself (as bin/run.js loads it) takes the commands from the manifest', async () => {
      const script = "import { Config } from '@oclif/core'; const c = await Config.load({ root: process.cwd() }); process.stdout.write(JSON.stringify(c.commandIDs));";
      const r = await run(['--input-type=module', '-e', script], { cwd: copy, env: { NODE_ENV: undefined } });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toContain('stale-cmd');
    }, 60_000);

    it('bin/dev.js reads the sources instead: every command, the real help', async () => {
      const [list, help] = await Promise.all([
        run(['--import', 'tsx', '--no-warnings', 'bin/dev.js', '--help'], { cwd: copy }),
        run(['--import', 'tsx', '--no-warnings', 'bin/dev.js', 'ping', '--help'], { cwd: copy }),
      ]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).not.toMatch(/stale-cmd|STALE/);
      for (const id of commandIdsInSources()) if (!id.includes(':')) expect(list.stdout).toMatch(new RegExp(`^  ${id} `, 'm'));
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).not.toMatch(/STALE/);
      expect(help.stdout).toMatch(/--concurrency/);
    }, 60_000);
  });
});

describe('bin/run.js --version', () => {
  it('prints the line oclif prints, without loading oclif', async () => {
    const [fast, oclif] = await Promise.all([
      run(['--import', RECORDER, join(ROOT, 'bin', 'run.js'), '--version'], { record: true, env: { NODE_ENV: undefined } }),
      run(['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), '--version']),
    ]);
    expect(oclif.code, oclif.stderr).toBe(0);
    expect(oclif.stdout).toMatch(/^bitscrape\/\d+\.\d+\.\d+ \S+-\S+ node-v\d+/);
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.stdout).toBe(oclif.stdout);
    expect(fast.modules.length).toBeGreaterThan(0);
    expect(loaded(fast, '@oclif/core')).toBe(false);
  }, 60_000);
});

describe('heavy packages load only when a run uses them', () => {
  let net: Testnet;
  let target: string;
  beforeAll(async () => {
    net = await Testnet.start({ nodes: 1, infohashes: 0, fillMsPerNode: 0 });
    target = net.state().bootstrap;
  });
  afterAll(async () => {
    await net?.close();
  });

  it('`ping --json` off a terminal: no spinner (ora), no database (better-sqlite3)', async () => {
    const r = await run(cliWithRecorder(['ping', target, '--fresh', '--json']), { record: true });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ address: target, ok: true });
    expect(loaded(r, '@oclif/core')).toBe(true); // the recorder sees what loads
    expect(loaded(r, 'ora')).toBe(false);
    expect(loaded(r, 'better-sqlite3')).toBe(false);
  }, 60_000);

  it('`ping` as text off a terminal: the table, still no spinner', async () => {
    const r = await run(cliWithRecorder(['ping', target, '--fresh']), { record: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^address\s/);
    expect(loaded(r, 'ora')).toBe(false);
  }, 60_000);

  it('`crawl --testnet` loads SQLite only when given a database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-startup-'));
    try {
      const [without, withDb] = await Promise.all([
        run(cliWithRecorder(['crawl', '--testnet', '200', '--json']), { record: true }),
        run(cliWithRecorder(['crawl', '--testnet', '200', '--json', '--db', join(dir, 'crawl.db')]), { record: true }),
      ]);
      expect(without.code, without.stderr).toBe(0);
      expect(loaded(without, 'better-sqlite3')).toBe(false);
      expect(withDb.code, withDb.stderr).toBe(0);
      expect(loaded(withDb, 'better-sqlite3')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('at a terminal the spinner still turns: ora loads and draws the progress text', async () => {
    // a port nothing listens on: the ping waits out its timeout (6 s, ample for ora to load) with the spinner up
    const r = await run(cliWithRecorder(['ping', '127.0.0.1:9', '--fresh', '--timeout', '6s']), { record: true, terminal: true });
    expect(r.code, r.stdout).toBe(1);
    expect(loaded(r, 'ora')).toBe(true);
    expect(r.stdout).toMatch(/pinging 1 node\(s\)/);
  }, 60_000);
});
