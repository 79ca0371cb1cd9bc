/* CLIENT subcommands defined outside cmd_conn.c (cmd_tracking.c: client-side caching;
 * pause.c: CLIENT PAUSE). */
#ifndef MAYFLY_CMD_CONN_INT_H
#define MAYFLY_CMD_CONN_INT_H

#include "mayfly/cmd/cmd.h"

void client_tracking(cmd_ctx *c);
void client_caching(cmd_ctx *c);
void client_getredir(cmd_ctx *c);
void client_trackinginfo(cmd_ctx *c);
/* CLIENT LIST / CLIENT INFO: the tracking letters of flags= (t R B) and redir=. */
size_t client_tracking_flags(const session *s, char *out);
long long client_tracking_redir(const session *s);
/* pause.c: CLIENT PAUSE / UNPAUSE. */
void client_pause(cmd_ctx *c);
void client_unpause(cmd_ctx *c);

#endif
