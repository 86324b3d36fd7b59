// Which strategies `crawl --strategy NAME` knows: the built-in ones, plus definitions plugins
// register (the plugins issue wires an oclif hook to register()).
import { keyspaceDefinition } from './keyspace.js';
import type { Strategy, StrategyDefinition, StrategyOptions } from './strategy.js';

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

export class UnknownStrategyError extends Error {
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`unknown strategy '${requested}' (known: ${known.join(', ')})`);
    this.name = 'UnknownStrategyError';
  }
}

export class StrategyRegistry {
  private readonly defs = new Map<string, StrategyDefinition>();

  constructor(definitions: readonly StrategyDefinition[] = BUILTIN_STRATEGIES) {
    for (const d of definitions) this.register(d);
  }

  /** Adds a definition; a name already taken is an error unless replace is set. */
  register(def: StrategyDefinition, options: { replace?: boolean } = {}): void {
    if (!def || typeof def.name !== 'string' || !NAME.test(def.name)) {
      throw new Error(`strategy name '${def?.name}' must be lowercase letters, digits and dashes (1-40, starting with a letter)`);
    }
    if (typeof def.create !== 'function') throw new Error(`strategy '${def.name}' has no create()`);
    if (this.defs.has(def.name) && !options.replace) throw new Error(`strategy '${def.name}' is already registered`);
    this.defs.set(def.name, def);
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  /** The definition named `name`; throws UnknownStrategyError listing the known names. */
  get(name: string): StrategyDefinition {
    const def = this.defs.get(name);
    if (!def) throw new UnknownStrategyError(name, this.names());
    return def;
  }

  names(): string[] {
    return [...this.defs.keys()].sort();
  }

  list(): StrategyDefinition[] {
    return this.names().map((n) => this.defs.get(n)!);
  }

  /** Builds a strategy by name; the definition's own option errors propagate. */
  create(name: string, options: Partial<StrategyOptions> = {}): Strategy {
    return this.get(name).create({ concurrency: options.concurrency ?? 16, params: options.params ?? {}, ...(options.range ? { range: options.range } : {}) });
  }
}

export const BUILTIN_STRATEGIES: readonly StrategyDefinition[] = [keyspaceDefinition];

/** The process-wide registry the CLI uses; plugins add to it. */
export const strategies = new StrategyRegistry();

export const DEFAULT_STRATEGY = 'keyspace';
