// Which address families `crawl` walks (BEP 32: IPv4 and IPv6 are separate DHTs). --family
// says so; without it, the families of the --bootstrap contacts, else those of the sockets the
// session bound (which follow the routing file's nodes and the routers). A family needs a socket.
import { Flags } from '@oclif/core';
import { ipFamily } from '../core/wire/ip.js';
import type { Family } from '../core/wire/types.js';
import { BadInputError } from './errors.js';

export const familyFlag = Flags.string({
  description: 'address families to crawl: 4, 6 or both (each its own keyspace, one database); default: the families of --bootstrap, else of the bound sockets',
  options: ['4', '6', 'both'],
});

/** The families --family names, or undefined without the flag. */
export function familiesOfFlag(value: string | undefined): Family[] | undefined {
  if (value === undefined) return undefined;
  return value === 'both' ? [4, 6] : [value === '6' ? 6 : 4];
}

/**
 * The families to crawl: the flag's, else those of the explicit bootstrap contacts, else those
 * of the bound sockets. Bad input when one of them has no socket to send from.
 */
export function crawlFamilies(asked: readonly Family[] | undefined, explicitBootstrap: readonly string[], bound: readonly Family[]): Family[] {
  const fromBootstrap = explicitBootstrap.map(ipFamily).filter((f): f is Family => f !== 0);
  const chosen = asked ?? (fromBootstrap.length > 0 ? fromBootstrap : bound);
  const families = ([4, 6] as const).filter((f) => chosen.includes(f));
  for (const f of families) {
    if (!bound.includes(f)) {
      throw new BadInputError(`${asked ? `--family ${asked.length > 1 ? 'both' : f}` : `--bootstrap over IPv${f}`}: no IPv${f} socket is bound (see --bind)`);
    }
  }
  if (families.length === 0) throw new BadInputError('no address family to crawl: no socket is bound');
  return families;
}
