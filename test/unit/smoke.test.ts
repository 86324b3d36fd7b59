import { describe, expect, it } from 'vitest';
import { KRPC_ERRORS } from '../../src/core/wire/types.js';

describe('project', () => {
  it('has the KRPC error codes of BEP 5 and BEP 44', () => {
    expect(KRPC_ERRORS.PROTOCOL).toBe(203);
    expect(KRPC_ERRORS.SEQ_TOO_OLD).toBe(302);
  });
});
