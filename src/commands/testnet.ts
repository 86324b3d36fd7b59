import { Flags } from '@oclif/core';
import { BaseCommand, durationFlag } from '../cli/base-command.js';
import { formatDuration } from '../cli/duration.js';
import { BadInputError, CliError, quote } from '../cli/errors.js';
import { isLoopback } from '../core/net/address.js';
import { ipFamily } from '../core/wire/ip.js';
import { Testnet, TestnetAborted, writeStateFile, type TestnetState } from '../core/dht/udp-testnet.js';
import { RealClock } from '../core/net/real-clock.js';
import { startProgress } from '../output/progress.js';
import { jsonLine, jsonPretty } from '../output/records.js';

export default class TestnetCommand extends BaseCommand {
  static override summary = 'Run a local DHT of bitscrape nodes on loopback, with known content';
  static override description =
    'Starts N bitscrape nodes in this process, each on its own loopback UDP port, lets them find each other as real nodes do, and announces M infohashes (chosen from --seed) through the DHT from a couple of nodes each. Prints the bootstrap address and a JSON state (nodes, ids, which nodes hold which infohash), then runs until interrupted or --duration has passed. Other bitscrape commands can use it with --bootstrap.';
  static override examples = [
    '<%= config.bin %> testnet --nodes 50 --infohashes 100 --duration 60s &',
    '<%= config.bin %> testnet --nodes 20 --infohashes 5 --state-file /tmp/testnet.json --json',
  ];
  static override flags = {
    nodes: Flags.integer({ char: 'n', description: 'nodes to run (at most 4096)', default: 32, min: 1, max: 4096 }),
    infohashes: Flags.integer({ char: 'i', description: 'infohashes to announce (at most 100000)', default: 16, min: 0, max: 100_000 }),
    announcers: Flags.integer({ description: 'nodes announcing each infohash (at most 64)', default: 2, min: 1, max: 64 }),
    seed: Flags.integer({ description: 'seed for node ids, infohashes and who announces what (0..4294967295: a 32-bit seed)', default: 1, min: 0, max: 0xffff_ffff }),
    host: Flags.string({ description: 'loopback address to bind (127.0.0.1, another 127/8 address, or ::1)', default: '127.0.0.1' }),
    'base-port': Flags.integer({ description: 'first UDP port; nodes take consecutive ports (0: any free ports)', default: 0, min: 0, max: 65535 }),
    duration: durationFlag({ description: 'stop after this long, at most 36525d (default: run until SIGINT/SIGTERM)' }),
    'state-file': Flags.string({ description: 'also write the JSON state to this file (atomically, once the network is ready)' }),
  };

  static override service = true;

  async run(): Promise<void> {
    const { flags } = await this.parse(TestnetCommand);
    if (ipFamily(flags.host) === 0 || !isLoopback(flags.host)) throw new BadInputError(`--host: ${quote(flags.host)} is not a loopback IP address`);
    if (flags['base-port'] !== 0 && flags['base-port'] + flags.nodes - 1 > 65535) {
      throw new BadInputError(`--base-port: ${flags.nodes} ports from ${flags['base-port']} run past 65535`);
    }

    // A signal during the start-up stops it (the nodes started so far are closed); after it, the network.
    const signal = this.stopSignal();
    let wake: (() => void) | null = null;
    const onSignal = (): void => wake?.();
    signal.addEventListener('abort', onSignal, { once: true });

    const started = Date.now();
    const progress = flags.json ? startProgress('', false) : startProgress(`starting ${flags.nodes} nodes`);
    let net: Testnet;
    try {
      net = await Testnet.start({
        nodes: flags.nodes,
        infohashes: flags.infohashes,
        announcersPerInfohash: flags.announcers,
        seed: flags.seed,
        host: flags.host,
        basePort: flags['base-port'],
        onProgress: (t) => progress.update(t),
        signal,
      });
    } catch (err) {
      progress.stop();
      signal.removeEventListener('abort', onSignal);
      if (err instanceof TestnetAborted) {
        this.note(`testnet: stopped by ${this.stoppedBySignal ?? 'a signal'} during start-up, after ${formatDuration(Date.now() - started)}`);
        return; // the base command exits 0 (a service)
      }
      throw new CliError(`testnet: ${(err as Error).message}`, 2);
    }
    progress.stop();
    const readyMs = Date.now() - started;

    try {
      const state: TestnetState & { pid: number } = { ...net.state(), pid: process.pid };
      if (flags['state-file']) {
        try {
          await writeStateFile(flags['state-file'], state);
        } catch (err) {
          throw new CliError(`cannot write --state-file ${flags['state-file']}: ${(err as Error).message}`, 2);
        }
      }
      // stdout carries the state only; a reader that goes away (`| head -1`) does not stop the network.
      if (flags.json) this.stdout.record({ ...state });
      else {
        const holders = state.infohashes.reduce((n, ih) => n + ih.holders.length, 0);
        this.note(
          `testnet: ${state.nodes.length} nodes ready in ${formatDuration(readyMs)}; bootstrap ${state.bootstrap}; ` +
            `${state.infohashes.length} infohashes held ${holders} times; ` +
            (flags.duration ? `stopping after ${formatDuration(flags.duration)} or on Ctrl-C` : 'Ctrl-C stops it'),
        );
        this.stdout.text(jsonPretty(state) + '\n');
      }

      if (!signal.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          // An unref'd clock timer (the clock chains Node's 2^31 ms timers): the nodes' sockets
          // are what keeps the process running meanwhile.
          if (flags.duration) new RealClock().setTimeout(resolve, flags.duration);
        });
      }
    } finally {
      const stats = net.stats();
      await net.close();
      signal.removeEventListener('abort', onSignal);
      const summary = { summary: 'testnet', ...stats, reason: this.stoppedBySignal ?? 'duration', elapsed_ms: Date.now() - started };
      if (flags.json) this.note(jsonLine(summary));
      else {
        this.note(
          `testnet: stopped (${summary.reason}) after ${formatDuration(summary.elapsed_ms)}; answered ${stats.queries_received} queries, ` +
            `${stats.peers_stored} peers stored, tables ${stats.table_nodes_min}-${stats.table_nodes_max} nodes`,
        );
      }
    }
  }
}
