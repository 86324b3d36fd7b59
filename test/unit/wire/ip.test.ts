import { SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/core/wire/hex.js';
import {
  canonicalIp,
  formatIPv4,
  formatIPv6,
  ipFamily,
  ipv4NumberAt,
  ipv4ToNumber,
  numberToIpv4,
  parseHostIp,
  parseIp,
  parseIPv4,
  parseIPv6,
  parseScopedIPv6,
  unmapV4,
} from '../../../src/core/wire/ip.js';

// Deterministic PRNG for the randomized comparisons against Node's own formatter.
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** What Node reports for a socket address (libuv inet_ntop). */
function nodeForm(text: string): string {
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

describe('IP text forms', () => {
  it('formats IPv4', () => {
    expect(formatIPv4(Uint8Array.of(1, 2, 3, 4))).toBe('1.2.3.4');
    expect(formatIPv4(Uint8Array.of(9, 255, 0, 10, 200), 1)).toBe('255.0.10.200');
  });

  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:DB8::0001', '2001:db8::1'],
    ['1:0:1:0:0:1:0:0', '1:0:1::1:0:0'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'], // a single zero group is not compressed
    ['0:2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], // IPv4-mapped keeps a dotted tail
    ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
    ['::1.2.3.4', '::1.2.3.4'], // IPv4-compatible too
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['::2', '::2'],
    ['::0.0.1.0', '::100'],
    ['fe80::1', 'fe80::1'],
  ])('parses %s and formats it as %s, like Node', (input, expected) => {
    const b = parseIPv6(input);
    expect(b).not.toBeNull();
    expect(formatIPv6(b!)).toBe(expected);
    expect(nodeForm(input)).toBe(expected);
  });

  it('formats random IPv6 addresses exactly as Node does', () => {
    const rnd = prng(42);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(16);
      // Mostly zero groups, so runs of zeros and mapped forms come up often.
      for (let g = 0; g < 8; g++) {
        const r = rnd();
        const word = r < 0.5 ? 0 : r < 0.6 ? 0xffff : Math.floor(rnd() * 65536);
        b[2 * g] = word >> 8;
        b[2 * g + 1] = word & 0xff;
      }
      const ours = formatIPv6(b);
      expect(ours).toBe(nodeForm(ours));
      expect(toHex(parseIPv6(ours)!)).toBe(toHex(b));
    }
  });

  it.each([
    ['1.2.3.4', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['01.2.3.4', false],
    ['1.2.3.04', false],
    ['256.1.1.1', false],
    ['1.2.3', false],
    ['1.2.3.4.5', false],
    ['1..2.3', false],
    [' 1.2.3.4', false],
    ['1.2.3.4 ', false],
    ['1.2.3.0x4', false],
    ['', false],
  ])('parseIPv4(%j) accepts exactly what net.isIPv4 accepts', (input, valid) => {
    expect(isIPv4(input)).toBe(valid);
    expect(parseIPv4(input) !== null).toBe(valid);
  });

  it.each([
    '::',
    '::1',
    '1::',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '::ffff:1.2.3.4',
    'ABCD::ef',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    ':1::',
    '1::2:',
    '12345::',
    'g::',
    '1.2.3.4::',
    '::1.2.3',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '',
    ':',
  ])('parseIPv6(%j) agrees with net.isIPv6', (input) => {
    expect(parseIPv6(input) !== null).toBe(isIPv6(input));
  });
});

describe('IPv4 text, bytes and numbers', () => {
  it('converts each way', () => {
    expect(ipv4ToNumber('1.2.3.4')).toBe(0x01020304);
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToNumber('0.0.0.0')).toBe(0);
    expect(numberToIpv4(0x01020304)).toBe('1.2.3.4');
    expect(numberToIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(numberToIpv4(0)).toBe('0.0.0.0');
    expect([...parseIPv4('10.200.0.255')!]).toEqual([10, 200, 0, 255]);
    expect(ipv4NumberAt(Uint8Array.of(9, 255, 0, 10, 200), 1)).toBe(0xff000ac8);
    expect(ipv4NumberAt(parseIPv4('128.0.0.1')!)).toBe(0x80000001);
  });

  it('round-trips text → number → text and text → bytes → text', () => {
    for (const s of ['1.2.3.4', '10.1.134.160', '192.168.0.1', '255.0.10.200', '0.0.0.1']) {
      expect(numberToIpv4(ipv4ToNumber(s))).toBe(s);
      expect(formatIPv4(parseIPv4(s)!)).toBe(s);
      expect(ipv4NumberAt(parseIPv4(s)!)).toBe(ipv4ToNumber(s));
    }
  });

  it.each(['01.2.3.4', '1.2.3.04', '00.1.2.3', '256.1.1.1', '1.2.3.256', '1.2.3.1000', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.0x4', 'a.b.c.d', '1.2.3.-4', '1.2.3.4%x', ''])(
    'rejects %j in every form',
    (s) => {
      expect(ipv4ToNumber(s)).toBe(-1);
      expect(parseIPv4(s)).toBeNull();
      expect(parseIp(s)).toBeNull();
      expect(parseHostIp(s)).toBeNull();
      expect(ipFamily(s)).toBe(0);
    },
  );
});

describe('IPv6 text and bytes', () => {
  it('reads groups, "::" and a dotted tail into 16 bytes', () => {
    expect([...parseIPv6('::1')!]).toEqual([...Array(15).fill(0), 1]);
    expect(toHex(parseIPv6('2001:DB8::ab:1')!)).toBe('20010db8000000000000000000ab0001');
    expect(toHex(parseIPv6('1:2:3:4:5:6:7:8')!)).toBe('00010002000300040005000600070008');
    expect([...parseIPv6('::ffff:1.2.3.4')!].slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
  });

  it.each(['1:2:3:4:5:6:7', '1::2::3', ':1:2::', '1:2:3:4:5:6:7:8::', '12345::', 'g::1', '::1.2.3', '::01.2.3.4', '::256.1.2.3', '1.2.3.4::', '[::1]', 'fe80::1%', '%eth0', '::1 '])(
    'rejects %j',
    (s) => {
      expect(parseIPv6(s)).toBeNull();
      expect(parseScopedIPv6(s)).toBeNull();
      expect(parseHostIp(s)).toBeNull();
      expect(ipFamily(s)).toBe(0);
    },
  );

  it('takes a %zone only where sockets report one', () => {
    expect(parseIPv6('fe80::1%eth0')).toBeNull(); // no compact form
    expect(parseIp('fe80::1%eth0')).toBeNull();
    expect(toHex(parseScopedIPv6('fe80::1%eth0')!)).toBe(toHex(parseIPv6('fe80::1')!));
    expect(parseHostIp('fe80::1%2')?.length).toBe(16);
    expect(ipFamily('fe80::1%eth0')).toBe(6);
  });
});

describe('either family', () => {
  it('picks the family from the text', () => {
    expect(parseIp('10.0.0.1')?.length).toBe(4);
    expect(parseIp('::1')?.length).toBe(16);
    expect(parseIp('example.com')).toBeNull();
    expect(parseHostIp('10.0.0.1')?.length).toBe(4);
    expect(ipFamily('::1')).toBe(6);
    expect(ipFamily('1.2.3.4')).toBe(4);
    expect(ipFamily('::ffff:1.2.3.4')).toBe(6);
    expect(ipFamily('example.org')).toBe(0);
    expect(ipFamily('localhost')).toBe(0);
  });

  it('canonicalises IPv6 text the way sockets report it, keeping a zone', () => {
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('FE80:0::1%eth0')).toBe('fe80::1%eth0');
    expect(canonicalIp('1.2.3.4')).toBe('1.2.3.4');
    expect(canonicalIp('not:an:ip')).toBe('not:an:ip');
  });

  it('unmaps IPv4-mapped addresses only', () => {
    expect([...unmapV4(parseIPv6('::ffff:1.2.3.4')!)]).toEqual([1, 2, 3, 4]);
    expect(unmapV4(parseIPv6('::1.2.3.4')!).length).toBe(16);
    expect(unmapV4(parseIPv6('2001:db8::1')!).length).toBe(16);
    const v4 = parseIPv4('1.2.3.4')!;
    expect(unmapV4(v4)).toBe(v4);
  });
});
