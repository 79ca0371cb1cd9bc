/* cmd_multi: transactions (MULTI EXEC DISCARD WATCH UNWATCH), after Redis's multi.c.
 *
 * Queue: inside MULTI, dispatch hands every command except EXEC, DISCARD, MULTI, WATCH,
 * QUIT and RESET to multi_queue_if_needed, which copies its arguments (they are borrowed
 * from the query buffer) and replies +QUEUED. A command rejected while queueing (unknown,
 * wrong arity...) flags the transaction, and EXEC then answers EXECABORT.
 *
 * WATCH: the table of watched keys is client/watch.c's; a change to a watched key marks
 * the session SESS_DIRTY_CAS and EXEC of a dirty session answers a nil array. */
#include "cmd/cmdacl_int.h"
#include "cmd/multi_int.h"
#include "cmd/registry_int.h"
#include "mayfly/acl/acl.h"
#include "mayfly/client/watch.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"

#include <string.h>

typedef struct queued {
    const cmd_spec *cmd, *parent;
    cmd_stats *stats; /* the command's statistics slot, found by dispatch */
    int acl_id;       /* its ACL catalog id, checked again at EXEC */
    int argc;
    slice *argv; /* owned: the slices and their bytes in one block */
} queued;

struct multi_state {
    queued *cmds;
    size_t ncmds, cap;
    size_t bytes;           /* the queued commands' argument blocks (client memory) */
    uint32_t flags_any;     /* CMD_* flags some queued command has */
    uint32_t flags_missing; /* CMD_* flags some queued command lacks */
};

long long multi_queued_count(const session *s) {
    if (!(s->flags & SESS_MULTI)) return -1;
    return s->multi ? (long long)s->multi->ncmds : 0;
}

size_t multi_session_memory(const session *s) {
    const struct multi_state *m = s->multi;
    return m ? sizeof(*m) + m->cap * sizeof(queued) + m->bytes : 0;
}

static struct multi_state *state_of(session *s) {
    if (!s->multi) s->multi = mem_calloc(1, sizeof(struct multi_state));
    return s->multi;
}

static void free_queue(struct multi_state *m) {
    for (size_t i = 0; i < m->ncmds; i++)
        mem_free(m->cmds[i].argv);
    mem_free(m->cmds);
    m->cmds = NULL;
    m->ncmds = m->cap = 0;
    m->bytes = 0;
    m->flags_any = m->flags_missing = 0;
}

/* Ends the transaction: drops the queue, the flags and the watched keys. */
static void discard(session *s) {
    if (s->multi) free_queue(s->multi);
    s->flags &= ~(SESS_MULTI | SESS_DIRTY_CAS | SESS_DIRTY_EXEC);
    watch_clear(s);
}

void multi_discard(session *s) {
    discard(s);
}

int cmd_multi_foreach(const session *s, cmd_queued_fn *fn, void *ctx) {
    if (!(s->flags & SESS_MULTI) || !s->multi) return 0;
    for (size_t i = 0; i < s->multi->ncmds; i++) {
        const queued *q = &s->multi->cmds[i];
        int r = fn(q->cmd, q->argc, q->argv, ctx);
        if (r) return r;
    }
    return 0;
}

int cmd_is_exec(const cmd_spec *cmd) {
    return multi_is_exec(cmd);
}

void multi_session_free(session *s) {
    if (!s->multi) return;
    free_queue(s->multi);
    mem_free(s->multi);
    s->multi = NULL;
}

void multi_flag_error(session *s) {
    if (s->flags & SESS_MULTI) s->flags |= SESS_DIRTY_EXEC;
}

int multi_is_exec(const cmd_spec *cmd) {
    return cmd == &cmd_family_multi[0];
}

uint32_t multi_exec_flags(const session *s, uint32_t exec_flags) {
    const struct multi_state *m = s->multi;
    if (!(s->flags & SESS_MULTI) || !m) return exec_flags;
    uint32_t any = CMD_WRITE | CMD_READONLY | CMD_DENYOOM | CMD_MAY_REPLICATE;
    uint32_t all = CMD_LOADING | CMD_STALE;
    return (exec_flags | (m->flags_any & any)) & ~(m->flags_missing & all);
}

void multi_exec_abort(cmd_ctx *c, const char *msg) {
    discard(c->s);
    if (strncmp(msg, "ERR ", 4) == 0) msg += 4;
    reply_errorf(c, "EXECABORT Transaction discarded because of: %s", msg);
}

/* ---- commands ---- */

static void cmd_multi(cmd_ctx *c) {
    if (c->s->flags & SESS_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->s->flags |= SESS_MULTI;
    reply_ok(c);
}

static void cmd_discard(cmd_ctx *c) {
    if (!(c->s->flags & SESS_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    discard(c->s);
    reply_ok(c);
}

/* ACL rules may have changed since a command was queued: Redis checks again at EXEC and
 * answers a command no longer allowed with an error in its place. Returns 1 to run it. */
static int acl_recheck(cmd_ctx *cc) {
    int pos = 0;
    int r = cmd_acl_check(cc, &pos);
    if (r == ACL_OK) return 1;
    cmd_acl_log(cc, r, pos, ACL_CTX_MULTI);
    const char *why = r == ACL_DENIED_CMD   ? "no permission to execute the command or subcommand"
                      : r == ACL_DENIED_KEY ? "no permission to touch the specified keys"
                                            : "no permission to access one of the channels used "
                                              "as arguments";
    reply_errorf(cc,
                 "NOPERM ACLs rules changed between the moment the transaction was accumulated "
                 "and the EXEC call. This command is no longer allowed for the following "
                 "reason: %s",
                 why);
    keyspec_release_ctx(cc);
    return 0;
}

static void cmd_exec(cmd_ctx *c) {
    session *s = c->s;
    if (!(s->flags & SESS_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (watch_expired_since(s, c->now_ms)) s->flags |= SESS_DIRTY_CAS;
    if (s->flags & SESS_DIRTY_EXEC) {
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        discard(s);
        return;
    }
    if (s->flags & SESS_DIRTY_CAS) {
        reply_null_array(c);
        discard(s);
        return;
    }
    watch_clear(s);
    struct multi_state *m = state_of(s);
    /* Take the queue first: a queued RESET or a session hook may clear the state. */
    queued *cmds = m->cmds;
    size_t n = m->ncmds;
    m->cmds = NULL;
    m->ncmds = m->cap = 0;
    m->bytes = 0;
    m->flags_any = m->flags_missing = 0;
    s->flags &= ~SESS_MULTI;
    reply_array(c, n);
    cmd_key_list keys; /* storage for cmd_ctx_keys, released by cmd_call */
    host_stat.in_exec = 1;
    for (size_t i = 0; i < n; i++) {
        cmd_ctx cc = {
            .s = s,
            .cmd = cmds[i].cmd,
            .parent = cmds[i].parent,
            .stats = cmds[i].stats,
            .argc = cmds[i].argc,
            .argv = cmds[i].argv,
            .out = c->out,
            .proto = s->proto,
            .db = s->db,
            .now_ms = c->now_ms, /* one "now" for the whole transaction */
            .flags = cmds[i].cmd->flags,
            .keys = &keys,
            .acl_id = cmds[i].acl_id,
        };
        if (acl_recheck(&cc)) cmd_call(&cc);
    }
    host_stat.in_exec = 0;
    for (size_t i = 0; i < n; i++)
        mem_free(cmds[i].argv);
    mem_free(cmds);
    s->flags &= ~(SESS_DIRTY_CAS | SESS_DIRTY_EXEC);
}

static void cmd_watch(cmd_ctx *c) {
    if (c->s->flags & SESS_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* No point in watching if the client is already dirty. */
    if (!(c->s->flags & SESS_DIRTY_CAS)) {
        for (int j = 1; j < c->argc; j++)
            watch_add(c->s, c->db, c->argv[j], c->now_ms);
    }
    reply_ok(c);
}

static void cmd_unwatch(cmd_ctx *c) {
    watch_clear(c->s);
    c->s->flags &= ~SESS_DIRTY_CAS;
    reply_ok(c);
}

/* 1 for the commands that run at once even inside MULTI. */
static int runs_immediately(const cmd_spec *cmd) {
    if (cmd >= &cmd_family_multi[0] && cmd < &cmd_family_multi[4]) return 1; /* see table */
    return strcmp(cmd->name, "quit") == 0 || strcmp(cmd->name, "reset") == 0;
}

int multi_queue_if_needed(cmd_ctx *c) {
    session *s = c->s;
    if (!(s->flags & SESS_MULTI) || runs_immediately(c->parent ? c->parent : c->cmd)) return 0;
    /* An aborted transaction need not hold its commands. */
    if (!(s->flags & SESS_DIRTY_EXEC)) {
        struct multi_state *m = state_of(s);
        size_t bytes = (size_t)c->argc * sizeof(slice);
        for (int i = 0; i < c->argc; i++)
            bytes += c->argv[i].len;
        slice *argv = mem_alloc(bytes ? bytes : 1);
        char *p = (char *)(argv + c->argc);
        for (int i = 0; i < c->argc; i++) {
            if (c->argv[i].len) memcpy(p, c->argv[i].p, c->argv[i].len);
            argv[i] = (slice){p, c->argv[i].len};
            p += c->argv[i].len;
        }
        if (m->ncmds == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 4;
            m->cmds = mem_realloc(m->cmds, m->cap * sizeof(queued));
        }
        m->cmds[m->ncmds++] = (queued){c->cmd, c->parent, c->stats, c->acl_id, c->argc, argv};
        m->bytes += bytes;
        m->flags_any |= c->flags; /* as dispatch saw them (EVAL's may depend on its script) */
        m->flags_missing |= ~c->flags;
    }
    reply_simple(c, "QUEUED");
    return 1;
}

#define TX (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY)

/* The first four rows run at once inside MULTI (runs_immediately relies on the order). */
const cmd_spec cmd_family_multi[] = {
    {"exec", cmd_exec, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SKIP_SLOWLOG, 0, 0, 0,
     "transactions", "1.2.0", "Depends on commands in the transaction",
     "Executes all commands in a transaction.", "", NULL, "@slow @transaction"},
    {"discard", cmd_discard, 1, TX, 0, 0, 0, "transactions", "2.0.0",
     "O(N), when N is the number of queued commands", "Discards a transaction.", "", NULL,
     "@fast @transaction"},
    {"multi", cmd_multi, 1, TX, 0, 0, 0, "transactions", "1.2.0", "O(1)", "Starts a transaction.",
     "", NULL, "@fast @transaction"},
    {"watch", cmd_watch, -2, TX, 1, -1, 1, "transactions", "2.2.0", "O(1) for every key.",
     "Monitors changes to keys to determine the execution of a transaction.", "key [key ...]", NULL,
     "@fast @transaction", KS_RO},
    {"unwatch", cmd_unwatch, 1, TX, 0, 0, 0, "transactions", "2.2.0", "O(1)",
     "Forgets about watched keys of a transaction.", "", NULL, "@fast @transaction"},
    {0},
};
