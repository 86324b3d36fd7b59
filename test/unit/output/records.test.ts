// How numbers are shaped in every record and summary, and which summary fields are left out.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CrawlSummary } from '../../../src/core/crawl/types.js';
import { crawlSummaryPairs, crawlSummaryRecord } from '../../../src/output/crawl-records.js';
import { jsonLine, jsonPretty, roundMs, roundNumber } from '../../../src/output/records.js';
import { StdoutWriter } from '../../../src/output/stdout.js';
import { renderKeyValues } from '../../../src/output/table.js';

describe('number rounding', () => {
  it('keeps integers, gives milliseconds 2 decimals and other numbers 4 significant digits (at least 2 decimals)', () => {
    expect(roundMs(60210.279541015625)).toBe(60210.28);
    expect(roundMs(2.6571)).toBe(2.66);
    expect(roundMs(1234)).toBe(1234);
    expect(roundNumber(0.6523809523809524)).toBe(0.6524);
    expect(roundNumber(0.000123456)).toBe(0.0001235);
    expect(roundNumber(1.3973)).toBe(1.397);
    expect(roundNumber(12.3456)).toBe(12.35);
    expect(roundNumber(1234.5678)).toBe(1234.57);
    expect(roundNumber(7806)).toBe(7806);
    expect(roundNumber(-0.333333)).toBe(-0.3333);
    expect(roundNumber(Infinity)).toBe(Infinity);
  });

  it('applies the rule by field everywhere in a JSON line, nested objects and arrays included', () => {
    const rec = {
      duration_ms: 60210.279541015625,
      rtt_ms: 2.6571,
      ms: 10.0049,
      bep51_rate: 0.6523809523809524,
      count: 3,
      memory: { traversal_bytes_per_visited_node: 185.91637630662022 },
      nodes: [{ rtt_ms: 1.23456 }],
      recall: [0.99996, 1 / 3],
    };
    const line = jsonLine(rec);
    expect(JSON.parse(line)).toEqual({
      duration_ms: 60210.28,
      rtt_ms: 2.66,
      ms: 10,
      bep51_rate: 0.6524,
      count: 3,
      memory: { traversal_bytes_per_visited_node: 185.92 },
      nodes: [{ rtt_ms: 1.23 }],
      recall: [1, 0.3333],
    });
    expect(JSON.parse(jsonPretty(rec))).toEqual(JSON.parse(line));
  });

  it('commands serialise JSON only through jsonLine / jsonPretty / StdoutWriter.record (so nothing skips the rounding)', () => {
    const dir = join(import.meta.dirname, '..', '..', '..', 'src', 'commands');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => readFileSync(join(dir, f), 'utf8').includes('JSON.stringify('));
    expect(offenders).toEqual([]);
  });

  it('StdoutWriter.record writes records with rounded numbers', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const writer = new StdoutWriter(out as unknown as NodeJS.WriteStream);
    writer.record({ duration_ms: 60210.279541015625, ratio: 2 / 3 });
    expect(text).toBe('{"duration_ms":60210.28,"ratio":0.6667}\n');
  });
});

function summary(over: Partial<CrawlSummary>): CrawlSummary {
  return {
    strategy: 'keyspace',
    nodes_seen: 10,
    nodes_queried: 10,
    nodes_answered: 0,
    nodes_answered_sample: 0,
    bep51_rate: null,
    clients: {},
    unique_infohashes: 5,
    new_infohashes: null,
    queries_sent: 20,
    queries_per_new_infohash: 4,
    in_flight: 0,
    failures: { timeout: 0, error: 0, unsupported: 0, bad_reply: 0, id_mismatch: 0, refused: 0 },
    interval_skips: 0,
    sanitizer: { bogons: 0, bans: 0, banned_skips: 0, unreachable_skips: 0, throttled: 0, id_mismatches: 0 },
    progress: 0.5,
    duration_ms: 1000,
    memory: { traversal_bytes: 100, traversal_bytes_per_visited_node: null, dedup_bytes: 0, engine_bytes: 0 },
    pacing: { rate_limit_per_s: 1000, queries_per_s: 20, window: 32, window_max: 512, timeout_ms: 2000, hard_timeout_ms: 2000, rtt_p50_ms: null, rtt_p90_ms: null, stalled: 0, late_replies: 0, waiting_late: 0 },
    waiting: null,
    stopped_by: 'duration',
    resumed: false,
    state_saved: true,
    ...over,
  };
}

describe('crawl summary', () => {
  it('leaves out what has no meaning in the run instead of null or "-"', () => {
    const noDb = crawlSummaryRecord(summary({}), false);
    for (const key of ['new_infohashes', 'queries_per_new_infohash', 'bep51_rate']) expect(noDb).not.toHaveProperty(key);
    expect(noDb.memory).not.toHaveProperty('traversal_bytes_per_visited_node');
    expect(Object.values(noDb)).not.toContain(null);
    const human = renderKeyValues(crawlSummaryPairs(summary({})), { width: Infinity });
    expect(human).not.toMatch(/new to the database|queries per new infohash|BEP 51 support rate|clients/);
    expect(human).not.toMatch(/ -$/m);

    const withDb = crawlSummaryRecord(summary({ new_infohashes: 5, bep51_rate: 0.5, memory: { traversal_bytes: 100, traversal_bytes_per_visited_node: 10, dedup_bytes: 0, engine_bytes: 0 } }), true);
    expect(withDb).toMatchObject({ new_infohashes: 5, queries_per_new_infohash: 4, bep51_rate: 0.5, memory: { traversal_bytes_per_visited_node: 10 } });
    expect(Object.keys(withDb).slice(0, 6)).toEqual(['strategy', 'nodes_seen', 'nodes_queried', 'nodes_answered', 'nodes_answered_sample', 'bep51_rate']);
    expect(renderKeyValues(crawlSummaryPairs(summary({ new_infohashes: 5 })), { width: Infinity })).toMatch(/^queries per new infohash +4$/m);
  });
});
