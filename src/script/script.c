/* script: Lua scripting (EVAL, FCALL): how a script runs, what its commands may do, and
 * how the server stays responsive while a script is busy.
 *
 * Two sandboxed interpreters (lua_env.c): one for EVAL scripts (eval.c keeps them by
 * SHA-1) and one for function libraries (function.c). A run (script_run) lasts one EVAL or
 * FCALL: script_run_begin checks the script's flags against the server (Redis's
 * scriptPrepareForRun), redis.call runs each command through script_run_command (arity,
 * no-script, read-only scripts, -MISCONF, then the command table's own handler in the
 * engine's script session, whose replies lua_reply.c converts), and script_run_end closes
 * it. All of a script's commands share the caller's "now", and their effects are written
 * to the log as one MULTI/EXEC unit by the propagation around EVAL's own call.
 *
 * Busy scripts. Every 100,000 Lua instructions a hook calls script_interrupt. Once a
 * script has run for busy-reply-threshold ms it is "timed out": the caller's connection
 * is protected (not read, not closed: its query buffer holds the script's arguments), and
 * on every later hook the host serves one non-blocking turn of the event loop
 * (script_host.serve: uv_run(UV_RUN_NOWAIT) in server.c). In that turn other clients are
 * read and answered, but dispatch refuses every command without the allow-busy flag with
 * -BUSY (script_busy_error), so only AUTH, HELLO, MULTI/DISCARD/WATCH/UNWATCH, QUIT, RESET,
 * SCRIPT KILL, FUNCTION KILL/STATS and SHUTDOWN run; the cron, active expiry, rehashing and
 * background saves pause (script_host.busy_changed), so nothing touches the data under the
 * script. SCRIPT/FUNCTION KILL sets RUN_KILLED and the hook raises an error that pcall
 * cannot catch; a script that wrote is UNKILLABLE; SHUTDOWN NOSAVE exits from inside the
 * turn, as Redis does, before the script's effects reach the log.
 *
 * Why a nested uv_run is sound here (libuv says uv_run is not reentrant): scripts only run
 * from a stream's read or write callback (loading replays scripts without ever entering
 * busy mode), never from the timer, idle, prepare or check phases whose queues a nested
 * turn would walk twice. In the I/O phase the outer epoll batch may hold events for
 * descriptors the nested turn closed; libuv skips watchers that are gone, and a reused
 * descriptor gets at most a spurious readiness that its read answers EAGAIN. The caller's
 * own handle is neither read (its buffer must not move) nor closed until the script ends. */
#include "mayfly/script/script.h"

#include "mayfly/acl/acl.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/info.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "script/script_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

const script_flag_name script_flag_names[] = {
    {SFLAG_NO_WRITES, "no-writes"},
    {SFLAG_ALLOW_OOM, "allow-oom"},
    {SFLAG_ALLOW_STALE, "allow-stale"},
    {SFLAG_NO_CLUSTER, "no-cluster"},
    {SFLAG_ALLOW_CROSS_SLOT, "allow-cross-slot-keys"},
    {0, NULL},
};

#define BUSY_EVAL                                                                                  \
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
#define BUSY_FUNCTION                                                                              \
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."

static script_run *current;
static int busy_now; /* 1 while a script runs past its threshold: arms the busy gate */
static script_host hooks;

void script_set_host(const script_host *h) {
    hooks = *h;
}

void script_init(const script_host *h) {
    if (h) script_set_host(h);
    eval_init();
    function_init();
}

void script_info_fill(info_scripting *out) {
    out->eval_vm = eval_lua_memory();
    out->eval_scripts = eval_scripts_memory();
    out->cached_scripts = eval_scripts_count();
    out->function_count = function_count();
    out->library_count = function_libraries_count();
    out->functions_vm = function_lua_memory();
    out->functions = function_memory_overhead();
    out->evicted_scripts = script_evicted_scripts;
}

void script_shutdown(void) {
    eval_free();
    function_free();
}

script_run *script_current(void) {
    return current;
}

int script_is_busy(void) {
    return current && (current->flags & RUN_TIMEDOUT);
}

const char *script_busy_error(void) {
    if (!script_is_busy()) return NULL;
    return (current->flags & RUN_EVAL) ? BUSY_EVAL : BUSY_FUNCTION;
}

static const char *busy_gate_check(cmd_ctx *c, char *msg, size_t cap) {
    (void)c;
    (void)msg;
    (void)cap;
    return script_busy_error();
}

const cmd_gate script_gate_busy = {"busy",         CMD_GATE_BUSY, 0,
                                   CMD_ALLOW_BUSY, &busy_now,     busy_gate_check};

/* ---- the script session ---- */

static void no_session_op(session *s) {
    (void)s;
}
static size_t no_qbuf(const session *s) {
    (void)s;
    return 0;
}
static const session_ops script_session_ops = {no_session_op, no_session_op, no_qbuf, NULL};

session *script_session_new(void) {
    session *s = mem_calloc(1, sizeof(*s));
    s->proto = 2;
    s->db = db_get(0);
    s->authenticated = 1;
    s->flags = SESS_INTERNAL;
    s->user = acl_default_user(); /* a run takes its caller's user (script_run_begin) */
    s->fd = -1;
    s->ops = &script_session_ops;
    snprintf(s->addr, sizeof(s->addr), "%s", "lua");
    buf_init(&s->out);
    return s;
}

void script_session_free(session *s) {
    if (!s) return;
    buf_deinit(&s->out);
    mem_free(s);
}

void script_reply_error_nostats(cmd_ctx *c, const char *msg, size_t len) {
    size_t at = c->out->len;
    resp_w_error_len(c->out, msg, len);
    for (size_t i = at + 1; i + 2 < c->out->len; i++)
        if (c->out->data[i] == '\r' || c->out->data[i] == '\n') c->out->data[i] = ' ';
    c->replied_error = 1;
}

uint32_t script_cmd_flags(uint32_t cmd_flags, int sflags) {
    if (sflags & SFLAG_EVAL_COMPAT) return cmd_flags;
    cmd_flags &= ~(uint32_t)(CMD_STALE | CMD_DENYOOM | CMD_WRITE | CMD_MAY_REPLICATE);
    if (!(sflags & (SFLAG_ALLOW_OOM | SFLAG_NO_WRITES))) cmd_flags |= CMD_DENYOOM;
    if (!(sflags & SFLAG_NO_WRITES)) cmd_flags |= CMD_WRITE;
    if (sflags & SFLAG_ALLOW_STALE) cmd_flags |= CMD_STALE;
    return cmd_flags;
}

/* ---- beginning and ending a run ---- */

static const char *misconf_for_scripts(const char *refusal, char *tmp, size_t cap) {
    const char *aof = strstr(refusal, "AOF file: ");
    if (!aof)
        return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
               "to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read "
               "only scripts.";
    snprintf(tmp, cap,
             "MISCONF Redis is configured to persist data to AOF, but it's currently unable to "
             "persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only "
             "scripts. AOF error: %s",
             aof + strlen("AOF file: "));
    return tmp;
}

/* 1 when the OOM state found before the command binds the session: maxmemory is set, it
 * was over the limit with nothing to evict, and the session is not the log's replay. */
static int oom_applies(const session *s) {
    return config.maxmemory && evict_oom_at_start && !(s->flags & SESS_INTERNAL);
}

int script_run_begin(script_run *run, cmd_ctx *caller, session *sess, const char *name, int sflags,
                     int read_only, int eval_mode) {
    if (!(sflags & SFLAG_EVAL_COMPAT) && !(sflags & SFLAG_NO_WRITES)) {
        const char *refusal = hooks.write_refusal ? hooks.write_refusal() : NULL;
        if (refusal && !(caller->s->flags & SESS_INTERNAL)) {
            char tmp[512];
            reply_error(caller, misconf_for_scripts(refusal, tmp, sizeof(tmp)));
            return -1;
        }
        if (read_only) {
            reply_error(caller, "ERR Can not execute a script with write flag using *_ro command.");
            return -1;
        }
        refusal = hooks.replicas_refusal ? hooks.replicas_refusal() : NULL;
        if (refusal && !(caller->s->flags & SESS_INTERNAL)) {
            reply_error(caller, refusal);
            return -1;
        }
    }
    /* Memory was over maxmemory with nothing to evict when the command started: a script
     * that may write must say allow-oom (no-writes implies it). */
    if (!(sflags & SFLAG_EVAL_COMPAT) && !(sflags & (SFLAG_ALLOW_OOM | SFLAG_NO_WRITES)) &&
        oom_applies(caller->s)) {
        reply_error(caller, "OOM allow-oom flag is not set on the script, can not run it when "
                            "used memory > 'maxmemory'");
        return -1;
    }
    memset(run, 0, sizeof(*run));
    run->caller = caller;
    run->sess = sess;
    run->name = name;
    run->repl = REPL_TO_AOF | REPL_TO_REPLICAS;
    run->start_us = clock_mono_us();
    sess->proto = 2;
    sess->db_id = caller->db->id;
    sess->db = caller->db;
    if (eval_mode) run->flags |= RUN_EVAL;
    if (read_only || (!(sflags & SFLAG_EVAL_COMPAT) && (sflags & SFLAG_NO_WRITES)))
        run->flags |= RUN_READ_ONLY;
    if (!(sflags & SFLAG_EVAL_COMPAT) && (sflags & SFLAG_ALLOW_OOM)) run->flags |= RUN_ALLOW_OOM;
    current = run;
    return 0;
}

void script_run_end(script_run *run) {
    if (run->flags & RUN_TIMEDOUT) {
        run->flags &= ~RUN_TIMEDOUT;
        armed_set(&busy_now, 0);
        session *caller = run->caller->s;
        if (caller->ops && caller->ops->protect) caller->ops->protect(caller, 0);
        if (hooks.busy_changed) hooks.busy_changed(0);
    }
    current = NULL;
}

/* ---- busy scripts ---- */

int script_interrupt(script_run *run) {
    if (run->flags & RUN_TIMEDOUT) {
        if (hooks.serve) hooks.serve();
        return (run->flags & RUN_KILLED) != 0;
    }
    long long elapsed_ms = (clock_mono_us() - run->start_us) / 1000;
    if (config.busy_reply_threshold <= 0 || elapsed_ms < config.busy_reply_threshold) return 0;
    /* The loader replays at its own pace: no one to serve, no one to kill. */
    session *caller = run->caller->s;
    if (caller->flags & SESS_INTERNAL) return 0;
    log_warning("Slow script detected: still in execution after %lld milliseconds. You can try "
                "killing the script using the %s command. Script name is: %s.",
                elapsed_ms, (run->flags & RUN_EVAL) ? "SCRIPT KILL" : "FUNCTION KILL", run->name);
    run->flags |= RUN_TIMEDOUT;
    armed_set(&busy_now, 1);
    if (caller->ops && caller->ops->protect) caller->ops->protect(caller, 1);
    if (hooks.busy_changed) hooks.busy_changed(1);
    if (hooks.serve) hooks.serve();
    return (run->flags & RUN_KILLED) != 0;
}

void script_kill(cmd_ctx *c, int is_eval) {
    if (!current) {
        reply_error(c, "NOTBUSY No scripts in execution right now.");
        return;
    }
    if (current->flags & RUN_WRITE_DIRTY) {
        reply_error(c, "UNKILLABLE Sorry the script already executed write commands against the "
                       "dataset. You can either wait the script termination or kill the server "
                       "in a hard way using the SHUTDOWN NOSAVE command.");
        return;
    }
    if (is_eval && !(current->flags & RUN_EVAL)) {
        reply_error(c, BUSY_FUNCTION);
        return;
    }
    if (!is_eval && (current->flags & RUN_EVAL)) {
        reply_error(c, BUSY_EVAL);
        return;
    }
    current->flags |= RUN_KILLED;
    reply_ok(c);
}

/* ---- running a command for the script ---- */

/* Statistics slots by command, so that a script's commands avoid the registry's linear
 * search (cmd_stats_of) on every call. */
#define STATS_CACHE 256
static struct {
    const cmd_spec *spec;
    cmd_stats *stats;
} stats_cache[STATS_CACHE];

static cmd_stats *stats_for(const cmd_spec *spec) {
    size_t h = ((size_t)spec >> 4) & (STATS_CACHE - 1);
    if (stats_cache[h].spec != spec) {
        stats_cache[h].spec = spec;
        stats_cache[h].stats = cmd_stats_of(spec);
    }
    return stats_cache[h].stats;
}

/* Counts a refused command as Redis's afterErrorReply does: the error code (ERR when the
 * message has none) and the command's rejected calls. */
static void count_rejection(const cmd_spec *spec, const char *msg) {
    buf scratch;
    buf_init(&scratch);
    cmd_ctx t = {.out = &scratch, .proto = 2};
    if (msg[0] == '-') {
        reply_error(&t, msg + 1);
    } else {
        char full[600];
        snprintf(full, sizeof(full), "ERR %s", msg);
        reply_error(&t, full);
    }
    buf_deinit(&scratch);
    if (spec) {
        cmd_stats *st = stats_for(spec);
        if (st) st->rejected_calls++;
    }
}

static int reject(const cmd_spec *spec, const char *msg, char *err, size_t cap) {
    snprintf(err, cap, "%s", msg);
    count_rejection(spec, msg);
    return -1;
}

static int arity_ok(const cmd_spec *spec, int argc) {
    return spec->arity > 0 ? argc == spec->arity : argc >= -spec->arity;
}

int script_run_command(script_run *run, int argc, slice *argv, char *err, size_t cap) {
    const cmd_spec *spec = cmd_lookup(argv[0]), *parent = NULL;
    if (spec && spec->subcmds && argc >= 2) {
        parent = spec;
        spec = cmd_lookup_sub(parent, argv[1]);
    }
    if (!spec) return reject(NULL, "Unknown Redis command called from script", err, cap);
    if (!arity_ok(spec, argc) || !spec->fn)
        return reject(spec, "Wrong number of args calling Redis command from script", err, cap);
    if (spec->flags & CMD_NOSCRIPT)
        return reject(spec, "This Redis command is not allowed from script", err, cap);
    session *s = run->sess;
    cmd_key_list keys;
    cmd_ctx ctx = {
        .s = s,
        .cmd = spec,
        .parent = parent,
        .argc = argc,
        .argv = argv,
        .out = &s->out,
        .proto = s->proto,
        .db = s->db,
        .now_ms = run->caller->now_ms,
        .stats = stats_for(spec),
        .keys = &keys,
        .acl_id = cmd_acl_id(spec),
        .script_caller = run->caller->s,
    };
    /* ACL, as Redis's scriptVerifyACL: the commands run as the script's caller. */
    s->user = run->caller->s->user;
    char acl_msg[600];
    if (cmd_acl_check_script(&ctx, run->caller->s, acl_msg, sizeof(acl_msg)) < 0)
        return reject(spec, acl_msg, err, cap);
    if ((run->flags & RUN_READ_ONLY) && (spec->flags & (CMD_WRITE | CMD_MAY_REPLICATE)))
        return reject(spec, "Write commands are not allowed from read-only scripts.", err, cap);
    if ((spec->flags & CMD_WRITE) && !(run->flags & RUN_WRITE_DIRTY) &&
        !(run->caller->s->flags & SESS_INTERNAL)) {
        const char *refusal = hooks.write_refusal ? hooks.write_refusal() : NULL;
        if (!refusal && hooks.replicas_refusal) refusal = hooks.replicas_refusal();
        if (refusal) {
            char msg[300];
            snprintf(msg, sizeof(msg), "-%s", refusal);
            return reject(spec, msg, err, cap);
        }
    }
    /* Past maxmemory a script may still finish what it started: only a deny-oom command
     * before any write is refused (Redis's scriptVerifyOOM). */
    if (!(run->flags & (RUN_ALLOW_OOM | RUN_WRITE_DIRTY)) && (spec->flags & CMD_DENYOOM) &&
        oom_applies(run->caller->s))
        return reject(spec, "-OOM command not allowed when used memory > 'maxmemory'.", err, cap);
    if (spec->flags & CMD_WRITE) run->flags |= RUN_WRITE_DIRTY;

    s->last_cmd = spec->name;
    s->last_cmd_parent = parent ? parent->name : NULL;
    /* redis.set_repl: without REPL_AOF the command's effects are not logged (there are no
     * replicas yet, so REPL_REPLICA alone logs nothing either). */
    ctx.no_propagate = !(run->repl & REPL_TO_AOF);
    cmd_call(&ctx);
    return 0;
}

const config_row script_config_rows[] = {
    {.name = "busy-reply-threshold",
     .alias = "lua-time-limit",
     .kind = CONFIG_INT,
     .ptr = &config.busy_reply_threshold,
     .max = LLONG_MAX,
     .def = "5000"},
    {0},
};
