#!/usr/bin/env python3
"""Mayfly vs Redis under a memory limit (issue 15): write throughput while evicting, and the
hit rate of a skewed cache workload at a fixed maxmemory.

    python3 bench/evict_bench.py            # ~3-5 min
    python3 bench/evict_bench.py --quick    # ~1 min

1. Write throughput at the limit: each server runs with --maxmemory M and allkeys-lru, is
   filled until it evicts, then redis-benchmark writes SET k:__rand_int__ <100 B> over a
   key range far larger than what fits (every SET of a new key evicts one), at -P 1 and
   -P 16 with 50 clients. Interleaved rounds; medians; used_memory / maxmemory after.
2. Hit rate (cache simulation): a Zipf(s) popularity over N keys of V bytes, more than
   fits in M. For each request: GET; on a miss, SET (the cache fill). The same seeded
   request sequence goes to every server and policy; a warm-up pass first, then the
   measured pass. The hit rate is hits / GETs of the measured pass.
   With --ttl, every fill sets EX, a random TTL in [ttl/2, ttl] (drawn from the same seed),
   and the TTL policies are compared (Mayfly's volatile-soonest among them when the server
   knows it).

Both servers start with --save '' --appendonly no on free loopback ports and are stopped
by PID at the end, also on errors and Ctrl-C (bench.py's Server class, on benchlib). The
machine may be shared: say so with the figures.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import benchlib  # noqa: E402
from resp import RespError, encode  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def mb(n):
    return "%.1f MB" % (n / (1 << 20))


def start(side, binary, workdir, maxmemory, policy):
    args = ["--maxmemory", str(maxmemory), "--maxmemory-policy", policy]
    return bench.Server(side, binary, workdir, args).start()


def used_and_evicted(srv):
    with srv.client() as c:
        mem = c.info("memory")
        st = c.info("stats")
    return int(mem.get("used_memory", 0)), int(st.get("evicted_keys", 0))


def fill_until_evicting(srv, value, batch=2000, limit=5_000_000):
    """Writes new keys until the server has evicted some (bounded by `limit` keys)."""
    with srv.client() as c:
        i = 0
        while i < limit:
            c.pipeline((encode("SET", "fill:%d" % (i + j), value) for j in range(batch)), batch)
            i += batch
            if int(c.info("stats").get("evicted_keys", 0)) > 0:
                return i
    raise RuntimeError("%s never evicted after %d keys" % (srv.side, limit))


# ---- 1. write throughput at the limit --------------------------------------------------

def throughput(args, binaries, workdir):
    rb = bench.resolve(args.redis_benchmark, "redis-benchmark")
    value_len = 100
    rows = {}  # (side, pipeline) -> [rps]
    after = {}
    for rnd in range(args.rounds):
        for side, binary in binaries:
            srv = start(side, binary, workdir, args.maxmemory, "allkeys-lru")
            try:
                fill_until_evicting(srv, "v" * value_len)
                for pl in (1, 16):
                    n = args.requests * (4 if pl > 1 else 1)
                    r = bench.run_redis_benchmark(
                        rb, srv, ["-d", str(value_len), "SET", "k:__rand_int__", "__data__"],
                        n, 50, pl, 100_000_000, 1, 600)
                    rows.setdefault((side, pl), []).append(r["rps"])
                    log("round %d %s -P %d: %.0f SET/s" % (rnd + 1, side, pl, r["rps"]))
                used, ev = used_and_evicted(srv)
                after[side] = (used, ev)
            finally:
                srv.stop()
    print("\n## Write throughput at the limit (allkeys-lru, maxmemory %s, SET of new keys, "
          "100 B values, 50 clients; median of %d rounds)\n" % (mb(args.maxmemory),
                                                               args.rounds))
    print("| pipeline | Mayfly SET/s | Redis SET/s | Mayfly/Redis |")
    print("| --- | ---: | ---: | ---: |")
    for pl in (1, 16):
        m = statistics.median(rows[("mayfly", pl)])
        r = statistics.median(rows[("redis", pl)])
        print("| -P %d | %.0f | %.0f | %.2fx |" % (pl, m, r, m / r))
    print()
    for side, (used, ev) in sorted(after.items()):
        print("- %s after the last round: used_memory %s (%.3f of maxmemory), evicted_keys %d"
              % (side, mb(used), used / args.maxmemory, ev))


# ---- 2. hit rate of a Zipf cache --------------------------------------------------------

def zipf_cum_weights(n, s):
    acc, cw = 0.0, []
    for rank in range(1, n + 1):
        acc += 1.0 / rank ** s
        cw.append(acc)
    return cw


def request_stream(args, seed):
    """The request sequence: key indices by Zipf popularity (rank mapped to a shuffled key
    so popularity is not in key order), and per request the TTL a fill would set."""
    rng = random.Random(seed)
    perm = list(range(args.keys))
    rng.shuffle(perm)
    cw = zipf_cum_weights(args.keys, args.zipf)
    ranks = rng.choices(range(args.keys), cum_weights=cw, k=args.requests_zipf * 2)
    keys = [perm[r] for r in ranks]
    ttls = [rng.randint(args.ttl // 2, args.ttl) for _ in keys] if args.ttl else None
    return keys, ttls


def run_cache(srv, keys, ttls, value, batch):
    """Plays the stream against srv; returns (hits, gets) of the second half."""
    half = len(keys) // 2
    hits = gets = 0
    with srv.client(timeout=120) as c:
        for at in range(0, len(keys), batch):
            chunk = keys[at:at + batch]
            c.sock.sendall(b"".join(encode("GET", "key:%d" % k) for k in chunk))
            replies = [c.read_reply() for _ in chunk]
            fills = []
            for j, (k, r) in enumerate(zip(chunk, replies)):
                if isinstance(r, RespError):
                    raise r
                if at + j >= half:
                    gets += 1
                    hits += r is not None
                if r is None:
                    if ttls:
                        fills.append(encode("SET", "key:%d" % k, value, "EX", ttls[at + j]))
                    else:
                        fills.append(encode("SET", "key:%d" % k, value))
            if fills:
                c.pipeline(fills, len(fills))
    return hits, gets


def hit_rate(args, binaries, workdir):
    keys, ttls = request_stream(args, args.seed)
    value = "v" * args.value_size
    policies = ["allkeys-lru", "allkeys-lfu"]
    if args.ttl:
        policies = ["volatile-lru", "volatile-lfu", "volatile-ttl", "volatile-soonest"]
    res, held_at = {}, {}
    for policy in policies:
        for side, binary in binaries:
            srv = start(side, binary, workdir, args.zipf_maxmemory, "noeviction")
            try:
                with srv.client() as c:
                    ok = c.try_call("CONFIG", "SET", "maxmemory-policy", policy)
                if isinstance(ok, RespError):
                    log("%s: %s: %s (skipped)" % (side, policy, ok))
                    continue
                t0 = time.monotonic()
                hits, gets = run_cache(srv, keys, ttls, value, args.batch)
                used, ev = used_and_evicted(srv)
                with srv.client() as c:
                    held = c.call("DBSIZE")
                res[(side, policy)] = hits / gets
                held_at[(side, policy)] = held
                log("%s %s: hit rate %.4f (%d/%d), evicted %d, keys held %d, used %s, %.1fs"
                    % (side, policy, hits / gets, hits, gets, ev, held, mb(used),
                       time.monotonic() - t0))
            finally:
                srv.stop()
    print("\n## Hit rate, Zipf(%.2f) over %d keys of %d B, maxmemory %s, %d requests after "
          "%d warm-up%s\n" % (args.zipf, args.keys, args.value_size,
                               mb(args.zipf_maxmemory), args.requests_zipf,
                               args.requests_zipf,
                               ", fills with EX in [%d, %d] s" % (args.ttl // 2, args.ttl)
                               if args.ttl else ""))
    print("| policy | Mayfly hit rate | Redis hit rate | Mayfly keys held | Redis keys held |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for policy in policies:
        cells = []
        for fmt, table in (("%.4f", res), ("%d", held_at)):
            for side in ("mayfly", "redis"):
                v = table.get((side, policy))
                cells.append(fmt % v if v is not None else "n/a")
        print("| %s | %s |" % (policy, " | ".join(cells[i] for i in (0, 1, 2, 3))))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER",
                                                      os.path.join(bench.REPO, "build",
                                                                   "mayfly-server")))
    p.add_argument("--redis", default=os.environ.get("REDIS_SERVER", "redis-server"))
    p.add_argument("--redis-benchmark", default=os.environ.get("REDIS_BENCHMARK",
                                                               "redis-benchmark"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="throughput,hitrate")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=200_000, help="SETs per -P 1 run")
    p.add_argument("--maxmemory", type=int, default=64 << 20)
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--zipf", type=float, default=0.99)
    p.add_argument("--zipf-maxmemory", type=int, default=32 << 20)
    p.add_argument("--requests-zipf", type=int, default=1_000_000)
    p.add_argument("--ttl", type=int, default=0, help="fills set EX in [ttl/2, ttl] seconds")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--seed", type=int, default=15)
    a = p.parse_args(argv)
    if a.quick:
        a.rounds, a.requests, a.keys, a.requests_zipf = 1, 50_000, 200_000, 200_000
        a.zipf_maxmemory = 8 << 20
        a.maxmemory = 32 << 20
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    binaries = [("mayfly", bench.resolve(args.mayfly, "mayfly")),
                ("redis", bench.resolve(args.redis, "redis"))]
    workdir = tempfile.mkdtemp(prefix="evict-bench-")
    print("# Eviction benchmark (%s)" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print("load average at start: %s" % benchlib.loadavg())
    try:
        only = args.only.split(",")
        if "throughput" in only:
            throughput(args, binaries, workdir)
        if "hitrate" in only:
            hit_rate(args, binaries, workdir)
    finally:
        benchlib.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
