/* ostree: an order-statistic B+ tree of item pointers, ordered by (key, address).
 *
 * Items are the caller's structs; the tree stores pointers to them and reads each one's
 * 64-bit key through the key_of callback. Items are ordered by key, ties broken by their
 * addresses, so every item has one exact place even when a million share a key. Besides the
 * earliest item (what a heap gives), the tree answers "how many items have a key <= t"
 * and "the item of rank r" in O(log n), without visiting the items it counts: that is what
 * lets a hash say how many of its fields are due, and pick a live one at random, while a
 * backlog of due fields is still stored.
 *
 *     inner: [cnt | separator (key, address) | child] x up to 31    (1 KB)
 *              │ subtree sizes give ranks and counts
 *              ▼
 *     leaf:  [item][item]...  up to 170 6-byte pointers, sorted     (1 KB)
 *
 * Nodes are fixed-size allocations, so the tree never copies a large array as it grows.
 * The key of an item must not change while it is in the tree: remove it, change the key,
 * insert it again. An item must not move in memory while filed (its address is part of its
 * place). Costs: insert and remove O(log n) (a leaf search reads up to 7 items' keys; an
 * item past the last one is appended with one read; a removal reads none), min, max,
 * count and rank O(log n). Memory: about 7.5 bytes per item filed in random order, 6 in
 * increasing order (a leaf stores the low 48 bits of each pointer). */
#ifndef MAYFLY_UTIL_OSTREE_H
#define MAYFLY_UTIL_OSTREE_H

#include <stddef.h>
#include <stdint.h>

/* Returns the key of an item filed in the tree. */
typedef int64_t (*ostree_key_fn)(const void *item);

typedef struct ostree {
    void *root;      /* a leaf when height is 0, else an inner node; NULL when empty */
    size_t len;      /* items filed */
    size_t bytes;    /* bytes held by the nodes (MEMORY USAGE) */
    unsigned height; /* inner levels above the leaves */
    ostree_key_fn key_of;
} ostree;

/* An empty tree (no allocation). */
void ostree_init(ostree *t, ostree_key_fn key_of);
/* Frees the nodes (the items are not touched); the tree is empty afterwards. */
void ostree_deinit(ostree *t);
/* Frees up to max_nodes nodes (1 KB each) of a tree being destroyed; returns 1 while some
 * remain, 0 once the tree is empty. After a call that returned 1 only ostree_drain and
 * ostree_deinit may be used on it (its counts no longer hold). */
int ostree_drain(ostree *t, size_t max_nodes);

static inline size_t ostree_len(const ostree *t) {
    return t->len;
}

/* Files item (not already filed) under its current key. */
void ostree_insert(ostree *t, void *item);
/* Removes item, which must be filed, with the key it was filed under. */
void ostree_remove(ostree *t, void *item);
/* ostree_remove for an item whose key_of may no longer answer the key it was filed under
 * k (its owner changed it and files it again at once: nothing else may touch the tree in
 * between, as the tree compares other items with the stale key). */
void ostree_remove_key(ostree *t, void *item, int64_t k);
/* The first item (least key), or NULL when empty. */
void *ostree_min(const ostree *t);
/* The last item (greatest key), or NULL when empty. */
void *ostree_max(const ostree *t);
/* Removes and returns the first item, or NULL when empty. */
void *ostree_pop_min(ostree *t);
/* Number of items whose key is <= bound. */
size_t ostree_count_le(const ostree *t, int64_t bound);
/* The item of rank r (0 = the first); r must be < ostree_len. */
void *ostree_at(const ostree *t, size_t r);

/* Checks every invariant (order, counts, separators, fill); returns 0 if all hold, else a
 * negative code naming the first broken one (tests). O(n). */
int ostree_check(const ostree *t);

#endif
