#!/usr/bin/python3
"""cluster_reshard: a Mayfly cluster resharded by Debian's redis-cli under a cluster client.

Three Mayfly primaries are made a cluster by `redis-cli --cluster create`. ioredis's Cluster
client (tests/clients/ioredis_cluster.mjs, from the node clients' directory) writes HASHES
hashes with field TTLs and some key TTLs, then keeps incrementing and reading back a field
of random hashes while

  - `redis-cli --cluster reshard` moves 4,000 slots from the first node to the second
    (CLUSTER SETSLOT IMPORTING / MIGRATING, GETKEYSINSLOT, MIGRATE ... KEYS, SETSLOT NODE),
  - `redis-cli --cluster check` finds the cluster clean (no [ERR], no [WARNING]),
  - `redis-cli --cluster rebalance` evens the slots out again, and check is clean again;

then the client reads every hash back: fields, its own increments, every field deadline
exactly, key deadlines (moved as a relative TTL, so at most the move's duration later).
The nodes' key counts (DBSIZE, and CLUSTER COUNTKEYSINSLOT over their slots) add up to
HASHES. Timings are printed. HASHES defaults to 100,000 (20,000 under the sanitizers:
MAYFLY_SANITIZED=1). Exit status 77 (skipped) without redis-cli, node >= 20 or ioredis.
Every wait is bounded and every process is stopped by PID.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MAYFLY = os.environ.get("MAYFLY_SERVER", "./mayfly-server")
NODE_DIR = os.environ.get("NODE_CLIENTS_DIR", "")
SANITIZED = os.environ.get("MAYFLY_SANITIZED") == "1"
HASHES = int(os.environ.get("HASHES", "20000" if SANITIZED else "100000"))
SCRIPT = os.path.join(NODE_DIR, "ioredis_cluster.mjs")

if not shutil.which("redis-cli"):
    print("SKIP: redis-cli is not installed (Debian redis-tools)")
    sys.exit(77)
node = shutil.which("node")
if not node or subprocess.run([node, "-e", "process.exit(+process.versions.node.split('.')[0]"
                               " >= 20 ? 0 : 1)"]).returncode != 0:
    print("SKIP: node >= 20 not found (see scripts/install-deps.sh)")
    sys.exit(77)
if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ioredis")):
    print("SKIP: ioredis is not installed (see the output of clients/npm_ci)")
    sys.exit(77)

procs = []  # Popen of every process started


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, timeout=20):
    """redis-cli with args; returns (exit status, output)."""
    r = subprocess.run(["redis-cli"] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def cmd(port, *args):
    return cli("-p", port, *args)[1].strip()


def wait_for(what, cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def start_node(workdir, i):
    port, bus = free_port(), free_port()
    d = os.path.join(workdir, "n%d" % i)
    os.makedirs(d)
    p = subprocess.Popen([MAYFLY, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                          "--cluster-enabled", "yes", "--cluster-port", str(bus),
                          "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no",
                          "--logfile", os.path.join(d, "server.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    wait_for("node %d to answer" % i, lambda: cmd(port, "PING") == "PONG", 20)
    return port


def check_clean(port, what):
    rc, out = cli("--cluster", "check", "127.0.0.1:%d" % port, timeout=60)
    if rc != 0 or "[ERR]" in out or "[WARNING]" in out or \
            "[OK] All 16384 slots covered." not in out:
        print(out)
        raise AssertionError("--cluster check after %s is not clean" % what)
    print("ok - --cluster check clean after %s" % what)


def slots_of(port):
    """Slot count of each master, by node id, from CLUSTER NODES."""
    out = {}
    for line in cmd(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        n = 0
        for r in f[8:]:
            if r.startswith("["):
                continue
            a, _, b = r.partition("-")
            n += int(b or a) - int(a) + 1
        out[f[0]] = n
    return out


def run(workdir):
    ports = [start_node(workdir, i) for i in range(3)]
    t0 = time.time()
    rc, out = cli("--cluster", "create", *["127.0.0.1:%d" % p for p in ports], "--cluster-yes",
                  timeout=60)
    if rc != 0:
        print(out)
        raise AssertionError("--cluster create failed")
    for p in ports:
        wait_for("cluster_state:ok on %d" % p,
                 lambda p=p: "cluster_state:ok" in cmd(p, "CLUSTER", "INFO"), 20)
    print("ok - --cluster create of 3 Mayfly primaries (%.1f s)" % (time.time() - t0))
    ids = [cmd(p, "CLUSTER", "MYID") for p in ports]

    client = subprocess.Popen([node, SCRIPT], cwd=NODE_DIR, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, CLUSTER_PORTS=",".join(map(str, ports)),
                                       HASHES=str(HASHES)))
    procs.append(client)
    line = client.stdout.readline().strip()
    if not line.startswith("loaded"):
        raise AssertionError("client: %s" % line)
    print("ok - ioredis Cluster wrote %d hashes with field TTLs (%s ms)" %
          (HASHES, line.split()[2]))

    before = int(cmd(ports[0], "DBSIZE"))
    t0 = time.time()
    rc, out = cli("--cluster", "reshard", "127.0.0.1:%d" % ports[0], "--cluster-from", ids[0],
                  "--cluster-to", ids[1], "--cluster-slots", "4000", "--cluster-yes",
                  "--cluster-pipeline", "100", timeout=180)
    took = time.time() - t0
    if rc != 0 or "[ERR]" in out:
        print(out[-4000:])
        raise AssertionError("--cluster reshard failed")
    moved = slots_of(ports[0])
    if moved[ids[1]] != 5462 + 4000 or moved[ids[0]] != 5461 - 4000:
        raise AssertionError("slots after reshard: %r" % moved)
    print("ok - --cluster reshard moved 4000 slots (%d keys) in %.1f s while the client worked"
          % (before - int(cmd(ports[0], "DBSIZE")), took))
    check_clean(ports[2], "reshard")

    t0 = time.time()
    rc, out = cli("--cluster", "rebalance", "127.0.0.1:%d" % ports[2], "--cluster-pipeline",
                  "100", timeout=180)
    if rc != 0 or "[ERR]" in out:
        print(out[-4000:])
        raise AssertionError("--cluster rebalance failed")
    counts = slots_of(ports[0])
    if max(counts.values()) - min(counts.values()) > 400:
        raise AssertionError("slots after rebalance: %r" % counts)
    print("ok - --cluster rebalance evened the slots out (%s) in %.1f s" %
          (sorted(counts.values()), time.time() - t0))
    check_clean(ports[1], "rebalance")

    client.stdin.write("stop\n")
    client.stdin.flush()
    try:
        rest, _ = client.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        raise AssertionError("the client did not finish verifying in 200 s")
    sys.stdout.write(rest)
    if client.returncode != 0:
        raise AssertionError("the client found differences")
    total = sum(int(cmd(p, "DBSIZE")) for p in ports)
    if total != HASHES:
        raise AssertionError("the nodes hold %d keys, expected %d" % (total, HASHES))
    # The per-slot counts agree: COUNTKEYSINSLOT over every slot of each node (one redis-cli
    # per node reading the commands from stdin).
    in_slots = 0
    for p in ports:
        script = "".join("CLUSTER COUNTKEYSINSLOT %d\n" % s for s in range(16384))
        r = subprocess.run(["redis-cli", "-p", str(p)], input=script, capture_output=True,
                           text=True, timeout=60)
        in_slots += sum(int(x) for x in r.stdout.split())
    if in_slots != HASHES:
        raise AssertionError("COUNTKEYSINSLOT adds up to %d, expected %d" % (in_slots, HASHES))
    print("ok - the nodes hold exactly %d keys, as their per-slot counts say" % total)


def main():
    # The nodes rewrite nodes.conf (a new file renamed over the old, as Redis 7.2+ does) at
    # every SETSLOT; on a disk filesystem with online discard that costs milliseconds per
    # slot, so the nodes' directories go to a memory filesystem when there is one.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    workdir = tempfile.mkdtemp(prefix="mayfly-reshard-", dir=shm)
    status = 1
    try:
        run(workdir)
        status = 0
    except (AssertionError, subprocess.TimeoutExpired, OSError) as e:
        print("not ok - %s" % e)
        for i in range(3):
            log = os.path.join(workdir, "n%d" % i, "server.log")
            if os.path.exists(log):
                print("--- node %d log (tail) ---" % i)
                with open(log) as f:
                    sys.stdout.write("".join(f.readlines()[-30:]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(status)


main()
