// Closed-loop KRPC load for bench/node.ts, in a process of its own. `sockets` UDP sockets on
// distinct loopback addresses (127.0.1.x: many hosts, as the public DHT looks to a node), each
// keeping `window` queries in flight: a reply (or a 500 ms loss) sends the next one. Queries are
// pre-encoded; each one gets a fresh 4-byte t and, for find_node / get_peers, a random target.
// Driven over IPC: {cmd:'start', port, mix: 'ping'|'mixed'}, {cmd:'stop'} → {type:'done', ...}.
import dgram from 'node:dgram';
import { randomFillSync } from 'node:crypto';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const SOCKETS = cfg.sockets ?? 16;
const WINDOW = cfg.window ?? 8;
const LOSS_MS = 500;

const T_MARK = Buffer.from('1:t4:');
const TARGETS = randomFillSync(Buffer.alloc(20 * 4096));

function template(id, method, extraKey) {
  const a = extraKey ? `d2:id20:${'I'.repeat(20)}${extraKey.length}:${extraKey}20:${'G'.repeat(20)}e` : `d2:id20:${'I'.repeat(20)}e`;
  const text = `d1:a${a}1:q${method.length}:${method}1:t4:TTTT1:y1:qe`;
  const buf = Buffer.from(text, 'latin1');
  id.copy(buf, buf.indexOf('IIII'));
  return { buf, t: buf.indexOf('TTTT'), target: extraKey ? buf.indexOf('GGGG') : -1 };
}

class Source {
  constructor(index) {
    this.id = randomFillSync(Buffer.alloc(20));
    this.templates = {
      ping: template(this.id, 'ping'),
      find_node: template(this.id, 'find_node', 'target'),
      get_peers: template(this.id, 'get_peers', 'info_hash'),
    };
    this.pending = new Map(); // t -> sent at
    this.socket = dgram.createSocket('udp4');
    this.host = `127.0.1.${index + 1}`;
    this.socket.on('message', (msg) => this.onMessage(msg));
  }
  bind() {
    return new Promise((res, rej) => {
      this.socket.once('error', rej);
      this.socket.bind(0, this.host, () => res());
    });
  }
  onMessage(msg) {
    // Queries from the server (its pings back) are not ours to count.
    if (msg.length < 8 || msg[msg.length - 2] === 0x71 /* y=q */) return;
    const at = msg.lastIndexOf(T_MARK);
    if (at < 0) return;
    const t = msg.readUInt32BE(at + 5);
    if (!this.pending.delete(t)) return;
    stats.answered++;
    if (running) this.sendOne();
  }
  sendOne() {
    const kind = nextKind();
    const tpl = this.templates[kind];
    const buf = Buffer.from(tpl.buf);
    const t = (tCounter = (tCounter + 1) >>> 0);
    buf.writeUInt32BE(t, tpl.t);
    if (tpl.target >= 0) TARGETS.copy(buf, tpl.target, (t & 4095) * 20, (t & 4095) * 20 + 20);
    this.pending.set(t, performance.now());
    stats.sent++;
    this.socket.send(buf, port, '127.0.0.1');
  }
  sweep(now) {
    for (const [t, at] of this.pending) {
      if (now - at < LOSS_MS) continue;
      this.pending.delete(t);
      stats.lost++;
      if (running) this.sendOne();
    }
  }
}

let tCounter = 0;
let port = 0;
let running = false;
let mix = ['ping'];
let mixAt = 0;
let stats = { sent: 0, answered: 0, lost: 0 };
function nextKind() {
  const k = mix[mixAt];
  mixAt = (mixAt + 1) % mix.length;
  return k;
}

const sources = [];
for (let i = 0; i < SOCKETS; i++) sources.push(new Source(i));
await Promise.all(sources.map((s) => s.bind()));
setInterval(() => {
  const now = performance.now();
  for (const s of sources) s.sweep(now);
}, 100).unref();

let startedAt = 0;
process.on('message', (m) => {
  if (m.cmd === 'start') {
    port = m.port;
    mix = m.mix === 'mixed' ? ['ping', 'find_node', 'get_peers'] : ['ping'];
    stats = { sent: 0, answered: 0, lost: 0 };
    for (const s of sources) s.pending.clear();
    running = true;
    startedAt = performance.now();
    for (const s of sources) for (let i = 0; i < WINDOW; i++) s.sendOne();
  } else if (m.cmd === 'stop') {
    running = false;
    const elapsedMs = performance.now() - startedAt;
    // Let the last replies land before reporting.
    setTimeout(() => process.send({ type: 'done', ...stats, elapsedMs }), 200);
  } else if (m.cmd === 'exit') {
    for (const s of sources) s.socket.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
