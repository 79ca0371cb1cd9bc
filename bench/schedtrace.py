"""Who took the servers' CPU in a latency window, and what the host stole from it (bench.py's
latency probes, issue 17). Python 3 standard library only.

SchedTrace records the kernel's sched_switch events of one CPU and the sched_wakeup events
of the watched thread (on any CPU: the waker's or the target's) in a tracefs instance of its
own (/sys/kernel/tracing/instances/NAME: its own ring buffer, so nothing else that traces is
disturbed), timestamps on the monotonic clock (trace_clock "mono", the clock of latprobe's
round trips once shifted by the wall-clock offset). preemptions() turns the events into
waits: the watched thread
runnable but not on its CPU, from its wake-up or its switch-out while runnable (prev_state
R / R+: preempted) to its next switch-in, with how long each other thread ran in the wait.
The idle task ("swapper/N") in a wait is the CPU coming out of idle for it (microseconds),
or the thread held back though runnable (real-time throttling of a SCHED_FIFO thread).

With probe=True it also records the probe's side (latprobe's threads' sched_switch on any CPU
and their wake-ups), and segments() splits each slow PING into its legs: to the server (the
request's wake-up reaching the server's CPU), the server's run-queue wait, the server (its
own turns, and time its CPU was taken without a switch), back to the probe (the reply's
wake-up of the probe to its switch-in) and the probe. A leg that ends on the CPU's
scheduler tick (CONFIG_HZ) was a wake-up that took effect only at the next timer
interrupt: the virtual CPU's interrupt delivery, not either program.

steal_ms() reads the per-CPU steal column of /proc/stat (time the hypervisor ran something
else while this virtual CPU wanted to run; USER_HZ ticks, so about 10 ms coarse, but a sum
kept in nanoseconds by the kernel, so a difference over seconds is good to a tick).
"""

import bisect
import gzip
import os
import re
from collections import Counter

TRACEFS = "/sys/kernel/tracing"
# One event: "<task>-<pid> [000] d..2. 12.345678: sched_switch: prev_comm=... prev_pid=..."
_EVENT = re.compile(r"\s(\d+\.\d+): sched_switch: prev_comm=(.*) prev_pid=(\d+) prev_prio=-?\d+ "
                    r"prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=-?\d+")
_WAKEUP = re.compile(r"\s(\d+\.\d+): sched_wakeup: comm=(.*) pid=(\d+) prio=")
_CPU = re.compile(r"\s\[(\d+)\]\s")
PROBE_COMM = "mayfly-latprobe"  # latprobe's threads' name (15 characters: all of it fits)


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


def kthread_pid(cpu, name="ksoftirqd"):
    """The pid of the per-CPU kernel thread NAME/cpu, or None."""
    want = "%s/%d" % (name, cpu)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == want:
                    return int(d)
        except OSError:
            continue
    return None


def run_delay_ms(pid):
    """ms thread pid has waited on a run queue while runnable, in all (/proc/PID/schedstat),
    or None: for ksoftirqd, whether a real-time server thread starved it (softirq work
    deferred to it waits that long); for a server's main thread (benchlib main_sched), how
    long other threads held its CPU while it had work."""
    if pid is None:
        return None
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


class SchedTrace:
    """sched_switch on one CPU between start() and stop(); None of it if tracefs is not
    writable (then ok is False and events stay empty)."""

    def __init__(self, cpu, tid=0, name="mayfly-bench", buffer_kb=None, probe=False):
        self.cpu, self.tid = cpu, tid  # tid: the watched thread (0: none)
        self.probe = probe  # also latprobe's switches on any CPU and its wake-ups
        self.dir = os.path.join(TRACEFS, "instances", "%s-%d" % (name, os.getpid()))
        # per CPU; the probe's side about doubles the events of a window
        self.buffer_kb = buffer_kb or (262144 if probe else 131072)
        self.ok = False
        # (mono s, prev_comm, prev_pid, prev_state, next_comm, next_pid); a wake-up of the
        # watched thread is (mono s, None, None, "W", comm, pid)
        self.events = []
        self.overrun = 0  # events the ring buffer lost
        # with probe: latprobe's switches off this CPU, (mono s, cpu, prev_pid, prev_state,
        # next_pid), and its threads' wake-ups, (mono s, None, None, "W", pid)
        self.probe_events = []

    def _write(self, rel, text):
        with open(os.path.join(self.dir, rel), "w") as f:
            f.write(text)

    def start(self):
        self.events, self.overrun, self.probe_events = [], 0, []
        try:
            if not os.path.isdir(self.dir):
                os.mkdir(self.dir)
            self._write("tracing_on", "0")
            self._write("tracing_cpumask", "%x" % sum(1 << c for c in os.sched_getaffinity(0)
                                                      | {self.cpu}))
            self._write("buffer_size_kb", str(self.buffer_kb))
            self._write("trace_clock", "mono")
            if self.probe:
                self._write("events/sched/sched_switch/filter",
                            'CPU == %d || prev_comm == "%s" || next_comm == "%s"'
                            % (self.cpu, PROBE_COMM, PROBE_COMM))
                self._write("events/sched/sched_wakeup/filter",
                            'pid == %d || comm == "%s"' % (self.tid, PROBE_COMM))
            else:
                self._write("events/sched/sched_switch/filter", "CPU == %d" % self.cpu)
                self._write("events/sched/sched_wakeup/filter", "pid == %d" % self.tid)
            self._write("events/sched/sched_switch/enable", "1")
            self._write("events/sched/sched_wakeup/enable", "1")
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
            for c in os.listdir(os.path.join(self.dir, "per_cpu")):
                with open(os.path.join(self.dir, "per_cpu", c, "stats")) as f:
                    for line in f:
                        if line.startswith("overrun:"):
                            self.overrun += int(line.split()[1])
            with open(os.path.join(self.dir, "trace"), errors="replace") as f:
                for line in f:
                    m = _EVENT.search(line)
                    if m:
                        ev = (float(m.group(1)), m.group(2), int(m.group(3)), m.group(4),
                              m.group(5), int(m.group(6)))
                        cpu = int(_CPU.search(line).group(1)) if self.probe else self.cpu
                        if cpu == self.cpu:
                            self.events.append(ev)
                        else:
                            self.probe_events.append((ev[0], cpu, ev[2], ev[3], ev[5]))
                        continue
                    m = _WAKEUP.search(line)
                    if m:
                        pid = int(m.group(3))
                        if pid == self.tid:
                            self.events.append((float(m.group(1)), None, None, "W",
                                                m.group(2), pid))
                        else:
                            self.probe_events.append((float(m.group(1)), None, None, "W", pid))
        except (OSError, ValueError):
            self.ok = False
        return self.events

    def close(self):
        try:
            if os.path.isdir(self.dir):
                self._write("events/sched/sched_switch/enable", "0")
                self._write("events/sched/sched_wakeup/enable", "0")
                os.rmdir(self.dir)
        except OSError:
            pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def preemptions(events, tid):
    """The waits of thread tid, runnable but off its CPU: [(start s, end s, {comm: ms it
    ran in the wait}, preempted)], from its wake-up (a "W" event) or its switch-out while
    runnable (prev_state R, or R+ since Linux 4.14: preempted=True) to its next switch-in.
    A wait still open at the end is closed at the last event. The runner at a wake-up is
    the last thread switched in on the CPU; a wake-up on an idle CPU starts no wait (the
    idle task's exit is not another thread's time; schedstat does not count it either)."""
    out = []
    start, runner, since, by, pre = None, None, None, None, False
    current = "?"  # who runs on the CPU, from the last switch seen
    for ts, prev_comm, prev_pid, prev_state, next_comm, next_pid in events:
        if prev_state == "W":
            if next_pid == tid and start is None and current != "<tid>" \
                    and not current.startswith("swapper/"):
                start, runner, since, by, pre = ts, current, ts, {}, False
            continue
        if start is None:
            if prev_pid == tid and prev_state.startswith("R"):
                start, runner, since, by, pre = ts, next_comm, ts, {}, True
        else:
            by[runner] = by.get(runner, 0.0) + (ts - since) * 1000.0
            if next_pid == tid:
                out.append((start, ts, by, pre))
                start = None
            else:
                runner, since = next_comm, ts
        current = "<tid>" if next_pid == tid else next_comm
    if start is not None and events:
        by[runner] = by.get(runner, 0.0) + (events[-1][0] - since) * 1000.0
        out.append((start, events[-1][0], by, pre))
    return out


def summary(episodes, t0=None, t1=None):
    """{"ms", "n", "longest_ms", "preempted": how many began with a preemption, "by":
    [(comm, ms, n, longest ms)] largest first} of the waits that overlap [t0, t1]
    (monotonic s; None: all), each cut to it (its runners' shares are not)."""
    ms, n, longest, by, npre = 0.0, 0, 0.0, {}, 0
    for s, e, who, pre in episodes:
        if (t1 is not None and s > t1) or (t0 is not None and e < t0):
            continue
        d = (min(e, t1 if t1 is not None else e) - max(s, t0 if t0 is not None else s)) * 1e3
        ms, n, longest, npre = ms + d, n + 1, max(longest, d), npre + pre
        for comm, x in who.items():
            tot, cnt, mx = by.get(comm, (0.0, 0, 0.0))
            by[comm] = (tot + x, cnt + 1, max(mx, x))
    rows = sorted(((c, t, k, m) for c, (t, k, m) in by.items()), key=lambda r: -r[1])
    return {"ms": ms, "n": n, "longest_ms": longest, "preempted": npre, "by": rows}


def overlap_ms(episodes, t0, t1):
    """ms of [t0, t1] (monotonic s) during which the thread of the waits was runnable but
    not running."""
    return sum(max(0.0, min(e, t1) - max(s, t0)) * 1e3 for s, e, _, _ in episodes
               if s < t1 and e > t0)


def attribute_pings(samples, episodes, mono_off, t0, t1, over_ms=2.0):
    """The round trips of samples [(conn, send wall s, rtt ms)] of conn 0 in [t0, t1] (wall
    s) over over_ms, each set against the main thread's waits (preemptions()): {"n": how
    many, "preempted": how many overlapped a wait, "rest_max": the longest round trip less
    the waits inside it (ms; what the server's CPU being held by another thread does not
    explain: the server's own turn, the host's steal, the loopback)}. mono_off: wall -
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


SEGMENTS = ("to server", "server queued", "server", "to probe", "probe")


def kernel_hz():
    """The kernel's CONFIG_HZ (its scheduler tick) from /proc/config.gz or /boot, or None."""
    paths = ["/proc/config.gz", "/boot/config-%s" % os.uname().release]
    for p in paths:
        try:
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rt") as f:
                for line in f:
                    if line.startswith("CONFIG_HZ="):
                        return int(line.split("=")[1])
        except (OSError, ValueError):
            continue
    return None


def segments(events, probe_events, tid, samples, mono_off, t0, t1, over_ms=2.0, hz=None):
    """Each round trip of conn 0 in [t0, t1] (wall s) over over_ms split into SEGMENTS (ms):
    send -> the server's wake-up (0 if it was running: its last switch on its CPU was a
    switch-in), -> its switch-in, -> its wake-up of the probe's thread, -> that thread's
    switch-in, -> the reply's timestamp. events: SchedTrace.events (the server's CPU, its
    wake-ups); probe_events: SchedTrace.probe_events. The probe's thread is the latprobe
    thread the server woke most. A round trip whose chain is broken (events lost, a leg
    past its end) is counted as not placed. Returns {"n", "placed", "largest": [times each
    segment was the largest], "max": [longest of each, ms], "tick": [of the legs over 1 ms,
    how many ended within an eighth of a tick period after a tick (hz given; 1 in 8 by
    chance) / how many] per segment}."""
    s_in = sorted(e[0] for e in events if e[5] == tid and e[3] != "W")
    s_out = sorted(e[0] for e in events if e[2] == tid)
    s_wake = sorted(e[0] for e in events if e[3] == "W" and e[5] == tid)
    woken = [e for e in probe_events if e[3] == "W"]
    ptid = Counter(e[4] for e in woken).most_common(1)[0][0] if woken else None
    p_wake = sorted(e[0] for e in woken if e[4] == ptid)
    p_in = sorted(e[0] for e in probe_events if e[3] != "W" and e[4] == ptid)
    k_legs = len(SEGMENTS)
    out = {"n": 0, "placed": 0, "largest": [0] * k_legs, "max": [0.0] * k_legs,
           "tick": [[0, 0] for _ in SEGMENTS]}
    if not s_in:
        return out
    first = s_in[0]  # the server's CPU's events start here (a full buffer drops the oldest)

    def after(xs, t):
        i = bisect.bisect_left(xs, t)
        return xs[i] if i < len(xs) else None

    for c, t, r in samples:
        if c != 0 or r <= over_ms or t > t1 or t + r / 1000.0 < t0:
            continue
        out["n"] += 1
        s = t - mono_off
        e = s + r / 1000.0
        if s < first:
            continue
        i_in, i_out = bisect.bisect_right(s_in, s) - 1, bisect.bisect_right(s_out, s) - 1
        running = i_in >= 0 and (i_out < 0 or s_in[i_in] > s_out[i_out])
        w = s if running else after(s_wake, s - 50e-6)
        sin = s if running else (after(s_in, w) if w is not None else None)
        pw = after(p_wake, sin) if sin is not None else None
        pin = after(p_in, pw) if pw is not None else None
        if pin is None or pin > e + 50e-6:
            continue
        ends = (max(w, s), sin, pw, pin, e)
        starts = (s,) + ends[:-1]
        legs = [max(0.0, (b - a) * 1e3) for a, b in zip(starts, ends)]
        out["placed"] += 1
        out["largest"][legs.index(max(legs))] += 1
        for k in range(k_legs):
            out["max"][k] = max(out["max"][k], legs[k])
            if hz and legs[k] > 1.0:
                out["tick"][k][1] += 1
                out["tick"][k][0] += (ends[k] % (1.0 / hz)) < 1.0 / hz / 8
    return out
