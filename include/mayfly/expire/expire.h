/* expire: the per-database ordered index of expiry owners, and the budgeted active cycle.
 *
 * An owner is anything with a deadline: a key with a TTL, or a hash keyed by the earliest
 * deadline among its fields (both at once for a hash with a key TTL: the earlier wins).
 * Owners embed an expire_item; the index is the server's binary min-heap (util/heap.h) of
 * pointers to those items, each item remembering its heap slot so that updates and
 * removals are O(log n):
 *
 *     heap: [ item@100 | item@250 | item@180 | item@900 | ... ]   (when, ms)
 *              slot 1     slot 2     slot 3     slot 4
 *
 * The cycle (expire_cycle) pops due owners in deadline order and hands each to a
 * callback, which reaps what is due and returns the owner's next deadline (re-filed) or 0
 * (gone). It stops when its time budget is spent, so a backlog of millions drains in
 * slices without stalling the loop. expire/ knows nothing of keys or hashes. */
#ifndef MAYFLY_EXPIRE_EXPIRE_H
#define MAYFLY_EXPIRE_EXPIRE_H

#include "mayfly/util/heap.h"

#include <stddef.h>
#include <stdint.h>

#define EXPIRE_NONE 0 /* "no deadline" */

/* 12 bytes (packed, 4-byte aligned), so that an owner can put a 32-bit field after it
 * without padding in between (the keyspace's entries are sized to jemalloc's classes). */
typedef struct __attribute__((packed, aligned(4))) expire_item {
    int64_t when;  /* deadline in Unix ms, EXPIRE_NONE when not filed */
    uint32_t slot; /* heap position + 1; 0 when not in the index */
} expire_item;

typedef struct expire_index {
    heap h; /* of expire_item pointers, earliest first */
} expire_index;

void expire_index_init(expire_index *ix);
/* Frees the array (owners are not touched). */
void expire_index_deinit(expire_index *ix);
/* Files, moves or (when == EXPIRE_NONE) removes item. */
void expire_index_set(expire_index *ix, expire_item *item, int64_t when);
/* The earliest item, or NULL when empty. */
static inline expire_item *expire_index_peek(const expire_index *ix) {
    return ix->h.len ? (expire_item *)ix->h.a[0] : NULL;
}
static inline size_t expire_index_size(const expire_index *ix) {
    return ix->h.len;
}

/* Called by the cycle for a due item; returns the owner's new deadline (> now_ms,
 * re-filed by the cycle), or EXPIRE_NONE if the owner is gone (the callback must
 * already have removed it from the index, e.g. via expire_index_set(..., NONE)).
 * *work is incremented by the units of work done (fields or keys reaped). The callback
 * may stop early (leaving a due deadline) when work_limit is reached. */
typedef int64_t (*expire_reap_fn)(expire_item *item, int64_t now_ms, size_t work_limit,
                                  size_t *work, void *ctx);

/* Pops and reaps due owners of ix until none is due or budget_us (monotonic
 * microseconds) has passed. Returns 1 if due owners remain (a backlog). */
int expire_cycle(expire_index *ix, int64_t now_ms, int64_t budget_us, expire_reap_fn fn, void *ctx);

/* Number of items due at now_ms, counting at most cap of them (cost O(min(due, cap))).
 * Used for the INFO backlog figure. */
size_t expire_index_count_due(const expire_index *ix, int64_t now_ms, size_t cap);
/* Calls fn(item, ctx) for every item due at now_ms, in no particular order, in O(due). fn
 * must not change the index. */
void expire_index_visit_due(const expire_index *ix, int64_t now_ms,
                            void (*fn)(expire_item *item, void *ctx), void *ctx);

#endif
