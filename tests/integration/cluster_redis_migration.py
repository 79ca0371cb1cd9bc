#!/usr/bin/python3
"""cluster_redis_migration: a Redis 7.0 cluster moved onto Mayfly nodes with redis-cli.

The migration path of docs/cluster.md, with Debian's redis-server 7.0 and redis-cli 7.0:

  - three redis-server 7.0 primaries made a cluster by `redis-cli --cluster create`, and
    KEYS keys written through redis-py's RedisCluster (strings, some with a key TTL, and
    hashes, some large enough to be hashtables);
  - three Mayfly nodes joined to it by `redis-cli --cluster add-node` (the bus is Redis's);
  - every slot of each Redis node moved onto a Mayfly node by `redis-cli --cluster
    reshard` (Redis 7.0 runs MIGRATE with RESTORE-ASKING and RDB 10 payloads, which Mayfly
    reads), `--cluster check` clean;
  - the Redis nodes removed by `redis-cli --cluster del-node`;
  - the cluster, now Mayfly only, checked clean, and every key read back through
    RedisCluster: values, hash fields, key TTLs (moved as relative TTLs: at most the move's
    duration later).

Timings are printed. Exit status 77 (skipped) without redis-server, redis-cli or redis-py.
Every wait is bounded and every process is stopped by PID.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    from redis.cluster import RedisCluster, ClusterNode
except ImportError:
    print("SKIP: Debian python3-redis is not installed")
    sys.exit(77)
for tool in ("redis-server", "redis-cli"):
    if not shutil.which(tool):
        print("SKIP: %s is not installed (Debian redis-server / redis-tools)" % tool)
        sys.exit(77)

MAYFLY = os.environ.get("MAYFLY_SERVER", "./mayfly-server")
KEYS = int(os.environ.get("KEYS", "6000"))
procs = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, timeout=30, stdin=None):
    r = subprocess.run(["redis-cli"] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, input=stdin)
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


def start(binary, workdir, name):
    port, bus = free_port(), free_port()
    d = os.path.join(workdir, name)
    os.makedirs(d)
    p = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                          "--cluster-enabled", "yes", "--cluster-port", str(bus),
                          "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no",
                          "--logfile", os.path.join(d, "server.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    wait_for(name + " to answer", lambda: cmd(port, "PING") == "PONG", 20)
    return port


def check_clean(port, what, nodes):
    rc, out = cli("--cluster", "check", "127.0.0.1:%d" % port, timeout=60)
    if rc != 0 or "[ERR]" in out or "[WARNING]" in out or \
            "[OK] All 16384 slots covered." not in out or \
            len(re.findall(r"^(?:\x1b\[[0-9;]*m)?[MS]: ", out, re.M)) != nodes:
        print(out)
        raise AssertionError("--cluster check after %s is not clean" % what)
    print("ok - --cluster check clean after %s" % what)


def agree(port):
    rc, out = cli("--cluster", "check", "127.0.0.1:%d" % port)
    return rc == 0 and "[ERR]" not in out and "[WARNING]" not in out


def slot_count(port, node_id):
    for line in cmd(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        if f[0] != node_id:
            continue
        n = 0
        for r in f[8:]:
            if not r.startswith("["):
                a, _, b = r.partition("-")
                n += int(b or a) - int(a) + 1
        return n
    return -1


def key_of(i):
    return "k:%d" % i


def write_data(port):
    rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", port)], decode_responses=True)
    pipe = rc.pipeline(transaction=False)
    for i in range(KEYS):
        k = key_of(i)
        if i % 3 == 0:
            pipe.hset(k, mapping={"a": str(i), "b": "x" * (i % 50)})
        elif i % 3 == 1:
            pipe.set(k, "v%d" % i)
            if i % 7 == 1:
                pipe.pexpire(k, 3600 * 1000 + i)
        else:
            pipe.hset(k, mapping={"f%d" % j: "%d-%d" % (i, j) for j in range(200 if i % 100 == 2
                                                                             else 3)})
        if len(pipe) >= 500:
            pipe.execute()
    pipe.execute()
    pipe = rc.pipeline(transaction=False)
    for i in range(KEYS):
        pipe.pexpiretime(key_of(i))
    deadlines = pipe.execute()
    rc.close()
    return deadlines


def verify(port, deadlines):
    rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", port)], decode_responses=True)
    bad = []
    pipe = rc.pipeline(transaction=False)
    for i in range(KEYS):
        k = key_of(i)
        pipe.hgetall(k) if i % 3 != 1 else pipe.get(k)
        pipe.pexpiretime(k)
    got = pipe.execute()
    for i in range(KEYS):
        val, dl = got[2 * i], got[2 * i + 1]
        if i % 3 == 0:
            want = {"a": str(i), "b": "x" * (i % 50)}
        elif i % 3 == 1:
            want = "v%d" % i
        else:
            want = {"f%d" % j: "%d-%d" % (i, j) for j in range(200 if i % 100 == 2 else 3)}
        if val != want:
            bad.append("%s: %r" % (key_of(i), val if not isinstance(val, dict) else len(val)))
        w = deadlines[i]
        if (w == -1 and dl != -1) or (w != -1 and not w - 1 <= dl <= w + 5000):
            bad.append("%s: deadline %r, expected %r" % (key_of(i), dl, w))
    rc.close()
    if bad:
        raise AssertionError("%d differences, first: %s" % (len(bad), bad[:5]))


def run(workdir):
    rports = [start("redis-server", workdir, "redis%d" % i) for i in range(3)]
    rc, out = cli("--cluster", "create", *["127.0.0.1:%d" % p for p in rports], "--cluster-yes",
                  timeout=60)
    if rc != 0:
        print(out)
        raise AssertionError("--cluster create of the Redis nodes failed")
    for p in rports:
        wait_for("cluster_state:ok on %d" % p,
                 lambda p=p: "cluster_state:ok" in cmd(p, "CLUSTER", "INFO"), 20)
    deadlines = write_data(rports[0])
    print("ok - a Redis 7.0 cluster of 3 primaries holds %d keys" % KEYS)

    mports = [start(MAYFLY, workdir, "mayfly%d" % i) for i in range(3)]
    t0 = time.time()
    for p in mports:
        # add-node checks the cluster first: the previous node must be known everywhere
        # (gossip spreads it within a few node timeouts' tenths).
        for attempt in range(5):
            wait_for("the nodes to agree", lambda: agree(rports[0]), 30)
            rc, out = cli("--cluster", "add-node", "127.0.0.1:%d" % p,
                          "127.0.0.1:%d" % rports[0], timeout=60)
            if rc == 0 or "don't agree" not in out:
                break
        if rc != 0:
            print(out)
            raise AssertionError("--cluster add-node of Mayfly %d failed" % p)
    for p in rports + mports:
        wait_for("6 nodes known to %d" % p, lambda p=p: cmd(p, "CLUSTER", "INFO").count(
            "cluster_known_nodes:6") == 1, 30)
    wait_for("the Mayfly nodes to agree", lambda: agree(mports[0]), 30)
    print("ok - --cluster add-node joined 3 Mayfly nodes (%.1f s)" % (time.time() - t0))
    check_clean(mports[0], "add-node", 6)

    rids = [cmd(p, "CLUSTER", "MYID") for p in rports]
    mids = [cmd(p, "CLUSTER", "MYID") for p in mports]
    t0 = time.time()
    for i in range(3):
        n = slot_count(rports[i], rids[i])
        rc, out = cli("--cluster", "reshard", "127.0.0.1:%d" % rports[i], "--cluster-from",
                      rids[i], "--cluster-to", mids[i], "--cluster-slots", n, "--cluster-yes",
                      "--cluster-pipeline", "100", timeout=240)
        if rc != 0 or "[ERR]" in out:
            print(out[-4000:])
            raise AssertionError("--cluster reshard from Redis node %d failed" % i)
        if slot_count(mports[i], mids[i]) != n or slot_count(rports[i], rids[i]) != 0:
            raise AssertionError("slots after reshard %d: %d" % (i, slot_count(mports[i], mids[i])))
    print("ok - --cluster reshard moved all 16384 slots from Redis 7.0 to Mayfly (%.1f s)" %
          (time.time() - t0))
    # Each Redis node, its last slot gone, became a replica of the Mayfly node that took it
    # (cluster-allow-replica-migration, Redis's default) and syncs from it; it is removed
    # next all the same.
    check_clean(mports[1], "the reshards", 6)

    for i in range(3):
        rc, out = cli("--cluster", "del-node", "127.0.0.1:%d" % mports[0], rids[i], timeout=60)
        if rc != 0:
            print(out)
            raise AssertionError("--cluster del-node of Redis node %d failed" % i)
    for p in mports:
        wait_for("3 nodes known to %d" % p, lambda p=p: "cluster_known_nodes:3" in cmd(
            p, "CLUSTER", "INFO"), 30)
    print("ok - --cluster del-node removed the Redis nodes")
    check_clean(mports[2], "del-node", 3)
    verify(mports[0], deadlines)
    total = sum(int(cmd(p, "DBSIZE")) for p in mports)
    if total != KEYS:
        raise AssertionError("the Mayfly nodes hold %d keys, expected %d" % (total, KEYS))
    print("ok - every key, hash field and key TTL of the Redis cluster is on the Mayfly nodes")


def main():
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    workdir = tempfile.mkdtemp(prefix="mayfly-redis-migration-", dir=shm)
    status = 1
    try:
        run(workdir)
        status = 0
    except (AssertionError, subprocess.TimeoutExpired, OSError) as e:
        print("not ok - %s" % e)
        for name in sorted(os.listdir(workdir)):
            log = os.path.join(workdir, name, "server.log")
            if os.path.exists(log):
                print("--- %s log (tail) ---" % name)
                with open(log) as f:
                    sys.stdout.write("".join(f.readlines()[-15:]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(status)


main()
