/* Unit tests for util/otab: a seeded random model against a direct-address reference
 * (adds, finds, removes by key and by pointer, replaces, iterator deletes, resize steps,
 * with otab_check after every batch), the SCAN guarantee under churn across grows and
 * shrinks, iteration during a resize, random picks, drain and a table prepared a page at
 * a time. Set OTAB_TEST_SEED to replay a seed. */
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/otab.h"
#include "mayfly/util/prezero.h"
#include "unit/test.h"
#include "unit/test_rng.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct ent {
    uint32_t id;
    uint8_t len;
    char key[15];
} ent;

static void ent_key_of(const void *item, const char **key, size_t *len) {
    const ent *e = item;
    *key = e->key;
    *len = e->len;
}

static const otab_type ent_type = {.key_of = ent_key_of};

static void make_key(uint32_t id, char *buf, uint8_t *len) {
    *len = (uint8_t)snprintf(buf, 15, "k%" PRIu32, id);
}

static ent *ent_new(uint32_t id) {
    ent *e = mem_alloc(sizeof(*e));
    e->id = id;
    make_key(id, e->key, &e->len);
    return e;
}

static ent *find_id(otab *t, uint32_t id) {
    char k[15];
    uint8_t len;
    make_key(id, k, &len);
    return otab_find(t, k, len);
}

static ent *remove_id(otab *t, uint32_t id) {
    char k[15];
    uint8_t len;
    make_key(id, k, &len);
    return otab_remove_key(t, k, len);
}

static void free_ent(void *item, void *ctx) {
    if (ctx) (*(size_t *)ctx)++;
    mem_free(item);
}

TEST(basic) {
    otab t;
    otab_init(&t, &ent_type);
    ASSERT(find_id(&t, 1) == NULL);
    ASSERT(remove_id(&t, 1) == NULL);
    for (uint32_t i = 0; i < 1000; i++)
        otab_add(&t, ent_new(i));
    ASSERT_EQ(1000, (int)otab_size(&t));
    ASSERT_EQ(0, otab_check(&t));
    for (uint32_t i = 0; i < 1000; i++) {
        ent *e = find_id(&t, i);
        ASSERT(e && e->id == i);
    }
    ASSERT(find_id(&t, 1000) == NULL);
    for (uint32_t i = 0; i < 1000; i += 2)
        mem_free(remove_id(&t, i));
    ASSERT_EQ(500, (int)otab_size(&t));
    ASSERT_EQ(0, otab_check(&t));
    for (uint32_t i = 0; i < 1000; i++)
        ASSERT((find_id(&t, i) != NULL) == (i % 2 == 1));
    size_t freed = 0;
    otab_clear(&t, free_ent, &freed);
    ASSERT_EQ(500, (int)freed);
    ASSERT_EQ(0, (int)otab_size(&t));
}

/* One random operation on the table and the model (model[id] = the filed entry). */
static const char *model_op(otab *t, ent **model, uint32_t n) {
    uint32_t id = (uint32_t)(rng() % n);
    switch (rng() % 8) {
    case 0:
    case 1:
    case 2:
        if (!model[id]) otab_add(t, model[id] = ent_new(id));
        break;
    case 3:
        if (remove_id(t, id) != model[id]) return "remove_key returned the wrong entry";
        mem_free(model[id]);
        model[id] = NULL;
        break;
    case 4:
        if (model[id]) {
            otab_remove(t, model[id]);
            mem_free(model[id]);
            model[id] = NULL;
        }
        break;
    case 5:
        if (model[id]) { /* reallocation: a copy replaces the old block, freed first */
            ent *c = ent_new(id);
            mem_free(model[id]);
            otab_replace(t, model[id], c);
            model[id] = c;
        }
        break;
    case 6:
        if (find_id(t, id) != model[id]) return "find disagrees with the model";
        break;
    default:
        otab_resize_step(t, (int)(rng() % 3));
    }
    return NULL;
}

/* Deletes about a third of the entries through an iterator; every entry must come once. */
static const char *iter_delete_some(otab *t, ent **model, uint32_t n) {
    uint8_t *seen = calloc(n, 1);
    const char *err = NULL;
    size_t count = 0, expect = otab_size(t);
    otab_iter it;
    otab_iter_init(&it, t);
    for (ent *e; (e = otab_iter_next(&it)) && !err;) {
        if (seen[e->id]++) err = "iterator returned an entry twice";
        count++;
        if (rng() % 3 == 0) {
            if (otab_iter_delete(&it) != e) err = "iter_delete returned another entry";
            model[e->id] = NULL;
            mem_free(e);
        }
    }
    otab_iter_deinit(&it);
    if (!err && count != expect) err = "iterator missed entries";
    free(seen);
    return err;
}

TEST(random_model) {
    uint64_t seed = test_seed("OTAB_TEST_SEED");
    rng_state = seed;
    for (int round = 0; round < 12; round++) {
        uint32_t n = 50 + (uint32_t)(rng() % (round < 6 ? 2000 : 60000));
        ent **model = calloc(n, sizeof(*model));
        otab t;
        otab_init(&t, &ent_type);
        for (int batch = 0; batch < 40; batch++) {
            for (uint32_t k = 0; k < n / 4; k++) {
                const char *err = model_op(&t, model, n);
                if (err) TEST_FAIL("seed %" PRIu64 " round %d: %s", seed, round, err);
            }
            if (batch % 10 == 9) {
                const char *err = iter_delete_some(&t, model, n);
                if (err) TEST_FAIL("seed %" PRIu64 " round %d: %s", seed, round, err);
            }
            int rc = otab_check(&t);
            if (rc) TEST_FAIL("seed %" PRIu64 " round %d: otab_check %d", seed, round, rc);
            size_t live = 0;
            for (uint32_t i = 0; i < n; i++) {
                live += model[i] != NULL;
                if (find_id(&t, i) != model[i])
                    TEST_FAIL("seed %" PRIu64 " round %d: id %u differs", seed, round, i);
            }
            if (live != otab_size(&t)) TEST_FAIL("seed %" PRIu64 ": size differs", seed);
        }
        otab_clear(&t, free_ent, NULL);
        free(model);
    }
}

/* ---- SCAN ---- */

typedef struct seen_set {
    uint8_t *seen;
} seen_set;

static void mark_seen(void *item, void *ctx) {
    seen_set *s = ctx;
    const ent *e = item;
    if (s->seen[e->id] < 255) s->seen[e->id]++;
}

TEST(scan_stable_table_exactly_once) {
    otab t;
    otab_init(&t, &ent_type);
    for (uint32_t i = 0; i < 5000; i++)
        otab_add(&t, ent_new(i));
    while (otab_resize_step(&t, 100)) {
    }
    seen_set s = {calloc(5000, 1)};
    uint64_t cursor = 0;
    int calls = 0;
    do {
        cursor = otab_scan(&t, cursor, mark_seen, &s);
        calls++;
    } while (cursor != 0 && calls < 100000);
    ASSERT_EQ(0, (int)cursor);
    for (uint32_t i = 0; i < 5000; i++)
        ASSERT_EQ(1, s.seen[i]);
    free(s.seen);
    otab_clear(&t, free_ent, NULL);
}

/* Stable entries present for the whole scan, volatile ones added then removed between
 * calls (so the table grows, resizes and shrinks under the cursor): every stable entry
 * must be returned. */
static const char *scan_under_churn(uint32_t n_stable, uint32_t peak, uint32_t per_call,
                                    int *saw_grow, int *saw_shrink, int *saw_resize) {
    otab t;
    otab_init(&t, &ent_type);
    const char *err = NULL;
    seen_set s = {calloc(n_stable + peak + 1, 1)};
    for (uint32_t i = 0; i < n_stable; i++)
        otab_add(&t, ent_new(i));
    uint32_t next_vol = n_stable, oldest_vol = n_stable;
    int growing = 1;
    size_t start_cap = t.cap[0], max_cap = start_cap;
    uint64_t cursor = 0;
    long calls = 0;
    do {
        if (otab_is_resizing(&t)) *saw_resize = 1;
        cursor = otab_scan(&t, cursor, mark_seen, &s);
        uint32_t k = (uint32_t)(rng() % (2 * per_call + 1));
        for (uint32_t j = 0; j < k; j++) {
            if (growing && next_vol < n_stable + peak) {
                otab_add(&t, ent_new(next_vol++));
            } else if (oldest_vol < next_vol) {
                growing = 0;
                mem_free(remove_id(&t, oldest_vol++));
            }
        }
        if (rng() % 4 == 0) otab_resize_step(&t, (int)(rng() % 4));
        if (t.cap[0] > max_cap) max_cap = t.cap[0];
        if (!growing && t.cap[0] < max_cap) *saw_shrink = 1;
    } while (cursor != 0 && ++calls < 10000000);
    if (cursor != 0) err = "scan did not end";
    if (max_cap > start_cap) *saw_grow = 1;
    for (uint32_t i = 0; i < n_stable && !err; i++)
        if (s.seen[i] == 0) err = "stable entry missed by scan";
    if (!err && otab_check(&t)) err = "otab_check failed";
    otab_clear(&t, free_ent, NULL);
    free(s.seen);
    return err;
}

TEST(scan_guarantee_across_grow_and_shrink) {
    char err[160];
    if (!churn_rounds("OTAB_TEST_SEED", scan_under_churn, 2, 60, err, sizeof(err)))
        TEST_FAIL("%s", err);
}

/* ---- iteration, random, drain, preparation ---- */

TEST(iterator_during_resize) {
    otab t;
    otab_init(&t, &ent_type);
    uint32_t n = 0;
    while (!otab_is_resizing(&t) || t.slots[1] == NULL || t.used[0] < 100)
        otab_add(&t, ent_new(n++));
    uint8_t *seen = calloc(n, 1);
    otab_iter it;
    otab_iter_init(&it, &t);
    size_t count = 0;
    for (ent *e; (e = otab_iter_next(&it));) {
        ASSERT_EQ(0, seen[e->id]);
        seen[e->id] = 1;
        count++;
        ASSERT(otab_resize_step(&t, 10)); /* paused: nothing moves */
    }
    ASSERT(otab_iter_next(&it) == NULL);
    otab_iter_deinit(&it);
    ASSERT_EQ(n, (uint32_t)count);
    free(seen);
    otab_clear(&t, free_ent, NULL);
}

TEST(random_is_uniform_enough) {
    rng_state = test_seed("OTAB_TEST_SEED");
    otab t;
    otab_init(&t, &ent_type);
    ASSERT(otab_random(&t, rng) == NULL);
    enum { N = 200, DRAWS = 200000 };
    for (uint32_t i = 0; i < N; i++)
        otab_add(&t, ent_new(i));
    unsigned hits[N] = {0};
    for (int i = 0; i < DRAWS; i++) {
        ent *e = otab_random(&t, rng);
        ASSERT(e && find_id(&t, e->id) == e);
        hits[e->id]++;
    }
    double chi = 0, expect = (double)DRAWS / N;
    for (int i = 0; i < N; i++)
        chi += (hits[i] - expect) * (hits[i] - expect) / expect;
    ASSERT(chi < 320.0); /* 199 degrees of freedom: p < 1e-6 above ~320 */
    otab_clear(&t, free_ent, NULL);
}

TEST(drain_frees_everything_in_steps) {
    otab t;
    otab_init(&t, &ent_type);
    for (uint32_t i = 0; i < 20000; i++)
        otab_add(&t, ent_new(i));
    size_t freed = 0;
    int calls = 0;
    while (otab_drain(&t, 100, free_ent, &freed))
        calls++;
    ASSERT_EQ(20000, (int)freed);
    ASSERT(calls >= 100);
    otab_deinit(&t);
}

TEST(large_table_prepared_in_pages) {
    otab t;
    otab_init(&t, &ent_type);
    uint32_t n = 0;
    int saw_next = 0;
    while (n < 120000) {
        otab_add(&t, ent_new(n++));
        if (t.next) {
            saw_next = 1;
            ASSERT(prezero_done_bytes(t.prep) < t.next_cap * 8);
        }
    }
    ASSERT(saw_next);
    ASSERT_EQ(0, otab_check(&t));
    for (uint32_t i = 0; i < n; i += 97)
        ASSERT(find_id(&t, i) != NULL);
    /* The load stays within 0.7-0.875 of the home range once no resize is running. */
    while (otab_resize_step(&t, 100)) {
    }
    ASSERT(otab_size(&t) * 8 <= t.range[0] * 7 + 8 * 8);
    otab_clear(&t, free_ent, NULL);
}

/* The zeroing of a growth's array is spread thin: a page per 8 adds at most (an HSET of
 * 100 fields into a big hash faulted in 50 fresh pages, ~10-20 us each on the VMs
 * measured, at a page per 2), the old table staying exact and below load 0.85 meanwhile. */
TEST(grow_zeroes_a_page_per_8_adds) {
    otab t;
    otab_init(&t, &ent_type);
    uint32_t n = 0, start = 0;
    int preparing = 0, growths = 0;
    while (n < 300000) {
        otab_add(&t, ent_new(n++));
        if (!t.next || t.next_cap < t.cap[0]) {
            preparing = 0;
            continue;
        }
        if (!preparing) start = n - 1, growths++;
        preparing = 1;
        size_t adds = n - start;
        if (prezero_done_bytes(t.prep) > (adds / 8 + 1) * 4096)
            TEST_FAIL("%zu bytes zeroed after %zu adds", prezero_done_bytes(t.prep), adds);
        ASSERT(t.used[0] * 100 <= t.range[0] * 85);
    }
    ASSERT(growths >= 2);
    ASSERT_EQ(0, otab_check(&t));
    for (uint32_t i = 0; i < n; i += 89)
        ASSERT(find_id(&t, i) != NULL);
    otab_clear(&t, free_ent, NULL);
}

/* A growth's runs move at the pace the room in the new table needs, not faster: on
 * average at most 16 items per add (a fixed four runs per add moved ~50 at load 0.8), and
 * the old table is still empty before the new one passes load 0.8. */
TEST(growth_moves_items_at_the_needed_pace) {
    otab t;
    otab_init(&t, &ent_type);
    uint32_t n = 0;
    size_t moved = 0, adds = 0, resizes = 0;
    int was_resizing = 0;
    while (n < 400000) {
        int big = otab_is_resizing(&t) && t.slots[1] && t.cap[1] >= 32768;
        size_t before = t.used[0];
        otab_add(&t, ent_new(n++));
        if (big) {
            adds++;
            /* While resizing an add goes to table 1; once it ends table 1 is table 0. */
            moved += otab_is_resizing(&t) && t.slots[1] ? before - t.used[0] : before;
        }
        int now = t.slots[1] != NULL;
        if (was_resizing && !now) {
            resizes++;
            if (t.used[0] * 5 > t.range[0] * 4 + 5)
                TEST_FAIL("resize ended at load %.3f", (double)t.used[0] / (double)t.range[0]);
        }
        was_resizing = now;
    }
    ASSERT(resizes >= 3 && adds > 0);
    if (moved > 16 * adds) TEST_FAIL("%zu items moved by %zu adds", moved, adds);
    ASSERT_EQ(0, otab_check(&t));
    otab_clear(&t, free_ent, NULL);
}

TEST(reserve_sizes_once) {
    otab t;
    otab_init(&t, &ent_type);
    otab_reserve(&t, 10000);
    size_t cap = t.cap[0];
    for (uint32_t i = 0; i < 10000; i++)
        otab_add(&t, ent_new(i));
    ASSERT_EQ(cap, t.cap[0]);
    ASSERT(!otab_is_resizing(&t));
    otab_clear(&t, free_ent, NULL);
}

/* A shrink to an array past 256 KB prepares it a page at a time (removals and finds zero
 * it), the table staying exact meanwhile; adds that outgrow the smaller table drop it
 * instead of rebuilding everything at once. */
TEST(shrink_prepares_large_table) {
    otab t;
    otab_init(&t, &ent_type);
    uint32_t n = 400000;
    for (uint32_t i = 0; i < n; i++)
        otab_add(&t, ent_new(i));
    while (otab_resize_step(&t, 100)) {
    }
    size_t big = t.cap[0];
    int prepared = 0;
    uint32_t i = 0;
    for (; i < n && !t.next; i++)
        mem_free(remove_id(&t, i));
    ASSERT(t.next != NULL && t.next_cap < big);
    ASSERT(t.next_cap * 8 >= 256 * 1024);
    /* Adds past what the smaller table holds (while a walker holds the table, so that the
     * prepared table cannot be switched to first): the shrink is dropped, no rebuild. */
    uint32_t m = n;
    t.pause++;
    while (t.next && m < n + 200000)
        otab_add(&t, ent_new(m++));
    t.pause--;
    ASSERT(t.next == NULL);
    ASSERT(m > n + 1000);
    ASSERT_EQ(big, t.cap[0]);
    ASSERT_EQ(0, otab_check(&t));
    /* Removals again: prepared, then resized into, by removals and finds alone. */
    for (; t.cap[0] == big; i++) {
        mem_free(remove_id(&t, i));
        if (t.next) {
            prepared = 1;
            ASSERT(prezero_done_bytes(t.prep) < t.next_cap * 8);
        }
        if (i % 4096 == 0) {
            ASSERT_EQ(0, otab_check(&t));
            ASSERT(find_id(&t, i) == NULL);
            ASSERT(find_id(&t, i + 1) != NULL);
        }
        ASSERT(i + 1 < m); /* the live ids are [i + 1, m) */
    }
    ASSERT(prepared);
    ASSERT(t.cap[0] < big);
    ASSERT_EQ(0, otab_check(&t));
    otab_clear(&t, free_ent, NULL);
}

int main(void) {
    dict_set_seed(0x1234567890abcdefULL ^ (uint64_t)time(NULL));
    RUN(basic);
    RUN(random_model);
    RUN(scan_stable_table_exactly_once);
    RUN(scan_guarantee_across_grow_and_shrink);
    RUN(iterator_during_resize);
    RUN(random_is_uniform_enough);
    RUN(drain_frees_everything_in_steps);
    RUN(large_table_prepared_in_pages);
    RUN(grow_zeroes_a_page_per_8_adds);
    RUN(growth_moves_items_at_the_needed_pace);
    RUN(reserve_sizes_once);
    RUN(shrink_prepares_large_table);
    return test_report();
}
