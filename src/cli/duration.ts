// Duration flags take `500ms`, `30s`, `10m`, `6h`, `7d` (and a bare number of seconds).
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration a flag takes: 100 years. Timers run that long (the clock chains Node's
 * 2^31 ms timers); the ceiling only keeps a typo from meaning "never".
 */
export const MAX_DURATION_MS = 36_525 * UNITS.d;
export const MAX_DURATION_TEXT = '36525d (100 years)';

export function parseDuration(input: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(input.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNITS[m[2] ?? 's'];
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
}
