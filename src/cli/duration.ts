// Durations on the command line: `500ms`, `30s`, `10m`, `6h`, `7d`, always with a unit (a bare
// `2000` meant seconds to the parser and milliseconds to a reader, so it is refused). The one
// parser of every duration flag (durationFlag in base-command.ts) and of `--since`.
import { quote } from '../core/util/quote.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration a flag takes: 100 years. Timers run that long (the clock chains Node's
 * 2^31 ms timers); the ceiling only keeps a typo from meaning "never".
 */
export const MAX_DURATION_MS = 36_525 * UNITS.d;
const MAX_DURATION_TEXT = '36525d (100 years)';

/** How one flag takes a duration: zero only where it means something, and its own ceiling. */
export type DurationRule = {
  /** What 0 means for this flag ("off"); when set, `0` (bare or with a unit) is accepted. */
  zero?: string;
  /** Ceiling in ms (default MAX_DURATION_MS) and how --help writes it. */
  max?: number;
  maxText?: string;
  /** Whole seconds only (BEP 51 intervals are integers of seconds). */
  wholeSeconds?: boolean;
};

export type DurationCheck = { ok: true; ms: number } | { ok: false; error: string };

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses and bounds a duration; the error is one line (without the flag's name). */
export function checkDuration(input: string, rule: DurationRule = {}): DurationCheck {
  const text = input.trim();
  const shown = quote(input);
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    if (Number(text) === 0) return rule.zero !== undefined ? { ok: true, ms: 0 } : { ok: false, error: `duration ${shown} must be more than 0` };
    return { ok: false, error: `${shown} has no unit: give a unit, e.g. 2s (ms, s, m, h, d)` };
  }
  const m = DURATION.exec(text);
  if (!m) return { ok: false, error: `invalid duration ${shown} (use e.g. 500ms, 30s, 10m, 6h, 7d)` };
  const ms = Number(m[1]) * UNITS[m[2]];
  const max = rule.max ?? MAX_DURATION_MS;
  if (!Number.isFinite(ms) || ms > max) return { ok: false, error: `duration ${shown} is longer than the maximum, ${rule.maxText ?? MAX_DURATION_TEXT}` };
  const rounded = Math.round(ms);
  if (rounded === 0) {
    if (rule.zero !== undefined) return { ok: true, ms: 0 };
    return { ok: false, error: `duration ${shown} must be more than 0` };
  }
  if (rule.wholeSeconds && rounded % 1000 !== 0) return { ok: false, error: `duration ${shown} is not whole seconds` };
  return { ok: true, ms: rounded };
}

/** A duration in the form the flags take, exact (for --help defaults): 2000 -> `2s`, 600000 -> `10m`. */
export function durationText(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) if (ms !== 0 && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
}
