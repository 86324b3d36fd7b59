// The one address policy: endpoint parsing and formatting, IP classification, and the rules
// deciding where we may send, what counts as a bogon for us, and how rate limits are keyed.
// Pure: IP literals are parsed by wire/ip.ts; host names are resolved in cli/resolve-endpoint.ts.
import { quote } from '../util/quote.js';
import { ipv4NumberAt, ipv4ToNumber, parseHostIp, parseScopedIPv6, unmapV4 } from '../wire/ip.js';
import type { Result } from '../wire/types.js';
import type { Endpoint } from './krpc-types.js';

// ---------------------------------------------------------------------------------------------
// Classification

/**
 * global: public unicast; loopback: 127/8, ::1; private: RFC 1918, CGNAT 100.64/10, link-local
 * 169.254/16 and fe80::/10, ULA fc00::/7; bogon: anything else that is not global unicast
 * (unspecified, multicast, reserved, broadcast, documentation, benchmarking...); invalid: not an IP.
 */
export type AddressClass = 'global' | 'loopback' | 'private' | 'bogon' | 'invalid';

/** [network, prefix length, class] for IPv4 special ranges; checked in order. */
const V4_RANGES: ReadonlyArray<readonly [string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'bogon'], // "this network"
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'private'], // link-local
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'bogon'], // IETF protocol assignments
  ['192.0.2.0', 24, 'bogon'], // TEST-NET-1
  ['192.88.99.0', 24, 'bogon'], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'bogon'], // benchmarking
  ['198.51.100.0', 24, 'bogon'], // TEST-NET-2
  ['203.0.113.0', 24, 'bogon'], // TEST-NET-3
  ['224.0.0.0', 4, 'bogon'], // multicast
  ['240.0.0.0', 4, 'bogon'], // reserved, includes 255.255.255.255
];
const V4_TABLE = V4_RANGES.map(([net, len, cls]) => {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { net: ipv4ToNumber(net) & mask, mask, cls };
});

/** Classifies an IPv4 address given as an unsigned 32-bit number. */
export function classifyIPv4(n: number): AddressClass {
  for (const r of V4_TABLE) if (((n & r.mask) >>> 0) === r.net >>> 0) return r.cls;
  return 'global';
}

/** Classifies 16 IPv6 address bytes at offset. */
export function classifyIPv6(b: Uint8Array, off = 0): AddressClass {
  let zeroPrefix = true; // first 10 bytes zero
  for (let i = 0; i < 10; i++) {
    if (b[off + i] !== 0) {
      zeroPrefix = false;
      break;
    }
  }
  if (zeroPrefix) {
    const b10 = b[off + 10];
    const b11 = b[off + 11];
    if (b10 === 0xff && b11 === 0xff) return classifyIPv4(ipv4NumberAt(b, off + 12)); // ::ffff:a.b.c.d
    if (b10 === 0 && b11 === 0) {
      const low = ipv4NumberAt(b, off + 12);
      if (low === 1) return 'loopback'; // ::1
      return 'bogon'; // :: and deprecated IPv4-compatible addresses
    }
    return 'bogon';
  }
  const b0 = b[off];
  const b1 = b[off + 1];
  if (b0 === 0xff) return 'bogon'; // multicast
  if ((b0 & 0xfe) === 0xfc) return 'private'; // fc00::/7 unique local
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return 'private'; // fe80::/10 link-local
  if ((b0 & 0xe0) !== 0x20) {
    // outside 2000::/3; the NAT64 well-known prefix 64:ff9b::/96 carries an IPv4 address
    if (b0 === 0x00 && b1 === 0x64 && b[off + 2] === 0xff && b[off + 3] === 0x9b && isZero(b, off + 4, 8)) {
      return classifyIPv4(ipv4NumberAt(b, off + 12));
    }
    return 'bogon';
  }
  if (b0 === 0x20 && b1 === 0x01 && b[off + 2] === 0x0d && b[off + 3] === 0xb8) return 'bogon'; // 2001:db8::/32 documentation
  if (b0 === 0x3f && b1 === 0xff && (b[off + 2] & 0xf0) === 0) return 'bogon'; // 3fff::/20 documentation
  return 'global';
}

function isZero(b: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[off + i] !== 0) return false;
  return true;
}

/** Classifies an IP literal (IPv4 dotted quad or IPv6 text). Host names are 'invalid'. */
export function classifyIp(host: string): AddressClass {
  if (host.includes(':')) {
    const b = parseScopedIPv6(host);
    return b ? classifyIPv6(b) : 'invalid';
  }
  const n = ipv4ToNumber(host);
  return n >= 0 ? classifyIPv4(n) : 'invalid';
}

export function isLoopback(host: string): boolean {
  return classifyIp(host) === 'loopback';
}

/**
 * IPv4 /8 blocks that libtorrent ignores by default (dht_ignore_dark_internet): mostly allocated
 * to organisations that do not route them publicly. Data for later use; not applied by default.
 */
export const DARK_INTERNET_V4_SLASH8: readonly number[] = [3, 6, 7, 9, 11, 19, 21, 22, 25, 26, 28, 29, 30, 33, 34, 48, 56];
const DARK_SET = new Set(DARK_INTERNET_V4_SLASH8);

/** True for an IPv4 address (or IPv4-mapped IPv6) inside one of DARK_INTERNET_V4_SLASH8. */
export function isDarkInternet(host: string): boolean {
  const b = parseHostIp(host);
  if (!b) return false;
  const v4 = unmapV4(b);
  return v4.length === 4 && DARK_SET.has(v4[0]);
}

// ---------------------------------------------------------------------------------------------
// host:port text

export type HostKind = 'ipv4' | 'ipv6' | 'name';

export interface ParsedEndpoint extends Endpoint {
  kind: HostKind;
}

export interface ParseEndpointOptions {
  /** Used when the text has no port; without it a missing port is an error. */
  defaultPort?: number;
}

const HOST_NAME = /^(?=.{1,253}\.?$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/;

/** Parses a port number: decimal digits only, 1-65535. Errors do not repeat the text. */
export function parsePort(text: string): Result<number, string> {
  if (text === '') return { ok: false, error: 'empty port' };
  if (!/^[0-9]+$/.test(text)) return { ok: false, error: 'not a number' };
  const port = Number(text);
  if (port < 1 || port > 65535) return { ok: false, error: 'out of range (1-65535)' };
  return { ok: true, value: port };
}

/**
 * Parses `host:port`, `a.b.c.d:port` or `[v6]:port` strictly. Errors are one line naming the
 * problem and quoting the input once (quote(): a long input by its prefix), e.g.
 * "bad port in 'nothost:99999': out of range (1-65535)".
 */
export function parseEndpoint(text: string, options: ParseEndpointOptions = {}): Result<ParsedEndpoint, string> {
  const fail: Fail = (problem, detail) => ({ ok: false, error: `${problem} in ${quote(text)}${detail ? `: ${detail}` : ''}` });
  const s = text.trim();
  if (s === '') return { ok: false, error: 'empty address' };
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return fail("missing ']'");
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return fail("unexpected text after ']'");
      portText = rest.slice(1);
    }
    if (host === '') return fail('empty host');
    if (!parseScopedIPv6(host)) return fail('bad IPv6 address');
    return withPort(host, 'ipv6', portText, options, fail);
  }
  const colons = countChar(s, ':');
  if (colons > 1) {
    if (parseScopedIPv6(s) || parseScopedIPv6(s.slice(0, s.lastIndexOf(':')))) return fail('IPv6 address needs brackets', 'write [addr]:port');
    return fail('too many colons');
  }
  if (colons === 1) {
    const i = s.indexOf(':');
    host = s.slice(0, i);
    portText = s.slice(i + 1);
  } else {
    host = s;
  }
  if (host === '') return fail('empty host');
  if (/^[0-9.]+$/.test(host)) {
    if (ipv4ToNumber(host) < 0) return fail('bad IPv4 address');
    return withPort(host, 'ipv4', portText, options, fail);
  }
  if (!HOST_NAME.test(host)) return fail('bad host name');
  return withPort(host, 'name', portText, options, fail);
}

type Fail = (problem: string, detail?: string) => Result<ParsedEndpoint, string>;

function withPort(
  host: string,
  kind: HostKind,
  portText: string | undefined,
  options: ParseEndpointOptions,
  fail: Fail,
): Result<ParsedEndpoint, string> {
  if (portText === undefined) {
    if (options.defaultPort === undefined) return fail('missing port (expected host:port)');
    return { ok: true, value: { host, port: options.defaultPort, kind } };
  }
  const port = parsePort(portText);
  if (!port.ok) return portText === '' ? fail('empty port') : fail('bad port', port.error);
  return { ok: true, value: { host, port: port.value, kind } };
}

function countChar(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** 'h:p' for IPv4 and names, '[h]:p' for IPv6. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Policy

export interface AddressPolicyOptions {
  /** Allow private and loopback destinations regardless of where we are bound (--allow-private). */
  allowPrivate?: boolean;
  /** Addresses we are bound to or bootstrapped from; a loopback/private one opens its class. */
  localAddresses?: Iterable<string>;
  /** Refuse every non-loopback destination. Default: process.env.BITSCRAPE_LOOPBACK_ONLY === '1'. */
  loopbackOnly?: boolean;
}

/** True when the environment asks every component to stay on loopback (tests set this). */
export function loopbackOnlyFromEnv(): boolean {
  return process.env.BITSCRAPE_LOOPBACK_ONLY === '1';
}

/**
 * Decides, for one node of ours: may we send to an address, is an address a bogon for us, and how
 * are outbound rate limits keyed. Loopback and private addresses are usable when we are bound to
 * or bootstrapped from such an address (or allowPrivate); there the rate-limit key is ip:port, so a
 * test network of many nodes on 127.0.0.1 behaves like many hosts. On the public internet the key
 * is the IP.
 */
export class AddressPolicy {
  readonly loopbackOnly: boolean;
  private loopbackOk: boolean;
  private privateOk: boolean;

  constructor(options: AddressPolicyOptions = {}) {
    this.loopbackOnly = options.loopbackOnly ?? loopbackOnlyFromEnv();
    this.loopbackOk = options.allowPrivate ?? false;
    this.privateOk = options.allowPrivate ?? false;
    for (const a of options.localAddresses ?? []) this.addLocalAddress(a);
  }

  /**
   * For engines on SimNetwork: its hosts are private (10/8) and no datagram leaves the process,
   * so the loopback-only rule (meant for real sockets) does not apply and private space is open.
   */
  static simulated(): AddressPolicy {
    return new AddressPolicy({ allowPrivate: true, loopbackOnly: false });
  }

  /** Record an address we are bound to or bootstrapped from. Non-IP strings are ignored. */
  addLocalAddress(host: string): void {
    const cls = classifyIp(host);
    if (cls === 'loopback') this.loopbackOk = true;
    else if (cls === 'private') this.privateOk = true;
  }

  get allowsLoopback(): boolean {
    return this.loopbackOk || this.loopbackOnly;
  }

  get allowsPrivate(): boolean {
    return this.privateOk;
  }

  /** Whether addresses of this class are usable by us (global always, loopback/private when opened). */
  private usable(cls: AddressClass): boolean {
    if (cls === 'global') return true;
    if (cls === 'loopback') return this.allowsLoopback;
    if (cls === 'private') return this.privateOk;
    return false;
  }

  /** A contact we must not use: not global unicast (unless its class is open to us), or port 0. */
  isBogon(host: string, port: number): boolean {
    if (!(port >= 1 && port <= 65535)) return true;
    return !this.usable(classifyIp(host));
  }

  /**
   * A peer from a get_peers `values` list that is no use to anyone: port 0, an address that is not
   * unicast (bogon, invalid), or a loopback / private address while we are on the public DHT. On a
   * local network (loopback or private space open to us) peers at local addresses are real ones.
   */
  isBogonPeer(host: string, port: number): boolean {
    if (!(port >= 1 && port <= 65535)) return true;
    const cls = classifyIp(host);
    if (cls === 'global') return false;
    if (cls === 'loopback' || cls === 'private') return !(this.allowsLoopback || this.privateOk);
    return true;
  }

  /** Why we may not send to host:port, or null when we may. */
  refusal(host: string, port: number): string | null {
    if (!(port >= 1 && port <= 65535) || (port | 0) !== port) return `bad port ${port} for ${host}`;
    const cls = classifyIp(host);
    if (this.loopbackOnly && cls !== 'loopback') {
      return `BITSCRAPE_LOOPBACK_ONLY=1: refusing non-loopback destination ${formatEndpoint(host, port)}`;
    }
    if (this.usable(cls)) return null;
    switch (cls) {
      case 'invalid':
        return `not an IP address: ${quote(host)}`;
      case 'bogon':
        return `bogon destination ${formatEndpoint(host, port)}`;
      case 'loopback':
        return `loopback destination ${formatEndpoint(host, port)} (bind or bootstrap on loopback to allow it)`;
      default:
        return `private destination ${formatEndpoint(host, port)} (use --allow-private)`;
    }
  }

  mayQuery(host: string, port: number): boolean {
    return this.refusal(host, port) === null;
  }

  /** Rate-limit key: the IP on the public internet, ip:port on loopback/private networks we use. */
  rateLimitKey(host: string, port: number): string {
    const cls = classifyIp(host);
    if ((cls === 'loopback' || cls === 'private') && this.usable(cls)) return formatEndpoint(host, port);
    return host;
  }
}
