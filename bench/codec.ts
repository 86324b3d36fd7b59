// Decode rate of a find_node response carrying 8 nodes (plus ip and v, as libtorrent sends it):
// our full decode + validation (decodeMessage), our hot-path scanner (scanKrpc, offsets only),
// our plain bencode decoder, against the `bencode` npm package's decode (no validation at all).
// All contenders decode the same 16384 distinct replies in the same process, in alternating
// rounds after a warm-up; the median round (CPU time) is reported with the ratio against the
// npm package.
import bencode from 'bencode';
import { decode } from '../src/core/wire/bencode.js';
import { encodeNodes } from '../src/core/wire/compact.js';
import { decodeMessage, encodeResponse } from '../src/core/wire/krpc-codec.js';
import { F, scanKrpc } from '../src/core/wire/krpc-view.js';
import type { NodeInfo } from '../src/core/wire/types.js';

export interface CodecBenchRow {
  name: string;
  msgs_per_s: number;
  ns_per_msg: number;
  /** msgs_per_s divided by the npm package's. */
  ratio: number;
}

// Deterministic byte source, so every run decodes the same datagrams.
function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) & 0xff;
  };
}

/** `count` distinct replies (random ids, addresses and t), as datagrams arrive: Buffers. */
function sampleReplies(count: number): Buffer[] {
  const rnd = prng(0x5eed);
  const bytes = (n: number) => Uint8Array.from({ length: n }, rnd);
  const out: Buffer[] = [];
  for (let m = 0; m < count; m++) {
    const nodes: NodeInfo[] = [];
    for (let i = 0; i < 8; i++) {
      nodes.push({ id: bytes(20), host: `${1 + (rnd() % 223)}.${rnd()}.${rnd()}.${rnd()}`, port: 1024 + rnd() * 200, family: 4 });
    }
    const reply = encodeResponse(
      bytes(4),
      { id: bytes(20), nodes: encodeNodes(nodes) },
      { ip: { host: '203.0.113.9', port: 51413, family: 4 }, v: Uint8Array.of(0x4c, 0x54, 0x02, 0x08) },
    );
    out.push(Buffer.from(reply));
  }
  return out;
}

type Contender = { name: string; once: (buf: Buffer) => number };

let sink = 0;

const contenders: Contender[] = [
  {
    name: 'bencode npm decode (no validation)',
    once: (buf) => {
      const m = bencode.decode(buf) as { r: { nodes: Uint8Array } };
      return m.r.nodes.length;
    },
  },
  {
    name: 'decodeMessage (full validation, 8 NodeInfo)',
    once: (buf) => {
      const res = decodeMessage(buf);
      return res.ok && res.value.y === 'r' ? (res.value.r.nodes?.length ?? 0) : -1;
    },
  },
  {
    name: 'bencode decode (ours, objects only)',
    once: (buf) => {
      const res = decode(buf);
      return res.ok ? 1 : 0;
    },
  },
  {
    name: 'scanKrpc (hot path, offsets only)',
    once: (buf) => {
      const view = scanKrpc(buf);
      return view.error === null ? view.length(F.nodes) : -1;
    },
  },
];

// CPU time of this process (user + system), in ms: steadier than wall time on a shared machine.
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function timeRound(c: Contender, msgs: Buffer[], iterations: number): number {
  const mask = msgs.length - 1;
  const start = cpuMs();
  let acc = 0;
  for (let i = 0; i < iterations; i++) acc += c.once(msgs[i & mask]);
  const ms = Math.max(cpuMs() - start, 0.001);
  sink += acc;
  return (iterations / ms) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(rounds = 7, roundMs = 200): Promise<CodecBenchRow[]> {
  // 16384 distinct replies (131072 distinct nodes): no cache of ours can hold them all.
  const msgs = sampleReplies(16384);
  // Sanity: every contender reads the 8 nodes.
  for (const c of contenders) if (c.once(msgs[0]) < 0) throw new Error(`${c.name} failed on the sample`);

  // Warm-up, and pick an iteration count per contender that fills about roundMs of CPU.
  const iterations = new Map<Contender, number>();
  for (const c of contenders) {
    timeRound(c, msgs, 20_000);
    const rate = timeRound(c, msgs, 20_000);
    iterations.set(c, Math.max(1000, Math.round((rate * roundMs) / 1000)));
  }

  // One full collection before the timed rounds, not one per round: a forced GC shrinks the
  // young generation, which then taxes whichever contender allocates most until it grows back.
  // A long-running node runs with a grown young generation.
  (globalThis as { gc?: () => void }).gc?.();
  const rates = new Map<Contender, number[]>(contenders.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so no contender always runs right after the same one.
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) rates.get(c)!.push(timeRound(c, msgs, iterations.get(c)!));
  }

  const baseline = median(rates.get(contenders[0])!);
  const rows: CodecBenchRow[] = contenders.map((c) => {
    const m = median(rates.get(c)!);
    return { name: c.name, msgs_per_s: Math.round(m), ns_per_msg: Math.round(1e9 / m), ratio: m / baseline };
  });

  console.log(
    `find_node response with 8 nodes (~${msgs[0].length} bytes, ${msgs.length} distinct); CPU time, median of ${rounds} rounds of ~${roundMs} ms`,
  );
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'contender'.padEnd(w)}  ${'msgs/s'.padStart(11)}  ${'ns/msg'.padStart(7)}  ${'vs npm'.padStart(7)}`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${r.msgs_per_s.toLocaleString('en-US').padStart(11)}  ${String(r.ns_per_msg).padStart(7)}  ${(r.ratio.toFixed(2) + 'x').padStart(7)}`,
    );
  }
  if (sink === 0.5) console.log(''); // keeps the results observable
  return rows;
}
