// Where bitscrape keeps its files (XDG base directory spec): the routing table and the crawl
// database live in $XDG_DATA_HOME/bitscrape, or ~/.local/share/bitscrape.
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

function dataDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  // The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.local', 'share'), 'bitscrape');
}

export function defaultRoutingFile(env?: NodeJS.ProcessEnv, home?: string): string {
  return join(dataDir(env, home), 'routing.json');
}

export function defaultDbPath(env?: NodeJS.ProcessEnv, home?: string): string {
  return join(dataDir(env, home), 'crawl.db');
}
