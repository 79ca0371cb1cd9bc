#!/usr/bin/env python3
"""Keyspace growth pause probe: does growing from 0 to 10 million keys ever block the
event loop for longer than a normal command?

    python3 bench/growth_probe.py                       # Mayfly then redis-server, 10M keys
    python3 bench/growth_probe.py --keys 2000000 --servers mayfly
    python3 bench/growth_probe.py --mayfly build/mayfly-server --redis /usr/bin/redis-server

For each server: a fresh process on a free loopback port, in its own temp directory, with
persistence off. A loader process (a separate process, so that it never holds the GIL of
the prober) sends SET k:<000000001..> <16 bytes> pipelined in batches of --batch, two
batches in flight, until --keys keys exist. Meanwhile the prober, on its own connection,
sends one PING at a time every --interval-ms and times the round trip; every 100 ms it also
sends DBSIZE (timed too) to know how many keys existed when a slow reply happened. The
worst round trip bounds the longest time the loop did not serve the prober: a stall
of S ms gives a PING of at least S - interval.

Printed per server: load time and rate, memory, the PING round trip idle (p50) and under
load (p50, p99, p99.9, max, counts over 1/5/10/50 ms) and the five worst pauses with the
key count at that moment (interpolated from the DBSIZE samples). Then a comparison.

Findings and figures: bench/growth_probe.md.

Bounded: each server gets --timeout seconds (default 300) for the load, then the loader is
killed; every server is stopped (SIGKILL) and its directory removed at the end, also on
errors and Ctrl-C. Needs only the Python 3 standard library (bench/resp.py).
"""
import argparse
import collections
import gc
import multiprocessing
import os
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import resp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALUE = b"x" * 16
# Fixed-width keys: the whole command is one %-format, so the loader stays fast.
SET_TMPL = b"*3\r\n$3\r\nSET\r\n$11\r\nk:%09d\r\n$16\r\n" + VALUE + b"\r\n"
OK = b"+OK\r\n"


def Server(name, binary):
    """A started server in its own temp directory (benchlib.Server, logging to a file);
    cleanup() kills it and removes the directory."""
    srv = benchlib.Server(binary, name, logfile=True, prefix="mayfly-growth-")
    try:
        srv.start()
    except RuntimeError:
        srv.cleanup()
        raise
    return srv


def recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        b = sock.recv(min(n - got, 1 << 20))
        if not b:
            raise ConnectionError("server closed the connection")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def loader(port, keys, batch, out):
    """Loads keys 1..keys with pipelined SETs; puts (seconds, error or None) on out."""
    t0 = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        in_flight = collections.deque()
        i = 1
        while i <= keys or in_flight:
            if i <= keys:
                n = min(batch, keys - i + 1)
                sock.sendall(b"".join([SET_TMPL % k for k in range(i, i + n)]))
                in_flight.append(n)
                i += n
            if len(in_flight) > 1 or (i > keys and in_flight):
                n = in_flight.popleft()
                data = recv_exact(sock, len(OK) * n)
                if data != OK * n:
                    raise RuntimeError("unexpected reply: %r" % data[:200])
        sock.close()
        out.put((time.monotonic() - t0, None))
    except Exception as e:  # reported to the parent, which prints it
        out.put((time.monotonic() - t0, "%s: %s" % (type(e).__name__, e)))


def timed(sock, cmd, reply_prefix):
    """Sends cmd (bytes) and reads one line reply; returns (seconds, reply line)."""
    t = time.perf_counter()
    sock.sendall(cmd)
    line = b""
    while not line.endswith(b"\r\n"):
        b = sock.recv(64)
        if not b:
            raise ConnectionError("server closed the connection")
        line += b
    dt = time.perf_counter() - t
    if not line.startswith(reply_prefix):
        raise RuntimeError("unexpected reply %r" % line)
    return dt, line


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, int(round(p / 100.0 * (len(sorted_vals) - 1))))
    return sorted_vals[i]


def keys_at(samples, t):
    """Key count at time t, interpolated from (time, dbsize) samples."""
    if not samples:
        return -1
    prev = samples[0]
    for s in samples:
        if s[0] >= t:
            if s[0] == prev[0]:
                return s[1]
            f = (t - prev[0]) / (s[0] - prev[0])
            return int(prev[1] + f * (s[1] - prev[1]))
        prev = s
    return samples[-1][1]


def probe(name, binary, args):
    srv = Server(name, binary)
    ldr = None
    try:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=args.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with resp.Client(srv.port) as c:
            version = c.info("server").get("redis_version", "?")
        idle = sorted(timed(sock, b"PING\r\n", b"+PONG")[0] for _ in range(2000))

        out = multiprocessing.Queue()
        ldr = multiprocessing.Process(target=loader, args=(srv.port, args.keys, args.batch, out))
        gc.disable()
        pings, slow, sizes = [], [], []
        interval = args.interval_ms / 1000.0
        t0 = time.perf_counter()
        ldr.start()
        next_size = t0
        result = None
        deadline = t0 + args.timeout
        while True:
            now = time.perf_counter()
            if now >= next_size:
                dt, line = timed(sock, b"DBSIZE\r\n", b":")
                sizes.append((now - t0, int(line[1:-2])))
                pings.append(dt)
                if dt >= 0.001:
                    slow.append((dt, now - t0))
                next_size = now + 0.1
                now = time.perf_counter()
            dt, _ = timed(sock, b"PING\r\n", b"+PONG")
            pings.append(dt)
            if dt >= 0.001:
                slow.append((dt, now - t0))
            if not ldr.is_alive() and result is None:
                result = out.get(timeout=10)
                break
            if now > deadline:
                result = (now - t0, "timed out after %ds" % args.timeout)
                break
            time.sleep(interval)
        gc.enable()
        load_s, err = result
        dt, line = timed(sock, b"DBSIZE\r\n", b":")
        sizes.append((time.perf_counter() - t0, int(line[1:-2])))
        with resp.Client(srv.port) as c:
            mem = c.info("memory")
        sock.close()
        pings.sort()
        slow.sort(reverse=True)
        return {
            "name": name, "version": version, "error": err, "load_s": load_s,
            "keys": sizes[-1][1], "used_memory": int(mem.get("used_memory", 0)),
            "rss": int(mem.get("used_memory_rss", 0)),
            "idle_p50": pct(idle, 50), "n": len(pings),
            "p50": pct(pings, 50), "p99": pct(pings, 99), "p999": pct(pings, 99.9),
            "max": pings[-1] if pings else float("nan"),
            "over": {ms: sum(1 for p in pings if p >= ms / 1000.0) for ms in (1, 5, 10, 50)},
            "worst": [(d, t, keys_at(sizes, t)) for d, t in slow[:5]],
        }
    finally:
        if ldr is not None and ldr.is_alive():
            ldr.kill()
            ldr.join(5)
        srv.cleanup()


def report(r):
    ms = lambda s: "%.3f" % (s * 1000.0)  # noqa: E731
    print("== %s (%s)" % (r["name"], r["version"]))
    if r["error"]:
        print("   load error: %s" % r["error"])
    print("   loaded %d keys in %.1f s (%.0f keys/s); used_memory %.0f MB, rss %.0f MB"
          % (r["keys"], r["load_s"], r["keys"] / r["load_s"] if r["load_s"] else 0,
             r["used_memory"] / 1e6, r["rss"] / 1e6))
    print("   PING idle p50 %s ms; under load (%d probes): p50 %s  p99 %s  p99.9 %s  max %s ms"
          % (ms(r["idle_p50"]), r["n"], ms(r["p50"]), ms(r["p99"]), ms(r["p999"]),
             ms(r["max"])))
    print("   probes over 1/5/10/50 ms: %s" % " / ".join(str(r["over"][k]) for k in (1, 5, 10, 50)))
    for d, t, k in r["worst"]:
        print("   worst: %8s ms at %6.2f s, about %d keys" % (ms(d), t, k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=1000, help="SETs per pipelined batch")
    ap.add_argument("--interval-ms", type=float, default=0.5, help="pause between PINGs")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per server for the load")
    ap.add_argument("--servers", default="mayfly,redis")
    ap.add_argument("--mayfly", default=os.path.join(ROOT, "build", "mayfly-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    args = ap.parse_args()
    if args.keys > 999_999_999:
        sys.exit("--keys: at most 999999999 (keys are k:%09d)")
    binaries = {"mayfly": args.mayfly, "redis": args.redis}
    results = []
    for name in args.servers.split(","):
        if not os.path.exists(binaries[name]) and not shutil.which(binaries[name]):
            print("== %s: %s not found, skipped" % (name, binaries[name]))
            continue
        binary = binaries[name]
        if os.path.sep in binary:
            binary = os.path.abspath(binary)  # the server runs in its temp directory
        r = probe(name, binary, args)
        report(r)
        results.append(r)
        sys.stdout.flush()
    if len(results) == 2:
        a, b = results
        print("== %s / %s: max pause %.1f / %.1f ms (x%.2f), p99 %.3f / %.3f ms, load %.1f / %.1f s"
              % (a["name"], b["name"], a["max"] * 1e3, b["max"] * 1e3,
                 a["max"] / b["max"] if b["max"] else float("nan"), a["p99"] * 1e3,
                 b["p99"] * 1e3, a["load_s"], b["load_s"]))


if __name__ == "__main__":
    main()
