/* Unit tests for resp/reader.c: the RESP2/RESP3 reply reader.
 *
 * Each case is a byte stream and the transcript of the replies read from it: every reply
 * rendered in a compact notation (below), replies separated by spaces, a protocol error as
 * !!message, and a partial reply left at the end as <partial>. As for the request parser,
 * each case is fed whole, one byte at a time and split in two at every offset; all must
 * give the same transcript.
 *
 *   +"OK"  -"ERR x"  :12  "bulk"  nil (RESP3 _)  nil$ ($-1)  nil* (*-1)  ,1.5  #t  (123
 *   !"bulk error"  ="txt:verbatim"  *[...]  %{k v ...}  ~[...]  >[...]  |{k v ...}
 *   streamed: $?["chunk" ...]  *?[...]  %?{...}
 */
#include "mayfly/resp/reader.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "unit/test.h"

#include <math.h>

/* ---- rendering ---- */

static void put_quoted(buf *out, const char *p, size_t len) {
    static const char hex[] = "0123456789abcdef";
    buf_putc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 32 || c > 126 || c == '"' || c == '\\') {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            buf_append(out, e, 4);
        } else {
            buf_putc(out, (char)c);
        }
    }
    buf_putc(out, '"');
}

static uint32_t render(const resp_reader *r, const char *data, uint32_t i, buf *out);

static void render_children(const resp_reader *r, const char *data, uint32_t i, buf *out, char open,
                            char close) {
    const resp_node *n = &r->nodes[i];
    if (n->flags & RESP_NODE_STREAMED) buf_putc(out, '?');
    buf_putc(out, open);
    for (uint32_t c = i + 1; c < n->end;) {
        if (c > i + 1) buf_putc(out, ' ');
        c = render(r, data, c, out);
    }
    buf_putc(out, close);
}

/* Renders node i and its subtree; returns the index after it. */
static uint32_t render(const resp_reader *r, const char *data, uint32_t i, buf *out) {
    const resp_node *n = &r->nodes[i];
    const char *p = resp_node_ptr(r, data, i);
    char num[64];
    switch (n->type) {
    case RESP_T_SIMPLE:
    case RESP_T_ERROR:
    case RESP_T_BULK_ERROR:
    case RESP_T_VERBATIM:
        buf_putc(out, n->type);
        put_quoted(out, p, n->len);
        break;
    case RESP_T_CHUNK:
        put_quoted(out, p, n->len);
        break;
    case RESP_T_BULK:
        if (n->flags & RESP_NODE_STREAMED) {
            buf_putc(out, '$');
            render_children(r, data, i, out, '[', ']');
        } else {
            put_quoted(out, p, n->len);
        }
        break;
    case RESP_T_INT:
        buf_printf(out, ":%lld", n->i);
        break;
    case RESP_T_NULL:
        buf_puts(out, n->flags & RESP_NODE_NULL_BULK    ? "nil$"
                      : n->flags & RESP_NODE_NULL_ARRAY ? "nil*"
                                                        : "nil");
        break;
    case RESP_T_DOUBLE:
        buf_putc(out, ',');
        buf_append(out, num, d_to_str(num, n->d));
        break;
    case RESP_T_BOOL:
        buf_puts(out, n->i ? "#t" : "#f");
        break;
    case RESP_T_BIGNUM:
        buf_putc(out, '(');
        buf_append(out, p, n->len);
        break;
    case RESP_T_MAP:
    case RESP_T_ATTR:
        buf_putc(out, n->type);
        render_children(r, data, i, out, '{', '}');
        break;
    default: /* * ~ > */
        buf_putc(out, n->type);
        render_children(r, data, i, out, '[', ']');
        break;
    }
    return n->end;
}

/* Checks a reply's structure: ends nest, counts match the children. */
static int well_formed(const resp_reader *r) {
    for (uint32_t i = 0; i < r->nnodes; i++) {
        const resp_node *n = &r->nodes[i];
        if (n->end <= i || n->end > r->nnodes) return 0;
        long long kids = 0;
        for (uint32_t c = i + 1; c < n->end; c = r->nodes[c].end) {
            if (r->nodes[c].end > n->end) return 0;
            if (r->nodes[c].type != RESP_T_ATTR) kids++;
        }
        int pairs = n->type == RESP_T_MAP || n->type == RESP_T_ATTR;
        int agg = pairs || n->type == RESP_T_ARRAY || n->type == RESP_T_SET ||
                  n->type == RESP_T_PUSH || (n->type == RESP_T_BULK && n->flags);
        if (agg && kids != (pairs ? 2 * n->i : n->i)) return 0;
        if (!agg && n->end != i + 1) return 0;
    }
    return r->nnodes > 0;
}

/* ---- feeding ---- */

static int drain(resp_reader *r, buf *q, buf *out) {
    for (;;) {
        int rc = resp_read(r, q->data, q->len);
        if (rc == RESP_READ_INCOMPLETE) return 0;
        if (rc == RESP_READ_EPROTO) {
            if (out->len) buf_putc(out, ' ');
            buf_puts(out, "!!");
            buf_puts(out, r->err);
            return 1;
        }
        if (r->consumed == 0 || r->consumed > q->len || !well_formed(r)) abort();
        if (out->len) buf_putc(out, ' ');
        for (uint32_t i = 0; i < r->nnodes;) {
            if (i) buf_putc(out, ' ');
            i = render(r, q->data, i, out);
        }
        buf_consume(q, r->consumed);
    }
}

static char *feed(const resp_reader_limits *lim, const char *in, size_t len, size_t first,
                  size_t step) {
    resp_reader r;
    resp_reader_init(&r);
    if (lim) r.limits = *lim;
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
        stopped = drain(&r, &q, &out);
    }
    if (!stopped && q.len) buf_puts(&out, out.len ? " <partial>" : "<partial>");
    buf_putc(&out, '\0');
    buf_deinit(&q);
    resp_reader_deinit(&r);
    return out.data;
}

static int check_case(const resp_reader_limits *lim, const char *in, size_t len,
                      const char *expect) {
    for (size_t m = 0; m < len + 2; m++) {
        char *got;
        if (m == 0)
            got = feed(lim, in, len, 0, 0);
        else if (m == 1)
            got = feed(lim, in, len, 1, 1);
        else
            got = feed(lim, in, len, m - 1, 0);
        int same = strcmp(got, expect) == 0;
        if (!same) {
            fprintf(stderr, "  mode %zu of \"", m);
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
        if (!check_case((lim), (in), sizeof(in) - 1, (expect))) TEST_FAIL("read mismatch");        \
    } while (0)
#define CHECK(in, expect) CHECK_LIM(NULL, in, expect)

/* ---- RESP2 ---- */

TEST(resp2_scalars) {
    CHECK("+OK\r\n", "+\"OK\"");
    CHECK("+\r\n", "+\"\"");
    CHECK("-ERR unknown command\r\n", "-\"ERR unknown command\"");
    CHECK(":0\r\n:-12\r\n:9223372036854775807\r\n", ":0 :-12 :9223372036854775807");
    CHECK("$5\r\nhello\r\n", "\"hello\"");
    CHECK("$0\r\n\r\n", "\"\"");
    CHECK("$4\r\na\r\nb\r\n", "\"a\\x0d\\x0ab\"");
    CHECK("$3\r\n\0\xff*\r\n", "\"\\x00\\xff*\"");
    CHECK("$-1\r\n*-1\r\n", "nil$ nil*");
}

TEST(resp2_arrays) {
    CHECK("*2\r\n$1\r\na\r\n:1\r\n", "*[\"a\" :1]");
    CHECK("*0\r\n", "*[]");
    CHECK("*2\r\n*1\r\n+a\r\n*0\r\n", "*[*[+\"a\"] *[]]");
    CHECK("*3\r\n$-1\r\n*-1\r\n-ERR x\r\n", "*[nil$ nil* -\"ERR x\"]");
    CHECK("+OK\r\n:1\r\n$1\r\nx\r\n*1\r\n+y\r\n", "+\"OK\" :1 \"x\" *[+\"y\"]");
}

TEST(partial_replies) {
    CHECK("*2\r\n:1\r\n", "<partial>");
    CHECK("$5\r\nhel", "<partial>");
    CHECK("$5\r\nhello\r", "<partial>");
    CHECK("+OK\r", "<partial>");
    CHECK("+OK\n", "<partial>");
    CHECK(":1\r\n*1", ":1 <partial>");
}

/* ---- RESP3 ---- */

TEST(resp3_scalars) {
    CHECK("_\r\n", "nil");
    CHECK(",1.5\r\n,-0.25\r\n,1e3\r\n,10\r\n", ",1.5 ,-0.25 ,1000 ,10");
    CHECK(",inf\r\n,-inf\r\n,nan\r\n", ",inf ,-inf ,nan");
    CHECK("#t\r\n#f\r\n", "#t #f");
    CHECK("(3492890328409238509324850943850943825024385\r\n(-1\r\n",
          "(3492890328409238509324850943850943825024385 (-1");
    CHECK("!21\r\nSYNTAX invalid syntax\r\n", "!\"SYNTAX invalid syntax\"");
    CHECK("=15\r\ntxt:Some string\r\n", "=\"txt:Some string\"");
    CHECK("=4\r\nmkd:\r\n", "=\"mkd:\"");
}

TEST(resp3_aggregates) {
    CHECK("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "%{+\"first\" :1 +\"second\" :2}");
    CHECK("%0\r\n", "%{}");
    CHECK("~2\r\n+a\r\n#f\r\n", "~[+\"a\" #f]");
    CHECK(">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n", ">[+\"message\" +\"ch\" \"hi\"]");
    CHECK("%1\r\n*1\r\n:1\r\n%1\r\n_\r\n~0\r\n", "%{*[:1] %{nil ~[]}}");
}

/* An attribute is a node before the value it annotates and is not one of its parent's
 * elements (the examples of the RESP3 specification). */
TEST(resp3_attributes) {
    CHECK("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
          "*2\r\n:2039123\r\n:9543892\r\n",
          "|{+\"key-popularity\" %{\"a\" ,0.1923 \"b\" ,0.0012}} *[:2039123 :9543892]");
    CHECK("*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n", "*[:1 :2 |{+\"ttl\" :3600} :3]");
    CHECK("|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n:1\r\n", "|{+\"a\" +\"b\"} |{+\"c\" +\"d\"} :1");
    CHECK("|1\r\n+a\r\n", "<partial>");
}

TEST(resp3_streamed) {
    CHECK("$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n", "$?[\"Hell\" \"o wor\" \"d\"]");
    CHECK("$?\r\n;0\r\n", "$?[]");
    CHECK("*?\r\n:1\r\n:2\r\n.\r\n", "*?[:1 :2]");
    CHECK("%?\r\n+a\r\n:1\r\n.\r\n", "%?{+\"a\" :1}");
    CHECK("~?\r\n.\r\n", "~?[]");
    CHECK("*?\r\n*?\r\n.\r\n$?\r\n;1\r\nx\r\n;0\r\n.\r\n", "*?[*?[] $?[\"x\"]]");
    CHECK("*?\r\n:1\r\n", "<partial>");
}

/* ---- errors ---- */

TEST(protocol_errors) {
    CHECK("@x\r\n", "!!Protocol error: unexpected type byte '@'");
    CHECK("\r\n", "!!Protocol error: unexpected type byte 0x0d");
    CHECK("+OK\rX", "!!Protocol error: line not ended by CRLF");
    CHECK("+a\nb\r\n", "!!Protocol error: line not ended by CRLF");
    CHECK(":abc\r\n", "!!Protocol error: invalid integer");
    CHECK(":1 \r\n", "!!Protocol error: invalid integer");
    CHECK(":\r\n", "!!Protocol error: invalid integer");
    CHECK(":99999999999999999999\r\n", "!!Protocol error: invalid integer");
    CHECK("$5\r\nhelloXX", "!!Protocol error: payload not followed by CRLF");
    CHECK("$-2\r\n", "!!Protocol error: invalid bulk length");
    CHECK("$x\r\n", "!!Protocol error: invalid bulk length");
    CHECK("!-1\r\n", "!!Protocol error: invalid bulk length");
    CHECK("=?\r\n", "!!Protocol error: invalid bulk length");
    CHECK("%-1\r\n", "!!Protocol error: invalid aggregate length");
    CHECK("*-2\r\n", "!!Protocol error: invalid aggregate length");
    CHECK("*?x\r\n", "!!Protocol error: invalid aggregate length");
    CHECK("#x\r\n", "!!Protocol error: invalid boolean");
    CHECK("#\r\n", "!!Protocol error: invalid boolean");
    CHECK("_x\r\n", "!!Protocol error: invalid null");
    CHECK("(1a\r\n", "!!Protocol error: invalid big number");
    CHECK("(\r\n", "!!Protocol error: invalid big number");
    CHECK("(-\r\n", "!!Protocol error: invalid big number");
    CHECK(",abc\r\n", "!!Protocol error: invalid double");
    CHECK(",\r\n", "!!Protocol error: invalid double");
    CHECK("=3\r\ntxt\r\n", "!!Protocol error: invalid verbatim string");
    CHECK("=5\r\ntxt_x\r\n", "!!Protocol error: invalid verbatim string");
    CHECK(".\r\n", "!!Protocol error: unexpected end marker");
    CHECK("*1\r\n.\r\n", "!!Protocol error: unexpected end marker");
    CHECK("*?\r\n.x\r\n", "!!Protocol error: unexpected end marker");
    CHECK("%?\r\n+a\r\n.\r\n", "!!Protocol error: unexpected end marker");
    CHECK("$?\r\n+a\r\n", "!!Protocol error: expected a ';' chunk");
    CHECK("$?\r\n;-1\r\n", "!!Protocol error: invalid chunk length");
    CHECK("$?\r\n;1\r\nxy\r\n", "!!Protocol error: payload not followed by CRLF");
    /* Replies before the error are returned; nothing after it. */
    CHECK("+OK\r\n?\r\n+OK\r\n", "+\"OK\" !!Protocol error: unexpected type byte '?'");
}

TEST(limits) {
    resp_reader_limits lim;
    resp_reader r;
    resp_reader_init(&r);
    lim = r.limits;
    resp_reader_deinit(&r);
    ASSERT_EQ(512LL << 20, lim.max_bulk_len);

    resp_reader_limits depth = lim;
    depth.max_depth = 2;
    CHECK_LIM(&depth, "*1\r\n*1\r\n:1\r\n", "*[*[:1]]");
    CHECK_LIM(&depth, "*1\r\n*1\r\n*1\r\n:1\r\n", "!!Protocol error: nesting too deep");
    CHECK_LIM(&depth, "$?\r\n;1\r\na\r\n;0\r\n", "$?[\"a\"]");

    resp_reader_limits bulk = lim;
    bulk.max_bulk_len = 4;
    CHECK_LIM(&bulk, "$4\r\nhell\r\n", "\"hell\"");
    CHECK_LIM(&bulk, "$5\r\nhello\r\n", "!!Protocol error: invalid bulk length");
    CHECK_LIM(&bulk, "$?\r\n;3\r\nabc\r\n;2\r\nde\r\n;0\r\n",
              "!!Protocol error: invalid chunk length");

    resp_reader_limits line = lim;
    line.max_line = 8;
    CHECK_LIM(&line, "+01234567\r\n", "+\"01234567\"");
    CHECK_LIM(&line, "+012345678\r\n", "!!Protocol error: line too long");
    CHECK_LIM(&line, "+0123456789", "!!Protocol error: line too long");

    resp_reader_limits nodes = lim;
    nodes.max_nodes = 3;
    CHECK_LIM(&nodes, "*2\r\n:1\r\n:2\r\n", "*[:1 :2]");
    CHECK_LIM(&nodes, "*3\r\n:1\r\n:2\r\n:3\r\n", "!!Protocol error: reply has too many elements");
    CHECK_LIM(&nodes, "*4\r\n", "!!Protocol error: invalid aggregate length");
    CHECK_LIM(&nodes, "*?\r\n:1\r\n:2\r\n:3\r\n.\r\n",
              "!!Protocol error: reply has too many elements");
}

/* ---- API ---- */

TEST(values_and_helpers) {
    resp_reader r;
    resp_reader_init(&r);
    const char *s = "|1\r\n+ttl\r\n:5\r\n%2\r\n+a\r\n,2.5\r\n+b\r\n*2\r\n:7\r\n#t\r\n";
    ASSERT_EQ(RESP_READ_OK, resp_read(&r, s, strlen(s)));
    ASSERT_EQ(strlen(s), r.consumed);
    uint32_t v = resp_reply_value(&r);
    ASSERT_EQ(3, v);
    ASSERT_EQ(RESP_T_MAP, r.nodes[v].type);
    ASSERT_EQ(2, r.nodes[v].i);
    uint32_t k1 = resp_node_child(&r, v, 2), v0 = resp_node_child(&r, v, 1);
    ASSERT_EQ(RESP_T_SIMPLE, r.nodes[k1].type);
    ASSERT_MEM_EQ("b", 1, resp_node_ptr(&r, s, k1), r.nodes[k1].len);
    ASSERT(r.nodes[v0].d == 2.5);
    uint32_t arr = resp_node_child(&r, v, 3);
    ASSERT_EQ(RESP_T_ARRAY, r.nodes[arr].type);
    ASSERT_EQ(7, r.nodes[resp_node_child(&r, arr, 0)].i);
    ASSERT_EQ(1, r.nodes[resp_node_child(&r, arr, 1)].i);
    ASSERT_EQ(UINT32_MAX, resp_node_child(&r, arr, 2));
    ASSERT_EQ(UINT32_MAX, resp_node_child(&r, v, -1));
    ASSERT_EQ(UINT32_MAX, resp_node_child(&r, 99, 0));

    /* Streamed string: len sums the chunks, i counts them. */
    const char *st = "$?\r\n;2\r\nab\r\n;3\r\ncde\r\n;0\r\n";
    ASSERT_EQ(RESP_READ_OK, resp_read(&r, st, strlen(st)));
    ASSERT_EQ(5, r.nodes[0].len);
    ASSERT_EQ(2, r.nodes[0].i);
    ASSERT_EQ(RESP_T_CHUNK, r.nodes[resp_node_child(&r, 0, 1)].type);

    /* An error sticks until reset; then reading starts afresh. */
    ASSERT_EQ(RESP_READ_EPROTO, resp_read(&r, "x\r\n", 3));
    ASSERT_EQ(RESP_READ_EPROTO, resp_read(&r, "+OK\r\n", 5));
    resp_reader_reset(&r);
    ASSERT_EQ(RESP_READ_OK, resp_read(&r, "+OK\r\n", 5));
    ASSERT(r.err == NULL);
    /* A partial reply is forgotten by reset too. */
    ASSERT_EQ(RESP_READ_INCOMPLETE, resp_read(&r, "*2\r\n:1\r\n", 8));
    resp_reader_reset(&r);
    ASSERT_EQ(RESP_READ_OK, resp_read(&r, ":2\r\n", 4));
    ASSERT_EQ(2, r.nodes[0].i);
    resp_reader_deinit(&r);
}

/* A large bulk and a large array, delivered in pieces, with the buffer moving. */
TEST(large_replies) {
    resp_reader r;
    resp_reader_init(&r);
    buf in, q;
    buf_init(&in);
    buf_init(&q);
    size_t big = 3u << 20;
    buf_printf(&in, "$%zu\r\n", big);
    char *fill = buf_reserve(&in, big);
    memset(fill, 'z', big);
    in.len += big;
    buf_puts(&in, "\r\n*100000\r\n");
    for (int i = 0; i < 100000; i++)
        buf_printf(&in, ":%d\r\n", i);
    int got = 0;
    for (size_t off = 0; off < in.len;) {
        size_t n = in.len - off < 7919 ? in.len - off : 7919;
        buf_append(&q, in.data + off, n);
        off += n;
        int rc;
        while ((rc = resp_read(&r, q.data, q.len)) == RESP_READ_OK) {
            if (got == 0) {
                ASSERT_EQ(RESP_T_BULK, r.nodes[0].type);
                ASSERT_EQ(big, r.nodes[0].len);
                ASSERT_EQ('z', resp_node_ptr(&r, q.data, 0)[big - 1]);
            } else {
                ASSERT_EQ(100001, r.nnodes);
                ASSERT_EQ(99999, r.nodes[100000].i);
            }
            got++;
            buf_consume(&q, r.consumed);
        }
        ASSERT_EQ(RESP_READ_INCOMPLETE, rc);
    }
    ASSERT_EQ(2, got);
    ASSERT_EQ(0, q.len);
    buf_deinit(&in);
    buf_deinit(&q);
    resp_reader_deinit(&r);
}

/* What the reply writer produces reads back as the same values, in both protocols. */
TEST(writer_round_trip) {
    buf b;
    buf_init(&b);
    resp_w_map(&b, 3, 2);
    resp_w_bulk_cstr(&b, "pi");
    resp_w_double(&b, 3, 3.141592653589793);
    resp_w_simple(&b, "set");
    resp_w_set(&b, 3, 2);
    resp_w_bool(&b, 3, 1);
    resp_w_null(&b, 3);
    resp_w_verbatim(&b, 3, "txt", "hi", 2);
    resp_w_bignum(&b, 3, "-123456789012345678901234567890");
    resp_w_push(&b, 3, 1);
    resp_w_int(&b, -5);
    resp_w_map(&b, 2, 1);
    resp_w_null(&b, 2);
    resp_w_null_array(&b, 2);
    resp_w_error(&b, "ERR bad\r\nthing");
    resp_w_double(&b, 2, -0.5);
    resp_w_bool(&b, 2, 0);
    resp_w_verbatim(&b, 2, "txt", "plain", 5);
    resp_reader r;
    resp_reader_init(&r);
    buf out;
    buf_init(&out);
    size_t off = 0;
    int n = 0;
    while (off < b.len && resp_read(&r, b.data + off, b.len - off) == RESP_READ_OK) {
        if (out.len) buf_putc(&out, ' ');
        for (uint32_t i = 0; i < r.nnodes;)
            i = render(&r, b.data + off, i, &out);
        off += r.consumed;
        n++;
    }
    buf_putc(&out, '\0');
    ASSERT_EQ(b.len, off);
    ASSERT_EQ(9, n);
    ASSERT_STR_EQ("%{\"pi\" ,3.141592653589793 +\"set\" ~[#t nil]} =\"txt:hi\" "
                  "(-123456789012345678901234567890 >[:-5] *[nil$ nil*] -\"ERR bad  thing\" "
                  "\"-0.5\" :0 \"plain\"",
                  out.data);
    buf_deinit(&out);
    buf_deinit(&b);
    resp_reader_deinit(&r);
}

int main(void) {
    RUN(resp2_scalars);
    RUN(resp2_arrays);
    RUN(partial_replies);
    RUN(resp3_scalars);
    RUN(resp3_aggregates);
    RUN(resp3_attributes);
    RUN(resp3_streamed);
    RUN(protocol_errors);
    RUN(limits);
    RUN(values_and_helpers);
    RUN(large_replies);
    RUN(writer_round_trip);
    return test_report();
}
