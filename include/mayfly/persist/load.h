/* load: reading the dataset at start-up, in slices.
 *
 * With appendonly yes the dataset comes from the log's manifest (its base, then every
 * increment replayed command by command); if there is no manifest yet, from the snapshot,
 * as with appendonly no (a Redis 6 appendonly.aof in dir is moved into the log directory
 * first, as Redis 7 does). A slice does about budget_us of work, so the server can answer
 * -LOADING in between.
 *
 * Replay runs each command through the command layer (the replay callback, supplied by the
 * server) with nothing expiring, as Redis loads a log. Keys and fields that expired while
 * the server was down are dropped: a snapshot's at once, a log's by lazy and active expiry
 * as soon as loading is over, before anything can read them.
 *
 * A truncated last record of the last increment is cut off with a warning (when
 * aof-load-truncated is yes); any other damage stops the start with a message naming the
 * file and offset. */
#ifndef MAYFLY_PERSIST_LOAD_H
#define MAYFLY_PERSIST_LOAD_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* Runs one logged command at time_ms in database dbid (-1: the database the previous
 * command left the replaying session in; RESP logs carry SELECT commands). time_ms is 0 for
 * RESP logs: nothing expires while they replay. Returns 0, 1 if the command replied an error
 * (counted, loading goes on), or -1 if it is unknown (loading stops). */
typedef int load_replay_fn(int dbid, int64_t time_ms, int argc, slice *argv);

enum {
    LOAD_DONE = 0,
    LOAD_MORE = 1,
    LOAD_FAILED = -1, /* logged; the server must not start */
};

/* Chooses the source and opens it. Returns LOAD_MORE, LOAD_DONE (nothing to load) or
 * LOAD_FAILED. */
int load_begin(int64_t now_ms, load_replay_fn *replay);
/* Loads for about budget_us. Returns LOAD_MORE, LOAD_DONE or LOAD_FAILED. */
int load_step(int64_t budget_us);
/* 1 if the dataset came from the log's manifest (aof_open reopens its last increment). */
int load_used_manifest(void);
/* 1 if it came from a snapshot in Mayfly 0.1's format (persist converts it to RDB). */
int load_was_legacy_snapshot(void);
/* 1 if a file of the log was in Mayfly 0.1's format (aof_open writes a new log). */
int load_needs_rewrite(void);
/* Appends the loading_* INFO fields (while loading). */
void load_info(buf *b, int64_t now_ms);
/* Keys loaded / dropped as expired by the last snapshot load (INFO rdb_last_load_*). */
long long load_keys_loaded(void);
long long load_keys_expired(void);

#endif
