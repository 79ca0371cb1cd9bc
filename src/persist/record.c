/* record: encoding and decoding of log records; see record.h. */
#include "mayfly/util/mem.h"
#include "persist/record_int.h"

#include <string.h>

/* The record check runs once per logged command on short payloads: inline XXH3 (the same
 * function as the library's) rather than call it through the shared library. */
#define XXH_INLINE_ALL
#include <xxhash.h>

static uint32_t check_of(const char *payload, uint32_t len) {
    return (uint32_t)XXH3_64bits_withSeed(payload, len, len);
}

void record_put_header(buf *out, int64_t created_ms) {
    char h[LOG_HEADER_LEN];
    memcpy(h, LOG_MAGIC, 8);
    h[8] = LOG_VERSION;
    for (int i = 0; i < 8; i++)
        h[9 + i] = (char)((uint64_t)created_ms >> (8 * i));
    buf_append(out, h, sizeof(h));
}

void record_put(buf *out, int64_t time_ms, int dbid, int argc, const slice *argv) {
    /* One reservation for the worst case, then the record is encoded in place. */
    size_t need = RECORD_HEADER_LEN + 3 * VARINT_MAX;
    for (int i = 0; i < argc; i++)
        need += VARINT_MAX + argv[i].len;
    char *h = buf_reserve(out, need);
    char *payload = h + RECORD_HEADER_LEN, *p = payload;
    p += varint_put(p, (uint64_t)time_ms);
    p += varint_put(p, (uint64_t)dbid);
    p += varint_put(p, (uint64_t)argc);
    for (int i = 0; i < argc; i++) {
        p += varint_put(p, argv[i].len);
        if (argv[i].len) memcpy(p, argv[i].p, argv[i].len);
        p += argv[i].len;
    }
    uint32_t len = (uint32_t)(p - payload);
    u32le_put(h, len);
    u32le_put(h + 4, ~len);
    u32le_put(h + 8, check_of(payload, len));
    out->len += RECORD_HEADER_LEN + len;
}

int record_read_header(pr *r, int64_t *created_ms) {
    int rc = pr_need(r, LOG_HEADER_LEN);
    if (rc == PR_EIO) return REC_EIO;
    if (rc == PR_SHORT) return r->end == r->pos ? REC_EOF : REC_TRUNCATED;
    const char *h = pr_take(r, LOG_HEADER_LEN);
    if (memcmp(h, LOG_MAGIC, 8) != 0 || h[8] != LOG_VERSION) return REC_CORRUPT;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)h[9 + i] << (8 * i);
    *created_ms = (int64_t)v;
    return REC_OK;
}

/* A record cut short, or followed only by zero bytes, is a torn tail; else damage. */
static int bad_or_torn(pr *r, const char **why, const char *what) {
    if (pr_rest_is_zero(r)) {
        *why = "the log ends in zero bytes (a torn write)";
        return REC_TRUNCATED;
    }
    *why = what;
    return REC_CORRUPT;
}

int record_read(pr *r, record *rec, const char **why) {
    rec->offset = pr_offset(r);
    int rc = pr_need(r, RECORD_HEADER_LEN);
    if (rc == PR_EIO) return REC_EIO;
    if (rc == PR_SHORT) {
        if (r->end == r->pos) return REC_EOF;
        *why = "the log ends inside a record header";
        return REC_TRUNCATED;
    }
    uint32_t len = u32le_get(pr_peek(r));
    uint32_t inverted = u32le_get(pr_peek(r) + 4);
    uint32_t check = u32le_get(pr_peek(r) + 8);
    if (len == 0 || len >= RECORD_MAX_LEN || inverted != ~len)
        return bad_or_torn(r, why, "bad record header");
    rc = pr_need(r, RECORD_HEADER_LEN + (size_t)len);
    if (rc == PR_EIO) return REC_EIO;
    if (rc == PR_SHORT) {
        if (pr_rest_is_zero(r))
            *why = "the log ends in zero bytes (a torn write)";
        else
            *why = "the log ends inside a record";
        return REC_TRUNCATED;
    }
    const char *p = pr_peek(r) + RECORD_HEADER_LEN;
    if (check_of(p, len) != check) return bad_or_torn(r, why, "record checksum mismatch");
    pr_take(r, RECORD_HEADER_LEN + (size_t)len);
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
    return REC_OK;
bad:
    *why = "malformed record payload";
    return REC_CORRUPT;
}

void record_deinit(record *rec) {
    mem_free(rec->argv);
    rec->argv = NULL;
    rec->argv_cap = 0;
}
