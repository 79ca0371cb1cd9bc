/* hash_ttl: field deadlines of a hash, its expiry index, and reaping.
 *
 * A compact hash needs no index: its blob header holds the exact earliest deadline (the
 * base of the per-entry deltas, see hash_lp.c) and reaping scans the blob.
 *
 * A hashtable keeps a binary min-heap (util/heap.h) of pointers to the entries that have a
 * deadline.
 * Each such entry stores its heap index in a 24-bit hint (to stay within its 48-byte size
 * class), and the heap is an array of 8-byte pointers, so a TTL costs about 8 B per field
 * beyond the deadline bytes in the entry:
 *
 *     heap:  [e0][e1][e2][e3][e4] ...      e0 has the earliest deadline;
 *              │    ╲                      children of i are 2i+1 and 2i+2
 *              ▼     ╲
 *     hent: [..|deadline u48|hint u24|..]  hint = index mod 2^24
 *
 * The true index of an entry is the first of hint, hint + 2^24, hint + 2·2^24, ... whose
 * slot points at the entry: below 16.7 M TTL fields that is the hint itself; above, it
 * costs a probe per 2^24 slots, and keeps the entry in its size class.
 *
 * Costs: earliest deadline O(1); add, remove or change a deadline O(log n); reaping k due
 * fields O(k log n), in deadline order; counting the due fields O(due). */
#include "mayfly/util/mem.h"
#include "types/hash_int.h"

#define HINT_SPAN ((size_t)1 << 24)

/* The deadline of an entry known to be in the heap (short form is the fast path). */
static inline int64_t dl(const hent *e) {
    if (!(e->b[0] & HENT_LONG)) return (int64_t)get_le(e->b + 2, 6);
    return hent_deadline(e);
}

HEAP_GENERATE(fields, hent, dl, hent_set_hint)

size_t ttl_pos(const hash_ht *t, const hent *e) {
    size_t p = hent_hint(e);
    while (p < t->ttl.len && t->ttl.a[p] != e)
        p += HINT_SPAN;
    assert(p < t->ttl.len);
    return p;
}

void ttl_push(hash_ht *t, hent *e) {
    fields_push(&t->ttl, e);
}

/* Removes the entry at index i, keeping the heap ordered; shrinks the array when it is
 * mostly empty so that clearing TTLs gives memory back. */
static void remove_at(hash_ht *t, size_t i) {
    fields_remove_at(&t->ttl, i);
    heap_trim(&t->ttl);
}

void ttl_remove(hash_ht *t, hent *e) {
    remove_at(t, ttl_pos(t, e));
}

void ttl_fix(hash_ht *t, hent *e) {
    fields_fix(&t->ttl, ttl_pos(t, e));
}

void ttl_put_at(hash_ht *t, size_t pos, hent *n) {
    fields_place(&t->ttl, pos, n);
}

size_t ttl_count_due(const hash_ht *t, int64_t now_ms) {
    return fields_visit_upto(&t->ttl, now_ms, SIZE_MAX, NULL, NULL);
}

static size_t ht_reap(hash_ht *t, int64_t now_ms, size_t max,
                      void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx) {
    size_t n = 0;
    while (n < max && t->ttl.len > 0 && dl(fields_at(&t->ttl, 0)) <= now_ms) {
        hent *e = fields_at(&t->ttl, 0);
        remove_at(t, 0);
        dict_unlink(&t->d, &e->node);
        if (on_field) {
            hash_entry v;
            hent_view(e, &v);
            on_field(v.field.p, v.field.len, ctx);
        }
        mem_free(e);
        n++;
    }
    return n;
}

/* ---- public TTL API ------------------------------------------------------------------ */

size_t hash_ttl_count(const hash *h) {
    if (h->hdr.enc == ENC_HASHTABLE) return ((const hash_ht *)h->p)->ttl.len;
    return lp_ttl_count(h->p);
}

int64_t hash_next_deadline(const hash *h) {
    if (h->hdr.enc == ENC_HASHTABLE) {
        const hash_ht *t = h->p;
        return t->ttl.len ? dl(fields_at(&t->ttl, 0)) : HASH_NO_TTL;
    }
    return h->hdr.enc == ENC_LISTPACKEX && lp_ttl_count(h->p) ? lp_base(h) : HASH_NO_TTL;
}

size_t hash_reap(hash *h, int64_t now_ms, size_t max,
                 void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx) {
    if (h->hdr.enc == ENC_HASHTABLE) return ht_reap(h->p, now_ms, max, on_field, ctx);
    return lp_reap(h, now_ms, max, on_field, ctx);
}

/* Redis's HEXPIRE condition check; prev is HASH_NO_TTL or the current deadline. */
static int cond_met(int cond, int64_t prev, int64_t deadline) {
    if (prev == HASH_NO_TTL) return !(cond & (HASH_COND_XX | HASH_COND_GT));
    if (cond & HASH_COND_NX) return 0;
    if ((cond & HASH_COND_GT) && prev >= deadline) return 0;
    if ((cond & HASH_COND_LT) && prev <= deadline) return 0;
    return 1;
}

int hash_expire(hash *h, int64_t now_ms, slice field, int64_t deadline, int cond) {
    assert(deadline > 0 && deadline <= HASH_DEADLINE_MAX);
    if (h->hdr.enc == ENC_HASHTABLE) {
        hash_ht *t = h->p;
        hent *e = ht_find(t, field);
        if (!e || is_due(hent_deadline(e), now_ms)) return HASH_EXPIRE_NOFIELD;
        if (!cond_met(cond, hent_deadline(e), deadline)) return HASH_EXPIRE_NOTMET;
        if (deadline <= now_ms) {
            ht_delete(t, e);
            return HASH_EXPIRE_DELETED;
        }
        ht_set_deadline(t, e, deadline);
        return HASH_EXPIRE_SET;
    }
    lp_ent e;
    if (!lp_find(h, field, &e) || is_due(e.deadline, now_ms)) return HASH_EXPIRE_NOFIELD;
    if (!cond_met(cond, e.deadline, deadline)) return HASH_EXPIRE_NOTMET;
    if (deadline <= now_ms) {
        lp_delete(h, &e);
        return HASH_EXPIRE_DELETED;
    }
    lp_set_deadline(h, &e, deadline);
    return HASH_EXPIRE_SET;
}

int hash_persist(hash *h, int64_t now_ms, slice field) {
    if (h->hdr.enc == ENC_HASHTABLE) {
        hash_ht *t = h->p;
        hent *e = ht_find(t, field);
        if (!e || is_due(hent_deadline(e), now_ms)) return HASH_PERSIST_NOFIELD;
        if (!hent_has_ttl(e)) return HASH_PERSIST_NOTTL;
        ht_set_deadline(t, e, HASH_NO_TTL);
        return HASH_PERSIST_OK;
    }
    lp_ent e;
    if (!lp_find(h, field, &e) || is_due(e.deadline, now_ms)) return HASH_PERSIST_NOFIELD;
    if (e.deadline == HASH_NO_TTL) return HASH_PERSIST_NOTTL;
    lp_set_deadline(h, &e, HASH_NO_TTL);
    return HASH_PERSIST_OK;
}
