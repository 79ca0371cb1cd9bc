/* persist: durability as the server sees it. One facade over snapshots (snapshot.h), the
 * append-only log (aof.h), start-up loading (load.h) and the forked child that writes a
 * snapshot or a log base; server.c calls it from its loop, cron and shutdown, and fills
 * the host ops the SAVE/BGSAVE/... commands use with it.
 *
 * At most one child runs at a time, as in Redis: a BGSAVE or rewrite asked for meanwhile is
 * scheduled and started by the cron when the child is gone. The child writes with plain
 * write(2)/fsync(2) and leaves with _exit; it never touches the loop. The parent learns of
 * its end in the cron (waitpid WNOHANG). */
#ifndef MAYFLY_PERSIST_PERSIST_H
#define MAYFLY_PERSIST_PERSIST_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/info.h"
#include "mayfly/config.h"
#include "mayfly/persist/load.h"
#include "mayfly/util/buf.h"

#include <stdint.h>

/* Starts loading (see load.h). Returns LOAD_MORE, LOAD_DONE or LOAD_FAILED. When it
 * returns LOAD_DONE (here or from persist_load_step) the log is open if appendonly. */
int persist_load_begin(int64_t now_ms, load_replay_fn *replay);
int persist_load_step(int64_t budget_us);

/* Cron work: child exit, save rules, scheduled jobs, automatic rewrite, log fsync. */
void persist_cron(int64_t now_ms);
/* Writes the turn's log records before replies go out (net/ calls it). */
void persist_before_reply(void);
/* The final save on shutdown (flags: HOST_SHUTDOWN_*). Returns 0, or -1 if the save failed
 * and the server must keep running. */
int persist_shutdown(int flags);
/* The persistence directives (dir, save, appendonly, ...), with their CONFIG SET effects. */
extern const config_row persist_config_rows[];

/* The -MISCONF text while writes must be refused (a failed background save with
 * stop-writes-on-bgsave-error, a failing log write), else NULL. */
const char *persist_write_refusal(void);
/* Dispatch gates (cmd/gate.h) that server.c adds: -MISCONF for writes and PING while
 * writes are refused, -LOADING while the dataset loads. */
extern const struct cmd_gate persist_gate_misconf;
extern const struct cmd_gate persist_gate_loading;

/* SAVE, BGSAVE [SCHEDULE], BGREWRITEAOF, LASTSAVE: each returns 0 or a negative code, with
 * *msg the reply text. */
int persist_save(const char **msg);
int persist_bgsave(int schedule, const char **msg);
int persist_bgrewriteaof(const char **msg);
long long persist_lastsave(void);

/* The command family SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE (persist_cmd.c). */
extern const cmd_spec persist_commands[];
/* The "# Persistence" INFO section (cmd/info.h). */
extern const info_section persist_info_section;

#endif
