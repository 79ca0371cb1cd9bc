/* legacy: reading the persistence formats of Mayfly 0.1 (before RDB), to upgrade a data
 * directory written by it; nothing here writes them any more.
 *
 *   snapshot  "MAYFLYSN" | version u8 (1) | created_ms u64le
 *             { 'D' dbid | 'S' key expire_ms value | 'H' key expire_ms n {flen vlen deadline f v}*
 * }* 'E' | XXH64 of every byte before it, u64le log       "MAYFLYLG" | version u8 | created_ms
 * u64le, then records (record_int.h)
 *
 *   record    len u32le | ~len u32le | check u32le | payload[len]
 *   payload   time_ms | dbid | argc | { arglen arg }*          (varints)
 *
 * (LEB128 varints; a string is a varint length and the bytes; 0 means no TTL; check is the
 * low 32 bits of XXH3-64 of the payload seeded with len.) The snapshot loader checks every
 * length, database id and deadline, a duplicate key as damage, and the trailer's checksum
 * over the whole file; the log reader tells a torn tail from damage. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/mem.h"
#include "persist/legacy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define OP_DB 'D'
#define OP_STRING 'S'
#define OP_HASH 'H'
#define OP_END 'E'
#define MAX_LEN (1ULL << 40) /* a length beyond this is damage, not data */

int legacy_is_snapshot(const char *path) {
    char magic[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, magic, sizeof(magic));
    close(fd);
    return n == 8 && memcmp(magic, LEGACY_SNAP_MAGIC, 8) == 0;
}

static int corrupt(legacy_snap *l, const char *what) {
    snprintf(l->err, sizeof(l->err), "%s", what);
    l->err_offset = pr_offset(&l->r);
    return LEGACY_ECORRUPT;
}

/* Maps a reader status to a loader result. */
static int read_fail(legacy_snap *l, int rc) {
    if (rc == PR_EIO) {
        snprintf(l->err, sizeof(l->err), "read error: %s", strerror(l->r.err));
        l->err_offset = pr_offset(&l->r);
        return LEGACY_EIO;
    }
    return corrupt(l, "unexpected end of file (truncated snapshot)");
}

#define READ(call)                                                                                 \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != PR_OK) return read_fail(l, rc_);                                                \
    } while (0)

int legacy_snap_begin(legacy_snap *l, const char *path, int64_t drop_before_ms) {
    memset(l, 0, sizeof(*l));
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    l->drop_before_ms = drop_before_ms;
    if (l->fd < 0) {
        snprintf(l->err, sizeof(l->err), "%s", strerror(errno));
        return errno == ENOENT ? LEGACY_ENOENT : LEGACY_EIO;
    }
    pr_init(&l->r, l->fd);
    READ(pr_need(&l->r, 8));
    if (memcmp(pr_peek(&l->r), LEGACY_SNAP_MAGIC, 8) != 0) return corrupt(l, "not a snapshot file");
    pr_take(&l->r, 8);
    uint8_t version;
    uint64_t created;
    READ(pr_u8(&l->r, &version));
    if (version != LEGACY_SNAP_VERSION) return corrupt(l, "unknown snapshot version");
    READ(pr_u64le(&l->r, &created));
    l->created_ms = (int64_t)created;
    return LEGACY_MORE;
}

/* Reads a varint length bounded by MAX_LEN. */
static int read_len(legacy_snap *l, uint64_t *len) {
    READ(pr_varint(&l->r, len));
    if (*len > MAX_LEN) return corrupt(l, "length out of range");
    return LEGACY_MORE;
}

/* Reads the key and expire of a record into scratch; returns LEGACY_MORE or an error. */
static int read_key(legacy_snap *l, slice *key, int64_t *expire_ms) {
    uint64_t klen, exp;
    int rc = read_len(l, &klen);
    if (rc != LEGACY_MORE) return rc;
    READ(pr_need(&l->r, klen));
    if (klen > l->scratch_cap) {
        l->scratch_cap = klen + 64;
        l->scratch = mem_realloc(l->scratch, l->scratch_cap);
    }
    memcpy(l->scratch, pr_take(&l->r, klen), klen);
    READ(pr_varint(&l->r, &exp));
    if (exp > (uint64_t)INT64_MAX) return corrupt(l, "key expire time out of range");
    *key = (slice){l->scratch, klen};
    *expire_ms = (int64_t)exp;
    if (db_find_raw(db_get(l->dbid), *key)) return corrupt(l, "duplicate key");
    return LEGACY_MORE;
}

static int dropped(const legacy_snap *l, int64_t when) {
    return when != 0 && when <= l->drop_before_ms;
}

static void add_key(legacy_snap *l, slice key, obj *val, int64_t expire_ms) {
    db *d = db_get(l->dbid);
    db_add_expire(d, key, val, expire_ms);
    l->keys_loaded++;
}

static int load_string(legacy_snap *l) {
    slice key;
    int64_t exp;
    uint64_t vlen;
    int rc = read_key(l, &key, &exp);
    if (rc == LEGACY_MORE) rc = read_len(l, &vlen);
    if (rc != LEGACY_MORE) return rc;
    READ(pr_need(&l->r, vlen));
    const char *v = pr_take(&l->r, vlen);
    if (dropped(l, exp)) {
        l->keys_expired++;
        return LEGACY_MORE;
    }
    add_key(l, key, &string_new(v, vlen)->hdr, exp);
    return LEGACY_MORE;
}

static int load_hash(legacy_snap *l) {
    slice key;
    int64_t exp;
    uint64_t n;
    int rc = read_key(l, &key, &exp);
    if (rc == LEGACY_MORE) rc = read_len(l, &n);
    if (rc != LEGACY_MORE) return rc;
    if (n == 0) return corrupt(l, "empty hash");
    hash_limits lim = {(size_t)config.hash_max_listpack_entries,
                       (size_t)config.hash_max_listpack_value};
    hash *h = hash_new();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t flen, vlen, deadline;
        rc = read_len(l, &flen);
        if (rc == LEGACY_MORE) rc = read_len(l, &vlen);
        if (rc != LEGACY_MORE) goto fail;
        int r2 = pr_varint(&l->r, &deadline);
        if (r2 == PR_OK) r2 = pr_need(&l->r, flen + vlen);
        if (r2 != PR_OK) {
            rc = read_fail(l, r2);
            goto fail;
        }
        if (deadline > (uint64_t)HASH_DEADLINE_MAX) {
            rc = corrupt(l, "field expire time out of range");
            goto fail;
        }
        const char *p = pr_take(&l->r, flen + vlen);
        if (dropped(l, (int64_t)deadline)) {
            l->fields_expired++;
            continue;
        }
        hash_set(&h, &lim, l->drop_before_ms, (slice){p, flen}, (slice){p + flen, vlen},
                 deadline ? HASH_TTL_SET : HASH_TTL_CLEAR, (int64_t)deadline);
    }
    if (dropped(l, exp) || hash_stored(h) == 0) {
        l->keys_expired++;
        hash_free(h);
        return LEGACY_MORE;
    }
    add_key(l, key, (obj *)h, exp);
    return LEGACY_MORE;
fail:
    hash_free(h);
    return rc;
}

static int load_end(legacy_snap *l) {
    uint64_t want = pr_digest(&l->r), got;
    READ(pr_u64le(&l->r, &got));
    if (got != want) return corrupt(l, "checksum mismatch");
    if (pr_need(&l->r, 1) != PR_SHORT) return corrupt(l, "trailing bytes after the end");
    return LEGACY_DONE;
}

int legacy_snap_step(legacy_snap *l, size_t max_records) {
    for (size_t i = 0; i < max_records; i++) {
        uint8_t op;
        uint64_t id;
        int rc;
        READ(pr_u8(&l->r, &op));
        switch (op) {
        case OP_DB:
            READ(pr_varint(&l->r, &id));
            if (id >= (uint64_t)db_count()) return corrupt(l, "database id out of range");
            l->dbid = (int)id;
            break;
        case OP_STRING:
            if ((rc = load_string(l)) != LEGACY_MORE) return rc;
            break;
        case OP_HASH:
            if ((rc = load_hash(l)) != LEGACY_MORE) return rc;
            break;
        case OP_END:
            return load_end(l);
        default:
            return corrupt(l, "unknown record type");
        }
    }
    return LEGACY_MORE;
}

uint64_t legacy_snap_offset(const legacy_snap *l) {
    return pr_offset(&l->r);
}

void legacy_snap_end(legacy_snap *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
    if (l->r.buf) pr_deinit(&l->r);
    mem_free(l->scratch);
    l->scratch = NULL;
}

/* ---- the log ---- */

static uint32_t check_of(const char *payload, uint32_t len) {
    return (uint32_t)XXH3_64bits_withSeed(payload, len, len);
}

int legacy_log_read_header(pr *r, int64_t *created_ms) {
    int rc = pr_need(r, LEGACY_LOG_HEADER_LEN);
    if (rc == PR_EIO) return LREC_EIO;
    if (rc == PR_SHORT) return r->end == r->pos ? LREC_EOF : LREC_TRUNCATED;
    const char *h = pr_take(r, LEGACY_LOG_HEADER_LEN);
    if (memcmp(h, LEGACY_LOG_MAGIC, 8) != 0 || h[8] != LEGACY_LOG_VERSION) return LREC_CORRUPT;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)h[9 + i] << (8 * i);
    *created_ms = (int64_t)v;
    return LREC_OK;
}

/* A record cut short, or followed only by zero bytes, is a torn tail; else damage. */
static int bad_or_torn(pr *r, const char **why, const char *what) {
    if (pr_rest_is_zero(r)) {
        *why = "the log ends in zero bytes (a torn write)";
        return LREC_TRUNCATED;
    }
    *why = what;
    return LREC_CORRUPT;
}

int legacy_log_read(pr *r, legacy_record *rec, const char **why) {
    rec->offset = pr_offset(r);
    int rc = pr_need(r, LEGACY_RECORD_HEADER_LEN);
    if (rc == PR_EIO) return LREC_EIO;
    if (rc == PR_SHORT) {
        if (r->end == r->pos) return LREC_EOF;
        *why = "the log ends inside a record header";
        return LREC_TRUNCATED;
    }
    uint32_t len = u32le_get(pr_peek(r));
    uint32_t inverted = u32le_get(pr_peek(r) + 4);
    uint32_t check = u32le_get(pr_peek(r) + 8);
    if (len == 0 || len >= LEGACY_RECORD_MAX_LEN || inverted != ~len)
        return bad_or_torn(r, why, "bad record header");
    rc = pr_need(r, LEGACY_RECORD_HEADER_LEN + (size_t)len);
    if (rc == PR_EIO) return LREC_EIO;
    if (rc == PR_SHORT) {
        if (pr_rest_is_zero(r))
            *why = "the log ends in zero bytes (a torn write)";
        else
            *why = "the log ends inside a record";
        return LREC_TRUNCATED;
    }
    const char *p = pr_peek(r) + LEGACY_RECORD_HEADER_LEN;
    if (check_of(p, len) != check) return bad_or_torn(r, why, "record checksum mismatch");
    pr_take(r, LEGACY_RECORD_HEADER_LEN + (size_t)len);
    /* The payload is checked: anything malformed in it now is a bug or deliberate damage. */
    size_t pos = 0, n;
    uint64_t ts, dbid, argc;
    if (!(n = varint_get_checked(p, len, &ts))) goto bad;
    pos += n;
    if (!(n = varint_get_checked(p + pos, len - pos, &dbid))) goto bad;
    pos += n;
    if (!(n = varint_get_checked(p + pos, len - pos, &argc))) goto bad;
    pos += n;
    if (argc == 0 || argc > len || dbid > INT32_MAX || ts > (uint64_t)INT64_MAX) goto bad;
    if ((int)argc > rec->argv_cap) {
        rec->argv_cap = (int)argc;
        rec->argv = mem_realloc(rec->argv, sizeof(slice) * argc);
    }
    for (uint64_t i = 0; i < argc; i++) {
        uint64_t alen;
        if (!(n = varint_get_checked(p + pos, len - pos, &alen))) goto bad;
        pos += n;
        if (alen > len - pos) goto bad;
        rec->argv[i] = (slice){p + pos, alen};
        pos += alen;
    }
    if (pos != len) goto bad;
    rec->time_ms = (int64_t)ts;
    rec->dbid = (int)dbid;
    rec->argc = (int)argc;
    return LREC_OK;
bad:
    *why = "malformed record payload";
    return LREC_CORRUPT;
}

void legacy_record_deinit(legacy_record *rec) {
    mem_free(rec->argv);
    rec->argv = NULL;
    rec->argv_cap = 0;
}
