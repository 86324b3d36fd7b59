// Turns the shared DHT flags into a running client: UDP sockets, address policy, Krpc engine,
// routing table (restored from the routing file unless --fresh) and bootstrap contacts. Every
// command that talks to the DHT starts here and calls close(), which saves what was learnt.
import { Errors, Flags } from '@oclif/core';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AddressPolicy, isLoopback, loopbackOnlyFromEnv, parseEndpoint } from '../core/net/address.js';
import { Krpc } from '../core/net/krpc-engine.js';
import { RATE_LIMIT_DEFAULTS, type RateLimitOptions } from '../core/net/rate-limiter.js';
import { RealClock } from '../core/net/real-clock.js';
import { sendWindowForRate } from '../core/net/send-window.js';
import { UdpTransport, type UdpBind } from '../core/net/udp-transport.js';
import { DhtClient } from '../core/dht/dht-client.js';
import { idFromHex, randomId } from '../core/dht/node-id.js';
import { loadRoutingFile, restoreRoutingTable, saveRoutingFile, type RoutingFile } from '../core/dht/routing-persistence.js';
import { moveAside } from '../core/util/atomic-file.js';
import { RoutingTable } from '../core/dht/routing-table.js';
import { defaultRoutingFile } from '../core/paths.js';
import { BadInputError, CliError, quote } from './errors.js';
import { durationFlag } from './base-command.js';
import { ipFamily } from '../core/wire/ip.js';
import type { Family } from '../core/wire/types.js';
import { resolveEndpoint, type ResolvedEndpoint } from './resolve-endpoint.js';
import { onSignalShutdown } from './signals.js';

/** The well-known bootstrap routers (libtorrent's and Transmission's defaults); used only when
 * nothing else is known. */
const PUBLIC_ROUTERS = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881', 'dht.libtorrent.org:25401'];

/** A rate in queries per second: a positive decimal number (0.5, 5, 200). */
export function parseRate(text: string): number | null {
  if (!/^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(text.trim())) return null;
  const n = Number(text);
  return n > 0 && n <= 10_000 ? n : null;
}

const ratePerNodeFlag = Flags.custom<number>({
  parse: async (input) => {
    const n = parseRate(input);
    if (n === null) throw new Errors.CLIError(`invalid rate ${quote(input)} (queries per second, e.g. 0.5, 5, 200; at most 10000)`);
    return n;
  },
});

/**
 * The engine's rate limits from the flags. --rate-per-node replaces both per-destination rates
 * (public and local); public IPs keep a burst of 5, local ip:ports get a window of a second's
 * worth of sends (sendWindowForRate: 5/s is at most 5 in any 1000 ms).
 */
export function rateLimitFromFlags(flags: Pick<DhtFlagValues, 'rate' | 'rate-per-node'>): RateLimitOptions {
  const perNode = flags['rate-per-node'];
  const global = { globalRatePerSec: flags.rate, globalBurst: flags.rate };
  if (perNode === undefined) return global;
  const local = sendWindowForRate(perNode);
  return { ...global, perKeyRatePerSec: perNode, localPerKeyMax: local.max, localPerKeyWindowMs: local.windowMs };
}

export const dhtFlags = {
  bootstrap: Flags.string({
    char: 'b',
    multiple: true,
    multipleNonGreedy: true,
    description:
      'bootstrap node host:port (repeatable; DNS names allowed): always asked by the first lookup, and whenever a lookup runs short, whatever the routing file holds; default: the routing file, falling back to the public routers',
  }),
  'routing-file': Flags.string({ description: 'routing table file to start from and save to (default: in the data directory)' }),
  fresh: Flags.boolean({ description: 'ignore the saved routing table (and do not overwrite it)' }),
  timeout: durationFlag({ description: 'per-query timeout (e.g. 500ms, 2s; at most 36525d)', default: 2000 }),
  bind: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'local address to bind, host or host:port (one per family)' }),
  port: Flags.integer({ description: 'local UDP port (0 = any)', default: 0, min: 0, max: 65535 }),
  rate: Flags.integer({ description: 'global query rate limit per second (at most 5000)', default: 100, min: 1, max: 5000 }),
  'rate-per-node': ratePerNodeFlag({
    description: `queries per second to one node (decimals allowed); default ${RATE_LIMIT_DEFAULTS.perKeyRatePerSec} per IP on the public DHT, ${(RATE_LIMIT_DEFAULTS.localPerKeyMax * 1000) / RATE_LIMIT_DEFAULTS.localPerKeyWindowMs} per ip:port on loopback/private networks`,
  }),
  'allow-private': Flags.boolean({ description: 'allow private and loopback addresses as DHT contacts' }),
};

export interface DhtFlagValues {
  bootstrap?: string[];
  'routing-file'?: string;
  fresh: boolean;
  timeout: number;
  bind?: string[];
  port: number;
  rate: number;
  'rate-per-node'?: number;
  'allow-private': boolean;
}

export interface SessionOptions {
  /** BEP 43 ro=1 on our queries: probes are read-only, a node is not. */
  readOnly: boolean;
  /** Our id; default: the routing file's, else random. */
  id?: Uint8Array;
  /** Warn and start fresh instead of failing on a bad routing file (the `node` command). */
  tolerateBadRoutingFile?: boolean;
  warn?: (text: string) => void;
  /** Hosts the command will contact directly (ping targets): they pick the sockets to bind. */
  contacts?: string[];
  /** Lookups need somewhere to start; direct probes (ping, query) do not. Default true. */
  needsBootstrap?: boolean;
  /** Bind a socket for each of these families too (crawl --family), whatever the contacts' families. */
  families?: readonly Family[];
  /** Per-destination limits on loopback/private networks unless --rate-per-node is given (crawl: at most 5 in any second). */
  localPerNode?: Pick<RateLimitOptions, 'localPerKeyMax' | 'localPerKeyWindowMs'>;
}

export interface DhtSession {
  node: DhtClient;
  engine: Krpc;
  transport: UdpTransport;
  policy: AddressPolicy;
  clock: RealClock;
  routingFile: string | null;
  /** Nodes restored from the routing file. */
  restored: number;
  /** Saves the routing table (unless --fresh) and closes the sockets. */
  close(opts?: { save?: boolean }): Promise<void>;
  save(): Promise<void>;
}

/** Parses and resolves the --bootstrap values; bad ones are a one-line usage error. */
async function resolveBootstrap(values: string[]): Promise<ResolvedEndpoint[]> {
  const out: ResolvedEndpoint[] = [];
  for (const text of values) {
    const parsed = parseEndpoint(text);
    if (!parsed.ok) throw new BadInputError(`--bootstrap: ${parsed.error}`);
    try {
      out.push(...(await resolveEndpoint(parsed.value)));
    } catch (err) {
      throw new BadInputError(`--bootstrap: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The public routers that resolve; one failing to resolve is normal, none is reported when nothing answers. */
async function resolvePublicRouters(): Promise<ResolvedEndpoint[]> {
  const each = await Promise.all(PUBLIC_ROUTERS.map((r) => resolveBootstrap([r]).catch(() => [])));
  return each.flat();
}

function bindAddresses(flags: DhtFlagValues, contacts: string[], families: readonly Family[] = []): UdpBind[] {
  if (flags.bind && flags.bind.length > 0) {
    return flags.bind.map((text) => {
      const fam = ipFamily(text);
      if (fam !== 0) return { host: text, port: flags.port };
      const parsed = parseEndpoint(text);
      if (!parsed.ok || parsed.value.kind === 'name') throw new BadInputError(`--bind: ${quote(text)} is not an IP address or IP:port`);
      return { host: parsed.value.host, port: parsed.value.port };
    });
  }
  // Stay on loopback when told to, or when every contact is on loopback (a local testnet).
  const local = loopbackOnlyFromEnv() || (contacts.length > 0 && contacts.every((h) => isLoopback(h)));
  const wantV6 = families.includes(6) || contacts.some((h) => ipFamily(h) === 6);
  const wantV4 = families.includes(4) || contacts.length === 0 || contacts.some((h) => ipFamily(h) === 4);
  const binds: UdpBind[] = [];
  if (wantV4) binds.push({ host: local ? '127.0.0.1' : '0.0.0.0', port: flags.port });
  if (wantV6) binds.push({ host: local ? '::1' : '::', port: flags.port });
  return binds;
}

export async function openSession(flags: DhtFlagValues, opts: SessionOptions): Promise<DhtSession> {
  const warn = opts.warn ?? ((t: string) => process.stderr.write(t + '\n'));
  const clock = new RealClock();
  const routingFile = flags.fresh ? null : (flags['routing-file'] ?? defaultRoutingFile());
  const explicitFile = Boolean(flags['routing-file']);

  // The saved table first: it decides our id and may make the routers unnecessary.
  let saved: RoutingFile | null = null;
  // Cleared when the file could not be read and stays where it is: it is never saved over.
  let mayOverwrite = true;
  if (routingFile) {
    const loaded = await loadRoutingFile(routingFile);
    if (loaded.ok) saved = loaded.value;
    else if (loaded.kind === 'missing' && (!explicitFile || opts.tolerateBadRoutingFile)) {
      // nothing saved yet
    } else if (!opts.tolerateBadRoutingFile) {
      throw new BadInputError(`${loaded.error} (use --fresh to ignore it)`);
    } else if (loaded.kind === 'invalid') {
      // Saving later would replace it: keep the user's file under another name first.
      try {
        const aside = await moveAside(routingFile, 'corrupt');
        warn(`warning: ${loaded.error}; moved it to ${aside}; starting with an empty table`);
      } catch (err) {
        mayOverwrite = false;
        warn(`warning: ${loaded.error}; cannot move it aside (${(err as Error).message}), so it will not be saved over; starting with an empty table`);
      }
    } else {
      mayOverwrite = false;
      warn(`warning: ${loaded.error}; it will not be saved over; starting with an empty table`);
    }
  }

  const bootstrap = await resolveBootstrap(flags.bootstrap ?? []);
  const savedNodes = saved?.nodes ?? [];
  const contactHosts = [...(opts.contacts ?? []), ...bootstrap.map((b) => b.host), ...savedNodes.map((n) => n.host)];
  const routersAllowed = !loopbackOnlyFromEnv();
  if (bootstrap.length === 0 && savedNodes.length === 0 && opts.needsBootstrap !== false) {
    if (!routersAllowed) {
      throw new BadInputError('no bootstrap nodes: BITSCRAPE_LOOPBACK_ONLY=1 refuses the public routers; pass --bootstrap host:port');
    }
    bootstrap.push(...(await resolvePublicRouters()));
  }
  // Starting from a saved table alone: the public routers stay the last resort of a lookup
  // that runs short, resolved only then (the saved nodes may all be gone).
  const fallbackBootstrap = bootstrap.length === 0 && routersAllowed && opts.needsBootstrap !== false ? resolvePublicRouters : undefined;

  let transport: UdpTransport;
  try {
    transport = await UdpTransport.open({ bind: bindAddresses(flags, contactHosts, opts.families) });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const policy = new AddressPolicy({
    allowPrivate: flags['allow-private'],
    localAddresses: [...transport.endpoints.map((e) => e.host), ...contactHosts],
  });
  const fileId = saved ? idFromHex(saved.id) : null;
  const id = opts.id ?? (fileId?.ok ? fileId.value : randomId());
  const engine = new Krpc({
    transport,
    clock,
    id,
    readOnly: opts.readOnly,
    timeoutMs: flags.timeout,
    retries: 1,
    policy,
    rateLimit: { ...rateLimitFromFlags(flags), ...(flags['rate-per-node'] === undefined ? (opts.localPerNode ?? {}) : {}) },
  });
  const local = policy.allowsLoopback || policy.allowsPrivate;
  let table: RoutingTable;
  let restored = 0;
  if (saved) {
    const r = restoreRoutingTable(saved, { id, clock, oneNodePerIp: !local });
    table = r.table;
    restored = r.live;
  } else {
    table = new RoutingTable({ id, clock, oneNodePerIp: !local });
  }
  const node = new DhtClient({
    engine,
    clock,
    table,
    bootstrap,
    ...(fallbackBootstrap ? { fallbackBootstrap } : {}),
    allowContact: (host, port) => !policy.isBogon(host, port) && policy.mayQuery(host, port),
    allowPeer: (host, port) => !policy.isBogonPeer(host, port),
    lookupDefaults: { queryTimeoutMs: flags.timeout, oneContactPerIp: !local },
  });

  const save = async (): Promise<void> => {
    if (!routingFile || !mayOverwrite || table.size === 0) return;
    await mkdir(dirname(routingFile), { recursive: true });
    const r = await saveRoutingFile(routingFile, table);
    if (!r.ok) warn(`warning: ${r.error}`);
  };
  let closed = false;
  // A command ended by a signal without closing its session still keeps what it learnt.
  const unregister = onSignalShutdown(save);
  return {
    node,
    engine,
    transport,
    policy,
    clock,
    routingFile,
    restored,
    save,
    async close(o = {}) {
      if (closed) return;
      closed = true;
      unregister();
      if (o.save !== false) await save();
      await engine.close();
      await transport.close();
    },
  };
}
