/* hash_int.h: the private layout of a hash, shared by hash.c (public API and conversion),
 * hash_lp.c (the compact encodings), hash_ht.c (the hashtable encoding) and hash_ttl.c
 * (deadlines and reaping). Nothing outside src/types/ includes this file.
 *
 * Layouts, in short (each .c file has the long version):
 *
 *   compact hash, one allocation (the hash pointer is the blob, so it moves when the blob
 *   is reallocated: the writers take a hash **):
 *                  [obj hdr 8][used u32][count u16][ttl_count u16]([base u48] if LISTPACKEX)
 *                  entry*
 *   entry:         LISTPACK:   [flen varint][vlen varint][field][value]
 *                  LISTPACKEX: [flen<<1|c varint][vlen varint]([code varint] if c)[field][value]
 *                  c = 0: the deadline is base; c = 1: code 0 = no TTL, else base + code
 *
 *   hashtable hash (16 B):  [obj hdr 8][p 8] -> hash_ht
 *
 *   hashtable entry (hent), one allocation per field:
 *                  [tag 1]([vlen 1] | [flen varint][vlen varint])
 *                  ([deadline u48] if tag & HENT_TTL)[field][value]
 *   hashtable:     otab (open addressing) of hent + ostree of the hents that have a deadline
 * (hash_ttl.c)
 */
#ifndef MAYFLY_TYPES_HASH_INT_H
#define MAYFLY_TYPES_HASH_INT_H

#include "mayfly/types/hash.h"
#include "mayfly/types/object.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/ostree.h"
#include "mayfly/util/otab.h"
#include "mayfly/util/slice.h"
#include "mayfly/util/varint.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The common prefix of both layouts. A compact hash is its blob (the header's first 8
 * bytes are hdr; it is read through lp_b); only ENC_HASHTABLE has p. */
struct hash {
    obj hdr; /* type OBJ_HASH; enc says which layout follows */
    void *p; /* ENC_HASHTABLE only: the hash_ht */
};

/* ---- little-endian fixed-width codec (varints: util/varint.h) ------------------------- */

static inline uint64_t get_le(const uint8_t *p, int n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The header fields (n is a constant where it is hot): plain loads. */
    if (n == 2 || n == 4 || n == 6) {
        uint32_t lo = 0;
        uint16_t hi = 0;
        memcpy(&lo, p, n == 2 ? 2 : 4);
        if (n == 6) memcpy(&hi, p + 4, 2);
        return (uint64_t)lo | ((uint64_t)hi << 32);
    }
#endif
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline int is_due(int64_t deadline, int64_t now_ms) {
    return !hash_field_live(deadline, now_ms);
}

/* ---- compact encoding (hash_lp.c) --------------------------------------------------- */

#define LP_HDR 16   /* obj header, used, count, ttl_count */
#define LPEX_HDR 22 /* ... and the 48-bit base deadline */
#define LP_USED 8   /* offsets of the header fields in the blob */
#define LP_COUNT 12
#define LP_TTLS 14
#define LP_BASE 16
#define LP_MAX_ENTRIES 65535u
#define LP_MAX_BYTES (1u << 30) /* beyond this a blob converts, whatever the limits say */

/* One decoded compact entry. Pointers are into the blob. */
typedef struct lp_ent {
    size_t off;       /* offset of the entry in the blob */
    size_t len;       /* encoded length of the whole entry */
    const uint8_t *f; /* field bytes */
    size_t flen;
    const uint8_t *v; /* value bytes */
    size_t vlen;
    int64_t deadline; /* absolute, or HASH_NO_TTL */
} lp_ent;

/* The bytes of a compact hash. */
static inline uint8_t *lp_b(const hash *h) {
    return (uint8_t *)(uintptr_t)h;
}
static inline uint32_t lp_used(const hash *h) {
    return (uint32_t)get_le(lp_b(h) + LP_USED, 4);
}
static inline uint32_t lp_count(const hash *h) {
    return (uint32_t)get_le(lp_b(h) + LP_COUNT, 2);
}
static inline uint32_t lp_ttl_count(const hash *h) {
    return (uint32_t)get_le(lp_b(h) + LP_TTLS, 2);
}
static inline int64_t lp_base(const hash *h) {
    return h->hdr.enc == ENC_LISTPACKEX ? (int64_t)get_le(lp_b(h) + LP_BASE, 6) : 0;
}
static inline size_t lp_first(const hash *h) {
    return h->hdr.enc == ENC_LISTPACKEX ? LPEX_HDR : LP_HDR;
}

/* Returns an owned empty compact hash (ENC_LISTPACK). */
hash *lp_new(void);
/* Returns an owned compact hash of the n entries, ENC_LISTPACKEX around base when ex (base
 * is the earliest deadline), else ENC_LISTPACK; size is its exact size (lp_entry_size
 * summed over the entries, plus the header). Duplicates are the caller's to rule out. */
hash *lp_build(const hash_entry *e, size_t n, int ex, int64_t base, size_t size);
/* Decodes the entry at off into *e (OUT) and returns 1, or returns 0 if off is the end. */
int lp_at(const hash *h, size_t off, lp_ent *e);
/* Finds the entry of field (due or not) into *e (OUT); returns 1 if found. */
int lp_find(const hash *h, slice field, lp_ent *e);
/* The writers below may move the hash: *hp is updated, the old pointer is dead. */
/* Replaces entry old (or appends when old is NULL) with (field, value, deadline) and
 * keeps the base invariant; old is invalid afterwards. */
void lp_put(hash **hp, const lp_ent *old, slice field, slice value, int64_t deadline);
/* Gives entry e the deadline (HASH_NO_TTL clears it), keeping the base invariant; e is
 * invalid afterwards. The hash must be ENC_LISTPACKEX unless deadline is set. */
void lp_set_deadline(hash **hp, const lp_ent *e, int64_t deadline);
/* Deletes entry e (from lp_find/lp_at); e is invalid afterwards. */
void lp_delete(hash **hp, const lp_ent *e);
/* Number of live entries. */
size_t lp_live(const hash *h, int64_t now_ms);
/* The latest deadline of any entry (HASH_NO_TTL if none has one). O(n). */
int64_t lp_last_deadline(const hash *h);
/* Reaps as hash_reap does. */
size_t lp_reap(hash **hp, int64_t now_ms, size_t max,
               void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx);
/* Encoded size of an entry in a blob of this kind. */
size_t lp_entry_size(int ex, int64_t base, size_t flen, size_t vlen, int64_t deadline);

/* ---- hashtable encoding (hash_ht.c, deadline index in hash_ttl.c) ------------------- */

/* A field's block: tag, lengths, optional deadline, field, value. No link: the table
 * (util/otab.h) files a pointer to it. Never defined: its bytes are read through hent_b. */
typedef struct hent hent;

static inline uint8_t *hent_b(const hent *e) {
    return (uint8_t *)e;
}

#define HENT_TTL 0x80  /* tag bit: a deadline follows the lengths */
#define HENT_LONG 0x40 /* tag bit: lengths are varints (else flen in tag, vlen in 1 byte) */
#define HENT_TTL_BYTES 6

typedef struct hent_shape {
    size_t flen, vlen;
    size_t ttl_off;  /* offset in b of the deadline (if HENT_TTL) */
    size_t data_off; /* offset in b of the field; the value follows it */
} hent_shape;

static inline void hent_shape_of(const hent *e, hent_shape *s) {
    uint8_t tag = hent_b(e)[0];
    size_t o;
    if (!(tag & HENT_LONG)) {
        s->flen = tag & 0x3f;
        s->vlen = hent_b(e)[1];
        o = 2;
    } else {
        uint64_t fl, vl;
        o = 1;
        o += varint_get(hent_b(e) + o, &fl);
        o += varint_get(hent_b(e) + o, &vl);
        s->flen = (size_t)fl;
        s->vlen = (size_t)vl;
    }
    s->ttl_off = o;
    s->data_off = o + ((tag & HENT_TTL) ? HENT_TTL_BYTES : 0);
}

static inline int hent_has_ttl(const hent *e) {
    return (hent_b(e)[0] & HENT_TTL) != 0;
}

/* Only for entries with HENT_TTL: the 48-bit deadline. */
static inline size_t hent_ttl_off(const hent *e) {
    if (!(hent_b(e)[0] & HENT_LONG)) return 2;
    hent_shape s;
    hent_shape_of(e, &s);
    return s.ttl_off;
}
static inline int64_t hent_deadline(const hent *e) {
    return hent_has_ttl(e) ? (int64_t)get_le(hent_b(e) + hent_ttl_off(e), 6) : HASH_NO_TTL;
}
static inline void hent_set_deadline(hent *e, int64_t d) {
    put_le(hent_b(e) + hent_ttl_off(e), (uint64_t)d, 6);
}

typedef struct hash_ht {
    otab d;     /* field -> hent */
    ostree ttl; /* the entries with a deadline, by (deadline, address) */
} hash_ht;

extern const otab_type hent_otab_type;

/* Returns an owned entry (not linked anywhere). deadline HASH_NO_TTL gives no TTL. */
hent *hent_new(slice field, slice value, int64_t deadline);
/* Fills *out from e. */
void hent_view(const hent *e, hash_entry *out);
/* Returns an owned empty hashtable. */
hash_ht *ht_new(void);
/* Frees t and all its entries. */
void ht_free(hash_ht *t);
/* Finds the entry of field (due or not), or NULL. */
hent *ht_find(hash_ht *t, slice field);
/* Sets field as hash_set does (the entry may be reallocated); returns 1 if created. */
int ht_put(hash_ht *t, int64_t now_ms, slice field, slice value, enum hash_ttl_policy policy,
           int64_t deadline);
/* Unlinks e from the table and the deadline index and frees it. */
void ht_delete(hash_ht *t, hent *e);
/* Gives e the deadline d (HASH_NO_TTL clears it); the entry may be reallocated. */
void ht_set_deadline(hash_ht *t, hent *e, int64_t d);
/* Adds an entry built elsewhere (conversion): links it in the table and the deadline index. */
void ht_add(hash_ht *t, hent *e);

/* ---- the hashtable's deadline index (hash_ttl.c) ------------------------------------ */

/* Initialises t's empty index. */
void ttl_init(hash_ht *t);
/* Files e (which has a deadline) in the index; e must not move or change its deadline
 * until ttl_remove. */
void ttl_add(hash_ht *t, hent *e);
/* Takes e out of the index (call before its deadline changes or it moves or is freed). */
void ttl_remove(hash_ht *t, hent *e);
/* Number of entries with a deadline <= now_ms: O(log n). */
size_t ttl_count_due(const hash_ht *t, int64_t now_ms);

#endif
