import { describe, expect, it } from 'vitest';
import { BadLines } from '../../../src/cli/bad-lines.js';
import { parseIdInput } from '../../../src/cli/id-input.js';
import { INPUT_FIELDS, lineValue } from '../../../src/cli/input-record.js';

const ID = 'c9e15763f722f23e98a29decdfae341b98d53056';

describe('lineValue', () => {
  it('takes a plain line as it is, and the natural field of an NDJSON record', () => {
    expect(lineValue(' 1.2.3.4:5 ', INPUT_FIELDS.address)).toEqual({ ok: true, value: '1.2.3.4:5', field: null });
    expect(lineValue('{"id":"x","address":"[::1]:6881"}', INPUT_FIELDS.address)).toEqual({ ok: true, value: '[::1]:6881', field: 'address' });
    // target before id: a find-node record's id is the node's, its target the lookup's
    expect(lineValue(JSON.stringify({ id: 'b', target: 'a' }), INPUT_FIELDS.id)).toMatchObject({ ok: true, value: 'a', field: 'target' });
    expect(lineValue(JSON.stringify({ id: 'b' }), INPUT_FIELDS.id)).toMatchObject({ ok: true, value: 'b', field: 'id' });
  });

  it('skips records without the field (summaries); reports bad JSON and non-string fields', () => {
    expect(lineValue('{"summary":"find-node"}', INPUT_FIELDS.address)).toEqual({ ok: false, skip: true });
    expect(lineValue('{"address":', INPUT_FIELDS.address)).toMatchObject({ ok: false, error: expect.stringMatching(/^invalid JSON/) });
    expect(lineValue('{"address":7}', INPUT_FIELDS.address, 'host:port')).toMatchObject({ ok: false, error: '"address" field is not host:port: 7' });
    expect(lineValue('[1]', INPUT_FIELDS.address)).toMatchObject({ ok: true, value: '[1]' });
  });
});

describe('parseIdInput', () => {
  it('reads hex, records and (when allowed) random', () => {
    expect(parseIdInput(ID)).toMatchObject({ ok: true });
    expect(parseIdInput(JSON.stringify({ target: ID }))).toMatchObject({ ok: true });
    expect(parseIdInput('random', { random: true })).toMatchObject({ ok: true });
    expect(parseIdInput('random')).toMatchObject({ ok: false, error: "target must be 40 hex digits, got 'random'" });
    expect(parseIdInput('{"target":"zz"}')).toMatchObject({ ok: false, error: `"target" field must be 40 hex digits, got 'zz'` });
  });
});

describe('BadLines', () => {
  it('prints the first few, then one count', () => {
    const out: string[] = [];
    const bad = new BadLines((t) => out.push(t), 3);
    for (let i = 0; i < 12_345; i++) bad.add(`line ${i}`);
    bad.finish('x: ');
    bad.finish('x: ');
    expect(out).toEqual(['line 0', 'line 1', 'line 2', 'x: … and 12,342 more bad lines']);
  });

  it('prints no count when everything was shown', () => {
    const out: string[] = [];
    const bad = new BadLines((t) => out.push(t));
    bad.add('a');
    bad.finish('x: ');
    expect(out).toEqual(['a']);
  });
});
