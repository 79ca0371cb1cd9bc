#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/) for FUZZ_SECONDS each (default 60), after
# replaying its seed corpus as a regression test: each file of tests/fuzz/<corpus>/ must
# run clean, and a crash found once is kept there as such a file. New inputs that grow
# coverage stay in build-fuzz/<corpus>/ (not committed); a crash, leak or timeout leaves
# its input in build-fuzz/artifacts/ and fails the run. Prints executions per target.
# Usage: scripts/fuzz.sh [build dir]   (make fuzz configures and builds it first)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
mkdir -p "$build/artifacts"
status=0
# target:corpus directory
for pair in fuzz_resp:corpus fuzz_resp_reader:corpus_reader fuzz_dispatch:corpus_dispatch \
    fuzz_load:corpus_load; do
    target=${pair%%:*}
    corpus=${pair#*:}
    bin="$build/tests/fuzz/$target"
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing" >&2
        status=1
        continue
    fi
    # The committed corpus, once each: the regression inputs.
    if ! "$bin" "tests/fuzz/$corpus"/* >"$build/$target.regress.log" 2>&1; then
        echo "fuzz: $target fails on its committed corpus (see $build/$target.regress.log)" >&2
        status=1
        continue
    fi
    mkdir -p "$build/$corpus"
    cp "tests/fuzz/$corpus"/* "$build/$corpus/"
    log="$build/$target.log"
    if "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="$build/artifacts/$target-" "$build/$corpus" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $target: $runs executions in ${secs}s, nothing found"
    else
        echo "fuzz: $target FOUND A PROBLEM (input in $build/artifacts/, log $log):" >&2
        grep -m3 -E 'ERROR|runtime error|fuzz_dispatch:' "$log" >&2 || tail -20 "$log" >&2
        status=1
    fi
done
exit $status
