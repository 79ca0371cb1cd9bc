#!/usr/bin/env python3
"""tidy: clang-tidy over src/ with the profile in .clang-tidy, and a ratchet.

Every warning fails, except what scripts/tidy-ratchet.txt lists from the day the profile
came in: a function over the size or complexity limits (it may stay as it is, or
improve, but not get worse), and a file's count of warnings of one check (it may only go
down). An entry that improved or is gone is reported, so the list can be lowered
(--update-ratchet does it: it only ever lowers or removes entries, never adds).

Usage: tidy.py [--build DIR] [--jobs N] [--changed REF] [--update-ratchet] [FILE...]
  --build DIR      where compile_commands.json is (default build-tidy; `make tidy` makes it)
  --changed REF    only the .c files under src/ that differ from REF (committed or not)
  FILE...          only these files
Exit status 0 when clean, 1 otherwise.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATCHET = os.path.join(ROOT, "scripts", "tidy-ratchet.txt")
DIAG_RE = re.compile(r"^(.+?):(\d+):(\d+): (warning|error|note): (.*?)(?: \[([\w.,-]+)\])?$")
COGNITIVE_RE = re.compile(r"function '(\w+)' has cognitive complexity of (\d+)")
SIZE_RE = re.compile(r"function '(\w+)' exceeds recommended size/complexity")
SIZE_NOTE_RES = [(re.compile(r"^(\d+) statements \(threshold"), "statements"),
                 (re.compile(r"^nesting level (\d+) starts here \(threshold"), "nesting"),
                 (re.compile(r"^(\d+) lines including"), "lines"),
                 (re.compile(r"^(\d+) branches \(threshold"), "branches")]


def find_clang_tidy():
    for name in (os.environ.get("CLANG_TIDY"), "clang-tidy-14", "clang-tidy"):
        if name and shutil.which(name):
            return name
    sys.exit("tidy: clang-tidy not found (Debian package clang-tidy)")


def src_files():
    out = []
    for dirpath, _, names in os.walk(os.path.join(ROOT, "src")):
        out += [os.path.join(dirpath, n) for n in names if n.endswith(".c")]
    return sorted(out)


def changed_files(ref):
    diff = subprocess.run(["git", "diff", "--name-only", ref, "--", "src"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.split()
    return sorted(os.path.join(ROOT, p) for p in diff
                  if p.endswith(".c") and os.path.exists(os.path.join(ROOT, p)))


def run_one(tidy, build, path):
    p = subprocess.run([tidy, "-p", build, "--quiet", path], cwd=ROOT, capture_output=True,
                       text=True)
    return path, p.returncode, p.stdout + p.stderr


def parse(output):
    """Yields (key, message) for findings: key is (path, function, metric, value) for the
    size and complexity checks, else None."""
    pending = None  # a size warning waiting for its notes
    for line in output.splitlines():
        m = DIAG_RE.match(line)
        if not m:
            continue
        path, lineno, _, kind, msg, check = m.groups()
        rel = os.path.relpath(path, ROOT)
        where = f"{rel}:{lineno}"
        if kind == "note":
            if pending:
                for rx, metric in SIZE_NOTE_RES:
                    n = rx.match(msg)
                    if n:
                        yield (pending[0], pending[1], metric, int(n.group(1))), \
                            f"{pending[2]}: '{pending[1]}' {metric} {n.group(1)}"
            continue
        pending = None
        c = COGNITIVE_RE.match(msg)
        if c:
            yield (rel, c.group(1), "cognitive", int(c.group(2))), f"{where}: {msg}"
            continue
        s = SIZE_RE.match(msg)
        if s:
            pending = (rel, s.group(1), where)
            continue
        if kind == "warning" and check:
            yield (rel, check, "count", 1), f"{where}: {kind}: {msg} [{check}]"
        else:
            yield None, f"{where}: {kind}: {msg}" + (f" [{check}]" if check else "")


def load_ratchet():
    entries = {}
    with open(RATCHET, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) == 4:
                entries[(line[0], line[1], line[2])] = int(line[3])
    return entries


def write_ratchet(entries, found):
    with open(RATCHET, encoding="utf-8") as f:
        header = [ln for ln in f if ln.startswith("#")]
    with open(RATCHET, "w", encoding="utf-8") as f:
        f.writelines(header)
        for key in sorted(entries):
            if key in found:
                value = min(entries[key], found[key])
                f.write(f"{key[0]} {key[1]} {key[2]} {value}\n")


def judge(outputs, ratchet, full):
    """Judges clang-tidy's outputs against the ratchet: returns (errors, notes, found)
    where found maps (path, function, metric) to the value seen, and (path, check,
    "count") to the number of that check's warnings in that file."""
    errors, notes, found, seen, counted = [], [], {}, set(), {}
    for out in outputs:
        for key, msg in parse(out):
            if msg in seen:
                continue  # a header's warning, reported from each file including it
            seen.add(msg)
            if key is None:
                errors.append(msg)
                continue
            rkey, value = key[:3], key[3]
            if rkey[2] == "count":
                found[rkey] = found.get(rkey, 0) + 1
                counted.setdefault(rkey, []).append(msg)
                continue
            found[rkey] = max(value, found.get(rkey, 0))
            limit = ratchet.get(rkey)
            if limit is None:
                errors.append(msg + " (not in scripts/tidy-ratchet.txt: split the function)")
            elif value > limit:
                errors.append(msg + f" (the ratchet allows {limit}: it may only go down)")
    for rkey, msgs in sorted(counted.items()):
        limit = ratchet.get(rkey, 0)
        if len(msgs) > limit:
            why = (f" (the ratchet allows {limit} in this file: fix it)" if limit
                   else "")
            errors += [m + why for m in msgs]
    for key, limit in sorted(ratchet.items()):
        if full and key not in found:
            notes.append(f"{key[0]} {key[1]} is no longer over its {key[2]} limit: "
                         "remove its line (--update-ratchet)")
        elif key in found and found[key] < limit:
            notes.append(f"{key[0]} {key[1]} {key[2]} went down to {found[key]} (from {limit}): "
                         "lower its line (--update-ratchet)")
    return errors, notes, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-tidy")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--changed")
    ap.add_argument("--update-ratchet", action="store_true")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    if not os.path.exists(os.path.join(build, "compile_commands.json")):
        sys.exit(f"tidy: no {args.build}/compile_commands.json (run `make tidy`)")
    full = not args.files and not args.changed
    files = ([os.path.abspath(f) for f in args.files] if args.files
             else changed_files(args.changed) if args.changed else src_files())
    tidy = find_clang_tidy()
    ratchet = load_ratchet()
    outputs, failed = [], []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for path, rc, out in pool.map(lambda f: run_one(tidy, build, f), files):
            outputs.append(out)
            if rc != 0 and "error:" not in out and "warning:" not in out:
                failed.append(f"{os.path.relpath(path, ROOT)}: clang-tidy failed:\n{out}")
    errors, notes, found = judge(outputs, ratchet, full)
    errors = failed + errors
    for n in notes:
        print("tidy: " + n)
    if args.update_ratchet and full:
        write_ratchet(ratchet, found)
    for e in errors:
        print(e)
    print(f"tidy: {len(files)} file(s), {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
