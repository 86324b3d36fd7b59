import { describe, expect, it } from 'vitest';
import { AddressPolicy, classifyIp, DARK_INTERNET_V4_SLASH8, formatEndpoint, isDarkInternet, parseEndpoint } from '../../../src/core/net/address.js';

describe('parseEndpoint', () => {
  const ok: Array<[string, string, number, string]> = [
    ['1.2.3.4:6881', '1.2.3.4', 6881, 'ipv4'],
    ['[::1]:6881', '::1', 6881, 'ipv6'],
    ['[2001:db8::1]:1', '2001:db8::1', 1, 'ipv6'],
    ['[::ffff:1.2.3.4]:65535', '::ffff:1.2.3.4', 65535, 'ipv6'],
    ['router.bittorrent.com:6881', 'router.bittorrent.com', 6881, 'name'],
    ['localhost:25401', 'localhost', 25401, 'name'],
    ['  127.0.0.1:7000  ', '127.0.0.1', 7000, 'ipv4'],
  ];
  it.each(ok)('accepts %s', (text, host, port, kind) => {
    expect(parseEndpoint(text)).toEqual({ ok: true, value: { host, port, kind } });
  });

  const bad: Array<[string, string]> = [
    ['nothost:99999', "bad port in 'nothost:99999': out of range (1-65535)"],
    ['host:0', "bad port in 'host:0': out of range (1-65535)"],
    ['host:http', "bad port in 'host:http': not a number"],
    ['host:-1', "bad port in 'host:-1': not a number"],
    ['host:', "empty port in 'host:'"],
    [':6881', "empty host in ':6881'"],
    ['', 'empty address'],
    ['   ', 'empty address'],
    ['host', "missing port (expected host:port) in 'host'"],
    ['::1:6881', "IPv6 address needs brackets in '::1:6881': write [addr]:port"],
    ['[::1:6881', "missing ']' in '[::1:6881'"],
    ['[::1]6881', "unexpected text after ']' in '[::1]6881'"],
    ['[]:1', "empty host in '[]:1'"],
    ['[zz::1]:1', "bad IPv6 address in '[zz::1]:1'"],
    ['1.2.3.256:1', "bad IPv4 address in '1.2.3.256:1'"],
    ['1.2.3:1', "bad IPv4 address in '1.2.3:1'"],
    ['01.2.3.4:1', "bad IPv4 address in '01.2.3.4:1'"],
    ['bad host:1', "bad host name in 'bad host:1'"],
    ['-x.com:1', "bad host name in '-x.com:1'"],
    ['evil\x1b[2J:1', "bad host name in 'evil\\u001b[2J:1'"],
  ];
  it.each(bad)('rejects %j with a one-line error', (text, error) => {
    const r = parseEndpoint(text);
    expect(r).toEqual({ ok: false, error });
    if (!r.ok) expect(r.error).not.toContain('\n');
  });

  it('quotes a long input once, by its prefix', () => {
    expect(parseEndpoint(`${'h'.repeat(100_000)}:1`)).toEqual({ ok: false, error: `bad host name in '${'h'.repeat(64)}…' (100002 chars)` });
    expect(parseEndpoint(`x:${'9'.repeat(100_000)}`)).toEqual({ ok: false, error: `bad port in '${'x:' + '9'.repeat(62)}…' (100002 chars): out of range (1-65535)` });
  });

  it('uses defaultPort when the port is missing', () => {
    expect(parseEndpoint('example.org', { defaultPort: 6881 })).toEqual({
      ok: true,
      value: { host: 'example.org', port: 6881, kind: 'name' },
    });
    expect(parseEndpoint('[::1]', { defaultPort: 6881 })).toEqual({ ok: true, value: { host: '::1', port: 6881, kind: 'ipv6' } });
  });
});

describe('formatEndpoint', () => {
  it('brackets IPv6 only', () => {
    expect(formatEndpoint('1.2.3.4', 1)).toBe('1.2.3.4:1');
    expect(formatEndpoint('::1', 2)).toBe('[::1]:2');
    expect(formatEndpoint('example.org', 3)).toBe('example.org:3');
  });
});

describe('classifyIp', () => {
  const table: Array<[string, string]> = [
    ['8.8.8.8', 'global'],
    ['1.1.1.1', 'global'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'global'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.128.0.1', 'global'],
    ['169.254.1.1', 'private'],
    ['0.0.0.0', 'bogon'],
    ['0.1.2.3', 'bogon'],
    ['224.0.0.1', 'bogon'],
    ['239.255.255.255', 'bogon'],
    ['240.0.0.1', 'bogon'],
    ['255.255.255.255', 'bogon'],
    ['192.0.2.1', 'bogon'],
    ['198.51.100.7', 'bogon'],
    ['203.0.113.9', 'bogon'],
    ['198.18.0.1', 'bogon'],
    ['::1', 'loopback'],
    ['::', 'bogon'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:8.8.8.8', 'global'],
    ['::ffff:10.0.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'private'],
    ['fe80::1%eth0', 'private'],
    ['ff02::1', 'bogon'],
    ['2001:db8::1', 'bogon'],
    ['3fff::1', 'bogon'],
    ['2001:4860:4860::8888', 'global'],
    ['2a00:1450::1', 'global'],
    ['4000::1', 'bogon'],
    ['100::1', 'bogon'],
    ['router.bittorrent.com', 'invalid'],
    ['1.2.3', 'invalid'],
  ];
  it.each(table)('%s is %s', (ip, cls) => {
    expect(classifyIp(ip)).toBe(cls);
  });

  it('knows the dark-internet /8 list but does not treat it as bogon', () => {
    expect(DARK_INTERNET_V4_SLASH8).toContain(3);
    expect(isDarkInternet('3.4.5.6')).toBe(true);
    expect(isDarkInternet('::ffff:3.4.5.6')).toBe(true);
    expect(isDarkInternet('4.4.5.6')).toBe(false);
    expect(classifyIp('3.4.5.6')).toBe('global');
  });
});

describe('AddressPolicy', () => {
  it('on the public internet: global ok, loopback/private/bogon refused, key = IP', () => {
    const p = new AddressPolicy({ loopbackOnly: false, localAddresses: ['0.0.0.0', '::'] });
    expect(p.refusal('8.8.8.8', 6881)).toBeNull();
    expect(p.refusal('127.0.0.1', 6881)).toMatch(/loopback destination 127\.0\.0\.1:6881/);
    expect(p.refusal('192.168.1.1', 6881)).toMatch(/private destination .*--allow-private/);
    expect(p.refusal('224.0.0.1', 6881)).toMatch(/bogon/);
    expect(p.refusal('8.8.8.8', 0)).toMatch(/bad port/);
    expect(p.refusal('example.org', 1)).toMatch(/not an IP/);
    expect(p.isBogon('8.8.8.8', 6881)).toBe(false);
    expect(p.isBogon('8.8.8.8', 0)).toBe(true);
    expect(p.isBogon('10.0.0.1', 6881)).toBe(true);
    expect(p.isBogon('127.0.0.1', 6881)).toBe(true);
    expect(p.rateLimitKey('8.8.8.8', 6881)).toBe('8.8.8.8');
    expect(p.rateLimitKey('2001:4860::1', 6881)).toBe('2001:4860::1');
  });

  it('bound to loopback: loopback is ours and keyed by ip:port', () => {
    const p = new AddressPolicy({ loopbackOnly: false, localAddresses: ['127.0.0.1'] });
    expect(p.refusal('127.0.0.5', 7000)).toBeNull();
    expect(p.isBogon('127.0.0.5', 7000)).toBe(false);
    expect(p.rateLimitKey('127.0.0.1', 7000)).toBe('127.0.0.1:7000');
    expect(p.rateLimitKey('::1', 7000)).toBe('[::1]:7000');
    expect(p.refusal('10.0.0.1', 7000)).not.toBeNull();
  });

  it('bootstrapped from a private address (added later): private is ours', () => {
    const p = new AddressPolicy({ loopbackOnly: false });
    expect(p.mayQuery('192.168.1.20', 6881)).toBe(false);
    p.addLocalAddress('192.168.1.10');
    expect(p.mayQuery('192.168.1.20', 6881)).toBe(true);
    expect(p.rateLimitKey('192.168.1.20', 6881)).toBe('192.168.1.20:6881');
    expect(p.isBogon('0.0.0.0', 6881)).toBe(true);
  });

  it('allowPrivate opens loopback and private but never bogons', () => {
    const p = new AddressPolicy({ loopbackOnly: false, allowPrivate: true });
    expect(p.mayQuery('10.0.0.1', 1)).toBe(true);
    expect(p.mayQuery('127.0.0.1', 1)).toBe(true);
    expect(p.mayQuery('255.255.255.255', 1)).toBe(false);
  });

  it('loopback-only refuses everything not loopback, even global addresses', () => {
    const p = new AddressPolicy({ loopbackOnly: true, allowPrivate: true });
    expect(p.refusal('8.8.8.8', 6881)).toBe('BITSCRAPE_LOOPBACK_ONLY=1: refusing non-loopback destination 8.8.8.8:6881');
    expect(p.refusal('192.168.1.1', 6881)).toMatch(/LOOPBACK_ONLY/);
    expect(p.refusal('127.0.0.1', 6881)).toBeNull();
    expect(p.refusal('::1', 6881)).toBeNull();
  });

  it('peers from values: port 0 and bogons never; loopback and private only on a local network', () => {
    const peers = ['8.8.8.8:6881', '[2001:4860::1]:6881', '10.0.0.1:6881', '127.0.0.1:6881', '[fe80::1]:6881', '8.8.8.8:0', '0.0.0.0:6881', '224.0.0.1:6881', '192.0.2.7:6881', '[2001:db8::1]:6881', '255.255.255.255:1'];
    const kept = (p: AddressPolicy): string[] =>
      peers.filter((a) => {
        const i = a.lastIndexOf(':');
        return !p.isBogonPeer(a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1)));
      });
    const publicDht = new AddressPolicy({ loopbackOnly: false, localAddresses: ['0.0.0.0', '::'] });
    expect(kept(publicDht)).toEqual(['8.8.8.8:6881', '[2001:4860::1]:6881']);
    const loopbackNet = new AddressPolicy({ loopbackOnly: false, localAddresses: ['127.0.0.1'] });
    expect(kept(loopbackNet)).toEqual(['8.8.8.8:6881', '[2001:4860::1]:6881', '10.0.0.1:6881', '127.0.0.1:6881', '[fe80::1]:6881']);
    const privateNet = new AddressPolicy({ loopbackOnly: false, localAddresses: ['192.168.1.10'] });
    expect(kept(privateNet)).toEqual(kept(loopbackNet));
    // Tests run loopback-only: local peers are admitted there as before.
    expect(kept(new AddressPolicy({ loopbackOnly: true }))).toEqual(kept(loopbackNet));
  });

  it('reads BITSCRAPE_LOOPBACK_ONLY from the environment by default', () => {
    expect(process.env.BITSCRAPE_LOOPBACK_ONLY).toBe('1');
    expect(new AddressPolicy().loopbackOnly).toBe(true);
    expect(new AddressPolicy().mayQuery('67.215.246.10', 6881)).toBe(false);
  });
});
