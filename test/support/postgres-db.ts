// A fresh database in the run's PostgreSQL cluster for one test (test files named *postgres*.test.ts).
import pg from 'pg';
import { inject } from 'vitest';
import './postgres.js';

let counter = 0;

export function cluster(): NonNullable<ReturnType<typeof inject<'postgres'>>> {
  const c = inject('postgres');
  if (!c) throw new Error(inject('postgresError') ?? 'no PostgreSQL cluster: name the test file *postgres*.test.ts');
  return c;
}

/** Creates an empty database and returns its URL (with the password). */
export async function freshDatabase(): Promise<string> {
  const c = cluster();
  const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: `${c.base}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `${c.base}/${name}`;
}

/** Runs SQL on a database directly (to look behind the store). */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
