/* otab: an open-addressing table of item pointers (Robin Hood linear probing) with
 * incremental resizing and a SCAN cursor that survives any resize.
 *
 * Made for one big hash's fields (types/hash_ht.c): the items are the caller's blocks and
 * carry no link, so a 7-byte field with a 16-byte value is one 32-byte block, and the table
 * costs one 8-byte slot per item at a load of 0.5-0.8 (10.5 bytes per item at 1M items)
 * instead of a chain pointer in the item plus a bucket pointer. Nothing here knows about
 * hashes: any block whose key bytes key_of() can return may be filed (the keyspace could
 * adopt it).
 *
 *     slot (8 B):  [dist 8][frag 8][item pointer 48]     0 = empty
 *     home(h) = (h * range) >> 64    the high hash bits pick the slot: the table is
 *                                    ordered by hash, whatever its size
 *
 *     table: [home range ......................][tail <= 255 slots]
 *
 * An item sits at or after its home slot, at most 255 slots further (dist), and every
 * run of occupied slots is sorted by home (Robin Hood): a lookup stops at the first slot
 * whose item's home is past its own, and compares the key only where the 8-bit fragment
 * (the hash's low byte) matches. Items never wrap around: the tail past the home range
 * takes the last runs. Sizes are jemalloc's size classes, 8/10/12/14 x 2^k slots, so the
 * allocator adds no rounding; the table grows when 4/5 of the home range is used, to the
 * smallest class with room for 30% more items (load 0.5-0.8; a single class step, 1.14-
 * 1.25x, would move every item about twice as often over a table's growth).
 *
 * Resizing moves whole runs from the old table to the new one, a run per step (each
 * find/add/remove does one), so no call stalls; an array of 256 KB or more, grown or shrunk
 * to, is first zeroed while the old table takes the adds (a shrink that adds outgrow is
 * dropped): by util/prezero's thread when it runs, else a page at a time (every 8th add,
 * or, for a shrink, every 8th operation), and so when the thread is late (the old table
 * past load 0.84).
 *
 * SCAN: the cursor is a position in hash space: every item whose hash is below it has
 * been returned. Because homes are monotonic in the hash for any table size, the cursor
 * means the same thing after a grow or shrink, so an item present for the whole scan is
 * returned at least once (in practice exactly once). */
#ifndef MAYFLY_UTIL_OTAB_H
#define MAYFLY_UTIL_OTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct otab_type {
    /* Extracts the key bytes of an item (OUT: *key, *len). */
    void (*key_of)(const void *item, const char **key, size_t *len);
} otab_type;

typedef struct otab {
    const otab_type *type;
    uint64_t *slots[2]; /* slots[1] is non-NULL only while resizing */
    size_t cap[2];      /* slots allocated */
    size_t range[2];    /* home range: cap minus the tail */
    size_t used[2];     /* items in each table */
    size_t rehash_idx;  /* while resizing: slots of table 0 below it are empty */
    size_t ahead;       /* while resizing: items moved beyond the adds' shares so far */
    unsigned pause;     /* > 0 while an iterator or scan callback runs: nothing moves */
    uint64_t *next;     /* a large table to grow into, being zeroed (prep) */
    size_t next_cap;
    struct prezero *prep; /* the zeroing of next (util/prezero) */
} otab;

/* Initialises an empty table (no allocation). */
void otab_init(otab *t, const otab_type *type);
/* Frees the slot arrays (not the items). */
void otab_deinit(otab *t);
/* Removes every item, calling free_fn(item, ctx) on each (free_fn may be NULL). */
void otab_clear(otab *t, void (*free_fn)(void *, void *), void *ctx);

static inline size_t otab_size(const otab *t) {
    return t->used[0] + t->used[1];
}
/* Bytes of the slot arrays (MEMORY USAGE). */
size_t otab_bytes(const otab *t);
/* 1 while a resize is in progress (two tables). */
int otab_is_resizing(const otab *t);
/* Sizes an empty table (no array yet) for n items. No effect on a table that has one. */
void otab_reserve(otab *t, size_t n);

/* Finds the item with this key (hash from dict_hash), or NULL. */
void *otab_find_h(otab *t, const char *key, size_t len, uint64_t hash);
void *otab_find(otab *t, const char *key, size_t len);
/* For a batch of lookups about to run (prefetching): the home slot of hash in the table
 * that holds it; then, once that slot is cached, the item there or a few slots on whose
 * hash byte matches (a likely candidate, not a find). Neither changes anything. */
void otab_prefetch_slot(const otab *t, uint64_t hash);
void otab_prefetch_item(const otab *t, uint64_t hash);
/* Files item, whose key must not be present (hash: dict_hash of its key). */
void otab_add_h(otab *t, void *item, uint64_t hash);
void otab_add(otab *t, void *item);
/* Takes out this exact item (it must be filed); it is not freed. */
void otab_remove(otab *t, void *item);
/* Takes out and returns the item with this key, or NULL. */
void *otab_remove_key(otab *t, const char *key, size_t len);
/* Puts new_item (same key) in the place of old; old is only compared, never read, so it
 * may already be freed. */
void otab_replace(otab *t, const void *old, void *new_item);

/* Moves up to n runs of a resize; returns 1 while resizing (or preparing) goes on. */
int otab_resize_step(otab *t, int n);

/* Calls fn(item, ctx) for the items of the next stretch of the hash space and returns the
 * next cursor (0 when complete). Start with 0. fn must not add or remove items; the table
 * may change freely between calls. A call visits one run of slots (or one empty slot) of
 * the smaller table and the matching slots of the larger one while resizing. */
uint64_t otab_scan(otab *t, uint64_t cursor, void (*fn)(void *, void *), void *ctx);

/* A uniformly random item (a random slot until an occupied one), or NULL if empty. */
void *otab_random(otab *t, uint64_t (*rand_fn)(void));

/* Frees the items of a table being destroyed in steps: takes out up to max items, calling
 * free_fn on each; returns 1 while some remain. Once started only otab_drain and
 * otab_deinit may follow. */
int otab_drain(otab *t, size_t max, void (*free_fn)(void *, void *), void *ctx);

/* Plain iteration in slot order; each item is returned exactly once. The table must not
 * change meanwhile except by otab_iter_delete of the current item. Pauses resizing until
 * otab_iter_deinit, which must be called. */
typedef struct otab_iter {
    otab *t;
    int table;
    int fresh; /* 1 before the first call, or after a delete: look at index again */
    size_t index;
    void *item;
} otab_iter;
void otab_iter_init(otab_iter *it, otab *t);
void *otab_iter_next(otab_iter *it);
/* Takes out the item last returned (the caller frees it) and returns it. */
void *otab_iter_delete(otab_iter *it);
void otab_iter_deinit(otab_iter *it);

/* Checks the invariants (positions, order, counts); 0 if they hold, else a negative code
 * naming the first broken one (tests). O(n). */
int otab_check(const otab *t);

#endif
