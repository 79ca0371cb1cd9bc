#!/usr/bin/env python3
"""Replication: write throughput with replicas attached, and full-sync time; Mayfly against
Redis.

    python3 bench/repl_bench.py              # 3 interleaved rounds, 500k requests, 1M fields
    python3 bench/repl_bench.py --quick      # 1 round, 100k requests, 200k fields

1. Throughput at -P 16 (redis-benchmark -c 50 -P 16, SET and HSET on 100k keys) on a
   primary with 0, 1 and 2 replicas attached (each a server of the same kind, in sync
   before the run). On a small machine the replicas and redis-benchmark would take CPU from
   the primary, so that ops/s fell with every process added whatever the primary does.
   With --pin (the default on 2+ CPUs) the primary runs alone on CPU 0 and everything else
   (redis-benchmark, the replicas) on the other CPUs, and each run reports:
     ops/s          redis-benchmark's figure, and its ratio to the same primary without
                    replicas;
     CPU us/write   the primary's CPU time (every thread, user + system, from
                    /proc/PID/task/*/schedstat) per request: what a write costs it,
                    including the kernel's work for the bytes it sends to the replicas;
     writes/turn    requests per turn of the primary's event loop (INFO stats
                    eventloop_cycles): how much each turn's writes to the replicas batch;
     busy           the primary's CPU time / the run's wall time: near 100% the primary was
                    the bottleneck and ops/s is its throughput; well below, the other CPU
                    (client + replicas) limited the run and ops/s says little about the
                    primary;
     capacity ratio CPU per write without replicas / with them: the throughput the primary
                    keeps when it is the bottleneck (the issue's target is >= 0.9);
     replica CPU    a replica's CPU time per request, until it caught up (the replicas'
                    share of the other CPU);
     catch-up ms    after redis-benchmark returned, until every replica's offset equals the
                    primary's: a replica that cannot keep up would show it growing with the
                    run's length.
   With --standin-mb MB (default 16; 0: off) a second table runs the same primary with no
   replica but 1 and 2 stand-ins on the replicas' CPUs under their scheduling: each
   mayfly-cachehog (bench/cachehog.c), random 8-byte read-modify-writes over MB of memory,
   nonstop, connected to nothing. The primary sends it nothing; what its CPU per write
   gains is what a memory-busy neighbour costs it through what the CPUs share (the
   last-level cache, memory bandwidth), which replicas on other machines would not cost:
     co-location ratio           CPU per write alone / with 1 or 2 stand-ins;
     replicas against stand-ins  CPU per write with 1 or 2 stand-ins / with as many
                                 replicas: the capacity ratio net of that co-location.
   Every server kind runs the same rows (Mayfly, Debian's Redis 7.0, and --redis2, a Redis
   7.4 build, if present), interleaved: for each replica count, each kind in turn.
   On loopback the kernel receives a packet on the CPU that sent it (the softirq after the
   send runs tcp_v4_rcv and wakes the reader), charged to the sender: the primary pays the
   receive of the stream it sends its replicas, which on their own machines they would pay,
   and the client pays the receive of its requests. --rx-steer (root only) changes that
   around each run and gives the old settings back after it, also on errors, Ctrl-C and
   SIGTERM: rps sets lo's Receive Packet Steering mask (rps_cpus) to the replicas' CPUs, so
   every loopback packet is received there (also the client's replies: the rows without
   replicas change too); rfs adds Receive Flow Steering, so that each flow is received on
   the CPU of the process that reads it, as on separate machines. Several settings,
   comma-separated (e.g. off,rfs), measure every run under each, back to back (their order
   reversed every round), and print the tables once per setting. The header says which ran.
   The table gives two capacity ratios: the ratio of the medians (CPU per write), as in
   every earlier run, and the median of the rounds' own ratios; the per-round ratios follow.
2. Full-sync time of a dataset of --fields fields: an empty replica is told REPLICAOF and
   the clock runs until its master_link_status is up (snapshot forked, sent diskless,
   loaded). Rows: "small+ttl" (hashes of 100 fields, each field with its own TTL) and
   "big+ttl" (one hash of all the fields) on Mayfly; "small" and "big" (the same fields
   without TTLs) on Mayfly and on Debian's Redis 7.0, which has no field TTLs. A Redis
   7.4+ build given by --redis74 (or REDIS74_SERVER) takes part in every row, and is the
   reference of the rows with TTLs. --diskless-load on-empty-db gives both servers'
   replicas that repl-diskless-load (the RDB loaded from the socket, no file).

Rounds interleave the servers so that the drift of a shared machine affects them alike; the
tables show medians. Every server runs in its own temp directory on a free loopback port
(--save '' --appendonly no --repl-diskless-sync-delay 0) and is stopped by PID at the end,
also on errors and Ctrl-C.
"""
import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRIMARY_CPUS = None  # --pin: the primary's CPU set, and everything else's
OTHER_CPUS = None
REPLICA_IDLE = False  # --replica-sched idle: replicas run only on CPU time nobody else wants
LOADGEN = None  # --load loadgen: the path of mayfly-loadgen, else redis-benchmark is the client
STANDIN = None  # --standin-mb > 0: the path of mayfly-cachehog, the co-located stand-in
STANDIN_MB = 16  # each stand-in's array
RX_STEER = ("off",)  # --rx-steer: the settings each run is measured under, alternated


def Server(binary, extra=(), cpus=None):
    """A server in a temp dir of its own, logging to a file, replication without delay."""
    return benchlib.Server(binary, os.path.basename(binary),
                           ["--repl-diskless-sync-delay", "0"] + list(extra), cpus=cpus,
                           logfile=True, prefix="mayfly-replbench-")


def link_up(replica):
    with replica.client() as c:
        return c.info("replication").get("master_link_status") == "up"


def sched_idle(pid):
    """Moves every thread of process pid to SCHED_IDLE: it runs only when nothing else on
    its CPUs wants to (an unprivileged process may lower its own priority so)."""
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            os.sched_setscheduler(int(tid), os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass  # a thread that ended meanwhile


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

RX_SETTINGS = ("off", "rps", "rfs")


def rx_files_now():
    """[(path, label, text)] of every RPS and RFS file (benchlib.RX_MASKS, RFS_FILES) that
    can be read."""
    found = []
    for label, path in benchlib.RX_MASKS + benchlib.RFS_FILES:
        try:
            with open(path) as f:
                found.append((path, label, f.read().strip()))
        except OSError:
            continue
    return found


def rx_writes(setting):
    """[(path, text)] that setting writes: "rps" lo's RPS mask set to the replicas' CPUs
    (every loopback packet received there); "rfs" the mask set to every CPU of the run and
    the flow tables sized, so that each flow is received where its reader runs (the client's
    replies and the replicas' stream on their CPU, the requests and the replicas' acks on
    the primary's); "off" nothing (the kernel's setting as found)."""
    if setting == "rps":
        return [(path, benchlib.cpu_mask(OTHER_CPUS)) for _, path in benchlib.RX_MASKS]
    if setting == "rfs":
        return ([(path, benchlib.cpu_mask(PRIMARY_CPUS | OTHER_CPUS))
                 for _, path in benchlib.RX_MASKS]
                + [(path, text) for (_, path), text in zip(benchlib.RFS_FILES,
                                                           ("4096", "32768"))])
    return []


@contextlib.contextmanager
def rx_steered(setting):
    """Loopback's receive steered as setting says (rx_writes) for the block, every file
    given its old text back when it ends, also when the block raises (an error, Ctrl-C, the
    SIGTERM main turns into one). A file that cannot be set fails the run rather than
    measuring another setting under this one's name."""
    writes = rx_writes(setting)
    saved = rx_files_now() if writes else []
    try:
        for path, text in writes:
            try:
                with open(path, "w") as f:
                    f.write(text)
            except OSError as e:
                raise RuntimeError("--rx-steer %s: cannot write %s (%s; root only)"
                                   % (setting, path, e)) from e
        yield
    finally:
        benchlib.unsteer_kernel_work(saved)


def rx_steer_label(setting):
    if setting == "rps":
        return "loopback receive steered to CPU %s (RPS: rps_cpus %s)" % (
            fmt_cpus(OTHER_CPUS), benchlib.cpu_mask(OTHER_CPUS))
    if setting == "rfs":
        return ("loopback receive on the reader's CPU (RFS: rps_cpus %s, flow tables %s)"
                % (benchlib.cpu_mask(PRIMARY_CPUS | OTHER_CPUS),
                   " / ".join(t for _, t in rx_writes("rfs")[len(benchlib.RX_MASKS):])))
    return "loopback receive on the sending CPU (%s, the kernel's as found)" % (
        ", ".join("%s %s" % (os.path.basename(p), t) for p, _, t in rx_files_now())
        or "RPS files unreadable")


class StandIn:
    """The stand-in for a co-located replica: bench/cachehog.c, random 8-byte
    read-modify-writes over an array of STANDIN_MB, nonstop, on the replicas' CPUs under
    the replicas' scheduling, connected to nothing. With it the primary sends nothing and
    does no extra work; what its CPU per write gains is what any memory-busy process on the
    other CPU costs it through what the two CPUs share (the last-level cache, memory
    bandwidth), the part of a replica's cost that replicas on other machines do not have."""

    def __init__(self):
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([STANDIN, "-m", str(STANDIN_MB), "-t", "600"],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     preexec_fn=benchlib.child_setup(OTHER_CPUS))
        if REPLICA_IDLE:
            sched_idle(self.proc.pid)

    def stop(self):
        """Ends it (SIGTERM); returns its random accesses per second, or None."""
        p, self.proc = self.proc, None
        if p is None:
            return None
        if p.poll() is None:
            p.terminate()
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None
        fields = dict(kv.split("=", 1) for kv in out.decode().split() if "=" in kv)
        try:
            return int(fields["accesses"]) / float(fields["seconds"])
        except (KeyError, ValueError, ZeroDivisionError):
            return None


TESTS = [("SET", ["SET", "k:__rand_int__", "0123456789abcdef"]),
         ("HSET", ["HSET", "h:__rand_int__", "f", "0123456789abcdef"])]


def loadgen_once(port, argv, n):
    """Runs mayfly-loadgen (bench/loadgen.c) like redis-benchmark -c 50 -P 16 -r 100000;
    returns (ops/s, wall seconds)."""
    cmd = [LOADGEN, "-p", str(port), "-c", "50", "-P", "16", "-n", str(n), "-r", "100000"]
    t0 = time.monotonic()
    p = subprocess.run(cmd + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=600, stdin=subprocess.DEVNULL, preexec_fn=benchlib.pinned(OTHER_CPUS))
    wall = time.monotonic() - t0
    fields = dict(kv.split("=", 1) for kv in p.stdout.decode().split() if "=" in kv)
    if p.returncode != 0 or "ops_per_sec" not in fields:
        raise RuntimeError("loadgen failed: %r %r" % (p.stdout[-200:], p.stderr[-200:]))
    return float(fields["ops_per_sec"]), wall


def bench_once(port, argv, n):
    """Runs the client (redis-benchmark, or --load loadgen); returns (ops/s, wall seconds)."""
    if LOADGEN:
        return loadgen_once(port, argv, n)
    _, out, _, wall = benchlib.redis_benchmark(port, argv, n, 50, 16, 100000, cpus=OTHER_CPUS)
    ops = benchlib.csv_rps(out)
    if ops is None:
        raise RuntimeError("redis-benchmark gave no figure: %r" % out[-200:])
    return ops, wall


def proc_cpu(server):
    """The server process's CPU seconds so far: every thread's time on a CPU (schedstat's
    first field, ns; user + system, also what the kernel does for its sends)."""
    return server.cpu_seconds()


def loop_turns(server):
    """INFO stats eventloop_cycles (Mayfly, Redis 7.2+): the event loop's turns so far, -1
    where INFO lacks it (Redis 7.0)."""
    with server.client() as c:
        return int(c.info("stats").get("eventloop_cycles", -1))


def repl_offset(server, field):
    with server.client() as c:
        return int(c.info("replication")[field])


def catch_up(primary, replicas, timeout=120):
    """Seconds until every replica has the primary's whole stream (the primary is idle).
    Only the replicas are polled (the primary's offset is read at the start and again at
    the end), so the primary's CPU time until then is the writes' own."""
    t0 = time.monotonic()
    off = repl_offset(primary, "master_repl_offset")
    while time.monotonic() - t0 < timeout:
        if all(repl_offset(r, "slave_repl_offset") >= off for r in replicas):
            now = repl_offset(primary, "master_repl_offset")
            if now == off:
                return time.monotonic() - t0
            off = now  # a PING of repl-ping-replica-period went out meanwhile
        time.sleep(0.002)
    raise RuntimeError("a replica did not catch up within %s s" % timeout)


def rx_packets(cpus):
    """Packets the kernel has received (netif_receive_skb from a CPU's backlog, where every
    loopback packet goes) on cpus so far, from /proc/net/softnet_stat (a line per CPU, hex;
    the first field the packets processed, the 13th the CPU's number); NaN if unreadable.
    Where --rx-steer puts the receive shows in it."""
    try:
        with open("/proc/net/softnet_stat") as f:
            lines = [[int(x, 16) for x in line.split()] for line in f if line.strip()]
    except (OSError, ValueError):
        return float("nan")
    total = 0
    for i, fields in enumerate(lines):
        cpu = fields[12] if len(fields) > 12 else i
        if cpus is None or cpu in cpus:
            total += fields[0]
    return total


def throughput_run(binary, nrep, n, res, standins=0, rates=None):
    """One primary with nrep replicas (or, with standins, no replica and that many
    StandIns), each test once: res[(test, nrep)] (res[(test, "s1")] for one stand-in) gets
    (ops/s, CPU us per write, busy fraction, catch-up s, writes per loop turn, CPU us per
    write of a replica, until it caught up, packets received on the primary's CPUs per
    write); rates gets each stand-in's accesses/s."""
    primary = Server(binary, cpus=PRIMARY_CPUS)
    primary.start()
    replicas = [Server(binary, cpus=OTHER_CPUS) for _ in range(nrep)]
    hogs = [StandIn() for _ in range(standins)]
    key = "s%d" % standins if standins else nrep
    try:
        for r in replicas:
            r.start()
            replicate(r, primary)
            if REPLICA_IDLE:
                sched_idle(r.pid)
        for h in hogs:
            h.start()
        for name, argv in TESTS:
            with primary.client() as c:
                c.call("FLUSHALL")
            catch_up(primary, replicas)
            loops0, cpu0 = loop_turns(primary), proc_cpu(primary)
            rx0 = rx_packets(PRIMARY_CPUS)
            rcpu0 = sum(proc_cpu(r) for r in replicas)
            ops, wall = bench_once(primary.port, argv, n)
            loops = loop_turns(primary) - loops0
            busy = (proc_cpu(primary) - cpu0) / wall
            lag = catch_up(primary, replicas)
            # Up to the catch-up: what the primary sends to replicas that were behind at
            # the end (idle replicas, --replica-sched idle) is part of the writes' cost.
            cpu = proc_cpu(primary) - cpu0
            rx = rx_packets(PRIMARY_CPUS) - rx0
            rcpu = (sum(proc_cpu(r) for r in replicas) - rcpu0) / nrep if nrep else 0.0
            per_turn = n / loops if loops > 0 and loops0 >= 0 else float("nan")
            res.setdefault((name, key), []).append(
                (ops, cpu * 1e6 / n, busy, lag, per_turn, rcpu * 1e6 / n, rx / n))
    finally:
        for h in hogs:
            rate = h.stop()
            if rate is not None and rates is not None:
                rates.append(rate)
        for s in replicas + [primary]:
            s.cleanup()


def throughput(servers, n, rounds):
    print("## Throughput at -P 16 (-c 50, %d requests, median of %d interleaved rounds%s)\n"
          % (n, rounds, ", primary pinned to CPU %s, client and replicas to CPU %s" % (
              fmt_cpus(PRIMARY_CPUS), fmt_cpus(OTHER_CPUS)) if PRIMARY_CPUS else ""))
    print("Client: %s. Replicas scheduled %s.\n" % (
        "mayfly-loadgen (%s)" % LOADGEN if LOADGEN else "redis-benchmark",
        "SCHED_IDLE (only on CPU time the client leaves)" if REPLICA_IDLE else "normally"))
    print("Loopback receive (--rx-steer %s): %s.\n" % (
        ",".join(RX_STEER), "; ".join(rx_steer_label(st) for st in RX_STEER)))
    print("Load average before: %.2f %.2f %.2f\n" % os.getloadavg(), flush=True)
    res = {st: {side: {} for side, _ in servers} for st in RX_STEER}
    rates = {st: [] for st in RX_STEER}
    for rnd in range(rounds):
        # The settings of one configuration back to back, their order reversed every round.
        order = RX_STEER if rnd % 2 == 0 else RX_STEER[::-1]
        for nrep in (0, 1, 2):
            for side, binary in servers:
                for st in order:
                    with rx_steered(st):
                        throughput_run(binary, nrep, n, res[st][side])
        for k in (1, 2) if STANDIN else ():
            for side, binary in servers:
                for st in order:
                    with rx_steered(st):
                        throughput_run(binary, 0, n, res[st][side], standins=k,
                                       rates=rates[st])
    for st in RX_STEER:
        if len(RX_STEER) > 1:
            label = rx_steer_label(st)
            print("\n### %s\n" % (label[0].upper() + label[1:]))
        throughput_table(servers, res[st], rounds)
        if STANDIN:
            colocation(servers, res[st], rounds, rates[st])
    print("\nLoad average after: %.2f %.2f %.2f" % os.getloadavg())


def round_ratios(rows, rounds):
    """Each round's capacity ratios (CPU per write alone / with 1, with 2 replicas) from
    rows[k][round] = that round's tuple with k replicas (CPU us/write at index 1)."""
    return [(rows[0][i][1] / rows[1][i][1], rows[0][i][1] / rows[2][i][1])
            for i in range(rounds)]


def throughput_table(servers, res, rounds):
    """The table of one --rx-steer setting. Two capacity ratios: the ratio of the medians
    (median CPU per write alone / median with replicas, the figure of every earlier run),
    and the median of the rounds' own ratios (each round's runs close in time, so a slow
    stretch of the machine that falls in one round moves one ratio, not a median's
    numerator or denominator alone); the per-round ratios follow."""
    print("| server | test | ops/s 0 / 1 / 2 replicas | ops ratio 1 / 2 | CPU us/write 0 / 1 / 2 "
          "| busy 0 / 1 / 2 | writes/turn 0 / 1 / 2 | capacity ratio 1 / 2 "
          "| median of rounds' ratios 1 / 2 | catch-up ms 1 / 2 "
          "| replica CPU us/write 1 / 2 | rx packets/write on %s 0 / 1 / 2 |"
          % ("CPU " + fmt_cpus(PRIMARY_CPUS) if PRIMARY_CPUS else "all CPUs"))
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for side, _ in servers:
        for name, _ in TESTS:
            med = [[statistics.median(row[i] for row in res[side][(name, k)]) for k in (0, 1, 2)]
                   for i in range(7)]
            ops, cpu, busy, lag, per_turn, rcpu, rx = med
            per = round_ratios([res[side][(name, k)] for k in (0, 1, 2)], rounds)
            print("| %s | %s | %.0f / %.0f / %.0f | %.2f / %.2f | %.3f / %.3f / %.3f | "
                  "%.0f%% / %.0f%% / %.0f%% | %s | %.2f / %.2f | %.2f / %.2f | %.0f / %.0f "
                  "| %.3f / %.3f | %.3f / %.3f / %.3f |"
                  % (side, name, ops[0], ops[1], ops[2], ops[1] / ops[0], ops[2] / ops[0],
                     cpu[0], cpu[1], cpu[2], busy[0] * 100, busy[1] * 100, busy[2] * 100,
                     " / ".join("-" if t != t else "%.0f" % t for t in per_turn),
                     cpu[0] / cpu[1], cpu[0] / cpu[2], statistics.median(r[0] for r in per),
                     statistics.median(r[1] for r in per), lag[1] * 1000, lag[2] * 1000, rcpu[1],
                     rcpu[2], rx[0], rx[1], rx[2]),
                  flush=True)
    if rounds > 1:
        print("\nPer-round capacity ratios (1 / 2 replicas):")
        for side, _ in servers:
            for name, _ in TESTS:
                per = round_ratios([res[side][(name, k)] for k in (0, 1, 2)], rounds)
                print("- %s %s: %s" % (side, name, " ".join("%.2f/%.2f" % r for r in per)))


def colocation(servers, res, rounds, rates):
    """The second table: the primary with no replica but 1 or 2 stand-ins (StandIn) on the
    replicas' CPUs, against the same primary alone and with real replicas."""
    print("\n### Co-location: 0 replicas, with 1 / 2 stand-ins on CPU %s\n" % fmt_cpus(OTHER_CPUS))
    print("Each stand-in: mayfly-cachehog -m %d (random 8-byte read-modify-writes over %d MB, "
          "nothing else, connected to nothing), scheduled %s; median %.0f M accesses/s.\n"
          % (STANDIN_MB, STANDIN_MB, "SCHED_IDLE" if REPLICA_IDLE else "normally",
             statistics.median(rates) / 1e6 if rates else float("nan")))
    print("| server | test | CPU us/write 0 / 1 / 2 stand-ins | busy 1 / 2 stand-ins "
          "| co-location ratio 1 / 2 | capacity ratio 1 / 2 | replicas against stand-ins 1 / 2 |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for side, _ in servers:
        for name, _ in TESTS:
            cpu = {k: statistics.median(row[1] for row in res[side][(name, k)])
                   for k in (0, 1, 2, "s1", "s2")}
            busy = {k: statistics.median(row[2] for row in res[side][(name, k)])
                    for k in ("s1", "s2")}
            print("| %s | %s | %.3f / %.3f / %.3f | %.0f%% / %.0f%% | %.2f / %.2f | %.2f / %.2f "
                  "| %.2f / %.2f |"
                  % (side, name, cpu[0], cpu["s1"], cpu["s2"], busy["s1"] * 100,
                     busy["s2"] * 100, cpu[0] / cpu["s1"], cpu[0] / cpu["s2"],
                     cpu[0] / cpu[1], cpu[0] / cpu[2], cpu["s1"] / cpu[1], cpu["s2"] / cpu[2]),
                  flush=True)
    if rounds > 1:
        print("\nPer-round co-location ratios (1 / 2 stand-ins):")
        for side, _ in servers:
            for name, _ in TESTS:
                rows = {k: res[side][(name, k)] for k in (0, "s1", "s2")}
                per = ["%.2f/%.2f" % (rows[0][i][1] / rows["s1"][i][1],
                                      rows[0][i][1] / rows["s2"][i][1]) for i in range(rounds)]
                print("- %s %s: %s" % (side, name, " ".join(per)))


parse_cpus, fmt_cpus = benchlib.parse_cpus, benchlib.fmt_cpus


# ---- 2. full-sync time ---------------------------------------------------------------------

datasets = benchlib.hash_datasets


def sync_time(binary, gen, replica_extra=()):
    primary, replica = Server(binary), Server(binary, replica_extra)
    primary.start()
    replica.start()
    with primary.client() as c:
        c.pipeline(gen(), batch=1000)
    secs = replicate(replica, primary)
    primary.cleanup()
    replica.cleanup()
    return secs


def sync_rows(a, fields, rounds):
    """Full-sync times: Mayfly, Redis 7.0 (rows without TTLs), with --redis74 a Redis 7.4+
    build (every row) and the --also servers (every row), interleaved; medians, and each
    round's times in the order run."""
    extra = ["--repl-diskless-load", a.diskless_load] if a.diskless_load != "disabled" else []
    also = [tuple(spec.split("=", 1)) for spec in a.also]
    print("\n## Full-sync time of %d fields (REPLICAOF to link up, median of %d rounds, "
          "replicas with repl-diskless-load %s)\n" % (fields, rounds, a.diskless_load),
          flush=True)
    print("Load average before: %.2f %.2f %.2f\n" % os.getloadavg(), flush=True)
    cols = ["Mayfly", "Redis 7.0", "Redis 7.4+"] + [label for label, _ in also]
    print("| dataset | " + " | ".join(c + " s" for c in cols) + " | Mayfly / Redis | rounds |")
    print("| --- |" + " ---: |" * (len(cols) + 2))
    for ttl in (True, False):
        for name, gen in datasets(fields, ttl):
            if a.datasets and name not in a.datasets.split(","):
                continue
            sides = [("Mayfly", a.mayfly)]
            if not ttl:
                sides.append(("Redis 7.0", a.redis))
            if a.redis74:
                sides.append(("Redis 7.4+", a.redis74))
            sides += also
            times = {side: [] for side, _ in sides}
            for _ in range(rounds):
                for side, binary in sides:
                    times[side].append(sync_time(binary, gen, extra))
            med = {side: statistics.median(v) for side, v in times.items()}
            ref = med.get("Redis 7.4+") if ttl else med.get("Redis 7.0")
            cell = lambda side: "%.2f" % med[side] if side in med else "-"  # noqa: E731
            per_round = "; ".join(" ".join("%.2f" % times[side][r] for side, _ in sides)
                                  for r in range(rounds))
            print("| %s | %s | %s | %s |" % (name, " | ".join(cell(c) for c in cols),
                                             "%.2f" % (med["Mayfly"] / ref) if ref else "",
                                             per_round), flush=True)
    print("\nLoad average after: %.2f %.2f %.2f" % os.getloadavg())


def _interrupt(signum):
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER",
                                                       os.path.join(REPO, "build", "mayfly-server")))
    ap.add_argument("--redis", default=os.environ.get("REDIS_SERVER", "redis-server"))
    ap.add_argument("--redis2", default=os.environ.get("REDIS2_SERVER",
                                                       "/tmp/redis74/src/redis-server"),
                    help="a second Redis build for the throughput rows (skipped if absent)")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                    help="another server for every row (e.g. an older Mayfly build)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--fields", type=int)
    ap.add_argument("--pin", choices=("auto", "yes", "no"), default="auto",
                    help="primary alone on CPU 0, the rest elsewhere (auto: with 2+ CPUs)")
    ap.add_argument("--cpus", metavar="PRIMARY:OTHERS",
                    help="CPU lists for --pin, e.g. 0:1-3 (default: the first CPU : the rest)")
    ap.add_argument("--replica-sched", choices=("auto", "idle", "normal"), default="auto",
                    help="the replicas' scheduling in the throughput rows: idle (SCHED_IDLE: "
                    "they run only when the client leaves their CPU idle) or normal "
                    "(auto: idle when pinned)")
    ap.add_argument("--load", choices=("auto", "loadgen", "redis-benchmark"), default="auto",
                    help="the client of the throughput rows: mayfly-loadgen (cheap enough to "
                    "saturate the primary) or redis-benchmark (auto: loadgen if built)")
    ap.add_argument("--loadgen", default=os.environ.get("MAYFLY_LOADGEN", os.path.join(
        REPO, "build", "mayfly-loadgen")), help="path of mayfly-loadgen (bench/loadgen.c)")
    ap.add_argument("--standin-mb", type=int, default=16, metavar="MB",
                    help="the co-location rows: the primary without replicas but with 1 and 2 "
                    "stand-ins (mayfly-cachehog, random memory work over MB each) on the "
                    "replicas' CPUs; 0: no such rows")
    ap.add_argument("--cachehog", default=os.environ.get("MAYFLY_CACHEHOG", os.path.join(
        REPO, "build", "mayfly-cachehog")), help="path of mayfly-cachehog (bench/cachehog.c)")
    ap.add_argument("--rx-steer", default="off", metavar="off|rps|rfs[,...]",
                    help="the throughput rows' loopback receive: off (the kernel's default: "
                    "the sender's CPU runs it), rps (all of it on the replicas' CPUs), rfs "
                    "(each flow on its reader's CPU), set around each run and given back "
                    "after it (root only); several, comma-separated: each run under each, "
                    "alternated, one table per setting")
    ap.add_argument("--servers", help="throughput rows of these servers only, e.g. "
                    "Mayfly,Redis 7.4 (labels as in the table)")
    ap.add_argument("--only", default="throughput,sync")
    ap.add_argument("--datasets", help="full-sync rows to run, e.g. small+ttl,small "
                    "(default: small+ttl, big+ttl, small, big)")
    ap.add_argument("--redis74", default=os.environ.get("REDIS74_SERVER"),
                    help="a Redis 7.4+ build: full-sync rows with field TTLs against it")
    ap.add_argument("--diskless-load", default="disabled",
                    choices=("disabled", "on-empty-db", "swapdb"),
                    help="the replicas' repl-diskless-load (both servers)")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 3)
    n = a.requests or (100_000 if a.quick else 500_000)
    fields = a.fields or (200_000 if a.quick else 1_000_000)
    global PRIMARY_CPUS, OTHER_CPUS, REPLICA_IDLE, LOADGEN, STANDIN, STANDIN_MB, RX_STEER
    if a.load == "loadgen" or (a.load == "auto" and os.path.exists(a.loadgen)):
        if not os.path.exists(a.loadgen):
            ap.error("no mayfly-loadgen at %s (build it, or --loadgen PATH)" % a.loadgen)
        LOADGEN = a.loadgen
    cpus = sorted(os.sched_getaffinity(0))
    if a.cpus:
        first, _, rest = a.cpus.partition(":")
        PRIMARY_CPUS, OTHER_CPUS = parse_cpus(first), parse_cpus(rest)
    elif a.pin == "yes" or (a.pin == "auto" and len(cpus) >= 2):
        PRIMARY_CPUS, OTHER_CPUS = {cpus[0]}, set(cpus[1:])
    REPLICA_IDLE = a.replica_sched == "idle" or (a.replica_sched == "auto" and
                                                 PRIMARY_CPUS is not None)
    if a.standin_mb > 0 and "throughput" in a.only:
        if not os.path.exists(a.cachehog):
            ap.error("no mayfly-cachehog at %s (build it, --cachehog PATH, or --standin-mb 0)"
                     % a.cachehog)
        STANDIN, STANDIN_MB = a.cachehog, a.standin_mb
    RX_STEER = tuple(a.rx_steer.split(","))
    if any(st not in RX_SETTINGS for st in RX_STEER) or len(set(RX_STEER)) < len(RX_STEER):
        ap.error("--rx-steer: a comma-separated list of %s" % ", ".join(RX_SETTINGS))
    if RX_STEER != ("off",) and "throughput" in a.only:
        if OTHER_CPUS is None:
            ap.error("--rx-steer %s needs the replicas on CPUs of their own (--pin)"
                     % a.rx_steer)
        for path in sorted({p for st in RX_STEER for p, _ in rx_writes(st)}):
            if not os.access(path, os.W_OK):
                ap.error("--rx-steer %s: %s is not writable (root only)" % (a.rx_steer, path))
    # SIGTERM and SIGHUP end the run as Ctrl-C does: through the finally blocks that stop
    # the servers and give the RPS masks back.
    signal.signal(signal.SIGTERM, lambda signum, _: _interrupt(signum))
    signal.signal(signal.SIGHUP, lambda signum, _: _interrupt(signum))
    servers = [("Mayfly", a.mayfly), ("Redis 7.0", a.redis)]
    if a.redis2 and os.path.exists(a.redis2):
        servers.append(("Redis 7.4", a.redis2))
    for spec in a.also:
        label, _, path = spec.partition("=")
        servers.append((label, path))
    if a.servers:
        servers = [(label, path) for label, path in servers if label in a.servers.split(",")]
    try:
        if "throughput" in a.only:
            throughput(servers, n, rounds)
        if "sync" in a.only:
            sync_rows(a, fields, rounds)
    finally:
        benchlib.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
