/* multi: the hooks dispatch uses for MULTI/EXEC (implemented in cmd_multi.c). */
#ifndef MAYFLY_CMD_MULTI_H
#define MAYFLY_CMD_MULTI_H

#include "mayfly/cmd/cmd.h"

/* If c->s is inside MULTI and c->cmd is not one that runs at once (EXEC, DISCARD, MULTI,
 * WATCH, QUIT, RESET), queues a copy of the command, replies +QUEUED and returns 1;
 * otherwise returns 0. */
int multi_queue_if_needed(cmd_ctx *c);
/* A command was rejected while queueing (unknown, arity, auth): EXEC will abort. */
void multi_flag_error(session *s);

#endif
