import { runTestnetCrawl } from '../src/core/crawl/testnet.ts';
let t = Date.now();
const alone = await runTestnetCrawl({ nodes: 3000, seed: 5, strategy: 'keyspace', concurrency: 64 });
console.log('alone', Date.now() - t, alone.virtual_ms, alone.recall.infohash_recall);
t = Date.now();
const r = await runTestnetCrawl({ nodes: 3000, seed: 5, strategy: 'keyspace', concurrency: 64, range: { bits: 4, index: 3 } });
console.log('range', Date.now() - t, r.virtual_ms, r.summary.stopped_by, r.summary.unique_infohashes, r.summary.queries_sent);
