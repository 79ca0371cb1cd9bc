/* fuzz_resp_reader: libFuzzer target for the RESP reply reader (resp/reader.c), in the
 * shape of fuzz_resp.c.
 *
 * Input layout: byte 0 is the read size (0 = everything in one read), byte 1 holds option
 * bits (1: tiny limits, so the nesting, length, line and node limits are reachable in a
 * few bytes), the rest is the byte stream a server sends.
 *
 * Each input is read twice, in one piece and in reads of the given size; both runs must
 * give the same replies and the same error (the reader's decisions do not depend on how
 * the bytes arrive). Every reply is checked for structure (subtrees nest, counts match
 * children, payloads lie inside the reply), written back in RESP, which must give the
 * very bytes read (parsing is strict: there is one text per reply), and read again, which
 * must give the same nodes. */
#include "mayfly/resp/reader.h"
#include "mayfly/util/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
    if (!ok) abort();
}

static void set_limits(resp_reader *r, unsigned opts) {
    if (!(opts & 1)) return;
    r->limits.max_bulk_len = 16;
    r->limits.max_line = 12;
    r->limits.max_depth = 3;
    r->limits.max_nodes = 20;
}

static int is_aggregate(const resp_node *n) {
    return strchr("*%~>|", n->type) != NULL || (n->type == '$' && (n->flags & RESP_NODE_STREAMED));
}

static void check_structure(const resp_reader *r) {
    check(r->nnodes > 0 && r->nodes[0].end <= r->nnodes);
    for (uint32_t i = 0; i < r->nnodes; i++) {
        const resp_node *n = &r->nodes[i];
        check(n->end > i && n->end <= r->nnodes);
        long long kids = 0;
        for (uint32_t c = i + 1; c < n->end; c = r->nodes[c].end) {
            check(r->nodes[c].end <= n->end);
            if (r->nodes[c].type != RESP_T_ATTR) kids++;
        }
        int pairs = n->type == RESP_T_MAP || n->type == RESP_T_ATTR;
        if (is_aggregate(n))
            check(kids == (pairs ? 2 * n->i : n->i));
        else
            check(n->end == i + 1);
        if (!is_aggregate(n)) check(n->off + n->len <= r->consumed);
    }
}

/* Writes node i (and its subtree) back as RESP; returns the index after it. */
static uint32_t encode(const resp_reader *r, const char *data, uint32_t i, buf *out) {
    const resp_node *n = &r->nodes[i];
    const char *p = data + n->off;
    switch (n->type) {
    case RESP_T_SIMPLE:
    case RESP_T_ERROR:
    case RESP_T_DOUBLE:
    case RESP_T_BIGNUM:
        buf_putc(out, n->type);
        buf_append(out, p, n->len);
        buf_puts(out, "\r\n");
        return n->end;
    case RESP_T_INT:
        buf_printf(out, ":%lld\r\n", n->i);
        return n->end;
    case RESP_T_BOOL:
        buf_puts(out, n->i ? "#t\r\n" : "#f\r\n");
        return n->end;
    case RESP_T_NULL:
        buf_puts(out, n->flags & RESP_NODE_NULL_BULK    ? "$-1\r\n"
                      : n->flags & RESP_NODE_NULL_ARRAY ? "*-1\r\n"
                                                        : "_\r\n");
        return n->end;
    case RESP_T_CHUNK:
        buf_printf(out, ";%zu\r\n", n->len);
        buf_append(out, p, n->len);
        buf_puts(out, "\r\n");
        return n->end;
    default:
        break;
    }
    if (!is_aggregate(n)) { /* $ ! = */
        buf_printf(out, "%c%zu\r\n", n->type, n->len);
        buf_append(out, p, n->len);
        buf_puts(out, "\r\n");
        return n->end;
    }
    int streamed = (n->flags & RESP_NODE_STREAMED) != 0;
    if (streamed)
        buf_printf(out, "%c?\r\n", n->type);
    else
        buf_printf(out, "%c%lld\r\n", n->type, n->i);
    for (uint32_t c = i + 1; c < n->end;)
        c = encode(r, data, c, out);
    if (streamed) buf_puts(out, n->type == RESP_T_BULK ? ";0\r\n" : ".\r\n");
    return n->end;
}

static int same_double(double a, double b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

static void check_roundtrip(const resp_reader *r, const char *data) {
    buf w;
    buf_init(&w);
    for (uint32_t i = 0; i < r->nnodes;)
        i = encode(r, data, i, &w);
    resp_reader q;
    resp_reader_init(&q);
    q.limits = r->limits;
    /* Parsing is strict, so the canonical form is the original text. */
    check(w.len == r->consumed && memcmp(w.data, data, w.len) == 0);
    check(resp_read(&q, w.data, w.len) == RESP_READ_OK);
    check(q.consumed == w.len && q.nnodes == r->nnodes);
    for (uint32_t i = 0; i < r->nnodes; i++) {
        const resp_node *a = &r->nodes[i], *b = &q.nodes[i];
        check(a->type == b->type && a->flags == b->flags && a->end == b->end);
        check(a->len == b->len && a->i == b->i && same_double(a->d, b->d));
        if (!is_aggregate(a)) check(memcmp(data + a->off, w.data + b->off, a->len) == 0);
    }
    resp_reader_deinit(&q);
    buf_deinit(&w);
}

/* Appends a reply to the log: per node its type, flags, end, len, i and payload. */
static void log_reply(const resp_reader *r, const char *data, buf *log) {
    buf_append(log, &r->nnodes, sizeof(r->nnodes));
    buf_append(log, &r->consumed, sizeof(r->consumed));
    for (uint32_t i = 0; i < r->nnodes; i++) {
        const resp_node *n = &r->nodes[i];
        buf_putc(log, n->type);
        buf_append(log, &n->flags, sizeof(n->flags));
        buf_append(log, &n->end, sizeof(n->end));
        buf_append(log, &n->len, sizeof(n->len));
        buf_append(log, &n->i, sizeof(n->i));
        if (!is_aggregate(n)) buf_append(log, data + n->off, n->len);
    }
}

/* Reads what in holds; returns 1 once a protocol error ended the stream. */
static int drain(resp_reader *r, buf *in, buf *log, int deep) {
    for (;;) {
        int rc = resp_read(r, in->data, in->len);
        if (rc == RESP_READ_INCOMPLETE) return 0;
        if (rc == RESP_READ_EPROTO) {
            check(r->err != NULL && strncmp(r->err, "Protocol error: ", 16) == 0);
            check(strchr(r->err, '\r') == NULL && strchr(r->err, '\n') == NULL);
            check(resp_read(r, in->data, in->len) == RESP_READ_EPROTO);
            buf_putc(log, '!');
            buf_puts(log, r->err);
            return 1;
        }
        check(rc == RESP_READ_OK && r->consumed > 0 && r->consumed <= in->len);
        check_structure(r);
        if (deep) check_roundtrip(r, in->data);
        log_reply(r, in->data, log);
        buf_consume(in, r->consumed);
    }
}

static void run(const char *s, size_t len, size_t chunk, unsigned opts, buf *log) {
    resp_reader r;
    resp_reader_init(&r);
    set_limits(&r, opts);
    buf in;
    buf_init(&in);
    size_t off = 0;
    while (off < len) {
        size_t n = chunk && chunk < len - off ? chunk : len - off;
        buf_append(&in, s + off, n);
        off += n;
        if (drain(&r, &in, log, chunk == 0)) break;
    }
    buf_deinit(&in);
    resp_reader_deinit(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t chunk = data[0];
    unsigned opts = data[1];
    const char *s = (const char *)data + 2;
    size_t len = size - 2;
    buf whole, pieces;
    buf_init(&whole);
    buf_init(&pieces);
    run(s, len, 0, opts, &whole);
    run(s, len, chunk, opts, &pieces);
    check(whole.len == pieces.len &&
          (whole.len == 0 || memcmp(whole.data, pieces.data, whole.len) == 0));
    buf_deinit(&whole);
    buf_deinit(&pieces);
    return 0;
}
