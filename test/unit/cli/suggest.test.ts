import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../../src/cli/suggest.js';

const COMMANDS = ['announce', 'crawl', 'db export', 'db list', 'db stats', 'find-node', 'get', 'get-peers', 'keygen', 'node', 'ping', 'put', 'query', 'routing', 'routing load', 'routing save', 'routing show', 'sample', 'scrape', 'testnet'];

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
    expect(editDistance('ping', 'ping')).toBe(0);
    expect(editDistance('pnig', 'ping')).toBe(1); // swap
    expect(editDistance('pin', 'ping')).toBe(1); // insertion
    expect(editDistance('pingg', 'ping')).toBe(1); // deletion
    expect(editDistance('pong', 'ping')).toBe(1); // substitution
    expect(editDistance('', 'ping')).toBe(4);
    expect(editDistance('crawl', 'scrape')).toBe(3); // s+, w→p, l→e
  });
});

describe('closest', () => {
  it('suggests the command a typo was meant to be', () => {
    expect(closest('pnig', COMMANDS)).toBe('ping');
    expect(closest('kegen', COMMANDS)).toBe('keygen');
    expect(closest('findnode', COMMANDS)).toBe('find-node');
    expect(closest('routing shwo', COMMANDS)).toBe('routing show');
    expect(closest('rooting', COMMANDS)).toBe('routing');
    expect(closest('SCRAPE', COMMANDS)).toBe('scrape');
  });

  it('suggests nothing for a word that is not a typo of any command', () => {
    expect(closest('xyz', COMMANDS)).toBeUndefined();
    expect(closest('install', COMMANDS)).toBeUndefined();
    expect(closest('pi', [])).toBeUndefined();
  });

  it('breaks ties alphabetically, whatever the order of the candidates', () => {
    expect(closest('gut', ['put', 'get'])).toBe('get');
    expect(closest('gut', ['get', 'put'])).toBe('get');
  });
});
