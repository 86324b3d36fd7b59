// DNS resolution of endpoints given on the command line (--bootstrap, address inputs): the one
// place a host name becomes addresses. Core code takes IP literals only.
import { lookup as dnsLookup } from 'node:dns/promises';
import { formatEndpoint } from '../core/net/address.js';
import type { Endpoint } from '../core/net/krpc-types.js';
import { quote } from '../core/util/quote.js';
import { ipFamily } from '../core/wire/ip.js';
import type { Family } from '../core/wire/types.js';

export interface ResolvedEndpoint extends Endpoint {
  family: Family;
}

export type LookupFn = (host: string) => Promise<Array<{ address: string; family: number }>>;

export interface ResolveOptions {
  /** Only addresses of this family. */
  family?: Family;
  /** Replaces node:dns lookup (tests). */
  lookup?: LookupFn;
}

const defaultLookup: LookupFn = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves an endpoint to every address of its host (an IP literal resolves to itself). Rejects
 * with a one-line Error when the name does not resolve or has no address of the wanted family.
 */
export async function resolveEndpoint(ep: Endpoint, options: ResolveOptions = {}): Promise<ResolvedEndpoint[]> {
  const fam = ipFamily(ep.host);
  if (fam !== 0) {
    if (options.family && options.family !== fam) {
      throw new Error(`${formatEndpoint(ep.host, ep.port)} is not an IPv${options.family} address`);
    }
    return [{ host: ep.host, port: ep.port, family: fam }];
  }
  let records: Array<{ address: string; family: number }>;
  try {
    records = await (options.lookup ?? defaultLookup)(ep.host);
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new Error(`cannot resolve ${quote(ep.host)}: ${code}`);
  }
  const out: ResolvedEndpoint[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    const family = r.family === 6 ? 6 : 4;
    if (options.family && options.family !== family) continue;
    if (seen.has(r.address)) continue;
    seen.add(r.address);
    out.push({ host: r.address, port: ep.port, family });
  }
  if (out.length === 0) {
    throw new Error(`cannot resolve ${quote(ep.host)}: no ${options.family ? `IPv${options.family} ` : ''}address`);
  }
  return out;
}
