import { describe, expect, it } from 'vitest';
import { TokenManager } from '../../../src/core/dht/token-manager.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

const target = new Uint8Array(20).fill(7);
const other = new Uint8Array(20).fill(8);
const MIN = 60_000;

describe('TokenManager', () => {
  it('issues 4-byte tokens bound to the IP and the target, not the port', () => {
    const tm = new TokenManager({ clock: new VirtualClock() });
    const t = tm.issue('203.0.113.5', target);
    expect(t.length).toBe(4);
    expect(tm.verify(t, '203.0.113.5', target)).toBe(true);
    expect(tm.verify(t, '203.0.113.6', target)).toBe(false);
    expect(tm.verify(t, '203.0.113.5', other)).toBe(false);
    expect(tm.verify(t.subarray(0, 3), '203.0.113.5', target)).toBe(false);
    expect(tm.verify(new Uint8Array(8), '203.0.113.5', target)).toBe(false);
    // IPv4-mapped IPv6 is the same requester.
    expect(tm.verify(t, '::ffff:203.0.113.5', target)).toBe(true);
    const v6 = tm.issue('2001:db8::1', target);
    expect(tm.verify(v6, '2001:db8:0:0::1', target)).toBe(true);
    expect(tm.verify(v6, '2001:db8::2', target)).toBe(false);
  });

  it('keeps a token valid through the next rotation and no longer', () => {
    const clock = new VirtualClock({ startMs: 1_000 });
    const tm = new TokenManager({ clock });
    clock.advance(4 * MIN + 59_000); // just before the first rotation
    const t = tm.issue('198.51.100.2', target);
    clock.advance(2_000); // rotated once: previous secret still honoured
    expect(tm.verify(t, '198.51.100.2', target)).toBe(true);
    expect(tm.issue('198.51.100.2', target)).not.toEqual(t);
    clock.advance(5 * MIN); // rotated twice
    expect(tm.verify(t, '198.51.100.2', target)).toBe(false);
  });

  it('a token issued right after a rotation lasts almost 10 minutes', () => {
    const clock = new VirtualClock();
    const tm = new TokenManager({ clock });
    const t = tm.issue('198.51.100.2', target);
    clock.advance(10 * MIN - 1);
    expect(tm.verify(t, '198.51.100.2', target)).toBe(true);
    clock.advance(1);
    expect(tm.verify(t, '198.51.100.2', target)).toBe(false);
  });

  it('forgets both secrets after a long silence', () => {
    const clock = new VirtualClock();
    const tm = new TokenManager({ clock });
    const t = tm.issue('198.51.100.2', target);
    clock.advance(60 * MIN); // no calls in between
    expect(tm.verify(t, '198.51.100.2', target)).toBe(false);
  });

  it('gives different managers different secrets', () => {
    const clock = new VirtualClock();
    const a = new TokenManager({ clock });
    const b = new TokenManager({ clock });
    expect(b.verify(a.issue('198.51.100.2', target), '198.51.100.2', target)).toBe(false);
  });
});
