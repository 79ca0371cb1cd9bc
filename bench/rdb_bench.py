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

Per server and dataset: SAVE as the client sees it (round trip of the SAVE command), the
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
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp import Client, encode  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process in its own directory; restartable on the same dump."""

    def __init__(self, name, binary):
        self.name, self.binary = name, binary
        self.dir = tempfile.mkdtemp(prefix="mayfly-rdbbench-")
        self.proc = None
        self.port = free_port()

    def start(self, timeout=600.0):
        log = os.path.join(self.dir, "log")
        if os.path.exists(log):
            os.unlink(log)
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--logfile", log]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = t0 + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting: {self.log_tail()}")
            try:
                with Client(self.port, timeout=5.0) as c:
                    if c.try_call("PING") == "PONG":  # -LOADING while the dump loads
                        return time.monotonic() - t0
            except (OSError, ConnectionError):
                pass
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not answer PING in {timeout} s")

    def cpu_seconds(self):
        """CPU time the process has used so far, all threads (Linux: schedstat, in ns)."""
        total = 0
        try:
            for t in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return total / 1e9

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "log"), errors="replace") as f:
                return "".join(f.readlines()[-5:])
        except OSError:
            return ""

    def logged_load_seconds(self):
        with open(os.path.join(self.dir, "log"), errors="replace") as f:
            m = re.search(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
        return float(m.group(1)) if m else None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def datasets(fields):
    base = int(time.time() * 1000) + 3600 * 1000
    small_keys = max(1, fields // 100)

    def small(ttl):
        for k in range(small_keys):
            key = f"h:{k}"
            args = ["HSET", key]
            for f in range(100):
                args += [f"f{f}", f"value:{k}:{f}"]
            yield encode(*args)
            if ttl:
                for f in range(100):
                    yield encode("HPEXPIREAT", key, base + k * 100 + f, "FIELDS", 1, f"f{f}")

    def big(ttl):
        for start in range(0, fields, 1000):
            args = ["HSET", "big"]
            for f in range(start, min(fields, start + 1000)):
                args += [f"f{f}", f"value:{f}"]
            yield encode(*args)
            if ttl:
                for f in range(start, min(fields, start + 1000)):
                    yield encode("HPEXPIREAT", "big", base + f, "FIELDS", 1, f"f{f}")

    return [("small+ttl", True, lambda: small(True)), ("big+ttl", True, lambda: big(True)),
            ("small", False, lambda: small(False)), ("big", False, lambda: big(False))]


def fill(server, gen):
    with Client(server.port, timeout=600.0) as c:
        c.call("FLUSHALL")
        c.pipeline(gen(), batch=1000)


def measure(server, gen):
    """Fills, SAVEs, restarts on the dump. Returns (save s, bytes, logged load s, start s,
    CPU s of the restarted process up to its first PONG)."""
    server.stop()
    for name in ("dump.rdb",):
        p = os.path.join(server.dir, name)
        if os.path.exists(p):
            os.unlink(p)
    server.start()
    fill(server, gen)
    with Client(server.port, timeout=600.0) as c:
        t0 = time.monotonic()
        r = c.call("SAVE")
        save_s = time.monotonic() - t0
        if r != "OK":
            raise RuntimeError(f"{server.name}: SAVE replied {r}")
    size = os.path.getsize(os.path.join(server.dir, "dump.rdb"))
    server.stop()
    start_s = server.start()
    cpu_s = server.cpu_seconds()
    load_s = server.logged_load_seconds()
    return save_s, size, load_s, start_s, cpu_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER", "build/mayfly-server"))
    ap.add_argument("--redis", default=os.environ.get("REDIS_SERVER", shutil.which("redis-server")))
    ap.add_argument("--redis74", default=os.environ.get("REDIS74_SERVER"))
    ap.add_argument("--fields", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.fields = 1, 200_000
    servers = [Server("mayfly", a.mayfly)]
    if a.redis:
        servers.append(Server("redis", a.redis))
    if a.redis74:
        servers.append(Server("redis74", a.redis74))
    res = {}
    load0 = os.getloadavg()
    try:
        for rnd in range(a.rounds):
            for ds, ttl, gen in datasets(a.fields):
                for s in servers:
                    if ttl and s.name == "redis":
                        continue  # Redis 7.0 has no field TTLs
                    v = measure(s, gen)
                    res.setdefault((ds, s.name), []).append(v)
                    print(f"round {rnd + 1}: {ds:<10} {s.name:<8} SAVE {v[0]:.3f} s, "
                          f"{v[1]:,} B, load {v[2]} s (logged), start {v[3]:.3f} s, "
                          f"CPU {v[4]} s",
                          file=sys.stderr)
        names = [s.name for s in servers]
        print(f"\n{a.fields:,} fields, medians of {a.rounds} round(s); load average "
              f"{load0[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
        print(f"{'dataset':<11}{'server':<9}{'SAVE s':>9}{'file MB':>10}{'load s':>9}"
              f"{'start s':>9}{'CPU s':>9}")
        for ds, _, _ in datasets(a.fields):
            for n in names:
                v = res.get((ds, n))
                if not v:
                    continue
                med = [statistics.median([x[i] for x in v if x[i] is not None] or [0])
                       for i in range(5)]
                print(f"{ds:<11}{n:<9}{med[0]:>9.3f}{med[1] / 1e6:>10.2f}{med[2]:>9.3f}"
                      f"{med[3]:>9.3f}{med[4]:>9.3f}")
    finally:
        for s in servers:
            s.cleanup()


if __name__ == "__main__":
    main()
