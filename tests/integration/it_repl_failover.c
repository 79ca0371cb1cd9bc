/* it_repl_failover: planned handovers between Mayfly processes over real sockets: FAILOVER,
 * and SHUTDOWN waiting for replicas to catch up (shutdown-timeout).
 *
 * The refusals (Redis's texts), a failover to any replica (roles swap, the data and the
 * new primary's writes reach the old one, which replicates it), writes paused while the
 * replica catches up (postponed, not refused: FAILOVER ABORT lets them run; after the
 * handover they meet READONLY), the timeout without FORCE aborting, and FORCE handing over
 * to a replica that was stopped (SIGSTOP) past the timeout. SHUTDOWN with a replica behind:
 * the caller blocks and writes pause until the replica has everything (then the process
 * exits and the replica holds the last write), SHUTDOWN ABORT (the caller gets Redis's
 * error, the paused write runs), the timeout, and NOW. CLIENT PAUSE beside a failover: one
 * pause state, each purpose lifted on its own. Every wait is a bounded poll. */
#include "integration/repl_util.h"

#include <signal.h>
#include <unistd.h>

#define SYNC_MS 10000

static int pair(it_server *p, it_server *r, redisContext **pc, redisContext **rc) {
    ru_start_primary(p, NULL);
    ru_start_replica(r, p, NULL);
    *pc = it_client_to(p);
    *rc = it_client_to(r);
    for (int waited = 0; waited < SYNC_MS; waited += 10) {
        if (ru_link_up(*rc)) return 1;
        it_sleep_ms(10);
    }
    return 0;
}

static void unpair(it_server *p, it_server *r, redisContext *pc, redisContext *rc) {
    kill(r->pid, SIGCONT);
    redisFree(pc);
    redisFree(rc);
    it_stop_server(r);
    it_stop_server(p);
}

static int role_is(redisContext *c, const char *want) {
    redisReply *x = redisCommand(c, "ROLE");
    int ok = x && x->type == REDIS_REPLY_ARRAY && x->elements > 0 &&
             strcmp(x->element[0]->str, want) == 0;
    if (x) freeReplyObject(x);
    return ok;
}

static int failover_state_is(redisContext *c, const char *want) {
    char v[64];
    return ru_info(c, "master_failover_state", v, sizeof(v)) && strcmp(v, want) == 0;
}

/* An acknowledged write, then the replica stopped (SIGSTOP): the primary lists a replica
 * online only after its first ACK (FAILOVER TO one not yet online is refused: "FAILOVER
 * target replica is not online", seen once under ASan), and a stopped replica
 * acknowledges nothing more. */
static int ack_then_stop(redisContext *pc, const it_server *r) {
    const char *set = it_run(pc, "SET k 1");
    int ok = set && strcmp(set, "+OK") == 0 && it_int(pc, "WAIT 1 5000") == 1;
    kill(r->pid, SIGSTOP);
    return ok;
}

TEST(refusals) {
    it_server p, r;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    EXPECT(pc, "-ERR FAILOVER requires connected replicas.", "FAILOVER");
    EXPECT(pc, "-ERR No failover in progress.", "FAILOVER ABORT");
    EXPECT(pc, "-ERR syntax error", "FAILOVER NOW");
    EXPECT(pc, "-ERR syntax error", "FAILOVER TIMEOUT 5 TIMEOUT 6");
    EXPECT(pc, "-ERR FAILOVER timeout must be greater than 0", "FAILOVER TIMEOUT 0");
    EXPECT(pc, "-ERR value is not an integer or out of range", "FAILOVER TO h x");
    EXPECT(pc, "-ERR value is not an integer or out of range", "FAILOVER TIMEOUT x");
    ru_start_replica(&r, &p, NULL);
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    EXPECT(pc, "-ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
           "FAILOVER FORCE TIMEOUT 100");
    EXPECT(pc, "-ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
           "FAILOVER TO 127.0.0.1 %d FORCE", r.port);
    EXPECT(pc, "-ERR FAILOVER target HOST and PORT is not a replica.", "FAILOVER TO 127.0.0.1 1");
    EXPECT(rc, "-ERR FAILOVER is not valid when server is a replica.", "FAILOVER");
    EXPECT(pc, "-ERR PSYNC FAILOVER can't be sent to a master.", "PSYNC ? -1 FAILOVER");
    EXPECT(rc, "-ERR PSYNC FAILOVER replid must match my replid.", "PSYNC abc -1 FAILOVER");
    if (!failover_state_is(pc, "no-failover")) TEST_FAIL("master_failover_state");
    unpair(&p, &r, pc, rc);
}

TEST(failover_to_any_replica) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "1", "HSETEX h PX 600000 FIELDS 1 f v");
    EXPECT(pc, "+OK", "SET k 1");
    EXPECT(pc, "+OK", "FAILOVER");
    WAIT_FOR(role_is(rc, "master") && role_is(pc, "slave"), SYNC_MS);
    WAIT_FOR(failover_state_is(pc, "no-failover"), SYNC_MS);
    EXPECT(rc, "\"1\"", "GET k");
    EXPECT(rc, "\"v\"", "HGET h f");
    /* The old primary continues the history (PSYNC), replicating the new one. */
    WAIT_FOR(ru_link_up(pc), SYNC_MS);
    ASSERT_EQ(0, it_info_field(rc, "sync_full"));
    ASSERT_EQ(1, it_info_field(rc, "sync_partial_ok"));
    EXPECT(pc, "-READONLY You can't write against a read only replica.", "SET k 2");
    EXPECT(rc, "+OK", "SET k 3");
    EXPECT(rc, "1", "WAIT 1 5000");
    EXPECT(pc, "\"3\"", "GET k");
    unpair(&p, &r, pc, rc);
}

TEST(writes_paused_then_abort) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, &pc, &rc)) TEST_FAIL("no link");
    /* The failover waits for the stopped replica. */
    if (!ack_then_stop(pc, &r)) TEST_FAIL("no acknowledged write");
    EXPECT(pc, "+OK", "SET k lag");
    EXPECT(pc, "+OK", "FAILOVER");
    EXPECT(pc, "-ERR FAILOVER already in progress.", "FAILOVER");
    EXPECT(pc, "-ERR REPLICAOF not allowed while failing over.", "REPLICAOF NO ONE");
    if (!failover_state_is(pc, "waiting-for-sync")) TEST_FAIL("not waiting-for-sync");
    /* A write is postponed, and the read pipelined after it waits too; other clients'
     * reads go on. */
    int fd = it_raw_connect_to(&p);
    const char *req = "SET k 2\r\nGET k\r\n";
    it_raw_send(fd, req, strlen(req));
    WAIT_FOR(it_info_field(pc, "blocked_clients") == 1, 5000);
    char got[64];
    ASSERT_EQ(0, it_raw_read(fd, got, sizeof(got), 300));
    EXPECT(pc, "\"lag\"", "GET k");
    EXPECT(pc, "+OK", "FAILOVER ABORT");
    const char *want = "+OK\r\n$1\r\n2\r\n";
    size_t n = it_raw_read(fd, got, strlen(want), 5000);
    ASSERT_EQ(strlen(want), n);
    ASSERT(memcmp(got, want, n) == 0);
    close(fd);
    if (!failover_state_is(pc, "no-failover")) TEST_FAIL("still failing over");
    ASSERT(role_is(pc, "master"));
    unpair(&p, &r, pc, rc);
}

/* After the handover the postponed write runs on a replica: READONLY. */
TEST(postponed_write_meets_readonly) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, &pc, &rc)) TEST_FAIL("no link");
    if (!ack_then_stop(pc, &r)) TEST_FAIL("no acknowledged write");
    EXPECT(pc, "+OK", "SET k lag");
    EXPECT(pc, "+OK", "FAILOVER");
    int fd = it_raw_connect_to(&p);
    it_raw_send(fd, "SET k 2\r\n", 9);
    WAIT_FOR(it_info_field(pc, "blocked_clients") == 1, 5000);
    kill(r.pid, SIGCONT);
    const char *want = "-READONLY You can't write against a read only replica.\r\n";
    char got[128];
    size_t n = it_raw_read(fd, got, strlen(want), SYNC_MS);
    ASSERT_EQ(strlen(want), n);
    ASSERT(memcmp(got, want, n) == 0);
    close(fd);
    WAIT_FOR(role_is(rc, "master") && failover_state_is(pc, "no-failover"), SYNC_MS);
    EXPECT(rc, "\"lag\"", "GET k");
    unpair(&p, &r, pc, rc);
}

TEST(timeout_without_force_aborts) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, &pc, &rc)) TEST_FAIL("no link");
    if (!ack_then_stop(pc, &r)) TEST_FAIL("no acknowledged write");
    EXPECT(pc, "+OK", "SET k lag");
    EXPECT(pc, "+OK", "FAILOVER TO 127.0.0.1 %d TIMEOUT 300", r.port);
    WAIT_FOR(failover_state_is(pc, "no-failover"), 5000);
    ASSERT(role_is(pc, "master"));
    EXPECT(pc, "+OK", "SET k after");
    unpair(&p, &r, pc, rc);
}

TEST(force_hands_over_after_timeout) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, &pc, &rc)) TEST_FAIL("no link");
    if (!ack_then_stop(pc, &r)) TEST_FAIL("no acknowledged write");
    /* Not acknowledged, but already in the stopped replica's socket buffer: it applies it
     * before the PSYNC FAILOVER, which then continues (nothing is lost here). */
    EXPECT(pc, "+OK", "SET k late");
    EXPECT(pc, "+OK", "FAILOVER TO 127.0.0.1 %d TIMEOUT 200 FORCE", r.port);
    WAIT_FOR(failover_state_is(pc, "failover-in-progress"), 5000);
    ASSERT(role_is(pc, "slave"));
    kill(r.pid, SIGCONT);
    WAIT_FOR(role_is(rc, "master"), SYNC_MS);
    WAIT_FOR(failover_state_is(pc, "no-failover"), SYNC_MS);
    WAIT_FOR(ru_link_up(pc), SYNC_MS);
    EXPECT(rc, "\"late\"", "GET k");
    EXPECT(pc, "\"late\"", "GET k");
    ASSERT_EQ(1, it_info_field(rc, "sync_partial_ok"));
    EXPECT(rc, "+OK", "SET k 2");
    EXPECT(rc, "1", "WAIT 1 5000");
    EXPECT(pc, "\"2\"", "GET k");
    unpair(&p, &r, pc, rc);
}

/* Nothing answered on fd within ms. */
static int silent(int fd, int ms) {
    char got[64];
    return it_raw_read(fd, got, sizeof(got), ms) == 0;
}

/* Reads exactly want from fd (bounded). */
static int answers(int fd, const char *want) {
    char got[128];
    size_t n = it_raw_read(fd, got, strlen(want), SYNC_MS);
    return n == strlen(want) && memcmp(got, want, n) == 0;
}

/* CLIENT PAUSE and FAILOVER share one pause state, each holding its own purpose: CLIENT
 * UNPAUSE lifts only the client's pause and FAILOVER ABORT only the failover's, a write
 * waits while either holds (expiry hidden as long), and a read waits only while CLIENT
 * PAUSE ALL holds; its end lets the read run while the failover keeps the write. */
TEST(client_pause_beside_failover) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, &pc, &rc)) TEST_FAIL("no link");
    if (!ack_then_stop(pc, &r)) TEST_FAIL("no acknowledged write");
    EXPECT(pc, "+OK", "SET k lag");
    EXPECT(pc, "+OK", "FAILOVER");
    EXPECT(pc, "+OK", "CLIENT PAUSE 100000 WRITE");
    int w = it_raw_connect_to(&p);
    it_raw_send(w, "SET k 2\r\n", 9);
    WAIT_FOR(it_info_field(pc, "blocked_clients") == 1, 5000);
    EXPECT(pc, "+OK", "CLIENT UNPAUSE");
    ASSERT(silent(w, 300)); /* the failover still holds it */
    EXPECT(pc, "\"hide\"", "DEBUG EXPIRE-MODE");
    EXPECT(pc, "+OK", "CLIENT PAUSE 100000 WRITE");
    EXPECT(pc, "+OK", "FAILOVER ABORT");
    ASSERT(silent(w, 300)); /* now the client pause does */
    ASSERT_EQ(1, it_info_field(pc, "blocked_clients"));
    EXPECT(pc, "\"hide\"", "DEBUG EXPIRE-MODE");
    EXPECT(pc, "\"lag\"", "GET k");
    EXPECT(pc, "+OK", "CLIENT UNPAUSE");
    ASSERT(answers(w, "+OK\r\n"));
    EXPECT(pc, "\"reap\"", "DEBUG EXPIRE-MODE");
    /* ALL beside a failover, ended by its deadline. */
    EXPECT(pc, "+OK", "FAILOVER");
    EXPECT(pc, "+OK", "CLIENT PAUSE 400 ALL");
    int g = it_raw_connect_to(&p);
    it_raw_send(g, "GET k\r\n", 7);
    it_raw_send(w, "SET k 3\r\n", 9);
    ASSERT(silent(g, 150)); /* a read waits under ALL */
    ASSERT(answers(g, "$1\r\n2\r\n"));
    ASSERT(silent(w, 200)); /* the write still waits for the failover */
    EXPECT(pc, "+OK", "FAILOVER ABORT");
    ASSERT(answers(w, "+OK\r\n"));
    EXPECT(pc, "\"reap\"", "DEBUG EXPIRE-MODE");
    close(w);
    close(g);
    unpair(&p, &r, pc, rc);
}

/* Starts p (with extra) and its replica r, stops r, and makes it one write behind. */
static int behind_pair(it_server *p, it_server *r, const char *const *pextra, redisContext **pc,
                       redisContext **rc) {
    ru_start_primary(p, pextra);
    ru_start_replica(r, p, NULL);
    *pc = it_client_to(p);
    *rc = it_client_to(r);
    int up = 0;
    for (int waited = 0; waited < SYNC_MS && !up; waited += 10) {
        up = ru_link_up(*rc);
        if (!up) it_sleep_ms(10);
    }
    redisReply *x = redisCommand(*pc, "WAIT 1 5000");
    int acked = x && x->type == REDIS_REPLY_INTEGER && x->integer == 1;
    if (x) freeReplyObject(x);
    kill(r->pid, SIGSTOP);
    x = redisCommand(*pc, "SET last write");
    if (x) freeReplyObject(x);
    return up && acked;
}

TEST(shutdown_waits_for_replica) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!behind_pair(&p, &r, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "-ERR No shutdown in progress.", "SHUTDOWN ABORT");
    EXPECT(pc, "-ERR syntax error", "SHUTDOWN ABORT NOW");
    int fd = it_raw_connect_to(&p);
    it_raw_send(fd, "SHUTDOWN\r\n", 10);
    WAIT_FOR(it_info_field(pc, "shutdown_in_milliseconds") > 0, 5000);
    /* Writes wait meanwhile. */
    int wfd = it_raw_connect_to(&p);
    it_raw_send(wfd, "SET k 1\r\n", 9);
    WAIT_FOR(it_info_field(pc, "blocked_clients") == 2, 5000);
    char got[128];
    ASSERT_EQ(0, it_raw_read(wfd, got, sizeof(got), 200));
    EXPECT(pc, "+OK", "SHUTDOWN ABORT");
    const char *err = "-ERR Errors trying to SHUTDOWN. Check logs.\r\n";
    size_t n = it_raw_read(fd, got, strlen(err), 5000);
    ASSERT_EQ(strlen(err), n);
    ASSERT(memcmp(got, err, n) == 0);
    ASSERT_EQ(5u, it_raw_read(wfd, got, 5, 5000));
    ASSERT(memcmp(got, "+OK\r\n", 5) == 0);
    close(wfd);
    /* Again, and this time the replica wakes up: it gets everything, then p exits. */
    it_raw_send(fd, "SHUTDOWN\r\n", 10);
    WAIT_FOR(it_info_field(pc, "shutdown_in_milliseconds") > 0, 5000);
    kill(r.pid, SIGCONT);
    ASSERT_EQ(0, it_wait_exit(&p, 8000));
    ASSERT(it_raw_closed(fd, 2000));
    close(fd);
    EXPECT(rc, "\"write\"", "GET last");
    EXPECT(rc, "\"1\"", "GET k");
    unpair(&p, &r, pc, rc);
}

TEST(shutdown_timeout_and_now) {
    it_server p, r;
    redisContext *pc, *rc;
    const char *one[] = {"--shutdown-timeout", "1", NULL};
    if (!behind_pair(&p, &r, one, &pc, &rc)) TEST_FAIL("no link");
    long long t0 = ru_now_ms();
    kill(p.pid, SIGTERM); /* SIGTERM waits as SHUTDOWN does */
    ASSERT_EQ(0, it_wait_exit(&p, 8000));
    long long took = ru_now_ms() - t0;
    if (took < 800) TEST_FAIL("exited after %lld ms, before shutdown-timeout", took);
    unpair(&p, &r, pc, rc);
    if (!behind_pair(&p, &r, NULL, &pc, &rc)) TEST_FAIL("no link");
    t0 = ru_now_ms();
    redisAppendCommand(pc, "SHUTDOWN NOW");
    redisReply *x = NULL;
    redisGetReply(pc, (void **)&x); /* the connection closes */
    if (x) freeReplyObject(x);
    ASSERT_EQ(0, it_wait_exit(&p, 3000));
    if (ru_now_ms() - t0 > 2500) TEST_FAIL("SHUTDOWN NOW waited");
    unpair(&p, &r, pc, rc);
}

int main(void) {
    RUN(refusals);
    RUN(failover_to_any_replica);
    RUN(writes_paused_then_abort);
    RUN(postponed_write_meets_readonly);
    RUN(timeout_without_force_aborts);
    RUN(force_hands_over_after_timeout);
    RUN(client_pause_beside_failover);
    RUN(shutdown_waits_for_replica);
    RUN(shutdown_timeout_and_now);
    return test_report();
}
