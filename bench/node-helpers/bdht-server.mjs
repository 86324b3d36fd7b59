// The baseline server for bench/node.ts: webtorrent's bittorrent-dht, listening on 127.0.0.1,
// its routing table filled with `nodes` contacts at every prefix depth around its own id (as a
// long-running node's table looks), no bootstrap. Reports its own CPU time, answered queries
// and RSS every `statsMs` over IPC, like `bitscrape node --json --stats-every` does on stdout.
import { randomFillSync } from 'node:crypto';
import DHT from 'bittorrent-dht';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const perDepth = cfg.perDepth ?? 8;
const depths = cfg.depths ?? 40;
const statsMs = cfg.statsMs ?? 250;

const dht = new DHT({ bootstrap: false });
let answered = 0;
// Count every reply and error the socket sends, whatever method caused it.
const socket = dht._rpc.socket;
const response = socket.response.bind(socket);
const error = socket.error.bind(socket);
socket.response = (...args) => {
  answered++;
  return response(...args);
};
socket.error = (...args) => {
  answered++;
  return error(...args);
};

/** An id sharing exactly `bits` leading bits with `own`, random after that. */
function idAtDepth(own, bits) {
  const id = randomFillSync(Buffer.alloc(20));
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    id[i >> 3] = (id[i >> 3] & ~mask) | (own[i >> 3] & mask);
  }
  const mask = 0x80 >> (bits & 7);
  id[bits >> 3] = (id[bits >> 3] & ~mask) | (~own[bits >> 3] & mask);
  return id;
}

dht.listen(0, '127.0.0.1', () => {
  const own = dht.nodeId;
  let n = 0;
  for (let d = 0; d < depths; d++) {
    for (let j = 0; j < perDepth; j++) {
      n++;
      dht.addNode({ id: idAtDepth(own, d), host: `127.0.${2 + (n >> 8)}.${n & 0xff || 1}`, port: 10000 + n });
    }
  }
  process.send({ type: 'ready', port: dht.address().port, nodes: dht.toJSON().nodes.length });
  setInterval(() => {
    const cpu = process.cpuUsage();
    process.send({ type: 'stats', uptime_ms: Math.round(performance.now()), answered, cpu_user_us: cpu.user, cpu_system_us: cpu.system, rss_bytes: process.memoryUsage.rss() });
  }, statsMs);
});

process.on('message', (m) => {
  if (m && m.cmd === 'exit') dht.destroy(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
