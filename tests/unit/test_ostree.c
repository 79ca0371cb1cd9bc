/* Unit tests for util/ostree: random operations checked against a plain model (a flag per
 * item, sorted on demand), with the tree's own invariant check after every batch. */
#include "mayfly/util/mem.h"
#include "mayfly/util/ostree.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct item {
    int64_t key;
    int filed;
} item;

static int64_t item_key(const void *p) {
    return ((const item *)p)->key;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int cmp_items(const void *a, const void *b) {
    const item *x = *(item *const *)a, *y = *(item *const *)b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The filed items in tree order (OUT: *n); caller frees. */
static item **model_sorted(item *items, size_t count, size_t *n) {
    item **v = malloc(count * sizeof(*v) + 1);
    *n = 0;
    for (size_t i = 0; i < count; i++)
        if (items[i].filed) v[(*n)++] = &items[i];
    qsort(v, *n, sizeof(*v), cmp_items);
    return v;
}

TEST(empty) {
    ostree t;
    ostree_init(&t, item_key);
    ASSERT_EQ(0, ostree_len(&t));
    ASSERT(ostree_min(&t) == NULL);
    ASSERT(ostree_max(&t) == NULL);
    ASSERT(ostree_pop_min(&t) == NULL);
    ASSERT_EQ(0, ostree_count_le(&t, 100));
    ASSERT_EQ(0, ostree_check(&t));
    ostree_deinit(&t);
}

/* Keys filed in increasing order fill leaves completely (the append split). */
TEST(append_fills_leaves) {
    enum { N = 100000 };
    item *items = calloc(N, sizeof(*items));
    ostree t;
    ostree_init(&t, item_key);
    for (size_t i = 0; i < N; i++) {
        items[i].key = (int64_t)i / 7; /* runs of equal keys */
        ostree_insert(&t, &items[i]);
    }
    ASSERT_EQ(0, ostree_check(&t));
    ASSERT_EQ(N, ostree_len(&t));
    /* 8 bytes per item in full leaves, plus inner nodes: well under 9 bytes each. */
    ASSERT(t.bytes < (size_t)N * 9);
    ASSERT_EQ(7 * 1000, ostree_count_le(&t, 999));
    ASSERT(ostree_at(&t, 12345) != NULL);
    ASSERT_EQ(12345 / 7, ((item *)ostree_at(&t, 12345))->key);
    for (size_t i = 0; i < N; i++) {
        item *m = ostree_pop_min(&t);
        ASSERT(m != NULL);
        if ((size_t)(m - items) > i + 7) TEST_FAIL("pop order %zu at %zu", (size_t)(m - items), i);
    }
    ASSERT_EQ(0, ostree_len(&t));
    ASSERT_EQ(0, ostree_check(&t));
    ASSERT_EQ(0, t.bytes);
    ostree_deinit(&t);
    free(items);
}

/* Random inserts, removals, re-keys and pops against the model, for a key range that
 * gives many equal keys and for one that gives almost none. */
static void random_run(int64_t key_range, size_t count, size_t steps) {
    item *items = calloc(count, sizeof(*items));
    ostree t;
    ostree_init(&t, item_key);
    size_t filed = 0;
    for (size_t s = 0; s < steps; s++) {
        item *it = &items[rnd() % count];
        unsigned op = (unsigned)(rnd() % 10);
        if (op < 5 && !it->filed) {
            it->key = (int64_t)(rnd() % (uint64_t)key_range);
            ostree_insert(&t, it);
            it->filed = 1;
            filed++;
        } else if (op < 7 && it->filed) {
            ostree_remove(&t, it);
            it->filed = 0;
            filed--;
        } else if (op < 9 && it->filed) {
            ostree_remove(&t, it);
            it->key = (int64_t)(rnd() % (uint64_t)key_range);
            ostree_insert(&t, it);
        } else if (op == 9 && filed > 0) {
            item *m = ostree_min(&t);
            item *p = ostree_pop_min(&t);
            if (m != p) TEST_FAIL("pop_min differs from min");
            p->filed = 0;
            filed--;
        }
        if (s % 997 != 0) continue;
        if (ostree_check(&t) != 0) TEST_FAIL("check %d at step %zu", ostree_check(&t), s);
        size_t n;
        item **v = model_sorted(items, count, &n);
        if (n != ostree_len(&t)) TEST_FAIL("len %zu, model %zu", ostree_len(&t), n);
        if (n > 0) {
            if (ostree_min(&t) != v[0] || ostree_max(&t) != v[n - 1]) TEST_FAIL("min/max");
            for (int probe = 0; probe < 20; probe++) {
                size_t r = rnd() % n;
                if (ostree_at(&t, r) != v[r]) TEST_FAIL("rank %zu", r);
                int64_t bound = (int64_t)(rnd() % (uint64_t)(key_range + 2)) - 1;
                size_t expect = 0;
                while (expect < n && v[expect]->key <= bound)
                    expect++;
                if (ostree_count_le(&t, bound) != expect)
                    TEST_FAIL("count_le %lld", (long long)bound);
            }
        }
        free(v);
    }
    /* Drain by removals in random order. */
    for (size_t i = 0; i < count; i++)
        if (items[i].filed) ostree_remove(&t, &items[i]);
    ASSERT_EQ(0, ostree_len(&t));
    ASSERT_EQ(0, ostree_check(&t));
    ostree_deinit(&t);
    free(items);
}

TEST(random_many_equal_keys) {
    random_run(50, 20000, 400000);
}

TEST(random_distinct_keys) {
    random_run(INT64_C(1) << 40, 20000, 400000);
}

TEST(random_small) {
    random_run(5, 70, 100000);
}

/* A mass of equal keys (a million fields due at the same instant) counts exactly and
 * removes any one item without a scan of the others. */
TEST(mass_equal_key) {
    enum { N = 200000 };
    item *items = calloc(N, sizeof(*items));
    ostree t;
    ostree_init(&t, item_key);
    for (size_t i = 0; i < N; i++) {
        items[(i * 7919) % N].key = 1000;
        ostree_insert(&t, &items[(i * 7919) % N]);
    }
    ASSERT_EQ(0, ostree_check(&t));
    ASSERT_EQ(0, ostree_count_le(&t, 999));
    ASSERT_EQ(N, ostree_count_le(&t, 1000));
    for (size_t i = 0; i < N; i += 3)
        ostree_remove(&t, &items[i]);
    ASSERT_EQ(0, ostree_check(&t));
    ASSERT_EQ(N - (N + 2) / 3, ostree_count_le(&t, 1000));
    ostree_deinit(&t);
    ASSERT_EQ(0, t.bytes);
    free(items);
}

/* A tree destroyed in steps frees at most the nodes asked each time (ASan sees leaks). */
TEST(drain_in_steps) {
    enum { N = 200000 };
    item *items = calloc(N, sizeof(*items));
    ostree t;
    ostree_init(&t, item_key);
    for (size_t i = 0; i < N; i++) {
        items[i].key = (int64_t)(rnd() % 1000000);
        ostree_insert(&t, &items[i]);
    }
    size_t nodes = t.bytes / 1024, calls = 0;
    ASSERT(nodes > 1000);
    while (ostree_drain(&t, 100))
        calls++;
    ASSERT(calls >= nodes / 100 - 1 && calls <= nodes / 100 + 1);
    ASSERT_EQ(0, ostree_len(&t));
    ASSERT(t.root == NULL);
    ASSERT_EQ(0, ostree_drain(&t, 100)); /* an empty tree: nothing to do */
    /* Deinit after a partial drain frees the rest. */
    for (size_t i = 0; i < N; i++)
        ostree_insert(&t, &items[i]);
    ASSERT_EQ(1, ostree_drain(&t, 10));
    ostree_deinit(&t);
    ASSERT(t.root == NULL);
    free(items);
}

int main(void) {
    RUN(empty);
    RUN(append_fills_leaves);
    RUN(random_many_equal_keys);
    RUN(random_distinct_keys);
    RUN(random_small);
    RUN(mass_equal_key);
    RUN(drain_in_steps);
    return test_report();
}
