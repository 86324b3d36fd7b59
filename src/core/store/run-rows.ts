// What both stores make of the rows their SQL returns, in one place: stored run summaries (JSON
// text a damaged run may have left unreadable) and the figures of `db stats`.
import type { ClientStats, EndedRun, ReportRun, StoreStats } from './types.js';

export interface StoredRun {
  started_at: number;
  ended_at: number | null;
  strategy: string;
  summary: string | null;
}

/** A stored summary, parsed; undefined when there is none or it cannot be read. */
function parseSummary(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // a summary written by a damaged run costs only the detail it held
  }
}

/** A run for the report: its summary when it is a JSON object, else null (shown as missing). */
export function reportRun(r: StoredRun): ReportRun {
  const parsed = parseSummary(r.summary);
  const summary = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  return { started_at: r.started_at, ended_at: r.ended_at, strategy: r.strategy, summary };
}

export function endedRun(row: { ended_at: number; summary: string | null } | undefined): EndedRun | null {
  return row ? { endedAt: row.ended_at, summary: parseSummary(row.summary) } : null;
}

/** `db stats` from its three queries' rows. */
export function storeStats(
  ih: { infohashes: number; first_seen: number | null; last_seen: number | null; scraped: number },
  nodes: { nodes: number; bep51_nodes: number; known: number },
  clients: ClientStats[],
): StoreStats {
  return {
    infohashes: ih.infohashes,
    nodes: nodes.nodes,
    bep51_nodes: nodes.bep51_nodes,
    bep51_rate: nodes.known > 0 ? nodes.bep51_nodes / nodes.known : null,
    first_seen: ih.first_seen,
    last_seen: ih.last_seen,
    scraped: ih.scraped,
    clients,
  };
}
