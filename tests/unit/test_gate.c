/* Unit tests for the dispatch gate table (cmd/gate.h): running order by order key (ties in
 * adding order), insertion between existing gates, the flag filters, refusal accounting
 * (error reply, rejected_calls, EXECABORT inside MULTI, a refused EXEC), CMD_GATE_HANDLED,
 * the key extraction gates share, and the internal session that skips them. Commands run
 * through cmd_dispatch on sessions without a connection; replies are read from their
 * output buffers. */
#include "mayfly/acl/acl.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/server.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

static char trail[256]; /* names of the gates called, in order */
static int refuse_writes;

static void run(session *s, const char *line) {
    char copy[256];
    slice argv[16];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && argc < 16;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = slice_of(w);
    buf_clear(&s->out);
    cmd_dispatch(s, argc, argv);
}

static int out_is(session *s, const char *expect) {
    size_t n = strlen(expect);
    int ok = s->out.len == n && memcmp(s->out.data, expect, n) == 0;
    if (!ok) fprintf(stderr, "  reply: %.*s\n", (int)s->out.len, s->out.data ? s->out.data : "");
    return ok;
}

static void note(const char *name) {
    size_t len = strlen(trail);
    snprintf(trail + len, sizeof(trail) - len, "%s%s", len ? "," : "", name);
}

static const char *pass_a(cmd_ctx *c, char *m, size_t cap) {
    (void)c, (void)m, (void)cap;
    note("a");
    return NULL;
}
static const char *pass_b(cmd_ctx *c, char *m, size_t cap) {
    (void)c, (void)m, (void)cap;
    note("b");
    return NULL;
}
static const char *pass_c(cmd_ctx *c, char *m, size_t cap) {
    (void)c, (void)m, (void)cap;
    note("c");
    return NULL;
}
static const char *pass_d(cmd_ctx *c, char *m, size_t cap) {
    (void)c, (void)m, (void)cap;
    note("d");
    return NULL;
}

static const cmd_gate gate_a = {.name = "a", .order = 500, .check = pass_a};
static const cmd_gate gate_b = {.name = "b", .order = 100, .check = pass_b};
static const cmd_gate gate_c = {.name = "c", .order = 300, .check = pass_c};
static const cmd_gate gate_d = {.name = "d", .order = 300, .check = pass_d};

static void clear_gates(void) {
    while (cmd_gate_count())
        cmd_gate_remove(cmd_gate_at(0)->name);
}

TEST(gates_run_in_order_and_insert_between) {
    clear_gates();
    session *s = session_new(NULL, NULL);
    ASSERT_EQ(0, cmd_gate_add(&gate_a));
    ASSERT_EQ(0, cmd_gate_add(&gate_b));
    trail[0] = '\0';
    run(s, "PING");
    ASSERT_STR_EQ("b,a", trail);
    ASSERT(out_is(s, "+PONG\r\n"));
    /* A gate that arrives later lands between the two; an equal order runs after. */
    ASSERT_EQ(0, cmd_gate_add(&gate_c));
    ASSERT_EQ(0, cmd_gate_add(&gate_d));
    trail[0] = '\0';
    run(s, "PING");
    ASSERT_STR_EQ("b,c,d,a", trail);
    ASSERT_STR_EQ("b", cmd_gate_at(0)->name);
    ASSERT_STR_EQ("a", cmd_gate_at(3)->name);
    ASSERT_EQ(-1, cmd_gate_add(&gate_c)); /* names are unique */
    ASSERT_EQ(0, cmd_gate_remove("c"));
    ASSERT_EQ(-1, cmd_gate_remove("c"));
    trail[0] = '\0';
    run(s, "PING");
    ASSERT_STR_EQ("b,d,a", trail);
    /* Unknown commands and arity errors are answered before any gate. */
    trail[0] = '\0';
    run(s, "NOSUCH");
    run(s, "GET");
    ASSERT_STR_EQ("", trail);
    session_free(s);
    clear_gates();
}

static const char *only_writes(cmd_ctx *c, char *m, size_t cap) {
    (void)c, (void)m, (void)cap;
    note("w");
    return NULL;
}
static const char *not_loading(cmd_ctx *c, char *m, size_t cap) {
    (void)c, (void)m, (void)cap;
    note("l");
    return NULL;
}

TEST(flag_filters_choose_the_commands) {
    clear_gates();
    static const cmd_gate w = {
        .name = "w", .order = 100, .when_any = CMD_WRITE, .check = only_writes};
    static const cmd_gate l = {
        .name = "l", .order = 200, .unless_any = CMD_LOADING, .check = not_loading};
    ASSERT_EQ(0, cmd_gate_add(&w));
    ASSERT_EQ(0, cmd_gate_add(&l));
    session *s = session_new(NULL, NULL);
    trail[0] = '\0';
    run(s, "GET k");
    ASSERT_STR_EQ("l", trail);
    trail[0] = '\0';
    run(s, "SET k v");
    ASSERT_STR_EQ("w,l", trail);
    trail[0] = '\0';
    run(s, "INFO server"); /* has the loading flag */
    ASSERT_STR_EQ("", trail);
    trail[0] = '\0';
    run(s, "CONFIG GET port"); /* a subcommand: its own flags (loading) count */
    ASSERT_STR_EQ("", trail);
    session_free(s);
    clear_gates();
}

static const char *refuse(cmd_ctx *c, char *m, size_t cap) {
    (void)c;
    if (!refuse_writes) return NULL;
    snprintf(m, cap, "ERR refused by %s", "test");
    return m;
}

TEST(refusals_are_counted_and_abort_transactions) {
    clear_gates();
    static const cmd_gate g = {
        .name = "refuse", .order = 100, .when_any = CMD_WRITE, .check = refuse};
    ASSERT_EQ(0, cmd_gate_add(&g));
    session *s = session_new(NULL, NULL);
    cmd_reset_stats();
    refuse_writes = 1;
    run(s, "SET k v");
    ASSERT(out_is(s, "-ERR refused by test\r\n"));
    const cmd_stats *st = cmd_stats_of(cmd_lookup(slice_of("set")));
    ASSERT_EQ(1, st->rejected_calls);
    ASSERT_EQ(0, st->calls);
    ASSERT_EQ(1, cmd_total_errors());
    /* Inside MULTI a refused command flags the transaction. */
    run(s, "MULTI");
    run(s, "SET k v");
    ASSERT(out_is(s, "-ERR refused by test\r\n"));
    run(s, "EXEC");
    ASSERT(out_is(s, "-EXECABORT Transaction discarded because of previous errors.\r\n"));
    /* EXEC carries its transaction's flags: refused, it discards the transaction. */
    refuse_writes = 0;
    run(s, "MULTI");
    run(s, "SET k v");
    ASSERT(out_is(s, "+QUEUED\r\n"));
    refuse_writes = 1;
    run(s, "EXEC");
    ASSERT(out_is(s, "-EXECABORT Transaction discarded because of: refused by test\r\n"));
    ASSERT_EQ(1, cmd_stats_of(cmd_lookup(slice_of("exec")))->rejected_calls);
    ASSERT(!(s->flags & SESS_MULTI));
    run(s, "EXEC");
    ASSERT(out_is(s, "-ERR EXEC without MULTI\r\n"));
    /* A transaction of reads passes. */
    run(s, "MULTI");
    run(s, "GET nokey");
    run(s, "EXEC");
    ASSERT(out_is(s, "*1\r\n$-1\r\n"));
    refuse_writes = 0;
    session_free(s);
    clear_gates();
}

static const char *handle(cmd_ctx *c, char *m, size_t cap) {
    (void)m, (void)cap;
    reply_simple(c, "HANDLED");
    return CMD_GATE_HANDLED;
}

TEST(handled_commands_stop_without_counting) {
    clear_gates();
    static const cmd_gate g = {
        .name = "handle", .order = 100, .when_any = CMD_WRITE, .check = handle};
    ASSERT_EQ(0, cmd_gate_add(&g));
    session *s = session_new(NULL, NULL);
    cmd_reset_stats();
    run(s, "SET k v");
    ASSERT(out_is(s, "+HANDLED\r\n"));
    const cmd_stats *st = cmd_stats_of(cmd_lookup(slice_of("set")));
    ASSERT_EQ(0, st->rejected_calls);
    ASSERT_EQ(0, st->calls);
    session_free(s);
    clear_gates();
}

static char seen_keys[128];

static const char *look_at_keys(cmd_ctx *c, char *m, size_t cap) {
    (void)m, (void)cap;
    const cmd_key_list *k = cmd_ctx_keys(c);
    const cmd_key_list *again = cmd_ctx_keys(c);
    size_t len = 0;
    seen_keys[0] = '\0';
    if (k != again) return "ERR keys extracted twice";
    for (int i = 0; k && i < k->n; i++)
        len += (size_t)snprintf(seen_keys + len, sizeof(seen_keys) - len, "%d:%x ", k->v[i].pos,
                                k->v[i].flags);
    return NULL;
}

TEST(gates_share_one_key_extraction) {
    clear_gates();
    static const cmd_gate g = {.name = "keys", .order = 100, .check = look_at_keys};
    ASSERT_EQ(0, cmd_gate_add(&g));
    session *s = session_new(NULL, NULL);
    run(s, "MSET a 1 b 2");
    ASSERT(out_is(s, "+OK\r\n"));
    char expect[64];
    snprintf(expect, sizeof(expect), "1:%x 3:%x ", KS_OW | KS_UPDATE, KS_OW | KS_UPDATE);
    ASSERT_STR_EQ(expect, seen_keys);
    run(s, "SET k v GET");
    snprintf(expect, sizeof(expect), "1:%x ", KS_RW | KS_ACCESS | KS_UPDATE);
    ASSERT_STR_EQ(expect, seen_keys);
    run(s, "PING");
    ASSERT_STR_EQ("", seen_keys);
    session_free(s);
    clear_gates();
}

TEST(internal_sessions_skip_the_gates) {
    clear_gates();
    ASSERT_EQ(0, cmd_gate_add(&gate_a));
    session *s = session_new(NULL, NULL);
    s->flags |= SESS_INTERNAL;
    trail[0] = '\0';
    run(s, "PING");
    ASSERT_STR_EQ("", trail);
    session_free(s);
    clear_gates();
}

TEST(builtin_gates_keep_redis_texts) {
    clear_gates();
    ASSERT_EQ(0, cmd_gate_add(&cmd_gate_auth));
    ASSERT_EQ(0, cmd_gate_add(&cmd_gate_no_multi));
    ASSERT_EQ(0, cmd_gate_add(&cmd_gate_pubsub));
    acl_set_default_password("pw", 2); /* NOAUTH only while the default user needs one */
    session *s = session_new(NULL, NULL);
    ASSERT_EQ(0, s->authenticated);
    run(s, "GET k");
    ASSERT(out_is(s, "-NOAUTH Authentication required.\r\n"));
    run(s, "PING"); /* not NO_AUTH: refused too */
    ASSERT(out_is(s, "-NOAUTH Authentication required.\r\n"));
    run(s, "HELLO 2"); /* NO_AUTH: the handler runs and answers with its own text */
    ASSERT(s->out.len > 30 && memcmp(s->out.data, "-NOAUTH HELLO must", 18) == 0);
    session_set_authenticated(s, 1);
    acl_set_default_password(NULL, 0);
    run(s, "MULTI");
    run(s, "SAVE");
    ASSERT(out_is(s, "-ERR Command not allowed inside a transaction\r\n"));
    run(s, "DISCARD");
    run(s, "SUBSCRIBE ch");
    run(s, "GET k");
    ASSERT(out_is(s, "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                     "QUIT / RESET are allowed in this context\r\n"));
    run(s, "CONFIG GET port");
    ASSERT(out_is(s, "-ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                     "PING / QUIT / RESET are allowed in this context\r\n"));
    run(s, "PING");
    ASSERT(out_is(s, "*2\r\n$4\r\npong\r\n$0\r\n\r\n"));
    session_free(s);
    clear_gates();
}

int main(void) {
    server_init();
    db_init_all(config.databases);
    RUN(gates_run_in_order_and_insert_between);
    RUN(flag_filters_choose_the_commands);
    RUN(refusals_are_counted_and_abort_transactions);
    RUN(handled_commands_stop_without_counting);
    RUN(gates_share_one_key_extraction);
    RUN(internal_sessions_skip_the_gates);
    RUN(builtin_gates_keep_redis_texts);
    db_free_all();
    return test_report();
}
