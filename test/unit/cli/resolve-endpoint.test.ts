import { describe, expect, it } from 'vitest';
import { resolveEndpoint } from '../../../src/cli/resolve-endpoint.js';
import { classifyIp } from '../../../src/core/net/address.js';

describe('resolveEndpoint', () => {
  it('returns IP literals as they are, without DNS', async () => {
    const lookup = () => Promise.reject(new Error('must not be called'));
    expect(await resolveEndpoint({ host: '::1', port: 5 }, { lookup })).toEqual([{ host: '::1', port: 5, family: 6 }]);
  });

  it('returns every address, deduplicated and filtered by family', async () => {
    const lookup = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ];
    expect(await resolveEndpoint({ host: 'x.test', port: 7 }, { lookup })).toEqual([
      { host: '127.0.0.1', port: 7, family: 4 },
      { host: '::1', port: 7, family: 6 },
    ]);
    expect(await resolveEndpoint({ host: 'x.test', port: 7 }, { lookup, family: 6 })).toEqual([{ host: '::1', port: 7, family: 6 }]);
  });

  it('fails with one line naming the host', async () => {
    const lookup = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nope.test'), { code: 'ENOTFOUND' }));
    await expect(resolveEndpoint({ host: 'nope.test', port: 1 }, { lookup })).rejects.toThrow("cannot resolve 'nope.test': ENOTFOUND");
  });

  it('resolves localhost through node:dns', async () => {
    const r = await resolveEndpoint({ host: 'localhost', port: 9 });
    expect(r.length).toBeGreaterThan(0);
    for (const e of r) expect(classifyIp(e.host)).toBe('loopback');
  });
});
