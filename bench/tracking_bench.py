#!/usr/bin/env python3
"""Client-side caching: throughput with 50 tracking clients, against none and against Redis.

    python3 bench/tracking_bench.py              # 5 interleaved rounds of 5 s per run
    python3 bench/tracking_bench.py --quick      # 3 rounds of 2 s

Each run is bench/trackload.c (built as build/mayfly-trackload): 50 RESP3 connections,
one command at a time each, GET on random keys of 10,000 preloaded ones and SET for
--write-permille of the commands (default 100: 10%). With tracking every connection sends
CLIENT TRACKING on first, so each GET is remembered and each SET sends invalidation pushes
to the connections that read the key. Rows: Mayfly and Redis (Debian's redis-server), each
without and with tracking; the ratios are Mayfly tracking / Mayfly none (issue 19's target:
>= 0.9) and Mayfly tracking / Redis tracking (target: >= 1.0).

Rounds interleave the servers and the two modes (Mayfly none, Mayfly tracking, Redis none,
Redis tracking, then the next round in the other order) so that the drift of a shared
machine affects them alike; the table shows medians and every run's figure. The load
average is printed beside them: on a shared machine the numbers are noisy. Every server runs
in its own temp directory on a free loopback port and is stopped by PID, also on errors.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from resp import encode  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(server, keys):
    """Starts server and sets keys k:0..k:<keys-1> to "v", pipelined in one write."""
    server.start()
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        batch = b"".join(encode("SET", "k:%d" % i, "v") for i in range(keys))
        s.sendall(batch)
        want, got = b"+OK\r\n" * keys, b""
        while len(got) < len(want):
            chunk = s.recv(1 << 16)
            if not chunk:
                raise RuntimeError("preload: connection closed")
            got += chunk


def run_load(args, server, track):
    cpu0 = server.cpu_ticks_seconds()
    argv = [args.trackload, str(server.port), str(args.seconds), str(args.clients),
            str(args.keys), str(args.write_permille), "1" if track else "0"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("trackload failed: %s" % out.stderr.strip())
    cpu = server.cpu_ticks_seconds() - cpu0
    fields = dict(kv.split("=") for kv in out.stdout.split())
    ops = float(fields["ops_per_sec"])
    # The server's CPU per command (us): what the load costs it, much less sensitive than
    # ops/s to other processes taking the CPUs of a shared machine.
    cpu_us = cpu * 1e6 / (ops * args.seconds) if ops else float("nan")
    return ops, int(fields["pushes"]), cpu_us


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mayfly", default=os.path.join(REPO, "build", "mayfly-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--trackload", default=os.path.join(REPO, "build", "mayfly-trackload"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--write-permille", type=int, default=100)
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    servers = [benchlib.Server(args.mayfly, "mayfly", prefix="mayfly-trackbench-"),
               benchlib.Server(args.redis, "redis", prefix="mayfly-trackbench-")]
    res = {(s.name, t): [] for s in servers for t in (False, True)}
    pushes, cpus = {}, {}
    try:
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for s in order:
                start(s, args.keys)
                for track in ((False, True) if r % 2 == 0 else (True, False)):
                    ops, np, cpu_us = run_load(args, s, track)
                    res[(s.name, track)].append(ops)
                    pushes.setdefault((s.name, track), []).append(np)
                    cpus.setdefault((s.name, track), []).append(cpu_us)
                    print("round %d %-6s %-8s %9.0f ops/s %8d pushes %6.2f us CPU/op  (load %.2f)"
                          % (r + 1, s.name, "tracking" if track else "none", ops, np, cpu_us,
                             os.getloadavg()[0]), flush=True)
                s.stop()
    finally:
        benchlib.stop_all()
    med = {k: statistics.median(v) for k, v in res.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    print()
    print("%d clients, %d keys, %d/1000 SET, %g s per run, %d rounds; load average now %s" %
          (args.clients, args.keys, args.write_permille, args.seconds, args.rounds,
           " ".join("%.2f" % x for x in os.getloadavg())))
    print("| server | tracking | ops/s (median) | runs | pushes/run (median) | server CPU us/op "
          "(median) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (name, track), v in res.items():
        print("| %s | %s | %.0f | %s | %d | %.2f |" % (
            name, "on" if track else "off", med[(name, track)],
            " ".join("%.0f" % x for x in v), statistics.median(pushes[(name, track)]),
            cpu[(name, track)]))
    print()
    print("Mayfly tracking / Mayfly none:  %.3f (target >= 0.9)" %
          (med[("mayfly", True)] / med[("mayfly", False)]))
    print("Mayfly tracking / Redis tracking: %.3f (target >= 1.0)" %
          (med[("mayfly", True)] / med[("redis", True)]))
    print("Redis tracking / Redis none:    %.3f" % (med[("redis", True)] / med[("redis", False)]))
    print("Capacity from server CPU per op (higher is better):")
    print("  Mayfly none / Mayfly tracking:  %.3f (target >= 0.9)" %
          (cpu[("mayfly", False)] / cpu[("mayfly", True)]))
    print("  Redis tracking / Mayfly tracking: %.3f (target >= 1.0)" %
          (cpu[("redis", True)] / cpu[("mayfly", True)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
