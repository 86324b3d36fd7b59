// Infohash inputs for the probe commands: arguments or stdin lines, each parsed by
// parseInfohashInput; bad ones are reported with their line and counted.
import type { InputLine } from './base-command.js';
import { parseInfohashInput } from './infohash-input.js';
import { where } from './endpoint-input.js';

export interface InfohashArgs {
  infohashes: Uint8Array[];
  problems: string[];
}

export function parseInfohashArgs(inputs: InputLine[]): InfohashArgs {
  const infohashes: Uint8Array[] = [];
  const problems: string[] = [];
  for (const input of inputs) {
    const r = parseInfohashInput(input.value);
    if (r.ok) infohashes.push(r.infohash);
    else if (!r.skip) problems.push(`${where(input)}${r.error}`);
  }
  return { infohashes, problems };
}
