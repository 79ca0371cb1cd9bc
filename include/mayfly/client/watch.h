/* watch: WATCHed keys (client/watch.c).
 *
 * A session watches keys of a database; any change the db hooks report for such a key
 * (write, deletion, expiry, FLUSHDB/FLUSHALL/SWAPDB) marks every watching session
 * SESS_DIRTY_CAS, so its EXEC answers a nil array. A key already expired when watched
 * counts as absent: its deletion changes nothing, a key live when watched that has
 * expired by EXEC counts as changed (watch_expired_since). The table and its db hooks are
 * installed by the first watch_add. */
#ifndef MAYFLY_CLIENT_WATCH_H
#define MAYFLY_CLIENT_WATCH_H

#include "mayfly/client/session.h"
#include "mayfly/db/db.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* s watches key in database d (WATCH); now_ms tells whether it is already expired.
 * Watching a key twice is one watch. */
void watch_add(session *s, db *d, slice key, int64_t now_ms);
/* s watches nothing any more (UNWATCH, EXEC, DISCARD, RESET, session end). */
void watch_clear(session *s);
/* 1 if a key s watched while it was live has expired by now_ms (Redis's
 * isWatchedKeyExpired, checked by EXEC). */
int watch_expired_since(const session *s, int64_t now_ms);
/* Keys s watches (CLIENT LIST watch=). */
size_t watch_count(const session *s);
/* Bytes s's watch list costs (its watchers and their array; the watched key names are
 * shared, not counted: Redis's multiStateMemOverhead). */
size_t watch_session_memory(const session *s);

#endif
