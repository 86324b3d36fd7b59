import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/core/net/prng.js';
import { RttEstimator } from '../../../src/core/net/rtt-estimator.js';

describe('RttEstimator', () => {
  it('uses the hard timeout until it has seen enough replies', () => {
    const e = new RttEstimator({ hardMs: 2000, minSamples: 10 });
    for (let i = 0; i < 9; i++) e.record(100);
    expect(e.timeoutMs()).toBe(2000);
    expect(e.snapshot()).toMatchObject({ samples: 9, p90_ms: null, timeout_ms: 2000 });
    e.record(100);
    expect(e.timeoutMs()).toBeLessThan(2000);
  });

  it('sits at the p90 of recent replies for a long-tailed distribution', () => {
    // log-normal, median 150 ms, sigma 0.8: p90 = 150 * e^(0.8 * 1.2816) ≈ 419 ms
    const prng = new Prng(3);
    const e = new RttEstimator({ hardMs: 2000, size: 4096 });
    for (let i = 0; i < 4096; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next());
      e.record(150 * Math.exp(0.8 * z));
    }
    const s = e.snapshot();
    expect(s.p50_ms).toBeGreaterThan(135);
    expect(s.p50_ms).toBeLessThan(165);
    expect(e.timeoutMs()).toBeGreaterThan(370);
    expect(e.timeoutMs()).toBeLessThan(470);
    expect(Math.abs(e.timeoutMs() - s.p90_ms!)).toBeLessThan(0.1);
  });

  it('never goes below p10 + margin (a narrow, fast distribution) nor above the hard timeout', () => {
    const fast = new RttEstimator({ hardMs: 2000, minSamples: 8 });
    for (let i = 0; i < 64; i++) fast.record(2 + (i % 3));
    expect(fast.timeoutMs()).toBe(102);
    const slow = new RttEstimator({ hardMs: 1000, minSamples: 8 });
    for (let i = 0; i < 64; i++) slow.record(1500 + i);
    expect(slow.timeoutMs()).toBe(1000);
  });

  it('follows a change: old replies leave the ring', () => {
    const e = new RttEstimator({ hardMs: 5000, size: 64, minSamples: 8, marginMs: 0 });
    for (let i = 0; i < 64; i++) e.record(100);
    expect(e.timeoutMs()).toBe(100);
    for (let i = 0; i < 64; i++) e.record(800);
    expect(e.timeoutMs()).toBe(800);
  });

  it('ignores nonsense samples and rejects a nonsense hard timeout', () => {
    const e = new RttEstimator({ hardMs: 2000, minSamples: 1 });
    e.record(-5);
    e.record(Number.NaN);
    e.record(Number.POSITIVE_INFINITY);
    expect(e.samples).toBe(0);
    expect(() => new RttEstimator({ hardMs: 0 })).toThrow(/hardMs/);
  });
});
