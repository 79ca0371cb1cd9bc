#!/bin/bash
# Instructions per command under callgrind (user space, the command path only), -P 16.
#
#   bench/instr_per_command.sh <server-binary> <outdir> [WORKLOAD ...]
#
# Build the server with -DTURN_EXEC_US=1000000000 (CMAKE_C_FLAGS), or the per-turn time
# budget pauses every batch at valgrind's speed. Workloads: SET GET HSET HGET HGETALL
# HSETBIG HSETEX HSETEXBIG HTTL HPEXPIRE (default: all; HSETEX* need Mayfly or Redis 8).
# Per workload: FLUSHALL, the preload, callgrind's counters zeroed, redis-benchmark -c 50
# -P 16 -n $N -r 100000 (big hash: -r 1000000), a dump, and the instructions counted inside
# $TOGGLE (default process_input: parse, dispatch, handler and replies, not the flush; for
# Redis use TOGGLE=processInputBuffer) divided by $N (default 100000). Prints one line per
# workload and keeps each profile as <outdir>/<WORKLOAD>.cg (callgrind_annotate reads it).
[ $# -ge 2 ] || { sed -n 2,14p "$0"; exit 2; }
BIN=$(realpath "$1"); OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2
PORT=$((20000 + RANDOM % 20000))
N=${N:-100000}
V=0123456789abcdef
WL=${@:-SET GET HSET HGET HGETALL HSETBIG HSETEX HSETEXBIG HTTL HPEXPIRE}
cd $OUT
valgrind --tool=callgrind --toggle-collect="${TOGGLE:-process_input}" --callgrind-out-file=$OUT/cg.%p \
  $BIN --port $PORT --bind 127.0.0.1 --save '' --appendonly no $EXTRA > $OUT/server.log 2>&1 &
VPID=$!
for i in $(seq 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.3; done
rc() { redis-cli -p $PORT "$@" >/dev/null; }
pre() { # $1 kind
  case $1 in
    GET) python3 -c "
for i in range(100000): k='k:%012d'%i; print('*3\r\n\$3\r\nSET\r\n\$%d\r\n%s\r\n\$16\r\n$V\r'%(len(k),k))" | redis-cli -p $PORT --pipe >/dev/null;;
    HGET) python3 -c "
f=''.join('\$2\r\nf%d\r\n\$16\r\n$V\r\n'%j for j in range(10))
import sys
for i in range(100000): k='hg:%012d'%i; sys.stdout.write('*22\r\n\$4\r\nHSET\r\n\$%d\r\n%s\r\n'%(len(k),k)+f)" | redis-cli -p $PORT --pipe >/dev/null;;
    HGETALL) redis-cli -p $PORT hset hga f0 $V f1 $V f2 $V f3 $V f4 $V f5 $V f6 $V f7 $V f8 $V f9 $V >/dev/null;;
    HX) python3 -c "
import sys
for i in range(100000): k='hx:%012d'%i; sys.stdout.write('*4\r\n\$4\r\nHSET\r\n\$%d\r\n%s\r\n\$1\r\nf\r\n\$16\r\n$V\r\n'%(len(k),k))" | redis-cli -p $PORT --pipe >/dev/null
       python3 -c "
import sys
for i in range(100000): k='hx:%012d'%i; sys.stdout.write('*6\r\n\$9\r\nHPEXPIRE\r\n\$%d\r\n%s\r\n\$6\r\n600000\r\n\$6\r\nFIELDS\r\n\$1\r\n1\r\n\$1\r\nf\r\n'%(len(k),k))" | redis-cli -p $PORT --pipe >/dev/null;;
  esac
}
for w in $WL; do
  rc flushall
  case $w in
    SET) a="SET k:__rand_int__ $V";;
    GET) pre GET; a="GET k:__rand_int__";;
    HSET) a="HSET hs:__rand_int__ f $V";;
    HGET) pre HGET; a="HGET hg:__rand_int__ f5";;
    HGETALL) pre HGETALL; a="HGETALL hga";;
    HSETBIG) a="HSET big f:__rand_int__ $V"; R=1000000;;
    HSETEX) a="HSETEX hs:__rand_int__ PX 600000 FIELDS 1 f $V";;
    HSETEXBIG) a="HSETEX big PX 600000 FIELDS 1 f:__rand_int__ $V"; R=1000000;;
    HTTL) pre HX; a="HTTL hx:__rand_int__ FIELDS 1 f";;
    HPEXPIRE) pre HX; a="HPEXPIRE hx:__rand_int__ 600000 FIELDS 1 f";;
  esac
  callgrind_control -z $VPID >/dev/null
  redis-benchmark -p $PORT -c 50 -P 16 -n $N -r ${R:-100000} -q $a >/dev/null 2>&1
  callgrind_control -d $w $VPID >/dev/null
  unset R
  f=$(ls -t $OUT/cg.$VPID.* | head -1)
  tot=$(callgrind_annotate $f 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}')
  echo "$w $((tot / N))" | tee -a $OUT/summary
  mv $f $OUT/$w.cg
done
redis-cli -p $PORT shutdown nosave >/dev/null 2>&1
wait $VPID
