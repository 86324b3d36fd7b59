#!/usr/bin/python3
"""One libtorrent DHT session whose only bootstrap contact is a bitscrape node, for
test/interop/responder.test.ts. It reports, as one JSON line on stdout, what libtorrent learnt
through that node and what it exchanged with it:

    lt_via_node.py --node 127.0.0.1:PORT --lookup HEX40 --announce HEX40 [--seconds 60]

1. waits until its routing table holds --min-nodes nodes (it knew only our node at start);
2. dht_get_peers(--lookup): the peers libtorrent's own lookup finds (through the network it
   reached via our node);
3. announces --announce (a magnet-only torrent): pick an info-hash close to our node's id, so
   our node is among the 8 closest and receives libtorrent's announce_peer (with our token);
4. dht_sample_infohashes to our node: libtorrent's own parse of our BEP 51 reply;
5. every KRPC packet to and from our node (dht_pkt_alert), tallied by method and by reply kind.

Loopback only. Exit status: 0 with the report, 3 if libtorrent is missing, 5 on a timeout of a
step (the report is still printed, with "error").
"""
import argparse
import json
import tempfile
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import krpc_probe as probe  # noqa: E402

try:
    import libtorrent as lt
except ImportError:
    print("libtorrent is not importable by %s: install python3-libtorrent" % sys.executable, file=sys.stderr)
    sys.exit(3)


def parse_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--node", required=True, help="our node, 127.0.0.1:PORT")
    p.add_argument("--lookup", required=True, help="info-hash to look up through the network")
    p.add_argument("--announce", required=True, help="info-hash to announce (close to our node id)")
    p.add_argument("--min-nodes", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60)
    return p.parse_args(argv)


class Session:
    def __init__(self, node_host, node_port):
        alerts = lt.alert.category_t
        self.node = (node_host, node_port)
        self.s = lt.session({
            "listen_interfaces": "127.0.0.1:0",
            "outgoing_interfaces": "",
            "enable_dht": True,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "dht_bootstrap_nodes": "%s:%d" % self.node,
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_block_ratelimit": 1000000,
            "dht_block_timeout": 1,
            "dht_upload_rate_limit": 100000000,
            "dht_enforce_node_id": False,
            "dht_prefer_verified_node_ids": False,
            "dht_ignore_dark_internet": False,
            "dht_read_only": False,
            "dht_aggressive_lookups": True,
            "alert_mask": int(alerts.dht_notification | alerts.dht_operation_notification | alerts.dht_log_notification
                              | alerts.error_notification | alerts.status_notification),
            "alert_queue_size": 100000,
        })
        self.table_size = 0
        self.peers = {}  # info-hash hex -> set of "host:port"
        self.samples = None
        self.sent = {}  # method -> queries libtorrent sent to our node
        self.replies = {}  # method -> replies (y=r) from our node
        self.errors = {}  # method -> error replies (y=e) from our node
        self.queries_from_node = {}  # method -> queries our node sent to libtorrent
        self.pending = {}  # t -> method, for libtorrent's queries to our node
        self.bootstrapped = False

    def pump(self, wait=0.1):
        self.s.wait_for_alert(int(wait * 1000))
        for a in self.s.pop_alerts():
            if isinstance(a, lt.dht_stats_alert):
                self.table_size = sum(b["num_nodes"] for b in a.routing_table)
            elif isinstance(a, lt.dht_bootstrap_alert):
                self.bootstrapped = True
            elif isinstance(a, lt.dht_get_peers_reply_alert):
                key = str(a.info_hash)
                self.peers.setdefault(key, set()).update("%s:%d" % (p[0], p[1]) for p in a.peers())
            elif isinstance(a, lt.dht_sample_infohashes_alert):
                if (a.endpoint[0], a.endpoint[1]) == self.node:
                    self.samples = {
                        "interval_s": int(a.interval.total_seconds()) if hasattr(a.interval, "total_seconds") else int(a.interval),
                        "num_infohashes": a.num_infohashes,
                        "num_samples": a.num_samples,
                        "samples": [str(h) for h in a.samples],
                        "num_nodes": a.num_nodes,
                    }
            elif isinstance(a, lt.dht_pkt_alert):
                self.on_packet(a)

    def on_packet(self, a):
        # The message reads "<== 127.0.0.1:PORT [...]" (incoming) or "==> ..." (outgoing).
        text = a.message()
        endpoint = "%s:%d" % self.node
        if endpoint not in text:
            return
        incoming = text.lstrip().startswith("<==")
        try:
            msg, _ = probe.bdecode(bytes(a.pkt_buf))
        except Exception:
            return
        if not isinstance(msg, dict):
            return
        y = msg.get(b"y")
        t = msg.get(b"t")
        if y == b"q":
            method = (msg.get(b"q") or b"?").decode("latin1")
            if incoming:
                self.queries_from_node[method] = self.queries_from_node.get(method, 0) + 1
            else:
                self.sent[method] = self.sent.get(method, 0) + 1
                self.pending[t] = method
        elif incoming and y in (b"r", b"e"):
            method = self.pending.pop(t, "?")
            tally = self.replies if y == b"r" else self.errors
            tally[method] = tally.get(method, 0) + 1

    def until(self, predicate, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.s.post_dht_stats()
            self.pump()
            if predicate():
                return True
        return False


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    host, port = args.node.rsplit(":", 1)
    if not host.startswith("127."):
        raise SystemExit("loopback only")
    sess = Session(host, int(port))
    report = {"node": args.node}
    started = time.monotonic()
    status = 0
    try:
        left = lambda: max(1.0, args.seconds - (time.monotonic() - started))  # noqa: E731
        if not sess.until(lambda: sess.table_size >= args.min_nodes, min(30, left())):
            raise TimeoutError("routing table reached only %d nodes" % sess.table_size)
        report["table_after_bootstrap"] = sess.table_size

        lookup = lt.sha1_hash(bytes.fromhex(args.lookup))
        sess.s.dht_get_peers(lookup)
        # Replies keep coming while the lookup runs; settle once nothing new arrives for 3 s.
        last, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < 3 and time.monotonic() - started < args.seconds:
            sess.pump(0.2)
            n = len(sess.peers.get(args.lookup, ()))
            if n != last:
                last, last_change = n, time.monotonic()
        report["lookup_peers"] = sorted(sess.peers.get(args.lookup, ()))

        # The binding cannot build dht_announce's flags; a magnet-only torrent makes libtorrent
        # announce the hash on the DHT itself (get_peers to the closest nodes, then announce_peer).
        params = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + args.announce)
        params.save_path = tempfile.mkdtemp(prefix="bitscrape_lt_via_")
        sess.s.add_torrent(params)
        if not sess.until(lambda: sess.replies.get("announce_peer", 0) + sess.errors.get("announce_peer", 0) > 0, min(20, left())):
            raise TimeoutError("libtorrent sent no announce_peer to our node (sent: %r)" % sess.sent)

        sess.s.dht_sample_infohashes((host, int(port)), lt.sha1_hash(bytes.fromhex(args.announce)))
        if not sess.until(lambda: sess.samples is not None, min(10, left())):
            raise TimeoutError("no sample_infohashes reply from our node")
    except TimeoutError as e:
        report["error"] = str(e)
        status = 5
    sess.s.post_dht_stats()
    sess.pump(0.3)
    report.update({
        "table_size": sess.table_size,
        "sample": sess.samples,
        "sent_to_node": sess.sent,
        "replies_from_node": sess.replies,
        "errors_from_node": sess.errors,
        "queries_from_node": sess.queries_from_node,
        "seconds": round(time.monotonic() - started, 2),
    })
    print(json.dumps(report), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
