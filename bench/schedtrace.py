"""Who took the servers' CPU in a latency window, and what the host stole from it (bench.py's
latency probes, issue 17). Python 3 standard library only.

SchedTrace records the kernel's sched_switch events of one CPU in a tracefs instance of
its own (/sys/kernel/tracing/instances/NAME: its own ring buffer, so nothing else that
traces is disturbed), timestamps on the monotonic clock (trace_clock "mono", the clock of
latprobe's round trips once shifted by the wall-clock offset). The kernel filters out the
bulk of the events, the watched thread's sleeps (it to the idle task) and the idle task's
hand-overs to any other thread, so what is kept is a thread replacing another, a thread
going idle, and the watched thread's wake-ups: its preemptions, what ran instead (the idle
task too: the thread runnable but not eligible, as when real-time throttling holds a
SCHED_FIFO thread back), and its return. preemptions() turns them into episodes: from the
watched thread's switch-out while runnable (prev_state R / R+) to its next switch-in, with
how long each other thread ran in it.

steal_ms() reads the per-CPU steal column of /proc/stat (time the hypervisor ran something
else while this virtual CPU wanted to run; USER_HZ ticks, so about 10 ms coarse, but a sum
kept in nanoseconds by the kernel, so a difference over seconds is good to a tick).
"""

import os
import re

TRACEFS = "/sys/kernel/tracing"
# One event: "<task>-<pid> [000] d..2. 12.345678: sched_switch: prev_comm=... prev_pid=..."
_EVENT = re.compile(r"\s(\d+\.\d+): sched_switch: prev_comm=(.*) prev_pid=(\d+) prev_prio=-?\d+ "
                    r"prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=-?\d+")


def steal_ms(cpu):
    """CPU cpu's steal time so far in ms (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu%d " % cpu):
                    return int(line.split()[8]) * 1000.0 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return None


def kthread_wait(cpu, name="ksoftirqd"):
    """(ms the per-CPU kernel thread NAME/cpu has waited on a run queue while runnable, in
    all, from /proc/PID/schedstat; its pid), or (None, None): whether a real-time server
    thread starved it (softirq work deferred to it would wait)."""
    want = "%s/%d" % (name, cpu)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() != want:
                    continue
            with open("/proc/%s/schedstat" % d) as f:
                return int(f.read().split()[1]) / 1e6, int(d)
        except (OSError, ValueError, IndexError):
            continue
    return None, None


class SchedTrace:
    """sched_switch on one CPU between start() and stop(); None of it if tracefs is not
    writable (then ok is False and events stay empty)."""

    def __init__(self, cpu, tid=0, name="mayfly-bench", buffer_kb=65536):
        self.cpu, self.tid = cpu, tid  # tid: the watched thread (0: none)
        self.dir = os.path.join(TRACEFS, "instances", "%s-%d" % (name, os.getpid()))
        self.buffer_kb = buffer_kb
        self.ok = False
        self.events = []  # (mono s, prev_comm, prev_pid, prev_state, next_comm, next_pid)
        self.overrun = 0  # events the ring buffer lost

    def _write(self, rel, text):
        with open(os.path.join(self.dir, rel), "w") as f:
            f.write(text)

    def start(self):
        self.events, self.overrun = [], 0
        try:
            if not os.path.isdir(self.dir):
                os.mkdir(self.dir)
            self._write("tracing_on", "0")
            self._write("tracing_cpumask", "%x" % (1 << self.cpu))
            self._write("buffer_size_kb", str(self.buffer_kb))
            self._write("trace_clock", "mono")
            self._write("events/sched/sched_switch/filter",
                        "(prev_pid != %d || next_pid != 0) && (prev_pid != 0 || next_pid == %d)"
                        % (self.tid, self.tid))
            self._write("events/sched/sched_switch/enable", "1")
            self._write("trace", "")  # empties the buffer
            self._write("tracing_on", "1")
            self.ok = True
        except OSError:
            self.ok = False
        return self.ok

    def stop(self):
        if not self.ok:
            return self.events
        try:
            self._write("tracing_on", "0")
            with open(os.path.join(self.dir, "per_cpu", "cpu%d" % self.cpu, "stats")) as f:
                for line in f:
                    if line.startswith("overrun:"):
                        self.overrun = int(line.split()[1])
            with open(os.path.join(self.dir, "trace"), errors="replace") as f:
                for line in f:
                    m = _EVENT.search(line)
                    if m:
                        self.events.append((float(m.group(1)), m.group(2), int(m.group(3)),
                                            m.group(4), m.group(5), int(m.group(6))))
        except (OSError, ValueError):
            self.ok = False
        return self.events

    def close(self):
        try:
            if os.path.isdir(self.dir):
                self._write("events/sched/sched_switch/enable", "0")
                os.rmdir(self.dir)
        except OSError:
            pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def preemptions(events, tid):
    """The episodes in which thread tid was runnable but off its CPU: [(start s, end s,
    {comm: ms it ran in the episode})], from its switch-out with prev_state R (preempted;
    "R+" since Linux 4.14) to its next switch-in. An episode still open at the end is
    closed at the last event. The idle task shows as "swapper/N": the thread was runnable
    but not eligible to run (a real-time thread throttled)."""
    out = []
    start, runner, since, by = None, None, None, None
    for ts, prev_comm, prev_pid, prev_state, next_comm, next_pid in events:
        if start is None:
            if prev_pid == tid and prev_state.startswith("R"):
                start, runner, since, by = ts, next_comm, ts, {}
            continue
        by[runner] = by.get(runner, 0.0) + (ts - since) * 1000.0
        if next_pid == tid:
            out.append((start, ts, by))
            start = None
        else:
            runner, since = next_comm, ts
    if start is not None and events:
        out.append((start, events[-1][0], by))
    return out


def summary(episodes, t0=None, t1=None):
    """{"ms", "n", "longest_ms", "by": [(comm, ms, n, longest ms)] largest first} of the
    episodes that overlap [t0, t1] (monotonic s; None: all), each cut to it."""
    ms, n, longest, by = 0.0, 0, 0.0, {}
    for s, e, who in episodes:
        if (t1 is not None and s > t1) or (t0 is not None and e < t0):
            continue
        d = (min(e, t1 if t1 is not None else e) - max(s, t0 if t0 is not None else s)) * 1e3
        ms, n, longest = ms + d, n + 1, max(longest, d)
        for comm, x in who.items():
            tot, cnt, mx = by.get(comm, (0.0, 0, 0.0))
            by[comm] = (tot + x, cnt + 1, max(mx, x))
    rows = sorted(((c, t, k, m) for c, (t, k, m) in by.items()), key=lambda r: -r[1])
    return {"ms": ms, "n": n, "longest_ms": longest, "by": rows}


def overlap_ms(episodes, t0, t1):
    """ms of [t0, t1] (monotonic s) during which the thread of the episodes was preempted."""
    return sum(max(0.0, min(e, t1) - max(s, t0)) * 1e3 for s, e, _ in episodes
               if s < t1 and e > t0)


def attribute_pings(samples, episodes, mono_off, t0, t1, over_ms=2.0):
    """The round trips of samples [(conn, send wall s, rtt ms)] of conn 0 in [t0, t1] (wall
    s) over over_ms, each set against the main thread's preemptions: {"n": how many,
    "preempted": how many overlapped one, "rest_max": the longest round trip less the
    preemption inside it (ms; what neither the server's CPU being taken by another thread
    explains: the server's own turn, the host's steal, the loopback)}. mono_off: wall -
    monotonic seconds."""
    n = pre = 0
    rest_max = 0.0
    for c, t, r in samples:
        if c != 0 or r <= over_ms or t > t1 or t + r / 1000.0 < t0:
            continue
        s = t - mono_off
        o = overlap_ms(episodes, s, s + r / 1000.0)
        n += 1
        pre += o > 0
        rest_max = max(rest_max, r - o)
    return {"n": n, "preempted": pre, "rest_max": rest_max}
