/* expire: the ordered index of expiry owners and the budgeted active cycle.
 *
 * The index is a binary min-heap of expire_item pointers ordered by `when`. Each item
 * stores its 1-based heap slot, so moving or removing an owner is a sift from its slot,
 * O(log n), without searching:
 *
 *            [1] when=100
 *           /            \
 *     [2] when=250    [3] when=180       parent(i) = i / 2, children 2i and 2i + 1
 *       /
 *   [4] when=900
 *
 * Invariant: heap[k - 1]->slot == k for every k in 1..len, and every parent's `when` is
 * at most its children's. Items not in the index have slot 0 and when EXPIRE_NONE.
 *
 * expire_cycle pops due owners in deadline order. It reads the monotonic clock only to
 * keep to its time budget; deadlines are compared with the caller's now_ms. */
#include "mayfly/expire/expire.h"

#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"

#include <assert.h>

/* Fields (or keys) one reap callback may handle before the cycle checks its budget. */
#define EXPIRE_WORK_LIMIT 64
/* Owners reaped between two reads of the clock. */
#define EXPIRE_CLOCK_EVERY 16

void expire_index_init(expire_index *ix) {
    ix->heap = NULL;
    ix->len = 0;
    ix->cap = 0;
}

void expire_index_deinit(expire_index *ix) {
    mem_free(ix->heap);
    expire_index_init(ix);
}

/* Puts item at 1-based slot k and records the slot in the item. */
static void place(expire_index *ix, size_t k, expire_item *item) {
    ix->heap[k - 1] = item;
    item->slot = (uint32_t)k;
}

/* Moves the item at slot k towards the root while it is earlier than its parent. */
static void sift_up(expire_index *ix, size_t k) {
    expire_item *item = ix->heap[k - 1];
    while (k > 1) {
        expire_item *parent = ix->heap[k / 2 - 1];
        if (parent->when <= item->when) break;
        place(ix, k, parent);
        k /= 2;
    }
    place(ix, k, item);
}

/* Moves the item at slot k towards the leaves while a child is earlier. */
static void sift_down(expire_index *ix, size_t k) {
    expire_item *item = ix->heap[k - 1];
    for (;;) {
        size_t child = 2 * k;
        if (child > ix->len) break;
        if (child < ix->len && ix->heap[child]->when < ix->heap[child - 1]->when) child++;
        if (ix->heap[child - 1]->when >= item->when) break;
        place(ix, k, ix->heap[child - 1]);
        k = child;
    }
    place(ix, k, item);
}

/* Removes the item at slot k. */
static void remove_at(expire_index *ix, size_t k) {
    expire_item *gone = ix->heap[k - 1];
    expire_item *last = ix->heap[ix->len - 1];
    ix->len--;
    gone->slot = 0;
    gone->when = EXPIRE_NONE;
    if (gone == last) return;
    place(ix, k, last);
    if (k > 1 && ix->heap[k / 2 - 1]->when > last->when)
        sift_up(ix, k);
    else
        sift_down(ix, k);
}

void expire_index_set(expire_index *ix, expire_item *item, int64_t when) {
    if (when == EXPIRE_NONE) {
        if (item->slot) remove_at(ix, item->slot);
        item->when = EXPIRE_NONE;
        return;
    }
    if (item->slot) {
        assert(item->slot <= ix->len && ix->heap[item->slot - 1] == item);
        int64_t old = item->when;
        item->when = when;
        if (when < old)
            sift_up(ix, item->slot);
        else if (when > old)
            sift_down(ix, item->slot);
        return;
    }
    if (ix->len == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 16;
        ix->heap = mem_realloc(ix->heap, ix->cap * sizeof(*ix->heap));
    }
    item->when = when;
    ix->len++;
    place(ix, ix->len, item);
    sift_up(ix, ix->len);
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
    /* Depth-first walk of the heap, pruned at items not yet due (their subtrees are not
     * due either). Bounded by cap visits of due items. */
    size_t count = 0, sp = 0;
    size_t stack[64 * 2];
    if (ix->len == 0 || ix->heap[0]->when > now_ms) return 0;
    stack[sp++] = 1;
    while (sp > 0 && count < cap) {
        size_t k = stack[--sp];
        count++;
        for (size_t child = 2 * k; child <= 2 * k + 1 && child <= ix->len; child++) {
            if (ix->heap[child - 1]->when <= now_ms && sp < sizeof(stack) / sizeof(stack[0]))
                stack[sp++] = child;
        }
    }
    return count;
}

void expire_index_visit_due(const expire_index *ix, int64_t now_ms,
                            void (*fn)(expire_item *item, void *ctx), void *ctx) {
    /* Depth-first, pruned at items not yet due. The stack holds at most one pending
     * sibling per level plus the two children just pushed: 2 * 64 slots suffice for any
     * heap that fits in memory. */
    size_t stack[64 * 2], sp = 0;
    if (ix->len == 0 || ix->heap[0]->when > now_ms) return;
    stack[sp++] = 1;
    while (sp > 0) {
        size_t k = stack[--sp];
        fn(ix->heap[k - 1], ctx);
        for (size_t child = 2 * k; child <= 2 * k + 1 && child <= ix->len; child++)
            if (ix->heap[child - 1]->when <= now_ms) stack[sp++] = child;
    }
}
