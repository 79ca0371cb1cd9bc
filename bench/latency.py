"""Latency probes of bench.py: PING round trips from a separate client while a server does
something big (issue 17), Mayfly beside Redis.

Each case starts a fresh server, prepares data, then runs the measured work while
build/mayfly-latprobe (bench/latprobe.c, a C client, so that the figures are not a Python
thread's) sends PING back to back on its own connection and, for some cases, polls other
commands every 50 ms on more connections. Reported: PING p50/p99/max over the window of
the work, the pollers' max, and the case's own figure (time to reap, load time, FLUSHALL
time).

    expiry  hash1m     one hash of N fields due at once; pollers HLEN every 50 ms and HSCAN
                       (100 fields a call, walking on) every 50 ms; "reaped" = every field
                       counted in expired_subkeys and nothing left in lazyfree_pending_objects
            keys1m     N plain keys (SET + PEXPIREAT) due at once; poller DBSIZE; the Redis 7.0
                       reference
            hashes10m  10 N fields across N hashes of 10 due at once
    growth  keys10m    the key table grown to 10 N keys by pipelined SET
            hash10m    one hash grown to 10 N fields by pipelined HSET (100 fields a command)
    flush   flush5m    5 N keys, then FLUSHALL: how long every other client waits

Field-TTL cases need HSETEX (Redis 8) or HSET + HPEXPIREAT (Redis 7.4); a server with
neither (Debian's Redis 7.0) shows them as skipped.
"""

import atexit
import contextlib
import os
import subprocess
import tempfile
import time

import benchlib
import schedtrace
from resp import RespError, UnknownCommand, encode

DEADLINE_TOKEN = b"9999999999999"  # 13 digits, replaced by the real PXAT deadline in ms
VALUE = "0123456789abcdef"
POLL_MS = 50
# latprobe's spinning thread's samples: gaps, not round trips; SPIN_CONN the gaps in which
# it was not switched out (the virtual CPU stalled), SPIN_SWITCHED those in which another
# thread of the machine ran instead.
SPIN_CONN, SPIN_SWITCHED = -1, -2
REDIS_CLI = "redis-cli"  # sends the prepared load (Debian redis-tools)
# The policy of the servers' main threads and the probe's connections in the windows
# (benchlib.set_policy: "fifo", SCHED_FIFO priority 1, so that no ordinary thread that wakes
# on their CPU preempts them, as a core of their own would give them; or None), set by
# bench.py --main-sched: in the expiry windows (from the end of the load) and in the growth
# and FLUSHALL ones (the whole load). FIFO does not suit a main thread busy for most of a
# second: past 0.95 s of a second the kernel's real-time throttling (sched_rt_runtime_us)
# holds it back for the rest of it, tens of milliseconds.
# The paced growth windows (bench.py --growth-rate) take EXPIRY_POLICY: a steady client
# keeps the main thread busy for a part of each second only.
EXPIRY_POLICY = None
GROWTH_POLICY = None


def log(msg):
    print(msg, flush=True)


@contextlib.contextmanager
def server_row(kind, width, label, side, srv, rec):
    """One server's row of a table: a connection, protocol or run failure inside makes the
    row FAILED (logged) instead of ending the run, and the server is stopped either way."""
    try:
        yield
    except (RespError, RuntimeError, OSError, ConnectionError) as e:
        rec["skipped"] = "FAILED: %s" % e
        log("  %-6s %-*s %-6s FAILED: %s" % (kind, width, label, side, e))
    finally:
        srv.stop()


def human(n):
    return "%gM" % (n / 1e6) if n >= 1_000_000 else "%gk" % (n / 1e3)


def fmt_ms(x):
    return "-" if x is None else ("%.2f" % x if x < 100 else "%.0f" % x)


def pct(sorted_xs, p):
    if not sorted_xs:
        return None
    i = min(len(sorted_xs) - 1, max(0, int(round(p / 100.0 * len(sorted_xs) + 0.5)) - 1))
    return sorted_xs[i]


# --------------------------------------------------------------------------------------
# The probe process
# --------------------------------------------------------------------------------------

class Probe:
    """build/mayfly-latprobe on a server: PING back to back, plus pollers
    [(every_ms, [cmd, args...]), ...]. Samples are (conn, send time s, rtt ms)."""

    def __init__(self, binary, port, pollers=(), cpu=None, spin=None, policy=None):
        self.binary = binary
        self.policy = policy  # of its connections' thread (benchlib.set_policy)
        self.port = port
        self.pollers = list(pollers)
        self.cpu = cpu
        self.spin = spin  # "idle" / "normal": also run latprobe's spinning thread
        self.proc = None
        self.samples = []
        fd, self.path = tempfile.mkstemp(prefix="latprobe-", suffix=".txt")
        os.close(fd)

    def __enter__(self):
        argv = [self.binary, str(self.port), self.path]
        if self.spin:
            argv += ["--spin", self.spin]
        for every, cmd in self.pollers:
            argv += ["--every", str(every)] + [str(a) for a in cmd] + ["--"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     preexec_fn=benchlib.pinned(self.cpu))
        time.sleep(0.2)
        if self.policy:  # its connections' thread, as the server's main thread; set
            # after the spinning thread started (a new thread inherits its creator's policy)
            try:
                benchlib.set_policy(self.proc.pid, self.policy)
            except OSError:
                pass  # bench.py checked it was allowed; a probe that already ended
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc is None:
            return self.samples
        p, self.proc = self.proc, None
        try:
            p.stdin.close()  # the probe stops at EOF and writes its samples
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
        try:
            with open(self.path) as f:
                for line in f:
                    c, t, r = line.split()
                    self.samples.append((int(c), int(t) / 1e6, int(r) / 1000.0))
        finally:
            os.unlink(self.path)
        return self.samples

    def stats(self, conn, t0, t1):
        """Round trips of conn that overlap [t0, t1] (sent by t1, answered after t0: a
        PING sent just before a deadline and held up by the work counts)."""
        xs = sorted(r for c, t, r in self.samples
                    if c == conn and t <= t1 and t + r / 1000.0 >= t0)
        return {"n": len(xs), "p50": pct(xs, 50), "p99": pct(xs, 99),
                "max": xs[-1] if xs else None,
                "over1": sum(1 for x in xs if x > 1.0), "over2": sum(1 for x in xs if x > 2.0)}

    def spin_stats(self, t0, t1):
        """The spinning thread's gaps (> 0.25 ms) overlapping [t0, t1]: the longest, how
        many were over 1 ms / 2 ms, and the share of the window the thread ran (1 - the
        gaps' sum / the window): low when other work of the probe's CPU (a loader) took
        it, and then the gaps are that work's, not the machine's. None without --spin."""
        if not self.spin or t1 <= t0:
            return None
        spans = [(c, t, r) for c, t, r in self.samples
                 if c in (SPIN_CONN, SPIN_SWITCHED) and t <= t1 and t + r / 1000.0 >= t0]
        gaps = [r for c, _, r in spans if c == SPIN_CONN]
        others = [r for c, _, r in spans if c == SPIN_SWITCHED]
        lost = sum(min(t + r / 1000.0, t1) - max(t, t0) for _, t, r in spans)
        return {"max": max(gaps) if gaps else 0.0, "over1": sum(1 for g in gaps if g > 1.0),
                "over2": sum(1 for g in gaps if g > 2.0),
                "switched_max": max(others) if others else 0.0,
                "ran": max(0.0, 1.0 - lost / (t1 - t0))}


# --------------------------------------------------------------------------------------
# Loading: commands prepared once in a file, sent by redis-cli --pipe
# --------------------------------------------------------------------------------------

_FILES = {}  # (generator, args) -> file of its commands, written once, sent to each server


def command_file(gen_name, gen_args):
    """A file holding the RESP commands of GENERATORS[gen_name](*gen_args), written the
    first time (deadlines as DEADLINE_TOKEN) and kept for the other server's run."""
    key = (gen_name, tuple(gen_args))
    path = _FILES.get(key)
    if path is None:
        fd, path = tempfile.mkstemp(prefix="mayfly-load-", suffix=".resp")
        with os.fdopen(fd, "wb", buffering=1 << 20) as f:
            for cmd in GENERATORS[gen_name](*gen_args):
                f.write(cmd)
        _FILES[key] = path
    return path


@atexit.register
def drop_command_files():
    for path in _FILES.values():
        try:
            os.unlink(path)
        except OSError:
            pass
    _FILES.clear()


def paced_feed(proc, path, total_s, chunk=1 << 14):
    """Writes the file at path into proc's standard input at an even byte rate, so that
    the whole file takes total_s seconds (chunk bytes at a time, each when the rate
    allows); the caller closes it."""
    size = os.path.getsize(path)
    rate = size / total_s
    start = time.monotonic()
    sent = 0
    with open(path, "rb") as f:
        while True:
            buf = f.read(chunk)
            if not buf:
                break
            due = start + sent / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            proc.stdin.write(buf)
            sent += len(buf)


def load_in_child(port, gen_name, gen_args, deadline_ms=None, cpu=None, timeout=1800,
                  paced_s=None):
    """Sends the commands of a generator to the server with redis-cli --pipe (C, so the
    loader keeps up with the server on a loaded machine, where a Python client did not),
    deadlines set to deadline_ms; fails unless every reply came back without an error.
    paced_s: spread the commands evenly over that many seconds (a client writing at a
    steady rate) instead of as fast as the server takes them."""
    path = command_file(gen_name, gen_args)
    argv = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), "--pipe"]
    if paced_s:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, preexec_fn=benchlib.pinned(cpu))
        try:
            paced_feed(p, path, paced_s)
            out = p.communicate(timeout=timeout)[0].decode(errors="replace").strip()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if p.returncode != 0 or "errors: 0," not in out:
            raise RuntimeError("loader (redis-cli --pipe, paced): %s" % out[-300:])
        return
    kw = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
              preexec_fn=benchlib.pinned(cpu))
    if deadline_ms:
        with open(path, "rb") as f:
            data = f.read().replace(DEADLINE_TOKEN, b"%013d" % deadline_ms)
        r = subprocess.run(argv, input=data, **kw)
    else:
        with open(path, "rb") as f:
            r = subprocess.run(argv, stdin=f, **kw)
    out = r.stdout.decode(errors="replace").strip()
    if r.returncode != 0 or "errors: 0," not in out:
        raise RuntimeError("loader (redis-cli --pipe): %s" % out[-300:])


def gen_keys(n, ttl):
    for i in range(n):
        k = "k:%d" % i
        yield encode("SET", k, VALUE)
        if ttl:
            yield encode("PEXPIREAT", k, DEADLINE_TOKEN)


def gen_big_hash(nfields, mode, key="big", per_cmd=100):
    """mode: None (HSET), "hsetex" (HSETEX PXAT), "hpexpireat" (HSET then HPEXPIREAT)."""
    for start in range(0, nfields, per_cmd):
        end = min(nfields, start + per_cmd)
        names = ["f%d" % j for j in range(start, end)]
        pairs = []
        for j, name in zip(range(start, end), names):
            pairs += [name, "%016d" % j]
        if mode == "hsetex":
            yield encode("HSETEX", key, "PXAT", DEADLINE_TOKEN, "FIELDS", end - start, *pairs)
        else:
            yield encode("HSET", key, *pairs)
            if mode == "hpexpireat":
                yield encode("HPEXPIREAT", key, DEADLINE_TOKEN, "FIELDS", end - start, *names)


def gen_small_hashes(nkeys, mode):
    for i in range(nkeys):
        key = "h:%d" % i
        pairs = []
        for j in range(10):
            pairs += ["f%d" % j, "%016d" % (i * 10 + j)]
        if mode == "hsetex":
            yield encode("HSETEX", key, "PXAT", DEADLINE_TOKEN, "FIELDS", 10, *pairs)
        else:
            yield encode("HSET", key, *pairs)
            if mode == "hpexpireat":
                yield encode("HPEXPIREAT", key, DEADLINE_TOKEN, "FIELDS", 10,
                             *["f%d" % j for j in range(10)])


GENERATORS = {"keys": gen_keys, "big": gen_big_hash, "small": gen_small_hashes}


def field_ttl_mode(srv):
    """How srv sets a field deadline: "hsetex", "hpexpireat", or None (no field TTL)."""
    with srv.client() as c:
        r = c.try_call("HSETEX", "__probe", "PX", 1000, "FIELDS", 1, "f", "v")
        if not isinstance(r, UnknownCommand):
            c.try_call("DEL", "__probe")
            return "hsetex"
        c.try_call("HSET", "__probe", "f", "v")
        r = c.try_call("HPEXPIRE", "__probe", 1000, "FIELDS", 1, "f")
        c.try_call("DEL", "__probe")
        return None if isinstance(r, RespError) else "hpexpireat"


def reset_stats(srv, policy=None):
    """The start of a window: statistics reset, the server's threads pinned again (a thread
    its main thread started since inherited the main thread's CPU and policy), the main
    thread under policy, its scheduling counters noted."""
    srv.repin(policy)
    with srv.client() as c:
        c.try_call("CONFIG", "RESETSTAT")
    srv.sched_at_reset = srv.main_sched()


def preempted(srv):
    """Since reset_stats: (ms the server's main thread waited for its CPU while runnable,
    involuntary switches), or None."""
    (w0, n0), (w1, n1) = getattr(srv, "sched_at_reset", (None, None)), srv.main_sched()
    if None in (w0, n0, w1, n1):
        return None
    return w1 - w0, n1 - n0


class Watch:
    """The servers' CPU over a window (bench.py --sched-trace): the host's steal from it
    (/proc/stat) and who held the server's main thread off it while runnable (schedtrace: sched_switch
    and sched_wakeup), and each PING over 2 ms set against those waits. Nothing of it
    touches the PING figures themselves. Use: with Watch(args, srv) as w: ... w.mark() at
    the window's start ... w.finish(rec, probe, t0, t1) after the probe stopped."""

    def __init__(self, args, srv):
        self.cpu, self.tid = args.server_cpu, srv.pid
        self.trace = (schedtrace.SchedTrace(self.cpu, srv.pid,
                                            probe=getattr(args, "sched_probe", False))
                      if self.cpu is not None and getattr(args, "sched_trace", False) else None)
        self.steal0 = self.steal1 = self.events = None
        self.ksoft0 = self.ksoft1 = None
        self.ksoftirqd = schedtrace.kthread_pid(self.cpu) if self.cpu is not None else None

    def __enter__(self):
        if self.trace:
            self.trace.start()
        self.mark()
        return self

    def __exit__(self, *exc):
        if self.trace:
            self.trace.close()

    def mark(self):
        if self.cpu is not None:
            self.steal0 = schedtrace.steal_ms(self.cpu)
            self.ksoft0 = schedtrace.run_delay_ms(self.ksoftirqd)

    def end(self):
        """The window's end: steal read, tracing stopped."""
        self.steal1 = schedtrace.steal_ms(self.cpu) if self.cpu is not None else None
        self.ksoft1 = schedtrace.run_delay_ms(self.ksoftirqd)
        self.events = self.trace.stop() if self.trace and self.trace.ok else None

    def finish(self, rec, probe, t0, t1):
        """After end() and the probe's stop(): rec["steal_ms"] (the window's steal, ms),
        rec["preempt_by"] (schedtrace.summary of [t0, t1], wall s, with the events the
        buffer "lost") and rec["ping_attr"] (attribute_pings)."""
        if self.cpu is None:
            return
        rec["steal_ms"] = (None if None in (self.steal0, self.steal1)
                           else self.steal1 - self.steal0)
        rec["ksoftirqd_wait_ms"] = (None if None in (self.ksoft0, self.ksoft1)
                                    else self.ksoft1 - self.ksoft0)
        if not self.events and not (self.trace and self.trace.ok):
            return
        off = time.time() - time.monotonic()
        episodes = schedtrace.preemptions(self.events, self.tid)
        dump = os.environ.get("MAYFLY_BENCH_TRACE_DUMP")  # a directory: raw events, episodes
        if dump:
            import json
            with open(os.path.join(dump, "trace-%d-%d.json" % (self.tid, int(t0))), "w") as f:
                json.dump({"tid": self.tid, "t0": t0 - off, "t1": t1 - off,
                           "events": self.events, "episodes": episodes}, f)
        rec["preempt_by"] = schedtrace.summary(episodes, t0 - off, t1 - off)
        rec["preempt_by"]["lost"] = self.trace.overrun
        # The kernel's own sum of the same waits (schedstat, read at the window's end): a
        # traced sum far above it means events the trace missed (seen once: a 997 ms wait
        # behind one thread while PINGs came back within 14 ms), so the block says so.
        pr = rec.get("preempted")
        rec["preempt_by"]["off"] = bool(pr and pr[0] is not None
                                        and rec["preempt_by"]["ms"] > 1.2 * pr[0] + 5.0)
        rec["ping_attr"] = schedtrace.attribute_pings(probe.samples, episodes, off, t0, t1)
        if self.trace.probe:
            rec["ping_legs"] = schedtrace.segments(self.events, self.trace.probe_events,
                                                   self.tid, probe.samples, off, t0, t1,
                                                   hz=schedtrace.kernel_hz())


def turn_stats(srv, rec=None):
    """The longest loop turn since the last RESETSTAT, in ms: (busy wall time, server
    thread CPU time, "turns over 1 ms / 2 ms of CPU of all turns"), or Nones for a server
    that does not report them (Redis). With rec, also rec["preempted"] (preempted())."""
    if rec is not None:
        rec["preempted"] = preempted(srv)
    with srv.client() as c:
        st = c.info("stats")
    w, cpu = st.get("mayfly_eventloop_turn_max_usec"), st.get("mayfly_eventloop_turn_cpu_max_usec")
    o1, o2 = st.get("mayfly_eventloop_turns_cpu_over_1ms"), st.get("mayfly_eventloop_turns_cpu_over_2ms")
    over = "%s/%s of %s" % (o1, o2, st.get("eventloop_cycles")) if o2 is not None else None
    return (int(w) / 1000.0 if w else None), (int(cpu) / 1000.0 if cpu else None), over


def info_int(c, section, field):
    v = c.info(section).get(field)
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------
# Expiry: everything due at one instant
# --------------------------------------------------------------------------------------

def expiry_cases(n):
    """(id, label, generator, args(mode), fields to reap, pollers)."""
    return [
        ("hash1m", "1 hash x %s fields" % human(n), "big", lambda m: (n, m), n,
         [(POLL_MS, ["HLEN", "big"]), (POLL_MS, ["HSCAN", "big", "$CURSOR", "COUNT", "100"])]),
        ("keys1m", "%s plain keys (PEXPIREAT)" % human(n), "keys", lambda m: (n, True), n,
         [(POLL_MS, ["DBSIZE"])]),
        ("hashes10m", "%s hashes x 10 fields" % human(n), "small", lambda m: (n, m), 10 * n,
         [(POLL_MS, ["DBSIZE"])]),
    ]


def expiry_run(args, srv, gen, gen_args, total, pollers, margin):
    srv.restart()
    command_file(gen, gen_args)  # written once, before the clock starts
    deadline_ms = int(time.time() * 1000 + margin * 1000)
    deadline = deadline_ms / 1000.0
    t0 = time.monotonic()
    load_in_child(srv.port, gen, gen_args, deadline_ms, args.client_cpu)
    rec = {"load_s": time.monotonic() - t0}
    if time.time() > deadline - 1.0:
        raise DeadlineOverrun("load took %.1fs, too close to the %.0fs deadline"
                              % (rec["load_s"], margin), rec["load_s"])
    rec["used_before"], rec["rss_before"] = srv.mem()
    reset_stats(srv, EXPIRY_POLICY)
    with srv.client() as c:
        base = (info_int(c, "stats", "expired_keys") or 0) + \
            (info_int(c, "stats", "expired_subkeys") or 0)
    gone_at = None
    with Watch(args, srv) as watch, Probe(args.latprobe, srv.port, pollers, args.client_cpu,
                                          args.spin, EXPIRY_POLICY) as probe:
        with srv.client() as c:
            time.sleep(max(0.0, deadline - time.time()))
            srv.sched_at_reset = srv.main_sched()  # "preempted" counts from the deadline
            watch.mark()
            hard_end = deadline + args.expiry_timeout
            while time.time() < hard_end:
                st = c.info("stats")
                done = int(st.get("expired_keys", 0)) + int(st.get("expired_subkeys", 0)) - base
                pending = info_int(c, "memory", "lazyfree_pending_objects") or 0
                if done >= total and pending == 0:
                    gone_at = time.time()
                    break
                time.sleep(0.01)
            rec["preempted"] = preempted(srv)  # read first: the window's end
            watch.end()
            rec["reaped"] = done
    rec["turn_ms"], rec["turn_cpu_ms"], rec["turns_over"] = turn_stats(srv)
    end = gone_at or time.time()
    rec["gone_after_s"] = (gone_at - deadline) if gone_at else None
    time.sleep(0.3)
    rec["used_after"], rec["rss_after"] = srv.mem()
    rec["ping"] = probe.stats(0, deadline, end)
    rec["spin"] = probe.spin_stats(deadline, end)
    rec["pollers"] = [probe.stats(i + 1, deadline, end) for i in range(len(pollers))]
    rec["ping_before"] = probe.stats(0, 0, deadline)
    watch.finish(rec, probe, deadline, end)
    return rec


class DeadlineOverrun(RuntimeError):
    def __init__(self, msg, load_s):
        super().__init__(msg)
        self.load_s = load_s


def expiry_probe(args, servers):
    out = []
    modes = {}
    for side, srv in servers.items():
        srv.restart()
        modes[side] = field_ttl_mode(srv)
        srv.stop()
    for cid, label, gen, gen_args, total, pollers in expiry_cases(args.fields):
        if args.cases and cid not in args.cases:
            continue
        for side, srv in servers.items():
            rec = {"case": cid, "label": label, "side": side, "total": total}
            mode = modes[side]
            if gen != "keys" and mode is None:
                rec["skipped"] = "no field TTL (HSETEX / HPEXPIRE unknown)"
                out.append(rec)
                continue
            with server_row("expiry", 28, label, side, srv, rec):
                try:
                    rec.update(expiry_run(args, srv, gen, gen_args(mode), total, pollers,
                                          args.expiry_margin))
                except DeadlineOverrun as e:  # slow machine: one retry with a longer margin,
                    # enough for the load just timed (10M fields take a minute on a busy VM)
                    margin = max(3 * args.expiry_margin, 1.5 * e.load_s + 5)
                    log("  expiry %-28s %-6s %s; retrying with %.0fs" % (label, side, e, margin))
                    rec.update(expiry_run(args, srv, gen, gen_args(mode), total, pollers,
                                          margin))
                log("  expiry %-28s %-6s reaped %s after deadline, PING max %s ms, turn max %s "
                    "ms, preempted %s, floor %s%s"
                    % (label, side, "-" if rec["gone_after_s"] is None else
                       "%.2fs" % rec["gone_after_s"], fmt_ms(rec["ping"]["max"]),
                       turn_cell(rec), preempt_cell(rec), spin_cell(rec), attr_cell(rec)))
            out.append(rec)
    return out


def attr_cell(r):
    """For the log: the servers' CPU's steal and the main thread's traced waits."""
    out = ""
    if r.get("steal_ms") is not None:
        out += ", steal %.0f ms" % r["steal_ms"]
    if r.get("ksoftirqd_wait_ms") is not None:
        out += ", ksoftirqd waited %.1f ms" % r["ksoftirqd_wait_ms"]
    b = r.get("preempt_by")
    if b:
        out += ", waited %.1f ms/%d by %s" % (b["ms"], b["n"], ", ".join(
            "%s %.1f" % (w[0], w[1]) for w in b["by"][:3]) or "none")
    return out


def spin_cell(r):
    """The machine's floor in the window: the spin thread's longest stall ms, stalls over
    1 ms / 2 ms, and the share of the window it ran."""
    sp = r.get("spin")
    if not sp:
        return "-"
    return "%s %d/%d %.0f%%" % (fmt_ms(sp["max"]), sp["over1"], sp["over2"], 100 * sp["ran"])


def preempt_cell(r):
    """The server's main thread in the window: ms it waited for its CPU / times it was
    preempted."""
    pr = r.get("preempted")
    return "-" if not pr else "%.1f/%d" % pr


def ping_cells(p):
    return ("/".join(fmt_ms(p[k]) for k in ("p50", "p99", "max")),
            "%d/%d" % (p.get("over1", 0), p.get("over2", 0)))


FLOOR_NOTE = ("floor: latprobe's spinning thread (SCHED_IDLE, on the clients' CPU) in the "
              'same window: its longest stall in ms, stalls > 1 ms / > 2 ms, and the share of'
              ' the window it ran. A stall is a gap between two clock reads of a thread that '
              'never sleeps during which it was not switched out: the virtual CPU itself '
              'stopped (hypervisor, interrupts), which no thread escapes, so a PING max near '
              "it is the machine's, not the server's (gaps in which another thread ran "
              'instead are not counted: bench/README). A low ran share means other work on '
              "that CPU (the loader during growth) took it. preempted: the server's main "
              "thread's wait for its CPU while runnable / involuntary switches in the window "
              '(/proc schedstat and status): near 0 when nothing else of the machine took its'
              ' CPU.')


def attribution_lines(recs):
    """Per window: how many PINGs took over 2 ms and how many of them overlapped a wait of
    the server's main thread (runnable, not running), the longest PING less the waits
    inside it, the waits (ms / count, longest) and who ran meanwhile, the host's steal from
    the servers' CPU and its ksoftirqd's wait. Empty without --sched-trace data and steal."""
    rows = [r for r in recs if not r.get("skipped") and ("steal_ms" in r or "preempt_by" in r)]
    if not rows:
        return []
    hdr = ("%-32s %-6s %12s %12s %26s %9s %12s  %s"
           % ("case", "server", ">2ms waited", "rest max ms", "waits ms/n (preempted) max",
              "steal ms", "ksoftirqd ms", "who ran instead: ms/waits longest"))
    lines = ["", hdr, "-" * len(hdr)]
    for r in rows:
        a, b = r.get("ping_attr"), r.get("preempt_by")
        who = "-"
        if b:
            who = ", ".join("%s %.1f/%d %.1f" % w for w in b["by"][:4]) or "none"
            if len(b["by"]) > 4:
                who += ", +%d more" % (len(b["by"]) - 4)
            if b.get("lost"):
                who += " (trace lost %d events)" % b["lost"]
            if b.get("off"):
                who += " (TRACE OFF: above schedstat's wait, not to be trusted)"
        st, ks = r.get("steal_ms"), r.get("ksoftirqd_wait_ms")
        lines.append("%-32s %-6s %12s %12s %26s %9s %12s  %s"
                     % (r["label"], r["side"],
                        "%d/%d" % (a["preempted"], a["n"]) if a else "-",
                        fmt_ms(a["rest_max"]) if a and a["n"] else "-",
                        "%.1f/%d (%d) %.1f" % (b["ms"], b["n"], b["preempted"], b["longest_ms"])
                        if b else "-",
                        "-" if st is None else "%.0f" % st,
                        "-" if ks is None else "%.1f" % ks, who))
    lines.append("")
    lines.append("Attribution, the servers' CPU in the same window (--sched-trace): >2ms "
                 "waited: PINGs over 2 ms that overlapped a wait of the server's main thread / "
                 "all PINGs over 2 ms; rest max: the longest PING over 2 ms less the waits "
                 "inside it (what the server's own turns, the host's steal and the loopback "
                 "account for); waits: the main thread runnable but not running (from its "
                 "wake-up or its preemption to its switch-in: kernel sched_switch events of "
                 "that CPU and the thread's sched_wakeup, tracefs, monotonic clock), ms / how "
                 "many (how many began with a preemption) and the longest, and who ran there "
                 "meanwhile (swapper/N: the CPU coming out of idle, or a runnable real-time "
                 "thread held back by throttling); TRACE OFF: the traced waits sum to over 1.2 x + 5 ms "
                 "of the kernel's schedstat wait (the preempted column): events were missed, "
                 "read that row's waits as unreliable; steal: the host's steal from that CPU over "
                 "the window (/proc/stat, to about 10 ms); ksoftirqd: how long that CPU's "
                 "ksoftirqd waited for it while runnable in the window (its schedstat; softirq "
                 "work the kernel deferred to it waits that long, so a real-time server thread "
                 "that starved it shows here). No PING is left out of the PING columns above.")
    lines += legs_lines(rows)
    return lines


def legs_lines(rows):
    """--sched-trace probe: each window's PINGs over 2 ms by their legs (schedtrace.segments)."""
    rows = [r for r in rows if r.get("ping_legs")]
    if not rows:
        return []
    names = schedtrace.SEGMENTS
    nums = " / ".join(str(i + 1) for i in range(len(names)))
    hdr = ("%-32s %-6s %8s  %-30s  %-36s  %s"
           % ("case", "server", "placed", "largest leg: " + nums, "longest ms: " + nums,
              "over 1 ms, ending on a tick: " + nums))
    lines = ["", hdr, "-" * len(hdr)]
    for r in rows:
        g = r["ping_legs"]
        lines.append("%-32s %-6s %8s  %-30s  %-36s  %s"
                     % (r["label"], r["side"], "%d/%d" % (g["placed"], g["n"]),
                        " / ".join(str(x) for x in g["largest"]),
                        " / ".join("%.2f" % x for x in g["max"]),
                        " / ".join("%d/%d" % tuple(x) for x in g["tick"])))
    lines.append("")
    lines.append("Legs of each PING over 2 ms (--sched-trace probe: the probe's switches and "
                 "wake-ups traced too): 1 %s: from the send to the server's wake-up (0 when it "
                 "was running), the request's wake-up reaching the server's CPU; 2 %s: its "
                 "run-queue wait; 3 %s: from its switch-in to its wake-up of the probe, its own "
                 "turns and any time its CPU was taken without a switch; 4 %s: from that wake-up "
                 "to the probe's switch-in on its CPU; 5 %s: from there to the reply's "
                 "timestamp. placed: PINGs whose chain of events was complete / all over 2 ms. "
                 "largest leg: in how many PINGs each leg was the longest. ending on a tick: of "
                 "the legs over 1 ms, how many ended in the first eighth of a scheduler tick "
                 "period (CONFIG_HZ; 1 in 8 by chance): a wake-up that took effect only at the "
                 "CPU's next timer interrupt, the virtual CPU's interrupt delivery, not a "
                 "program's." % names)
    return lines


def expiry_table(args, recs):
    hdr = ("%-28s %-6s %9s %20s %9s %8s %14s %12s %18s %12s %20s %11s"
           % ("case (all due at once)", "server", "reaped s", "PING p50/p99/max ms",
              ">1/>2ms", "pings", "pollers max ms", "turn max ms", "turns cpu >1/>2ms",
              "preempted", "floor max >1/>2 ran", "used MB"))
    lines = [hdr, "-" * len(hdr)]
    for r in recs:
        if r.get("skipped"):
            lines.append("%-28s %-6s %s" % (r["label"], r["side"], r["skipped"]))
            continue
        p = r["ping"]
        pol = "/".join(fmt_ms(s["max"]) for s in r["pollers"]) or "-"
        mem = "%.0f>%.0f" % ((r["used_before"] or 0) / 1e6, (r["used_after"] or 0) / 1e6)
        lines.append("%-28s %-6s %9s %20s %9s %8d %14s %12s %18s %12s %20s %11s"
                     % ((r["label"], r["side"],
                         "-" if r["gone_after_s"] is None else "%.2f" % r["gone_after_s"])
                        + ping_cells(p) + (p["n"], pol, turn_cell(r),
                                           r.get("turns_over") or "-", preempt_cell(r),
                                           spin_cell(r), mem)))
    lines.append("")
    lines.append("reaped s: from the deadline until INFO expired_keys + expired_subkeys counts "
                 "every key/field and lazyfree_pending_objects is 0. PING: round trips of a C "
                 "client (mayfly-latprobe) from the deadline until then, and how many took over "
                 "1 ms / 2 ms. Pollers: 1 hash: HLEN every 50 ms / HSCAN big COUNT 100 every "
                 "50 ms (the client reading a slice of HGETALL's fields and values at a time, "
                 "walking on); keys and small hashes: DBSIZE every 50 ms. turn max: the "
                 "server's longest loop turn in the window, busy wall time/its thread's CPU time "
                 "(Mayfly's INFO mayfly_eventloop_turn_max_usec / _turn_cpu_max_usec; the CPU "
                 "figure is what a quiet machine would show as the worst wait, plus host "
                 "steal); turns cpu: how many loop turns took over 1 ms / 2 ms of the thread's "
                 "CPU, of all turns in the window (INFO mayfly_eventloop_turns_cpu_over_1ms / "
                 "_2ms, eventloop_cycles).")
    lines.append(FLOOR_NOTE)
    lines += attribution_lines(recs)
    lines.append("Targets (issue 17): 1 hash x 1M reaped <= 0.5 s, 1M x 10 fields <= 3 s, PING "
                 "max <= 2 ms.")
    return lines


# --------------------------------------------------------------------------------------
# Growth and FLUSHALL
# --------------------------------------------------------------------------------------

def growth_cases(args):
    """(id, label, generator, its args, check command, expected, seconds to spread the load
    over or None for as fast as the server takes it, policy of the window)."""
    n = args.growth_fields
    cases = [("keys", "key table to %s keys (SET)" % human(n), "keys", (n, False), "DBSIZE", n),
             ("hash", "one hash to %s fields (HSET)" % human(n), "big", (n, None, "grow"),
              "HLEN grow", n)]
    out = [c + (None, GROWTH_POLICY) for c in cases]
    if args.growth_rate:  # a steady client: FIFO suits it as it suits the expiry windows
        out += [("%s-paced" % cid, "%s, %s/s" % (label.split(" (")[0], human(args.growth_rate)),
                 gen, gen_args, check, want, want / args.growth_rate, EXPIRY_POLICY)
                for cid, label, gen, gen_args, check, want in cases]
    return out


def window_rows(args, servers, cid, label, policy, work, check=None):
    """A row per server: a fresh server, its main thread and the probe under policy, the
    probe's PINGs and the watch around work(srv) (the window), then check(srv) (raises if
    the work went wrong); a failure makes the row's FAILED."""
    out = []
    for side, srv in servers.items():
        rec = {"case": cid, "label": label, "side": side, "policy": policy}
        with server_row("growth", 32, label, side, srv, rec):
            srv.restart()
            with Watch(args, srv) as watch, Probe(args.latprobe, srv.port, (),
                                                  args.client_cpu, args.spin, policy) as probe:
                reset_stats(srv, policy)
                watch.mark()
                t0 = time.time()
                work(srv)
                t1 = time.time()
                rec["preempted"] = preempted(srv)
                watch.end()
                rec["turn_ms"], rec["turn_cpu_ms"], rec["turns_over"] = turn_stats(srv)
            if check:
                check(srv)
            rec["load_s"] = t1 - t0
            rec["ping"] = probe.stats(0, t0, t1)
            rec["spin"] = probe.spin_stats(t0, t1)
            watch.finish(rec, probe, t0, t1)
            rec["used"], rec["rss"] = srv.mem()
            log("  growth %-32s %-6s %.1fs, PING p99 %s max %s ms, turn max %s ms, "
                "preempted %s, floor %s%s"
                % (label, side, rec["load_s"], fmt_ms(rec["ping"]["p99"]),
                   fmt_ms(rec["ping"]["max"]), turn_cell(rec), preempt_cell(rec),
                   spin_cell(rec), attr_cell(rec)))
        out.append(rec)
    return out


def growth_probe(args, servers):
    out = []
    for cid, label, gen, gen_args, check, want, paced_s, policy in growth_cases(args):
        if args.cases and cid not in args.cases:
            continue
        command_file(gen, gen_args)  # written once, outside the timed load

        def load(srv, gen=gen, gen_args=gen_args, paced_s=paced_s):
            load_in_child(srv.port, gen, gen_args, None, args.client_cpu, paced_s=paced_s)

        def loaded(srv, check=check, want=want):
            with srv.client() as c:
                got = c.call(*check.split())
            if got != want:
                raise RuntimeError("%s = %s after load, expected %d" % (check, got, want))
        out += window_rows(args, servers, cid, label, policy, load, loaded)
    return out


IDLE_S = 10.0  # the idle rows' window when there are no paced rows


def idle_seconds(args):
    """The idle rows' window: as long as a paced growth row's, so that the floor and the
    paced rows' PING max are maxima over windows of one length (the max of a longer window
    is higher by chance alone), else IDLE_S."""
    if args.growth_rate:
        return max(IDLE_S, args.growth_fields / args.growth_rate)
    return IDLE_S


def idle_probe(args, servers):
    """The machine's floor for the PING columns: each server idle (nothing but the probe's
    PINGs) while a CPU hog runs beside the probe on the clients' CPU, as the loader does
    in growth, once as started and once under the expiry windows' policy (when it is set).
    What a PING max here shows is the machine's, not a server's: no server can do better."""
    out = []
    if args.cases and "idle" not in args.cases:
        return out
    idle_s = idle_seconds(args)
    for policy in (None,) + ((EXPIRY_POLICY,) if EXPIRY_POLICY else ()):
        label = "idle, CPU hog beside probe%s" % (", FIFO" if policy else "")
        # One hog for every server's window (bounded: the windows, their restarts, a margin).
        hog = subprocess.Popen(["timeout", str(len(servers) * (idle_s + 30)), "sh", "-c",
                                "while :; do :; done"],
                               preexec_fn=benchlib.pinned(args.client_cpu))
        try:
            out += window_rows(args, servers, "idle", label, policy,
                               lambda srv: time.sleep(idle_s))
        finally:  # SIGTERM: timeout(1) passes it on to the loop (a SIGKILL would leave
            hog.terminate()  # the loop running for good)
            hog.wait()
    return out


def flush_probe(args, servers):
    out = []
    n = args.flush_keys
    if args.cases and "flush" not in args.cases:
        return out
    for side, srv in servers.items():
        rec = {"case": "flush", "label": "FLUSHALL of %s keys" % human(n), "side": side}
        with server_row("flush", 32, rec["label"], side, srv, rec):
            srv.restart()
            load_in_child(srv.port, "keys", (n, False), None, args.client_cpu)
            rec["used_before"], _ = srv.mem()
            srv.repin(GROWTH_POLICY)
            with Watch(args, srv) as watch, Probe(args.latprobe, srv.port, (), args.client_cpu,
                                                  args.spin, GROWTH_POLICY) as probe:
                with srv.client(timeout=300) as c:
                    time.sleep(0.3)
                    c.try_call("CONFIG", "RESETSTAT")
                    srv.sched_at_reset = srv.main_sched()
                    watch.mark()
                    t0 = time.time()
                    c.call("FLUSHALL")
                    t1 = time.time()
                    time.sleep(0.5)  # memory freed in the background shows here
                    rec["preempted"] = preempted(srv)
                    watch.end()
                rec["turn_ms"], rec["turn_cpu_ms"], rec["turns_over"] = turn_stats(srv)
            rec["flush_s"] = t1 - t0
            rec["ping"] = probe.stats(0, t0, t1 + 0.5)
            rec["spin"] = probe.spin_stats(t0, t1 + 0.5)
            watch.finish(rec, probe, t0, t1 + 0.5)
            log("  flush  %-32s %-6s FLUSHALL %.2fs, PING max %s ms, turn max %s ms, "
                "preempted %s, floor %s%s"
                % (rec["label"], side, rec["flush_s"], fmt_ms(rec["ping"]["max"]),
                   turn_cell(rec), preempt_cell(rec), spin_cell(rec), attr_cell(rec)))
        out.append(rec)
    return out


def turn_cell(r):
    if r.get("turn_ms") is None:
        return "-"
    return "%s/%s" % (fmt_ms(r["turn_ms"]), fmt_ms(r["turn_cpu_ms"]))


def growth_table(args, recs):
    hdr = ("%-32s %-6s %8s %20s %9s %9s %12s %20s %12s %20s %8s"
           % ("case", "server", "time s", "PING p50/p99/max ms", ">1/>2ms", "pings",
              "turn max ms", "turns cpu >1/>2ms", "preempted", "floor max >1/>2 ran",
              "used MB"))
    lines = [hdr, "-" * len(hdr)]
    for r in recs:
        if r.get("skipped"):
            lines.append("%-32s %-6s %s" % (r["label"], r["side"], r["skipped"]))
            continue
        p = r["ping"]
        t = r.get("load_s", r.get("flush_s"))
        used = r.get("used", r.get("used_before"))
        lines.append("%-32s %-6s %8.2f %20s %9s %9d %12s %20s %12s %20s %8.0f"
                     % ((r["label"], r["side"], t) + ping_cells(p)
                        + (p["n"], turn_cell(r), r.get("turns_over") or "-", preempt_cell(r),
                           spin_cell(r), (used or 0) / 1e6)))
    lines.append("")
    lines.append("Growth: pipelined SET k:<i> (16-byte values) or HSET grow (100 fields a "
                 "command), sent by redis-cli --pipe (as fast as the server takes them), fresh "
                 "server; PING of a C client (mayfly-latprobe) during the load. Rows with a "
                 "rate (--growth-rate): the same commands spread evenly over the load time "
                 "(16 KB at a time), a client writing at a steady rate, with the main thread "
                 "and the probe under the expiry windows' policy (a main thread busy part of "
                 "each second meets no real-time throttling). Idle rows: the machine's floor "
                 "for PING, the server idle while a CPU hog runs beside the probe on the "
                 "clients' CPU (as the loader does in growth) for %.0f s, as started and under "
                 "SCHED_FIFO: no server does better than its row. FLUSHALL: time of the "
                 "command and PING during it and the 0.5 s after. turn max / turns cpu: as "
                 "in the expiry table." % idle_seconds(args))
    lines.append(FLOOR_NOTE)
    lines += attribution_lines(recs)
    lines.append("Target (issue 17): PING max <= 2 ms.")
    return lines
