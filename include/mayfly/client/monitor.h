/* monitor: MONITOR sessions and the feed of executed commands (client/monitor.c).
 *
 * A session that ran MONITOR gets one line per command executed by any client, after it
 * ran (Redis's replicationFeedMonitors): `+<sec>.<usec> [<db> <addr>] "arg" "arg"...`,
 * arguments quoted and escaped as Redis's sdscatrepr; `lua` as the address of commands
 * from scripts, `unix:<path>` for Unix-socket clients. Callers leave out admin and
 * skip_monitor commands and redact secrets (AUTH, HELLO AUTH) before feeding. */
#ifndef MAYFLY_CLIENT_MONITOR_H
#define MAYFLY_CLIENT_MONITOR_H

#include "mayfly/client/session.h"
#include "mayfly/util/slice.h"

/* s becomes a monitor (again: no change). */
void monitor_add(session *s);
/* s stops monitoring (RESET, session end); no-op if it was not. */
void monitor_remove(session *s);
/* Number of monitors (0: feeding costs nothing). */
size_t monitor_count(void);
/* Sends argv[0..argc) run by `from` in database db_id to every monitor. */
void monitor_feed(const session *from, int db_id, int argc, const slice *argv);

#endif
