/* write: the RESP2/RESP3 reply encoder.
 *
 * Every frame is "<type byte><text>\r\n", optionally followed by a payload and another
 * "\r\n" (bulk, verbatim). Each function reserves room for the whole frame once and fills
 * it in place, formatting integers with ll_to_str, because these calls run once or more
 * per reply on the hot path.
 *
 * Deferred lengths: resp_w_defer appends a 4-byte placeholder, the size of a one-digit
 * header ("*5\r\n"). resp_w_defer_set writes the real header there; a longer header
 * first moves the bytes written since the mark to the right:
 *
 *     before:  ... [*?\r\n][elem 1][elem 2] ... [elem 12]
 *     after:   ... [*12\r\n][elem 1][elem 2] ... [elem 12]      (tail moved by 1)
 */
#include "mayfly/resp/resp.h"
#include "mayfly/util/strconv.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

/* Bytes a "<type><signed integer>\r\n" header may need, plus ll_to_str's NUL. */
#define HEADER_MAX (1 + STRCONV_LL_MAX + 2)
#define DEFER_PLACEHOLDER "*?\r\n"
#define DEFER_LEN 4

/* Writes "<type><v>\r\n" at dst; returns the bytes written. dst has HEADER_MAX bytes. */
static size_t put_header(char *dst, char type, long long v) {
    dst[0] = type;
    size_t n = 1 + ll_to_str(dst + 1, v);
    dst[n] = '\r';
    dst[n + 1] = '\n';
    return n + 2;
}

/* Appends a header with nothing after it. */
static void add_header(buf *b, char type, long long v) {
    char *dst = buf_reserve(b, HEADER_MAX);
    b->len += put_header(dst, type, v);
}

static long long count_ll(size_t n) {
    assert(n <= (size_t)LLONG_MAX);
    return (long long)n;
}

/* Appends "<type><text>\r\n" with CR and LF in text replaced by spaces. */
static void add_line(buf *b, char type, const char *s, size_t len) {
    char *dst = buf_reserve(b, len + 3);
    dst[0] = type;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        dst[1 + i] = (c == '\r' || c == '\n') ? ' ' : c;
    }
    dst[len + 1] = '\r';
    dst[len + 2] = '\n';
    b->len += len + 3;
}

/* Appends "<type><len>\r\n<prefix><p>\r\n", where the payload is prefix (plen bytes)
 * followed by p: one reservation for the whole frame. */
static void add_blob(buf *b, char type, const char *prefix, size_t plen, const void *p,
                     size_t len) {
    size_t total = plen + len;
    char *dst = buf_reserve(b, HEADER_MAX + total + 2);
    size_t n = put_header(dst, type, count_ll(total));
    if (plen) memcpy(dst + n, prefix, plen);
    if (len) memcpy(dst + n + plen, p, len);
    n += total;
    dst[n] = '\r';
    dst[n + 1] = '\n';
    b->len += n + 2;
}

void resp_w_simple_len(buf *b, const char *s, size_t len) {
    add_line(b, '+', s, len);
}

void resp_w_simple(buf *b, const char *s) {
    add_line(b, '+', s, strlen(s));
}

void resp_w_error_len(buf *b, const char *msg, size_t len) {
    add_line(b, '-', msg, len);
}

void resp_w_error(buf *b, const char *msg) {
    add_line(b, '-', msg, strlen(msg));
}

void resp_w_int(buf *b, long long v) {
    add_header(b, ':', v);
}

void resp_w_bulk(buf *b, const void *p, size_t len) {
    add_blob(b, '$', NULL, 0, p, len);
}

void resp_w_bulk_cstr(buf *b, const char *s) {
    add_blob(b, '$', NULL, 0, s, strlen(s));
}

void resp_w_bulk_ll(buf *b, long long v) {
    char digits[STRCONV_LL_MAX];
    size_t n = ll_to_str(digits, v);
    add_blob(b, '$', NULL, 0, digits, n);
}

void resp_w_null(buf *b, int proto) {
    if (proto == 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "$-1\r\n", 5);
}

void resp_w_null_array(buf *b, int proto) {
    if (proto == 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "*-1\r\n", 5);
}

void resp_w_array(buf *b, size_t n) {
    add_header(b, '*', count_ll(n));
}

void resp_w_map(buf *b, int proto, size_t n) {
    if (proto == 3)
        add_header(b, '%', count_ll(n));
    else
        add_header(b, '*', count_ll(n) * 2);
}

void resp_w_set(buf *b, int proto, size_t n) {
    add_header(b, proto == 3 ? '~' : '*', count_ll(n));
}

void resp_w_push(buf *b, int proto, size_t n) {
    add_header(b, proto == 3 ? '>' : '*', count_ll(n));
}

void resp_w_double(buf *b, int proto, double v) {
    char text[32];
    size_t n = d_to_str(text, v);
    if (proto == 3)
        add_line(b, ',', text, n);
    else
        add_blob(b, '$', NULL, 0, text, n);
}

void resp_w_bool(buf *b, int proto, int v) {
    if (proto == 3)
        buf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        buf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_w_bignum(buf *b, int proto, const char *digits) {
    size_t n = strlen(digits);
    if (proto == 3)
        add_line(b, '(', digits, n);
    else
        add_blob(b, '$', NULL, 0, digits, n);
}

void resp_w_verbatim(buf *b, int proto, const char *fmt, const char *p, size_t len) {
    if (proto != 3) {
        add_blob(b, '$', NULL, 0, p, len);
        return;
    }
    char prefix[4] = {fmt[0], fmt[1], fmt[2], ':'};
    add_blob(b, '=', prefix, sizeof(prefix), p, len);
}

size_t resp_w_defer(buf *b) {
    size_t mark = b->len;
    buf_append(b, DEFER_PLACEHOLDER, DEFER_LEN);
    return mark;
}

void resp_w_defer_set(buf *b, size_t mark, char kind, size_t n) {
    if (buf_over(b)) return; /* the contents were dropped: the mark is void (buf.h) */
    assert(mark + DEFER_LEN <= b->len && memcmp(b->data + mark, DEFER_PLACEHOLDER, 2) == 0);
    char header[HEADER_MAX];
    size_t hlen = put_header(header, kind, count_ll(n));
    if (hlen > DEFER_LEN) {
        size_t grow = hlen - DEFER_LEN;
        buf_reserve(b, grow);
        char *tail = b->data + mark + DEFER_LEN;
        memmove(tail + grow, tail, b->len - mark - DEFER_LEN);
        b->len += grow;
    }
    memcpy(b->data + mark, header, hlen);
}
