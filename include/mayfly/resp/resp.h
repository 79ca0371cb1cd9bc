/* resp: the RESP request parser and the reply writer. No I/O, no database.
 *
 * Parser: feed it the unconsumed bytes of a connection's query buffer; it returns one
 * complete command at a time as argument slices given as offsets, plus the number of
 * bytes the command used. The state struct remembers how far it got in a partial command,
 * so a command split over many reads is never scanned again from its start; the caller
 * must keep the unconsumed bytes intact between calls (they may move in memory, as
 * offsets are relative) and may only append to them.
 *
 * Both multibulk (*N\r\n$L\r\n...) and inline ("PING\r\n", with Redis's quoting rules)
 * requests are accepted. Limits and error texts are Redis's (src/networking.c,
 * processMultibulkBuffer and processInlineBuffer).
 *
 * Where the arguments live:
 *   - multibulk: argv[i].off is an offset from data[0], the first byte of the command;
 *   - inline: quoting and escapes change the bytes, so the parser unescapes the line into
 *     a scratch buffer it owns; p->inline_base points at it and argv[i].off is an offset
 *     from inline_base. inline_base is NULL for multibulk commands.
 * resp_arg_ptr() hides the difference. Either way the bytes stay valid until the next
 * resp_parse, resp_parser_reset or resp_parser_deinit (and, for multibulk, only while the
 * caller keeps data unconsumed).
 *
 * Writer: resp_w_* append one reply frame to a buf in RESP2 or RESP3. Each frame is
 * appended with a single buf_reserve, and numbers are formatted without printf. */
#ifndef MAYFLY_RESP_RESP_H
#define MAYFLY_RESP_RESP_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

enum {
    RESP_OK = 0,         /* one command parsed: argc/argv/consumed are set */
    RESP_INCOMPLETE = 1, /* need more bytes; nothing consumed */
    RESP_EPROTO = -1,    /* malformed or over a limit: err is set; close the connection */
};

/* Redis's PROTO_INLINE_MAX_SIZE: the longest inline request, and how far the parser looks
 * for the end of a "*N" or "$N" header line before giving up. */
#define RESP_INLINE_MAX (64 * 1024)
/* Redis's limits for a client that has not authenticated yet. */
#define RESP_UNAUTH_MAX_MULTIBULK 10
#define RESP_UNAUTH_MAX_BULK 16384

typedef struct resp_arg {
    size_t off; /* offset of the first byte: from data[0], or from inline_base if set */
    size_t len;
} resp_arg;

typedef struct resp_limits {
    long long max_bulk_len;  /* proto-max-bulk-len, default 512 MB */
    long long max_multibulk; /* max arguments in one command, default INT_MAX (Redis) */
    size_t max_inline;       /* inline request and header line limit, default 64 KB */
    int unauthenticated;     /* 1: apply Redis's pre-AUTH limits (10 args, 16 KB bulk) */
} resp_limits;

typedef struct resp_parser {
    resp_limits limits; /* set freely between commands */
    /* Output of the last RESP_OK (argc and argv are scratch while a command is partial). */
    int argc;
    resp_arg *argv;          /* owned; grows as needed */
    size_t consumed;         /* bytes of data the command used, trailing CRLF included */
    const char *inline_base; /* inline command: base of argv offsets; NULL for multibulk */
    const char *err;         /* message for RESP_EPROTO, "Protocol error: ..."; no CR/LF */
    /* Progress through a partial command (private). */
    int state;                /* RESP_ST_* in parse.c */
    long long multibulk_left; /* arguments still to read */
    long long bulk_len;       /* length of the bulk being read, -1 if its header is unread */
    size_t pos;               /* bytes of the current command already parsed */
    size_t scan;              /* bytes already searched for the current line's end */
    size_t seen;              /* len passed to the last resp_parse (for bytes_wanted) */
    int argv_cap;
    char *scratch; /* owned; unescaped inline arguments */
    size_t scratch_cap;
    char errbuf[48]; /* err for "expected '$', got 'X'" */
} resp_parser;

/* Initialises a parser with default limits (no allocation yet). */
void resp_parser_init(resp_parser *p);
/* Frees the parser's storage; it may be initialised again. */
void resp_parser_deinit(resp_parser *p);
/* Forgets any partial command (after the connection dropped its buffer) or a previous
 * protocol error. Keeps limits and storage. */
void resp_parser_reset(resp_parser *p);

/* Parses one command from data[0..len), where data starts at the first unconsumed byte
 * (the start of the current command). Returns:
 *   RESP_OK: argc/argv/inline_base/consumed describe the command. argc may be 0 for an
 *     empty command ("*0\r\n", "*-1\r\n", a blank inline line): consume and skip it. The
 *     caller drops p->consumed bytes before calling again.
 *   RESP_INCOMPLETE: wait for more bytes and call again with the same bytes plus the
 *     new ones; nothing is consumed.
 *   RESP_EPROTO: p->err holds the message to send as "-ERR <err>" before closing; every
 *     later call fails the same way until resp_parser_reset. */
int resp_parse(resp_parser *p, const char *data, size_t len);

/* Looks at the complete multibulk command at data[0..len) without a parser (a pipeline's
 * next commands, for prefetching): fills out[0..min(argc, max)) and *consumed and returns
 * argc (>= 1); returns 0 when the bytes do not hold a complete command with short headers
 * ("*" and 1-2 digits, "$" and 1-9 digits), which only means "stop peeking": resp_parse
 * stays the judge of what the bytes are. A command it returns has CRLF after its count,
 * each header and each payload: when resp_parse takes the same bytes, they are exactly
 * argv's RESP (resp_request_exact holds; net/ then skips that check). */
int resp_peek(const char *data, size_t len, slice *out, int max, size_t *consumed);

/* The bytes of argument i of the last RESP_OK, given the data passed to resp_parse. */
static inline const char *resp_arg_ptr(const resp_parser *p, const char *data, int i) {
    return (p->inline_base ? p->inline_base : data) + p->argv[i].off;
}

/* 1 when the bytes req of a multibulk request (data[0..consumed) of its RESP_OK), whose
 * arguments argv[0..argc) point into them, are byte for byte the RESP encoding of argv, so
 * they can be passed on (replication stream, log) as they are. The parser takes numbers
 * in canonical form only ("*N" and "$L" without sign or leading zero), so the bytes it
 * skips unchecked as Redis does (the one after each header's '\r', the two after each
 * payload) are the only ones that may differ: those are checked here, 3 per argument
 * (0 also when argv does not end where req does). */
int resp_request_exact(slice req, int argc, const slice *argv);

/* After RESP_INCOMPLETE: how many bytes beyond those last passed the parser needs to
 * finish the bulk payload it is reading (its trailing CRLF included), 0 if it is not
 * inside a payload. Lets the connection size its read buffer for a large argument in one
 * allocation. */
size_t resp_bytes_wanted(const resp_parser *p);

/* After RESP_INCOMPLETE inside a bulk payload: 1 with the payload's offset from the start
 * of the command in *off and its length in *bulk_len (OUT); 0 when not inside a payload.
 * The connection measures client-query-buffer-limit on a large argument as Redis does. */
int resp_payload_at(const resp_parser *p, size_t *off, size_t *bulk_len);

/* ---- Reply writer. proto is 2 or 3. ---- */

/* +s. CR and LF inside s would break the framing: they are written as spaces. */
void resp_w_simple(buf *b, const char *s);
void resp_w_simple_len(buf *b, const char *s, size_t len);
/* -msg (msg carries its code, e.g. "ERR x"); CR and LF become spaces, as in Redis. */
void resp_w_error(buf *b, const char *msg);
void resp_w_error_len(buf *b, const char *msg, size_t len);
void resp_w_int(buf *b, long long v);                /* :v */
void resp_w_bulk(buf *b, const void *p, size_t len); /* $len\r\n...\r\n */
void resp_w_bulk_cstr(buf *b, const char *s);        /* s must not be NULL: use resp_w_null */
void resp_w_bulk_ll(buf *b, long long v);            /* integer as a bulk string */
void resp_w_null(buf *b, int proto);                 /* $-1 or _ */
void resp_w_null_array(buf *b, int proto);           /* *-1 or _ */
void resp_w_array(buf *b, size_t n);                 /* *n */
void resp_w_map(buf *b, int proto, size_t n);        /* %n, or *2n in RESP2 */
void resp_w_set(buf *b, int proto, size_t n);        /* ~n, or *n */
void resp_w_push(buf *b, int proto, size_t n);       /* >n, or *n */
/* ,v or a bulk string; v in the shortest form that reads back exactly (d_to_str), with
 * "inf", "-inf" and "nan" for the special values. */
void resp_w_double(buf *b, int proto, double v);
void resp_w_bool(buf *b, int proto, int v);                /* #t/#f, or :1/:0 */
void resp_w_bignum(buf *b, int proto, const char *digits); /* (digits, or bulk */
/* =len\r\nfmt:text (fmt is 3 chars, e.g. "txt"), or a plain bulk in RESP2. */
void resp_w_verbatim(buf *b, int proto, const char *fmt, const char *p, size_t len);

/* Deferred aggregate length: reserve a header now, fill it once the count is known.
 * Returns a mark (the header's offset in b). */
size_t resp_w_defer(buf *b);
/* Writes the header at mark. kind is '*', '%', '~' or '>' (already resolved for the
 * protocol; for a RESP2 map pass '*' and 2n). A header longer than the placeholder
 * (n >= 10) moves every byte after mark, so a mark taken later than this one is no
 * longer valid: set nested deferred lengths innermost first. */
void resp_w_defer_set(buf *b, size_t mark, char kind, size_t n);

#endif
