/* hash: the public API of the hash type, dispatching to its encodings.
 *
 *     hash * ──▶ [obj hdr|blob]                  ENC_LISTPACK / ENC_LISTPACKEX (hash_lp.c)
 *            └─▶ [obj hdr|p] ──▶ hash_ht          ENC_HASHTABLE (hash_ht.c)
 *                                 ├ otab of hent   one allocation per field
 *                                 └ ostree of hent* fields with a deadline (hash_ttl.c)
 *
 * A hash starts compact and converts to a hashtable, once and for good, when hash_set
 * would exceed hash_limits; the conversion copies every entry with its deadline (due
 * entries too: they are still reaped and reported later).
 *
 * Readers here skip due fields and never modify the hash; writers treat a due field as
 * absent. Lazy expiry with notifications is hash_reap's job (hash_ttl.c), called by the
 * command layer before it reads. A compact hash is one allocation, header included, so
 * the writers (hash_set, hash_del, hash_expire, hash_persist, hash_reap) take a hash **
 * and may move it; the keyspace stores the pointer they leave. */
#include "mayfly/types/hash.h"

#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"
#include "types/hash_int.h"

#include <stdlib.h>

static hash_ht *ht_of(const hash *h) {
    return (hash_ht *)h->p;
}
static int is_compact(const hash *h) {
    return h->hdr.enc != ENC_HASHTABLE;
}

void hash_prefetch(const hash *h) {
    /* A compact hash is its blob (h->p is blob bytes, not a pointer): its next line. */
    if (is_compact(h))
        __builtin_prefetch((const char *)h + 64);
    else
        __builtin_prefetch(h->p);
}

int hash_is_table(const hash *h) {
    return !is_compact(h);
}

void hash_prefetch_field(const hash *h, uint64_t fh, int step) {
    if (is_compact(h)) return;
    if (step == 0)
        otab_prefetch_slot(&ht_of(h)->d, fh);
    else
        otab_prefetch_item(&ht_of(h)->d, fh);
}

static void lp_view(const lp_ent *e, hash_entry *out) {
    out->field = (slice){(const char *)e->f, e->flen};
    out->value = (slice){(const char *)e->v, e->vlen};
    out->deadline = e->deadline;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

hash *hash_new(void) {
    return lp_new();
}

void hash_free(hash *h) {
    if (!h) return;
    if (!is_compact(h)) ht_free(ht_of(h));
    mem_free(h);
}

size_t hash_free_cost(const hash *h) {
    return is_compact(h) ? 1 : 1 + otab_size(&ht_of(h)->d);
}

static void free_hent(void *item, void *ctx) {
    (void)ctx;
    mem_free(item);
}

int hash_free_some(hash *h, size_t max) {
    if (is_compact(h)) {
        hash_free(h);
        return 1;
    }
    hash_ht *t = ht_of(h);
    /* The tree's nodes first (the entries go with the table): a 10M-field tree has ~100k. */
    if (ostree_drain(&t->ttl, max / 8)) return 0;
    if (otab_drain(&t->d, max, free_hent, NULL)) return 0;
    otab_deinit(&t->d);
    mem_free(t);
    mem_free(h);
    return 1;
}

static hash_ht *dup_ht(hash_ht *src) {
    hash_ht *t = ht_new();
    otab_reserve(&t->d, otab_size(&src->d));
    otab_iter it;
    otab_iter_init(&it, &src->d);
    for (const hent *e; (e = otab_iter_next(&it));) {
        hent_shape s;
        hent_shape_of(e, &s);
        size_t size = s.data_off + s.flen + s.vlen;
        hent *n = mem_alloc(size);
        memcpy(n, e, size);
        otab_add(&t->d, n);
        if (hent_has_ttl(e)) ttl_add(t, n);
    }
    otab_iter_deinit(&it);
    return t;
}

hash *hash_dup(const hash *h) {
    if (is_compact(h)) {
        size_t used = lp_used(h);
        hash *c = mem_alloc(used);
        memcpy(c, h, used);
        return c;
    }
    hash *c = mem_alloc(sizeof(*c));
    c->hdr = h->hdr;
    c->p = dup_ht(ht_of(h));
    return c;
}

/* A quick hash of a field for the duplicate check: a field of up to 8 bytes (the common
 * case) is read byte by byte (a variable-length memcpy is a library call), mixed with a
 * per-process secret (so that a crafted payload cannot make fields collide on purpose)
 * and multiplied (Knuth's multiplicative hashing: the top bits are the index); longer ones
 * go through dict_hash. */
static inline uint64_t dup_hash(slice f, uint64_t secret) {
    if (f.len > 8) return dict_hash(f.p, f.len) * 0x9E3779B97F4A7C15ULL;
    uint64_t v = 0;
    for (size_t i = 0; i < f.len; i++)
        v |= (uint64_t)(unsigned char)f.p[i] << (8 * i);
    return ((v ^ secret) + f.len) * 0x9E3779B97F4A7C15ULL;
}

/* 1 if two of the n entries have the same field: pairwise for a few, else through a small
 * open-addressing table of their hashes (compared in full when the hashes meet). */
static int has_duplicate(const hash_entry *e, size_t n) {
    if (n <= 8) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (slice_eq(e[i].field, e[j].field)) return 1;
        return 0;
    }
    size_t cap = 16;
    int bits = 4;
    while (cap < 2 * n)
        cap *= 2, bits++;
    uint32_t small[2048];
    uint32_t *slot = cap <= 2048 ? small : mem_alloc(cap * sizeof(*slot));
    memset(slot, 0, cap * sizeof(*slot));
    static uint64_t secret;
    if (!secret) secret = dict_hash("duplicates", 10) | 1;
    int dup = 0;
    for (size_t i = 0; i < n && !dup; i++) {
        size_t k = (size_t)(dup_hash(e[i].field, secret) >> (64 - bits));
        for (; slot[k]; k = (k + 1) & (cap - 1))
            if (slice_eq(e[slot[k] - 1].field, e[i].field)) {
                dup = 1;
                break;
            }
        slot[k] = (uint32_t)(i + 1);
    }
    if (slot != small) mem_free(slot);
    return dup;
}

/* The compact size of the entries, or 0 when they must be a hashtable under lim. */
static size_t compact_size(const hash_limits *lim, const hash_entry *e, size_t n, int *ex,
                           int64_t *base) {
    size_t max_entries = lim->max_listpack_entries;
    if (max_entries > LP_MAX_ENTRIES) max_entries = LP_MAX_ENTRIES;
    *ex = 0;
    *base = HASH_NO_TTL;
    if (n > max_entries) return 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].field.len > lim->max_listpack_value || e[i].value.len > lim->max_listpack_value)
            return 0;
        if (e[i].deadline != HASH_NO_TTL && (*base == HASH_NO_TTL || e[i].deadline < *base))
            *base = e[i].deadline;
    }
    *ex = *base != HASH_NO_TTL;
    size_t size = *ex ? LPEX_HDR : LP_HDR;
    for (size_t i = 0; i < n && size <= LP_MAX_BYTES; i++)
        size += lp_entry_size(*ex, *base, e[i].field.len, e[i].value.len, e[i].deadline);
    return size <= LP_MAX_BYTES ? size : 0;
}

hash *hash_new_sized(const hash_limits *lim, size_t n) {
    size_t max_entries = lim->max_listpack_entries;
    if (max_entries > LP_MAX_ENTRIES) max_entries = LP_MAX_ENTRIES;
    if (n <= max_entries) return hash_new();
    hash *h = mem_alloc(sizeof(*h));
    h->hdr = (obj){.type = OBJ_HASH, .enc = ENC_HASHTABLE};
    hash_ht *t = ht_new();
    otab_reserve(&t->d, n);
    h->p = t;
    return h;
}

hash *hash_from_entries(const hash_limits *lim, const hash_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert(e[i].deadline >= 0 && e[i].deadline <= HASH_DEADLINE_MAX);
    int ex;
    int64_t base;
    size_t size = compact_size(lim, e, n, &ex, &base);
    if (size) return has_duplicate(e, n) ? NULL : lp_build(e, n, ex, base, size);
    hash *h = mem_alloc(sizeof(*h));
    hash_ht *t = ht_new();
    otab_reserve(&t->d, n);
    h->hdr = (obj){.type = OBJ_HASH, .enc = ENC_HASHTABLE};
    h->p = t;
    for (size_t i = 0; i < n; i++) {
        if (ht_find(t, e[i].field)) {
            hash_free(h);
            return NULL;
        }
        ht_add(t, hent_new(e[i].field, e[i].value, e[i].deadline));
    }
    return h;
}

size_t hash_memory(const hash *h) {
    size_t n = mem_usable(h);
    if (is_compact(h)) return n;
    hash_ht *t = ht_of(h);
    n += mem_usable(t) + t->ttl.bytes + otab_bytes(&t->d);
    size_t total = otab_size(&t->d), sampled = 0, bytes = 0;
    otab_iter it;
    otab_iter_init(&it, &t->d);
    for (void *item; sampled < 1024 && (item = otab_iter_next(&it)); sampled++)
        bytes += mem_usable(item);
    otab_iter_deinit(&it);
    return n + (sampled ? (size_t)((double)bytes / (double)sampled * (double)total) : 0);
}

enum obj_enc hash_encoding(const hash *h) {
    return (enum obj_enc)h->hdr.enc;
}

const char *hash_encoding_name(const hash *h) {
    switch (h->hdr.enc) {
    case ENC_LISTPACK:
        return "listpack";
    case ENC_LISTPACKEX:
        return "listpackex";
    default:
        return "hashtable";
    }
}

/* ---- size --------------------------------------------------------------------------- */

size_t hash_len(const hash *h, int64_t now_ms) {
    if (is_compact(h)) return lp_live(h, now_ms);
    const hash_ht *t = ht_of(h);
    return otab_size(&t->d) - ttl_count_due(t, now_ms);
}

int hash_has_live(const hash *h, int64_t now_ms) {
    int64_t next = hash_next_deadline(h);
    if (next == HASH_NO_TTL || next > now_ms) return hash_stored(h) > 0;
    if (!is_compact(h)) {
        int64_t death = hash_death(h);
        return death == HASH_NO_TTL || death > now_ms;
    }
    lp_ent e;
    for (size_t off = lp_first(h); lp_at(h, off, &e); off += e.len)
        if (!is_due(e.deadline, now_ms)) return 1;
    return 0;
}

size_t hash_stored(const hash *h) {
    return is_compact(h) ? lp_count(h) : otab_size(&ht_of(h)->d);
}

/* ---- fields ------------------------------------------------------------------------- */

int hash_get(hash *h, int64_t now_ms, slice field, hash_entry *out) {
    if (is_compact(h)) {
        lp_ent e;
        if (!lp_find(h, field, &e) || is_due(e.deadline, now_ms)) return HASH_ENOTFOUND;
        if (out) lp_view(&e, out);
        return HASH_OK;
    }
    hent *e = ht_find(ht_of(h), field);
    if (!e || is_due(hent_deadline(e), now_ms)) return HASH_ENOTFOUND;
    if (out) hent_view(e, out);
    return HASH_OK;
}

/* Converts a compact hash to ENC_HASHTABLE, keeping every entry and deadline and the
 * object header; returns the new hash (h is freed). */
static hash *convert_to_ht(hash *h) {
    hash_ht *t = ht_new();
    lp_ent e;
    for (size_t off = lp_first(h); lp_at(h, off, &e); off += e.len) {
        slice f = {(const char *)e.f, e.flen}, v = {(const char *)e.v, e.vlen};
        ht_add(t, hent_new(f, v, e.deadline));
    }
    hash *nh = mem_alloc(sizeof(*nh));
    nh->hdr = h->hdr;
    nh->hdr.enc = ENC_HASHTABLE;
    nh->p = t;
    mem_free(h);
    return nh;
}

int hash_set(hash **hp, const hash_limits *lim, int64_t now_ms, slice field, slice value,
             enum hash_ttl_policy policy, int64_t deadline) {
    assert(policy != HASH_TTL_SET || (deadline > 0 && deadline <= HASH_DEADLINE_MAX));
    hash *h = *hp;
    if (is_compact(h)) {
        int fits = field.len <= lim->max_listpack_value && value.len <= lim->max_listpack_value;
        lp_ent e;
        int found = fits && lp_find(h, field, &e);
        if (fits) {
            size_t max_entries = lim->max_listpack_entries;
            if (max_entries > LP_MAX_ENTRIES) max_entries = LP_MAX_ENTRIES;
            /* Upper bound of the new size: a longer first varint, a 7-byte code and
             * LPEX_HDR. */
            size_t grown = lp_used(h) + lp_entry_size(0, 0, field.len, value.len, 0) + 8 +
                           LPEX_HDR - (found ? e.len : 0);
            fits = (found || lp_count(h) < max_entries) && grown <= LP_MAX_BYTES;
        }
        if (fits) {
            int created = !found || is_due(e.deadline, now_ms);
            int64_t nd = policy == HASH_TTL_SET                ? deadline
                         : policy == HASH_TTL_KEEP && !created ? e.deadline
                                                               : HASH_NO_TTL;
            lp_put(hp, found ? &e : NULL, field, value, nd);
            return created;
        }
        h = *hp = convert_to_ht(h);
    }
    return ht_put(ht_of(h), now_ms, field, value, policy, deadline);
}

int hash_del(hash **hp, int64_t now_ms, slice field) {
    hash *h = *hp;
    if (is_compact(h)) {
        lp_ent e;
        if (!lp_find(h, field, &e) || is_due(e.deadline, now_ms)) return 0;
        lp_delete(hp, &e);
        return 1;
    }
    hent *e = ht_find(ht_of(h), field);
    if (!e || is_due(hent_deadline(e), now_ms)) return 0;
    ht_delete(ht_of(h), e);
    return 1;
}

/* ---- iteration and scan ------------------------------------------------------------- */

void hash_iter_init(hash_iter *it, hash *h, int64_t now_ms) {
    it->h = h;
    it->now_ms = now_ms;
    it->off = 0;
    if (is_compact(h))
        it->off = lp_first(h);
    else
        otab_iter_init(&it->di, &ht_of(h)->d);
}

int hash_iter_next(hash_iter *it, hash_entry *out) {
    if (is_compact(it->h)) {
        lp_ent e;
        while (lp_at(it->h, it->off, &e)) {
            it->off += e.len;
            if (is_due(e.deadline, it->now_ms)) continue;
            lp_view(&e, out);
            return 1;
        }
        return 0;
    }
    for (const hent *e; (e = otab_iter_next(&it->di));) {
        hent_view(e, out);
        if (!is_due(out->deadline, it->now_ms)) return 1;
    }
    return 0;
}

void hash_iter_deinit(hash_iter *it) {
    if (!is_compact(it->h)) otab_iter_deinit(&it->di);
}

typedef struct scan_state {
    int64_t now_ms;
    hash_visit_fn fn;
    void *ctx;
    size_t emitted;
} scan_state;

static void scan_node(void *item, void *arg) {
    scan_state *st = arg;
    hash_entry e;
    hent_view(item, &e);
    if (is_due(e.deadline, st->now_ms)) return;
    st->fn(&e, st->ctx);
    st->emitted++;
}

uint64_t hash_scan(hash *h, int64_t now_ms, uint64_t cursor, size_t count, hash_visit_fn fn,
                   void *ctx) {
    if (is_compact(h)) {
        hash_iter it;
        hash_entry e;
        hash_iter_init(&it, h, now_ms);
        while (hash_iter_next(&it, &e))
            fn(&e, ctx);
        hash_iter_deinit(&it);
        return 0;
    }
    if (count == 0) count = 1;
    scan_state st = {now_ms, fn, ctx, 0};
    size_t steps = 0, max_steps = count * 10;
    do {
        cursor = otab_scan(&ht_of(h)->d, cursor, scan_node, &st);
    } while (cursor != 0 && st.emitted < count && ++steps < max_steps);
    return cursor;
}

/* ---- random ------------------------------------------------------------------------- */

/* Emits the k-th live field (0-based) in storage order: O(n), the fallback. */
static void nth_live(hash *h, int64_t now_ms, size_t k, hash_entry *out) {
    hash_iter it;
    hash_iter_init(&it, h, now_ms);
    for (size_t i = 0; hash_iter_next(&it, out) && i < k; i++) {
    }
    hash_iter_deinit(&it);
}

/* A uniformly random live entry of a hashtable with live > 0 live fields. A live field
 * with a deadline is taken by rank from the deadline index, where the due ones rank first,
 * so a backlog of due fields costs nothing; a field without a deadline is drawn from the
 * table until one without a deadline comes up. */
static const hent *ht_random_live(hash *h, size_t live) {
    hash_ht *t = ht_of(h);
    size_t with_ttl = ostree_len(&t->ttl);
    size_t plain = otab_size(&t->d) - with_ttl;
    size_t ttl_live = live - plain;
    size_t r = rand_below(live);
    if (r < ttl_live) return ostree_at(&t->ttl, with_ttl - ttl_live + r);
    for (int tries = 0; tries < 64; tries++) {
        const hent *e = otab_random(&t->d, rand_u64);
        if (!hent_has_ttl(e)) return e;
    }
    /* Few fields without a deadline among many with one: pick by rank among them. */
    size_t k = rand_below(plain);
    const hent *found = NULL;
    otab_iter it;
    otab_iter_init(&it, &t->d);
    for (const hent *e; (e = otab_iter_next(&it));) {
        if (hent_has_ttl(e)) continue;
        if (k-- == 0) {
            found = e;
            break;
        }
    }
    otab_iter_deinit(&it);
    assert(found);
    return found;
}

int hash_random(hash *h, int64_t now_ms, hash_entry *out) {
    size_t live = hash_len(h, now_ms);
    if (live == 0) return HASH_ENOTFOUND;
    if (is_compact(h))
        nth_live(h, now_ms, rand_below(live), out);
    else
        hent_view(ht_random_live(h, live), out);
    return HASH_OK;
}

/* Emits exactly k of the live fields, each k-subset equally likely (selection sampling,
 * Knuth's Algorithm S): one pass, no memory, storage order. */
static void select_k(hash *h, int64_t now_ms, size_t live, size_t k, hash_visit_fn fn, void *ctx) {
    hash_iter it;
    hash_entry e;
    hash_iter_init(&it, h, now_ms);
    while (k > 0 && hash_iter_next(&it, &e)) {
        if (rand_below(live) < k) {
            fn(&e, ctx);
            k--;
        }
        live--;
    }
    hash_iter_deinit(&it);
}

/* select_k for a hashtable whose every field has a deadline: the live fields are the
 * last `live` ranks of the deadline index, so a backlog of due fields is not walked. */
static void select_k_ranked(hash *h, size_t live, size_t k, hash_visit_fn fn, void *ctx) {
    hash_ht *t = ht_of(h);
    size_t first = ostree_len(&t->ttl) - live;
    for (size_t i = 0; k > 0 && i < live; i++) {
        if (rand_below(live - i) >= k) continue;
        hash_entry v;
        hent_view(ostree_at(&t->ttl, first + i), &v);
        fn(&v, ctx);
        k--;
    }
}

size_t hash_random_distinct(hash *h, int64_t now_ms, size_t count, hash_visit_fn fn, void *ctx) {
    size_t live = hash_len(h, now_ms);
    if (count > live) count = live;
    if (count == 0) return 0;
    if (!is_compact(h) && hash_ttl_count(h) == hash_stored(h) && hash_stored(h) - live > live) {
        select_k_ranked(h, live, count, fn, ctx);
        return count;
    }
    if (is_compact(h) || count > live / 3) {
        select_k(h, now_ms, live, count, fn, ctx);
        return count;
    }
    /* Few out of many: draw at random and drop repeats with a small open-addressing set
     * of entry pointers (capacity a power of two, at least twice count). */
    size_t cap = 16;
    while (cap < count * 2)
        cap *= 2;
    const hent **seen = mem_calloc(cap, sizeof(*seen));
    size_t emitted = 0;
    while (emitted < count) {
        const hent *e = ht_random_live(h, live);
        size_t i = (size_t)(((uintptr_t)e >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (seen[i] && seen[i] != e)
            i = (i + 1) & (cap - 1);
        if (seen[i]) continue;
        seen[i] = e;
        hash_entry v;
        hent_view(e, &v);
        fn(&v, ctx);
        emitted++;
    }
    mem_free(seen);
    return count;
}

size_t hash_random_repeat(hash *h, int64_t now_ms, size_t count, hash_visit_fn fn, void *ctx) {
    size_t live = hash_len(h, now_ms);
    if (live == 0 || count == 0) return 0;
    hash_entry v;
    if (!is_compact(h)) {
        for (size_t i = 0; i < count; i++) {
            hent_view(ht_random_live(h, live), &v);
            fn(&v, ctx);
        }
        return count;
    }
    /* Index the live entries once, then draw: O(n + count). */
    uint32_t *offs = mem_alloc(live * sizeof(*offs));
    size_t n = 0;
    lp_ent e;
    for (size_t off = lp_first(h); lp_at(h, off, &e); off += e.len)
        if (!is_due(e.deadline, now_ms)) offs[n++] = (uint32_t)off;
    for (size_t i = 0; i < count; i++) {
        lp_at(h, offs[rand_below(n)], &e);
        lp_view(&e, &v);
        fn(&v, ctx);
    }
    mem_free(offs);
    return count;
}
