/* lua_reply: Redis replies to Lua values and back, as Redis's script_lua.c converts them.
 *
 *     reply            Lua (redis.call's result)       Lua (script's return)   reply
 *     :5               5                               5.9 (number)            :5 (truncated)
 *     $3 abc           "abc"                           "abc"                   $3 abc
 *     $-1 / *-1        false                           false                   nil (RESP2) / #f
 *     _ (RESP3 null)   nil                             true                    :1 / #t
 *     +OK              {ok="OK"}                       {ok="x"}                +x
 *     -ERR x           {err="ERR x"} (raised by call)  {err="ERR x"}           -ERR x
 *     *n               {a, b, ...}                     {a, b, nil, c}          *2 (cut at nil)
 *     %n               {map={k=v}}                     {map={...}}             %n / *2n
 *     ~n               {set={k=true}}                  {set={...}}             ~n / *n
 *     ,1.5             {double=1.5}                    {double=x}              ,x / $ x
 *     #t / #f          true / false
 *     (123             {big_number="123"}              {big_number="123"}      (123 / $
 *     =txt:x           {verbatim_string={format, string}}                      =  / $
 *
 * How a boolean returned by the script is written depends on the script's own protocol
 * (redis.setresp), everything else on the caller's. */
#include "mayfly/resp/resp.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "script/script_int.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers as Redis prints them (util.c d2string, fpconv_dtoa) ---- */

/* Redis's double2ll: whole numbers within +-LLONG_MAX/2 print as integers. */
static int whole_ll(double d, long long *out) {
    if (d < (double)(-LLONG_MAX / 2) || d > (double)(LLONG_MAX / 2)) return 0;
    long long ll = (long long)d;
    if ((double)ll != d) return 0;
    *out = ll;
    return 1;
}

/* The shortest decimal digits that read back as d (d finite, not 0): digits (no dot, no
 * trailing zeros) and K such that d = digits * 10^K. */
static int shortest_digits(double d, char *digits, int *K) {
    char tmp[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
        if (strtod(tmp, NULL) == d || prec == 16) {
            const char *p = tmp;
            int n = 0;
            for (; *p && *p != 'e'; p++)
                if (*p >= '0' && *p <= '9') digits[n++] = *p;
            int exp10 = atoi(p + 1);
            while (n > 1 && digits[n - 1] == '0')
                n--;
            *K = exp10 - (n - 1);
            return n;
        }
    }
    return 0;
}

/* fpconv_dtoa's layout of digits * 10^K. */
static size_t emit_digits(char *dest, const char *digits, int nd, int K, int neg) {
    int exp = K + nd - 1 < 0 ? -(K + nd - 1) : K + nd - 1;
    if (K >= 0 && exp < nd + 7) {
        memcpy(dest, digits, (size_t)nd);
        memset(dest + nd, '0', (size_t)K);
        return (size_t)(nd + K);
    }
    if (K < 0 && (K > -7 || exp < 4)) {
        int offset = nd - (-K);
        if (offset <= 0) {
            offset = -offset;
            dest[0] = '0';
            dest[1] = '.';
            memset(dest + 2, '0', (size_t)offset);
            memcpy(dest + 2 + offset, digits, (size_t)nd);
            return (size_t)(nd + 2 + offset);
        }
        memcpy(dest, digits, (size_t)offset);
        dest[offset] = '.';
        memcpy(dest + offset + 1, digits + offset, (size_t)(nd - offset));
        return (size_t)(nd + 1);
    }
    int sign_neg = K + nd - 1 < 0;
    if (nd > 18 - neg) nd = 18 - neg;
    size_t i = 0;
    dest[i++] = digits[0];
    if (nd > 1) {
        dest[i++] = '.';
        memcpy(dest + i, digits + 1, (size_t)(nd - 1));
        i += (size_t)(nd - 1);
    }
    dest[i++] = 'e';
    dest[i++] = sign_neg ? '-' : '+';
    int cent = 0;
    if (exp > 99) {
        cent = exp / 100;
        dest[i++] = (char)('0' + cent);
        exp -= cent * 100;
    }
    if (exp > 9) {
        dest[i++] = (char)('0' + exp / 10);
        exp %= 10;
    } else if (cent) {
        dest[i++] = '0';
    }
    dest[i++] = (char)('0' + exp);
    return i;
}

size_t luareply_fmt_double(char *out, double d) {
    if (isnan(d)) return (size_t)snprintf(out, 32, "nan");
    if (isinf(d)) return (size_t)snprintf(out, 32, d < 0 ? "-inf" : "inf");
    if (d == 0) return (size_t)snprintf(out, 32, signbit(d) ? "-0" : "0");
    long long ll;
    if (whole_ll(d, &ll)) return ll_to_str(out, ll);
    char digits[24];
    int K = 0, neg = d < 0;
    int nd = shortest_digits(fabs(d), digits, &K);
    size_t n = 0;
    if (neg) out[n++] = '-';
    return n + emit_digits(out + n, digits, nd, K, neg);
}

/* ---- reply -> Lua ---- */

typedef struct rparse {
    const char *p, *end;
} rparse;

/* The line at r->p after its type byte, up to CRLF; advances past it. */
static const char *take_line(rparse *r, size_t *len) {
    const char *start = r->p + 1;
    const char *cr = memchr(start, '\r', (size_t)(r->end - start));
    if (!cr) cr = r->end;
    *len = (size_t)(cr - start);
    r->p = cr + 2 <= r->end ? cr + 2 : r->end;
    return start;
}

static long long line_ll(const char *p, size_t len) {
    long long v = 0;
    if (str_to_ll(p, len, &v) < 0) v = 0;
    return v;
}

static void check_stack(lua_State *L, int n) {
    if (!lua_checkstack(L, n)) luaL_error(L, "reached lua stack limit");
}

static void push_reply(lua_State *L, rparse *r);

/* Skips one reply (an attribute's keys and values are not shown to scripts). */
static void skip_reply(lua_State *L, rparse *r) {
    int top = lua_gettop(L);
    push_reply(L, r);
    lua_settop(L, top);
}

static void push_aggregate(lua_State *L, rparse *r, char type, long long n) {
    check_stack(L, 4);
    if (type == '*' || type == '>') {
        lua_createtable(L, n > 0 && n < 1024 ? (int)n : 0, 0);
        for (long long j = 0; j < n && r->p < r->end; j++) {
            lua_pushnumber(L, (lua_Number)(j + 1));
            push_reply(L, r);
            lua_settable(L, -3);
        }
        return;
    }
    lua_newtable(L);
    lua_pushstring(L, type == '%' ? "map" : "set");
    lua_newtable(L);
    for (long long j = 0; j < n && r->p < r->end; j++) {
        push_reply(L, r);
        if (type == '%')
            push_reply(L, r);
        else
            lua_pushboolean(L, 1);
        lua_settable(L, -3);
    }
    lua_settable(L, -3);
}

static void push_reply(lua_State *L, rparse *r) {
    check_stack(L, 5);
    if (r->p >= r->end) {
        lua_pushnil(L);
        return;
    }
    char type = *r->p;
    size_t len;
    const char *line = take_line(r, &len);
    switch (type) {
    case ':':
        lua_pushnumber(L, (lua_Number)line_ll(line, len));
        return;
    case '$': {
        long long n = line_ll(line, len);
        if (n < 0 || n > r->end - r->p) {
            lua_pushboolean(L, 0);
            return;
        }
        lua_pushlstring(L, r->p, (size_t)n);
        r->p += n + 2 <= r->end - r->p ? n + 2 : r->end - r->p;
        return;
    }
    case '+':
        lua_newtable(L);
        lua_pushlstring(L, line, len);
        lua_setfield(L, -2, "ok");
        return;
    case '-':
        luaapi_push_error(L, line - 1, len + 1);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ignore_error_stats_update");
        return;
    case '_':
        lua_pushnil(L);
        return;
    case '#':
        lua_pushboolean(L, len > 0 && line[0] == 't');
        return;
    case ',': {
        char tmp[64];
        size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
        memcpy(tmp, line, n);
        tmp[n] = '\0';
        lua_newtable(L);
        lua_pushnumber(L, strtod(tmp, NULL));
        lua_setfield(L, -2, "double");
        return;
    }
    case '(':
        lua_newtable(L);
        lua_pushlstring(L, line, len);
        lua_setfield(L, -2, "big_number");
        return;
    case '=': {
        long long n = line_ll(line, len);
        if (n < 4 || n > r->end - r->p) {
            lua_pushboolean(L, 0);
            return;
        }
        lua_newtable(L);
        lua_newtable(L);
        lua_pushlstring(L, r->p + 4, (size_t)n - 4);
        lua_setfield(L, -2, "string");
        lua_pushlstring(L, r->p, 3);
        lua_setfield(L, -2, "format");
        lua_setfield(L, -2, "verbatim_string");
        r->p += n + 2 <= r->end - r->p ? n + 2 : r->end - r->p;
        return;
    }
    case '*':
    case '>':
    case '%':
    case '~': {
        long long n = line_ll(line, len);
        if (n < 0) {
            lua_pushboolean(L, 0); /* *-1: a null array */
            return;
        }
        push_aggregate(L, r, type, n);
        return;
    }
    case '|': {
        long long n = line_ll(line, len);
        for (long long j = 0; j < 2 * n && r->p < r->end; j++)
            skip_reply(L, r);
        push_reply(L, r);
        return;
    }
    default:
        lua_pushnil(L);
    }
}

void luareply_to_lua(lua_State *L, const char *p, size_t len) {
    rparse r = {p, p + len};
    push_reply(L, &r);
}

/* ---- Lua -> reply ---- */

/* Lua numbers are doubles; Redis casts them to long long. Out of range (and NaN) the x86
 * conversion gives LLONG_MIN, which is what Redis answers there. */
static long long number_to_ll(lua_Number d) {
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return LLONG_MIN;
    return (long long)d;
}

/* Redis trims CR/LF at both ends of an error and turns the inner ones into spaces. */
static void reply_lua_error(cmd_ctx *c, const char *msg, size_t len, int nostats) {
    while (len && (msg[0] == '\r' || msg[0] == '\n')) {
        msg++;
        len--;
    }
    while (len && (msg[len - 1] == '\r' || msg[len - 1] == '\n'))
        len--;
    if (nostats) {
        script_reply_error_nostats(c, msg, len);
        return;
    }
    char *text = mem_strndup(msg, len);
    reply_error(c, text); /* stops at a NUL, as Redis's formatted error */
    mem_free(text);
}

/* If the table at -1 has a field `name` of type `type`, pushes it and returns 1. */
static int field_of(lua_State *L, const char *name, int type) {
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == type) return 1;
    lua_pop(L, 1);
    return 0;
}

static void table_to_reply(cmd_ctx *c, lua_State *L, int script_proto);

void luareply_from_lua(cmd_ctx *c, lua_State *L, int script_proto) {
    if (!lua_checkstack(L, 4)) {
        reply_error(c, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        reply_bulk(c, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        if (script_proto == 2) {
            if (lua_toboolean(L, -1))
                reply_int(c, 1);
            else
                reply_null(c);
        } else {
            reply_bool(c, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER:
        reply_int(c, number_to_ll(lua_tonumber(L, -1)));
        break;
    case LUA_TTABLE:
        table_to_reply(c, L, script_proto);
        break;
    default:
        reply_null(c);
    }
    lua_pop(L, 1);
}

/* The verbatim table is on top: writes it and returns 1, or returns 0 if it lacks a format
 * or string (Redis then tries the other shapes). Leaves the stack as it found it. */
static int verbatim_to_reply(cmd_ctx *c, lua_State *L) {
    if (!field_of(L, "format", LUA_TSTRING)) return 0;
    lua_pushstring(L, "string");
    lua_rawget(L, -3);
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 2);
        return 0;
    }
    size_t len, flen;
    const char *s = lua_tolstring(L, -1, &len);
    const char *f = lua_tolstring(L, -2, &flen);
    char fmt[3] = {' ', ' ', ' '};
    for (size_t i = 0; i < 3 && i < flen && f[i]; i++)
        fmt[i] = f[i];
    resp_w_verbatim(c->out, c->proto, fmt, s, len);
    lua_pop(L, 2);
    return 1;
}

/* A copy of p[0..len) with CR and LF turned into spaces (owned by the caller). */
static char *spaced_copy(const char *p, size_t len) {
    char *t = mem_alloc(len + 1);
    for (size_t i = 0; i < len; i++)
        t[i] = (p[i] == '\r' || p[i] == '\n') ? ' ' : p[i];
    t[len] = '\0';
    return t;
}

static void table_to_reply(cmd_ctx *c, lua_State *L, int script_proto) {
    if (field_of(L, "err", LUA_TSTRING)) {
        size_t len;
        const char *msg = lua_tolstring(L, -1, &len);
        lua_getfield(L, -2, "ignore_error_stats_update");
        int nostats = lua_toboolean(L, -1);
        reply_lua_error(c, msg, len, nostats);
        lua_pop(L, 2);
        return;
    }
    if (field_of(L, "ok", LUA_TSTRING)) {
        resp_w_simple(c->out, lua_tostring(L, -1)); /* cut at a NUL, CR/LF become spaces */
        lua_pop(L, 1);
        return;
    }
    if (field_of(L, "double", LUA_TNUMBER)) {
        char text[40];
        size_t n = luareply_fmt_double(text, lua_tonumber(L, -1));
        if (c->proto == 3) {
            buf_putc(c->out, ',');
            buf_append(c->out, text, n);
            buf_append(c->out, "\r\n", 2);
        } else {
            resp_w_bulk(c->out, text, n);
        }
        lua_pop(L, 1);
        return;
    }
    if (field_of(L, "big_number", LUA_TSTRING)) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        char *num = spaced_copy(s, len);
        if (c->proto == 3) {
            buf_putc(c->out, '(');
            buf_append(c->out, num, len);
            buf_append(c->out, "\r\n", 2);
        } else {
            resp_w_bulk(c->out, num, len);
        }
        mem_free(num);
        lua_pop(L, 1);
        return;
    }
    if (field_of(L, "verbatim_string", LUA_TTABLE)) {
        int wrote = verbatim_to_reply(c, L);
        lua_pop(L, 1);
        if (wrote) return;
    }
    if (field_of(L, "map", LUA_TTABLE)) {
        size_t mark = reply_defer(c), n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            luareply_from_lua(c, L, script_proto); /* the key */
            luareply_from_lua(c, L, script_proto); /* the value */
            n++;
        }
        reply_defer_map(c, mark, n);
        lua_pop(L, 1);
        return;
    }
    if (field_of(L, "set", LUA_TTABLE)) {
        size_t mark = reply_defer(c), n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            luareply_from_lua(c, L, script_proto);
            n++;
        }
        resp_w_defer_set(c->out, mark, c->proto == 3 ? '~' : '*', n);
        lua_pop(L, 1);
        return;
    }
    size_t mark = reply_defer(c), n = 0;
    for (int j = 1;; j++) {
        lua_pushnumber(L, j);
        lua_rawget(L, -2);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        luareply_from_lua(c, L, script_proto);
        n++;
    }
    reply_defer_array(c, mark, n);
}
