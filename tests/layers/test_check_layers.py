#!/usr/bin/env python3
"""The layer check itself: clean on the real tree, and on tests/layers/bad/ it reports
exactly the three planted violations (an upward include, another module's private header,
a non-private header under src/)."""
import importlib.util
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
spec = importlib.util.spec_from_file_location("check_layers",
                                              os.path.join(repo, "scripts", "check-layers.py"))
cl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cl)

real = cl.check(repo)
bad = cl.check(os.path.join(here, "bad"))
expected = [
    ("src/db/db.c:5:", "private to cmd/"),
    ("src/db/db.c:6:", "db/ may not include cmd/"),
    ("src/db/lookup.h:", "must be private"),
]
ok = True
if real:
    print("the tree has layer violations:\n  " + "\n  ".join(real))
    ok = False
if len(bad) != len(expected) or not all(
        e.startswith(w) and what in e for e, (w, what) in zip(sorted(bad), expected)):
    print("planted violations not reported as expected; got:\n  " + "\n  ".join(bad))
    ok = False
print("ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
