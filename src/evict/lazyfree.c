/* lazyfree: one background thread that frees what the loop hands it (Redis's bio lazy-free
 * job type).
 *
 *     loop: lazyfree_value(v) ──▶ jobs (FIFO, mutex) ──▶ thread: obj_free(v), pending--,
 *           lazyfree_db(x)                                        freed++
 *
 * Only memory crosses over: a job holds a value or a database's detached contents that no
 * one else references any more, and freeing them calls nothing but the allocator, so the
 * thread needs no access to the keyspace or any lock besides the queue's (a util/worker).
 * The thread registers with util/mem, so the bytes it frees leave mem_used (and maxmemory
 * sees them go) as it works; after a whole database it returns its cache and purges, as
 * Redis does.
 *
 * Counting follows Redis: pending is raised when a job is queued and lowered when it is
 * done, by 1 per value and by the number of keys for a database. */
#include "mayfly/evict/lazyfree.h"

#include "mayfly/evict/evict.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/worker.h"

#include <stdatomic.h>

typedef struct job {
    worker_job wj;   /* first: the thread's queue entry */
    obj *val;        /* a value, or */
    db_detached *db; /* a database's contents */
    size_t count;    /* what it counts for in pending / freed */
} job;

static worker freer;
static _Atomic size_t pending, freed;

/* On the thread. */
static void run_job(worker_job *wj) {
    job *j = (job *)wj;
    if (j->val) {
        obj_free(j->val);
    } else {
        db_detached_free(j->db);
        mem_flush_thread_cache();
        mem_purge();
    }
    atomic_fetch_sub(&pending, j->count);
    atomic_fetch_add(&freed, j->count);
    mem_free(j);
}

void lazyfree_start(void) {
    worker_start(&freer);
}

void lazyfree_stop(void) {
    worker_stop(&freer, NULL); /* what is queued is freed first */
}

/* Only while the thread runs (checked by the caller, on the loop thread, which is the
 * one that stops it). */
static void submit(obj *val, db_detached *x, size_t count) {
    job *j = mem_alloc(sizeof(*j));
    j->wj.run = run_job;
    j->val = val;
    j->db = x;
    j->count = count;
    atomic_fetch_add(&pending, count);
    worker_submit(&freer, &j->wj);
}

size_t lazyfree_effort(const obj *val) {
    if (val->type == OBJ_HASH && val->enc == ENC_HASHTABLE) return hash_stored((const hash *)val);
    return 1;
}

void lazyfree_value(obj *val) {
    if (!val) return;
    if (worker_running(&freer) && lazyfree_effort(val) > LAZYFREE_THRESHOLD)
        submit(val, NULL, 1);
    else
        obj_free(val);
}

void lazyfree_db(db_detached *x) {
    if (!x) return;
    if (worker_running(&freer))
        submit(NULL, x, db_detached_size(x));
    else
        db_detached_free(x);
}

void lazyfree_db_freer(obj *val, enum db_free_why why) {
    int lazy = 0;
    switch (why) {
    case DB_FREE_SERVER:
        lazy = evict_conf.lazy_server_del;
        break;
    case DB_FREE_USER:
        lazy = evict_conf.lazy_user_del;
        break;
    case DB_FREE_UNLINK:
        lazy = 1;
        break;
    case DB_FREE_EXPIRE:
        lazy = evict_conf.lazy_expire;
        break;
    case DB_FREE_EVICT:
        lazy = evict_conf.lazy_eviction;
        break;
    }
    if (lazy)
        lazyfree_value(val);
    else
        obj_free(val);
}

size_t lazyfree_pending(void) {
    return atomic_load(&pending);
}

size_t lazyfree_freed(void) {
    return atomic_load(&freed);
}

void lazyfree_reset_stats(void) {
    atomic_store(&freed, 0);
}
