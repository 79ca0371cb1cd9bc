/* reply: the reply helpers handlers use; they pick RESP2 or RESP3 forms from the
 * session's protocol and count error replies for INFO errorstats. */
#include "cmd/registry_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/strconv.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void reply_ok(cmd_ctx *c) {
    buf_append(c->out, "+OK\r\n", 5);
}
void reply_simple(cmd_ctx *c, const char *s) {
    resp_w_simple(c->out, s);
}

void reply_error(cmd_ctx *c, const char *msg) {
    size_t len = strlen(msg);
    /* An error reply is one line: newlines would break the protocol. */
    if (memchr(msg, '\n', len) || memchr(msg, '\r', len)) {
        char tmp[512];
        size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
        for (size_t i = 0; i < n; i++)
            tmp[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
        resp_w_error_len(c->out, tmp, n);
    } else {
        resp_w_error_len(c->out, msg, len);
    }
    c->replied_error = 1;
    registry_count_error(msg, len);
}

void reply_errorf(cmd_ctx *c, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error(c, msg);
}

void reply_int(cmd_ctx *c, long long v) {
    resp_w_int(c->out, v);
}
void reply_bulk(cmd_ctx *c, const void *p, size_t len) {
    resp_w_bulk(c->out, p, len);
}
void reply_bulk_cstr(cmd_ctx *c, const char *s) {
    resp_w_bulk(c->out, s, strlen(s));
}
void reply_bulk_slice(cmd_ctx *c, slice s) {
    resp_w_bulk(c->out, s.p, s.len);
}
void reply_bulk_ll(cmd_ctx *c, long long v) {
    resp_w_bulk_ll(c->out, v);
}
void reply_null(cmd_ctx *c) {
    resp_w_null(c->out, c->proto);
}
void reply_null_array(cmd_ctx *c) {
    resp_w_null_array(c->out, c->proto);
}
void reply_array(cmd_ctx *c, size_t n) {
    resp_w_array(c->out, n);
}
void reply_map(cmd_ctx *c, size_t n) {
    resp_w_map(c->out, c->proto, n);
}
void reply_set(cmd_ctx *c, size_t n) {
    resp_w_set(c->out, c->proto, n);
}
void reply_double(cmd_ctx *c, double v) {
    resp_w_double(c->out, c->proto, v);
}
void reply_bool(cmd_ctx *c, int v) {
    resp_w_bool(c->out, c->proto, v);
}
void reply_verbatim(cmd_ctx *c, const char *p, size_t len) {
    resp_w_verbatim(c->out, c->proto, "txt", p, len);
}

void reply_help(cmd_ctx *c, const char *const *lines) {
    size_t n = 0;
    while (lines[n])
        n++;
    reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        reply_simple(c, lines[i]);
}

size_t reply_defer(cmd_ctx *c) {
    return resp_w_defer(c->out);
}
void reply_defer_array(cmd_ctx *c, size_t mark, size_t n) {
    resp_w_defer_set(c->out, mark, '*', n);
}
void reply_defer_map(cmd_ctx *c, size_t mark, size_t pairs) {
    if (c->proto == 3)
        resp_w_defer_set(c->out, mark, '%', pairs);
    else
        resp_w_defer_set(c->out, mark, '*', pairs * 2);
}

void reply_wrongtype(cmd_ctx *c) {
    reply_error(c, ERR_WRONGTYPE);
}
void reply_syntax_error(cmd_ctx *c) {
    reply_error(c, ERR_SYNTAX);
}

void reply_arity_error(cmd_ctx *c) {
    char msg[200];
    registry_arity_message(c->parent, c->cmd, msg, sizeof(msg));
    reply_error(c, msg);
}

int arg_ll(cmd_ctx *c, slice a, long long *out) {
    if (str_to_ll(a.p, a.len, out) == 0) return 0;
    reply_error(c, ERR_NOT_INT);
    return -1;
}

int arg_ll_range(cmd_ctx *c, slice a, long long min, long long max, const char *msg,
                 long long *out) {
    long long v;
    if (str_to_ll(a.p, a.len, &v) == 0 && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    reply_error(c, msg ? msg : ERR_NOT_INT);
    return -1;
}

int arg_double(cmd_ctx *c, slice a, double *out) {
    if (str_to_d(a.p, a.len, out) == 0) return 0;
    reply_error(c, ERR_NOT_FLOAT);
    return -1;
}

int arg_cursor(cmd_ctx *c, slice a, unsigned long long *out) {
    if (str_to_ull(a.p, a.len, out) == 0) return 0;
    reply_error(c, "ERR invalid cursor");
    return -1;
}

size_t incr_float_format(cmd_ctx *c, long double base, long double incr, char *out) {
    long double value = base + incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return 0;
    }
    return ld_to_str(out, STRCONV_LD_MAX, value);
}

int incr_ll_add(cmd_ctx *c, long long *value, long long incr) {
    long long v = *value;
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(c, "ERR increment or decrement would overflow");
        return -1;
    }
    *value = v + incr;
    return 0;
}
