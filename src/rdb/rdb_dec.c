/* rdb: the incremental RDB decoder and DUMP payloads; see rdb.h.
 *
 * Each call decodes units from the bytes it is given until one yields an item:
 *
 *     header      "REDIS" + 4 digits (1..12) or "VALKEY" + 3 digits (80, 81)
 *     opcodes     EXPIRETIME(_MS), IDLE, FREQ   remembered for the next key, no item
 *                 SLOT_INFO                     cluster size hints, skipped silently
 *                 SELECTDB, RESIZEDB, AUX       an item each
 *                 FUNCTION2, MODULE_AUX         read and skipped, an item saying so
 *     key         type key value                an item with the value built
 *     EOF         then the CRC64 trailer (version 5 and later), checked unless it is 0
 *
 * A unit is consumed only once all of its bytes were there, so running out of input
 * anywhere just returns RDB_MORE with the units before it consumed; the CRC64 is extended
 * over consumed bytes only. Facts from Redis's rdbLoadRioWithLoadingCtx, rdbLoadObject and
 * rdbLoadCheckModuleValue, and Valkey's rdbIsVersionAccepted and the "VALKEY" magic. */
#include "mayfly/db/db.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/util/crc64.h"
#include "mayfly/util/mem.h"
#include "rdb/rdb_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STAGE_HEADER, STAGE_BODY, STAGE_TRAILER, STAGE_DONE };

#define BIG_RESERVE_MAX (1u << 21) /* fields a big hash's table is sized for up front */

void rdb_dec_init(rdb_dec *d, const rdb_dec_opts *o) {
    memset(d, 0, sizeof(*d));
    d->o = *o;
    d->pending_idle = -1;
    d->pending_freq = -1;
    buf_init(&d->arena);
}

void rdb_dec_deinit(rdb_dec *d) {
    buf_deinit(&d->arena);
    buf_deinit(&d->blob);
    buf_deinit(&d->big_key);
    if (d->big) obj_free(d->big);
    d->big = NULL;
    mem_free(d->refs);
    d->refs = NULL;
    d->refs_cap = 0;
}

/* Reads the 9-byte magic. */
static int read_header(rdb_dec *d, rdb_in *in) {
    const unsigned char *m = rdb_in_take(in, 9);
    if (!m) return -1;
    int digits = 4, pos = 5;
    if (memcmp(m, "VALKEY", 6) == 0) {
        d->valkey = 1;
        digits = 3;
        pos = 6;
    } else if (memcmp(m, "REDIS", 5) != 0) {
        return rdb_in_fail(in, RDB_EVERSION, "not an RDB file (no REDIS or VALKEY signature)");
    }
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (m[pos + i] < '0' || m[pos + i] > '9')
            return rdb_in_fail(in, RDB_EVERSION, "bad RDB version in the signature");
        v = v * 10 + (m[pos + i] - '0');
    }
    d->version = v;
    if (d->valkey ? (v < RDB_VALKEY_MIN_VERSION || v > RDB_VALKEY_MAX_VERSION)
                  : (v < 1 || v > RDB_REDIS_MAX_VERSION))
        return rdb_in_fail(in, RDB_EVERSION,
                           "can't handle RDB format version %d (%s); Mayfly reads Redis RDB "
                           "versions 1 to %d and Valkey's %d to %d",
                           v, d->valkey ? "VALKEY" : "REDIS", RDB_REDIS_MAX_VERSION,
                           RDB_VALKEY_MIN_VERSION, RDB_VALKEY_MAX_VERSION);
    return 0;
}

/* MODULE_AUX: module id, when (as a UINT sub-opcode), then typed values until EOF. */
static int skip_module_aux(rdb_dec *d, rdb_in *in, rdb_item *out) {
    uint64_t id, when_op, when, op;
    if (rdb_in_len(in, &id, NULL) < 0 || rdb_in_len(in, &when_op, NULL) < 0 ||
        rdb_in_len(in, &when, NULL) < 0)
        return -1;
    if (when_op != RDB_MODULE_OPCODE_UINT)
        return rdb_in_fail(in, RDB_ECORRUPT, "bad module aux data (when opcode)");
    rdb_module_name(id, out->module);
    while (rdb_in_len(in, &op, NULL) == 0 && op != RDB_MODULE_OPCODE_EOF) {
        uint64_t ignored;
        rdb_str s;
        switch (op) {
        case RDB_MODULE_OPCODE_SINT:
        case RDB_MODULE_OPCODE_UINT:
            rdb_in_len(in, &ignored, NULL);
            break;
        case RDB_MODULE_OPCODE_STRING:
            rdb_in_string(in, &d->arena, &s);
            break;
        case RDB_MODULE_OPCODE_FLOAT:
            rdb_in_take(in, 4);
            break;
        case RDB_MODULE_OPCODE_DOUBLE:
            rdb_in_take(in, 8);
            break;
        default:
            return rdb_in_fail(in, RDB_ECORRUPT, "bad module aux data (opcode %llu)",
                               (unsigned long long)op);
        }
    }
    out->kind = RDB_ITEM_SKIPPED;
    out->what = "module aux data";
    return in->status == RDB_OK ? 0 : -1;
}

/* Writes up to 64 bytes of s into out (cap bytes) with non-printable bytes as \xHH. */
static void escape(char *out, size_t cap, slice s) {
    size_t w = 0;
    for (size_t i = 0; i < s.len && i < 64 && w + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'')
            out[w++] = (char)ch;
        else
            w += (size_t)snprintf(out + w, cap - w, "\\x%02x", ch);
    }
    if (s.len > 64 && w + 4 < cap) w += (size_t)snprintf(out + w, cap - w, "...");
    out[w] = '\0';
}

/* Fills in a key item from the pending opcodes and resets them. */
static void key_item(rdb_dec *d, rdb_item *out, int type, slice key, obj *val, size_t dropped) {
    out->kind = RDB_ITEM_KEY;
    out->type = type;
    out->key = key;
    out->val = val;
    out->expire_ms = d->pending_expire;
    out->idle = d->pending_idle;
    out->freq = d->pending_freq;
    out->fields_dropped = dropped;
    d->pending_expire = 0;
    d->pending_idle = -1;
    d->pending_freq = -1;
}

/* A plain hash of more fields than a compact one holds: starts decoding it field by field.
 * Returns 1 if it did (the key and header are consumed), 0 to decode it whole, -1. */
static int start_big_hash(rdb_dec *d, rdb_in *in, int type, slice key) {
    rdb_in probe = *in;
    int64_t min_ms;
    uint64_t n;
    size_t max = d->o.lim.max_listpack_entries;
    if (rdb_read_hash_header(&probe, type, &min_ms, &n) < 0) {
        if (probe.status == RDB_MORE) return 0; /* read the key again with more bytes */
        *in = probe;
        return -1;
    }
    if (n <= max || n <= 512) return 0;
    *in = probe;
    buf_clear(&d->big_key);
    buf_append(&d->big_key, key.p, key.len);
    /* The count sizes the table; a bogus one must not allocate more than a sane hash's. */
    d->big = (obj *)hash_new_sized(&d->o.lim, n < BIG_RESERVE_MAX ? n : BIG_RESERVE_MAX);
    d->big_type = type;
    d->big_left = n;
    d->big_min = min_ms;
    d->big_dropped = 0;
    return 1;
}

/* One field of the big hash; the item when it was the last. Returns 1 (item), 0, -1. */
static int read_big_field(rdb_dec *d, rdb_in *in, rdb_item *out) {
    rdb_hash_field hf;
    if (rdb_read_hash_field(in, &d->arena, d->big_type, d->valkey, d->big_min, &hf) < 0) return -1;
    hash *h = (hash *)d->big;
    if (hf.has_ttl && (hf.deadline <= 0 || hf.deadline <= d->o.drop_before_ms)) {
        d->big_dropped++;
    } else if (hf.has_ttl && hf.deadline > HASH_DEADLINE_MAX) {
        return rdb_in_fail(in, RDB_ECORRUPT, "field deadline %lld out of range",
                           (long long)hf.deadline);
    } else {
        hash_limits lim = d->o.lim;
        slice f = rdb_str_slice(in, &d->arena, hf.f), v = rdb_str_slice(in, &d->arena, hf.v);
        int created = hash_set(&h, &lim, 0, f, v, hf.has_ttl ? HASH_TTL_SET : HASH_TTL_CLEAR,
                               hf.has_ttl ? hf.deadline : HASH_NO_TTL);
        d->big = (obj *)h;
        if (!created) return rdb_in_fail(in, RDB_ECORRUPT, "hash with duplicate fields");
    }
    buf_clear(&d->arena); /* the field was copied: its decoded strings are not needed */
    if (--d->big_left > 0) return 0;
    obj *val = d->big;
    d->big = NULL;
    if (hash_stored(h) == 0) {
        obj_free(val);
        val = NULL;
    }
    key_item(d, out, d->big_type, (slice){d->big_key.data ? d->big_key.data : "", d->big_key.len},
             val, d->big_dropped);
    return 1;
}

static int read_key(rdb_dec *d, rdb_in *in, int type, rdb_item *out) {
    rdb_str k;
    /* Refused by its stated length, before its bytes are read or decompressed. */
    int rc = rdb_in_string_max(in, &d->arena, DB_KEY_MAX, &k);
    if (rc < 0) return -1;
    if (rc > 0)
        return rdb_in_fail(in, RDB_ECORRUPT,
                           "database %d: a key of %zu bytes (Mayfly keeps keys "
                           "of at most %zu)",
                           d->dbid, k.len, DB_KEY_MAX);
    if (rdb_is_plain_hash(type) && !d->o.skip_unsupported) {
        rc = start_big_hash(d, in, type, rdb_str_slice(in, &d->arena, k));
        if (rc != 0) return rc < 0 ? -1 : 0;
    }
    rdb_vctx v = {.o = &d->o,
                  .valkey = d->valkey,
                  .arena = &d->arena,
                  .blob = &d->blob,
                  .refs = &d->refs,
                  .refs_cap = &d->refs_cap};
    obj *val;
    if (rdb_read_value(in, &v, type, &val) < 0) {
        if (in->status == RDB_ETYPE) {
            /* Name the database and the key in the message. */
            char what[128], key[300];
            snprintf(what, sizeof(what), "%s", in->err);
            escape(key, sizeof(key), rdb_str_slice(in, &d->arena, k));
            snprintf(in->err, in->errcap,
                     "database %d, key '%s': %s, which Mayfly does not support", d->dbid, key,
                     what);
        }
        return -1;
    }
    key_item(d, out, type, rdb_str_slice(in, &d->arena, k), val, v.dropped);
    out->unsupported = v.unsupported;
    return 1;
}

/* An opcode that precedes a key (its deadline, LRU idle time, LFU counter, cluster slot
 * sizes). Returns 0 or -1. */
static int read_key_opcode(rdb_dec *d, rdb_in *in, int type) {
    uint64_t a, b, c;
    int64_t t;
    switch (type) {
    case RDB_OPCODE_EXPIRETIME: {
        const unsigned char *p = rdb_in_take(in, 4);
        if (!p) return -1;
        int32_t secs = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                 (uint32_t)p[3] << 24);
        d->pending_expire = (int64_t)secs * 1000;
        return 0;
    }
    case RDB_OPCODE_EXPIRETIME_MS:
        if (rdb_in_i64le(in, &t) < 0) return -1;
        d->pending_expire = t;
        return 0;
    case RDB_OPCODE_IDLE:
        if (rdb_in_len(in, &a, NULL) < 0) return -1;
        d->pending_idle = a > (uint64_t)INT64_MAX ? INT64_MAX : (long long)a;
        return 0;
    case RDB_OPCODE_FREQ:
        if ((d->pending_freq = rdb_in_u8(in)) < 0) return -1;
        return 0;
    default: /* RDB_OPCODE_SLOT_INFO */
        if (rdb_in_len(in, &a, NULL) < 0 || rdb_in_len(in, &b, NULL) < 0) return -1;
        return rdb_in_len(in, &c, NULL) < 0 ? -1 : 0;
    }
}

/* SELECTDB, RESIZEDB or AUX. Returns 1 with the item in *out, or -1. */
static int read_db_opcode(rdb_dec *d, rdb_in *in, int type, rdb_item *out) {
    uint64_t a, b;
    rdb_str s1, s2;
    switch (type) {
    case RDB_OPCODE_SELECTDB:
        if (rdb_in_len(in, &a, NULL) < 0) return -1;
        if (a >= (uint64_t)d->o.databases)
            return rdb_in_fail(in, RDB_ECORRUPT,
                               "the file holds database %llu but only %d databases are "
                               "configured (databases)",
                               (unsigned long long)a, d->o.databases);
        d->dbid = (int)a;
        out->kind = RDB_ITEM_SELECTDB;
        return 1;
    case RDB_OPCODE_RESIZEDB:
        if (rdb_in_len(in, &a, NULL) < 0 || rdb_in_len(in, &b, NULL) < 0) return -1;
        out->kind = RDB_ITEM_RESIZEDB;
        out->db_keys = a;
        out->db_expires = b;
        return 1;
    default: /* RDB_OPCODE_AUX */
        if (rdb_in_string(in, &d->arena, &s1) < 0 || rdb_in_string(in, &d->arena, &s2) < 0)
            return -1;
        out->kind = RDB_ITEM_AUX;
        out->aux_name = rdb_str_slice(in, &d->arena, s1);
        out->aux_value = rdb_str_slice(in, &d->arena, s2);
        return 1;
    }
}

/* One unit of the body. Returns 1 with an item in *out, 0 for a unit without one, -1. */
static int read_unit(rdb_dec *d, rdb_in *in, rdb_item *out) {
    if (d->big) return read_big_field(d, in, out);
    int type = rdb_in_u8(in);
    rdb_str s1;
    switch (type) {
    case -1:
        return -1;
    case RDB_OPCODE_EOF:
        d->stage = STAGE_TRAILER;
        return 0;
    case RDB_OPCODE_EXPIRETIME:
    case RDB_OPCODE_EXPIRETIME_MS:
    case RDB_OPCODE_IDLE:
    case RDB_OPCODE_FREQ:
    case RDB_OPCODE_SLOT_INFO:
        return read_key_opcode(d, in, type);
    case RDB_OPCODE_SELECTDB:
    case RDB_OPCODE_RESIZEDB:
    case RDB_OPCODE_AUX:
        return read_db_opcode(d, in, type, out);
    case RDB_OPCODE_FUNCTION2:
        if (rdb_in_string(in, &d->arena, &s1) < 0) return -1;
        out->kind = RDB_ITEM_FUNCTION;
        out->code = rdb_str_slice(in, &d->arena, s1);
        return 1;
    case RDB_OPCODE_MODULE_AUX:
        return skip_module_aux(d, in, out) < 0 ? -1 : 1;
    case RDB_OPCODE_FUNCTION_PRE_GA:
        return rdb_in_fail(in, RDB_ETYPE, "pre-release (7.0 RC) function data");
    case RDB_OPCODE_VALKEY_SLOT_IMPORT:
    case RDB_OPCODE_VALKEY_UPDATE:
        if (d->valkey)
            return rdb_in_fail(in, RDB_ETYPE, "Valkey %s data, which Mayfly does not support",
                               type == RDB_OPCODE_VALKEY_UPDATE ? "replication update"
                                                                : "cluster slot import");
        break;
    default:
        if (type <= RDB_TYPE_STREAM_LISTPACKS_5 && type != 8) return read_key(d, in, type, out);
        break;
    }
    return rdb_in_fail(in, RDB_ECORRUPT, "unknown RDB type or opcode %d", type);
}

/* The CRC64 trailer (none before version 5). The error has Redis's words, which tools
 * (and Redis's own tests) look for in the log: "Wrong RDB checksum", "RDB CRC error". */
static int read_trailer(rdb_dec *d, rdb_in *in) {
    if (d->version < 5 && !d->valkey) return 0;
    int64_t stored;
    if (rdb_in_i64le(in, &stored) < 0) return -1;
    if (stored != 0 && d->o.verify_checksum && (uint64_t)stored != d->crc)
        return rdb_in_fail(in, RDB_ECHECKSUM,
                           "Wrong RDB checksum expected: (%llx) but got (%llx) (RDB CRC error)",
                           (unsigned long long)d->crc, (unsigned long long)stored);
    return 0;
}

int rdb_dec_next(rdb_dec *d, const char *p, size_t len, size_t *used, rdb_item *out) {
    rdb_in in;
    rdb_in_init(&in, p, len, d->err, sizeof(d->err));
    buf_clear(&d->arena);
    memset(out, 0, sizeof(*out));
    size_t done = 0; /* bytes of completed units */
    int rc = RDB_OK;
    while (rc == RDB_OK) {
        int got = 0;
        if (d->stage == STAGE_HEADER) {
            if (read_header(d, &in) == 0) d->stage = STAGE_BODY;
        } else if (d->stage == STAGE_BODY) {
            got = read_unit(d, &in, out);
        } else if (d->stage == STAGE_TRAILER) {
            d->crc = crc64(d->crc, p + done, rdb_in_pos(&in) - done);
            d->offset += rdb_in_pos(&in) - done;
            done = rdb_in_pos(&in);
            if (read_trailer(d, &in) == 0) {
                d->stage = STAGE_DONE;
                d->offset += rdb_in_pos(&in) - done;
                *used = rdb_in_pos(&in);
                return RDB_DONE;
            }
        } else {
            rdb_in_fail(&in, RDB_ECORRUPT, "read past the end of the RDB stream");
        }
        if (in.status != RDB_OK) {
            rc = in.status;
            break;
        }
        d->crc = crc64(d->crc, p + done, rdb_in_pos(&in) - done);
        d->offset += rdb_in_pos(&in) - done;
        done = rdb_in_pos(&in);
        if (got > 0) break;
    }
    *used = done;
    out->dbid = d->dbid;
    if (rc == RDB_MORE) d->need = in.need - done;
    if (rc < 0) d->stage = STAGE_DONE;
    return rc;
}

/* ---- DUMP payloads ------------------------------------------------------------------- */

/* Checks a DUMP payload's footer (version, CRC64). Returns RDB_OK with *version, or
 * RDB_EVERSION with err set. */
static int verify_payload(const char *p, size_t len, int *version, char *err, size_t cap) {
    if (len < 10) {
        snprintf(err, cap, "payload too short");
        return RDB_EVERSION;
    }
    const unsigned char *f = (const unsigned char *)p + len - 10;
    *version = f[0] | f[1] << 8;
    if (*version > RDB_VALKEY_MAX_VERSION ||
        (*version > RDB_REDIS_MAX_VERSION && *version < RDB_VALKEY_MIN_VERSION)) {
        snprintf(err, cap, "payload version %d is newer than Mayfly reads", *version);
        return RDB_EVERSION;
    }
    uint64_t stored = 0;
    for (int i = 7; i >= 0; i--)
        stored = (stored << 8) | f[2 + i];
    if (crc64(0, p, len - 8) != stored) {
        snprintf(err, cap, "payload checksum mismatch");
        return RDB_EVERSION;
    }
    return RDB_OK;
}

int rdb_load_payload(const char *p, size_t len, const rdb_dec_opts *o, obj **val, int *type,
                     char *err, size_t cap) {
    *val = NULL;
    int version;
    if (verify_payload(p, len, &version, err, cap) != RDB_OK) return RDB_EVERSION;
    int valkey = version >= RDB_VALKEY_MIN_VERSION;
    rdb_in in;
    rdb_in_init(&in, p, len - 10, err, cap);
    buf arena;
    buf_init(&arena);
    void *refs = NULL;
    size_t refs_cap = 0;
    buf blob;
    buf_init(&blob);
    rdb_vctx v = {.o = o,
                  .valkey = valkey,
                  .arena = &arena,
                  .blob = &blob,
                  .refs = &refs,
                  .refs_cap = &refs_cap};
    int t = rdb_in_u8(&in);
    if (type) *type = t;
    if (t >= 0 && (t > RDB_TYPE_STREAM_LISTPACKS_5 || t == 8))
        rdb_in_fail(&in, RDB_ECORRUPT, "unknown RDB type %d", t);
    else if (t >= 0)
        rdb_read_value(&in, &v, t, val);
    buf_deinit(&arena);
    buf_deinit(&blob);
    mem_free(refs);
    if (in.status == RDB_MORE) {
        snprintf(err, cap, "payload cut short");
        return RDB_ECORRUPT;
    }
    return in.status;
}

int rdb_functions_payload_read(const char *p, size_t len, rdb_library_fn_rc *each, void *ctx,
                               char *err, size_t cap) {
    int version;
    if (verify_payload(p, len, &version, err, cap) != RDB_OK) return RDB_EVERSION;
    rdb_in in;
    rdb_in_init(&in, p, len - 10, err, cap);
    buf arena;
    buf_init(&arena);
    int rc = RDB_OK;
    /* Redis's texts (functionRestoreCommand, rdbFunctionLoad). */
    while (rc == RDB_OK && in.p < in.end) {
        int type = rdb_in_u8(&in);
        rdb_str code;
        buf_clear(&arena);
        if (type == RDB_OPCODE_FUNCTION_PRE_GA || type != RDB_OPCODE_FUNCTION2) {
            snprintf(err, cap, "%s",
                     type == RDB_OPCODE_FUNCTION_PRE_GA ? "Pre-GA function format not supported"
                                                        : "given type is not a function");
            rc = RDB_ECORRUPT;
        } else if (rdb_in_string(&in, &arena, &code) < 0) {
            snprintf(err, cap, "Failed loading library payload");
            rc = RDB_ECORRUPT;
        } else {
            slice c = rdb_str_slice(&in, &arena, code);
            if (each(c.p, c.len, ctx, err, cap) < 0) rc = RDB_ECORRUPT;
        }
    }
    buf_deinit(&arena);
    return rc;
}
