// Transport over node:dgram: one socket per address family (the IPv6 one is IPv6-only), the
// socket chosen by the destination's family. send() never throws and handler exceptions are
// caught: a bad datagram or a failing send is a counter, never a crash.
import dgram from 'node:dgram';
import { ipFamily } from '../wire/ip.js';
import type { Family } from '../wire/types.js';
import { formatEndpoint, isLoopback, loopbackOnlyFromEnv } from './address.js';
import type { LocalEndpoint, MessageHandler, Transport } from './transport.js';

export interface UdpBind {
  /** IP literal to bind ('0.0.0.0', '::', '127.0.0.1', '::1', ...). */
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface UdpTransportOptions {
  /** At most one address per family. */
  bind: UdpBind[];
  /** SO_RCVBUF to ask for (default 4 MiB; the OS may cap it). */
  recvBufferSize?: number;
  /** SO_SNDBUF to ask for (default: OS default). */
  sendBufferSize?: number;
  /** Refuse non-loopback destinations. Default: process.env.BITSCRAPE_LOOPBACK_ONLY === '1'. */
  loopbackOnly?: boolean;
}

export interface UdpCounters {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  /** Sends that failed (no socket for the family, socket error, not an IP, closed). */
  sendErrors: number;
  /** Sends refused by the loopback-only rule. */
  refused: number;
  /** Exceptions thrown by the message handler (caught). */
  handlerErrors: number;
  /** Socket 'error' events after binding. */
  socketErrors: number;
}

const DEFAULT_RECV_BUFFER = 4 * 1024 * 1024;

export class UdpTransport implements Transport {
  readonly counters: UdpCounters = {
    sent: 0,
    received: 0,
    bytesSent: 0,
    bytesReceived: 0,
    sendErrors: 0,
    refused: 0,
    handlerErrors: 0,
    socketErrors: 0,
  };
  /** The last send or socket error, for diagnostics. */
  lastError: Error | null = null;
  private handler: MessageHandler | null = null;
  private closed = false;

  private constructor(
    private readonly v4: dgram.Socket | null,
    private readonly v6: dgram.Socket | null,
    readonly endpoints: readonly LocalEndpoint[],
    readonly loopbackOnly: boolean,
  ) {
    for (const s of [v4, v6]) {
      if (!s) continue;
      s.on('message', this.onDatagram);
      s.on('error', this.onSocketError);
    }
  }

  /** Binds the sockets; rejects with a one-line Error naming the address on failure. */
  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    const loopbackOnly = options.loopbackOnly ?? loopbackOnlyFromEnv();
    if (options.bind.length === 0) throw new Error('UDP transport: nothing to bind');
    const byFamily = new Map<Family, UdpBind>();
    for (const b of options.bind) {
      const family = ipFamily(b.host);
      if (family === 0) throw new Error(`cannot bind UDP ${formatEndpoint(b.host, b.port)}: not an IP address`);
      if (!(Number.isInteger(b.port) && b.port >= 0 && b.port <= 65535)) {
        throw new Error(`cannot bind UDP ${formatEndpoint(b.host, b.port)}: bad port`);
      }
      if (byFamily.has(family)) throw new Error(`cannot bind UDP ${formatEndpoint(b.host, b.port)}: one IPv${family} address already given`);
      byFamily.set(family, b);
    }
    const sockets: dgram.Socket[] = [];
    const endpoints: LocalEndpoint[] = [];
    let v4: dgram.Socket | null = null;
    let v6: dgram.Socket | null = null;
    try {
      for (const [family, b] of byFamily) {
        const socket = await bindSocket(family, b, options);
        sockets.push(socket);
        const addr = socket.address();
        endpoints.push({ host: addr.address, port: addr.port, family });
        if (family === 4) v4 = socket;
        else v6 = socket;
      }
    } catch (err) {
      await Promise.all(sockets.map(closeSocket));
      throw err;
    }
    return new UdpTransport(v4, v6, endpoints, loopbackOnly);
  }

  send(data: Uint8Array, host: string, port: number): void {
    if (this.closed) {
      this.counters.sendErrors++;
      return;
    }
    // Choose the socket by family without a DNS lookup: dgram would resolve a host name.
    const family = ipFamily(host);
    const socket = family === 6 ? this.v6 : family === 4 ? this.v4 : null;
    if (!socket) {
      this.counters.sendErrors++;
      return;
    }
    if (this.loopbackOnly && !isLoopback(host)) {
      this.counters.refused++;
      return;
    }
    try {
      socket.send(data, port, host, this.onSent);
      this.counters.sent++;
      this.counters.bytesSent += data.length;
    } catch (err) {
      this.counters.sendErrors++;
      this.lastError = err as Error;
    }
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.v4, this.v6].filter((s): s is dgram.Socket => s !== null).map(closeSocket));
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) {
      this.counters.sendErrors++;
      this.lastError = err;
    }
  };

  private readonly onDatagram = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.counters.received++;
    this.counters.bytesReceived += msg.length;
    const handler = this.handler;
    if (!handler) return;
    try {
      handler(msg, rinfo.address, rinfo.port);
    } catch {
      this.counters.handlerErrors++;
    }
  };

  private readonly onSocketError = (err: Error): void => {
    this.counters.socketErrors++;
    this.lastError = err;
  };
}

function bindSocket(family: Family, b: UdpBind, options: UdpTransportOptions): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
    const onError = (err: NodeJS.ErrnoException): void => {
      try {
        socket.close();
      } catch {
        /* never bound */
      }
      reject(new Error(`cannot bind UDP ${formatEndpoint(b.host, b.port)}: ${describeBindError(err)}`));
    };
    socket.once('error', onError);
    socket.bind(b.port, b.host, () => {
      socket.off('error', onError);
      // Ask for big buffers so bursts of replies are not dropped; the OS may cap or refuse them.
      try {
        socket.setRecvBufferSize(options.recvBufferSize ?? DEFAULT_RECV_BUFFER);
      } catch {
        /* keep the OS default */
      }
      if (options.sendBufferSize) {
        try {
          socket.setSendBufferSize(options.sendBufferSize);
        } catch {
          /* keep the OS default */
        }
      }
      resolve(socket);
    });
  });
}

function describeBindError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use (EADDRINUSE)';
    case 'EACCES':
      return 'permission denied (EACCES)';
    case 'EADDRNOTAVAIL':
      return 'address not available on this machine (EADDRNOTAVAIL)';
    case 'EAFNOSUPPORT':
      return 'address family not supported (EAFNOSUPPORT)';
    default:
      return err.code ? `${err.code}` : err.message;
  }
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
