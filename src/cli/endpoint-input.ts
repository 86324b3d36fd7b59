// Addresses given on the command line or stdin (plain host:port, or NDJSON records with an
// `address` field): parsed strictly, resolved (DNS names allowed), bad ones reported with where
// they came from.
import { parseEndpoint } from '../core/net/address.js';
import type { InputLine } from './base-command.js';
import { INPUT_FIELDS, lineValue } from './input-record.js';
import { resolveEndpoint, type ResolvedEndpoint } from './resolve-endpoint.js';

export interface EndpointInput {
  text: string;
  endpoint: ResolvedEndpoint;
}

export interface EndpointInputs {
  endpoints: EndpointInput[];
  /** One line per bad input, e.g. "line 3: bad port in 'x:0'". */
  problems: string[];
}

export function where(input: InputLine): string {
  return input.line > 0 ? `line ${input.line}: ` : '';
}

export async function parseEndpointInputs(inputs: InputLine[]): Promise<EndpointInputs> {
  const endpoints: EndpointInput[] = [];
  const problems: string[] = [];
  for (const input of inputs) {
    const line = lineValue(input.value, INPUT_FIELDS.address, 'host:port');
    if (!line.ok) {
      if (!line.skip) problems.push(`${where(input)}${line.error}`);
      continue;
    }
    const parsed = parseEndpoint(line.value);
    if (!parsed.ok) {
      problems.push(`${where(input)}${parsed.error}`);
      continue;
    }
    try {
      const all = await resolveEndpoint(parsed.value);
      endpoints.push({ text: line.value, endpoint: all[0] });
    } catch (err) {
      problems.push(`${where(input)}${(err as Error).message}`);
    }
  }
  return { endpoints, problems };
}
