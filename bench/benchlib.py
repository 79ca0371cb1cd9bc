"""What the bench/ scripts share: server processes on free loopback ports (Mayfly and
redis-server alike), pinning, CPU time from /proc, redis-benchmark runs, the small/big hash
datasets, and the load average line. Python 3 standard library only (RESP client: resp.py).

A Server runs `BINARY --port N --bind 127.0.0.1 --save '' --appendonly no --dir DIR` plus
its own arguments, in a directory of its own (a temp dir it removes at cleanup(), or one
the caller gives), with its output in DIR/log; start() waits for PONG (a -LOADING reply
keeps it waiting) and returns the seconds that took. Every Server is listed in ALL and
stop_all() kills them (scripts call it in a finally); the children also get
PR_SET_PDEATHSIG, so they die with the harness even if it is killed.
"""

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import schedtrace
from resp import Client, RespError

ALL = []  # every Server made; stop_all() stops them
# What a Server's cpus pin: "process" (every thread, from the exec on: the server's
# background threads share its CPU) or "main" (only the main thread, by its TID once it
# answers PING; the other threads may run on any CPU; re-applied by Server.repin()). Redis
# and Mayfly alike run their commands on the main thread and do lazy freeing, persistence
# and jemalloc's purging on others, so "main" is "the server pinned to one core" for both.
PIN_SCOPE = "process"
# With PIN_SCOPE "main": the CPUs of every thread but the main one (the clients' CPU in
# bench.py, so that no thread of either server, nor the harness, takes the main thread's
# CPU from it; None: any CPU).
OTHER_CPUS = None


# Kernel threads of the machine's own housekeeping that may run on any CPU and can be moved:
# DAMON's monitor (kdamond.N; on this VM it runs 2-8 ms at a time, and in the old runs it was
# the thread that took the servers' CPU from their main threads for a scheduler tick), RCU's
# grace-period thread (rcu_preempt: up to 6 ms at a time on the servers' CPU in a traced
# growth run), memory compaction (kcompactd0: 2 ms) and khugepaged. With PIN_SCOPE "main",
# bench.py moves them to the clients' CPU for the run, for Mayfly and Redis alike, and gives
# them back their CPUs at the end (restore_housekeeping). Names are comm prefixes.
HOUSEKEEPING = ("kdamond", "rcu_preempt", "kcompactd", "khugepaged")


def move_housekeeping(cpus):
    """Moves every thread named by HOUSEKEEPING onto CPUS; returns [(pid, comm, its CPUs
    before)] for restore_housekeeping. A thread that may not be moved is left alone."""
    moved = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
            if not comm.startswith(HOUSEKEEPING):
                continue
            before = os.sched_getaffinity(int(d))
            os.sched_setaffinity(int(d), cpus)
            moved.append((int(d), comm, before))
        except OSError:  # gone, or not ours to move
            continue
    return moved


def restore_housekeeping(moved):
    for pid, _, before in moved:
        try:
            os.sched_setaffinity(pid, before)
        except OSError:
            pass


# Kernel work that no thread can be moved for, steered by a CPU mask instead (hex, as
# sysfs writes it), for the latency probes (bench.py, with PIN_SCOPE "main"): the workers of
# unbound workqueues (kworker/uN:M, which refuse sched_setaffinity; up to 5 ms at a time on
# the servers' CPU in a traced growth run). Throughput runs keep the kernel's defaults, so
# that their ratios stay comparable with older runs. (Loopback RPS was tried: a server's CPU
# per request did not drop, its sends still raise the softirq that hands the packets over.)
STEER_MASKS = (("unbound workqueues", "/sys/devices/virtual/workqueue/cpumask"),)
# Receive Packet Steering of loopback (repl_bench.py --rx-steer): a packet sent over lo is
# received (netif_receive_skb, tcp_v4_rcv, the receiver's wake-up) on the sender's CPU, in
# its softirq, charged to the sending task on a kernel without IRQ time accounting; with a
# CPU mask in rps_cpus it is queued to that CPU's backlog and received there instead, as a
# peer on another machine would receive it on its own CPU.
RX_MASKS = (("loopback receive (RPS)", "/sys/class/net/lo/queues/rx-0/rps_cpus"),)
# Receive Flow Steering on top of it: each flow received on the CPU where the socket that
# reads it was last used (recorded in the global socket flow table), so that every process
# receives its own packets on its CPU, as on separate machines: lo's per-queue flow table
# and the global one (both 0, off, by default).
RFS_FILES = (("loopback flow table (RFS)", "/sys/class/net/lo/queues/rx-0/rps_flow_cnt"),
             ("socket flow table (RFS)", "/proc/sys/net/core/rps_sock_flow_entries"))


def cpu_mask(cpus):
    return "%x" % sum(1 << c for c in cpus)


def steer_kernel_work(cpus):
    """Writes the mask of CPUS into every STEER_MASKS file that takes it; returns [(path,
    label, old text)] for unsteer_kernel_work. A file missing or not writable is skipped."""
    done = []
    for label, path in STEER_MASKS:
        try:
            with open(path) as f:
                old = f.read().strip()
            with open(path, "w") as f:
                f.write(cpu_mask(cpus))
            done.append((path, label, old))
        except OSError:
            continue
    return done


def unsteer_kernel_work(done):
    for path, _, old in done:
        try:
            with open(path, "w") as f:
                f.write(old)
        except OSError:
            pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_cpus(spec):
    """"0,2-3" -> {0, 2, 3}"""
    out = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def fmt_cpus(cpus):
    return ",".join(str(c) for c in sorted(cpus))


def as_cpus(cpus):
    """None, a CPU number or a set of them -> None or a set."""
    if cpus is None:
        return None
    return {cpus} if isinstance(cpus, int) else set(cpus)


def child_setup(cpus=None):
    """A preexec_fn: the child dies with the harness (Linux PR_SET_PDEATHSIG) and runs on
    cpus (None: anywhere)."""
    cpus = as_cpus(cpus)

    def setup():
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
        except Exception:
            pass
        if cpus is not None:
            try:
                os.sched_setaffinity(0, cpus)
            except (AttributeError, OSError):
                pass

    return setup


def pinned(cpus):
    """A preexec_fn that only moves the child onto cpus (None: no preexec_fn at all)."""
    cpus = as_cpus(cpus)
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def set_policy(tid, policy):
    """Thread tid under policy: "fifo" (SCHED_FIFO priority 1, the lowest real-time one) or
    None (SCHED_OTHER). Raises OSError if not allowed (SCHED_FIFO needs CAP_SYS_NICE)."""
    if policy == "fifo":
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(1))
    elif os.sched_getscheduler(tid) != os.SCHED_OTHER:
        os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))


def policy_allowed(policy):
    """Whether this process may put a thread under policy (tried on itself, then undone)."""
    try:
        old = os.sched_getscheduler(0), os.sched_getparam(0)
        set_policy(0, policy)
        os.sched_setscheduler(0, old[0], old[1])
        return True
    except (AttributeError, OSError):
        return False


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


class Server:
    """One server process. name labels it in messages; args are extra server arguments;
    cpus pins it; dir: the directory to run in (default: a temp dir of its own, removed
    by cleanup()); port: fixed, else a free one (a new one if a start fails);
    logfile: pass --logfile DIR/log (its output then goes to DIR/stdout)."""

    def __init__(self, binary, name="server", args=(), cpus=None, dir=None, port=None,
                 logfile=False, prefix="mayfly-bench-"):
        # A path is made absolute (the process runs in its directory); a bare name is
        # looked up on PATH.
        self.binary = os.path.abspath(binary) if os.sep in binary else binary
        self.name, self.args = name, list(args)
        self.cpus = as_cpus(cpus)
        self.pin_scope = PIN_SCOPE
        self.own_dir = dir is None
        self.dir = tempfile.mkdtemp(prefix=prefix) if dir is None else dir
        os.makedirs(self.dir, exist_ok=True)
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.logfile = logfile
        self.logpath = os.path.join(self.dir, "log")
        self.proc = None
        ALL.append(self)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def argv(self):
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        if "--appendonly" not in self.args:
            argv += ["--appendonly", "no"]
        argv += ["--dir", self.dir]
        if self.logfile:
            argv += ["--logfile", self.logpath]
        return argv + self.args

    def start(self, timeout=20.0, tries=3):
        """Starts the process and waits until it answers PONG; returns the seconds from
        the spawn to that PONG."""
        last = None
        for _ in range(tries):  # a free port can be taken between probe and bind
            out = os.path.join(self.dir, "stdout") if self.logfile else self.logpath
            with open(out, "ab") as f:
                t0 = time.monotonic()
                self.proc = subprocess.Popen(self.argv(), stdout=f, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=self.dir,
                                             start_new_session=True,
                                             preexec_fn=child_setup(
                                                 self.cpus if self.pin_scope == "process"
                                                 else None))
            try:
                self.wait_ready(timeout)
                self.repin()
                return time.monotonic() - t0
            except RuntimeError as e:
                last = e
                self.stop()
                if not self.fixed_port:
                    self.port = free_port()
        raise RuntimeError("%s (%s) failed to start: %s\n--- log tail:\n%s"
                           % (self.name, self.binary, last, self.log_tail()))

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("exited with code %s while starting" % self.proc.returncode)
            try:
                with Client(self.port, timeout=5.0) as c:
                    r = c.try_call("PING")  # -LOADING while a dump loads
                    if r == "PONG":
                        return
                    last = r
            except (OSError, ConnectionError) as e:
                last = e
            time.sleep(0.005)
        raise RuntimeError("no PONG on port %d after %.0f s (%s)" % (self.port, timeout, last))

    def threads(self):
        """The thread ids of the process (the main thread's is its pid), or []."""
        try:
            return [int(t) for t in os.listdir("/proc/%d/task" % self.proc.pid)]
        except (OSError, AttributeError):
            return []

    def repin(self, policy=None):
        """With pin_scope "main": the main thread onto cpus under policy (set_policy),
        every other thread onto OTHER_CPUS (default: all the CPUs the harness may use)
        under SCHED_OTHER (a thread the main thread started since inherited its pinning
        and policy). Call it again before a measurement; nothing to do otherwise."""
        if self.cpus is None or self.pin_scope != "main" or not self.alive():
            return
        others = as_cpus(OTHER_CPUS) or os.sched_getaffinity(0)
        for tid in self.threads():
            main = tid == self.proc.pid
            try:
                os.sched_setaffinity(tid, self.cpus if main else others)
                set_policy(tid, policy if main else None)
            except OSError:
                pass  # a thread that ended meanwhile

    def main_sched(self):
        """The main thread's scheduling counters: (ms it waited on a run queue while
        runnable, involuntary context switches), from /proc; (None, None) if unreadable.
        Their growth over a window says how often and how long another thread of the
        machine held the main thread's CPU while it had work (time the hypervisor takes
        the whole virtual CPU away is not in them)."""
        try:
            wait_ms = schedtrace.run_delay_ms(self.proc.pid)
            with open("/proc/%d/task/%d/status" % (self.proc.pid, self.proc.pid)) as f:
                inv = [int(line.split()[1]) for line in f
                       if line.startswith("nonvoluntary_ctxt_switches")][0]
            return (wait_ms, inv) if wait_ms is not None else (None, None)
        except (OSError, ValueError, IndexError, AttributeError):
            return None, None

    def stop(self):
        """Kills the process (SIGKILL; nothing of it is measured any more)."""
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)

    kill = stop

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout=60.0):
        return Client(self.port, timeout=timeout)

    def call(self, *args, timeout=10.0):
        """One command on a new connection; bulk replies decoded to str."""
        with Client(self.port, timeout=timeout) as c:
            r = c.call(*args)
            return r.decode() if isinstance(r, bytes) else r

    def info(self, section):
        with self.client() as c:
            return c.info(section)

    def log_tail(self, n=15):
        try:
            with open(self.logpath, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def cpu_seconds(self):
        """CPU time the process has used, every thread (schedstat's time on a CPU, ns: user
        + system, also the kernel's work for its sockets), or None."""
        try:
            total = 0
            task_dir = "/proc/%d/task" % self.proc.pid
            for tid in os.listdir(task_dir):
                try:
                    with open(os.path.join(task_dir, tid, "schedstat")) as f:
                        total += int(f.read().split()[0])
                except OSError:
                    pass  # a thread that ended meanwhile
            return total / 1e9
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def cpu_ticks_seconds(self):
        """User + system CPU time from /proc/PID/stat (clock ticks, 10 ms), or None."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def rss_bytes(self):
        with open("/proc/%d/statm" % self.pid) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def mem(self):
        """(used_memory from INFO memory or None, RSS from /proc/PID/statm)."""
        um = self.info("memory").get("used_memory")
        return (int(um) if um is not None and um.isdigit() else None), self.rss_bytes()


def stop_all():
    """Stops and cleans up every Server made (each in turn, whatever the others do)."""
    for s in ALL:
        try:
            s.cleanup()
        except Exception:  # keep stopping the others
            pass


def redis_benchmark(port, argv, n, clients=50, pipeline=1, r=None, extra=(), cpus=None,
                    timeout=600.0, rb="redis-benchmark", host="127.0.0.1"):
    """Runs redis-benchmark --csv ARGV; returns (process, its stdout, stderr, wall s)."""
    cmd = [rb, "-h", host, "-p", str(port), "-c", str(clients), "-n", str(n), "-P",
           str(pipeline), "--csv"] + list(extra)
    if r:
        cmd += ["-r", str(r)]
    t0 = time.monotonic()
    p = subprocess.run(cmd + [str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, stdin=subprocess.DEVNULL,
                       preexec_fn=pinned(cpus))
    return (p, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
            time.monotonic() - t0)


def csv_rps(out):
    """The requests/s of the last row of redis-benchmark --csv output, or None."""
    rows = list(csv.reader(io.StringIO(out)))
    try:
        return float(rows[-1][1])
    except (IndexError, ValueError):
        return None


def hash_datasets(fields, ttl):
    """[(name, generator of encoded commands)]: "small" (fields/100 hashes of 100 fields)
    and "big" (one hash of all the fields), fields set by HSET and, with ttl, each given
    its own deadline by HPEXPIREAT, an hour away plus the field's number in ms."""
    from resp import encode

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


def wait_for(cond, timeout, what, every=0.01, errors=(OSError, ConnectionError, RespError)):
    """Polls cond() every `every` s until it is true; raises after timeout s. Errors of
    the kinds given count as not yet."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if cond():
                return time.monotonic() - t0
        except errors:
            pass
        time.sleep(every)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))
