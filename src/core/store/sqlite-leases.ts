// LeaseStore on SQLite: several crawlers on one machine share a file (WAL, busy_timeout), and
// each step is one IMMEDIATE transaction, so two claims never take the same range.
import type Database from 'better-sqlite3';
import type { LeaseClaim, PassStatus, SampleDue } from './types.js';

interface PassRow {
  pass: number;
  ranges: number;
  started_at: number;
  finished_at: number | null;
}

function status(db: Database.Database, row: PassRow): PassStatus {
  const c = db
    .prepare(
      `SELECT coalesce(sum(state = 'pending'), 0) AS pending, coalesce(sum(state = 'active'), 0) AS active,
         coalesce(sum(state = 'done'), 0) AS done FROM leases WHERE pass = ?`,
    )
    .get(row.pass) as { pending: number; active: number; done: number };
  return { ...row, ...c };
}

export function sqlitePassStatus(db: Database.Database, pass: number): PassStatus | null {
  const row = db.prepare('SELECT pass, ranges, started_at, finished_at FROM passes WHERE pass = ?').get(pass) as PassRow | undefined;
  return row ? status(db, row) : null;
}

export function sqliteCurrentPass(db: Database.Database, ranges: number, passIntervalMs: number, now: number): PassStatus | null {
  return db
    .transaction((): PassStatus | null => {
      const latest = db.prepare('SELECT pass, ranges, started_at, finished_at FROM passes ORDER BY pass DESC LIMIT 1').get() as PassRow | undefined;
      if (latest) {
        const s = status(db, latest);
        if (s.done < s.ranges) return s;
        if (latest.finished_at === null) {
          latest.finished_at = now;
          db.prepare('UPDATE passes SET finished_at = ? WHERE pass = ?').run(now, latest.pass);
        }
        if (now < latest.finished_at + passIntervalMs) return null;
      }
      const pass = (latest?.pass ?? 0) + 1;
      db.prepare('INSERT INTO passes (pass, ranges, started_at) VALUES (?, ?, ?)').run(pass, ranges, now);
      const insert = db.prepare("INSERT INTO leases (pass, range, state) VALUES (?, ?, 'pending')");
      for (let r = 0; r < ranges; r++) insert.run(pass, r);
      return status(db, { pass, ranges, started_at: now, finished_at: null });
    })
    .immediate();
}

export function sqliteClaimRange(db: Database.Database, owner: string, pass: number, leaseMs: number, now: number): LeaseClaim | null {
  return db
    .transaction((): LeaseClaim | null => {
      // pending ranges first, in keyspace order; then ranges whose crawler stopped renewing
      const row = db
        .prepare(
          `SELECT l.range, l.state, p.ranges FROM leases l JOIN passes p ON p.pass = l.pass
           WHERE l.pass = ? AND (l.state = 'pending' OR (l.state = 'active' AND l.expires_at < ?))
           ORDER BY l.state = 'active', l.range LIMIT 1`,
        )
        .get(pass, now) as { range: number; state: string; ranges: number } | undefined;
      if (!row) return null;
      db.prepare("UPDATE leases SET state = 'active', owner = ?, expires_at = ? WHERE pass = ? AND range = ?").run(owner, now + leaseMs, pass, row.range);
      return { pass, range: row.range, ranges: row.ranges, takenOver: row.state === 'active' };
    })
    .immediate();
}

export function sqliteRenewLease(db: Database.Database, owner: string, pass: number, range: number, leaseMs: number, now: number): boolean {
  return db.prepare("UPDATE leases SET expires_at = ? WHERE pass = ? AND range = ? AND owner = ? AND state = 'active'").run(now + leaseMs, pass, range, owner).changes === 1;
}

export function sqliteFinishRange(db: Database.Database, owner: string, pass: number, range: number, now: number): boolean {
  return db
    .transaction((): boolean => {
      const ok = db.prepare("UPDATE leases SET state = 'done', done_at = ?, expires_at = NULL WHERE pass = ? AND range = ? AND owner = ? AND state = 'active'").run(now, pass, range, owner).changes === 1;
      const left = db.prepare("SELECT count(*) AS n FROM leases WHERE pass = ? AND state <> 'done'").get(pass) as { n: number };
      if (left.n === 0) db.prepare('UPDATE passes SET finished_at = ? WHERE pass = ? AND finished_at IS NULL').run(now, pass);
      return ok;
    })
    .immediate();
}

export function sqliteReleaseRange(db: Database.Database, owner: string, pass: number, range: number): void {
  db.prepare("UPDATE leases SET state = 'pending', owner = NULL, expires_at = NULL WHERE pass = ? AND range = ? AND owner = ? AND state = 'active'").run(pass, range, owner);
}

/** Nodes sampled within their interval whose id lies in [idFrom, idTo): the shared BEP 51 intervals. */
export function sqliteSampleDueTimes(db: Database.Database, idFrom: Uint8Array, idTo: Uint8Array | null, now: number): SampleDue[] {
  return db
    .prepare(
      `SELECT addr, last_sampled + sample_interval_s * 1000 AS dueAt FROM nodes
       WHERE id >= ? AND (? IS NULL OR id < ?) AND last_sampled + sample_interval_s * 1000 > ?`,
    )
    .all(Buffer.from(idFrom), idTo ? Buffer.from(idTo) : null, idTo ? Buffer.from(idTo) : null, now) as SampleDue[];
}
