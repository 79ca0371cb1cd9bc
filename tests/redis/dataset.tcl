# Appended to the suite's tests/support/util.tcl by run.sh, so that it replaces the suite's
# createComplexDataset (and thus the write load of start_bg_complex_data) with one over the
# types Mayfly has. The suite's version walks random keys and, for a new key, picks one of
# string, list, set, sorted set or hash; Mayfly refuses the list, set and sorted set
# commands (docs/design.md "Keyspace and types"), and the first refusal ends the load
# client, which left replication-psync and psync2-master-restart without their write load.
# This walk keeps the suite's shape (random keys that collide, random values of every size
# class the suite draws, deletes, the same 'useexpire' and 'usetag' options) over strings
# and hashes, and adds field TTLs (long enough not to fire during a test) so that the
# replication and reload checks that compare DEBUG DIGEST cover them too.
proc createComplexDataset {r ops {opt {}}} {
    set useexpire [expr {[lsearch -exact $opt useexpire] != -1}]
    set tag [expr {[lsearch -exact $opt usetag] != -1 ? "{t}" : ""}]
    for {set j 0} {$j < $ops} {incr j} {
        set k [randomKey]$tag
        set f [randomValue]
        set v [randomValue]
        if {$useexpire && rand() < 0.1} {
            {*}$r expire [randomKey] [randomInt 2]
        }
        set t [{*}$r type $k]
        if {$t eq {none}} {
            randpath {{*}$r set $k $v} {{*}$r set $k $v} \
                {{*}$r hset $k $f $v} {{*}$r hset $k $f $v} {{*}$r del $k}
            set t [{*}$r type $k]
        }
        switch $t {
            {string} {
                randpath {{*}$r append $k $v} {{*}$r set $k $v} {}
            }
            {hash} {
                randpath {{*}$r hset $k $f $v} {{*}$r hdel $k $f} \
                    {{*}$r hset $k $f $v} \
                    {{*}$r hpexpire $k [expr {100000 + [randomInt 900000]}] fields 1 $f}
            }
        }
    }
}
