#!/usr/bin/python3
"""A loopback-only network of real libtorrent DHT nodes for bitscrape's interop tests.

    /usr/bin/python3 launch_network.py --nodes 20 --base-port 30000 --infohashes 50 \
        --state /tmp/x/state.json [--seeders 1 --leechers 1] [--distinct-ips] [--ipv6]

Node i listens on HOST_i:base-port+i (UDP for the DHT, TCP for BitTorrent), where HOST_i is
127.0.0.1, or 127.0.x.y per node with --distinct-ips. Each info-hash k is announced by
--seeders seeds and --leechers downloaders (nodes k, k+1, ... mod N). Once every info-hash is
stored on --min-holders nodes, the state file is written atomically (write + rename) and
"READY <path>" is printed. Runs until SIGTERM/SIGINT, --seconds, or until its parent dies.

Needs Debian's /usr/bin/python3 with python3-libtorrent. Exit status: 0 after a clean stop,
3 if libtorrent is missing, 4 if a port is taken, 5 if readiness was not reached, 1 otherwise.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import krpc_probe as probe  # noqa: E402

try:
    import libtorrent as lt
except ImportError:
    print("libtorrent is not importable by %s: install python3-libtorrent (Debian) and run with "
          "/usr/bin/python3" % sys.executable, file=sys.stderr)
    sys.exit(3)

STARTED = time.monotonic()


def log(*parts):
    print("[launch %6.2fs]" % (time.monotonic() - STARTED), *parts, file=sys.stderr, flush=True)


class Stop(Exception):
    pass


class Abort(Exception):
    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ addresses


def loopback_hosts(count, distinct):
    """127.0.0.1 for every node, or 127.0.x.y (x.y = 0.1, 0.2, ... skipping .0/.255)."""
    if not distinct:
        return ["127.0.0.1"] * count
    hosts = []
    n = 0
    while len(hosts) < count:
        n += 1
        if n > 0xFFFF:
            raise Abort("too many nodes for distinct loopback addresses")
        if n & 0xFF not in (0, 0xFF):
            hosts.append("127.0.%d.%d" % (n >> 8, n & 0xFF))
    return hosts


def is_bindable(host, port):
    """Nothing listens on host:port (UDP and TCP)? libtorrent binds with SO_REUSEADDR, so a
    clash with another network would otherwise go unnoticed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


# ------------------------------------------------------------------ libtorrent


def session_settings(opts, host, port):
    listen = []
    if not opts.no_ipv4:
        listen.append("%s:%d" % (host, port))
    if opts.ipv6:
        listen.append("[::1]:%d" % port)
    alerts = lt.alert.category_t
    return {
        "listen_interfaces": ",".join(listen),
        "outgoing_interfaces": "",
        "enable_dht": True,
        # nothing leaves the machine: no multicast discovery, no gateway mapping, and no
        # default bootstrap router (which would be resolved and contacted)
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        # many nodes share 127.0.0.1: lift the one-node-per-IP rules and the per-IP ban
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 1000000,
        "dht_block_timeout": 1,
        "dht_upload_rate_limit": 100000000,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "dht_sample_infohashes_interval": opts.sample_interval,
        "dht_max_infohashes_sample_count": opts.max_samples,
        "dht_announce_interval": opts.announce_interval,
        "dht_max_peers_reply": opts.max_peers_reply,
        "dht_read_only": False,
        "dht_aggressive_lookups": True,
        "connections_limit": 50,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": int(alerts.dht_notification | alerts.error_notification | alerts.status_notification),
        "alert_queue_size": 10000,
    }


def test_torrent(k):
    """The same tiny one-piece v1 torrent for index k on every run."""
    payload = b"bitscrape interop infohash %d\n" % k
    name = "bs%05d.bin" % k
    info = {"name": name, "length": len(payload), "piece length": 16384,
            "pieces": hashlib.sha1(payload).digest()}
    return hashlib.sha1(probe.bencode(info)).hexdigest(), probe.bencode({"info": info}), name, payload


def big_torrent(k, files, v1_only, root):
    """A torrent of `files` files built by libtorrent itself (hybrid v1+v2 by default), its data
    written under root. Large info dictionaries (hundreds of files: several metadata pieces)."""
    name = "bsbig%03d-%s" % (k, "v1" if v1_only else "hybrid")
    fs = lt.file_storage()
    for i in range(files):
        # long, partly non-ASCII paths make the dictionary big; sizes vary so pieces differ
        rel = os.path.join(name, "dir%02d" % (i % 7), "file-%05d-caf\u00e9-metadata-interop-%s.bin" % (i, "x" * (32 + i % 13)))
        data = (b"bitscrape big torrent %d file %d\n" % (k, i)) * (1 + i % 50)
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        fs.add_file(rel, len(data))
    flags = lt.create_torrent.v1_only if v1_only else 0
    ct = lt.create_torrent(fs, 16384, flags=flags)
    lt.set_piece_hashes(ct, root)
    torrent = lt.bencode(ct.generate())
    ti = lt.torrent_info(lt.bdecode(torrent))
    info_hash = str(ti.info_hashes().v1)
    return info_hash, torrent, name, len(lt.bencode(lt.bdecode(torrent)[b"info"]))


class Network:
    def __init__(self, opts):
        self.opts = opts
        self.n = opts.nodes
        self.hosts = loopback_hosts(self.n, opts.distinct_ips)
        self.ports = [opts.base_port + i for i in range(self.n)]
        self.families = ([] if opts.no_ipv4 else ["v4"]) + (["v6"] if opts.ipv6 else [])
        self.sessions = []
        self.handles = {}  # info-hash index -> torrent handles
        self.records = []
        self.timings = {}
        self.ids = {}
        self.versions = set()
        self.workdir = opts.workdir or tempfile.mkdtemp(prefix="bitscrape_lt_")
        self.own_workdir = opts.workdir is None
        self.stop_requested = False

    def endpoint(self, i, family):
        return (self.hosts[i] if family == "v4" else "::1", self.ports[i])

    def checkpoint(self):
        if self.stop_requested or not parent_alive(self.opts.parent_pid):
            raise Stop()

    def check_ports(self):
        taken = [probe.fmt_endpoint(*self.endpoint(i, f)) for i in range(self.n) for f in self.families
                 if not is_bindable(*self.endpoint(i, f))]
        if taken:
            raise Abort("ports in use: %s" % ", ".join(taken[:8]), 4)

    def create_sessions(self):
        t0 = time.monotonic()
        for i in range(self.n):
            self.sessions.append(lt.session(session_settings(self.opts, self.hosts[i], self.ports[i])))
            self.checkpoint()
        time.sleep(0.2)
        for i, s in enumerate(self.sessions):
            for alert in s.pop_alerts():
                if isinstance(alert, lt.listen_failed_alert):
                    raise Abort("node %d cannot listen: %s" % (i, alert.message()), 4)
        self.timings["sessions_s"] = round(time.monotonic() - t0, 3)

    def connect_mesh(self, deadline):
        """Tell each node about others; libtorrent pings them and fills its routing table."""
        t0 = time.monotonic()
        rng = random.Random(self.opts.seed)
        for i, s in enumerate(self.sessions):
            others = [j for j in range(self.n) if j != i]
            if len(others) > self.opts.mesh_degree:
                chosen = set(rng.sample(others, self.opts.mesh_degree))
                chosen.update({(i + 1) % self.n, (i - 1) % self.n})  # keeps the mesh connected
                others = sorted(chosen)
            for j in others:
                for f in self.families:
                    s.add_dht_node(self.endpoint(j, f))
        wanted = min(self.n - 1, 8)
        while True:
            for s in self.sessions:
                s.post_dht_stats()
            time.sleep(0.1)
            sizes = [self.routing_table_size(s) for s in self.sessions]
            if min(sizes) >= wanted:
                break
            self.checkpoint()
            if time.monotonic() > deadline:
                raise Abort("routing tables did not fill (sizes %s)" % sizes, 5)
        self.timings["mesh_s"] = round(time.monotonic() - t0, 3)

    @staticmethod
    def routing_table_size(s):
        size = 0
        for alert in s.pop_alerts():
            if isinstance(alert, lt.dht_stats_alert):
                size = sum(bucket["num_nodes"] for bucket in alert.routing_table)
        return size

    def add_torrents(self):
        """The 2.0.8 binding cannot call dht_announce(), so announce through real torrents."""
        t0 = time.monotonic()
        per_hash = self.opts.seeders + self.opts.leechers
        for k in range(self.opts.infohashes):
            info_hash, torrent, name, payload = test_torrent(k)
            rec = {"index": k, "info_hash": info_hash, "name": name, "seeders": [], "leechers": []}
            for rank in range(per_hash):
                node = (k + rank) % self.n
                seeding = rank < self.opts.seeders
                folder = os.path.join(self.workdir, "node%d" % node)
                os.makedirs(folder, exist_ok=True)
                params = lt.add_torrent_params()
                params.ti = lt.torrent_info(lt.bdecode(torrent))
                params.save_path = folder
                flags = params.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
                if seeding:
                    with open(os.path.join(folder, name), "wb") as f:
                        f.write(payload)
                    flags |= lt.torrent_flags.seed_mode
                else:
                    flags |= lt.torrent_flags.upload_mode  # never completes: stays a leecher
                params.flags = flags
                handle = self.sessions[node].add_torrent(params)
                handle.force_dht_announce()
                self.handles.setdefault(k, []).append(handle)
                # announces use implied_port, so the stored peer is the node's own endpoint
                entry = {"node": node, "peers": [probe.fmt_endpoint(*self.endpoint(node, f)) for f in self.families]}
                rec["seeders" if seeding else "leechers"].append(entry)
            self.records.append(rec)
        root = os.path.join(self.workdir, "bigdata")
        for b in range(self.opts.big_torrents):
            k = self.opts.infohashes + b
            info_hash, torrent, name, size = big_torrent(k, self.opts.big_files, b % 2 == 1, root)
            rec = {"index": k, "info_hash": info_hash, "name": name, "files": self.opts.big_files,
                   "metadata_size": size, "seeders": [], "leechers": []}
            for rank in range(self.opts.seeders):
                node = (k + rank) % self.n
                params = lt.add_torrent_params()
                params.ti = lt.torrent_info(lt.bdecode(torrent))
                params.save_path = root
                params.flags = (params.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused) | lt.torrent_flags.seed_mode
                handle = self.sessions[node].add_torrent(params)
                handle.force_dht_announce()
                self.handles.setdefault(k, []).append(handle)
                rec["seeders"].append({"node": node, "peers": [probe.fmt_endpoint(*self.endpoint(node, f)) for f in self.families]})
            self.records.append(rec)
        self.timings["torrents_s"] = round(time.monotonic() - t0, 3)

    def pipelines(self):
        out = {}
        if "v4" in self.families:
            out["v4"] = probe.Pipeline(socket.AF_INET)
        if "v6" in self.families:
            out["v6"] = probe.Pipeline(socket.AF_INET6)
        return out

    def read_ids(self, pipes):
        for f, pipe in pipes.items():
            replies = pipe.run([(self.endpoint(i, f), "ping", {}) for i in range(self.n)])
            for i, reply in enumerate(replies):
                body = reply.get(b"r") if reply else None
                if isinstance(body, dict) and isinstance(body.get(b"id"), bytes):
                    self.ids[(i, f)] = body[b"id"].hex()
                    if isinstance(reply.get(b"v"), bytes):
                        self.versions.add(reply[b"v"].hex())

    def survey(self, pipes, indices):
        """get_peers on every node for the given info-hashes; records holders and stored peers."""
        for k in indices:
            rec = self.records[k]
            rec["holders"] = {f: [] for f in self.families}
            rec["stored_peers"] = {f: [] for f in self.families}
        for f, pipe in pipes.items():
            asks = [(k, i) for k in indices for i in range(self.n)]
            replies = pipe.run([(self.endpoint(i, f), "get_peers",
                                 {"info_hash": bytes.fromhex(self.records[k]["info_hash"])}) for k, i in asks])
            for (k, i), reply in zip(asks, replies):
                body = reply.get(b"r") if reply else None
                values = body.get(b"values") if isinstance(body, dict) else None
                if values:
                    rec = self.records[k]
                    rec["holders"][f].append(i)
                    seen = set(rec["stored_peers"][f]) | {probe.compact_peer(v) for v in values if isinstance(v, bytes)}
                    rec["stored_peers"][f] = sorted(seen)

    def incomplete(self, indices, min_holders):
        bad = []
        for k in indices:
            rec = self.records[k]
            for f in self.families:
                announced = {p for a in rec["seeders"] + rec["leechers"] for p in a["peers"]
                             if p.startswith("[") == (f == "v6")}
                if len(rec["holders"][f]) < min_holders or not announced <= set(rec["stored_peers"][f]):
                    bad.append(k)
                    break
        return bad

    def wait_until_stored(self, pipes, deadline):
        t0 = time.monotonic()
        min_holders = self.opts.min_holders or min(8, self.n - 1)
        todo = list(range(len(self.records)))
        while todo:
            time.sleep(0.25)
            for s in self.sessions:
                s.pop_alerts()
            self.survey(pipes, todo)
            todo = self.incomplete(todo, min_holders)
            if not todo:
                break
            self.checkpoint()
            if time.monotonic() > deadline:
                raise Abort("%d info-hashes not stored on %d nodes in time" % (len(todo), min_holders), 5)
            # a torrent that was not started yet ignored the first force_dht_announce()
            for k in todo:
                for h in self.handles[k]:
                    h.force_dht_announce()
        self.timings["stored_s"] = round(time.monotonic() - t0, 3)
        return min_holders

    def state(self, min_holders):
        nodes = []
        for i in range(self.n):
            for f in self.families:
                host, port = self.endpoint(i, f)
                nodes.append({"index": i, "family": f, "host": host, "port": port, "id": self.ids.get((i, f))})
        infohashes = []
        for rec in self.records:
            out = dict(rec)
            if "holders" in rec:
                out["holder_endpoints"] = {f: [probe.fmt_endpoint(*self.endpoint(i, f)) for i in rec["holders"][f]]
                                           for f in self.families}
            infohashes.append(out)
        self.timings["total_s"] = round(time.monotonic() - STARTED, 3)
        settings = session_settings(self.opts, self.hosts[0], self.ports[0])
        return {
            "format": 1,
            "implementation": "libtorrent-rasterbar %s" % lt.__version__,
            "version_hex": sorted(self.versions),
            "pid": os.getpid(),
            "families": self.families,
            "distinct_ips": bool(self.opts.distinct_ips),
            "base_port": self.opts.base_port,
            "bootstrap": [probe.fmt_endpoint(*self.endpoint(0, f)) for f in self.families],
            "min_holders": min_holders,
            "verified": not self.opts.no_verify,
            "nodes": nodes,
            "infohashes": infohashes,
            "settings": {k: v for k, v in settings.items() if k.startswith(("dht_", "enable_"))},
            "timings": self.timings,
            "rss_kb": rss_kb(),
            "workdir": self.workdir,
        }

    def close(self):
        self.handles = {}
        for s in self.sessions:
            try:
                s.pause()
            except Exception:
                pass
        while self.sessions:
            s = self.sessions.pop()
            del s  # the session destructor blocks until libtorrent has shut down
        if self.own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def rss_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def write_atomically(path, payload):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=20)
    p.add_argument("--base-port", type=int, required=True)
    p.add_argument("--infohashes", type=int, default=50)
    p.add_argument("--seeders", type=int, default=1)
    p.add_argument("--leechers", type=int, default=1)
    p.add_argument("--state", required=True, help="state file, written once ready")
    p.add_argument("--big-torrents", type=int, default=0,
                   help="also seed this many torrents of --big-files files (even: hybrid v1+v2, odd: v1 only)")
    p.add_argument("--big-files", type=int, default=400)
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until a signal)")
    p.add_argument("--distinct-ips", action="store_true", help="node i binds its own 127.0.x.y")
    p.add_argument("--ipv6", action="store_true", help="every node also listens on [::1]:port")
    p.add_argument("--no-ipv4", action="store_true", help="with --ipv6: IPv6 only")
    p.add_argument("--mesh-degree", type=int, default=64)
    p.add_argument("--sample-interval", type=int, default=0, help="BEP 51 interval (libtorrent default 21600)")
    p.add_argument("--max-samples", type=int, default=20)
    p.add_argument("--announce-interval", type=int, default=900)
    p.add_argument("--max-peers-reply", type=int, default=100)
    p.add_argument("--min-holders", type=int, default=0, help="default min(8, nodes-1)")
    p.add_argument("--ready-timeout", type=float, default=60, help="seconds for the whole start-up")
    p.add_argument("--seed", type=int, default=1, help="mesh choice (info-hashes never vary)")
    p.add_argument("--workdir")
    p.add_argument("--no-verify", action="store_true", help="skip the get_peers survey")
    p.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    opts = p.parse_args(argv)
    if opts.nodes < 2:
        p.error("--nodes must be at least 2")
    if opts.no_ipv4 and not opts.ipv6:
        p.error("--no-ipv4 needs --ipv6")
    if opts.seeders + opts.leechers > opts.nodes:
        p.error("seeders + leechers must not exceed nodes")
    if not 1024 <= opts.base_port or opts.base_port + opts.nodes > 65535:
        p.error("ports out of range")
    return opts


def parent_alive(pid):
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.getppid() == pid


def main(argv=None):
    opts = parse_args(argv)
    net = Network(opts)

    def on_signal(_signum, _frame):
        net.stop_requested = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deadline = STARTED + opts.ready_timeout
    try:
        net.check_ports()
        net.create_sessions()
        log("%d sessions (libtorrent %s)" % (net.n, lt.__version__))
        net.connect_mesh(deadline)
        log("routing tables filled")
        net.add_torrents()
        pipes = net.pipelines()
        try:
            min_holders = 0
            if not opts.no_verify and net.records:
                min_holders = net.wait_until_stored(pipes, deadline)
                log("every info-hash stored on >= %d nodes" % min_holders)
            net.read_ids(pipes)
        finally:
            for pipe in pipes.values():
                pipe.close()
        write_atomically(opts.state, net.state(min_holders))
        log("ready after %.2fs" % net.timings["total_s"])
        print("READY %s" % os.path.abspath(opts.state), flush=True)

        stop_at = time.monotonic() + opts.seconds if opts.seconds > 0 else None
        while not net.stop_requested and (stop_at is None or time.monotonic() < stop_at):
            time.sleep(0.25)
            for s in net.sessions:
                s.pop_alerts()  # keeps libtorrent's alert queue from filling up
            if not parent_alive(opts.parent_pid):
                log("parent %d is gone" % opts.parent_pid)
                break
        return 0
    except Stop:
        log("stopped during start-up")
        return 0
    except Abort as e:
        log("error: %s" % e)
        return e.status
    finally:
        t0 = time.monotonic()
        net.close()
        log("closed in %.2fs" % (time.monotonic() - t0))


if __name__ == "__main__":
    sys.exit(main())
