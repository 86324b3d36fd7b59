// A fingerprint of what each plugin strategy asks for on a small simulated world (virtual time,
// seeded, so a run repeats exactly): the SHA-256 of its task stream (method, endpoint, target of
// every query, in order), over the whole keyspace and over one range. Equal hashes before and
// after a refactor show it changed no behaviour.
//
// Run: npx tsx scripts/strategy-task-stream.ts
import { createHash } from 'node:crypto';
import { attachCrawler, createTestnet, driveCrawl } from '../src/core/crawl/sim-crawl.js';
import { createCrawl } from '../src/core/crawl/create-crawl.js';
import type { KeyRange, Strategy, StrategyDefinition } from '../src/core/crawl/strategy.js';
import { STRATEGY_API_VERSION, type StrategiesHook } from '../src/cli/strategy-plugins.js';
import { toHex } from '../src/core/wire/hex.js';

const PLUGINS: Array<{ dir: string; params: Record<string, string> }> = [
  // bounded so the whole-keyspace runs end by themselves
  { dir: 'random-target', params: { rounds: '60' } },
  { dir: 'multi-table', params: { 'tables-total': '24' } },
];
const RANGE: KeyRange = { bits: 2, index: 1 };

/** The strategy, with every task it hands out fed into the hash. */
function recording(strategy: Strategy, hash: ReturnType<typeof createHash>, count: { tasks: number }): Strategy {
  const next = strategy.next.bind(strategy);
  strategy.next = (ctx) => {
    const r = next(ctx);
    if ('task' in r) {
      const t = r.task;
      hash.update(`${t.method} ${t.node.host}|${t.node.port} ${toHex(t.target)}\n`);
      count.tasks++;
    }
    return r;
  };
  return strategy;
}

async function stream(def: StrategyDefinition, params: Record<string, string>, range?: KeyRange): Promise<string> {
  const net = createTestnet({ nodes: 2000, infohashes: 4000, seed: 41 });
  const node = attachCrawler(net, { seed: 9 });
  const hash = createHash('sha256');
  const count = { tasks: 0 };
  const strategy = recording(def.create({ concurrency: 16, params, ...(range ? { range } : {}) }), hash, count);
  const crawl = createCrawl({ node, strategy, concurrency: 16, seed: 17 });
  const summary = await driveCrawl(net, crawl, 6 * 3600_000);
  await net.world.close();
  return `${hash.digest('hex').slice(0, 16)} tasks=${count.tasks} infohashes=${summary.unique_infohashes} stopped_by=${summary.stopped_by}`;
}

for (const { dir, params } of PLUGINS) {
  const hook = (await import(new URL(`../plugins/${dir}/lib/hooks/strategies.js`, import.meta.url).href)) as { default: StrategiesHook };
  const [def] = await hook.default({ api: STRATEGY_API_VERSION });
  console.log(`${def.name} whole: ${await stream(def, params)}`);
  console.log(`${def.name} range ${RANGE.index}/${2 ** RANGE.bits}: ${await stream(def, {}, RANGE)}`);
}
