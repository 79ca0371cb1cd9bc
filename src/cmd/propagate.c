/* propagate: a command's effects as journal records; see propagate.h.
 *
 * A command call opens a journal unit; when the handler returns, a write command that
 * changed something and did not choose its own records adds its argv as the unit's last
 * record (journal_end_unit_with, which hands a lone record to the sinks without copying;
 * with the request's own bytes when they are exactly argv's RESP (resp_request_exact,
 * checked only here, when something is propagated), so that a sink writing RESP copies
 * them instead of encoding argv again). */
#include "mayfly/cmd/propagate.h"

#include "mayfly/db/db.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/strconv.h"

void propagate_argv(cmd_ctx *c, int argc, const slice *argv) {
    c->propagate_replaced = 1;
    if (c->no_propagate) return;
    journal_append(c->db->id, c->now_ms, argc, argv);
}

void propagate_repl(cmd_ctx *c, int argc, const slice *argv) {
    journal_append_repl(c->db->id, c->now_ms, argc, argv);
}

void propagate_none(cmd_ctx *c) {
    c->propagate_replaced = 1;
}

void propagate_unwrapped(cmd_ctx *c) {
    (void)c;
    if (journal_depth() == 1) journal_unit_unwrapped();
}

slice propagate_ll(char *tmp, long long v) {
    return (slice){tmp, ll_to_str(tmp, v)};
}

void propagate_del(cmd_ctx *c, slice key) {
    slice argv[2] = {slice_of("del"), key};
    propagate_argv(c, 2, argv);
}

void propagate_pexpireat(cmd_ctx *c, slice key, int64_t when_ms) {
    char tmp[STRCONV_LL_MAX];
    slice argv[3] = {slice_of("pexpireat"), key, propagate_ll(tmp, when_ms)};
    propagate_argv(c, 3, argv);
}

void propagate_call_begin(cmd_ctx *c) {
    journal_begin_unit(c->now_ms);
    c->propagate_replaced = 0;
    c->dirty_at_start = db_stat.dirty;
}

/* The request's own bytes, when they are the encoding of the argv c propagates. */
static slice own_resp(const cmd_ctx *c) {
    const session *s = c->s;
    if (s && s->req.len && c->argv == s->req_argv &&
        (s->req_exact || resp_request_exact(s->req, c->argc, c->argv)))
        return s->req;
    return (slice){NULL, 0};
}

/* Out of line: the common call (nothing to propagate, no replica, no log) stays small. */
__attribute__((noinline)) static void end_with_argv(const cmd_ctx *c) {
    journal_end_unit_resp(c->db->id, c->now_ms, c->argc, c->argv, own_resp(c));
}

void propagate_call_end(cmd_ctx *c) {
    if (!c->propagate_replaced && !c->no_propagate && (c->cmd->flags & CMD_WRITE) &&
        db_stat.dirty != c->dirty_at_start && journal_on())
        end_with_argv(c);
    else
        journal_end_unit();
}
