/* function: FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/KILL and FCALL, over libraries of Lua
 * functions that live in their own interpreter.
 *
 *     libraries (load order) ──▶ library { name, code (with its #!lua line), functions }
 *     functions: dict  lower-case name ──▶ fn { name, description, flags, lua ref, library }
 *
 * FUNCTION LOAD compiles the code after the "#!lua name=<lib>" line and runs it with the
 * loading API (lua_env.c), where redis.register_function adds to the library being built;
 * the library replaces or joins the others only once it compiled, registered at least one
 * function and clashes with no function of another library. Function names are matched
 * ignoring case, library names exactly, as in Redis. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/resp/resp.h"
#include "mayfly/script/script.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "script/script_int.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOAD_TIMEOUT_MS 500
#define ENGINE_NAME "LUA"

typedef struct library library;

typedef struct function {
    dict_node node; /* in functions (by lower-case name); must be first */
    char *key;      /* lower-case name */
    char *name;
    char *desc; /* NULL if none */
    int flags;  /* SFLAG_* */
    int ref;    /* the callback in the registry */
    library *lib;
    struct function *next_in_lib;
} function;

struct library {
    char *name;
    char *code; /* the whole payload, #! line included (FUNCTION LIST WITHCODE, DUMP) */
    size_t code_len;
    function *fns; /* registration order reversed */
    size_t nfns;
    library *next;
};

static void fn_key(const dict_node *n, const char **key, size_t *len) {
    const function *f = (const function *)n;
    *key = f->key;
    *len = strlen(f->key);
}
static const dict_type fn_type = {.key_of = fn_key};

static lua_State *L;
static session *fn_session;
static library *libs, *libs_tail;
static dict functions;
static size_t nlibs;
static int gc_count;

/* The library FUNCTION LOAD is building (register_function adds to it), and its start. */
static library *loading;
static int64_t loading_start_us;
static int loading_timeout;

/* ---- libraries ---- */

static void free_library(library *lib) {
    if (!lib) return;
    for (function *f = lib->fns, *next; f; f = next) {
        next = f->next_in_lib;
        if (L) lua_unref(L, f->ref);
        mem_free(f->key);
        mem_free(f->name);
        mem_free(f->desc);
        mem_free(f);
    }
    mem_free(lib->name);
    mem_free(lib->code);
    mem_free(lib);
}

static library *find_library(const char *name, size_t len) {
    for (library *l = libs; l; l = l->next)
        if (strlen(l->name) == len && memcmp(l->name, name, len) == 0) return l;
    return NULL;
}

static function *find_function(const char *name, size_t len) {
    char key[256];
    if (len >= sizeof(key)) {
        char *big = mem_alloc(len + 1);
        for (size_t i = 0; i < len; i++)
            big[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
        function *f = (function *)dict_find(&functions, big, len);
        mem_free(big);
        return f;
    }
    for (size_t i = 0; i < len; i++)
        key[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    return (function *)dict_find(&functions, key, len);
}

static void link_library(library *lib) {
    lib->next = NULL;
    if (libs_tail)
        libs_tail->next = lib;
    else
        libs = lib;
    libs_tail = lib;
    nlibs++;
    for (function *f = lib->fns; f; f = f->next_in_lib)
        if (!dict_find(&functions, f->key, strlen(f->key))) dict_add(&functions, &f->node);
}

static void unlink_library(library *lib) {
    library *prev = NULL;
    for (library *l = libs; l; prev = l, l = l->next) {
        if (l != lib) continue;
        if (prev)
            prev->next = l->next;
        else
            libs = l->next;
        if (libs_tail == l) libs_tail = prev;
        nlibs--;
        break;
    }
    for (function *f = lib->fns; f; f = f->next_in_lib) {
        function *in = (function *)dict_find(&functions, f->key, strlen(f->key));
        if (in == f) dict_unlink(&functions, &f->node);
    }
}

static int valid_name(const char *s, size_t len) {
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

#define BAD_NAME                                                                                   \
    "Library names can only contain letters, numbers, or underscores(_) and must be at least "     \
    "one character long"

/* ---- redis.register_function ---- */

static int register_error(lua_State *Ls, const char *msg) {
    luaapi_push_error(Ls, msg, strlen(msg));
    return lua_error(Ls);
}

static int read_flags(lua_State *Ls, int *flags) {
    int f = 0;
    for (int j = 1;; j++) {
        lua_pushnumber(Ls, j);
        lua_gettable(Ls, -2);
        if (lua_isnil(Ls, -1)) {
            lua_pop(Ls, 1);
            break;
        }
        if (!lua_isstring(Ls, -1)) {
            lua_pop(Ls, 1);
            return -1;
        }
        const char *s = lua_tostring(Ls, -1);
        const script_flag_name *fl = script_flag_names;
        for (; fl->name; fl++)
            if (strcasecmp(fl->name, s) == 0) break;
        lua_pop(Ls, 1);
        if (!fl->name) return -1;
        f |= fl->flag;
    }
    *flags = f;
    return 0;
}

typedef struct reg_args {
    char *name, *desc;
    int has_callback, flags;
} reg_args;

/* Named arguments: leaves the callback on top of the stack. */
static const char *read_named(lua_State *Ls, reg_args *a) {
    if (!lua_istable(Ls, 1))
        return "calling redis.register_function with a single argument is only applicable to "
               "Lua table (representing named arguments).";
    lua_pushnil(Ls);
    while (lua_next(Ls, 1)) {
        if (!lua_isstring(Ls, -2))
            return "named argument key given to redis.register_function is not a string";
        const char *key = lua_tostring(Ls, -2);
        if (strcasecmp(key, "function_name") == 0) {
            if (!lua_isstring(Ls, -1))
                return "function_name argument given to redis.register_function must be a string";
            mem_free(a->name);
            a->name = mem_strdup(lua_tostring(Ls, -1));
        } else if (strcasecmp(key, "description") == 0) {
            if (!lua_isstring(Ls, -1))
                return "description argument given to redis.register_function must be a string";
            mem_free(a->desc);
            a->desc = mem_strdup(lua_tostring(Ls, -1));
        } else if (strcasecmp(key, "callback") == 0) {
            if (!lua_isfunction(Ls, -1))
                return "callback argument given to redis.register_function must be a function";
            lua_pushvalue(Ls, -1);
            lua_replace(Ls, 2); /* keep it in slot 2 */
            a->has_callback = 1;
        } else if (strcasecmp(key, "flags") == 0) {
            if (!lua_istable(Ls, -1))
                return "flags argument to redis.register_function must be a table representing "
                       "function flags";
            if (read_flags(Ls, &a->flags) < 0) return "unknown flag given";
        } else {
            return "unknown argument given to redis.register_function";
        }
        lua_pop(Ls, 1);
    }
    if (!a->name) return "redis.register_function must get a function name argument";
    if (!a->has_callback) return "redis.register_function must get a callback argument";
    return NULL;
}

static int api_register_function(lua_State *Ls) {
    if (!loading)
        return register_error(
            Ls, "redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(Ls);
    if (argc < 1 || argc > 2)
        return register_error(Ls, "wrong number of arguments to redis.register_function");
    reg_args a = {0};
    const char *err = NULL;
    if (argc == 1) {
        lua_settop(Ls, 2); /* slot 2 receives the callback */
        err = read_named(Ls, &a);
    } else if (!lua_isstring(Ls, 1)) {
        err = "first argument to redis.register_function must be a string";
    } else if (!lua_isfunction(Ls, 2)) {
        err = "second argument to redis.register_function must be a function";
    } else {
        a.name = mem_strdup(lua_tostring(Ls, 1));
        a.has_callback = 1;
    }
    if (!err && !valid_name(a.name, strlen(a.name))) err = BAD_NAME;
    if (!err) {
        for (function *f = loading->fns; f; f = f->next_in_lib)
            if (strcmp(f->name, a.name) == 0) err = "Function already exists in the library";
    }
    if (err) {
        mem_free(a.name);
        mem_free(a.desc);
        return register_error(Ls, err);
    }
    function *f = mem_calloc(1, sizeof(*f));
    f->name = a.name;
    f->desc = a.desc;
    f->flags = a.flags;
    f->key = mem_strdup(a.name);
    for (char *p = f->key; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    lua_pushvalue(Ls, 2);
    f->ref = luaL_ref(Ls, LUA_REGISTRYINDEX);
    f->lib = loading;
    f->next_in_lib = loading->fns;
    loading->fns = f;
    loading->nfns++;
    return 0;
}

static void load_hook(lua_State *Ls, lua_Debug *ar) {
    (void)ar;
    if (loading_timeout <= 0) return;
    if ((clock_mono_us() - loading_start_us) / 1000 <= loading_timeout) return;
    lua_sethook(Ls, load_hook, LUA_MASKLINE, 0);
    const char *msg = "FUNCTION LOAD timeout";
    luaapi_push_error(Ls, msg, strlen(msg));
    lua_error(Ls);
}

/* ---- the engine ---- */

void function_init(void) {
    L = luaenv_new(LUAENV_FUNCTIONS);
    luaenv_push_library_redis(L);
    lua_pushcfunction(L, api_register_function);
    lua_setfield(L, -2, "register_function");
    lua_pop(L, 1);
    if (!fn_session) fn_session = script_session_new();
    dict_init(&functions, &fn_type);
}

void function_free(void) {
    while (libs) {
        library *l = libs;
        unlink_library(l);
        free_library(l);
    }
    dict_deinit(&functions);
    luaenv_free(L);
    L = NULL;
}

static void function_reset(void) {
    function_free();
    function_init();
}

/* ---- creating a library ---- */

typedef struct lib_meta {
    slice engine, name;
    size_t shebang_len;
} lib_meta;

static int parse_metadata(const char *code, size_t len, lib_meta *md, char *err, size_t cap,
                          resp_parser *p, slice *parts, int max) {
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, cap, "ERR Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        snprintf(err, cap, "ERR Invalid library metadata");
        return -1;
    }
    int n = script_split_line(p, code, (size_t)(nl - code), parts, max);
    if (n <= 0) {
        snprintf(err, cap, "ERR Invalid library metadata");
        return -1;
    }
    md->engine = (slice){parts[0].p + 2, parts[0].len - 2};
    md->name = (slice){NULL, 0};
    for (int i = 1; i < n; i++) {
        if (parts[i].len >= 5 && strncasecmp(parts[i].p, "name=", 5) == 0) {
            if (md->name.p) {
                snprintf(err, cap,
                         "ERR Invalid metadata value, name argument was given multiple times");
                return -1;
            }
            md->name = (slice){parts[i].p + 5, parts[i].len - 5};
            continue;
        }
        snprintf(err, cap, "ERR Invalid metadata value given: %.*s", (int)parts[i].len, parts[i].p);
        return -1;
    }
    if (!md->name.p) {
        snprintf(err, cap, "ERR Library name was not given");
        return -1;
    }
    md->shebang_len = (size_t)(nl - code);
    return 0;
}

/* Compiles the library and runs its top level; fills lib's functions. */
static int run_library_code(library *lib, const char *body, size_t len, int timeout_ms, char *err,
                            size_t cap) {
    char msg[512];
    luaenv_set_loading(L, 1);
    int rc = -1;
    if (luaenv_compile(L, body, len, "@user_function", msg, sizeof(msg)) < 0) {
        snprintf(err, cap, "ERR Error compiling function: %s", msg);
        goto done;
    }
    loading = lib;
    loading_start_us = clock_mono_us();
    loading_timeout = timeout_ms;
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    if (lua_pcall(L, 0, 0, 0)) {
        const char *e = NULL;
        if (lua_isstring(L, -1)) {
            snprintf(err, cap, "ERR Error registering functions: ERR %s", lua_tostring(L, -1));
        } else {
            if (lua_istable(L, -1)) {
                lua_getfield(L, -1, "err");
                e = lua_tostring(L, -1);
            }
            snprintf(err, cap, "ERR Error registering functions: %s", e ? e : "(null)");
            if (lua_istable(L, -2)) lua_pop(L, 1);
        }
        lua_pop(L, 1);
        goto done;
    }
    rc = 0;
done:
    lua_sethook(L, NULL, 0, 0);
    loading = NULL;
    luaenv_set_loading(L, 0);
    luaenv_gc_step(L, &gc_count);
    return rc;
}

int function_create(const char *code, size_t len, int replace, int timeout_ms, char *err,
                    size_t cap, char *name_out, size_t name_cap) {
    resp_parser p;
    resp_parser_init(&p);
    slice parts[64];
    lib_meta md;
    library *old = NULL, *lib = NULL;
    int rc = -1;
    if (parse_metadata(code, len, &md, err, cap, &p, parts, 64) < 0) goto done;
    if (!valid_name(md.name.p, md.name.len)) {
        snprintf(err, cap, "ERR %s", BAD_NAME);
        goto done;
    }
    if (md.engine.len != strlen(ENGINE_NAME) ||
        strncasecmp(md.engine.p, ENGINE_NAME, md.engine.len) != 0) {
        snprintf(err, cap, "ERR Engine '%.*s' not found", (int)md.engine.len, md.engine.p);
        goto done;
    }
    old = find_library(md.name.p, md.name.len);
    if (old && !replace) {
        snprintf(err, cap, "ERR Library '%.*s' already exists", (int)md.name.len, md.name.p);
        old = NULL;
        goto done;
    }
    if (old) unlink_library(old);
    lib = mem_calloc(1, sizeof(*lib));
    lib->name = mem_strndup(md.name.p, md.name.len);
    lib->code = mem_strndup(code, len);
    lib->code_len = len;
    if (run_library_code(lib, code + md.shebang_len, len - md.shebang_len, timeout_ms, err, cap) <
        0)
        goto done;
    if (lib->nfns == 0) {
        snprintf(err, cap, "ERR No functions registered");
        goto done;
    }
    for (function *f = lib->fns; f; f = f->next_in_lib) {
        if (find_function(f->name, strlen(f->name))) {
            snprintf(err, cap, "ERR Function %s already exists", f->name);
            goto done;
        }
    }
    link_library(lib);
    snprintf(name_out, name_cap, "%s", lib->name);
    lib = NULL;
    free_library(old);
    old = NULL;
    rc = 0;
done:
    free_library(lib);
    if (old) link_library(old);
    resp_parser_deinit(&p);
    return rc;
}

/* ---- FCALL ---- */

/* Dispatch's view of FCALL's flags: the function's (Redis's fcallGetCommandFlags). */
static uint32_t fcall_flags_of(cmd_ctx *c) {
    if (c->argc < 2) return c->cmd->flags;
    function *f = find_function(c->argv[1].p, c->argv[1].len);
    if (!f) return c->cmd->flags;
    c->cmd_cache = f;
    return script_cmd_flags(c->cmd->flags, f->flags);
}

static void fcall_generic(cmd_ctx *c, int ro) {
    function *f = c->cmd_cache ? c->cmd_cache : find_function(c->argv[1].p, c->argv[1].len);
    if (!f) {
        reply_error(c, "ERR Function not found");
        return;
    }
    long long numkeys;
    if (str_to_ll(c->argv[2].p, c->argv[2].len, &numkeys) < 0) {
        reply_error(c, "ERR Bad number of keys provided");
        return;
    }
    if (numkeys > c->argc - 3) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(c, "ERR Number of keys can't be negative");
        return;
    }
    script_run run;
    if (script_run_begin(&run, c, fn_session, f->name, f->flags, ro, 0) < 0) return;
    luaenv_push_error_handler(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
    luaenv_call(&run, L, c->argv + 3, (int)numkeys, c->argv + 3 + numkeys,
                c->argc - 3 - (int)numkeys);
    lua_pop(L, 1);
    script_run_end(&run);
    luaenv_gc_step(L, &gc_count);
}

static void cmd_fcall(cmd_ctx *c) {
    fcall_generic(c, 0);
}
static void cmd_fcall_ro(cmd_ctx *c) {
    fcall_generic(c, 1);
}

/* ---- FUNCTION ---- */

static void function_load(cmd_ctx *c) {
    int replace = 0, i = 2;
    for (; i < c->argc - 1; i++) {
        if (!slice_eq_ci(c->argv[i], "replace")) {
            reply_errorf(c, "ERR Unknown option given: %.*s", (int)c->argv[i].len, c->argv[i].p);
            return;
        }
        replace = 1;
    }
    if (i >= c->argc) {
        reply_error(c, "ERR Function code is missing");
        return;
    }
    char err[1024], name[256];
    /* The loader and replicas obey whatever the library does: no timeout. */
    int timeout = (c->s->flags & SESS_INTERNAL) ? 0 : LOAD_TIMEOUT_MS;
    if (function_create(c->argv[i].p, c->argv[i].len, replace, timeout, err, sizeof(err), name,
                        sizeof(name)) < 0) {
        reply_error(c, err);
        return;
    }
    db_stat.dirty++;
    reply_bulk_cstr(c, name);
}

static void function_delete(cmd_ctx *c) {
    library *lib = find_library(c->argv[2].p, c->argv[2].len);
    if (!lib) {
        reply_error(c, "ERR Library not found");
        return;
    }
    unlink_library(lib);
    free_library(lib);
    db_stat.dirty++;
    reply_ok(c);
}

static void function_flush(cmd_ctx *c) {
    if (c->argc > 3) {
        reply_error(c, "ERR unknown subcommand or wrong number of arguments for 'flush'. Try "
                       "FUNCTION HELP.");
        return;
    }
    if (c->argc == 3 && !slice_eq_ci(c->argv[2], "sync") && !slice_eq_ci(c->argv[2], "async")) {
        reply_error(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    function_reset();
    db_stat.dirty++;
    reply_ok(c);
}

/* ---- FUNCTION DUMP / RESTORE (Redis's payload: FUNCTION2 code ..., version, CRC64) ---- */

static void function_dump(cmd_ctx *c) {
    buf out;
    buf_init(&out);
    rdb_functions_payload(&out, function_foreach, config.rdbcompression);
    reply_bulk(c, out.data, out.len);
    buf_deinit(&out);
}

/* Unlinks every library, in load order, into an array (owned by the caller). */
static library **detach_all(size_t *n) {
    library **v = mem_alloc((nlibs ? nlibs : 1) * sizeof(*v));
    *n = 0;
    while (libs) {
        library *l = libs;
        unlink_library(l);
        v[(*n)++] = l;
    }
    return v;
}

/* One library of a RESTORE payload, loaded into the (emptied) registry as Redis loads it
 * into a fresh context: no time limit, a library named twice is refused. */
static int restore_one(const char *code, size_t len, void *ctx, char *err, size_t cap) {
    (void)ctx;
    char name[256];
    return function_create(code, len, 0, 0, err, cap, name, sizeof(name));
}

/* Joins the libraries that were there (old, n) to the restored ones now linked, as Redis's
 * libraryJoin: a name both have is refused, or with replace the old one goes; then no
 * function of a kept old library may share a restored function's name. On success the old
 * libraries kept come first, then the restored ones; on failure nothing is changed (the
 * caller puts the old ones back). Returns 0, or -1 with the error in err. */
static int join_old(library **old, size_t n, int replace, char *err, size_t cap) {
    char *drop = mem_calloc(n ? n : 1, 1);
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        if (!find_library(old[i]->name, strlen(old[i]->name))) continue;
        if (!replace) {
            snprintf(err, cap, "ERR Library %s already exists", old[i]->name);
            goto done;
        }
        drop[i] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        for (function *f = drop[i] ? NULL : old[i]->fns; f; f = f->next_in_lib) {
            function *clash = find_function(f->name, strlen(f->name));
            if (!clash) continue;
            snprintf(err, cap, "ERR Function %s already exists", clash->name);
            goto done;
        }
    }
    size_t nnew;
    library **restored = detach_all(&nnew);
    for (size_t i = 0; i < n; i++) {
        if (drop[i])
            free_library(old[i]);
        else
            link_library(old[i]);
    }
    for (size_t i = 0; i < nnew; i++)
        link_library(restored[i]);
    mem_free(restored);
    rc = 0;
done:
    mem_free(drop);
    return rc;
}

/* The restore policy argument: 0 APPEND (the default), 1 REPLACE, 2 FLUSH, -1 none. */
static int restore_policy(cmd_ctx *c) {
    if (c->argc < 4 || slice_eq_ci(c->argv[3], "append")) return 0;
    if (slice_eq_ci(c->argv[3], "replace")) return 1;
    if (slice_eq_ci(c->argv[3], "flush")) return 2;
    return -1;
}

static void function_restore(cmd_ctx *c) {
    if (c->argc > 4) {
        reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "FUNCTION HELP.",
                     (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].p);
        return;
    }
    int policy = restore_policy(c);
    if (policy < 0) {
        reply_error(c, "ERR Wrong restore policy given, value should be either FLUSH, APPEND or "
                       "REPLACE.");
        return;
    }
    size_t nold;
    library **old = detach_all(&nold);
    char err[1024];
    int rc = rdb_functions_payload_read(c->argv[2].p, c->argv[2].len, restore_one, NULL, err,
                                        sizeof(err));
    if (rc == RDB_EVERSION)
        snprintf(err, sizeof(err), "DUMP payload version or checksum are wrong");
    if (rc == RDB_OK && policy == 2) {
        for (size_t i = 0; i < nold; i++)
            free_library(old[i]);
    } else if (rc == RDB_OK) {
        rc = join_old(old, nold, policy == 1, err, sizeof(err));
    }
    if (rc != RDB_OK) {
        /* Drop what the payload brought, put the old libraries back. */
        size_t nnew;
        library **restored = detach_all(&nnew);
        for (size_t i = 0; i < nnew; i++)
            free_library(restored[i]);
        mem_free(restored);
        for (size_t i = 0; i < nold; i++)
            link_library(old[i]);
        mem_free(old);
        if (strncmp(err, "ERR ", 4) == 0)
            reply_error(c, err);
        else
            reply_errorf(c, "ERR %s", err);
        return;
    }
    mem_free(old);
    db_stat.dirty++;
    reply_ok(c);
}

static void reply_flags(cmd_ctx *c, int flags) {
    size_t n = 0;
    for (const script_flag_name *f = script_flag_names; f->name; f++)
        if (flags & f->flag) n++;
    reply_set(c, n);
    for (const script_flag_name *f = script_flag_names; f->name; f++)
        if (flags & f->flag) reply_simple(c, f->name);
}

static void reply_library(cmd_ctx *c, const library *lib, int with_code) {
    reply_map(c, with_code ? 4 : 3);
    reply_bulk_cstr(c, "library_name");
    reply_bulk_cstr(c, lib->name);
    reply_bulk_cstr(c, "engine");
    reply_bulk_cstr(c, ENGINE_NAME);
    reply_bulk_cstr(c, "functions");
    reply_array(c, lib->nfns);
    /* Registration order (the list holds them newest first). */
    const function **order = mem_alloc(sizeof(*order) * (lib->nfns ? lib->nfns : 1));
    size_t k = lib->nfns;
    for (const function *f = lib->fns; f; f = f->next_in_lib)
        order[--k] = f;
    for (size_t j = 0; j < lib->nfns; j++) {
        const function *f = order[j];
        reply_map(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk_cstr(c, f->name);
        reply_bulk_cstr(c, "description");
        if (f->desc)
            reply_bulk_cstr(c, f->desc);
        else
            reply_null(c);
        reply_bulk_cstr(c, "flags");
        reply_flags(c, f->flags);
    }
    mem_free(order);
    if (with_code) {
        reply_bulk_cstr(c, "library_code");
        reply_bulk(c, lib->code, lib->code_len);
    }
}

static void function_list(cmd_ctx *c) {
    int with_code = 0;
    slice pattern = {NULL, 0};
    for (int i = 2; i < c->argc; i++) {
        if (!with_code && slice_eq_ci(c->argv[i], "withcode")) {
            with_code = 1;
            continue;
        }
        if (!pattern.p && slice_eq_ci(c->argv[i], "libraryname")) {
            if (i >= c->argc - 1) {
                reply_error(c, "ERR library name argument was not given");
                return;
            }
            pattern = c->argv[++i];
            continue;
        }
        reply_errorf(c, "ERR Unknown argument %.*s", (int)c->argv[i].len, c->argv[i].p);
        return;
    }
    size_t n = 0;
    for (library *l = libs; l; l = l->next)
        if (!pattern.p || glob_match(pattern.p, pattern.len, l->name, strlen(l->name), 1)) n++;
    reply_array(c, n);
    for (library *l = libs; l; l = l->next)
        if (!pattern.p || glob_match(pattern.p, pattern.len, l->name, strlen(l->name), 1))
            reply_library(c, l, with_code);
}

static void function_stats(cmd_ctx *c) {
    script_run *run = script_current();
    if (run && (run->flags & RUN_EVAL)) {
        reply_error(c, "BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                       "SHUTDOWN NOSAVE.");
        return;
    }
    reply_map(c, 2);
    reply_bulk_cstr(c, "running_script");
    if (!run) {
        reply_null(c);
    } else {
        reply_map(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk_cstr(c, run->name);
        reply_bulk_cstr(c, "command");
        reply_array(c, (size_t)run->caller->argc);
        for (int i = 0; i < run->caller->argc; i++)
            reply_bulk_slice(c, run->caller->argv[i]);
        reply_bulk_cstr(c, "duration_ms");
        reply_int(c, (clock_mono_us() - run->start_us) / 1000);
    }
    reply_bulk_cstr(c, "engines");
    reply_map(c, 1);
    reply_bulk_cstr(c, ENGINE_NAME);
    reply_map(c, 2);
    reply_bulk_cstr(c, "libraries_count");
    reply_int(c, (long long)nlibs);
    reply_bulk_cstr(c, "functions_count");
    reply_int(c, (long long)dict_size(&functions));
}

static void function_kill(cmd_ctx *c) {
    script_kill(c, 0);
}

static void function_help(cmd_ctx *c) {
    static const char *const help[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, help);
}

/* ---- what persistence and INFO need ---- */

void function_foreach(void (*fn)(const char *code, size_t len, void *ctx), void *ctx) {
    for (library *l = libs; l; l = l->next)
        fn(l->code, l->code_len, ctx);
}

size_t function_libraries_count(void) {
    return nlibs;
}
size_t function_count(void) {
    return dict_size(&functions);
}
size_t function_lua_memory(void) {
    return luaenv_memory(L);
}

size_t function_memory_overhead(void) {
    size_t n = dict_size(&functions) * sizeof(void *);
    for (library *l = libs; l; l = l->next) {
        n += sizeof(*l) + strlen(l->name) + 1 + l->code_len + 1;
        for (function *f = l->fns; f; f = f->next_in_lib)
            n += sizeof(*f) + 2 * (strlen(f->name) + 1) + (f->desc ? strlen(f->desc) + 1 : 0);
    }
    return n;
}

void function_flush_all(void) {
    function_reset();
}

#define FN(extra) (CMD_NOSCRIPT | (extra))

static const cmd_spec function_subcommands[] = {
    {"delete", function_delete, 3, FN(CMD_WRITE), 0, 0, 0, "scripting", "7.0.0", "O(1)",
     "Deletes a library and its functions.", "library-name", NULL, "@write @slow @scripting"},
    {"dump", function_dump, 2, FN(0), 0, 0, 0, "scripting", "7.0.0",
     "O(N) where N is the number of functions",
     "Dumps all libraries into a serialized binary "
     "payload.",
     "", NULL, "@slow @scripting"},
    {"flush", function_flush, -2, FN(CMD_WRITE), 0, 0, 0, "scripting", "7.0.0",
     "O(N) where N is the number of functions deleted", "Deletes all libraries and functions.",
     "[ASYNC|SYNC]", NULL, "@write @slow @scripting"},
    {"help", function_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "scripting", "7.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow @scripting"},
    {"kill", function_kill, 2, FN(CMD_ALLOW_BUSY), 0, 0, 0, "scripting", "7.0.0", "O(1)",
     "Terminates a function during execution.", "", NULL, "@slow @scripting"},
    {"list", function_list, -2, FN(0), 0, 0, 0, "scripting", "7.0.0",
     "O(N) where N is the number of functions", "Returns information about all libraries.",
     "[LIBRARYNAME library-name-pattern] [WITHCODE]", NULL, "@slow @scripting"},
    {"load", function_load, -3, FN(CMD_WRITE | CMD_DENYOOM), 0, 0, 0, "scripting", "7.0.0",
     "O(1) (considering compilation time is redundant)", "Creates a library.",
     "[REPLACE] function-code", NULL, "@write @slow @scripting"},
    {"restore", function_restore, -3, FN(CMD_WRITE | CMD_DENYOOM), 0, 0, 0, "scripting", "7.0.0",
     "O(N) where N is the number of functions on the payload",
     "Restores all libraries from a payload.", "serialized-value [FLUSH|APPEND|REPLACE]", NULL,
     "@write @slow @scripting"},
    {"stats", function_stats, 2, FN(CMD_ALLOW_BUSY), 0, 0, 0, "scripting", "7.0.0", "O(1)",
     "Returns information about a function during execution.", "", NULL, "@slow @scripting"},
    {0},
};

#define FCALL_FLAGS                                                                                \
    (CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_MOVABLE_KEYS)

const cmd_spec cmd_family_function[] = {
    {"fcall", cmd_fcall, -3, FCALL_FLAGS | CMD_MAY_REPLICATE, 0, 0, 0, "scripting", "7.0.0",
     "Depends on the function that is executed.", "Invokes a function.",
     "function numkeys [key [key ...]] [arg [arg ...]]", NULL, "@slow @scripting",
     .key_specs = script_keys_rw, .flags_of = fcall_flags_of},
    {"fcall_ro", cmd_fcall_ro, -3, FCALL_FLAGS | CMD_READONLY, 0, 0, 0, "scripting", "7.0.0",
     "Depends on the function that is executed.", "Invokes a read-only function.",
     "function numkeys [key [key ...]] [arg [arg ...]]", NULL, "@slow @scripting",
     .key_specs = script_keys_ro, .flags_of = fcall_flags_of},
    {"function", NULL, -2, 0, 0, 0, 0, "scripting", "7.0.0", "Depends on subcommand.",
     "A container for function commands.", "", function_subcommands, "@slow"},
    {0},
};
