/* repl_int: what the parts of repl/ share (repl.c the state and ids, stream.c the stream
 * and backlog, primary.c the replicas of this server, replica.c the link to this server's
 * primary, cmd_repl.c the commands). */
#ifndef MAYFLY_REPL_REPL_INT_H
#define MAYFLY_REPL_REPL_INT_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/repl/repl.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define REPL_ID_LEN 40       /* Redis's CONFIG_RUN_ID_SIZE */
#define REPL_EOF_MARK_LEN 40 /* RDB_EOF_MARK_SIZE */

/* ---- repl_config.c: the directives ---- */

typedef struct repl_config {
    char *masterauth; /* NULL: none; may hold NUL bytes */
    size_t masterauth_len;
    char *masteruser;       /* NULL: none */
    long long backlog_size; /* repl-backlog-size */
    int backlog_ttl;        /* repl-backlog-ttl, seconds (0: never freed) */
    int timeout;            /* repl-timeout, seconds */
    int ping_period;        /* repl-ping-replica-period, seconds */
    int min_replicas_to_write, min_replicas_max_lag;
    int read_only;        /* replica-read-only */
    int serve_stale;      /* replica-serve-stale-data */
    int priority;         /* replica-priority */
    int announced;        /* replica-announced */
    int ignore_maxmemory; /* replica-ignore-maxmemory */
    char *announce_ip;    /* replica-announce-ip, NULL: none */
    int announce_port;    /* replica-announce-port, 0: our own */
    int diskless_sync, diskless_sync_delay, diskless_sync_max_replicas;
    int disable_tcp_nodelay;
    int diskless_load; /* repl-diskless-load: REPL_DISKLESS_LOAD_* */
} repl_config;
enum { REPL_DISKLESS_LOAD_DISABLED, REPL_DISKLESS_LOAD_ON_EMPTY_DB, REPL_DISKLESS_LOAD_SWAPDB };
extern repl_config repl_cfg;

/* ---- repl.c: ids, role, counters ---- */

typedef struct repl_state {
    char replid[REPL_ID_LEN + 1];  /* this server's replication history */
    char replid2[REPL_ID_LEN + 1]; /* the one before (a promoted replica's old primary's) */
    int64_t second_offset;         /* replid2 is valid up to this offset, -1: none */
    char *master_host;             /* NULL while this server is a primary */
    int master_port;
    long long sync_full, sync_partial_ok, sync_partial_err; /* INFO stats */
    int64_t no_replicas_since_ms;                           /* for repl-backlog-ttl */
    int good_replicas;      /* online with lag <= min-replicas-max-lag */
    int min_replicas_armed; /* the min-replicas gate's switch */
    int readonly_armed;     /* the read-only gate's switch */
    int masterdown_armed;   /* the stale-data gate's switch */
    int feed_pending;       /* the stream grew since replicas were last fed */
} repl_state;
extern repl_state repl_st;

/* n random lowercase hex digits into out (no NUL). */
void repl_random_hex(char *out, size_t n);
/* The loop (timers, the diskless pipe) and the monotonic clock in ms. */
uv_loop_t *repl_loop(void);
int64_t repl_now_ms(void);
/* The stream's sink: force a SELECT before its next record (a snapshot was taken); the
 * database it has selected (-1: none). */
void repl_sink_reset_db(void);
int repl_sink_db(void);
/* A new random replid (a new history); clears nothing else. */
void repl_change_replid(void);
/* Forgets replid2 (second_offset -1). */
void repl_clear_replid2(void);
/* replid becomes replid2, valid up to offset + 1, and a new replid starts (promotion). */
void repl_shift_replid(void);
/* Recomputes the gates' switches after a role or configuration change. */
void repl_update_gates(void);
/* The journal sink that feeds the stream: added while the backlog exists. */
void repl_sink_attach(void);
void repl_sink_detach(void);
/* The stream grew (stream.c tells): replicas are fed before the next flush. */
static inline void repl_stream_grew(void) {
    repl_st.feed_pending = 1;
}

/* ---- stream.c: the stream and its backlog ---- */

/* 1 while the backlog exists (bytes are kept and the offset moves). */
int stream_active(void);
/* Creates the backlog (starts keeping bytes from offset + 1). */
void stream_create(void);
/* Frees the backlog and its bytes (the offset stays). */
void stream_free(void);
/* master_repl_offset: the offset of the last byte of the stream. */
uint64_t stream_offset(void);
/* Frees the backlog and sets the offset (a replica adopting its primary's). */
void stream_set_offset(uint64_t offset);
/* Appends bytes (as they are) / a command as RESP; nothing without a backlog. Return the
 * bytes the stream grew by. */
size_t stream_append(const char *p, size_t len);
size_t stream_append_argv(int argc, const slice *argv);
/* repl-backlog-first-byte-offset and repl_backlog_histlen (0 without a backlog). */
uint64_t stream_backlog_first(void);
uint64_t stream_histlen(void);
long long stream_backlog_size(void);
void stream_set_backlog_size(long long size);
/* Bytes held (INFO memory). */
size_t stream_memory(void);
/* 1 if the bytes from offset `from` to the end can be sent (PSYNC may continue there). */
int stream_has(uint64_t from);
/* Keeps the bytes from offset on even when the backlog window has passed them (a replica
 * waiting for its snapshot, or not yet sent them, needs them), UINT64_MAX: nothing beyond
 * the window. */
void stream_keep_from(uint64_t offset);
/* The held bytes from offset `from` that lie together in one block: *p and the count (0 if
 * `from` is not held). The bytes stay where they are until trimmed (keep_from). */
size_t stream_span(uint64_t from, const char **p);
/* Memory of the blocks held beyond the backlog window, for replicas that lag or wait. */
size_t stream_replica_memory(void);
/* Calls fn for the held bytes from offset `from` to the end, in order; returns how many. */
uint64_t stream_copy(uint64_t from, void (*fn)(void *ctx, const char *p, size_t len), void *ctx);

/* ---- primary.c: this server's replicas ---- */

/* Timers and the snapshot child's callback. */
void primary_init(uv_loop_t *loop);
/* PSYNC and SYNC (argv as the command got it). */
void primary_sync_command(cmd_ctx *c);
/* REPLCONF from a client that is not a replica yet (before PSYNC). */
void primary_replconf(cmd_ctx *c);
/* Feeds every online replica what the stream grew by (once per loop turn; catchup.c). */
void primary_feed(void);
/* The one-second cron: PING, newlines to replicas waiting for a snapshot, timeouts,
 * repl-backlog-ttl, the count of good replicas, a replication snapshot to start. */
void primary_cron(int64_t now_ms, long long loops);
/* Replicas attached (any state), and those online. */
int primary_replica_count(void);
/* Closes every replica link (a new history: they must sync again). */
void primary_disconnect_all(void);
/* INFO's slaveN lines and ROLE's replica list. */
void primary_info_lines(buf *b, int64_t now_ms);
void primary_role_reply(cmd_ctx *c);
/* Online replicas whose ACK (aof=0) or FACK (aof=1) reached offset. */
int primary_count_acks(uint64_t offset, int aof);

/* ---- wait.c: WAIT and WAITAOF ---- */

void wait_init(uv_loop_t *loop);
void wait_shutdown(void);
/* WAIT numreplicas timeout. */
void primary_wait(cmd_ctx *c);
/* WAITAOF numlocal numreplicas timeout. */
void primary_waitaof(cmd_ctx *c);
/* Answers WAIT clients whose replicas have acknowledged, or whose time is up. */
void primary_process_waits(int64_t now_ms);
/* Asks every replica for an ACK at the next flush (REPLCONF GETACK). */
void primary_request_acks(void);
/* Stops everything (shutdown). */
void primary_shutdown(void);
/* Answers every WAIT client with Redis's -UNBLOCKED error (the server becomes a replica). */
void primary_unblock_waiters(void);
/* The client-output-buffer-limit check of the replica class for every link. */
void primary_check_limits(int64_t now_ms);
/* Replicas whose acknowledged offset is behind the stream; logs each when log is set. */
int primary_lagging(int log);
/* FAILOVER TO host port: -1 if no replica listens there, 0 if it is not online, 1 if it is. */
int primary_replica_online(const char *host, int port);
/* An online replica that has acknowledged the whole stream: the one at host:port, or any
 * when host is NULL; its address into out_host / out_port. Returns 1 if there is one. */
int primary_caught_up(const char *host, int port, char *out_host, size_t cap, int *out_port);

/* ---- failover.c: FAILOVER ---- */

void failover_command(cmd_ctx *c);
/* Moves a waiting failover on: a replica caught up, or the timeout (cron and each flush). */
void failover_check(int64_t now_ms);
/* INFO's master_failover_state. */
const char *failover_state_name(void);
/* 1 while a failover runs (REPLICAOF and SYNC refused); 1 once this server has turned into
 * the target's replica and its PSYNC must carry FAILOVER. */
int failover_active(void);
int failover_in_progress(void);
/* The target answered the PSYNC FAILOVER: accepted (+CONTINUE, +FULLRESYNC) ends the
 * failover, else it is aborted. */
void failover_psync_result(int accepted);
/* Ends a failover (a primary again if needed); no effect without one. */
void failover_abort(const char *why);

/* ---- replica.c: the link to this server's primary ---- */

enum replica_state {
    RS_NONE = 0,   /* not a replica */
    RS_CONNECT,    /* must connect (the cron does) */
    RS_CONNECTING, /* connecting */
    RS_HANDSHAKE,  /* PING, AUTH, REPLCONF, PSYNC replies awaited */
    RS_TRANSFER,   /* receiving the snapshot */
    RS_LOADING,    /* loading the received snapshot */
    RS_CONNECTED,  /* streaming */
};

/* Starts replicating host:port (the link is opened at once). */
void replica_start(const char *addr, int port);
/* Stops replicating (the link is closed, the cached primary dropped). */
void replica_stop(void);
enum replica_state replica_state(void);
/* The processed offset of the primary's stream (slave_repl_offset), and the read one. */
uint64_t replica_processed_offset(void);
uint64_t replica_read_offset(void);
/* 1 while the link is connected (master_link_status up). */
int replica_link_up(void);
/* The session the primary's commands run in, or NULL. */
session *replica_master_session(void);
/* Sends REPLCONF ACK now (REPLCONF GETACK from the primary). */
void replica_send_ack(void);
/* INFO's replica fields (from master_host to replica_announced). */
void replica_info(buf *b, int64_t now_ms);
/* ROLE's reply for a replica. */
void replica_role_reply(cmd_ctx *c);
/* The one-second cron: connect, handshake and transfer timeouts, the primary's silence,
 * ACKs. */
void replica_cron(int64_t now_ms);
/* Every loop turn: applies the primary's stream that waited (after loading, a pause). */
void replica_before_flush(void);
/* Shutdown: close the link. */
void replica_shutdown(void);
/* Makes this server's own history the cached primary (Redis's
 * replicationCacheMasterUsingMyself): a server that becomes a replica, or restarts as one,
 * asks PSYNC to continue from its own replid and offset. stream_db: the database its
 * stream had selected (-1: unknown). */
void replica_cache_myself(int stream_db);
/* 1 if a replica knows where it is in its primary's history (linked, or a cached
 * primary), for the snapshot's AUX fields; the database the primary's stream selected. */
int replica_has_history(void);
int replica_stream_db(void);

#endif
