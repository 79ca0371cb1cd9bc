/* resp: the RESP request parser and the reply writer. No I/O, no database.
 *
 * Parser: feed it the unconsumed bytes of a connection's query buffer; it returns one
 * complete command at a time as argument slices given as offsets from the start of the
 * bytes passed in (the start of the current command), plus the number of bytes the command
 * used. The state struct remembers how far it got in a partial command, so a command
 * split over many reads is never scanned again from its start; the caller must keep the
 * unconsumed bytes intact (they may move in memory, as offsets are relative).
 *
 * Both multibulk (*N\r\n$L\r\n...) and inline ("PING\r\n", with Redis's quoting rules)
 * requests are accepted. Limits and errors are Redis's.
 *
 * Writer: resp_w_* append one reply frame to a buf in RESP2 or RESP3. */
#ifndef MAYFLY_RESP_RESP_H
#define MAYFLY_RESP_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum {
    RESP_OK = 0,         /* one command parsed: argc/argv/consumed are set */
    RESP_INCOMPLETE = 1, /* need more bytes; nothing consumed */
    RESP_EPROTO = -1,    /* malformed or over a limit: err is set; close the connection */
};

typedef struct resp_arg {
    size_t off; /* offset of the argument's first byte from the command's start */
    size_t len;
} resp_arg;

typedef struct resp_limits {
    long long max_bulk_len;   /* proto-max-bulk-len, default 512 MB */
    long long max_multibulk;  /* max arguments in one command, default INT_MAX (Redis) */
    size_t max_inline;        /* largest inline request, default 64 KB */
    int unauthenticated;      /* 1: apply Redis's pre-AUTH limits (10 args, 16 KB bulk) */
} resp_limits;

typedef struct resp_parser {
    resp_limits limits;
    /* Output of the last RESP_OK. */
    int argc;
    resp_arg *argv; /* owned; grows as needed */
    size_t consumed;
    const char *err; /* static message for RESP_EPROTO, e.g. "Protocol error: invalid bulk length" */
    /* Progress through a partial multibulk command (private). */
    int state;
    long long multibulk_left; /* arguments still to read */
    long long bulk_len;       /* length of the bulk being read, -1 if its header is unread */
    size_t pos;               /* bytes of the current command already parsed */
    int argv_cap;
} resp_parser;

/* Initialises a parser with default limits (no allocation yet). */
void resp_parser_init(resp_parser *p);
void resp_parser_deinit(resp_parser *p);
/* Forgets any partial command (after the connection dropped its buffer). */
void resp_parser_reset(resp_parser *p);

/* Parses one command from data[0..len). Returns RESP_OK (argc may be 0 for an empty
 * command such as "*0\r\n" or a blank inline line: consume and skip it),
 * RESP_INCOMPLETE or RESP_EPROTO. After RESP_OK the caller consumes p->consumed bytes
 * before calling again. */
int resp_parse(resp_parser *p, const char *data, size_t len);

/* Bytes the parser still needs for the bulk it is reading (0 if unknown): lets the
 * connection size its read buffer for a large argument in one allocation. */
size_t resp_bytes_wanted(const resp_parser *p);

/* ---- Reply writer. proto is 2 or 3. ---- */
void resp_w_simple(buf *b, const char *s);               /* +s */
void resp_w_simple_len(buf *b, const char *s, size_t len);
void resp_w_error(buf *b, const char *msg);              /* -msg (msg carries its code, e.g. "ERR x") */
void resp_w_error_len(buf *b, const char *msg, size_t len);
void resp_w_int(buf *b, long long v);                    /* :v */
void resp_w_bulk(buf *b, const void *p, size_t len);     /* $len\r\n...\r\n */
void resp_w_bulk_cstr(buf *b, const char *s);
void resp_w_bulk_ll(buf *b, long long v);                /* integer as a bulk string */
void resp_w_null(buf *b, int proto);                     /* $-1 or _ */
void resp_w_null_array(buf *b, int proto);               /* *-1 or _ */
void resp_w_array(buf *b, size_t n);                     /* *n */
void resp_w_map(buf *b, int proto, size_t n);            /* %n, or *2n in RESP2 */
void resp_w_set(buf *b, int proto, size_t n);            /* ~n, or *n */
void resp_w_push(buf *b, int proto, size_t n);           /* >n, or *n */
void resp_w_double(buf *b, int proto, double v);         /* ,v or bulk */
void resp_w_bool(buf *b, int proto, int v);              /* #t/#f, or :1/:0 */
void resp_w_bignum(buf *b, int proto, const char *digits); /* (digits, or bulk */
/* =len\r\nfmt:text (fmt is 3 chars, e.g. "txt"), or a plain bulk in RESP2. */
void resp_w_verbatim(buf *b, int proto, const char *fmt, const char *p, size_t len);

/* Deferred aggregate length: reserve a header now, fill it once the count is known. */
size_t resp_w_defer(buf *b);
/* kind is '*', '%', '~' or '>' (already resolved for the protocol; for a RESP2 map pass
 * '*' and 2n). */
void resp_w_defer_set(buf *b, size_t mark, char kind, size_t n);

#endif
