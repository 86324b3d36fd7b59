// An in-process datagram network on a (usually virtual) clock, for simulations of 10k–100k
// DHT nodes in one process. attach() gives a Transport, so the same engine runs here and over
// UDP. Delivery has seeded latency and loss; endpoints can be made unresponsive, rate-limited
// or lossy; a delivery filter lets a test drop or rewrite datagrams in flight.
//
// Addresses are IPv4 only. Simulated hosts conventionally come from 10.0.0.0/8 (RFC 1918
// private space, see hostFor), so an AddressPolicy with allowPrivate accepts them; any other
// IPv4 literal works too. Nothing here touches a real socket.
//
// Memory: an endpoint costs one Map entry and one small SimTransport object; behaviours live
// in a separate map holding only the endpoints that have one. No per-endpoint timers or closures.
import type { Clock } from './clock.js';
import { Prng } from './prng.js';
import type { LocalEndpoint, MessageHandler, Transport } from './transport.js';

/** The largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD = 65_507;

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

/** Parses a dotted-quad IPv4 literal to an unsigned 32-bit number, or -1. */
export function ipv4ToNumber(host: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits > 0 && part === 0)) {
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + part : -1;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const keyOf = (ip: number, port: number): number => ip * 65536 + port;
const ipOfKey = (key: number): number => Math.floor(key / 65536);
const portOfKey = (key: number): number => key % 65536;

/** A transport attached to a SimNetwork. */
export class SimTransport implements Transport {
  /** @internal */ handler: MessageHandler | null = null;
  /** @internal */ closed = false;
  /** Host text, built on first use (most simulated endpoints never need it). */
  private hostText: string | undefined = undefined;

  constructor(
    private readonly network: SimNetwork,
    /** host * 65536 + port */
    readonly key: number,
  ) {}

  get host(): string {
    return (this.hostText ??= numberToIpv4(ipOfKey(this.key)));
  }

  get port(): number {
    return portOfKey(this.key);
  }

  get endpoints(): readonly LocalEndpoint[] {
    return [{ host: this.host, port: this.port, family: 4 }];
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
    const ip = ipv4ToNumber(host);
    if (ip < 0) throw new Error(`SimNetwork: ${host} is not an IPv4 address`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SimNetwork: bad port ${port}`);
    if (port === 0) port = this.freePort(ip);
    const key = keyOf(ip, port);
    if (this.endpoints.has(key)) throw new Error(`SimNetwork: ${host}:${port} is already attached`);
    const transport = new SimTransport(this, key);
    this.endpoints.set(key, transport);
    return transport;
  }

  isAttached(host: string, port: number): boolean {
    const ip = ipv4ToNumber(host);
    return ip >= 0 && this.endpoints.has(keyOf(ip, port));
  }

  /** Sets how host:port treats incoming datagrams ({kind: 'normal'} clears it). */
  setBehaviour(host: string, port: number, behaviour: EndpointBehaviour): void {
    const ip = ipv4ToNumber(host);
    if (ip < 0) throw new Error(`SimNetwork: ${host} is not an IPv4 address`);
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
    const ip = ipv4ToNumber(host);
    return (ip >= 0 && this.behaviours.get(keyOf(ip, port))?.behaviour) || { kind: 'normal' };
  }

  /** Every datagram passes this just before delivery; null removes the filter. */
  setDeliveryFilter(filter: DeliveryFilter | null): void {
    this.filter = filter;
  }

  /** @internal Called by SimTransport.send. Never throws. */
  route(from: SimTransport, data: Uint8Array, host: string, port: number): void {
    const ip = typeof host === 'string' ? ipv4ToNumber(host) : -1;
    if (from.closed || ip < 0 || !Number.isInteger(port) || port < 1 || port > 65535 || !(data?.length <= this.maxBytes)) {
      this.counters.droppedInvalid++;
      return;
    }
    this.counters.sent++;
    if (this.loss > 0 && this.prng.next() < this.loss) {
      this.counters.droppedLoss++;
      return;
    }
    const latency = this.minLatency + Math.floor(this.prng.next() * this.latencySpan);
    // copy now: the sender may reuse its buffer, as it may with a real socket
    const bytes = Buffer.from(data);
    const toKey = keyOf(ip, port);
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

  private freePort(ip: number): number {
    for (let port = EPHEMERAL_FIRST; port <= 65535; port++) {
      if (!this.endpoints.has(keyOf(ip, port))) return port;
    }
    throw new Error(`SimNetwork: no free port on ${numberToIpv4(ip)}`);
  }
}
