import { describe, expect, it } from 'vitest';
import { RealClock } from '../../../src/core/net/real-clock.js';

describe('RealClock', () => {
  it('reads monotonic milliseconds', async () => {
    const clock = new RealClock();
    const a = clock.now();
    await new Promise((r) => setTimeout(r, 20));
    const b = clock.now();
    expect(b - a).toBeGreaterThanOrEqual(15);
    expect(b - a).toBeLessThan(5000);
  });

  it('fires timers and cancels them', async () => {
    const clock = new RealClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('a'), 5);
    const h = clock.setTimeout(() => fired.push('b'), 5);
    clock.clearTimeout(h);
    const t0 = clock.now();
    await new Promise<void>((r) => clock.setTimeout(r, 30));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(25);
    expect(fired).toEqual(['a']);
  });

  it('unrefs timers by default and keeps them referenced on request', () => {
    const unrefd = new RealClock();
    const refd = new RealClock({ unref: false });
    const h1 = unrefd.setTimeout(() => {}, 10_000) as unknown as { timer: NodeJS.Timeout };
    const h2 = refd.setTimeout(() => {}, 10_000) as unknown as { timer: NodeJS.Timeout };
    expect(h1.timer.hasRef()).toBe(false);
    expect(h2.timer.hasRef()).toBe(true);
    unrefd.clearTimeout(h1 as never);
    refd.clearTimeout(h2 as never);
  });
});
