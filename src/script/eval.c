/* eval: EVAL, EVALSHA, their _RO forms and SCRIPT, over a cache of compiled scripts.
 *
 * The cache maps a script's SHA-1 (40 lower-case hex digits) to its body, its shebang
 * flags and a reference to the compiled function in the EVAL interpreter's registry:
 *
 *     scripts: dict  sha ──▶ cached { body, flags, lua ref, lru links }
 *     lru: oldest ⇄ ... ⇄ newest    (scripts added by EVAL only; SCRIPT LOAD's stay)
 *
 * As in Redis 8, at most 500 scripts that arrived through EVAL are kept: adding one more
 * evicts the least recently run (INFO evicted_scripts). SCRIPT FLUSH drops the cache and
 * the whole interpreter, so no state of old scripts survives it. */
#include "mayfly/resp/resp.h"
#include "mayfly/script/script.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/sha1.h"
#include "script/script_int.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#define LRU_MAX 500

typedef struct cached {
    dict_node node; /* in scripts; must be first */
    char sha[41];
    int flags; /* SFLAG_* */
    int ref;   /* the compiled function in the registry */
    int from_eval;
    struct cached *prev, *next; /* LRU list (from_eval scripts only) */
    size_t body_len;
    char body[]; /* the script as sent (the AOF/replicas never need it: effects are logged) */
} cached;

static void cached_key(const dict_node *n, const char **key, size_t *len) {
    *key = ((const cached *)n)->sha;
    *len = 40;
}
static const dict_type cached_type = {.key_of = cached_key};

static lua_State *L;
static session *eval_session;
static dict scripts;
static cached *lru_head, *lru_tail; /* oldest first */
static size_t lru_len;
static int gc_count;
static size_t body_bytes;
long long script_evicted_scripts;

static void lru_unlink(cached *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        lru_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        lru_tail = s->prev;
    s->prev = s->next = NULL;
    lru_len--;
}

static void lru_push(cached *s) {
    s->prev = lru_tail;
    s->next = NULL;
    if (lru_tail)
        lru_tail->next = s;
    else
        lru_head = s;
    lru_tail = s;
    lru_len++;
}

static void free_cached(dict_node *n, void *ctx) {
    (void)ctx;
    mem_free(n);
}

void eval_init(void) {
    L = luaenv_new(LUAENV_EVAL);
    if (!eval_session) eval_session = script_session_new();
    dict_init(&scripts, &cached_type);
}

void eval_free(void) {
    dict_clear(&scripts, free_cached, NULL);
    dict_deinit(&scripts);
    lru_head = lru_tail = NULL;
    lru_len = 0;
    body_bytes = 0;
    luaenv_free(L);
    L = NULL;
}

static void eval_reset(void) {
    eval_free();
    eval_init();
}

/* ---- shebang ---- */

/* Splits the first line as Redis's sdssplitargs (through the inline request parser, which
 * follows the same quoting rules). Returns the argument count (argv filled, borrowed from
 * p), or -1 on unbalanced quotes. */
int script_split_line(resp_parser *p, const char *line, size_t len, slice *argv, int max) {
    buf tmp;
    buf_init(&tmp);
    buf_append(&tmp, line, len);
    buf_putc(&tmp, '\n');
    resp_parser_reset(p);
    p->limits.max_inline = len + 2;
    int rc = resp_parse(p, tmp.data, tmp.len);
    int n = -1;
    if (rc == RESP_OK) {
        n = p->argc < max ? p->argc : max;
        for (int i = 0; i < n; i++)
            argv[i] = (slice){resp_arg_ptr(p, tmp.data, i), p->argv[i].len};
    }
    buf_deinit(&tmp);
    return n;
}

int script_shebang_flags(const char *body, size_t len, int *flags, size_t *shebang_len, char *err,
                         size_t cap) {
    *flags = SFLAG_EVAL_COMPAT;
    *shebang_len = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!') return 0;
    const char *nl = memchr(body, '\n', len);
    if (!nl) {
        snprintf(err, cap, "ERR Invalid script shebang");
        return -1;
    }
    resp_parser p;
    resp_parser_init(&p);
    slice parts[64];
    int n = script_split_line(&p, body, (size_t)(nl - body), parts, 64);
    int rc = -1;
    if (n <= 0) {
        snprintf(err, cap, "ERR Invalid engine in script shebang");
        goto done;
    }
    if (!slice_eq(parts[0], slice_of("#!lua"))) {
        snprintf(err, cap, "ERR Unexpected engine in script shebang: %.*s", (int)parts[0].len,
                 parts[0].p);
        goto done;
    }
    int f = 0;
    for (int j = 1; j < n; j++) {
        if (parts[j].len < 6 || memcmp(parts[j].p, "flags=", 6) != 0) {
            snprintf(err, cap, "ERR Unknown lua shebang option: %.*s", (int)parts[j].len,
                     parts[j].p);
            goto done;
        }
        const char *s = parts[j].p + 6, *end = parts[j].p + parts[j].len;
        while (s < end) {
            const char *comma = memchr(s, ',', (size_t)(end - s));
            const char *stop = comma ? comma : end;
            const script_flag_name *fl = script_flag_names;
            for (; fl->name; fl++)
                if (strlen(fl->name) == (size_t)(stop - s) &&
                    memcmp(fl->name, s, (size_t)(stop - s)) == 0)
                    break;
            if (!fl->name) {
                snprintf(err, cap, "ERR Unexpected flag in script shebang: %.*s", (int)(stop - s),
                         s);
                goto done;
            }
            f |= fl->flag;
            s = comma ? comma + 1 : end;
        }
    }
    *flags = f;
    *shebang_len = (size_t)(nl - body);
    rc = 0;
done:
    resp_parser_deinit(&p);
    return rc;
}

/* ---- the cache ---- */

static cached *find_sha(const char *sha) {
    return (cached *)dict_find(&scripts, sha, 40);
}

static void drop_cached(cached *s) {
    lua_unref(L, s->ref);
    if (s->from_eval) lru_unlink(s);
    dict_unlink(&scripts, &s->node);
    body_bytes -= s->body_len;
    mem_free(s);
}

/* Compiles and caches body (if it is not cached yet). Returns the entry, or NULL after
 * replying the error to c. */
static cached *create_script(cmd_ctx *c, slice body, int from_eval) {
    char sha[41];
    sha1_hex(sha, body.p, body.len);
    cached *s = find_sha(sha);
    if (s) return s;
    int flags;
    size_t skip;
    char err[512];
    if (script_shebang_flags(body.p, body.len, &flags, &skip, err, sizeof(err)) < 0) {
        reply_error(c, err);
        return NULL;
    }
    /* The shebang's line feed stays, so line numbers match the script as sent. */
    if (luaenv_compile(L, body.p + skip, body.len - skip, "@user_script", err, sizeof(err)) < 0) {
        reply_errorf(c, "ERR Error compiling script (new function): %s", err);
        luaenv_gc_step(L, &gc_count);
        return NULL;
    }
    if (from_eval) {
        while (lru_len >= LRU_MAX) {
            drop_cached(lru_head);
            script_evicted_scripts++;
        }
    }
    s = mem_calloc(1, sizeof(*s) + body.len + 1);
    memcpy(s->sha, sha, 41);
    s->flags = flags;
    s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->from_eval = from_eval;
    s->body_len = body.len;
    memcpy(s->body, body.p, body.len);
    dict_add(&scripts, &s->node);
    if (from_eval) lru_push(s);
    body_bytes += body.len;
    luaenv_gc_step(L, &gc_count);
    return s;
}

/* ---- EVAL and EVALSHA ---- */

static void cmd_eval(cmd_ctx *c);
static void cmd_evalsha(cmd_ctx *c);

static cached *find_sha_arg(slice arg) {
    char sha[41];
    for (int i = 0; i < 40; i++) {
        char ch = arg.p[i];
        sha[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
    }
    sha[40] = '\0';
    return find_sha(sha);
}

static void cmd_evalsha_ro(cmd_ctx *c);

static int is_evalsha(const cmd_ctx *c) {
    return c->cmd->fn == cmd_evalsha || c->cmd->fn == cmd_evalsha_ro;
}

/* Dispatch's view of EVAL's flags (Redis's evalGetCommandFlags): those of the cached
 * script, or of the shebang of a script not cached yet; the script found is left for
 * the handler in c->cmd_cache. */
static uint32_t eval_flags_of(cmd_ctx *c) {
    uint32_t f = c->cmd->flags;
    int sha = is_evalsha(c);
    if (c->argc < 2 || (sha && c->argv[1].len != 40)) return f;
    cached *s;
    int sflags;
    if (sha) {
        s = find_sha_arg(c->argv[1]);
        if (!s) return f;
        sflags = s->flags;
    } else {
        char hex[41];
        sha1_hex(hex, c->argv[1].p, c->argv[1].len);
        s = find_sha(hex);
        if (s) {
            sflags = s->flags;
        } else {
            size_t skip;
            char err[256];
            if (script_shebang_flags(c->argv[1].p, c->argv[1].len, &sflags, &skip, err,
                                     sizeof(err)) < 0)
                return f;
        }
    }
    c->cmd_cache = s;
    return script_cmd_flags(f, sflags);
}

static void eval_generic(cmd_ctx *c, int evalsha, int ro) {
    if (evalsha && c->argv[1].len != 40) {
        reply_error(c, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    long long numkeys;
    if (arg_ll(c, c->argv[2], &numkeys) < 0) return;
    if (numkeys > c->argc - 3) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(c, "ERR Number of keys can't be negative");
        return;
    }
    cached *s = c->cmd_cache;
    if (!s && evalsha) {
        s = find_sha_arg(c->argv[1]);
        if (!s) {
            reply_error(c, "NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
    } else if (!s) {
        s = create_script(c, c->argv[1], 1);
        if (!s) return;
    }
    script_run run;
    if (script_run_begin(&run, c, eval_session, s->sha, s->flags, ro, 1) < 0) return;
    luaenv_push_error_handler(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);
    luaenv_call(&run, L, c->argv + 3, (int)numkeys, c->argv + 3 + numkeys,
                c->argc - 3 - (int)numkeys);
    lua_pop(L, 1); /* the error handler */
    script_run_end(&run);
    luaenv_gc_step(L, &gc_count);
    /* Nothing inside a script can evict from the cache (EVAL is refused there). */
    if (s->from_eval) {
        lru_unlink(s);
        lru_push(s);
    }
}

static void cmd_eval(cmd_ctx *c) {
    eval_generic(c, 0, 0);
}
static void cmd_evalsha(cmd_ctx *c) {
    eval_generic(c, 1, 0);
}
static void cmd_eval_ro(cmd_ctx *c) {
    eval_generic(c, 0, 1);
}
static void cmd_evalsha_ro(cmd_ctx *c) {
    eval_generic(c, 1, 1);
}

/* ---- SCRIPT ---- */

static void script_help(cmd_ctx *c) {
    static const char *const help[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, help);
}

static void script_exists(cmd_ctx *c) {
    reply_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        int found = 0;
        if (c->argv[i].len == 40) {
            char sha[41];
            for (int j = 0; j < 40; j++) {
                char ch = c->argv[i].p[j];
                sha[j] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
            }
            sha[40] = '\0';
            found = find_sha(sha) != NULL;
        }
        reply_int(c, found);
    }
}

static void script_flush(cmd_ctx *c) {
    if (c->argc == 3 && !slice_eq_ci(c->argv[2], "sync") && !slice_eq_ci(c->argv[2], "async")) {
        reply_error(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    if (c->argc > 3) {
        reply_error(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    /* ASYNC and SYNC both free at once: the interpreter is small next to a dataset. */
    eval_reset();
    reply_ok(c);
}

static void script_load(cmd_ctx *c) {
    cached *s = create_script(c, c->argv[2], 0);
    if (!s) return;
    /* A script first cached by EVAL becomes permanent once loaded explicitly? Redis keeps
     * it where it is; so do we. */
    reply_bulk(c, s->sha, 40);
}

static void script_kill_cmd(cmd_ctx *c) {
    script_kill(c, 1);
}

static void script_debug(cmd_ctx *c) {
    if (slice_eq_ci(c->argv[2], "no")) {
        reply_ok(c);
        return;
    }
    if (slice_eq_ci(c->argv[2], "yes") || slice_eq_ci(c->argv[2], "sync")) {
        reply_error(c, "ERR SCRIPT DEBUG is not supported by this server");
        return;
    }
    reply_error(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

/* ---- INFO and memory ---- */

size_t eval_scripts_count(void) {
    return dict_size(&scripts);
}
size_t eval_lua_memory(void) {
    return luaenv_memory(L);
}
size_t eval_scripts_memory(void) {
    return body_bytes + dict_size(&scripts) * (sizeof(cached) + 41);
}

#define SCRIPTING(extra) (CMD_NOSCRIPT | (extra))

static const cmd_spec script_subcommands[] = {
    {"debug", script_debug, 3, SCRIPTING(0), 0, 0, 0, "scripting", "3.2.0", "O(1)",
     "Sets the debug mode of server-side Lua scripts.", "<YES|SYNC|NO>", NULL, "@slow @scripting"},
    {"exists", script_exists, -3, SCRIPTING(0), 0, 0, 0, "scripting", "2.6.0",
     "O(N) with N being the number of scripts to check (so checking a single script is an O(1) "
     "operation).",
     "Determines whether server-side Lua scripts exist in the script cache.", "sha1 [sha1 ...]",
     NULL, "@slow @scripting"},
    {"flush", script_flush, -2, SCRIPTING(0), 0, 0, 0, "scripting", "2.6.0",
     "O(N) with N being the number of scripts in cache",
     "Removes all server-side Lua scripts from the script cache.", "[ASYNC|SYNC]", NULL,
     "@slow @scripting"},
    {"help", script_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "scripting", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow @scripting"},
    {"kill", script_kill_cmd, 2, SCRIPTING(CMD_ALLOW_BUSY), 0, 0, 0, "scripting", "2.6.0", "O(1)",
     "Terminates a server-side Lua script during execution.", "", NULL, "@slow @scripting"},
    {"load", script_load, 3, SCRIPTING(CMD_STALE), 0, 0, 0, "scripting", "2.6.0",
     "O(N) with N being the length in bytes of the script body.",
     "Loads a server-side Lua script to the script cache.", "script", NULL, "@slow @scripting"},
    {0},
};

#define EVAL_FLAGS                                                                                 \
    (CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_MOVABLE_KEYS)

/* The keys follow numkeys (Redis's key specs, with its notes). */
const cmd_key_spec script_keys_rw[] = {
    {.flags = KS_RW | KS_ACCESS | KS_UPDATE,
     .notes = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
     .begin = KS_BEGIN_INDEX,
     .index = 2,
     .find = KS_FIND_KEYNUM,
     .keynumidx = 0,
     .firstkey = 1,
     .step = 1},
    {0},
};
const cmd_key_spec script_keys_ro[] = {
    {.flags = KS_RO | KS_ACCESS,
     .notes = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS",
     .begin = KS_BEGIN_INDEX,
     .index = 2,
     .find = KS_FIND_KEYNUM,
     .keynumidx = 0,
     .firstkey = 1,
     .step = 1},
    {0},
};
/* EVALSHA's specs carry no notes. */
static const cmd_key_spec sha_keys_rw[] = {
    {.flags = KS_RW | KS_ACCESS | KS_UPDATE,
     .begin = KS_BEGIN_INDEX,
     .index = 2,
     .find = KS_FIND_KEYNUM,
     .keynumidx = 0,
     .firstkey = 1,
     .step = 1},
    {0},
};
static const cmd_key_spec sha_keys_ro[] = {
    {.flags = KS_RO | KS_ACCESS,
     .begin = KS_BEGIN_INDEX,
     .index = 2,
     .find = KS_FIND_KEYNUM,
     .keynumidx = 0,
     .firstkey = 1,
     .step = 1},
    {0},
};

const cmd_spec cmd_family_eval[] = {
    {"eval", cmd_eval, -3, EVAL_FLAGS | CMD_MAY_REPLICATE, 0, 0, 0, "scripting", "2.6.0",
     "Depends on the script that is executed.", "Executes a server-side Lua script.",
     "script numkeys [key [key ...]] [arg [arg ...]]", NULL, "@slow @scripting",
     .key_specs = script_keys_rw, .flags_of = eval_flags_of},
    {"evalsha", cmd_evalsha, -3, EVAL_FLAGS | CMD_MAY_REPLICATE, 0, 0, 0, "scripting", "2.6.0",
     "Depends on the script that is executed.", "Executes a server-side Lua script by SHA1 digest.",
     "sha1 numkeys [key [key ...]] [arg [arg ...]]", NULL, "@slow @scripting",
     .key_specs = sha_keys_rw, .flags_of = eval_flags_of},
    {"eval_ro", cmd_eval_ro, -3, EVAL_FLAGS | CMD_READONLY, 0, 0, 0, "scripting", "7.0.0",
     "Depends on the script that is executed.", "Executes a read-only server-side Lua script.",
     "script numkeys [key [key ...]] [arg [arg ...]]", NULL, "@slow @scripting",
     .key_specs = script_keys_ro, .flags_of = eval_flags_of},
    {"evalsha_ro", cmd_evalsha_ro, -3, EVAL_FLAGS | CMD_READONLY, 0, 0, 0, "scripting", "7.0.0",
     "Depends on the script that is executed.",
     "Executes a read-only server-side Lua script by SHA1 digest.",
     "sha1 numkeys [key [key ...]] [arg [arg ...]]", NULL, "@slow @scripting",
     .key_specs = sha_keys_ro, .flags_of = eval_flags_of},
    {"script", NULL, -2, 0, 0, 0, 0, "scripting", "2.6.0", "Depends on subcommand.",
     "A container for Lua scripts management commands.", "", script_subcommands, "@slow"},
    {0},
};
