/* pause: write commands held back while the server pauses them, as Redis's pauseActions
 * with PAUSE_ACTIONS_CLIENT_WRITE_SET (FAILOVER while its replica catches up; the place
 * for CLIENT PAUSE WRITE too).
 *
 * A paused command is postponed, not refused: the gate (CMD_GATE_PAUSE) blocks its session
 * and marks it SESS_POSTPONED, and net/ leaves the command's bytes in the query buffer.
 * When the last purpose lifts its pause, every postponed session is unblocked and its
 * connection runs the command again from the start, gates included (after a failover it
 * then meets READONLY, as in Redis). Commands concerned: writes and may-replicate ones
 * (PUBLISH, EVAL, FCALL), and EXEC of a transaction holding one. Replica links, the
 * primary's link and internal sessions are never paused. */
#ifndef MAYFLY_CMD_PAUSE_H
#define MAYFLY_CMD_PAUSE_H

#include "mayfly/cmd/gate.h"

/* Who pauses (a bit each; writes run again once no purpose holds its pause). */
enum cmd_pause_purpose {
    CMD_PAUSE_FAILOVER = 1u << 0, /* FAILOVER (repl/) */
    CMD_PAUSE_SHUTDOWN = 1u << 1, /* SHUTDOWN waiting for replicas (repl/, server.c) */
};

/* Starts (or keeps) pausing writes for purpose. */
void cmd_pause_writes(unsigned purpose);
/* Lifts purpose's pause; when none is left, the postponed commands run again (from the
 * loop, not inside this call). */
void cmd_unpause(unsigned purpose);
/* 1 while writes are paused for any purpose. */
int cmd_writes_paused(void);
/* Sessions waiting for the pause to end. */
int cmd_paused_count(void);

/* The gate (server.c adds it). */
extern const cmd_gate cmd_gate_pause;

#endif
