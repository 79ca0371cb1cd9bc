/* cmd: the command table, the context a handler gets, and the reply helpers.
 *
 * A handler has the same shape every time: check arguments, look up the key and check its
 * type, call the type's API, write exactly one reply through the reply_* helpers (which
 * choose RESP2 or RESP3 forms and count errors for INFO errorstats), and call db_touch
 * for every key it modified.
 *
 * Each family file (cmd_hash.c, cmd_string.c, ...) ends with its rows:
 *
 *     const cmd_spec cmd_family_string[] = {
 *         {"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string", "1.0.0",
 *          "O(1)", "Returns the string value of a key.", "key", NULL, "@read @string @fast"},
 *         {0},
 *     };
 *
 * and server.c adds it with cmd_family_add(cmd_family_string). Names are lower case; lookup
 * ignores case. */
#ifndef MAYFLY_CMD_CMD_H
#define MAYFLY_CMD_CMD_H

#include "mayfly/client/session.h"
#include "mayfly/cmd/keyspec.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* Command flags: X(enum suffix, name in COMMAND INFO). */
#define CMD_FLAG_MAP(X)                                                                            \
    X(WRITE, "write")                                                                              \
    X(READONLY, "readonly")                                                                        \
    X(DENYOOM, "denyoom")                                                                          \
    X(ADMIN, "admin")                                                                              \
    X(PUBSUB, "pubsub")                                                                            \
    X(NOSCRIPT, "noscript")                                                                        \
    X(BLOCKING, "blocking")                                                                        \
    X(LOADING, "loading")                                                                          \
    X(STALE, "stale")                                                                              \
    X(SKIP_MONITOR, "skip_monitor")                                                                \
    X(SKIP_SLOWLOG, "skip_slowlog")                                                                \
    X(ASKING, "asking")                                                                            \
    X(FAST, "fast")                                                                                \
    X(NO_AUTH, "no_auth")                                                                          \
    X(MAY_REPLICATE, "may_replicate")                                                              \
    X(NO_MULTI, "no_multi")                                                                        \
    X(NO_MANDATORY_KEYS, "no_mandatory_keys")                                                      \
    X(ALLOW_BUSY, "allow_busy")                                                                    \
    X(MOVABLE_KEYS, "movablekeys")

enum cmd_flag_bit {
#define X(n, s) CMD_BIT_##n,
    CMD_FLAG_MAP(X)
#undef X
};
#define X(n, s) CMD_##n = 1u << CMD_BIT_##n,
enum cmd_flag { CMD_FLAG_MAP(X) };
#undef X
/* Mayfly-internal (COMMAND does not show it): refused with -MISCONF, as writes are, while
 * persistence is failing. Redis's processCommand does this for PING alone, so that a
 * health check sees the error. */
#define CMD_MISCONF_DENY (1u << 31)
/* Mayfly-internal, hidden as in Redis: allowed only as enable-debug-command says (DEBUG). */
#define CMD_PROTECTED (1u << 30)
/* Mayfly-internal: SLOWLOG shows the arguments after the (sub)command name as
 * "(redacted)" (ACL SETUSER, DELUSER, GETUSER), as Redis's redactClientCommandArgument
 * (passwords among other arguments: cmd/registry.c's registry_redact_secrets). */
#define CMD_REDACT_ARGS (1u << 29)

struct cmd_ctx;
typedef void cmd_fn(struct cmd_ctx *c);
/* The flags of a command whose flags depend on its arguments (EVAL of a script with a
 * shebang may write; Redis's getCommandFlags). It may leave a lookup in c->cmd_cache. */
typedef uint32_t cmd_flags_fn(struct cmd_ctx *c);

typedef struct cmd_spec {
    const char *name; /* lower case; for a subcommand, just the subcommand ("info") */
    cmd_fn *fn;       /* NULL for a container whose subcmds do the work */
    int arity;        /* N exact, -N at least N (argv[0] included) */
    uint32_t flags;   /* CMD_* */
    int first_key, last_key, key_step; /* key positions (0 = none; last -1 = to the end) */
    const char *group; /* "string", "hash", "generic", "connection", "server", ... */
    const char *since; /* Redis version that introduced it */
    const char *complexity;
    const char *summary;
    const char *syntax;             /* argument grammar after the name, for COMMAND DOCS */
    const struct cmd_spec *subcmds; /* container commands: rows ending in {0} */
    const char *acl;                /* ACL categories, e.g. "@write @hash @fast" */
    /* Keys (cmd/keyspec.h): the KS_* flags of the keys at first_key..last_key; or, for a
     * command whose keys need several specs, key_specs (rows ending in {0}; first/last/step
     * then only feed COMMAND INFO's legacy fields); getkeys for keys at computed positions
     * or with per-call flags. */
    uint32_t key_flags;
    const cmd_key_spec *key_specs;
    cmd_getkeys_fn *getkeys;
    cmd_flags_fn *flags_of; /* NULL: the flags above, whatever the arguments */
} cmd_spec;

/* Per-command statistics (INFO commandstats). */
typedef struct cmd_stats {
    long long calls, usec, rejected_calls, failed_calls;
    struct hdrhist *hist; /* latency-tracking's histogram (cmd_latency.c), NULL until used */
} cmd_stats;

typedef struct cmd_ctx {
    session *s;
    const cmd_spec *cmd;    /* the command (or subcommand) being run */
    const cmd_spec *parent; /* the container for a subcommand, else NULL */
    int argc;
    slice *argv;              /* borrowed until the handler returns: copy what you keep */
    buf *out;                 /* where replies go (the session's out) */
    int proto;                /* 2 or 3 */
    db *db;                   /* the session's selected database */
    int64_t now_ms;           /* one "now" for the whole command */
    int replied_error;        /* set by reply_error */
    cmd_stats *stats;         /* the command's statistics slot (set by dispatch; NULL: looked up) */
    int propagate_replaced;   /* the handler chose what to propagate (cmd/propagate.h) */
    int no_propagate;         /* log nothing of this command (a script's redis.set_repl) */
    long long dirty_at_start; /* db_stat.dirty when the handler started */
    int64_t start_us;       /* monotonic start for the duration statistic (0: cmd_call reads it) */
    uint32_t flags;         /* CMD_* as the gates see them: the command's, or for EXEC those of its
                               transaction (write/readonly/denyoom/may_replicate if any queued
                               command has them; loading/stale only if all have them) */
    cmd_key_list *keys;     /* storage for cmd_ctx_keys (set by dispatch and EXEC) */
    int keys_state;         /* 0: not extracted yet, 1: keys holds them, -1: argv does not fit */
    void *cmd_cache;        /* what the command's flags_of looked up, for its handler (Redis's
                               c->cur_script); valid for this dispatch only */
    int acl_id;             /* the command's id in the ACL catalog (acl.h; set by dispatch) */
    int may_stream;         /* the reply may be produced in parts (session_stream_start) */
    session *script_caller; /* a script's command: the client running the script (its keys are
                               tracked for that client, as Redis's server.script_caller) */
} cmd_ctx;

/* The keys of c's command (cmd_get_keys), extracted on the first call and kept for the
 * rest of the command (gates such as ACL and cluster share one extraction). NULL when the
 * arguments do not fit the command's key specs. */
const cmd_key_list *cmd_ctx_keys(cmd_ctx *c);

/* ---- Registry and dispatch (registry.c) ---- */

/* Adds a family of commands (rows ending in {0}, borrowed: static storage) to the table;
 * server.c adds every family at start-up, in the order COMMAND lists them. Returns 0, or -1
 * (nothing added) if a name is already taken or the table is full. */
int cmd_family_add(const cmd_spec *rows);
/* Finds a top-level command by name, ignoring case; NULL if unknown. */
const cmd_spec *cmd_lookup(slice name);
/* Finds a subcommand of a container, ignoring case; NULL if unknown. */
const cmd_spec *cmd_lookup_sub(const cmd_spec *parent, slice name);
/* Runs one command for session s: lookup, auth, arity, MULTI queueing, pub/sub mode
 * rules, the handler, statistics. Replies go to s->out. Sets s->last_ms to the command's
 * now_ms. */
void cmd_dispatch(session *s, int argc, slice *argv);
/* cmd_dispatch for the next command of a batch whose previous command has just ended:
 * its start (and now_ms) is the clock's latest reading, taken at that end (cmd_call reads
 * the clock after every command), instead of a new read: one clock read per command. */
/* found: what cmd_prefetch found for this command when it peeked at it (the same bytes),
 * or NULL to look its name up now. Not const: the dispatch counts the command's statistics
 * in that entry. */
struct reg_entry; /* a command of the registry (cmd/registry.c), opaque */
void cmd_dispatch_next(session *s, int argc, slice *argv, struct reg_entry *found);
/* cmd_dispatch with a given "now" (replaying the append-only log at each record's time). */
void cmd_dispatch_at(session *s, int argc, slice *argv, int64_t now_ms);
/* A pipelined batch of n commands is about to run for s (net/ peeked at it): argvs[i]
 * holds the first min(argcs[i], CMD_PEEK_ARGS) arguments of command i. Warms the cache for
 * the key each command looks up first and, for hash commands, the field it names (the
 * argument after "FIELDS <n>", else the second), in s's database (db_prefetch). A hint
 * only: it changes nothing, and a command that turns out different just runs uncached.
 * found[i] gets command i's registry entry (NULL: unknown, or not looked up), for
 * cmd_dispatch_next to run it without a second lookup of its name. */
#define CMD_PEEK_ARGS 8
void cmd_prefetch(session *s, int n, slice (*argvs)[CMD_PEEK_ARGS], const int *argcs,
                  struct reg_entry **found);
/* Runs an already-validated command (EXEC uses it for queued commands). */
void cmd_call(cmd_ctx *c);
/* The ACL catalog id of a command or subcommand (acl.h), or -1. */
int cmd_acl_id(const cmd_spec *spec);
/* session_auth (client/session.h) as ACL has it, installed by server.c: a new or RESET
 * session starts as the default user, authenticated unless that user needs a password;
 * while the default user requires a password (or is off), unauthenticated sessions may run
 * only NO_AUTH commands (Redis's authRequired). */
void cmd_acl_session_start(session *s);
int cmd_acl_auth_required(void);
/* ACL for commands that do not come through dispatch (scripts, cmd_acl.c). */
struct acl_user;
/* 1 if user u may run cmd (a subcommand of parent, or top level) with these arguments
 * (redis.acl_check_cmd, ACL DRYRUN). */
int cmd_acl_allows(const struct acl_user *u, const cmd_spec *cmd, const cmd_spec *parent, int argc,
                   slice *argv);
/* Checks c's command (c->acl_id set, e.g. from cmd_acl_id) against c's session's user, for
 * a command a script runs on behalf of caller: on a denial it is logged in ACL LOG with
 * context "lua" (the caller's client line) and msg gets Redis's text, "ACL failure in
 * script: <reason>". Returns 0 to go on, -1 when denied. */
int cmd_acl_check_script(cmd_ctx *c, const session *caller, char *msg, size_t cap);
/* Visits every top-level command (COMMAND, INFO commandstats). */
void cmd_foreach(void (*fn)(const cmd_spec *spec, void *ctx), void *ctx);
/* The statistics slot of a command or subcommand. */
cmd_stats *cmd_stats_of(const cmd_spec *spec);
/* Number of top-level commands. */
size_t cmd_count(void);
/* Clears commandstats and errorstats (CONFIG RESETSTAT). */
void cmd_reset_stats(void);
/* Writes INFO commandstats / errorstats lines. */
void cmd_info_commandstats(buf *b);
void cmd_info_errorstats(buf *b);
/* Calls fn for every command and subcommand (sub: the subcommand's name, else NULL) with
 * its statistics, in the order COMMAND lists them. */
void cmd_foreach_stats(void (*fn)(void *ctx, const char *name, const char *sub, cmd_stats *st),
                       void *ctx);
/* cmd_latency.c: after each command, the latency monitor's command / fast-command event and
 * the command's latency-tracking histogram; INFO latencystats lines. */
void cmd_latency_record(cmd_stats *st, const cmd_spec *cmd, int64_t took_us);
void cmd_info_latencystats(buf *b);
/* Total error replies (INFO stats total_error_replies) and commands processed. */
long long cmd_total_errors(void);
long long cmd_total_commands(void);
/* Microseconds spent running commands (INFO eventloop_duration_cmd_sum). */
long long cmd_total_usec(void);

/* ---- Replies (reply.c) ---- */
void reply_ok(cmd_ctx *c);
void reply_simple(cmd_ctx *c, const char *s);
/* msg starts with its error code ("ERR ...", "WRONGTYPE ..."); counted in errorstats. */
void reply_error(cmd_ctx *c, const char *msg);
void reply_errorf(cmd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(cmd_ctx *c, long long v);
void reply_bulk(cmd_ctx *c, const void *p, size_t len);
void reply_bulk_cstr(cmd_ctx *c, const char *s);
void reply_bulk_slice(cmd_ctx *c, slice s);
void reply_bulk_ll(cmd_ctx *c, long long v);
void reply_null(cmd_ctx *c);       /* nil bulk: $-1 / _ */
void reply_null_array(cmd_ctx *c); /* nil array: *-1 / _ */
void reply_array(cmd_ctx *c, size_t n);
void reply_map(cmd_ctx *c, size_t n); /* n pairs */
void reply_set(cmd_ctx *c, size_t n);
void reply_double(cmd_ctx *c, double v);
void reply_bool(cmd_ctx *c, int v);
void reply_verbatim(cmd_ctx *c, const char *p, size_t len); /* "txt" verbatim in RESP3 */
/* HELP replies: an array of the NULL-terminated lines as simple strings. */
void reply_help(cmd_ctx *c, const char *const *lines);
/* 1 when the reply being built will never be sent: it went past the client's output limit
 * (the buffer dropped it, buf_over) or the client is being closed. A loop that can emit a
 * huge reply (HGETALL, KEYS, HRANDFIELD, MGET) stops early on it, as Redis's stop on
 * CLIENT_CLOSE_ASAP; a loop with side effects never does. */
static inline int reply_aborted(const cmd_ctx *c) {
    return buf_over(c->out) || (c->s->flags & SESS_CLOSE_ASAP) != 0;
}
/* Deferred array/map length: mark now, set once known. */
size_t reply_defer(cmd_ctx *c);
void reply_defer_array(cmd_ctx *c, size_t mark, size_t n);
void reply_defer_map(cmd_ctx *c, size_t mark, size_t pairs);

/* Common errors with Redis's exact texts. */
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_NO_KEY "ERR no such key"
void reply_wrongtype(cmd_ctx *c);
void reply_syntax_error(cmd_ctx *c);
/* "ERR wrong number of arguments for '<name>' command" (name as the client sent it). */
void reply_arity_error(cmd_ctx *c);

/* ---- Argument helpers: on failure they reply the error and return -1. ---- */
/* Parses a long long, replying ERR_NOT_INT on failure. */
int arg_ll(cmd_ctx *c, slice a, long long *out);
/* Parses a long long in [min, max], replying msg (or ERR_NOT_INT) on failure. */
int arg_ll_range(cmd_ctx *c, slice a, long long min, long long max, const char *msg,
                 long long *out);
/* Parses a double, replying ERR_NOT_FLOAT on failure. */
int arg_double(cmd_ctx *c, slice a, double *out);
/* Parses a SCAN/HSCAN cursor, replying "ERR invalid cursor" on failure. */
int arg_cursor(cmd_ctx *c, slice a, unsigned long long *out);
/* INCRBYFLOAT arithmetic: writes base + incr as Redis prints it into out (STRCONV_LD_MAX
 * bytes) and returns the length, or replies "increment would produce NaN or Infinity" and
 * returns 0. */
size_t incr_float_format(cmd_ctx *c, long double base, long double incr, char *out);
/* INCR, INCRBY, DECR, DECRBY and HINCRBY arithmetic: adds incr to *value and returns 0, or
 * replies "increment or decrement would overflow" (leaving *value) and returns -1 when the
 * sum is not a long long. */
int incr_ll_add(cmd_ctx *c, long long *value, long long incr);

/* ---- MULTI, for gates above cmd/ (cmd_multi.c, registry.c) ---- */
/* Visits the commands s queued since MULTI, in order: fn(cmd, argc, argv, ctx) for each
 * (cmd the command or subcommand); a non-zero return stops the walk and is returned. 0
 * when s is not in MULTI or fn never stopped it. */
typedef int cmd_queued_fn(const cmd_spec *cmd, int argc, const slice *argv, void *ctx);
int cmd_multi_foreach(const session *s, cmd_queued_fn *fn, void *ctx);
/* 1 if cmd is EXEC. */
int cmd_is_exec(const cmd_spec *cmd);
/* For a gate that refuses with an error that must reach the client as it is even for EXEC
 * (Redis's cluster redirections): replies msg, counts a rejected call, and flags the
 * transaction (inside MULTI) or, for EXEC, discards it, without EXECABORT's wrapping.
 * Returns CMD_GATE_HANDLED for the gate to return. */
const char *cmd_gate_refuse_as_is(cmd_ctx *c, const char *msg);

/* The families (one per file, each ending in {0}). */
extern const cmd_spec cmd_family_conn[];     /* cmd_conn.c: PING ECHO HELLO AUTH SELECT ... */
extern const cmd_spec cmd_family_server[];   /* cmd_server.c: INFO CONFIG DBSIZE FLUSH* ... */
extern const cmd_spec cmd_family_command[];  /* cmd_command.c: COMMAND and its subcommands */
extern const cmd_spec cmd_family_keys[];     /* cmd_keys.c: DEL EXISTS TYPE SCAN RENAME ... */
extern const cmd_spec cmd_family_ttl[];      /* cmd_ttl.c: EXPIRE TTL PERSIST ... */
extern const cmd_spec cmd_family_string[];   /* cmd_string.c */
extern const cmd_spec cmd_family_hash[];     /* cmd_hash.c */
extern const cmd_spec cmd_family_hash_ttl[]; /* cmd_hash_ttl.c: HSETEX HGETEX HEXPIRE ... */
extern const cmd_spec cmd_family_multi[];    /* cmd_multi.c: MULTI EXEC DISCARD WATCH */
extern const cmd_spec cmd_family_pubsub[];   /* cmd_pubsub.c */
extern const cmd_spec cmd_family_debug[];    /* cmd_debug.c: DEBUG, test aids */
extern const cmd_spec cmd_family_slowlog[];  /* cmd_slowlog.c: SLOWLOG */
extern const cmd_spec cmd_family_latency[];  /* cmd_latency.c: LATENCY */
extern const cmd_spec cmd_family_acl[];      /* cmd_acl.c: ACL */
extern const cmd_spec cmd_family_dump[];     /* cmd_dump.c: DUMP RESTORE */

/* Frees what cmd/ keeps in a session, its MULTI queue (RESET; server.c makes it the
 * session_release_hook that session_free calls). */
void multi_session_free(session *s);
/* Bytes s's MULTI queue holds (client memory: clientmem_extra). */
size_t multi_session_memory(const session *s);

/* The directives of cmd/: slowlog-* and latency-monitor-threshold (cmd_slowlog.c),
 * hash-max-listpack-* (cmd_hash.c). */
extern const config_row cmd_hash_config_rows[];
extern const config_row cmd_slowlog_config_rows[];
extern const config_row cmd_latency_config_rows[];

/* Records the command in the slow log if it ran for at least slowlog-log-slower-than
 * microseconds (cmd_slowlog.c; called by cmd_call). */
void cmd_slowlog_consider(const cmd_ctx *c, long long duration_us);

#endif
