#!/bin/bash
# Instructions the primary spends per write with 0, 1 and 2 replicas (callgrind, user space),
# -P 16: inside $TOGGLE (default "process_input primary_feed": parse, command, journal, the
# backlog, and each turn's sends to the replicas; not the cron, whose share per write
# depends on valgrind's speed; TOGGLE= counts the whole process).
#
#   bench/repl_instr.sh <server-binary> <outdir> [WORKLOAD ...]
#
# Workloads: SET HSET (default both). Per replica count: a primary under callgrind, the
# replicas (same binary, not under valgrind) synced, counters zeroed, redis-benchmark -c 50
# -P 16 -n $N (default 100000) -r 100000, a wait until every replica has the primary's
# offset (so the sends are counted), a dump; prints the instructions per write. Works for
# redis-server too, with its own TOGGLE (e.g. "processInputBuffer replicationFeedSlaves").
# Build Mayfly with -DTURN_EXEC_US=1000000000 (CMAKE_C_FLAGS), as for instr_per_command.sh:
# else the per-turn time budget cuts batches at valgrind's speed, more so on a busy machine,
# and the per-read costs per write move with the load.
[ $# -ge 2 ] || { sed -n 2,18p "$0"; exit 2; }
BIN=$(realpath "$1"); OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2
N=${N:-100000}
V=0123456789abcdef
WL=${@:-SET HSET}
TG=()
for t in ${TOGGLE-process_input primary_feed}; do TG+=(--toggle-collect=$t); done
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
up() { for i in $(seq 200); do redis-cli -p $1 ping >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
info() { redis-cli -p $1 info replication | tr -d '\r' | sed -n "s/^$2://p"; }
for nrep in 0 1 2; do
  P=$((20000 + RANDOM % 20000))
  mkdir -p $OUT/p$nrep
  (cd $OUT/p$nrep && exec valgrind --tool=callgrind "${TG[@]}" --compress-strings=no --compress-pos=no --callgrind-out-file=$OUT/cg.$nrep.%p \
    $BIN --port $P --bind 127.0.0.1 --save '' --appendonly no --repl-diskless-sync-delay 0 \
    > $OUT/p$nrep/log 2>&1) &
  VPID=$!; PIDS+=($VPID); up $P || { echo "primary did not start"; exit 1; }
  RP=()
  for r in $(seq $nrep); do
    Q=$((P + r)); mkdir -p $OUT/r$nrep.$r
    (cd $OUT/r$nrep.$r && exec $BIN --port $Q --bind 127.0.0.1 --save '' --appendonly no \
      > $OUT/r$nrep.$r/log 2>&1) &
    PIDS+=($!); RP+=($Q); up $Q || { echo "replica did not start"; exit 1; }
    redis-cli -p $Q replicaof 127.0.0.1 $P >/dev/null
    for i in $(seq 300); do [ "$(info $Q master_link_status)" = up ] && break; sleep 0.2; done
  done
  for w in $WL; do
    case $w in
      SET) a="SET k:__rand_int__ $V";;
      HSET) a="HSET h:__rand_int__ f $V";;
    esac
    redis-cli -p $P flushall >/dev/null
    sleep 0.5
    callgrind_control -z $VPID >/dev/null
    redis-benchmark -p $P -c 50 -P 16 -n $N -r 100000 -q $a >/dev/null 2>&1
    off=$(info $P master_repl_offset)
    for q in "${RP[@]}"; do
      for i in $(seq 600); do [ "$(info $q slave_repl_offset)" -ge "$off" ] && break; sleep 0.1; done
    done
    callgrind_control -d $w.$nrep $VPID >/dev/null
    f=$(ls -t $OUT/cg.$nrep.* 2>/dev/null | head -1)
    ir=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$f" | head -1 | awk '{print $1}')
    echo "$w replicas=$nrep instructions/write $((ir / N)) (${f##*/})"
  done
  cleanup; PIDS=()
done
