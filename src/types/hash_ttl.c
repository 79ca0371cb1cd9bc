/* hash_ttl: field deadlines of a hash, its expiry index, and reaping.
 *
 * A compact hash needs no index: its blob header holds the exact earliest deadline (the
 * base of the per-entry deltas, see hash_lp.c) and reaping scans the blob.
 *
 * A hashtable files the entries that have a deadline in an order-statistic tree
 * (util/ostree.h), ordered by (deadline, entry address):
 *
 *     ttl: [ inner: counts | separators ] ──▶ leaves of hent *, earliest first
 *     hent: [..|deadline u48|..]               the key the tree reads
 *
 * A heap would give the earliest entry too; the tree also counts the entries due at any
 * instant and finds the entry of any rank in O(log n) without visiting them, so that with
 * a million due fields still stored (reaping is bounded per command) HLEN, EXISTS and
 * HRANDFIELD answer as if they were gone, at once. It costs 8 bytes per entry in full
 * leaves (about 11 in leaves filled at random), grows a fixed-size node at a time (no array
 * to double and copy), and needs no back-pointer in the entry.
 *
 * Costs: earliest and latest deadline O(log n); add, remove or change a deadline O(log n);
 * reaping k due fields O(k log n), in deadline order; counting the due fields O(log n). */
#include "mayfly/util/mem.h"
#include "types/hash_int.h"

/* The deadline of an entry known to have one (short form is the fast path). */
static inline int64_t dl(const hent *e) {
    if (!(hent_b(e)[0] & HENT_LONG)) return (int64_t)get_le(hent_b(e) + 2, 6);
    return hent_deadline(e);
}

static int64_t ttl_key(const void *item) {
    return dl(item);
}

void ttl_init(hash_ht *t) {
    ostree_init(&t->ttl, ttl_key);
}

void ttl_add(hash_ht *t, hent *e) {
    ostree_insert(&t->ttl, e);
}

void ttl_remove(hash_ht *t, hent *e) {
    ostree_remove(&t->ttl, e);
}

size_t ttl_count_due(const hash_ht *t, int64_t now_ms) {
    const hent *first = ostree_min(&t->ttl);
    if (!first || dl(first) > now_ms) return 0;
    return ostree_count_le(&t->ttl, now_ms);
}

static size_t ht_reap(hash_ht *t, int64_t now_ms, size_t max,
                      void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx) {
    size_t n = 0;
    while (n < max) {
        hent *e = ostree_min(&t->ttl);
        if (!e || dl(e) > now_ms) break;
        ostree_pop_min(&t->ttl);
        otab_remove(&t->d, e);
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
    if (h->hdr.enc == ENC_HASHTABLE) return ostree_len(&((const hash_ht *)h->p)->ttl);
    return lp_ttl_count(h);
}

int64_t hash_next_deadline(const hash *h) {
    if (h->hdr.enc == ENC_HASHTABLE) {
        const hent *first = ostree_min(&((const hash_ht *)h->p)->ttl);
        return first ? dl(first) : HASH_NO_TTL;
    }
    return h->hdr.enc == ENC_LISTPACKEX && lp_ttl_count(h) ? lp_base(h) : HASH_NO_TTL;
}

int64_t hash_death(const hash *h) {
    if (hash_stored(h) == 0 || hash_ttl_count(h) != hash_stored(h)) return HASH_NO_TTL;
    if (h->hdr.enc == ENC_HASHTABLE) return dl(ostree_max(&((const hash_ht *)h->p)->ttl));
    return lp_last_deadline(h);
}

size_t hash_reap(hash **hp, int64_t now_ms, size_t max,
                 void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx) {
    if ((*hp)->hdr.enc == ENC_HASHTABLE) return ht_reap((*hp)->p, now_ms, max, on_field, ctx);
    return lp_reap(hp, now_ms, max, on_field, ctx);
}

/* Redis's HEXPIRE condition check; prev is HASH_NO_TTL or the current deadline. */
static int cond_met(int cond, int64_t prev, int64_t deadline) {
    if (prev == HASH_NO_TTL) return !(cond & (HASH_COND_XX | HASH_COND_GT));
    if (cond & HASH_COND_NX) return 0;
    if ((cond & HASH_COND_GT) && prev >= deadline) return 0;
    if ((cond & HASH_COND_LT) && prev <= deadline) return 0;
    return 1;
}

int hash_expire(hash **hp, int64_t now_ms, slice field, int64_t deadline, int cond) {
    assert(deadline > 0 && deadline <= HASH_DEADLINE_MAX);
    hash *h = *hp;
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
        lp_delete(hp, &e);
        return HASH_EXPIRE_DELETED;
    }
    lp_set_deadline(hp, &e, deadline);
    return HASH_EXPIRE_SET;
}

int hash_persist(hash **hp, int64_t now_ms, slice field) {
    hash *h = *hp;
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
    lp_set_deadline(hp, &e, HASH_NO_TTL);
    return HASH_PERSIST_OK;
}
