/* pause: commands held back while the server pauses them, as Redis's pauseActions: one
 * pause state shared by every purpose (FAILOVER while its replica catches up, SHUTDOWN
 * waiting for replicas, CLIENT PAUSE WRITE|ALL, a cluster master during a manual failover),
 * each purpose holding its own pause.
 *
 * A paused command is postponed, not refused: the gate (CMD_GATE_PAUSE) blocks its session
 * and marks it SESS_POSTPONED, and net/ leaves the command's bytes in the query buffer.
 * When a pause lifts or weakens (the last purpose goes, or CLIENT's ALL ends while others
 * still pause writes), every postponed session is unblocked and its connection runs the
 * command again from the start, gates included (it may be postponed again; after a
 * failover it meets READONLY, as in Redis). The strictest pause in effect wins: writes and
 * may-replicate commands (PUBLISH, EVAL, FCALL, an EXEC of a transaction holding one)
 * while any purpose pauses writes, every command while CLIENT PAUSE ALL is in effect.
 * Replica links and internal sessions are never paused; the primary's stream is (its
 * master session meets this gate alone), as Redis blocks its master client.
 *
 * While writes are paused nothing expires or is evicted (the replication offset and the
 * log must stand still): db/ goes to DB_EXPIRE_HIDE (lookups hide due keys and fields),
 * back to DB_EXPIRE_REAP when the last pause lifts unless the server is a replica by
 * then; eviction asks cmd_writes_paused(). */
#ifndef MAYFLY_CMD_PAUSE_H
#define MAYFLY_CMD_PAUSE_H

#include "mayfly/cmd/gate.h"

#include <stdint.h>

/* Who pauses (a bit each; writes run again once no purpose holds its pause). */
enum cmd_pause_purpose {
    CMD_PAUSE_FAILOVER = 1u << 0, /* FAILOVER (repl/) */
    CMD_PAUSE_SHUTDOWN = 1u << 1, /* SHUTDOWN waiting for replicas (repl/, server.c) */
    CMD_PAUSE_CLIENT = 1u << 2,   /* CLIENT PAUSE timeout [WRITE|ALL] (cmd/pause.c) */
    CMD_PAUSE_CLUSTER = 1u << 3,  /* a cluster master in a manual failover (cluster/) */
};

/* Starts (or keeps) pausing writes for purpose (FAILOVER, SHUTDOWN: until lifted). */
void cmd_pause_writes(unsigned purpose);
/* Lifts purpose's pause; postponed commands that may run now run again (from the loop,
 * not inside this call). CLIENT UNPAUSE is cmd_unpause(CMD_PAUSE_CLIENT). */
void cmd_unpause(unsigned purpose);
/* 1 while writes are paused for any purpose (a CLIENT PAUSE past its deadline ends here). */
int cmd_writes_paused(void);
/* Sessions waiting for the pause to end. */
int cmd_paused_count(void);
/* The cron: ends a CLIENT PAUSE whose deadline (clock_now_ms time) has passed. */
void cmd_pause_cron(int64_t now_ms);

/* The gate (server.c adds it). */
extern const cmd_gate cmd_gate_pause;

#endif
