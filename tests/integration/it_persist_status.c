/* it_persist_status: what clients see while persistence is busy or failing.
 *
 * - A client connected during a slow start-up load gets -LOADING (Redis's exact text) and
 *   INFO shows loading:1, then the data once loaded. The load is made slow with Redis's
 *   hidden directive key-load-delay (microseconds slept per key or log record), so the
 *   test needs no big files and its time is bounded: NKEYS * LOAD_DELAY_US, about 2 s.
 * - While the append-only log cannot be written (DEBUG AOF-WRITE-ERROR makes every write
 *   fail with ENOSPC, as a full disk does), writes and PING get -MISCONF, reads work, a
 *   MULTI with a refused write aborts; once the fault clears the cron's retry writes the
 *   buffered records and writes are accepted again, and a restart finds them. */
#include "integration/persist_util.h"

#define NKEYS 1000
#define LOAD_DELAY_US "2000"
#define LOADING_ERR "-LOADING Redis is loading the dataset in memory"
#define MISCONF_AOF "-MISCONF Errors writing to the AOF file: No space left on device"

/* NKEYS string keys k:<i> = <i>, pipelined, and a hash with a field TTL. */
static int fill(redisContext *c, long long *deadline) {
    for (int i = 0; i < NKEYS; i++)
        redisAppendCommand(c, "SET k:%d %d", i, i);
    for (int i = 0; i < NKEYS; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return 0;
        int ok = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok) return 0;
    }
    *deadline = pu_now_ms() + 600000;
    return it_int(c, "HSETEX h PXAT %lld FIELDS 1 f v", *deadline) == 1;
}

/* Restarts s with args plus key-load-delay and checks what a client sees during and after
 * the load. */
static int watch_slow_load(it_server *s, const char *const *args, long long deadline) {
    const char *slow[16];
    int n = 0;
    while (args[n] && n < 12) {
        slow[n] = args[n];
        n++;
    }
    slow[n++] = "--key-load-delay";
    slow[n++] = LOAD_DELAY_US;
    slow[n] = NULL;
    if (!it_restart_server_loading(s, slow)) return 0;
    redisContext *c = it_client_to(s);
    int ok = it_expect(c, __FILE__, __LINE__, LOADING_ERR, "GET k:1") &&
             it_expect(c, __FILE__, __LINE__, LOADING_ERR, "HGET h f") &&
             it_expect(c, __FILE__, __LINE__, LOADING_ERR, "PING") &&
             it_expect(c, __FILE__, __LINE__, LOADING_ERR, "SET x y");
    char perc[32];
    if (ok && it_info_field(c, "loading") != 1) {
        fprintf(stderr, "INFO loading is not 1 while loading\n");
        ok = 0;
    }
    if (ok && !pu_info_str(c, "loading_loaded_perc", perc, sizeof(perc))[0]) {
        fprintf(stderr, "no loading_loaded_perc while loading\n");
        ok = 0;
    }
    /* Bounded: NKEYS * 2 ms is about 2 s; allow 30 s for slow sanitizer builds. */
    for (int waited = 0; ok && it_info_field(c, "loading") != 0; waited += 20) {
        if (waited > 30000) {
            fprintf(stderr, "still loading after 30 s\n");
            ok = 0;
        }
        it_sleep_ms(20);
    }
    char want[64];
    snprintf(want, sizeof(want), "[%lld]", deadline);
    ok = ok && it_expect(c, __FILE__, __LINE__, "+PONG", "PING") &&
         it_expect(c, __FILE__, __LINE__, "\"999\"", "GET k:999") &&
         it_expect(c, __FILE__, __LINE__, want, "HPEXPIRETIME h FIELDS 1 f") &&
         it_expect(c, __FILE__, __LINE__, "1001", "DBSIZE") &&
         it_expect(c, __FILE__, __LINE__, "\"v\"", "HGET h f");
    redisFree(c);
    return ok;
}

TEST(loading_from_snapshot_answers_loading) {
    static const char *const args[] = {"--save", "3600 1", NULL};
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    long long deadline;
    if (!fill(c, &deadline)) TEST_FAIL("fill");
    redisReply *r = redisCommand(c, "SHUTDOWN");
    if (r) freeReplyObject(r);
    redisFree(c);
    if (it_wait_exit(&s, 10000) != 0) TEST_FAIL("server did not exit cleanly");
    int ok = watch_slow_load(&s, args, deadline);
    it_stop_server(&s);
    if (!ok) TEST_FAIL("slow snapshot load");
}

TEST(loading_from_log_answers_loading) {
    static const char *const args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    long long deadline;
    if (!fill(c, &deadline)) TEST_FAIL("fill");
    redisFree(c);
    it_kill_server(&s); /* the records are in the log's increment, not in a base */
    int ok = watch_slow_load(&s, args, deadline);
    it_stop_server(&s);
    if (!ok) TEST_FAIL("slow log load");
}

/* key-load-delay is hidden as in Redis: CONFIG GET * does not list it, its name does. */
TEST(key_load_delay_is_hidden) {
    it_server s;
    it_start_server(&s, NULL);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "[\"key-load-delay\",\"0\"]", "CONFIG GET key-load-delay");
    EXPECT(c, "[]", "CONFIG GET key-load-*");
    EXPECT(c, "+OK", "CONFIG SET key-load-delay -10");
    EXPECT(c, "[\"key-load-delay\",\"-10\"]", "CONFIG GET key-load-delay");
    redisReply *r = redisCommand(c, "CONFIG GET *");
    int listed = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (strcmp(r->element[i]->str, "key-load-delay") == 0) listed = 1;
    if (r) freeReplyObject(r);
    redisFree(c);
    it_stop_server(&s);
    if (listed) TEST_FAIL("CONFIG GET * lists key-load-delay");
}

TEST(aof_write_error_gives_misconf_until_it_clears) {
    static const char *const args[] = {"--appendonly", "yes", "--appendfsync", "everysec", NULL};
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    char st[32];
    EXPECT(c, "+OK", "SET a 1");
    EXPECT(c, "+OK", "DEBUG AOF-WRITE-ERROR 1");
    /* This write is applied and replied before its record fails to reach the file, as in
     * Redis with appendfsync everysec; the record stays buffered for the retry. */
    EXPECT(c, "+OK", "SET a 2");
    if (strcmp(pu_info_str(c, "aof_last_write_status", st, sizeof(st)), "err") != 0)
        TEST_FAIL("aof_last_write_status %s", st);
    EXPECT(c, MISCONF_AOF, "SET b x");
    EXPECT(c, MISCONF_AOF, "HSETEX h PX 100000 FIELDS 1 f v");
    EXPECT(c, MISCONF_AOF, "PING"); /* as Redis's processCommand: a health check sees it */
    EXPECT(c, "\"2\"", "GET a");    /* reads keep working */
    EXPECT(c, "0", "EXISTS b");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, MISCONF_AOF, "SET b y");
    EXPECT(c, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    /* The fault clears: the cron (hz 10) retries the buffered record within a tick. */
    EXPECT(c, "+OK", "DEBUG AOF-WRITE-ERROR 0");
    for (int waited = 0; strcmp(pu_info_str(c, "aof_last_write_status", st, sizeof(st)), "ok");
         waited += 10) {
        if (waited > 10000) TEST_FAIL("the write error did not clear in 10 s");
        it_sleep_ms(10);
    }
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "+OK", "SET a 3");
    EXPECT(c, "+OK", "SET c 1");
    redisFree(c);
    if (!pu_log_has(&s, "Error writing to the AOF file: No space left on device") ||
        !pu_log_has(&s, "AOF write error looks solved"))
        TEST_FAIL("the server log does not tell the error and its end");
    /* Everything acknowledged reached the log (everysec: fsync is not awaited, but the
     * kernel has the bytes, which a SIGKILL of the process does not lose). */
    it_kill_server(&s);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "[\"3\",nil,\"1\"]", "MGET a b c");
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    RUN(loading_from_snapshot_answers_loading);
    RUN(loading_from_log_answers_loading);
    RUN(key_load_delay_is_hidden);
    RUN(aof_write_error_gives_misconf_until_it_clears);
    return test_report();
}
