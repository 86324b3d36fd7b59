// Installing the strategy plugins the two documented ways, offline, into temporary XDG
// directories: `plugins link ./plugins/<name>` and `plugins install file:/abs/<packed>.tgz`
// (from `npm pack`). npm runs with npm_config_offline=true: a plugin with a dependency to fetch
// would fail here. Each installed strategy must then be offered by the `strategies` hook, with
// no oclif warning on stderr, and listed by `crawl --list-strategies`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliNodeArgs } from '../support/cli.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLUGINS = [
  { dir: 'random-target', pkg: 'bitscrape-plugin-random-target', strategy: 'random-target' },
  { dir: 'multi-table', pkg: 'bitscrape-plugin-multi-table', strategy: 'multi-table' },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The hook's answer as a production run (no NODE_ENV, like bin/run.js) sees it. */
const LIST_SCRIPT = `
import { Config } from '@oclif/core';
import { describeStrategies, loadStrategyRegistry } from './src/cli/strategy-plugins.ts';
const config = await Config.load({ root: process.cwd() });
const registry = await loadStrategyRegistry(config);
process.stdout.write(JSON.stringify(describeStrategies(registry)));
`;

/** A data/config/cache home for one install path, with npm kept offline and its cache inside. */
function makeEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    npm_config_offline: 'true',
    npm_config_cache: join(home, 'npm-cache'),
    npm_config_update_notifier: 'false',
    BITSCRAPE_LOOPBACK_ONLY: '1',
    NO_COLOR: '1',
  };
  delete env.NODE_ENV;
  return env;
}

// the built CLI (and its oclif manifest) when dist/ is fresh, as after `npm run build` in CI; else bin/dev.js
const cli = (args: string[], env: NodeJS.ProcessEnv): Promise<Run> => run(process.execPath, [...cliNodeArgs(), ...args], env);

async function hookRows(env: NodeJS.ProcessEnv): Promise<{ rows: Array<{ name: string; plugin: string; description: string }>; stderr: string }> {
  const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LIST_SCRIPT], env);
  expect(r.code, r.stderr).toBe(0);
  return { rows: JSON.parse(r.stdout), stderr: r.stderr };
}

let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'bitscrape-plugins-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe.each([
  { how: 'plugins link ./plugins/<name>', key: 'link' },
  { how: 'npm pack, then plugins install file:/abs/<tgz>', key: 'install' },
])('strategy plugins installed with $how, offline', ({ key }) => {
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = makeEnv(join(home, key));
    for (const p of PLUGINS) {
      let r: Run;
      if (key === 'link') {
        r = await cli(['plugins', 'link', `./plugins/${p.dir}`], env);
      } else {
        const packs = join(home, 'packs', p.dir);
        mkdirSync(packs, { recursive: true });
        const packed = await run('npm', ['pack', '--pack-destination', packs], env, join(ROOT, 'plugins', p.dir));
        expect(packed.code, packed.stderr).toBe(0);
        const tgz = readdirSync(packs).find((f) => f.endsWith('.tgz'));
        expect(tgz, packed.stdout).toBeDefined();
        r = await cli(['plugins', 'install', `file:${join(packs, tgz!)}`], env);
      }
      expect(r.code, `${p.dir}: ${r.stderr}`).toBe(0);
    }
  }, 120_000);

  it('`plugins` lists both', async () => {
    const r = await cli(['plugins'], env);
    expect(r.code, r.stderr).toBe(0);
    for (const p of PLUGINS) expect(r.stdout).toMatch(new RegExp(`${p.pkg} 0\\.1\\.0${key === 'link' ? ' \\(link\\)' : ''}`));
    if (key === 'install') {
      // installed without a single dependency of their own
      const modules = join(env.XDG_DATA_HOME!, 'bitscrape', 'node_modules');
      expect(readdirSync(modules).filter((n) => !n.startsWith('.')).sort()).toEqual(PLUGINS.map((p) => p.pkg).sort());
      for (const p of PLUGINS) {
        expect(existsSync(join(modules, p.pkg, 'lib', 'hooks', 'strategies.js'))).toBe(true);
        expect(existsSync(join(modules, p.pkg, 'test'))).toBe(false);
      }
    }
  }, 60_000);

  it('the strategies hook offers each plugin\'s strategy, without a warning', async () => {
    const { rows, stderr } = await hookRows(env);
    expect(stderr).toBe('');
    expect(rows.map((r) => `${r.name}@${r.plugin}`).sort()).toEqual(['keyspace@bitscrape', ...PLUGINS.map((p) => `${p.strategy}@${p.pkg}`)].sort());
    for (const r of rows) expect(r.description.length).toBeGreaterThan(20);
  }, 60_000);

  it('`crawl --list-strategies` shows each with its plugin', async () => {
    const r = await cli(['crawl', '--list-strategies'], env);
    expect(r.code, r.stderr).toBe(0);
    for (const p of PLUGINS) {
      const line = r.stdout.split('\n').find((l) => l.includes(p.strategy) && !l.includes('keyspace'));
      expect(line, r.stdout).toBeDefined();
      expect(line).toContain(p.pkg);
    }
  }, 60_000);

  it('`crawl --strategy NAME` crawls a simulated DHT with each plugin strategy', async () => {
    for (const p of PLUGINS) {
      const opt = p.strategy === 'random-target' ? 'rounds=6' : 'tables-total=6';
      const r = await cli(['crawl', '--testnet', '1500', '--strategy', p.strategy, '--strategy-opt', opt, '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const records = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
      const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
      expect(summary).toMatchObject({ summary: 'crawl', testnet: true, strategy: p.strategy, stopped_by: 'done' });
      expect(records.length).toBe(summary.unique_infohashes);
      expect(records.length).toBeGreaterThan(50);
    }
  }, 60_000);

  it('a bad --strategy-opt, built in or a plugin\'s, is bad input: one line, exit 2, before anything is opened', async () => {
    const cases = [
      ['keyspace', 'probes=-1', /^crawl: keyspace: --strategy-opt 'probes=-1': expected an integer within 0\.\.64$/],
      ['keyspace', 'probes=1e12', /^crawl: keyspace: --strategy-opt 'probes=1e12': expected an integer within 0\.\.64$/],
      ['random-target', 'rotate=abc', /^crawl: random-target: --strategy-opt 'rotate=abc': expected a number within 0\.001\.\.3600$/],
      ['multi-table', 'tables=100000', /^crawl: multi-table: --strategy-opt 'tables=100000': expected an integer within 1\.\.256$/],
      ['multi-table', 'depth=3', /^crawl: multi-table: unknown --strategy-opt 'depth' \(known: tables, k, window, tables-total, pool, dry-tables\)$/],
    ] as const;
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-opt-'));
    const runs = await Promise.all(
      cases.map(([strategy, opt], i) => cli(['crawl', '--testnet', '100', '--strategy', strategy, '--strategy-opt', opt, '--db', join(dir, `${i}.db`), '--json'], env)),
    );
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(cases[i][2]);
    });
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('an unknown strategy is a one-line error naming the known ones, plugins included', async () => {
    const r = await cli(['crawl', '--testnet', '100', '--strategy', 'no-such'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("crawl: unknown strategy 'no-such' (known: keyspace, multi-table, random-target)");
  }, 60_000);
});
