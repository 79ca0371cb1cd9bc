/* hash_ht: the hashtable encoding of a hash (ENC_HASHTABLE).
 *
 * Each field is one allocation (a hent) holding everything about the field and no link:
 * the table (util/otab.h, open addressing) files a pointer to it, so that a 7-byte field
 * with a 16-byte value fits jemalloc's 32-byte class with or without a TTL:
 *
 *     short form (flen < 64, vlen < 256):
 *       [tag: TTL|0|flen:6][vlen 1]([deadline u48])[field][value]
 *     long form:
 *       [tag: TTL|LONG|0][flen varint][vlen varint]( ... same ... )
 *
 *     otab slots ──▶ hent                    ttl (hash_ttl.c): ostree of hent *
 *     [dist|frag|ptr] 8 B per slot,          ordered by (deadline, address), only the
 *     load 0.5-0.8                           entries whose tag has HENT_TTL
 *
 * The deadline exists only in entries with a TTL: adding or removing one rewrites the
 * entry, in place when the new size fits its block, else into a new block that replaces
 * the old one in the table and in the index. An entry leaves the index before its deadline
 * changes or it moves, and comes back after. An overwrite whose value fits the block is in
 * place too, so HSET of a same-sized value does not allocate. */
#include "mayfly/util/mem.h"
#include "types/hash_int.h"

static void hent_key_of(const void *item, const char **key, size_t *len) {
    const hent *e = item;
    hent_shape s;
    hent_shape_of(e, &s);
    *key = (const char *)hent_b(e) + s.data_off;
    *len = s.flen;
}

const otab_type hent_otab_type = {.key_of = hent_key_of};

static int short_form(size_t flen, size_t vlen) {
    return flen < 64 && vlen < 256;
}

static size_t hent_bytes(size_t flen, size_t vlen, int ttl) {
    size_t hdr = short_form(flen, vlen) ? 2 : 1 + varint_len(flen) + varint_len(vlen);
    return hdr + (ttl ? HENT_TTL_BYTES : 0) + flen + vlen;
}

/* Writes tag and lengths (and the deadline) into e; returns the data offset. */
static size_t write_header(hent *e, size_t flen, size_t vlen, int64_t deadline) {
    uint8_t tag = deadline != HASH_NO_TTL ? HENT_TTL : 0;
    size_t o;
    if (short_form(flen, vlen)) {
        hent_b(e)[0] = tag | (uint8_t)flen;
        hent_b(e)[1] = (uint8_t)vlen;
        o = 2;
    } else {
        hent_b(e)[0] = tag | HENT_LONG;
        o = 1;
        o += varint_put(hent_b(e) + o, flen);
        o += varint_put(hent_b(e) + o, vlen);
    }
    if (deadline != HASH_NO_TTL) {
        put_le(hent_b(e) + o, (uint64_t)deadline, 6);
        o += HENT_TTL_BYTES;
    }
    return o;
}

hent *hent_new(slice field, slice value, int64_t deadline) {
    hent *e = mem_alloc(hent_bytes(field.len, value.len, deadline != HASH_NO_TTL));
    size_t o = write_header(e, field.len, value.len, deadline);
    memcpy(hent_b(e) + o, field.p, field.len);
    if (value.len) memcpy(hent_b(e) + o + field.len, value.p, value.len);
    return e;
}

void hent_view(const hent *e, hash_entry *out) {
    hent_shape s;
    hent_shape_of(e, &s);
    const char *data = (const char *)hent_b(e) + s.data_off;
    out->field = (slice){data, s.flen};
    out->value = (slice){data + s.flen, s.vlen};
    out->deadline = hent_has_ttl(e) ? (int64_t)get_le(hent_b(e) + s.ttl_off, 6) : HASH_NO_TTL;
}

hash_ht *ht_new(void) {
    hash_ht *t = mem_alloc(sizeof(*t));
    otab_init(&t->d, &hent_otab_type);
    ttl_init(t);
    return t;
}

static void free_item(void *item, void *ctx) {
    (void)ctx;
    mem_free(item);
}

void ht_free(hash_ht *t) {
    otab_clear(&t->d, free_item, NULL);
    ostree_deinit(&t->ttl);
    mem_free(t);
}

hent *ht_find(hash_ht *t, slice field) {
    return otab_find(&t->d, field.p, field.len);
}

void ht_add(hash_ht *t, hent *e) {
    otab_add(&t->d, e);
    if (hent_has_ttl(e)) ttl_add(t, e);
}

void ht_delete(hash_ht *t, hent *e) {
    if (hent_has_ttl(e)) ttl_remove(t, e);
    otab_remove(&t->d, e);
    mem_free(e);
}

/* 1 if an entry of new_size bytes may reuse e's block: it fits, and the block is not
 * left with a whole size class of slack (so removing a TTL does give memory back). */
static int fits_in_place(const hent *e, size_t new_size) {
    size_t usable = mem_usable(e);
    return new_size <= usable && usable - new_size < 16;
}

int ht_put(hash_ht *t, int64_t now_ms, slice field, slice value, enum hash_ttl_policy policy,
           int64_t deadline) {
    uint64_t hv = dict_hash(field.p, field.len);
    hent *e = otab_find_h(&t->d, field.p, field.len, hv);
    int64_t old_dl = e ? hent_deadline(e) : HASH_NO_TTL;
    int created = e == NULL || is_due(old_dl, now_ms);
    int64_t nd = policy == HASH_TTL_SET                ? deadline
                 : policy == HASH_TTL_KEEP && !created ? old_dl
                                                       : HASH_NO_TTL;
    if (!e) {
        e = hent_new(field, value, nd);
        otab_add_h(&t->d, e, hv);
        if (nd != HASH_NO_TTL) ttl_add(t, e);
        return 1;
    }
    if (old_dl != HASH_NO_TTL) ttl_remove(t, e);
    size_t need = hent_bytes(field.len, value.len, nd != HASH_NO_TTL);
    hent *n = e;
    if (fits_in_place(e, need)) {
        size_t o = write_header(e, field.len, value.len, nd);
        memcpy(hent_b(e) + o, field.p, field.len);
        if (value.len) memcpy(hent_b(e) + o + field.len, value.p, value.len);
    } else {
        n = hent_new(field, value, nd);
        otab_replace(&t->d, e, n);
        mem_free(e);
    }
    if (nd != HASH_NO_TTL) ttl_add(t, n);
    return created;
}

void ht_set_deadline(hash_ht *t, hent *e, int64_t d) {
    int had = hent_has_ttl(e);
    if (!had && d == HASH_NO_TTL) return;
    if (had) ttl_remove(t, e);
    if (had && d != HASH_NO_TTL) {
        hent_set_deadline(e, d);
        ttl_add(t, e);
        return;
    }
    hent_shape s;
    hent_shape_of(e, &s);
    size_t need = hent_bytes(s.flen, s.vlen, d != HASH_NO_TTL);
    hent *n = e;
    if (fits_in_place(e, need)) {
        /* Shift field and value by the TTL bytes, then rewrite the header. */
        size_t new_data = s.data_off + (had ? 0 : HENT_TTL_BYTES) - (had ? HENT_TTL_BYTES : 0);
        memmove(hent_b(e) + new_data, hent_b(e) + s.data_off, s.flen + s.vlen);
        write_header(e, s.flen, s.vlen, d);
    } else {
        const char *data = (const char *)hent_b(e) + s.data_off;
        n = hent_new((slice){data, s.flen}, (slice){data + s.flen, s.vlen}, d);
        otab_replace(&t->d, e, n);
        mem_free(e);
    }
    if (d != HASH_NO_TTL) ttl_add(t, n);
}
