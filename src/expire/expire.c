/* expire: the ordered index of expiry owners and the budgeted active cycle.
 *
 * The index is util/heap.h's binary min-heap of expire_item pointers ordered by `when`.
 * Each item stores its heap slot (position + 1, so that 0 means "not filed"), so moving or
 * removing an owner is a sift from its slot, O(log n), without searching.
 *
 * Invariant: item->slot == k + 1 for the item at position k, and items not in the index
 * have slot 0 and when EXPIRE_NONE.
 *
 * expire_cycle pops due owners in deadline order. It reads the monotonic clock only to
 * keep to its time budget; deadlines are compared with the caller's now_ms. */
#include "mayfly/expire/expire.h"

#include "mayfly/util/clock.h"
#include "mayfly/util/heap.h"

#include <assert.h>

/* Fields (or keys) one reap callback may handle before the cycle checks its budget. */
#define EXPIRE_WORK_LIMIT 64
/* Owners reaped between two reads of the clock. */
#define EXPIRE_CLOCK_EVERY 16

static inline int64_t item_when(const expire_item *it) {
    return it->when;
}
static inline void item_set_slot(expire_item *it, size_t pos) {
    it->slot = (uint32_t)(pos + 1);
}
HEAP_GENERATE(owners, expire_item, item_when, item_set_slot)

void expire_index_init(expire_index *ix) {
    heap_init(&ix->h);
}

void expire_index_deinit(expire_index *ix) {
    heap_deinit(&ix->h);
}

void expire_index_set(expire_index *ix, expire_item *item, int64_t when) {
    if (when == EXPIRE_NONE) {
        if (item->slot) owners_remove_at(&ix->h, item->slot - 1);
        item->slot = 0;
        item->when = EXPIRE_NONE;
        return;
    }
    if (item->slot) {
        assert(item->slot <= ix->h.len && ix->h.a[item->slot - 1] == item);
        int64_t old = item->when;
        item->when = when;
        if (when < old)
            owners_sift_up(&ix->h, item->slot - 1);
        else if (when > old)
            owners_sift_down(&ix->h, item->slot - 1);
        return;
    }
    assert(ix->h.len < UINT32_MAX);
    item->when = when;
    owners_push(&ix->h, item);
}

int expire_cycle(expire_index *ix, int64_t now_ms, int64_t budget_us, expire_reap_fn fn,
                 void *ctx) {
    int64_t start = clock_mono_us();
    unsigned n = 0;
    expire_item *top;
    while ((top = expire_index_peek(ix)) != NULL && top->when <= now_ms) {
        if (n > 0 && n % EXPIRE_CLOCK_EVERY == 0 && clock_mono_us() - start >= budget_us) return 1;
        n++;
        size_t work = 0;
        int64_t next = fn(top, now_ms, EXPIRE_WORK_LIMIT, &work, ctx);
        if (next == EXPIRE_NONE) continue; /* the owner is gone (and may be freed) */
        expire_index_set(ix, top, next);
        /* A partial reap leaves the owner due; the budget check above bounds the loop. */
        if (next <= now_ms && clock_mono_us() - start >= budget_us) return 1;
    }
    return 0;
}

size_t expire_index_count_due(const expire_index *ix, int64_t now_ms, size_t cap) {
    return owners_visit_upto(&ix->h, now_ms, cap, NULL, NULL);
}

void expire_index_visit_due(const expire_index *ix, int64_t now_ms,
                            void (*fn)(expire_item *item, void *ctx), void *ctx) {
    owners_visit_upto(&ix->h, now_ms, SIZE_MAX, fn, ctx);
}
