/* Unit tests for util/heap.h: a generated heap under random pushes, removals from any
 * position and key changes in both directions, against a model (the keys of the elements
 * that are in); after each step the least key, the positions every element was told, the
 * heap order, and visit_upto's counts (exact, and stopped by cap) are checked. Then heap
 * storage: trimming after removals and a copy made with heap_init_sized. */
#include "mayfly/util/heap.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"

#include <stdio.h>

#define N 1500

typedef struct elem {
    int64_t key;
    size_t pos; /* as last reported, or SIZE_MAX when not in */
    int in;
} elem;

static inline int64_t elem_key(const elem *e) {
    return e->key;
}
static inline void elem_set_pos(elem *e, size_t i) {
    e->pos = i;
}
HEAP_GENERATE(elems, elem, elem_key, elem_set_pos)

static elem es[N];

static int heap_ok(const heap *h) {
    for (size_t i = 0; i < h->len; i++) {
        elem *e = elems_at(h, i);
        if (e->pos != i || !e->in) return 0;
        if (i > 0 && elems_at(h, (i - 1) / 2)->key > e->key) return 0;
    }
    return 1;
}

static void count_visit(elem *e, void *ctx) {
    (void)e;
    (*(size_t *)ctx)++;
}

TEST(random_ops_against_model) {
    uint64_t seed = 0x4ea9;
    rand_seed(seed);
    heap h;
    heap_init(&h);
    for (int i = 0; i < N; i++)
        es[i] = (elem){0, SIZE_MAX, 0};
    size_t in = 0;
    for (int step = 0; step < 60000; step++) {
        elem *e = &es[rand_below(N)];
        unsigned op = (unsigned)rand_below(3);
        int64_t key = (int64_t)rand_below(5000);
        if (!e->in) {
            e->key = key;
            e->in = 1;
            elems_push(&h, e);
            in++;
        } else if (op == 0) {
            elems_remove_at(&h, e->pos);
            e->in = 0;
            e->pos = SIZE_MAX;
            in--;
            heap_trim(&h);
        } else {
            e->key = key; /* earlier or later */
            elems_fix(&h, e->pos);
        }
        if (h.len != in) TEST_FAIL("len %zu, model %zu (step %d)", h.len, in, step);
        int64_t least = INT64_MAX;
        size_t at_most = 0, bound = (size_t)rand_below(5000);
        for (int i = 0; i < N; i++) {
            if (!es[i].in) continue;
            if (es[i].key < least) least = es[i].key;
            at_most += es[i].key <= (int64_t)bound;
        }
        if (in && elems_at(&h, 0)->key != least) TEST_FAIL("least key wrong at step %d", step);
        if (step % 101 == 0 && !heap_ok(&h)) TEST_FAIL("order or positions broken at %d", step);
        size_t visited = 0;
        if (elems_visit_upto(&h, (int64_t)bound, SIZE_MAX, count_visit, &visited) != at_most ||
            visited != at_most)
            TEST_FAIL("visit_upto %zu: %zu, model %zu (step %d)", bound, visited, at_most, step);
        size_t cap = (size_t)rand_below(20);
        size_t want = at_most < cap ? at_most : cap;
        if (elems_visit_upto(&h, (int64_t)bound, cap, NULL, NULL) != want)
            TEST_FAIL("visit_upto with cap %zu (step %d)", cap, step);
    }
    ASSERT(heap_ok(&h));
    /* Popping everything gives the keys in order. */
    int64_t prev = INT64_MIN;
    while (h.len) {
        elem *e = elems_at(&h, 0);
        ASSERT(e->key >= prev);
        prev = e->key;
        elems_remove_at(&h, 0);
        e->in = 0;
    }
    heap_deinit(&h);
}

TEST(storage_grows_trims_and_copies) {
    heap h;
    heap_init(&h);
    ASSERT(h.a == NULL && h.cap == 0);
    for (int i = 0; i < 1000; i++) {
        es[i] = (elem){1000 - i, SIZE_MAX, 1};
        elems_push(&h, &es[i]);
    }
    ASSERT_EQ(1000, h.len);
    ASSERT_EQ(1024, h.cap);
    ASSERT_EQ(1, elems_at(&h, 0)->key);
    /* A copy of the same shape, filled slot by slot, is a valid heap. */
    static elem copy[1000];
    heap c;
    heap_init_sized(&c, h.len, h.cap);
    for (size_t i = 0; i < h.len; i++) {
        elem *o = elems_at(&h, i);
        copy[o - es] = *o;
        copy[o - es].in = 1;
        elems_place(&c, i, &copy[o - es]);
    }
    ASSERT_EQ(h.cap, c.cap);
    ASSERT(heap_ok(&c));
    heap_deinit(&c);
    /* Removals give memory back, never below a quarter full. */
    while (h.len > 10) {
        elems_remove_at(&h, h.len - 1);
        heap_trim(&h);
        ASSERT(h.cap <= 64 || h.len >= h.cap / 4);
    }
    ASSERT_EQ(64, h.cap);
    while (h.len) {
        elems_remove_at(&h, 0);
        heap_trim(&h);
    }
    ASSERT(h.a == NULL && h.cap == 0);
    heap_deinit(&h);
}

/* Past HEAP_MAP_MIN slots the array is a mapping resized by mremap: the heap stays valid
 * across the switch both ways and several doublings and halvings, and mem_used counts the
 * mapping and gives it back. */
TEST(large_storage_is_mapped) {
    size_t n = 4 * HEAP_MAP_MIN + 3;
    elem *big = mem_alloc(n * sizeof(*big));
    size_t used0 = mem_used();
    heap h;
    heap_init(&h);
    rand_seed(0x77a1);
    for (size_t i = 0; i < n; i++) {
        big[i] = (elem){(int64_t)rand_below(1u << 30), SIZE_MAX, 1};
        elems_push(&h, &big[i]);
        if (h.len == HEAP_MAP_MIN - 1 || h.len == HEAP_MAP_MIN + 1 || h.len == n)
            for (size_t j = 1; j < h.len; j++)
                ASSERT(elems_at(&h, j)->pos == j &&
                       elems_at(&h, (j - 1) / 2)->key <= elems_at(&h, j)->key);
    }
    ASSERT(h.cap >= 8 * HEAP_MAP_MIN / 2);
    ASSERT(mem_used() >= used0 + h.cap * sizeof(void *));
    int64_t last = INT64_MIN;
    while (h.len) {
        elem *top = elems_at(&h, 0);
        ASSERT(top->key >= last);
        last = top->key;
        elems_remove_at(&h, 0);
        heap_trim(&h);
        ASSERT(h.cap <= 64 || h.len >= h.cap / 4);
    }
    ASSERT(h.a == NULL && h.cap == 0);
    ASSERT_EQ(used0, mem_used());
    mem_free(big);
}

int main(void) {
    RUN(random_ops_against_model);
    RUN(storage_grows_trims_and_copies);
    RUN(large_storage_is_mapped);
    return test_report();
}
