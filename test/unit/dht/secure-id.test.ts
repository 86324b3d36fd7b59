import { describe, expect, it } from 'vitest';
import { ExternalIpVoter, bep42Ok, crc32c, generateSecureId, isBep42Exempt, isSecureId } from '../../../src/core/dht/secure-id.js';
import { idToHex } from '../../../src/core/dht/node-id.js';

// BEP 42's table: ip, rand, id bytes 0-2 (the crc part only), crc32c of the masked ip.
const VECTORS: Array<[string, number, string, string]> = [
  ['124.31.75.21', 1, '5fbfb8', '5fbfbdb2'],
  ['21.75.31.124', 86, '5a3ce8', '5a3ce9b0'],
  ['65.23.51.170', 22, 'a5d430', 'a5d4344a'],
  ['84.124.73.14', 65, '1b0320', '1b03217b'],
  ['43.213.53.83', 90, 'e56f68', 'e56f6972'],
];

function maskedV4(ip: string, r: number): Uint8Array {
  const b = ip.split('.').map(Number);
  const m = [0x03, 0x0f, 0x3f, 0xff];
  const out = Uint8Array.from(b.map((x, i) => x & m[i]));
  out[0] |= (r & 7) << 5;
  return out;
}

describe('BEP 42', () => {
  it('crc32c matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789')).toString(16)).toBe('e3069283');
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it.each(VECTORS)('vector %s rand %i', (ip, rand, idPrefix, crc) => {
    expect(crc32c(maskedV4(ip, rand)).toString(16).padStart(8, '0')).toBe(crc);
    const id = generateSecureId(ip, rand);
    expect(id[19]).toBe(rand);
    const top = idToHex(id).slice(0, 6);
    // bytes 0-1 exact; byte 2: high 5 bits from the crc, low 3 random.
    expect(top.slice(0, 4)).toBe(idPrefix.slice(0, 4));
    expect(parseInt(top.slice(4, 6), 16) & 0xf8).toBe(parseInt(idPrefix.slice(4, 6), 16));
    expect(isSecureId(id, ip)).toBe(true);
    // The same id from byte form of the address.
    expect(isSecureId(id, Uint8Array.from(ip.split('.').map(Number)))).toBe(true);
  });

  it('ignores masked-out address bits but not the rest', () => {
    const id = generateSecureId('124.31.75.21', 1);
    // 124 & 0x03 == 120 & 0x03 and 31 & 0x0f == 47 & 0x0f: same crc input.
    expect(isSecureId(id, '120.47.75.21')).toBe(true);
    expect(isSecureId(id, '124.31.75.22')).toBe(false);
  });

  it('detects a changed crc bit or a different r', () => {
    const ip = '65.23.51.170';
    let failures = 0;
    for (let i = 0; i < 200; i++) {
      const id = generateSecureId(ip);
      expect(isSecureId(id, ip)).toBe(true);
      const flipped = Uint8Array.from(id);
      flipped[1] ^= 0x10;
      expect(isSecureId(flipped, ip)).toBe(false);
      const otherR = Uint8Array.from(id);
      otherR[19] ^= 1;
      if (!isSecureId(otherR, ip)) failures++;
      expect(isSecureId(id, '66.23.51.170')).toBe(false);
    }
    expect(failures).toBeGreaterThan(190);
  });

  it('generates and checks IPv6 ids (first 8 bytes)', () => {
    const id = generateSecureId('2001:db8:1234:5678::1');
    expect(isSecureId(id, '2001:db8:1234:5678:ffff::9')).toBe(true);
    expect(isSecureId(id, '2001:db8:1234:5679::1')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 like IPv4', () => {
    const id = generateSecureId('84.124.73.14', 65);
    expect(isSecureId(id, '::ffff:84.124.73.14')).toBe(true);
  });

  it('knows the exempt ranges', () => {
    for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.3.3', '127.0.0.1', '100.64.0.1', '100.127.1.1', '::1', 'fe80::1', 'febf::1', 'fec0::1', 'fc00::1', 'fdff::1', 'ff02::1', 'ff05::2']) {
      expect(isBep42Exempt(ip), ip).toBe(true);
    }
    for (const ip of ['11.0.0.1', '172.32.0.1', '172.15.0.1', '192.169.0.1', '100.128.0.1', '8.8.8.8', '2001:db8::1', '::2', 'ff0e::1', 'not-an-ip']) {
      expect(isBep42Exempt(ip), ip).toBe(false);
    }
    expect(bep42Ok(new Uint8Array(20), '127.0.0.1')).toBe(true);
    expect(bep42Ok(new Uint8Array(20), '8.8.8.8')).toBe(isSecureId(new Uint8Array(20), '8.8.8.8'));
  });
});

describe('ExternalIpVoter', () => {
  it('waits for enough distinct voters and takes the most common answer', () => {
    const v = new ExternalIpVoter({ minVoters: 5 });
    for (let i = 0; i < 4; i++) v.vote(`1.1.1.${i}`, '203.0.113.7');
    expect(v.consensus()).toBeUndefined();
    // The same voter repeating itself does not count twice.
    v.vote('1.1.1.0', '203.0.113.7');
    expect(v.consensus()).toBeUndefined();
    v.vote('1.1.1.9', '198.51.100.1');
    expect(v.consensus()).toEqual({ ip: '203.0.113.7', votes: 4, voters: 5 });
    // Voters change their mind: only the latest ballot counts.
    for (let i = 0; i < 3; i++) v.vote(`1.1.1.${i}`, '198.51.100.1');
    expect(v.consensus()?.ip).toBe('198.51.100.1');
  });

  it('defaults to more than 20 voters and forgets the oldest beyond its cap', () => {
    const v = new ExternalIpVoter();
    for (let i = 0; i < 20; i++) v.vote(`v${i}`, '203.0.113.7');
    expect(v.consensus()).toBeUndefined();
    v.vote('v20', '203.0.113.7');
    expect(v.consensus()?.votes).toBe(21);
    const capped = new ExternalIpVoter({ minVoters: 2, maxVoters: 3 });
    for (let i = 0; i < 10; i++) capped.vote(`v${i}`, i < 7 ? 'a' : 'b');
    expect(capped.voters).toBe(3);
    expect(capped.consensus()).toEqual({ ip: 'b', votes: 3, voters: 3 });
  });
});
