// Shared flags and parsing for `db list` / `db export`.
import { Flags } from '@oclif/core';
import { checkDuration } from './duration.js';
import { BadInputError, quote } from './errors.js';
import type { InfohashQuery } from '../core/store/types.js';

export const dbQueryFlags = {
  since: Flags.string({ description: 'only infohashes first seen since then: a duration ago (6h, 30m) or an ISO date' }),
  client: Flags.string({ description: 'only infohashes whose source node runs this client (prefix, e.g. LT or "LT 2.0")' }),
  order: Flags.string({ description: 'sort order', options: ['first_seen', 'last_seen', 'times_seen', 'infohash'], default: 'first_seen' }),
  desc: Flags.boolean({ description: 'descending order' }),
};

/** A duration ago (the duration flags' parser) or a date; a bare number is neither (Date.parse reads "5" as May 2001). */
export function parseSince(text: string, now = Date.now()): number {
  if (/^\s*[0-9.]+\s*$/.test(text)) throw new BadInputError(`--since ${quote(text)}: give a unit, e.g. 6h, or a date (2026-11-01T00:00:00Z)`);
  if (/^\s*[0-9.]+[a-z]+\s*$/.test(text)) {
    const ago = checkDuration(text);
    if (!ago.ok) throw new BadInputError(`--since: ${ago.error}`);
    return now - ago.ms;
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new BadInputError(`--since ${quote(text)}: not a duration (6h) or a date (2026-11-01T00:00:00Z)`);
  return t;
}

export function buildQuery(flags: { since?: string; client?: string; order: string; desc: boolean }, limit?: number): InfohashQuery {
  return {
    ...(flags.since !== undefined ? { since: parseSince(flags.since) } : {}),
    ...(flags.client !== undefined ? { client: flags.client } : {}),
    ...(limit !== undefined ? { limit } : {}),
    order: flags.order as InfohashQuery['order'],
    direction: flags.desc ? 'desc' : 'asc',
  };
}
