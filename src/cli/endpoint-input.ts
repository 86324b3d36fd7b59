// Addresses given on the command line or stdin: parsed strictly, resolved (DNS names allowed),
// bad ones reported with where they came from.
import { parseEndpoint, resolveEndpoint, type ResolvedEndpoint } from '../core/net/address.js';
import type { InputLine } from './base-command.js';

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
    const parsed = parseEndpoint(input.value);
    if (!parsed.ok) {
      problems.push(`${where(input)}${parsed.error}`);
      continue;
    }
    try {
      const all = await resolveEndpoint(parsed.value);
      endpoints.push({ text: input.value, endpoint: all[0] });
    } catch (err) {
      problems.push(`${where(input)}${(err as Error).message}`);
    }
  }
  return { endpoints, problems };
}
