// Which families `crawl` walks: --family, else the --bootstrap contacts', else the bound sockets'.
import { describe, expect, it } from 'vitest';
import { crawlFamilies, familiesOfFlag } from '../../../src/cli/crawl-families.js';

describe('crawl families', () => {
  it('--family names them; both is IPv4 and IPv6', () => {
    expect(familiesOfFlag(undefined)).toBeUndefined();
    expect(familiesOfFlag('4')).toEqual([4]);
    expect(familiesOfFlag('6')).toEqual([6]);
    expect(familiesOfFlag('both')).toEqual([4, 6]);
    expect(crawlFamilies([6], ['127.0.0.1'], [4, 6])).toEqual([6]);
  });

  it('without the flag: the families of the --bootstrap contacts, else those of the bound sockets', () => {
    expect(crawlFamilies(undefined, ['::1'], [6])).toEqual([6]);
    expect(crawlFamilies(undefined, ['::1', '127.0.0.1', '::1'], [4, 6])).toEqual([4, 6]);
    expect(crawlFamilies(undefined, [], [4])).toEqual([4]);
    expect(crawlFamilies(undefined, [], [6, 4])).toEqual([4, 6]);
  });

  it('a family without a socket is bad input (exit 2)', () => {
    expect(() => crawlFamilies([4, 6], [], [4])).toThrow(expect.objectContaining({ exitCode: 2, message: '--family both: no IPv6 socket is bound (see --bind)' }));
    expect(() => crawlFamilies(undefined, ['::1'], [4])).toThrow('--bootstrap over IPv6: no IPv6 socket is bound (see --bind)');
    expect(() => crawlFamilies(undefined, [], [])).toThrow(/no socket is bound/);
  });
});
