/* Unit tests for journal/: the fan-out of units to several sinks, each framed for its own
 * stream (SELECT where the stream's database changes, MULTI ... EXEC around a unit of
 * several records), nesting (an EXEC run through real dispatch), reaps and evictions as
 * records, and passing a primary's stream on. Each test sink writes what it gets as text,
 * one record a line, "db|time|argv..." for effects and the bare words for framing. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/journal/journal.h"
#include "mayfly/server.h"
#include "mayfly/types/string.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

typedef struct tsink {
    journal_sink s;
    buf text;
    const char *last_argv0; /* argv[0].p of the last record (copy or not) */
    char bytes[256];
    size_t nbytes;
} tsink;

static size_t tsink_record(journal_sink *js, const journal_rec *r) {
    tsink *t = (tsink *)js;
    static const char *const kinds[] = {"", "S:", "M:", "E:"};
    buf_printf(&t->text, "%s%d|%lld", kinds[r->kind], r->dbid, (long long)r->time_ms);
    for (int i = 0; i < r->argc; i++)
        buf_printf(&t->text, " %.*s", (int)r->argv[i].len, r->argv[i].p);
    buf_putc(&t->text, '\n');
    t->last_argv0 = r->argv[0].p;
    return 10; /* a pretend encoding of 10 bytes a record */
}

static void tsink_bytes(journal_sink *js, const char *p, size_t len) {
    tsink *t = (tsink *)js;
    if (t->nbytes + len <= sizeof(t->bytes)) memcpy(t->bytes + t->nbytes, p, len);
    t->nbytes += len;
}

/* The test sinks are static, and every test starts by clearing them: a failed assertion
 * returns early and must not leave a sink on the stack registered. */
static tsink sink_a, sink_b, sink_c;

static void tsink_init(tsink *t, const char *name, enum journal_framing f, unsigned flags) {
    journal_sink_remove(&t->s);
    buf_deinit(&t->text);
    memset(t, 0, sizeof(*t));
    t->s.name = name;
    t->s.framing = f;
    t->s.flags = flags;
    t->s.record = tsink_record;
    t->s.bytes = tsink_bytes;
    buf_init(&t->text);
}

static const char *text_of(tsink *t) {
    buf_putc(&t->text, '\0');
    t->text.len--;
    return t->text.data ? t->text.data : "";
}

static void tsink_done(tsink *t) {
    journal_sink_remove(&t->s);
    buf_deinit(&t->text);
}

/* Appends a record from words. */
static void rec(int dbid, int64_t t, int argc, const char **words) {
    slice argv[8];
    for (int i = 0; i < argc; i++)
        argv[i] = slice_of(words[i]);
    journal_append(dbid, t, argc, argv);
}

static const char *set_a[] = {"set", "a", "1"};
static const char *set_b[] = {"set", "b", "2"};
static const char *del_c[] = {"del", "c"};

TEST(nothing_without_sinks) {
    ASSERT_EQ(0, journal_on());
    rec(0, 1, 3, set_a); /* no sink: dropped, no crash */
    journal_begin_unit(5);
    rec(0, 5, 3, set_a);
    journal_end_unit();
    ASSERT_EQ(0, journal_depth());
}

TEST(two_sinks_get_identical_streams) {
    tsink *a = &sink_a, *b = &sink_b;
    tsink_init(a, "a", JOURNAL_FRAME_SELECT, 0);
    tsink_init(b, "b", JOURNAL_FRAME_SELECT, 0);
    journal_sink_add(&a->s);
    journal_sink_add(&b->s);
    ASSERT_EQ(1, journal_on());
    rec(0, 100, 3, set_a); /* outside a unit: at once */
    journal_begin_unit(200);
    rec(1, 200, 3, set_b);
    rec(1, 200, 2, del_c);
    journal_end_unit();
    rec(1, 300, 3, set_a);
    const char *want = "S:0|100 select 0\n"
                       "0|100 set a 1\n"
                       "S:1|200 select 1\n"
                       "M:1|200 multi\n"
                       "1|200 set b 2\n"
                       "1|200 del c\n"
                       "E:1|200 exec\n"
                       "1|300 set a 1\n";
    ASSERT_STR_EQ(want, text_of(a));
    ASSERT_STR_EQ(want, text_of(b));
    ASSERT_EQ(8 * 10, a->s.offset);
    ASSERT_EQ(a->s.offset, b->s.offset);
    tsink_done(a);
    tsink_done(b);
    ASSERT_EQ(0, journal_on());
}

TEST(select_framing_is_per_sink) {
    tsink *a = &sink_a, *b = &sink_b, *tagged = &sink_c;
    tsink_init(a, "a", JOURNAL_FRAME_SELECT, 0);
    tsink_init(b, "b", JOURNAL_FRAME_SELECT, 0);
    tsink_init(tagged, "log", JOURNAL_FRAME_TAGGED, 0);
    journal_sink_add(&a->s);
    journal_sink_add(&tagged->s);
    rec(3, 1, 3, set_a);
    journal_sink_add(&b->s); /* joins late: its stream has selected nothing yet */
    rec(3, 2, 3, set_b);
    rec(4, 3, 2, del_c);
    journal_sink_reset_db(&a->s); /* e.g. a new file: SELECT again */
    rec(4, 4, 3, set_a);
    ASSERT_STR_EQ("S:3|1 select 3\n3|1 set a 1\n3|2 set b 2\nS:4|3 select 4\n4|3 del c\n"
                  "S:4|4 select 4\n4|4 set a 1\n",
                  text_of(a));
    ASSERT_STR_EQ("S:3|2 select 3\n3|2 set b 2\nS:4|3 select 4\n4|3 del c\n4|4 set a 1\n",
                  text_of(b));
    /* The log names the database in every record: no SELECT outside MULTI. */
    ASSERT_STR_EQ("3|1 set a 1\n3|2 set b 2\n4|3 del c\n4|4 set a 1\n", text_of(tagged));
    tsink_done(a);
    tsink_done(b);
    tsink_done(tagged);
}

TEST(multi_exec_wraps_units_of_several_records) {
    tsink *a = &sink_a, *tagged = &sink_c;
    tsink_init(a, "a", JOURNAL_FRAME_SELECT, 0);
    tsink_init(tagged, "log", JOURNAL_FRAME_TAGGED, 0);
    journal_sink_add(&a->s);
    journal_sink_add(&tagged->s);
    journal_begin_unit(10);
    rec(0, 10, 3, set_a); /* one record: no wrapping */
    journal_end_unit();
    journal_begin_unit(20);
    rec(2, 20, 3, set_a);
    rec(5, 21, 3, set_b);
    rec(2, 22, 2, del_c);
    journal_end_unit();
    journal_begin_unit(30); /* an empty unit: nothing at all */
    journal_end_unit();
    ASSERT_STR_EQ("S:0|10 select 0\n0|10 set a 1\n"
                  "S:2|20 select 2\nM:2|20 multi\n2|20 set a 1\nS:5|21 select 5\n5|21 set b 2\n"
                  "S:2|22 select 2\n2|22 del c\nE:2|20 exec\n",
                  text_of(a));
    /* TAGGED: MULTI replays in the unit's first database; SELECT only where it changes. */
    ASSERT_STR_EQ("0|10 set a 1\n"
                  "M:2|20 multi\n2|20 set a 1\nS:5|21 select 5\n5|21 set b 2\n"
                  "S:2|22 select 2\n2|22 del c\nE:2|20 exec\n",
                  text_of(tagged));
    tsink_done(a);
    tsink_done(tagged);
}

TEST(nested_units_flush_once_and_lone_record_is_not_copied) {
    tsink *a = &sink_a;
    tsink_init(a, "a", JOURNAL_FRAME_TAGGED, 0);
    journal_sink_add(&a->s);
    journal_begin_unit(50);
    journal_begin_unit(60);
    ASSERT_EQ(50, journal_now()); /* the outermost unit's time */
    rec(0, 60, 3, set_a);
    journal_end_unit();
    ASSERT_EQ(0, a->text.len); /* held until the outermost unit ends */
    slice argv[2] = {slice_of("del"), slice_of("x")};
    journal_end_unit_with(0, 50, 2, argv);
    ASSERT_STR_EQ("M:0|60 multi\n0|60 set a 1\n0|50 del x\nE:0|60 exec\n", text_of(a));
    ASSERT(a->last_argv0 != argv[0].p); /* packed: a copy */
    buf_clear(&a->text);
    journal_begin_unit(70);
    journal_end_unit_with(0, 70, 2, argv);
    ASSERT_STR_EQ("0|70 del x\n", text_of(a));
    ASSERT(a->last_argv0 == argv[0].p); /* the whole unit: handed over as it was */
    ASSERT_EQ(0, journal_depth());
    tsink_done(a);
}

/* A unit whose later record has more arguments than any before it (the unpacking space
 * grows while the unit is delivered). */
TEST(large_records_in_a_unit) {
    tsink *a = &sink_a;
    tsink_init(a, "a", JOURNAL_FRAME_TAGGED, 0);
    journal_sink_add(&a->s);
    enum { N = 301 };
    static slice argv[N];
    static char words[N][8];
    argv[0] = slice_of("hdel");
    for (int i = 1; i < N; i++) {
        snprintf(words[i], sizeof(words[i]), "w%d", i);
        argv[i] = slice_of(words[i]);
    }
    for (int round = 0; round < 2; round++) {
        buf_clear(&a->text);
        journal_begin_unit(9);
        rec(0, 9, 3, set_a);
        journal_append(0, 9, N, argv);
        journal_end_unit();
        const char *t = text_of(a);
        ASSERT(strncmp(t, "M:0|9 multi\n0|9 set a 1\n0|9 hdel w1 w2 w3 ", 40) == 0);
        ASSERT(strstr(t, " w299 w300\nE:0|9 exec\n") != NULL);
    }
    tsink_done(a);
}

static session *client;

static void run(int argc, const char **words) {
    slice argv[8];
    for (int i = 0; i < argc; i++)
        argv[i] = slice_of(words[i]);
    cmd_dispatch(client, argc, argv);
    buf_clear(&client->out);
}

TEST(exec_nests_its_commands_in_one_unit) {
    tsink *a = &sink_a;
    tsink_init(a, "a", JOURNAL_FRAME_SELECT, 0);
    journal_sink_add(&a->s);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"}, *sel1[] = {"SELECT", "1"},
               *sel0[] = {"SELECT", "0"}, *s1[] = {"SET", "k1", "v1"}, *s2[] = {"SET", "k2", "v2"},
               *get[] = {"GET", "k1"}, *pexp[] = {"EXPIRE", "k1", "100"};
    run(1, multi);
    run(3, s1);
    run(2, get); /* a read: no record */
    run(2, sel1);
    run(3, s2);
    run(2, sel0);
    run(1, exec);
    run(3, pexp); /* a rewrite: PEXPIREAT at now + 100 s */
    /* Every record of a command carries its "now": strip the times to compare. */
    static char plain[512];
    size_t n = 0;
    for (const char *p = text_of(a); *p && n < sizeof(plain) - 1; p++) {
        if (*p == '|') {
            while (p[1] >= '0' && p[1] <= '9')
                p++;
            continue;
        }
        plain[n++] = *p;
    }
    plain[n] = '\0';
    const char *want = "S:0 select 0\nM:0 multi\n0 SET k1 v1\nS:1 select 1\n1 SET k2 v2\n"
                       "E:0 exec\nS:0 select 0\n0 pexpireat k1 ";
    ASSERT_EQ(0, strncmp(plain, want, strlen(want)));
    tsink_done(a);
}

TEST(replica_only_records_reach_replication_sinks) {
    tsink *log = &sink_a, *repl = &sink_b;
    tsink_init(log, "log", JOURNAL_FRAME_SELECT, 0);
    tsink_init(repl, "repl", JOURNAL_FRAME_SELECT, JOURNAL_SINK_REPL);
    journal_sink_add(&log->s);
    journal_sink_add(&repl->s);
    slice pub[3] = {slice_of("publish"), slice_of("ch"), slice_of("msg")};
    journal_append_repl(0, 5, 3, pub); /* outside a unit: at once, to the stream only */
    ASSERT_STR_EQ("", text_of(log));
    ASSERT_STR_EQ("S:0|5 select 0\n0|5 publish ch msg\n", text_of(repl));
    buf_clear(&repl->text);
    /* In a unit with a write: the log sees one record (no MULTI), the stream two. */
    journal_begin_unit(6);
    journal_append_repl(1, 6, 3, pub);
    rec(1, 6, 3, set_a);
    journal_end_unit();
    ASSERT_STR_EQ("S:1|6 select 1\n1|6 set a 1\n", text_of(log));
    ASSERT_STR_EQ("S:1|6 select 1\nM:1|6 multi\n1|6 publish ch msg\n1|6 set a 1\nE:1|6 exec\n",
                  text_of(repl));
    buf_clear(&log->text);
    /* A unit of nothing but replica-only records: nothing in the log at all. */
    journal_begin_unit(7);
    journal_append_repl(1, 7, 3, pub);
    journal_append_repl(1, 7, 3, pub);
    journal_end_unit();
    ASSERT_STR_EQ("", text_of(log));
    tsink_done(log);
    tsink_done(repl);
}

TEST(reaps_and_evictions_become_records) {
    tsink *a = &sink_a;
    tsink_init(a, "a", JOURNAL_FRAME_TAGGED, 0);
    journal_sink_add(&a->s);
    db *d = db_get(2);
    dbentry *e = db_add(d, slice_of("gone"), &string_new("v", 1)->hdr);
    e = db_set_expire(d, e, 1000);
    /* Lazy expiry inside a unit: the DEL joins the unit, stamped with the unit's time. */
    journal_begin_unit(5000);
    ASSERT(db_find(d, slice_of("gone"), 5000) == NULL);
    rec(2, 5000, 3, set_a);
    journal_end_unit();
    ASSERT_STR_EQ("M:2|5000 multi\n2|5000 del gone\n2|5000 set a 1\nE:2|5000 exec\n", text_of(a));
    buf_clear(&a->text);
    /* Eviction outside a unit: a DEL at once. */
    e = db_add(d, slice_of("big"), &string_new("v", 1)->hdr);
    db_evict(d, e);
    ASSERT(strstr(text_of(a), "2|") == a->text.data);
    ASSERT(strstr(text_of(a), " del big\n") != NULL);
    tsink_done(a);
}

TEST(following_passes_the_primary_stream_on) {
    tsink *log = &sink_a, *backlog = &sink_b;
    tsink_init(log, "log", JOURNAL_FRAME_TAGGED, 0);
    tsink_init(backlog, "backlog", JOURNAL_FRAME_SELECT, JOURNAL_SINK_PASS_ON);
    journal_sink_add(&log->s);
    journal_sink_add(&backlog->s);
    rec(0, 1, 3, set_a);
    ASSERT_STR_EQ("S:0|1 select 0\n0|1 set a 1\n", text_of(backlog));
    buf_clear(&backlog->text);
    uint64_t off = backlog->s.offset;
    journal_follow(1);
    ASSERT_EQ(1, journal_following());
    ASSERT_EQ(1, journal_on()); /* the log still takes our records */
    /* Applying the primary's "set b 2": the log gets our record, the backlog the bytes. */
    const char wire[] = "*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n";
    rec(0, 2, 3, set_b);
    journal_pass_on_bytes(wire, sizeof(wire) - 1);
    ASSERT_STR_EQ("0|1 set a 1\n0|2 set b 2\n", text_of(log));
    ASSERT_EQ(0, backlog->text.len);
    ASSERT_MEM_EQ(wire, sizeof(wire) - 1, backlog->bytes, backlog->nbytes);
    ASSERT_EQ(off + sizeof(wire) - 1, backlog->s.offset);
    /* Already-framed records go on as they are, SELECT included. */
    slice sel[2] = {slice_of("select"), slice_of("7")};
    journal_rec r = {JOURNAL_REC_SELECT, 7, 3, 2, sel};
    journal_pass_on(&r);
    ASSERT_EQ(7, backlog->s.cur_db);
    ASSERT_STR_EQ("S:7|3 select 7\n", text_of(backlog));
    ASSERT(strstr(text_of(log), "select") == NULL); /* not a pass-on sink */
    /* Promoted: the backlog takes our records again, starting with a SELECT. */
    journal_follow(0);
    buf_clear(&backlog->text);
    rec(7, 4, 3, set_a);
    ASSERT_STR_EQ("S:7|4 select 7\n7|4 set a 1\n", text_of(backlog));
    /* Only the log while following and the log is gone: nobody takes records. */
    journal_sink_remove(&log->s);
    journal_follow(1);
    ASSERT_EQ(0, journal_on());
    journal_follow(0);
    tsink_done(log);
    tsink_done(backlog);
}

int main(void) {
    server_init();
    db_init_all(16);
    journal_init();
    client = session_new(NULL, NULL);
    RUN(nothing_without_sinks);
    RUN(two_sinks_get_identical_streams);
    RUN(select_framing_is_per_sink);
    RUN(multi_exec_wraps_units_of_several_records);
    RUN(nested_units_flush_once_and_lone_record_is_not_copied);
    RUN(large_records_in_a_unit);
    RUN(exec_nests_its_commands_in_one_unit);
    RUN(replica_only_records_reach_replication_sinks);
    RUN(reaps_and_evictions_become_records);
    RUN(following_passes_the_primary_stream_on);
    session_free(client);
    db_free_all();
    return test_report();
}
