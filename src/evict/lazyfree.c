/* lazyfree: one background thread that frees what the loop hands it (Redis's bio lazy-free
 * job type).
 *
 *     loop: lazyfree_value(v) ──▶ jobs (FIFO, mutex) ──▶ thread: obj_free(v), pending--,
 *           lazyfree_db(x)                                        freed++
 *
 * Only memory crosses over: a job holds a value or a database's detached contents that no
 * one else references any more, and freeing them calls nothing but the allocator, so the
 * thread needs no access to the keyspace or any lock besides the queue's. The thread
 * registers with util/mem, so the bytes it frees leave mem_used (and maxmemory sees them
 * go) as it works; after a whole database it returns its cache and purges, as Redis does.
 *
 * Counting follows Redis: pending is raised when a job is queued and lowered when it is
 * done, by 1 per value and by the number of keys for a database. */
#include "mayfly/evict/lazyfree.h"

#include "mayfly/evict/evict.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/mem.h"

#include <stdatomic.h>
#include <uv.h>

typedef struct job {
    obj *val;        /* a value, or */
    db_detached *db; /* a database's contents */
    size_t count;    /* what it counts for in pending / freed */
    struct job *next;
} job;

static uv_thread_t thread;
static uv_mutex_t lock;
static uv_cond_t wake;
static job *head, *tail;
static int running, stopping;
static _Atomic size_t pending, freed;

static job *next_job(void) {
    uv_mutex_lock(&lock);
    while (!head && !stopping)
        uv_cond_wait(&wake, &lock);
    job *j = head;
    if (j) {
        head = j->next;
        if (!head) tail = NULL;
    }
    uv_mutex_unlock(&lock);
    return j;
}

static void run(void *arg) {
    (void)arg;
    mem_thread_register();
    for (job *j; (j = next_job());) {
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
    mem_thread_unregister();
}

void lazyfree_start(void) {
    if (running) return;
    uv_mutex_init(&lock);
    uv_cond_init(&wake);
    stopping = 0;
    if (uv_thread_create(&thread, run, NULL) != 0) {
        uv_cond_destroy(&wake);
        uv_mutex_destroy(&lock);
        return;
    }
    running = 1;
}

void lazyfree_stop(void) {
    if (!running) return;
    uv_mutex_lock(&lock);
    stopping = 1;
    uv_cond_signal(&wake);
    uv_mutex_unlock(&lock);
    uv_thread_join(&thread);
    uv_cond_destroy(&wake);
    uv_mutex_destroy(&lock);
    running = 0;
}

static void submit(obj *val, db_detached *x, size_t count) {
    job *j = mem_alloc(sizeof(*j));
    j->val = val;
    j->db = x;
    j->count = count;
    j->next = NULL;
    atomic_fetch_add(&pending, count);
    uv_mutex_lock(&lock);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    uv_cond_signal(&wake);
    uv_mutex_unlock(&lock);
}

size_t lazyfree_effort(const obj *val) {
    if (val->type == OBJ_HASH && val->enc == ENC_HASHTABLE) return hash_stored((const hash *)val);
    return 1;
}

void lazyfree_value(obj *val) {
    if (!val) return;
    if (running && lazyfree_effort(val) > LAZYFREE_THRESHOLD)
        submit(val, NULL, 1);
    else
        obj_free(val);
}

void lazyfree_db(db_detached *x) {
    if (!x) return;
    if (running)
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
