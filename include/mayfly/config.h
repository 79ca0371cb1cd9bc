/* config: every directive, as named in redis.conf, with its parser and printer.
 *
 * One table (config.c) drives the config file, the --directive command-line arguments,
 * CONFIG GET (glob patterns) and CONFIG SET (several parameters at once, all or nothing).
 * Values live in the global `config` struct that the modules read. */
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
    long long slowlog_log_slower_than; /* us; -1 logs nothing, 0 everything */
    long long slowlog_max_len;
    long long busy_reply_threshold;      /* ms a script runs before other clients get -BUSY */
    long long latency_monitor_threshold; /* ms; only LATENCY DOCTOR's text reads it */
    int key_load_delay; /* test aid: us slept per key loaded (Redis's hidden directive) */
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
                                       replaying the append-only log */
    int shutdown_on_sigint;         /* CONFIG_SHUTDOWN_* flags for the signal, 0 = default */
    int shutdown_on_sigterm;        /* (the flags of SHUTDOWN's NOSAVE, SAVE, NOW, FORCE) */
    char *config_file;              /* absolute path of the file loaded, NULL if none */
} mayfly_config;

extern mayfly_config config;
extern const char *const config_policy_names[];

/* Sets every directive to its default. */
void config_init(void);
/* Loads a config file. Returns 0, or -1 after printing Redis's fatal error block (naming
 * the file, line and directive) to stderr. */
int config_load_file(const char *path);
/* Applies "--name value ..." style arguments (argv[i] without "--" is a value). Returns 0
 * or -1 after printing the error. */
int config_load_args(int argc, char **argv);

/* CONFIG GET: appends name/value pairs for every directive matching pattern; returns the
 * number of pairs appended to *names and *values (owned strings, caller frees). */
size_t config_get(const char *pattern, size_t plen, char ***names, char ***values);
/* CONFIG SET of one directive. Returns 0, or -1 with *err set to a static message. */
int config_set(const char *name, const char *value, size_t vlen, const char **err);
/* 0 if CONFIG SET may change the directive, else -1 with *err: "unknown", "can't set
 * immutable config" or "can't set protected config" (Redis's texts). */
int config_settable(const char *name, const char **err);
/* 1 if the directive exists (any alias). */
int config_exists(const char *name);
/* The canonical name of a directive or alias, NULL if unknown. */
const char *config_canonical(const char *name);
/* Appends the value of one directive as CONFIG GET prints it. Returns -1 if unknown. */
int config_value(const char *name, buf *out);
/* Case-insensitive glob match (*, ?, [a-z], [^x], \\x) of pattern (plen bytes) against the
 * NUL-terminated s; 1 on a match. Used for CONFIG GET and COMMAND LIST FILTERBY PATTERN. */
int config_glob(const char *pat, size_t plen, const char *s);
/* Rewrites the loaded config file with current values (CONFIG REWRITE). */
int config_rewrite(const char **err);

/* Called after a live CONFIG SET of the named directive changed something (server.c
 * registers it to re-arm the cron on `hz`, open listeners on `port`, ...). */
extern void (*config_on_change)(const char *name);
/* Called by CONFIG SET right after a directive's new value is stored, before
 * config_on_change: returns 0 to keep it, or -1 with *err (a static text) to refuse it, in
 * which case the old value is put back (TLS: a certificate that does not load). */
extern int (*config_apply)(const char *name, const char **err);
/* Handles a `user <name> <rules...>` line of the config file or arguments (acl/ registers
 * it through server.c). Returns 0, or -1 with *err (static or valid until the next call). */
extern int (*config_user_line)(int argc, char **argv, const char **err);
/* Appends the `user` lines CONFIG REWRITE writes (NULL: none). */
extern void (*config_rewrite_users)(buf *out);

#endif
