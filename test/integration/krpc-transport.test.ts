// UdpTransport over real loopback sockets.
import { afterEach, describe, expect, it } from 'vitest';
import { hasIPv6Loopback } from '../support/ipv6.js';
import { UdpTransport } from '../../src/core/net/udp-transport.js';

const opened: UdpTransport[] = [];
async function open(bind: Array<{ host: string; port: number }>, loopbackOnly?: boolean): Promise<UdpTransport> {
  const t = await UdpTransport.open({ bind, loopbackOnly });
  opened.push(t);
  return t;
}

const v6 = await hasIPv6Loopback();

function nextMessage(t: UdpTransport): Promise<{ data: Uint8Array; host: string; port: number }> {
  return new Promise((resolve) => t.onMessage((data, host, port) => resolve({ data, host, port })));
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

describe('UdpTransport', () => {
  it('binds 127.0.0.1 on a free port and exchanges datagrams', async () => {
    const a = await open([{ host: '127.0.0.1', port: 0 }]);
    const b = await open([{ host: '127.0.0.1', port: 0 }]);
    expect(a.endpoints).toHaveLength(1);
    expect(a.endpoints[0]).toMatchObject({ host: '127.0.0.1', family: 4 });
    expect(a.endpoints[0].port).toBeGreaterThan(0);
    const got = nextMessage(b);
    a.send(Uint8Array.of(1, 2, 3), '127.0.0.1', b.endpoints[0].port);
    const m = await got;
    expect([...m.data]).toEqual([1, 2, 3]);
    expect(m).toMatchObject({ host: '127.0.0.1', port: a.endpoints[0].port });
    expect(a.counters.sent).toBe(1);
    expect(b.counters.received).toBe(1);
  });

  it.runIf(v6)('binds IPv4 and IPv6 (v6-only) together and picks the socket by destination family', async () => {
    const a = await open([
      { host: '127.0.0.1', port: 0 },
      { host: '::1', port: 0 },
    ]);
    const b = await open([{ host: '::1', port: 0 }]);
    expect(a.endpoints.map((e) => e.family).sort()).toEqual([4, 6]);
    const got = nextMessage(b);
    a.send(Uint8Array.of(9), '::1', b.endpoints[0].port);
    const m = await got;
    expect(m.host).toBe('::1');
    expect(m.port).toBe(a.endpoints.find((e) => e.family === 6)!.port);
  });

  it('reports a bind conflict as a clear one-line error', async () => {
    const a = await open([{ host: '127.0.0.1', port: 0 }]);
    const port = a.endpoints[0].port;
    await expect(UdpTransport.open({ bind: [{ host: '127.0.0.1', port }] })).rejects.toThrow(
      `cannot bind UDP 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
    );
  });

  it('rejects bad bind requests before touching sockets', async () => {
    await expect(UdpTransport.open({ bind: [] })).rejects.toThrow(/nothing to bind/);
    await expect(UdpTransport.open({ bind: [{ host: 'localhost', port: 0 }] })).rejects.toThrow(/not an IP address/);
    await expect(UdpTransport.open({ bind: [{ host: '127.0.0.1', port: 70000 }] })).rejects.toThrow(/bad port/);
    await expect(
      UdpTransport.open({
        bind: [
          { host: '127.0.0.1', port: 0 },
          { host: '127.0.0.2', port: 0 },
        ],
      }),
    ).rejects.toThrow(/one IPv4 address already given/);
  });

  it('under BITSCRAPE_LOOPBACK_ONLY refuses non-loopback destinations without sending', async () => {
    const a = await open([{ host: '127.0.0.1', port: 0 }]);
    expect(a.loopbackOnly).toBe(true);
    a.send(Uint8Array.of(1), '8.8.8.8', 53);
    a.send(Uint8Array.of(1), '192.168.1.1', 6881);
    expect(a.counters.refused).toBe(2);
    expect(a.counters.sent).toBe(0);
  });

  it('never throws from send: host names, missing family, closed socket', async () => {
    const a = await open([{ host: '127.0.0.1', port: 0 }]);
    expect(() => a.send(Uint8Array.of(1), 'localhost', 1)).not.toThrow();
    expect(() => a.send(Uint8Array.of(1), '::1', 1)).not.toThrow(); // no IPv6 socket
    expect(a.counters.sendErrors).toBe(2);
    await a.close();
    expect(() => a.send(Uint8Array.of(1), '127.0.0.1', 1)).not.toThrow();
    expect(a.counters.sendErrors).toBe(3);
  });

  it('catches and counts handler exceptions and keeps receiving', async () => {
    const a = await open([{ host: '127.0.0.1', port: 0 }]);
    const b = await open([{ host: '127.0.0.1', port: 0 }]);
    let calls = 0;
    const second = new Promise<void>((resolve) =>
      b.onMessage(() => {
        if (++calls === 2) resolve();
        throw new Error('handler bug');
      }),
    );
    a.send(Uint8Array.of(1), '127.0.0.1', b.endpoints[0].port);
    a.send(Uint8Array.of(2), '127.0.0.1', b.endpoints[0].port);
    await second;
    expect(b.counters.handlerErrors).toBe(2);
  });
});
