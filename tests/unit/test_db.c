/* Unit tests for db/: the key table and its expiry against a trivial model, under random
 * operations (through table growth, shrinking and incremental rehashing), with a seed
 * printed on failure. */
#include "mayfly/db/db.h"
#include "mayfly/types/string.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"

#include <stdio.h>

#define NKEYS 3000

typedef struct model_key {
    int present;
    long long value;
    int64_t expire_ms; /* 0 = none */
} model_key;

static model_key model[NKEYS];

static slice key_of(int i, char *out) {
    int n = snprintf(out, 32, "key:%d", i);
    return (slice){out, (size_t)n};
}

static int model_live(int i, int64_t now) {
    return model[i].present && (model[i].expire_ms == 0 || model[i].expire_ms > now);
}

static long long touched;
static void count_touch(db *d, const char *key, size_t klen) {
    (void)d;
    (void)key;
    (void)klen;
    touched++;
}

TEST(random_ops_against_model) {
    uint64_t seed = 0xdb5eed;
    rand_seed(seed);
    dict_set_seed(seed);
    db_init_all(2);
    static const db_hooks hooks = {.key_touched = count_touch};
    db_hooks_add(&hooks);
    db *d = db_get(0);
    memset(model, 0, sizeof(model));
    int64_t now = 1000000;
    long long expired_before = db_stat.expired_keys;
    long long model_expired = 0;
    char kb[32];
    for (int step = 0; step < 200000; step++) {
        int i = (int)rand_below(NKEYS);
        slice k = key_of(i, kb);
        unsigned op = (unsigned)rand_below(100);
        if (op < 40) { /* SET, sometimes keeping the TTL */
            long long v = (long long)rand_u64();
            dbentry *e = db_find(d, k, now);
            if (!model_live(i, now) && model[i].present) {
                model[i].present = 0;
                model_expired++;
            }
            int keep = rand_below(4) == 0;
            db_set(d, k, &string_from_ll(v)->hdr, keep);
            (void)e;
            if (!model[i].present || !keep) model[i].expire_ms = 0;
            model[i].present = 1;
            model[i].value = v;
        } else if (op < 55) { /* DEL */
            int had = db_delete(d, k, now);
            int live = model_live(i, now);
            if (model[i].present && !live) model_expired++;
            if (had != live)
                TEST_FAIL("step %d: delete %d: db %d model %d (seed %llx)", step, i, had, live,
                          (unsigned long long)seed);
            model[i].present = 0;
        } else if (op < 75) { /* EXPIRE in the near future */
            dbentry *e = db_find(d, k, now);
            if (model[i].present && !model_live(i, now)) {
                model[i].present = 0;
                model_expired++;
            }
            if (e) {
                int64_t when = now + 1 + (int64_t)rand_below(5000);
                db_entry_done(db_set_expire(d, e, when));
                model[i].expire_ms = when;
            }
        } else if (op < 80) { /* PERSIST */
            dbentry *e = db_find(d, k, now);
            if (model[i].present && !model_live(i, now)) {
                model[i].present = 0;
                model_expired++;
            }
            if (e) {
                db_entry_done(db_set_expire(d, e, 0));
                model[i].expire_ms = 0;
            }
        } else if (op < 97) { /* GET */
            dbentry *e = db_lookup_read(d, k, now);
            int live = model_live(i, now);
            if (model[i].present && !live) {
                model[i].present = 0;
                model_expired++;
            }
            if ((e != NULL) != live)
                TEST_FAIL("step %d: find %d: db %d model %d (seed %llx)", step, i, e != NULL, live,
                          (unsigned long long)seed);
            long long v;
            if (e && (string_get_ll((string *)e->val, &v) < 0 || v != model[i].value))
                TEST_FAIL("step %d: value of %d differs", step, i);
        } else { /* time passes; sometimes an active cycle and rehash work */
            now += (int64_t)rand_below(300);
            if (rand_below(3) == 0) {
                db_active_expire(now, 1000000);
                for (int j = 0; j < NKEYS; j++)
                    if (model[j].present && !model_live(j, now)) {
                        model[j].present = 0;
                        model_expired++;
                    }
                size_t live = 0;
                for (int j = 0; j < NKEYS; j++)
                    live += model[j].present;
                if (db_size(d) != live)
                    TEST_FAIL("step %d: size %zu, model %zu (seed %llx)", step, db_size(d), live,
                              (unsigned long long)seed);
                if (expire_index_size(&d->expires) != d->keys_with_ttl)
                    TEST_FAIL("step %d: index %zu vs keys_with_ttl %zu", step,
                              expire_index_size(&d->expires), d->keys_with_ttl);
            }
            if (rand_below(2) == 0) db_rehash(100);
        }
    }
    ASSERT_EQ(model_expired, db_stat.expired_keys - expired_before);
    ASSERT(touched >= model_expired);
    db_free_all();
}

TEST(take_swap_flush) {
    db_init_all(3);
    db *a = db_get(0), *b = db_get(1);
    dbentry *e = db_add(a, slice_of("x"), &string_new("1", 1)->hdr);
    e = db_set_expire(a, e, 5000);
    ASSERT_EQ(1, a->keys_with_ttl);
    obj *v = db_take_value(a, e);
    ASSERT_EQ(0, db_size(a));
    ASSERT_EQ(0, a->keys_with_ttl);
    ASSERT_EQ(0, expire_index_size(&a->expires));
    dbentry *f = db_add(b, slice_of("y"), v);
    db_entry_done(db_set_expire(b, f, 6000));
    db_swap(a, b);
    ASSERT_EQ(0, a->id);
    ASSERT_EQ(1, b->id);
    ASSERT_EQ(1, db_size(a));
    ASSERT(db_find(a, slice_of("y"), 1000) != NULL);
    ASSERT(db_find(a, slice_of("y"), 6000) == NULL); /* expired lazily */
    ASSERT_EQ(0, db_size(a));
    db_add(b, slice_of("z"), &string_new("2", 1)->hdr);
    db_flush(b);
    ASSERT_EQ(0, db_size(b));
    buf out;
    buf_init(&out);
    db_add(db_get(2), slice_of("w"), &string_new("3", 1)->hdr);
    db_info_keyspace(&out, 1000);
    buf_putc(&out, '\0');
    ASSERT_STR_EQ("db2:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\n", out.data);
    buf_deinit(&out);
    db_free_all();
}

TEST(random_key_skips_expired) {
    db_init_all(1);
    db *d = db_get(0);
    char kb[32];
    for (int i = 0; i < 100; i++) {
        dbentry *e = db_add(d, key_of(i, kb), &string_from_ll(i)->hdr);
        if (i != 42) db_entry_done(db_set_expire(d, e, 10));
    }
    dbentry *e = db_random(d, 100);
    ASSERT(e != NULL);
    ASSERT_EQ(0, memcmp(e->key, "key:42", 6));
    db_free_all();
}

/* db_evict runs key_evicted then key_touched while the key is still readable, counts
 * evicted_keys (not expired_keys) and leaves no trace of the entry. */
static char evicted_name[32];
static int evict_calls, touch_after_evict;
static void on_evicted(db *d, const char *key, size_t klen) {
    (void)d;
    snprintf(evicted_name, sizeof(evicted_name), "%.*s", (int)klen, key);
    evict_calls++;
}
static void on_touch_after(db *d, const char *key, size_t klen) {
    (void)d;
    (void)key;
    (void)klen;
    if (evict_calls) touch_after_evict++;
}

TEST(evict_runs_the_hooks) {
    db_init_all(1);
    static const db_hooks hooks = {.key_evicted = on_evicted, .key_touched = on_touch_after};
    db_hooks_add(&hooks);
    db *d = db_get(0);
    dbentry *e = db_add(d, slice_of("victim"), &string_new("v", 1)->hdr);
    e = db_set_expire(d, e, 99999);
    db_add(d, slice_of("other"), &string_new("w", 1)->hdr);
    long long evicted = db_stat.evicted_keys, expired = db_stat.expired_keys;
    db_evict(d, db_find(d, slice_of("victim"), 1));
    ASSERT_STR_EQ("victim", evicted_name);
    ASSERT_EQ(1, evict_calls);
    ASSERT_EQ(1, touch_after_evict);
    ASSERT_EQ(evicted + 1, db_stat.evicted_keys);
    ASSERT_EQ(expired, db_stat.expired_keys);
    ASSERT_EQ(1, db_size(d));
    ASSERT_EQ(0, d->keys_with_ttl);
    ASSERT_EQ(0, expire_index_size(&d->expires));
    ASSERT(db_find_raw(d, slice_of("victim")) == NULL);
    db_free_all();
}

/* A key without a deadline has no bookkeeping; its first deadline moves the entry (the
 * table, the indexes and the memory estimate follow), losing it later does not. */
TEST(entry_gains_bookkeeping_on_first_deadline) {
    db_init_all(1);
    db *d = db_get(0);
    char kb[32];
    for (int i = 0; i < 64; i++)
        db_add(d, key_of(i, kb), &string_from_ll(i)->hdr);
    dbentry *e = db_find_raw(d, key_of(7, kb));
    ASSERT(e != NULL && !e->ttl && db_entry_ttl(e) == NULL);
    size_t plain = db_entry_memory(e);
    dbentry *moved = db_set_expire(d, e, 5000);
    ASSERT(moved->ttl);
    ASSERT_EQ(5000, db_entry_expire(moved));
    ASSERT(db_find_raw(d, key_of(7, kb)) == moved);
    ASSERT(db_entry_memory(moved) > plain);
    ASSERT_EQ(1, d->keys_with_ttl);
    ASSERT_EQ(1, expire_index_size(&d->expires));
    ASSERT_EQ(64, db_size_visible(d, 4999));
    ASSERT_EQ(63, db_size_visible(d, 5000));
    /* A later deadline and PERSIST keep it where it is. */
    ASSERT(db_set_expire(d, moved, 6000) == moved);
    ASSERT(db_set_expire(d, moved, 0) == moved);
    ASSERT_EQ(0, d->keys_with_ttl);
    ASSERT_EQ(0, expire_index_size(&d->expires));
    ASSERT_EQ(64, db_size_visible(d, 10000));
    /* Every other key is still found, and a key added with a TTL has it from the start. */
    for (int i = 0; i < 64; i++)
        ASSERT(db_find(d, key_of(i, kb), 10000) != NULL);
    dbentry *x = db_add_expire(d, slice_of("x"), &string_from_ll(1)->hdr, 7000);
    ASSERT(x->ttl && db_find_raw(d, slice_of("x")) == x);
    ASSERT(db_find(d, slice_of("x"), 7000) == NULL);
    ASSERT_EQ(64, db_size(d));
    db_free_all();
}

int main(void) {
    RUN(random_ops_against_model);
    RUN(evict_runs_the_hooks);
    RUN(take_swap_flush);
    RUN(random_key_skips_expired);
    RUN(entry_gains_bookkeeping_on_first_deadline);
    return test_report();
}
