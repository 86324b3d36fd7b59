import { describe, expect, it } from 'vitest';
import { Sanitizer } from '../../../src/core/crawl/sanitizer.js';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

const id = (b: number): Uint8Array => new Uint8Array(20).fill(b);
const publicPolicy = (): AddressPolicy => new AddressPolicy({ loopbackOnly: false });

function make(policy = publicPolicy()) {
  const clock = new VirtualClock();
  return { clock, s: new Sanitizer({ policy, clock }) };
}

describe('Sanitizer', () => {
  it('treats port 0, 0.0.0.0/8, multicast, reserved and unusable private addresses as bogons', () => {
    const { s } = make();
    for (const [host, port] of [
      ['1.2.3.4', 0],
      ['0.1.2.3', 6881],
      ['224.0.0.1', 6881],
      ['239.255.255.250', 1900],
      ['255.255.255.255', 6881],
      ['240.1.1.1', 6881],
      ['192.168.1.1', 6881],
      ['ff02::1', 6881],
      ['::', 6881],
    ] as const) {
      expect(s.isBogon(host, port), `${host}:${port}`).toBe(true);
    }
    expect(s.isBogon('81.2.3.4', 6881)).toBe(false);
    expect(s.isBogon('2a01:4f8::1', 6881)).toBe(false);
    // a policy opened for private networks still refuses 0/8 and multicast
    const sim = make(AddressPolicy.simulated()).s;
    expect(sim.isBogon('10.0.0.5', 6881)).toBe(false);
    expect(sim.isBogon('0.0.0.5', 6881)).toBe(true);
    expect(sim.isBogon('230.0.0.5', 6881)).toBe(true);
  });

  it('filters contacts and counts why', () => {
    const { s } = make();
    s.ban('81.0.0.9', 1);
    s.noteTimeout('81.0.0.8', 6881);
    s.noteTimeout('81.0.0.8', 6881);
    const kept = s.filterContacts([
      { id: id(1), host: '81.0.0.1', port: 6881, family: 4 },
      { id: id(2), host: '0.0.0.1', port: 6881, family: 4 },
      { id: id(3), host: '81.0.0.9', port: 5000, family: 4 },
      { id: id(4), host: '81.0.0.8', port: 6881, family: 4 },
      { id: id(5), host: '81.0.0.2', port: 0, family: 4 },
    ]);
    expect(kept.map((n) => n.host)).toEqual(['81.0.0.1']);
    expect(s.counters).toMatchObject({ bogons: 2, banned_skips: 1, unreachable_skips: 1 });
  });

  it('passive oracle: a second, different id bans the whole IP on the public internet', () => {
    const { s } = make();
    expect(s.noteMismatch('81.0.0.1', 6881, id(1))).toBe('recorded');
    expect(s.isBanned('81.0.0.1', 6881)).toBe(false);
    expect(s.noteMismatch('81.0.0.1', 6881, id(1))).toBe('recorded'); // the same id again: consistent
    expect(s.noteReply('81.0.0.1', 6881, id(1))).toBe(true);
    expect(s.noteMismatch('81.0.0.1', 6881, id(2))).toBe('banned');
    expect(s.isBanned('81.0.0.1', 6881)).toBe(true);
    expect(s.isBanned('81.0.0.1', 7000)).toBe(true); // its other ports too
    expect(s.allowed('81.0.0.1', 6881)).toBe(false);
    expect(s.counters.bans).toBe(1);
    expect(s.counters.id_mismatches).toBe(3);
  });

  it('a reply under another id than the recorded one bans; private networks ban ip:port only', () => {
    const { s } = make(AddressPolicy.simulated());
    s.noteMismatch('10.0.0.1', 6881, id(1));
    expect(s.noteReply('10.0.0.1', 6881, id(9))).toBe(false);
    expect(s.isBanned('10.0.0.1', 6881)).toBe(true);
    expect(s.isBanned('10.0.0.1', 6882)).toBe(false);
  });

  it('skips an endpoint that failed more than once recently, until the window passes or it answers', () => {
    const { clock, s } = make();
    s.noteTimeout('81.0.0.1', 6881);
    expect(s.allowed('81.0.0.1', 6881)).toBe(true);
    s.noteTimeout('81.0.0.1', 6881);
    expect(s.isUnreachable('81.0.0.1', 6881)).toBe(true);
    expect(s.verdict('81.0.0.1', 6881)).toBe('unreachable');
    expect(s.isUnreachable('81.0.0.1', 6882)).toBe(false);
    clock.advance(31 * 60_000);
    expect(s.isUnreachable('81.0.0.1', 6881)).toBe(false);
    s.noteTimeout('81.0.0.2', 6881);
    s.noteTimeout('81.0.0.2', 6881);
    s.noteReply('81.0.0.2', 6881, id(1));
    expect(s.isUnreachable('81.0.0.2', 6881)).toBe(false);
  });

  it('throttles each IP to a burst of 5 then one query per 2 s', () => {
    const { clock, s } = make();
    for (let k = 0; k < 5; k++) expect(s.take('81.0.0.1', 6881 + k)).toBe(true);
    expect(s.isThrottled('81.0.0.1', 9999)).toBe(true);
    expect(s.take('81.0.0.1', 6881)).toBe(false);
    expect(s.take('81.0.0.2', 6881)).toBe(true);
    clock.advance(2000);
    expect(s.take('81.0.0.1', 6881)).toBe(true);
    expect(s.take('81.0.0.1', 6881)).toBe(false);
    expect(s.counters.throttled).toBe(2);
  });

  it('keeps its caches bounded', () => {
    const clock = new VirtualClock();
    const s = new Sanitizer({ policy: publicPolicy(), clock, unreachableMax: 100, oracleMax: 10, bansMax: 10 });
    for (let k = 0; k < 1000; k++) {
      s.noteTimeout(`81.0.${k >> 8}.${k & 255}`, 6881);
      s.noteMismatch(`82.0.${k >> 8}.${k & 255}`, 6881, id(1));
      s.ban(`83.0.${k >> 8}.${k & 255}`, 6881);
    }
    expect(s.bytes).toBeLessThan(100_000);
    expect(s.isBanned('83.0.3.231', 6881)).toBe(true); // the latest ban is kept
  });
});
