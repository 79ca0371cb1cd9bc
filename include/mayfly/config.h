/* config: the directive engine. Each subsystem registers a table of rows (config_add), as
 * named in redis.conf, with where the value lives, its kind, bounds and default; the engine
 * drives the config file, the --directive command-line arguments, CONFIG GET (glob
 * patterns), CONFIG SET (several parameters at once, all or nothing, done in cmd/) and
 * CONFIG REWRITE over every registered row.
 *
 *     static const config_row net_rows[] = {
 *         CONFIG_INT_ROW("port", &config.port, 0, 65535, "6379"),
 *         {.name = "bind", .kind = CONFIG_SPECIAL, .def = "127.0.0.1 -::1",
 *          .parse = parse_bind, .print = print_bind},
 *         {0},
 *     };
 *     config_add(net_rows);            (server.c, before config_init)
 *
 * Values may live anywhere the row points; the existing directives keep theirs in the
 * global `config` struct below, which the modules read. config.c itself holds the process
 * directives (hz, loglevel, databases, ...) and the rows accepted for compatibility
 * (CONFIG_COMPAT: stored and shown, no effect yet); a subsystem that makes one of those
 * real registers a row of the same name, which takes its place. */
#ifndef MAYFLY_CONFIG_H
#define MAYFLY_CONFIG_H

#include "mayfly/util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_BIND 16

/* The Redis version whose behaviour Mayfly matches (INFO redis_version, HELLO). */
#define MAYFLY_REDIS_VERSION "8.0.0"

/* Bits of shutdown-on-sigint / shutdown-on-sigterm, the same as cmd/host.h's
 * HOST_SHUTDOWN_* (server.c checks that they agree). */
#define CONFIG_SHUTDOWN_NOSAVE 1
#define CONFIG_SHUTDOWN_SAVE 2
#define CONFIG_SHUTDOWN_NOW 4
#define CONFIG_SHUTDOWN_FORCE 8

/* The enable-protected-configs / enable-debug-command values. */
#define CONFIG_PROTECTED_NO 0
#define CONFIG_PROTECTED_YES 1
#define CONFIG_PROTECTED_LOCAL 2

typedef struct mayfly_config {
    /* network */
    int port;
    char *bind[CONFIG_MAX_BIND]; /* addresses; a leading '-' marks "optional" as in Redis */
    int bind_count;
    int protected_mode;
    int tcp_backlog;
    int tcp_keepalive;
    char *unixsocket;
    int unixsocketperm;
    long long maxclients; /* 1..4294967295 as in Redis */
    int timeout;          /* idle seconds before a client is closed, 0 = never */
    /* security */
    char *requirepass;      /* NULL = none; may hold NUL bytes (binary safe, as Redis's) */
    size_t requirepass_len; /* its length */
    char *aclfile;          /* "" = none */
    long long acllog_max_len;
    int acl_pubsub_default; /* 0 resetchannels, 1 allchannels */
    /* TLS (net/tls.c); strings are NULL when unset */
    int tls_port;
    char *tls_cert_file, *tls_key_file, *tls_key_file_pass;
    char *tls_client_cert_file, *tls_client_key_file, *tls_client_key_file_pass;
    char *tls_dh_params_file, *tls_ca_cert_file, *tls_ca_cert_dir;
    char *tls_protocols, *tls_ciphers, *tls_ciphersuites;
    int tls_prefer_server_ciphers, tls_session_caching;
    int tls_session_cache_size, tls_session_cache_timeout;
    int tls_auth_clients; /* 0 no, 1 yes, 2 optional */
    int tls_replication, tls_cluster;
    /* limits */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long client_obuf_hard[3], client_obuf_soft[3]; /* normal, replica, pubsub */
    int client_obuf_soft_secs[3];
    /* keyspace */
    int databases;
    int cluster_enabled; /* cluster-enabled (cluster/ owns the directive): one database only */
    int hz;
    long long maxmemory;
    int maxmemory_policy; /* index into config_policy_names */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    int active_expire; /* DEBUG SET-ACTIVE-EXPIRE */
    /* persistence */
    char *dir;
    char *dbfilename;
    char *save; /* "3600 1 300 100 60 10000" or "" */
    int appendonly;
    int appendfsync; /* 0 no, 1 everysec, 2 always */
    char *appenddirname;
    char *appendfilename;
    int auto_aof_rewrite_percentage; /* 0 = no automatic rewrite */
    long long auto_aof_rewrite_min_size;
    int aof_load_truncated; /* load a log whose last record is cut short */
    int stop_writes_on_bgsave_error;
    int rdbcompression;                /* LZF-compress strings in RDB files and DUMP payloads */
    int rdbchecksum;                   /* write (and check) the CRC64 trailer of RDB files */
    int aof_use_rdb_preamble;          /* the log's base is an RDB file (else RESP commands) */
    int aof_timestamp_enabled;         /* "#TS:<unix seconds>" annotations in the log */
    long long slowlog_log_slower_than; /* us; -1 logs nothing, 0 everything */
    long long slowlog_max_len;
    long long busy_reply_threshold; /* ms a script runs before other clients get -BUSY */
    int key_load_delay;     /* test aid: us slept per key loaded (Redis's hidden directive) */
    int rdb_key_save_delay; /* test aid: us slept per key saved to an RDB (Redis's too) */
    int loading_events_interval_bytes; /* a load step ends after this many bytes read */
    /* logging and process */
    int loglevel;
    char *logfile;
    char *pidfile;
    int daemonize;
    int always_show_logo;           /* log the start-up banner with " PID: <pid>" (Redis's logo) */
    int notify_keyspace_events;     /* NOTIFY_* classes (cmd/notify.h) */
    int enable_protected_configs;   /* 0 no, 1 yes, 2 local: CONFIG SET of dir, dbfilename */
    int enable_debug_command;       /* 0 no, 1 yes, 2 local: who may run DEBUG */
    int enable_module_command;      /* accepted as in Redis; Mayfly has no MODULE command */
    int propagation_error_behavior; /* 0 ignore, 1 panic, 2 panic-on-replicas: an error
                                       replaying the append-only log (panic) or applying
                                       the primary's stream on a read-only replica */
    int shutdown_on_sigint;         /* CONFIG_SHUTDOWN_* flags for the signal, 0 = default */
    int shutdown_on_sigterm;        /* (the flags of SHUTDOWN's NOSAVE, SAVE, NOW, FORCE) */
    int shutdown_timeout;           /* seconds SHUTDOWN waits for replicas (0: no wait) */
    char *config_file;              /* absolute path of the file loaded, NULL if none */
} mayfly_config;

extern mayfly_config config;
extern const char *const config_policy_names[];

/* ---- rows ---- */

enum config_kind {
    CONFIG_INT,     /* an integer in [min, max]: int when max <= INT_MAX, else long long */
    CONFIG_MEM,     /* a long long with units: 1k (1000), 1kb (1024), m, mb, g, gb */
    CONFIG_BOOL,    /* yes / no, an int 1 / 0 */
    CONFIG_STR,     /* a char *, owned by the engine */
    CONFIG_ENUM,    /* one of `names`, an int index */
    CONFIG_SPECIAL, /* parse / print functions of its own (bind, save, buffer limits) */
};

/* Row flags. */
#define CONFIG_IMMUTABLE 1   /* set only at start-up: CONFIG SET says "can't set immutable" */
#define CONFIG_SENSITIVE 2   /* a secret: never logged */
#define CONFIG_PROTECTED 4   /* CONFIG SET needs enable-protected-configs (as Redis's dir) */
#define CONFIG_HIDDEN 8      /* a test aid: CONFIG GET shows it only when asked by its name */
#define CONFIG_EMPTY_NULL 16 /* CONFIG_STR: the empty value is stored as NULL (unset) */
/* CONFIG_COMPAT: accepted for compatibility, no effect yet; a row of the same name added
 * later replaces it. CONFIG_LINES_ADD (CONFIG_SPECIAL): repeated lines in a file or the
 * arguments add to the first one's value ("save 900 1" / "save 300 10"). CONFIG_BINARY
 * (CONFIG_STR): may hold NUL bytes (requirepass, masterauth); other strings refuse them
 * ("argument contains a NUL byte"). */
#define CONFIG_COMPAT 32
#define CONFIG_LINES_ADD 64
#define CONFIG_BINARY 128
/* CONFIG_DROP_EMPTY (CONFIG_SPECIAL): CONFIG REWRITE removes the directive's line while its
 * value is empty, as Redis does for replicaof on a primary. */
#define CONFIG_DROP_EMPTY 256
/* CONFIG_DENY_LOADING: CONFIG SET refuses it with -LOADING while a dataset loads (Redis's
 * DENY_LOADING_CONFIG: dir, repl-diskless-load). */
#define CONFIG_DENY_LOADING 512

typedef struct config_row {
    const char *name;
    const char *alias; /* another accepted name (hash-max-ziplist-entries), or NULL */
    enum config_kind kind;
    int flags;     /* CONFIG_* */
    void *ptr;     /* where the value lives (not for CONFIG_SPECIAL) */
    size_t *len;   /* CONFIG_STR: where its length goes too, or NULL (CONFIG_BINARY values) */
    long long min; /* CONFIG_INT / CONFIG_MEM bounds */
    long long max;
    const char *def;                               /* default, as written in a config file */
    const char *const *names;                      /* CONFIG_ENUM values, NULL-terminated */
    const char *const *shown;                      /* their order in "must be one of" errors
                                                      where it differs (NULL: names) */
    int (*parse)(const char *v, const char **err); /* CONFIG_SPECIAL: store v or fail */
    void (*print)(buf *out);                       /* CONFIG_SPECIAL: the value as CONFIG GET
                                                      shows it */
    void (*stored)(void);                          /* after every successful store (defaults,
                                                      file, arguments, CONFIG SET): normalise
                                                      the value (hz is clamped to 1..500) */
    int (*check)(const char *v, const char **err); /* before any value is stored (default,
                                                      file, arguments, CONFIG SET): -1 with
                                                      *err refuses v (Redis's isValid*) */
    int (*apply)(const char **err);                /* after CONFIG SET stored a new value: put
                                                      it into effect; -1 with *err refuses it
                                                      and the old value is put back */
} config_row;

/* Row shorthands for the common kinds. */
#define CONFIG_INT_ROW(n, p, lo, hi, d)                                                            \
    { .name = (n), .kind = CONFIG_INT, .ptr = (p), .min = (lo), .max = (hi), .def = (d) }
#define CONFIG_MEM_ROW(n, p, lo, hi, d)                                                            \
    { .name = (n), .kind = CONFIG_MEM, .ptr = (p), .min = (lo), .max = (hi), .def = (d) }
#define CONFIG_BOOL_ROW(n, p, d)                                                                   \
    { .name = (n), .kind = CONFIG_BOOL, .ptr = (p), .max = 1, .def = (d) }
#define CONFIG_STR_ROW(n, p, fl, d)                                                                \
    { .name = (n), .kind = CONFIG_STR, .flags = (fl), .ptr = (p), .def = (d) }
#define CONFIG_ENUM_ROW(n, p, values, d)                                                           \
    { .name = (n), .kind = CONFIG_ENUM, .ptr = (p), .names = (values), .def = (d) }

/* Registers a table of rows ending in {0} (borrowed: static storage). A row replaces a
 * CONFIG_COMPAT row of the same name; any other duplicate name (or alias) is refused with
 * -1 and nothing of the table is added. Rows added after config_init get their defaults at
 * once. Returns 0. */
int config_add(const config_row *rows);

/* Sets every registered directive to its default. */
void config_init(void);
/* Loads a config file. Returns 0, or -1 after printing Redis's fatal error block (naming
 * the file, line and directive) to stderr. */
int config_load_file(const char *path);
/* Applies "--name value ..." style arguments (argv[i] without "--" is a value). Returns 0
 * or -1 after printing the error. */
int config_load_args(int argc, char **argv);

/* Parses Redis memory units ("10", "1k" = 1000, "1kb" = 1024, m/mb, g/gb) into *out;
 * returns 0, or -1 for anything else (negative, overflow, other suffixes). */
int config_parse_memory(const char *v, long long *out);

/* CONFIG GET: appends name/value pairs for every directive matching pattern; returns the
 * number of pairs appended to *names and *values (owned strings, caller frees). */
size_t config_get(const char *pattern, size_t plen, char ***names, char ***values);
/* CONFIG SET of one directive: stores, runs the row's apply, then config_on_change.
 * Returns 0, or -1 with *err set to a static message. */
int config_set(const char *name, const char *value, size_t vlen, const char **err);
/* 0 if CONFIG SET may change the directive, else -1 with *err: "unknown", "can't set
 * immutable config" or "can't set protected config" (Redis's texts). */
int config_settable(const char *name, const char **err);
/* The row's CONFIG_* flags (0 for an unknown name). */
int config_flags(const char *name);
/* 1 if the directive exists (any alias). */
int config_exists(const char *name);
/* The canonical name of a directive or alias, NULL if unknown. */
const char *config_canonical(const char *name);
/* Appends the value of one directive as CONFIG GET prints it. Returns -1 if unknown. */
int config_value(const char *name, buf *out);
/* Rewrites the loaded config file with current values (CONFIG REWRITE). */
int config_rewrite(const char **err);

/* Called after a live CONFIG SET of the named directive succeeded (server.c: the log sink
 * follows appendonly). Row-specific reactions belong in the row's apply. */
extern void (*config_on_change)(const char *name);
/* Handles a `user <name> <rules...>` line of the config file or arguments (acl/ registers
 * it through server.c). Returns 0, or -1 with *err (static or valid until the next call). */
extern int (*config_user_line)(int argc, char **argv, const char **err);
/* Appends the `user` lines CONFIG REWRITE writes (NULL: none). */
extern void (*config_rewrite_users)(buf *out);

#endif
