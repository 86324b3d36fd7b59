// Where bitscrape keeps its files: the XDG data directory (routing table, crawl database).
import { homedir } from 'node:os';
import { join } from 'node:path';

export function dataDir(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.local', 'share'), 'bitscrape');
}

export function defaultRoutingFile(): string {
  return join(dataDir(), 'routing.json');
}
