// `--strategy-opt key=value` values are user input: a bad key or value is a StrategyOptionError,
// which the crawl command reports as bad input (one line, exit 2), not as an internal error. Each
// numeric option has a range, so a typo like `probes=1e12` cannot turn into a run that never ends.
// Plugins (plain JavaScript, no run-time import of bitscrape) throw an Error whose `name` is
// 'StrategyOptionError'; the name is what is checked.
import { quote } from '../util/quote.js';

export class StrategyOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrategyOptionError';
  }
}

/** True for a StrategyOptionError, ours or a plugin's (matched by name). */
export function isStrategyOptionError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'StrategyOptionError';
}

export type StrategyOptionSpec =
  | { field: string; kind: 'boolean' }
  | { field: string; kind: 'integer' | 'number'; min: number; max: number };

/** `an integer within 0..64`, the range as --help-like docs write it. */
function describeSpec(spec: StrategyOptionSpec): string {
  if (spec.kind === 'boolean') return 'true or false';
  return `${spec.kind === 'integer' ? 'an integer' : 'a number'} within ${spec.min}..${spec.max}`;
}

/** Reads the pairs against the specs (keyed by option name); the errors name the strategy and the pair. */
export function readStrategyOptions(strategy: string, params: Record<string, string>, specs: Record<string, StrategyOptionSpec>): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const [key, value] of Object.entries(params)) {
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (!spec) throw new StrategyOptionError(`${strategy}: unknown --strategy-opt ${quote(key)} (known: ${Object.keys(specs).join(', ')})`);
    const bad = (): StrategyOptionError => new StrategyOptionError(`${strategy}: --strategy-opt ${quote(`${key}=${value}`)}: expected ${describeSpec(spec)}`);
    if (spec.kind === 'boolean') {
      if (value !== 'true' && value !== 'false') throw bad();
      out[spec.field] = value === 'true';
      continue;
    }
    // plain decimals only: no 1e3, 0x10, Infinity or blanks
    if (!/^\d+(\.\d+)?$/.test(value)) throw bad();
    const n = Number(value);
    if (n < spec.min || n > spec.max || (spec.kind === 'integer' && !Number.isInteger(n))) throw bad();
    out[spec.field] = n;
  }
  return out;
}
