// The password of a postgres:// URL, found as psql finds it: the URL's own, else PGPASSWORD,
// else the password file (PGPASSFILE, else ~/.pgpass; ignored with a warning when others may
// read it). node-postgres reads the file itself too, but warns on every connection that this is
// deprecated, so the file is read here, once, and the password goes into the URL the pool gets.
// The URL with the password never leaves the store: messages show redactUrl's.
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';

type PgPass = (connInfo: { host: string; port: string; database: string; user: string }, cb: (password: string | undefined) => void) => void;

const require = createRequire(import.meta.url);

/** `url` with a password filled in from the password file when it has none and PGPASSWORD is unset. */
export async function withPassword(url: string): Promise<string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url; // the caller reports a bad URL
  }
  if (u.password !== '' || process.env.PGPASSWORD !== undefined) return url;
  // the fields a password file line matches, with libpq's defaults
  const user = decodeURIComponent(u.username) || process.env.PGUSER || userInfo().username;
  const connInfo = {
    host: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1') || process.env.PGHOST || 'localhost',
    port: u.port || process.env.PGPORT || '5432',
    database: decodeURIComponent(u.pathname.slice(1)) || process.env.PGDATABASE || user,
    user,
  };
  const pgpass = require('pgpass') as PgPass;
  const password = await new Promise<string | undefined>((resolve) => pgpass(connInfo, resolve));
  if (password === undefined) return url;
  if (u.username === '') u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}
