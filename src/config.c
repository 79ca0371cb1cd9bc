/* config: the directive table and its parsers; see config.h.
 *
 * Each row names a directive (and an alias, e.g. hash-max-ziplist-entries), its kind, where
 * its value lives and its bounds. Kinds: integer, memory (accepts 1gb, 512mb, 100k ...),
 * yes/no, string, enum, and "special" rows with their own parse/print functions (bind,
 * save, client-output-buffer-limit). Immutable rows can only be set at start-up. */
#include "config.h"

#include "util/log.h"
#include "util/mem.h"
#include "util/strconv.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

mayfly_config config;
void (*config_on_change)(const char *name);

const char *const config_policy_names[] = {
    "noeviction",     "allkeys-lru",  "allkeys-lfu",     "allkeys-random", "volatile-lru",
    "volatile-lfu",   "volatile-random", "volatile-ttl", NULL};
static const char *const fsync_names[] = {"no", "everysec", "always", NULL};
static const char *const loglevel_names[] = {"debug",   "verbose", "notice",
                                             "warning", "nothing", NULL};

enum cfg_kind { K_INT, K_MEM, K_BOOL, K_STR, K_ENUM, K_SPECIAL };
#define F_IMMUTABLE 1
#define F_SENSITIVE 2 /* not printed in logs */

typedef struct directive {
    const char *name;
    const char *alias;
    enum cfg_kind kind;
    int flags;
    void *ptr; /* int*, long long*, char** */
    long long min, max;
    const char *def;
    const char *const *names; /* K_ENUM */
    int (*parse)(const char *v, const char **err); /* K_SPECIAL */
    void (*print)(buf *out);                        /* K_SPECIAL */
} directive;

static int parse_bind(const char *v, const char **err);
static void print_bind(buf *out);
static int parse_save(const char *v, const char **err);
static void print_save(buf *out);
static int parse_obuf(const char *v, const char **err);
static void print_obuf(buf *out);
static int parse_unixperm(const char *v, const char **err);
static void print_unixperm(buf *out);

#define INT(n, p, lo, hi, d) {n, NULL, K_INT, 0, &config.p, lo, hi, d, NULL, NULL, NULL}
#define MEM(n, p, lo, hi, d) {n, NULL, K_MEM, 0, &config.p, lo, hi, d, NULL, NULL, NULL}
#define BOOL(n, p, d) {n, NULL, K_BOOL, 0, &config.p, 0, 1, d, NULL, NULL, NULL}
#define STR(n, p, fl, d) {n, NULL, K_STR, fl, &config.p, 0, 0, d, NULL, NULL, NULL}
#define ENUM(n, p, names, d) {n, NULL, K_ENUM, 0, &config.p, 0, 0, d, names, NULL, NULL}
#define SPECIAL(n, fl, d, pa, pr)                                                                  \
    { n, NULL, K_SPECIAL, fl, NULL, 0, 0, d, NULL, pa, pr }

static directive table[] = {
    INT("port", port, 0, 65535, "6379"),
    SPECIAL("bind", 0, "127.0.0.1 -::1", parse_bind, print_bind),
    BOOL("protected-mode", protected_mode, "yes"),
    {"tcp-backlog", NULL, K_INT, F_IMMUTABLE, &config.tcp_backlog, 0, INT_MAX, "511", NULL, NULL,
     NULL},
    INT("tcp-keepalive", tcp_keepalive, 0, INT_MAX, "300"),
    {"unixsocket", NULL, K_STR, F_IMMUTABLE, &config.unixsocket, 0, 0, "", NULL, NULL, NULL},
    SPECIAL("unixsocketperm", F_IMMUTABLE, "0", parse_unixperm, print_unixperm),
    INT("maxclients", maxclients, 1, INT_MAX, "10000"),
    INT("timeout", timeout, 0, INT_MAX, "0"),
    STR("requirepass", requirepass, F_SENSITIVE, ""),
    MEM("proto-max-bulk-len", proto_max_bulk_len, 1024 * 1024, LLONG_MAX, "512mb"),
    MEM("client-query-buffer-limit", client_query_buffer_limit, 1024 * 1024, LLONG_MAX, "1gb"),
    SPECIAL("client-output-buffer-limit", 0, "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
            parse_obuf, print_obuf),
    {"databases", NULL, K_INT, F_IMMUTABLE, &config.databases, 1, INT_MAX, "16", NULL, NULL, NULL},
    INT("hz", hz, 1, 500, "10"),
    MEM("maxmemory", maxmemory, 0, LLONG_MAX, "0"),
    ENUM("maxmemory-policy", maxmemory_policy, config_policy_names, "noeviction"),
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", K_INT, 0,
     &config.hash_max_listpack_entries, 0, LLONG_MAX, "512", NULL, NULL, NULL},
    {"hash-max-listpack-value", "hash-max-ziplist-value", K_MEM, 0, &config.hash_max_listpack_value,
     0, LLONG_MAX, "64", NULL, NULL, NULL},
    STR("dir", dir, 0, "./"),
    STR("dbfilename", dbfilename, 0, "dump.rdb"),
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
    ENUM("loglevel", loglevel, loglevel_names, "notice"),
    {"logfile", NULL, K_STR, F_IMMUTABLE, &config.logfile, 0, 0, "", NULL, NULL, NULL},
    STR("pidfile", pidfile, 0, ""),
    {"daemonize", NULL, K_BOOL, F_IMMUTABLE, &config.daemonize, 0, 1, "no", NULL, NULL, NULL},
    STR("notify-keyspace-events", notify_keyspace_events, 0, ""),
};
#define NDIRECTIVES (sizeof(table) / sizeof(table[0]))

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
    } units[] = {{"kb", 1024LL},          {"k", 1000LL},          {"mb", 1024LL * 1024},
                 {"m", 1000LL * 1000},    {"gb", 1024LL * 1024 * 1024},
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

static int set_value(directive *d, const char *v, size_t vlen, const char **err) {
    if (memchr(v, '\0', vlen)) {
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
        if (d->max <= INT_MAX) *(int *)d->ptr = (int)n;
        else *(long long *)d->ptr = n;
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
        if (strcasecmp(v, "yes") == 0) *(int *)d->ptr = 1;
        else if (strcasecmp(v, "no") == 0) *(int *)d->ptr = 0;
        else {
            *err = "argument must be 'yes' or 'no'";
            return -1;
        }
        return 0;
    case K_STR: {
        char **p = d->ptr;
        mem_free(*p);
        *p = (vlen == 0 && d->ptr == &config.requirepass) ? NULL : mem_strndup(v, vlen);
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
        *err = "argument(s) must be one of the following: ";
        {
            static char msg[256];
            size_t n = (size_t)snprintf(msg, sizeof(msg), "argument(s) must be one of the following: ");
            for (int i = 0; d->names[i]; i++)
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", i ? ", " : "", d->names[i]);
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
        if (d->max <= INT_MAX) buf_printf(out, "%d", *(int *)d->ptr);
        else buf_printf(out, "%lld", *(long long *)d->ptr);
        break;
    case K_MEM:
        buf_printf(out, "%lld", *(long long *)d->ptr);
        break;
    case K_BOOL:
        buf_puts(out, *(int *)d->ptr ? "yes" : "no");
        break;
    case K_STR: {
        char *s = *(char **)d->ptr;
        if (s) buf_puts(out, s);
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
    for (int i = 0; i < config.bind_count; i++) mem_free(config.bind[i]);
    for (int i = 0; i < n; i++) config.bind[i] = mem_strdup(addrs[i]);
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

static void print_save(buf *out) { buf_puts(out, config.save ? config.save : ""); }

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
        buf_printf(out, "%s%s %lld %lld %d", c ? " " : "", obuf_classes[c], config.client_obuf_hard[c],
                   config.client_obuf_soft[c], config.client_obuf_soft_secs[c]);
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

static void print_unixperm(buf *out) { buf_printf(out, "%o", config.unixsocketperm); }

/* ---- loading ---- */

void config_init(void) {
    memset(&config, 0, sizeof(config));
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const char *err;
        int rc = set_value(&table[i], table[i].def, strlen(table[i].def), &err);
        (void)rc;
    }
    config.active_expire = 1;
}

/* Splits a config line into words with Redis's quoting rules; returns the count or -1. */
static int split_line(char *line, char **words, int max) {
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (n == max) return -1;
        char *w = p, *o = p;
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q) {
                if (q == '"' && *p == '\\' && p[1]) {
                    p++;
                    switch (*p) {
                    case 'n': *o++ = '\n'; break;
                    case 'r': *o++ = '\r'; break;
                    case 't': *o++ = '\t'; break;
                    default: *o++ = *p;
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
            while (*p && !isspace((unsigned char)*p)) *o++ = *p++;
        }
        if (*p) p++;
        *o = '\0';
        words[n++] = w;
    }
    return n;
}

static void fatal(const char *what, int lineno, const char *line, const char *msg) {
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Mayfly %s) ***\n", MAYFLY_VERSION);
    fprintf(stderr, "Reading the configuration %s, at line %d\n", what, lineno);
    fprintf(stderr, ">>> '%s'\n", line);
    fprintf(stderr, "%s\n", msg);
}

/* Applies one directive line (already split). Returns 0 or -1 with *err. */
static int apply_words(char **w, int n, const char **err) {
    directive *d = find(w[0]);
    if (!d) {
        *err = "Bad directive or wrong number of arguments";
        return -1;
    }
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
        fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", path,
                "No such file or directory");
        return -1;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char copy[4096];
        memcpy(copy, line, len + 1);
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '#' || *p == '\0') continue;
        char *w[64];
        int n = split_line(p, w, 64);
        const char *err = NULL;
        if (n < 0) err = "Unbalanced quotes in configuration line";
        else if (apply_words(w, n, &err) == 0) continue;
        fatal("file", lineno, copy, err);
        fclose(f);
        return -1;
    }
    fclose(f);
    char resolved[4096];
    mem_free(config.config_file);
    config.config_file = mem_strdup(realpath(path, resolved) ? resolved : path);
    return 0;
}

int config_load_args(int argc, char **argv) {
    int i = 0;
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0) {
            fatal("arguments", 1, argv[i], "Bad directive or wrong number of arguments");
            return -1;
        }
        char *w[64];
        int n = 0;
        w[n++] = argv[i] + 2;
        i++;
        while (i < argc && strncmp(argv[i], "--", 2) != 0 && n < 64) w[n++] = argv[i++];
        /* "--save ''" means an empty value. */
        if (n == 1) w[n++] = "";
        const char *err;
        if (apply_words(w, n, &err) < 0) {
            char shown[1024];
            size_t len = 0;
            for (int k = 0; k < n; k++)
                len +=
                    (size_t)snprintf(shown + len, sizeof(shown) - len, "%s%s", k ? " " : "", w[k]);
            fatal("arguments", 1, shown, err);
            return -1;
        }
    }
    return 0;
}

/* ---- CONFIG GET / SET ---- */

static int glob_ci(const char *pat, size_t plen, const char *s) {
    /* A small case-insensitive glob (*, ?, [..]) sufficient for directive names. */
    if (plen == 0) return *s == '\0';
    if (*pat == '*') {
        for (const char *t = s;; t++) {
            if (glob_ci(pat + 1, plen - 1, t)) return 1;
            if (!*t) return 0;
        }
    }
    if (!*s) return 0;
    if (*pat == '?') return glob_ci(pat + 1, plen - 1, s + 1);
    if (*pat == '[') {
        size_t i = 1;
        int neg = i < plen && pat[i] == '^';
        if (neg) i++;
        int match = 0;
        while (i < plen && pat[i] != ']') {
            if (i + 2 < plen && pat[i + 1] == '-') {
                if (tolower((unsigned char)*s) >= tolower((unsigned char)pat[i]) &&
                    tolower((unsigned char)*s) <= tolower((unsigned char)pat[i + 2]))
                    match = 1;
                i += 3;
            } else {
                if (tolower((unsigned char)pat[i]) == tolower((unsigned char)*s)) match = 1;
                i++;
            }
        }
        if (i >= plen) return 0;
        if (match == neg) return 0;
        return glob_ci(pat + i + 1, plen - i - 1, s + 1);
    }
    if (*pat == '\\' && plen > 1) {
        pat++;
        plen--;
    }
    if (tolower((unsigned char)*pat) != tolower((unsigned char)*s)) return 0;
    return glob_ci(pat + 1, plen - 1, s + 1);
}

size_t config_get(const char *pattern, size_t plen, char ***names, char ***values) {
    size_t n = 0;
    *names = mem_alloc(sizeof(char *) * NDIRECTIVES * 2);
    *values = mem_alloc(sizeof(char *) * NDIRECTIVES * 2);
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const char *hit = NULL;
        if (glob_ci(pattern, plen, table[i].name))
            hit = table[i].name;
        else if (table[i].alias && glob_ci(pattern, plen, table[i].alias))
            hit = table[i].alias;
        if (!hit) continue;
        buf b;
        buf_init(&b);
        print_value(&table[i], &b);
        (*names)[n] = mem_strdup(hit);
        (*values)[n] = mem_strndup(b.data ? b.data : "", b.len);
        buf_deinit(&b);
        n++;
    }
    return n;
}

int config_set(const char *name, const char *value, size_t vlen, const char **err) {
    directive *d = find(name);
    if (!d) {
        *err = "unknown";
        return -1;
    }
    if (d->flags & F_IMMUTABLE) {
        *err = "can't set immutable config";
        return -1;
    }
    char *v = mem_strndup(value, vlen);
    int rc = set_value(d, v, vlen, err);
    mem_free(v);
    if (rc == 0) {
        if (d->ptr == &config.loglevel) log_setup((enum log_level)config.loglevel, config.logfile);
        if (config_on_change) config_on_change(d->name);
    }
    return rc;
}

int config_exists(const char *name) { return find(name) != NULL; }

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

int config_rewrite(const char **err) {
    if (!config.config_file) {
        *err = "The server is running without a config file";
        return -1;
    }
    FILE *f = fopen(config.config_file, "w");
    if (!f) {
        *err = "Rewriting config file: failed to open the file";
        return -1;
    }
    fprintf(f, "# Written by CONFIG REWRITE (Mayfly %s)\n", MAYFLY_VERSION);
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        buf b;
        buf_init(&b);
        print_value(&table[i], &b);
        fprintf(f, "%s \"%.*s\"\n", table[i].name, (int)b.len, b.data ? b.data : "");
        buf_deinit(&b);
    }
    fclose(f);
    return 0;
}
