/* Integration tests: MULTI/EXEC/DISCARD/WATCH/UNWATCH (keyspace issue, item 5), including
 * WATCH races between two clients, expiry, FLUSHDB/FLUSHALL and SWAPDB. */
#include "integration/harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static redisContext *fresh(void) {
    redisContext *c = it_client();
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    return c;
}

TEST(multi_exec_basic) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SET a 1");
    EXPECT(c, "+QUEUED", "INCR a");
    EXPECT(c, "+QUEUED", "GET a");
    EXPECT(c, "+QUEUED", "INCR nosuch-type-check");
    EXPECT(c, "[+OK,2,\"2\",1]", "EXEC");
    EXPECT(c, "-ERR EXEC without MULTI", "EXEC");
    EXPECT(c, "-ERR DISCARD without MULTI", "DISCARD");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "-ERR MULTI calls can not be nested", "MULTI");
    EXPECT(c, "-ERR WATCH inside MULTI is not allowed", "WATCH a");
    EXPECT(c, "+QUEUED", "SET a 5");
    EXPECT(c, "+OK", "DISCARD");
    EXPECT(c, "\"2\"", "GET a");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "[]", "EXEC");
    redisFree(c);
}

TEST(runtime_errors_do_not_abort) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET s abc");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "INCR s");
    EXPECT(c, "+QUEUED", "SET t 1");
    EXPECT(c, "[-ERR value is not an integer or out of range,+OK]", "EXEC");
    EXPECT(c, "\"1\"", "GET t");
    redisFree(c);
}

TEST(queue_errors_abort) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SET a 1");
    EXPECT(c, "-ERR unknown command 'NOSUCHCMD', with args beginning with: ", "NOSUCHCMD");
    EXPECT(c, "-ERR wrong number of arguments for 'get' command", "GET");
    EXPECT(c, "+QUEUED", "SET b 1");
    EXPECT(c, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EXPECT(c, "0", "EXISTS a b");
    EXPECT(c, "-ERR EXEC without MULTI", "EXEC");
    redisFree(c);
}

TEST(select_inside_multi) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SELECT 3");
    EXPECT(c, "+QUEUED", "SET x 3");
    EXPECT(c, "[+OK,+OK]", "EXEC");
    EXPECT(c, "\"3\"", "GET x");
    EXPECT(c, "+OK", "SELECT 0");
    EXPECT(c, "0", "EXISTS x");
    redisFree(c);
}

TEST(watch_broken_by_other_client) {
    redisContext *a = fresh(), *b = it_client();
    EXPECT(a, "+OK", "SET k 1");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "+OK", "SET k 2");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "SET k 3");
    EXPECT(a, "nil", "EXEC");
    EXPECT(a, "\"2\"", "GET k");
    /* Unbroken WATCH: EXEC runs, and the WATCH is gone afterwards. */
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "SET k 3");
    EXPECT(a, "[+OK]", "EXEC");
    EXPECT(b, "+OK", "SET k 4");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "[]", "EXEC");
    /* UNWATCH forgets; DISCARD unwatches. */
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(a, "+OK", "UNWATCH");
    EXPECT(b, "+OK", "SET k 5");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "[]", "EXEC");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+OK", "DISCARD");
    EXPECT(b, "+OK", "SET k 6");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "[]", "EXEC");
    /* Deleting, expiring via EXPIRE, renaming onto: all break it. */
    const char *breakers[] = {"DEL k", "EXPIRE k 100", "RENAME k2 k", "APPEND k x", "INCR n", NULL};
    const char *replies[] = {"1", "1", "+OK", "2", "2"};
    for (int i = 0; breakers[i]; i++) {
        freeReplyObject(redisCommand(b, "MSET k 1 k2 2 n 1"));
        const char *key = strstr(breakers[i], "INCR") ? "n" : "k";
        EXPECT(a, "+OK", "WATCH %s", key);
        EXPECT(b, replies[i], breakers[i]);
        EXPECT(a, "+OK", "MULTI");
        EXPECT(a, "+QUEUED", "PING");
        EXPECT(a, "nil", "EXEC");
    }
    /* A write to another database's key of the same name does not. */
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "+OK", "SELECT 1");
    EXPECT(b, "+OK", "SET k other");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "[]", "EXEC");
    redisFree(a);
    redisFree(b);
}

TEST(watch_and_expiry) {
    redisContext *a = fresh(), *b = it_client();
    EXPECT(a, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    /* A watched key that expires before EXEC aborts it. */
    EXPECT(a, "+OK", "SET k v PX 1000");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(a, "+OK", "DEBUG CLOCK-OFFSET 2000");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "PING");
    EXPECT(a, "nil", "EXEC");
    /* A key already expired when watched: its lazy deletion is no change. */
    EXPECT(a, "+OK", "DEBUG CLOCK-OFFSET 0");
    EXPECT(a, "+OK", "SET k v PX 1000");
    EXPECT(a, "+OK", "DEBUG CLOCK-OFFSET 2000");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "0", "EXISTS k"); /* lazily deleted here */
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "PING");
    EXPECT(a, "[+PONG]", "EXEC");
    EXPECT(a, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT(a, "+OK", "DEBUG CLOCK-OFFSET 0");
    redisFree(a);
    redisFree(b);
}

TEST(watch_and_flush_swapdb) {
    redisContext *a = fresh(), *b = it_client();
    EXPECT(a, "+OK", "SET k v");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "+OK", "FLUSHDB");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "nil", "EXEC");
    /* Flushing a database without the key leaves the WATCH alone. */
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "+OK", "FLUSHALL");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "[]", "EXEC");
    EXPECT(a, "+OK", "SET k v");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "+OK", "FLUSHALL");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "nil", "EXEC");
    /* SWAPDB: the key appears from the other database. */
    EXPECT(b, "+OK", "SELECT 1");
    EXPECT(b, "+OK", "SET k fromdb1");
    EXPECT(a, "+OK", "WATCH k");
    EXPECT(b, "+OK", "SWAPDB 0 1");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "nil", "EXEC");
    EXPECT(a, "\"fromdb1\"", "GET k");
    redisFree(a);
    redisFree(b);
}

TEST(exec_nulls_resp2_resp3) {
    redisContext *b = fresh();
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "WATCH rk\r\n", "+OK\r\n");
    EXPECT(b, "+OK", "SET rk 1");
    EXPECT_RAW(fd, "MULTI\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "EXEC\r\n", "*-1\r\n");
    char buf[4096];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000) > 0);
    EXPECT_RAW(fd, "WATCH rk\r\n", "+OK\r\n");
    EXPECT(b, "+OK", "SET rk 2");
    EXPECT_RAW(fd, "MULTI\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET rk\r\n", "+QUEUED\r\n");
    EXPECT_RAW(fd, "EXEC\r\n", "_\r\n");
    EXPECT_RAW(fd, "MULTI\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET nosuch\r\n", "+QUEUED\r\n");
    EXPECT_RAW(fd, "EXEC\r\n", "*1\r\n_\r\n");
    close(fd);
    redisFree(b);
}

TEST(watch_race_counter) {
    /* Two clients increment a counter with WATCH/GET/MULTI/SET/EXEC retry loops,
     * interleaved; no increment may be lost. */
    redisContext *c[2] = {fresh(), it_client()};
    EXPECT(c[0], "+OK", "SET counter 0");
    int done[2] = {0, 0}, retries = 0;
    while (done[0] < 200 || done[1] < 200) {
        long long v[2];
        int active[2];
        for (int i = 0; i < 2; i++) {
            active[i] = done[i] < 200;
            if (!active[i]) continue;
            freeReplyObject(redisCommand(c[i], "WATCH counter"));
            redisReply *r = redisCommand(c[i], "GET counter");
            v[i] = atoll(r->str);
            freeReplyObject(r);
        }
        for (int i = 0; i < 2; i++) {
            if (!active[i]) continue;
            freeReplyObject(redisCommand(c[i], "MULTI"));
            freeReplyObject(redisCommand(c[i], "SET counter %lld", v[i] + 1));
            redisReply *r = redisCommand(c[i], "EXEC");
            if (r->type == REDIS_REPLY_ARRAY)
                done[i]++;
            else
                retries++;
            freeReplyObject(r);
        }
    }
    EXPECT(c[0], "\"400\"", "GET counter");
    ASSERT(retries > 0);
    redisFree(c[0]);
    redisFree(c[1]);
}

/* Commands run by EXEC are counted under their own name in INFO commandstats. */
static long long incr_calls(redisContext *c) {
    redisReply *r = redisCommand(c, "INFO commandstats");
    long long calls = -1;
    const char *p =
        r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_incr:calls=") : NULL;
    if (p)
        calls = atoll(p + strlen("cmdstat_incr:calls="));
    else if (r && r->type == REDIS_REPLY_STRING)
        calls = 0;
    freeReplyObject(r);
    return calls;
}

TEST(exec_counts_queued_commands) {
    redisContext *c = fresh();
    long long before = incr_calls(c);
    ASSERT(before >= 0);
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "INCR stats:x");
    EXPECT(c, "+QUEUED", "INCR stats:x");
    EXPECT(c, "[1,2]", "EXEC");
    ASSERT_EQ(before + 2, incr_calls(c));
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(multi_exec_basic);
    RUN(runtime_errors_do_not_abort);
    RUN(queue_errors_abort);
    RUN(select_inside_multi);
    RUN(watch_broken_by_other_client);
    RUN(watch_and_expiry);
    RUN(watch_and_flush_swapdb);
    RUN(exec_nulls_resp2_resp3);
    RUN(watch_race_counter);
    RUN(exec_counts_queued_commands);
    it_stop();
    return test_report();
}
