/* cmd_slowlog: SLOWLOG (LATENCY is cmd_latency.c).
 *
 * SLOWLOG is Redis's: every command that ran at least slowlog-log-slower-than
 * microseconds (-1: none, 0: all) is recorded, newest first, and the log keeps the last
 * slowlog-max-len entries. An entry is (id, unix time, microseconds, arguments, client
 * address, client name), with Redis's limits: at most 32 arguments (the 32nd says
 * "... (N more arguments)") of at most 128 bytes each ("... (N more bytes)"). Secrets are
 * recorded as "(redacted)" as in Redis: AUTH's arguments, the password pair of HELLO's AUTH
 * and MIGRATE's AUTH / AUTH2, every argument of ACL SETUSER, GETUSER and DELUSER. Commands
 * flagged skip_slowlog (EXEC: its commands are logged one by one) and the loader's replayed
 * commands are not recorded.
 *
 *     head (newest) ─▶ entry ─▶ entry ─▶ ... ─▶ entry (oldest, dropped first) */
#include "cmd/registry_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/util/mem.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_STRING 128

typedef struct slow_entry {
    long long id;
    long long time_s;   /* unix time the command ran */
    long long duration; /* microseconds */
    int argc;
    char **argv; /* owned copies, already shortened */
    size_t *lens;
    char addr[64];
    char *name; /* owned, "" if none */
    struct slow_entry *next;
} slow_entry;

static slow_entry *head;
static long long count, next_id;

static char *copy(const char *p, size_t len, size_t *out_len) {
    char *s = mem_alloc(len + 1);
    memcpy(s, p, len);
    s[len] = '\0';
    *out_len = len;
    return s;
}

static void entry_free(slow_entry *e) {
    for (int i = 0; i < e->argc; i++)
        mem_free(e->argv[i]);
    mem_free(e->argv);
    mem_free(e->lens);
    mem_free(e->name);
    mem_free(e);
}

/* Drops the oldest entries beyond slowlog-max-len. */
static void trim(void) {
    long long max = config.slowlog_max_len;
    if (count <= max) return;
    slow_entry **link = &head;
    for (long long i = 0; i < max; i++)
        link = &(*link)->next;
    slow_entry *e = *link;
    *link = NULL;
    while (e) {
        slow_entry *next = e->next;
        entry_free(e);
        count--;
        e = next;
    }
}

static void slowlog_reset(void) {
    while (head) {
        slow_entry *next = head->next;
        entry_free(head);
        head = next;
    }
    count = 0;
}

void cmd_slowlog_consider(const cmd_ctx *c, long long duration_us) {
    long long threshold = config.slowlog_log_slower_than;
    if (threshold < 0 || duration_us < threshold || config.slowlog_max_len == 0) return;
    if ((c->cmd->flags & CMD_SKIP_SLOWLOG) || (c->s->flags & SESS_INTERNAL)) return;
    slow_entry *e = mem_calloc(1, sizeof(*e));
    e->id = next_id++;
    e->time_s = (long long)time(NULL);
    e->duration = duration_us;
    e->argc = c->argc < SLOWLOG_MAX_ARGC ? c->argc : SLOWLOG_MAX_ARGC;
    e->argv = mem_alloc(sizeof(char *) * (size_t)e->argc);
    e->lens = mem_alloc(sizeof(size_t) * (size_t)e->argc);
    /* Credentials never reach the log: ACL SETUSER & co. entirely, the passwords of AUTH,
     * HELLO and MIGRATE (Redis's redactClientCommandArgument). Redacting the arguments kept
     * is enough: each secret follows its keyword within them. */
    int redact_from = (c->cmd->flags & CMD_REDACT_ARGS) ? (c->parent ? 2 : 1) : c->argc;
    slice args[SLOWLOG_MAX_ARGC];
    memcpy(args, c->argv, sizeof(slice) * (size_t)e->argc);
    registry_redact_secrets(c->parent ? c->parent->name : c->cmd->name, e->argc, args);
    char note[96];
    for (int i = 0; i < e->argc; i++) {
        slice a = args[i];
        if (e->argc != c->argc && i == e->argc - 1) {
            int n = snprintf(note, sizeof(note), "... (%d more arguments)", c->argc - e->argc + 1);
            e->argv[i] = copy(note, (size_t)n, &e->lens[i]);
        } else if (i >= redact_from) {
            e->argv[i] = copy("(redacted)", 10, &e->lens[i]);
        } else if (a.len > SLOWLOG_MAX_STRING) {
            int n =
                snprintf(note, sizeof(note), "... (%zu more bytes)", a.len - SLOWLOG_MAX_STRING);
            e->argv[i] = mem_alloc(SLOWLOG_MAX_STRING + (size_t)n + 1);
            memcpy(e->argv[i], a.p, SLOWLOG_MAX_STRING);
            memcpy(e->argv[i] + SLOWLOG_MAX_STRING, note, (size_t)n + 1);
            e->lens[i] = SLOWLOG_MAX_STRING + (size_t)n;
        } else {
            e->argv[i] = copy(a.p, a.len, &e->lens[i]);
        }
    }
    snprintf(e->addr, sizeof(e->addr), "%s", c->s->addr);
    e->name = mem_strdup(c->s->name ? c->s->name : "");
    e->next = head;
    head = e;
    count++;
    trim();
}

/* ---- SLOWLOG ---- */

static void slowlog_get(cmd_ctx *c) {
    long long n = 10;
    if (c->argc == 3 && arg_ll_range(c, c->argv[2], -1, LLONG_MAX,
                                     "ERR count should be greater than or equal to -1", &n) < 0)
        return;
    trim(); /* slowlog-max-len may have been lowered since the last entry */
    if (n == -1 || n > count) n = count;
    reply_array(c, (size_t)n);
    slow_entry *e = head;
    for (long long i = 0; i < n; i++, e = e->next) {
        reply_array(c, 6);
        reply_int(c, e->id);
        reply_int(c, e->time_s);
        reply_int(c, e->duration);
        reply_array(c, (size_t)e->argc);
        for (int j = 0; j < e->argc; j++)
            reply_bulk(c, e->argv[j], e->lens[j]);
        reply_bulk_cstr(c, e->addr);
        reply_bulk_cstr(c, e->name);
    }
}

static void slowlog_len(cmd_ctx *c) {
    trim();
    reply_int(c, count);
}

static void slowlog_reset_cmd(cmd_ctx *c) {
    slowlog_reset();
    reply_ok(c);
}

static void slowlog_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

#define ADM (CMD_ADMIN | CMD_LOADING | CMD_STALE)
#define HLP (CMD_LOADING | CMD_STALE)

static const cmd_spec slowlog_subcmds[] = {
    {"get", slowlog_get, -2, ADM, 0, 0, 0, "server", "2.2.12",
     "O(N) where N is the number of "
     "entries returned",
     "Returns the slow log's entries.", "[count]", NULL, "@admin @slow @dangerous"},
    {"len", slowlog_len, 2, ADM, 0, 0, 0, "server", "2.2.12", "O(1)",
     "Returns the number of entries in the slow log.", "", NULL, "@admin @slow @dangerous"},
    {"reset", slowlog_reset_cmd, 2, ADM, 0, 0, 0, "server", "2.2.12",
     "O(N) where N is the number of entries in the slowlog",
     "Clears all entries from the "
     "slow log.",
     "", NULL, "@admin @slow @dangerous"},
    {"help", slowlog_help, 2, HLP, 0, 0, 0, "server", "6.2.0", "O(1)",
     "Show helpful text about the different subcommands", "", NULL, "@slow"},
    {0},
};

const cmd_spec cmd_family_slowlog[] = {
    {"slowlog", NULL, -2, 0, 0, 0, 0, "server", "2.2.12", "Depends on subcommand.",
     "A container for slow log commands.", "", slowlog_subcmds, "@slow"},
    {0},
};

const config_row cmd_slowlog_config_rows[] = {
    CONFIG_INT_ROW("slowlog-log-slower-than", &config.slowlog_log_slower_than, -1, LLONG_MAX,
                   "10000"),
    CONFIG_INT_ROW("slowlog-max-len", &config.slowlog_max_len, 0, LLONG_MAX, "128"),
    {0},
};
