import { Flags } from '@oclif/core';
import { durationFlag, BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession, type DhtSession } from '../cli/dht-session.js';
import { formatDuration } from '../cli/duration.js';
import { BadInputError, quote } from '../cli/errors.js';
import { generateSecureId } from '../core/dht/secure-id.js';
import { createFullNode, secureIdChange, type FullNode, type FullNodeStores } from '../core/dht/full-node.js';
import { idFromHex, idToHex } from '../core/dht/node-id.js';
import { DEFAULT_INBOUND_RATE, DEFAULT_SAMPLE_INTERVAL_S, type InfohashKind } from '../core/dht/responder.js';
import { loopbackOnlyFromEnv } from '../core/net/address.js';
import { ipFamily } from '../core/wire/ip.js';
import type { Endpoint } from '../core/net/krpc-types.js';
import { repeat } from '../core/net/clock.js';
import { RealClock } from '../core/net/real-clock.js';
import { address, jsonLine } from '../output/records.js';
import { createMetrics } from '../output/metrics.js';
import { humanNodeStats, nodeStatsRecord } from '../output/node-stats.js';
import { metricsFlag, parseMetricsAddress, serveMetrics, type MetricsServer } from '../cli/metrics-server.js';

/** --inbound-rate ceiling: more than one process answers anyway; 0 turns the limit off. */
const MAX_INBOUND_RATE = 1_000_000;

/** Distinct infohashes remembered for the `infohashes_distinct` figure. */
const DISTINCT_CAP = 100_000;

type StopReason = 'signal' | 'duration' | 'stdout closed' | 'id change';

/** One stop signal for the whole run, whatever raises it; an id change is the only one undone. */
class StopController {
  reason: StopReason | null = null;
  private waiters: Array<() => void> = [];

  stop(reason: StopReason): void {
    if (this.reason === null || this.reason === 'id change') this.reason = reason;
    for (const w of this.waiters.splice(0)) w();
  }

  wait(): Promise<void> {
    if (this.reason !== null) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** After restarting for an id change. */
  reset(): void {
    if (this.reason === 'id change') this.reason = null;
  }
}

export default class Node extends BaseCommand {
  static override summary = 'Run a long-lived DHT node';
  static override description =
    'Answers every DHT query (ping, find_node, get_peers, announce_peer, sample_infohashes), keeps its routing table fresh and saves it (periodically and on exit), and reports every info-hash seen in incoming get_peers / announce_peer. Stats on stderr every --stats-every; with --json, NDJSON events on stdout. SIGINT / SIGTERM: save the table, print a summary, exit 0.';
  static override examples = [
    '<%= config.bin %> node',
    '<%= config.bin %> node --port 6881 --json > events.ndjson',
    '<%= config.bin %> node --bind 0.0.0.0 --bind :: --id-from-ip --external-ip 198.51.100.7',
    '<%= config.bin %> node --bootstrap 127.0.0.1:7000 --duration 10m --stats-every 1m',
  ];
  static override flags = {
    ...dhtFlags,
    port: Flags.integer({ description: 'UDP port to listen on (0 = any free port)', default: 6881, min: 0, max: 65535 }),
    id: Flags.string({ description: 'our node id, 40 hex digits (default: the routing file’s, else random)', exclusive: ['id-from-ip'] }),
    'id-from-ip': Flags.boolean({
      description: 'BEP 42: an id derived from our external IP — from --external-ip at start, else from what other nodes report (then the node restarts under the new id)',
    }),
    'external-ip': Flags.string({ description: 'our public IP address, for --id-from-ip', dependsOn: ['id-from-ip'] }),
    'sample-interval': durationFlag({
      description: 'BEP 51 interval advertised in sample_infohashes replies, whole seconds (0: crawlers need not wait; at most 6h)',
      default: DEFAULT_SAMPLE_INTERVAL_S * 1000,
      zero: 'crawlers need not wait',
      max: DEFAULT_SAMPLE_INTERVAL_S * 1000,
      maxText: '6h (BEP 51)',
      wholeSeconds: true,
    }),
    'inbound-rate': Flags.integer({
      description: `queries per second accepted from one source, burst 5x (0 = no limit; at most ${MAX_INBOUND_RATE})`,
      default: DEFAULT_INBOUND_RATE.ratePerSec,
      min: 0,
      max: MAX_INBOUND_RATE,
    }),
    infohashes: Flags.boolean({
      description: 'with --json, one event per info-hash seen in get_peers / announce_peer (--no-infohashes: count them only)',
      default: true,
      allowNo: true,
    }),
    duration: durationFlag({ description: 'stop after this long, at most 36525d (default: run until interrupted)' }),
    'stats-every': durationFlag({ description: 'how often to report stats (0: off, only the final summary; at most 36525d)', default: 30_000, zero: 'off' }),
    'save-every': durationFlag({ description: 'how often to save the routing table (0: off, only on exit; at most 36525d)', default: 10 * 60_000, zero: 'off' }),
    metrics: metricsFlag,
  };

  static override service = true;

  private infohashEvents = 0;
  private readonly distinct = new Set<string>();
  private readonly startedAt = Date.now();
  /** The session being served (a new one after an id change), for the metrics endpoint. */
  private live: FullNode | null = null;
  private metricsUrl: string | undefined;

  async run(): Promise<void> {
    const { flags } = await this.parse(Node);
    let id = this.initialId(flags);
    const sampleIntervalS = flags['sample-interval'] / 1000;

    const metricsAt = flags.metrics === undefined ? undefined : parseMetricsAddress(flags.metrics);

    const stop = new StopController();
    const signal = this.stopSignal();
    const onSignal = (): void => stop.stop('signal');
    if (signal.aborted) onSignal();
    else signal.addEventListener('abort', onSignal, { once: true });
    this.stdout.on('closed', () => stop.stop('stdout closed'));
    const clock = new RealClock();
    const durationTimer = flags.duration !== undefined ? clock.setTimeout(() => stop.stop('duration'), flags.duration) : null;

    // Kept across an id change: stored peers, BEP 44 items and tokens do not depend on our id.
    let stores: FullNodeStores | undefined;
    let port = flags.port;
    let summary: Record<string, unknown> = {};
    let metricsServer: MetricsServer | undefined;
    try {
      if (metricsAt) {
        const metrics = createMetrics({
          engine: () => this.live?.client.engine.counters,
          responder: () => this.live?.responder.counters,
          routing: () => this.live?.client.table.stats(),
          infohashes: () => this.distinct.size,
        });
        metricsServer = await serveMetrics(metrics, metricsAt);
        this.metricsUrl = `http://${metricsServer.address}/metrics`;
      }
      for (;;) {
        const session = await openSession(
          { ...flags, port },
          {
            readOnly: false,
            tolerateBadRoutingFile: true,
            ...(id ? { id } : {}),
            // Alone on loopback (the first node of a local network) there is nobody to ask.
            needsBootstrap: !(loopbackOnlyFromEnv() && (flags.bootstrap ?? []).length === 0),
          },
        );
        // Restart on the same port after an id change, even when it was picked at random.
        port = session.transport.endpoints[0]?.port ?? port;
        const result = await this.serve(session, flags, stores, sampleIntervalS, stop);
        summary = result.summary;
        stores = result.stores;
        if (stop.reason === 'id change' && result.newId) {
          id = result.newId;
          if (flags.json) this.stdout.offer({ event: 'id_changed', id: idToHex(id), external_ip: result.externalIp ?? null });
          else this.note(`node: external IP ${result.externalIp}; restarting with BEP 42 id ${idToHex(id)}`);
          stop.reset();
          continue;
        }
        break;
      }
    } finally {
      signal.removeEventListener('abort', onSignal);
      if (durationTimer) clock.clearTimeout(durationTimer);
      await metricsServer?.close();
    }
    const final = { summary: 'node', reason: stop.reason ?? 'stopped', ...summary };
    if (flags.json) this.note(jsonLine(final));
    else this.note(`node: stopped (${final.reason}) after ${formatDuration(Date.now() - this.startedAt)}; ${humanNodeStats(summary)}`);
  }

  private initialId(flags: { id?: string; 'id-from-ip': boolean; 'external-ip'?: string }): Uint8Array | undefined {
    if (flags.id !== undefined) {
      const parsed = idFromHex(flags.id);
      if (!parsed.ok) throw new BadInputError(`--id: ${parsed.error}`);
      return parsed.value;
    }
    if (flags['id-from-ip'] && flags['external-ip'] !== undefined) {
      if (ipFamily(flags['external-ip']) === 0) throw new BadInputError(`--external-ip: ${quote(flags['external-ip'])} is not an IP address`);
      return generateSecureId(flags['external-ip']);
    }
    return undefined;
  }

  /** Runs one session until `stop` fires; returns its final stats, its stores (and a new id on an id change). */
  private async serve(
    session: DhtSession,
    flags: { json: boolean; infohashes: boolean; 'stats-every': number; 'save-every': number; 'inbound-rate': number; 'id-from-ip': boolean; 'external-ip'?: string },
    stores: FullNodeStores | undefined,
    sampleIntervalS: number,
    stop: StopController,
  ): Promise<{ summary: Record<string, unknown>; stores: FullNodeStores; newId?: Uint8Array; externalIp?: string }> {
    const { node, clock } = session;
    const json = flags.json;
    const events = json && flags.infohashes;
    const inboundRate = flags['inbound-rate'];
    const full = createFullNode({
      client: node,
      policy: session.policy,
      ...stores,
      responder: {
        sampleIntervalS,
        inboundRate: inboundRate === 0 ? false : { ratePerSec: inboundRate, burst: inboundRate * 5 },
        onInfohash: (ih, kind, from) => this.onInfohash(events, ih, kind, from),
      },
      service: {
        save: session.routingFile ? () => session.save() : undefined,
        // --save-every 0: only on exit
        saveEveryMs: flags['save-every'] === 0 ? Infinity : flags['save-every'],
        onEvent: (e) => {
          if (e.type === 'save_failed') this.note(`node: warning: ${e.error}`);
        },
      },
    });
    const stats = (): Record<string, unknown> =>
      nodeStatsRecord(full, {
        uptimeMs: Date.now() - this.startedAt,
        infohashesSeen: this.infohashEvents,
        infohashesDistinct: this.distinct.size,
        eventsDropped: this.stdout.dropped,
        cpu: process.cpuUsage(),
        rssBytes: process.memoryUsage.rss(),
      });
    this.live = full;

    const addresses = session.transport.endpoints.map((e) => address(e));
    if (json) {
      this.stdout.offer({
        event: 'started',
        id: idToHex(node.table.id),
        addresses,
        routing_file: session.routingFile,
        restored: session.restored,
        ...(this.metricsUrl ? { metrics: this.metricsUrl } : {}),
        at: new Date().toISOString(),
      });
    } else {
      this.note(`node: id ${idToHex(node.table.id)} listening on ${addresses.join(', ')}${session.restored ? `; ${session.restored} nodes restored` : ''}`);
      if (this.metricsUrl) this.note(`node: metrics at ${this.metricsUrl}`);
    }

    // On the clock, not setInterval: Node runs a period of 2^31 ms or more every millisecond.
    // --stats-every 0: off
    const stopStats = flags['stats-every'] === 0 ? () => undefined : repeat(clock, flags['stats-every'], () => {
      if (json) this.stdout.offer({ event: 'stats', ...stats() });
      else this.note(`node: ${humanNodeStats(stats())}`);
    });

    // --id-from-ip without --external-ip: wait for the voters (BEP 42 `ip` of replies) to agree.
    let idChange: { id: Uint8Array; ip: string } | null = null;
    const idTimer =
      flags['id-from-ip'] && flags['external-ip'] === undefined
        ? setInterval(() => {
            if (idChange) return;
            idChange = secureIdChange(node);
            if (idChange) stop.stop('id change');
          }, 5000)
        : null;

    try {
      const bootstrap = full.service.start().then((result) => {
        const rec = { event: 'bootstrapped', nodes: node.table.size, queries: result.stats.queries, replies: result.stats.replies, ms: result.stats.ms };
        if (json) this.stdout.offer(rec);
        else this.note(`node: bootstrapped, ${rec.nodes} nodes in the table (${rec.replies}/${rec.queries} queries answered in ${formatDuration(rec.ms)})`);
      });
      bootstrap.catch(() => undefined);
      await stop.wait();
    } finally {
      stopStats();
      if (idTimer) clearInterval(idTimer);
      await full.stop();
      await session.close({ save: true });
    }
    const summary = stats();
    const kept = { peers: full.peers, items: full.items, tokens: full.tokens };
    const change = idChange as { id: Uint8Array; ip: string } | null;
    return change ? { summary, stores: kept, newId: change.id, externalIp: change.ip } : { summary, stores: kept };
  }

  private onInfohash(json: boolean, ih: Uint8Array, kind: InfohashKind, from: Endpoint): void {
    this.infohashEvents++;
    const hex = idToHex(ih);
    if (this.distinct.size < DISTINCT_CAP) this.distinct.add(hex);
    if (json) this.stdout.offer({ event: 'infohash', infohash: hex, kind, from: address(from), at: new Date().toISOString() });
  }
}
