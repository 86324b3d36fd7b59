import { describe, expect, it, vi } from 'vitest';
import { TimerWheel } from '../../../src/core/net/timer-wheel.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

describe('TimerWheel', () => {
  it('fires callbacks at their deadlines, in deadline order, with their argument', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock, { slackMs: 0 });
    const fired: Array<[string, number]> = [];
    const record = (name: string) => fired.push([name, clock.now()]);
    wheel.add(300, record, 'c');
    wheel.add(100, record, 'a');
    wheel.add(200, record, 'b');
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([['a', 100]]);
    clock.advance(500);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 200],
      ['c', 300],
    ]);
    expect(wheel.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keeps insertion order for equal deadlines', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    const fired: number[] = [];
    for (let i = 0; i < 50; i++) wheel.add(10, (n: number) => fired.push(n), i);
    clock.advance(10);
    expect(fired).toEqual([...Array(50).keys()]);
  });

  it('drives many timers with one clock timer at a time', () => {
    const clock = new VirtualClock();
    const setTimeoutCalls = vi.spyOn(clock, 'setTimeout');
    const wheel = new TimerWheel(clock);
    let count = 0;
    const inc = () => count++;
    for (let i = 0; i < 1000; i++) wheel.add(1000 + (i % 7), inc, null);
    expect(clock.pending).toBe(1);
    expect(setTimeoutCalls).toHaveBeenCalledTimes(1);
    clock.advance(2000);
    expect(count).toBe(1000);
  });

  it('re-arms for an earlier deadline added later', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    const fired: string[] = [];
    wheel.add(1000, (s: string) => fired.push(s), 'late');
    wheel.add(10, (s: string) => fired.push(s), 'early');
    expect(clock.pending).toBe(1);
    clock.advance(10);
    expect(fired).toEqual(['early']);
    clock.advance(990);
    expect(fired).toEqual(['early', 'late']);
  });

  it('cancels timers, including the earliest, and reports double cancels', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    const fired: number[] = [];
    const refs = [...Array(20).keys()].map((i) => wheel.add(10 * (i + 1), (n: number) => fired.push(n), i));
    expect(wheel.cancel(refs[0])).toBe(true);
    expect(wheel.cancel(refs[0])).toBe(false);
    for (let i = 1; i < 20; i += 2) wheel.cancel(refs[i]);
    expect(wheel.size).toBe(9);
    clock.advance(1000);
    expect(fired).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(refs[2].active).toBe(false);
    expect(wheel.cancel(refs[2])).toBe(false);
  });

  it('disarms the clock timer when the last entry is cancelled', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    const ref = wheel.add(100, () => {}, null);
    expect(clock.pending).toBe(1);
    wheel.cancel(ref);
    expect(clock.pending).toBe(0);
  });

  it('keeps heap order under random adds and cancels', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock, { slackMs: 0 });
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const fired: number[] = [];
    const live = new Map<number, ReturnType<typeof wheel.add>>();
    for (let i = 0; i < 2000; i++) {
      const deadline = Math.floor(rnd() * 10_000);
      live.set(i, wheel.add(deadline, (d: number) => fired.push(d), deadline));
      if (rnd() < 0.4) {
        const victim = Math.floor(rnd() * i);
        const ref = live.get(victim);
        if (ref) {
          wheel.cancel(ref);
          live.delete(victim);
        }
      }
    }
    const expected = [...live.values()].map((r) => r.deadline).sort((a, b) => a - b);
    clock.advance(10_000);
    expect(fired).toEqual(expected);
  });

  it('lets callbacks add and cancel timers while firing', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    const fired: string[] = [];
    const victim = wheel.add(50, () => fired.push('victim'), null);
    wheel.add(10, () => {
      fired.push('first');
      wheel.cancel(victim);
      wheel.add(0, () => fired.push('due-now'), null);
      wheel.add(30, () => fired.push('later'), null);
    }, null);
    clock.advance(10);
    expect(fired).toEqual(['first', 'due-now']);
    clock.advance(100);
    expect(fired).toEqual(['first', 'due-now', 'later']);
  });

  it('survives a throwing callback and counts it', () => {
    const clock = new VirtualClock();
    const errors: unknown[] = [];
    const wheel = new TimerWheel(clock, { onError: (e) => errors.push(e) });
    const fired: number[] = [];
    wheel.add(10, () => {
      throw new Error('boom');
    }, null);
    wheel.add(10, () => fired.push(1), null);
    wheel.add(20, () => fired.push(2), null);
    clock.advance(30);
    expect(fired).toEqual([1, 2]);
    expect(wheel.callbackErrors).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('clear() drops everything without firing', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    let count = 0;
    for (let i = 0; i < 10; i++) wheel.add(i, () => count++, null);
    wheel.clear();
    clock.advance(100);
    expect(count).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
