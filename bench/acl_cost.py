#!/usr/bin/env python3
"""acl_cost: what ACL checks cost per command, in instructions (deterministic on a shared
machine, where throughput is not).

Runs mayfly-server under valgrind's callgrind twice per round, with the same `user` line:
once driven as the unrestricted default user, once as the restricted user (key patterns,
so every command's keys are checked). Collection starts only once the server answers
(callgrind_control -i on), so start-up is not counted; redis-benchmark then sends the same
requests (GET and HSET of random keys at -P 16 by default) to both. Prints the user-space
instructions per request of the whole server and the difference, which is the ACL
check's cost (kernel time, not counted, would dilute it further).

    python3 bench/acl_cost.py [--mayfly build/mayfly-server] [--requests 50000]
    python3 bench/acl_cost.py --inside cmd_dispatch   # only what dispatch runs: no batching
                                                      # noise from reads and writes

Needs valgrind (callgrind, callgrind_control) and redis-benchmark / redis-cli.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

USER = ["bench", "on", ">pw", "~key:*", "~myhash", "+@all"]


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True, timeout=60).stdout


def run_one(binary, restricted, requests, tests, pipeline, workdir, inside):
    port = benchlib.free_port()
    out = os.path.join(workdir, f"cg.{port}")
    collect = [f"--toggle-collect={inside}"] if inside else ["--instr-atstart=no"]
    srv = subprocess.Popen(
        ["valgrind", "--tool=callgrind", *collect, f"--callgrind-out-file={out}",
         binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--user", *USER],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and "PONG" not in cli(port, "PING"):
            time.sleep(0.3)
        if not inside:
            subprocess.run(["callgrind_control", "-i", "on", str(srv.pid)], capture_output=True,
                           timeout=60)
        auth = ["--user", "bench", "-a", "pw"] if restricted else []
        subprocess.run(["redis-benchmark", "-p", str(port), *auth, "-t", tests, "-n",
                        str(requests), "-P", str(pipeline), "-r", "100000", "-q"],
                       capture_output=True, timeout=3600)
        denied = cli(port, "INFO", "stats")
        calls = cli(port, "INFO", "commandstats")
        cli(port, "SHUTDOWN", "NOSAVE")
        srv.wait(timeout=120)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    m = re.search(r"acl_access_denied_key:(\d+)", denied)
    if m and int(m.group(1)):
        sys.exit("the restricted user was denied keys: widen USER")
    n = sum(int(x) for x in re.findall(r"cmdstat_(?:get|hset|set|hget):calls=(\d+)", calls))
    text = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True).stdout
    total = int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))
    return total, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mayfly", default=os.environ.get("MAYFLY_SERVER", "build/mayfly-server"))
    ap.add_argument("--requests", type=int, default=50000, help="per test (-n)")
    ap.add_argument("--tests", default="get,hset")
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--inside", metavar="FUNC",
                    help="count only instructions run inside FUNC (e.g. cmd_dispatch)")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    binary = os.path.abspath(args.mayfly)
    with tempfile.TemporaryDirectory() as wd:
        for r in range(args.rounds):
            base, n0 = run_one(binary, False, args.requests, args.tests, args.pipeline, wd,
                             args.inside)
            acl, n1 = run_one(binary, True, args.requests, args.tests, args.pipeline, wd,
                             args.inside)
            a, b = base / max(n0, 1), acl / max(n1, 1)
            where = f" inside {args.inside}" if args.inside else ""
            print(f"round {r + 1}{where}: default user {a:.0f} instr/request, restricted {b:.0f}, "
                  f"ACL check {b - a:.0f} instr/request = {100 * (b - a) / a:.2f}% "
                  f"({args.tests} at -P {args.pipeline}, {n0} / {n1} requests)")


if __name__ == "__main__":
    main()
