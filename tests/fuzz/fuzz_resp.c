/* fuzz_resp: libFuzzer target for the RESP request parser (after hiredis's
 * fuzzing/reply_reader_fuzzer.c).
 *
 * Input layout: byte 0 is the read size (0 = everything in one read), byte 1 holds option
 * bits (1: unauthenticated limits, 2: tiny limits so the "too big" and "invalid length"
 * paths are reachable in a few bytes), the rest is the byte stream a client sends.
 *
 * Each input is parsed twice, once in one piece and once delivered in reads of the given
 * size, as a connection does: on RESP_OK the command is checked and consumed, on
 * RESP_INCOMPLETE more bytes are appended, on RESP_EPROTO the stream ends. Both runs must
 * produce the same commands and the same error, except that a "too big ..." error depends
 * on how much was buffered (as in Redis): then the run that stopped must have produced a
 * prefix of the other's commands. Every command is also written back with the reply
 * writer as an array of bulks and parsed again, which must give the same arguments. */
#include "mayfly/resp/resp.h"
#include "mayfly/util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
    if (!ok) abort();
}

static void set_limits(resp_parser *p, unsigned opts) {
    if (opts & 1) p->limits.unauthenticated = 1;
    if (opts & 2) {
        p->limits.max_inline = 64;
        p->limits.max_bulk_len = 100;
        p->limits.max_multibulk = 8;
    }
}

/* Writes the command back as "*argc" and bulks, parses that, and compares. */
static void check_roundtrip(const resp_parser *p, const char *base) {
    buf w;
    buf_init(&w);
    resp_w_array(&w, (size_t)p->argc);
    for (int i = 0; i < p->argc; i++)
        resp_w_bulk(&w, resp_arg_ptr(p, base, i), p->argv[i].len);
    resp_parser q;
    resp_parser_init(&q);
    check(resp_parse(&q, w.data, w.len) == RESP_OK);
    check(q.consumed == w.len && q.argc == p->argc && q.inline_base == NULL);
    for (int i = 0; i < p->argc; i++) {
        check(q.argv[i].len == p->argv[i].len);
        check(memcmp(w.data + q.argv[i].off, resp_arg_ptr(p, base, i), p->argv[i].len) == 0);
    }
    resp_parser_deinit(&q);
    buf_deinit(&w);
}

/* Checks and logs one parsed command: argc, then each argument's length and bytes. */
static void log_command(const resp_parser *p, const buf *in, buf *log, int roundtrip) {
    check(p->argc >= 0 && p->consumed > 0 && p->consumed <= in->len);
    buf_append(log, &p->argc, sizeof(p->argc));
    for (int i = 0; i < p->argc; i++) {
        size_t end = p->argv[i].off + p->argv[i].len;
        check(end >= p->argv[i].off);
        check(p->inline_base ? end <= p->scratch_cap : end <= p->consumed);
        buf_append(log, &p->argv[i].len, sizeof(size_t));
        buf_append(log, resp_arg_ptr(p, in->data, i), p->argv[i].len);
    }
    if (roundtrip) check_roundtrip(p, in->data);
}

/* Parses what in holds; returns 1 once a protocol error ended the stream. */
static int drain(resp_parser *p, buf *in, buf *log, int roundtrip, size_t *err_at) {
    for (;;) {
        int rc = resp_parse(p, in->data, in->len);
        if (rc == RESP_INCOMPLETE) {
            check(resp_bytes_wanted(p) <= (size_t)p->limits.max_bulk_len + 2);
            return 0;
        }
        if (rc == RESP_EPROTO) {
            check(p->err != NULL && strncmp(p->err, "Protocol error: ", 16) == 0);
            check(strchr(p->err, '\r') == NULL && strchr(p->err, '\n') == NULL);
            *err_at = log->len;
            buf_putc(log, '!');
            buf_puts(log, p->err);
            return 1;
        }
        check(rc == RESP_OK);
        log_command(p, in, log, roundtrip);
        buf_consume(in, p->consumed);
    }
}

/* Runs the stream through one parser in reads of chunk bytes (0 = one read). */
static void run(const char *s, size_t len, size_t chunk, unsigned opts, buf *log, size_t *err_at) {
    resp_parser p;
    resp_parser_init(&p);
    set_limits(&p, opts);
    buf in;
    buf_init(&in);
    *err_at = SIZE_MAX;
    size_t off = 0;
    while (off < len) {
        size_t n = chunk && chunk < len - off ? chunk : len - off;
        buf_append(&in, s + off, n);
        off += n;
        if (drain(&p, &in, log, chunk == 0, err_at)) break;
    }
    buf_deinit(&in);
    resp_parser_deinit(&p);
}

static int is_too_big(const buf *log, size_t err_at) {
    static const char tb[] = "!Protocol error: too big";
    return err_at != SIZE_MAX && log->len - err_at >= sizeof(tb) - 1 &&
           memcmp(log->data + err_at, tb, sizeof(tb) - 1) == 0;
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
    size_t err_whole, err_pieces;
    run(s, len, 0, opts, &whole, &err_whole);
    run(s, len, chunk, opts, &pieces, &err_pieces);

    int same = whole.len == pieces.len &&
               (whole.len == 0 || memcmp(whole.data, pieces.data, whole.len) == 0);
    if (!same) {
        /* Only a "too big" error may differ, and only by stopping earlier. */
        const buf *stopped = is_too_big(&pieces, err_pieces) ? &pieces : &whole;
        const buf *other = stopped == &pieces ? &whole : &pieces;
        size_t at = stopped == &pieces ? err_pieces : err_whole;
        check(is_too_big(stopped, at));
        check(at <= other->len && (at == 0 || memcmp(stopped->data, other->data, at) == 0));
    }
    buf_deinit(&whole);
    buf_deinit(&pieces);
    return 0;
}
