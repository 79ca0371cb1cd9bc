/* rdb_enc: writing RDB version 12 as Redis 7.4 and 8 do; see rdb.h.
 *
 * Bytes are staged in a 64 KiB buffer and handed to the sink; the CRC64 runs over every
 * byte on the way. Strings are written as Redis's rdbSaveRawString does: a canonical
 * integer of at most 11 characters that fits 32 bits as RDB_ENC_INT8/16/32, else LZF when
 * compression is on, the string is longer than 20 bytes and LZF saves at least 4 bytes,
 * else plain. Hashes take Redis's types for the same data:
 *
 *     compact, no field TTL (ENC_LISTPACK)    16 hash-listpack      listpack of pairs
 *     compact with TTLs (ENC_LISTPACKEX)      25 hash-listpack-ex   min deadline u64le,
 *                                                listpack of triplets ordered by deadline,
 *                                                fields without TTL last (0 = none)
 *     hashtable, no live field TTL            4  hash               pairs
 *     hashtable with field TTLs               24 hash-metadata      min deadline u64le,
 *                                                { deadline - min + 1 (0 = none) f v }*
 *
 * Only live fields are written (due ones are as good as gone). Facts from Redis's rdb.c
 * (rdbSaveObject, rdbSaveRawString, rdbSaveRio) and t_hash.c (listpackEx ordering). */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/types/string.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/crc64.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "rdb/rdb_int.h"

#include <errno.h>
#include <lzf.h>
#include <stdlib.h>
#include <string.h>

#define ENC_BUF_SIZE (64 * 1024)

void rdb_enc_init(rdb_enc *e, rdb_sink_fn *sink, void *ctx, int compress, int checksum) {
    memset(e, 0, sizeof(*e));
    e->sink = sink;
    e->ctx = ctx;
    e->compress = compress;
    e->checksum = checksum;
    e->out = mem_alloc(ENC_BUF_SIZE);
    buf_init(&e->scratch);
    buf_init(&e->lp);
}

void rdb_enc_deinit(rdb_enc *e) {
    mem_free(e->out);
    e->out = NULL;
    buf_deinit(&e->scratch);
    buf_deinit(&e->lp);
    mem_free(e->sort);
    e->sort = NULL;
    e->sort_cap = 0;
}

int rdb_enc_flush(rdb_enc *e) {
    if (e->err) {
        errno = e->err;
        return -1;
    }
    if (e->len && e->sink(e->ctx, e->out, e->len) < 0) {
        e->err = errno ? errno : EIO;
        return -1;
    }
    e->len = 0;
    return 0;
}

static void put(rdb_enc *e, const void *p, size_t n) {
    if (e->err || n == 0) return;
    if (e->checksum) e->crc = crc64(e->crc, p, n);
    e->written += n;
    if (e->len + n > ENC_BUF_SIZE && rdb_enc_flush(e) < 0) return;
    if (n >= ENC_BUF_SIZE) {
        if (e->sink(e->ctx, p, n) < 0) e->err = errno ? errno : EIO;
        return;
    }
    memcpy(e->out + e->len, p, n);
    e->len += n;
}

static void put_u8(rdb_enc *e, unsigned v) {
    unsigned char b = (unsigned char)v;
    put(e, &b, 1);
}

static void put_i64le(rdb_enc *e, int64_t v) {
    unsigned char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)((uint64_t)v >> (8 * i));
    put(e, t, 8);
}

/* An RDB length: 6 bits, 14 bits, or a 32/64-bit big-endian integer after a marker. */
static void put_len(rdb_enc *e, uint64_t len) {
    unsigned char t[9];
    size_t n;
    if (len < (1 << 6)) {
        t[0] = (unsigned char)len;
        n = 1;
    } else if (len < (1 << 14)) {
        t[0] = (unsigned char)((len >> 8) | (RDB_14BITLEN << 6));
        t[1] = (unsigned char)len;
        n = 2;
    } else {
        int bytes = len <= UINT32_MAX ? 4 : 8;
        t[0] = bytes == 4 ? RDB_32BITLEN : RDB_64BITLEN;
        for (int i = 0; i < bytes; i++)
            t[1 + i] = (unsigned char)(len >> (8 * (bytes - 1 - i)));
        n = (size_t)bytes + 1;
    }
    put(e, t, n);
}

/* rdbSaveRawString: integer encoding, then LZF, then verbatim. */
static void put_string(rdb_enc *e, const char *s, size_t len) {
    long long v;
    if (len > 0 && len <= 11 && str_to_ll(s, len, &v) == 0 && v >= INT32_MIN && v <= INT32_MAX) {
        unsigned char t[5];
        int bytes = v >= -128 && v <= 127 ? 1 : v >= -32768 && v <= 32767 ? 2 : 4;
        t[0] = (unsigned char)((RDB_ENCVAL << 6) | (bytes == 1   ? RDB_ENC_INT8
                                                    : bytes == 2 ? RDB_ENC_INT16
                                                                 : RDB_ENC_INT32));
        for (int i = 0; i < bytes; i++)
            t[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
        put(e, t, (size_t)bytes + 1);
        return;
    }
    if (e->compress && len > 20 && len <= UINT32_MAX) {
        /* Compressing must save at least four bytes to be worth it. */
        size_t max = len - 4;
        char *dst = buf_reserve(&e->scratch, max + 1);
        unsigned n = lzf_compress(s, (unsigned)len, dst, (unsigned)max);
        if (n > 0) {
            put_u8(e, (RDB_ENCVAL << 6) | RDB_ENC_LZF);
            put_len(e, n);
            put_len(e, len);
            put(e, dst, n);
            return;
        }
    }
    put_len(e, len);
    put(e, s, len);
}

/* ---- hashes --------------------------------------------------------------------------- */

/* The live fields of h copied into the encoder's sort scratch; returns how many. The
 * scratch holds twice sort_cap entries: the second half is the merge sort's. */
static size_t gather(rdb_enc *e, hash *h, int64_t now_ms) {
    size_t n = 0;
    hash_iter it;
    hash_entry f;
    hash_iter_init(&it, h, now_ms);
    while (hash_iter_next(&it, &f)) {
        if (n == e->sort_cap) {
            hash_entry *old = e->sort;
            e->sort_cap = e->sort_cap ? e->sort_cap * 2 : 128;
            e->sort = mem_alloc(2 * e->sort_cap * sizeof(hash_entry));
            if (n) memcpy(e->sort, old, n * sizeof(hash_entry));
            mem_free(old);
        }
        ((hash_entry *)e->sort)[n++] = f;
    }
    hash_iter_deinit(&it);
    return n;
}

/* The order of a listpack-ex: deadlines earliest first, fields without one (0) last. */
static inline uint64_t order_key(const hash_entry *f) {
    return (uint64_t)f->deadline - 1;
}

/* A stable sort of a[0..n) by order_key (tmp: room for n entries). Hashes whose fields got
 * their TTLs in deadline order are already sorted, and small runs sort by insertion; the
 * library's qsort allocated and called a comparator per step. */
static void sort_by_deadline(hash_entry *a, hash_entry *tmp, size_t n) {
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            hash_entry x = a[i];
            size_t j = i;
            for (; j > 0 && order_key(&a[j - 1]) > order_key(&x); j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_by_deadline(a, tmp, h);
    sort_by_deadline(a + h, tmp, n - h);
    if (order_key(&a[h - 1]) <= order_key(&a[h])) return; /* already in order */
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = order_key(&a[j]) < order_key(&a[i]) ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    memcpy(a, tmp, k * sizeof(*a)); /* a[j..n) is already in place */
}

/* Types 16 and 25: the listpack of a compact hash. Returns 0 if no field is live. The
 * listpack is sized once for the worst case and written element by element without
 * further checks (in the encoder's lp buffer: put_string's LZF uses the scratch one). */
static int put_compact_hash(rdb_enc *e, hash *h, slice key, int64_t now_ms, int64_t expire_ms) {
    size_t n = gather(e, h, now_ms);
    if (n == 0) return 0;
    hash_entry *f = e->sort;
    int ex = hash_encoding(h) == ENC_LISTPACKEX;
    if (ex) sort_by_deadline(f, f + e->sort_cap, n);
    size_t room = RDB_LP_HDR + 1 + (ex ? n * RDB_LP_MAX_INT : 0);
    for (size_t i = 0; i < n; i++)
        room += RDB_LP_MAX_STR(f[i].field.len) + RDB_LP_MAX_STR(f[i].value.len);
    buf_clear(&e->lp);
    unsigned char *lp = (unsigned char *)buf_reserve(&e->lp, room);
    size_t w = RDB_LP_HDR;
    for (size_t i = 0; i < n; i++) {
        w += rdb_lp_put(lp + w, f[i].field.p, f[i].field.len);
        w += rdb_lp_put(lp + w, f[i].value.p, f[i].value.len);
        if (ex) w += rdb_lp_put_int(lp + w, f[i].deadline);
    }
    w = rdb_lp_finish(lp, w, n * (ex ? 3 : 2));
    if (expire_ms) {
        put_u8(e, RDB_OPCODE_EXPIRETIME_MS);
        put_i64le(e, expire_ms);
    }
    put_u8(e, ex ? RDB_TYPE_HASH_LISTPACK_EX : RDB_TYPE_HASH_LISTPACK);
    put_string(e, key.p, key.len);
    if (ex) put_i64le(e, f[0].deadline); /* 0 when no live field has a TTL */
    put_string(e, (const char *)lp, w);
    return 1;
}

/* Types 4 and 24: a hashtable, field by field. Returns 0 if no field is live. */
static int put_table_hash(rdb_enc *e, hash *h, slice key, int64_t now_ms, int64_t expire_ms) {
    size_t n = hash_stored(h);
    int64_t min = hash_next_deadline(h);
    if (min != HASH_NO_TTL && min <= now_ms) {
        /* Some fields are due: count the live ones and find their earliest deadline. */
        n = 0;
        min = HASH_NO_TTL;
        hash_iter it;
        hash_entry f;
        hash_iter_init(&it, h, now_ms);
        while (hash_iter_next(&it, &f)) {
            n++;
            if (f.deadline != HASH_NO_TTL && (min == HASH_NO_TTL || f.deadline < min))
                min = f.deadline;
        }
        hash_iter_deinit(&it);
    }
    if (n == 0) return 0;
    if (expire_ms) {
        put_u8(e, RDB_OPCODE_EXPIRETIME_MS);
        put_i64le(e, expire_ms);
    }
    put_u8(e, min != HASH_NO_TTL ? RDB_TYPE_HASH_METADATA : RDB_TYPE_HASH);
    put_string(e, key.p, key.len);
    if (min != HASH_NO_TTL) put_i64le(e, min);
    put_len(e, n);
    hash_iter it;
    hash_entry f;
    size_t written = 0;
    hash_iter_init(&it, h, now_ms);
    while (written < n && hash_iter_next(&it, &f)) {
        if (min != HASH_NO_TTL)
            put_len(e, f.deadline == HASH_NO_TTL ? 0 : (uint64_t)(f.deadline - min) + 1);
        put_string(e, f.field.p, f.field.len);
        put_string(e, f.value.p, f.value.len);
        written++;
    }
    hash_iter_deinit(&it);
    return 1;
}

/* ---- keys and files ------------------------------------------------------------------- */

int rdb_enc_key(rdb_enc *e, slice key, obj *val, int64_t expire_ms, int64_t now_ms) {
    if (val->type == OBJ_HASH) {
        hash *h = (hash *)val;
        if (hash_encoding(h) == ENC_HASHTABLE) return put_table_hash(e, h, key, now_ms, expire_ms);
        return put_compact_hash(e, h, key, now_ms, expire_ms);
    }
    char tmp[STRCONV_LL_MAX];
    slice v = string_bytes((const string *)val, tmp);
    if (expire_ms) {
        put_u8(e, RDB_OPCODE_EXPIRETIME_MS);
        put_i64le(e, expire_ms);
    }
    put_u8(e, RDB_TYPE_STRING);
    put_string(e, key.p, key.len);
    put_string(e, v.p, v.len);
    return 1;
}

void rdb_enc_aux(rdb_enc *e, slice name, slice value) {
    put_u8(e, RDB_OPCODE_AUX);
    put_string(e, name.p, name.len);
    put_string(e, value.p, value.len);
}

static void aux_ll(rdb_enc *e, const char *name, long long v) {
    char tmp[STRCONV_LL_MAX];
    rdb_enc_aux(e, slice_of(name), (slice){tmp, ll_to_str(tmp, v)});
}

void rdb_enc_header(rdb_enc *e, int64_t now_ms, size_t used_mem, int aof_base) {
    char magic[16];
    memcpy(magic, "REDIS", 5);
    for (int i = 0, v = e->version ? e->version : RDB_VERSION; i < 4; i++, v /= 10)
        magic[8 - i] = (char)('0' + v % 10);
    put(e, magic, 9);
    rdb_enc_aux(e, slice_of("redis-ver"), slice_of(MAYFLY_REDIS_VERSION));
    aux_ll(e, "redis-bits", (long long)sizeof(void *) * 8);
    aux_ll(e, "ctime", (long long)(now_ms / 1000));
    aux_ll(e, "used-mem", (long long)used_mem);
    aux_ll(e, "aof-base", aof_base ? 1 : 0);
    rdb_enc_aux(e, slice_of("mayfly-ver"), slice_of(MAYFLY_VERSION));
    for (size_t i = 0; i < e->naux; i++)
        rdb_enc_aux(e, e->aux[2 * i], e->aux[2 * i + 1]);
}

int rdb_dataset_has_field_ttls(void) {
    for (int id = 0; id < db_count(); id++)
        if (db_get(id)->subexpiry) return 1;
    return 0;
}

void rdb_enc_select_db(rdb_enc *e, int dbid, uint64_t keys, uint64_t expires) {
    put_u8(e, RDB_OPCODE_SELECTDB);
    put_len(e, (uint64_t)dbid);
    put_u8(e, RDB_OPCODE_RESIZEDB);
    put_len(e, keys);
    put_len(e, expires);
}

int rdb_enc_end(rdb_enc *e) {
    put_u8(e, RDB_OPCODE_EOF);
    uint64_t crc = e->checksum ? e->crc : 0;
    put_i64le(e, (int64_t)crc);
    return rdb_enc_flush(e);
}

void rdb_enc_function(rdb_enc *e, slice code) {
    put_u8(e, RDB_OPCODE_FUNCTION2);
    put_string(e, code.p, code.len);
}

static const rdb_library_hooks *library_hooks;

void rdb_set_library_hooks(const rdb_library_hooks *h) {
    library_hooks = h;
}

const rdb_library_hooks *rdb_library_hooks_get(void) {
    return library_hooks;
}

static void enc_library(const char *code, size_t len, void *ctx) {
    rdb_enc_function(ctx, (slice){code, len});
}

int rdb_save_dataset(rdb_enc *e, int64_t now_ms, int aof_base, long long *keys) {
    mem_stats st;
    mem_get_stats(&st);
    rdb_enc_header(e, now_ms, st.allocated, aof_base);
    if (library_hooks && library_hooks->foreach) library_hooks->foreach (enc_library, e);
    long long written = 0;
    for (int id = 0; id < db_count() && !e->err; id++) {
        db *d = db_get(id);
        if (db_size(d) == 0) continue;
        rdb_enc_select_db(e, id, db_size(d), d->keys_with_ttl);
        dict_iter it;
        dict_iter_init(&it, &d->keys);
        for (dict_node *n = dict_iter_next(&it); n && !e->err; n = dict_iter_next(&it)) {
            dbentry *de = (dbentry *)n;
            /* A key past its deadline that expiry has not reaped yet is written too, as Redis
             * writes it: the loader drops it (rdb_last_load_keys_expired), and a primary that
             * loads it at start-up tells its replicas with a DEL. */
            written += rdb_enc_key(e, dbentry_key(de), de->val, db_entry_expire(de), now_ms);
            if (e->key_delay_us) clock_debug_delay(e->key_delay_us);
        }
        dict_iter_deinit(&it);
    }
    int rc = rdb_enc_end(e);
    if (keys) *keys = written;
    return rc;
}

static int sink_buf(void *ctx, const char *p, size_t len) {
    buf_append(ctx, p, len);
    return 0;
}

/* Ends a DUMP payload that began at out[start]: the RDB version (2 bytes) and the CRC64 of
 * everything from start on, the version included (8 bytes), both little endian. */
static void put_payload_footer(buf *out, size_t start) {
    unsigned char footer[10] = {RDB_VERSION & 0xff, RDB_VERSION >> 8};
    buf_append(out, footer, 2);
    uint64_t crc = crc64(0, out->data + start, out->len - start);
    for (int i = 0; i < 8; i++)
        footer[2 + i] = (unsigned char)(crc >> (8 * i));
    buf_append(out, footer + 2, 8);
}

void rdb_dump_payload(buf *out, obj *val, int64_t now_ms, int compress) {
    buf body;
    buf_init(&body);
    rdb_enc e;
    rdb_enc_init(&e, sink_buf, &body, compress, 0);
    /* The key writer frames a key; a payload is the type and the value only, so write it
     * with an empty key and cut the key (one zero byte after the type byte) out. */
    if (!rdb_enc_key(&e, (slice){"", 0}, val, 0, now_ms)) {
        rdb_lp_begin(&e.scratch);
        rdb_lp_end(&e.scratch, 0);
        put_u8(&e, RDB_TYPE_HASH_LISTPACK);
        put_u8(&e, 0);
        put_string(&e, e.scratch.data, e.scratch.len);
    }
    rdb_enc_flush(&e);
    rdb_enc_deinit(&e);
    buf_append(out, body.data, 1);                /* the type */
    buf_append(out, body.data + 2, body.len - 2); /* the value */
    size_t start = out->len - (body.len - 1);
    put_payload_footer(out, start);
    buf_deinit(&body);
}

void rdb_functions_payload(buf *out, rdb_library_foreach_fn *foreach, int compress) {
    size_t start = out->len;
    rdb_enc e;
    rdb_enc_init(&e, sink_buf, out, compress, 0);
    foreach (enc_library, &e)
        ;
    rdb_enc_flush(&e);
    rdb_enc_deinit(&e);
    put_payload_footer(out, start);
}
