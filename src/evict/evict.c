/* evict: maxmemory and the eviction policies (Redis's evict.c, on Mayfly's keyspace).
 *
 * Before each command the server's OOM gate calls evict_perform. Memory is mem_used()
 * (jemalloc's per-thread counters: a few loads) less the buffers registered as not
 * counted. Under the limit that is all. Over it, the policy picks keys one at a time and
 * db_evict deletes each (the hooks publish "evicted", write DEL to the journal, touch
 * WATCH), until the bytes freed cover the excess measured at the start:
 *
 *     used - not_counted > maxmemory ──▶ pick ──▶ db_evict ──▶ freed += drop in mem_used
 *                                          ▲                         │
 *                                          └── every 16 keys: time left? (tenacity) ◀─┘
 *
 * Picking (Redis's approximated LRU/LFU/TTL): every database contributes maxmemory-samples
 * keys (db_sample, or db_sample_volatile among keys with a TTL) to a pool of the 16 best
 * candidates kept across calls, ordered by score (idle seconds, 255 - LFU counter, or the
 * inverse of the deadline); the best candidate that still exists is evicted. The pool
 * keeps key names, not pointers (keys come and go between calls), and is emptied when the
 * policy changes. Random policies take db_random_entry / db_random_volatile from the
 * databases in turn. Mayfly's volatile-soonest samples nothing: it takes the owner of the
 * earliest deadline from each database's expiry index and evicts the key, or, when a hash
 * field's deadline is the earliest, that one field (db_evict_field).
 *
 * Bounded: maxmemory-eviction-tenacity gives the time one call may spend (50 us per step
 * up to 10, then +15% per step, unlimited at 100). When it runs out, evict_pending asks
 * the server to call again from its loop, between clients, until memory is under the
 * limit or nothing is left to evict; meanwhile commands run (EVICT_RUNNING is not a
 * refusal). When nothing may be evicted, deny-oom commands are refused (EVICT_FAIL),
 * after a short wait if the lazy-free thread still has memory to give back. */
#include "mayfly/evict/evict.h"

#include "evict/evict_int.h"
#include "mayfly/config.h"
#include "mayfly/evict/lazyfree.h"
#include "mayfly/types/string.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

evict_config evict_conf = {
    .samples = 5,
    .tenacity = 10,
    .lfu_log_factor = 10,
    .lfu_decay_time = 1,
};
evict_stats evict_stat;
int evict_pending;
int evict_oom_at_start;
int evict_armed;

static evict_host host;

static size_t (*uncounted[EVICT_UNCOUNTED_KINDS])(void);
static size_t startup_memory, peak_memory;

#define POOL_SIZE 16
#define POOL_KEY_CACHE 255
#define SAMPLES_MAX 64

/* A candidate: the key's name (in cached when it fits, else in its own allocation). */
typedef struct candidate {
    unsigned long long score; /* higher: evict sooner */
    int dbid;
    size_t klen;
    char *key;    /* NULL: empty slot */
    char *cached; /* this slot's reusable buffer of POOL_KEY_CACHE bytes */
} candidate;

static candidate pool[POOL_SIZE]; /* ascending score; empty slots at the end */
static int pool_policy = -1;      /* the policy the pool was filled for */

int evict_policy_is_lfu(int policy) {
    return policy == EVICT_ALLKEYS_LFU || policy == EVICT_VOLATILE_LFU;
}

int evict_policy_is_lru(int policy) {
    return policy == EVICT_ALLKEYS_LRU || policy == EVICT_VOLATILE_LRU;
}

static int policy_is_allkeys(int policy) {
    return policy == EVICT_ALLKEYS_LRU || policy == EVICT_ALLKEYS_LFU ||
           policy == EVICT_ALLKEYS_RANDOM;
}

void evict_set_host(const evict_host *h) {
    host = *h;
}

/* ---- what is counted ---- */

void evict_set_uncounted(enum evict_uncounted kind, size_t (*bytes)(void)) {
    uncounted[kind] = bytes;
}

size_t evict_uncounted(enum evict_uncounted kind) {
    return uncounted[kind] ? uncounted[kind]() : 0;
}

size_t evict_not_counted(void) {
    size_t n = 0;
    for (int i = 0; i < EVICT_UNCOUNTED_KINDS; i++)
        n += evict_uncounted((enum evict_uncounted)i);
    return n;
}

size_t evict_used_memory(void) {
    size_t used = mem_used(), out = evict_not_counted();
    return used > out ? used - out : 0;
}

/* Bytes over the limit, 0 when under it (Redis's getMaxmemoryState). */
static size_t excess(void) {
    size_t max = (size_t)config.maxmemory;
    if (max == 0) return 0;
    size_t used = mem_used();
    if (used <= max) return 0;
    size_t out = evict_not_counted();
    used = used > out ? used - out : 0;
    return used > max ? used - max : 0;
}

int evict_over_after(size_t more) {
    size_t max = (size_t)config.maxmemory;
    if (max == 0) return 0;
    if (mem_used() + more <= max) return 0;
    return evict_used_memory() + more > max;
}

#define TABLE_MAX_LOAD 1.618

int evict_table_may_grow(size_t more_bytes, double load) {
    return load > TABLE_MAX_LOAD || !evict_over_after(more_bytes);
}

/* ---- memory figures ---- */

void evict_mark_startup(void) {
    startup_memory = mem_used();
    evict_sample_peak();
}

size_t evict_startup_memory(void) {
    return startup_memory;
}

void evict_sample_peak(void) {
    size_t used = mem_used();
    if (used > peak_memory) peak_memory = used;
}

size_t evict_memory_peak(void) {
    evict_sample_peak();
    return peak_memory;
}

/* ---- statistics ---- */

static void note_result(int result) {
    if (result != EVICT_OK) {
        if (evict_stat.exceeded_since_us == 0) evict_stat.exceeded_since_us = clock_mono_us();
    } else if (evict_stat.exceeded_since_us != 0) {
        evict_stat.exceeded_total_us += clock_mono_us() - evict_stat.exceeded_since_us;
        evict_stat.exceeded_since_us = 0;
    }
}

long long evict_exceeded_current_ms(void) {
    if (evict_stat.exceeded_since_us == 0) return 0;
    return (clock_mono_us() - evict_stat.exceeded_since_us) / 1000;
}

long long evict_exceeded_total_ms(void) {
    long long cur =
        evict_stat.exceeded_since_us ? clock_mono_us() - evict_stat.exceeded_since_us : 0;
    return (evict_stat.exceeded_total_us + cur) / 1000;
}

void evict_reset_stats(void) {
    peak_memory = 0;
    evict_sample_peak();
    evict_stat.exceeded_total_us = 0;
    evict_stat.evicted_clients = 0;
    if (evict_stat.exceeded_since_us) evict_stat.exceeded_since_us = clock_mono_us();
}

/* ---- the pool ---- */

static void pool_clear(void) {
    for (int i = 0; i < POOL_SIZE; i++) {
        if (!pool[i].cached) pool[i].cached = mem_alloc(POOL_KEY_CACHE);
        if (pool[i].key && pool[i].key != pool[i].cached) mem_free(pool[i].key);
        pool[i].key = NULL;
        pool[i].score = 0;
    }
}

/* The candidate's score under the policy: the higher, the sooner it goes. */
static unsigned long long score_of(const dbentry *e, int policy, int64_t now_ms) {
    if (evict_policy_is_lru(policy))
        return (unsigned long long)evict_idle_seconds(db_entry_lru(e), now_ms);
    if (evict_policy_is_lfu(policy))
        return 255ull - (unsigned long long)evict_lfu_freq(db_entry_lru(e), now_ms);
    /* volatile-ttl: the sooner the deadline, the better. */
    return ULLONG_MAX - (unsigned long long)db_entry_expire(e);
}

/* Makes room at the place of a candidate scoring `score`; returns its slot, or -1 when the
 * pool is full of better candidates. */
static int pool_slot_for(unsigned long long score) {
    int k = 0;
    while (k < POOL_SIZE && pool[k].key && pool[k].score < score)
        k++;
    if (k == 0 && pool[POOL_SIZE - 1].key) return -1;
    if (k < POOL_SIZE && !pool[k].key) return k;
    if (!pool[POOL_SIZE - 1].key) {
        /* Room on the right: shift k.. one place right; the empty last slot's buffer moves
         * to k. */
        char *cached = pool[POOL_SIZE - 1].cached;
        memmove(pool + k + 1, pool + k, sizeof(pool[0]) * (size_t)(POOL_SIZE - k - 1));
        pool[k].cached = cached;
        pool[k].key = NULL;
        return k;
    }
    /* Full: the worst (leftmost) candidate goes, 1..k-1 shift left, insert at k-1. */
    k--;
    char *cached = pool[0].cached;
    if (pool[0].key != pool[0].cached) mem_free(pool[0].key);
    memmove(pool, pool + 1, sizeof(pool[0]) * (size_t)k);
    pool[k].cached = cached;
    pool[k].key = NULL;
    return k;
}

static void pool_put(int k, const dbentry *e, int dbid, unsigned long long score) {
    candidate *c = &pool[k];
    slice key = dbentry_key(e);
    c->key = key.len <= POOL_KEY_CACHE ? c->cached : mem_alloc(key.len ? key.len : 1);
    if (key.len) memcpy(c->key, key.p, key.len);
    c->klen = key.len;
    c->dbid = dbid;
    c->score = score;
}

/* Samples one database into the pool; returns the number of keys sampled. */
static size_t pool_populate(db *d, int policy, int64_t now_ms) {
    dbentry *samples[SAMPLES_MAX];
    size_t want = (size_t)evict_conf.samples;
    if (want > SAMPLES_MAX) want = SAMPLES_MAX;
    if (want < 1) want = 1;
    size_t n = policy_is_allkeys(policy) ? db_sample(d, samples, want)
                                         : db_sample_volatile(d, samples, want);
    for (size_t i = 0; i < n; i++) {
        unsigned long long score = score_of(samples[i], policy, now_ms);
        int k = pool_slot_for(score);
        if (k >= 0) pool_put(k, samples[i], d->id, score);
    }
    return n;
}

/* Takes the best candidate that still exists (and, for a volatile policy, still has a
 * TTL) out of the pool; NULL when every candidate is gone. */
static dbentry *pool_take_best(int policy, db **where) {
    for (int k = POOL_SIZE - 1; k >= 0; k--) {
        candidate *c = &pool[k];
        if (!c->key) continue;
        dbentry *e = NULL;
        if (c->dbid < db_count()) e = db_find_raw(db_get(c->dbid), (slice){c->key, c->klen});
        if (e && !policy_is_allkeys(policy) && db_entry_expire(e) == 0) e = NULL;
        *where = c->dbid < db_count() ? db_get(c->dbid) : NULL;
        if (c->key != c->cached) mem_free(c->key);
        c->key = NULL;
        c->score = 0;
        if (e) return e;
    }
    return NULL;
}

/* Bounds the repopulations of one pick: a volatile sample can come back empty by chance
 * while keys with a TTL exist. */
#define PICK_ROUNDS_MAX 64

/* The next key the sampled policies evict, or NULL when there is none. */
static dbentry *pick_sampled(int policy, int64_t now_ms, db **where) {
    if (pool_policy != policy) {
        pool_clear();
        pool_policy = policy;
    }
    for (int round = 0; round < PICK_ROUNDS_MAX; round++) {
        size_t total = 0;
        for (int i = 0; i < db_count(); i++) {
            db *d = db_get(i);
            size_t keys = policy_is_allkeys(policy) ? db_size(d) : db_volatile_count(d);
            if (keys == 0) continue;
            total += keys;
            pool_populate(d, policy, now_ms);
        }
        if (total == 0) return NULL;
        dbentry *e = pool_take_best(policy, where);
        if (e) return e;
    }
    return NULL;
}

/* The next key the random policies evict: the databases in turn. */
static dbentry *pick_random(int policy, db **where) {
    static unsigned next_db;
    for (int i = 0; i < db_count(); i++) {
        db *d = db_get((int)(++next_db % (unsigned)db_count()));
        dbentry *e = policy == EVICT_ALLKEYS_RANDOM ? db_random_entry(d) : db_random_volatile(d);
        if (e) {
            *where = d;
            return e;
        }
    }
    return NULL;
}

/* ---- volatile-soonest ---- */

/* Evicts what expires soonest in any database (Mayfly's volatile-soonest): the owner of the
 * earliest deadline of each database's expiry index, exactly, no sampling. A key whose TTL
 * comes first goes whole; else its hash's earliest field goes alone (db_evict_field).
 * Returns 0 when nothing has a deadline. */
static int evict_soonest(void) {
    db *best_db = NULL;
    dbentry *best = NULL;
    int64_t best_when = 0;
    for (int i = 0; i < db_count(); i++) {
        int64_t when;
        dbentry *e = db_soonest(db_get(i), &when);
        if (e && (!best || when < best_when)) {
            best = e;
            best_db = db_get(i);
            best_when = when;
        }
    }
    if (!best) return 0;
    if (db_entry_expire(best) != 0 && db_entry_expire(best) <= best_when)
        db_evict(best_db, best);
    else
        db_evict_field(best_db, best);
    return 1;
}

/* ---- evicting ---- */

/* Evicts one key (or, under volatile-soonest, possibly one hash field) by the policy;
 * returns 0 when nothing may be evicted. */
static int evict_one(int policy, int64_t now_ms) {
    if (policy == EVICT_VOLATILE_SOONEST) return evict_soonest();
    db *d = NULL;
    dbentry *e = policy == EVICT_ALLKEYS_RANDOM || policy == EVICT_VOLATILE_RANDOM
                     ? pick_random(policy, &d)
                     : pick_sampled(policy, now_ms, &d);
    if (!e) return 0;
    db_evict(d, e);
    return 1;
}

/* maxmemory-eviction-tenacity as a time limit (Redis's evictionTimeLimitUs). */
static int64_t time_limit_us(void) {
    int t = evict_conf.tenacity;
    if (t <= 10) return 50 * (int64_t)t;
    if (t < 100) return (int64_t)(500.0 * pow(1.15, t - 10.0));
    return INT64_MAX;
}

static int may_evict(void) {
    return !host.may_evict || host.may_evict();
}

/* Ran out of evictable keys: if the lazy-free thread still has memory to give back, waits
 * for it a little (at most the time limit) before answering FAIL. */
static int wait_for_lazyfree(int64_t start_us, int64_t limit_us) {
    while (lazyfree_pending() && clock_mono_us() - start_us < limit_us) {
        if (excess() == 0) return EVICT_OK;
        int64_t us = limit_us < 1000 ? limit_us : 1000;
        struct timespec ts = {0, (long)us * 1000};
        nanosleep(&ts, NULL);
    }
    return EVICT_FAIL;
}

int evict_perform(int64_t now_ms) {
    if (!may_evict()) return EVICT_OK;
    size_t tofree = excess();
    if (tofree == 0) {
        evict_pending = 0;
        note_result(EVICT_OK);
        return EVICT_OK;
    }
    int policy = config.maxmemory_policy;
    if (policy == EVICT_NOEVICTION) {
        evict_pending = 0;
        note_result(EVICT_FAIL);
        return EVICT_FAIL;
    }
    int64_t limit = time_limit_us(), start = clock_mono_us();
    long long freed = 0, keys = 0;
    int result = EVICT_OK;
    while (freed < (long long)tofree) {
        size_t before = mem_used();
        if (!evict_one(policy, now_ms)) {
            result = wait_for_lazyfree(start, limit);
            break;
        }
        freed += (long long)before - (long long)mem_used();
        if (++keys % 16 != 0) continue;
        /* A value freed on the lazy thread is not in `freed`: check the real figure. */
        if (evict_conf.lazy_eviction && excess() == 0) break;
        if (clock_mono_us() - start > limit) {
            evict_pending = 1;
            break;
        }
    }
    /* Done: nothing left to evict, or the excess measured at the start is freed. */
    if (result == EVICT_FAIL || freed >= (long long)tofree) evict_pending = 0;
    if (result == EVICT_OK && evict_pending) result = EVICT_RUNNING;
    note_result(result);
    return result;
}

/* ---- configuration ---- */

void evict_config_changed(void) {
    int policy = config.maxmemory_policy;
    armed_set(&evict_armed, config.maxmemory != 0);
    if (evict_policy_is_lfu(policy))
        db_set_access_clock(evict_lfu_touch, evict_lfu_new);
    else
        db_set_access_clock(NULL, NULL);
    /* Redis stops sharing small integers when each value needs its own access clock. */
    string_share_ints =
        !(config.maxmemory && (evict_policy_is_lru(policy) || evict_policy_is_lfu(policy)));
    if (pool_policy != policy) {
        pool_clear();
        pool_policy = policy;
    }
    if (!config.maxmemory) {
        evict_pending = 0;
        note_result(EVICT_OK);
        return;
    }
    size_t used = evict_used_memory();
    if ((size_t)config.maxmemory < used) {
        log_warning("WARNING: the new maxmemory value set via CONFIG SET (%llu) is smaller than "
                    "the current memory usage (%zu). This will result in key eviction and/or the "
                    "inability to accept new write commands depending on the maxmemory-policy.",
                    (unsigned long long)config.maxmemory, used);
    }
    /* Redis starts its eviction time event whenever maxmemory is set: the loop then
     * evicts down to the new limit without waiting for a command. */
    evict_pending = 1;
}

/* ---- directives ---- */

static int apply_changed(const char **err) {
    (void)err;
    evict_config_changed();
    return 0;
}

/* The order Redis lists the policies in its "must be one of" error; Mayfly's own last. */
static const char *const policy_shown[] = {
    "volatile-lru", "volatile-lfu",   "volatile-random", "volatile-ttl",     "allkeys-lru",
    "allkeys-lfu",  "allkeys-random", "noeviction",      "volatile-soonest", NULL};

#define EVICT_INT_ROW(n, p, lo, hi, d, fn)                                                         \
    {                                                                                              \
        .name = (n), .kind = CONFIG_INT, .ptr = (p), .min = (lo), .max = (hi), .def = (d),         \
        .apply = (fn)                                                                              \
    }

const config_row evict_config_rows[] = {
    {.name = "maxmemory",
     .kind = CONFIG_MEM,
     .ptr = &config.maxmemory,
     .max = LLONG_MAX,
     .def = "0",
     .apply = apply_changed},
    {.name = "maxmemory-policy",
     .kind = CONFIG_ENUM,
     .ptr = &config.maxmemory_policy,
     .names = config_policy_names,
     .shown = policy_shown,
     .def = "noeviction",
     .apply = apply_changed},
    EVICT_INT_ROW("maxmemory-samples", &evict_conf.samples, 1, SAMPLES_MAX, "5", NULL),
    EVICT_INT_ROW("maxmemory-eviction-tenacity", &evict_conf.tenacity, 0, 100, "10", NULL),
    EVICT_INT_ROW("lfu-log-factor", &evict_conf.lfu_log_factor, 0, INT_MAX, "10", apply_changed),
    EVICT_INT_ROW("lfu-decay-time", &evict_conf.lfu_decay_time, 0, INT_MAX, "1", apply_changed),
    {.name = "maxmemory-clients",
     .kind = CONFIG_SPECIAL,
     .def = "0",
     .parse = evict_parse_maxmemory_clients,
     .print = evict_print_maxmemory_clients},
    CONFIG_BOOL_ROW("lazyfree-lazy-eviction", &evict_conf.lazy_eviction, "no"),
    CONFIG_BOOL_ROW("lazyfree-lazy-expire", &evict_conf.lazy_expire, "no"),
    CONFIG_BOOL_ROW("lazyfree-lazy-server-del", &evict_conf.lazy_server_del, "no"),
    CONFIG_BOOL_ROW("lazyfree-lazy-user-del", &evict_conf.lazy_user_del, "no"),
    CONFIG_BOOL_ROW("lazyfree-lazy-user-flush", &evict_conf.lazy_user_flush, "no"),
    {0},
};
