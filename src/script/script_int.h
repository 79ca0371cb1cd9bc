/* script_int: what the files of src/script/ share (see script.c for the design). */
#ifndef MAYFLY_SCRIPT_SCRIPT_INT_H
#define MAYFLY_SCRIPT_SCRIPT_INT_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/resp/resp.h"
#include "mayfly/script/script.h"
#include "mayfly/util/slice.h"

#include <lua.h>
#include <stdint.h>

/* Script flags: a `#!lua flags=...` shebang or redis.register_function's flags. */
#define SFLAG_NO_WRITES 0x1
#define SFLAG_ALLOW_OOM 0x2
#define SFLAG_ALLOW_STALE 0x4
#define SFLAG_NO_CLUSTER 0x8
#define SFLAG_ALLOW_CROSS_SLOT 0x10
#define SFLAG_EVAL_COMPAT 0x20 /* an EVAL script without a shebang: Redis 6 rules */

/* The flag names, in Redis's order (FUNCTION LIST shows them in this order). */
typedef struct script_flag_name {
    int flag;
    const char *name;
} script_flag_name;
extern const script_flag_name script_flag_names[]; /* ends with {0, NULL} */

/* Run flags (script_run.flags). */
#define RUN_EVAL 0x1        /* EVAL/EVALSHA, not FCALL (error texts, KILL command) */
#define RUN_READ_ONLY 0x2   /* *_RO, or no-writes: write commands are refused */
#define RUN_ALLOW_OOM 0x4   /* allow-oom: deny-oom commands run past maxmemory */
#define RUN_WRITE_DIRTY 0x8 /* a write command ran: the script can no longer be killed */
#define RUN_TIMEDOUT 0x10   /* past busy-reply-threshold: other clients get -BUSY */
#define RUN_KILLED 0x20     /* SCRIPT/FUNCTION KILL asked it to stop */

/* redis.set_repl targets (Redis's PROPAGATE_AOF / PROPAGATE_REPL values). */
#define REPL_TO_AOF 1
#define REPL_TO_REPLICAS 2

/* One running script: EVAL's or FCALL's context while the Lua code runs. */
typedef struct script_run {
    cmd_ctx *caller;      /* the EVAL/FCALL command (its session, reply buffer, argv) */
    session *sess;        /* the engine's script session that runs redis.call commands */
    const char *name;     /* the script's sha1 or the function's name */
    int flags;            /* RUN_* */
    int repl;             /* REPL_TO_* (redis.set_repl) */
    int64_t start_us;     /* monotonic start, for busy-reply-threshold */
    int64_t next_poll_us; /* while timed out: when the hook next serves other clients */
} script_run;

/* ---- script.c: running scripts ---- */

void script_set_host(const script_host *h);
/* SCRIPT KILL (is_eval) / FUNCTION KILL. */
void script_kill(cmd_ctx *c, int is_eval);
/* eval.c / function.c: create their interpreter (again after a flush). */
void eval_init(void);
void eval_free(void);
void function_init(void);
void function_free(void);
/* Splits a "#!..." line as Redis's sdssplitargs (quotes, escapes); argv is borrowed from
 * p. Returns the count (at most max), or -1 on unbalanced quotes. */
int script_split_line(struct resp_parser *p, const char *line, size_t len, slice *argv, int max);
/* Parses an EVAL script's "#!lua flags=..." line: *flags gets SFLAG_* (SFLAG_EVAL_COMPAT
 * without a shebang) and *shebang_len the bytes before its line feed. Returns 0, or -1
 * with Redis's error text in err. */
int script_shebang_flags(const char *body, size_t len, int *flags, size_t *shebang_len, char *err,
                         size_t cap);

/* The flags dispatch sees for EVAL/FCALL of a script with these flags (Redis's
 * scriptFlagsToCmdFlags): a script that declared flags is a write (deny-oom) command unless
 * no-writes (allow-oom); an EVAL without a shebang keeps the command's own flags. */
uint32_t script_cmd_flags(uint32_t cmd_flags, int sflags);
/* The running script, or NULL. */
script_run *script_current(void);
/* Checks the script flags against the server state (Redis's scriptPrepareForRun) and
 * starts a run: replies the error to caller and returns -1 if the script may not run. */
int script_run_begin(script_run *run, cmd_ctx *caller, session *sess, const char *name, int sflags,
                     int read_only, int eval_mode);
/* Ends the run begun by script_run_begin (whatever the script did). */
void script_run_end(script_run *run);
/* Runs one redis.call/pcall command in the script session: the checks of Redis's
 * scriptCall, then the command. Returns 0 with the reply in run->sess->out, or -1 with a
 * rejection message in err (cap bytes; "-CODE text" or plain "text"), already counted in
 * the error statistics. */
int script_run_command(script_run *run, int argc, slice *argv, char *err, size_t cap);
/* Called by the Lua hook every so many instructions: detects a script past the busy
 * threshold and serves other clients meanwhile. Returns 1 if the script must stop (killed). */
int script_interrupt(script_run *run);
/* Makes the session used to run a script's commands (not on the client list). */
session *script_session_new(void);
void script_session_free(session *s);
/* Writes an error reply without counting it in the error statistics (already counted when
 * the script's command failed), but counting the command as failed. msg has no '-'. */
void script_reply_error_nostats(cmd_ctx *c, const char *msg, size_t len);

/* EVAL's and FCALL's key specs (eval.c): numkeys, then the keys. */
extern const cmd_key_spec script_keys_rw[];
extern const cmd_key_spec script_keys_ro[];

/* ---- lua_env.c: the sandboxed interpreter ---- */

#define LUAENV_EVAL 0
#define LUAENV_FUNCTIONS 1

/* Creates an interpreter with Redis's libraries, the redis.* API and the read-only,
 * allow-listed globals. kind is LUAENV_EVAL or LUAENV_FUNCTIONS. */
lua_State *luaenv_new(int kind);
void luaenv_free(lua_State *L);
/* Compiles text code (never a precompiled binary chunk) and pushes the function; on error
 * pushes nothing, writes the message to err (cap bytes) and returns -1. */
int luaenv_compile(lua_State *L, const char *code, size_t len, const char *chunkname, char *err,
                   size_t cap);
/* Pushes the error handler every script call runs under. */
void luaenv_push_error_handler(lua_State *L);
/* Calls the function on top of the stack (with the error handler below it, pushed by
 * luaenv_push_error_handler) for the run: EVAL mode sets the KEYS and ARGV globals, FCALL
 * mode passes them as the two arguments. Writes the reply (converted result or error) to
 * run->caller. Pops the function, leaves the handler. */
void luaenv_call(script_run *run, lua_State *L, const slice *keys, int nkeys, const slice *args,
                 int nargs);
/* The real table behind the function libraries' loading redis table (register_function
 * goes there), pushed. */
void luaenv_push_library_redis(lua_State *L);
/* Function libraries: switches the globals between the loading API (only
 * redis.register_function, redis.log, the versions) and the normal one. */
void luaenv_set_loading(lua_State *L, int loading);
/* A small incremental collection every 50 calls (count is the engine's counter), as Redis. */
void luaenv_gc_step(lua_State *L, int *count);
/* Memory the interpreter uses, in bytes. */
size_t luaenv_memory(lua_State *L);
/* Stores a light userdata in the registry under key (NULL removes it) / reads it. */
void luaenv_set_ptr(lua_State *L, const char *key, void *p);
void *luaenv_get_ptr(lua_State *L, const char *key);

/* ---- lua_api.c: the redis table ---- */

/* Fills the table on top of the stack with the redis.* functions and constants of the
 * normal API. */
void luaapi_register(lua_State *L, int kind);
/* Fills the table on top of the stack with the loading API of function libraries (the log
 * functions and versions; register_function is added by function.c). */
void luaapi_register_common(lua_State *L);
/* Pushes Redis's error table {err="CODE msg"} for msg ("-CODE msg" or plain "msg", which
 * gets the code ERR; trailing CR/LF trimmed). */
void luaapi_push_error(lua_State *L, const char *msg, size_t len);
/* The math.random replacement's generator (Redis's rand48), for tests. */
int32_t luaapi_rand48(void);

/* ---- lua_reply.c: conversions ---- */

/* Pushes the Lua form of the one reply in p[0..len) (as Redis's redisProtocolToLuaType). */
void luareply_to_lua(lua_State *L, const char *p, size_t len);
/* Writes the value on top of the stack as the reply of c (as Redis's luaReplyToRedisReply)
 * and pops it. script_proto is the script's RESP version (redis.setresp), which decides how
 * a boolean is written. */
void luareply_from_lua(cmd_ctx *c, lua_State *L, int script_proto);

/* Formats d as Redis's d2string (whole numbers as integers, else fpconv's shortest form):
 * out has at least 32 bytes; returns the length. */
size_t luareply_fmt_double(char *out, double d);

/* ---- our own Lua modules (cjson is Debian's) ---- */
int luaopen_struct(lua_State *L);   /* lua_struct.c */
int luaopen_bit(lua_State *L);      /* lua_bit.c */
int luaopen_cmsgpack(lua_State *L); /* lua_cmsgpack.c */

#endif
