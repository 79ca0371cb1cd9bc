/* config: the directive table and its parsers; see config.h.
 *
 * Each row names a directive (and an alias, e.g. hash-max-ziplist-entries), its kind, where
 * its value lives and its bounds. Kinds: integer, memory (accepts 1gb, 512mb, 100k ...),
 * yes/no, string, enum, and "special" rows with their own parse/print functions (bind,
 * save, client-output-buffer-limit). Immutable rows can only be set at start-up. */
#include "mayfly/config.h"

#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

mayfly_config config;
void (*config_on_change)(const char *name);
int (*config_apply)(const char *name, const char **err);
int (*config_user_line)(int argc, char **argv, const char **err);
void (*config_rewrite_users)(buf *out);

const char *const config_policy_names[] = {"noeviction",      "allkeys-lru",  "allkeys-lfu",
                                           "allkeys-random",  "volatile-lru", "volatile-lfu",
                                           "volatile-random", "volatile-ttl", NULL};
static const char *const fsync_names[] = {"no", "everysec", "always", NULL};
static const char *const loglevel_names[] = {"debug",   "verbose", "notice",
                                             "warning", "nothing", NULL};
static const char *const protected_names[] = {"no", "yes", "local", NULL};
static const char *const supervised_names[] = {"no", "upstart", "systemd", "auto", NULL};
static const char *const diskless_load_names[] = {"disabled", "on-empty-db", "swapdb", NULL};
static const char *const pubsub_default_names[] = {"resetchannels", "allchannels", NULL};
static const char *const tls_auth_names[] = {"no", "yes", "optional", NULL};
static const char *const propagation_error_names[] = {"ignore", "panic", "panic-on-replicas", NULL};

/* Enum values in the order Redis lists them in its "must be one of" errors, where that
 * differs from the order of the index the rest of the server uses. */
static const char *const policy_shown[] = {"volatile-lru",   "volatile-lfu", "volatile-random",
                                           "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
                                           "allkeys-random", "noeviction",   NULL};
static const char *const fsync_shown[] = {"everysec", "always", "no", NULL};
static const char *const pubsub_default_shown[] = {"allchannels", "resetchannels", NULL};

enum cfg_kind { K_INT, K_MEM, K_BOOL, K_STR, K_ENUM, K_SPECIAL };
#define F_IMMUTABLE 1
#define F_SENSITIVE 2   /* not printed in logs */
#define F_PROTECTED 4   /* settable only with enable-protected-configs (as Redis's dir) */
#define F_HIDDEN 8      /* a test aid: CONFIG GET shows it only when asked by its exact name */
#define F_EMPTY_NULL 16 /* a string whose empty value is stored as NULL (unset) */
#define F_BINARY 32     /* a string that may hold NUL bytes (Redis's requirepass, masterauth) */

#define NDIRECTIVES_MAX 256

typedef struct directive {
    const char *name;
    const char *alias;
    enum cfg_kind kind;
    int flags;
    void *ptr; /* int*, long long*, char** */
    long long min, max;
    const char *def;
    const char *const *names;                      /* K_ENUM */
    int (*parse)(const char *v, const char **err); /* K_SPECIAL */
    void (*print)(buf *out);                       /* K_SPECIAL */
} directive;

static int parse_bind(const char *v, const char **err);
static void print_bind(buf *out);
static int parse_save(const char *v, const char **err);
static void print_save(buf *out);
static int parse_obuf(const char *v, const char **err);
static void print_obuf(buf *out);
static int parse_unixperm(const char *v, const char **err);
static void print_unixperm(buf *out);
static int parse_notify(const char *v, const char **err);
static void print_notify(buf *out);
static int parse_maxmemory_clients(const char *v, const char **err);
static void print_maxmemory_clients(buf *out);
static int parse_sigint(const char *v, const char **err);
static void print_sigint(buf *out);
static int parse_sigterm(const char *v, const char **err);
static void print_sigterm(buf *out);

#define INT(n, p, lo, hi, d)                                                                       \
    { n, NULL, K_INT, 0, &config.p, lo, hi, d, NULL, NULL, NULL }
#define MEM(n, p, lo, hi, d)                                                                       \
    { n, NULL, K_MEM, 0, &config.p, lo, hi, d, NULL, NULL, NULL }
#define BOOL(n, p, d)                                                                              \
    { n, NULL, K_BOOL, 0, &config.p, 0, 1, d, NULL, NULL, NULL }
#define STR(n, p, fl, d)                                                                           \
    { n, NULL, K_STR, fl, &config.p, 0, 0, d, NULL, NULL, NULL }
#define ENUM(n, p, names, d)                                                                       \
    { n, NULL, K_ENUM, 0, &config.p, 0, 0, d, names, NULL, NULL }
#define SPECIAL(n, fl, d, pa, pr)                                                                  \
    { n, NULL, K_SPECIAL, fl, NULL, 0, 0, d, NULL, pa, pr }
/* Directives Mayfly accepts and reports (CONFIG GET) but that change nothing here yet:
 * redis.conf files and tools that read them keep working. Their storage is a static
 * compound literal. */
#define XBOOL(n, al, fl, d)                                                                        \
    { n, al, K_BOOL, fl, &(int){0}, 0, 1, d, NULL, NULL, NULL }
#define XINT(n, al, fl, lo, hi, d)                                                                 \
    { n, al, K_INT, fl, &(int){0}, lo, hi, d, NULL, NULL, NULL }
#define XLL(n, al, fl, lo, hi, d)                                                                  \
    { n, al, K_INT, fl, &(long long){0}, lo, hi, d, NULL, NULL, NULL }
#define XMEM(n, fl, d)                                                                             \
    { n, NULL, K_MEM, fl, &(long long){0}, 0, LLONG_MAX, d, NULL, NULL, NULL }
#define XSTR(n, al, fl, d)                                                                         \
    { n, al, K_STR, fl, &(char *){NULL}, 0, 0, d, NULL, NULL, NULL }
#define XENUM(n, fl, names, d)                                                                     \
    { n, NULL, K_ENUM, fl, &(int){0}, 0, 0, d, names, NULL, NULL }

static directive table[] = {
    INT("port", port, 0, 65535, "6379"),
    SPECIAL("bind", 0, "127.0.0.1 -::1", parse_bind, print_bind),
    BOOL("protected-mode", protected_mode, "yes"),
    {"tcp-backlog", NULL, K_INT, F_IMMUTABLE, &config.tcp_backlog, 0, INT_MAX, "511", NULL, NULL,
     NULL},
    INT("tcp-keepalive", tcp_keepalive, 0, INT_MAX, "300"),
    {"unixsocket", NULL, K_STR, F_IMMUTABLE, &config.unixsocket, 0, 0, "", NULL, NULL, NULL},
    SPECIAL("unixsocketperm", F_IMMUTABLE, "0", parse_unixperm, print_unixperm),
    {"maxclients", NULL, K_INT, 0, &config.maxclients, 1, 4294967295LL, "10000", NULL, NULL, NULL},
    INT("timeout", timeout, 0, INT_MAX, "0"),
    STR("requirepass", requirepass, F_SENSITIVE | F_BINARY, ""),
    {"aclfile", NULL, K_STR, F_IMMUTABLE, &config.aclfile, 0, 0, "", NULL, NULL, NULL},
    {"acllog-max-len", NULL, K_INT, 0, &config.acllog_max_len, 0, LLONG_MAX, "128", NULL, NULL,
     NULL},
    ENUM("acl-pubsub-default", acl_pubsub_default, pubsub_default_names, "resetchannels"),
    INT("tls-port", tls_port, 0, 65535, "0"),
    STR("tls-cert-file", tls_cert_file, F_EMPTY_NULL, ""),
    STR("tls-key-file", tls_key_file, F_EMPTY_NULL, ""),
    STR("tls-key-file-pass", tls_key_file_pass, F_SENSITIVE | F_EMPTY_NULL, ""),
    STR("tls-client-cert-file", tls_client_cert_file, F_EMPTY_NULL, ""),
    STR("tls-client-key-file", tls_client_key_file, F_EMPTY_NULL, ""),
    STR("tls-client-key-file-pass", tls_client_key_file_pass, F_SENSITIVE | F_EMPTY_NULL, ""),
    STR("tls-dh-params-file", tls_dh_params_file, F_EMPTY_NULL, ""),
    STR("tls-ca-cert-file", tls_ca_cert_file, F_EMPTY_NULL, ""),
    STR("tls-ca-cert-dir", tls_ca_cert_dir, F_EMPTY_NULL, ""),
    STR("tls-protocols", tls_protocols, F_EMPTY_NULL, ""),
    STR("tls-ciphers", tls_ciphers, F_EMPTY_NULL, ""),
    STR("tls-ciphersuites", tls_ciphersuites, F_EMPTY_NULL, ""),
    BOOL("tls-prefer-server-ciphers", tls_prefer_server_ciphers, "no"),
    BOOL("tls-session-caching", tls_session_caching, "yes"),
    INT("tls-session-cache-size", tls_session_cache_size, 0, INT_MAX, "20480"),
    INT("tls-session-cache-timeout", tls_session_cache_timeout, 0, INT_MAX, "300"),
    ENUM("tls-auth-clients", tls_auth_clients, tls_auth_names, "yes"),
    BOOL("tls-replication", tls_replication, "no"),
    BOOL("tls-cluster", tls_cluster, "no"),
    MEM("proto-max-bulk-len", proto_max_bulk_len, 1024 * 1024, LLONG_MAX, "512mb"),
    MEM("client-query-buffer-limit", client_query_buffer_limit, 1024 * 1024, LLONG_MAX, "1gb"),
    SPECIAL("client-output-buffer-limit", 0, "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
            parse_obuf, print_obuf),
    {"databases", NULL, K_INT, F_IMMUTABLE, &config.databases, 1, INT_MAX, "16", NULL, NULL, NULL},
    INT("hz", hz, 0, INT_MAX, "10"), /* clamped to 1..500 as in Redis */
    MEM("maxmemory", maxmemory, 0, LLONG_MAX, "0"),
    ENUM("maxmemory-policy", maxmemory_policy, config_policy_names, "noeviction"),
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", K_INT, 0,
     &config.hash_max_listpack_entries, 0, LLONG_MAX, "512", NULL, NULL, NULL},
    {"hash-max-listpack-value", "hash-max-ziplist-value", K_MEM, 0, &config.hash_max_listpack_value,
     0, LLONG_MAX, "64", NULL, NULL, NULL},
    STR("dir", dir, F_PROTECTED, "./"),
    STR("dbfilename", dbfilename, F_PROTECTED, "dump.rdb"),
    SPECIAL("save", 0, "3600 1 300 100 60 10000", parse_save, print_save),
    BOOL("appendonly", appendonly, "no"),
    ENUM("appendfsync", appendfsync, fsync_names, "everysec"),
    {"appenddirname", NULL, K_STR, F_IMMUTABLE, &config.appenddirname, 0, 0, "appendonlydir", NULL,
     NULL, NULL},
    {"appendfilename", NULL, K_STR, F_IMMUTABLE, &config.appendfilename, 0, 0, "appendonly.aof",
     NULL, NULL, NULL},
    INT("auto-aof-rewrite-percentage", auto_aof_rewrite_percentage, 0, INT_MAX, "100"),
    MEM("auto-aof-rewrite-min-size", auto_aof_rewrite_min_size, 0, LLONG_MAX, "64mb"),
    BOOL("aof-load-truncated", aof_load_truncated, "yes"),
    BOOL("stop-writes-on-bgsave-error", stop_writes_on_bgsave_error, "yes"),
    {"slowlog-log-slower-than", NULL, K_INT, 0, &config.slowlog_log_slower_than, -1, LLONG_MAX,
     "10000", NULL, NULL, NULL},
    {"slowlog-max-len", NULL, K_INT, 0, &config.slowlog_max_len, 0, LLONG_MAX, "128", NULL, NULL,
     NULL},
    {"latency-monitor-threshold", NULL, K_INT, 0, &config.latency_monitor_threshold, 0, LLONG_MAX,
     "0", NULL, NULL, NULL},
    /* Redis's hidden test aid: microseconds to sleep after each key (or log record) loaded;
     * negative -N sleeps 1 us once every N keys on average. */
    {"key-load-delay", NULL, K_INT, F_HIDDEN, &config.key_load_delay, INT_MIN, INT_MAX, "0", NULL,
     NULL, NULL},
    ENUM("loglevel", loglevel, loglevel_names, "notice"),
    {"logfile", NULL, K_STR, F_IMMUTABLE, &config.logfile, 0, 0, "", NULL, NULL, NULL},
    STR("pidfile", pidfile, 0, ""),
    {"daemonize", NULL, K_BOOL, F_IMMUTABLE, &config.daemonize, 0, 1, "no", NULL, NULL, NULL},
    SPECIAL("notify-keyspace-events", 0, "", parse_notify, print_notify),
    {"enable-protected-configs", NULL, K_ENUM, F_IMMUTABLE, &config.enable_protected_configs, 0, 0,
     "no", protected_names, NULL, NULL},
    {"always-show-logo", NULL, K_BOOL, F_IMMUTABLE, &config.always_show_logo, 0, 1, "no", NULL,
     NULL, NULL},
    {"enable-debug-command", NULL, K_ENUM, F_IMMUTABLE, &config.enable_debug_command, 0, 0, "no",
     protected_names, NULL, NULL},
    /* Mayfly has no modules: the directive is kept (and logged at start-up when set) so that
     * redis.conf files load; see docs/config.md. */
    {"enable-module-command", NULL, K_ENUM, F_IMMUTABLE, &config.enable_module_command, 0, 0, "no",
     protected_names, NULL, NULL},
    ENUM("propagation-error-behavior", propagation_error_behavior, propagation_error_names,
         "ignore"),
    SPECIAL("shutdown-on-sigint", 0, "default", parse_sigint, print_sigint),
    SPECIAL("shutdown-on-sigterm", 0, "default", parse_sigterm, print_sigterm),
    /* Accepted for compatibility; no effect in Mayfly (see docs/config.md). */
    XBOOL("activerehashing", NULL, 0, "yes"),
    XBOOL("lazyfree-lazy-eviction", NULL, 0, "no"),
    XBOOL("lazyfree-lazy-expire", NULL, 0, "no"),
    XBOOL("lazyfree-lazy-server-del", NULL, 0, "no"),
    XBOOL("lazyfree-lazy-user-del", NULL, 0, "no"),
    XBOOL("lazyfree-lazy-user-flush", NULL, 0, "no"),
    XBOOL("replica-lazy-flush", "slave-lazy-flush", 0, "no"),
    XBOOL("rdbcompression", NULL, 0, "yes"),
    XBOOL("rdbchecksum", NULL, 0, "yes"),
    XBOOL("rdb-del-sync-files", NULL, 0, "no"),
    XBOOL("replica-read-only", "slave-read-only", 0, "yes"),
    XBOOL("replica-serve-stale-data", "slave-serve-stale-data", 0, "yes"),
    XBOOL("no-appendfsync-on-rewrite", NULL, 0, "no"),
    XBOOL("aof-use-rdb-preamble", NULL, 0, "yes"),
    XBOOL("aof-timestamp-enabled", NULL, 0, "no"),
    XBOOL("cluster-enabled", NULL, F_IMMUTABLE, "no"),
    XBOOL("set-proc-title", NULL, F_IMMUTABLE, "yes"),
    XBOOL("syslog-enabled", NULL, F_IMMUTABLE, "no"),
    XBOOL("dynamic-hz", NULL, 0, "yes"),
    XBOOL("activedefrag", NULL, 0, "no"),
    XBOOL("jemalloc-bg-thread", NULL, 0, "yes"),
    XBOOL("crash-log-enabled", NULL, 0, "yes"),
    XBOOL("repl-diskless-sync", NULL, 0, "yes"),
    XINT("repl-diskless-sync-delay", NULL, 0, 0, INT_MAX, "5"),
    XBOOL("latency-tracking", NULL, 0, "yes"),
    XINT("maxmemory-samples", NULL, 0, 1, INT_MAX, "5"),
    XINT("maxmemory-eviction-tenacity", NULL, 0, 0, 100, "10"),
    XINT("lfu-log-factor", NULL, 0, 0, INT_MAX, "10"),
    XINT("lfu-decay-time", NULL, 0, 0, INT_MAX, "1"),
    XINT("active-expire-effort", NULL, 0, 1, 10, "1"),
    {"busy-reply-threshold", "lua-time-limit", K_INT, 0, &config.busy_reply_threshold, 0, LLONG_MAX,
     "5000", NULL, NULL, NULL},
    XINT("io-threads", NULL, F_IMMUTABLE, 1, 128, "1"),
    XINT("list-max-listpack-size", "list-max-ziplist-size", 0, INT_MIN, INT_MAX, "-2"),
    XINT("list-compress-depth", NULL, 0, 0, INT_MAX, "0"),
    XLL("set-max-intset-entries", NULL, 0, 0, LLONG_MAX, "512"),
    XLL("set-max-listpack-entries", NULL, 0, 0, LLONG_MAX, "128"),
    XLL("set-max-listpack-value", NULL, 0, 0, LLONG_MAX, "64"),
    XLL("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, 0, LLONG_MAX, "128"),
    XLL("zset-max-listpack-value", "zset-max-ziplist-value", 0, 0, LLONG_MAX, "64"),
    XLL("hll-sparse-max-bytes", NULL, 0, 0, LLONG_MAX, "3000"),
    XLL("stream-node-max-bytes", NULL, 0, 0, LLONG_MAX, "4096"),
    XLL("stream-node-max-entries", NULL, 0, 0, LLONG_MAX, "100"),
    XINT("min-replicas-to-write", "min-slaves-to-write", 0, 0, INT_MAX, "0"),
    XINT("min-replicas-max-lag", "min-slaves-max-lag", 0, 0, INT_MAX, "10"),
    XMEM("repl-backlog-size", 0, "1mb"),
    XINT("repl-timeout", NULL, 0, 1, INT_MAX, "60"),
    XINT("replica-priority", "slave-priority", 0, 0, INT_MAX, "100"),
    XLL("tracking-table-max-keys", NULL, 0, 0, LLONG_MAX, "1000000"),
    SPECIAL("maxmemory-clients", 0, "0", parse_maxmemory_clients, print_maxmemory_clients),
    XINT("shutdown-timeout", NULL, 0, 0, INT_MAX, "10"),
    XSTR("replicaof", "slaveof", F_IMMUTABLE, ""),
    XSTR("masterauth", NULL, F_SENSITIVE | F_BINARY, ""),
    XSTR("masteruser", NULL, 0, ""),
    XSTR("syslog-ident", NULL, F_IMMUTABLE, "redis"),
    XSTR("oom-score-adj", NULL, 0, "no"),
    XSTR("proc-title-template", NULL, 0, "{title} {listen-addr} {server-mode}"),
    XENUM("supervised", F_IMMUTABLE, supervised_names, "no"),
    XENUM("repl-diskless-load", 0, diskless_load_names, "disabled"),
};
#define NDIRECTIVES (sizeof(table) / sizeof(table[0]))
_Static_assert(NDIRECTIVES <= NDIRECTIVES_MAX, "raise NDIRECTIVES_MAX");

static directive *find(const char *name) {
    for (size_t i = 0; i < NDIRECTIVES; i++)
        if (strcasecmp(table[i].name, name) == 0 ||
            (table[i].alias && strcasecmp(table[i].alias, name) == 0))
            return &table[i];
    return NULL;
}

/* Parses Redis memory units: "10", "1k" (1000), "1kb" (1024), m/mb, g/gb. */
static int parse_memory(const char *v, long long *out) {
    size_t len = strlen(v), digits = len;
    long long mul = 1;
    static const struct {
        const char *suffix;
        long long mul;
    } units[] = {{"kb", 1024LL},
                 {"k", 1000LL},
                 {"mb", 1024LL * 1024},
                 {"m", 1000LL * 1000},
                 {"gb", 1024LL * 1024 * 1024},
                 {"g", 1000LL * 1000 * 1000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t sl = strlen(units[i].suffix);
        if (len > sl && strcasecmp(v + len - sl, units[i].suffix) == 0) {
            mul = units[i].mul;
            digits = len - sl;
            break;
        }
    }
    long long n;
    if (str_to_ll(v, digits, &n) < 0 || n < 0) return -1;
    if (n > LLONG_MAX / mul) return -1;
    *out = n * mul;
    return 0;
}

static size_t str_len[NDIRECTIVES_MAX]; /* length of each K_STR value (F_BINARY may hold NULs) */

static int set_value(directive *d, const char *v, size_t vlen, const char **err) {
    /* Other strings refuse a NUL (Redis cuts them short at it without a word). */
    if (!(d->flags & F_BINARY) && memchr(v, '\0', vlen)) {
        *err = "argument contains a NUL byte";
        return -1;
    }
    switch (d->kind) {
    case K_INT: {
        long long n;
        if (str_to_ll(v, vlen, &n) < 0) {
            *err = "argument couldn't be parsed into an integer";
            return -1;
        }
        if (n < d->min || n > d->max) {
            static char msg[128];
            snprintf(msg, sizeof(msg), "argument must be between %lld and %lld inclusive", d->min,
                     d->max);
            *err = msg;
            return -1;
        }
        if (d->ptr == &config.hz) n = n < 1 ? 1 : n > 500 ? 500 : n; /* Redis clamps hz */
        if (d->max <= INT_MAX)
            *(int *)d->ptr = (int)n;
        else
            *(long long *)d->ptr = n;
        return 0;
    }
    case K_MEM: {
        long long n;
        if (parse_memory(v, &n) < 0) {
            *err = "argument must be a memory value";
            return -1;
        }
        if (n < d->min || n > d->max) {
            static char msg[128];
            snprintf(msg, sizeof(msg), "argument must be between %lld and %lld inclusive", d->min,
                     d->max);
            *err = msg;
            return -1;
        }
        *(long long *)d->ptr = n;
        return 0;
    }
    case K_BOOL:
        if (strcasecmp(v, "yes") == 0)
            *(int *)d->ptr = 1;
        else if (strcasecmp(v, "no") == 0)
            *(int *)d->ptr = 0;
        else {
            *err = "argument must be 'yes' or 'no'";
            return -1;
        }
        return 0;
    case K_STR: {
        char **p = d->ptr;
        mem_free(*p);
        int to_null = vlen == 0 && (d->ptr == &config.requirepass || (d->flags & F_EMPTY_NULL));
        *p = to_null ? NULL : mem_strndup(v, vlen);
        str_len[d - table] = vlen;
        if (d->ptr == &config.requirepass) config.requirepass_len = vlen;
        if (d->ptr == &config.unixsocket && vlen == 0) {
            mem_free(*p);
            *p = NULL;
        }
        return 0;
    }
    case K_ENUM:
        for (int i = 0; d->names[i]; i++)
            if (strcasecmp(d->names[i], v) == 0) {
                *(int *)d->ptr = i;
                return 0;
            }
        {
            const char *const *shown = d->names == config_policy_names    ? policy_shown
                                       : d->names == fsync_names          ? fsync_shown
                                       : d->names == pubsub_default_names ? pubsub_default_shown
                                                                          : d->names;
            static char msg[256];
            size_t n =
                (size_t)snprintf(msg, sizeof(msg), "argument(s) must be one of the following: ");
            for (int i = 0; shown[i] && n < sizeof(msg); i++)
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", i ? ", " : "", shown[i]);
            *err = msg;
        }
        return -1;
    case K_SPECIAL:
        return d->parse(v, err);
    }
    return -1;
}

static void print_value(const directive *d, buf *out) {
    switch (d->kind) {
    case K_INT:
        if (d->max <= INT_MAX)
            buf_printf(out, "%d", *(int *)d->ptr);
        else
            buf_printf(out, "%lld", *(long long *)d->ptr);
        break;
    case K_MEM:
        buf_printf(out, "%lld", *(long long *)d->ptr);
        break;
    case K_BOOL:
        buf_puts(out, *(int *)d->ptr ? "yes" : "no");
        break;
    case K_STR: {
        char *s = *(char **)d->ptr;
        if (s) buf_append(out, s, str_len[d - table]);
        break;
    }
    case K_ENUM:
        buf_puts(out, d->names[*(int *)d->ptr]);
        break;
    case K_SPECIAL:
        d->print(out);
        break;
    }
}

/* ---- special directives ---- */

static int parse_bind(const char *v, const char **err) {
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", v);
    int n = 0;
    char *save = NULL;
    char *addrs[CONFIG_MAX_BIND];
    for (char *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (n == CONFIG_MAX_BIND) {
            *err = "Too many bind addresses specified.";
            return -1;
        }
        addrs[n++] = t;
    }
    for (int i = 0; i < config.bind_count; i++)
        mem_free(config.bind[i]);
    for (int i = 0; i < n; i++)
        config.bind[i] = mem_strdup(addrs[i]);
    config.bind_count = n;
    return 0;
}

static void print_bind(buf *out) {
    for (int i = 0; i < config.bind_count; i++)
        buf_printf(out, "%s%s", i ? " " : "", config.bind[i]);
}

static int parse_save(const char *v, const char **err) {
    /* "" disables; otherwise pairs of positive integers. */
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", v);
    int count = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        long long n;
        if (str_to_ll(t, strlen(t), &n) < 0 || n < 0) {
            *err = "Invalid save parameters";
            return -1;
        }
        count++;
    }
    if (count % 2) {
        *err = "Invalid save parameters";
        return -1;
    }
    mem_free(config.save);
    config.save = mem_strdup(v);
    return 0;
}

static void print_save(buf *out) {
    buf_puts(out, config.save ? config.save : "");
}

static const char *const obuf_classes[] = {"normal", "slave", "pubsub"};

static int parse_obuf(const char *v, const char **err) {
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", v);
    char *tok[64];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmp, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    if (n == 0 || n % 4) {
        *err = "Wrong number of arguments in buffer limit configuration.";
        return -1;
    }
    for (int i = 0; i < n; i += 4) {
        int cls = -1;
        for (int c = 0; c < 3; c++)
            if (strcasecmp(tok[i], obuf_classes[c]) == 0) cls = c;
        if (strcasecmp(tok[i], "replica") == 0) cls = 1;
        long long hard, soft, secs;
        if (cls < 0) {
            *err = "Invalid client class specified in buffer limit configuration.";
            return -1;
        }
        if (parse_memory(tok[i + 1], &hard) < 0 || parse_memory(tok[i + 2], &soft) < 0 ||
            str_to_ll(tok[i + 3], strlen(tok[i + 3]), &secs) < 0 || secs < 0 || secs > INT_MAX) {
            *err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            return -1;
        }
        config.client_obuf_hard[cls] = hard;
        config.client_obuf_soft[cls] = soft;
        config.client_obuf_soft_secs[cls] = (int)secs;
    }
    return 0;
}

static void print_obuf(buf *out) {
    for (int c = 0; c < 3; c++)
        buf_printf(out, "%s%s %lld %lld %d", c ? " " : "", obuf_classes[c],
                   config.client_obuf_hard[c], config.client_obuf_soft[c],
                   config.client_obuf_soft_secs[c]);
}

/* notify-keyspace-events: bit i of config.notify_keyspace_events is letter i of this
 * string (cmd/notify.h's NOTIFY_* follow the same order). 'A' stands for "g$lshzxetd". */
static const char notify_letters[] = "KEg$lshzxetmdnocrSTIV";
#define NOTIFY_BIT(ch) (1 << (strchr(notify_letters, (ch)) - notify_letters))

static int notify_all_bits(void) {
    int bits = 0;
    for (const char *p = "g$lshzxetd"; *p; p++)
        bits |= NOTIFY_BIT(*p);
    return bits;
}

static int parse_notify(const char *v, const char **err) {
    int flags = 0;
    for (const char *p = v; *p; p++) {
        if (*p == 'A') {
            flags |= notify_all_bits();
        } else if (strchr(notify_letters, *p)) {
            flags |= NOTIFY_BIT(*p);
        } else {
            *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdnocrSTIV'.";
            return -1;
        }
    }
    config.notify_keyspace_events = flags;
    return 0;
}

/* Prints the classes as Redis does: 'A' when all of its classes are on (then n, o, c and
 * r are not shown), else the type letters, followed by K E m and the subkey channels. */
static void print_notify(buf *out) {
    int flags = config.notify_keyspace_events, all = notify_all_bits();
    const char *types = (flags & all) == all ? "" : "g$lshzxetdnocr";
    if ((flags & all) == all) buf_putc(out, 'A');
    for (const char *p = types; *p; p++)
        if (flags & NOTIFY_BIT(*p)) buf_putc(out, *p);
    for (const char *p = "KEmSTIV"; *p; p++)
        if (flags & NOTIFY_BIT(*p)) buf_putc(out, *p);
}

/* shutdown-on-sigint / shutdown-on-sigterm: any of save, nosave, now, force ("default" adds
 * nothing), not both save and nosave. Printed as Redis prints a flags enum. */
static const struct {
    const char *name;
    int bit;
} sig_flags[] = {{"default", 0},
                 {"save", CONFIG_SHUTDOWN_SAVE},
                 {"nosave", CONFIG_SHUTDOWN_NOSAVE},
                 {"now", CONFIG_SHUTDOWN_NOW},
                 {"force", CONFIG_SHUTDOWN_FORCE}};
#define NSIG_FLAGS (sizeof(sig_flags) / sizeof(sig_flags[0]))

static int parse_sig_flags(const char *v, int *out, const char **err) {
    static const char *const bad =
        "argument(s) must be one of the following: default, save, nosave, now, force";
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", v);
    int flags = 0, words = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save), words++) {
        size_t i = 0;
        while (i < NSIG_FLAGS && strcasecmp(t, sig_flags[i].name) != 0)
            i++;
        if (i == NSIG_FLAGS) {
            *err = bad;
            return -1;
        }
        flags |= sig_flags[i].bit;
    }
    if (words == 0) {
        *err = bad;
        return -1;
    }
    if ((flags & CONFIG_SHUTDOWN_SAVE) && (flags & CONFIG_SHUTDOWN_NOSAVE)) {
        *err = "shutdown options SAVE and NOSAVE can't be used simultaneously";
        return -1;
    }
    *out = flags;
    return 0;
}

static void print_sig_flags(int flags, buf *out) {
    if (flags == 0) {
        buf_puts(out, "default");
        return;
    }
    int first = 1;
    for (size_t i = 1; i < NSIG_FLAGS; i++)
        if (flags & sig_flags[i].bit) {
            buf_printf(out, "%s%s", first ? "" : " ", sig_flags[i].name);
            first = 0;
        }
}

static int parse_sigint(const char *v, const char **err) {
    return parse_sig_flags(v, &config.shutdown_on_sigint, err);
}
static void print_sigint(buf *out) {
    print_sig_flags(config.shutdown_on_sigint, out);
}
static int parse_sigterm(const char *v, const char **err) {
    return parse_sig_flags(v, &config.shutdown_on_sigterm, err);
}
static void print_sigterm(buf *out) {
    print_sig_flags(config.shutdown_on_sigterm, out);
}

/* maxmemory-clients: a memory value, or "N%" of maxmemory (kept negative, as Redis does).
 * Accepted and reported; Mayfly does not evict clients (docs/config.md). */
static long long maxmemory_clients;

static int parse_maxmemory_clients(const char *v, const char **err) {
    size_t len = strlen(v);
    long long n;
    if (len > 1 && v[len - 1] == '%') {
        if (str_to_ll(v, len - 1, &n) < 0 || n < 0) {
            *err = "argument must be a memory or percent value";
            return -1;
        }
        if (n > 100) {
            *err = "percentage argument must be less or equal to 100";
            return -1;
        }
        maxmemory_clients = -n;
        return 0;
    }
    if (parse_memory(v, &n) < 0) {
        *err = "argument must be a memory or percent value";
        return -1;
    }
    maxmemory_clients = n;
    return 0;
}

static void print_maxmemory_clients(buf *out) {
    if (maxmemory_clients < 0)
        buf_printf(out, "%lld%%", -maxmemory_clients);
    else
        buf_printf(out, "%lld", maxmemory_clients);
}

static int parse_unixperm(const char *v, const char **err) {
    char *end;
    long n = strtol(v, &end, 8);
    if (*v == '\0' || *end || n < 0 || n > 0777) {
        *err = "Invalid socket file permissions";
        return -1;
    }
    config.unixsocketperm = (int)n;
    return 0;
}

static void print_unixperm(buf *out) {
    buf_printf(out, "%o", config.unixsocketperm);
}

/* ---- loading ---- */

static char *defaults[NDIRECTIVES]; /* each directive's default as CONFIG GET prints it */

void config_init(void) {
    memset(&config, 0, sizeof(config));
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const char *err;
        int rc = set_value(&table[i], table[i].def, strlen(table[i].def), &err);
        assert(rc == 0);
        (void)rc;
        buf v;
        buf_init(&v);
        print_value(&table[i], &v);
        mem_free(defaults[i]);
        defaults[i] = mem_strndup(v.data ? v.data : "", v.len);
        buf_deinit(&v);
    }
    config.active_expire = 1;
}

/* Splits a config line into words with Redis's quoting rules; returns the count or -1. */
static int split_line(char *line, char **words, int max) {
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p) break;
        if (n == max) return -1;
        char *w = p, *o = p;
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q) {
                if (q == '"' && *p == '\\' && p[1]) {
                    p++;
                    switch (*p) {
                    case 'n':
                        *o++ = '\n';
                        break;
                    case 'r':
                        *o++ = '\r';
                        break;
                    case 't':
                        *o++ = '\t';
                        break;
                    default:
                        *o++ = *p;
                    }
                    p++;
                } else {
                    *o++ = *p++;
                }
            }
            if (*p != q) return -1;
            p++;
            if (*p && !isspace((unsigned char)*p)) return -1;
        } else {
            while (*p && !isspace((unsigned char)*p))
                *o++ = *p++;
        }
        if (*p) p++;
        *o = '\0';
        words[n++] = w;
    }
    return n;
}

static int file_lines; /* lines in the config file loaded (error line numbers of options) */

static void fatal(const char *what, int lineno, const char *line, const char *msg) {
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Mayfly %s) ***\n", MAYFLY_VERSION);
    fprintf(stderr, "Reading the configuration %s, at line %d\n", what, lineno);
    fprintf(stderr, ">>> '%s'\n", line);
    fprintf(stderr, "%s\n", msg);
}

/* Applies one directive line (already split). Returns 0 or -1 with *err. */
static int apply_words(char **w, int n, const char **err) {
    if (strcasecmp(w[0], "user") == 0 && n >= 2 && config_user_line)
        return config_user_line(n, w, err);
    directive *d = find(w[0]);
    if (!d) {
        *err = "Bad directive or wrong number of arguments";
        return -1;
    }
    if (d->kind == K_SPECIAL && n == 1) return d->parse("", err); /* "save" alone: none */
    if (d->kind == K_SPECIAL && n >= 2) {
        /* Multi-word values (bind a b, save 900 1 300 10) are joined back. */
        char joined[1024];
        size_t len = 0;
        joined[0] = '\0';
        for (int i = 1; i < n; i++)
            len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s", i > 1 ? " " : "",
                                    w[i]);
        /* Repeated "save" lines accumulate, as in redis.conf. */
        if (d->parse == parse_save && config.save && config.save[0] && n > 1 && w[1][0]) {
            static int first_save_line = 1;
            if (!first_save_line) {
                char both[1100];
                snprintf(both, sizeof(both), "%s %s", config.save, joined);
                return parse_save(both, err);
            }
            first_save_line = 0;
        }
        return d->parse(joined, err);
    }
    if (n != 2) {
        *err = "Bad directive or wrong number of arguments";
        return -1;
    }
    return set_value(d, w[1], strlen(w[1]), err);
}

int config_load_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char copy[4096];
        memcpy(copy, line, len + 1);
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '#' || *p == '\0') continue;
        char *w[64];
        int n = split_line(p, w, 64);
        const char *err = NULL;
        if (n < 0)
            err = "Unbalanced quotes in configuration line";
        else if (apply_words(w, n, &err) == 0)
            continue;
        fatal("file", lineno, copy, err);
        fclose(f);
        return -1;
    }
    fclose(f);
    file_lines = lineno;
    char resolved[4096];
    mem_free(config.config_file);
    config.config_file = mem_strdup(realpath(path, resolved) ? resolved : path);
    return 0;
}

/* Appends s to out quoted as Redis's sdscatrepr does ("a\"b\n" style). */
static void append_repr(buf *out, const char *s, size_t len) {
    buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)s + len;
         p++) {
        switch (*p) {
        case '\\':
            buf_puts(out, "\\\\");
            break;
        case '"':
            buf_puts(out, "\\\"");
            break;
        case '\n':
            buf_puts(out, "\\n");
            break;
        case '\r':
            buf_puts(out, "\\r");
            break;
        case '\t':
            buf_puts(out, "\\t");
            break;
        default:
            if (isprint(*p))
                buf_putc(out, (char)*p);
            else
                buf_printf(out, "\\x%02x", *p);
        }
    }
    buf_putc(out, '"');
}

/* 1 if arg, split as a config line, is a single word ("--port", not "--port 6380"). */
static int one_word(const char *arg) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", arg);
    char *w[2];
    return split_line(tmp, w, 2) == 1;
}

/* Turns the command line into config text as Redis does: each "--name" argument starts a
 * line (its text after "--" taken as written, so "--maxmemory 700mb" is a whole line) and
 * every other argument is appended quoted. Right after a bare "--name" the next argument
 * is its value even if it starts with "--"; "--save" followed by an option or by nothing
 * means an empty save. Words before the first "--name" make a line of their own. */
static void args_to_text(int argc, char **argv, buf *text) {
    int want_value = 0; /* the last "--name" still waits for its value */
    for (int j = 0; j < argc; j++) {
        const char *a = argv[j];
        if (!want_value && a[0] == '-' && a[1] == '-') {
            if (text->len) buf_putc(text, '\n');
            buf_puts(text, a + 2);
            buf_putc(text, ' ');
            if (!one_word(a)) continue;
            want_value = 1;
            int next_opt = j + 1 < argc && argv[j + 1][0] == '-' && argv[j + 1][1] == '-';
            if (strcasecmp(a, "--save") == 0 && (next_opt || j == argc - 1)) {
                buf_puts(text, "\"\"");
                want_value = 0;
            }
        } else {
            append_repr(text, a, strlen(a));
            buf_putc(text, ' ');
            want_value = 0;
        }
    }
}

int config_load_args(int argc, char **argv) {
    buf text;
    buf_init(&text);
    args_to_text(argc, argv, &text);
    buf_putc(&text, '\0');
    /* Redis appends this text to the file's after a newline, so an error names the line the
     * option has there. */
    int lineno = file_lines + 1, rc = 0;
    char *save = NULL;
    for (char *line = text.len > 1 ? strtok_r(text.data, "\n", &save) : NULL; line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        size_t len = strlen(line);
        while (len && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", line);
        char *w[64];
        int n = split_line(line, w, 64);
        const char *err = NULL;
        if (n < 0)
            err = "Unbalanced quotes in configuration line";
        else if (n == 0 || apply_words(w, n, &err) == 0)
            continue;
        fatal("file", lineno, copy, err);
        rc = -1;
    }
    buf_deinit(&text);
    return rc;
}

/* ---- CONFIG GET / SET ---- */

/* Matches one pattern element at pat (not '*') against the character c; sets *used to the
 * element's length in the pattern. Returns 1 on a match. */
static int glob_one(const char *pat, size_t plen, char c, size_t *used) {
    int lc = tolower((unsigned char)c);
    if (*pat == '?') {
        *used = 1;
        return 1;
    }
    if (*pat == '[') {
        size_t i = 1;
        int neg = i < plen && pat[i] == '^';
        if (neg) i++;
        int match = 0;
        while (i < plen && pat[i] != ']') {
            if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
                if (lc >= tolower((unsigned char)pat[i]) &&
                    lc <= tolower((unsigned char)pat[i + 2]))
                    match = 1;
                i += 3;
            } else {
                if (tolower((unsigned char)pat[i]) == lc) match = 1;
                i++;
            }
        }
        *used = i < plen ? i + 1 : plen; /* an unclosed class runs to the end */
        return match != neg;
    }
    if (*pat == '\\' && plen > 1) {
        *used = 2;
        return tolower((unsigned char)pat[1]) == lc;
    }
    *used = 1;
    return tolower((unsigned char)*pat) == lc;
}

/* Greedy matching with one backtrack point (the last '*'): linear in practice and never
 * exponential, whatever pattern a client sends. */
int config_glob(const char *pat, size_t plen, const char *s) {
    size_t p = 0, star_p = 0;
    const char *star_s = NULL;
    while (*s) {
        size_t used = 0;
        if (p < plen && pat[p] == '*') {
            while (p < plen && pat[p] == '*')
                p++;
            star_p = p;
            star_s = s;
            continue;
        }
        if (p < plen && glob_one(pat + p, plen - p, *s, &used)) {
            p += used;
            s++;
            continue;
        }
        if (!star_s) return 0;
        p = star_p;
        s = ++star_s;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* Appends one name/value pair to the CONFIG GET result. */
static void add_pair(const directive *d, const char *name, char **names, char **values, size_t *n) {
    buf b;
    buf_init(&b);
    print_value(d, &b);
    names[*n] = mem_strdup(name);
    values[*n] = mem_strndup(b.data ? b.data : "", b.len);
    buf_deinit(&b);
    (*n)++;
}

/* As Redis 7+, a pattern matches names and aliases alike: "*of" gives replicaof and
 * slaveof, "*" every name and every alias. */
size_t config_get(const char *pattern, size_t plen, char ***names, char ***values) {
    size_t n = 0;
    *names = mem_alloc(sizeof(char *) * NDIRECTIVES * 2);
    *values = mem_alloc(sizeof(char *) * NDIRECTIVES * 2);
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if ((table[i].flags & F_HIDDEN) &&
            (strlen(table[i].name) != plen || strncasecmp(pattern, table[i].name, plen) != 0))
            continue;
        if (config_glob(pattern, plen, table[i].name))
            add_pair(&table[i], table[i].name, *names, *values, &n);
        if (table[i].alias && config_glob(pattern, plen, table[i].alias))
            add_pair(&table[i], table[i].alias, *names, *values, &n);
    }
    return n;
}

int config_set(const char *name, const char *value, size_t vlen, const char **err) {
    directive *d = find(name);
    if (!d) {
        *err = "unknown";
        return -1;
    }
    if (config_settable(name, err) < 0) return -1;
    char *v = mem_strndup(value, vlen);
    buf old;
    buf_init(&old);
    print_value(d, &old);
    buf_putc(&old, '\0');
    int rc = set_value(d, v, vlen, err);
    mem_free(v);
    if (rc == 0 && config_apply && config_apply(d->name, err) < 0) {
        const char *ignored;
        set_value(d, old.data, old.len - 1, &ignored);
        rc = -1;
    }
    buf_deinit(&old);
    if (rc == 0) {
        if (d->ptr == &config.loglevel) log_setup((enum log_level)config.loglevel, config.logfile);
        if (config_on_change) config_on_change(d->name);
    }
    return rc;
}

int config_exists(const char *name) {
    return find(name) != NULL;
}

int config_settable(const char *name, const char **err) {
    directive *d = find(name);
    if (!d) {
        *err = "unknown";
        return -1;
    }
    if (d->flags & F_IMMUTABLE) {
        *err = "can't set immutable config";
        return -1;
    }
    if ((d->flags & F_PROTECTED) && config.enable_protected_configs == 0) {
        *err = "can't set protected config";
        return -1;
    }
    return 0;
}

const char *config_canonical(const char *name) {
    directive *d = find(name);
    return d ? d->name : NULL;
}

int config_value(const char *name, buf *out) {
    directive *d = find(name);
    if (!d) return -1;
    print_value(d, out);
    return 0;
}

/* Appends "name value" as a config line: multi-word values (bind, save, buffer limits)
 * as words, strings quoted when they need it. */
static void rewrite_line(const directive *d, buf *out) {
    buf v;
    buf_init(&v);
    print_value(d, &v);
    buf_putc(&v, '\0');
    /* Multi-word values (bind, save, buffer limits) are written as words; any other value
     * is quoted unless it is one plain word. */
    int plain = v.len > 1;
    for (size_t i = 0; plain && i + 1 < v.len; i++) {
        char ch = v.data[i];
        if (ch == '"' || ch == '\'' || ch == '\\' ||
            (!isgraph((unsigned char)ch) && !(d->kind == K_SPECIAL && ch == ' ')))
            plain = 0;
    }
    buf_puts(out, d->name);
    buf_putc(out, ' ');
    if (plain)
        buf_puts(out, v.data);
    else
        append_repr(out, v.data, v.len - 1);
    buf_putc(out, '\n');
    buf_deinit(&v);
}

/* CONFIG REWRITE, as Redis does it: the file keeps its comments and unknown lines; the first
 * line of each directive gets the current value and later duplicates are dropped;
 * directives not in the file are appended only when they differ from their defaults. The
 * new text goes to a temporary file renamed over the old one. */
int config_rewrite(const char **err) {
    if (!config.config_file) {
        *err = "The server is running without a config file";
        return -1;
    }
    static unsigned char written[NDIRECTIVES];
    memset(written, 0, sizeof(written));
    int users_written = 0;
    buf out;
    buf_init(&out);
    FILE *f = fopen(config.config_file, "r");
    char line[4096];
    while (f && fgets(line, sizeof(line), f)) {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", line);
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        char *w[64];
        int n = (*p == '#' || *p == '\0') ? 0 : split_line(p, w, 64);
        if (n > 0 && strcasecmp(w[0], "user") == 0) {
            /* The users are written where the first `user` line was; others go. */
            if (!users_written && config_rewrite_users && !(config.aclfile && config.aclfile[0]))
                config_rewrite_users(&out);
            users_written = 1;
            continue;
        }
        directive *d = n > 0 ? find(w[0]) : NULL;
        if (!d) {
            if (strcmp(copy, "# Generated by CONFIG REWRITE\n") != 0) buf_puts(&out, copy);
            continue;
        }
        size_t idx = (size_t)(d - table);
        if (!written[idx]) rewrite_line(d, &out);
        written[idx] = 1;
    }
    if (f) fclose(f);
    int header = 0;
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if (written[i]) continue;
        buf v;
        buf_init(&v);
        print_value(&table[i], &v);
        int same =
            v.len == strlen(defaults[i]) && memcmp(v.data ? v.data : "", defaults[i], v.len) == 0;
        buf_deinit(&v);
        if (same) continue;
        if (!header) {
            if (out.len && out.data[out.len - 1] != '\n') buf_putc(&out, '\n');
            buf_puts(&out, "# Generated by CONFIG REWRITE\n");
            header = 1;
        }
        rewrite_line(&table[i], &out);
    }
    if (!users_written && config_rewrite_users && !(config.aclfile && config.aclfile[0])) {
        buf users;
        buf_init(&users);
        config_rewrite_users(&users);
        if (users.len && !header) {
            if (out.len && out.data[out.len - 1] != '\n') buf_putc(&out, '\n');
            buf_puts(&out, "# Generated by CONFIG REWRITE\n");
        }
        if (users.len) buf_append(&out, users.data, users.len);
        buf_deinit(&users);
    }
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-rewrite", config.config_file);
    FILE *o = fopen(tmp, "w");
    int ok = o && fwrite(out.data ? out.data : "", 1, out.len, o) == out.len;
    if (o && fclose(o) != 0) ok = 0;
    if (ok && rename(tmp, config.config_file) != 0) ok = 0;
    buf_deinit(&out);
    if (!ok) {
        unlink(tmp);
        static char msg[256];
        snprintf(msg, sizeof(msg), "Rewriting config file: %s", strerror(errno));
        *err = msg;
        return -1;
    }
    return 0;
}
