/* host: what commands may ask of the process around them (server/ and net/ fill it in),
 * so that cmd/ never includes the layers above it. */
#ifndef MAYFLY_CMD_HOST_H
#define MAYFLY_CMD_HOST_H

#include "mayfly/util/slice.h"

#include <stdint.h>

typedef struct host_stats {
    int64_t start_ms;               /* process start, wall clock */
    long long total_connections;    /* accepted since start */
    long long rejected_connections; /* refused by maxclients */
    long long net_input_bytes, net_output_bytes;
    int tcp_port;                        /* the port actually listened on */
    int active_expire_running;           /* a backlog slice is scheduled */
    long long expire_cycles;             /* active expiry slices run */
    long long expire_cycle_us;           /* total time spent in them */
    long long ops_per_sec;               /* instantaneous_ops_per_sec, sampled by the cron */
    long long reads_processed;           /* read callbacks with data (total_reads_processed) */
    long long writes_processed;          /* socket writes (total_writes_processed) */
    long long qbuf_limit_disconnections; /* closed by client-query-buffer-limit */
    long long obuf_limit_disconnections; /* closed by client-output-buffer-limit */
    long long input_kbps_x100, output_kbps_x100;           /* instantaneous_*_kbps * 100 (cron) */
    long long repl_input_kbps_x100, repl_output_kbps_x100; /* instantaneous_*_repl_kbps */
    int loading; /* the dataset is loading: commands get -LOADING */
    int in_exec; /* EXEC is running its queue: forks wait for the cron (Redis's in_exec) */
    long long total_forks;      /* snapshot and rewrite children forked */
    long long eventloop_cycles; /* loop turns (INFO eventloop_cycles) */
    long long eventloop_us;     /* time spent in them, waiting for I/O excluded */
    long long eventloop_cycles_per_sec, eventloop_cycle_us; /* instantaneous_*, cron-sampled */
    /* The longest loop turn since the last CONFIG RESETSTAT: its busy time (I/O waits
     * excluded), and the server thread's CPU time in it, which a busy shared machine does
     * not inflate (INFO mayfly_eventloop_turn_max_usec / _cpu_max_usec). */
    long long eventloop_turn_max_us, eventloop_turn_cpu_max_us;
    /* Turns since CONFIG RESETSTAT whose thread CPU time passed 1 ms / 2 ms: how often,
     * not only how badly, a turn ran long (a shared VM charges host steal to the thread
     * now and then, which inflates the maximum but rarely the count). */
    long long eventloop_turns_cpu_over_1ms, eventloop_turns_cpu_over_2ms;
    long long latest_fork_usec; /* how long the last fork() call took */
    int replica;                /* this server replicates a primary (HELLO role, set by repl/) */
    long long sync_full, sync_partial_ok, sync_partial_err; /* replicas' syncs (repl/) */
    long long net_repl_input_bytes, net_repl_output_bytes;  /* replication links' bytes */
    long long repl_backlog_bytes;                           /* the backlog's memory */
    long long repl_buffer_bytes; /* the stream's blocks: the backlog's and the replicas' */
    /* A shutdown waits for replicas until this monotonic ms (clock_mono_us / 1000); 0: none
     * (INFO shutdown_in_milliseconds). */
    long long shutdown_deadline_ms;
    long long migrate_cached_sockets; /* MIGRATE's open target connections (cluster/) */
    long long
        unexpected_error_replies; /* errors answered to the primary's stream or a loaded log */
} host_stats;
extern host_stats host_stat;

/* The shutdown that waited for replicas was cancelled (SHUTDOWN ABORT, or the final save
 * failed): the clients blocked in SHUTDOWN get Redis's error (cmd_server.c). */
void host_shutdown_cancelled(void);

#define HOST_SHUTDOWN_NOSAVE 1
#define HOST_SHUTDOWN_SAVE 2
#define HOST_SHUTDOWN_NOW 4
#define HOST_SHUTDOWN_FORCE 8

typedef struct host_ops {
    /* Starts a graceful shutdown: listeners close, replies are flushed, the process exits
     * with status 0. Returns 0, -1 if it cannot (e.g. a final save failed), or 1 when it
     * waits for replicas to catch up first (shutdown-timeout; the caller blocks, and
     * host_shutdown_cancelled answers it if the shutdown does not happen). */
    int (*shutdown)(int flags);
    /* SHUTDOWN ABORT: cancels a shutdown that waits (for replicas, or for a busy script to
     * end); 0, or -1 if none is pending. */
    int (*shutdown_abort)(void);
    /* DEBUG AOF-WRITE-ERROR: makes every log write fail with errno err (0: stop). */
    void (*aof_write_fault)(int err);
    /* DEBUG AOF-FLUSH-SLEEP: aof_set_flush_sleep (persist/aof.h). */
    void (*aof_flush_sleep)(int us);
    /* In a forked child (snapshot, log rewrite): closes the inherited listening and client
     * sockets, so that a child outliving a killed server never holds its port. */
    void (*after_fork_child)(void);
    /* While a script is busy: the -BUSY text (without '-') every command without the
     * allow-busy flag is refused with; NULL otherwise. May be NULL itself. */
    const char *(*busy_refusal)(void);
    /* After PUBLISH (shard 0) or SPUBLISH (shard 1) delivered locally: the cluster bus
     * carries the message to the other nodes (all of them, or the shard's). May be NULL. */
    void (*publish)(slice channel, slice msg, int shard);
    /* After FLUSHALL: persist_flushall_save (persist.h). */
    void (*flushall_save)(void);
    /* DEBUG RELOAD: persist_debug_reload (persist.h). */
    int (*debug_reload)(int save, int flush, int merge, const char **msg);
} host_ops;
extern host_ops host;

#endif
