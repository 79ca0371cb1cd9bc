/* it_persist_crash: kill -9 under a pipelined write load.
 *
 *   - appendfsync always: no acknowledged write is lost, and exact deadlines come back;
 *   - appendfsync everysec: what is lost was acknowledged within about the last second;
 *   - BGSAVE while writes go on: the snapshot holds everything written before it started.
 *
 * Every loop is bounded in count and in time. The figures are printed for the report. */
#include "integration/persist_util.h"

#define BATCH 500

/* Sends a batch of INCR ctr / SET s:<i> pairs (n commands), without reading. */
static void send_batch(redisContext *c, long long *next, int n) {
    for (int i = 0; i < n; i += 2) {
        redisAppendCommand(c, "INCR ctr");
        redisAppendCommand(c, "SET s:%lld %lld", *next, *next);
        (*next)++;
    }
}

/* Reads n replies; returns how many arrived (stops at an error). */
static int read_replies(redisContext *c, int n) {
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return i;
        int bad = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (bad) return i;
    }
    return n;
}

TEST(always_loses_no_acknowledged_write) {
    static const char *const args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    enum { NT = 2000 };
    static long long deadlines[NT];
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    for (int i = 0; i < NT; i++)
        redisAppendCommand(c, "SET t:%d %d PX %d", i, i, 3600000 + i);
    if (read_replies(c, NT) != NT) TEST_FAIL("phase 1");
    for (int i = 0; i < NT; i++)
        redisAppendCommand(c, "PEXPIRETIME t:%d", i);
    for (int i = 0; i < NT; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) TEST_FAIL("pexpiretime");
        deadlines[i] = r->integer;
        freeReplyObject(r);
    }
    /* Phase 2: keep one batch in flight; kill while a batch is half read. */
    long long next = 0, acked_pairs = 0;
    long long start = pu_now_ms();
    send_batch(c, &next, BATCH);
    for (int round = 0; round < 400 && pu_now_ms() - start < 3000; round++) {
        send_batch(c, &next, BATCH);
        if (read_replies(c, BATCH) != BATCH) TEST_FAIL("phase 2 reply");
        acked_pairs += BATCH / 2;
    }
    /* Half of the batch in flight: these are acknowledged too. */
    int got = read_replies(c, BATCH / 2);
    acked_pairs += got / 2;
    it_kill_server(&s);
    redisFree(c);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    long long ctr = atoll(it_run(c, "GET ctr") + 1);
    long long sent_pairs = next;
    fprintf(stderr,
            "always: %lld write pairs acknowledged, %lld sent, counter after kill -9 = %lld\n",
            acked_pairs, sent_pairs, ctr);
    if (ctr < acked_pairs) TEST_FAIL("lost %lld acknowledged INCRs", acked_pairs - ctr);
    if (ctr > sent_pairs) TEST_FAIL("counter beyond what was sent");
    for (long long i = 0; i < acked_pairs; i += 97) {
        char want[32];
        snprintf(want, sizeof(want), "\"%lld\"", i);
        EXPECT(c, want, "GET s:%lld", i);
    }
    char want[32];
    snprintf(want, sizeof(want), "\"%lld\"", acked_pairs - 1);
    EXPECT(c, want, "GET s:%lld", acked_pairs - 1);
    for (int i = 0; i < NT; i++)
        redisAppendCommand(c, "PEXPIRETIME t:%d", i);
    for (int i = 0; i < NT; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) TEST_FAIL("pexpiretime after");
        long long v = r->integer;
        freeReplyObject(r);
        if (v != deadlines[i]) TEST_FAIL("t:%d deadline %lld, was %lld", i, v, deadlines[i]);
    }
    redisFree(c);
    it_stop_server(&s);
}

TEST(everysec_loses_at_most_about_a_second) {
    static const char *const args[] = {"--appendonly", "yes", "--appendfsync", "everysec", NULL};
    enum { MAXCP = 4000 };
    static long long cp_time[MAXCP], cp_acked[MAXCP];
    int ncp = 0;
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    long long next = 0, acked = 0, start = pu_now_ms();
    send_batch(c, &next, BATCH);
    while (ncp < MAXCP && pu_now_ms() - start < 2500) {
        send_batch(c, &next, BATCH);
        if (read_replies(c, BATCH) != BATCH) TEST_FAIL("reply");
        acked += BATCH / 2;
        cp_time[ncp] = pu_now_ms();
        cp_acked[ncp++] = acked;
    }
    long long kill_ms = pu_now_ms();
    it_kill_server(&s);
    redisFree(c);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    long long ctr = atoll(it_run(c, "GET ctr") + 1);
    /* The oldest acknowledgement that did not survive. */
    long long lost_since = kill_ms;
    for (int i = 0; i < ncp; i++)
        if (cp_acked[i] > ctr) {
            lost_since = i ? cp_time[i - 1] : start;
            break;
        }
    fprintf(stderr,
            "everysec: %lld INCRs acknowledged in %lld ms, %lld survived kill -9: lost %lld, "
            "acknowledged in the last %lld ms\n",
            acked, kill_ms - start, ctr, acked > ctr ? acked - ctr : 0, kill_ms - lost_since);
    if (kill_ms - lost_since > 2200) TEST_FAIL("lost writes older than about a second");
    redisFree(c);
    it_stop_server(&s);
}

TEST(bgsave_under_write_load) {
    static const char *const args[] = {"--save", "", NULL};
    enum { N = 20000 };
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    for (int i = 0; i < N; i++)
        redisAppendCommand(c, "SET a:%d %d", i, i);
    if (read_replies(c, N) != N) TEST_FAIL("load");
    EXPECT(c, "+Background saving started", "BGSAVE");
    long long next = 0;
    int rounds = 0;
    for (; rounds < 40; rounds++) {
        send_batch(c, &next, BATCH);
        if (read_replies(c, BATCH) != BATCH) TEST_FAIL("writes during BGSAVE");
    }
    if (!pu_wait_zero(c, "rdb_bgsave_in_progress")) TEST_FAIL("bgsave never finished");
    char st[32];
    if (strcmp(pu_info_str(c, "rdb_last_bgsave_status", st, sizeof(st)), "ok") != 0)
        TEST_FAIL("status %s", st);
    it_kill_server(&s);
    redisFree(c);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    long long n = it_int(c, "DBSIZE");
    fprintf(stderr, "bgsave: %d keys before BGSAVE, %lld written during, %lld restored\n", N,
            next + 1, n);
    if (n < N || n > N + next + 1) TEST_FAIL("DBSIZE %lld", n);
    for (int i = 0; i < N; i += 131) {
        char want[32];
        snprintf(want, sizeof(want), "\"%d\"", i);
        EXPECT(c, want, "GET a:%d", i);
    }
    redisFree(c);
    it_stop_server(&s);
}

/* A snapshot child still writing when the server is killed must not keep the server's port
 * (it closes the inherited sockets and dies with its parent): the restart binds at once. */
TEST(killed_during_bgsave_restarts_on_its_port) {
    static const char *const args[] = {"--save", "", NULL};
    enum { N = 60000 };
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    static char value[1024];
    memset(value, 'v', sizeof(value) - 1);
    for (int i = 0; i < N; i++)
        redisAppendCommand(c, "SET big:%d %s", i, value);
    if (read_replies(c, N) != N) TEST_FAIL("load");
    EXPECT(c, "+Background saving started", "BGSAVE");
    it_kill_server(&s);
    redisFree(c);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart on the same port failed");
    c = it_client_to(&s);
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
    it_stop_server(&s);
}

/* A pipeline paused by its time budget resumes from the ready list in a later loop turn:
 * what it writes then must reach the log before its replies leave, as everything else does.
 * DEBUG SLEEP spends the budget after each INCR; DEBUG AOF-FLUSH-SLEEP holds every log write
 * for 300 ms, so a reply sent ahead of its write is read well before the write happens and
 * the kill lands in between: the first INCR runs from the ready list (the DEBUG SLEEP before
 * it spent the first turn), and once its reply is read it must survive kill -9. */
TEST(resumed_pipeline_is_logged_before_its_replies) {
    static const char *const args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    enum { PAIRS = 4 };
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "DEBUG AOF-FLUSH-SLEEP 300000");
    for (int i = 0; i < PAIRS; i++) {
        redisAppendCommand(c, "DEBUG SLEEP 0.002");
        redisAppendCommand(c, "INCR ctr");
    }
    long long acked = 0;
    for (int i = 0; i < 2; i++) { /* DEBUG SLEEP, INCR */
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) TEST_FAIL("reply %d", i);
        if (r->type == REDIS_REPLY_INTEGER) acked = r->integer;
        freeReplyObject(r);
    }
    it_kill_server(&s);
    redisFree(c);
    if (acked != 1) TEST_FAIL("INCR reply read: counter %lld, want 1", acked);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "\"1\"", "GET ctr");
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    RUN(resumed_pipeline_is_logged_before_its_replies);
    RUN(always_loses_no_acknowledged_write);
    RUN(everysec_loses_at_most_about_a_second);
    RUN(bgsave_under_write_load);
    RUN(killed_during_bgsave_restarts_on_its_port);
    return test_report();
}
