/* registry: the command table and dispatch.
 *
 * At start-up server.c adds every family's rows (cmd_family_add); they enter an
 * open-addressing table keyed by the lower-case name: its first 16 bytes, lower-cased a
 * word at a time, hashed by one multiplication and compared as two words, so a lookup of
 * the name as the client sent it costs a few dozen instructions whatever its case. Each
 * entry carries the command's statistics; a container command (CONFIG, CLIENT, COMMAND,
 * OBJECT, ...) keeps its subcommands in a small array.
 *
 * cmd_dispatch follows Redis's processCommand: unknown command, unknown subcommand, arity,
 * then the gates (gate.h: authentication, ACL, ..., loading) in their registered order,
 * MULTI queueing, then the handler. */
#include "cmd/cmdacl_int.h"
#include "cmd/multi_int.h"
#include "cmd/registry_int.h"
#include "mayfly/acl/acl.h"
#include "mayfly/client/monitor.h"
#include "mayfly/client/tracking.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/hdrhist.h"
#include "mayfly/util/mem.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The first 16 bytes of a name, ASCII lower-cased and zero-padded, as two words: a lookup
 * hashes and compares these (a few instructions for any name up to 16 bytes) and compares
 * byte by byte only beyond them. */
typedef struct name_key {
    uint64_t w0, w1;
} name_key;

typedef struct reg_entry {
    const cmd_spec *spec;
    name_key key;    /* of the name, so a lookup compares two words (and the length) */
    size_t name_len; /* strlen(spec->name) */
    uint32_t gates;  /* the dispatch gates that concern this command (gate.c's ranks) */
    int acl_id;      /* the command's id in the ACL catalog */
    int prefetch;    /* registry_prefetch_kind: what a batch's prefetch warms for it */
    cmd_stats stats;
    struct reg_entry *subs; /* container: subcommands */
    size_t nsubs;
} reg_entry;

#define TABLE_BITS 10
#define TABLE_SIZE (1u << TABLE_BITS) /* well above twice the number of commands */
static reg_entry *slots[TABLE_SIZE];
static reg_entry **entries; /* every top-level command, in the order families were added */
static size_t nentries, cap_entries;

typedef struct err_count {
    char code[32];
    long long count;
} err_count;
#define MAX_ERROR_CODES 128 /* as Redis: beyond this, errors are not tracked by code */
static err_count errors[MAX_ERROR_CODES];
static size_t nerrors;
static long long total_errors, total_commands, total_usec;

/* ASCII lower case, without the locale lookups of tolower(): command names are ASCII, and
 * this runs for every byte of every command name. */
static inline unsigned char lower_ascii(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Up to 8 bytes of p as a word (the same layout for the table and the lookup). */
static inline uint64_t load_upto8(const char *p, size_t n) {
    uint64_t w = 0;
    if (n >= 8) {
        memcpy(&w, p, 8);
        return w;
    }
    size_t off = 0;
    if (n & 4) {
        uint32_t a;
        memcpy(&a, p, 4);
        w = a;
        off = 4;
    }
    if (n & 2) {
        uint16_t b;
        memcpy(&b, p + off, 2);
        w |= (uint64_t)b << (off * 8);
        off += 2;
    }
    if (n & 1) w |= (uint64_t)(unsigned char)p[off] << (off * 8);
    return w;
}

/* lower_ascii of each byte of x at once: 0x20 added to the bytes 'A'..'Z' only. */
static inline uint64_t lower_word(uint64_t x) {
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL, high = 0x8080808080808080ULL;
    uint64_t h = x & low7;
    uint64_t ge_a = h + 0x3f3f3f3f3f3f3f3fULL; /* bit 7: h >= 'A' */
    uint64_t gt_z = h + 0x2525252525252525ULL; /* bit 7: h > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~x & high;
    return x | (upper >> 2);
}

static inline name_key key_of(const char *p, size_t len) {
    name_key k = {lower_word(load_upto8(p, len)), 0};
    if (len > 8) k.w1 = lower_word(load_upto8(p + 8, len - 8));
    return k;
}

static inline size_t slot_of(name_key k, size_t len) {
    uint64_t h = (k.w0 ^ (k.w1 * 0x9e3779b97f4a7c15ULL) ^ len) * 0xff51afd7ed558ccdULL;
    return (size_t)(h >> (64 - TABLE_BITS));
}

/* 1 if the client's bytes p[0..len) equal the lower-case table name, ignoring case. */
static inline int name_eq_ci(const char *lower_name, const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (lower_ascii((unsigned char)p[i]) != (unsigned char)lower_name[i]) return 0;
    return 1;
}

static reg_entry *find_entry(slice name) {
    if (name.len == 0 || name.len > 64) return NULL;
    name_key k = key_of(name.p, name.len);
    size_t h = slot_of(k, name.len);
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        reg_entry *e = slots[(h + i) & (TABLE_SIZE - 1)];
        if (!e) return NULL;
        if (e->key.w0 == k.w0 && e->key.w1 == k.w1 && e->name_len == name.len &&
            (name.len <= 16 || name_eq_ci(e->spec->name + 16, name.p + 16, name.len - 16)))
            return e;
    }
    return NULL;
}

static reg_entry *find_sub(reg_entry *parent, slice name) {
    for (size_t i = 0; i < parent->nsubs; i++) {
        const char *n = parent->subs[i].spec->name;
        if (strlen(n) == name.len && strncasecmp(n, name.p, name.len) == 0) return &parent->subs[i];
    }
    return NULL;
}

static void register_acl(reg_entry *e);
static int find_acl_id(const cmd_spec *spec);

/* Number of rows before the terminator, or (size_t)-1 when a row's name is already
 * registered or repeated within the family. */
static size_t family_count(const cmd_spec *rows) {
    size_t n = 0;
    for (const cmd_spec *s = rows; s->name; s++) {
        if (find_entry(slice_of(s->name))) return (size_t)-1;
        for (const cmd_spec *t = rows; t < s; t++)
            if (strcmp(t->name, s->name) == 0) return (size_t)-1;
        n++;
    }
    return n;
}

/* Fills entry e for row s (its subcommands too) and puts it in the open-addressed table. */
static void entry_insert(reg_entry *e, const cmd_spec *s) {
    e->spec = s;
    e->name_len = strlen(s->name);
    /* Prefetching warms the first key when it is the first argument (not EVALSHA's
     * digest), and a hash command's field too; decided once here, not per command. */
    e->prefetch = s->first_key != 1                           ? PREFETCH_NONE
                  : s->group && strcmp(s->group, "hash") == 0 ? PREFETCH_KEY_FIELD
                                                              : PREFETCH_KEY;
    for (size_t i = 0; i < e->name_len; i++)
        assert(s->name[i] == (char)lower_ascii((unsigned char)s->name[i]));
    if (s->subcmds) {
        for (const cmd_spec *sub = s->subcmds; sub->name; sub++)
            e->nsubs++;
        e->subs = mem_calloc(e->nsubs ? e->nsubs : 1, sizeof(reg_entry));
        for (size_t i = 0; i < e->nsubs; i++)
            e->subs[i].spec = &s->subcmds[i];
    }
    e->key = key_of(s->name, e->name_len);
    size_t h = slot_of(e->key, e->name_len);
    size_t i = 0;
    while (slots[(h + i) & (TABLE_SIZE - 1)])
        i++;
    slots[(h + i) & (TABLE_SIZE - 1)] = e;
}

int cmd_family_add(const cmd_spec *rows) {
    size_t n = family_count(rows);
    if (n == (size_t)-1) return -1;
    if (n == 0) return 0;
    if (nentries + n > TABLE_SIZE / 2) return -1;
    if (nentries + n > cap_entries) {
        cap_entries = (nentries + n) * 2;
        entries = mem_realloc(entries, cap_entries * sizeof(reg_entry *));
    }
    reg_entry *block = mem_calloc(n, sizeof(reg_entry)); /* lives as long as the process */
    for (const cmd_spec *s = rows; s->name; s++) {
        reg_entry *e = block++;
        entries[nentries++] = e;
        entry_insert(e, s);
        register_acl(e);
    }
    registry_gates_changed();
    return 0;
}

/* Enters a new command and its subcommands in the ACL catalog (ids in table order). The
 * catalog is complete once server_init has added every family, before acl_init. */
static void register_acl(reg_entry *e) {
    e->acl_id = cmd_acl_register(e->spec, NULL, -1);
    assert(e->acl_id >= 0);
    for (size_t j = 0; j < e->nsubs; j++) {
        e->subs[j].acl_id = cmd_acl_register(e->subs[j].spec, e->spec, e->acl_id);
        assert(e->subs[j].acl_id >= 0);
    }
}

int cmd_acl_id(const cmd_spec *spec) {
    /* Scripts ask for every redis.call: a small direct-mapped cache before the search. */
    static struct {
        const cmd_spec *spec;
        int id;
    } cache[64];
    size_t h = ((size_t)spec >> 4) & 63;
    if (cache[h].spec == spec) return cache[h].id;
    int id = find_acl_id(spec);
    if (id >= 0) { /* a family added later may still bring spec */
        cache[h].spec = spec;
        cache[h].id = id;
    }
    return id;
}

static int find_acl_id(const cmd_spec *spec) {
    for (size_t i = 0; i < nentries; i++) {
        if (entries[i]->spec == spec) return entries[i]->acl_id;
        for (size_t j = 0; j < entries[i]->nsubs; j++)
            if (entries[i]->subs[j].spec == spec) return entries[i]->subs[j].acl_id;
    }
    return -1;
}

void registry_gates_changed(void) {
    for (size_t i = 0; i < nentries; i++) {
        entries[i]->gates = gate_mask(entries[i]->spec->flags);
        for (size_t j = 0; j < entries[i]->nsubs; j++)
            entries[i]->subs[j].gates = gate_mask(entries[i]->subs[j].spec->flags);
    }
}

const cmd_spec *cmd_lookup(slice name) {
    reg_entry *e = find_entry(name);
    return e ? e->spec : NULL;
}

int registry_prefetch_kind(slice name, reg_entry **found) {
    reg_entry *e = find_entry(name);
    *found = e;
    return e ? e->prefetch : PREFETCH_NONE;
}

const cmd_spec *cmd_lookup_sub(const cmd_spec *parent, slice name) {
    reg_entry *e = find_entry(slice_of(parent->name));
    if (!e) return NULL;
    reg_entry *s = find_sub(e, name);
    return s ? s->spec : NULL;
}

void cmd_foreach(void (*fn)(const cmd_spec *spec, void *ctx), void *ctx) {
    for (size_t i = 0; i < nentries; i++)
        fn(entries[i]->spec, ctx);
}

size_t cmd_count(void) {
    return nentries;
}

cmd_stats *cmd_stats_of(const cmd_spec *spec) {
    for (size_t i = 0; i < nentries; i++) {
        if (entries[i]->spec == spec) return &entries[i]->stats;
        for (size_t j = 0; j < entries[i]->nsubs; j++)
            if (entries[i]->subs[j].spec == spec) return &entries[i]->subs[j].stats;
    }
    return NULL;
}

void registry_count_error(const char *msg, size_t len) {
    total_errors++;
    size_t code_len = 0;
    while (code_len < len && code_len < sizeof(errors[0].code) - 1 && msg[code_len] != ' ')
        code_len++;
    for (size_t i = 0; i < nerrors; i++)
        if (strlen(errors[i].code) == code_len && memcmp(errors[i].code, msg, code_len) == 0) {
            errors[i].count++;
            return;
        }
    if (nerrors == MAX_ERROR_CODES) return;
    memcpy(errors[nerrors].code, msg, code_len);
    errors[nerrors].code[code_len] = '\0';
    errors[nerrors].count = 1;
    nerrors++;
}

static void reset_one(cmd_stats *st) {
    hdrhist_free(st->hist);
    memset(st, 0, sizeof(*st));
}

void cmd_reset_stats(void) {
    for (size_t i = 0; i < nentries; i++) {
        reset_one(&entries[i]->stats);
        for (size_t j = 0; j < entries[i]->nsubs; j++)
            reset_one(&entries[i]->subs[j].stats);
    }
    nerrors = 0;
    total_errors = 0;
    total_commands = 0;
    total_usec = 0;
}

long long cmd_total_errors(void) {
    return total_errors;
}
long long cmd_total_usec(void) {
    return total_usec;
}
long long cmd_total_commands(void) {
    return total_commands;
}

static void stat_line(buf *b, const char *name, const char *sub, const cmd_stats *st) {
    if (st->calls == 0 && st->rejected_calls == 0 && st->failed_calls == 0) return;
    buf_printf(b,
               "cmdstat_%s%s%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,"
               "failed_calls=%lld\r\n",
               name, sub ? "|" : "", sub ? sub : "", st->calls, st->usec,
               st->calls ? (double)st->usec / (double)st->calls : 0.0, st->rejected_calls,
               st->failed_calls);
}

void cmd_info_commandstats(buf *b) {
    for (size_t i = 0; i < nentries; i++) {
        stat_line(b, entries[i]->spec->name, NULL, &entries[i]->stats);
        for (size_t j = 0; j < entries[i]->nsubs; j++)
            stat_line(b, entries[i]->spec->name, entries[i]->subs[j].spec->name,
                      &entries[i]->subs[j].stats);
    }
}

void cmd_foreach_stats(void (*fn)(void *ctx, const char *name, const char *sub, cmd_stats *st),
                       void *ctx) {
    for (size_t i = 0; i < nentries; i++) {
        fn(ctx, entries[i]->spec->name, NULL, &entries[i]->stats);
        for (size_t j = 0; j < entries[i]->nsubs; j++)
            fn(ctx, entries[i]->spec->name, entries[i]->subs[j].spec->name,
               &entries[i]->subs[j].stats);
    }
}

void cmd_info_errorstats(buf *b) {
    for (size_t i = 0; i < nerrors; i++)
        buf_printf(b, "errorstat_%s:count=%lld\r\n", errors[i].code, errors[i].count);
}

/* Rejects a command before it runs, as Redis's rejectCommand: the error reply, the
 * rejected-call count, the EXECABORT flag inside MULTI; a rejected EXEC discards its
 * transaction instead. */
static void reject(cmd_ctx *c, cmd_stats *st, const char *msg) {
    if (st) st->rejected_calls++;
    if (c->cmd && multi_is_exec(c->cmd)) {
        multi_exec_abort(c, msg);
        return;
    }
    reply_error(c, msg);
    multi_flag_error(c->s);
}

const char *cmd_gate_refuse_as_is(cmd_ctx *c, const char *msg) {
    cmd_stats *st = cmd_stats_of(c->cmd);
    if (st) st->rejected_calls++;
    reply_error(c, msg);
    if (multi_is_exec(c->cmd))
        multi_discard(c->s);
    else
        multi_flag_error(c->s);
    return CMD_GATE_HANDLED;
}

static void reject_unknown(cmd_ctx *c) {
    char args[200];
    size_t len = 0;
    args[0] = '\0';
    for (int i = 1; i < c->argc && len < 128; i++) {
        int room = 128 - (int)len;
        int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ",
                         (int)(c->argv[i].len < (size_t)room ? c->argv[i].len : (size_t)room),
                         c->argv[i].p);
        if (n > 0) len += (size_t)n;
        if (len >= sizeof(args)) len = sizeof(args) - 1;
    }
    char msg[400];
    snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: %s",
             (int)(c->argv[0].len < 128 ? c->argv[0].len : 128), c->argv[0].p, args);
    reject(c, NULL, msg);
}

void registry_arity_message(const cmd_spec *parent, const cmd_spec *cmd, char *out, size_t cap) {
    snprintf(out, cap, "ERR wrong number of arguments for '%s%s%s' command",
             parent ? parent->name : "", parent ? "|" : "", cmd->name);
}

static int arity_ok(const cmd_spec *spec, int argc) {
    return spec->arity > 0 ? argc == spec->arity : argc >= -spec->arity;
}

/* Client-side caching: a tracking session remembers the keys a read-only command read
 * (Redis's call(): whether or not the command failed). */
static void track_reads(cmd_ctx *c, session *t) {
    const cmd_key_list *kl = cmd_ctx_keys(c);
    if (!kl || kl->n <= 0) return;
    slice keys[CMD_KEY_LIST_INLINE];
    for (int i = 0; i < kl->n; i += CMD_KEY_LIST_INLINE) {
        size_t n = 0;
        for (int j = i; j < kl->n && n < CMD_KEY_LIST_INLINE; j++)
            keys[n++] = c->argv[kl->v[j].pos];
        tracking_remember_keys(t, keys, n);
    }
}

/* Scripts (EVAL*, FCALL*: skip_monitor) are fed before they run, so that the commands they
 * call follow them, as in Redis's evalCommand. */
static int is_script_cmd(const cmd_spec *cmd) {
    return strncmp(cmd->name, "eval", 4) == 0 || strncmp(cmd->name, "fcall", 5) == 0;
}
static int fed_before(const cmd_spec *cmd) {
    return (cmd->flags & CMD_SKIP_MONITOR) && is_script_cmd(cmd);
}

void registry_redact_secrets(const char *name, int argc, slice *v) {
    static const slice redacted = {"(redacted)", 10};
    if (strcmp(name, "auth") == 0) {
        for (int i = 1; i < argc; i++)
            v[i] = redacted;
    } else if (strcmp(name, "hello") == 0) {
        for (int i = 2; i + 2 < argc; i++) {
            if (!slice_eq_ci(v[i], "auth")) continue;
            v[i + 1] = v[i + 2] = redacted;
            i += 2;
        }
    } else if (strcmp(name, "migrate") == 0) {
        for (int i = 6; i < argc && !slice_eq_ci(v[i], "keys"); i++) {
            if (slice_eq_ci(v[i], "auth") && i + 1 < argc) {
                v[++i] = redacted;
            } else if (slice_eq_ci(v[i], "auth2") && i + 2 < argc) {
                v[i + 1] = v[i + 2] = redacted;
                i += 2;
            }
        }
    }
}

/* MONITOR: the command just run (or about to run: fed_before), secrets redacted (AUTH's
 * arguments, HELLO's AUTH pair, MIGRATE's credentials), unless it is an admin or
 * skip_monitor command or comes from the log replay. */
static void feed_monitors(cmd_ctx *c, int before) {
    const session *s = c->s;
    if ((s->flags & SESS_INTERNAL) && strcmp(s->addr, "lua") != 0) return;
    if (before ? !fed_before(c->cmd) : (c->cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)) != 0)
        return;
    slice small[16];
    slice *v = c->argc <= 16 ? small : mem_alloc((size_t)c->argc * sizeof(slice));
    memcpy(v, c->argv, (size_t)c->argc * sizeof(slice));
    registry_redact_secrets(c->parent ? c->parent->name : c->cmd->name, c->argc, v);
    monitor_feed(s, s->db_id, c->argc, v);
    if (v != small) mem_free(v);
}

void cmd_call(cmd_ctx *c) {
    cmd_stats *st = c->stats ? c->stats : cmd_stats_of(c->cmd);
    int64_t start = c->start_us ? c->start_us : clock_mono_us();
    c->start_us = 0; /* a second cmd_call on this ctx times itself */
    c->replied_error = 0;
    db_lazy_budget_reset();
    propagate_call_begin(c);
    if (monitor_count() && c->s) feed_monitors(c, 1);
    c->cmd->fn(c);
    /* Read-only scripts are not tracked themselves, the commands they call are. */
    session *t = c->script_caller ? c->script_caller : c->s;
    if ((c->cmd->flags & CMD_READONLY) && t && (t->flags & SESS_TRACKING) &&
        !(t->flags & SESS_TRACK_BCAST) && !is_script_cmd(c->cmd))
        track_reads(c, t);
    if (monitor_count() && c->s) feed_monitors(c, 0);
    propagate_call_end(c);
    keyspec_release_ctx(c);
    int64_t took = clock_mono_us() - start;
    if (st) {
        st->calls++;
        st->usec += took;
        if (c->replied_error) st->failed_calls++;
    }
    total_commands++;
    total_usec += took;
    cmd_slowlog_consider(c, took);
    cmd_latency_record(st, c->cmd, took);
}

static void dispatch(session *s, int argc, slice *argv, int64_t now_ms, int64_t start_us,
                     reg_entry *found);

/* The entry of the command named name: found when the command was peeked at (entries live
 * as long as the process, so it is still the one its name finds), else looked up. */
static reg_entry *entry_of(slice name, reg_entry *found) {
    return found ? found : find_entry(name);
}

void cmd_dispatch(session *s, int argc, slice *argv) {
    /* One clock read gives the command's "now" and the start of its duration. */
    int64_t start_us = clock_mono_us();
    dispatch(s, argc, argv, clock_now_ms_at(start_us), start_us, NULL);
}

void cmd_dispatch_next(session *s, int argc, slice *argv, reg_entry *found) {
    int64_t start_us = clock_mono_last_us();
    if (start_us == 0) start_us = clock_mono_us();
    dispatch(s, argc, argv, clock_now_ms_at(start_us), start_us, found);
}

void cmd_dispatch_at(session *s, int argc, slice *argv, int64_t now_ms) {
    dispatch(s, argc, argv, now_ms, 0, NULL);
}

/* "unknown subcommand" of the container named name (Redis names it upper case). */
static void reject_unknown_sub(cmd_ctx *c, const char *name, slice sub) {
    char upper[64];
    size_t n = strlen(name);
    for (size_t i = 0; i < n && i < sizeof(upper) - 1; i++)
        upper[i] = (char)toupper((unsigned char)name[i]);
    upper[n < sizeof(upper) - 1 ? n : sizeof(upper) - 1] = '\0';
    char msg[300];
    snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.*s'. Try %s HELP.",
             (int)(sub.len < 128 ? sub.len : 128), sub.p, upper);
    reject(c, NULL, msg);
}

/* Where c's reply goes; returns 1 when it is discarded (CLIENT REPLY OFF/SKIP: built in
 * scratch, bounded, and dropped). Only a top-level command whose reply goes to a
 * connection may stream it: not one inside EXEC or a script, nor a discarded one. */
static int reply_target(cmd_ctx *c, buf *scratch, int top) {
    session *s = c->s;
    int discard = (s->flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP_NEXT)) != 0;
    if (s->flags & SESS_REPLY_SKIP_NEXT) s->flags &= ~SESS_REPLY_SKIP_NEXT;
    if (discard) {
        buf_init(scratch);
        buf_set_limit(scratch, 64 * 1024); /* dropped as it fills: no memory for it */
        c->out = scratch;
    }
    c->may_stream = top && !discard && s->ops && s->ops->streams;
    return discard;
}

/* start_us: the monotonic time the caller read for the duration statistic (0: none). */
/* Sets c->flags and returns the gates c's command meets now (cached: the command's mask):
 * the log replay and the primary's stream are obeyed, as Redis's fake AOF client and
 * master client are, except that a pause holds the stream; an EXEC takes the flags of its
 * queue. */
static uint32_t gates_of(cmd_ctx *c, const session *s, uint32_t cached) {
    uint32_t gates = cached;
    c->flags = c->cmd->flags;
    if (c->cmd->flags_of) {
        c->flags = c->cmd->flags_of(c);
        gates = gate_mask(c->flags);
    }
    if (s->flags & SESS_INTERNAL) return 0;
    if (s->flags & SESS_MASTER) return gates_armable(gates & gate_master);
    if ((s->flags & SESS_MULTI) && multi_is_exec(c->cmd)) {
        c->flags = multi_exec_flags(s, c->flags);
        gates = gate_mask(c->flags);
    }
    return gates_armable(gates);
}

static void dispatch(session *s, int argc, slice *argv, int64_t now_ms, int64_t start_us,
                     reg_entry *found) {
    cmd_key_list keys; /* storage for cmd_ctx_keys: filled only if a gate or handler asks */
    cmd_ctx ctx = {
        .s = s,
        .argc = argc,
        .argv = argv,
        .out = &s->out,
        .proto = s->proto,
        .db = s->db,
        .now_ms = now_ms,
        .start_us = start_us,
        .keys = &keys,
    };
    s->last_ms = ctx.now_ms;
    assert(s->stream == NULL); /* net/ runs nothing while a reply streams */
    cmd_ctx *c = &ctx;
    int top = session_command_begin(s);
    buf scratch;
    int discard = reply_target(c, &scratch, top);

    reg_entry *e = entry_of(argv[0], found);
    s->last_cmd = e ? e->spec->name : NULL;
    s->last_cmd_parent = NULL;
    if (!e) {
        reject_unknown(c);
        goto done;
    }
    c->cmd = e->spec;
    cmd_stats *st = &e->stats;
    const reg_entry *e_cmd = e;
    if (e->spec->subcmds) {
        if (argc >= 2) {
            reg_entry *sub = find_sub(e, argv[1]);
            s->last_cmd = sub ? sub->spec->name : NULL;
            s->last_cmd_parent = sub ? e->spec->name : NULL;
            if (!sub) {
                reject_unknown_sub(c, e->spec->name, argv[1]);
                goto done;
            }
            c->parent = e->spec;
            c->cmd = sub->spec;
            st = &sub->stats;
            e_cmd = sub;
        } else if (!e->spec->fn) {
            char msg[200];
            registry_arity_message(NULL, e->spec, msg, sizeof(msg));
            reject(c, st, msg);
            goto done;
        }
    }
    if (!arity_ok(c->cmd, argc)) {
        char msg[200];
        registry_arity_message(c->parent, c->cmd, msg, sizeof(msg));
        reject(c, st, msg);
        goto done;
    }
    c->acl_id = e_cmd->acl_id;
    uint32_t gates = gates_of(c, s, e_cmd->gates);
    if (gates) {
        char msg[512];
        const char *refusal = gate_run(c, gates, msg, sizeof(msg));
        if (refusal) {
            if (refusal != CMD_GATE_HANDLED) reject(c, st, refusal);
            goto done;
        }
    }
    c->stats = st;
    if (multi_queue_if_needed(c)) goto done;
    cmd_call(c);

done:
    keyspec_release_ctx(c);
    if (discard) buf_deinit(&scratch);
    session_command_end(s, top);
}
