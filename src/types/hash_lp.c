/* hash_lp: the compact encodings of a hash (ENC_LISTPACK and ENC_LISTPACKEX).
 *
 * A compact hash is one contiguous allocation, the object header included, allocated to
 * its exact used size so that a 10-field hash sits in one jemalloc size class with no
 * slack beyond the class rounding:
 *
 *     0        8      12          14              16         22 (LISTPACKEX only)
 *     [obj hdr][used][count u16][ttl_count u16][base u48] [entry][entry]...
 *
 *     ENC_LISTPACK entry:   [flen varint][vlen varint][field][value]
 *     ENC_LISTPACKEX entry: [flen<<1|c varint][vlen varint]([code varint] if c)[field][value]
 *
 * Varints are LEB128 (one byte below 128). ENC_LISTPACK entries have no TTL bits at all,
 * so a hash without TTLs pays nothing. In ENC_LISTPACKEX, base is the earliest deadline
 * of any field (the invariant, kept exact by every write); c = 0 says the field's deadline
 * is base (no byte: fields set together by one HSETEX share it), c = 1 is followed by
 * code, 0 for no TTL, else the deadline's distance from base. hash_next_deadline is the
 * header's base. When the earliest field goes away or a new field undercuts the base, the
 * blob is rebuilt around the new base; when the last TTL goes, it is rebuilt as
 * ENC_LISTPACK. Both are O(n), like any write to a compact hash. Fast paths skip the
 * rebuild where the layout is known: a write to the only entry with a TTL (it stays at the
 * base, only the base moves), and the first TTL of an empty hash.
 *
 * The hash pointer is the blob, so every write that resizes it moves the hash (the
 * writers take a hash **). A rebuilt blob copies the object header (LRU clock, flags).
 *
 * Lookups are a linear scan comparing lengths first. Writes splice the blob in place
 * (memmove plus one realloc to the new exact size). The entry count is at most 65535
 * (larger configured limits act as 65535) and the blob at most LP_MAX_BYTES. */
#include "mayfly/util/mem.h"
#include "types/hash_int.h"

#include <stdlib.h>

static void set_used(uint8_t *b, size_t v) {
    put_le(b + LP_USED, v, 4);
}
static void set_count(uint8_t *b, size_t v) {
    put_le(b + LP_COUNT, v, 2);
}
static void set_ttl_count(uint8_t *b, size_t v) {
    put_le(b + LP_TTLS, v, 2);
}
static void set_base(uint8_t *b, int64_t base) {
    put_le(b + LP_BASE, (uint64_t)base, 6);
}

hash *lp_new(void) {
    uint8_t *b = mem_alloc(LP_HDR);
    hash *h = (hash *)b;
    h->hdr = (obj){.type = OBJ_HASH, .enc = ENC_LISTPACK};
    set_used(b, LP_HDR);
    set_count(b, 0);
    set_ttl_count(b, 0);
    return h;
}

/* The head of an entry (lengths and TTL bits) in a blob of this kind: writes it to dst
 * (when not NULL) and returns its length. */
static size_t head_put(uint8_t *dst, int ex, int64_t base, size_t flen, size_t vlen,
                       int64_t deadline) {
    uint8_t tmp[32];
    uint8_t *w = dst ? dst : tmp;
    size_t n;
    if (!ex) {
        n = varint_put(w, flen);
        return n + varint_put(w + n, vlen);
    }
    int at_base = deadline != HASH_NO_TTL && deadline == base;
    n = varint_put(w, ((uint64_t)flen << 1) | (at_base ? 0u : 1u));
    n += varint_put(w + n, vlen);
    if (!at_base) {
        assert(deadline == HASH_NO_TTL || deadline > base);
        n += varint_put(w + n, deadline == HASH_NO_TTL ? 0 : (uint64_t)(deadline - base));
    }
    return n;
}

static size_t head_len(int ex, int64_t base, size_t flen, size_t vlen, int64_t deadline) {
    return head_put(NULL, ex, base, flen, vlen, deadline);
}

/* Decodes the head at p: lengths, and the deadline (HASH_NO_TTL when none); returns its
 * length. */
static inline size_t head_get(const uint8_t *p, int ex, int64_t base, uint64_t *fl, uint64_t *vl,
                              int64_t *deadline) {
    size_t n = varint_get(p, fl);
    n += varint_get(p + n, vl);
    *deadline = HASH_NO_TTL;
    if (!ex) return n;
    if (*fl & 1) {
        uint64_t code;
        n += varint_get(p + n, &code);
        if (code) *deadline = base + (int64_t)code;
    } else {
        *deadline = base;
    }
    *fl >>= 1;
    return n;
}

size_t lp_entry_size(int ex, int64_t base, size_t flen, size_t vlen, int64_t deadline) {
    return head_len(ex, base, flen, vlen, deadline) + flen + vlen;
}

/* memcpy of n bytes, inline for up to 16 (fields and values are mostly short, and a
 * memcpy of a length unknown at compile time is a library call): two fixed-size copies
 * that may overlap. */
static inline void copy_bytes(uint8_t *dst, const void *src, size_t n) {
    const uint8_t *s = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            dst[i] = s[i];
    } else {
        memcpy(dst, s, n);
    }
}

static size_t encode_entry(uint8_t *dst, int ex, int64_t base, const void *f, size_t flen,
                           const void *v, size_t vlen, int64_t deadline) {
    size_t n = head_put(dst, ex, base, flen, vlen, deadline);
    copy_bytes(dst + n, f, flen);
    n += flen;
    copy_bytes(dst + n, v, vlen);
    return n + vlen;
}

hash *lp_build(const hash_entry *e, size_t n, int ex, int64_t base, size_t size) {
    uint8_t *b = mem_alloc(size);
    hash *h = (hash *)b;
    h->hdr = (obj){.type = OBJ_HASH, .enc = ex ? ENC_LISTPACKEX : ENC_LISTPACK};
    size_t w = ex ? LPEX_HDR : LP_HDR, ttls = 0;
    if (ex) set_base(b, base);
    for (size_t i = 0; i < n; i++) {
        w += encode_entry(b + w, ex, base, e[i].field.p, e[i].field.len, e[i].value.p,
                          e[i].value.len, e[i].deadline);
        ttls += e[i].deadline != HASH_NO_TTL;
    }
    assert(w == size && (ex || ttls == 0));
    set_used(b, size);
    set_count(b, n);
    set_ttl_count(b, ttls);
    return h;
}

int lp_at(const hash *h, size_t off, lp_ent *e) {
    const uint8_t *b = lp_b(h);
    if (off >= lp_used(h)) return 0;
    uint64_t fl, vl;
    size_t n =
        off + head_get(b + off, h->hdr.enc == ENC_LISTPACKEX, lp_base(h), &fl, &vl, &e->deadline);
    e->off = off;
    e->f = b + n;
    e->flen = (size_t)fl;
    e->v = e->f + fl;
    e->vlen = (size_t)vl;
    e->len = n - off + (size_t)fl + (size_t)vl;
    return 1;
}

int lp_find(const hash *h, slice field, lp_ent *e) {
    const uint8_t *b = lp_b(h);
    size_t used = lp_used(h), off = lp_first(h);
    int ex = h->hdr.enc == ENC_LISTPACKEX;
    /* Fields of one hash often share a prefix (f0, f1, ...): the last byte tells most
     * of them apart before a memcmp call. */
    uint8_t last = field.len ? (uint8_t)field.p[field.len - 1] : 0;
    while (off < used) {
        /* Decode only the lengths until the field matches: the common miss is cheap. */
        uint64_t fl, vl, code;
        size_t n = off;
        n += varint_get(b + n, &fl);
        n += varint_get(b + n, &vl);
        if (ex) {
            if (fl & 1) n += varint_get(b + n, &code);
            fl >>= 1;
        }
        if (fl == field.len && (fl == 0 || b[n + fl - 1] == last) &&
            memcmp(b + n, field.p, field.len) == 0)
            return lp_at(h, off, e);
        off = n + (size_t)fl + (size_t)vl;
    }
    return 0;
}

/* Decodes the entry at off, which must exist (a broken invariant aborts, in release too). */
static void entry_at(const hash *h, size_t off, lp_ent *e) {
    if (!lp_at(h, off, e)) abort();
}

/* Resizes the gap at off from old_len to new_len bytes, moving the tail, and updates
 * used. Returns the (possibly moved) blob, which is also the new *hp. */
static uint8_t *splice(hash **hp, size_t off, size_t old_len, size_t new_len) {
    uint8_t *b = lp_b(*hp);
    size_t used = lp_used(*hp);
    size_t tail = used - off - old_len;
    size_t new_used = used - old_len + new_len;
    if (new_len > old_len) {
        b = mem_realloc(b, new_used);
        memmove(b + off + new_len, b + off + old_len, tail);
    } else if (new_len < old_len) {
        memmove(b + off + new_len, b + off + old_len, tail);
        b = mem_realloc(b, new_used);
    }
    set_used(b, new_used);
    *hp = (hash *)b;
    return b;
}

/* One entry written in place of the entry at off, or appended when off is the end of the
 * blob: a write folded into a rebuild, so a change of base costs one allocation. */
typedef struct lp_edit {
    size_t off;
    slice field, value;
    int64_t deadline;
} lp_edit;

/* Re-encodes every entry into a new blob: ENC_LISTPACKEX around base when ex, else
 * ENC_LISTPACK (which requires that no entry keeps a TTL). If edit is not NULL it is
 * applied on the way (count and ttl_count are the caller's to update); its slices may
 * point into the old blob. The object header is carried over. */
static void rebuild_edit(hash **hp, int ex, int64_t base, const lp_edit *edit) {
    const hash *h = *hp;
    size_t size = ex ? LPEX_HDR : LP_HDR;
    lp_ent e;
    size_t off;
    for (off = lp_first(h); lp_at(h, off, &e); off += e.len)
        if (!edit || edit->off != off) size += lp_entry_size(ex, base, e.flen, e.vlen, e.deadline);
    if (edit) size += lp_entry_size(ex, base, edit->field.len, edit->value.len, edit->deadline);
    uint8_t *b = mem_alloc(size);
    hash *nh = (hash *)b;
    nh->hdr = h->hdr;
    nh->hdr.enc = ex ? ENC_LISTPACKEX : ENC_LISTPACK;
    set_used(b, size);
    set_count(b, lp_count(h));
    set_ttl_count(b, lp_ttl_count(h));
    size_t w = LP_HDR;
    if (ex) {
        set_base(b, base);
        w = LPEX_HDR;
    }
    for (off = lp_first(h); lp_at(h, off, &e); off += e.len) {
        if (edit && edit->off == off)
            w += encode_entry(b + w, ex, base, edit->field.p, edit->field.len, edit->value.p,
                              edit->value.len, edit->deadline);
        else
            w += encode_entry(b + w, ex, base, e.f, e.flen, e.v, e.vlen, e.deadline);
    }
    if (edit && edit->off == off) /* append */
        w += encode_entry(b + w, ex, base, edit->field.p, edit->field.len, edit->value.p,
                          edit->value.len, edit->deadline);
    assert(w == size);
    mem_free(*hp);
    *hp = nh;
}

/* The cheap case of a base change: when the blob stays LISTPACKEX, edit replaces an
 * existing entry with a field and value of the same lengths, and no entry's head changes
 * length, every byte stays where it is: rewrite the base, the heads and the edited value
 * in place, without an allocation. (A one-field hash whose deadline is refreshed is
 * exactly this.) Returns 1 if done, 0 if a rebuild is needed. */
static int rebase_in_place(hash *h, int64_t base, const lp_edit *edit) {
    uint8_t *b = lp_b(h);
    int64_t old_base = lp_base(h);
    lp_ent e;
    size_t off;
    int seen = 0;
    for (off = lp_first(h); lp_at(h, off, &e); off += e.len) {
        int64_t dl = e.deadline;
        if (off == edit->off) {
            if (e.flen != edit->field.len || e.vlen != edit->value.len) return 0;
            dl = edit->deadline;
            seen = 1;
        }
        if (head_len(1, old_base, e.flen, e.vlen, e.deadline) !=
            head_len(1, base, e.flen, e.vlen, dl))
            return 0;
    }
    if (!seen) return 0;
    /* Each entry is decoded (against the old base, still in the header) before its head is
     * rewritten; the new base goes in last. */
    for (off = lp_first(h); lp_at(h, off, &e); off += e.len) {
        int64_t dl = off == edit->off ? edit->deadline : e.deadline;
        head_put(b + off, 1, base, e.flen, e.vlen, dl);
        if (off == edit->off) memmove((uint8_t *)e.v, edit->value.p, e.vlen);
    }
    set_base(b, base);
    return 1;
}

static void rebuild(hash **hp, int ex, int64_t base) {
    assert(ex || lp_ttl_count(*hp) == 0);
    rebuild_edit(hp, ex, base, NULL);
}

/* The earliest deadline of any entry other than the one at skip (SIZE_MAX: none), or
 * HASH_NO_TTL. */
static int64_t scan_min_except(const hash *h, size_t skip) {
    int64_t m = HASH_NO_TTL;
    lp_ent e;
    for (size_t off = lp_first(h); lp_at(h, off, &e); off += e.len)
        if (off != skip && e.deadline != HASH_NO_TTL && (m == HASH_NO_TTL || e.deadline < m))
            m = e.deadline;
    return m;
}

/* The layout the blob needs once the entry at off (deadline old_dl; off may be the end for
 * a new entry) has deadline new_dl: *ex (OUT) whether it is LISTPACKEX, *base (OUT) the
 * earliest deadline. Scans the entries only when the entry held the base. */
static void layout_after(const hash *h, size_t off, int64_t old_dl, int64_t new_dl, int *ex,
                         int64_t *base) {
    size_t ttls = lp_ttl_count(h);
    size_t after = ttls - (old_dl != HASH_NO_TTL) + (new_dl != HASH_NO_TTL);
    *ex = after > 0;
    *base = HASH_NO_TTL;
    if (after == 0) return;
    int64_t others = HASH_NO_TTL;
    if (h->hdr.enc == ENC_LISTPACKEX && ttls > 0) {
        int64_t cur = lp_base(h);
        others = (old_dl == HASH_NO_TTL || old_dl != cur) ? cur : scan_min_except(h, off);
    }
    *base = others;
    if (new_dl != HASH_NO_TTL && (others == HASH_NO_TTL || new_dl < others)) *base = new_dl;
}

/* 1 if the blob already has the layout (ex, base). */
static int layout_is(const hash *h, int ex, int64_t base) {
    if (ex != (h->hdr.enc == ENC_LISTPACKEX)) return 0;
    return !ex || (lp_ttl_count(h) > 0 && lp_base(h) == base);
}

/* Restores "base is the earliest deadline" after an entry whose deadline was old_dl was
 * removed or changed, and drops to ENC_LISTPACK when no TTL is left. */
static void fix_base(hash **hp, int64_t old_dl) {
    hash *h = *hp;
    if (h->hdr.enc != ENC_LISTPACKEX) return;
    if (lp_ttl_count(h) == 0) {
        rebuild(hp, 0, 0);
        return;
    }
    if (old_dl == HASH_NO_TTL || old_dl != lp_base(h)) return;
    int64_t m = scan_min_except(h, SIZE_MAX);
    if (m != lp_base(h)) rebuild(hp, 1, m);
}

/* 1 if the entry (deadline old_dl) is the blob's only TTL and keeps one (new_dl): then it
 * alone holds the base, it stays at the base before and after, and every other entry has
 * no TTL, so a base move needs no re-encode. (A one-field hash refreshed with a later
 * deadline.) */
static int sole_ttl_stays(const hash *h, int64_t old_dl, int64_t new_dl) {
    return h->hdr.enc == ENC_LISTPACKEX && old_dl != HASH_NO_TTL && new_dl != HASH_NO_TTL &&
           lp_ttl_count(h) == 1;
}

/* The first field of an empty hash, with a TTL: encoded straight into a LISTPACKEX blob. */
static void put_first_ttl(hash **hp, slice field, slice value, int64_t deadline) {
    size_t need = LPEX_HDR + lp_entry_size(1, deadline, field.len, value.len, deadline);
    /* A fresh allocation: jemalloc's realloc across size classes costs several times a
     * malloc plus a free of a header this small. */
    uint8_t *b = mem_alloc(need);
    hash *nh = (hash *)b;
    nh->hdr = (*hp)->hdr;
    nh->hdr.enc = ENC_LISTPACKEX;
    mem_free(*hp);
    set_used(b, need);
    set_count(b, 1);
    set_ttl_count(b, 1);
    set_base(b, deadline);
    encode_entry(b + LPEX_HDR, 1, deadline, field.p, field.len, value.p, value.len, deadline);
    *hp = nh;
}

void lp_put(hash **hp, const lp_ent *old, slice field, slice value, int64_t deadline) {
    hash *h = *hp;
    int64_t old_dl = old ? old->deadline : HASH_NO_TTL;
    if (old && sole_ttl_stays(h, old_dl, deadline)) {
        size_t need = lp_entry_size(1, deadline, field.len, value.len, deadline);
        uint8_t *b = splice(hp, old->off, old->len, need);
        encode_entry(b + old->off, 1, deadline, field.p, field.len, value.p, value.len, deadline);
        set_base(b, deadline);
        return;
    }
    if (!old && deadline != HASH_NO_TTL && h->hdr.enc == ENC_LISTPACK && lp_count(h) == 0) {
        put_first_ttl(hp, field, value, deadline);
        return;
    }
    size_t off = old ? old->off : lp_used(h), old_len = old ? old->len : 0;
    size_t ttls = lp_ttl_count(h) + (deadline != HASH_NO_TTL) - (old_dl != HASH_NO_TTL);
    size_t count = lp_count(h) + (old ? 0 : 1);
    int ex;
    int64_t base;
    layout_after(h, off, old_dl, deadline, &ex, &base);
    if (!layout_is(h, ex, base)) {
        /* The base moves (or the TTL bits appear or go): one re-encode, with the write
         * folded in. */
        lp_edit edit = {off, field, value, deadline};
        if (!(old && ex && h->hdr.enc == ENC_LISTPACKEX && rebase_in_place(h, base, &edit)))
            rebuild_edit(hp, ex, base, &edit);
    } else {
        size_t need = lp_entry_size(ex, base, field.len, value.len, deadline);
        uint8_t *b = splice(hp, off, old_len, need);
        encode_entry(b + off, ex, base, field.p, field.len, value.p, value.len, deadline);
    }
    set_count(lp_b(*hp), count);
    set_ttl_count(lp_b(*hp), ttls);
}

void lp_set_deadline(hash **hp, const lp_ent *e, int64_t deadline) {
    hash *h = *hp;
    int64_t old_dl = e->deadline;
    size_t off = e->off;
    if (old_dl == deadline) return;
    if (sole_ttl_stays(h, old_dl, deadline)) {
        set_base(lp_b(h), deadline);
        return;
    }
    size_t ttls = lp_ttl_count(h) + (deadline != HASH_NO_TTL) - (old_dl != HASH_NO_TTL);
    int ex;
    int64_t base;
    layout_after(h, off, old_dl, deadline, &ex, &base);
    lp_ent cur;
    entry_at(h, off, &cur);
    if (!layout_is(h, ex, base)) {
        lp_edit edit = {
            off, {(const char *)cur.f, cur.flen}, {(const char *)cur.v, cur.vlen}, deadline};
        if (!(ex && h->hdr.enc == ENC_LISTPACKEX && rebase_in_place(h, base, &edit)))
            rebuild_edit(hp, ex, base, &edit);
    } else {
        /* Only the head changes: splice it, the field and value bytes stay put. */
        size_t old_head = cur.len - cur.flen - cur.vlen;
        size_t new_head = head_len(1, base, cur.flen, cur.vlen, deadline);
        uint8_t *b = splice(hp, off, old_head, new_head);
        head_put(b + off, 1, base, cur.flen, cur.vlen, deadline);
    }
    set_ttl_count(lp_b(*hp), ttls);
}

void lp_delete(hash **hp, const lp_ent *e) {
    int64_t old_dl = e->deadline;
    uint8_t *b = splice(hp, e->off, e->len, 0);
    set_count(b, lp_count(*hp) - 1);
    if (old_dl != HASH_NO_TTL) set_ttl_count(b, lp_ttl_count(*hp) - 1);
    fix_base(hp, old_dl);
}

size_t lp_live(const hash *h, int64_t now_ms) {
    if (lp_ttl_count(h) == 0 || lp_base(h) > now_ms) return lp_count(h);
    size_t n = 0;
    lp_ent e;
    for (size_t off = lp_first(h); lp_at(h, off, &e); off += e.len)
        n += !is_due(e.deadline, now_ms);
    return n;
}

int64_t lp_last_deadline(const hash *h) {
    if (h->hdr.enc != ENC_LISTPACKEX || lp_ttl_count(h) == 0) return HASH_NO_TTL;
    /* Only the heads are decoded: the largest code is the last deadline (an entry at the
     * base has code 0, and some entry has a TTL). */
    const uint8_t *b = lp_b(h);
    size_t used = lp_used(h), off = LPEX_HDR;
    uint64_t top = 0;
    while (off < used) {
        uint64_t fl, vl, code = 0;
        off += varint_get(b + off, &fl);
        off += varint_get(b + off, &vl);
        if (fl & 1) off += varint_get(b + off, &code);
        if (code > top) top = code;
        off += (size_t)(fl >> 1) + (size_t)vl;
    }
    return lp_base(h) + (int64_t)top;
}

#define REAP_CHUNK 64

typedef struct due_ref {
    int64_t deadline;
    size_t off;
} due_ref;

/* Collects into refs (sorted by deadline, then offset) the REAP_CHUNK earliest due
 * entries; returns how many. */
static size_t collect_due(const hash *h, int64_t now_ms, due_ref *refs) {
    size_t n = 0;
    lp_ent e;
    for (size_t off = lp_first(h); lp_at(h, off, &e); off += e.len) {
        if (!is_due(e.deadline, now_ms)) continue;
        if (n == REAP_CHUNK && e.deadline >= refs[n - 1].deadline) continue;
        size_t i = n < REAP_CHUNK ? n++ : n - 1;
        while (i > 0 && refs[i - 1].deadline > e.deadline) {
            refs[i] = refs[i - 1];
            i--;
        }
        refs[i] = (due_ref){e.deadline, off};
    }
    return n;
}

static int cmp_off_desc(const void *a, const void *b) {
    size_t x = ((const due_ref *)a)->off, y = ((const due_ref *)b)->off;
    return x < y ? 1 : x > y ? -1 : 0;
}

size_t lp_reap(hash **hp, int64_t now_ms, size_t max,
               void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx) {
    size_t done = 0;
    hash *h = *hp;
    due_ref refs[REAP_CHUNK];
    while (done < max && h->hdr.enc == ENC_LISTPACKEX && lp_base(h) <= now_ms) {
        size_t n = collect_due(h, now_ms, refs);
        if (n == 0) break; /* cannot happen while base is exact; be safe */
        if (n > max - done) n = max - done;
        lp_ent e;
        for (size_t i = 0; i < n; i++) {
            entry_at(h, refs[i].off, &e);
            if (on_field) on_field((const char *)e.f, e.flen, ctx);
        }
        /* Remove from the highest offset down so lower offsets stay valid, then resize
         * the blob once. */
        qsort(refs, n, sizeof(refs[0]), cmp_off_desc);
        uint8_t *b = lp_b(h);
        size_t used = lp_used(h);
        for (size_t i = 0; i < n; i++) {
            entry_at(h, refs[i].off, &e);
            memmove(b + e.off, b + e.off + e.len, used - e.off - e.len);
            used -= e.len;
            set_used(b, used);
        }
        h = mem_realloc(b, used);
        *hp = h;
        set_count(lp_b(h), lp_count(h) - n);
        set_ttl_count(lp_b(h), lp_ttl_count(h) - n);
        done += n;
        fix_base(hp, lp_base(h));
        h = *hp;
    }
    return done;
}
