// loadStrategyRegistry: the `strategies` hook's answers become registry entries that know their
// plugin; a plugin that answers badly is one warning line and left out. First against stand-in
// hook results, then through oclif itself with linked plugins in a temporary data directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Config } from '@oclif/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStrategies, loadStrategyRegistry, pluginOf, STRATEGY_API_VERSION } from '../../src/cli/strategy-plugins.js';
import type { Strategy, StrategyDefinition } from '../../src/core/crawl/strategy.js';

const ROOT = new URL('../../', import.meta.url).pathname;

const fakeStrategy = (name: string): Strategy => ({
  name,
  seed: async () => {},
  next: () => ({ done: true }),
  onReply: () => {},
  onFailure: () => {},
  progress: () => 0,
});

const def = (name: string, description = `the ${name} strategy`): StrategyDefinition => ({ name, description, create: () => fakeStrategy(name) });

interface Answer {
  plugin: string;
  result?: unknown;
  error?: Error;
}

/** A stand-in for oclif's Config whose runHook answers as given, and records how it was called. */
function fakeConfig(answers: Answer[]): { config: Config; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const config = {
    runHook: async (...args: unknown[]) => {
      calls.push(args);
      return {
        successes: answers.filter((a) => !a.error).map((a) => ({ plugin: { name: a.plugin }, result: a.result })),
        failures: answers.filter((a) => a.error).map((a) => ({ plugin: { name: a.plugin }, error: a.error })),
      };
    },
  } as unknown as Config;
  return { config, calls };
}

async function load(answers: Answer[]): Promise<{ rows: ReturnType<typeof describeStrategies>; warnings: string[]; calls: unknown[][]; registry: Awaited<ReturnType<typeof loadStrategyRegistry>> }> {
  const { config, calls } = fakeConfig(answers);
  const warnings: string[] = [];
  const registry = await loadStrategyRegistry(config, { warn: (line) => warnings.push(line), timeoutMs: 1234 });
  return { rows: describeStrategies(registry), warnings, calls, registry };
}

describe('loadStrategyRegistry with stand-in hook answers', () => {
  it('fires `strategies` with the API version, a timeout, and errors captured', async () => {
    const { calls } = await load([]);
    expect(calls).toEqual([['strategies', { api: STRATEGY_API_VERSION }, 1234, true]]);
  });

  it('registers every definition with its plugin, next to the built-in keyspace', async () => {
    const { rows, warnings, registry } = await load([
      { plugin: 'bitscrape-plugin-b', result: [def('zigzag'), def('alpha', 'first line\nsecond line')] },
      { plugin: 'bitscrape-plugin-a', result: [def('random-target')] },
    ]);
    expect(warnings).toEqual([]);
    expect(rows).toEqual([
      { name: 'alpha', plugin: 'bitscrape-plugin-b', description: 'first line' },
      { name: 'keyspace', plugin: 'bitscrape', description: expect.stringContaining('keyspace') },
      { name: 'random-target', plugin: 'bitscrape-plugin-a', description: 'the random-target strategy' },
      { name: 'zigzag', plugin: 'bitscrape-plugin-b', description: 'the zigzag strategy' },
    ]);
    expect(registry.create('zigzag').name).toBe('zigzag');
    expect(pluginOf(registry.get('keyspace'))).toBe('bitscrape');
  });

  it('skips a plugin whose hook failed or answered something other than a list of definitions', async () => {
    const { rows, warnings } = await load([
      { plugin: 'p-throws', error: new Error('cannot load\nstack line') },
      { plugin: 'p-object', result: { name: 'x' } },
      { plugin: 'p-nothing', result: undefined },
      { plugin: 'p-no-create', result: [def('fine'), { name: 'broken', description: 'no factory' }] },
      { plugin: 'p-good', result: [def('good')] },
    ]);
    expect(rows.map((r) => r.name)).toEqual(['good', 'keyspace']);
    expect(warnings).toEqual([
      'plugin p-throws: its strategies hook failed: cannot load; skipped',
      'plugin p-no-create: its strategies hook answered strategy \'broken\' without a create() function; skipped',
      'plugin p-nothing: its strategies hook answered nothing instead of a list of strategy definitions; skipped',
      'plugin p-object: its strategies hook answered an object instead of a list of strategy definitions; skipped',
    ]);
  });

  it('leaves out a definition with a bad or taken name, keeping the plugin\'s others', async () => {
    const { rows, warnings } = await load([
      { plugin: 'p-one', result: [def('Bad Name'), def('keyspace'), def('shared'), def('ok-one')] },
      { plugin: 'p-two', result: [def('shared'), def('ok-two')] },
    ]);
    expect(rows.map((r) => `${r.name}@${r.plugin}`)).toEqual(['keyspace@bitscrape', 'ok-one@p-one', 'ok-two@p-two', 'shared@p-one']);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^plugin p-one: strategy 'Bad Name' not added: strategy name 'Bad Name' must be lowercase/);
    expect(warnings[1]).toBe("plugin p-one: strategy 'keyspace' not added: strategy 'keyspace' is already registered (provided by bitscrape)");
    expect(warnings[2]).toBe("plugin p-two: strategy 'shared' not added: strategy 'shared' is already registered (provided by p-one)");
  });
});

describe('loadStrategyRegistry through oclif, with linked plugins', () => {
  let home: string;
  const saved: Record<string, string | undefined> = {};

  /** A plugin directory whose `strategies` hook module has the given body. */
  function plugin(name: string, hookBody: string): string {
    const dir = join(home, 'plugins', name);
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', oclif: { hooks: { strategies: './lib/hook.js' } } }));
    writeFileSync(join(dir, 'lib', 'hook.js'), hookBody);
    return dir;
  }

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'bitscrape-plugins-hook-'));
    for (const k of ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME']) saved[k] = process.env[k];
    process.env.XDG_DATA_HOME = join(home, 'data');
    process.env.XDG_CONFIG_HOME = join(home, 'config');
    process.env.XDG_CACHE_HOME = join(home, 'cache');
    const linked = [
      { name: 'bitscrape-plugin-random-target', root: join(ROOT, 'plugins', 'random-target') },
      { name: 'p-throws', root: plugin('p-throws', "export default async function () { throw new Error('no strategies today'); }\n") },
      { name: 'p-oclif-error', root: plugin('p-oclif-error', "export default async function () { this.error('refused by the plugin', { exit: 3 }); }\n") },
      { name: 'p-hangs', root: plugin('p-hangs', 'export default function () { return new Promise(() => {}); }\n') },
      { name: 'p-api', root: plugin('p-api', "export default function (o) { return [{ name: 'api-echo', description: 'api ' + o.api, create() { return {}; } }]; }\n") },
    ];
    mkdirSync(join(home, 'data', 'bitscrape'), { recursive: true });
    writeFileSync(
      join(home, 'data', 'bitscrape', 'package.json'),
      JSON.stringify({ name: 'bitscrape', private: true, dependencies: {}, oclif: { schema: 1, plugins: linked.map((p) => ({ ...p, type: 'link' })) } }),
    );
  });

  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('registers the working plugins and reports each failing one on one line', async () => {
    const config = await Config.load({ root: ROOT });
    const warnings: string[] = [];
    const registry = await loadStrategyRegistry(config, { warn: (line) => warnings.push(line), timeoutMs: 1500 });
    const rows = describeStrategies(registry);
    expect(rows.find((r) => r.name === 'random-target')).toEqual({
      name: 'random-target',
      plugin: 'bitscrape-plugin-random-target',
      description: expect.stringContaining('random target'),
    });
    expect(rows.find((r) => r.name === 'api-echo')).toMatchObject({ plugin: 'p-api', description: `api ${STRATEGY_API_VERSION}` });
    expect(rows.map((r) => r.name)).toEqual(['api-echo', 'keyspace', 'random-target']);
    expect(warnings.sort()).toEqual([
      'plugin p-hangs: its strategies hook failed: Timed out after 1500 ms.; skipped',
      'plugin p-oclif-error: its strategies hook failed: refused by the plugin; skipped',
      'plugin p-throws: its strategies hook failed: no strategies today; skipped',
    ]);
    for (const w of warnings) expect(w).not.toContain('\n');
  });
});
