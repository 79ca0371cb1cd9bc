/* Integration tests: CLIENT PAUSE / UNPAUSE (issue 19), after Redis's unit/pause: WRITE
 * postpones write and may-replicate commands (PUBLISH, EVAL, an EXEC with a write) while
 * reads, read-only scripts and read-only transactions run; ALL postpones everything until
 * the deadline; postponed clients show in INFO blocked_clients and CLIENT LIST (flag b),
 * run in order once released, and syntax errors are answered at once; a shorter or weaker
 * pause keeps the longer, stronger one; nothing expires while writes are paused (lookups
 * hide due keys). Deadlines are moved with DEBUG CLOCK-OFFSET. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Reads whatever fd has within ms; returns it ("" when nothing came). */
static const char *raw_got(int fd, int ms) {
    static char out[4096];
    size_t n = it_raw_read_all(fd, out, sizeof(out) - 1, ms);
    out[n] = '\0';
    return out;
}

/* Waits (bounded) until INFO blocked_clients is n. */
static int wait_blocked(redisContext *c, long long n) {
    for (int i = 0; i < 100; i++) {
        if (it_info_field(c, "blocked_clients") == n) return 1;
        it_sleep_ms(20);
    }
    return 0;
}

TEST(write_pause_postpones_writes_only) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "SET foo 1");
    EXPECT(c, "+OK", "CLIENT PAUSE 100000 WRITE");
    /* Reads, read-only scripts and read-only transactions run. */
    EXPECT(c, "\"1\"", "GET foo");
    EXPECT(c, "1", "EVAL_RO %s 0", "return 1");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "GET foo");
    EXPECT(c, "[\"1\"]", "EXEC");
    /* A syntax error is answered at once. */
    EXPECT(c, "-ERR wrong number of arguments for 'set' command", "SET foo");
    if (it_info_field(c, "blocked_clients") != 0) TEST_FAIL("blocked before any write");
    /* Writes, PUBLISH and EVAL wait, in order per client. */
    int w = it_raw_connect();
    it_raw_send_str(w, "SET foo 2\r\nGET foo\r\n");
    int p = it_raw_connect();
    it_raw_send_str(p, "PUBLISH ch hi\r\n");
    int e = it_raw_connect();
    it_raw_send_str(e, "EVAL \"return 7\" 0\r\n");
    if (!wait_blocked(c, 3)) TEST_FAIL("blocked_clients never 3");
    if (*raw_got(w, 100)) TEST_FAIL("a paused write answered");
    const char *list = it_run(c, "CLIENT LIST");
    if (!strstr(list, "flags=b ") || !strstr(list, "cmd=set")) TEST_FAIL("CLIENT LIST: %s", list);
    EXPECT(c, "\"1\"", "GET foo");
    EXPECT(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_RAW(w, "", "+OK\r\n$1\r\n2\r\n");
    EXPECT_RAW(p, "", ":0\r\n");
    EXPECT_RAW(e, "", ":7\r\n");
    if (!wait_blocked(c, 0)) TEST_FAIL("blocked_clients stays");
    /* An EXEC with a queued write waits; the pause began after the queueing. */
    EXPECT_RAW(w, "MULTI\r\nSET foo 3\r\n", "+OK\r\n+QUEUED\r\n");
    EXPECT(c, "+OK", "CLIENT PAUSE 100000 WRITE");
    it_raw_send_str(w, "EXEC\r\n");
    if (!wait_blocked(c, 1)) TEST_FAIL("EXEC not postponed");
    EXPECT(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_RAW(w, "", "*1\r\n+OK\r\n");
    close(w);
    close(p);
    close(e);
    redisFree(c);
}

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(all_pause_keeps_the_longer_stronger_one) {
    redisContext *c = it_client();
    /* ALL for 400 ms, then WRITE for 10 ms: the second waits (ALL holds every command) and
     * does not shorten or weaken the first; a PING from another client waits too. */
    long long start = mono_ms();
    EXPECT(c, "+OK", "CLIENT PAUSE 400 ALL");
    int r = it_raw_connect();
    it_raw_send_str(r, "CLIENT PAUSE 10 WRITE\r\n");
    int g = it_raw_connect();
    it_raw_send_str(g, "PING\r\n");
    if (*raw_got(g, 150)) TEST_FAIL("PING ran under PAUSE ALL");
    EXPECT_RAW(r, "", "+OK\r\n");
    EXPECT_RAW(g, "", "+PONG\r\n");
    long long took = mono_ms() - start;
    if (took < 390 || took > 5000) TEST_FAIL("released after %lld ms", took);
    close(r);
    close(g);
    redisFree(c);
}

TEST(errors_and_no_expiry_while_paused) {
    redisContext *c = it_client();
    EXPECT(c, "-ERR timeout is negative", "CLIENT PAUSE -1");
    EXPECT(c, "-ERR timeout is not an integer or out of range", "CLIENT PAUSE 1.5");
    EXPECT(c, "-ERR CLIENT PAUSE mode must be WRITE or ALL", "CLIENT PAUSE 10 READ");
    EXPECT(c, "-ERR wrong number of arguments for 'client|pause' command", "CLIENT PAUSE");
    EXPECT(c, "+OK", "CLIENT UNPAUSE"); /* no pause: fine */
    long long expired = it_info_field(c, "expired_keys");
    EXPECT(c, "+OK", "SET k v PX 100000");
    EXPECT(c, "2", "HSET h a 1 b 2");
    EXPECT(c, "[1]", "HPEXPIRE h 100000 FIELDS 1 a");
    EXPECT(c, "+OK", "CLIENT PAUSE 1000000 WRITE");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 200000");
    /* Logically gone, but nothing is deleted (no expired_keys, no DEL logged). */
    EXPECT(c, "nil", "GET k");
    EXPECT(c, "[\"b\",\"2\"]", "HGETALL h");
    EXPECT(c, "1", "HLEN h");
    it_sleep_ms(300); /* the active cycle runs meanwhile: it must not expire either */
    if (it_info_field(c, "expired_keys") != expired) TEST_FAIL("a key expired during the pause");
    if (it_info_field(c, "expired_subkeys") != 0) TEST_FAIL("a field expired during the pause");
    EXPECT(c, "+OK", "CLIENT UNPAUSE");
    EXPECT(c, "nil", "GET k");
    EXPECT(c, "1", "HLEN h");
    if (it_info_field(c, "expired_keys") != expired + 1) TEST_FAIL("k not expired after");
    if (it_info_field(c, "expired_subkeys") != 1) TEST_FAIL("field not expired after");
    /* A pause ends at its deadline (the clock moved by DEBUG CLOCK-OFFSET). */
    EXPECT(c, "+OK", "CLIENT PAUSE 5000 WRITE");
    int w = it_raw_connect();
    it_raw_send_str(w, "SET x 1\r\n");
    if (!wait_blocked(c, 1)) TEST_FAIL("SET not postponed");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 300000");
    EXPECT_RAW(w, "", "+OK\r\n");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 0");
    close(w);
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(write_pause_postpones_writes_only);
    RUN(all_pause_keeps_the_longer_stronger_one);
    RUN(errors_and_no_expiry_while_paused);
    it_stop();
    return test_report();
}
