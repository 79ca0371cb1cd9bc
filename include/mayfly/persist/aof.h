/* aof: the append-only log while the server runs (appendonly yes), in Redis 7's format.
 *
 * Files live in dir/appenddirname and are named by the manifest (Redis's syntax): a base
 * (an RDB file, or RESP commands with aof-use-rdb-preamble no) and increments of RESP
 * commands. Records from the journal (the log is a sink that server.c adds while the log is
 * open; the journal frames them with a SELECT when their database changes) are gathered in a
 * buffer during a loop turn and written by aof_before_reply, which the net layer runs before
 * it flushes the turn's replies:
 *
 *     journal ──aof_sink──▶ buffer ──aof_before_reply: write(2) [+ fdatasync if always]──▶
 *     replies flushed
 *
 * so with appendfsync always no reply leaves before its effect is on disk, with one fsync
 * per turn for every client (group commit). everysec hands an fsync to the fsync thread at
 * most once a second; no leaves it to the kernel.
 *
 * Compaction (aof_rewrite_*), as Redis does it: the parent opens a fresh increment and lists
 * it in the manifest before forking; the child writes the dataset as of the fork into a
 * temp base; when it is done the parent renames the base into place, replaces the manifest
 * with (new base, new increment) and only then removes the older files (history). A crash
 * at any point leaves a manifest whose files hold everything. */
#ifndef MAYFLY_PERSIST_AOF_H
#define MAYFLY_PERSIST_AOF_H

#include "mayfly/journal/journal.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* The log directory: dir/appenddirname. */
void aof_dir(char *out, size_t cap);

/* After loading: opens the log for appending. m_loaded: 1 if the dataset came from the
 * manifest (whose last increment is reopened, or a new one opened after its base); 0 to
 * create a new log (a base of the current dataset, then an empty increment). rewrite: write
 * a new log even so (the loaded files were in Mayfly 0.1's format). Returns 0 or -1 after
 * logging why. */
int aof_open(int m_loaded, int rewrite, int64_t now_ms);
/* CONFIG SET appendonly yes at run time: starts a log whose manifest is written when its
 * first rewrite completes (the caller then starts that rewrite). Returns 0 or -1. */
int aof_begin_enable(int64_t now_ms);
/* Stops logging (CONFIG SET appendonly no): flushes, fsyncs, closes. */
void aof_close(void);
/* 1 while the log is open. */
int aof_is_on(void);
/* 1 while the log was enabled at run time and its first rewrite has not completed. */
int aof_waiting_first_rewrite(void);

/* Test aid (DEBUG AOF-WRITE-ERROR): while err is not 0, every write of the log fails with
 * errno err, as on a full disk; 0 lets writes through again. */
void aof_set_write_fault(int err);
/* Test aid (DEBUG AOF-FLUSH-SLEEP): sleep us microseconds before each write of the log's
 * buffer (0: no sleep), as Redis's aof_flush_sleep. */
void aof_set_flush_sleep(int us);

/* The log as a journal sink (SELECT framing): each record is appended to the buffer as a
 * RESP command, after a #TS annotation when aof-timestamp-enabled and the second changed.
 * server.c adds it to the journal while the log is open. */
journal_sink *aof_sink(void);
/* Writes the buffer (and fsyncs with always). Run before replies are flushed. */
void aof_before_reply(void);
/* Once per cron tick: everysec fsync, retry of a failed write, fsync errors. */
void aof_cron(int64_t now_ms);
/* WAITAOF: the replication offset up to which the log is fsynced, -1 while it is off (or
 * waits for its first rewrite). server.c sets aof_repl_offset to the offset the records
 * given to the log reach (repl_processed_offset). */
long long aof_fsynced_offset(void);
extern uint64_t (*aof_repl_offset)(void);
/* Writes the buffer and fsyncs on the loop (shutdown). Returns 0 or -1. */
int aof_flush_sync(void);

/* ---- compaction ---- */
/* In the parent, before fork: flush and switch to a new increment. Returns 0 or -1. With
 * the log off (BGREWRITEAOF, as Redis) it only makes sure the directory exists. */
int aof_rewrite_prepare(int64_t now_ms);
/* In the child: writes the base to its temp name; returns the exit status (0 ok). */
int aof_rewrite_child(int64_t now_ms);
/* In the parent, after the child exited (ok = success). After a rewrite with the log off,
 * installs the base alone under a new manifest (the older files are removed), a log that a
 * start with appendonly yes loads and continues. */
void aof_rewrite_done(int ok, int child_pid, int64_t now_ms);
/* The temp name of the child's base (for cleanup of a killed child). */
void aof_rewrite_temp_path(char *out, size_t cap, int child_pid);
/* 1 if an automatic rewrite is due (auto-aof-rewrite-percentage / -min-size). */
int aof_rewrite_due(void);

/* ---- status ---- */
/* errno of the last failed write or fsync (0 when the last write succeeded). */
int aof_last_write_errno(void);
/* Appends the aof_* INFO fields that Redis shows when the log is on. */
void aof_info(buf *b);
/* Bytes allocated for records not yet written (INFO mem_aof_buffer; not counted against
 * maxmemory). */
size_t aof_buffered(void);

#endif
