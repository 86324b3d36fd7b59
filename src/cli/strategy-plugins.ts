// Strategy plugins: `crawl` fires the custom oclif hook `strategies`; every installed or linked
// plugin whose package.json has `oclif.hooks.strategies` answers with the StrategyDefinitions it
// adds. A plugin that answers badly (throws, times out, returns something that is not a list of
// definitions, reuses a taken name) gets a one-line warning and is left out; the crawl goes on
// with the rest.
import { settings, type Config } from '@oclif/core';
import { oneLine } from './errors.js';
import { BUILTIN_STRATEGIES, StrategyRegistry } from '../core/crawl/registry.js';
import type { StrategyDefinition } from '../core/crawl/strategy.js';

/** The oclif event a strategy plugin hooks. */
const STRATEGIES_EVENT = 'strategies';

/**
 * Version of the plugin API this bitscrape speaks; handed to every hook as `api`, so a plugin can
 * refuse a bitscrape too old for it. 2: StrategyHelpers gained keyPart, contactIndex, endpointKey.
 */
export const STRATEGY_API_VERSION = 2;

/** What the `strategies` hook is called with (oclif adds its own `config` and `context`). */
export interface StrategiesHookOptions {
  /** STRATEGY_API_VERSION of the running bitscrape. */
  api: number;
}

/** The default export of a plugin's `strategies` hook module. */
export type StrategiesHook = (options: StrategiesHookOptions) => StrategyDefinition[] | Promise<StrategyDefinition[]>;

/** A definition as the registry holds it: with the package that provided it. */
export type ProvidedStrategyDefinition = StrategyDefinition & { plugin: string };

/** Package name reported for the strategies built into bitscrape. */
const BUILTIN_PLUGIN = 'bitscrape';

export interface LoadStrategiesOptions {
  /** Where one-line warnings go (default: stderr, prefixed `bitscrape: warning: `). */
  warn?(line: string): void;
  /** A plugin's hook must answer within this long (default 10 s). */
  timeoutMs?: number;
}

/** One row of `crawl --list-strategies`. */
export interface StrategyRow {
  name: string;
  plugin: string;
  description: string;
}

/**
 * A registry with the built-in strategies plus those every plugin answers the `strategies` hook
 * with. Never rejects because of a plugin.
 */
export async function loadStrategyRegistry(config: Config, options: LoadStrategiesOptions = {}): Promise<StrategyRegistry> {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`bitscrape: warning: ${line}\n`));
  const registry = new StrategyRegistry(BUILTIN_STRATEGIES.map((d) => provided(d, BUILTIN_PLUGIN)));
  const hookOptions: StrategiesHookOptions = { api: STRATEGY_API_VERSION };
  const result = await withCompiledPlugins(() => config.runHook(STRATEGIES_EVENT, { ...hookOptions }, options.timeoutMs ?? 10_000, true));
  for (const failure of result.failures) {
    warn(`plugin ${failure.plugin.name}: its strategies hook failed: ${oneLine(failure.error)}; skipped`);
  }
  // plugins in a stable order, so a name clash always keeps the same one
  const answers = [...result.successes].sort((a, b) => a.plugin.name.localeCompare(b.plugin.name));
  for (const { plugin, result: answer } of answers) {
    const problem = checkAnswer(answer);
    if (problem) {
      warn(`plugin ${plugin.name}: its strategies hook ${problem}; skipped`);
      continue;
    }
    for (const def of answer as StrategyDefinition[]) {
      try {
        registry.register(provided(def, plugin.name));
      } catch (err) {
        const taken = registry.has(def.name) ? ` (provided by ${pluginOf(registry.get(def.name))})` : '';
        warn(`plugin ${plugin.name}: strategy '${String(def.name)}' not added: ${oneLine(err)}${taken}`);
      }
    }
  }
  return registry;
}

/** Rows for `crawl --list-strategies`, sorted by name. */
export function describeStrategies(registry: StrategyRegistry): StrategyRow[] {
  return registry.list().map((d) => ({ name: d.name, plugin: pluginOf(d), description: d.description }));
}

/** The package that provided a definition (`bitscrape` for the built-in ones). */
export function pluginOf(def: StrategyDefinition): string {
  const p = (def as Partial<ProvidedStrategyDefinition>).plugin;
  return typeof p === 'string' && p !== '' ? p : BUILTIN_PLUGIN;
}

/** Why an answer is not a list of definitions, or null when it is one. */
function checkAnswer(answer: unknown): string | null {
  if (!Array.isArray(answer)) return `answered ${describe(answer)} instead of a list of strategy definitions`;
  for (const [i, d] of answer.entries()) {
    if (d === null || typeof d !== 'object') return `answered ${describe(d)} as definition ${i}`;
    const def = d as Partial<StrategyDefinition>;
    if (typeof def.name !== 'string') return `answered a definition without a name (definition ${i})`;
    if (typeof def.create !== 'function') return `answered strategy '${def.name}' without a create() function`;
    if (def.description !== undefined && typeof def.description !== 'string') return `answered strategy '${def.name}' with a description that is not text`;
  }
  return null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`;
}

/** A copy that names its plugin; the description is cut to its first line (it is one table row). */
function provided(def: StrategyDefinition, plugin: string): ProvidedStrategyDefinition {
  const description = String(def.description ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '') ?? '';
  return { name: def.name, description, create: (options) => def.create(options), plugin };
}

/**
 * Runs fn with oclif's TypeScript auto-transpiling off in production. A linked plugin would
 * otherwise make oclif look for its sources (and warn once per run that it can't transpile an
 * ES module); a strategy plugin is loaded from the JavaScript its hook entry points to. Under
 * bin/dev.js (development) oclif's behaviour is kept.
 */
async function withCompiledPlugins<T>(fn: () => Promise<T>): Promise<T> {
  const production = !['development', 'test'].includes(process.env.NODE_ENV ?? '');
  if (!production || settings.enableAutoTranspile !== undefined || settings.tsnodeEnabled !== undefined) return fn();
  settings.enableAutoTranspile = false;
  try {
    return await fn();
  } finally {
    delete settings.enableAutoTranspile;
  }
}
