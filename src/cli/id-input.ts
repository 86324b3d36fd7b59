// A 160-bit id (a lookup target, a BEP 44 item target) from an argument or an input line: 40 hex
// digits, "random" when allowed, or an NDJSON record's `target` (else `id`) field.
import { idFromHex, randomId } from '../core/dht/node-id.js';
import { quote } from './errors.js';
import { INPUT_FIELDS, lineValue } from './input-record.js';

export type IdInput = { ok: true; id: Uint8Array } | { ok: false; error: string; skip?: undefined } | { ok: false; skip: true };

export function parseIdInput(text: string, opts: { random?: boolean } = {}): IdInput {
  const line = lineValue(text, INPUT_FIELDS.id, '40 hex digits');
  if (!line.ok) return line;
  if (line.field === null && opts.random && line.value === 'random') return { ok: true, id: randomId() };
  const parsed = idFromHex(line.value);
  if (!parsed.ok) return { ok: false, error: `${line.field !== null ? `"${line.field}" field` : 'target'} must be 40 hex digits, got ${quote(line.value)}` };
  return { ok: true, id: parsed.value };
}
