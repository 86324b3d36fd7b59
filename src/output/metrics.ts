// Prometheus metrics of a running node or crawl. The values are read from the counters the engine,
// responder and routing table already keep, when the endpoint is scraped: nothing on the packet
// path changes, and a run without --metrics pays nothing. Names: docs/output.md, "Metrics".
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KrpcCounters } from '../core/net/krpc-types.js';
import type { ResponderCounters } from '../core/dht/responder.js';
import type { RoutingStats } from '../core/dht/routing-table.js';
import type { CrawlStats } from '../core/crawl/types.js';

export interface MetricsSources {
  /** Queries we sent and their outcomes; datagrams received and dropped. */
  /** Each source may answer undefined (not started yet): its metrics are left out of that scrape. */
  engine?: () => KrpcCounters | undefined;
  /** Queries answered (a node). */
  responder?: () => ResponderCounters | undefined;
  routing?: () => RoutingStats | undefined;
  /** Infohashes found so far: distinct ones seen (node) or found (crawl). */
  infohashes?: () => number;
  /** Of those, new to the database (crawl with --db). */
  infohashesNew?: () => number;
  /** Metadata fetches by result ("ok", "failed"). */
  metadata?: () => Record<string, number>;
  /** A crawl's statistics (its progress, window, what it waits for). */
  crawl?: () => CrawlStats | undefined;
}

export interface Metrics {
  registry: Registry;
  /** Seconds one batch write to the database took (a crawl's store writer calls it). */
  observeStoreWrite(seconds: number): void;
}

/** A counter set from a live total at scrape time (a counter never goes down: totals only grow). */
function liveCounter(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (value: number, labels?: Record<string, string>) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((value, labels) => {
        if (value > 0) (labels ? this.inc(labels, value) : this.inc(value));
        else if (!labels) this.inc(0);
      });
    },
  });
}

function liveGauge(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (value: number, labels?: Record<string, string>) => void) => void): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((value, labels) => (labels ? this.set(labels, value) : this.set(value)));
    },
  });
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({});
  collectDefaultMetrics({ register: registry, prefix: 'bitscrape_' });
  const { engine, responder, routing, infohashes, infohashesNew, metadata, crawl } = sources;
  if (crawl) {
    liveGauge(registry, 'bitscrape_crawl_progress', 'The crawl pass, 0..1', [], (set) => set(crawl()?.progress ?? 0));
    liveCounter(registry, 'bitscrape_crawl_queries_total', 'Queries the crawl sent', [], (set) => set(crawl()?.queries_sent ?? 0));
    liveCounter(registry, 'bitscrape_crawl_nodes_queried_total', 'Distinct nodes the crawl asked', [], (set) => set(crawl()?.nodes_queried ?? 0));
    liveCounter(registry, 'bitscrape_crawl_nodes_sampled_total', 'Nodes that answered sample_infohashes', [], (set) => set(crawl()?.nodes_answered_sample ?? 0));
    liveCounter(registry, 'bitscrape_crawl_failures_total', 'Crawl queries that failed, by kind', ['kind'], (set) => {
      for (const [kind, n] of Object.entries(crawl()?.failures ?? {})) set(n, { kind });
    });
    liveGauge(registry, 'bitscrape_crawl_in_flight', 'Crawl queries in flight', [], (set) => set(crawl()?.in_flight ?? 0));
    liveGauge(registry, 'bitscrape_crawl_window', 'The concurrency window (query slots the crawl may use now)', [], (set) => set(crawl()?.pacing.window ?? 0));
    liveGauge(registry, 'bitscrape_crawl_timeout_seconds', 'The adaptive query timeout', [], (set) => set((crawl()?.pacing.timeout_ms ?? 0) / 1000));
    liveGauge(registry, 'bitscrape_crawl_waiting_nodes', 'Nodes the crawl waits for (BEP 51 intervals) after its sweep', [], (set) => set(crawl()?.waiting?.nodes ?? 0));
  }
  if (engine) {
    liveCounter(registry, 'bitscrape_queries_sent_total', 'KRPC queries sent, by method', ['method'], (set) => {
      for (const [method, m] of Object.entries(engine()?.byMethod ?? {})) set(m.sent, { method });
    });
    liveCounter(registry, 'bitscrape_replies_total', 'Replies received to our queries, by method and result (ok, error, timeout)', ['method', 'result'], (set) => {
      for (const [method, m] of Object.entries(engine()?.byMethod ?? {})) {
        set(m.ok, { method, result: 'ok' });
        set(m.error, { method, result: 'error' });
        set(m.timeout, { method, result: 'timeout' });
      }
    });
    liveCounter(registry, 'bitscrape_timeouts_total', 'Queries we sent that got no reply in time', [], (set) => set(engine()?.timeouts ?? 0));
    liveCounter(registry, 'bitscrape_datagrams_received_total', 'UDP datagrams received', [], (set) => set(engine()?.received ?? 0));
    liveCounter(registry, 'bitscrape_datagrams_malformed_total', 'Datagrams dropped as malformed (not valid KRPC)', [], (set) => set(engine()?.malformed ?? 0));
  }
  if (responder) {
    liveCounter(registry, 'bitscrape_queries_received_total', 'KRPC queries received, by method', ['method'], (set) => {
      for (const [method, m] of Object.entries(responder()?.byMethod ?? {})) set(m.received, { method });
    });
    liveCounter(registry, 'bitscrape_queries_answered_total', 'Queries answered (replies and error replies)', [], (set) => set(responder()?.answered ?? 0));
    liveCounter(registry, 'bitscrape_queries_rate_limited_total', 'Queries dropped by the per-source limit (the sender is over its rate)', [], (set) => set(responder()?.rateLimited ?? 0));
    liveCounter(registry, 'bitscrape_queries_refused_total', 'Queries from bogon sources or port 0, never answered', [], (set) => set(responder()?.refused ?? 0));
  }
  if (routing) {
    liveGauge(registry, 'bitscrape_routing_table_nodes', 'Nodes in the routing table, by state', ['state'], (set) => {
      const r = routing();
      if (!r) return;
      set(r.good, { state: 'good' });
      set(r.questionable, { state: 'questionable' });
      set(r.bad, { state: 'bad' });
    });
    liveGauge(registry, 'bitscrape_routing_table_buckets', 'Buckets in the routing table', [], (set) => set(routing()?.buckets ?? 0));
  }
  if (infohashes) liveCounter(registry, 'bitscrape_infohashes_found_total', 'Distinct infohashes found by this run', [], (set) => set(infohashes()));
  if (infohashesNew) liveCounter(registry, 'bitscrape_infohashes_new_total', 'Infohashes found by this run that were new to the database', [], (set) => set(infohashesNew()));
  if (metadata) {
    liveCounter(registry, 'bitscrape_metadata_fetches_total', 'BEP 9 metadata fetches, by result', ['result'], (set) => {
      for (const [result, n] of Object.entries(metadata())) set(n, { result });
    });
  }
  const storeWrites = new Histogram({
    name: 'bitscrape_store_write_seconds',
    help: 'Time one batch write to the database took',
    buckets: [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3],
    registers: [registry],
  });
  return { registry, observeStoreWrite: (s) => storeWrites.observe(s) };
}
