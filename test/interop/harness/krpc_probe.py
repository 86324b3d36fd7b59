#!/usr/bin/python3
"""bitscrape's independent KRPC probe (BEP 5 and extensions), for checking our own code
against real DHT nodes without trusting our own wire layer.

Standard library only: its own bencode codec, raw UDP sockets, and a small pure-Python
ed25519 signer for BEP 44 mutable items.

    krpc_probe.py HOST PORT ping [--json]
    krpc_probe.py HOST PORT find_node --target HEX40 [--want n4,n6]
    krpc_probe.py HOST PORT get_peers --info-hash HEX40 [--scrape] [--noseed]
    krpc_probe.py HOST PORT announce_peer --info-hash HEX40 [--port P | --implied-port] [--seed 0|1]
    krpc_probe.py HOST PORT sample_infohashes [--target HEX40]
    krpc_probe.py HOST PORT put --value TEXT [--key-seed HEX64 --seq N [--salt S] [--cas N]]
    krpc_probe.py HOST PORT get --target HEX40 | --key-seed HEX64 [--salt S]
    krpc_probe.py HOST PORT raw --method NAME --args JSON   (strings "hex:.." become bytes)

Only loopback destinations are accepted. Exit status: 0 reply, 2 KRPC error, 3 timeout.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import socket
import struct
import sys
import time

# ------------------------------------------------------------------ bencode


def bencode(value):
    parts = []
    _encode_into(value, parts)
    return b"".join(parts)


def _encode_into(v, parts):
    if isinstance(v, bool):
        raise TypeError("booleans have no bencode form")
    if isinstance(v, int):
        parts.append(b"i%de" % v)
    elif isinstance(v, str):
        _encode_into(v.encode("utf-8"), parts)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        parts.append(b"%d:%s" % (len(b), b))
    elif isinstance(v, (list, tuple)):
        parts.append(b"l")
        for item in v:
            _encode_into(item, parts)
        parts.append(b"e")
    elif isinstance(v, dict):
        # canonical form: keys as raw bytes, sorted
        keyed = sorted(((k.encode("utf-8") if isinstance(k, str) else bytes(k)), val) for k, val in v.items())
        parts.append(b"d")
        for k, val in keyed:
            _encode_into(k, parts)
            _encode_into(val, parts)
        parts.append(b"e")
    else:
        raise TypeError("cannot bencode %s" % type(v).__name__)


class DecodeError(ValueError):
    pass


def bdecode(data):
    """Returns (value, end offset). Strings and dict keys stay bytes."""
    stack_limit = 64

    def item(pos, depth):
        if depth > stack_limit:
            raise DecodeError("nested too deep")
        if pos >= len(data):
            raise DecodeError("truncated")
        lead = data[pos]
        if lead == 0x69:  # i
            end = data.index(b"e", pos)
            return int(data[pos + 1:end]), end + 1
        if lead == 0x6C:  # l
            pos += 1
            out = []
            while data[pos:pos + 1] != b"e":
                v, pos = item(pos, depth + 1)
                out.append(v)
            return out, pos + 1
        if lead == 0x64:  # d
            pos += 1
            out = {}
            while data[pos:pos + 1] != b"e":
                k, pos = item(pos, depth + 1)
                if not isinstance(k, bytes):
                    raise DecodeError("dictionary key is not a string")
                out[k], pos = item(pos, depth + 1)
            return out, pos + 1
        if 0x30 <= lead <= 0x39:
            colon = data.index(b":", pos)
            n = int(data[pos:colon])
            start = colon + 1
            if start + n > len(data):
                raise DecodeError("string runs past the end")
            return data[start:start + n], start + n
        raise DecodeError("unexpected byte 0x%02x at %d" % (lead, pos))

    try:
        return item(0, 0)
    except (ValueError, IndexError) as e:
        raise DecodeError(str(e)) from None


# ------------------------------------------------------------------ compact forms


def fmt_endpoint(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def compact_peer(raw):
    if len(raw) == 6:
        return fmt_endpoint(socket.inet_ntop(socket.AF_INET, raw[:4]), struct.unpack(">H", raw[4:])[0])
    if len(raw) == 18:
        return fmt_endpoint(socket.inet_ntop(socket.AF_INET6, raw[:16]), struct.unpack(">H", raw[16:])[0])
    return "bad:" + raw.hex()


def compact_nodes(raw, family):
    addr_len = 4 if family == socket.AF_INET else 16
    size = 20 + addr_len + 2
    out = []
    for off in range(0, len(raw) - len(raw) % size, size):
        host = socket.inet_ntop(family, raw[off + 20:off + 20 + addr_len])
        port = struct.unpack(">H", raw[off + 20 + addr_len:off + size])[0]
        out.append({"id": raw[off:off + 20].hex(), "host": host, "port": port})
    return out


def bloom_size_estimate(bloom):
    """BEP 33 estimate of the number of items in a 2048-bit, 2-hash bloom filter."""
    if len(bloom) != 256:
        return None
    import math
    zero_bits = sum(8 - bin(b).count("1") for b in bloom)
    if zero_bits == 0:
        return None
    return math.log(zero_bits / 2048.0) / (2 * math.log(1 - 1 / 2048.0))


HEX_KEYS = {"id", "target", "info_hash", "t", "token", "k", "sig"}


def readable(value, key=None):
    """A decoded message made JSON-friendly: ids as hex, compact lists expanded."""
    if isinstance(value, dict):
        out = {}
        for raw_key, v in value.items():
            k = raw_key.decode("latin1")
            if k == "nodes" and isinstance(v, bytes):
                out[k] = compact_nodes(v, socket.AF_INET)
            elif k == "nodes6" and isinstance(v, bytes):
                out[k] = compact_nodes(v, socket.AF_INET6)
            elif k == "values" and isinstance(v, list):
                out[k] = [compact_peer(p) if isinstance(p, bytes) else readable(p) for p in v]
            elif k == "samples" and isinstance(v, bytes):
                out[k] = [v[i:i + 20].hex() for i in range(0, len(v) - len(v) % 20, 20)]
            elif k in ("BFsd", "BFpe") and isinstance(v, bytes):
                est = bloom_size_estimate(v)
                out[k] = {"hex": v.hex(), "estimate": None if est is None else round(est, 2)}
            elif k == "ip" and isinstance(v, bytes) and len(v) in (6, 18):
                out[k] = compact_peer(v)
            elif k == "v" and isinstance(v, bytes) and key is None:
                out[k] = {"hex": v.hex(), "text": v.decode("latin1")}
            elif k in HEX_KEYS and isinstance(v, bytes):
                out[k] = v.hex()
            else:
                out[k] = readable(v, k)
        return out
    if isinstance(value, list):
        return [readable(x, key) for x in value]
    if isinstance(value, bytes):
        if value and all(32 <= c < 127 for c in value):
            return value.decode("ascii")
        return "hex:" + value.hex()
    return value


# ------------------------------------------------------------------ ed25519 (BEP 44)
# Twisted Edwards curve arithmetic in extended coordinates (RFC 8032). Slow but enough
# for a handful of signatures in tests.

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = (-121665 * pow(121666, ED_P - 2, ED_P)) % ED_P


def _ed_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    pa = (y1 - x1) * (y2 - x2) % ED_P
    pb = (y1 + x1) * (y2 + x2) % ED_P
    pc = 2 * t1 * t2 * ED_D % ED_P
    pd = 2 * z1 * z2 % ED_P
    e, f, g, h = pb - pa, pd - pc, pd + pc, pb + pa
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def _ed_scale(point, scalar):
    acc = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            acc = _ed_add(acc, point)
        point = _ed_add(point, point)
        scalar >>= 1
    return acc


def _ed_base():
    y = 4 * pow(5, ED_P - 2, ED_P) % ED_P
    xx = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    x = pow(xx, (ED_P + 3) // 8, ED_P)
    if (x * x - xx) % ED_P:
        x = x * pow(2, (ED_P - 1) // 4, ED_P) % ED_P
    if x & 1:
        x = ED_P - x
    return (x, y, 1, x * y % ED_P)


ED_B = _ed_base()


def _ed_encode(point):
    x, y, z, _ = point
    zinv = pow(z, ED_P - 2, ED_P)
    x, y = x * zinv % ED_P, y * zinv % ED_P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _ed_secret(seed):
    digest = hashlib.sha512(seed).digest()
    a = int.from_bytes(digest[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    return a, digest[32:]


def ed25519_public_key(seed):
    return _ed_encode(_ed_scale(ED_B, _ed_secret(seed)[0]))


def ed25519_sign(seed, message):
    a, prefix = _ed_secret(seed)
    public = _ed_encode(_ed_scale(ED_B, a))
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % ED_L
    big_r = _ed_encode(_ed_scale(ED_B, r))
    h = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % ED_L
    return big_r + ((r + h * a) % ED_L).to_bytes(32, "little")


def mutable_signing_bytes(v_encoded, seq, salt=b""):
    """BEP 44: what a mutable item's signature covers."""
    prefix = (b"4:salt%d:%s" % (len(salt), salt)) if salt else b""
    return prefix + b"3:seqi%de1:v" % seq + v_encoded


# ------------------------------------------------------------------ client


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class KrpcTimeout(Exception):
    pass


class Client:
    """One UDP socket, one outstanding query at a time."""

    def __init__(self, host, port, node_id=None, timeout=3.0, read_only=False):
        if not is_loopback(host):
            raise ValueError("refusing non-loopback destination %s" % host)
        self.dest = (host, port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.timeout = timeout
        self.node_id = node_id or os.urandom(20)
        self.read_only = read_only

    def close(self):
        self.sock.close()

    def query(self, method, args):
        tid = os.urandom(4)
        body = dict(args)
        body.setdefault("id", self.node_id)
        msg = {"t": tid, "y": "q", "q": method, "a": body}
        if self.read_only:
            msg["ro"] = 1
        started = time.monotonic()
        self.sock.sendto(bencode(msg), self.dest)
        deadline = started + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KrpcTimeout("%s to %s: no reply in %.1fs" % (method, fmt_endpoint(*self.dest), self.timeout))
            self.sock.settimeout(left)
            try:
                packet, source = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            try:
                reply, _ = bdecode(packet)
            except DecodeError:
                continue
            if isinstance(reply, dict) and reply.get(b"t") == tid:
                reply[b"_rtt_ms"] = round((time.monotonic() - started) * 1000, 2)
                reply[b"_from"] = fmt_endpoint(source[0], source[1]).encode()
                return reply


class Pipeline:
    """Many queries from one socket with a bounded window and retries (readiness checks)."""

    def __init__(self, family=socket.AF_INET, window=200, timeout=2.0, retries=2):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.node_id = os.urandom(20)
        self.window = window
        self.timeout = timeout
        self.retries = retries
        self.counter = 0

    def close(self):
        self.sock.close()

    def run(self, queries):
        """queries: [((host, port), method, args)]. Returns replies (dict or None) in order.
        Queries are marked read-only (BEP 43) so the probe stays out of routing tables."""
        replies = [None] * len(queries)
        todo = list(range(len(queries)))
        for _ in range(self.retries + 1):
            if not todo:
                break
            self._round(queries, todo, replies)
            todo = [i for i in todo if replies[i] is None]
        return replies

    def _round(self, queries, todo, replies):
        waiting = {}  # tid -> (index, sent at)
        queue = iter(todo)
        exhausted = False
        while True:
            while not exhausted and len(waiting) < self.window:
                idx = next(queue, None)
                if idx is None:
                    exhausted = True
                    break
                self.counter += 1
                tid = struct.pack(">I", self.counter & 0xFFFFFFFF)
                dest, method, args = queries[idx]
                body = dict(args)
                body.setdefault("id", self.node_id)
                self.sock.sendto(bencode({"t": tid, "y": "q", "q": method, "a": body, "ro": 1}), dest)
                waiting[tid] = (idx, time.monotonic())
            if not waiting:
                return
            oldest = min(sent for _, sent in waiting.values())
            left = oldest + self.timeout - time.monotonic()
            if left <= 0:
                # expire what is overdue; it gets another round
                now = time.monotonic()
                for tid in [t for t, (_, sent) in waiting.items() if now - sent >= self.timeout]:
                    del waiting[tid]
                continue
            self.sock.settimeout(left)
            try:
                packet, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            try:
                reply, _ = bdecode(packet)
            except DecodeError:
                continue
            if isinstance(reply, dict):
                hit = waiting.pop(reply.get(b"t"), None)
                if hit is not None:
                    replies[hit[0]] = reply


# ------------------------------------------------------------------ command line


def hex20(text, name):
    raw = bytes.fromhex(text)
    if len(raw) != 20:
        raise SystemExit("%s needs 40 hex digits" % name)
    return raw


def from_json_arg(v):
    if isinstance(v, str) and v.startswith("hex:"):
        return bytes.fromhex(v[4:])
    if isinstance(v, dict):
        return {k: from_json_arg(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json_arg(x) for x in v]
    return v


def run_command(c, args):
    """Returns (reply, extra facts for the output)."""
    extra = {}
    want = args.want.split(",") if args.want else None
    target = hex20(args.target, "--target") if args.target else os.urandom(20)

    def with_want(a):
        if want:
            a["want"] = want
        return a

    if args.method == "ping":
        return c.query("ping", with_want({})), extra
    if args.method == "find_node":
        return c.query("find_node", with_want({"target": target})), extra
    if args.method == "sample_infohashes":
        return c.query("sample_infohashes", with_want({"target": target})), extra
    if args.method in ("get_peers", "announce_peer"):
        if not args.info_hash:
            raise SystemExit("--info-hash is required")
        ih = hex20(args.info_hash, "--info-hash")
        a = with_want({"info_hash": ih})
        if args.scrape:
            a["scrape"] = 1
        if args.noseed:
            a["noseed"] = 1
        if args.method == "get_peers":
            return c.query("get_peers", a), extra
        token = bytes.fromhex(args.token) if args.token else None
        if token is None:
            first = c.query("get_peers", {"info_hash": ih})
            token = (first.get(b"r") or {}).get(b"token")
            if not isinstance(token, bytes):
                raise SystemExit("get_peers gave no token: %r" % readable(first))
        ann = {"info_hash": ih, "port": args.port, "token": token}
        if args.implied_port:
            ann["implied_port"] = 1
        if args.seed is not None:
            ann["seed"] = args.seed
        return c.query("announce_peer", ann), extra
    if args.method in ("get", "put"):
        salt = args.salt.encode()
        key_seed = bytes.fromhex(args.key_seed) if args.key_seed else None
        if key_seed is not None and len(key_seed) != 32:
            raise SystemExit("--key-seed needs 64 hex digits")
        public = ed25519_public_key(key_seed) if key_seed else None
        if args.method == "get":
            if public is not None:
                target = hashlib.sha1(public + salt).digest()
                extra["k"] = public.hex()
            extra["target"] = target.hex()
            return c.query("get", {"target": target}), extra
        if args.value is None:
            raise SystemExit("--value is required")
        value = args.value.encode()
        target = hashlib.sha1(public + salt).digest() if public else hashlib.sha1(bencode(value)).digest()
        extra["target"] = target.hex()
        token = bytes.fromhex(args.token) if args.token else (c.query("get", {"target": target}).get(b"r") or {}).get(b"token")
        if not isinstance(token, bytes):
            raise SystemExit("get gave no token")
        put = {"v": value, "token": token}
        if public is not None:
            put.update(k=public, seq=args.seq,
                       sig=ed25519_sign(key_seed, mutable_signing_bytes(bencode(value), args.seq, salt)))
            if salt:
                put["salt"] = salt
            if args.cas is not None:
                put["cas"] = args.cas
            extra["k"] = public.hex()
        return c.query("put", put), extra
    if args.method == "raw":
        if not args.raw_method:
            raise SystemExit("--method is required")
        return c.query(args.raw_method, from_json_arg(json.loads(args.args or "{}"))), extra
    raise SystemExit("unknown method %s" % args.method)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("method", choices=["ping", "find_node", "get_peers", "announce_peer", "sample_infohashes",
                                      "get", "put", "raw"])
    p.add_argument("--id", help="our node id, 40 hex (random otherwise)")
    p.add_argument("--target")
    p.add_argument("--info-hash")
    p.add_argument("--want", help="BEP 32, e.g. n4,n6")
    p.add_argument("--scrape", action="store_true")
    p.add_argument("--noseed", action="store_true")
    p.add_argument("--port", type=int, default=6881, help="announce_peer: the announced port")
    p.add_argument("--implied-port", action="store_true")
    p.add_argument("--seed", type=int, choices=[0, 1])
    p.add_argument("--token", help="hex; fetched first when omitted")
    p.add_argument("--value")
    p.add_argument("--key-seed", help="BEP 44 mutable: ed25519 seed, 64 hex")
    p.add_argument("--salt", default="")
    p.add_argument("--seq", type=int, default=1)
    p.add_argument("--cas", type=int)
    p.add_argument("--method", dest="raw_method", help="raw: the query name")
    p.add_argument("--args", help="raw: JSON object of arguments")
    p.add_argument("--ro", action="store_true", help="mark queries read-only (BEP 43)")
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--json", action="store_true", help="one JSON line on stdout")
    args = p.parse_args(argv)

    try:
        c = Client(args.host, args.port, hex20(args.id, "--id") if args.id else None, args.timeout, args.ro)
    except ValueError as e:
        raise SystemExit(str(e))
    try:
        reply, extra = run_command(c, args)
    except KrpcTimeout as e:
        print(json.dumps({"error": "timeout", "message": str(e)}) if args.json else "timeout: %s" % e)
        return 3
    finally:
        c.close()
    out = readable(reply)
    if extra:
        out["_extra"] = extra
    print(json.dumps(out, sort_keys=True) if args.json else json.dumps(out, indent=2, sort_keys=True))
    return 2 if reply.get(b"y") == b"e" else 0


if __name__ == "__main__":
    sys.exit(main())
