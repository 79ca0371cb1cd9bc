#!/usr/bin/env bash
# Runs Redis's own Tcl test suite (Debian's redis 7.0.15 source package) against Mayfly.
#
#   tests/redis/run.sh path/to/mayfly-server [unit ...]
#
# The source package is fetched once with `apt-get source redis` (a deb-src entry is added
# to apt's sources if none serves it) and cached beside the binary in redis-src/; it is
# never committed. Each unit runs in spawn mode: the framework starts the server itself
# (src/redis-server is a link to mayfly-server) with its default.conf and each test's
# overrides, so the tests that restart servers, pass command-line arguments or read the
# log run too (external mode would skip them). Units run as separate framework processes,
# REDIS_SUITE_JOBS at a time, each in its own work directory and port range, which gives
# exact per-unit counts. Tests named in tests/redis/skiplist.txt are skipped; every entry
# there must still name a test of the units run (a stale entry fails the run).
#
# A hang is a failure: the framework gives up on a unit that makes no progress for
# REDIS_SUITE_STALL seconds, and each unit is killed after REDIS_SUITE_UNIT_TIMEOUT.
# Exit status 0 only when no test failed, no unit was cut short and the skip list is exact.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || {
    echo "usage: $0 path/to/mayfly-server [unit ...]" >&2
    exit 2
}
server=$(realpath "$1")
shift
[ -x "$server" ] || {
    echo "no server binary at $server" >&2
    exit 2
}
build=$(dirname "$server")
jobs=${REDIS_SUITE_JOBS:-3}
# 120 s: integration/replication-4's "commands with many arguments" builds 100 MSETs of 1000
# random pairs in Tcl (about 3 s of CPU; the server needs 1 s for them, Redis 7.0 1.7 s) and
# took 5 s on a quiet machine, 21 s at load 10 under nice 10, so a 60 s limit, which a busy
# shared machine can reach, would call a slow client a hang.
stall=${REDIS_SUITE_STALL:-120}
# 600 s: integration/replication-psync's 20 runs of write load and link breaks take about
# 150 s quiet and 230 s at load 5-10 (its own sleeps are ~110 s of that).
unit_timeout=${REDIS_SUITE_UNIT_TIMEOUT:-600}
skiplist="$here/skiplist.txt"
version=7.0.15

# The units that cover what Mayfly implements (issue 21), replication and failover
# included. The longest go first, so that three at a time finish together.
default_units="integration/replication-psync integration/redis-cli integration/psync2 integration/replication-4
integration/rdb integration/replication-3 integration/aof integration/psync2-pingoff integration/psync2-reg
integration/replication-2 unit/expire unit/introspection unit/multi unit/dump integration/failover
integration/psync2-master-restart unit/wait integration/convert-ziplist-hash-on-load
unit/type/hash unit/keyspace unit/type/string unit/type/incr unit/pubsub unit/pubsubshard
unit/info unit/info-command unit/protocol unit/auth unit/querybuf unit/introspection-2
unit/latency-monitor unit/limits unit/networking unit/acl unit/acl-v2 unit/client-eviction
unit/pause unit/other"
if [ $# -gt 0 ]; then units="$*"; else units=$default_units; fi

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

# Adds deb-src entries mirroring apt's deb ones, unless some source already serves redis.
ensure_deb_src() {
    apt-cache showsrc redis 2>/dev/null | grep -q "^Version: " && return 0
    local d=/etc/apt/sources.list.d
    if [ -f $d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' $d/debian.sources |
            $sudo_cmd tee $d/mayfly-deb-src.sources >/dev/null
    elif [ -f /etc/apt/sources.list ]; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
            $sudo_cmd tee $d/mayfly-deb-src.list >/dev/null
    fi
    $sudo_cmd apt-get update -qq
}

src="$build/redis-src/redis-$version"
if [ ! -f "$src/tests/test_helper.tcl" ]; then
    ensure_deb_src
    rm -rf "$build/redis-src"
    mkdir -p "$build/redis-src"
    (cd "$build/redis-src" && apt-get source -qq redis >/dev/null 2>&1) || {
        echo "apt-get source redis failed (is a deb-src entry reachable?)" >&2
        exit 1
    }
    [ -f "$src/tests/test_helper.tcl" ] || {
        echo "apt-get source redis did not give redis $version" >&2
        ls "$build/redis-src" >&2
        exit 1
    }
fi

# The skip list without its comments, one test name (or /regexp) a line.
work="$build/redis-suite"
rm -rf "$work"
mkdir -p "$work"
grep -v -e '^#' -e '^[[:space:]]*$' "$skiplist" >"$work/skip.txt" || true

# One work directory per unit: links to the source's tests/ entries, a private tmp/ (the
# framework deletes tmp/*.conf and tmp/server.* when it starts) and src/ pointing at Mayfly.
prepare() {
    local dir=$1
    mkdir -p "$dir/tests/tmp" "$dir/src"
    for e in "$src/tests"/*; do
        case "$(basename "$e")" in tmp | support) ;; *) ln -s "$e" "$dir/tests/$(basename "$e")" ;; esac
    done
    # support/ is linked file by file but for util.tcl, which gets dataset.tcl appended: its
    # createComplexDataset writes strings and hashes instead of lists, sets and sorted sets.
    mkdir -p "$dir/tests/support"
    for e in "$src/tests/support"/*; do
        [ "$(basename "$e")" = util.tcl ] || ln -s "$e" "$dir/tests/support/$(basename "$e")"
    done
    cat "$src/tests/support/util.tcl" "$here/dataset.tcl" >"$dir/tests/support/util.tcl"
    ln -s "$server" "$dir/src/redis-server"
    # Mayfly is its own redis-check-aof / redis-check-rdb when called by those names.
    ln -s "$server" "$dir/src/redis-check-aof"
    ln -s "$server" "$dir/src/redis-check-rdb"
    for tool in redis-cli redis-benchmark; do
        command -v $tool >/dev/null && ln -s "$(command -v $tool)" "$dir/src/$tool"
    done
}

# Kills what is left of one unit's servers: processes running our binary whose working
# directory is inside that unit's work directory (the framework starts each in its tmp/).
reap() {
    local dir=$1 p cwd
    for p in /proc/[0-9]*; do
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        case "$cwd" in "$dir"/*) ;; *) continue ;; esac
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$server" ] && kill -9 "${p#/proc/}" 2>/dev/null
    done
    return 0
}

run_unit() {
    local unit=$1 idx=$2 name dir start rc
    name=$(echo "$unit" | tr / _)
    dir="$work/$name"
    prepare "$dir"
    start=$(date +%s)
    rc=0
    (cd "$dir" && TERM=dumb timeout -k 10 "$unit_timeout" tclsh8.6 tests/test_helper.tcl \
        --single "$unit" --clients 1 --durable --timeout "$stall" \
        --baseport $((21000 + idx * port_stride)) --portcount $((port_stride - 20)) \
        --skipfile "$work/skip.txt" >"$dir/log" 2>&1) || rc=$?
    # The framework stops its servers itself, even on its own timeout; a unit that was
    # killed may have left some.
    [ "$rc" -eq 0 ] || reap "$dir"
    echo "$rc $(($(date +%s) - start))" >"$dir/status"
}

# Each unit's ports stay below the kernel's ephemeral range (32768 up): a port there can be
# taken at any moment by another test's outgoing connection ("couldn't open socket: address
# already in use", seen when 32 units at 400 ports each reached 33,368).
nunits=$(echo $units | wc -w)
port_stride=$(((32768 - 21000) / nunits))
[ "$port_stride" -le 400 ] || port_stride=400
if [ "$port_stride" -lt 100 ]; then
    echo "too many units for the port range below 32768 ($nunits)" >&2
    exit 1
fi

export -f run_unit prepare reap
export work src server unit_timeout stall port_stride here

started=$(date +%s)
i=0
for u in $units; do
    echo "$u $i"
    i=$((i + 1))
done | xargs -P "$jobs" -L 1 bash -c 'run_unit "$0" "$1"'

# The framework's "Can't start the Redis server" errors whose server refused an RDB file
# holding a type Mayfly does not have (integration/rdb starts servers on Redis's
# encodings.rdb and list-quicklist.rdb: lists, sets, sorted sets). Such a start is a
# deliberate refusal (docs/compatibility.md "Not implemented"), counted apart, not as a
# failure; a start that fails for any other reason stays a failure.
refused_starts() {
    awk '/^\[[a-z]+\]: /{ if (inblk && hit) n++; inblk = 0; hit = 0 }
         /^\[err\]: Can.t start the Redis server/{ inblk = 1 }
         inblk && /which Mayfly does not support\. Mayfly implements strings and hashes only/{ hit = 1 }
         END { if (inblk && hit) n++; print n + 0 }' "$1"
}

# Per-unit report from the framework's status lines.
total_ok=0 total_err=0 total_skip=0 total_ign=0 total_ref=0 bad_units="" failed_units=""
printf '%-28s %6s %6s %7s %7s %7s %5s\n' unit passed failed skipped ignored refused secs
for u in $units; do
    dir="$work/$(echo "$u" | tr / _)"
    log="$dir/log"
    read -r rc secs <"$dir/status"
    ok=$(grep -c '^\[ok\]: ' "$log" || true)
    ref=$(refused_starts "$log")
    err=$(($(grep -c '^\[err\]: ' "$log" || true) - ref))
    skip=$(grep -c '^\[skip\]: ' "$log" || true)
    ign=$(grep -c '^\[ignore\]: ' "$log" || true)
    # A unit that did not reach the framework's end (timeout, exception, crash) is a failure
    # even if no test reported one.
    # (The framework's exit status counts the refused starts as failures too.)
    if [ "$rc" -ne 0 ] && [ "$err" -eq 0 ] && [ "$ref" -eq 0 ]; then err=1; fi
    if ! grep -q 'All tests passed without errors\|The following tests failed' "$log"; then
        bad_units="$bad_units $u"
    fi
    if [ "$err" -gt 0 ] || grep -q '^\[exception\]\|TIMEOUT' "$log"; then
        failed_units="$failed_units $u"
    fi
    printf '%-28s %6d %6d %7d %7d %7d %5d\n' "$u" "$ok" "$err" "$skip" "$ign" "$ref" "$secs"
    total_ref=$((total_ref + ref))
    total_ok=$((total_ok + ok))
    total_err=$((total_err + err))
    total_skip=$((total_skip + skip))
    total_ign=$((total_ign + ign))
done

status=0
for u in $units; do
    log="$work/$(echo "$u" | tr / _)/log"
    if [ -n "$(echo "$failed_units $bad_units" | grep -w -- "$u")" ]; then
        echo
        echo "=== $u: failures (full log: $log)"
        grep -A12 '^\[err\]: \|^\[exception\]\|TIMEOUT' "$log" | head -200 || tail -40 "$log"
        status=1
    fi
done

# Every skip-list entry must still name a skipped test (checked on the full set, when every
# unit ran to its end: a unit cut short never reached its later tests).
if [ $# -eq 0 ] && [ -z "$bad_units" ]; then
    cat "$work"/*/log | sed -n 's/^\[skip\]: //p' | sort -u >"$work/skipped.txt"
    stale=0
    while IFS= read -r entry; do
        case "$entry" in
        /*) grep -q -- "${entry#/}" "$work/skipped.txt" && continue ;;
        *) grep -qxF -- "$entry" "$work/skipped.txt" && continue ;;
        esac
        [ $stale -eq 0 ] && echo && echo "=== skip-list entries that match no test (remove them):"
        echo "  $entry"
        stale=1
        status=1
    done <"$work/skip.txt"
fi

echo
echo "redis test suite: $(($(date +%s) - started)) s, skip list $(wc -l <"$work/skip.txt") entries"
echo "$total_ok passed, $total_err failed, $total_skip skipped, $total_ref server starts refused (RDB files with types Mayfly does not have)"
exit $status
