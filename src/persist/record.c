/* record: writing and reading the log's RESP commands; see record.h. */
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "persist/record_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEADER_LINE 32       /* "*<argc>\r\n" or "$<len>\r\n" */
#define MAX_ANNOTATION_LINE 1024 /* Redis's AOF_ANNOTATION_LINE_MAX_LEN */

static char *put_header(char *p, char kind, size_t n) {
    *p++ = kind;
    p += ll_to_str(p, (long long)n);
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

void record_put(buf *out, int argc, const slice *argv) {
    size_t need = 3 + STRCONV_LL_MAX;
    for (int i = 0; i < argc; i++)
        need += 5 + STRCONV_LL_MAX + argv[i].len;
    char *start = buf_reserve(out, need), *p = start;
    p = put_header(p, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        p = put_header(p, '$', argv[i].len);
        if (argv[i].len) memcpy(p, argv[i].p, argv[i].len);
        p += argv[i].len;
        *p++ = '\r';
        *p++ = '\n';
    }
    out->len += (size_t)(p - start);
}

void record_put_select(buf *out, int dbid) {
    char tmp[STRCONV_LL_MAX];
    slice argv[2] = {slice_of("SELECT"), {tmp, ll_to_str(tmp, dbid)}};
    record_put(out, 2, argv);
}

void record_put_timestamp(buf *out, long long secs) {
    buf_printf(out, "#TS:%lld\r\n", secs);
}

/* Finds the end of a line starting at pos (relative to the read position): *len (OUT)
 * receives its length with the '\n'. Returns REC_OK, REC_TRUNCATED (the file ends first),
 * REC_CORRUPT (longer than max) or REC_EIO. */
static int line_at(pr *r, size_t pos, size_t max, size_t *len) {
    for (size_t i = pos;; i++) {
        if (i - pos >= max) return REC_CORRUPT;
        int rc = pr_need(r, i + 1);
        if (rc == PR_SHORT) return REC_TRUNCATED;
        if (rc != PR_OK) return REC_EIO;
        if (pr_peek(r)[i] == '\n') {
            *len = i + 1 - pos;
            return REC_OK;
        }
    }
}

/* Parses "<kind><digits>\r\n" at pos (len bytes); returns the number or -1. */
static long long header_value(const pr *r, size_t pos, size_t len, char kind) {
    const char *p = pr_peek(r) + pos;
    if (len < 4 || p[0] != kind || p[len - 2] != '\r') return -1;
    unsigned long long v;
    if (str_to_ull(p + 1, len - 3, &v) != 0 || v > (1ULL << 62)) return -1;
    return (long long)v;
}

/* Damage, unless every byte from here on is zero (a torn write padded by the fs). */
static int bad(pr *r, const char **why, const char *what) {
    if (pr_rest_is_zero(r)) {
        *why = "the log ends in zero bytes (a torn write)";
        return REC_TRUNCATED;
    }
    *why = what;
    return REC_CORRUPT;
}

static int grow(record *rec, long long argc) {
    if (argc <= rec->argv_cap) return 0;
    rec->argv_cap = (int)argc;
    rec->argv = mem_realloc(rec->argv, sizeof(slice) * (size_t)argc);
    rec->offs = mem_realloc(rec->offs, sizeof(size_t) * (size_t)argc);
    return 0;
}

/* Reads the annotation line p (len bytes, CRLF included) if it is a #TS: one. Returns REC_OK,
 * or REC_TS_BAD / REC_TS_PAST when rec->ts_limit stops the reader there. */
static int timestamp_annotation(const char *p, size_t len, record *rec) {
    if (len <= 5 || memcmp(p, "#TS:", 4) != 0) return REC_OK;
    long long ts;
    int ok = p[len - 2] == '\r' && str_to_ll(p + 4, len - 6, &ts) == 0;
    if (rec->ts_limit && !ok) return REC_TS_BAD;
    if (ok) rec->ts = ts;
    if (ok && rec->ts_limit && ts > rec->ts_limit) return REC_TS_PAST;
    return REC_OK;
}

/* Skips annotation lines. Returns REC_OK with a command ahead, or the reader's end. */
static int skip_annotations(pr *r, record *rec, const char **why) {
    for (;;) {
        rec->offset = pr_offset(r);
        int rc = pr_need(r, 1);
        if (rc == PR_SHORT) return REC_EOF;
        if (rc != PR_OK) return REC_EIO;
        if (pr_peek(r)[0] != '#') return REC_OK;
        size_t len;
        rc = line_at(r, 0, MAX_ANNOTATION_LINE, &len);
        if (rc == REC_TRUNCATED) {
            *why = "the log ends inside an annotation";
            return rc;
        }
        if (rc == REC_CORRUPT) return bad(r, why, "an annotation line is too long");
        if (rc != REC_OK) return rc;
        if ((rc = timestamp_annotation(pr_peek(r), len, rec)) != REC_OK) return rc;
        pr_take(r, len);
    }
}

/* Reads the argument i of a command (its "$len" line at *pos) into rec, moving *pos past it;
 * left: the bytes of the file from the command's start. Returns REC_OK or the reader's end. */
static int read_argument(pr *r, uint64_t left, record *rec, long long i, size_t *pos,
                         const char **why) {
    size_t len;
    int rc = line_at(r, *pos, MAX_HEADER_LINE, &len);
    if (rc == REC_TRUNCATED) *why = "the log ends inside a command";
    if (rc == REC_CORRUPT) return bad(r, why, "bad argument length");
    if (rc != REC_OK) return rc;
    long long alen = header_value(r, *pos, len, '$');
    if (alen < 0) return bad(r, why, "bad argument length");
    *pos += len;
    rec->lines++;
    if ((uint64_t)alen + 2 > left - *pos) {
        *why = "the log ends inside a command";
        return REC_TRUNCATED;
    }
    rc = pr_need(r, *pos + (size_t)alen + 2);
    if (rc == PR_SHORT) {
        *why = "the log ends inside a command";
        return REC_TRUNCATED;
    }
    if (rc != PR_OK) return REC_EIO;
    const char *p = pr_peek(r) + *pos + alen;
    if (p[0] != '\r' || p[1] != '\n') return bad(r, why, "an argument does not end in CRLF");
    rec->offs[i] = *pos;
    rec->argv[i].len = (size_t)alen;
    *pos += (size_t)alen + 2;
    return REC_OK;
}

int record_read(pr *r, uint64_t size, record *rec, const char **why) {
    rec->lines = 0;
    int rc = skip_annotations(r, rec, why);
    if (rc != REC_OK) return rc;
    if (pr_peek(r)[0] != '*') return bad(r, why, RECORD_NOT_A_COMMAND);
    uint64_t left = size > rec->offset ? size - rec->offset : 0;
    size_t len, pos;
    if ((rc = line_at(r, 0, MAX_HEADER_LINE, &len)) != REC_OK) {
        *why = "the log ends inside a command";
        return rc == REC_CORRUPT ? bad(r, why, "bad argument count") : rc;
    }
    long long argc = header_value(r, 0, len, '*');
    if (argc >= 0) rec->lines = 1;
    /* Each argument takes at least "$0\r\n\r\n". */
    if (argc < 1 || (uint64_t)argc > left / 6 + 1) return bad(r, why, "bad argument count");
    grow(rec, argc);
    pos = len;
    for (long long i = 0; i < argc; i++, rec->lines++) {
        if ((rc = read_argument(r, left, rec, i, &pos, why)) != REC_OK) return rc;
    }
    const char *base = pr_peek(r);
    for (long long i = 0; i < argc; i++)
        rec->argv[i].p = base + rec->offs[i];
    rec->argc = (int)argc;
    pr_take(r, pos);
    return REC_OK;
}

void record_deinit(record *rec) {
    mem_free(rec->argv);
    mem_free(rec->offs);
    rec->argv = NULL;
    rec->offs = NULL;
    rec->argv_cap = 0;
}
