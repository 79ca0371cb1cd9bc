/* Unit tests for expire/: the deadline heap against a sorted model, and the cycle. */
#include "mayfly/expire/expire.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"

#define N 2000

typedef struct owner {
    int64_t model;   /* expected deadline, EXPIRE_NONE if not filed */
    expire_item exp; /* not first: the cast back below is a real offset, as in db/ */
    int reaped;
} owner;

static owner owners[N];

/* Checks the heap property and the slot back-pointers. */
static int heap_ok(const expire_index *ix) {
    expire_item *const *a = (expire_item *const *)ix->h.a;
    for (size_t k = 1; k <= ix->h.len; k++) {
        if (a[k - 1]->slot != k) return 0;
        if (k > 1 && a[k / 2 - 1]->when > a[k - 1]->when) return 0;
    }
    return 1;
}

static int64_t model_min(void) {
    int64_t best = EXPIRE_NONE;
    for (int i = 0; i < N; i++)
        if (owners[i].model != EXPIRE_NONE && (best == EXPIRE_NONE || owners[i].model < best))
            best = owners[i].model;
    return best;
}

TEST(random_ops_match_model) {
    uint64_t seed = 12345;
    rand_seed(seed);
    expire_index ix;
    expire_index_init(&ix);
    memset(owners, 0, sizeof(owners));
    size_t filed = 0;
    for (int step = 0; step < 50000; step++) {
        owner *o = &owners[rand_below(N)];
        int64_t when = rand_below(4) == 0 ? EXPIRE_NONE : (int64_t)(1 + rand_below(100000));
        if (o->model == EXPIRE_NONE && when != EXPIRE_NONE) filed++;
        if (o->model != EXPIRE_NONE && when == EXPIRE_NONE) filed--;
        expire_index_set(&ix, &o->exp, when);
        o->model = when;
        if (step % 997 == 0 && !heap_ok(&ix))
            TEST_FAIL("heap broken at step %d (seed %llu)", step, (unsigned long long)seed);
        if (expire_index_size(&ix) != filed) TEST_FAIL("size mismatch at step %d", step);
        expire_item *top = expire_index_peek(&ix);
        int64_t want = model_min();
        if ((top ? top->when : EXPIRE_NONE) != want)
            TEST_FAIL("min mismatch at step %d: want %lld", step, (long long)want);
    }
    ASSERT(heap_ok(&ix));
    /* Popping everything yields non-decreasing deadlines. */
    int64_t prev = 0;
    while ((int)expire_index_size(&ix) > 0) {
        expire_item *top = expire_index_peek(&ix);
        ASSERT(top->when >= prev);
        prev = top->when;
        expire_index_set(&ix, top, EXPIRE_NONE);
        ASSERT_EQ(0, top->slot);
    }
    expire_index_deinit(&ix);
}

static int64_t order_seen[N];
static size_t order_len;

static int64_t reap_all(expire_item *item, int64_t now_ms, size_t limit, size_t *work, void *ctx) {
    expire_index *ix = ctx;
    (void)now_ms;
    (void)limit;
    owner *o = (owner *)(void *)((char *)item - offsetof(owner, exp));
    order_seen[order_len++] = item->when;
    o->reaped = 1;
    (*work)++;
    expire_index_set(ix, item, EXPIRE_NONE);
    return EXPIRE_NONE;
}

TEST(cycle_reaps_due_in_order) {
    expire_index ix;
    expire_index_init(&ix);
    memset(owners, 0, sizeof(owners));
    rand_seed(7);
    for (int i = 0; i < N; i++)
        expire_index_set(&ix, &owners[i].exp, 1 + (int64_t)rand_below(1000));
    order_len = 0;
    /* now = 500: exactly the owners with when <= 500 are reaped, in order. */
    int backlog = expire_cycle(&ix, 500, 1000000, reap_all, &ix);
    ASSERT_EQ(0, backlog);
    for (size_t i = 1; i < order_len; i++)
        ASSERT(order_seen[i - 1] <= order_seen[i]);
    for (int i = 0; i < N; i++) {
        if (owners[i].reaped)
            ASSERT(order_seen[0] <= 500);
        else
            ASSERT(owners[i].exp.when > 500);
    }
    ASSERT_EQ(0, expire_index_count_due(&ix, 500, 100));
    ASSERT_EQ(N - order_len, expire_index_count_due(&ix, 1000, 100000));
    ASSERT_EQ(10, expire_index_count_due(&ix, 1000, 10));
    expire_index_deinit(&ix);
}

/* A callback that re-files each owner 10 ms later, to test re-filing and the budget. */
static int64_t push_later(expire_item *item, int64_t now_ms, size_t limit, size_t *work,
                          void *ctx) {
    (void)limit;
    (void)ctx;
    (*work)++;
    return now_ms + 10 + (item->when % 3);
}

TEST(cycle_refiles_and_honours_budget) {
    expire_index ix;
    expire_index_init(&ix);
    memset(owners, 0, sizeof(owners));
    for (int i = 0; i < N; i++)
        expire_index_set(&ix, &owners[i].exp, 100 + i % 50);
    ASSERT_EQ(0, expire_cycle(&ix, 1000, 1000000, push_later, NULL));
    ASSERT_EQ(N, expire_index_size(&ix));
    ASSERT(expire_index_peek(&ix)->when >= 1010);
    ASSERT(heap_ok(&ix));
    /* A zero budget still makes progress but stops early with a backlog. */
    for (int i = 0; i < N; i++)
        expire_index_set(&ix, &owners[i].exp, 5);
    ASSERT_EQ(1, expire_cycle(&ix, 1000, 0, push_later, NULL));
    ASSERT(expire_index_count_due(&ix, 1000, N) < N);
    expire_index_deinit(&ix);
}

int main(void) {
    RUN(random_ops_match_model);
    RUN(cycle_reaps_due_in_order);
    RUN(cycle_refiles_and_honours_budget);
    return test_report();
}
