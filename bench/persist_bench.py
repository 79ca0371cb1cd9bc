#!/usr/bin/env python3
"""Throughput of Mayfly with the append-only log (appendfsync everysec, always) against no
persistence, measured in the same run with redis-benchmark.

    python3 bench/persist_bench.py                 # 3 interleaved rounds, ~1-2 min
    python3 bench/persist_bench.py --quick         # 1 round, fewer requests

Each configuration gets its own server in its own temp directory on a free loopback port;
the rounds interleave the configurations (none, everysec, always, none, ...) so that drift
of the machine affects them alike. Rows: SET and HSET at -P 1 and -P 16 with 50 clients;
the table shows the median requests/s and the ratio to "none". Every run has a timeout and
every server is stopped at the end, also on errors and Ctrl-C.
"""
import argparse
import os
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

CONFIGS = [
    ("none", ["--appendonly", "no"]),
    ("everysec", ["--appendonly", "yes", "--appendfsync", "everysec"]),
    ("always", ["--appendonly", "yes", "--appendfsync", "always"]),
]
ROWS = [
    ("SET", ["SET", "k:__rand_int__", "xxxxxxxxxxxxxxxx"]),
    ("HSET", ["HSET", "h:__rand_int__", "f", "xxxxxxxxxxxxxxxx"]),
]


def Server(binary, name, args):
    """A started server in its own temp directory (benchlib.Server); exits if it does not
    start."""
    srv = benchlib.Server(binary, name, args, logfile=True, prefix="mayfly-pbench-")
    try:
        srv.start(timeout=10.0, tries=1)
    except RuntimeError:
        srv.cleanup()
        sys.exit(f"{name}: server did not start")
    return srv


def bench(rb, port, cmd, n, pipeline):
    _, out, _, _ = benchlib.redis_benchmark(port, cmd, n, 50, pipeline, 100000, timeout=300,
                                            rb=rb)
    return benchlib.csv_rps(out)  # None e.g. for HSET before the hash commands exist


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER", "build/mayfly-server"))
    ap.add_argument("--redis-benchmark", default=shutil.which("redis-benchmark"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.requests = 1, 20000
    if not a.redis_benchmark:
        sys.exit("redis-benchmark not found (Debian package redis-tools)")
    servers = []
    try:
        for name, args in CONFIGS:
            servers.append(Server(a.mayfly, name, args))
        res = {}
        for rnd in range(a.rounds):
            for row, cmd in ROWS:
                for p in (1, 16):
                    for s in servers:
                        n = a.requests * (5 if p > 1 else 1)
                        v = bench(a.redis_benchmark, s.port, cmd, n, p)
                        if v is None:
                            continue
                        res.setdefault((row, p, s.name), []).append(v)
                        print(f"round {rnd + 1}: {row} -P {p} {s.name}: {v:,.0f} req/s",
                              file=sys.stderr)
        print(f"\n{'row':<12}" + "".join(f"{n:>22}" for n, _ in CONFIGS))
        for row, _ in ROWS:
            for p in (1, 16):
                if (row, p, "none") not in res:
                    print(f"{row + ' -P ' + str(p):<12}  not supported by this build")
                    continue
                base = statistics.median(res[(row, p, "none")])
                cells = []
                for name, _ in CONFIGS:
                    m = statistics.median(res.get((row, p, name), [0]))
                    cells.append(f"{m:>12,.0f} ({m / base:4.2f}x)")
                print(f"{row + ' -P ' + str(p):<12}" + "".join(f"{c:>22}" for c in cells))
    finally:
        benchlib.stop_all()


if __name__ == "__main__":
    main()
