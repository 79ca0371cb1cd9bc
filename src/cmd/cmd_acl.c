/* cmd_acl: the ACL command family, the ACL dispatch gate, and what changes to users do to
 * the sessions using them. The users and rules themselves live in acl/ (a library).
 *
 * Each command and subcommand is entered in acl/'s catalog at start-up with its
 * categories, whether it has keys (its key specs) and where its channels are (the few
 * pub/sub commands below, as Redis's commands_with_channels). The gate, registered right
 * after authentication, asks acl_check for the session's user; for an unrestricted user
 * (the default user, normally) that is one flag test. Keys come from cmd_ctx_keys, the one
 * extraction every gate shares, and only when a selector restricts keys:
 *
 *     key spec ACCESS            -> needs read   (%R~ or ~)
 *     key spec INSERT/UPDATE/DELETE -> needs write (%W~ or ~)
 *     neither (EXISTS, TYPE...)  -> any pattern that matches
 *
 * Sessions: ACL DELUSER and ACL LOAD close the sessions of users that are gone (after the
 * reply when it is the caller's own), and a subscriber whose user no longer allows one of
 * its channels or patterns is closed, as Redis does. */
#include "cmd/cmdacl_int.h"
#include "cmd/registry_int.h"
#include "mayfly/acl/acl.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/config.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <stdio.h>
#include <string.h>

/* ---- the catalog ---- */

typedef struct chan_spec {
    int first, count; /* count -1: every argument from first */
    unsigned flags;   /* ACL_REF_CHANNEL [| ACL_REF_PATTERN] */
} chan_spec;

static const struct {
    const char *name;
    chan_spec spec;
} channel_cmds[] = {
    {"subscribe", {1, -1, ACL_REF_CHANNEL}},
    {"ssubscribe", {1, -1, ACL_REF_CHANNEL}},
    {"psubscribe", {1, -1, ACL_REF_CHANNEL | ACL_REF_PATTERN}},
    {"publish", {1, 1, ACL_REF_CHANNEL}},
    {"spublish", {1, 1, ACL_REF_CHANNEL}},
};

static chan_spec *chans; /* by ACL id; count 0: no channels */
static int nchans;

/* Commands whose keys are one range of arguments (most of them) tell acl/ where, so its
 * check needs no callback: derived from the key specs (cmd_key_specs), one spec that
 * starts at an index. */
static void register_key_range(const cmd_spec *spec, int id) {
    cmd_key_spec tmp;
    const cmd_key_spec *ks;
    if (!spec->fn || cmd_key_specs(spec, &ks, &tmp) != 1) return;
    const cmd_key_spec *k = &ks[0];
    if (k->begin != KS_BEGIN_INDEX || k->find != KS_FIND_RANGE || k->limit > 1 ||
        (k->flags & (KS_NOT_KEY | KS_INCOMPLETE)))
        return;
    int variable = (k->flags & KS_VARIABLE_FLAGS) != 0;
    /* A getkeys function may find other positions, unless it only varies the flags. */
    if (spec->getkeys && !variable) return;
    int last = k->lastkey >= 0 ? k->index + k->lastkey : k->lastkey;
    unsigned need = ((k->flags & KS_ACCESS) ? ACL_REF_READ : 0) |
                    ((k->flags & (KS_INSERT | KS_UPDATE | KS_DELETE)) ? ACL_REF_WRITE : 0);
    acl_command_set_key_range(id, k->index, last, k->step, need, variable);
}

int cmd_acl_register(const cmd_spec *spec, const cmd_spec *parent, int parent_id) {
    unsigned flags = 0;
    chan_spec ch = {0, 0, 0};
    if (spec->flags & CMD_NO_AUTH) flags |= ACL_CMD_NO_AUTH;
    if (spec->fn && cmd_has_keys(spec)) flags |= ACL_CMD_HAS_KEYS;
    for (size_t i = 0; !parent && i < sizeof(channel_cmds) / sizeof(channel_cmds[0]); i++)
        if (strcmp(spec->name, channel_cmds[i].name) == 0) {
            ch = channel_cmds[i].spec;
            flags |= ACL_CMD_HAS_CHANNELS;
        }
    int id = acl_command_add(spec->name, parent_id, spec->acl, flags);
    if (id < 0) return -1;
    register_key_range(spec, id);
    if (id >= nchans) {
        int n = id + 64;
        chans = mem_realloc(chans, sizeof(chan_spec) * (size_t)n);
        memset(chans + nchans, 0, sizeof(chan_spec) * (size_t)(n - nchans));
        nchans = n;
    }
    chans[id] = ch;
    return id;
}

/* ---- checks ---- */

/* acl_refs_fn for a command context: its keys (from the key specs) and channels. */
static int refs_of(void *ctx, acl_ref *out, int cap) {
    cmd_ctx *c = ctx;
    int n = 0;
    const cmd_key_list *keys = cmd_ctx_keys(c);
    if (keys) {
        n = keys->n;
        for (int i = 0; i < n && i < cap; i++) {
            uint32_t f = keys->v[i].flags;
            out[i].pos = keys->v[i].pos;
            out[i].flags = ((f & KS_ACCESS) ? ACL_REF_READ : 0) |
                           ((f & (KS_INSERT | KS_UPDATE | KS_DELETE)) ? ACL_REF_WRITE : 0);
        }
    }
    const chan_spec *ch = &chans[c->acl_id];
    if (ch->flags) {
        int stop = ch->count < 0 ? c->argc : ch->first + ch->count;
        if (stop > c->argc) stop = c->argc;
        for (int i = ch->first; i < stop; i++, n++)
            if (n < cap) out[n] = (acl_ref){i, ch->flags};
    }
    return n;
}

int cmd_acl_check(cmd_ctx *c, int *errpos) {
    const acl_user *u = c->s->user;
    *errpos = 0;
    if (!u || acl_user_unrestricted(u) || c->acl_id < 0) return ACL_OK;
    return acl_check(u, c->acl_id, c->argc, c->argv, refs_of, c, errpos);
}

static void log_entry(cmd_ctx *c, int reason, int context, slice object, slice user) {
    buf info;
    buf_init(&info);
    client_info_line(&info, c->s, c->now_ms);
    buf_putc(&info, '\0');
    acl_log_add(reason, context, object, user, info.data, c->now_ms, config.acllog_max_len);
    buf_deinit(&info);
}

static slice user_name(const acl_user *u) {
    return (slice){acl_user_name(u), acl_user_name_len(u)};
}

void cmd_acl_log(cmd_ctx *c, int result, int errpos, int context) {
    slice object =
        result == ACL_DENIED_CMD ? slice_of(acl_command_name(c->acl_id)) : c->argv[errpos];
    log_entry(c, result, context, object, user_name(c->s->user));
}

void cmd_acl_log_auth(cmd_ctx *c, slice user) {
    int context = (c->s->flags & SESS_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL;
    log_entry(c, ACL_DENIED_AUTH, context, c->argv[0], user);
}

int cmd_acl_authenticate(cmd_ctx *c, slice user, slice pass) {
    acl_user *u = acl_authenticate(user, pass);
    if (!u) {
        cmd_acl_log_auth(c, user);
        return -1;
    }
    c->s->user = u;
    session_set_authenticated(c->s, 1);
    return 0;
}

int cmd_acl_auth_required(void) {
    const acl_user *d = acl_default_user();
    return !acl_user_nopass(d) || !acl_user_enabled(d);
}

int cmd_acl_starts_authenticated(void) {
    return !cmd_acl_auth_required();
}

void cmd_acl_session_start(session *s) {
    s->user = acl_default_user();
    session_set_authenticated(s, cmd_acl_starts_authenticated());
}

/* The gate (after authentication, as in Redis's processCommand). */
static __attribute__((noinline)) const char *deny(cmd_ctx *c, int r, int pos, char *msg,
                                                  size_t cap) {
    cmd_acl_log(c, r, pos, (c->s->flags & SESS_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL);
    buf b;
    buf_init(&b);
    acl_denial_message(r, c->s->user, c->acl_id, c->argv[pos], 0, &b);
    snprintf(msg, cap, "NOPERM %.*s", (int)b.len, b.data);
    buf_deinit(&b);
    return msg;
}

static __attribute__((noinline)) const char *check_acl_full(cmd_ctx *c, char *msg, size_t cap) {
    int pos = 0;
    int r = acl_check(c->s->user, c->acl_id, c->argc, c->argv, refs_of, c, &pos);
    return r == ACL_OK ? NULL : deny(c, r, pos, msg, cap);
}

static const char *check_acl(cmd_ctx *c, char *msg, size_t cap) {
    /* The common cases in a few instructions: an unrestricted user, a command the user's
     * verdict allows outright, or one key to match; the rest (and every denial) in full. */
    if (acl_check_fast(c->s->user, c->acl_id, c->argc, c->argv) == ACL_OK) return NULL;
    return check_acl_full(c, msg, cap);
}

/* Armed while some user is restricted: until then every session may run anything. */
const cmd_gate cmd_gate_acl = {.name = "acl",
                               .order = CMD_GATE_ACL,
                               .unless_any = CMD_NO_AUTH,
                               .armed = &acl_restricted_users,
                               .check = check_acl};

/* What user u may do with a command outside its own session (ACL DRYRUN, callers that
 * check on a user's behalf): a throwaway session carries the user through key extraction.
 * Returns ACL_OK or the denial; *acl_id is the command's ACL id, *pos the denied argument. */
static int check_as(const acl_user *u, const cmd_spec *cmd, const cmd_spec *parent, int argc,
                    slice *argv, int *acl_id, int *pos) {
    cmd_key_list keys;
    session probe;
    memset(&probe, 0, sizeof(probe));
    probe.user = (acl_user *)u;
    cmd_ctx dc = {.s = &probe,
                  .cmd = cmd,
                  .parent = parent,
                  .argc = argc,
                  .argv = argv,
                  .keys = &keys,
                  .acl_id = cmd_acl_id(cmd)};
    *acl_id = dc.acl_id;
    int r = cmd_acl_check(&dc, pos);
    keyspec_release_ctx(&dc);
    return r;
}

int cmd_acl_allows(const acl_user *u, const cmd_spec *cmd, const cmd_spec *parent, int argc,
                   slice *argv) {
    if (!u || acl_user_unrestricted(u)) return 1;
    int id, pos;
    return check_as(u, cmd, parent, argc, argv, &id, &pos) == ACL_OK;
}

int cmd_acl_check_script(cmd_ctx *c, const session *caller, char *msg, size_t cap) {
    const acl_user *u = c->s->user;
    if (!acl_restricted_users || !u || acl_user_unrestricted(u)) return 0;
    int pos = 0;
    int r = acl_check(u, c->acl_id, c->argc, c->argv, refs_of, c, &pos);
    if (r == ACL_OK) return 0; /* keys extracted stay for the command (cmd_call frees) */
    /* As Redis: the entry names the script's user and the client that ran the script. */
    slice object = r == ACL_DENIED_CMD ? slice_of(acl_command_name(c->acl_id)) : c->argv[pos];
    buf info;
    buf_init(&info);
    client_info_line(&info, caller, c->now_ms);
    buf_putc(&info, '\0');
    acl_log_add(r, ACL_CTX_LUA, object, user_name(u), info.data, c->now_ms, config.acllog_max_len);
    buf_clear(&info);
    acl_denial_message(r, u, c->acl_id, c->argv[pos], 0, &info);
    snprintf(msg, cap, "ACL failure in script: %.*s", (int)info.len, info.data);
    buf_deinit(&info);
    keyspec_release_ctx(c); /* the command will not run */
    return -1;
}

/* ---- effects on sessions ---- */

/* Redis's deauthenticateAndCloseClient: the caller's own session closes after its reply,
 * any other at once. */
static void deauth_close(cmd_ctx *c, session *s) {
    s->user = acl_default_user();
    session_set_authenticated(s, 0);
    if (s == c->s)
        s->flags |= SESS_CLOSE_AFTER_REPLY;
    else if (s->ops && s->ops->kill)
        s->ops->kill(s);
}

static int channel_revoked(void *ctx, slice name, int is_pattern) {
    return acl_check_channel(ctx, name, is_pattern) != ACL_OK;
}

/* Closes the subscribers of u that hold a channel or pattern u may no longer use. */
static void close_revoked_subscribers(cmd_ctx *c, acl_user *u) {
    if (pubsub_idle()) return;
    for (session *s = session_first(); s; s = s->next)
        if (s->user == u && s->pubsub && pubsub_session_each(s, channel_revoked, u))
            deauth_close(c, s);
}

/* ---- ACL subcommands ---- */

/* Redis's addReplySubcommandSyntaxError, for a subcommand given the wrong arguments. */
static void sub_syntax_error(cmd_ctx *c) {
    reply_errorf(c,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try ACL "
                 "HELP.",
                 (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].p);
}

static void acl_setuser_cmd(cmd_ctx *c) {
    char *err = NULL;
    int existed = acl_user_find(c->argv[2]) != NULL;
    if (acl_setuser(c->argv[2], c->argc - 3, c->argv + 3, &err) < 0) {
        for (char *p = err; *p; p++) /* one line, as addReplyErrorSdsSafe */
            if (*p == '\r' || *p == '\n') *p = ' ';
        reply_errorf(c, "ERR %s", err);
        mem_free(err);
        return;
    }
    if (existed) close_revoked_subscribers(c, acl_user_find(c->argv[2]));
    reply_ok(c);
}

static void acl_deluser_cmd(cmd_ctx *c) {
    for (int i = 2; i < c->argc; i++)
        if (slice_eq(c->argv[i], slice_of("default"))) {
            reply_error(c, "ERR The 'default' user cannot be removed");
            return;
        }
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        acl_user *u = acl_user_unlink(c->argv[i]);
        if (!u) continue;
        for (session *s = session_first(); s; s = s->next)
            if (s->user == u) deauth_close(c, s);
        acl_user_free(u);
        deleted++;
    }
    reply_int(c, deleted);
}

static void reply_buf(cmd_ctx *c, const buf *b) {
    reply_bulk(c, b->data ? b->data : "", b->len);
}

/* commands, keys and channels of selector i, as three map entries. */
static void reply_selector(cmd_ctx *c, const acl_user *u, size_t i) {
    buf cmds, keys, chans_b;
    buf_init(&cmds);
    buf_init(&keys);
    buf_init(&chans_b);
    acl_selector_describe(u, i, &cmds, &keys, &chans_b);
    reply_bulk_cstr(c, "commands");
    reply_buf(c, &cmds);
    reply_bulk_cstr(c, "keys");
    reply_buf(c, &keys);
    reply_bulk_cstr(c, "channels");
    reply_buf(c, &chans_b);
    buf_deinit(&cmds);
    buf_deinit(&keys);
    buf_deinit(&chans_b);
}

static void acl_getuser_cmd(cmd_ctx *c) {
    const acl_user *u = acl_user_find(c->argv[2]);
    if (!u) {
        reply_null(c);
        return;
    }
    reply_map(c, 6);
    const char *flags[8];
    size_t nflags = acl_user_flags(u, flags);
    reply_bulk_cstr(c, "flags");
    reply_set(c, nflags);
    for (size_t i = 0; i < nflags; i++)
        reply_bulk_cstr(c, flags[i]);
    reply_bulk_cstr(c, "passwords");
    size_t npass = acl_user_password_count(u);
    reply_array(c, npass);
    for (size_t i = 0; i < npass; i++)
        reply_bulk_cstr(c, acl_user_password(u, i));
    reply_selector(c, u, 0);
    reply_bulk_cstr(c, "selectors");
    size_t nsel = acl_user_selector_count(u);
    reply_array(c, nsel - 1);
    for (size_t i = 1; i < nsel; i++) {
        reply_map(c, 3);
        reply_selector(c, u, i);
    }
}

static void acl_list_cmd(cmd_ctx *c) {
    size_t n = acl_user_count();
    reply_array(c, n);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        const acl_user *u = acl_user_at(i);
        buf_clear(&b);
        buf_puts(&b, "user ");
        buf_append(&b, acl_user_name(u), acl_user_name_len(u));
        buf_putc(&b, ' ');
        acl_user_describe(u, &b);
        reply_buf(c, &b);
    }
    buf_deinit(&b);
}

static void acl_users_cmd(cmd_ctx *c) {
    size_t n = acl_user_count();
    reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        reply_bulk(c, acl_user_name(acl_user_at(i)), acl_user_name_len(acl_user_at(i)));
}

static void acl_whoami_cmd(cmd_ctx *c) {
    if (c->s->user)
        reply_bulk(c, acl_user_name(c->s->user), acl_user_name_len(c->s->user));
    else
        reply_null(c);
}

static int aclfile_set(cmd_ctx *c) {
    if (config.aclfile && config.aclfile[0]) return 1;
    reply_error(c, "ERR This Redis instance is not configured to use an ACL file. You may want "
                   "to specify users via the ACL SETUSER command and then issue a CONFIG "
                   "REWRITE (assuming you have a Redis configuration file set) in order to store "
                   "users in the Redis configuration.");
    return 0;
}

static void acl_load_cmd(cmd_ctx *c) {
    if (!aclfile_set(c)) return;
    char *err = NULL;
    char path[4096];
    acl_file_path(config.aclfile, config.dir, path, sizeof(path));
    acl_userset *old = acl_load_file(path, config.aclfile, &err);
    if (!old) {
        reply_errorf(c, "ERR %s", err);
        mem_free(err);
        return;
    }
    /* Sessions follow their user by name; those whose user is gone, or who hold a
     * channel their user no longer allows, are closed. */
    for (session *s = session_first(); s; s = s->next) {
        if (!s->user || !acl_userset_has(old, s->user)) {
            if (s->user && s->pubsub && pubsub_session_each(s, channel_revoked, s->user))
                deauth_close(c, s);
            continue;
        }
        acl_user *now = acl_user_find(user_name(s->user));
        if (!now || (s->pubsub && pubsub_session_each(s, channel_revoked, now)))
            deauth_close(c, s);
        else
            s->user = now;
    }
    acl_userset_free(old);
    reply_ok(c);
}

static void acl_save_cmd(cmd_ctx *c) {
    if (!aclfile_set(c)) return;
    char *err = NULL;
    char path[4096];
    if (acl_save_file(acl_file_path(config.aclfile, config.dir, path, sizeof(path)), &err) < 0) {
        log_warning("%s", err);
        mem_free(err);
        reply_error(c, "ERR There was an error trying to save the ACLs. Please check the server "
                       "logs for more information");
        return;
    }
    reply_ok(c);
}

static void acl_cat_cmd(cmd_ctx *c) {
    if (c->argc > 3) {
        sub_syntax_error(c);
        return;
    }
    if (c->argc == 2) {
        reply_array(c, ACL_CAT_COUNT);
        for (int i = 0; i < ACL_CAT_COUNT; i++)
            reply_bulk_cstr(c, acl_category_name(i));
        return;
    }
    int cat = acl_category_find(c->argv[2].p, c->argv[2].len);
    if (cat < 0) {
        reply_errorf(c, "ERR Unknown category '%.*s'",
                     (int)(c->argv[2].len < 128 ? c->argv[2].len : 128), c->argv[2].p);
        return;
    }
    size_t mark = reply_defer(c);
    size_t n = 0;
    for (int id = 0; id < acl_command_count(); id++)
        if (acl_command_categories(id) & (1ULL << cat)) {
            reply_bulk_cstr(c, acl_command_name(id));
            n++;
        }
    reply_defer_array(c, mark, n);
}

#define GENPASS_MAX_BITS 4096

static void acl_genpass_cmd(cmd_ctx *c) {
    if (c->argc > 3) {
        sub_syntax_error(c);
        return;
    }
    long long bits = 256;
    if (c->argc == 3 && arg_ll(c, c->argv[2], &bits) < 0) return;
    if (bits <= 0 || bits > GENPASS_MAX_BITS) {
        reply_errorf(c,
                     "ERR ACL GENPASS argument must be the number of bits for the output "
                     "password, a positive number up to %d",
                     GENPASS_MAX_BITS);
        return;
    }
    char pass[GENPASS_MAX_BITS / 4];
    size_t chars = (size_t)(bits + 3) / 4;
    acl_random_hex(pass, chars);
    reply_bulk(c, pass, chars);
}

static const char *const reason_names[] = {"", "command", "key", "auth", "channel"};
static const char *const context_names[] = {"toplevel", "multi", "lua", "module"};

static void reply_log_entry(cmd_ctx *c, const acl_log_entry *e) {
    reply_map(c, 10);
    reply_bulk_cstr(c, "count");
    reply_int(c, e->count);
    reply_bulk_cstr(c, "reason");
    reply_bulk_cstr(c, e->reason >= 1 && e->reason <= 4 ? reason_names[e->reason] : "unknown");
    reply_bulk_cstr(c, "context");
    reply_bulk_cstr(c, e->context >= 0 && e->context <= 3 ? context_names[e->context] : "unknown");
    reply_bulk_cstr(c, "object");
    reply_bulk(c, e->object, e->object_len);
    reply_bulk_cstr(c, "username");
    reply_bulk(c, e->username, e->username_len);
    reply_bulk_cstr(c, "age-seconds");
    reply_double(c, (double)(c->now_ms - e->updated_ms) / 1000.0);
    reply_bulk_cstr(c, "client-info");
    reply_bulk_cstr(c, e->client_info);
    reply_bulk_cstr(c, "entry-id");
    reply_int(c, e->entry_id);
    reply_bulk_cstr(c, "timestamp-created");
    reply_int(c, e->created_ms);
    reply_bulk_cstr(c, "timestamp-last-updated");
    reply_int(c, e->updated_ms);
}

static void acl_log_cmd(cmd_ctx *c) {
    if (c->argc > 3) {
        sub_syntax_error(c);
        return;
    }
    long long count = 10;
    if (c->argc == 3) {
        if (slice_eq_ci(c->argv[2], "reset")) {
            acl_log_reset();
            reply_ok(c);
            return;
        }
        if (arg_ll(c, c->argv[2], &count) < 0) return;
        if (count < 0) count = 0;
    }
    size_t n = acl_log_len();
    if ((unsigned long long)count < n) n = (size_t)count;
    reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        reply_log_entry(c, acl_log_at(i));
}

static void acl_dryrun_cmd(cmd_ctx *c) {
    const acl_user *u = acl_user_find(c->argv[2]);
    if (!u) {
        reply_errorf(c, "ERR User '%.*s' not found", (int)c->argv[2].len, c->argv[2].p);
        return;
    }
    int argc = c->argc - 3;
    slice *argv = c->argv + 3;
    const cmd_spec *cmd = cmd_lookup(argv[0]), *parent = NULL;
    if (cmd && cmd->subcmds && argc > 1) {
        parent = cmd;
        cmd = cmd_lookup_sub(cmd, argv[1]);
    }
    if (!cmd) {
        reply_errorf(c, "ERR Command '%.*s' not found", (int)argv[0].len, argv[0].p);
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_errorf(c, "ERR wrong number of arguments for '%s%s%s' command",
                     parent ? parent->name : "", parent ? "|" : "", cmd->name);
        return;
    }
    int id, pos;
    int r = check_as(u, cmd, parent, argc, argv, &id, &pos);
    if (r == ACL_OK) {
        reply_ok(c);
        return;
    }
    buf b;
    buf_init(&b);
    acl_denial_message(r, u, id, argv[pos], 1, &b);
    reply_buf(c, &b);
    buf_deinit(&b);
}

static void acl_help_cmd(cmd_ctx *c) {
    static const char *const lines[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the "
        "command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

#define BASE (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ADMIN (CMD_ADMIN | BASE)
#define ADMIN_ACL "@admin @slow @dangerous"

static const cmd_spec acl_subcmds[] = {
    {"cat", acl_cat_cmd, -2, BASE, 0, 0, 0, "server", "6.0.0",
     "O(1) since the categories and commands are a fixed set.",
     "Lists the ACL categories, or the commands inside a category.", "[category]", NULL, "@slow"},
    {"deluser", acl_deluser_cmd, -3, ADMIN | CMD_REDACT_ARGS, 0, 0, 0, "server", "6.0.0",
     "O(1) amortized time considering the typical user.",
     "Deletes ACL users, and terminates their connections.", "username [username ...]", NULL,
     ADMIN_ACL},
    {"dryrun", acl_dryrun_cmd, -4, ADMIN, 0, 0, 0, "server", "7.0.0", "O(1).",
     "Simulates the execution of a command by a user, without executing the command.",
     "username command [arg [arg ...]]", NULL, ADMIN_ACL},
    {"genpass", acl_genpass_cmd, -2, BASE, 0, 0, 0, "server", "6.0.0", "O(1)",
     "Generates a pseudorandom, secure password that can be used to identify ACL users.", "[bits]",
     NULL, "@slow"},
    {"getuser", acl_getuser_cmd, 3, ADMIN | CMD_REDACT_ARGS, 0, 0, 0, "server", "6.0.0",
     "O(N). Where N is the number of password, command and pattern rules that the user has.",
     "Lists the ACL rules of a user.", "username", NULL, ADMIN_ACL},
    {"help", acl_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "6.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow"},
    {"list", acl_list_cmd, 2, ADMIN, 0, 0, 0, "server", "6.0.0",
     "O(N). Where N is the number of configured users.",
     "Dumps the effective rules in ACL file format.", "", NULL, ADMIN_ACL},
    {"load", acl_load_cmd, 2, ADMIN, 0, 0, 0, "server", "6.0.0",
     "O(N). Where N is the number of configured users.",
     "Reloads the rules from the configured ACL file.", "", NULL, ADMIN_ACL},
    {"log", acl_log_cmd, -2, ADMIN, 0, 0, 0, "server", "6.0.0",
     "O(N) with N being the number of entries shown.",
     "Lists recent security events generated due to ACL rules.", "[count|RESET]", NULL, ADMIN_ACL},
    {"save", acl_save_cmd, 2, ADMIN, 0, 0, 0, "server", "6.0.0",
     "O(N). Where N is the number of configured users.",
     "Saves the effective ACL rules in the configured ACL file.", "", NULL, ADMIN_ACL},
    {"setuser", acl_setuser_cmd, -3, ADMIN | CMD_REDACT_ARGS, 0, 0, 0, "server", "6.0.0",
     "O(N). Where N is the number of rules provided.",
     "Creates and modifies an ACL user and its rules.", "username [rule [rule ...]]", NULL,
     ADMIN_ACL},
    {"users", acl_users_cmd, 2, ADMIN, 0, 0, 0, "server", "6.0.0",
     "O(N). Where N is the number of configured users.", "Lists all ACL users.", "", NULL,
     ADMIN_ACL},
    {"whoami", acl_whoami_cmd, 2, BASE, 0, 0, 0, "server", "6.0.0", "O(1)",
     "Returns the authenticated username of the current connection.", "", NULL, "@slow"},
    {0},
};

const cmd_spec cmd_family_acl[] = {
    {"acl", NULL, -2, 0, 0, 0, 0, "server", "6.0.0", "Depends on subcommand.",
     "A container for Access List Control commands.", "", acl_subcmds, "@slow"},
    {0},
};
