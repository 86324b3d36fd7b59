// --metrics HOST:PORT: serves the Prometheus text format at http://HOST:PORT/metrics for as long
// as the command runs. A bare port binds loopback: metrics say a lot about a node, so exposing
// them is something the user asks for by naming an address.
import { Flags } from '@oclif/core';
import { createServer, type Server } from 'node:http';
import { formatEndpoint, parseEndpoint } from '../core/net/address.js';
import type { Metrics } from '../output/metrics.js';
import { BadInputError } from './errors.js';

export const metricsFlag = Flags.string({
  description: 'serve Prometheus metrics at http://HOST:PORT/metrics (a bare PORT binds 127.0.0.1; port 0 picks a free one)',
  helpValue: 'HOST:PORT',
});

export interface MetricsAddress {
  host: string;
  port: number;
}

export function parseMetricsAddress(text: string): MetricsAddress {
  const bare = /^[0-9]+$/.test(text) ? `127.0.0.1:${text}` : text;
  // port 0 (pick one) is fine for a listening socket; the endpoint parser only knows ports 1-65535
  const anyPort = /:0+$/.test(bare);
  const parsed = parseEndpoint(anyPort ? bare.replace(/:0+$/, ':1') : bare);
  if (!parsed.ok) throw new BadInputError(`--metrics: ${parsed.error}`);
  if (parsed.value.kind === 'name' && parsed.value.host !== 'localhost') throw new BadInputError('--metrics: give an IP address (or a bare port for 127.0.0.1)');
  return { host: parsed.value.host, port: anyPort ? 0 : parsed.value.port };
}

export interface MetricsServer {
  /** The address it listens on, e.g. "127.0.0.1:9464". */
  address: string;
  close(): Promise<void>;
}

export async function serveMetrics(metrics: Metrics, at: MetricsAddress): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('bitscrape serves /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  // one scrape at a time per connection is all Prometheus does; idle keep-alive sockets must not hold the exit
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new BadInputError(`--metrics ${formatEndpoint(at.host, at.port)}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.code === 'EADDRNOTAVAIL' ? 'not an address of this machine' : err.message}`)),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : at.port;
  return {
    address: formatEndpoint(at.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
