/* lua_cmsgpack: the `cmsgpack` module Redis scripts can use: MessagePack encoding of Lua
 * values, with the choices of the lua-cmsgpack 0.4 that Redis ships, so that packed bytes
 * are the same:
 *
 *   numbers   whole numbers (as int64) in the smallest integer form; others as a float
 *             (0xca) when a float holds them exactly, else a double (0xcb)
 *   strings   fixraw / str8 (0xd9) / raw16 / raw32
 *   tables    an array when the keys are exactly 1..n, else a map; nesting deeper than 16
 *             is written as nil (so cycles terminate)
 *   other     nil (0xc0)
 *
 * cmsgpack.pack(v1, v2, ...) concatenates the encodings; unpack(s) returns every value;
 * unpack_one(s [, offset]) and unpack_limit(s, limit [, offset]) return the next offset
 * (-1 at the end) before the values. A uint64 above 2^63 decodes negative, as there. */
#include "mayfly/util/buf.h"
#include "script/script_int.h"

#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_NESTING 16

/* ---- encoding ---- */

/* The output buffer lives in a userdata, so that an error raised mid-encoding (a Lua error
 * in an __index, a full stack) frees it with the garbage. */
static int outbuf_gc(lua_State *L) {
    buf *b = lua_touserdata(L, 1);
    buf_deinit(b);
    return 0;
}

static buf *push_outbuf(lua_State *L) {
    buf *b = lua_newuserdata(L, sizeof(buf));
    buf_init(b);
    if (luaL_newmetatable(L, "mayfly.cmsgpack.buf")) {
        lua_pushcfunction(L, outbuf_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return b;
}

static void put_be(buf *b, uint64_t v, int bytes) {
    unsigned char t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    buf_append(b, t, (size_t)bytes);
}

static void put_head(buf *b, unsigned char tag, uint64_t v, int bytes) {
    buf_putc(b, (char)tag);
    put_be(b, v, bytes);
}

static void encode_int(buf *b, int64_t n) {
    if (n >= 0) {
        if (n <= 127)
            buf_putc(b, (char)(n & 0x7f));
        else if (n <= 0xff)
            put_head(b, 0xcc, (uint64_t)n, 1);
        else if (n <= 0xffff)
            put_head(b, 0xcd, (uint64_t)n, 2);
        else if (n <= 0xffffffffLL)
            put_head(b, 0xce, (uint64_t)n, 4);
        else
            put_head(b, 0xcf, (uint64_t)n, 8);
    } else {
        if (n >= -32)
            buf_putc(b, (char)(signed char)n);
        else if (n >= -128)
            put_head(b, 0xd0, (uint64_t)n, 1);
        else if (n >= -32768)
            put_head(b, 0xd1, (uint64_t)n, 2);
        else if (n >= -2147483648LL)
            put_head(b, 0xd2, (uint64_t)n, 4);
        else
            put_head(b, 0xd3, (uint64_t)n, 8);
    }
}

static void encode_double(buf *b, double d) {
    float f = (float)d;
    if (d == (double)f) {
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_head(b, 0xca, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        put_head(b, 0xcb, bits, 8);
    }
}

static int is_int64(lua_Number n) {
    return n >= -9223372036854775808.0 && n < 9223372036854775808.0 && (lua_Number)(int64_t)n == n;
}

static void encode_string(buf *b, const char *s, size_t len) {
    if (len < 32)
        buf_putc(b, (char)(0xa0 | len));
    else if (len <= 0xff)
        put_head(b, 0xd9, len, 1);
    else if (len <= 0xffff)
        put_head(b, 0xda, len, 2);
    else
        put_head(b, 0xdb, len, 4);
    buf_append(b, s, len);
}

static void encode_value(lua_State *L, buf *b, int level);

/* Keys exactly 1..n (whole numbers that fit an int, no holes). */
static int table_is_array(lua_State *L) {
    int top = lua_gettop(L);
    long long count = 0, max = 0;
    luaL_checkstack(L, 2, "in function table_is_an_array");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_Number n;
        if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 ||
            !(n >= INT_MIN && n <= INT_MAX && (lua_Number)(int)n == n)) {
            lua_settop(L, top);
            return 0;
        }
        if ((long long)n > max) max = (long long)n;
        count++;
    }
    lua_settop(L, top);
    return max == count;
}

static void encode_table(lua_State *L, buf *b, int level) {
    if (table_is_array(L)) {
        size_t len = lua_objlen(L, -1);
        if (len <= 15)
            buf_putc(b, (char)(0x90 | len));
        else if (len <= 0xffff)
            put_head(b, 0xdc, len, 2);
        else
            put_head(b, 0xdd, len, 4);
        luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
        for (size_t j = 1; j <= len; j++) {
            lua_pushnumber(L, (lua_Number)j);
            lua_gettable(L, -2);
            encode_value(L, b, level + 1);
        }
        return;
    }
    size_t len = 0;
    luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        len++;
    }
    if (len <= 15)
        buf_putc(b, (char)(0x80 | len));
    else if (len <= 0xffff)
        put_head(b, 0xde, len, 2);
    else
        put_head(b, 0xdf, len, 4);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        encode_value(L, b, level + 1); /* the key */
        encode_value(L, b, level + 1); /* the value */
    }
}

/* Encodes the value on top of the stack and pops it. */
static void encode_value(lua_State *L, buf *b, int level) {
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE && level == MAX_NESTING) t = LUA_TNIL;
    switch (t) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        encode_string(b, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        buf_putc(b, (char)(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
        break;
    case LUA_TNUMBER: {
        lua_Number n = lua_tonumber(L, -1);
        if (!isinf(n) && is_int64(n))
            encode_int(b, (int64_t)lua_tointeger(L, -1));
        else
            encode_double(b, (double)n);
        break;
    }
    case LUA_TTABLE:
        encode_table(L, b, level);
        break;
    default:
        buf_putc(b, (char)0xc0);
    }
    lua_pop(L, 1);
}

static int mp_pack(lua_State *L) {
    int nargs = lua_gettop(L);
    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    if (!lua_checkstack(L, nargs + 4))
        return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
    buf *b = push_outbuf(L);
    int slot = lua_gettop(L);
    for (int i = 1; i <= nargs; i++) {
        lua_pushvalue(L, i);
        encode_value(L, b, 0);
    }
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    buf_deinit(b);
    lua_remove(L, slot);
    return 1;
}

/* ---- decoding ---- */

enum { CUR_OK, CUR_EOF, CUR_BADFMT };

typedef struct cursor {
    const unsigned char *p;
    size_t left;
    int err;
} cursor;

static int need(cursor *c, size_t n) {
    if (c->left >= n) return 1;
    c->err = CUR_EOF;
    return 0;
}

static void consume(cursor *c, size_t n) {
    c->p += n;
    c->left -= n;
}

static uint64_t get_be(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

static void decode_value(lua_State *L, cursor *c);

static void decode_array(lua_State *L, cursor *c, size_t len) {
    lua_newtable(L);
    luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
    for (size_t i = 1; i <= len; i++) {
        lua_pushnumber(L, (lua_Number)i);
        decode_value(L, c);
        if (c->err) return;
        lua_settable(L, -3);
    }
}

static void decode_map(lua_State *L, cursor *c, size_t len) {
    lua_newtable(L);
    while (len--) {
        decode_value(L, c);
        if (c->err) return;
        decode_value(L, c);
        if (c->err) return;
        lua_settable(L, -3);
    }
}

/* A sized item (tag, then a big-endian length of `bytes`, then len payload bytes). */
static int sized(cursor *c, int bytes, size_t *len) {
    if (!need(c, 1 + (size_t)bytes)) return 0;
    *len = (size_t)get_be(c->p + 1, bytes);
    return 1;
}

static void decode_string(lua_State *L, cursor *c, int bytes) {
    size_t len;
    if (!sized(c, bytes, &len) || !need(c, 1 + (size_t)bytes + len)) return;
    lua_pushlstring(L, (const char *)c->p + 1 + bytes, len);
    consume(c, 1 + (size_t)bytes + len);
}

static void decode_fixed(lua_State *L, cursor *c, unsigned char tag) {
    switch (tag) {
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: { /* uint 8..64; a uint64 past 2^63 wraps as a Lua integer does there */
        int bytes = 1 << (tag - 0xcc);
        if (!need(c, 1 + (size_t)bytes)) return;
        uint64_t v = get_be(c->p + 1, bytes);
        lua_pushnumber(L, (lua_Number)(int64_t)v);
        consume(c, 1 + (size_t)bytes);
        return;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: { /* int 8..64 */
        int bytes = 1 << (tag - 0xd0);
        if (!need(c, 1 + (size_t)bytes)) return;
        uint64_t v = get_be(c->p + 1, bytes);
        int64_t s = bytes == 1   ? (int8_t)v
                    : bytes == 2 ? (int16_t)v
                    : bytes == 4 ? (int32_t)(uint32_t)v
                                 : (int64_t)v;
        lua_pushnumber(L, (lua_Number)s);
        consume(c, 1 + (size_t)bytes);
        return;
    }
    case 0xca: {
        if (!need(c, 5)) return;
        uint32_t bits = (uint32_t)get_be(c->p + 1, 4);
        float f;
        memcpy(&f, &bits, 4);
        lua_pushnumber(L, f);
        consume(c, 5);
        return;
    }
    case 0xcb: {
        if (!need(c, 9)) return;
        uint64_t bits = get_be(c->p + 1, 8);
        double d;
        memcpy(&d, &bits, 8);
        lua_pushnumber(L, d);
        consume(c, 9);
        return;
    }
    default:
        c->err = CUR_BADFMT;
    }
}

static void decode_value(lua_State *L, cursor *c) {
    if (!need(c, 1)) return;
    luaL_checkstack(L, 1,
                    "too many return values at once; use unpack_one or unpack_limit instead.");
    unsigned char tag = c->p[0];
    size_t len;
    switch (tag) {
    case 0xc0:
        lua_pushnil(L);
        consume(c, 1);
        return;
    case 0xc3:
    case 0xc2:
        lua_pushboolean(L, tag == 0xc3);
        consume(c, 1);
        return;
    case 0xd9:
        decode_string(L, c, 1);
        return;
    case 0xda:
        decode_string(L, c, 2);
        return;
    case 0xdb:
        decode_string(L, c, 4);
        return;
    case 0xdc:
    case 0xdd: {
        int bytes = tag == 0xdc ? 2 : 4;
        if (!sized(c, bytes, &len)) return;
        consume(c, 1 + (size_t)bytes);
        decode_array(L, c, len);
        return;
    }
    case 0xde:
    case 0xdf: {
        int bytes = tag == 0xde ? 2 : 4;
        if (!sized(c, bytes, &len)) return;
        consume(c, 1 + (size_t)bytes);
        decode_map(L, c, len);
        return;
    }
    default:
        break;
    }
    if ((tag & 0x80) == 0) { /* positive fixnum */
        lua_pushnumber(L, tag);
        consume(c, 1);
    } else if ((tag & 0xe0) == 0xe0) { /* negative fixnum */
        lua_pushnumber(L, (signed char)tag);
        consume(c, 1);
    } else if ((tag & 0xe0) == 0xa0) { /* fixraw */
        len = tag & 0x1f;
        if (!need(c, 1 + len)) return;
        lua_pushlstring(L, (const char *)c->p + 1, len);
        consume(c, 1 + len);
    } else if ((tag & 0xf0) == 0x90) {
        consume(c, 1);
        decode_array(L, c, tag & 0xf);
    } else if ((tag & 0xf0) == 0x80) {
        consume(c, 1);
        decode_map(L, c, tag & 0xf);
    } else {
        decode_fixed(L, c, tag);
    }
}

static int unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int all = !limit && !offset;
    /* The message prints the input length where it says limit, as lua-cmsgpack does. */
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
                          (int)len);
    if (all) limit = INT_MAX;
    cursor c = {(const unsigned char *)s + offset, len - (size_t)offset, CUR_OK};
    int count = 0;
    for (; c.left > 0 && count < limit; count++) {
        decode_value(L, &c);
        if (c.err == CUR_EOF) return luaL_error(L, "Missing bytes in input.");
        if (c.err == CUR_BADFMT) return luaL_error(L, "Bad data format in input.");
    }
    if (!all) {
        luaL_checkstack(L, 1, "in function mp_unpack_full");
        lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
        lua_insert(L, 2);
        count++;
    }
    return count;
}

static int mp_unpack(lua_State *L) {
    return unpack_full(L, 0, 0);
}

static int mp_unpack_one(lua_State *L) {
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    lua_settop(L, 1);
    return unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L) {
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return unpack_full(L, limit, offset);
}

int luaopen_cmsgpack(lua_State *L) {
    lua_newtable(L);
    lua_pushcfunction(L, mp_pack);
    lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, mp_unpack);
    lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, mp_unpack_one);
    lua_setfield(L, -2, "unpack_one");
    lua_pushcfunction(L, mp_unpack_limit);
    lua_setfield(L, -2, "unpack_limit");
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
