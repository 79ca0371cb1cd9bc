#!/usr/bin/env python3
"""Mayfly vs Redis benchmark: throughput (redis-benchmark), memory, latency probes.

Public tools only: redis-benchmark (Debian redis-tools), redis-server (Debian) as the
reference, and the Python 3 standard library (a tiny RESP client lives in resp.py).

Both servers run on free loopback ports with `--save '' --appendonly no`, pinned to CPU 0
(clients to CPU 1) when the machine has two CPUs or more. Workloads run in interleaved
rounds (Mayfly, Redis, Mayfly, Redis, ...); the table shows medians and the ratio
Mayfly/Redis. The latency probes (latency.py: everything due at once, growth to 10M keys
and fields, FLUSHALL) measure PING from a separate C client while the work happens. Mayfly-only commands (HSETEX, HPEXPIRE, HTTL) are skipped with a note
when the server under test answers "unknown command" (e.g. when it is a Redis 7.0).

    python3 bench/bench.py               # full run (~10-15 min)
    python3 bench/bench.py --quick       # smoke test (~2 min)
    python3 bench/bench.py --mayfly /usr/bin/redis-server --quick   # validate the harness
See bench/README.md.
"""

import argparse
import hashlib
import csv
import io
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp import RespError, UnknownCommand, encode, is_unknown_command  # noqa: E402
import benchlib  # noqa: E402
import latency  # noqa: E402
import schedtrace  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALUE = "0123456789abcdef"  # 16-byte value used everywhere
SMALL_KEYS = 100_000  # -r for the "many small hashes" / SET / GET workloads
BIG_FIELDS = 1_000_000  # -r for the "one big hash" workloads
LONG_TTL_MS = 3_600_000  # TTL that never fires during a probe
BENCH_TTL_MS = 600_000

# Figures from a Redis 8 build (field TTL), bytes per field, used_memory delta / fields.
REDIS8_REF = {"small_ttl": 48.5, "big_ttl": 90.0}
TARGETS = {"small_ttl": 36.0, "big_ttl": 67.0}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------

class Server(benchlib.Server):
    """One server process on a free loopback port (benchlib.Server), with a TLS port when
    tls names a certificate directory (--tls) and extra redis-benchmark arguments for its
    side (--user, -a)."""

    def __init__(self, side, binary, workdir, extra_args=(), tls=None, bench_args=(), cpu=None):
        super().__init__(binary, side, extra_args, cpus=cpu, dir=os.path.join(workdir, side))
        self.side = side
        self.tls = tls  # certificate directory: also listen on a TLS port (--tls)
        self.bench_args = list(bench_args)  # extra redis-benchmark arguments (--user, -a)
        self.tls_port = None

    def argv(self):
        argv = super().argv()
        if self.tls:
            self.tls_port = benchlib.free_port()
            argv += ["--tls-port", str(self.tls_port),
                     "--tls-cert-file", os.path.join(self.tls, "server.crt"),
                     "--tls-key-file", os.path.join(self.tls, "server.key"),
                     "--tls-ca-cert-file", os.path.join(self.tls, "ca.crt")]
        return argv

    def start(self):
        super().start(timeout=15.0)
        return self


    def reset(self):
        """Empty the dataset: FLUSHALL, or a fresh process if FLUSHALL is not supported."""
        if not self.alive():
            self.start()
            return
        try:
            with self.client() as c:
                c.call("FLUSHALL")
        except (RespError, OSError, ConnectionError):
            self.restart()


# --------------------------------------------------------------------------------------
# Data loading (pipelined, pre-encoded, cached)
# --------------------------------------------------------------------------------------

_ENC_CACHE = {}


def rb_key(prefix, i):
    """Key/field name as redis-benchmark expands __rand_int__ (12-digit zero padded)."""
    return "%s%012d" % (prefix, i)


def enc_cached(name, gen):
    if name not in _ENC_CACHE:
        _ENC_CACHE[name] = list(gen())
    return _ENC_CACHE[name]


def load(server, cmds, batch=1000):
    with server.client(timeout=120.0) as c:
        return c.pipeline(cmds, batch=batch)


def preload_get(server, _n=SMALL_KEYS):
    load(server, enc_cached("get", lambda: (encode("SET", rb_key("k:", i), VALUE) for i in range(_n))))


def preload_hget(server, _n=SMALL_KEYS):
    fields = []
    for j in range(10):
        fields += ["f%d" % j, VALUE]
    load(server, enc_cached("hget", lambda: (encode("HSET", rb_key("hg:", i), *fields)
                                             for i in range(_n))))


def preload_hgetall(server):
    fields = []
    for j in range(10):
        fields += ["f%d" % j, VALUE]
    load(server, [encode("HSET", "hga", *fields)])


def preload_hx(server, _n=SMALL_KEYS):
    """100k small hashes with one field that has a TTL (for HPEXPIRE / HTTL)."""
    load(server, enc_cached("hx", lambda: (encode("HSET", rb_key("hx:", i), "f", VALUE)
                                           for i in range(_n))))
    load(server, enc_cached("hx-ttl", lambda: (encode("HPEXPIRE", rb_key("hx:", i), LONG_TTL_MS,
                                                      "FIELDS", 1, "f") for i in range(_n))))


def big_hash_fields(start, end):
    return ["f:%012d" % i for i in range(start, end)]  # as redis-benchmark's __rand_int__


def preload_bigh(server, ttl=False):
    """One hash "bigh" of BIG_FIELDS fields f:<12 digits> (every HGET hits); ttl: each field
    also gets a long TTL through HPEXPIRE (Redis 7.4 has it), for HTTL / HPEXPIRE."""
    def fill():
        for s in range(0, BIG_FIELDS, 1000):
            args = []
            for f in big_hash_fields(s, min(BIG_FIELDS, s + 1000)):
                args += [f, VALUE]
            yield encode("HSET", "bigh", *args)
    load(server, enc_cached("bigh", fill))
    if ttl:
        load(server, enc_cached("bigh-ttl", lambda: (
            encode("HPEXPIRE", "bigh", LONG_TTL_MS, "FIELDS", len(fs), *fs)
            for fs in (big_hash_fields(s, min(BIG_FIELDS, s + 1000))
                       for s in range(0, BIG_FIELDS, 1000)))))


def preload_bigh_ttl(server):
    preload_bigh(server, ttl=True)


# --------------------------------------------------------------------------------------
# Throughput (redis-benchmark)
# --------------------------------------------------------------------------------------

class Workload:
    def __init__(self, name, mayfly, redis, r=None, preload=None, big=False, needs=(),
                 baseline=None, note=""):
        self.name = name
        self.args = {"mayfly": mayfly, "redis": redis}  # redis=None: Mayfly-only row
        self.r = r
        self.preload = preload
        self.big = big
        self.needs = needs  # Mayfly-only commands: probe first, skip row if unknown
        self.baseline = baseline  # for Mayfly-only rows: compare against this row's Mayfly
        self.note = note


# A small hash script run by EVALSHA (the cache is filled by the preload, after FLUSHALL).
EVAL_SCRIPT = ("local n = redis.call('HINCRBY', KEYS[1], 'n', 1) "
               "redis.call('HSET', KEYS[1], 'v', ARGV[1]) "
               "return {n, redis.call('HGET', KEYS[1], 'v')}")
EVAL_SHA = hashlib.sha1(EVAL_SCRIPT.encode()).hexdigest()


def preload_script(server):
    with server.client() as c:
        c.call("SCRIPT", "LOAD", EVAL_SCRIPT)


def workloads():
    hset_small = ["HSET", "hs:__rand_int__", "f", VALUE]
    hset_big = ["HSET", "big", "f:__rand_int__", VALUE]
    return [
        Workload("PING", ["PING"], ["PING"]),
        Workload("SET", ["SET", "k:__rand_int__", VALUE], ["SET", "k:__rand_int__", VALUE],
                 r=SMALL_KEYS),
        Workload("GET (hit)", ["GET", "k:__rand_int__"], ["GET", "k:__rand_int__"],
                 r=SMALL_KEYS, preload=preload_get),
        Workload("HSET small hashes", hset_small, hset_small, r=SMALL_KEYS),
        Workload("HGET (hit)", ["HGET", "hg:__rand_int__", "f5"], ["HGET", "hg:__rand_int__", "f5"],
                 r=SMALL_KEYS, preload=preload_hget),
        Workload("HGETALL 10 fields", ["HGETALL", "hga"], ["HGETALL", "hga"],
                 preload=preload_hgetall),
        Workload("HSET one big hash", hset_big, hset_big, r=BIG_FIELDS, big=True),
        Workload("HSETEX PX small | HSET", ["HSETEX", "hs:__rand_int__", "PX", BENCH_TTL_MS,
                                            "FIELDS", 1, "f", VALUE],
                 hset_small, r=SMALL_KEYS, needs=("HSETEX",),
                 note="Mayfly HSETEX vs Redis HSET"),
        Workload("HSETEX PX big | HSET", ["HSETEX", "big", "PX", BENCH_TTL_MS, "FIELDS", 1,
                                          "f:__rand_int__", VALUE],
                 hset_big, r=BIG_FIELDS, big=True, needs=("HSETEX",),
                 note="Mayfly HSETEX vs Redis HSET"),
        Workload("HPEXPIRE", ["HPEXPIRE", "hx:__rand_int__", BENCH_TTL_MS, "FIELDS", 1, "f"], None,
                 r=SMALL_KEYS, preload=preload_hx, needs=("HPEXPIRE",),
                 baseline="HSET small hashes"),
        Workload("EVALSHA small hash script",
                 ["EVALSHA", EVAL_SHA, 1, "ev:__rand_int__", VALUE],
                 ["EVALSHA", EVAL_SHA, 1, "ev:__rand_int__", VALUE],
                 r=SMALL_KEYS, preload=preload_script),
        Workload("HTTL", ["HTTL", "hx:__rand_int__", "FIELDS", 1, "f"], None,
                 r=SMALL_KEYS, preload=preload_hx, needs=("HPEXPIRE", "HTTL"),
                 baseline="HSET small hashes"),
        Workload("HGET one big hash (hit)", ["HGET", "bigh", "f:__rand_int__"],
                 ["HGET", "bigh", "f:__rand_int__"], r=BIG_FIELDS, big=True,
                 preload=preload_bigh),
        Workload("HPEXPIRE one big hash", ["HPEXPIRE", "bigh", BENCH_TTL_MS, "FIELDS", 1,
                                           "f:__rand_int__"],
                 ["HPEXPIRE", "bigh", BENCH_TTL_MS, "FIELDS", 1, "f:__rand_int__"],
                 r=BIG_FIELDS, big=True, preload=preload_bigh_ttl, needs=("HPEXPIRE",)),
        Workload("HTTL one big hash", ["HTTL", "bigh", "FIELDS", 1, "f:__rand_int__"],
                 ["HTTL", "bigh", "FIELDS", 1, "f:__rand_int__"], r=BIG_FIELDS, big=True,
                 preload=preload_bigh_ttl, needs=("HPEXPIRE", "HTTL")),
    ]


PROBES = {
    "HSETEX": ["HSETEX", "__probe__", "PX", 1000, "FIELDS", 1, "f", "v"],
    "HPEXPIRE": ["HPEXPIRE", "__probe__", 1000, "FIELDS", 1, "f"],
    "HTTL": ["HTTL", "__probe__", "FIELDS", 1, "f"],
}


def probe_commands(server):
    """{command: None if supported else reason}. Leaves the dataset dirty (caller resets)."""
    out = {}
    with server.client() as c:
        c.try_call("HSET", "__probe__", "f", "v")
        for name, argv in PROBES.items():
            r = c.try_call(*argv)
            if isinstance(r, UnknownCommand):
                out[name] = "unknown command"
            elif isinstance(r, RespError):
                out[name] = "error: %s" % r
            else:
                out[name] = None
        c.try_call("DEL", "__probe__")
    return out


class BenchFailed(Exception):
    pass


CLIENT_CPU = None  # set by main() when pinning: redis-benchmark runs there


def run_redis_benchmark(rb, server, argv, n, clients, pipeline, r, threads, timeout):
    port = server.tls_port if server.tls else server.port
    extra = list(server.bench_args)
    if server.tls:
        extra += ["--tls", "--cacert", os.path.join(server.tls, "ca.crt"),
                  "--cert", os.path.join(server.tls, "client.crt"),
                  "--key", os.path.join(server.tls, "client.key")]
    if threads > 1:
        extra += ["--threads", str(threads)]
    try:
        p, out, err, _ = benchlib.redis_benchmark(port, argv, n, clients, pipeline, r, extra,
                                                  CLIENT_CPU, timeout, rb)
    except subprocess.TimeoutExpired:
        raise BenchFailed("redis-benchmark timed out after %.0fs" % timeout)
    if p.returncode != 0 and is_unknown_command(out + err):
        raise UnknownCommand("unknown command")
    rows = [row for row in csv.reader(io.StringIO(out)) if row]
    data = [row for row in rows if row[0] != "test"]
    if p.returncode != 0 or not data or not rows or rows[0][0] != "test":
        msg = (err.strip() or out.strip() or "no output").splitlines()
        raise BenchFailed("redis-benchmark rc=%d: %s" % (p.returncode, msg[-1][:200]))
    rec = dict(zip(rows[0], data[-1]))
    try:
        return {"rps": float(rec["rps"]), "p50": float(rec["p50_latency_ms"]),
                "p99": float(rec["p99_latency_ms"])}
    except (KeyError, ValueError):
        raise BenchFailed("cannot parse redis-benchmark CSV: %r" % out[:300])


def run_loadgen(binary, server, argv, n, clients, pipeline, r, timeout):
    """One run of bench/loadgen.c (mayfly-loadgen) on the client CPU: the same command,
    clients, depth and key space as redis-benchmark, replies counted without parsing."""
    cmd = [binary, "-p", str(server.port), "-c", str(clients), "-P", str(pipeline),
           "-n", str(n), "-t", str(timeout)]
    if r:
        cmd += ["-r", str(r)]
    try:
        p = subprocess.run(cmd + [str(a) for a in argv], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout + 30,
                           stdin=subprocess.DEVNULL, preexec_fn=benchlib.pinned(CLIENT_CPU))
    except subprocess.TimeoutExpired:
        raise BenchFailed("loadgen timed out after %.0fs" % timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if p.returncode != 0 and is_unknown_command(err):
        raise UnknownCommand("unknown command")
    rec = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
    if p.returncode != 0 or "ops_per_sec" not in rec:
        msg = (err.strip() or out.strip() or "no output").splitlines()
        raise BenchFailed("loadgen rc=%d: %s" % (p.returncode, msg[-1][:200]))
    return {"rps": float(rec["ops_per_sec"])}


GENERATORS = ("redis-benchmark", "loadgen")


def short_err(e):
    """"ERR unknown command 'HSETEX', with args beginning with: ..." -> up to the first comma."""
    return str(e).split(", with args")[0][:120]


def median(xs):
    return statistics.median(xs) if xs else None


def throughput(args, servers):
    wls = [w for w in workloads() if not args.workloads or
           any(s.lower() in w.name.lower() for s in args.workloads)]
    skip = {}  # (name, side) -> reason
    support = probe_commands(servers["mayfly"])
    for w in wls:
        for cmd in w.needs:
            if support.get(cmd):
                for side in ("mayfly", "redis"):
                    skip[(w.name, side)] = "%s: %s" % (cmd, support[cmd])
    res = {}  # (name, P, side, generator) -> [run dicts]
    total_runs = sum(len(args.pipelines) * sum(1 for s in ("mayfly", "redis")
                                               if w.args[s] is not None and (w.name, s) not in skip)
                     for w in wls) * args.rounds * len(args.generators)
    k = 0
    for rnd in range(args.rounds):
        for w in wls:
            for P in args.pipelines:
                for side, gen in ((s, g) for g in args.generators for s in ("mayfly", "redis")):
                    # interleaved A B A B ..., each generator in turn
                    if w.args[side] is None or (w.name, side) in skip:
                        continue
                    srv = servers[side]
                    k += 1
                    n = (args.big_requests if w.big else
                         args.requests if P == 1 else args.requests_pipelined)
                    try:
                        srv.reset()
                        if w.preload:
                            w.preload(srv)
                        cpu0 = srv.cpu_seconds()
                        if gen == "loadgen":
                            run = run_loadgen(args.loadgen, srv, w.args[side], n, args.clients,
                                              P, w.r, timeout=max(120.0, n / 2000.0))
                        else:
                            run = run_redis_benchmark(args.redis_benchmark, srv, w.args[side],
                                                      n, args.clients, P, w.r,
                                                      args.bench_threads,
                                                      timeout=max(120.0, n / 2000.0))
                        cpu1 = srv.cpu_seconds()
                        if cpu0 is not None and cpu1 is not None:
                            run["cpu_us"] = (cpu1 - cpu0) / n * 1e6
                            # CPU time over the generator's own measured span (n / ops/s)
                            run["busy"] = run["cpu_us"] * run["rps"] / 1e4
                    except UnknownCommand as e:
                        reason = "unknown command (%s)" % w.args[side][0]
                        log("  [%d/%d] round %d %-24s P%-2d %-6s skipped: %s"
                            % (k, total_runs, rnd + 1, w.name, P, side, reason))
                        skip[(w.name, side)] = reason
                        if side == "mayfly" and w.args["redis"] is not None:
                            skip[(w.name, "redis")] = "Mayfly side skipped"
                        continue
                    except (BenchFailed, RespError, OSError, ConnectionError) as e:
                        log("  [%d/%d] round %d %-24s P%-2d %-6s FAILED: %s"
                            % (k, total_runs, rnd + 1, w.name, P, side, e))
                        if not srv.alive():
                            log("  %s died; log tail:\n%s" % (side, srv.log_tail()))
                            srv.start()
                        continue
                    res.setdefault((w.name, P, side, gen), []).append(run)
                    lat = ("  p50 %.3f  p99 %.3f ms" % (run["p50"], run["p99"])
                           if "p50" in run else "")
                    log("  [%d/%d] round %d %-24s P%-2d %-6s %-15s %10.0f ops/s  busy %s%%%s"
                        % (k, total_runs, rnd + 1, w.name, P, side, gen, run["rps"],
                           "%.0f" % run["busy"] if "busy" in run else "-", lat))
    return wls, res, skip


def fmt_ops(x):
    return "-" if x is None else "%.0f" % x


def fmt_lat(runs):
    if not runs:
        return "-"
    return "%.3f/%.3f" % (median([r["p50"] for r in runs]), median([r["p99"] for r in runs]))


def fmt_cpu(runs):
    xs = [r["cpu_us"] for r in runs if "cpu_us" in r]
    return "-" if not xs else "%.2f" % median(xs)


def fmt_busy(runs):
    xs = [r["busy"] for r in runs if "busy" in r]
    return "-" if not xs else "%.0f" % median(xs)


def throughput_table(args, wls, res, skip, gen):
    """The table of one generator's runs: redis-benchmark's has its latency columns."""
    lines = []
    rb = gen == "redis-benchmark"
    fmt = "%-24s %3s %12s %12s %7s %13s " + ("%15s %15s " if rb else "") + "%9s %11s"
    hdr = (fmt % (("workload", "-P", "mayfly ops/s", "redis ops/s", "ratio", "round ratios")
                  + (("mayfly p50/p99", "redis p50/p99") if rb else ())
                  + ("busy% m/r", "cpu us m/r")))
    lines += [hdr, "-" * len(hdr)]
    rows = []
    for w in wls:
        for P in args.pipelines:
            a = res.get((w.name, P, "mayfly", gen), [])
            if w.args["redis"] is not None:
                b = res.get((w.name, P, "redis", gen), [])
                bname = "redis"
            else:  # Mayfly-only: against Mayfly's own baseline row
                b = res.get((w.baseline, P, "mayfly", gen), [])
                bname = "mayfly " + w.baseline
            ma = median([r["rps"] for r in a])
            mb = median([r["rps"] for r in b])
            ratio = ma / mb if ma and mb else None
            per_round = [x["rps"] / y["rps"] for x, y in zip(a, b) if y["rps"]]
            rr = ("%.2f..%.2f" % (min(per_round), max(per_round))) if per_round else "-"
            why = skip.get((w.name, "mayfly")) or skip.get((w.name, "redis"))
            if not a and why:
                lines.append("%-24s %3d   skipped: %s" % (w.name, P, why))
            else:
                b_ops = fmt_ops(mb) + ("*" if w.args["redis"] is None else "")
                lat = ((fmt_lat(a), fmt_lat(b) if w.args["redis"] is not None else "-")
                       if rb else ())
                lines.append(fmt % ((w.name, P, fmt_ops(ma), b_ops,
                                     "-" if ratio is None else "%.2f" % ratio, rr) + lat
                                    + (fmt_busy(a) + "/" + fmt_busy(b),
                                       fmt_cpu(a) + "/" + fmt_cpu(b))))
            rows.append({"workload": w.name, "pipeline": P, "generator": gen,
                         "mayfly": a, "reference": b,
                         "reference_is": bname, "mayfly_ops": ma, "reference_ops": mb,
                         "ratio": ratio, "skipped": why if not a else None})
    lines.append("")
    lines.append("ops/s: median over %d interleaved rounds; ratio = median(Mayfly)/median(Redis); "
                 "round ratios = min..max of per-round ratios (noise gauge)." % args.rounds)
    if rb:
        lines.append("p50/p99: redis-benchmark latency in ms (median over rounds); with -P 16 "
                     "it covers the whole pipelined batch.")
    else:
        lines.append("loadgen (bench/loadgen.c): same commands, -c, -P and -r as "
                     "redis-benchmark, at a fraction of its client CPU: the server is the "
                     "bottleneck (busy near 100%), so ops/s is the server's capacity.")
    lines.append("busy%: the server's CPU time (every thread, /proc/PID/task/*/schedstat) "
                 "over the generator's measured time (n / ops/s); cpu us: that CPU time per "
                 "request; Mayfly/reference, medians over rounds. Busy well below 100% = the "
                 "client was the bottleneck.")
    lines.append("HSETEX rows: Mayfly HSETEX ... PX vs Redis HSET on the same keys. "
                 "*: Mayfly-only rows (HPEXPIRE, HTTL) are compared with Mayfly's own "
                 "'HSET small hashes' at the same -P.")
    return lines, rows


# --------------------------------------------------------------------------------------
# Memory probe
# --------------------------------------------------------------------------------------

def small_hash_cmds(nkeys, ttl_args, prefix="h:"):
    """nkeys hashes x 10 fields. ttl_args=None -> HSET; else HSETEX key <ttl_args> FIELDS 10."""
    fv = []
    for j in range(10):
        fv += ["f%d" % j, None]
    for i in range(nkeys):
        key = "%s%d" % (prefix, i)
        pairs = []
        for j in range(10):
            pairs += ["f%d" % j, "%016d" % (i * 10 + j)]
        if ttl_args is None:
            yield encode("HSET", key, *pairs)
        else:
            yield encode("HSETEX", key, *ttl_args, "FIELDS", 10, *pairs)


def big_hash_cmds(nfields, ttl_args, per_cmd=1000, key="big"):
    for start in range(0, nfields, per_cmd):
        end = min(nfields, start + per_cmd)
        pairs = []
        for j in range(start, end):
            pairs += ["f%d" % j, "%016d" % j]
        if ttl_args is None:
            yield encode("HSET", key, *pairs)
        else:
            yield encode("HSETEX", key, *ttl_args, "FIELDS", end - start, *pairs)


def mem_cases(nfields):
    nkeys = nfields // 10
    return [
        ("small", "%dk hashes x 10 fields" % (nkeys // 1000), False,
         lambda ttl: small_hash_cmds(nkeys, ttl), nkeys),
        ("small_ttl", "%dk hashes x 10 fields, TTL" % (nkeys // 1000), True,
         lambda ttl: small_hash_cmds(nkeys, ttl), nkeys),
        ("big", "1 hash x %s fields" % human(nfields), False,
         lambda ttl: big_hash_cmds(nfields, ttl), 1),
        ("big_ttl", "1 hash x %s fields, TTL" % human(nfields), True,
         lambda ttl: big_hash_cmds(nfields, ttl), 1),
    ]


def human(n):
    return "%gM" % (n / 1e6) if n >= 1_000_000 else "%gk" % (n / 1e3)


def memory_probe(args, servers):
    nfields = args.fields
    out = []
    servers["mayfly"].restart()
    hsetex = probe_commands(servers["mayfly"]).get("HSETEX")
    for cid, label, ttl, gen, nkeys in mem_cases(nfields):
        for side in ("mayfly", "redis"):
            srv = servers[side]
            rec = {"case": cid, "label": label, "side": side, "fields": nfields}
            if ttl and side == "redis":
                rec["skipped"] = "Redis 7.0 has no field TTL (see reference figures)"
                out.append(rec)
                continue
            if ttl and hsetex:
                rec["skipped"] = "HSETEX: %s" % hsetex
                log("  memory %-32s %-6s skipped: %s" % (label, side, rec["skipped"]))
                out.append(rec)
                continue
            try:
                srv.restart()  # fresh process per case: allocator state and RSS start clean
                um0, rss0 = srv.mem()
                t0 = time.monotonic()
                load(srv, gen(["PX", LONG_TTL_MS] if ttl else None), batch=200)
                rec["load_s"] = time.monotonic() - t0
                with srv.client() as c:
                    dbsize = c.call("DBSIZE")
                if dbsize != nkeys:
                    raise RuntimeError("DBSIZE %s after load, expected %d" % (dbsize, nkeys))
                time.sleep(0.3)
                um1, rss1 = srv.mem()
                rec.update({"used_memory_empty": um0, "used_memory": um1, "rss_empty": rss0,
                            "rss": rss1,
                            "used_per_field": (um1 - um0) / nfields if um0 is not None
                            and um1 is not None else None,
                            "rss_per_field": (rss1 - rss0) / nfields})
                log("  memory %-32s %-6s used %s B/field, rss %.1f B/field (load %.1fs)"
                    % (label, side, "-" if rec["used_per_field"] is None else
                       "%.1f" % rec["used_per_field"], rec["rss_per_field"], rec["load_s"]))
            except UnknownCommand as e:
                rec["skipped"] = short_err(e)
                log("  memory %-32s %-6s skipped: %s" % (label, side, rec["skipped"]))
            except (RespError, RuntimeError, OSError, ConnectionError) as e:
                rec["skipped"] = "FAILED: %s" % e
                log("  memory %-32s %-6s FAILED: %s" % (label, side, e))
            out.append(rec)
    for s in servers.values():
        s.stop()
    return out


def memory_keys_probe(args, servers):
    """used_memory per key for args.mem_keys small string keys (SET k:<i> <16 bytes>)."""
    out = []
    for side, srv in servers.items():
        rec = {"case": "keys", "side": side, "keys": args.mem_keys}
        try:
            srv.restart()
            um0, rss0 = srv.mem()
            t0 = time.monotonic()
            latency.load_in_child(srv.port, "keys", (args.mem_keys, False), None,
                                  args.client_cpu)
            rec["load_s"] = time.monotonic() - t0
            with srv.client() as c:
                if c.call("DBSIZE") != args.mem_keys:
                    raise RuntimeError("DBSIZE after load is not %d" % args.mem_keys)
            time.sleep(0.3)
            um1, rss1 = srv.mem()
            rec["used_per_key"] = (um1 - um0) / args.mem_keys
            rec["rss_per_key"] = (rss1 - rss0) / args.mem_keys
            rec["used_memory"] = um1
            log("  memory %-32s %-6s used %.1f B/key, rss %.1f B/key"
                % ("%s string keys" % human(args.mem_keys), side, rec["used_per_key"],
                   rec["rss_per_key"]))
        except (RespError, RuntimeError, OSError, ConnectionError) as e:
            rec["skipped"] = "FAILED: %s" % e
            log("  memory keys %-6s FAILED: %s" % (side, e))
        finally:
            srv.stop()
        out.append(rec)
    return out


def memory_keys_table(args, recs):
    by = {r["side"]: r for r in recs}
    a, b = by.get("mayfly", {}), by.get("redis", {})

    def cell(r):
        if not r or r.get("skipped"):
            return (r or {}).get("skipped", "-")
        return "%.1f/%.1f" % (r["used_per_key"], r["rss_per_key"])

    ratio = ("%.2f" % (a["used_per_key"] / b["used_per_key"])
             if a.get("used_per_key") and b.get("used_per_key") else "-")
    label = "%s string keys (bytes/key)" % human(args.mem_keys)
    return ["%-30s %18s %18s %7s" % (label, cell(a), cell(b), ratio),
            "  (SET k:<i> <16-byte value>, used/rss per key; target: Mayfly <= Redis, ratio <= 1)"]


def memory_table(args, recs):
    by = {(r["case"], r["side"]): r for r in recs}
    lines = []
    hdr = ("%-30s %18s %18s %7s   %18s"
           % ("case (bytes per field)", "mayfly used/rss", "redis used/rss", "ratio",
              "Redis 8 ref/target"))
    lines += [hdr, "-" * len(hdr)]

    def cell(r):
        if r is None:
            return "-"
        if r.get("skipped"):
            return "skipped"
        u = r.get("used_per_field")
        return "%s/%.1f" % ("-" if u is None else "%.1f" % u, r["rss_per_field"])

    for cid, label, ttl, _, _ in mem_cases(args.fields):
        a, b = by.get((cid, "mayfly")), by.get((cid, "redis"))
        ratio = "-"
        if ttl:
            ref = "%.1f / <=%.0f" % (REDIS8_REF[cid], TARGETS[cid])
            if a and a.get("used_per_field"):
                ratio = "%.2f" % (a["used_per_field"] / REDIS8_REF[cid])
            bcell = "n/a (7.0)"
        else:
            ref = ""
            if a and b and a.get("used_per_field") and b.get("used_per_field"):
                ratio = "%.2f" % (a["used_per_field"] / b["used_per_field"])
            bcell = cell(b)
        lines.append("%-30s %18s %18s %7s   %18s" % (label, cell(a), bcell, ratio, ref))
        if a and a.get("skipped"):
            lines.append("%-30s   mayfly: %s" % ("", a["skipped"]))
    lines.append("")
    lines.append("used = INFO memory used_memory delta over the empty server / %d fields; "
                 "rss = /proc/PID/statm resident delta / fields. Fresh server per case. 16-byte "
                 "values; field names f0..f9 (small) or f<N> (big); TTL rows use HSETEX PX."
                 % args.fields)
    lines.append("ratio: used Mayfly/Redis 7.0 (no TTL rows); Mayfly/Redis 8 reference (TTL rows,"
                 " whose Redis 8 figures were measured with 1M fields elsewhere).")
    if args.fields != 1_000_000:
        lines.append("NOTE: %d fields (not 1M): quick mode, figures are indicative only."
                     % args.fields)
    return lines


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER",
                                                       os.path.join(REPO, "build", "mayfly-server")),
                    help="server under test (env MAYFLY_SERVER); may be a redis-server")
    ap.add_argument("--redis", default=os.environ.get("REDIS_SERVER", "redis-server"),
                    help="reference server (env REDIS_SERVER)")
    ap.add_argument("--redis-benchmark", default=os.environ.get("REDIS_BENCHMARK",
                                                                "redis-benchmark"))
    ap.add_argument("--mayfly-args", default="", help="extra server arguments (shell-split)")
    ap.add_argument("--redis-args", default="", help="extra server arguments (shell-split)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: fewer requests and 200k fields in the probes (~2 min)")
    ap.add_argument("--rounds", type=int,
                    help="interleaved rounds, medians over them (default 5; quick 3)")
    ap.add_argument("--requests", type=int, help="requests per run at -P 1 (default 100000)")
    ap.add_argument("--requests-pipelined", type=int,
                    help="requests per run at -P 16 (default 500000)")
    ap.add_argument("--big-requests", type=int,
                    help="requests per run for the one-big-hash rows (default 300000)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16", help="comma-separated -P values")
    ap.add_argument("--bench-threads", type=int, default=1, help="redis-benchmark --threads")
    ap.add_argument("--generators", default=",".join(GENERATORS),
                    help="throughput load generators, comma-separated: redis-benchmark "
                         "and/or loadgen (bench/loadgen.c; not with --tls or --*-bench-args)")
    ap.add_argument("--loadgen", default=os.path.join(REPO, "build", "mayfly-loadgen"),
                    help="the load generator (bench/loadgen.c, built by make build)")
    ap.add_argument("--fields", type=int,
                    help="fields in the memory/expiry probes (default 1000000; quick 200000)")
    ap.add_argument("--expiry-margin", type=float,
                    help="seconds from load start to the common deadline (default 10; quick 3)")
    ap.add_argument("--expiry-timeout", type=float, default=120.0,
                    help="give up waiting for active expiry after this many seconds")
    ap.add_argument("--only", default="throughput,memory,expiry,growth,flush",
                    help="comma-separated parts to run: throughput,memory,expiry,growth,flush "
                         "(latency = expiry,growth,flush)")
    ap.add_argument("--growth-fields", type=int,
                    help="keys and fields of the growth probes (default 10000000; quick 1000000)")
    ap.add_argument("--growth-rate", type=int, metavar="N",
                    help="growth probes: also load at N keys or fields a second, evenly, the "
                         "main thread under --main-sched's expiry policy (rows keys-paced, "
                         "hash-paced; default 300000, quick 100000; 0: none), besides the "
                         "rows as fast as each server takes them")
    ap.add_argument("--flush-keys", type=int,
                    help="keys before the FLUSHALL probe (default 5000000; quick 500000)")
    ap.add_argument("--mem-keys", type=int,
                    help="small string keys of the memory probe (default 5000000; quick 500000)")
    ap.add_argument("--pin", choices=("auto", "on", "off"), default="auto",
                    help="servers on CPU 0, clients on CPU 1 (auto: when there are 2+ CPUs)")
    ap.add_argument("--pin-scope", choices=("main", "process"), default="main",
                    help="what --pin puts on CPU 0: each server's main thread (its other "
                         "threads run anywhere; Redis and Mayfly alike) or the whole process")
    ap.add_argument("--main-sched", choices=("auto", "fifo", "other"), default="auto",
                    help="latency probes with --pin-scope main: each server's main thread "
                         "and the probe's connections under SCHED_FIFO in the measured "
                         "windows (no ordinary thread of the machine preempts them; needs "
                         "root / CAP_SYS_NICE, else as started): fifo in every window "
                         "(expiry: from the end of the load; growth: the whole load; "
                         "FLUSHALL: the command), auto (default) in the expiry windows only "
                         "(a main thread busy for most of a second, as in growth, meets "
                         "real-time throttling), other: as started")
    ap.add_argument("--sched-trace", choices=("auto", "probe", "off"), default="auto",
                    help="latency probes: record the kernel's sched_switch events of the "
                         "servers' CPU in each window (a tracefs instance of its own; auto: "
                         "where tracefs is writable) and read its steal time, to tell who "
                         "preempted the main thread from the server's own turns; probe: "
                         "also the probe's switches and wake-ups, to split every PING over "
                         "2 ms into its legs (slower: about twice the events to read)")
    ap.add_argument("--latprobe", default=os.path.join(REPO, "build", "mayfly-latprobe"),
                    help="the latency probe (bench/latprobe.c, built by make build)")
    ap.add_argument("--workloads", nargs="*",
                    help="only throughput rows whose name contains one of these")
    ap.add_argument("--cases", default="",
                    help="only these latency cases (comma-separated ids: hash1m, keys1m, "
                         "hashes10m, idle, keys, hash, keys-paced, hash-paced, flush); "
                         "default all")
    ap.add_argument("--redis74", default=os.environ.get("REDIS74_SERVER", ""),
                    help="reference server of the latency probes (env REDIS74_SERVER): a "
                         "Redis 7.4+ build has field TTLs, so the field cases get a Redis "
                         "column; default: --redis")
    ap.add_argument("--spin", choices=("idle", "normal", "off"), default="idle",
                    help="the latency probes' machine-floor thread (latprobe --spin): "
                         "SCHED_IDLE, normal priority, or none")
    ap.add_argument("--json", help="also write all raw results to this JSON file")
    ap.add_argument("--keep-logs", action="store_true", help="keep server logs (temp dir)")
    ap.add_argument("--tls", action="store_true",
                    help="throughput over TLS: certificates are made at start "
                         "(tests/tls/gen-certs.sh), both servers get a tls-port and "
                         "redis-benchmark --tls uses it (preloading stays on the plain port)")
    ap.add_argument("--mayfly-bench-args", default="",
                    help="extra redis-benchmark arguments for the Mayfly side (shell-split), "
                         "e.g. \"--user app -a secret\" to run as a restricted ACL user")
    ap.add_argument("--redis-bench-args", default="",
                    help="extra redis-benchmark arguments for the reference side")
    a = ap.parse_args(argv)
    q = a.quick
    a.rounds = a.rounds or (3 if q else 5)
    if a.rounds < 1:
        ap.error("--rounds must be >= 1")
    a.requests = a.requests or (10_000 if q else 100_000)
    a.requests_pipelined = a.requests_pipelined or (50_000 if q else 500_000)
    a.big_requests = a.big_requests or (20_000 if q else 300_000)
    a.fields = a.fields or (200_000 if q else 1_000_000)
    a.growth_fields = a.growth_fields or (1_000_000 if q else 10_000_000)
    if a.growth_rate is None:
        a.growth_rate = 100_000 if q else 300_000
    a.flush_keys = a.flush_keys or (500_000 if q else 5_000_000)
    a.mem_keys = a.mem_keys or (500_000 if q else 5_000_000)
    pin = a.pin == "on" or (a.pin == "auto" and (os.cpu_count() or 1) >= 2
                            and shutil.which("taskset"))
    a.server_cpu, a.client_cpu = (0, 1) if pin else (None, None)
    if a.growth_rate < 0:
        ap.error("--growth-rate must be >= 0")
    if a.growth_fields % 100 or a.growth_fields < 1000:
        ap.error("--growth-fields must be a multiple of 100 and >= 1000")
    if a.fields % 10 or a.fields < 1000:
        ap.error("--fields must be a multiple of 10 and >= 1000")
    a.expiry_margin = a.expiry_margin or (3.0 if q else 10.0)
    if q:
        a.expiry_timeout = min(a.expiry_timeout, 60.0)
    a.pipelines = [int(x) for x in a.pipelines.split(",") if x.strip()]
    a.generators = [x.strip() for x in a.generators.split(",") if x.strip()]
    if not a.generators or set(a.generators) - set(GENERATORS):
        ap.error("--generators: a list of %s" % ", ".join(GENERATORS))
    if "loadgen" in a.generators and (a.tls or a.mayfly_bench_args or a.redis_bench_args):
        a.generators.remove("loadgen")  # it speaks plain RESP without AUTH
        if not a.generators:
            ap.error("loadgen has no TLS or AUTH: add redis-benchmark to --generators")
    a.only = {x.strip() for x in a.only.split(",") if x.strip()}
    if "latency" in a.only:  # every latency probe: --only latency
        a.only = (a.only - {"latency"}) | {"expiry", "growth", "flush"}
    a.spin = None if a.spin == "off" else a.spin
    a.cases = {x.strip() for x in a.cases.split(",") if x.strip()}
    return a


def schedtrace_ok(cpu):
    """Whether a tracefs instance can trace sched_switch on cpu here (tried, then removed)."""
    t = schedtrace.SchedTrace(cpu, name="mayfly-bench-check", buffer_kb=64)
    try:
        return t.start() and t.stop() is not None and t.ok
    finally:
        t.close()


def resolve(binary, what):
    path = binary if os.sep in binary else shutil.which(binary)
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        hint = " (run `make build` or pass --mayfly PATH)" if what == "mayfly" else ""
        sys.exit("bench: %s binary not found: %s%s" % (what, binary, hint))
    return os.path.abspath(path)


def server_version(binary):
    try:
        p = subprocess.run([binary, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10, stdin=subprocess.DEVNULL)
        return p.stdout.decode(errors="replace").strip().splitlines()[0][:100]
    except Exception:
        return "?"


def _on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.mayfly = resolve(args.mayfly, "mayfly")
    args.redis = resolve(args.redis, "redis")
    args.redis_benchmark = resolve(args.redis_benchmark, "redis-benchmark")
    if args.only & {"expiry", "growth", "flush"}:
        args.latprobe = resolve(args.latprobe, "latprobe")
    if "throughput" in args.only and "loadgen" in args.generators:
        args.loadgen = resolve(args.loadgen, "loadgen")
    if args.redis74:
        args.redis74 = resolve(args.redis74, "redis74")
    global CLIENT_CPU
    CLIENT_CPU = args.client_cpu
    benchlib.PIN_SCOPE = args.pin_scope
    housekeeping, steered = [], []
    if args.server_cpu is not None and args.pin_scope == "main":
        # Only the main threads on the servers' CPU: their other threads (Redis's bio,
        # Mayfly's lazy free and purges, both sides' jemalloc threads) and this harness
        # (which polls INFO during the probes) go with the clients.
        benchlib.OTHER_CPUS = {args.client_cpu}
        os.sched_setaffinity(0, {args.client_cpu})
        housekeeping = benchlib.move_housekeeping({args.client_cpu})
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    workdir = tempfile.mkdtemp(prefix="mayfly-bench-")
    t_start = time.monotonic()
    report = []
    raw = {"args": {k: v for k, v in vars(args).items() if k != "only"}}
    ok = False
    err = 130
    try:
        certs = None
        if args.tls:
            certs = os.path.join(workdir, "certs")
            subprocess.run(["sh", os.path.join(REPO, "tests", "tls", "gen-certs.sh"), certs],
                           check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        servers = {
            "mayfly": Server("mayfly", args.mayfly, workdir, shlex.split(args.mayfly_args),
                             certs, shlex.split(args.mayfly_bench_args), args.server_cpu),
            "redis": Server("redis", args.redis, workdir, shlex.split(args.redis_args),
                            certs, shlex.split(args.redis_bench_args), args.server_cpu),
        }
        report.append("Mayfly benchmark  %s" % time.strftime("%Y-%m-%d %H:%M:%S"))
        report.append("  mayfly: %s  (%s)" % (args.mayfly, server_version(args.mayfly)))
        report.append("  redis : %s  (%s)" % (args.redis, server_version(args.redis)))
        report.append("  client: %s (%s); host: %s, %d CPUs, load avg %s"
                      % (args.redis_benchmark, "-c %d" % args.clients, socket.gethostname(),
                         os.cpu_count() or 0, "%.2f %.2f %.2f" % os.getloadavg()))
        if "throughput" in args.only:
            report.append("  rounds %d, requests %d (-P 1) / %d (-P 16) / %d (big hash)%s%s"
                          % (args.rounds, args.requests, args.requests_pipelined,
                             args.big_requests, ", QUICK MODE" if args.quick else "",
                             ", OVER TLS" if args.tls else ""))
        for side in ("mayfly", "redis"):
            extra = getattr(args, side + "_args") + " " + getattr(args, side + "_bench_args")
            if extra.strip():
                report.append("  %s extra: %s" % (side, extra.strip()))
        lat_servers = servers
        if args.redis74 and args.only & {"expiry", "growth", "flush"}:
            lat_servers = {"mayfly": servers["mayfly"],
                           "redis": Server("redis74", args.redis74, workdir,
                                           shlex.split(args.redis_args), None, (),
                                           args.server_cpu)}
            report.append("  latency probes' redis: %s  (%s)"
                          % (args.redis74, server_version(args.redis74)))
        report.append("  %s" % ("servers pinned to CPU %d (%s), clients (redis-benchmark, "
                                "loaders, probes%s) to CPU %d"
                                % (args.server_cpu, "main thread only" if args.pin_scope == "main"
                                   else "every thread",
                                   ", the servers' other threads, the harness"
                                   if args.pin_scope == "main" else "", args.client_cpu)
                                if args.server_cpu is not None else "no CPU pinning"))
        if housekeeping:
            report.append("  kernel housekeeping moved to CPU %d for the run: %s"
                          % (args.client_cpu, ", ".join(sorted({c for _, c, _ in housekeeping}))))
        if args.only & {"expiry", "growth", "flush"}:
            fifo = args.server_cpu is not None and args.pin_scope == "main" \
                and args.main_sched != "other" and benchlib.policy_allowed("fifo")
            latency.EXPIRY_POLICY = "fifo" if fifo else None
            latency.GROWTH_POLICY = "fifo" if fifo and args.main_sched == "fifo" else None
            parts = [p for p, pol in (("expiry and paced growth", latency.EXPIRY_POLICY),
                                      ("growth and FLUSHALL", latency.GROWTH_POLICY)) if pol]
            report.append("  latency probes: servers' main threads and the probe's connections "
                          "%s (Redis and Mayfly alike; --main-sched %s)"
                          % ("SCHED_FIFO in every window" if len(parts) == 2 else
                             "SCHED_FIFO in the %s windows, as started (SCHED_OTHER) in the "
                             "others" % parts[0] if parts else
                             "as started (SCHED_OTHER%s)" % (
                                 ", SCHED_FIFO not allowed here"
                                 if args.main_sched != "other" and args.server_cpu is not None
                                 and args.pin_scope == "main" else ""),
                             args.main_sched))
        asked = args.sched_trace
        args.sched_trace = asked != "off" and args.server_cpu is not None \
            and args.only & {"expiry", "growth", "flush"} and schedtrace_ok(args.server_cpu)
        args.sched_probe = bool(args.sched_trace) and asked == "probe"
        if args.only & {"expiry", "growth", "flush"}:
            report.append("  latency probes: servers' CPU %s" % (
                "traced (sched_switch, tracefs) and its steal read in each window%s"
                % (", with the probe's side (--sched-trace probe)" if args.sched_probe else "")
                if args.sched_trace else "not traced (--sched-trace off, no pinning or no "
                "writable tracefs); its steal read in each window"
                if args.server_cpu is not None else "not traced (no pinning)"))
        if args.rounds < 3 and "throughput" in args.only:
            report.append("  WARNING: fewer than 3 rounds: medians are not robust")
        report.append("")
        if "throughput" in args.only:
            log("== throughput (%s) ==" % ", ".join(args.generators))
            for s in servers.values():
                s.start()
            wls, res, skip = throughput(args, servers)
            raw["throughput"] = []
            for gen in args.generators:
                lines, rows = throughput_table(args, wls, res, skip, gen)
                raw["throughput"] += rows
                report += ["== Throughput (%s) ==" % gen] + lines + [""]
            for s in servers.values():
                s.stop()
        if "memory" in args.only:
            log("== memory probe ==")
            recs = memory_probe(args, servers)
            keys = memory_keys_probe(args, servers)
            raw["memory"] = recs + keys
            report += ["== Memory per field ==", *memory_table(args, recs),
                       *memory_keys_table(args, keys), ""]
        if housekeeping and args.only & {"expiry", "growth", "flush"}:
            steered = benchlib.steer_kernel_work({args.client_cpu})
            if steered:
                report.insert(report.index("") if "" in report else len(report),
                              "  latency probes: kernel work steered to CPU %d: %s"
                              % (args.client_cpu, ", ".join(l for _, l, _ in steered)))
        if "expiry" in args.only:
            log("== expiry latency probe ==")
            recs = latency.expiry_probe(args, lat_servers)
            raw["expiry"] = recs
            report += ["== Everything due at once ==", *latency.expiry_table(args, recs), ""]
        grow = []
        if "growth" in args.only:
            log("== growth latency probe ==")
            grow += latency.idle_probe(args, lat_servers)
            grow += latency.growth_probe(args, lat_servers)
        if "flush" in args.only:
            log("== FLUSHALL latency probe ==")
            grow += latency.flush_probe(args, lat_servers)
        if grow:
            raw["growth"] = grow
            report += ["== Growth and FLUSHALL ==", *latency.growth_table(args, grow), ""]
        report.append("Total time %.0fs. Shared/noisy machines: trust ratios of interleaved "
                      "rounds, not absolute numbers; rerun if round ratios spread widely."
                      % (time.monotonic() - t_start))
        ok = True
    except KeyboardInterrupt:
        log("bench: interrupted, stopping servers")
    except (RuntimeError, OSError, ConnectionError, RespError) as e:
        log("bench: error: %s" % e)
        err = 1
    finally:
        benchlib.stop_all()
        benchlib.unsteer_kernel_work(steered)
        benchlib.restore_housekeeping(housekeeping)
        if args.keep_logs:
            log("bench: server logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if report:
        print("\n".join(report), flush=True)
    if args.json and ok:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1, default=str)
    return 0 if ok else err


if __name__ == "__main__":
    sys.exit(main())
