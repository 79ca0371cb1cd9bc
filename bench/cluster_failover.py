#!/usr/bin/env python3
"""Cluster failover time: Mayfly against Redis, same shape, same cluster-node-timeout.

    python3 bench/cluster_failover.py                 # 5 interleaved rounds, timeout 1000 ms
    python3 bench/cluster_failover.py --rounds 3 --node-timeout 2000

Each round builds a fresh cluster of 6 nodes of one kind (3 primaries + 3 replicas, by
`redis-cli --cluster create --cluster-replicas 1`), waits until every replica's link is up
and every node says cluster_state:ok, writes a key to the first primary and WAITs for its
replica, then SIGKILLs that primary. The clock runs from the kill until (1) every surviving
node lists the replica as a master and says cluster_state:ok ("ok"), and (2) the promoted
replica acknowledges a write to that slot ("write"). Polling every 10 ms. Rounds alternate
Mayfly and Redis so a shared machine's drift affects both alike; the table shows medians
and the spread. Servers run in temp directories on free loopback ports and are stopped by
PID at the end of each round (also on errors and Ctrl-C).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Node(benchlib.Server):
    """A cluster node (benchlib.Server) with its bus port; id is its CLUSTER MYID."""

    def __init__(self, binary, timeout_ms):
        self.bus = benchlib.free_port()
        super().__init__(binary, "node", ["--cluster-enabled", "yes", "--cluster-port",
                                          str(self.bus), "--cluster-node-timeout",
                                          str(timeout_ms), "--repl-diskless-sync-delay", "0"],
                         logfile=True, prefix="mayfly-clfail-")
        self.id = None

    def start(self):
        super().start()
        self.id = self.call("CLUSTER", "MYID")


def nodes_view(node):
    """{id: (flags, master)} from node's CLUSTER NODES."""
    out = {}
    for line in node.call("CLUSTER", "NODES").splitlines():
        w = line.split()
        if len(w) >= 4:
            out[w[0]] = (w[2], w[3])
    return out


def owner_of(node, slot):
    """The id of the master serving slot in node's CLUSTER NODES."""
    for line in node.call("CLUSTER", "NODES").splitlines():
        w = line.split()
        for r in w[8:]:
            if r[0].isdigit():
                lo, _, hi = r.partition("-")
                if int(lo) <= slot <= int(hi or lo):
                    return w[0]
    raise RuntimeError("slot %d not served" % slot)


def state_ok(node):
    return "cluster_state:ok" in node.call("CLUSTER", "INFO")


def wait(cond, timeout, what):
    benchlib.wait_for(cond, timeout, what, every=0.01)


def one_round(binary, timeout_ms):
    nodes = [Node(binary, timeout_ms) for _ in range(6)]
    try:
        for n in nodes:
            n.start()
        addrs = ["127.0.0.1:%d" % n.port for n in nodes]
        subprocess.run(["redis-cli", "--cluster", "create"] + addrs +
                       ["--cluster-replicas", "1", "--cluster-yes"], check=True,
                       capture_output=True, timeout=120)
        by_id = {n.id: n for n in nodes}

        def replicas_ready():
            view = nodes_view(nodes[0])
            reps = [i for i, (f, m) in view.items() if "slave" in f]
            if len(reps) != 3 or not all(state_ok(n) for n in nodes):
                return False
            return all(by_id[r].call("INFO", "replication").find("master_link_status:up") >= 0
                       for r in reps)
        wait(replicas_ready, 60, "replicas")
        view = nodes_view(nodes[0])
        victim = by_id[owner_of(nodes[0], 3300)]  # the slot of key "b"
        replica = next(by_id[i] for i, (f, m) in view.items() if m == victim.id)
        victim.call("SET", "b", "1")
        victim.call("WAIT", "1", "5000")
        survivors = [n for n in nodes if n is not victim]
        t0 = time.monotonic()
        victim.kill()

        def promoted():
            for n in survivors:
                if "master" not in nodes_view(n)[replica.id][0] or not state_ok(n):
                    return False
            return True

        def writes():
            return replica.call("SET", "b", "2") == "OK"
        wait(writes, 60, "a write on the promoted replica")
        t_write = time.monotonic() - t0
        wait(promoted, 60, "promotion")
        t_ok = time.monotonic() - t0
        return t_ok, t_write
    finally:
        for n in nodes:
            n.cleanup()
            benchlib.ALL.remove(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER",
                                                       os.path.join(REPO, "build", "mayfly-server")))
    ap.add_argument("--redis", default=os.environ.get("REDIS_SERVER", "redis-server"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--node-timeout", type=int, default=1000)
    a = ap.parse_args()
    res = {"mayfly": [], "redis": []}
    try:
        for r in range(a.rounds):
            for kind, binary in (("mayfly", a.mayfly), ("redis", a.redis)):
                t_ok, t_write = one_round(binary, a.node_timeout)
                res[kind].append((t_ok, t_write))
                print("round %d %-6s ok %.0f ms, first write %.0f ms" %
                      (r + 1, kind, t_ok * 1000, t_write * 1000), flush=True)
    finally:
        benchlib.stop_all()
    print("\nnode timeout %d ms, %d rounds, load average %s" %
          (a.node_timeout, a.rounds, benchlib.loadavg()))
    print("%-8s %22s %22s" % ("server", "ok median (min-max)", "write median (min-max)"))
    for kind, rows in res.items():
        oks = [x[0] * 1000 for x in rows]
        ws = [x[1] * 1000 for x in rows]
        print("%-8s %10.0f (%4.0f-%4.0f) %10.0f (%4.0f-%4.0f)" %
              (kind, statistics.median(oks), min(oks), max(oks), statistics.median(ws), min(ws),
               max(ws)))


if __name__ == "__main__":
    main()
