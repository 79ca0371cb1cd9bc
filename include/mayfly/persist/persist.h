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
/* After FLUSHALL, as Redis's flushAllDataAndResetRDB: a snapshot child is stopped (it would
 * save what was flushed; not counted as a failed save) and, when save points are set, the
 * empty dataset is written at once, so rdb_changes_since_last_save is 0. */
void persist_flushall_save(void);
/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the snapshot (unless save is 0), empties
 * the dataset and the function libraries (unless flush is 0), and loads the snapshot file
 * (merge: a key already held is replaced rather than failing the load). Returns 0, or -1
 * with *msg Redis's error text. */
int persist_debug_reload(int save, int flush, int merge, const char **msg);

/* ---- replication (repl/ sits above: it calls these, and sets the hooks) ---- */

/* What a snapshot records of replication (Redis's rdbSaveInfo: AUX repl-id, repl-offset,
 * repl-stream-db). Returns 1 with the fields filled when there is something to record.
 * NULL: nothing is recorded. */
extern int (*persist_repl_info)(char replid[41], uint64_t *offset, int *stream_db);
/* The snapshot loaded at start-up recorded where replication stood. */
extern void (*persist_repl_loaded)(const char *replid, uint64_t offset, int stream_db);
/* The RDB file loaded at start-up held this key past its deadline, so it was not loaded;
 * called for each such key after persist_repl_loaded (a primary propagates a DEL). */
extern void (*persist_repl_expired)(int dbid, slice key);
/* A snapshot child for replicas ended (ok: it wrote everything). */
extern void (*persist_repl_child_done)(int ok);

/* 1 while a child runs (a snapshot, a rewrite, a snapshot for replicas). */
int persist_child_running(void);
/* Starts a child that writes the dataset as an RDB for replicas: into the snapshot file, as
 * BGSAVE does (fd < 0), or into fd, the write end of a pipe, as "$EOF:<mark>\r\n", the
 * RDB, then the mark (mark: 40 bytes), for a diskless transfer; fd is closed in this
 * process. no_data (pipe only, REPLCONF rdb-filter-only): PERSIST_NO_DATA, an RDB without
 * keys or function libraries; PERSIST_NO_DATA_FUNCTIONS, the libraries only. The RDB is
 * version 10 when nothing in the dataset needs 12 (no field TTL), so that Redis 7.0
 * replicas read it. persist_repl_child_done runs from the cron when it ends.
 * Returns 0, or -1 with errno set (a child runs already: EBUSY; fork failed). */
enum { PERSIST_NO_DATA = 1, PERSIST_NO_DATA_FUNCTIONS = 2 };
int persist_repl_child_start(int fd, const char *mark, int no_data);
/* Stops the snapshot child for replicas (every replica of a diskless transfer left). */
void persist_repl_child_kill(void);
/* The snapshot file's path (dir/dbfilename) into out. */
void persist_snapshot_path(char *out, size_t cap);

/* A replica's full sync: replaces the dataset with the RDB file at path, in slices, with
 * -LOADING meanwhile (a running child is stopped first; the log, if on, is rewritten
 * afterwards). Keys past their TTL are kept: the primary deletes them. Returns LOAD_MORE
 * (call persist_repl_load_step), LOAD_DONE or LOAD_FAILED (logged; the dataset is then
 * empty). */
int persist_repl_load_begin(const char *path);
int persist_repl_load_step(int64_t budget_us);
/* repl-diskless-load: the same, with the RDB handed in as it arrives from the socket
 * (size_hint: the announced length, 0 for an EOF-marked transfer). feed decodes what it can
 * and returns LOAD_MORE (more bytes wanted), LOAD_DONE (the RDB's EOF and checksum were
 * read; later bytes are ignored) or LOAD_FAILED (logged; the dataset is then empty). p NULL
 * says the stream has ended: what is held is decoded, and an RDB cut short fails. */
void persist_repl_load_begin_stream(uint64_t size_hint);
int persist_repl_load_feed(const char *p, size_t len);
/* 1 while a replica's load (from a file or a stream) is in progress. */
int persist_repl_loading(void);
/* Abandons a load in progress (the link was lost): the dataset is emptied. */
void persist_repl_load_abort(void);

/* The command family SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE (persist_cmd.c). */
extern const cmd_spec persist_commands[];
/* The "# Persistence" INFO section (cmd/info.h). */
extern const info_section persist_info_section;

#endif
