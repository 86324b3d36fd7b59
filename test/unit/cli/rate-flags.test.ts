import { describe, expect, it } from 'vitest';
import { parseRate, rateLimitFromFlags } from '../../../src/cli/dht-session.js';

describe('--rate-per-node', () => {
  it('parses positive decimal queries per second', () => {
    expect(['0.5', '5', '200', '.25', '10000'].map(parseRate)).toEqual([0.5, 5, 200, 0.25, 10_000]);
    expect(['0', '-1', '', 'fast', '5/s', '1e3', 'NaN', '10001', '0x10'].map(parseRate)).toEqual(Array(9).fill(null));
  });

  it('leaves the keyed defaults alone when not given, and sets both kinds of destination when given', () => {
    expect(rateLimitFromFlags({ rate: 100 })).toEqual({ globalRatePerSec: 100, globalBurst: 100 });
    expect(rateLimitFromFlags({ rate: 100, 'rate-per-node': 2 })).toEqual({
      globalRatePerSec: 100,
      globalBurst: 100,
      perKeyRatePerSec: 2,
      localPerKeyMax: 2,
      localPerKeyWindowMs: 1000,
    });
    // a window keeps at most 64 sends: 200/s is 64 in any 320 ms
    expect(rateLimitFromFlags({ rate: 100, 'rate-per-node': 200 })).toMatchObject({ localPerKeyMax: 64, localPerKeyWindowMs: 320 });
  });
});
