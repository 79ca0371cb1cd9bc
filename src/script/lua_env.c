/* lua_env: the sandboxed Lua 5.1 interpreters that EVAL and FUNCTION run code in.
 *
 * Redis patches its Lua so that tables can be flagged read-only. Debian's Lua cannot be
 * patched, so read-only tables are proxies: an empty table whose metatable sends reads to
 * the real table and writes to an error ("Attempt to modify a readonly table"):
 *
 *     _G (thread globals) = P ──metatable──▶ { __index = G, __newindex = ro_error,
 *                                              [&real_key] = G, [&shown_key] = decoy }
 *     G (real globals)        ──metatable──▶ { __index = nonexistent-global error }
 *     G.string = proxy(string), G.redis = proxy(redis), ... every library table
 *
 * A script sees only proxies: the real tables are reachable through the proxies'
 * metatables, which getmetatable never returns (it shows the decoy, or nil) and the debug
 * library (never loaded) could not reach. The few base functions that bypass metatables
 * are wrapped: rawset/rawget, next/pairs/ipairs, unpack, setmetatable/getmetatable and
 * the table library refuse to write a proxy or read through to its real table. A wrapper
 * calls the original C function in its own frame, so error texts and positions are
 * Lua's. The thread's globals are restored after every call (setfenv(0, t) cannot leak
 * into the next script), and code is always compiled as text: a precompiled chunk (which
 * could break out of any sandbox) fails to parse, as in Redis whose loader has no binary
 * path.
 *
 * Functions (LUAENV_FUNCTIONS): P's __index switches to a small loading API while a
 * library's top level runs (only redis.register_function, redis.log and the versions), and
 * back to G when functions are called. */
#include "mayfly/config.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "script/script_int.h"

#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int luaopen_cjson(lua_State *L); /* Debian's lua-cjson */

/* Light userdata keys: scripts cannot make light userdata, so they cannot name these. */
static char real_key, shown_key, globals_key, proxy_key, meta_key, libapi_key;

#define HOOK_EVERY 100000 /* Lua instructions between two busy checks, as Redis */

/* ---- the original C functions the wrappers fall back to ---- */

static lua_CFunction orig_next, orig_ipairsaux, orig_pairs, orig_ipairs, orig_rawget, orig_rawset,
    orig_setmetatable, orig_getmetatable, orig_tinsert, orig_tremove, orig_tsort, orig_tconcat,
    orig_tmaxn, orig_tgetn, orig_tforeach, orig_tforeachi;

/* If the value at idx is a read-only proxy, pushes its real table and returns 1. */
static int push_real(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
    lua_pushlightuserdata(L, &real_key);
    lua_rawget(L, -2);
    if (lua_istable(L, -1)) {
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, 2);
    return 0;
}

static int is_proxy(lua_State *L, int idx) {
    if (!push_real(L, idx)) return 0;
    lua_pop(L, 1);
    return 1;
}

/* Replaces a proxy argument by its real table, for the wrappers that only read. */
static void unwrap_arg(lua_State *L, int idx) {
    if (push_real(L, idx)) lua_replace(L, idx);
}

/* Raised from C functions: no position, as Lua's own API errors. */
static int ro_error_plain(lua_State *L) {
    lua_pushstring(L, "Attempt to modify a readonly table");
    return lua_error(L);
}

/* __newindex of every proxy: the position is the script line that assigned. */
static int ro_newindex(lua_State *L) {
    return luaL_error(L, "Attempt to modify a readonly table");
}

static int nonexistent_global(lua_State *L) {
    if (lua_gettop(L) != 2) {
        log_warning("malicious code trying to call luaProtectedTableError with wrong arguments");
        luaL_error(L, "Wrong number of arguments to luaProtectedTableError");
    }
    if (!lua_isstring(L, -1) && !lua_isnumber(L, -1))
        luaL_error(L, "Second argument to luaProtectedTableError must be a string or number");
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      lua_tostring(L, -1));
}

static int w_rawset(lua_State *L) {
    if (is_proxy(L, 1)) return ro_error_plain(L);
    return orig_rawset(L);
}
static int w_rawget(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_rawget(L);
}
static int w_next(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_next(L);
}
static int w_ipairsaux(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_ipairsaux(L);
}
/* Lua 5.1.5's unpack overflows computing e - i + 1 for ranges such as (-2, 2^31-1) (Redis
 * patched its copy; Debian's crashes): counted in unsigned arithmetic here, as Lua 5.2 does. */
static int w_unpack(lua_State *L) {
    unwrap_arg(L, 1);
    luaL_checktype(L, 1, LUA_TTABLE);
    int i = luaL_optint(L, 2, 1);
    int e = lua_isnoneornil(L, 3) ? (int)lua_objlen(L, 1) : luaL_checkint(L, 3);
    if (i > e) return 0;
    unsigned n = (unsigned)e - (unsigned)i; /* one less than the count */
    if (n >= (unsigned)INT_MAX || !lua_checkstack(L, (int)n + 1))
        return luaL_error(L, "too many results to unpack");
    for (unsigned k = 0; k <= n; k++)
        lua_rawgeti(L, 1, (int)((unsigned)i + k));
    return (int)n + 1;
}
static int w_setmetatable(lua_State *L) {
    if (is_proxy(L, 1)) return ro_error_plain(L);
    return orig_setmetatable(L);
}
static int w_getmetatable(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        lua_pushlightuserdata(L, &real_key);
        lua_rawget(L, -2);
        if (lua_istable(L, -1)) {
            lua_pushlightuserdata(L, &shown_key);
            lua_rawget(L, -3);
            return 1; /* the decoy, or nil */
        }
        lua_pop(L, 2);
    }
    return orig_getmetatable(L);
}
static int w_tinsert(lua_State *L) {
    if (is_proxy(L, 1)) return ro_error_plain(L);
    return orig_tinsert(L);
}
static int w_tremove(lua_State *L) {
    if (is_proxy(L, 1)) return ro_error_plain(L);
    return orig_tremove(L);
}
static int w_tsort(lua_State *L) {
    if (is_proxy(L, 1)) return ro_error_plain(L);
    return orig_tsort(L);
}
static int w_tconcat(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_tconcat(L);
}
static int w_tmaxn(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_tmaxn(L);
}
static int w_tgetn(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_tgetn(L);
}
static int w_tforeach(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_tforeach(L);
}
static int w_tforeachi(lua_State *L) {
    unwrap_arg(L, 1);
    return orig_tforeachi(L);
}

/* ---- text-only loading ---- */

typedef struct text_reader {
    int state; /* 0: give the leading space, 1: give the code, 2: done */
    const char *code;
    size_t len;
    lua_State *L;
    int fn_idx; /* load(f): the reader function's stack index, 0 for a string */
} text_reader;

/* A leading space makes Lua's loader pick the text parser whatever the code starts with:
 * "\27Lua..." then fails as a syntax error, as in Redis. A space changes no line number. */
static const char *read_text(lua_State *L, void *ud, size_t *size) {
    text_reader *r = ud;
    (void)L;
    if (r->state == 0) {
        r->state = 1;
        *size = 1;
        return " ";
    }
    if (r->fn_idx == 0) {
        if (r->state == 2) return NULL;
        r->state = 2;
        *size = r->len;
        return r->code;
    }
    /* load(f): call f for each piece, as Lua's generic_reader. */
    luaL_checkstack(r->L, 2, "too many nested functions");
    lua_pushvalue(r->L, r->fn_idx);
    lua_call(r->L, 0, 1);
    if (lua_isnil(r->L, -1)) {
        *size = 0;
        return NULL;
    }
    if (lua_isstring(r->L, -1)) {
        lua_replace(r->L, r->fn_idx + 2); /* keep the piece alive in the reserved slot */
        return lua_tolstring(r->L, r->fn_idx + 2, size);
    }
    luaL_error(r->L, "reader function must return a string");
    return NULL;
}

static int load_result(lua_State *L, int status) {
    if (status == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int w_loadstring(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, s);
    text_reader r = {0, s, len, L, 0};
    return load_result(L, lua_load(L, read_text, &r, name));
}

/* The chunk name stays on the stack (slot 2) while Lua parses: Lua 5.1's parser does not
 * anchor it, and a reader function can run the collector meanwhile (CVE-2025-49844,
 * fixed in Redis's copy, not in Debian's 5.1.5). Strings are interned, so the parser's
 * copy is this very string. */
static int w_load(lua_State *L) {
    luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_pushliteral(L, "=(load)");
    }
    lua_settop(L, 3); /* function, name, a slot for the current piece */
    text_reader r = {0, NULL, 0, L, 1};
    return load_result(L, lua_load(L, read_text, &r, lua_tostring(L, 2)));
}

int luaenv_compile(lua_State *L, const char *code, size_t len, const char *chunkname, char *err,
                   size_t cap) {
    text_reader r = {0, code, len, L, 0};
    if (lua_load(L, read_text, &r, chunkname) == 0) return 0;
    snprintf(err, cap, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
}

/* ---- cjson with a size guard ----
 *
 * Debian's lua-cjson 2.1.0 sizes its buffers with int: encoding a string of more than
 * ~350 MB (6 bytes per escaped byte) or decoding more than 2 GB overflows them (Redis fixed
 * its copy, CVE-2022-24834). encode and decode check the size first; the original
 * functions then run in the wrappers' own frames, so their errors read the same. */

#define JSON_LIMIT ((size_t)INT_MAX / 2)

static lua_CFunction orig_json_encode, orig_json_decode, orig_json_new;

/* An upper bound of the encoded size of the value at idx, stopping once over JSON_LIMIT
 * (cjson itself refuses nesting deeper than 1000). */
static size_t json_bound(lua_State *L, int idx, int depth, size_t acc) {
    if (acc > JSON_LIMIT || depth > 1001) return acc;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        return acc + 6 * lua_objlen(L, idx) + 2;
    case LUA_TTABLE:
        if (!lua_checkstack(L, 3)) return acc;
        acc += 2;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            int top = lua_gettop(L);
            acc = json_bound(L, top - 1, depth + 1, acc + 2);
            acc = json_bound(L, top, depth + 1, acc);
            lua_pop(L, 1); /* the value */
            if (acc > JSON_LIMIT) {
                lua_pop(L, 1); /* the key: stop iterating */
                break;
            }
        }
        return acc;
    default:
        return acc + 32;
    }
}

static int guarded_encode(lua_State *L) {
    if (lua_gettop(L) == 1) {
        int top = lua_gettop(L);
        size_t bound = json_bound(L, 1, 0, 0);
        lua_settop(L, top);
        if (bound > JSON_LIMIT) return luaL_error(L, "Cannot serialise: output too large");
    }
    return orig_json_encode(L);
}

static int guarded_decode(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING && lua_objlen(L, 1) > JSON_LIMIT)
        return luaL_error(L, "Cannot parse: input too large");
    return orig_json_decode(L);
}

static void guard_json_table(lua_State *L, int idx);

static int guarded_new(lua_State *L) {
    int n = orig_json_new(L);
    if (n >= 1 && lua_istable(L, -1)) guard_json_table(L, lua_gettop(L));
    return n;
}

/* Replaces t.name (a cjson closure whose upvalue is its configuration) by fn with the
 * same upvalue. */
static void rewrap(lua_State *L, int t, const char *name, lua_CFunction fn, lua_CFunction *orig) {
    lua_getfield(L, t, name);
    if (!lua_iscfunction(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    if (!*orig) *orig = lua_tocfunction(L, -1);
    int nup = lua_getupvalue(L, -1, 1) ? 1 : 0;
    lua_pushcclosure(L, fn, nup);
    lua_setfield(L, t, name);
    lua_pop(L, 1);
}

static void guard_json_table(lua_State *L, int idx) {
    rewrap(L, idx, "encode", guarded_encode, &orig_json_encode);
    rewrap(L, idx, "decode", guarded_decode, &orig_json_decode);
    rewrap(L, idx, "new", guarded_new, &orig_json_new);
}

/* ---- pcall, os.clock, the error handler ---- */

/* Redis 7's pcall: an error raised as Redis's error table ({err=...}) is returned as its
 * message, so scripts written for string errors keep working. */
static int w_pcall(lua_State *L) {
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1))
                lua_replace(L, -2);
            else
                lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

static int os_clock(lua_State *L) {
    lua_pushnumber(L, (lua_Number)clock() / (lua_Number)CLOCKS_PER_SEC);
    return 1;
}

/* Turns any error into Redis's error table and notes where it happened: the Lua function
 * that raised it, or the caller of the C function that did. */
static int error_handler(lua_State *L) {
    lua_Debug ar;
    int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar);
    if (have && strcmp(ar.what, "C") == 0)
        have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
    if (!lua_istable(L, 1)) {
        lua_settop(L, 1);
        lua_getfield(L, LUA_REGISTRYINDEX, "mayfly.tostring");
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        lua_pushfstring(L, "ERR %s", lua_tostring(L, -1));
        lua_newtable(L);
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (have) {
        lua_pushstring(L, ar.source);
        lua_setfield(L, 1, "source");
        lua_pushinteger(L, ar.currentline);
        lua_setfield(L, 1, "line");
    }
    return 1;
}

void luaenv_push_error_handler(lua_State *L) {
    lua_pushlightuserdata(L, &meta_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_getfield(L, -1, "errh");
    lua_remove(L, -2);
}

/* ---- building the state ---- */

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        mem_free(ptr);
        return NULL;
    }
    return mem_realloc(ptr, nsize);
}

static int lua_panic(lua_State *L) {
    log_warning("Lua panic: %s", lua_tostring(L, -1));
    abort();
}

/* Calls a luaopen_* function with the library name; if it returns a table, makes it the
 * global of that name (Debian's cjson does not set the global itself). */
static void open_lib(lua_State *L, const char *name, lua_CFunction fn) {
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1) && name[0]) {
        lua_pushvalue(L, -1);
        lua_setglobal(L, name);
    }
    lua_pop(L, 1);
}

static lua_CFunction global_cfunction(lua_State *L, const char *table, const char *name) {
    if (table) {
        lua_getglobal(L, table);
        lua_getfield(L, -1, name);
        lua_remove(L, -2);
    } else {
        lua_getglobal(L, name);
    }
    lua_CFunction f = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    return f;
}

/* The C functions are the same in every state: read them once. */
static void find_originals(lua_State *L) {
    if (orig_next) return;
    orig_next = global_cfunction(L, NULL, "next");
    orig_pairs = global_cfunction(L, NULL, "pairs");
    orig_ipairs = global_cfunction(L, NULL, "ipairs");
    orig_rawget = global_cfunction(L, NULL, "rawget");
    orig_rawset = global_cfunction(L, NULL, "rawset");
    orig_setmetatable = global_cfunction(L, NULL, "setmetatable");
    orig_getmetatable = global_cfunction(L, NULL, "getmetatable");
    orig_tinsert = global_cfunction(L, "table", "insert");
    orig_tremove = global_cfunction(L, "table", "remove");
    orig_tsort = global_cfunction(L, "table", "sort");
    orig_tconcat = global_cfunction(L, "table", "concat");
    orig_tmaxn = global_cfunction(L, "table", "maxn");
    orig_tgetn = global_cfunction(L, "table", "getn");
    orig_tforeach = global_cfunction(L, "table", "foreach");
    orig_tforeachi = global_cfunction(L, "table", "foreachi");
    /* ipairs' iterator is only reachable through a call. */
    lua_getglobal(L, "ipairs");
    lua_newtable(L);
    lua_call(L, 1, 3);
    orig_ipairsaux = lua_tocfunction(L, -3);
    lua_pop(L, 3);
}

static void set_cfunction(lua_State *L, const char *table, const char *name, lua_CFunction fn) {
    if (table) {
        lua_getglobal(L, table);
        lua_pushcfunction(L, fn);
        lua_setfield(L, -2, name);
        lua_pop(L, 1);
    } else {
        lua_pushcfunction(L, fn);
        lua_setglobal(L, name);
    }
}

static void install_wrappers(lua_State *L) {
    find_originals(L);
    set_cfunction(L, NULL, "rawset", w_rawset);
    set_cfunction(L, NULL, "rawget", w_rawget);
    set_cfunction(L, NULL, "unpack", w_unpack);
    set_cfunction(L, NULL, "setmetatable", w_setmetatable);
    set_cfunction(L, NULL, "getmetatable", w_getmetatable);
    set_cfunction(L, NULL, "loadstring", w_loadstring);
    set_cfunction(L, NULL, "load", w_load);
    set_cfunction(L, NULL, "pcall", w_pcall);
    /* next, and pairs/ipairs whose iterators (their upvalue) go through the proxies. */
    lua_pushcfunction(L, w_next);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "next");
    lua_pushcclosure(L, orig_pairs, 1);
    lua_setglobal(L, "pairs");
    lua_pushcfunction(L, w_ipairsaux);
    lua_pushcclosure(L, orig_ipairs, 1);
    lua_setglobal(L, "ipairs");
    set_cfunction(L, "table", "insert", w_tinsert);
    set_cfunction(L, "table", "remove", w_tremove);
    set_cfunction(L, "table", "sort", w_tsort);
    set_cfunction(L, "table", "concat", w_tconcat);
    set_cfunction(L, "table", "maxn", w_tmaxn);
    set_cfunction(L, "table", "getn", w_tgetn);
    set_cfunction(L, "table", "foreach", w_tforeach);
    set_cfunction(L, "table", "foreachi", w_tforeachi);
    /* Globals Redis removes. */
    static const char *const removed[] = {"dofile", "loadfile", "print", NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    /* os: only clock(), as Redis 8. */
    lua_newtable(L);
    lua_pushcfunction(L, os_clock);
    lua_setfield(L, -2, "clock");
    lua_setglobal(L, "os");
}

/* Pushes a read-only proxy of the table at idx; shown_idx (an absolute index, 0: none) is
 * what getmetatable answers for it. */
static void push_proxy(lua_State *L, int idx, int shown_idx) {
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L);
    lua_newtable(L);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushlightuserdata(L, &real_key);
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);
    if (shown_idx) {
        lua_pushlightuserdata(L, &shown_key);
        lua_pushvalue(L, shown_idx);
        lua_rawset(L, -3);
    }
    lua_setmetatable(L, -2);
}

/* Replaces every table in the real globals (G at idx) by a read-only proxy. */
static void protect_libraries(lua_State *L, int g) {
    static const char *const libs[] = {"string",    "table", "math", "os",
                                       "coroutine", "cjson", "bit",  "cmsgpack",
                                       "struct",    "redis", NULL};
    for (int i = 0; libs[i]; i++) {
        lua_getfield(L, g, libs[i]);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        push_proxy(L, -1, 0);
        lua_setfield(L, g, libs[i]);
        lua_pop(L, 1);
    }
    /* Methods of strings ("x"):upper() look up the string proxy; the metatable itself is
     * shown as a read-only proxy too. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_getfield(L, g, "string");
    lua_setfield(L, -2, "__index");
    push_proxy(L, -1, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

/* Builds the function libraries' loading API: globals that show only a redis table with
 * register_function (set later by function.c), the log functions and the versions. */
static void build_library_api(lua_State *L, int errmeta) {
    lua_newtable(L); /* library globals */
    lua_newtable(L); /* its redis table */
    luaapi_register_common(L);
    lua_pushvalue(L, errmeta);
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, &libapi_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX); /* the real redis table, for register_function */
    push_proxy(L, -1, 0);
    lua_setfield(L, -3, "redis");
    lua_pop(L, 1);
    lua_pushvalue(L, errmeta);
    lua_setmetatable(L, -2);
    push_proxy(L, -1, 0);
    lua_remove(L, -2);
}

lua_State *luaenv_new(int kind) {
    lua_State *L = lua_newstate(lua_alloc, NULL);
    lua_atpanic(L, lua_panic);
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, "cjson", luaopen_cjson);
    lua_getglobal(L, "cjson");
    guard_json_table(L, lua_gettop(L));
    lua_pop(L, 1);
    open_lib(L, "struct", luaopen_struct);
    open_lib(L, "cmsgpack", luaopen_cmsgpack);
    open_lib(L, "bit", luaopen_bit);
    lua_getglobal(L, "tostring");
    lua_setfield(L, LUA_REGISTRYINDEX, "mayfly.tostring");
    /* EVAL's error handler is a global in Redis (scripts can see it in _G). */
    if (kind == LUAENV_EVAL) {
        lua_pushcfunction(L, error_handler);
        lua_setglobal(L, "__redis__err__handler");
    }
    install_wrappers(L);
    lua_newtable(L);
    luaapi_register(L, kind);
    lua_setglobal(L, "redis");

    int g = lua_gettop(L) + 1;
    lua_pushvalue(L, LUA_GLOBALSINDEX); /* g: the real globals */
    lua_newtable(L);                    /* g+1: metatable raising on unknown names */
    lua_pushcfunction(L, nonexistent_global);
    lua_setfield(L, -2, "__index");
    protect_libraries(L, g);
    lua_pushvalue(L, g + 1);
    lua_setmetatable(L, g);

    /* The decoy getmetatable(_G) shows, then the globals proxy P. */
    lua_newtable(L);
    lua_pushcfunction(L, nonexistent_global);
    lua_setfield(L, -2, "__index");
    push_proxy(L, -1, 0);
    lua_remove(L, -2);       /* g+2: decoy */
    push_proxy(L, g, g + 2); /* g+3: P */
    lua_pushvalue(L, -1);
    lua_setfield(L, g, "_G");

    /* Registry: everything the engine reaches from C. */
    lua_newtable(L); /* g+4 */
    lua_pushvalue(L, g);
    lua_setfield(L, -2, "G");
    lua_pushvalue(L, g + 3);
    lua_setfield(L, -2, "P");
    lua_getmetatable(L, g + 3);
    lua_setfield(L, -2, "PM");
    lua_pushcfunction(L, error_handler);
    lua_setfield(L, -2, "errh");
    if (kind == LUAENV_FUNCTIONS) {
        build_library_api(L, g + 1);
        lua_setfield(L, -2, "libapi");
    }
    lua_pushlightuserdata(L, &meta_key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushlightuserdata(L, &globals_key);
    lua_pushvalue(L, g);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushlightuserdata(L, &proxy_key);
    lua_pushvalue(L, g + 3);
    lua_rawset(L, LUA_REGISTRYINDEX);

    lua_pushvalue(L, g + 3);
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return L;
}

void luaenv_free(lua_State *L) {
    if (L) lua_close(L);
}

void luaenv_set_loading(lua_State *L, int loading) {
    lua_pushlightuserdata(L, &meta_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_getfield(L, -1, "PM");
    lua_getfield(L, -2, loading ? "libapi" : "G");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
}

void luaenv_gc_step(lua_State *L, int *count) {
    if (++*count < 50) return;
    lua_gc(L, LUA_GCSTEP, 50);
    *count = 0;
}

size_t luaenv_memory(lua_State *L) {
    return (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
}

void luaenv_set_ptr(lua_State *L, const char *key, void *p) {
    if (p)
        lua_pushlightuserdata(L, p);
    else
        lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

void *luaenv_get_ptr(lua_State *L, const char *key) {
    lua_getfield(L, LUA_REGISTRYINDEX, key);
    void *p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return p;
}

/* ---- calling a script ---- */

static void count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    script_run *run = script_current();
    if (!run || !script_interrupt(run)) return;
    log_notice("Lua script killed by user with SCRIPT KILL.");
    /* From now on every line raises again, so pcall cannot swallow the kill. */
    lua_sethook(L, count_hook, LUA_MASKLINE, 0);
    const char *msg = "Script killed by user with SCRIPT KILL...";
    luaapi_push_error(L, msg, strlen(msg));
    lua_error(L);
}

static void push_array(lua_State *L, const slice *v, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].p, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

static void set_real_global(lua_State *L, const char *name) {
    lua_pushlightuserdata(L, &globals_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_insert(L, -2);
    lua_setfield(L, -2, name); /* G has no __newindex: a plain set */
    lua_pop(L, 1);
}

/* Writes the error a failed call left on the stack (Redis's luaCallFunction). */
static void reply_call_error(script_run *run, lua_State *L) {
    cmd_ctx *c = run->caller;
    if (!lua_istable(L, -1)) {
        const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
        reply_errorf(c, "ERR Error running script %s, %.100s", run->name, msg);
        return;
    }
    lua_getfield(L, -1, "err");
    lua_getfield(L, -2, "source");
    lua_getfield(L, -3, "line");
    lua_getfield(L, -4, "ignore_error_stats_update");
    const char *err = lua_tostring(L, -4), *source = lua_tostring(L, -3);
    const char *line = lua_tostring(L, -2);
    int nostats = lua_toboolean(L, -1);
    buf msg;
    buf_init(&msg);
    buf_puts(&msg, err ? err : "");
    if (source && line) buf_printf(&msg, " script: %s, on %s:%s.", run->name, source, line);
    const char *text = msg.data ? msg.data : "";
    size_t len = msg.len;
    if (len && text[0] == '-') {
        text++;
        len--;
    }
    if (nostats) {
        script_reply_error_nostats(c, text, len);
    } else {
        buf_putc(&msg, '\0');
        reply_error(c, text);
    }
    buf_deinit(&msg);
    lua_pop(L, 4);
}

void luaenv_call(script_run *run, lua_State *L, const slice *keys, int nkeys, const slice *args,
                 int nargs) {
    int eval = (run->flags & RUN_EVAL) != 0;
    int hooked = config.busy_reply_threshold > 0;
    if (hooked) lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    push_array(L, keys, nkeys);
    if (eval) set_real_global(L, "KEYS");
    push_array(L, args, nargs);
    if (eval) set_real_global(L, "ARGV");
    int err = eval ? lua_pcall(L, 0, 1, -2) : lua_pcall(L, 2, 1, -4);
    if (err) {
        reply_call_error(run, L);
        lua_pop(L, 1);
    } else {
        luareply_from_lua(run->caller, L, run->sess->proto); /* pops the result */
    }
    if (hooked) lua_sethook(L, NULL, 0, 0);
    /* setfenv(0, t) inside the script changed the thread's globals: put P back. */
    lua_pushlightuserdata(L, &proxy_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_replace(L, LUA_GLOBALSINDEX);
}

void luaenv_push_library_redis(lua_State *L) {
    lua_pushlightuserdata(L, &libapi_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}
