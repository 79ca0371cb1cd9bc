/* parse: the incremental RESP request parser.
 *
 * A command is either multibulk or inline, chosen by its first byte as Redis does ('*'
 * means multibulk, anything else is an inline line):
 *
 *     *3\r\n $3\r\n SET\r\n $1\r\n k\r\n $1\r\n v\r\n       SET "hello world" 'x'\r\n
 *     |<-count->|<-- header + payload, per argument -->|     |<------- one line -------->|
 *
 * All positions are offsets from data[0], the first byte of the current command, so the
 * caller may move its buffer between calls. Progress is kept in the parser:
 *
 *     data: [ parsed: pos bytes | searched, no line end: scan - pos | unseen ... )
 *
 * pos only moves forward over whole lines and payloads; scan remembers how far the search
 * for the current header or inline line has gone, so each byte is looked at once even when
 * the bytes dribble in one at a time. While a bulk payload is incomplete nothing is
 * scanned at all: the parser only compares lengths.
 *
 * Redis semantics kept on purpose: a header line ends at its first '\r' and the byte after
 * it is skipped without a check, as is the pair after a bulk payload. One deviation: Redis
 * searches the line end with strchr, so a NUL byte in a header or inline line makes it wait
 * for 64 KB and then fail with "too big ..."; we search with memchr, so "*1\0\r\n" fails at
 * once with "invalid multibulk length", and an inline line may contain NUL bytes, which
 * split as ordinary characters. */
#include "mayfly/resp/resp.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/splitargs.h"
#include "mayfly/util/strconv.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

enum {
    RESP_ST_START,  /* nothing of the current command parsed yet */
    RESP_ST_INLINE, /* searching for the end of an inline line */
    RESP_ST_COUNT,  /* searching for the end of the "*N" line */
    RESP_ST_ARGS,   /* reading "$L" headers and payloads */
    RESP_ST_ERROR,  /* a protocol error happened: err stays set */
};

/* Argument and scratch storage above these sizes is freed before the next command, so one
 * huge command does not pin memory for the life of the connection. */
#define ARGV_KEEP 1024
#define SCRATCH_KEEP 4096

void resp_parser_init(resp_parser *p) {
    memset(p, 0, sizeof(*p));
    p->limits.max_bulk_len = 512LL * 1024 * 1024;
    p->limits.max_multibulk = INT_MAX;
    p->limits.max_inline = RESP_INLINE_MAX;
    p->limits.unauthenticated = 0;
    p->bulk_len = -1;
}

void resp_parser_deinit(resp_parser *p) {
    mem_free(p->argv);
    mem_free(p->scratch);
    resp_parser_init(p);
}

void resp_parser_reset(resp_parser *p) {
    p->argc = 0;
    p->consumed = 0;
    p->inline_base = NULL;
    p->err = NULL;
    p->state = RESP_ST_START;
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->pos = 0;
    p->scan = 0;
    p->seen = 0;
}

static int fail(resp_parser *p, const char *msg) {
    p->err = msg;
    p->state = RESP_ST_ERROR;
    return RESP_EPROTO;
}

/* Ends the current command: it used pos bytes. */
static int finish(resp_parser *p, size_t used) {
    p->consumed = used;
    p->state = RESP_ST_START;
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->pos = 0;
    p->scan = 0;
    return RESP_OK;
}

/* Moves past a parsed line or payload; the next line search starts there. */
static void advance_to(resp_parser *p, size_t pos) {
    p->pos = pos;
    p->scan = pos;
}

/* Appends one argument slice, growing argv by doubling but, for multibulk, never beyond
 * the arguments announced, so "*2147483647\r\n" alone allocates nothing. */
static void push_arg(resp_parser *p, size_t off, size_t len) {
    if (p->argc == p->argv_cap) {
        long long want = p->argv_cap ? 2LL * p->argv_cap : 8;
        long long announced = (long long)p->argc + p->multibulk_left;
        if (p->multibulk_left > 0 && want > announced) want = announced;
        if (want > INT_MAX) want = INT_MAX;
        p->argv = mem_realloc(p->argv, (size_t)want * sizeof(*p->argv));
        p->argv_cap = (int)want;
    }
    p->argv[p->argc].off = off;
    p->argv[p->argc].len = len;
    p->argc++;
}

/* Parses the number of a "*N" or "$L" header as str_to_ll does. Short plain numbers (the
 * lengths of nearly every request) are read inline; anything else (a sign, a leading
 * zero, ten digits or more, a bad byte) takes the strict general path. */
static inline int parse_header_number(const char *s, size_t n, long long *out) {
    if (n >= 1 && n <= 9 && (s[0] != '0' || n == 1)) {
        long long v = 0;
        size_t i = 0;
        for (; i < n; i++) {
            unsigned d = (unsigned)(unsigned char)s[i] - '0';
            if (d > 9) break;
            v = v * 10 + d;
        }
        if (i == n) {
            *out = v;
            return 0;
        }
    }
    return str_to_ll(s, n, out);
}

/* Finds the '\r' ending the header line that starts at pos. Returns RESP_OK with *eol set
 * to its offset when the byte after it has arrived too, RESP_INCOMPLETE to wait, or
 * RESP_EPROTO with too_big when more than max_inline bytes hold no '\r' at all. */
static int find_header_end(resp_parser *p, const char *data, size_t len, size_t *eol,
                           const char *too_big) {
    const char *cr = memchr(data + p->scan, '\r', len - p->scan);
    if (cr == NULL) {
        p->scan = len;
        if (len - p->pos > p->limits.max_inline) return fail(p, too_big);
        return RESP_INCOMPLETE;
    }
    size_t at = (size_t)(cr - data);
    if (at + 1 >= len) {
        p->scan = at; /* look at this '\r' again once its '\n' arrives */
        return RESP_INCOMPLETE;
    }
    *eol = at;
    return RESP_OK;
}

/* Builds "Protocol error: expected '$', got 'X'". Redis formats the byte with %c and then
 * turns CR and LF into spaces; a NUL ends its string early, which we reproduce. */
static int fail_expected_dollar(resp_parser *p, char got) {
    static const char prefix[] = "Protocol error: expected '$', got '";
    size_t n = sizeof(prefix) - 1;
    memcpy(p->errbuf, prefix, n);
    if (got != '\0') {
        p->errbuf[n++] = (got == '\r' || got == '\n') ? ' ' : got;
        p->errbuf[n++] = '\'';
    }
    p->errbuf[n] = '\0';
    return fail(p, p->errbuf);
}

/* Reads the "*N\r\n" line. On RESP_OK the state is RESP_ST_ARGS, or the command is
 * finished when N <= 0. */
static int parse_count(resp_parser *p, const char *data, size_t len) {
    size_t eol;
    int rc = find_header_end(p, data, len, &eol, "Protocol error: too big mbulk count string");
    if (rc != RESP_OK) return rc;
    long long n;
    if (parse_header_number(data + 1, eol - 1, &n) != 0 || n > INT_MAX ||
        n > p->limits.max_multibulk)
        return fail(p, "Protocol error: invalid multibulk length");
    if (p->limits.unauthenticated && n > RESP_UNAUTH_MAX_MULTIBULK)
        return fail(p, "Protocol error: unauthenticated multibulk length");
    advance_to(p, eol + 2);
    if (n <= 0) return finish(p, p->pos);
    p->multibulk_left = n;
    p->bulk_len = -1;
    p->state = RESP_ST_ARGS;
    return RESP_OK;
}

/* Reads the "$L\r\n" header at pos into bulk_len. */
static int parse_bulk_header(resp_parser *p, const char *data, size_t len) {
    /* Fast path for a complete header of 1-9 plain digits (no leading zero), which is
     * nearly every request: the first '\r' is the one right after the digits, so the
     * result is the general path's without the memchr. */
    const char *s = data + p->pos;
    size_t avail = len - p->pos, i = 1;
    if (avail >= 4 && s[0] == '$' && (s[1] != '0' || s[2] == '\r')) {
        long long v = 0;
        for (; i < avail && i <= 9; i++) {
            unsigned d = (unsigned)(unsigned char)s[i] - '0';
            if (d > 9) break;
            v = v * 10 + d;
        }
        if (i > 1 && i + 1 < avail && s[i] == '\r' && v <= p->limits.max_bulk_len &&
            !(p->limits.unauthenticated && v > RESP_UNAUTH_MAX_BULK)) {
            advance_to(p, p->pos + i + 2);
            p->bulk_len = v;
            return RESP_OK;
        }
    }
    size_t eol;
    int rc = find_header_end(p, data, len, &eol, "Protocol error: too big bulk count string");
    if (rc != RESP_OK) return rc;
    if (data[p->pos] != '$') return fail_expected_dollar(p, data[p->pos]);
    long long n;
    if (parse_header_number(data + p->pos + 1, eol - p->pos - 1, &n) != 0 || n < 0 ||
        n > p->limits.max_bulk_len)
        return fail(p, "Protocol error: invalid bulk length");
    if (p->limits.unauthenticated && n > RESP_UNAUTH_MAX_BULK)
        return fail(p, "Protocol error: unauthenticated bulk length");
    advance_to(p, eol + 2);
    p->bulk_len = n;
    return RESP_OK;
}

static int parse_multibulk(resp_parser *p, const char *data, size_t len) {
    if (p->state == RESP_ST_COUNT) {
        int rc = parse_count(p, data, len);
        if (rc != RESP_OK || p->state == RESP_ST_START) return rc;
    }
    while (p->multibulk_left > 0) {
        if (p->bulk_len < 0) {
            int rc = parse_bulk_header(p, data, len);
            if (rc != RESP_OK) return rc;
        }
        /* The payload and the two bytes after it (skipped unchecked, as Redis does). */
        size_t need = (size_t)p->bulk_len + 2;
        if (len - p->pos < need) return RESP_INCOMPLETE;
        push_arg(p, p->pos, (size_t)p->bulk_len);
        advance_to(p, p->pos + need);
        p->bulk_len = -1;
        p->multibulk_left--;
    }
    return finish(p, p->pos);
}

/* Splits line[0..n) into arguments unescaped into the scratch buffer. Returns 0, or -1 on
 * unbalanced quotes. The output is never longer than the line, so scratch needs n bytes. */
static int split_inline(resp_parser *p, const char *line, size_t n) {
    if (p->scratch_cap < n) {
        mem_free(p->scratch);
        p->scratch = mem_alloc(n);
        p->scratch_cap = n;
    }
    size_t i = 0, o = 0;
    for (;;) {
        while (i < n && splitargs_blank(line[i]))
            i++;
        if (i == n) return 0;
        long long arg_len = splitargs_one(line, n, &i, p->scratch + o);
        if (arg_len < 0) return -1;
        push_arg(p, o, (size_t)arg_len);
        o += (size_t)arg_len;
    }
}

/* An inline command: one line ending in "\n" or "\r\n", split like Redis's sdssplitargs. */
static int parse_inline(resp_parser *p, const char *data, size_t len) {
    const char *nl = memchr(data + p->scan, '\n', len - p->scan);
    if (nl == NULL) {
        p->scan = len;
        if (len > p->limits.max_inline) return fail(p, "Protocol error: too big inline request");
        return RESP_INCOMPLETE;
    }
    size_t end = (size_t)(nl - data);
    size_t used = end + 1;
    if (end > 0 && data[end - 1] == '\r') end--;
    if (split_inline(p, data, end) != 0)
        return fail(p, "Protocol error: unbalanced quotes in request");
    p->inline_base = p->scratch;
    return finish(p, used);
}

/* Prepares for a new command: drops the last one's output and oversized storage. */
static void start_command(resp_parser *p) {
    p->argc = 0;
    if (p->argv_cap > ARGV_KEEP) {
        mem_free(p->argv);
        p->argv = NULL;
        p->argv_cap = 0;
    }
    if (p->scratch_cap > SCRATCH_KEEP) {
        mem_free(p->scratch);
        p->scratch = NULL;
        p->scratch_cap = 0;
    }
}

/* Reads the 1-9 plain digits (no leading zero, except a lone "0") at s[0..avail) up to the
 * '\r' that ends them, with the byte after the '\r' present too. Returns the number of
 * bytes through that '\r' and sets *v, or 0 when the header is of any other shape or cut
 * short (the general path then decides). */
static inline size_t short_number(const char *s, size_t avail, long long *v) {
    if (avail < 3) return 0;
    unsigned d = (unsigned)(unsigned char)s[0] - '0';
    if (d > 9) return 0;
    if (s[1] == '\r') { /* one digit: most lengths */
        *v = d;
        return 2;
    }
    if (d == 0) return 0; /* a leading zero */
    unsigned d1 = (unsigned)(unsigned char)s[1] - '0';
    if (d1 <= 9 && avail >= 4 && s[2] == '\r') { /* two digits: most of the rest */
        *v = d * 10 + d1;
        return 3;
    }
    long long n = d;
    size_t i = 1;
    for (; i < avail && i < 9; i++) {
        d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) break;
        n = n * 10 + d;
    }
    if (i + 1 >= avail || s[i] != '\r') return 0;
    *v = n;
    return i + 1;
}

/* Fast path for a multibulk command that is whole in data and has the shape of nearly
 * every request: "*N" and every "$L" of 1-9 plain digits, at most WHOLE_MAX_ARGS
 * arguments, an authenticated client. Positions and counts stay in locals; the result is
 * the general path's. Returns RESP_OK, or RESP_INCOMPLETE having changed nothing the
 * general path reads (it then parses the command from its first byte). */
#define WHOLE_MAX_ARGS 64
static int parse_whole(resp_parser *p, const char *data, size_t len) {
    long long n, blen;
    size_t at = 1 + short_number(data + 1, len - 1, &n);
    if (at == 1 || n == 0 || n > WHOLE_MAX_ARGS || n > p->limits.max_multibulk ||
        p->limits.unauthenticated)
        return RESP_INCOMPLETE;
    if (n > p->argv_cap) {
        p->argv = mem_realloc(p->argv, (size_t)n * sizeof(*p->argv));
        p->argv_cap = (int)n;
    }
    at++; /* the byte after '\r', skipped unchecked as Redis does */
    long long max_bulk = p->limits.max_bulk_len;
    resp_arg *argv = p->argv;
    for (long long i = 0; i < n; i++) {
        if (at >= len || data[at] != '$') return RESP_INCOMPLETE;
        size_t h = short_number(data + at + 1, len - at - 1, &blen);
        if (h == 0 || blen > max_bulk) return RESP_INCOMPLETE;
        at += h + 2; /* '$', the digits and '\r', and the byte after */
        if (len - at < (size_t)blen + 2) return RESP_INCOMPLETE;
        argv[i].off = at;
        argv[i].len = (size_t)blen;
        at += (size_t)blen + 2;
    }
    p->argc = (int)n;
    return finish(p, at);
}

int resp_parse(resp_parser *p, const char *data, size_t len) {
    if (p->state == RESP_ST_ERROR) return RESP_EPROTO;
    assert(len >= p->scan && p->scan >= p->pos);
    p->consumed = 0;
    p->inline_base = NULL;
    p->seen = len;
    if (p->state == RESP_ST_START) {
        if (len == 0) return RESP_INCOMPLETE;
        start_command(p);
        if (data[0] == '*' && parse_whole(p, data, len) == RESP_OK) return RESP_OK;
        p->state = data[0] == '*' ? RESP_ST_COUNT : RESP_ST_INLINE;
    }
    if (p->state == RESP_ST_INLINE) return parse_inline(p, data, len);
    return parse_multibulk(p, data, len);
}

int resp_request_exact(slice req, int argc, const slice *argv) {
    if (argc <= 0 || req.len < 4 || req.p[0] != '*') return 0;
    /* argv must be the request's own arguments: its last one ends 2 bytes before it. */
    if (argv[argc - 1].p + argv[argc - 1].len + 2 != req.p + req.len) return 0;
    size_t digits = 1;
    for (int v = argc; v >= 10; v /= 10)
        digits++;
    if (req.p[digits + 1] != '\r' || req.p[digits + 2] != '\n') return 0;
    for (int i = 0; i < argc; i++) {
        const char *p = argv[i].p; /* after "$L\r" and the skipped byte */
        if (p[-1] != '\n' || p[argv[i].len] != '\r' || p[argv[i].len + 1] != '\n') return 0;
    }
    return 1;
}

size_t resp_bytes_wanted(const resp_parser *p) {
    if (p->state != RESP_ST_ARGS || p->bulk_len < 0) return 0;
    size_t end = p->pos + (size_t)p->bulk_len + 2;
    return end > p->seen ? end - p->seen : 0;
}

int resp_payload_at(const resp_parser *p, size_t *off, size_t *bulk_len) {
    if (p->state != RESP_ST_ARGS || p->bulk_len < 0) return 0;
    *off = p->pos;
    *bulk_len = (size_t)p->bulk_len;
    return 1;
}

/* The digits of a short header field at p (up to max_digits) followed by CRLF, all before
 * end; returns the value, or -1 (no digit, too many, no CRLF). *p moves past the CRLF. */
static long long peek_num(const char **p, const char *end, int max_digits) {
    const char *q = *p;
    long long v = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && digits < max_digits) {
        v = v * 10 + (*q++ - '0');
        digits++;
    }
    if (digits == 0 || end - q < 2 || q[0] != '\r' || q[1] != '\n') return -1;
    *p = q + 2;
    return v;
}

int resp_peek(const char *data, size_t len, slice *out, int max, size_t *consumed) {
    const char *p = data, *end = data + len;
    if (len < 4 || *p++ != '*') return 0;
    long long argc = peek_num(&p, end, 2);
    if (argc < 1) return 0;
    for (long long i = 0; i < argc; i++) {
        if (p >= end || *p++ != '$') return 0;
        long long n = peek_num(&p, end, 9);
        if (n < 0 || end - p < n + 2 || p[n] != '\r' || p[n + 1] != '\n') return 0;
        if (i < max) out[i] = (slice){p, (size_t)n};
        p += n + 2;
    }
    *consumed = (size_t)(p - data);
    return (int)argc;
}
