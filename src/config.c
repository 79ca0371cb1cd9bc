/* config: the directive engine; see config.h.
 *
 * Registered rows are kept in one array of entries in registration order (CONFIG GET and
 * CONFIG REWRITE list them in that order); each entry remembers its default as CONFIG GET
 * prints it (CONFIG REWRITE leaves out values equal to it) and how many lines of the file
 * or the arguments set it (CONFIG_LINES_ADD). Lookups are linear and case-insensitive on
 * names and aliases: they happen at start-up and for CONFIG commands only.
 *
 * This file also holds the directives of the process itself (logging, pidfile, databases,
 * maxmemory, protected configs) and the rows accepted for compatibility. */
#include "mayfly/config.h"

#include "mayfly/util/glob.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/splitargs.h"
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
int (*config_user_line)(int argc, char **argv, const char **err);
void (*config_rewrite_users)(buf *out);

/* ---- the process's own directives and the compatibility rows ---- */

/* maxmemory-policy's values (its row is evict/'s), in evict_policy's order. */
const char *const config_policy_names[] = {
    "noeviction",   "allkeys-lru",     "allkeys-lfu",  "allkeys-random",   "volatile-lru",
    "volatile-lfu", "volatile-random", "volatile-ttl", "volatile-soonest", NULL};
static const char *const loglevel_names[] = {"debug",   "verbose", "notice",
                                             "warning", "nothing", NULL};
static const char *const protected_names[] = {"no", "yes", "local", NULL};
static const char *const supervised_names[] = {"no", "upstart", "systemd", "auto", NULL};

static int apply_loglevel(const char **err) {
    (void)err;
    log_setup((enum log_level)config.loglevel, config.logfile);
    return 0;
}

/* Accepted for compatibility: stored in a static compound literal, shown by CONFIG GET,
 * no effect in Mayfly yet (docs/config.md). */
#define XBOOL(n, al, fl, d)                                                                        \
    {                                                                                              \
        .name = (n), .alias = (al), .kind = CONFIG_BOOL, .flags = (fl) | CONFIG_COMPAT,            \
        .ptr = &(int){0}, .max = 1, .def = (d)                                                     \
    }
#define XINT(n, al, fl, lo, hi, d)                                                                 \
    {                                                                                              \
        .name = (n), .alias = (al), .kind = CONFIG_INT, .flags = (fl) | CONFIG_COMPAT,             \
        .ptr = &(int){0}, .min = (lo), .max = (hi), .def = (d)                                     \
    }
#define XLL(n, al, fl, lo, hi, d)                                                                  \
    {                                                                                              \
        .name = (n), .alias = (al), .kind = CONFIG_INT, .flags = (fl) | CONFIG_COMPAT,             \
        .ptr = &(long long){0}, .min = (lo), .max = (hi), .def = (d)                               \
    }
#define XMEM(n, fl, d)                                                                             \
    {                                                                                              \
        .name = (n), .kind = CONFIG_MEM, .flags = (fl) | CONFIG_COMPAT, .ptr = &(long long){0},    \
        .max = LLONG_MAX, .def = (d)                                                               \
    }
#define XSTR(n, al, fl, d)                                                                         \
    {                                                                                              \
        .name = (n), .alias = (al), .kind = CONFIG_STR, .flags = (fl) | CONFIG_COMPAT,             \
        .ptr = &(char *){NULL}, .def = (d)                                                         \
    }
#define XENUM(n, fl, values, d)                                                                    \
    {                                                                                              \
        .name = (n), .kind = CONFIG_ENUM, .flags = (fl) | CONFIG_COMPAT, .ptr = &(int){0},         \
        .names = (values), .def = (d)                                                              \
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

static const char *const propagation_error_names[] = {"ignore", "panic", "panic-on-replicas", NULL};
static const char *const pubsub_default_names[] = {"resetchannels", "allchannels", NULL};
static const char *const pubsub_default_shown[] = {"allchannels", "resetchannels", NULL};

static const config_row process_rows[] = {
    /* Security: acl/ may take these over with rows of its own. */
    {.name = "requirepass",
     .kind = CONFIG_STR,
     .flags = CONFIG_SENSITIVE | CONFIG_EMPTY_NULL | CONFIG_BINARY,
     .ptr = &config.requirepass,
     .len = &config.requirepass_len,
     .def = ""},
    CONFIG_STR_ROW("aclfile", &config.aclfile, CONFIG_IMMUTABLE, ""),
    CONFIG_INT_ROW("acllog-max-len", &config.acllog_max_len, 0, LLONG_MAX, "128"),
    /* Seconds a SHUTDOWN without NOW waits for replicas to catch up (0: none). */
    CONFIG_INT_ROW("shutdown-timeout", &config.shutdown_timeout, 0, INT_MAX, "10"),
    {.name = "acl-pubsub-default",
     .kind = CONFIG_ENUM,
     .ptr = &config.acl_pubsub_default,
     .names = pubsub_default_names,
     .shown = pubsub_default_shown,
     .def = "resetchannels"},
    /* The process. */
    {.name = "databases",
     .kind = CONFIG_INT,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.databases,
     .min = 1,
     .max = INT_MAX,
     .def = "16"},
    {.name = "loglevel",
     .kind = CONFIG_ENUM,
     .ptr = &config.loglevel,
     .names = loglevel_names,
     .def = "notice",
     .apply = apply_loglevel},
    CONFIG_STR_ROW("logfile", &config.logfile, CONFIG_IMMUTABLE, ""),
    CONFIG_STR_ROW("pidfile", &config.pidfile, 0, ""),
    {.name = "daemonize",
     .kind = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.daemonize,
     .max = 1,
     .def = "no"},
    {.name = "enable-protected-configs",
     .kind = CONFIG_ENUM,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.enable_protected_configs,
     .names = protected_names,
     .def = "no"},
    {.name = "always-show-logo",
     .kind = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.always_show_logo,
     .max = 1,
     .def = "no"},
    {.name = "enable-debug-command",
     .kind = CONFIG_ENUM,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.enable_debug_command,
     .names = protected_names,
     .def = "no"},
    /* Mayfly has no modules: the directive is kept (and logged at start-up when set) so that
     * redis.conf files load; see docs/config.md. */
    {.name = "enable-module-command",
     .kind = CONFIG_ENUM,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.enable_module_command,
     .names = protected_names,
     .def = "no"},
    CONFIG_ENUM_ROW("propagation-error-behavior", &config.propagation_error_behavior,
                    propagation_error_names, "ignore"),
    {.name = "shutdown-on-sigint",
     .kind = CONFIG_SPECIAL,
     .def = "default",
     .parse = parse_sigint,
     .print = print_sigint},
    {.name = "shutdown-on-sigterm",
     .kind = CONFIG_SPECIAL,
     .def = "default",
     .parse = parse_sigterm,
     .print = print_sigterm},
    /* Accepted for compatibility; no effect in Mayfly (see docs/config.md). */
    XBOOL("activerehashing", NULL, 0, "yes"),
    XBOOL("replica-lazy-flush", "slave-lazy-flush", 0, "no"),
    XBOOL("rdb-del-sync-files", NULL, 0, "no"),
    XBOOL("replica-read-only", "slave-read-only", 0, "yes"),
    XBOOL("replica-serve-stale-data", "slave-serve-stale-data", 0, "yes"),
    XBOOL("no-appendfsync-on-rewrite", NULL, 0, "no"),
    XBOOL("syslog-enabled", NULL, CONFIG_IMMUTABLE, "no"),
    XBOOL("dynamic-hz", NULL, 0, "yes"),
    XBOOL("activedefrag", NULL, 0, "no"),
    XBOOL("jemalloc-bg-thread", NULL, 0, "yes"),
    XBOOL("crash-log-enabled", NULL, 0, "yes"),
    XBOOL("repl-diskless-sync", NULL, 0, "yes"),
    XINT("repl-diskless-sync-delay", NULL, 0, 0, INT_MAX, "5"),
    XINT("active-expire-effort", NULL, 0, 1, 10, "1"),
    XLL("busy-reply-threshold", "lua-time-limit", 0, 0, LLONG_MAX, "5000"),
    XINT("io-threads", NULL, CONFIG_IMMUTABLE, 1, 128, "1"),
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
    XSTR("replicaof", "slaveof", CONFIG_IMMUTABLE, ""),
    XSTR("masterauth", NULL, CONFIG_SENSITIVE | CONFIG_BINARY, ""),
    XSTR("masteruser", NULL, 0, ""),
    XSTR("syslog-ident", NULL, CONFIG_IMMUTABLE, "redis"),
    XSTR("oom-score-adj", NULL, 0, "no"),
    XENUM("supervised", CONFIG_IMMUTABLE, supervised_names, "no"),
    {0},
};

/* ---- the registry of rows ---- */

typedef struct entry {
    const config_row *row;
    size_t str_len;  /* CONFIG_STR: the value's length (CONFIG_BINARY ones may hold NULs) */
    char *def_shown; /* the default as CONFIG GET prints it (set by config_init) */
    int lines;       /* CONFIG_LINES_ADD: lines of the file / arguments that set it */
} entry;

static entry *entries;
static size_t nentries, cap_entries;
static int initialized; /* config_init ran: rows added later get their defaults at once */

static entry *find(const char *name) {
    for (size_t i = 0; i < nentries; i++) {
        const config_row *r = entries[i].row;
        if (strcasecmp(r->name, name) == 0 || (r->alias && strcasecmp(r->alias, name) == 0))
            return &entries[i];
    }
    return NULL;
}

static void set_default(entry *e);

/* The engine's own rows come first, on the first use of the registry. */
static void add_own_rows(void) {
    static int added;
    if (added) return;
    added = 1;
    config_add(process_rows);
}

int config_add(const config_row *rows) {
    add_own_rows();
    for (const config_row *r = rows; r->name; r++) {
        entry *e = find(r->name);
        entry *a = r->alias ? find(r->alias) : NULL;
        if ((e && !(e->row->flags & CONFIG_COMPAT)) || (a && !(a->row->flags & CONFIG_COMPAT)))
            return -1;
        for (const config_row *q = rows; q < r; q++)
            if (strcasecmp(q->name, r->name) == 0) return -1;
    }
    for (const config_row *r = rows; r->name; r++) {
        entry *e = find(r->name);
        if (!e) {
            if (nentries == cap_entries) {
                cap_entries = cap_entries ? cap_entries * 2 : 64;
                entries = mem_realloc(entries, cap_entries * sizeof(entry));
            }
            e = &entries[nentries++];
            *e = (entry){NULL, 0, NULL, 0};
        }
        e->row = r; /* a compatibility row is replaced in place, keeping its position */
        if (initialized) set_default(e);
    }
    return 0;
}

/* ---- values ---- */

int config_parse_memory(const char *v, long long *out) {
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

static int out_of_range(const config_row *r, long long n, const char **err) {
    if (n >= r->min && n <= r->max) return 0;
    static char msg[128];
    snprintf(msg, sizeof(msg), "argument must be between %lld and %lld inclusive", r->min, r->max);
    *err = msg;
    return -1;
}

/* Integers are stored in an int when the row's maximum fits one, else a long long. */
static void store_integer(const config_row *r, long long n) {
    if (r->max <= INT_MAX)
        *(int *)r->ptr = (int)n;
    else
        *(long long *)r->ptr = n;
}

static int set_enum(const config_row *r, const char *v, const char **err) {
    for (int i = 0; r->names[i]; i++)
        if (strcasecmp(r->names[i], v) == 0) {
            *(int *)r->ptr = i;
            return 0;
        }
    const char *const *shown = r->shown ? r->shown : r->names;
    static char msg[256];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "argument(s) must be one of the following: ");
    for (int i = 0; shown[i] && n < sizeof(msg); i++)
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", i ? ", " : "", shown[i]);
    *err = msg;
    return -1;
}

static int store(entry *e, const char *v, size_t vlen, const char **err) {
    const config_row *r = e->row;
    long long n;
    switch (r->kind) {
    case CONFIG_INT:
        if (str_to_ll(v, vlen, &n) < 0) {
            *err = "argument couldn't be parsed into an integer";
            return -1;
        }
        if (out_of_range(r, n, err) < 0) return -1;
        store_integer(r, n);
        return 0;
    case CONFIG_MEM:
        if (config_parse_memory(v, &n) < 0) {
            *err = "argument must be a memory value";
            return -1;
        }
        if (out_of_range(r, n, err) < 0) return -1;
        *(long long *)r->ptr = n;
        return 0;
    case CONFIG_BOOL:
        if (strcasecmp(v, "yes") != 0 && strcasecmp(v, "no") != 0) {
            *err = "argument must be 'yes' or 'no'";
            return -1;
        }
        *(int *)r->ptr = strcasecmp(v, "yes") == 0;
        return 0;
    case CONFIG_STR: {
        char **p = r->ptr;
        mem_free(*p);
        *p = (vlen == 0 && (r->flags & CONFIG_EMPTY_NULL)) ? NULL : mem_strndup(v, vlen);
        e->str_len = vlen;
        if (r->len) *r->len = vlen;
        return 0;
    }
    case CONFIG_ENUM:
        return set_enum(r, v, err);
    case CONFIG_SPECIAL:
        return r->parse(v, err);
    }
    return -1;
}

/* Stores v (vlen bytes, NUL-terminated) into the entry's row, then lets the row normalise
 * it. */
static int set_value(entry *e, const char *v, size_t vlen, const char **err) {
    /* Other strings refuse a NUL (Redis cuts them short at it without a word). */
    if (!(e->row->flags & CONFIG_BINARY) && memchr(v, '\0', vlen)) {
        *err = "argument contains a NUL byte";
        return -1;
    }
    if (e->row->check && e->row->check(v, err) < 0) return -1;
    if (store(e, v, vlen, err) < 0) return -1;
    if (e->row->stored) e->row->stored();
    return 0;
}

static void print_value(const entry *e, buf *out) {
    const config_row *r = e->row;
    switch (r->kind) {
    case CONFIG_INT:
        if (r->max <= INT_MAX)
            buf_printf(out, "%d", *(int *)r->ptr);
        else
            buf_printf(out, "%lld", *(long long *)r->ptr);
        break;
    case CONFIG_MEM:
        buf_printf(out, "%lld", *(long long *)r->ptr);
        break;
    case CONFIG_BOOL:
        buf_puts(out, *(int *)r->ptr ? "yes" : "no");
        break;
    case CONFIG_STR: {
        char *s = *(char **)r->ptr;
        if (s) buf_append(out, s, e->str_len);
        break;
    }
    case CONFIG_ENUM:
        buf_puts(out, r->names[*(int *)r->ptr]);
        break;
    case CONFIG_SPECIAL:
        r->print(out);
        break;
    }
}

/* ---- loading ---- */

static void set_default(entry *e) {
    const char *err;
    int rc = set_value(e, e->row->def, strlen(e->row->def), &err);
    assert(rc == 0);
    (void)rc;
    buf v;
    buf_init(&v);
    print_value(e, &v);
    mem_free(e->def_shown);
    e->def_shown = mem_strndup(v.data ? v.data : "", v.len);
    buf_deinit(&v);
}

void config_init(void) {
    add_own_rows();
    /* A second run (tests, fuzzing) resets each directive through its own setter, which
     * frees what the old value owned; clearing the struct again would leak it. */
    if (!initialized) memset(&config, 0, sizeof(config));
    mem_free(config.config_file);
    config.config_file = NULL;
    for (size_t i = 0; i < nentries; i++) {
        entries[i].lines = 0;
        set_default(&entries[i]);
    }
    config.active_expire = 1;
    initialized = 1;
}

/* Splits a config line into words with Redis's quoting rules (copied into store, which
 * needs strlen(line) + 1 bytes); returns the count or -1. */
static int split_line(const char *line, char *store, char **words, int max) {
    int n = splitargs_split(line, strlen(line), store, words, NULL, max);
    return n < 0 ? -1 : n;
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
    entry *e = find(w[0]);
    if (!e) {
        *err = "Bad directive or wrong number of arguments";
        return -1;
    }
    const config_row *r = e->row;
    if (r->kind == CONFIG_SPECIAL && n == 1) return set_value(e, "", 0, err); /* "save": none */
    if (r->kind == CONFIG_SPECIAL && n >= 2) {
        /* Multi-word values (bind a b, save 900 1 300 10) are joined back. */
        char joined[1024];
        size_t len = 0;
        joined[0] = '\0';
        for (int i = 1; i < n; i++)
            len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s", i > 1 ? " " : "",
                                    w[i]);
        /* CONFIG_LINES_ADD: the first line replaces the default, later ones add to it. */
        if ((r->flags & CONFIG_LINES_ADD) && w[1][0]) {
            buf cur;
            buf_init(&cur);
            print_value(e, &cur);
            buf_putc(&cur, '\0');
            int add = cur.data[0] && e->lines++ > 0;
            if (add) {
                char both[2100];
                snprintf(both, sizeof(both), "%s %s", cur.data, joined);
                buf_deinit(&cur);
                return set_value(e, both, strlen(both), err);
            }
            buf_deinit(&cur);
        }
        return set_value(e, joined, strlen(joined), err);
    }
    if (n != 2) {
        *err = "Bad directive or wrong number of arguments";
        return -1;
    }
    return set_value(e, w[1], strlen(w[1]), err);
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
        char *w[64], store[4096];
        int n = split_line(p, store, w, 64);
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
    char *w[2], store[4096];
    return split_line(tmp, store, w, 2) == 1;
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
        char *w[64], *store = mem_alloc(strlen(line) + 1);
        int n = split_line(line, store, w, 64);
        const char *err = NULL;
        if (n < 0) err = "Unbalanced quotes in configuration line";
        int ok = n == 0 || (n > 0 && apply_words(w, n, &err) == 0);
        mem_free(store);
        if (ok) continue;
        fatal("file", lineno, copy, err);
        rc = -1;
    }
    buf_deinit(&text);
    return rc;
}

/* ---- CONFIG GET / SET ---- */

/* Appends one name/value pair to the CONFIG GET result. */
static void add_pair(const entry *e, const char *name, char **names, char **values, size_t *n) {
    buf b;
    buf_init(&b);
    print_value(e, &b);
    names[*n] = mem_strdup(name);
    values[*n] = mem_strndup(b.data ? b.data : "", b.len);
    buf_deinit(&b);
    (*n)++;
}

/* As Redis 7+, a pattern matches names and aliases alike: "*of" gives replicaof and
 * slaveof, "*" every name and every alias. A name without glob characters is shown as the
 * caller wrote it ("MAXMEMORY"), as Redis does. */
size_t config_get(const char *pattern, size_t plen, char ***names, char ***values) {
    size_t n = 0;
    int exact = 1;
    for (size_t i = 0; i < plen; i++)
        if (pattern[i] == '*' || pattern[i] == '?' || pattern[i] == '[') exact = 0;
    *names = mem_alloc(sizeof(char *) * (2 * nentries + 1));
    *values = mem_alloc(sizeof(char *) * (2 * nentries + 1));
    for (size_t i = 0; i < nentries; i++) {
        const config_row *r = entries[i].row;
        if ((r->flags & CONFIG_HIDDEN) &&
            (strlen(r->name) != plen || strncasecmp(pattern, r->name, plen) != 0))
            continue;
        if (exact) {
            int hit =
                (strlen(r->name) == plen && strncasecmp(pattern, r->name, plen) == 0) ||
                (r->alias && strlen(r->alias) == plen && strncasecmp(pattern, r->alias, plen) == 0);
            if (!hit) continue;
            char *shown = mem_strndup(pattern, plen);
            add_pair(&entries[i], shown, *names, *values, &n);
            mem_free(shown);
            break;
        }
        if (glob_match(pattern, plen, r->name, strlen(r->name), 1))
            add_pair(&entries[i], r->name, *names, *values, &n);
        if (r->alias && glob_match(pattern, plen, r->alias, strlen(r->alias), 1))
            add_pair(&entries[i], r->alias, *names, *values, &n);
    }
    return n;
}

int config_set(const char *name, const char *value, size_t vlen, const char **err) {
    entry *e = find(name);
    if (!e) {
        *err = "unknown";
        return -1;
    }
    const config_row *r = e->row;
    if (config_settable(name, err) < 0) return -1;
    char *v = mem_strndup(value, vlen);
    buf old;
    buf_init(&old);
    print_value(e, &old);
    buf_putc(&old, '\0');
    int rc = set_value(e, v, vlen, err);
    mem_free(v);
    if (rc == 0 && r->apply && r->apply(err) < 0) {
        const char *ignored;
        set_value(e, old.data, old.len - 1, &ignored);
        rc = -1;
    }
    buf_deinit(&old);
    if (rc == 0 && config_on_change) config_on_change(r->name);
    return rc;
}

int config_exists(const char *name) {
    return find(name) != NULL;
}

int config_settable(const char *name, const char **err) {
    entry *e = find(name);
    if (!e) {
        *err = "unknown";
        return -1;
    }
    if (e->row->flags & CONFIG_IMMUTABLE) {
        *err = "can't set immutable config";
        return -1;
    }
    if ((e->row->flags & CONFIG_PROTECTED) && config.enable_protected_configs == 0) {
        *err = "can't set protected config";
        return -1;
    }
    return 0;
}

int config_flags(const char *name) {
    entry *e = find(name);
    return e ? e->row->flags : 0;
}

const char *config_canonical(const char *name) {
    entry *e = find(name);
    return e ? e->row->name : NULL;
}

int config_value(const char *name, buf *out) {
    entry *e = find(name);
    if (!e) return -1;
    print_value(e, out);
    return 0;
}

/* Appends "name value" as a config line: multi-word values (bind, save, buffer limits)
 * as words, strings quoted when they need it. */
static void rewrite_line(const entry *e, buf *out) {
    const config_row *d = e->row;
    buf v;
    buf_init(&v);
    print_value(e, &v);
    if (v.len == 0 && (d->flags & CONFIG_DROP_EMPTY)) {
        buf_deinit(&v);
        return;
    }
    buf_putc(&v, '\0');
    /* Multi-word values (bind, save, buffer limits) are written as words; any other value
     * is quoted unless it is one plain word. */
    int plain = v.len > 1;
    for (size_t i = 0; plain && i + 1 < v.len; i++) {
        char ch = v.data[i];
        if (ch == '"' || ch == '\'' || ch == '\\' ||
            (!isgraph((unsigned char)ch) && !(d->kind == CONFIG_SPECIAL && ch == ' ')))
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
/* Starts CONFIG REWRITE's block of lines the file did not have. */
static void rewrite_header(buf *out) {
    if (out->len && out->data[out->len - 1] != '\n') buf_putc(out, '\n');
    buf_puts(out, "# Generated by CONFIG REWRITE\n");
}

/* Appends a line for every entry the file did not hold whose value differs from its
 * default; 1 if it wrote the header. */
static int rewrite_changed(const unsigned char *written, buf *out) {
    int header = 0;
    for (size_t i = 0; i < nentries; i++) {
        if (written[i]) continue;
        const char *def = entries[i].def_shown ? entries[i].def_shown : "";
        buf v;
        buf_init(&v);
        print_value(&entries[i], &v);
        int same = v.len == strlen(def) && memcmp(v.data ? v.data : "", def, v.len) == 0;
        buf_deinit(&v);
        if (same) continue;
        if (!header) rewrite_header(out);
        header = 1;
        rewrite_line(&entries[i], out);
    }
    return header;
}

/* Replaces the config file with out's bytes (a temporary file renamed over it). */
static int rewrite_commit(const buf *out, const char **err) {
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-rewrite", config.config_file);
    FILE *o = fopen(tmp, "w");
    int ok = o && fwrite(out->data ? out->data : "", 1, out->len, o) == out->len;
    if (o && fclose(o) != 0) ok = 0;
    if (ok && rename(tmp, config.config_file) != 0) ok = 0;
    if (!ok) {
        unlink(tmp);
        static char msg[256];
        snprintf(msg, sizeof(msg), "Rewriting config file: %s", strerror(errno));
        *err = msg;
        return -1;
    }
    return 0;
}

int config_rewrite(const char **err) {
    if (!config.config_file) {
        *err = "The server is running without a config file";
        return -1;
    }
    unsigned char *written = mem_calloc(nentries ? nentries : 1, 1);
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
        char *w[64], store[4096];
        int n = (*p == '#' || *p == '\0') ? 0 : split_line(p, store, w, 64);
        if (n > 0 && strcasecmp(w[0], "user") == 0) {
            /* The users are written where the first `user` line was; others go. */
            if (!users_written && config_rewrite_users && !(config.aclfile && config.aclfile[0]))
                config_rewrite_users(&out);
            users_written = 1;
            continue;
        }
        entry *d = n > 0 ? find(w[0]) : NULL;
        if (!d) {
            if (strcmp(copy, "# Generated by CONFIG REWRITE\n") != 0) buf_puts(&out, copy);
            continue;
        }
        size_t idx = (size_t)(d - entries);
        if (!written[idx]) rewrite_line(d, &out);
        written[idx] = 1;
    }
    if (f) fclose(f);
    int header = rewrite_changed(written, &out);
    mem_free(written);
    if (!users_written && config_rewrite_users && !(config.aclfile && config.aclfile[0])) {
        buf users;
        buf_init(&users);
        config_rewrite_users(&users);
        if (users.len && !header) rewrite_header(&out);
        if (users.len) buf_append(&out, users.data, users.len);
        buf_deinit(&users);
    }
    int rc = rewrite_commit(&out, err);
    buf_deinit(&out);
    return rc;
}
