/* rdb_value: decoding RDB strings and values (the part a file and a DUMP payload share).
 *
 * Strings come plain, as small integers (RDB_ENC_INT8/16/32, turned back into their
 * decimal text) or LZF-compressed; the latter two are written into the arena, so a decoded
 * string is a reference to the input or to the arena (rdb_str). A hash of any encoding is
 * gathered as a list of (field, value, deadline) references and built at once with
 * hash_from_entries, which also refuses duplicate fields:
 *
 *     type  4 hash                 len { field value }*
 *     type 24 hash-metadata        min_ms u64le len { ttl field value }*
 *                                  ttl: 0 none, else deadline - min_ms + 1 (an RDB length)
 *     type 22 (Redis 7.4 RC)       len { deadline field value }*   (deadline: RDB length)
 *     type 22 (Valkey 9, hash_2)   len { field value deadline i64le }*  (-1: none)
 *     type 16 hash-listpack        listpack { field value }*
 *     type 25 hash-listpack-ex     min_ms u64le listpack { field value deadline }*  (0: none)
 *     type 23 (Redis 7.4 RC)       listpack { field value deadline }*
 *     type 13 hash-ziplist, 9 hash-zipmap: older compact blobs of pairs
 *
 * Fields whose deadline is at or before drop_before_ms are dropped and counted. Facts
 * from Redis's rdb.c (rdbLoadObject, rdbGenericLoadStringObject) and Valkey's rdb.c. */
#include "mayfly/types/string.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "rdb/rdb_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LZF_MAX_RATIO 90 /* an LZF back-reference of 3 bytes yields at most 264 bytes */

/* ---- input --------------------------------------------------------------------------- */

void rdb_in_init(rdb_in *in, const char *p, size_t len, char *err, size_t errcap) {
    in->start = in->p = (const unsigned char *)p;
    in->end = in->start + len;
    in->status = RDB_OK;
    in->need = 0;
    in->err = err;
    in->errcap = errcap;
}

int rdb_in_fail(rdb_in *in, int status, const char *fmt, ...) {
    if (in->status != RDB_OK) return -1;
    in->status = status;
    if (in->err && in->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(in->err, in->errcap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const unsigned char *rdb_in_take(rdb_in *in, size_t n) {
    if (in->status != RDB_OK) return NULL;
    size_t have = (size_t)(in->end - in->p);
    if (n > have) {
        size_t pos = rdb_in_pos(in);
        in->status = RDB_MORE;
        in->need = n > SIZE_MAX - pos ? SIZE_MAX : pos + n;
        return NULL;
    }
    const unsigned char *p = in->p;
    in->p += n;
    return p;
}

int rdb_in_u8(rdb_in *in) {
    const unsigned char *p = rdb_in_take(in, 1);
    return p ? p[0] : -1;
}

int rdb_in_i64le(rdb_in *in, int64_t *out) {
    const unsigned char *p = rdb_in_take(in, 8);
    if (!p) return -1;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    *out = (int64_t)v;
    return 0;
}

int rdb_in_len(rdb_in *in, uint64_t *len, int *encoded) {
    *len = 0; /* also on failure: callers that check in->status later read it */
    if (encoded) *encoded = 0;
    int b = rdb_in_u8(in);
    if (b < 0) return -1;
    int kind = (b & 0xC0) >> 6;
    const unsigned char *p;
    if (kind == RDB_ENCVAL) {
        if (!encoded) return rdb_in_fail(in, RDB_ECORRUPT, "a length is a string encoding");
        *encoded = 1;
        *len = (uint64_t)(b & 0x3F);
    } else if (kind == RDB_6BITLEN) {
        *len = (uint64_t)(b & 0x3F);
    } else if (kind == RDB_14BITLEN) {
        if (!(p = rdb_in_take(in, 1))) return -1;
        *len = ((uint64_t)(b & 0x3F) << 8) | p[0];
    } else if (b == RDB_32BITLEN || b == RDB_64BITLEN) {
        int n = b == RDB_32BITLEN ? 4 : 8;
        if (!(p = rdb_in_take(in, (size_t)n))) return -1;
        uint64_t v = 0;
        for (int i = 0; i < n; i++)
            v = (v << 8) | p[i]; /* big endian */
        *len = v;
    } else {
        return rdb_in_fail(in, RDB_ECORRUPT, "unknown length encoding 0x%02x", b);
    }
    return 0;
}

static int lzf_string(rdb_in *in, buf *arena, size_t max, rdb_str *out) {
    uint64_t clen, ulen;
    if (rdb_in_len(in, &clen, NULL) < 0 || rdb_in_len(in, &ulen, NULL) < 0) return -1;
    if (ulen > max) {
        out->len = ulen > SIZE_MAX ? SIZE_MAX : (size_t)ulen;
        return 1;
    }
    if (ulen > clen * LZF_MAX_RATIO + 64 || clen > UINT32_MAX || ulen > UINT32_MAX)
        return rdb_in_fail(in, RDB_ECORRUPT, "LZF string lengths out of range (%llu -> %llu)",
                           (unsigned long long)clen, (unsigned long long)ulen);
    const unsigned char *c = rdb_in_take(in, (size_t)clen);
    if (!c) return -1;
    unsigned char *dst = (unsigned char *)buf_reserve(arena, (size_t)ulen + RDB_LZF_SLACK);
    size_t got = ulen ? rdb_lzf_decompress(c, (size_t)clen, dst, (size_t)ulen) : 0;
    if (got != ulen) return rdb_in_fail(in, RDB_ECORRUPT, "invalid LZF compressed string");
    *out = (rdb_str){arena->len, (size_t)ulen, 1};
    arena->len += (size_t)ulen;
    return 0;
}

int rdb_in_string_max(rdb_in *in, buf *arena, size_t max, rdb_str *out) {
    *out = (rdb_str){0, 0, 0};
    uint64_t len;
    int enc;
    if (rdb_in_len(in, &len, &enc) < 0) return -1;
    if (enc) {
        if (len == RDB_ENC_LZF) return lzf_string(in, arena, max, out);
        if (len > RDB_ENC_INT32)
            return rdb_in_fail(in, RDB_ECORRUPT, "unknown string encoding %llu",
                               (unsigned long long)len);
        int n = 1 << len; /* 1, 2 or 4 bytes, little endian, signed */
        const unsigned char *p = rdb_in_take(in, (size_t)n);
        if (!p) return -1;
        uint64_t u = 0;
        for (int i = n - 1; i >= 0; i--)
            u = (u << 8) | p[i];
        uint64_t m = (uint64_t)1 << (8 * n - 1);
        long long v = (long long)((u ^ m) - m);
        char *dst = buf_reserve(arena, STRCONV_LL_MAX);
        *out = (rdb_str){arena->len, ll_to_str(dst, v), 1};
        arena->len += out->len;
        return 0;
    }
    if (len > max) {
        out->len = len > SIZE_MAX ? SIZE_MAX : (size_t)len;
        return 1;
    }
    const unsigned char *p = rdb_in_take(in, (size_t)len);
    if (!p) return -1;
    *out = (rdb_str){(size_t)(p - in->start), (size_t)len, 0};
    return 0;
}

int rdb_in_string(rdb_in *in, buf *arena, rdb_str *out) {
    return rdb_in_string_max(in, arena, SIZE_MAX, out);
}

/* ---- hashes -------------------------------------------------------------------------- */

typedef struct fref {
    rdb_str f, v;
    int64_t deadline; /* HASH_NO_TTL or a deadline to keep */
} fref;

typedef struct hash_acc {
    rdb_in *in;
    rdb_vctx *v;
    size_t n;
} hash_acc;

/* The scratch array of the value decoder, at least bytes long (its contents may move). */
static void *scratch(rdb_vctx *v, size_t bytes) {
    if (bytes > *v->refs_cap) {
        size_t cap = *v->refs_cap ? *v->refs_cap : 4096;
        while (cap < bytes)
            cap *= 2;
        mem_free(*v->refs);
        *v->refs = mem_alloc(cap);
        *v->refs_cap = cap;
    }
    return *v->refs;
}

static fref *acc_slot(hash_acc *a) {
    size_t need = (a->n + 1) * sizeof(fref);
    if (need > *a->v->refs_cap) {
        size_t cap = *a->v->refs_cap ? *a->v->refs_cap * 2 : 64 * sizeof(fref);
        *a->v->refs = mem_realloc(*a->v->refs, cap);
        *a->v->refs_cap = cap;
    }
    return &((fref *)*a->v->refs)[a->n];
}

/* Adds a field; has_ttl with a deadline that has passed (or drop_before_ms reached) drops
 * it instead. */
static int acc_add(hash_acc *a, rdb_str f, rdb_str v, int has_ttl, int64_t deadline) {
    if (has_ttl) {
        if (deadline > HASH_DEADLINE_MAX)
            return rdb_in_fail(a->in, RDB_ECORRUPT, "field deadline %lld out of range",
                               (long long)deadline);
        if (deadline <= 0 || deadline <= a->v->o->drop_before_ms) {
            a->v->dropped++;
            return 0;
        }
    }
    fref *r = acc_slot(a);
    *r = (fref){f, v, has_ttl ? deadline : HASH_NO_TTL};
    a->n++;
    return 0;
}

/* A gathered string: from the input, the arena or the blob. */
static slice vslice(const rdb_in *in, const rdb_vctx *v, rdb_str s) {
    if (s.in_arena == 2) return (slice){v->blob->data + s.off, s.len};
    return rdb_str_slice(in, v->arena, s);
}

/* Builds the hash from the gathered fields; NULL (with no error) when all were dropped. */
static int acc_build(hash_acc *a, obj **val) {
    *val = NULL;
    if (a->in->status != RDB_OK) return -1;
    if (a->n == 0) return 0;
    fref *r = *a->v->refs;
    hash_entry *e = mem_alloc(a->n * sizeof(*e));
    for (size_t i = 0; i < a->n; i++) {
        e[i].field = vslice(a->in, a->v, r[i].f);
        e[i].value = vslice(a->in, a->v, r[i].v);
        e[i].deadline = r[i].deadline;
    }
    hash *h = hash_from_entries(&a->v->o->lim, e, a->n);
    mem_free(e);
    if (!h) return rdb_in_fail(a->in, RDB_ECORRUPT, "hash with duplicate fields");
    *val = (obj *)h;
    return 0;
}

/* A listpack, ziplist or zipmap element as a string reference: into the blob (in the
 * input, or decompressed into the blob buffer), or its integer's text in the arena. */
static rdb_str elem_str(hash_acc *a, const rdb_str *blob, const rdb_elem *e) {
    buf *arena = a->v->arena;
    if (e->s) {
        const unsigned char *base =
            blob->in_arena ? (const unsigned char *)a->v->blob->data : a->in->start;
        return (rdb_str){(size_t)(e->s - base), e->len, blob->in_arena ? 2 : 0};
    }
    char *dst = buf_reserve(arena, STRCONV_LL_MAX);
    rdb_str s = {arena->len, ll_to_str(dst, (long long)e->v), 1};
    arena->len += s.len;
    return s;
}

/* Reads the blob of a compact type into *b (decompressed into the blob buffer if need be). */
static int read_blob(rdb_in *in, rdb_vctx *v, rdb_str *blob, slice *b) {
    buf_clear(v->blob);
    if (rdb_in_string(in, v->blob, blob) < 0) return -1;
    *b = rdb_str_slice(in, v->blob, *blob);
    return 0;
}

int rdb_is_plain_hash(int type) {
    return type == RDB_TYPE_HASH || type == RDB_TYPE_HASH_METADATA ||
           type == RDB_TYPE_HASH_METADATA_PRE_GA;
}

int rdb_read_hash_header(rdb_in *in, int type, int64_t *min_ms, uint64_t *n) {
    *min_ms = 0;
    *n = 0;
    if (type == RDB_TYPE_HASH_METADATA && rdb_in_i64le(in, min_ms) < 0) return -1;
    if (*min_ms < 0 || *min_ms > RDB_FIELD_EXPIRE_MAX + 1)
        return rdb_in_fail(in, RDB_ECORRUPT, "bad minimum field deadline");
    return rdb_in_len(in, n, NULL);
}

int rdb_read_hash_field(rdb_in *in, buf *arena, int type, int valkey, int64_t min_ms,
                        rdb_hash_field *out) {
    int valkey_2 = type == RDB_TYPE_HASH_METADATA_PRE_GA && valkey;
    uint64_t ttl = 0;
    out->has_ttl = 0;
    out->deadline = 0;
    if (type != RDB_TYPE_HASH && !valkey_2) rdb_in_len(in, &ttl, NULL);
    rdb_in_string(in, arena, &out->f);
    rdb_in_string(in, arena, &out->v);
    if (valkey_2) {
        if (rdb_in_i64le(in, &out->deadline) < 0) return -1;
        if (out->deadline < -1) return rdb_in_fail(in, RDB_ECORRUPT, "bad field expiry");
        out->has_ttl = out->deadline != -1;
    } else if (ttl) {
        out->has_ttl = 1;
        uint64_t base = type == RDB_TYPE_HASH_METADATA ? (uint64_t)min_ms - 1 : 0;
        if (ttl > (uint64_t)RDB_FIELD_EXPIRE_MAX - base)
            return rdb_in_fail(in, RDB_ECORRUPT, "field deadline out of range");
        out->deadline = (int64_t)(base + ttl);
    }
    return in->status == RDB_OK ? 0 : -1;
}

/* Types 4, 22 (both meanings) and 24: fields one by one. */
static int read_plain_hash(rdb_in *in, rdb_vctx *v, int type, obj **val) {
    hash_acc a = {in, v, 0};
    int64_t min_ms;
    uint64_t n;
    if (rdb_read_hash_header(in, type, &min_ms, &n) < 0) return -1;
    for (uint64_t i = 0; i < n && in->status == RDB_OK; i++) {
        rdb_hash_field hf;
        if (rdb_read_hash_field(in, v->arena, type, v->valkey, min_ms, &hf) == 0)
            acc_add(&a, hf.f, hf.v, hf.has_ttl, hf.deadline);
    }
    return acc_build(&a, val);
}

/* A listpack element as a string: in the blob, or an integer's text in the arena (reserved
 * beforehand by the caller, so that earlier slices stay put). */
static slice lp_elem_slice(buf *arena, const rdb_elem *e) {
    if (e->s) return (slice){(const char *)e->s, e->len};
    char *dst = arena->data + arena->len;
    size_t n = ll_to_str(dst, (long long)e->v);
    arena->len += n;
    return (slice){dst, n};
}

/* The deadline of a listpack triplet's third element: 0 (none) or a time; -1 if bad. */
static int64_t lp_deadline(const rdb_elem *t) {
    if (t->s || t->v < 0 || t->v > RDB_FIELD_EXPIRE_MAX) return -1;
    return t->v;
}

/* Types 16, 23 (Redis RC) and 25: a listpack of pairs or triplets, decoded in one pass
 * over the blob and built without copies of the strings in between: the hash's entries
 * point into the blob (or, for integers, at their text in the arena). */
static int read_listpack_hash(rdb_in *in, rdb_vctx *v, int type, obj **val) {
    *val = NULL;
    int64_t min_ms;
    size_t step = type != RDB_TYPE_HASH_LISTPACK ? 3 : 2;
    if (type == RDB_TYPE_HASH_LISTPACK_EX && rdb_in_i64le(in, &min_ms) < 0) return -1;
    rdb_str blob;
    slice b;
    if (read_blob(in, v, &blob, &b) < 0) return -1;
    size_t cap = RDB_LP_MAX_ELEMS(b.len);
    size_t elems_bytes = cap * sizeof(rdb_elem);
    elems_bytes = (elems_bytes + 15) & ~(size_t)15;
    char *mem = scratch(v, elems_bytes + (cap / 2 + 1) * sizeof(hash_entry));
    rdb_elem *el = (rdb_elem *)mem;
    hash_entry *e = (hash_entry *)(mem + elems_bytes);
    long count = rdb_lp_decode((const unsigned char *)b.p, b.len, el, cap);
    if (count < 0 || count % (long)step != 0)
        return rdb_in_fail(in, RDB_ECORRUPT, "hash listpack integrity check failed");
    size_t ints = 0;
    for (long i = 0; i < count; i++)
        ints += el[i].s == NULL;
    if (ints) buf_reserve(v->arena, ints * STRCONV_LL_MAX);
    size_t n = 0;
    for (long i = 0; i < count; i += (long)step) {
        int64_t deadline = step == 3 ? lp_deadline(&el[i + 2]) : 0;
        if (deadline < 0 || deadline > HASH_DEADLINE_MAX)
            return rdb_in_fail(in, RDB_ECORRUPT, "bad field deadline in a listpack");
        if (deadline != 0 && deadline <= v->o->drop_before_ms) {
            v->dropped++;
            continue;
        }
        e[n].field = lp_elem_slice(v->arena, &el[i]);
        e[n].value = lp_elem_slice(v->arena, &el[i + 1]);
        e[n].deadline = deadline ? deadline : HASH_NO_TTL;
        n++;
    }
    if (n == 0) return 0;
    hash *h = hash_from_entries(&v->o->lim, e, n);
    if (!h) return rdb_in_fail(in, RDB_ECORRUPT, "hash with duplicate fields");
    *val = (obj *)h;
    return 0;
}

/* Types 13 (ziplist of pairs) and 9 (zipmap). */
static int read_old_compact_hash(rdb_in *in, rdb_vctx *v, int type, obj **val) {
    hash_acc a = {in, v, 0};
    rdb_str blob;
    slice b;
    if (read_blob(in, v, &blob, &b) < 0) return -1;
    const unsigned char *p = (const unsigned char *)b.p;
    long count =
        type == RDB_TYPE_HASH_ZIPLIST ? rdb_zl_validate(p, b.len) : rdb_zm_validate(p, b.len);
    if (count < 0 || (type == RDB_TYPE_HASH_ZIPLIST && count % 2 != 0))
        return rdb_in_fail(in, RDB_ECORRUPT, "hash %s integrity check failed",
                           type == RDB_TYPE_HASH_ZIPLIST ? "ziplist" : "zipmap");
    size_t pos = 0;
    rdb_elem f, s;
    for (;;) {
        if (type == RDB_TYPE_HASH_ZIPLIST) {
            if (!rdb_zl_next(p, &pos, &f)) break;
            rdb_zl_next(p, &pos, &s);
        } else if (!rdb_zm_next(p, &pos, &f, &s)) {
            break;
        }
        acc_add(&a, elem_str(&a, &blob, &f), elem_str(&a, &blob, &s), 0, 0);
    }
    return acc_build(&a, val);
}

/* ---- values -------------------------------------------------------------------------- */

void rdb_module_name(uint64_t id, char *out) {
    static const char cset[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    id >>= 10;
    for (int j = 8; j >= 0; j--) {
        out[j] = cset[id & 63];
        id >>= 6;
    }
    out[9] = '\0';
}

/* ---- values of other types, skipped (the checker) ---------------------------------------- */

static int skip_strings(rdb_in *in, buf *arena, uint64_t n) {
    rdb_str s;
    for (uint64_t i = 0; i < n && in->status == RDB_OK; i++)
        rdb_in_string(in, arena, &s);
    return in->status == RDB_OK ? 0 : -1;
}

/* The old textual double of ZSET (type 3): a length byte (253..255: nan, +inf, -inf). */
static int skip_text_double(rdb_in *in) {
    int len = rdb_in_u8(in);
    if (len < 0) return -1;
    if (len < 253 && !rdb_in_take(in, (size_t)len)) return -1;
    return 0;
}

/* A module value: its type id, then typed items up to EOF (as MODULE_AUX data). */
static int skip_module_value(rdb_in *in, buf *arena) {
    uint64_t id, op, ignored;
    if (rdb_in_len(in, &id, NULL) < 0) return -1;
    while (rdb_in_len(in, &op, NULL) == 0 && op != RDB_MODULE_OPCODE_EOF) {
        if (op == RDB_MODULE_OPCODE_SINT || op == RDB_MODULE_OPCODE_UINT)
            rdb_in_len(in, &ignored, NULL);
        else if (op == RDB_MODULE_OPCODE_STRING)
            skip_strings(in, arena, 1);
        else if (op == RDB_MODULE_OPCODE_FLOAT || op == RDB_MODULE_OPCODE_DOUBLE)
            rdb_in_take(in, op == RDB_MODULE_OPCODE_FLOAT ? 4 : 8);
        else
            return rdb_in_fail(in, RDB_ECORRUPT, "bad module value (opcode %llu)",
                               (unsigned long long)op);
    }
    return in->status == RDB_OK ? 0 : -1;
}

/* One consumer group of a stream: name, last id (and entries read), PEL, consumers. */
static int skip_stream_group(rdb_in *in, buf *arena, int type) {
    uint64_t x, pel, consumers;
    skip_strings(in, arena, 1);
    for (int i = 0; i < (type == RDB_TYPE_STREAM_LISTPACKS ? 2 : 3); i++)
        rdb_in_len(in, &x, NULL); /* last id (and entries read) */
    if (rdb_in_len(in, &pel, NULL) < 0) return -1;
    for (uint64_t i = 0; i < pel && in->status == RDB_OK; i++) {
        rdb_in_take(in, 16 + 8);  /* id, delivery time */
        rdb_in_len(in, &x, NULL); /* delivery count */
    }
    if (rdb_in_len(in, &consumers, NULL) < 0) return -1;
    for (uint64_t c = 0; c < consumers && in->status == RDB_OK; c++) {
        skip_strings(in, arena, 1);
        rdb_in_take(in, type == RDB_TYPE_STREAM_LISTPACKS_3 ? 16 : 8); /* seen, active */
        if (rdb_in_len(in, &pel, NULL) < 0) return -1;
        if (pel > SIZE_MAX / 16) return rdb_in_fail(in, RDB_ECORRUPT, "bad stream PEL");
        rdb_in_take(in, (size_t)pel * 16);
    }
    return in->status == RDB_OK ? 0 : -1;
}

/* Streams of types 15, 19 and 21: listpacks, metadata, consumer groups with their PELs. */
static int skip_stream(rdb_in *in, buf *arena, int type) {
    uint64_t n, x, groups;
    if (rdb_in_len(in, &n, NULL) < 0 || skip_strings(in, arena, 2 * n) < 0) return -1;
    int meta = type == RDB_TYPE_STREAM_LISTPACKS ? 3 : 8; /* length, ids, (tombstone, offset) */
    for (int i = 0; i < meta; i++)
        rdb_in_len(in, &x, NULL);
    if (rdb_in_len(in, &groups, NULL) < 0) return -1;
    for (uint64_t g = 0; g < groups && in->status == RDB_OK; g++)
        if (skip_stream_group(in, arena, type) < 0) return -1;
    return in->status == RDB_OK ? 0 : -1;
}

/* Reads past a value of a type Mayfly does not implement. 0, -1, or 1 when the type's
 * layout is not known here (then it cannot be skipped). */
static int skip_other(rdb_in *in, buf *arena, int type) {
    uint64_t n, x;
    switch (type) {
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
    case RDB_TYPE_LIST_QUICKLIST:
        if (rdb_in_len(in, &n, NULL) < 0) return -1;
        return skip_strings(in, arena, n);
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
        if (rdb_in_len(in, &n, NULL) < 0) return -1;
        for (uint64_t i = 0; i < n && in->status == RDB_OK; i++) {
            skip_strings(in, arena, 1);
            if (type == RDB_TYPE_ZSET_2)
                rdb_in_take(in, 8);
            else
                skip_text_double(in);
        }
        return in->status == RDB_OK ? 0 : -1;
    case RDB_TYPE_LIST_QUICKLIST_2:
        if (rdb_in_len(in, &n, NULL) < 0) return -1;
        for (uint64_t i = 0; i < n && in->status == RDB_OK; i++) {
            rdb_in_len(in, &x, NULL); /* container: plain or packed */
            skip_strings(in, arena, 1);
        }
        return in->status == RDB_OK ? 0 : -1;
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK:
    case RDB_TYPE_SET_LISTPACK:
        return skip_strings(in, arena, 1);
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3:
        return skip_stream(in, arena, type);
    case RDB_TYPE_MODULE_2:
        return skip_module_value(in, arena);
    default:
        return 1;
    }
}

int rdb_read_value(rdb_in *in, rdb_vctx *v, int type, obj **val) {
    *val = NULL;
    v->dropped = 0;
    v->unsupported = 0;
    switch (type) {
    case RDB_TYPE_STRING: {
        rdb_str s;
        if (rdb_in_string(in, v->arena, &s) < 0) return -1;
        slice b = rdb_str_slice(in, v->arena, s);
        *val = &string_new(b.p, b.len)->hdr;
        return 0;
    }
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_METADATA:
    case RDB_TYPE_HASH_METADATA_PRE_GA:
        return read_plain_hash(in, v, type, val);
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_HASH_LISTPACK_EX:
        return read_listpack_hash(in, v, type, val);
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
        if (v->valkey) break; /* Valkey's path hash */
        return read_listpack_hash(in, v, type, val);
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_ZIPMAP:
        return read_old_compact_hash(in, v, type, val);
    default:
        break;
    }
    if (v->o->skip_unsupported && (!v->valkey || type < 22)) {
        int rc = skip_other(in, v->arena, type);
        if (rc <= 0) {
            v->unsupported = rc == 0;
            return rc;
        }
    }
    switch (type) {
    case RDB_TYPE_MODULE_2:
    case RDB_TYPE_MODULE_PRE_GA: {
        uint64_t id;
        if (rdb_in_len(in, &id, NULL) < 0) return -1;
        char name[10];
        rdb_module_name(id, name);
        return rdb_in_fail(in, RDB_ETYPE, "a value of the module type '%s'", name);
    }
    default:
        break;
    }
    return rdb_in_fail(in, RDB_ETYPE, "a value of type %s (RDB type %d)",
                       rdb_type_name(type, v->valkey), type);
}

const char *rdb_type_name(int type, int valkey) {
    static const char *const names[] = {"string",
                                        "list",
                                        "set",
                                        "zset",
                                        "hash",
                                        "zset-2",
                                        "module-pre-ga",
                                        "module",
                                        NULL,
                                        "hash-zipmap",
                                        "list-ziplist",
                                        "set-intset",
                                        "zset-ziplist",
                                        "hash-ziplist",
                                        "list-quicklist",
                                        "stream",
                                        "hash-listpack",
                                        "zset-listpack",
                                        "list-quicklist-2",
                                        "stream-2",
                                        "set-listpack",
                                        "stream-3",
                                        "hash-metadata-pre-ga",
                                        "hash-listpack-ex-pre-ga",
                                        "hash-metadata",
                                        "hash-listpack-ex",
                                        "stream-4",
                                        "stream-5"};
    if (valkey && type == 22) return "hash-2 (Valkey)";
    if (valkey && type == 23) return "path-hash (Valkey)";
    if (type >= 0 && type < (int)(sizeof(names) / sizeof(names[0])) && names[type])
        return names[type];
    return "unknown";
}
