#!/usr/bin/env python3
"""RDB snapshots: SAVE time, load time and file size, Mayfly against Redis.

    python3 bench/rdb_bench.py                 # 3 interleaved rounds, 1M fields per dataset
    python3 bench/rdb_bench.py --quick         # 1 round, 200k fields
    REDIS74_SERVER=/path/redis-server python3 bench/rdb_bench.py   # adds a Redis 7.4+ column

Datasets of --fields fields (default 1,000,000), each loaded into every server:

    small+ttl   fields/100 hashes of 100 fields, each field with its own deadline
    big+ttl     one hash of all the fields, each with its own deadline
    small       the same small hashes without TTLs
    big         the same big hash without TTLs

Debian's Redis 7.0 has no field TTLs: it takes part in the rows without TTLs only; a Redis
7.4 or later given by REDIS74_SERVER (or --redis74) takes part in every row. Fields are
set with HSET and their deadlines with HPEXPIREAT (both Redis 7.4 and Mayfly know it), a
deadline an hour away plus the field's number in ms, so none expires during the run.

Per server and dataset: SAVE as the client sees it (round trip of the SAVE command; with
--saves N the median of N SAVEs) and the server CPU time it took (from /proc), the
file's size, and the load at start: the time the server logs ("DB loaded from disk: X
seconds", both servers write that line) and the time from spawning the process to the
first PING answered with PONG, and the CPU time the restarted process used up to that
PONG (all its threads, from /proc: steadier than wall time on a shared machine, where a
process may wait for a core). The rounds interleave the servers (Mayfly, Redis, Mayfly,
...) so that drift of a shared machine affects them alike; the table shows medians. Every
server runs in its own temp directory on a free loopback port and is stopped (by PID) at
the end, also on errors and Ctrl-C.
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from resp import Client  # noqa: E402


class Server(benchlib.Server):
    """One server process in its own directory (benchlib.Server, logging to DIR/log);
    restartable on the same dump."""

    def __init__(self, name, binary):
        super().__init__(binary, name, logfile=True, prefix="mayfly-rdbbench-")

    def start(self, timeout=600.0):
        """Starts on a fresh log; returns the seconds from the spawn to the first PONG."""
        if os.path.exists(self.logpath):
            os.unlink(self.logpath)
        return super().start(timeout=timeout, tries=1)

    def logged_load_seconds(self):
        with open(self.logpath, errors="replace") as f:
            m = re.search(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
        return float(m.group(1)) if m else None


def datasets(fields):
    """[(name, has TTLs, generator)]: small+ttl, big+ttl, small, big."""
    return [(name, ttl, gen) for ttl in (True, False)
            for name, gen in benchlib.hash_datasets(fields, ttl)]


def fill(server, gen):
    with Client(server.port, timeout=600.0) as c:
        c.call("FLUSHALL")
        c.pipeline(gen(), batch=1000)


SAVES = 1  # SAVEs per fill (--saves): their median is the round's SAVE time


def measure(server, gen):
    """Fills, SAVEs, restarts on the dump. Returns (save s, bytes, logged load s, start s,
    CPU s of the restarted process up to its first PONG, CPU s of the SAVE: the server's
    own, steadier than the round trip on a shared machine)."""
    server.stop()
    for name in ("dump.rdb",):
        p = os.path.join(server.dir, name)
        if os.path.exists(p):
            os.unlink(p)
    server.start()
    fill(server, gen)
    times, cpus = [], []
    with Client(server.port, timeout=600.0) as c:
        for _ in range(SAVES):
            c0, t0 = server.cpu_seconds(), time.monotonic()
            r = c.call("SAVE")
            times.append(time.monotonic() - t0)
            c1 = server.cpu_seconds()
            if c0 is not None and c1 is not None:
                cpus.append(c1 - c0)
            if r != "OK":
                raise RuntimeError(f"{server.name}: SAVE replied {r}")
    save_s = statistics.median(times)
    save_cpu = statistics.median(cpus) if cpus else None
    size = os.path.getsize(os.path.join(server.dir, "dump.rdb"))
    server.stop()
    start_s = server.start()
    cpu_s = server.cpu_seconds()
    load_s = server.logged_load_seconds()
    return save_s, size, load_s, start_s, cpu_s, save_cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER", "build/mayfly-server"))
    ap.add_argument("--redis", default=os.environ.get("REDIS_SERVER", shutil.which("redis-server")))
    ap.add_argument("--redis74", default=os.environ.get("REDIS74_SERVER"))
    ap.add_argument("--fields", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                    help="another server for every row (e.g. an older Mayfly build)")
    ap.add_argument("--datasets", help="rows to run, e.g. small+ttl,small")
    ap.add_argument("--saves", type=int, default=1,
                    help="SAVEs per fill; the round's SAVE time is their median")
    a = ap.parse_args()
    global SAVES
    SAVES = max(1, a.saves)
    if a.quick:
        a.rounds, a.fields = 1, 200_000
    servers = [Server("mayfly", a.mayfly)]
    if a.redis:
        servers.append(Server("redis", a.redis))
    if a.redis74:
        servers.append(Server("redis74", a.redis74))
    for spec in a.also:
        label, _, path = spec.partition("=")
        servers.append(Server(label, path))
    res = {}
    load0 = os.getloadavg()
    try:
        for rnd in range(a.rounds):
            for ds, ttl, gen in datasets(a.fields):
                if a.datasets and ds not in a.datasets.split(","):
                    continue
                for s in servers:
                    if ttl and s.name == "redis":
                        continue  # Redis 7.0 has no field TTLs
                    v = measure(s, gen)
                    res.setdefault((ds, s.name), []).append(v)
                    print(f"round {rnd + 1}: {ds:<10} {s.name:<8} SAVE {v[0]:.3f} s, "
                          f"{v[1]:,} B, load {v[2]} s (logged), start {v[3]:.3f} s, "
                          f"CPU {v[4]} s, SAVE CPU {v[5]} s",
                          file=sys.stderr)
        names = [s.name for s in servers]
        print(f"\n{a.fields:,} fields, medians of {a.rounds} round(s); load average "
              f"{load0[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
        print(f"{'dataset':<11}{'server':<9}{'SAVE s':>9}{'SAVE CPU':>9}{'file MB':>10}"
              f"{'load s':>9}{'start s':>9}{'CPU s':>9}")
        for ds, _, _ in datasets(a.fields):
            for n in names:
                v = res.get((ds, n))
                if not v:
                    continue
                med = [statistics.median([x[i] for x in v if x[i] is not None] or [0])
                       for i in range(6)]
                print(f"{ds:<11}{n:<9}{med[0]:>9.3f}{med[5]:>9.3f}{med[1] / 1e6:>10.2f}"
                      f"{med[2]:>9.3f}{med[3]:>9.3f}{med[4]:>9.3f}")
    finally:
        benchlib.stop_all()


if __name__ == "__main__":
    main()
