/* Unit tests for evict/: the LFU clock arithmetic, evict_perform against a keyspace in
 * this process (policies, noeviction, volatile keys only, the time limit), mem_used across
 * threads and the lazy-free thread. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/evict/lazyfree.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/mem.h"
#include "unit/test.h"

#include <stdio.h>
#include <time.h>

#define MINUTE 60000LL
#define T0 (1700000000LL * 1000) /* a fixed "now" */

TEST(lfu_counter_arithmetic) {
    evict_conf.lfu_log_factor = 0; /* every access counts */
    evict_conf.lfu_decay_time = 0;
    uint32_t c = evict_lfu_new(0, T0);
    ASSERT_EQ(5, evict_lfu_freq(c, T0));
    for (int i = 0; i < 10; i++)
        c = evict_lfu_touch(c, T0);
    ASSERT_EQ(15, evict_lfu_freq(c, T0));
    for (int i = 0; i < 300; i++)
        c = evict_lfu_touch(c, T0);
    ASSERT_EQ(255, evict_lfu_freq(c, T0)); /* saturates */
    /* One point per lfu-decay-time minutes without access, applied when read. */
    evict_conf.lfu_decay_time = 2;
    ASSERT_EQ(255, evict_lfu_freq(c, T0 + MINUTE));
    ASSERT_EQ(250, evict_lfu_freq(c, T0 + 10 * MINUTE));
    ASSERT_EQ(0, evict_lfu_freq(c, T0 + 1000 * MINUTE));
    /* An access applies the decay, then counts. */
    c = evict_lfu_touch(c, T0 + 10 * MINUTE);
    ASSERT_EQ(251, evict_lfu_freq(c, T0 + 10 * MINUTE));
    /* With the default factor, counting slows down: 1000 accesses stay far below 255. */
    evict_conf.lfu_log_factor = 10;
    evict_conf.lfu_decay_time = 0;
    c = evict_lfu_new(0, T0);
    for (int i = 0; i < 1000; i++)
        c = evict_lfu_touch(c, T0);
    int f = evict_lfu_freq(c, T0);
    ASSERT(f > 10 && f < 40);
    evict_conf.lfu_log_factor = 10;
    evict_conf.lfu_decay_time = 1;
}

TEST(idle_seconds) {
    ASSERT_EQ(0, evict_idle_seconds((uint32_t)(T0 / 1000), T0));
    ASSERT_EQ(90, evict_idle_seconds((uint32_t)(T0 / 1000), T0 + 90500));
    ASSERT_EQ(0, evict_idle_seconds((uint32_t)(T0 / 1000) + 5, T0)); /* clock moved back */
}

static void add_string(db *d, const char *key, size_t size, int64_t expire_ms) {
    char bytes[4096];
    memset(bytes, 'v', sizeof(bytes));
    string *s = string_new(bytes, size < sizeof(bytes) ? size : sizeof(bytes));
    dbentry *e = db_add(d, slice_of(key), &s->hdr);
    if (expire_ms) e = db_set_expire(d, e, expire_ms);
}

static void fill(db *d, const char *prefix, int n, int64_t expire_ms) {
    char key[64];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%s:%d", prefix, i);
        add_string(d, key, 1000, expire_ms);
    }
}

static int count_prefix(db *d, const char *prefix, int n) {
    char key[64];
    int found = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%s:%d", prefix, i);
        found += db_find_raw(d, slice_of(key)) != NULL;
    }
    return found;
}

static void setup(int policy) {
    db_init_all(2);
    config.maxmemory = 0;
    config.maxmemory_policy = policy;
    evict_conf.tenacity = 100;
    evict_config_changed();
}

TEST(noeviction_fails_without_evicting) {
    setup(EVICT_NOEVICTION);
    fill(db_get(0), "k", 100, 0);
    config.maxmemory = 1;
    evict_config_changed();
    ASSERT_EQ(EVICT_FAIL, evict_perform(T0));
    ASSERT_EQ(100, (long long)db_size(db_get(0)));
    config.maxmemory = 0;
    evict_config_changed();
    ASSERT_EQ(EVICT_OK, evict_perform(T0));
    db_free_all();
}

/* Every policy brings memory under the limit from two databases; the volatile ones touch
 * only keys with a TTL, and fail once none is left. */
TEST(policies_free_what_they_may) {
    for (int policy = EVICT_ALLKEYS_LRU; policy <= EVICT_VOLATILE_TTL; policy++) {
        setup(policy);
        size_t base = mem_used();
        fill(db_get(0), "p", 300, 0);
        fill(db_get(0), "v", 300, T0 + 1000000);
        fill(db_get(1), "w", 300, T0 + 1000000);
        size_t full = mem_used();
        config.maxmemory = (long long)(base + (full - base) / 2);
        evict_config_changed();
        int r = evict_perform(T0);
        ASSERT_EQ(EVICT_OK, r);
        ASSERT(evict_used_memory() <= (size_t)config.maxmemory);
        if (policy >= EVICT_VOLATILE_LRU) {
            ASSERT_EQ(300, count_prefix(db_get(0), "p", 300));
            /* Below what the persistent keys need: every volatile key goes, then FAIL. */
            config.maxmemory = (long long)(base + 1000);
            ASSERT_EQ(EVICT_FAIL, evict_perform(T0));
            ASSERT_EQ(300, (long long)db_size(db_get(0)));
            ASSERT_EQ(0, (long long)db_size(db_get(1)));
        }
        db_free_all();
    }
    config.maxmemory = 0;
    evict_config_changed();
}

/* A hash whose fields have TTLs but the key none is not volatile. */
TEST(field_ttls_do_not_make_a_key_volatile) {
    setup(EVICT_VOLATILE_RANDOM);
    db *d = db_get(0);
    hash *h = hash_new();
    hash_limits lim = {128, 64};
    hash_set(&h, &lim, T0, slice_of("f"), slice_of("v"), HASH_TTL_CLEAR, 0);
    hash_expire(&h, T0, slice_of("f"), T0 + 100000, 0);
    dbentry *e = db_add(d, slice_of("h"), (obj *)h);
    e = db_refile(d, e);
    ASSERT_EQ(0, (long long)db_volatile_count(d));
    ASSERT(db_random_volatile(d) == NULL);
    config.maxmemory = 1;
    ASSERT_EQ(EVICT_FAIL, evict_perform(T0));
    ASSERT(db_find_raw(d, slice_of("h")) != NULL);
    e = db_set_expire(d, e, T0 + 100000);
    ASSERT(db_random_volatile(d) == e);
    ASSERT_EQ(EVICT_FAIL, evict_perform(T0)); /* evicted it, then nothing left */
    ASSERT(db_find_raw(d, slice_of("h")) == NULL);
    config.maxmemory = 0;
    db_free_all();
}

/* With tenacity 0 one call evicts a bounded batch and leaves evict_pending for the loop. */
TEST(time_limit_leaves_the_rest_for_later) {
    setup(EVICT_ALLKEYS_RANDOM);
    size_t base = mem_used();
    fill(db_get(0), "k", 2000, 0);
    config.maxmemory = (long long)(base + 10000);
    evict_conf.tenacity = 0;
    evict_config_changed();
    ASSERT_EQ(EVICT_RUNNING, evict_perform(T0));
    ASSERT(evict_pending);
    ASSERT(db_size(db_get(0)) > 1000);
    int calls = 1;
    while (evict_pending && calls < 10000) {
        evict_perform(T0);
        calls++;
    }
    ASSERT_EQ(0, evict_pending);
    ASSERT(calls > 10);
    ASSERT(evict_used_memory() <= (size_t)config.maxmemory);
    config.maxmemory = 0;
    evict_conf.tenacity = 10;
    evict_config_changed();
    db_free_all();
}

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* The lazy-free thread frees big values; mem_used sees the memory go although another
 * thread frees it. */
TEST(lazyfree_thread_frees_and_counts) {
    lazyfree_start();
    size_t before = mem_used(), freed0 = lazyfree_freed();
    hash *h = hash_new();
    hash_limits lim = {0, 0}; /* a table from the first field */
    char f[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(f, sizeof(f), "field:%d", i);
        hash_set(&h, &lim, T0, (slice){f, (size_t)n}, slice_of("value"), HASH_TTL_CLEAR, 0);
    }
    obj *o = (obj *)h; /* a hash begins with its obj header */
    ASSERT_EQ(ENC_HASHTABLE, (long long)o->enc);
    ASSERT(lazyfree_effort(o) > LAZYFREE_THRESHOLD);
    size_t grown = mem_used();
    ASSERT(grown > before + 100000);
    lazyfree_value(o);
    for (int i = 0; i < 500 && lazyfree_pending(); i++)
        sleep_ms(10);
    ASSERT_EQ(0, (long long)lazyfree_pending());
    ASSERT_EQ((long long)freed0 + 1, (long long)lazyfree_freed());
    ASSERT(mem_used() < grown - 100000);
    /* A small value is freed at once, not counted. */
    lazyfree_value(&string_new("x", 1)->hdr);
    ASSERT_EQ((long long)freed0 + 1, (long long)lazyfree_freed());
    lazyfree_stop();
}

int main(void) {
    RUN(lfu_counter_arithmetic);
    RUN(idle_seconds);
    RUN(noeviction_fails_without_evicting);
    RUN(policies_free_what_they_may);
    RUN(field_ttls_do_not_make_a_key_volatile);
    RUN(time_limit_leaves_the_rest_for_later);
    RUN(lazyfree_thread_frees_and_counts);
    return test_report();
}
