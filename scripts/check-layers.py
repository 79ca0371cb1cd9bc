#!/usr/bin/env python3
"""check-layers: the include directions of docs/design.md, checked mechanically.

Every file under src/ and include/mayfly/ belongs to one module: src/<m>/... and
include/mayfly/<m>/... belong to <m>; src/config.c and include/mayfly/config.h to "config";
src/main.c, src/server.c and include/mayfly/server.h to "root", the composition root.

An include line is allowed when it is
  - "mayfly/<m>/<name>.h" (a public header) and <m> is the file's own module or one that
    LAYERS lets it use, and the header exists;
  - "<m>/<name>_int.h" (a private header) from a source file of module <m> itself (a public
    header never includes a private one);
  - a system header (<...>) or a library's ("uv.h" is written <uv.h>; quoted includes must
    be rooted as above).
A header under src/ must be private (*_int.h); public interfaces live in include/mayfly/.

Usage: check-layers.py [ROOT]   (default: the repository holding this script)
Exit status 0 when clean, 1 with one line per violation otherwise.
"""
import os
import re
import sys

# Module -> the modules it may include (besides itself). Lower layers never name higher
# ones; calls upward go through registrations made by the composition root (server.c).
BASE = ["util", "config"]
LAYERS = {
    "util": [],
    "config": ["util"],
    "resp": BASE,
    "types": BASE,
    "expire": BASE,
    "db": BASE + ["types", "expire"],
    "rdb": BASE + ["types", "expire", "db"],
}
LIBS = BASE + ["resp", "types", "expire", "db", "rdb"]
for m in ["client", "journal", "acl", "evict"]:
    LAYERS[m] = LIBS
LAYERS["journal"] = LIBS + ["client"]
LAYERS["acl"] = LIBS + ["client"]
LAYERS["evict"] = LIBS + ["client", "journal"]
LAYERS["cmd"] = LIBS + ["client", "journal", "acl", "evict"]
LAYERS["script"] = LAYERS["cmd"] + ["cmd"]
LAYERS["net"] = LAYERS["cmd"] + ["cmd"]
LAYERS["persist"] = LAYERS["net"] + ["net"]
LAYERS["repl"] = LAYERS["persist"] + ["persist"]
LAYERS["cluster"] = LAYERS["repl"] + ["repl"]
LAYERS["root"] = None  # may include everything

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]')


def module_of(rel):
    parts = rel.split("/")
    if parts[0] == "src":
        if len(parts) == 2:
            return "config" if parts[1].startswith("config.") else "root"
        return parts[1]
    if parts[0] == "include" and len(parts) >= 3 and parts[1] == "mayfly":
        if len(parts) == 3:
            return "config" if parts[2] == "config.h" else "root"
        return parts[2]
    return None


def target_of(inc):
    """(module, is_private) of a quoted include, or None if it is not rooted."""
    parts = inc.split("/")
    if parts[0] == "mayfly":
        if len(parts) == 2:
            return ("config" if parts[1] == "config.h" else "root", False)
        return (parts[1], False)
    if len(parts) == 2 and parts[1].endswith("_int.h"):
        return (parts[0], True)
    return None


def check(root):
    errors = []
    files = []
    for top in ("src", os.path.join("include", "mayfly")):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(dirpath, n), root))
    for rel in sorted(files):
        mod = module_of(rel)
        in_src = rel.startswith("src/")
        if rel.endswith(".h") and in_src and not rel.endswith("_int.h"):
            errors.append(f"{rel}: a header under src/ must be private (*_int.h); "
                          "public interfaces belong in include/mayfly/")
        if mod not in LAYERS:
            errors.append(f"{rel}: module '{mod}' is not in the layer table "
                          "(scripts/check-layers.py)")
            continue
        allowed = LAYERS[mod]
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m or m.group(1) == "<":
                    continue
                inc = m.group(2)
                where = f"{rel}:{lineno}"
                t = target_of(inc)
                if t is None:
                    errors.append(f'{where}: "{inc}" is not rooted: write "mayfly/<module>/..." '
                                  'or "<module>/<name>_int.h"')
                    continue
                tmod, private = t
                path = os.path.join(root, "src" if private else "include", inc)
                if not os.path.exists(path):
                    errors.append(f'{where}: "{inc}" does not exist')
                    continue
                if private:
                    if tmod != mod or not in_src:
                        errors.append(f'{where}: "{inc}" is private to {tmod}/ '
                                      f"(only {tmod}'s own sources may include it)")
                    continue
                if tmod == mod or allowed is None:
                    continue
                if tmod not in allowed:
                    errors.append(f'{where}: {mod}/ may not include {tmod}/ ("{inc}"): '
                                  f"{mod} may use {', '.join(allowed) or 'nothing'}")
    return errors


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    errors = check(root)
    for e in errors:
        print(e)
    if errors:
        print(f"check-layers: {len(errors)} violation(s)")
        return 1
    print("check-layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
