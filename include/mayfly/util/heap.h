/* heap: the one binary min-heap of the server (the per-database index of expiry owners in
 * expire/, the per-hash index of field deadlines in types/).
 *
 * The heap is an array of element pointers, ordered by a 64-bit key that each element
 * holds; every element learns its position whenever it moves, so removing or re-keying one
 * is a sift from where it stands, O(log n), without a search:
 *
 *            a[0] key 100
 *           /            \
 *     a[1] key 250    a[2] key 180       parent(i) = (i - 1) / 2, children 2i + 1, 2i + 2
 *       /
 *   a[3] key 900
 *
 * Invariant: every parent's key is at most its children's, and set_pos(a[i], i) was the
 * last position reported to a[i].
 *
 * Storage (struct heap, heap_reserve, heap_trim) is shared code; the sifts are generated
 * per element type, so that reading the key and recording the position are inlined
 * (they are hot: a hash's field heap is sifted on every HSETEX, HPEXPIRE and reap):
 *
 *     static inline int64_t item_key(const item *e) { return e->when; }
 *     static inline void item_set_pos(item *e, size_t i) { e->slot = (uint32_t)i + 1; }
 *     HEAP_GENERATE(items, item, item_key, item_set_pos)
 *
 * defines static functions items_push(h, e), items_remove_at(h, i), items_fix(h, i) (after
 * a[i]'s key changed), items_at(h, i) and items_visit_upto(h, bound, cap, fn, ctx). */
#ifndef MAYFLY_UTIL_HEAP_H
#define MAYFLY_UTIL_HEAP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef struct heap {
    void **a;   /* owned array; a[0] has the least key */
    size_t len; /* elements */
    size_t cap; /* slots allocated */
} heap;

/* Arrays of this many slots or more are mappings of their own, resized without a copy
 * (heap.c). */
#define HEAP_MAP_MIN ((size_t)1 << 17)

/* An empty heap (no allocation). */
void heap_init(heap *h);
/* Frees the array (the elements are not touched). */
void heap_deinit(heap *h);
/* An array of cap slots whose first len the caller fills (a copy of a heap of that
 * shape, element by element, each in its original's slot). */
void heap_init_sized(heap *h, size_t len, size_t cap);
/* Makes room for one more element (doubling, from 8 slots; from HEAP_MAP_MIN slots by
 * mremap, so that no push copies the array). */
void heap_reserve(heap *h);
/* Gives memory back after removals: frees the array when empty, halves it while it is more
 * than 64 slots and under a quarter full. */
void heap_trim(heap *h);

/* The deepest a depth-first walk of a heap that fits in memory can stack: one pending
 * sibling per level, plus the two children just pushed. */
#define HEAP_WALK_STACK (2 * 64)

/* `type` is a type name, which cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define HEAP_GENERATE(name, type, key_of, set_pos)                                                 \
    static inline type *name##_at(const heap *h, size_t i) {                                       \
        return (type *)h->a[i];                                                                    \
    }                                                                                              \
    static inline void name##_place(heap *h, size_t i, type *e) {                                  \
        h->a[i] = e;                                                                               \
        set_pos(e, i);                                                                             \
    }                                                                                              \
    /* Moves a[i] towards the root while its parent's key is greater. */                           \
    static inline void name##_sift_up(heap *h, size_t i) {                                         \
        type *e = name##_at(h, i);                                                                 \
        int64_t k = key_of(e);                                                                     \
        while (i > 0) {                                                                            \
            size_t p = (i - 1) / 2;                                                                \
            type *pe = name##_at(h, p);                                                            \
            if (key_of(pe) <= k) break;                                                            \
            name##_place(h, i, pe);                                                                \
            i = p;                                                                                 \
        }                                                                                          \
        name##_place(h, i, e);                                                                     \
    }                                                                                              \
    /* Moves a[i] towards the leaves while a child's key is less. */                               \
    static inline void name##_sift_down(heap *h, size_t i) {                                       \
        type *e = name##_at(h, i);                                                                 \
        int64_t k = key_of(e);                                                                     \
        size_t n = h->len;                                                                         \
        for (;;) {                                                                                 \
            size_t c = 2 * i + 1;                                                                  \
            if (c >= n) break;                                                                     \
            int64_t kc = key_of(name##_at(h, c));                                                  \
            if (c + 1 < n) {                                                                       \
                int64_t kr = key_of(name##_at(h, c + 1));                                          \
                if (kr < kc) c++, kc = kr;                                                         \
            }                                                                                      \
            if (kc >= k) break;                                                                    \
            name##_place(h, i, name##_at(h, c));                                                   \
            i = c;                                                                                 \
        }                                                                                          \
        name##_place(h, i, e);                                                                     \
    }                                                                                              \
    /* Restores the order after a[i]'s key changed, either way. */                                 \
    static inline void name##_fix(heap *h, size_t i) {                                             \
        if (i > 0 && key_of(name##_at(h, (i - 1) / 2)) > key_of(name##_at(h, i)))                  \
            name##_sift_up(h, i);                                                                  \
        else                                                                                       \
            name##_sift_down(h, i);                                                                \
    }                                                                                              \
    static inline void name##_push(heap *h, type *e) {                                             \
        if (h->len == h->cap) heap_reserve(h);                                                     \
        name##_place(h, h->len++, e);                                                              \
        name##_sift_up(h, h->len - 1);                                                             \
    }                                                                                              \
    /* Removes a[i] (its position is not reported again: the caller forgets it). */                \
    static inline void name##_remove_at(heap *h, size_t i) {                                       \
        type *last = name##_at(h, --h->len);                                                       \
        if (i < h->len) {                                                                          \
            name##_place(h, i, last);                                                              \
            name##_fix(h, i);                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* Calls fn(e, ctx) (fn may be NULL) for elements whose key is <= bound, in no particular      \
     * order, stopping after cap of them; returns how many. O(min(that number, cap)). fn must      \
     * not change the heap. */                                                                     \
    static inline size_t name##_visit_upto(const heap *h, int64_t bound, size_t cap,               \
                                           void (*fn)(type * e, void *ctx), void *ctx) {           \
        size_t stack[HEAP_WALK_STACK], sp = 0, n = 0;                                              \
        if (h->len == 0 || key_of(name##_at(h, 0)) > bound) return 0;                              \
        stack[sp++] = 0;                                                                           \
        while (sp > 0 && n < cap) {                                                                \
            size_t i = stack[--sp];                                                                \
            if (fn) fn(name##_at(h, i), ctx);                                                      \
            n++;                                                                                   \
            for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < h->len; c++) {                        \
                if (key_of(name##_at(h, c)) > bound) continue;                                     \
                assert(sp < HEAP_WALK_STACK);                                                      \
                stack[sp++] = c;                                                                   \
            }                                                                                      \
        }                                                                                          \
        return n;                                                                                  \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

#endif
