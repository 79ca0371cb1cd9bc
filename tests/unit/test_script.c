/* Unit tests for src/script/ without a server: number formatting, reply <-> Lua
 * conversions, the sandbox's read-only proxies and text-only loading, and the struct,
 * cmsgpack and bit modules (round trips and Redis's byte layouts). */
#include "mayfly/cmd/cmd.h"
#include "mayfly/db/db.h"
#include "mayfly/util/buf.h"
#include "script/script_int.h"
#include "unit/test.h"

#include <lauxlib.h>
#include <string.h>

static char *fmt(double d) {
    static char out[64];
    size_t n = luareply_fmt_double(out, d);
    out[n] = '\0';
    return out;
}

TEST(doubles_as_redis_prints_them) {
    ASSERT_STR_EQ("0", fmt(0.0));
    ASSERT_STR_EQ("-0", fmt(-0.0));
    ASSERT_STR_EQ("3", fmt(3.0));
    ASSERT_STR_EQ("-7", fmt(-7.0));
    ASSERT_STR_EQ("0.1", fmt(0.1));
    ASSERT_STR_EQ("3.5", fmt(3.5));
    ASSERT_STR_EQ("0.3333333333333333", fmt(1.0 / 3));
    ASSERT_STR_EQ("1e+300", fmt(1e300));
    ASSERT_STR_EQ("1.5e-7", fmt(1.5e-7));
    ASSERT_STR_EQ("0.000001", fmt(1e-6));
    ASSERT_STR_EQ("1e+100", fmt(1e100));
    ASSERT_STR_EQ("123456789012345680", fmt(123456789012345678.0));
    ASSERT_STR_EQ("1152921504606846976", fmt(1152921504606846976.0));
    ASSERT_STR_EQ("inf", fmt(1.0 / 0.0));
    ASSERT_STR_EQ("-inf", fmt(-1.0 / 0.0));
    ASSERT_STR_EQ("nan", fmt(0.0 / 0.0));
    ASSERT_STR_EQ("1.2345e+20", fmt(1.2345e20));
    ASSERT_STR_EQ("-2.5e-10", fmt(-2.5e-10));
}

/* Runs chunk in a fresh EVAL interpreter; returns its first result as a string ("" on a
 * non-string) or the error message. */
static const char *run(lua_State *L, const char *chunk) {
    static char out[512];
    char err[256];
    if (luaenv_compile(L, chunk, strlen(chunk), "@user_script", err, sizeof(err)) < 0) {
        snprintf(out, sizeof(out), "compile: %s", err);
        return out;
    }
    if (lua_pcall(L, 0, 1, 0)) {
        if (lua_istable(L, -1)) lua_getfield(L, -1, "err");
        snprintf(out, sizeof(out), "error: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        return out;
    }
    size_t n = 0;
    const char *s = lua_isstring(L, -1) ? lua_tolstring(L, -1, &n) : "";
    if (n >= sizeof(out)) n = sizeof(out) - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    lua_settop(L, 0);
    return out;
}

TEST(sandbox) {
    lua_State *L = luaenv_new(LUAENV_EVAL);
    ASSERT_STR_EQ("error: user_script:1: Attempt to modify a readonly table", run(L, "x = 1"));
    ASSERT_STR_EQ("error: user_script:1: Script attempted to access nonexistent global variable "
                  "'nope'",
                  run(L, "return nope"));
    ASSERT_STR_EQ("error: Attempt to modify a readonly table", run(L, "rawset(string, 'x', 1)"));
    ASSERT_STR_EQ("error: Attempt to modify a readonly table", run(L, "setmetatable(_G, nil)"));
    ASSERT_STR_EQ("error: Attempt to modify a readonly table", run(L, "table.insert(math, 1)"));
    ASSERT_STR_EQ("error: user_script:1: Attempt to modify a readonly table",
                  run(L, "getmetatable('').__index = {}"));
    ASSERT_STR_EQ("function", run(L, "return type(rawget(string, 'format'))"));
    ASSERT_STR_EQ("ABC", run(L, "return ('abc'):upper()"));
    ASSERT_STR_EQ("12", run(L, "local n = 0 for _ in pairs(bit) do n = n + 1 end return n .. ''"));
    ASSERT_STR_EQ("nil", run(L, "return tostring(getmetatable(string))"));
    /* A precompiled chunk is parsed as text, so it never loads. */
    ASSERT_STR_EQ("nil", run(L, "return tostring(loadstring(string.dump(function() end)))"));
    char err[256];
    ASSERT(luaenv_compile(L, "\x1bLuaQ\x00", 6, "@user_script", err, sizeof(err)) < 0);
    ASSERT(strstr(err, "unexpected symbol") != NULL);
    luaenv_free(L);
}

TEST(functions_loading_api) {
    lua_State *L = luaenv_new(LUAENV_FUNCTIONS);
    luaenv_set_loading(L, 1);
    ASSERT_STR_EQ("error: user_script:1: Script attempted to access nonexistent global variable "
                  "'math'",
                  run(L, "return math.pi"));
    ASSERT_STR_EQ("error: user_script:1: Script attempted to access nonexistent global variable "
                  "'call'",
                  run(L, "return redis.call"));
    ASSERT_STR_EQ("8.0.0", run(L, "return redis.REDIS_VERSION"));
    luaenv_set_loading(L, 0);
    ASSERT_STR_EQ("3", run(L, "return math.floor(3.5) .. ''"));
    luaenv_free(L);
}

TEST(modules) {
    lua_State *L = luaenv_new(LUAENV_EVAL);
    ASSERT_STR_EQ("0000FFFF", run(L, "return bit.tohex(65535, -2147483648)"));
    ASSERT_STR_EQ("-2147483648 8 -16", run(L, "return bit.lshift(1, 31) .. ' ' .. "
                                              "bit.band(12, 10) .. ' ' .. bit.arshift(-256, 4)"));
    ASSERT_STR_EQ("\x01\x02", run(L, "return struct.pack('>I2', 258)"));
    ASSERT_STR_EQ("258 3",
                  run(L, "local v, n = struct.unpack('<I2', '\\2\\1') return v .. ' ' .. n"));
    ASSERT_STR_EQ("-2", run(L, "return struct.unpack('>i16', struct.pack('>i16', -2)) .. ''"));
    ASSERT_STR_EQ("ok", run(L, "local s = cmsgpack.pack({1, 'a', {k = 2.5}, true}) "
                               "local t = cmsgpack.unpack(s) "
                               "return (t[1] == 1 and t[2] == 'a' and t[3].k == 2.5 and t[4]) "
                               "and 'ok' or 'bad'"));
    ASSERT_STR_EQ("\xcc\xc8\xd1\xff\x38\xca\x3f\xc0\x00\x00\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a",
                  run(L, "return cmsgpack.pack(200, -200, 1.5, 0.1)"));
    ASSERT_STR_EQ("error: user_script:1: Missing bytes in input.",
                  run(L, "return cmsgpack.unpack('\\205')"));
    ASSERT_STR_EQ("[1,2]", run(L, "return cjson.encode({1, 2})"));
    luaenv_free(L);
}

/* Parses a reply into Lua and writes it back for a client of protocol proto. */
static const char *round_trip(lua_State *L, const char *reply, int proto, int script_proto) {
    static char out[512];
    buf b;
    buf_init(&b);
    cmd_ctx c = {.out = &b, .proto = proto};
    luareply_to_lua(L, reply, strlen(reply));
    if (lua_istable(L, -1)) {
        /* An error table from a command is written back without counting it again. */
        lua_pushnil(L);
        lua_setfield(L, -2, "ignore_error_stats_update");
    }
    luareply_from_lua(&c, L, script_proto);
    size_t n = b.len < sizeof(out) - 1 ? b.len : sizeof(out) - 1;
    memcpy(out, b.data ? b.data : "", n);
    out[n] = '\0';
    buf_deinit(&b);
    return out;
}

TEST(conversions) {
    db_init_all(1); /* reply_error counts statistics in cmd/, which needs nothing else */
    lua_State *L = luaenv_new(LUAENV_EVAL);
    ASSERT_STR_EQ(":12\r\n", round_trip(L, ":12\r\n", 2, 2));
    ASSERT_STR_EQ("$3\r\nabc\r\n", round_trip(L, "$3\r\nabc\r\n", 2, 2));
    ASSERT_STR_EQ("$-1\r\n", round_trip(L, "$-1\r\n", 2, 2)); /* nil -> false -> nil */
    ASSERT_STR_EQ("_\r\n", round_trip(L, "$-1\r\n", 3, 2));   /* RESP3 client */
    ASSERT_STR_EQ("#f\r\n", round_trip(L, "$-1\r\n", 3, 3));  /* script in RESP3 */
    ASSERT_STR_EQ(":0\r\n", round_trip(L, "#f\r\n", 2, 3));
    ASSERT_STR_EQ("+OK\r\n", round_trip(L, "+OK\r\n", 2, 2));
    ASSERT_STR_EQ("-ERR bad\r\n", round_trip(L, "-ERR bad\r\n", 2, 2));
    ASSERT_STR_EQ("-ERR NOPE\r\n", round_trip(L, "-NOPE\r\n", 2, 2));
    ASSERT_STR_EQ("*2\r\n:1\r\n$1\r\nx\r\n", round_trip(L, "*2\r\n:1\r\n$1\r\nx\r\n", 2, 2));
    ASSERT_STR_EQ("*1\r\n:1\r\n", round_trip(L, "*3\r\n:1\r\n_\r\n:3\r\n", 2, 2)); /* cut at nil */
    ASSERT_STR_EQ("%1\r\n$1\r\na\r\n:1\r\n", round_trip(L, "%1\r\n$1\r\na\r\n:1\r\n", 3, 3));
    ASSERT_STR_EQ("*2\r\n$1\r\na\r\n:1\r\n", round_trip(L, "%1\r\n$1\r\na\r\n:1\r\n", 2, 3));
    ASSERT_STR_EQ("~1\r\n$1\r\na\r\n", round_trip(L, "~1\r\n$1\r\na\r\n", 3, 3));
    ASSERT_STR_EQ(",1.5\r\n", round_trip(L, ",1.5\r\n", 3, 3));
    ASSERT_STR_EQ("$3\r\n1.5\r\n", round_trip(L, ",1.5\r\n", 2, 3));
    ASSERT_STR_EQ("(123\r\n", round_trip(L, "(123\r\n", 3, 3));
    ASSERT_STR_EQ("=7\r\ntxt:abc\r\n", round_trip(L, "=7\r\ntxt:abc\r\n", 3, 3));
    ASSERT_STR_EQ("$3\r\nabc\r\n", round_trip(L, "=7\r\ntxt:abc\r\n", 2, 3));
    ASSERT_STR_EQ(":5\r\n", round_trip(L, "|1\r\n$1\r\nk\r\n$1\r\nv\r\n:5\r\n", 3, 3));
    luaenv_free(L);
    db_free_all();
}

TEST(shebang) {
    int flags;
    size_t skip;
    char err[256];
    ASSERT_EQ(0, script_shebang_flags("return 1", 8, &flags, &skip, err, sizeof(err)));
    ASSERT_EQ(SFLAG_EVAL_COMPAT, flags);
    const char *s = "#!lua flags=no-writes,allow-oom\nreturn 1";
    ASSERT_EQ(0, script_shebang_flags(s, strlen(s), &flags, &skip, err, sizeof(err)));
    ASSERT_EQ(SFLAG_NO_WRITES | SFLAG_ALLOW_OOM, flags);
    ASSERT_EQ(31, (long long)skip);
    s = "#!lua 'flags=no-cluster'\n";
    ASSERT_EQ(0, script_shebang_flags(s, strlen(s), &flags, &skip, err, sizeof(err)));
    ASSERT_EQ(SFLAG_NO_CLUSTER, flags);
    s = "#!lua flags=x\n";
    ASSERT_EQ(-1, script_shebang_flags(s, strlen(s), &flags, &skip, err, sizeof(err)));
    ASSERT_STR_EQ("ERR Unexpected flag in script shebang: x", err);
    s = "#!lua \"open\n";
    ASSERT_EQ(-1, script_shebang_flags(s, strlen(s), &flags, &skip, err, sizeof(err)));
    ASSERT_STR_EQ("ERR Invalid engine in script shebang", err);
    s = "#!lua";
    ASSERT_EQ(-1, script_shebang_flags(s, strlen(s), &flags, &skip, err, sizeof(err)));
    ASSERT_STR_EQ("ERR Invalid script shebang", err);
}

TEST(rand48_matches_redis) {
    /* The first values of Redis's redisLrand48 from its fixed initial state. */
    int32_t a = luaapi_rand48();
    int32_t b = luaapi_rand48();
    ASSERT(a >= 0 && b >= 0 && a != b);
    /* x = 0x5DEECE66D * 0x1234ABCD330E + 0xB mod 2^48, top 31 bits. */
    unsigned long long x = 0x1234ABCD330EULL;
    x = (0x5DEECE66DULL * x + 0xB) & 0xFFFFFFFFFFFFULL;
    ASSERT_EQ((long long)(x >> 17), a);
    x = (0x5DEECE66DULL * x + 0xB) & 0xFFFFFFFFFFFFULL;
    ASSERT_EQ((long long)(x >> 17), b);
}

int main(void) {
    RUN(doubles_as_redis_prints_them);
    RUN(sandbox);
    RUN(functions_loading_api);
    RUN(modules);
    RUN(conversions);
    RUN(shebang);
    RUN(rand48_matches_redis);
    return test_report();
}
