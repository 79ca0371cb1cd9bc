/* lua_bit: the `bit` module Redis scripts can use: 32-bit operations on Lua numbers, with
 * the semantics of Lua BitOp 1.0.2 (which Redis ships): every argument is taken modulo
 * 2^32 after rounding (the 2^52+2^51 addition trick), results are signed 32-bit numbers.
 *
 * Debian packages Lua BitOp 1.0.2 too, but unpatched: bit.tohex(x, -2^31) writes far past
 * its buffer there (negating INT32_MIN). Redis fixed its copy; this one clamps the same
 * way, so the module is ours. */
#include "script/script_int.h"

#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

typedef int32_t sbits;
typedef uint32_t ubits;

static ubits bit_arg(lua_State *L, int idx) {
    lua_Number n = lua_tonumber(L, idx) + 6755399441055744.0; /* 2^52 + 2^51 */
    uint64_t raw;
    memcpy(&raw, &n, sizeof(raw));
    ubits b = (ubits)raw;
    if (b == 0 && !lua_isnumber(L, idx)) luaL_typerror(L, idx, "number");
    return b;
}

static int bit_ret(lua_State *L, ubits b) {
    lua_pushnumber(L, (lua_Number)(sbits)b);
    return 1;
}

static int bit_tobit(lua_State *L) {
    return bit_ret(L, bit_arg(L, 1));
}

static int bit_bnot(lua_State *L) {
    return bit_ret(L, ~bit_arg(L, 1));
}

static int bit_band(lua_State *L) {
    ubits b = bit_arg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--)
        b &= bit_arg(L, i);
    return bit_ret(L, b);
}

static int bit_bor(lua_State *L) {
    ubits b = bit_arg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--)
        b |= bit_arg(L, i);
    return bit_ret(L, b);
}

static int bit_bxor(lua_State *L) {
    ubits b = bit_arg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--)
        b ^= bit_arg(L, i);
    return bit_ret(L, b);
}

static int bit_lshift(lua_State *L) {
    ubits b = bit_arg(L, 1), n = bit_arg(L, 2) & 31;
    return bit_ret(L, b << n);
}

static int bit_rshift(lua_State *L) {
    ubits b = bit_arg(L, 1), n = bit_arg(L, 2) & 31;
    return bit_ret(L, b >> n);
}

static int bit_arshift(lua_State *L) {
    ubits b = bit_arg(L, 1), n = bit_arg(L, 2) & 31;
    /* Arithmetic shift without relying on the implementation's signed >>. */
    ubits r = b >> n;
    if (n && (b & 0x80000000u)) r |= ~(~0u >> n);
    return bit_ret(L, r);
}

static int bit_rol(lua_State *L) {
    ubits b = bit_arg(L, 1), n = bit_arg(L, 2) & 31;
    return bit_ret(L, n ? (b << n) | (b >> (32 - n)) : b);
}

static int bit_ror(lua_State *L) {
    ubits b = bit_arg(L, 1), n = bit_arg(L, 2) & 31;
    return bit_ret(L, n ? (b >> n) | (b << (32 - n)) : b);
}

static int bit_bswap(lua_State *L) {
    ubits b = bit_arg(L, 1);
    b = (b >> 24) | ((b >> 8) & 0xff00u) | ((b & 0xff00u) << 8) | (b << 24);
    return bit_ret(L, b);
}

static int bit_tohex(lua_State *L) {
    ubits b = bit_arg(L, 1);
    sbits n = lua_isnone(L, 2) ? 8 : (sbits)bit_arg(L, 2);
    const char *digits = "0123456789abcdef";
    char out[8];
    if (n == INT32_MIN) n = INT32_MIN + 1;
    if (n < 0) {
        n = -n;
        digits = "0123456789ABCDEF";
    }
    if (n > 8) n = 8;
    for (int i = (int)n; --i >= 0;) {
        out[i] = digits[b & 15];
        b >>= 4;
    }
    lua_pushlstring(L, out, (size_t)n);
    return 1;
}

int luaopen_bit(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"tobit", bit_tobit},   {"bnot", bit_bnot},       {"band", bit_band},
        {"bor", bit_bor},       {"bxor", bit_bxor},       {"lshift", bit_lshift},
        {"rshift", bit_rshift}, {"arshift", bit_arshift}, {"rol", bit_rol},
        {"ror", bit_ror},       {"bswap", bit_bswap},     {"tohex", bit_tohex},
        {NULL, NULL},
    };
    luaL_register(L, "bit", fns);
    return 1;
}
