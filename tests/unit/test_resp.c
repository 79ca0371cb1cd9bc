/* Unit tests for resp: the request parser and the reply writer.
 *
 * Parser cases are checked through a transcript: every command parsed from a stream is
 * written as ["arg" "arg"] (bytes outside printable ASCII as \xHH), an empty command as [],
 * a protocol error as !message, and leftover bytes of a partial command as ~. Each case
 * is fed whole, one byte at a time and split in two at every offset, the way a socket may
 * deliver it (after picohttpparser's and hiredis's reader tests); all must agree. */
#include "mayfly/resp/resp.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/mem.h"
#include "unit/test.h"

#include <limits.h>

/* ---- Parser harness ---- */

static void put_escaped(buf *out, const char *p, size_t len) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 32 || c > 126 || c == '"' || c == '\\') {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            buf_append(out, e, 4);
        } else {
            buf_putc(out, (char)c);
        }
    }
}

/* resp_request_exact of the command the parser just returned from data. */
static int request_exact(const resp_parser *p, const char *data) {
    slice *argv = mem_alloc(sizeof(slice) * (size_t)(p->argc > 0 ? p->argc : 1));
    for (int i = 0; i < p->argc; i++)
        argv[i] = (slice){resp_arg_ptr(p, data, i), p->argv[i].len};
    int exact = resp_request_exact((slice){data, p->consumed}, p->argc, argv);
    mem_free(argv);
    return exact;
}

/* 1 when data[0..len) is byte for byte the RESP encoding of p's argv. */
static int is_encoding_of_argv(const resp_parser *p, const char *data, size_t len) {
    buf enc;
    buf_init(&enc);
    buf_printf(&enc, "*%d\r\n", p->argc);
    for (int i = 0; i < p->argc; i++) {
        buf_printf(&enc, "$%zu\r\n", p->argv[i].len);
        buf_append(&enc, resp_arg_ptr(p, data, i), p->argv[i].len);
        buf_puts(&enc, "\r\n");
    }
    int same = enc.len == len && memcmp(enc.data, data, len) == 0;
    buf_deinit(&enc);
    return same;
}

/* Checks the invariants of one RESP_OK and appends the command to the transcript. */
static void record_command(const resp_parser *p, const buf *q, buf *out) {
    /* resp_request_exact says whether the request's bytes may be passed on (replication,
     * the log) as argv's RESP: for every multibulk command of every case it must agree
     * with a comparison against argv's encoding. */
    if (!p->inline_base && p->argc > 0 &&
        request_exact(p, q->data) != is_encoding_of_argv(p, q->data, p->consumed))
        abort();
    buf_putc(out, '[');
    for (int i = 0; i < p->argc; i++) {
        size_t end = p->argv[i].off + p->argv[i].len;
        if (p->inline_base) {
            if (end > p->scratch_cap) abort();
        } else if (end > p->consumed) {
            abort();
        }
        if (i) buf_putc(out, ' ');
        buf_putc(out, '"');
        put_escaped(out, resp_arg_ptr(p, q->data, i), p->argv[i].len);
        buf_putc(out, '"');
    }
    buf_putc(out, ']');
}

/* Parses everything q holds; returns 0 to go on reading, 1 after a protocol error. */
static int drain(resp_parser *p, buf *q, buf *out) {
    for (;;) {
        int rc = resp_parse(p, q->data, q->len);
        if (rc == RESP_INCOMPLETE) return 0;
        if (rc == RESP_EPROTO) {
            buf_putc(out, '!');
            buf_puts(out, p->err);
            return 1;
        }
        if (p->consumed == 0 || p->consumed > q->len) abort();
        record_command(p, q, out);
        buf_consume(q, p->consumed);
    }
}

/* Feeds in[0..len) in pieces: the first piece has first bytes (0 = all), the rest step
 * bytes each (0 = all). Returns the transcript as an owned NUL-terminated string. */
static char *feed(const resp_limits *lim, const char *in, size_t len, size_t first, size_t step) {
    resp_parser p;
    resp_parser_init(&p);
    if (lim) p.limits = *lim;
    buf q, out;
    buf_init(&q);
    buf_init(&out);
    size_t off = 0;
    int stopped = 0;
    while (off < len && !stopped) {
        size_t n = off == 0 && first ? first : (step ? step : len - off);
        if (n > len - off) n = len - off;
        buf_append(&q, in + off, n);
        off += n;
        stopped = drain(&p, &q, &out);
    }
    if (!stopped && q.len) buf_putc(&out, '~');
    buf_putc(&out, '\0');
    buf_deinit(&q);
    resp_parser_deinit(&p);
    return out.data;
}

/* Checks one case in every delivery pattern; split_all adds the two-piece splits (skip
 * them for the 64 KB inputs: they would cost len^2). */
static int check_case(const resp_limits *lim, const char *in, size_t len, const char *expect,
                      int split_all) {
    size_t modes = split_all ? len + 2 : 2;
    for (size_t m = 0; m < modes; m++) {
        char *got;
        const char *how;
        if (m == 0)
            got = feed(lim, in, len, 0, 0), how = "whole";
        else if (m == 1)
            got = feed(lim, in, len, 1, 1), how = "byte by byte";
        else
            got = feed(lim, in, len, m - 1, 0), how = "split";
        int same = strcmp(got, expect) == 0;
        if (!same) {
            fprintf(stderr, "  %s (first piece %zu bytes) of \"", how, m > 1 ? m - 1 : 0);
            test_print_escaped(in, len < 80 ? len : 80);
            fprintf(stderr, "\"\n    expected: %s\n    got:      %s\n", expect, got);
        }
        mem_free(got);
        if (!same) return 0;
    }
    return 1;
}

#define CHECK_LIM(lim, in, expect)                                                                 \
    do {                                                                                           \
        if (!check_case((lim), (in), sizeof(in) - 1, (expect), 1)) TEST_FAIL("parse mismatch");    \
    } while (0)
#define CHECK(in, expect) CHECK_LIM(NULL, in, expect)

/* A string of n copies of c followed by tail, owned by the caller. */
static char *repeat(char lead, char c, size_t n, const char *tail, size_t *len) {
    size_t tl = strlen(tail);
    char *s = malloc(n + tl + 2);
    size_t k = 0;
    if (lead) s[k++] = lead;
    memset(s + k, c, n);
    k += n;
    memcpy(s + k, tail, tl);
    k += tl;
    s[k] = '\0';
    *len = k;
    return s;
}

/* ---- Multibulk ---- */

TEST(multibulk_basic) {
    CHECK("*1\r\n$4\r\nPING\r\n", "[\"PING\"]");
    CHECK("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", "[\"SET\" \"k\" \"hello\"]");
    CHECK("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "[\"GET\" \"\"]");
}

TEST(multibulk_binary_payload) {
    CHECK("*2\r\n$3\r\nGET\r\n$6\r\na\r\n\0b*\r\n", "[\"GET\" \"a\\x0d\\x0a\\x00b*\"]");
    CHECK("*1\r\n$2\r\n$3\r\n", "[\"$3\"]");
}

TEST(multibulk_empty_commands) {
    CHECK("*0\r\n", "[]");
    CHECK("*-1\r\n", "[]");
    CHECK("*-5\r\n", "[]");
    CHECK("*0\r\n*0\r\n*1\r\n$1\r\nx\r\n", "[][][\"x\"]");
}

TEST(multibulk_partial) {
    CHECK("*", "~");
    CHECK("*2\r", "~");
    CHECK("*2\r\n$3\r\nGET\r\n", "~");
    CHECK("*2\r\n$3\r\nGET\r\n$3\r\nabc", "~");
    CHECK("*2\r\n$3\r\nGET\r\n$3\r\nabc\r", "~");
    CHECK("*2147483647\r\n", "~");
}

/* Redis takes the byte after a header's '\r', and the two after a payload, unchecked. */
TEST(multibulk_crlf_skipped_like_redis) {
    CHECK("*1\r\n$4\r\nPINGxx", "[\"PING\"]");
    CHECK("*1\rX$4\rYPING\r\n", "[\"PING\"]");
}

/* A request is exact only in RESP's own form: never with bytes Redis skips unchecked that
 * are not CRLF (record_command also checks every multibulk command of every case). */
static int exact_of(const char *in) {
    resp_parser p;
    resp_parser_init(&p);
    int rc = resp_parse(&p, in, strlen(in));
    int exact = rc == RESP_OK && !p.inline_base ? request_exact(&p, in) : -1;
    resp_parser_deinit(&p);
    return exact;
}

TEST(multibulk_exact_form) {
    ASSERT_EQ(1, exact_of("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"));
    ASSERT_EQ(1, exact_of("*1\r\n$0\r\n\r\n"));
    ASSERT_EQ(1, exact_of("*2\r\n$3\r\nset\r\n$12\r\n0123456789ab\r\n*1\r\n"));
    ASSERT_EQ(0, exact_of("*1\rX$4\r\nPING\r\n"));
    ASSERT_EQ(0, exact_of("*1\r\n$4\rXPING\r\n"));
    ASSERT_EQ(0, exact_of("*1\r\n$4\r\nPINGxx"));
    ASSERT_EQ(0, exact_of("*1\r\n$4\r\nPING\rx"));
    ASSERT_EQ(0, exact_of("*1\r\n$4\r\nPING\n\n"));
    ASSERT_EQ(-1, exact_of("PING\r\n")); /* inline: never passed on */
    /* Parsed by the general path (65 arguments), exact or not. */
    buf in;
    buf_init(&in);
    buf_puts(&in, "*65\r\n");
    for (int i = 0; i < 65; i++)
        buf_puts(&in, i == 64 ? "$1\r\nx\rX" : "$1\r\nx\r\n");
    buf_putc(&in, '\0');
    ASSERT_EQ(0, exact_of(in.data));
    in.data[in.len - 2] = '\n';
    ASSERT_EQ(1, exact_of(in.data));
    buf_deinit(&in);
}

TEST(pipeline_mixed) {
    CHECK("PING\r\n*1\r\n$4\r\nPING\r\n*0\r\nECHO hi\n*2\r\n$4\r\nECHO\r\n$2\r\nyo\r\n\r\n",
          "[\"PING\"][\"PING\"][][\"ECHO\" \"hi\"][\"ECHO\" \"yo\"][]");
    CHECK("*1\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n*1\r\n$1\r\nc\r\n*1\r\n$1", "[\"a\"][\"b\"][\"c\"]~");
}

/* Shapes at the edges of the whole-command fast path (short "*N"/"$L" headers, at most 64
 * arguments): each must parse as the general path does, whole or in pieces. */
TEST(multibulk_fast_path_edges) {
    CHECK("*1\r\n$0\r\n\r\n", "[\"\"]");
    CHECK("*1\r\n$10\r\n0123456789\r\n", "[\"0123456789\"]");
    /* Not the fast path's shapes: the general path refuses them as Redis's string2ll. */
    CHECK("*1\r\n$01\r\nx\r\n", "!Protocol error: invalid bulk length");
    CHECK("*01\r\n$1\r\nx\r\n", "!Protocol error: invalid multibulk length");
    CHECK("*1\r\n$+1\r\nx\r\n", "!Protocol error: invalid bulk length");
    CHECK("*1\r\n$1x\r\nx\r\n", "!Protocol error: invalid bulk length");
    CHECK("*1\r\n$-1\r\n", "!Protocol error: invalid bulk length");
    CHECK("*1\r\n$1\r\nxy\r\n", "[\"x\"][]"); /* "y\r" skipped, "\n" an empty line */
    CHECK("*2\r\nx\r\n", "!Protocol error: expected '$', got 'x'");
    CHECK("*1\r\n$123456789\r\n", "~");
    CHECK("*1\r\n$1000000000\r\n", "!Protocol error: invalid bulk length");
    /* 64 and 65 arguments: the fast path's limit and one past it. */
    for (int n = 63; n <= 66; n++) {
        buf in, want;
        buf_init(&in);
        buf_init(&want);
        buf_printf(&in, "*%d\r\n", n);
        buf_putc(&want, '[');
        for (int i = 0; i < n; i++) {
            buf_printf(&in, "$%d\r\n%d\r\n", i < 10 ? 1 : 2, i);
            buf_printf(&want, "%s\"%d\"", i ? " " : "", i);
        }
        buf_puts(&want, "]");
        buf_putc(&want, '\0');
        if (!check_case(NULL, in.data, in.len, want.data, 1)) TEST_FAIL("parse mismatch");
        buf_deinit(&in);
        buf_deinit(&want);
    }
}

/* ---- Multibulk errors ---- */

TEST(error_invalid_multibulk_length) {
    const char *e = "!Protocol error: invalid multibulk length";
    CHECK("*abc\r\n", e);
    CHECK("*\r\n", e);
    CHECK("*+1\r\n", e);
    CHECK("*01\r\n", e);
    CHECK("*-0\r\n", e);
    CHECK("*1.5\r\n", e);
    CHECK("* 1\r\n", e);
    CHECK("*2147483648\r\n", e);
    CHECK("*99999999999999999999\r\n", e);
    CHECK("*1\0\r\n", e);
    CHECK("*1\r\n$1\r\nx\r\n*x\r\n", "[\"x\"]!Protocol error: invalid multibulk length");
}

TEST(error_expected_dollar) {
    CHECK("*1\r\n+PING\r\n", "!Protocol error: expected '$', got '+'");
    CHECK("*2\r\n$1\r\na\r\n:1\r\n", "!Protocol error: expected '$', got ':'");
    /* Redis turns CR/LF in an error into spaces, and its %c of a NUL ends the string. */
    CHECK("*1\r\n\r\n", "!Protocol error: expected '$', got ' '");
    CHECK("*1\r\n\n\r\n", "!Protocol error: expected '$', got ' '");
    CHECK("*1\r\n\0\r\n", "!Protocol error: expected '$', got '");
}

TEST(error_invalid_bulk_length) {
    const char *e = "!Protocol error: invalid bulk length";
    CHECK("*1\r\n$-1\r\n", e);
    CHECK("*1\r\n$\r\n", e);
    CHECK("*1\r\n$abc\r\n", e);
    CHECK("*1\r\n$01\r\n", e);
    CHECK("*1\r\n$1 \r\n", e);
    CHECK("*1\r\n$536870913\r\n", e);
    CHECK("*1\r\n$9223372036854775808\r\n", e);
    CHECK("*1\r\n$536870912\r\n", "~");
}

TEST(limits_custom) {
    resp_limits lim = {.max_bulk_len = 10, .max_multibulk = 3, .max_inline = RESP_INLINE_MAX};
    CHECK_LIM(&lim, "*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n",
              "[\"0123456789\" \"\" \"x\"]");
    CHECK_LIM(&lim, "*4\r\n", "!Protocol error: invalid multibulk length");
    CHECK_LIM(&lim, "*1\r\n$11\r\n", "!Protocol error: invalid bulk length");
}

TEST(limits_unauthenticated) {
    resp_limits lim = {.max_bulk_len = 512LL << 20,
                       .max_multibulk = INT_MAX,
                       .max_inline = RESP_INLINE_MAX,
                       .unauthenticated = 1};
    CHECK_LIM(&lim, "*11\r\n", "!Protocol error: unauthenticated multibulk length");
    CHECK_LIM(&lim, "*100\r\n", "!Protocol error: unauthenticated multibulk length");
    CHECK_LIM(&lim, "*10\r\n", "~");
    CHECK_LIM(&lim, "*1\r\n$16385\r\n", "!Protocol error: unauthenticated bulk length");
    CHECK_LIM(&lim, "*1\r\n$100000000\r\n", "!Protocol error: unauthenticated bulk length");
    CHECK_LIM(&lim, "*1\r\n$16384\r\n", "~");
    /* The plain limits are checked first, as in Redis. */
    CHECK_LIM(&lim, "*2147483648\r\n", "!Protocol error: invalid multibulk length");
    CHECK_LIM(&lim, "*1\r\n$536870913\r\n", "!Protocol error: invalid bulk length");
}

/* No '\r' in more than 64 KB of header: Redis's PROTO_INLINE_MAX_SIZE boundary is
 * "more than 65536 bytes buffered", counted from the start of the line. */
TEST(error_too_big_headers) {
    size_t len;
    char *s = repeat('*', '1', 65535, "", &len); /* 65536 bytes: still waiting */
    ASSERT(check_case(NULL, s, len, "~", 0));
    free(s);
    s = repeat('*', '1', 65536, "", &len);
    ASSERT(check_case(NULL, s, len, "!Protocol error: too big mbulk count string", 0));
    free(s);

    char head[] = "*1\r\n";
    s = repeat('$', '1', 65536, "", &len);
    char *all = malloc(len + sizeof(head));
    memcpy(all, head, 4);
    memcpy(all + 4, s, len);
    ASSERT(check_case(NULL, all, len + 4, "!Protocol error: too big bulk count string", 0));
    ASSERT(check_case(NULL, all, len + 3, "~", 0));
    free(all);
    free(s);
}

/* Redis looks for '\r' in all it has buffered, so a header that ends after 64 KB but
 * arrives in one read is judged by its number instead. */
TEST(long_header_in_one_read) {
    size_t len;
    char *s = repeat('*', '1', 70000, "\r\n", &len);
    char *got = feed(NULL, s, len, 0, 0);
    ASSERT_STR_EQ("!Protocol error: invalid multibulk length", got);
    mem_free(got);
    free(s);
}

/* ---- Inline ---- */

TEST(inline_basic) {
    CHECK("PING\r\n", "[\"PING\"]");
    CHECK("PING\n", "[\"PING\"]");
    CHECK("PING\r\r\n", "[\"PING\"]");
    CHECK("  SET  k\tv  \r\n", "[\"SET\" \"k\" \"v\"]");
    CHECK("a\rb\n", "[\"a\" \"b\"]");
    CHECK("a\vb \fc\n", "[\"a\\x0bb\" \"c\"]");
    CHECK("PING", "~");
    CHECK("PING\r", "~");
    CHECK("A\0B\n", "[\"A\\x00B\"]");
}

TEST(inline_empty_lines) {
    CHECK("\r\n", "[]");
    CHECK("\n", "[]");
    CHECK("   \t \r\n", "[]");
    CHECK("\n\nPING\n", "[][][\"PING\"]");
}

TEST(inline_many_args) {
    CHECK("a b c d e f g h i j k l m n o p q\n",
          "[\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\" \"i\" \"j\" \"k\" \"l\" \"m\" \"n\" "
          "\"o\" \"p\" \"q\"]");
}

TEST(inline_double_quotes) {
    CHECK("SET \"hello world\" 'x y'\r\n", "[\"SET\" \"hello world\" \"x y\"]");
    CHECK("SET k \"\"\r\n", "[\"SET\" \"k\" \"\"]");
    CHECK("\"a\\nb\\r\\t\\b\\a\\\\\\\"c\"\n", "[\"a\\x0ab\\x0d\\x09\\x08\\x07\\x5c\\x22c\"]");
    CHECK("\"\\x41\\x4a\\x4A\\x00z\"\n", "[\"AJJ\\x00z\"]");
    CHECK("\"\\xZZ\"\n", "[\"xZZ\"]");
    CHECK("\"\\x4\"\n", "[\"x4\"]");
    CHECK("\"\\q\"\n", "[\"q\"]");
    CHECK("foo\"bar baz\" x\n", "[\"foobar baz\" \"x\"]");
    CHECK("\"a\"\tb\n", "[\"a\" \"b\"]");
    CHECK("\"a\"\r\n", "[\"a\"]");
}

TEST(inline_single_quotes) {
    CHECK("'it\\'s'\n", "[\"it's\"]");
    CHECK("'a\\nb'\n", "[\"a\\x5cnb\"]");
    CHECK("'a\\\\b'\n", "[\"a\\x5c\\x5cb\"]");
    CHECK("'say \"hi\"'\n", "[\"say \\x22hi\\x22\"]");
}

TEST(inline_unbalanced_quotes) {
    const char *e = "!Protocol error: unbalanced quotes in request";
    CHECK("SET \"a\r\n", e);
    CHECK("SET 'a\n", e);
    CHECK("\"a\"b\n", e);
    CHECK("'a'b\n", e);
    CHECK("\"a\\\"\n", e);
    CHECK("'a\\'\n", e);
    CHECK("\"a\\\n", e);
    CHECK("PING\r\nSET \"x\n", "[\"PING\"]!Protocol error: unbalanced quotes in request");
}

TEST(inline_too_big) {
    size_t len;
    char *s = repeat(0, 'a', 65536, "", &len);
    ASSERT(check_case(NULL, s, len, "~", 0));
    free(s);
    s = repeat(0, 'a', 65537, "", &len);
    ASSERT(check_case(NULL, s, len, "!Protocol error: too big inline request", 0));
    free(s);
    /* A long line that arrives complete is accepted, as in Redis. */
    s = repeat(0, 'a', 70000, "\n", &len);
    char *got = feed(NULL, s, len, 0, 0);
    ASSERT_EQ(70000 + 4, strlen(got));
    mem_free(got);
    free(s);
}

TEST(inline_args_live_in_scratch) {
    resp_parser p;
    resp_parser_init(&p);
    const char in[] = "SET \"a b\" c\r\n";
    ASSERT_EQ(RESP_OK, resp_parse(&p, in, sizeof(in) - 1));
    ASSERT(p.inline_base != NULL);
    ASSERT_EQ(3, p.argc);
    ASSERT_EQ(sizeof(in) - 1, p.consumed);
    ASSERT_MEM_EQ("a b", 3, resp_arg_ptr(&p, in, 1), p.argv[1].len);
    const char mb[] = "*1\r\n$1\r\nx\r\n";
    ASSERT_EQ(RESP_OK, resp_parse(&p, mb, sizeof(mb) - 1));
    ASSERT(p.inline_base == NULL);
    ASSERT_EQ(8, p.argv[0].off);
    resp_parser_deinit(&p);
}

/* ---- Parser state ---- */

TEST(error_is_sticky_until_reset) {
    resp_parser p;
    resp_parser_init(&p);
    ASSERT_EQ(RESP_EPROTO, resp_parse(&p, "*x\r\n", 4));
    ASSERT_EQ(RESP_EPROTO, resp_parse(&p, "PING\r\n", 6));
    ASSERT_STR_EQ("Protocol error: invalid multibulk length", p.err);
    resp_parser_reset(&p);
    ASSERT_EQ(RESP_OK, resp_parse(&p, "PING\r\n", 6));
    ASSERT_EQ(1, p.argc);
    resp_parser_deinit(&p);
}

TEST(partial_command_not_rescanned) {
    resp_parser p;
    resp_parser_init(&p);
    const char in[] = "*2\r\n$3\r\nGET\r\n$5\r\nhel";
    ASSERT_EQ(RESP_INCOMPLETE, resp_parse(&p, in, sizeof(in) - 1));
    ASSERT_EQ(17, p.pos); /* parked at the payload: the headers are done */
    ASSERT_EQ(1, p.argc);
    ASSERT_EQ(4, resp_bytes_wanted(&p));
    const char hdr[] = "*2\r\n$3\r\nGET\r\n$12";
    resp_parser_reset(&p);
    ASSERT_EQ(RESP_INCOMPLETE, resp_parse(&p, hdr, sizeof(hdr) - 1));
    ASSERT_EQ(sizeof(hdr) - 1, p.scan); /* searched up to the end, found no '\r' */
    ASSERT_EQ(0, resp_bytes_wanted(&p));
    resp_parser_deinit(&p);
}

/* A 1 MB argument arriving in 4 KB reads, with the read size taken from bytes_wanted. */
TEST(large_bulk_in_chunks) {
    size_t big = 1 << 20;
    buf in;
    buf_init(&in);
    buf_puts(&in, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n");
    size_t head = in.len;
    char *payload = buf_reserve(&in, big);
    for (size_t i = 0; i < big; i++)
        payload[i] = (char)('a' + i % 26);
    in.len += big;
    buf_append(&in, "\r\n", 2);

    resp_parser p;
    resp_parser_init(&p);
    size_t fed = 0, calls = 0;
    int rc = RESP_INCOMPLETE;
    while (rc == RESP_INCOMPLETE && fed < in.len) {
        size_t want = resp_bytes_wanted(&p);
        size_t n = 4096;
        if (fed >= head) ASSERT_EQ(in.len - fed, want);
        if (want && want < n) n = want;
        if (n > in.len - fed) n = in.len - fed;
        fed += n;
        rc = resp_parse(&p, in.data, fed);
        calls++;
    }
    ASSERT_EQ(RESP_OK, rc);
    ASSERT_EQ(in.len, fed);
    ASSERT_EQ(in.len, p.consumed);
    ASSERT_EQ(3, p.argc);
    ASSERT_EQ(big, p.argv[2].len);
    ASSERT_EQ(head, p.argv[2].off);
    ASSERT_EQ('a', in.data[p.argv[2].off]);
    ASSERT_EQ('a' + (big - 1) % 26, in.data[p.argv[2].off + big - 1]);
    ASSERT_EQ(0, resp_bytes_wanted(&p));
    ASSERT(calls >= big / 4096);
    resp_parser_deinit(&p);
    buf_deinit(&in);
}

/* A command with many arguments, then a small one: argv storage grows, then is dropped. */
TEST(many_arguments) {
    buf in;
    buf_init(&in);
    buf_puts(&in, "*5000\r\n");
    for (int i = 0; i < 5000; i++)
        buf_puts(&in, "$1\r\nx\r\n");
    buf_puts(&in, "*1\r\n$1\r\ny\r\n");
    resp_parser p;
    resp_parser_init(&p);
    ASSERT_EQ(RESP_OK, resp_parse(&p, in.data, in.len));
    ASSERT_EQ(5000, p.argc);
    ASSERT_EQ(5000 * 7 + 7, p.consumed);
    buf_consume(&in, p.consumed);
    ASSERT_EQ(RESP_OK, resp_parse(&p, in.data, in.len));
    ASSERT_EQ(1, p.argc);
    ASSERT(p.argv_cap <= 1024);
    resp_parser_deinit(&p);
    buf_deinit(&in);
}

/* ---- Writer ---- */

#define ASSERT_OUT(b, expect)                                                                      \
    do {                                                                                           \
        ASSERT_MEM_EQ(expect, sizeof(expect) - 1, (b)->data, (b)->len);                            \
        buf_clear(b);                                                                              \
    } while (0)

TEST(write_simple_error_int) {
    buf b;
    buf_init(&b);
    resp_w_simple(&b, "OK");
    ASSERT_OUT(&b, "+OK\r\n");
    resp_w_simple_len(&b, "QUEUEDxx", 6);
    ASSERT_OUT(&b, "+QUEUED\r\n");
    resp_w_simple(&b, "a\r\nb");
    ASSERT_OUT(&b, "+a  b\r\n");
    resp_w_error(&b, "ERR unknown command");
    ASSERT_OUT(&b, "-ERR unknown command\r\n");
    resp_w_error_len(&b, "WRONGTYPE x\ny", 13);
    ASSERT_OUT(&b, "-WRONGTYPE x y\r\n");
    resp_w_int(&b, 0);
    ASSERT_OUT(&b, ":0\r\n");
    resp_w_int(&b, -42);
    ASSERT_OUT(&b, ":-42\r\n");
    resp_w_int(&b, LLONG_MAX);
    ASSERT_OUT(&b, ":9223372036854775807\r\n");
    resp_w_int(&b, LLONG_MIN);
    ASSERT_OUT(&b, ":-9223372036854775808\r\n");
    buf_deinit(&b);
}

TEST(write_bulk) {
    buf b;
    buf_init(&b);
    resp_w_bulk(&b, "hello", 5);
    ASSERT_OUT(&b, "$5\r\nhello\r\n");
    resp_w_bulk(&b, "", 0);
    ASSERT_OUT(&b, "$0\r\n\r\n");
    resp_w_bulk(&b, "a\r\n\0b", 5);
    ASSERT_OUT(&b, "$5\r\na\r\n\0b\r\n");
    resp_w_bulk_cstr(&b, "world");
    ASSERT_OUT(&b, "$5\r\nworld\r\n");
    resp_w_bulk_ll(&b, -1234567890123LL);
    ASSERT_OUT(&b, "$14\r\n-1234567890123\r\n");
    resp_w_bulk_ll(&b, LLONG_MIN);
    ASSERT_OUT(&b, "$20\r\n-9223372036854775808\r\n");
    char big[300];
    memset(big, 'z', sizeof(big));
    resp_w_bulk(&b, big, sizeof(big));
    ASSERT_EQ(6 + 300 + 2, b.len);
    ASSERT_MEM_EQ("$300\r\n", 6, b.data, 6);
    ASSERT_MEM_EQ("z\r\n", 3, b.data + b.len - 3, 3);
    buf_deinit(&b);
}

TEST(write_nulls_and_aggregates) {
    buf b;
    buf_init(&b);
    resp_w_null(&b, 2);
    ASSERT_OUT(&b, "$-1\r\n");
    resp_w_null(&b, 3);
    ASSERT_OUT(&b, "_\r\n");
    resp_w_null_array(&b, 2);
    ASSERT_OUT(&b, "*-1\r\n");
    resp_w_null_array(&b, 3);
    ASSERT_OUT(&b, "_\r\n");
    resp_w_array(&b, 0);
    ASSERT_OUT(&b, "*0\r\n");
    resp_w_array(&b, 12345);
    ASSERT_OUT(&b, "*12345\r\n");
    resp_w_map(&b, 2, 3);
    ASSERT_OUT(&b, "*6\r\n");
    resp_w_map(&b, 3, 3);
    ASSERT_OUT(&b, "%3\r\n");
    resp_w_set(&b, 2, 4);
    ASSERT_OUT(&b, "*4\r\n");
    resp_w_set(&b, 3, 4);
    ASSERT_OUT(&b, "~4\r\n");
    resp_w_push(&b, 2, 3);
    ASSERT_OUT(&b, "*3\r\n");
    resp_w_push(&b, 3, 3);
    ASSERT_OUT(&b, ">3\r\n");
    buf_deinit(&b);
}

TEST(write_double) {
    buf b;
    buf_init(&b);
    resp_w_double(&b, 3, 1.5);
    ASSERT_OUT(&b, ",1.5\r\n");
    resp_w_double(&b, 2, 1.5);
    ASSERT_OUT(&b, "$3\r\n1.5\r\n");
    resp_w_double(&b, 3, 0.1);
    ASSERT_OUT(&b, ",0.1\r\n");
    resp_w_double(&b, 3, 10.0);
    ASSERT_OUT(&b, ",10\r\n");
    resp_w_double(&b, 3, 1.0 / 0.0);
    ASSERT_OUT(&b, ",inf\r\n");
    resp_w_double(&b, 3, -1.0 / 0.0);
    ASSERT_OUT(&b, ",-inf\r\n");
    resp_w_double(&b, 3, 0.0 / 0.0);
    ASSERT_OUT(&b, ",nan\r\n");
    resp_w_double(&b, 2, 1.0 / 0.0);
    ASSERT_OUT(&b, "$3\r\ninf\r\n");
    resp_w_double(&b, 2, -1.0 / 0.0);
    ASSERT_OUT(&b, "$4\r\n-inf\r\n");
    resp_w_double(&b, 2, 0.0 / 0.0);
    ASSERT_OUT(&b, "$3\r\nnan\r\n");
    buf_deinit(&b);
}

TEST(write_bool_bignum_verbatim) {
    buf b;
    buf_init(&b);
    resp_w_bool(&b, 3, 1);
    ASSERT_OUT(&b, "#t\r\n");
    resp_w_bool(&b, 3, 0);
    ASSERT_OUT(&b, "#f\r\n");
    resp_w_bool(&b, 2, 7);
    ASSERT_OUT(&b, ":1\r\n");
    resp_w_bool(&b, 2, 0);
    ASSERT_OUT(&b, ":0\r\n");
    resp_w_bignum(&b, 3, "3492890328409238509324850943850943825024385");
    ASSERT_OUT(&b, "(3492890328409238509324850943850943825024385\r\n");
    resp_w_bignum(&b, 2, "-12345678901234567890");
    ASSERT_OUT(&b, "$21\r\n-12345678901234567890\r\n");
    resp_w_verbatim(&b, 3, "txt", "Some string", 11);
    ASSERT_OUT(&b, "=15\r\ntxt:Some string\r\n");
    resp_w_verbatim(&b, 2, "txt", "Some string", 11);
    ASSERT_OUT(&b, "$11\r\nSome string\r\n");
    resp_w_verbatim(&b, 3, "mkd", "", 0);
    ASSERT_OUT(&b, "=4\r\nmkd:\r\n");
    buf_deinit(&b);
}

/* Writes a deferred array of n one-byte bulks after a prefix and checks the result. */
static int defer_case(size_t n, char kind) {
    buf b, want;
    buf_init(&b);
    buf_init(&want);
    buf_puts(&b, "+before\r\n");
    size_t mark = resp_w_defer(&b);
    for (size_t i = 0; i < n; i++)
        resp_w_bulk(&b, "x", 1);
    resp_w_defer_set(&b, mark, kind, n);
    buf_puts(&b, ":1\r\n");

    buf_puts(&want, "+before\r\n");
    buf_printf(&want, "%c%zu\r\n", kind, n);
    for (size_t i = 0; i < n; i++)
        buf_puts(&want, "$1\r\nx\r\n");
    buf_puts(&want, ":1\r\n");
    int ok = b.len == want.len && memcmp(b.data, want.data, b.len) == 0;
    if (!ok) {
        fprintf(stderr, "  defer n=%zu: got ", n);
        test_print_escaped(b.data, b.len < 60 ? b.len : 60);
        fputc('\n', stderr);
    }
    buf_deinit(&b);
    buf_deinit(&want);
    return ok;
}

TEST(write_deferred_lengths) {
    size_t counts[] = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        ASSERT(defer_case(counts[i], '*'));
        ASSERT(defer_case(counts[i], '%'));
    }
    ASSERT(defer_case(10, '~'));
    ASSERT(defer_case(100, '>'));
}

TEST(write_deferred_nested) {
    buf b;
    buf_init(&b);
    size_t outer = resp_w_defer(&b);
    for (int i = 0; i < 10; i++) {
        size_t inner = resp_w_defer(&b);
        for (int j = 0; j < 10; j++)
            resp_w_int(&b, j);
        resp_w_defer_set(&b, inner, '*', 10);
    }
    resp_w_defer_set(&b, outer, '*', 10);
    buf want;
    buf_init(&want);
    buf_puts(&want, "*10\r\n");
    for (int i = 0; i < 10; i++) {
        buf_puts(&want, "*10\r\n");
        for (int j = 0; j < 10; j++)
            buf_printf(&want, ":%d\r\n", j);
    }
    ASSERT_MEM_EQ(want.data, want.len, b.data, b.len);
    buf_deinit(&want);
    buf_deinit(&b);
}

/* resp_peek (the prefetcher's look ahead) either declines (0) or sees exactly the command
 * resp_parse returns, at every length of a pipeline cut anywhere; it never reads past the
 * bytes given (ASan) and declines what it does not know (inline, long headers). What it
 * returns is exactly argv's RESP (net/ passes such a request on without resp_request_exact):
 * it declines the bytes the parser skips unchecked when they are not CRLF. */
TEST(peek_agrees_with_parse) {
    static const char *const streams[] = {
        "*3\r\n$4\r\nHSET\r\n$5\r\nhs:12\r\n$1\r\nf\r\n*1\r\n$4\r\nPING\r\n",
        "*1\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$12\r\n000000000042\r\n",
        ("*9\r\n$6\r\nHSETEX\r\n$1\r\nk\r\n$2\r\nPX\r\n$3\r\n600\r\n$6\r\nFIELDS\r\n"
         "$1\r\n1\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nx\r\n"),
        "PING\r\n*1\r\n$4\r\nPING\r\n",
        "*1\r\n$1234567890\r\n",
        "*100\r\n$1\r\na\r\n",
        "*2\r\n$1\r\na\r\n$1\r\nbc\r\n",
        "*1\rX$4\r\nPING\r\n",
        "*2\r\n$1\rXa\r\n$1\r\nb\r\n",
        "*2\r\n$1\r\naxx$1\r\nb\r\n",
        "*1\r\n$4\r\nPING\rx",
        "*1\r\n$04\r\nPING\r\n",
    };
    for (size_t s = 0; s < sizeof(streams) / sizeof(streams[0]); s++) {
        size_t total = strlen(streams[s]);
        for (size_t cut = 0; cut <= total; cut++) {
            char *data = mem_alloc(cut ? cut : 1); /* exactly cut bytes: ASan sees overreads */
            memcpy(data, streams[s], cut);
            slice v[3];
            size_t used = 0;
            int argc = resp_peek(data, cut, v, 3, &used);
            resp_parser p;
            resp_parser_init(&p);
            int rc = resp_parse(&p, data, cut);
            if (argc > 0 && rc == RESP_EPROTO) {
                /* A leading zero ("$04"): the peek reads a length, the parser refuses the
                 * command (nothing runs); the only bytes on which they may differ. */
                ASSERT(strstr(streams[s], "$04") != NULL);
            } else if (argc > 0) {
                ASSERT_EQ(RESP_OK, rc);
                ASSERT_EQ(p.argc, argc);
                ASSERT_EQ(p.consumed, used);
                for (int i = 0; i < argc && i < 3; i++)
                    ASSERT_MEM_EQ(resp_arg_ptr(&p, data, i), p.argv[i].len, v[i].p, v[i].len);
                ASSERT_EQ(1, request_exact(&p, data));
            } else if (rc == RESP_OK && p.inline_base == NULL && s < 3) {
                TEST_FAIL("declined a complete command of short headers");
            }
            resp_parser_deinit(&p);
            mem_free(data);
        }
    }
}

int main(void) {
    RUN(multibulk_basic);
    RUN(multibulk_binary_payload);
    RUN(multibulk_empty_commands);
    RUN(multibulk_partial);
    RUN(multibulk_crlf_skipped_like_redis);
    RUN(multibulk_exact_form);
    RUN(pipeline_mixed);
    RUN(peek_agrees_with_parse);
    RUN(error_invalid_multibulk_length);
    RUN(multibulk_fast_path_edges);
    RUN(error_expected_dollar);
    RUN(error_invalid_bulk_length);
    RUN(limits_custom);
    RUN(limits_unauthenticated);
    RUN(error_too_big_headers);
    RUN(long_header_in_one_read);
    RUN(inline_basic);
    RUN(inline_empty_lines);
    RUN(inline_many_args);
    RUN(inline_double_quotes);
    RUN(inline_single_quotes);
    RUN(inline_unbalanced_quotes);
    RUN(inline_too_big);
    RUN(inline_args_live_in_scratch);
    RUN(error_is_sticky_until_reset);
    RUN(partial_command_not_rescanned);
    RUN(large_bulk_in_chunks);
    RUN(many_arguments);
    RUN(write_simple_error_int);
    RUN(write_bulk);
    RUN(write_nulls_and_aggregates);
    RUN(write_double);
    RUN(write_bool_bignum_verbatim);
    RUN(write_deferred_lengths);
    RUN(write_deferred_nested);
    return test_report();
}
