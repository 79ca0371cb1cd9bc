/* multi: the hooks dispatch uses for MULTI/EXEC (implemented in cmd_multi.c). */
#ifndef MAYFLY_CMD_MULTI_H
#define MAYFLY_CMD_MULTI_H

#include "mayfly/cmd/cmd.h"

/* If c->s is inside MULTI and c->cmd is not one that runs at once (EXEC, DISCARD, MULTI,
 * WATCH, QUIT, RESET), queues a copy of the command, replies +QUEUED and returns 1;
 * otherwise returns 0. */
int multi_queue_if_needed(cmd_ctx *c);
/* CLIENT LIST multi=: commands queued (-1 outside MULTI). */
long long multi_queued_count(const session *s);

/* A command was rejected while queueing (unknown, arity, auth): EXEC will abort. */
void multi_flag_error(session *s);
/* 1 if cmd is EXEC. */
int multi_is_exec(const cmd_spec *cmd);
/* The flags the gates see for EXEC (exec_flags: its own) while s is inside MULTI, as
 * Redis's processCommand: write, readonly, denyoom and may_replicate when any queued
 * command has them; loading and stale only when all queued commands have them. */
uint32_t multi_exec_flags(const session *s, uint32_t exec_flags);
/* Discards s's transaction (DISCARD without the reply). */
void multi_discard(session *s);
/* A refused EXEC (Redis's execCommandAbort): discards the transaction and replies
 * "EXECABORT Transaction discarded because of: <msg>" without msg's "ERR ". */
void multi_exec_abort(cmd_ctx *c, const char *msg);

#endif
