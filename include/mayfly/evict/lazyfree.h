/* lazyfree: freeing big values and whole databases on a background thread (UNLINK,
 * FLUSHALL ASYNC, the lazyfree-lazy-* directives), so the loop does not stall on a hash of
 * millions of fields. The thread only frees memory: it never looks at the keyspace, whose
 * values it gets once they are unlinked and owned by nobody. See src/evict/lazyfree.c. */
#ifndef MAYFLY_EVICT_LAZYFREE_H
#define MAYFLY_EVICT_LAZYFREE_H

#include "mayfly/db/db.h"
#include "mayfly/types/object.h"

#include <stddef.h>

/* Values that take more allocations than this to free go to the thread (Redis's
 * LAZYFREE_THRESHOLD); smaller ones are freed at once, which is cheaper. */
#define LAZYFREE_THRESHOLD 64

/* Starts the thread (server start-up). Until it runs, everything is freed at once. */
void lazyfree_start(void);
/* Lets the thread finish what is queued and joins it (shutdown, tests). */
void lazyfree_stop(void);

/* Allocations freeing val takes: the fields of a hashtable hash, else 1 (Redis's
 * lazyfreeGetFreeEffort). */
size_t lazyfree_effort(const obj *val);
/* Frees val (owned, unlinked from everything): on the thread when it is big, else now. */
void lazyfree_value(obj *val);
/* Frees a database's detached contents (owned) on the thread; at once if it is not
 * running. */
void lazyfree_db(db_detached *x);
/* The value freer server.c installs in db/ (db_set_value_freer): frees lazily or at once
 * by the reason and the lazyfree-lazy-* directives (UNLINK always lazily). */
void lazyfree_db_freer(obj *val, enum db_free_why why);

/* INFO memory: objects queued and not yet freed (lazyfree_pending_objects), and objects the
 * thread freed (lazyfreed_objects, reset by CONFIG RESETSTAT). A database counts one per
 * key, as in Redis. */
size_t lazyfree_pending(void);
size_t lazyfree_freed(void);
void lazyfree_reset_stats(void);

#endif
