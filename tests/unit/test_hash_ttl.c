/* Unit tests of the per-hash expiry index (types/hash_ttl.c) at a larger scale than the
 * differential test: heap order under churn, reaping in steps, and sampling uniformity. */
#include "mayfly/types/hash.h"
#include "mayfly/util/rand.h"
#include "test.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define T0 1700000000000LL
#define N 50000

static const hash_limits lim = {512, 64};

typedef struct order {
    int64_t last;
    size_t n;
    int bad;
    hash *h;
    int64_t *dl; /* deadline by field number, to check each reaped field */
} order;

static void on_reap(const char *f, size_t flen, void *ctx) {
    order *o = ctx;
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)flen, f);
    int64_t d = o->dl[atoi(buf + 1)];
    if (d < o->last || d == 0) o->bad = 1;
    o->last = d;
    o->n++;
}

/* Random deadlines, then churn (change, clear, re-add, delete), then reaping in small
 * steps must yield every remaining TTL field exactly once, in deadline order. */
TEST(heap_churn_and_reap_order) {
    static int64_t dl[N];
    hash *h = hash_new();
    char f[32];
    for (int i = 0; i < N; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        dl[i] = T0 + 1 + (int64_t)rand_below(1000000);
        hash_set(&h, &lim, T0, slice_of(f), slice_of("value"), HASH_TTL_SET, dl[i]);
    }
    ASSERT_STR_EQ("hashtable", hash_encoding_name(h));
    for (int k = 0; k < 3 * N; k++) {
        int i = (int)rand_below(N);
        snprintf(f, sizeof(f), "f%d", i);
        switch (rand_below(5)) {
        case 0:
            if (dl[i] != -1) dl[i] = T0 + 1 + (int64_t)rand_below(1000000);
            if (dl[i] != -1) hash_expire(&h, T0, slice_of(f), dl[i], HASH_COND_NONE);
            break;
        case 1:
            if (dl[i] != -1) dl[i] = 0, hash_persist(&h, T0, slice_of(f));
            break;
        case 2:
            dl[i] = T0 + 1 + (int64_t)rand_below(1000000);
            hash_set(&h, &lim, T0, slice_of(f), slice_of("longer value"), HASH_TTL_SET, dl[i]);
            break;
        case 3:
            dl[i] = -1, hash_del(&h, T0, slice_of(f));
            break;
        default: /* same-size overwrite keeping the TTL: in place */
            if (dl[i] != -1)
                hash_set(&h, &lim, T0, slice_of(f), slice_of("VALUE"), HASH_TTL_KEEP, 0);
        }
    }
    size_t with_ttl = 0, live = 0;
    int64_t min = 0;
    for (int i = 0; i < N; i++) {
        live += dl[i] != -1;
        if (dl[i] > 0) {
            with_ttl++;
            if (!min || dl[i] < min) min = dl[i];
        }
    }
    ASSERT_EQ(with_ttl, hash_ttl_count(h));
    ASSERT_EQ(live, hash_len(h, T0));
    ASSERT_EQ(min, hash_next_deadline(h));
    order o = {0, 0, 0, h, dl};
    int64_t now = T0;
    while (hash_next_deadline(h) != HASH_NO_TTL) {
        now += 5000;
        hash_reap(&h, now, 37, on_reap, &o);
        ASSERT(!o.bad);
        ASSERT(hash_next_deadline(h) == HASH_NO_TTL || hash_next_deadline(h) >= o.last);
    }
    ASSERT_EQ(with_ttl, o.n);
    ASSERT_EQ(live - with_ttl, hash_len(h, now));
    ASSERT_EQ(0, hash_ttl_count(h));
    hash_free(h);
}

/* hash_len counts due fields without reaping them, in O(due). */
TEST(len_counts_due_without_reaping) {
    hash *h = hash_new();
    char f[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        hash_set(&h, &lim, T0, slice_of(f), slice_of("v"), i % 2 ? HASH_TTL_SET : HASH_TTL_CLEAR,
                 T0 + i);
    }
    ASSERT_EQ(5000, hash_len(h, T0));
    ASSERT_EQ(5000 - 50, hash_len(h, T0 + 100)); /* odd i < 100 are due at T0 + 100 */
    ASSERT_EQ(2500, hash_len(h, T0 + 5000));
    ASSERT_EQ(5000, hash_stored(h));
    hash_free(h);
}

typedef struct tally {
    int count[16];
} tally;

static void on_visit(const hash_entry *e, void *ctx) {
    tally *t = ctx;
    t->count[e->field.p[1] - '0']++;
}

/* Each sampler picks every one of 10 fields about equally often. */
TEST(sampling_is_roughly_uniform) {
    hash *h = hash_new();
    char f[8];
    for (int i = 0; i < 10; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        hash_set(&h, &lim, T0, slice_of(f), slice_of("v"), HASH_TTL_CLEAR, 0);
    }
    tally t = {{0}};
    hash_entry e;
    for (int k = 0; k < 20000; k++) {
        hash_random(h, T0, &e);
        on_visit(&e, &t);
    }
    for (int i = 0; i < 10; i++)
        ASSERT(t.count[i] > 1700 && t.count[i] < 2300);
    tally u = {{0}};
    for (int k = 0; k < 5000; k++)
        hash_random_distinct(h, T0, 4, on_visit, &u);
    for (int i = 0; i < 10; i++)
        ASSERT(u.count[i] > 1700 && u.count[i] < 2300);
    tally r = {{0}};
    hash_random_repeat(h, T0, 20000, on_visit, &r);
    for (int i = 0; i < 10; i++)
        ASSERT(r.count[i] > 1700 && r.count[i] < 2300);
    hash_free(h);
}

int main(void) {
    rand_seed(777);
    RUN(heap_churn_and_reap_order);
    RUN(len_counts_due_without_reaping);
    RUN(sampling_is_roughly_uniform);
    return test_report();
}
