#!/usr/bin/env python3
"""Replication: write throughput with replicas attached, and full-sync time; Mayfly against
Redis.

    python3 bench/repl_bench.py              # 3 interleaved rounds, 500k requests, 1M fields
    python3 bench/repl_bench.py --quick      # 1 round, 100k requests, 200k fields

1. Throughput at -P 16 (redis-benchmark -c 50 -P 16, SET and HSET on 100k keys) on a
   primary with 0, 1 and 2 replicas attached (each a server of the same kind, in sync
   before the run), as ops/s and the ratio to the same primary with none. Redis runs the
   same rows for reference. On a small machine the replicas and redis-benchmark share the
   cores with the primary, so ops/s falls with every process added whatever the primary
   does; the primary's own CPU time per write (INFO cpu, user + sys) says what replication
   costs it: "capacity ratio" = CPU per write without replicas / with them, the
   throughput the primary would keep on cores of its own.
2. Full-sync time of a dataset of --fields fields: an empty replica is told REPLICAOF and
   the clock runs until its master_link_status is up (snapshot forked, sent diskless,
   loaded). Rows: "small+ttl" (hashes of 100 fields, each field with its own TTL) and
   "big+ttl" (one hash of all the fields) on Mayfly; "small" and "big" (the same fields
   without TTLs) on Mayfly and on Debian's Redis 7.0, which has no field TTLs.

Rounds interleave the servers so that the drift of a shared machine affects them alike; the
tables show medians. Every server runs in its own temp directory on a free loopback port
(--save '' --appendonly no --repl-diskless-sync-delay 0) and is stopped by PID at the end,
also on errors and Ctrl-C.
"""
import argparse
import csv
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp import Client, encode  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, extra=()):
        self.binary, self.extra = binary, list(extra)
        self.dir = tempfile.mkdtemp(prefix="mayfly-replbench-")
        self.port = free_port()
        self.proc = None
        ALL.append(self)

    def start(self):
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--logfile",
                os.path.join(self.dir, "log"), "--repl-diskless-sync-delay", "0"] + self.extra
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2000):
            try:
                with Client(self.port, timeout=5) as c:
                    if c.try_call("PING") == "PONG":
                        return
            except (OSError, ConnectionError):
                pass
            time.sleep(0.005)
        raise RuntimeError("%s did not start" % self.binary)

    def client(self, timeout=600):
        return Client(self.port, timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def link_up(replica):
    with replica.client() as c:
        return c.info("replication").get("master_link_status") == "up"


def replicate(replica, primary, timeout=600):
    """REPLICAOF, then waits for the link; returns the seconds it took."""
    with replica.client() as c:
        t0 = time.monotonic()
        c.call("REPLICAOF", "127.0.0.1", primary.port)
        while time.monotonic() - t0 < timeout:
            if c.info("replication").get("master_link_status") == "up":
                return time.monotonic() - t0
            time.sleep(0.005)
    raise RuntimeError("no sync within %s s" % timeout)


# ---- 1. throughput ----------------------------------------------------------------------

TESTS = [("SET", ["SET", "k:__rand_int__", "0123456789abcdef"]),
         ("HSET", ["HSET", "h:__rand_int__", "f", "0123456789abcdef"])]


def bench_once(port, argv, n):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-P", "16", "-n",
                          str(n), "-r", "100000", "--csv"] + argv,
                         capture_output=True, text=True, timeout=600).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return float(rows[-1][1])


def primary_cpu(server):
    """The server process's CPU seconds so far (INFO cpu: user + sys of the main process)."""
    with server.client() as c:
        cpu = c.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def wait_replicas(primary, replicas):
    """The replicas kept up: the same offset everywhere once the primary is idle."""
    with primary.client() as c:
        off = c.info("replication")["master_repl_offset"]
    for r in replicas:
        for _ in range(2000):
            with r.client() as rc:
                if rc.info("replication")["slave_repl_offset"] == off:
                    break
            time.sleep(0.01)
        else:
            raise RuntimeError("a replica did not catch up")


def throughput_round(binary, n, res):
    """One round of 0, 1 and 2 replicas for one server kind: ops/s and the primary's CPU
    seconds per million writes go into res[(test, replicas)]."""
    for nrep in (0, 1, 2):
        primary = Server(binary)
        primary.start()
        replicas = [Server(binary) for _ in range(nrep)]
        for r in replicas:
            r.start()
            replicate(r, primary)
        for name, argv in TESTS:
            with primary.client() as c:
                c.call("FLUSHALL")
            cpu0 = primary_cpu(primary)
            ops = bench_once(primary.port, argv, n)
            cpu = primary_cpu(primary) - cpu0
            res.setdefault((name, nrep), []).append((ops, cpu * 1e6 / n))
        wait_replicas(primary, replicas)
        for s in replicas + [primary]:
            s.stop()


# ---- 2. full-sync time ---------------------------------------------------------------------

def datasets(fields, ttl):
    base = int(time.time() * 1000) + 3600 * 1000
    small_keys = max(1, fields // 100)

    def small():
        for k in range(small_keys):
            args = ["HSET", "h:%d" % k]
            for f in range(100):
                args += ["f%d" % f, "value:%d:%d" % (k, f)]
            yield encode(*args)
            if ttl:
                for f in range(100):
                    yield encode("HPEXPIREAT", "h:%d" % k, base + k * 100 + f, "FIELDS", 1,
                                 "f%d" % f)

    def big():
        for start in range(0, fields, 1000):
            args = ["HSET", "big"]
            for f in range(start, min(fields, start + 1000)):
                args += ["f%d" % f, "value:%d" % f]
            yield encode(*args)
            if ttl:
                for f in range(start, min(fields, start + 1000)):
                    yield encode("HPEXPIREAT", "big", base + f, "FIELDS", 1, "f%d" % f)

    suffix = "+ttl" if ttl else ""
    return [("small" + suffix, small), ("big" + suffix, big)]


def sync_time(binary, gen):
    primary, replica = Server(binary), Server(binary)
    primary.start()
    replica.start()
    with primary.client() as c:
        c.pipeline(gen(), batch=1000)
    secs = replicate(replica, primary)
    primary.stop()
    replica.stop()
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER",
                                                       os.path.join(REPO, "build", "mayfly-server")))
    ap.add_argument("--redis", default=os.environ.get("REDIS_SERVER", "redis-server"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--fields", type=int)
    ap.add_argument("--only", default="throughput,sync")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 3)
    n = a.requests or (100_000 if a.quick else 500_000)
    fields = a.fields or (200_000 if a.quick else 1_000_000)
    try:
        if "throughput" in a.only:
            print("## Throughput at -P 16 (-c 50, %d requests, median of %d interleaved rounds)\n"
                  % (n, rounds))
            print("Load average before: %.2f %.2f %.2f\n" % os.getloadavg())
            res = {"Mayfly": {}, "Redis": {}}
            for _ in range(rounds):
                for side, binary in (("Mayfly", a.mayfly), ("Redis", a.redis)):
                    throughput_round(binary, n, res[side])
            print("| server | test | ops/s 0 / 1 / 2 replicas | ratio 1 / 2 | primary CPU s per "
                  "1M writes 0 / 1 / 2 | capacity ratio 1 / 2 |")
            print("| --- | --- | ---: | ---: | ---: | ---: |")
            for side in ("Mayfly", "Redis"):
                for name, _ in TESTS:
                    ops = [statistics.median(o for o, _ in res[side][(name, k)]) for k in (0, 1, 2)]
                    cpu = [statistics.median(c for _, c in res[side][(name, k)]) for k in (0, 1, 2)]
                    print("| %s | %s | %.0f / %.0f / %.0f | %.2f / %.2f | %.2f / %.2f / %.2f | "
                          "%.2f / %.2f |" % (side, name, ops[0], ops[1], ops[2], ops[1] / ops[0],
                                            ops[2] / ops[0], cpu[0], cpu[1], cpu[2],
                                            cpu[0] / cpu[1], cpu[0] / cpu[2]), flush=True)
            print("\nLoad average after: %.2f %.2f %.2f" % os.getloadavg())
        if "sync" in a.only:
            print("\n## Full-sync time of %d fields (REPLICAOF to link up, median of %d rounds)\n"
                  % (fields, rounds))
            print("| dataset | Mayfly s | Redis 7.0 s | ratio |")
            print("| --- | ---: | ---: | ---: |")
            for ttl in (True, False):
                for name, gen in datasets(fields, ttl):
                    ms, rs = [], []
                    for _ in range(rounds):
                        ms.append(sync_time(a.mayfly, gen))
                        if not ttl:
                            rs.append(sync_time(a.redis, gen))
                    m = statistics.median(ms)
                    if rs:
                        r = statistics.median(rs)
                        print("| %s | %.2f | %.2f | %.2f |" % (name, m, r, m / r), flush=True)
                    else:
                        print("| %s | %.2f | (no field TTLs in 7.0) | |" % (name, m), flush=True)
    finally:
        for s in ALL:
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
