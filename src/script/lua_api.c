/* lua_api: the redis table scripts see (redis.call, redis.pcall, redis.error_reply, ...)
 * and Redis's math.random, with Redis's argument checks and error texts.
 *
 * redis.call builds the command's arguments as slices of the Lua strings on the stack
 * (numbers are formatted as Redis does: whole numbers as integers), runs the command in
 * the script session (script_run_command) and converts the reply it wrote. The arguments
 * stay on the Lua stack until the command returns, so nothing is copied. */
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/sha1.h"
#include "script/script_int.h"

#include <lauxlib.h>
#include <math.h>
#include <string.h>

#define VERSION_TEXT "8.0.0"
#define VERSION_NUM 0x00080000

void luaapi_push_error(lua_State *L, const char *msg, size_t len) {
    const char *code = "ERR", *text = msg;
    size_t code_len = 3, text_len = len;
    if (len && msg[0] == '-') {
        const char *sp = memchr(msg, ' ', len);
        if (!sp) {
            text = msg + 1;
            text_len = len - 1;
        } else {
            code = msg + 1;
            code_len = (size_t)(sp - msg - 1);
            text = sp + 1;
            text_len = len - (size_t)(sp + 1 - msg);
        }
    }
    while (text_len && (text[0] == '\r' || text[0] == '\n')) {
        text++;
        text_len--;
    }
    while (text_len && (text[text_len - 1] == '\r' || text[text_len - 1] == '\n'))
        text_len--;
    lua_newtable(L);
    lua_pushlstring(L, code, code_len);
    lua_pushliteral(L, " ");
    lua_pushlstring(L, text, text_len);
    lua_concat(L, 3);
    lua_setfield(L, -2, "err");
}

static void push_error_cstr(lua_State *L, const char *msg) {
    luaapi_push_error(L, msg, strlen(msg));
}

static int raise_error_cstr(lua_State *L, const char *msg) {
    push_error_cstr(L, msg);
    return lua_error(L);
}

/* ---- redis.call / redis.pcall ---- */

#define NUM_MAX 32

static slice *call_argv;
static char (*call_nums)[NUM_MAX];
static int call_cap;
static int call_inuse;

/* Fills call_argv from the arguments on the stack; returns 0, or -1 if one is neither a
 * string nor a number. */
static int build_argv(lua_State *L, int argc) {
    if (argc > call_cap) {
        call_cap = argc < 16 ? 16 : argc;
        call_argv = mem_realloc(call_argv, sizeof(slice) * (size_t)call_cap);
        call_nums = mem_realloc(call_nums, sizeof(*call_nums) * (size_t)call_cap);
    }
    for (int j = 0; j < argc; j++) {
        int t = lua_type(L, j + 1);
        if (t == LUA_TNUMBER) {
            size_t n = luareply_fmt_double(call_nums[j], (double)lua_tonumber(L, j + 1));
            call_argv[j] = (slice){call_nums[j], n};
        } else if (t == LUA_TSTRING) {
            size_t n;
            const char *p = lua_tolstring(L, j + 1, &n);
            call_argv[j] = (slice){p, n};
        } else {
            return -1;
        }
    }
    return 0;
}

static int call_generic(lua_State *L, int raise) {
    script_run *run = script_current();
    if (!run) return luaL_error(L, "redis.call can only be used while a script runs");
    int argc = lua_gettop(L);
    if (argc == 0) {
        push_error_cstr(L, "Please specify at least one argument for this redis lib call");
        return raise ? lua_error(L) : 1;
    }
    if (build_argv(L, argc) < 0) {
        push_error_cstr(L, "Lua redis lib command arguments must be strings or integers");
        return raise ? lua_error(L) : 1;
    }
    if (call_inuse) {
        const char *msg = "luaRedisGenericCommand() recursive call detected. Are you doing "
                          "funny stuff with Lua debug hooks?";
        log_warning("%s", msg);
        push_error_cstr(L, msg);
        return 1;
    }
    /* The reply needs stack room: with thousands of arguments (unpack of a big table)
     * there may be none left, so copy them out and free their slots, as Redis does. */
    char *copy = NULL;
    if (!lua_checkstack(L, 8)) {
        size_t total = 0;
        for (int j = 0; j < argc; j++)
            total += call_argv[j].len;
        copy = mem_alloc(total ? total : 1);
        for (int j = 0, at = 0; j < argc; j++) {
            memcpy(copy + at, call_argv[j].p, call_argv[j].len);
            call_argv[j].p = copy + at;
            at += (int)call_argv[j].len;
        }
        lua_settop(L, 0);
    }
    call_inuse = 1;
    char err[512];
    buf *out = &run->sess->out;
    int rc = script_run_command(run, argc, call_argv, err, sizeof(err));
    call_inuse = 0;
    mem_free(copy);
    if (rc < 0) {
        push_error_cstr(L, err);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ignore_error_stats_update");
        buf_clear(out);
        return raise ? lua_error(L) : 1;
    }
    int is_error = out->len > 0 && out->data[0] == '-';
    luareply_to_lua(L, out->data, out->len);
    buf_clear(out);
    buf_shrink(out, 64 * 1024);
    if (raise && is_error) return lua_error(L);
    return 1;
}

static int api_call(lua_State *L) {
    return call_generic(L, 1);
}
static int api_pcall(lua_State *L) {
    return call_generic(L, 0);
}

/* ---- the small helpers ---- */

static int api_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) return raise_error_cstr(L, "wrong number of arguments");
    size_t len = 0;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[41];
    sha1_hex(hex, s ? s : "", s ? len : 0);
    lua_pushstring(L, hex);
    return 1;
}

static int api_error_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_cstr(L, "wrong number or type of arguments");
        return 1;
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len && s[0] == '-') {
        luaapi_push_error(L, s, len);
        return 1;
    }
    lua_pushliteral(L, "-");
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    s = lua_tolstring(L, -1, &len);
    luaapi_push_error(L, s, len);
    return 1;
}

static int api_status_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_cstr(L, "wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "ok");
    return 1;
}

static int api_set_repl(lua_State *L) {
    script_run *run = script_current();
    if (!run) return luaL_error(L, "redis.set_repl can only be used while a script runs");
    if (lua_gettop(L) != 1) return raise_error_cstr(L, "redis.set_repl() requires one argument.");
    int flags = (int)lua_tonumber(L, -1);
    if (flags & ~(REPL_TO_AOF | REPL_TO_REPLICAS))
        return raise_error_cstr(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                                   "REPL_ALL or REPL_NONE.");
    run->repl = flags;
    return 0;
}

/* redis.acl_check_cmd: may the script's caller run this command with these arguments? */
static int api_acl_check_cmd(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc == 0)
        return raise_error_cstr(L, "Please specify at least one argument for this redis lib call");
    if (build_argv(L, argc) < 0)
        return raise_error_cstr(L, "Lua redis lib command arguments must be strings or integers");
    const cmd_spec *spec = cmd_lookup(call_argv[0]), *parent = NULL;
    if (spec && spec->subcmds && argc >= 2) {
        parent = spec;
        spec = cmd_lookup_sub(spec, call_argv[1]);
    }
    if (!spec) return raise_error_cstr(L, "Invalid command passed to redis.acl_check_cmd()");
    script_run *run = script_current();
    const struct acl_user *u = run ? run->caller->s->user : NULL;
    lua_pushboolean(L, cmd_acl_allows(u, spec, parent, argc, call_argv));
    return 1;
}

static int api_log(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc < 2) return raise_error_cstr(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, -argc))
        return raise_error_cstr(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, -argc);
    if (level < LOG_DEBUG || level > LOG_WARNING) return raise_error_cstr(L, "Invalid log level.");
    if (level < (int)log_get_level()) return 0;
    buf msg;
    buf_init(&msg);
    for (int j = 1; j < argc; j++) {
        size_t len;
        const char *s = lua_tolstring(L, -argc + j, &len);
        if (!s) continue;
        if (j != 1) buf_putc(&msg, ' ');
        buf_append(&msg, s, len);
    }
    log_msg((enum log_level)level, "%.*s", (int)msg.len, msg.data ? msg.data : "");
    buf_deinit(&msg);
    return 0;
}

static int api_setresp(lua_State *L) {
    script_run *run = script_current();
    if (!run) return luaL_error(L, "redis.setresp can only be used while a script runs");
    if (lua_gettop(L) != 1) return raise_error_cstr(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, -1);
    if (resp != 2 && resp != 3) return raise_error_cstr(L, "RESP version must be 2 or 3.");
    run->sess->proto = resp;
    return 0;
}

/* No debugger (SCRIPT DEBUG): redis.breakpoint() is false and redis.debug() does
 * nothing, as in Redis outside a debugging session. */
static int api_breakpoint(lua_State *L) {
    lua_pushboolean(L, 0);
    return 1;
}
static int api_debug(lua_State *L) {
    (void)L;
    return 0;
}
/* Deprecated in Redis 7: always true (effects replication is the only mode). */
static int api_replicate_commands(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- math.random: Redis's rand48, the same sequence on every platform ---- */

static uint32_t r48_x[3] = {0x330E, 0xABCD, 0x1234};
static const uint32_t r48_a[3] = {0xE66D, 0xDEEC, 0x5};
static const uint32_t r48_c = 0xB;

/* x = (a * x + c) mod 2^48, with 16-bit limbs. */
static void r48_next(void) {
    uint64_t x = (uint64_t)r48_x[2] << 32 | (uint64_t)r48_x[1] << 16 | r48_x[0];
    uint64_t a = (uint64_t)r48_a[2] << 32 | (uint64_t)r48_a[1] << 16 | r48_a[0];
    x = (a * x + r48_c) & 0xFFFFFFFFFFFFULL;
    r48_x[0] = (uint32_t)(x & 0xFFFF);
    r48_x[1] = (uint32_t)((x >> 16) & 0xFFFF);
    r48_x[2] = (uint32_t)((x >> 32) & 0xFFFF);
}

int32_t luaapi_rand48(void) {
    r48_next();
    return (int32_t)(((uint32_t)r48_x[2] << 15) + (r48_x[1] >> 1));
}

static int api_math_random(lua_State *L) {
    lua_Number r = (lua_Number)(luaapi_rand48() % INT32_MAX) / (lua_Number)INT32_MAX;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1), u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int api_math_randomseed(lua_State *L) {
    int32_t seed = (int32_t)luaL_checkint(L, 1);
    r48_x[0] = 0x330E;
    r48_x[1] = (uint32_t)seed & 0xFFFF;
    r48_x[2] = ((uint32_t)seed >> 16) & 0xFFFF;
    return 0;
}

/* ---- registration ---- */

static void set_fn(lua_State *L, const char *name, lua_CFunction fn) {
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
}
static void set_num(lua_State *L, const char *name, lua_Number v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
}

void luaapi_register_common(lua_State *L) {
    set_fn(L, "log", api_log);
    set_num(L, "LOG_DEBUG", LOG_DEBUG);
    set_num(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_num(L, "LOG_NOTICE", LOG_NOTICE);
    set_num(L, "LOG_WARNING", LOG_WARNING);
    set_num(L, "REDIS_VERSION_NUM", VERSION_NUM);
    lua_pushstring(L, VERSION_TEXT);
    lua_setfield(L, -2, "REDIS_VERSION");
}

void luaapi_register(lua_State *L, int kind) {
    set_fn(L, "call", api_call);
    set_fn(L, "pcall", api_pcall);
    luaapi_register_common(L);
    set_fn(L, "setresp", api_setresp);
    set_fn(L, "sha1hex", api_sha1hex);
    set_fn(L, "error_reply", api_error_reply);
    set_fn(L, "status_reply", api_status_reply);
    set_fn(L, "set_repl", api_set_repl);
    set_num(L, "REPL_NONE", 0);
    set_num(L, "REPL_AOF", REPL_TO_AOF);
    set_num(L, "REPL_SLAVE", REPL_TO_REPLICAS);
    set_num(L, "REPL_REPLICA", REPL_TO_REPLICAS);
    set_num(L, "REPL_ALL", REPL_TO_AOF | REPL_TO_REPLICAS);
    set_fn(L, "acl_check_cmd", api_acl_check_cmd);
    if (kind == LUAENV_EVAL) {
        set_fn(L, "breakpoint", api_breakpoint);
        set_fn(L, "debug", api_debug);
        set_fn(L, "replicate_commands", api_replicate_commands);
    }
    /* math.random and math.randomseed: Redis's generator. */
    lua_getglobal(L, "math");
    set_fn(L, "random", api_math_random);
    set_fn(L, "randomseed", api_math_randomseed);
    lua_pop(L, 1);
}
