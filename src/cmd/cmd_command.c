/* cmd_command: COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS,
 * GETKEYSANDFLAGS, HELP), reporting the command table in Redis 7/8's shapes.
 *
 * Everything is derived from the cmd_spec rows: COMMAND INFO from the flags, arity, key
 * positions and ACL string; COMMAND DOCS from summary/since/group/complexity and the
 * `syntax` string, which cmd/syntax.c turns into the argument tree. Key specs, COMMAND
 * GETKEYS and GETKEYSANDFLAGS come from the rows' key specs through cmd/keyspec.h, the
 * extraction dispatch gates use too. The side table `extras` holds the command tips. */
#include "cmd/syntax_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Command tips (Redis's "request_policy:...", "nondeterministic_output"), which the rows
 * have no column for; full names ("config|set"). */
typedef struct cmd_extra {
    const char *name;
    const char *tips; /* space-separated */
} cmd_extra;

static const cmd_extra extras[] = {
    {"command", "nondeterministic_output_order"},
    {"command|docs", "nondeterministic_output_order"},
    {"command|info", "nondeterministic_output_order"},
    {"command|list", "nondeterministic_output_order"},
    {"info", "nondeterministic_output"},
    {"time", "nondeterministic_output"},
    {"migrate", "nondeterministic_output"},
    {"ping", "request_policy:all_shards response_policy:all_succeeded"},
    {"dbsize", "request_policy:all_shards response_policy:agg_sum"},
    {"flushdb", "request_policy:all_shards response_policy:all_succeeded"},
    {"flushall", "request_policy:all_shards response_policy:all_succeeded"},
    {"config|set", "request_policy:all_nodes response_policy:all_succeeded"},
    {"config|resetstat", "request_policy:all_nodes response_policy:all_succeeded"},
    {"config|rewrite", "request_policy:all_nodes response_policy:all_succeeded"},
    {"client|list", "nondeterministic_output"},
    {"client|info", "nondeterministic_output"},
    {"client|id", "nondeterministic_output"},
};

/* Command flags in the order Redis prints them (may_replicate is hidden, as in Redis). */
static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_ASKING, "asking"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};
#define NFLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

/* Writes "parent|name" (or "name") into out. */
static void full_name(const cmd_spec *spec, const cmd_spec *parent, char *out, size_t cap) {
    if (parent)
        snprintf(out, cap, "%s|%s", parent->name, spec->name);
    else
        snprintf(out, cap, "%s", spec->name);
}

static const cmd_extra *extra_of(const char *fullname) {
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
        if (strcmp(extras[i].name, fullname) == 0) return &extras[i];
    return NULL;
}

/* Counts the space-separated words of s (NULL: 0). */
static size_t count_words(const char *s) {
    size_t n = 0;
    while (s && *s) {
        while (*s == ' ')
            s++;
        if (!*s) break;
        n++;
        while (*s && *s != ' ')
            s++;
    }
    return n;
}

/* Replies each word of s as a status (as_status) or a bulk string. */
static void reply_words(cmd_ctx *c, const char *s, int as_status) {
    char w[128];
    while (s && *s) {
        while (*s == ' ')
            s++;
        if (!*s) break;
        size_t len = 0;
        while (s[len] && s[len] != ' ')
            len++;
        snprintf(w, sizeof(w), "%.*s", (int)len, s);
        if (as_status)
            reply_simple(c, w);
        else
            reply_bulk_cstr(c, w);
        s += len;
    }
}

/* Replies a set of key-spec flags (KS_*) as status strings in Redis's order. */
static void reply_key_flags(cmd_ctx *c, uint32_t flags) {
    size_t n = 0;
    for (int i = 0; i < KS_NFLAGS; i++)
        if (flags & (1u << i)) n++;
    reply_set(c, n);
    for (int i = 0; i < KS_NFLAGS; i++)
        if (flags & (1u << i)) reply_simple(c, ks_flag_name(i));
}

static void reply_begin_search(cmd_ctx *c, const cmd_key_spec *ks) {
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    if (ks->begin == KS_BEGIN_KEYWORD) {
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, "spec");
        reply_map(c, 2);
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, ks->keyword);
        reply_bulk_cstr(c, "startfrom");
        reply_int(c, ks->startfrom);
        return;
    }
    reply_bulk_cstr(c, "index");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 1);
    reply_bulk_cstr(c, "index");
    reply_int(c, ks->index);
}

static void reply_find_keys(cmd_ctx *c, const cmd_key_spec *ks) {
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, ks->find == KS_FIND_KEYNUM ? "keynum" : "range");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 3);
    if (ks->find == KS_FIND_KEYNUM) {
        reply_bulk_cstr(c, "keynumidx");
        reply_int(c, ks->keynumidx);
        reply_bulk_cstr(c, "firstkey");
        reply_int(c, ks->firstkey);
        reply_bulk_cstr(c, "keystep");
        reply_int(c, ks->step);
        return;
    }
    reply_bulk_cstr(c, "lastkey");
    reply_int(c, ks->lastkey);
    reply_bulk_cstr(c, "keystep");
    reply_int(c, ks->step);
    reply_bulk_cstr(c, "limit");
    reply_int(c, ks->limit);
}

/* The command's key specs as Redis 7+ prints them (notes, flags, begin_search, find_keys). */
static void reply_key_specs(cmd_ctx *c, const cmd_spec *spec) {
    cmd_key_spec tmp;
    const cmd_key_spec *specs;
    size_t n = cmd_key_specs(spec, &specs, &tmp);
    reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        const cmd_key_spec *ks = &specs[i];
        reply_map(c, 3 + (ks->notes != NULL));
        if (ks->notes) {
            reply_bulk_cstr(c, "notes");
            reply_bulk_cstr(c, ks->notes);
        }
        reply_bulk_cstr(c, "flags");
        reply_key_flags(c, ks->flags);
        reply_begin_search(c, ks);
        reply_find_keys(c, ks);
    }
}

static size_t count_subcmds(const cmd_spec *spec) {
    size_t n = 0;
    for (const cmd_spec *s = spec->subcmds; s && s->name; s++)
        n++;
    return n;
}

/* One COMMAND INFO entry: name, arity, flags, first, last, step, ACL categories, tips,
 * key specs, subcommands. */
static void reply_info(cmd_ctx *c, const cmd_spec *spec, const cmd_spec *parent) {
    char name[160];
    full_name(spec, parent, name, sizeof(name));
    const cmd_extra *ex = extra_of(name);
    reply_array(c, 10);
    reply_bulk_cstr(c, name);
    reply_int(c, spec->arity);
    size_t nflags = 0;
    for (size_t i = 0; i < NFLAGS; i++)
        if (spec->flags & flag_names[i].flag) nflags++;
    reply_set(c, nflags);
    for (size_t i = 0; i < NFLAGS; i++)
        if (spec->flags & flag_names[i].flag) reply_simple(c, flag_names[i].name);
    reply_int(c, spec->first_key);
    reply_int(c, spec->last_key);
    reply_int(c, spec->key_step);
    reply_set(c, count_words(spec->acl));
    reply_words(c, spec->acl, 1);
    const char *tips = ex ? ex->tips : NULL;
    reply_set(c, count_words(tips));
    reply_words(c, tips, 0);
    reply_key_specs(c, spec);
    reply_array(c, count_subcmds(spec));
    for (const cmd_spec *s = spec->subcmds; s && s->name; s++)
        reply_info(c, s, spec);
}

static void reply_arg_list(cmd_ctx *c, const syn_arg *args, size_t n);

static void reply_arg_flags(cmd_ctx *c, unsigned flags) {
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SYN_OPTIONAL, "optional"},
                 {SYN_MULTIPLE, "multiple"},
                 {SYN_MULTIPLE_TOKEN, "multiple_token"}};
    size_t k = 0;
    for (size_t i = 0; i < 3; i++)
        if (flags & names[i].bit) k++;
    reply_set(c, k);
    for (size_t i = 0; i < 3; i++)
        if (flags & names[i].bit) reply_simple(c, names[i].name);
}

/* One argument map as Redis 7.2+ prints it: name, type, key_spec_index, token, flags,
 * arguments (oneof/block), display_text (all others). */
static void reply_arg(cmd_ctx *c, const syn_arg *a) {
    int nested = a->type == SYN_ONEOF || a->type == SYN_BLOCK;
    size_t pairs = 3 + (a->key_spec_index >= 0) + (a->token != NULL) + (a->flags != 0);
    reply_map(c, pairs);
    reply_bulk_cstr(c, "name");
    reply_bulk_cstr(c, a->name);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, syntax_type_name(a->type));
    if (a->key_spec_index >= 0) {
        reply_bulk_cstr(c, "key_spec_index");
        reply_int(c, a->key_spec_index);
    }
    if (a->token) {
        reply_bulk_cstr(c, "token");
        reply_bulk_cstr(c, a->token);
    }
    if (a->flags) {
        reply_bulk_cstr(c, "flags");
        reply_arg_flags(c, a->flags);
    }
    if (nested) {
        reply_bulk_cstr(c, "arguments");
        reply_arg_list(c, a->args, a->nargs);
    } else {
        reply_bulk_cstr(c, "display_text");
        reply_bulk_cstr(c, a->name);
    }
}

static void reply_arg_list(cmd_ctx *c, const syn_arg *args, size_t n) {
    reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        reply_arg(c, &args[i]);
}

/* One COMMAND DOCS value: summary, since, group, complexity, [arguments], [subcommands]. */
static void reply_docs(cmd_ctx *c, const cmd_spec *spec, const cmd_spec *parent) {
    char name[160];
    full_name(spec, parent, name, sizeof(name));
    syntax_ctx sctx = {name, spec->first_key > 0};
    syn_arg *args = NULL;
    size_t nargs = 0;
    char err[128];
    if (syntax_parse(spec->syntax, &sctx, &args, &nargs, err, sizeof(err)) < 0) {
        log_warning("COMMAND DOCS: bad syntax string for '%s': %s", name, err);
        nargs = 0;
    }
    size_t nsub = count_subcmds(spec);
    /* As Redis, a command without a stated complexity (PSYNC, SYNC) has no such field. */
    reply_map(c, 3 + (spec->complexity != NULL) + (nargs > 0) + (nsub > 0));
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, spec->summary ? spec->summary : "");
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, spec->since ? spec->since : "");
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, spec->group ? spec->group : (parent ? parent->group : ""));
    if (spec->complexity) {
        reply_bulk_cstr(c, "complexity");
        reply_bulk_cstr(c, spec->complexity);
    }
    if (nargs) {
        reply_bulk_cstr(c, "arguments");
        reply_arg_list(c, args, nargs);
    }
    syntax_free(args, nargs);
    if (nsub) {
        reply_bulk_cstr(c, "subcommands");
        reply_map(c, nsub);
        for (const cmd_spec *s = spec->subcmds; s->name; s++) {
            char sub[160];
            full_name(s, spec, sub, sizeof(sub));
            reply_bulk_cstr(c, sub);
            reply_docs(c, s, spec);
        }
    }
}

/* Finds "name" or "container|sub"; sets *parent for a subcommand. NULL if unknown. */
static const cmd_spec *lookup_full(slice name, const cmd_spec **parent) {
    *parent = NULL;
    const char *bar = memchr(name.p, '|', name.len);
    if (!bar) return cmd_lookup(name);
    const cmd_spec *p = cmd_lookup((slice){name.p, (size_t)(bar - name.p)});
    if (!p || !p->subcmds) return NULL;
    slice rest = {bar + 1, name.len - (size_t)(bar - name.p) - 1};
    if (memchr(rest.p, '|', rest.len)) return NULL;
    const cmd_spec *s = cmd_lookup_sub(p, rest);
    if (s) *parent = p;
    return s;
}

typedef struct walk {
    cmd_ctx *c;
    size_t count;
    int mode; /* 0: INFO, 1: DOCS, 2: count only */
} walk;

static void walk_one(const cmd_spec *spec, void *arg) {
    walk *w = arg;
    w->count++;
    if (w->mode == 0) {
        reply_info(w->c, spec, NULL);
    } else if (w->mode == 1) {
        reply_bulk_cstr(w->c, spec->name);
        reply_docs(w->c, spec, NULL);
    }
}

static void command_all(cmd_ctx *c) {
    walk w = {c, 0, 0};
    reply_array(c, cmd_count());
    cmd_foreach(walk_one, &w);
}

static void command_count(cmd_ctx *c) {
    reply_int(c, (long long)cmd_count());
}

static void command_info(cmd_ctx *c) {
    if (c->argc == 2) {
        command_all(c);
        return;
    }
    reply_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        const cmd_spec *parent;
        const cmd_spec *spec = lookup_full(c->argv[i], &parent);
        if (spec)
            reply_info(c, spec, parent);
        else
            reply_null(c);
    }
}

static void command_docs(cmd_ctx *c) {
    if (c->argc == 2) {
        walk w = {c, 0, 1};
        reply_map(c, cmd_count());
        cmd_foreach(walk_one, &w);
        return;
    }
    size_t mark = reply_defer(c), found = 0;
    for (int i = 2; i < c->argc; i++) {
        const cmd_spec *parent;
        const cmd_spec *spec = lookup_full(c->argv[i], &parent);
        if (!spec) continue;
        char name[160];
        full_name(spec, parent, name, sizeof(name));
        reply_bulk_cstr(c, name);
        reply_docs(c, spec, parent);
        found++;
    }
    reply_defer_map(c, mark, found);
}

/* ---- COMMAND LIST ---- */

enum list_filter { FILTER_NONE, FILTER_MODULE, FILTER_ACLCAT, FILTER_PATTERN };

typedef struct list_walk {
    cmd_ctx *c;
    enum list_filter filter;
    slice arg;
    size_t count;
} list_walk;

static int has_category(const cmd_spec *spec, slice cat) {
    const char *s = spec->acl;
    while (s && *s) {
        while (*s == ' ')
            s++;
        size_t len = 0;
        while (s[len] && s[len] != ' ')
            len++;
        if (len == cat.len + 1 && s[0] == '@' && strncasecmp(s + 1, cat.p, cat.len) == 0) return 1;
        s += len;
    }
    return 0;
}

static void list_one(list_walk *w, const cmd_spec *spec, const cmd_spec *parent) {
    char name[160];
    full_name(spec, parent, name, sizeof(name));
    int ok = 1;
    if (w->filter == FILTER_MODULE)
        ok = 0; /* no module commands */
    else if (w->filter == FILTER_ACLCAT)
        ok = has_category(spec, w->arg);
    else if (w->filter == FILTER_PATTERN)
        ok = glob_match(w->arg.p, w->arg.len, name, strlen(name), 1);
    if (!ok) return;
    reply_bulk_cstr(w->c, name);
    w->count++;
}

static void list_walk_one(const cmd_spec *spec, void *arg) {
    list_walk *w = arg;
    list_one(w, spec, NULL);
    for (const cmd_spec *s = spec->subcmds; s && s->name; s++)
        list_one(w, s, spec);
}

static void command_list(cmd_ctx *c) {
    list_walk w = {c, FILTER_NONE, {NULL, 0}, 0};
    if (c->argc == 5 && slice_eq_ci(c->argv[2], "FILTERBY")) {
        if (slice_eq_ci(c->argv[3], "MODULE"))
            w.filter = FILTER_MODULE;
        else if (slice_eq_ci(c->argv[3], "ACLCAT"))
            w.filter = FILTER_ACLCAT;
        else if (slice_eq_ci(c->argv[3], "PATTERN"))
            w.filter = FILTER_PATTERN;
        w.arg = c->argv[4];
    }
    if (c->argc != 2 && w.filter == FILTER_NONE) {
        reply_syntax_error(c);
        return;
    }
    size_t mark = reply_defer(c);
    cmd_foreach(list_walk_one, &w);
    reply_defer_array(c, mark, w.count);
}

/* ---- GETKEYS ---- */

/* Resolves argv[2..] to a command and replies its keys (with flags when with_flags), with
 * Redis's checks in its order: unknown command, no keys, arity, arguments that do not fit
 * the key specs. */
static void getkeys(cmd_ctx *c, int with_flags) {
    int argc = c->argc - 2;
    slice *argv = c->argv + 2;
    const cmd_spec *spec = cmd_lookup(argv[0]);
    if (spec && spec->subcmds && argc >= 2) spec = cmd_lookup_sub(spec, argv[1]);
    if (!spec) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }
    if (!cmd_has_keys(spec)) {
        reply_error(c, "ERR The command has no key arguments");
        return;
    }
    if (spec->arity > 0 ? argc != spec->arity : argc < -spec->arity) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    cmd_key_list keys;
    cmd_key_list_init(&keys);
    int n = cmd_get_keys(spec, argc, argv, &keys);
    if (n <= 0 && !(spec->flags & CMD_NO_MANDATORY_KEYS)) {
        reply_error(c, "ERR Invalid arguments specified for command");
    } else {
        reply_array(c, n > 0 ? (size_t)n : 0);
        for (int i = 0; i < n; i++) {
            if (with_flags) reply_array(c, 2);
            reply_bulk_slice(c, argv[keys.v[i].pos]);
            if (with_flags) reply_key_flags(c, keys.v[i].flags);
        }
    }
    cmd_key_list_deinit(&keys);
}

static void command_getkeys(cmd_ctx *c) {
    getkeys(c, 0);
}
static void command_getkeysandflags(cmd_ctx *c) {
    getkeys(c, 1);
}

static void command_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

#define CMDF (CMD_LOADING | CMD_STALE)

static const cmd_spec command_subcmds[] = {
    {"count", command_count, 2, CMDF, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns a count of commands.", "", NULL, "@slow @connection"},
    {"docs", command_docs, -2, CMDF, 0, 0, 0, "server", "7.0.0",
     "O(N) where N is the number of commands to look up",
     "Returns documentary information about one, multiple or all commands.",
     "[command-name [command-name ...]]", NULL, "@slow @connection"},
    {"getkeys", command_getkeys, -3, CMDF, 0, 0, 0, "server", "2.8.13",
     "O(N) where N is the number of arguments to the command",
     "Extracts the key names from an arbitrary command.", "command [arg [arg ...]]", NULL,
     "@slow @connection"},
    {"getkeysandflags", command_getkeysandflags, -3, CMDF, 0, 0, 0, "server", "7.0.0",
     "O(N) where N is the number of arguments to the command",
     "Extracts the key names and access flags for an arbitrary command.", "command [arg [arg ...]]",
     NULL, "@slow @connection"},
    {"help", command_help, 2, CMDF, 0, 0, 0, "server", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow @connection"},
    {"info", command_info, -2, CMDF, 0, 0, 0, "server", "2.8.13",
     "O(N) where N is the number of commands to look up",
     "Returns information about one, multiple or all commands.",
     "[command-name [command-name ...]]", NULL, "@slow @connection"},
    {"list", command_list, -2, CMDF, 0, 0, 0, "server", "7.0.0",
     "O(N) where N is the total number of Redis commands", "Returns a list of command names.",
     "[FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>]", NULL, "@slow @connection"},
    {0},
};

const cmd_spec cmd_family_command[] = {
    {"command", command_all, -1, CMDF, 0, 0, 0, "server", "2.8.13",
     "O(N) where N is the total number of Redis commands",
     "Returns detailed information about all commands.", "", command_subcmds, "@slow @connection"},
    {0},
};
