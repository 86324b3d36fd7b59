// An in-process datagram network on a (usually virtual) clock, for simulations of 10k–100k
// DHT nodes in one process. attach() gives a Transport, so the same engine runs here and over
// UDP. Delivery has seeded latency and loss; endpoints can be made unresponsive, rate-limited
// or lossy; a delivery filter lets a test drop or rewrite datagrams in flight.
//
// Addresses are IPv4 or IPv6 literals. Simulated hosts conventionally come from 10.0.0.0/8
// (RFC 1918 private space, see hostFor) and fd00::/96 (unique local, see hostFor6), so an
// AddressPolicy with allowPrivate accepts them; any other literal works too. IPv6 addresses are
// numbered above 2^32 as they are first attached, so both families share the numeric endpoint
// keys of the IPv4 fast path. attachAll() gives one transport with an endpoint per family (a
// dual-stack host). Nothing here touches a real socket.
//
// Memory: an endpoint costs one Map entry and one small SimTransport object; behaviours live
// in a separate map holding only the endpoints that have one. No per-endpoint timers or closures.
import { canonicalIp, formatIPv6, ipv4NumberAt, ipv4ToNumber, numberToIpv4, parseScopedIPv6 } from '../wire/ip.js';
import type { Family } from '../wire/types.js';
import type { Clock } from './clock.js';
import { Prng } from './prng.js';
import type { LocalEndpoint, MessageHandler, Transport } from './transport.js';

/** The largest UDP payload over IPv4. */
const MAX_UDP_PAYLOAD = 65_507;

export type EndpointBehaviour =
  | { kind: 'normal' }
  /** Drops everything sent to it (it may still send). */
  | { kind: 'unresponsive' }
  /** Accepts at most perSecond datagrams per second (token bucket of size burst, default perSecond). */
  | { kind: 'rate_limited'; perSecond: number; burst?: number }
  /** Loses this fraction of what is sent to it, on top of the network's loss. */
  | { kind: 'lossy'; loss: number };

export interface SimDatagram {
  data: Uint8Array;
  fromHost: string;
  fromPort: number;
  toHost: string;
  toPort: number;
}

/** Returns the bytes to deliver (the same or rewritten), or null to drop the datagram. */
export type DeliveryFilter = (datagram: SimDatagram) => Uint8Array | null;

export interface SimNetworkOptions {
  /** Delivery is scheduled on this clock (a VirtualClock for deterministic runs). */
  clock: Clock;
  /** Seed of the latency/loss generator (default 1). */
  seed?: number;
  /** One-way latency, uniform integer milliseconds in [min, max] (default 10–150). */
  latencyMs?: { min: number; max: number };
  /** Fraction of datagrams lost in transit (default 0). */
  loss?: number;
  /** Larger datagrams are dropped as unsendable (default 65507). */
  maxDatagramBytes?: number;
}

export interface SimCounters {
  /** Datagrams accepted by send() (lost or not). */
  sent: number;
  delivered: number;
  droppedLoss: number;
  droppedUnresponsive: number;
  droppedRateLimited: number;
  /** Nothing attached at the destination when the datagram arrived. */
  droppedUnreachable: number;
  droppedFiltered: number;
  /** Refused by send(): bad destination, oversize, or sent on a closed transport. */
  droppedInvalid: number;
  /** Message handlers that threw (caught). */
  handlerErrors: number;
}

interface BehaviourState {
  behaviour: EndpointBehaviour;
  /** rate_limited: tokens left and when they were last topped up. */
  tokens: number;
  refilledAt: number;
}

const EPHEMERAL_FIRST = 49_152;

/** IPv6 addresses get numbers from here up (IPv4 ones are their own 32-bit value). */
const V6_BASE = 2 ** 32;
/** fd00::/96, the prefix of hostFor6. */
const SIM_V6_PREFIX = Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

const keyOf = (ip: number, port: number): number => ip * 65536 + port;
const ipOfKey = (key: number): number => Math.floor(key / 65536);
const portOfKey = (key: number): number => key % 65536;

/** A transport attached to a SimNetwork. */
export class SimTransport implements Transport {
  /** @internal */ handler: MessageHandler | null = null;
  /** @internal */ closed = false;
  /**
   * Extra one-way delay of this endpoint's path, ms, added to every datagram it sends or
   * receives (on top of the network's latency): a host far away or behind a slow link.
   */
  delayMs = 0;
  /** Host text, built on first use (most simulated endpoints never need it). */
  private hostText: string | undefined = undefined;
  readonly family: Family;

  constructor(
    private readonly network: SimNetwork,
    /** host * 65536 + port */
    readonly key: number,
  ) {
    this.family = ipOfKey(key) >= V6_BASE ? 6 : 4;
  }

  get host(): string {
    return (this.hostText ??= this.network.hostOfNumber(ipOfKey(this.key)));
  }

  get port(): number {
    return portOfKey(this.key);
  }

  get endpoints(): readonly LocalEndpoint[] {
    return [{ host: this.host, port: this.port, family: this.family }];
  }

  send(data: Uint8Array, host: string, port: number): void {
    this.network.route(this, data, host, port);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    this.network.detach(this);
    return Promise.resolve();
  }
}

export class SimNetwork {
  readonly counters: SimCounters = {
    sent: 0,
    delivered: 0,
    droppedLoss: 0,
    droppedUnresponsive: 0,
    droppedRateLimited: 0,
    droppedUnreachable: 0,
    droppedFiltered: 0,
    droppedInvalid: 0,
    handlerErrors: 0,
  };
  private readonly clock: Clock;
  private readonly prng: Prng;
  private readonly minLatency: number;
  private readonly latencySpan: number;
  private readonly loss: number;
  private readonly maxBytes: number;
  private readonly endpoints = new Map<number, SimTransport>();
  private readonly behaviours = new Map<number, BehaviourState>();
  /** IPv6 address (canonical text) → its number, and back. */
  private readonly v6Numbers = new Map<string, number>();
  private readonly v6Texts: string[] = [];
  private filter: DeliveryFilter | null = null;

  constructor(options: SimNetworkOptions) {
    this.clock = options.clock;
    this.prng = new Prng(options.seed ?? 1);
    const { min, max } = options.latencyMs ?? { min: 10, max: 150 };
    if (!(min >= 0 && max >= min)) throw new RangeError('latencyMs needs 0 <= min <= max');
    this.minLatency = Math.floor(min);
    this.latencySpan = Math.floor(max) - this.minLatency + 1;
    this.loss = options.loss ?? 0;
    if (!(this.loss >= 0 && this.loss <= 1)) throw new RangeError('loss must be within [0, 1]');
    this.maxBytes = options.maxDatagramBytes ?? MAX_UDP_PAYLOAD;
  }

  /** The index-th simulated host: 10.0.0.1, 10.0.0.2, ... (index < 16,777,214). */
  static hostFor(index: number): string {
    if (!(index >= 0 && index < 0xfffffe)) throw new RangeError('host index out of range');
    return numberToIpv4(0x0a000001 + index);
  }

  /** The index-th simulated IPv6 host: fd00::a00:1, fd00::a00:2, ... (the IPv4 hostFor(index) in fd00::/96). */
  static hostFor6(index: number): string {
    if (!(index >= 0 && index < 0xfffffe)) throw new RangeError('host index out of range');
    const b = new Uint8Array(16);
    b.set(SIM_V6_PREFIX);
    const low = 0x0a000001 + index;
    b[12] = low >>> 24;
    b[13] = (low >>> 16) & 0xff;
    b[14] = (low >>> 8) & 0xff;
    b[15] = low & 0xff;
    return formatIPv6(b);
  }

  /** The index of a hostFor6 address, or -1 for any other text. */
  static indexOf6(host: string): number {
    const b = parseScopedIPv6(host);
    if (!b) return -1;
    for (let k = 0; k < 12; k++) if (b[k] !== SIM_V6_PREFIX[k]) return -1;
    const low = ipv4NumberAt(b, 12);
    const index = low - 0x0a000001;
    return index >= 0 && index < 0xfffffe ? index : -1;
  }

  /** Endpoints currently attached. */
  get size(): number {
    return this.endpoints.size;
  }

  /** All drops, whatever the reason. */
  get dropped(): number {
    const c = this.counters;
    return (
      c.droppedLoss + c.droppedUnresponsive + c.droppedRateLimited + c.droppedUnreachable + c.droppedFiltered + c.droppedInvalid
    );
  }

  /**
   * Binds host:port (port 0 picks a free one from 49152 up). Throws on a malformed host or
   * port and when the endpoint is taken, as a socket bind would.
   */
  attach(host: string, port: number): SimTransport {
    const ip = this.ipNumber(host, true);
    if (ip < 0) throw new Error(`SimNetwork: ${host} is not an IP address`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SimNetwork: bad port ${port}`);
    if (port === 0) port = this.freePort(ip);
    const key = keyOf(ip, port);
    if (this.endpoints.has(key)) throw new Error(`SimNetwork: ${host}:${port} is already attached`);
    const transport = new SimTransport(this, key);
    this.endpoints.set(key, transport);
    return transport;
  }

  /**
   * One transport with an endpoint per family (a dual-stack host): sends go out of the endpoint
   * of the destination's family; datagrams to any of them reach the one handler.
   */
  attachAll(binds: ReadonlyArray<{ host: string; port: number }>): Transport {
    const parts = binds.map((b) => this.attach(b.host, b.port));
    if (new Set(parts.map((p) => p.family)).size !== parts.length) {
      for (const p of parts) this.detach(p);
      throw new Error('SimNetwork: attachAll takes at most one address per family');
    }
    return new SimMultiTransport(parts);
  }

  isAttached(host: string, port: number): boolean {
    const ip = this.ipNumber(host, false);
    return ip >= 0 && this.endpoints.has(keyOf(ip, port));
  }

  /** Sets how host:port treats incoming datagrams ({kind: 'normal'} clears it). */
  setBehaviour(host: string, port: number, behaviour: EndpointBehaviour): void {
    const ip = this.ipNumber(host, true);
    if (ip < 0) throw new Error(`SimNetwork: ${host} is not an IP address`);
    const key = keyOf(ip, port);
    if (behaviour.kind === 'normal') {
      this.behaviours.delete(key);
      return;
    }
    if (behaviour.kind === 'rate_limited' && !(behaviour.perSecond > 0)) throw new RangeError('perSecond must be > 0');
    if (behaviour.kind === 'lossy' && !(behaviour.loss >= 0 && behaviour.loss <= 1)) throw new RangeError('loss must be within [0, 1]');
    const burst = behaviour.kind === 'rate_limited' ? (behaviour.burst ?? behaviour.perSecond) : 0;
    this.behaviours.set(key, { behaviour, tokens: burst, refilledAt: this.clock.now() });
  }

  behaviourOf(host: string, port: number): EndpointBehaviour {
    const ip = this.ipNumber(host, false);
    return (ip >= 0 && this.behaviours.get(keyOf(ip, port))?.behaviour) || { kind: 'normal' };
  }

  /** Every datagram passes this just before delivery; null removes the filter. */
  setDeliveryFilter(filter: DeliveryFilter | null): void {
    this.filter = filter;
  }

  /** @internal Called by SimTransport.send. Never throws. */
  route(from: SimTransport, data: Uint8Array, host: string, port: number): void {
    const ip = typeof host === 'string' ? this.ipNumber(host, false) : -1;
    // an IPv6 address nobody attached is a valid destination that nothing answers
    const unknownV6 = ip === -2;
    // as with sockets, an endpoint sends only to its own family
    const crossFamily = (ip >= V6_BASE || unknownV6) !== (from.family === 6);
    if (from.closed || (ip < 0 && !unknownV6) || crossFamily || !Number.isInteger(port) || port < 1 || port > 65535 || !(data?.length <= this.maxBytes)) {
      this.counters.droppedInvalid++;
      return;
    }
    this.counters.sent++;
    if (this.loss > 0 && this.prng.next() < this.loss) {
      this.counters.droppedLoss++;
      return;
    }
    const toKey = unknownV6 ? -1 : keyOf(ip, port);
    const latency = this.minLatency + Math.floor(this.prng.next() * this.latencySpan) + from.delayMs + (this.endpoints.get(toKey)?.delayMs ?? 0);
    // copy now: the sender may reuse its buffer, as it may with a real socket
    const bytes = Buffer.from(data);
    this.clock.setTimeout(() => this.deliver(bytes, from, toKey), latency);
  }

  /** @internal Called by SimTransport.close. */
  detach(transport: SimTransport): void {
    if (transport.closed) return;
    transport.closed = true;
    transport.handler = null;
    if (this.endpoints.get(transport.key) === transport) this.endpoints.delete(transport.key);
  }

  private deliver(bytes: Uint8Array, from: SimTransport, toKey: number): void {
    const dest = this.endpoints.get(toKey);
    if (dest === undefined) {
      this.counters.droppedUnreachable++;
      return;
    }
    if (this.behaviours.size > 0 && !this.admit(toKey)) return;
    let data: Uint8Array | null = bytes;
    if (this.filter !== null) {
      data = this.filter({
        data: bytes,
        fromHost: from.host,
        fromPort: from.port,
        toHost: dest.host,
        toPort: dest.port,
      });
      if (data === null) {
        this.counters.droppedFiltered++;
        return;
      }
    }
    this.counters.delivered++;
    const handler = dest.handler;
    if (handler === null) return;
    try {
      handler(data, from.host, from.port);
    } catch {
      this.counters.handlerErrors++;
    }
  }

  /** Applies the destination's behaviour; false (and counted) when it drops the datagram. */
  private admit(key: number): boolean {
    const state = this.behaviours.get(key);
    if (state === undefined) return true;
    const b = state.behaviour;
    switch (b.kind) {
      case 'unresponsive':
        this.counters.droppedUnresponsive++;
        return false;
      case 'lossy':
        if (this.prng.next() < b.loss) {
          this.counters.droppedLoss++;
          return false;
        }
        return true;
      case 'rate_limited': {
        const now = this.clock.now();
        const burst = b.burst ?? b.perSecond;
        state.tokens = Math.min(burst, state.tokens + ((now - state.refilledAt) * b.perSecond) / 1000);
        state.refilledAt = now;
        if (state.tokens < 1) {
          this.counters.droppedRateLimited++;
          return false;
        }
        state.tokens -= 1;
        return true;
      }
      default:
        return true;
    }
  }

  /** @internal The text of an address number. */
  hostOfNumber(ip: number): string {
    return ip >= V6_BASE ? (this.v6Texts[ip - V6_BASE] ?? '::') : numberToIpv4(ip);
  }

  /**
   * The number of an IP literal: IPv4 its value, IPv6 the one it was given when first attached
   * (given now when `assign`). -1: not an IP; -2: an IPv6 address never attached.
   */
  private ipNumber(host: string, assign: boolean): number {
    if (!host.includes(':')) return ipv4ToNumber(host);
    let n = this.v6Numbers.get(host);
    if (n !== undefined) return n;
    if (!parseScopedIPv6(host)) return -1;
    const text = canonicalIp(host);
    n = this.v6Numbers.get(text);
    if (n === undefined) {
      if (!assign) return -2;
      n = V6_BASE + this.v6Texts.length;
      this.v6Texts.push(text);
      this.v6Numbers.set(text, n);
    }
    return n;
  }

  private freePort(ip: number): number {
    for (let port = EPHEMERAL_FIRST; port <= 65535; port++) {
      if (!this.endpoints.has(keyOf(ip, port))) return port;
    }
    throw new Error(`SimNetwork: no free port on ${this.hostOfNumber(ip)}`);
  }
}

/** A dual-stack host: one SimTransport per family behind one Transport. */
class SimMultiTransport implements Transport {
  readonly endpoints: readonly LocalEndpoint[];

  constructor(private readonly parts: readonly SimTransport[]) {
    this.endpoints = parts.map((p) => p.endpoints[0]);
  }

  send(data: Uint8Array, host: string, port: number): void {
    const family = typeof host === 'string' && host.includes(':') ? 6 : 4;
    // no endpoint of that family: the network drops it as invalid, as a socket would refuse it
    const part = this.parts.find((p) => p.family === family) ?? this.parts[0];
    part.send(data, host, port);
  }

  onMessage(handler: MessageHandler): void {
    for (const p of this.parts) p.onMessage(handler);
  }

  async close(): Promise<void> {
    for (const p of this.parts) await p.close();
  }
}
