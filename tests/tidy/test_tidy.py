#!/usr/bin/env python3
"""scripts/tidy.py's judgement, on canned clang-tidy output (no clang-tidy run): a listed
function may stay or improve, not grow; an unlisted one over the limit fails; a file's
count of one check's warnings may not grow past its line, and an unlisted warning fails;
a header's warning counts once; improvements are reported."""
import importlib.util
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
spec = importlib.util.spec_from_file_location("tidy", os.path.join(repo, "scripts", "tidy.py"))
tidy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tidy)


def out(*lines):
    return "\n".join(os.path.join(repo, ln) if ln.startswith("src") or ln.startswith("include")
                     else ln for ln in lines) + "\n"


ratchet = {("src/a.c", "big", "cognitive"): 40, ("src/a.c", "big", "statements"): 90,
           ("src/b.c", "gone", "cognitive"): 30,
           ("src/a.c", "clang-analyzer-core.uninitialized.Assign", "count"): 1,
           ("src/a.c", "bugprone-integer-division", "count"): 1}
a = out("src/a.c:10:5: warning: function 'big' has cognitive complexity of 35 (threshold 25) "
        "[readability-function-cognitive-complexity]",
        "src/a.c:10:5: warning: function 'big' exceeds recommended size/complexity thresholds "
        "[readability-function-size]",
        "src/a.c:10:5: note: 95 statements (threshold 80)",
        "src/a.c:50:5: warning: function 'fresh' has cognitive complexity of 26 (threshold 25) "
        "[readability-function-cognitive-complexity]",
        "include/mayfly/x.h:3:1: warning: Division by zero [clang-analyzer-core.DivideZero]",
        "src/a.c:70:3: warning: Assigned value is garbage or undefined "
        "[clang-analyzer-core.uninitialized.Assign]",
        "src/a.c:80:3: warning: result of integer division used in a floating point context "
        "[bugprone-integer-division]",
        "src/a.c:90:3: warning: result of integer division used in a floating point context "
        "[bugprone-integer-division]")
b = out("include/mayfly/x.h:3:1: warning: Division by zero [clang-analyzer-core.DivideZero]",
        "3 warnings generated.")
errors, notes, found = tidy.judge([a, b], ratchet, full=True)
expect_errors = [
    "src/a.c:10: 'big' statements 95 (the ratchet allows 90: it may only go down)",
    "src/a.c:50: function 'fresh' has cognitive complexity of 26 (threshold 25) "
    "(not in scripts/tidy-ratchet.txt: split the function)",
    "include/mayfly/x.h:3: warning: Division by zero [clang-analyzer-core.DivideZero]",
    "src/a.c:80: warning: result of integer division used in a floating point context "
    "[bugprone-integer-division] (the ratchet allows 1 in this file: fix it)",
    "src/a.c:90: warning: result of integer division used in a floating point context "
    "[bugprone-integer-division] (the ratchet allows 1 in this file: fix it)",
]
ok = True
if sorted(errors) != sorted(expect_errors):
    print("errors:\n  " + "\n  ".join(errors))
    ok = False
if not any("big cognitive went down to 35" in n for n in notes) or \
        not any("src/b.c gone is no longer over" in n for n in notes):
    print("notes:\n  " + "\n  ".join(notes))
    ok = False
if found.get(("src/a.c", "big", "cognitive")) != 35:
    print("found:", found)
    ok = False
print("ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
