#!/usr/bin/env python3
"""The benchmark harness's scheduling of the latency probes (bench/benchlib.py,
bench/latprobe.c), against a real server process:

- repin with PIN_SCOPE "main": the main thread alone on the servers' CPU, every other
  thread on OTHER_CPUS (the clients' CPU), the main thread under the policy asked for and
  the others back to SCHED_OTHER; main_sched() reads the main thread's counters.
- latprobe --spin: a gap during which another thread took the spinning thread's CPU is
  recorded as conn -2, not as a stall of the machine (-1).
- mayfly-loadgen -R: no faster than the rate asked for, beyond the first batches, and
  every request answered.
- latency.load_in_child with paced_s (the paced growth rows): the commands spread over
  that time, not sent as fast as the server takes them, and every one applied.
- move_housekeeping / restore_housekeeping: a thread named by HOUSEKEEPING moved to the
  clients' CPU and given its CPUs back; steer_kernel_work / unsteer_kernel_work: the
  kernel's CPU-mask files (unbound workqueues) set to the clients' CPU and
  given their old masks back.
- repl_bench.rx_steered: loopback's RPS mask (and RFS's flow tables) set for a run and
  given back after it, also when the run raises.
- schedtrace: the waits of a thread (preempted or woken, not running) and the PINGs set
  against them from given sched_switch and sched_wakeup events; and, where tracefs is
  writable, a real trace of a thread that shares its CPU with a CPU hog shows the hog as
  who ran instead.

usage: test_harness.py MAYFLY_SERVER LATPROBE LOADGEN. Needs 2 CPUs (else it skips); the
SCHED_FIFO part runs only where this process may use SCHED_FIFO."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import benchlib  # noqa: E402
import latency  # noqa: E402
import schedtrace  # noqa: E402

FAILS = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        FAILS.append(what)


def test_repin(server, cpus):
    main_cpu, other_cpu = cpus[0], cpus[1]
    benchlib.PIN_SCOPE = "main"
    benchlib.OTHER_CPUS = {other_cpu}
    fifo = benchlib.policy_allowed("fifo")
    srv = benchlib.Server(server, "mayfly", cpus=main_cpu)
    try:
        srv.start()
        if fifo:
            srv.repin("fifo")
        tids = srv.threads()
        check(len(tids) > 1, "the server has threads besides its main one (%d)" % len(tids))
        for tid in tids:
            main = tid == srv.pid
            want = {main_cpu} if main else {other_cpu}
            check(os.sched_getaffinity(tid) == want,
                  "thread %d (%s) on CPUs %s" % (tid, "main" if main else "other", want))
            if fifo:
                pol = os.sched_getscheduler(tid)
                check(pol == (os.SCHED_FIFO if main else os.SCHED_OTHER),
                      "thread %d policy %d" % (tid, pol))
        if fifo:  # a thread started later inherits FIFO from the main thread: repin undoes it
            other = [t for t in tids if t != srv.pid][0]
            os.sched_setscheduler(other, os.SCHED_FIFO, os.sched_param(1))
            srv.repin("fifo")
            check(os.sched_getscheduler(other) == os.SCHED_OTHER,
                  "repin sets another thread back to SCHED_OTHER")
            srv.repin()
            check(os.sched_getscheduler(srv.pid) == os.SCHED_OTHER,
                  "repin() without a policy sets the main thread back to SCHED_OTHER")
        wait_ms, inv = srv.main_sched()
        check(isinstance(wait_ms, float) and wait_ms >= 0 and isinstance(inv, int) and inv >= 0,
              "main_sched() reads the main thread's wait and switches (%s, %s)" % (wait_ms, inv))
    finally:
        srv.cleanup()
        benchlib.PIN_SCOPE, benchlib.OTHER_CPUS = "process", None


def test_spin_switched(server, latprobe, cpu):
    """A CPU hog beside latprobe's SCHED_IDLE spinning thread takes its CPU for ~0.4 s:
    those gaps are the hog's (conn -2)."""
    srv = benchlib.Server(server, "mayfly")
    fd, path = tempfile.mkstemp(prefix="latprobe-test-")
    os.close(fd)
    try:
        srv.start()
        probe = subprocess.Popen([latprobe, str(srv.port), path, "--spin", "idle"],
                                 stdin=subprocess.PIPE, preexec_fn=benchlib.pinned(cpu))
        # The hog must start once the spinning thread runs: under a loaded CI (ASan builds,
        # parallel tests) latprobe can take longer than a fixed sleep to connect and start
        # it, and the hog's gaps before that are not the spinner's (CI once saw 73 ms of
        # 400). Wait (bounded) for the second thread, then give it a moment to spin.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and len(os.listdir("/proc/%d/task" % probe.pid)) < 2:
            time.sleep(0.005)
        time.sleep(0.1)
        hog = subprocess.Popen([sys.executable, "-c",
                                "import time\nt = time.time() + 0.4\nwhile time.time() < t: pass"],
                               preexec_fn=benchlib.pinned(cpu))
        hog.wait(timeout=30)
        time.sleep(0.1)
        probe.stdin.close()
        probe.wait(timeout=30)
        switched = stalls = 0.0
        with open(path) as f:
            for line in f:
                c, _, gap = line.split()
                if c == "-2":
                    switched += int(gap) / 1000.0
                elif c == "-1":
                    stalls += int(gap) / 1000.0
        # (no bound on the -1 stalls: on a loaded VM the hypervisor takes whole seconds)
        check(switched >= 100.0, "gaps with a switch (the hog's) recorded as -2: %.0f ms "
              "(stalls without one: %.0f ms)" % (switched, stalls))
    finally:
        srv.cleanup()
        os.unlink(path)


def test_housekeeping(cpus):
    """move_housekeeping moves a thread named by HOUSEKEEPING (here a copy of sleep under a
    name of its own) onto the CPUs given, and restore_housekeeping gives its CPUs back."""
    d = tempfile.mkdtemp(prefix="hk-test-")
    name = "mfhk%d" % os.getpid()
    exe = os.path.join(d, name)
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([exe, "30"])
    saved = benchlib.HOUSEKEEPING
    try:
        # Popen returns once exec closed the child's close-on-exec pipe, which the kernel
        # does before it sets the new comm: wait (bounded) until the name shows.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with open("/proc/%d/comm" % proc.pid) as f:
                if f.read().strip() == name[:15]:
                    break
            time.sleep(0.001)
        benchlib.HOUSEKEEPING = (name[:15],)
        before = os.sched_getaffinity(proc.pid)
        moved = benchlib.move_housekeeping({cpus[1]})
        check([p for p, _, _ in moved] == [proc.pid], "the named thread alone is moved (%s)"
              % moved)
        check(os.sched_getaffinity(proc.pid) == {cpus[1]}, "it runs on CPU %d" % cpus[1])
        benchlib.restore_housekeeping(moved)
        check(os.sched_getaffinity(proc.pid) == before, "its CPUs are given back")
    finally:
        benchlib.HOUSEKEEPING = saved
        proc.kill()
        proc.wait()
        shutil.rmtree(d)


def test_steer_kernel_work(cpus):
    """steer_kernel_work writes the clients' CPU mask into each STEER_MASKS file (here temp
    files standing for sysfs's: the real ones are the machine's, which another helper's
    benchmark may be steering), skips one it cannot open, and unsteer_kernel_work writes
    the old text back."""
    d = tempfile.mkdtemp(prefix="steer-test-")
    saved = benchlib.STEER_MASKS
    try:
        wq, other = os.path.join(d, "cpumask"), os.path.join(d, "other_mask")
        for path, text in ((wq, "3\n"), (other, "0\n")):
            with open(path, "w") as f:
                f.write(text)
        benchlib.STEER_MASKS = (("wq", wq), ("missing", os.path.join(d, "none")), ("other", other))
        done = benchlib.steer_kernel_work({cpus[1]})
        check([l for _, l, _ in done] == ["wq", "other"], "the files that exist are steered (%s)"
              % done)
        want = "%x" % (1 << cpus[1])
        for path in (wq, other):
            with open(path) as f:
                check(f.read() == want, "%s holds the clients' CPU mask %s" % (path, want))
        benchlib.unsteer_kernel_work(done)
        for path, text in ((wq, "3"), (other, "0")):
            with open(path) as f:
                check(f.read() == text, "%s is given back %s" % (path, text))
    finally:
        benchlib.STEER_MASKS = saved
        shutil.rmtree(d)


def test_rx_steered(cpus):
    """repl_bench.rx_steered: "rps" writes the replicas' CPU mask into each RX_MASKS file,
    "rfs" the mask of both CPUs and the flow-table sizes into RFS_FILES (temp files standing
    for sysfs's and procfs's: the real ones are the machine's), for the block; every file
    gets its old text back when the block ends, also when it raises (a failed run, the
    KeyboardInterrupt of Ctrl-C or SIGTERM); "off" writes nothing; a file that cannot be
    written fails the block before it runs, with nothing left changed."""
    import repl_bench
    d = tempfile.mkdtemp(prefix="rxsteer-test-")
    saved = benchlib.RX_MASKS, benchlib.RFS_FILES, repl_bench.PRIMARY_CPUS, repl_bench.OTHER_CPUS
    try:
        paths = [os.path.join(d, n) for n in ("rps_cpus", "rps_flow_cnt", "entries")]
        for path in paths:
            with open(path, "w") as f:
                f.write("0\n")
        benchlib.RX_MASKS = (("lo rx-0", paths[0]),)
        benchlib.RFS_FILES = (("flows", paths[1]), ("socket flows", paths[2]))
        repl_bench.PRIMARY_CPUS, repl_bench.OTHER_CPUS = {cpus[0]}, {cpus[1]}
        want = {"rps": ["%x" % (1 << cpus[1]), "0", "0"],
                "rfs": ["%x" % ((1 << cpus[0]) | (1 << cpus[1])), "4096", "32768"],
                "off": ["0", "0", "0"]}

        def now():
            out = []
            for path in paths:
                with open(path) as f:
                    out.append(f.read().strip())
            return out
        for st in ("rps", "rfs", "off"):
            seen = []
            with repl_bench.rx_steered(st):
                seen.append(now())
            check(seen == [want[st]] and now() == want["off"], "%s: %s inside, 0 after (%s, %s)"
                  % (st, want[st], seen, now()))
        for exc in (RuntimeError("run failed"), KeyboardInterrupt("signal 15")):
            seen = []
            try:
                with repl_bench.rx_steered("rfs"):
                    seen.append(now())
                    raise exc
            except (RuntimeError, KeyboardInterrupt) as e:
                check(e is exc, "the block's %s comes through" % type(exc).__name__)
            check(seen == [want["rfs"]] and now() == want["off"],
                  "rfs, block raising %s: set inside, given back after (%s, %s)"
                  % (type(exc).__name__, seen, now()))
        benchlib.RFS_FILES = (("flows", paths[1]), ("missing", os.path.join(d, "no", "ne")))
        ran = []
        try:
            with repl_bench.rx_steered("rfs"):
                ran.append(1)
        except RuntimeError:
            pass
        check(not ran and now() == want["off"], "a file that cannot be written: the block "
              "does not run, the others are given back (%s, %s)" % (ran, now()))
    finally:
        (benchlib.RX_MASKS, benchlib.RFS_FILES, repl_bench.PRIMARY_CPUS,
         repl_bench.OTHER_CPUS) = saved
        shutil.rmtree(d)


def test_loadgen_rate(server, loadgen):
    """-R 20000 for 10,000 requests (10 connections x 4, so 40 go at once): the last batch
    cannot go before (10,000 - 40) / 20,000 = 0.498 s; checked against 0.45 s. A loaded
    machine only makes it slower, so the bound holds under load; without -R it takes
    ~50 ms."""
    srv = benchlib.Server(server, "mayfly")
    try:
        srv.start()
        out = subprocess.run([loadgen, "-p", str(srv.port), "-c", "10", "-P", "4", "-n",
                              "10000", "-R", "20000", "SET", "k:__rand_int__", "v"],
                             capture_output=True, text=True, timeout=60)
        fields = dict(kv.split("=") for kv in out.stdout.split())
        check(out.returncode == 0 and fields.get("requests") == "10000",
              "loadgen -R: every request answered (%s)" % out.stdout.strip())
        took = float(fields.get("seconds", "0"))
        check(took >= 0.45, "loadgen -R 20000: 10,000 requests took %.3f s, at least 0.45" % took)
    finally:
        srv.stop()


def test_paced_load(server):
    """20,000 SETs (about 0.8 MB of commands) paced over 1 s: 16 KB chunks each sent when
    the rate allows, so the last one cannot leave before (size - 16 KB) / rate, ~0.98 s;
    checked against 0.9 s (as fast as taken, they take ~0.05 s). A loaded machine only
    makes it slower. Every SET must have been applied."""
    if not shutil.which(latency.REDIS_CLI):  # installed with the rest (install-deps.sh)
        check(False, "paced load: %s (redis-tools) is not installed" % latency.REDIS_CLI)
        return
    srv = benchlib.Server(server, "mayfly")
    try:
        srv.start()
        t0 = time.monotonic()
        latency.load_in_child(srv.port, "keys", (20000, False), paced_s=1.0)
        took = time.monotonic() - t0
        check(took >= 0.9, "paced load: 20,000 SETs over 1 s took %.3f s, at least 0.9" % took)
        with srv.client() as c:
            n = c.call("DBSIZE")
        check(n == 20000, "paced load: DBSIZE %s after 20,000 SETs" % n)
    finally:
        srv.stop()
        latency.drop_command_files()


def test_schedtrace_episodes():
    """preemptions() from sched_switch and sched_wakeup events: a wait from the watched
    thread's switch-out while runnable (R, R+) or its wake-up to its switch-in, with each
    runner's share; a sleep (S) is none until the wake-up; a wake-up while it runs is none;
    the idle task inside a wait counts as a runner."""
    T = 100
    ev = [(1.000, "srv", T, "R+", "kworker/0:1", 7),   # preempted
          (1.002, "kworker/0:1", 7, "S", "ksoftirqd/0", 14),
          (1.003, "ksoftirqd/0", 14, "S", "srv", T),  # back: 3 ms
          (2.000, "srv", T, "S", "bash", 9),          # a sleep: no wait
          (2.400, None, None, "W", "srv", T),         # woken while bash runs: waits 0.1 s
          (2.500, "bash", 9, "S", "srv", T),
          (2.600, None, None, "W", "srv", T),         # woken while running: nothing
          (3.000, "srv", T, "R", "bash", 9),          # preempted (not R+)
          (3.001, "bash", 9, "S", "swapper/0", 0),
          (3.051, "swapper/0", 0, "R", "srv", T),     # held back 50 ms with the CPU idle
          (3.100, "srv", T, "S", "swapper/0", 0),
          (3.200, None, None, "W", "srv", T),         # woken on the idle CPU: no wait
          (3.200005, "swapper/0", 0, "R", "srv", T)]
    eps = schedtrace.preemptions(ev, T)
    check(len(eps) == 3, "three waits (%s)" % eps)
    if len(eps) == 3:
        (s0, e0, w0, p0), (s1, e1, w1, p1), (s2, e2, w2, p2) = eps
        check((s0, e0, p0) == (1.000, 1.003, True), "the first from 1.000 to 1.003 s, preempted")
        check(abs(w0["kworker/0:1"] - 2.0) < 1e-6 and abs(w0["ksoftirqd/0"] - 1.0) < 1e-6,
              "its runners kworker 2 ms, ksoftirqd 1 ms (%s)" % w0)
        check((s1, e1, p1) == (2.400, 2.500, False) and abs(w1["bash"] - 100.0) < 1e-6,
              "the second a wake-up wait of 100 ms behind bash (%s)" % (eps[1],))
        check(p2 and abs(w2["swapper/0"] - 50.0) < 1e-6, "the idle task 50 ms (%s)" % w2)
    sm = schedtrace.summary(eps, 0.0, 3.026)
    check(sm["n"] == 3 and abs(sm["ms"] - 129.0) < 1e-6 and sm["preempted"] == 2
          and sm["by"][0][0] == "bash",
          "summary cut to the window: 3 waits, 129 ms, 2 preemptions, bash first (%s)" % sm)
    # PINGs (conn, wall s, ms) with wall = mono + 10: one over 2 ms inside the first
    # wait (4 ms: 1 ms left), one over 2 ms without a wait (5 ms), one short.
    pings = [(0, 10.9995, 4.0), (0, 12.0, 5.0), (0, 12.6, 0.5), (1, 10.9995, 9.0)]
    a = schedtrace.attribute_pings(pings, eps, 10.0, 10.0, 13.0)
    check(a["n"] == 2 and a["preempted"] == 1 and abs(a["rest_max"] - 5.0) < 1e-6,
          "attribute_pings: 2 over 2 ms, 1 in a wait, rest max 5 ms (%s)" % a)


def test_server_row():
    """latency.server_row: a failure inside makes the row FAILED and the run goes on; an
    interrupt goes through; the server is stopped in every case."""
    class Srv:
        stops = 0

        def stop(self):
            self.stops += 1
    srv, rec = Srv(), {}
    with latency.server_row("growth", 32, "a row", "mayfly", srv, rec):
        raise RuntimeError("DBSIZE = 1 after load")
    check(rec.get("skipped") == "FAILED: DBSIZE = 1 after load" and srv.stops == 1,
          "a failed row is FAILED and its server stopped (%s, %d stops)" % (rec, srv.stops))
    rec = {}
    with latency.server_row("flush", 32, "a row", "mayfly", srv, rec):
        pass
    check("skipped" not in rec and srv.stops == 2, "a row that ran: not FAILED, stopped")
    try:
        with latency.server_row("expiry", 28, "a row", "mayfly", srv, rec):
            raise KeyboardInterrupt
        check(False, "an interrupt must not be swallowed")
    except KeyboardInterrupt:
        check(srv.stops == 3, "an interrupted row's server is stopped too")


def test_schedtrace_segments():
    """segments(): each PING over 2 ms split into its legs from the server's CPU's events
    and the probe's; the leg that dominates; legs over 1 ms that end on a scheduler tick
    (HZ 250: a 4 ms period); a PING whose chain of events is broken is not placed."""
    T, P = 100, 200  # the server's main thread, the probe's PING thread (201: its spinner)
    ev = [(0.980, "swapper/0", 0, "R", "srv", T),
          (0.990, "srv", T, "S", "swapper/0", 0),     # asleep when PING A is sent
          (1.0025, None, None, "W", "srv", T),        # A reaches it 2.5 ms late
          (1.0026, "swapper/0", 0, "R", "srv", T),
          (1.0028, "srv", T, "S", "swapper/0", 0),
          (2.00002, None, None, "W", "srv", T),       # B: at once
          (2.00003, "swapper/0", 0, "R", "srv", T),
          (2.0002, "srv", T, "S", "swapper/0", 0),
          (2.9995, None, None, "W", "srv", T),
          (2.9995, "swapper/0", 0, "R", "srv", T)]    # running when C is sent, 2.4 ms on it
    pev = [(1.0027, None, None, "W", P), (1.0029, 1, 9, "R", P),
           (2.0001, None, None, "W", P), (2.0041, 1, 9, "R", P),  # B: the probe runs only
           (3.0024, None, None, "W", P), (3.00245, 1, 9, "R", P),  # at the next tick
           (3.5, None, None, "W", 201)]
    pings = [(0, 11.000, 3.0), (0, 12.000, 4.5), (0, 13.000, 2.5), (0, 13.5, 0.5),
             (1, 12.000, 9.0), (0, 14.000, 3.0)]  # D short, E another conn, F no events
    g = schedtrace.segments(ev, pev, T, pings, 10.0, 10.0, 15.0, hz=250)
    check(g["n"] == 4 and g["placed"] == 3, "4 PINGs over 2 ms, 3 placed (%s)" % g)
    check(g["largest"] == [1, 0, 1, 1, 0],
          "largest legs: to server (A), server (C), to probe (B) (%s)" % g["largest"])
    want = [2.5, 0.1, 2.4, 4.0, 0.4]
    check(all(abs(a - b) < 1e-6 for a, b in zip(g["max"], want)),
          "longest legs %s, expected %s" % (g["max"], want))
    check(g["tick"] == [[0, 1], [0, 0], [0, 1], [1, 1], [0, 0]],
          "of the legs over 1 ms, only B's wait for the probe ends on a tick (%s)" % g["tick"])
    g = schedtrace.segments(ev, pev, T, pings, 10.0, 10.0, 15.0)
    check(g["tick"][3] == [0, 0], "no tick counts without hz (%s)" % g["tick"])


def test_schedtrace_live(cpu):
    """Where tracefs is writable: two spinning processes on one CPU; the trace of one shows
    it preempted with the other as who ran instead. Bounded: 0.4 s of spinning."""
    hog = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 0.4: pass\n"
    a = subprocess.Popen([sys.executable, "-c", hog], preexec_fn=benchlib.pinned(cpu))
    b = subprocess.Popen([sys.executable, "-c", hog], preexec_fn=benchlib.pinned(cpu))
    t = schedtrace.SchedTrace(cpu, a.pid, name="mayfly-test", buffer_kb=1024)
    try:
        if not t.start():
            print("SKIP: tracefs not writable")
            return
        a.wait(timeout=30)
        b.wait(timeout=30)
        ev = t.stop()
        check(t.ok and ev, "the trace has events (%d)" % len(ev))
        sm = schedtrace.summary(schedtrace.preemptions(ev, a.pid))
        who = [w[0] for w in sm["by"]]
        check(sm["n"] >= 1 and any(w.startswith("python") for w in who),
              "the watched spinner was preempted, the other among who ran (%s)" % sm["by"][:3])
    finally:
        t.close()
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.wait()
    check(not os.path.isdir(t.dir), "the tracefs instance is removed")


def test_schedtrace_live_probe(server, latprobe, cpus):
    """Where tracefs is writable: --sched-trace probe's filters are taken by the kernel and
    its events chain up. A server pinned to cpus[0] answers latprobe's PINGs from cpus[1]
    for 0.5 s with the probe's side traced; segments() over every PING (no 2 ms bound)
    places most of them: the server's wake-ups and switches on its CPU, its wake-ups of
    the probe's thread and that thread's switches on the other CPU are all there."""
    srv = benchlib.Server(server, "mayfly", cpus=[cpus[0]])
    t = None
    try:
        srv.start()
        t = schedtrace.SchedTrace(cpus[0], srv.pid, name="mayfly-test", buffer_kb=8192,
                                  probe=True)
        if not t.start():
            print("SKIP: tracefs not writable")
            return
        with latency.Probe(latprobe, srv.port, (), [cpus[1]]) as probe:
            time.sleep(0.5)
        t.stop()
        off = time.time() - time.monotonic()
        pings = [x for x in probe.samples if x[0] == 0]
        check(t.ok and len(pings) > 100, "the probe ran and was traced (%d PINGs)" % len(pings))
        woke = {e[4] for e in t.probe_events if e[3] == "W"}
        ran = {e[4] for e in t.probe_events if e[3] != "W" and e[1] == cpus[1]}
        check(woke & ran, "a latprobe thread woken and switched in on CPU %d (%d events)"
              % (cpus[1], len(t.probe_events)))
        g = schedtrace.segments(t.events, t.probe_events, srv.pid, pings, off,
                                pings[0][1] if pings else 0, time.time(), over_ms=-1.0)
        check(g["n"] == len(pings) and g["placed"] >= g["n"] // 2,
              "most PINGs placed in their legs (%d of %d)" % (g["placed"], g["n"]))
    finally:
        if t:
            t.close()
        srv.stop()
    check(not os.path.isdir(t.dir), "the tracefs instance is removed")


def main():
    server, latprobe, loadgen = sys.argv[1], sys.argv[2], sys.argv[3]
    test_loadgen_rate(server, loadgen)
    test_paced_load(server)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("SKIP: needs 2 CPUs")
        return 0
    test_repin(server, cpus)
    test_spin_switched(server, latprobe, cpus[1])
    test_housekeeping(cpus)
    test_steer_kernel_work(cpus)
    test_rx_steered(cpus)
    test_schedtrace_episodes()
    test_schedtrace_segments()
    test_server_row()
    test_schedtrace_live(cpus[1])
    test_schedtrace_live_probe(server, latprobe, cpus)
    benchlib.stop_all()
    print("%d failures" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
