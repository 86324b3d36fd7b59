import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/core/net/prng.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

describe('VirtualClock', () => {
  it('starts where asked and only moves when driven', () => {
    const clock = new VirtualClock({ startMs: 1000 });
    let fired = false;
    clock.setTimeout(() => (fired = true), 10);
    expect(clock.now()).toBe(1000);
    expect(fired).toBe(false);
    expect(clock.advance(9)).toBe(0);
    expect(clock.now()).toBe(1009);
    expect(clock.advance(1)).toBe(1);
    expect(fired).toBe(true);
    expect(clock.now()).toBe(1010);
  });

  it('fires by time, ties in scheduling order, each at its own virtual time', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const at = (label: string, ms: number) => clock.setTimeout(() => seen.push(`${label}@${clock.now()}`), ms);
    at('c', 30);
    at('a', 10);
    at('b1', 20);
    at('b2', 20);
    at('zero', 0);
    at('neg', -5);
    at('nan', Number.NaN);
    clock.advance(100);
    expect(seen).toEqual(['zero@0', 'neg@0', 'nan@0', 'a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.now()).toBe(100);
    expect(clock.fired).toBe(7);
  });

  it('runs timers scheduled during firing when they fall inside the advanced window', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 0); // same instant
      clock.setTimeout(() => seen.push(clock.now()), 15); // at 20
      clock.setTimeout(() => seen.push(clock.now()), 50); // beyond the window
    }, 5);
    clock.advance(30);
    expect(seen).toEqual([5, 5, 20]);
    expect(clock.pending).toBe(1);
    expect(clock.nextTimerAt()).toBe(55);
  });

  it('clearTimeout cancels, also from inside another callback, and ignores foreign handles', () => {
    const clock = new VirtualClock();
    const other = new VirtualClock();
    const seen: string[] = [];
    const late = clock.setTimeout(() => seen.push('late'), 20);
    clock.setTimeout(() => {
      seen.push('early');
      clock.clearTimeout(late);
    }, 10);
    const foreign = other.setTimeout(() => seen.push('other'), 5);
    clock.clearTimeout(foreign);
    clock.clearTimeout(late); // twice is harmless
    clock.clearTimeout({ id: 12345 });
    expect(clock.pending).toBe(1);
    clock.advance(100);
    other.advance(100);
    expect(seen).toEqual(['early', 'other']);
    expect(clock.pending).toBe(0);
  });

  it('stays correct when most timers are cancelled (heap compaction)', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const handles = [];
    for (let i = 0; i < 10_000; i++) handles.push(clock.setTimeout(() => fired.push(i), 10_000 - i));
    for (let i = 0; i < 10_000; i++) if (i % 100 !== 0) clock.clearTimeout(handles[i]);
    expect(clock.pending).toBe(100);
    clock.runUntilIdle();
    expect(fired).toEqual(Array.from({ length: 100 }, (_, k) => 9900 - k * 100));
  });

  it('runUntilIdle stops at the limit; runUntil stops when the predicate holds', () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      clock.setTimeout(tick, 1000);
    };
    clock.setTimeout(tick, 1000);
    expect(clock.runUntilIdle(10_500)).toBe(10);
    expect(clock.now()).toBe(10_000);
    expect(clock.runUntil(() => ticks >= 15, 60_000)).toBe(true);
    expect(ticks).toBe(15);
    expect(clock.now()).toBe(15_000);
    expect(clock.runUntil(() => ticks >= 1000, 5_000)).toBe(false);
    expect(clock.now()).toBe(20_000);
  });

  it('detects a zero-delay timer loop instead of hanging', () => {
    const clock = new VirtualClock({ maxTimersPerInstant: 1000 });
    const again = (): void => void clock.setTimeout(again, 0);
    clock.setTimeout(again, 1);
    expect(() => clock.advance(10)).toThrow(/zero-delay/);
  });

  it('propagates a throwing callback and keeps the remaining timers', () => {
    const clock = new VirtualClock();
    let after = false;
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 1);
    clock.setTimeout(() => (after = true), 2);
    expect(() => clock.advance(5)).toThrow('boom');
    expect(clock.now()).toBe(1);
    clock.advance(5);
    expect(after).toBe(true);
  });

  describe('async drivers', () => {
    /** A query answered after `rtt` virtual ms, like a Krpc engine on SimNetwork. */
    const query = (clock: VirtualClock, rtt: number): Promise<number> =>
      new Promise((resolve) => clock.setTimeout(() => resolve(clock.now()), rtt));

    async function lookup(clock: VirtualClock, log: number[]): Promise<void> {
      for (let round = 0; round < 5; round++) {
        const answeredAt = await query(clock, 100);
        await Promise.resolve(); // deeper promise chains settle too
        log.push(answeredAt, clock.now());
      }
    }

    it('lets promise continuations run at the virtual time of the event', async () => {
      const clock = new VirtualClock();
      const log: number[] = [];
      const done = lookup(clock, log);
      expect(await clock.advanceAsync(1000)).toBe(5);
      await done;
      expect(log).toEqual([100, 100, 200, 200, 300, 300, 400, 400, 500, 500]);
      expect(clock.now()).toBe(1000);
    });

    it('the sync driver does not run continuations (why the async one exists)', () => {
      const clock = new VirtualClock();
      const log: number[] = [];
      void lookup(clock, log);
      clock.advance(1000);
      expect(log).toEqual([]);
      expect(clock.pending).toBe(0);
    });

    it('runUntilAsync stops at the instant the condition holds; runUntilIdleAsync drains', async () => {
      const clock = new VirtualClock();
      const log: number[] = [];
      void lookup(clock, log);
      expect(await clock.runUntilAsync(() => log.length >= 6, 10_000)).toBe(true);
      expect(clock.now()).toBe(300);
      expect(await clock.runUntilAsync(() => false, 50)).toBe(false);
      expect(clock.now()).toBe(350);
      expect(await clock.runUntilIdleAsync()).toBe(2);
      expect(log).toHaveLength(10);
      expect(clock.now()).toBe(500);
    });

    it('refuses a second driver while one runs', async () => {
      const clock = new VirtualClock();
      clock.setTimeout(() => undefined, 10);
      const running = clock.advanceAsync(100);
      expect(() => clock.advance(1)).toThrow(/already running/);
      await expect(clock.advanceAsync(1)).rejects.toThrow(/already running/);
      await running;
    });

    it('is deterministic: the same seed gives the same trace', async () => {
      async function trace(seed: number): Promise<string> {
        const clock = new VirtualClock();
        const rng = new Prng(seed);
        const out: string[] = [];
        const worker = async (w: number): Promise<void> => {
          for (let i = 0; i < 20; i++) {
            const t = await query(clock, rng.int(1, 50));
            out.push(`${w}:${t}`);
          }
        };
        const all = Promise.all([worker(0), worker(1), worker(2)]);
        await clock.runUntilIdleAsync();
        await all;
        return out.join(' ');
      }
      const a = await trace(7);
      expect(await trace(7)).toBe(a);
      expect(await trace(8)).not.toBe(a);
      expect(a.split(' ')).toHaveLength(60);
    });
  });
});
