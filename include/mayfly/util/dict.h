/* dict: an intrusive chained hash table with incremental rehashing and a stable SCAN.
 *
 * Used for the keyspace (db/) and for large hashes (types/). The caller's entry struct
 * starts with a dict_node; the table stores pointers to those nodes and never allocates
 * or frees entries itself. Keys are byte strings that the caller's key_of() callback
 * extracts from an entry, hashed with XXH3 and a per-process random seed.
 *
 *     table[0] (old) ──▶ [b0]─▶node─▶node     during a rehash, each operation moves a
 *                        [b1]─▶node           few buckets from table[0] to table[1];
 *     table[1] (new) ──▶ [b0] [b1] [b2] [b3]  lookups probe both tables.
 *
 * Sizes are powers of two. The table grows at load factor 1 and shrinks below 1/8; a
 * resize never moves more than a bounded number of buckets per call (no stall). A large
 * new bucket array (256 KB or more; grown or shrunk to) is first zeroed, the old table
 * taking the adds meanwhile: by util/prezero's thread when it runs (the caller then takes
 * none of its page faults), else a page at a time (every 32nd add, or remove for a shrink,
 * and by dict_rehash_for), so that neither zeroing megabytes nor the page faults of
 * inserting at random places in a fresh array land on one call.
 *
 * SCAN (dict_scan) uses the reverse-binary cursor: every entry present for the whole
 * iteration is returned at least once, even while the table grows, shrinks or rehashes;
 * some may be returned twice. */
#ifndef MAYFLY_UTIL_DICT_H
#define MAYFLY_UTIL_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict_node {
    struct dict_node *next; /* chain link, owned by the dict */
} dict_node;

typedef struct dict_type {
    /* Extracts the key bytes of an entry (OUT: *key, *len). */
    void (*key_of)(const dict_node *node, const char **key, size_t *len);
    /* May be NULL. Asked before the table grows by more_bytes of buckets at load factor
     * load (entries per bucket, >= 1); 0 puts the growth off to a later insert (the
     * keyspace under maxmemory, Redis's dictExpandAllowed). */
    int (*grow_allowed)(size_t more_bytes, double load);
} dict_type;

typedef struct dict {
    const dict_type *type;
    dict_node **table[2];  /* table[1] is non-NULL only during a rehash */
    uint64_t size_exp[2];  /* log2 of bucket counts; table size is 1 << size_exp */
    size_t used[2];        /* entries in each table */
    int64_t rehash_idx;    /* next bucket of table[0] to move, -1 when not rehashing */
    unsigned pause_rehash; /* > 0 while a safe iterator or scan callback runs */
    size_t max_chain[2];   /* at least the longest chain of each table (dict_random) */
    dict_node **next;      /* a large table to grow into, being zeroed (prep) */
    uint64_t next_exp;     /* log2 of its bucket count */
    struct prezero *prep;  /* the zeroing of next (util/prezero) */
} dict;

/* Hashes key bytes with XXH3 and the process seed (set once by dict_set_seed). */
uint64_t dict_hash(const char *key, size_t len);
/* Sets the hash seed; call once at start-up, before any dict holds entries. */
void dict_set_seed(uint64_t seed);

/* Initialises an empty dict (no allocation). */
void dict_init(dict *d, const dict_type *type);
/* Frees the bucket arrays (not the entries: iterate and free them first, or use
 * dict_clear with a free callback). */
void dict_deinit(dict *d);
/* Removes every entry, calling free_fn(node, ctx) on each (free_fn may be NULL). */
void dict_clear(dict *d, void (*free_fn)(dict_node *, void *), void *ctx);

/* Number of entries. */
static inline size_t dict_size(const dict *d) {
    return d->used[0] + d->used[1];
}

/* Bytes of the bucket arrays (MEMORY STATS overhead). */
size_t dict_buckets_memory(const dict *d);
/* 1 while an incremental rehash is in progress. */
int dict_is_rehashing(const dict *d);
/* Frees the entries of a dict being destroyed in steps (a huge value freed between
 * requests): unlinks up to max entries, calling free_fn(node, ctx) on each, and returns 1
 * while some remain, 0 when it is empty. Once started, the dict may only be drained further
 * and then dict_deinit'ed (the walk keeps its place in the rehash cursor). */
int dict_drain(dict *d, size_t max, void (*free_fn)(dict_node *, void *), void *ctx);

/* Finds the entry with this key, or NULL. */
dict_node *dict_find(dict *d, const char *key, size_t len);
/* Same, with the hash already computed by dict_hash (saves hashing twice). */
dict_node *dict_find_h(dict *d, const char *key, size_t len, uint64_t hash);
/* For a batch of lookups about to run (prefetching, db_prefetch): the bucket holding the
 * chain hash maps to, or NULL for an empty table; and dict_find_h without its rehash
 * step. Neither changes anything. */
dict_node *const *dict_bucket(const dict *d, uint64_t hash);
dict_node *dict_peek_h(const dict *d, const char *key, size_t len, uint64_t hash);
/* Inserts node, whose key must not be present. */
void dict_add(dict *d, dict_node *node);
void dict_add_h(dict *d, dict_node *node, uint64_t hash);
/* Unlinks and returns the entry with this key (caller frees it), or NULL. */
dict_node *dict_remove(dict *d, const char *key, size_t len);
/* Unlinks this exact node (it must be in the dict); it is not freed. */
void dict_unlink(dict *d, dict_node *node);
/* Replaces the linked node old with new_node (same key); old is not freed. Used when an
 * entry is reallocated: new_node must carry old's dict_node (a copy, so new_node->next ==
 * old->next). old is only compared, never read, so it may already have been freed by
 * mem_realloc. */
void dict_replace_node(dict *d, dict_node *old, dict_node *new_node);

/* Moves up to n buckets of an ongoing rehash (also called implicitly by operations).
 * Returns 1 if rehashing is still in progress. */
int dict_rehash_step(dict *d, int n);
/* Prepares a new table, then rehashes, for about budget_us microseconds (for the server's
 * cron); returns 1 if more. */
int dict_rehash_for(dict *d, int64_t budget_us);
/* Shrinks the table if it is much larger than needed (starts an incremental rehash, or
 * for a large smaller array, its preparation).
 * Does nothing while rehashing or paused; dict_remove and dict_unlink call it. */
void dict_maybe_shrink(dict *d);
/* Sizes an empty dict (no table yet) for n nodes, so that adding them never resizes it
 * (loading a snapshot, which knows the count). No effect on a dict that has a table. */
void dict_reserve(dict *d, size_t n);

/* Calls fn(node, ctx) for the entries of the cursor's bucket (during a rehash: the bucket
 * of the smaller table and every bucket of the larger table folding onto it) and returns
 * the next cursor (0 when the iteration is complete). Start with cursor 0. fn must not
 * add or remove entries; the dict may change freely between calls. One call visits one
 * bucket even if it is empty: SCAN COUNT loops over calls with its own bound. */
uint64_t dict_scan(dict *d, uint64_t cursor, void (*fn)(dict_node *, void *), void *ctx);

/* Returns a uniformly random entry, or NULL if empty: a random bucket and position below
 * the longest chain, retried when that position is past the chain's end (rejection
 * sampling), so an entry in a long chain is as likely as one alone in its bucket. */
dict_node *dict_random(dict *d, uint64_t (*rand_fn)(void));

/* Fills out[0..n) with up to n entries found near a random place (Redis's dictGetSomeKeys):
 * whole chains of consecutive buckets from a random one, wrapping around, visiting at most
 * 10 * n buckets. Returns the number stored (fewer than n when the table is small or
 * sparse; 0 only when it is empty). Cheaper than n dict_random calls, for sampling
 * (eviction), not for uniform picks: an entry may be stored at most once per call. */
size_t dict_sample(dict *d, dict_node **out, size_t n, uint64_t (*rand_fn)(void));

/* Plain iteration; the dict must not be modified while iterating except by
 * dict_iter_delete of the current entry. Each entry is returned exactly once. The
 * iterator pauses rehashing until dict_iter_deinit, which must be called. */
typedef struct dict_iter {
    dict *d;
    int table;
    int64_t index;
    dict_node *entry, *next;
} dict_iter;
void dict_iter_init(dict_iter *it, dict *d);
/* Returns the next entry or NULL at the end. */
dict_node *dict_iter_next(dict_iter *it);
/* Unlinks the entry last returned by dict_iter_next and returns it (the caller frees it).
 * The table shrinks, if needed, at dict_iter_deinit. */
dict_node *dict_iter_delete(dict_iter *it);
void dict_iter_deinit(dict_iter *it);

#endif
