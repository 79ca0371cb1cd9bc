/* Integration tests: client-side caching (issue 19): CLIENT TRACKING in its modes, the
 * RESP3 invalidate push and the RESP2 __redis__:invalidate channel with REDIRECT,
 * invalidation on writes, lazy and active field expiry, FLUSHALL and the table limit, and
 * the CLIENT / INFO views. RESP3 clients are raw sockets checked byte for byte; expiry is
 * driven with DEBUG CLOCK-OFFSET and DEBUG SET-ACTIVE-EXPIRE, never by sleeping. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Reads and discards one reply (HELLO's), waiting for it at most 5 s. */
static void drain(int fd) {
    char tmp[8192];
    it_raw_read_reply(fd, tmp, sizeof(tmp), 5000);
}

/* A raw RESP3 connection. */
static int resp3(void) {
    int fd = it_raw_connect();
    it_raw_send_str(fd, "HELLO 3\r\n");
    drain(fd);
    return fd;
}

/* The next reply of a RESP2 redirect target, rendered, or "(timeout)". */
static const char *next_msg(redisContext *c, int timeout_ms) {
    static char out[1024];
    redisSetTimeout(c, (struct timeval){timeout_ms / 1000, (timeout_ms % 1000) * 1000});
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return "(timeout)";
    it_render(r, out, sizeof(out));
    freeReplyObject(r);
    return out;
}

#define EXPECT_MSG(c, expected)                                                                    \
    do {                                                                                           \
        const char *got_ = next_msg((c), 2000);                                                    \
        if (strcmp(got_, (expected)) != 0)                                                         \
            TEST_FAIL("message: expected %s, got %s", (expected), got_);                           \
    } while (0)

#define INV(k) ">2\r\n$10\r\ninvalidate\r\n*1\r\n$" #k "\r\n"

TEST(option_errors) {
    redisContext *c = it_client();
    EXPECT(c, "-1", "CLIENT GETREDIR");
    EXPECT(c, "-ERR syntax error", "CLIENT TRACKING maybe");
    EXPECT(c, "-ERR syntax error", "CLIENT TRACKING on FOO");
    EXPECT(c, "-ERR PREFIX option requires BCAST mode to be enabled",
           "CLIENT TRACKING on PREFIX a");
    EXPECT(c, "-ERR OPTIN and OPTOUT are not compatible with BCAST",
           "CLIENT TRACKING on BCAST OPTIN");
    EXPECT(c, "-ERR You can't specify both OPTIN mode and OPTOUT mode",
           "CLIENT TRACKING on OPTIN OPTOUT");
    EXPECT(c, "-ERR The client ID you want redirect to does not exist",
           "CLIENT TRACKING on REDIRECT 987654");
    EXPECT(c, "-ERR value is not an integer or out of range", "CLIENT TRACKING on REDIRECT x");
    char line[128];
    long long me = it_int(c, "CLIENT ID");
    snprintf(line, sizeof(line), "CLIENT TRACKING on REDIRECT %lld REDIRECT %lld", me, me);
    EXPECT(c, "-ERR A client can only redirect to a single other client", line);
    EXPECT(c,
           "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single "
           "client must not overlap.",
           "CLIENT TRACKING on BCAST PREFIX ab PREFIX a");
    EXPECT(c,
           "-ERR CLIENT CACHING can be called only when the client is in tracking mode with "
           "OPTIN or OPTOUT mode enabled",
           "CLIENT CACHING yes");
    EXPECT(c, "+OK", "CLIENT TRACKING on OPTIN");
    EXPECT(c, "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
           "CLIENT CACHING no");
    EXPECT(c, "-ERR syntax error", "CLIENT CACHING maybe");
    EXPECT(c,
           "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
           "and then re-enabling it with a different mode.",
           "CLIENT TRACKING on OPTOUT");
    EXPECT(c,
           "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
           "and then re-enabling it with a different mode.",
           "CLIENT TRACKING on BCAST");
    EXPECT(c, "[\"flags\",[\"on\",\"optin\"],\"redirect\",0,\"prefixes\",[]]",
           "CLIENT TRACKINGINFO");
    EXPECT(c, "+OK", "CLIENT CACHING yes");
    EXPECT(c, "[\"flags\",[\"on\",\"optin\",\"caching-yes\"],\"redirect\",0,\"prefixes\",[]]",
           "CLIENT TRACKINGINFO");
    EXPECT(c, "0", "CLIENT GETREDIR");
    EXPECT(c, "+OK", "CLIENT TRACKING off");
    EXPECT(c, "+OK", "CLIENT TRACKING on BCAST PREFIX b PREFIX a NOLOOP");
    EXPECT(c,
           "-ERR Prefix 'ax' overlaps with an existing prefix 'a'. Prefixes for a single client "
           "must not overlap.",
           "CLIENT TRACKING on BCAST PREFIX ax");
    EXPECT(c, "[\"flags\",[\"on\",\"bcast\",\"noloop\"],\"redirect\",0,\"prefixes\",[\"a\",\"b\"]]",
           "CLIENT TRACKINGINFO");
    const char *info = it_run(c, "CLIENT INFO");
    if (!strstr(info, "flags=tB ") || !strstr(info, " redir=0 "))
        TEST_FAIL("CLIENT INFO: %s", info);
    EXPECT(c, "+OK", "CLIENT TRACKING off");
    EXPECT(c, "[\"flags\",[\"off\"],\"redirect\",-1,\"prefixes\",[]]", "CLIENT TRACKINGINFO");
    info = it_run(c, "CLIENT INFO");
    if (!strstr(info, "flags=N ") || !strstr(info, " redir=-1 "))
        TEST_FAIL("CLIENT INFO: %s", info);
    /* RESET turns tracking off. */
    EXPECT(c, "+OK", "CLIENT TRACKING on OPTOUT");
    EXPECT(c, "+RESET", "RESET");
    EXPECT(c, "[\"flags\",[\"off\"],\"redirect\",-1,\"prefixes\",[]]", "CLIENT TRACKINGINFO");
    redisFree(c);
}

TEST(resp3_invalidate_on_write_once) {
    redisContext *w = it_client();
    int fd = resp3();
    EXPECT_RAW(fd, "CLIENT TRACKING on\r\n", "+OK\r\n");
    EXPECT(w, "+OK", "SET k1 v");
    EXPECT_RAW(fd, "GET k1\r\n", "$1\r\nv\r\n");
    EXPECT(w, "+OK", "SET k1 w");
    EXPECT_RAW(fd, "", INV(2) "k1\r\n");
    /* Forgotten after one message until read again. */
    EXPECT(w, "+OK", "SET k1 x");
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    /* Its own write: the reply first, then the push. */
    EXPECT_RAW(fd, "GET k1\r\n", "$1\r\nx\r\n");
    EXPECT_RAW(fd, "SET k1 y\r\n", "+OK\r\n" INV(2) "k1\r\n");
    /* NOLOOP: not told of its own change, told of others'. */
    EXPECT_RAW(fd, "CLIENT TRACKING on NOLOOP\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "MGET k1 k2\r\n", "*2\r\n$1\r\ny\r\n_\r\n");
    EXPECT_RAW(fd, "SET k1 z\r\n", "+OK\r\n");
    EXPECT(w, "+OK", "SET k2 z");
    EXPECT_RAW(fd, "", INV(2) "k2\r\n");
    /* Scripts: the keys their commands read are tracked for the caller; the keys a
     * read-only script declares but does not read are not. */
    EXPECT_RAW(fd, "EVAL \"return redis.call('get',KEYS[1])\" 1 sk\r\n", "_\r\n");
    EXPECT_RAW(fd, "EVAL_RO \"return 1\" 1 nk\r\n", ":1\r\n");
    EXPECT(w, "+OK", "SET nk 1");
    EXPECT(w, "+OK", "SET sk 1");
    EXPECT_RAW(fd, "", INV(2) "sk\r\n");
    EXPECT_RAW(fd, "CLIENT TRACKING off\r\n", "+OK\r\n");
    close(fd);
    redisFree(w);
}

/* An invalidation for a client that sends nothing may wait one loop turn for a reply to go
 * with, but not for the next event: with hz 1 (a cron tick a second, nothing else to wake
 * the loop) it must still arrive at once, not at the next tick. */
TEST(idle_client_invalidated_at_once) {
    redisContext *w = it_client();
    EXPECT(w, "+OK", "CONFIG SET hz 1");
    int fd = resp3();
    EXPECT_RAW(fd, "CLIENT TRACKING on\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET idle\r\n", "_\r\n");
    it_sleep_ms(50); /* past the turn of the GET */
    EXPECT(w, "+OK", "SET idle 1");
    char got[256];
    size_t n = it_raw_read_all(fd, got, sizeof(got) - 1, 300);
    got[n] = '\0';
    ASSERT_STR_EQ(INV(4) "idle\r\n", got);
    EXPECT(w, "+OK", "CONFIG SET hz 10");
    close(fd);
    redisFree(w);
}

TEST(resp2_redirect_and_resp3_on_field_expiry_and_flush) {
    redisContext *w = it_client();
    redisContext *r = it_client(); /* RESP2 target: subscribed to the channel */
    redisContext *t = it_client(); /* RESP2 tracking client redirecting to r */
    long long rid = it_int(r, "CLIENT ID");
    EXPECT(r, "[\"subscribe\",\"__redis__:invalidate\",1]", "SUBSCRIBE __redis__:invalidate");
    char cmdline[128];
    snprintf(cmdline, sizeof(cmdline), "CLIENT TRACKING on REDIRECT %lld", rid);
    EXPECT(t, "+OK", cmdline);
    char rid_s[32];
    snprintf(rid_s, sizeof(rid_s), "%lld", rid);
    EXPECT(t, rid_s, "CLIENT GETREDIR");
    int fd = resp3();
    EXPECT_RAW(fd, "CLIENT TRACKING on\r\n", "+OK\r\n");
    EXPECT(w, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(w, "3", "HSET hx a 1 b 2 c 3");
    /* A write by another client tells both. */
    EXPECT(t, "\"1\"", "HGET hx a");
    EXPECT_RAW(fd, "HGET hx a\r\n", "$1\r\n1\r\n");
    EXPECT(w, "0", "HSET hx a 1");
    EXPECT_MSG(r, "[\"message\",\"__redis__:invalidate\",[\"hx\"]]");
    EXPECT_RAW(fd, "", INV(2) "hx\r\n");
    EXPECT(w, "[1]", "HPEXPIRE hx 500 FIELDS 1 a");
    EXPECT(t, "\"2\"", "HGET hx b");
    EXPECT_RAW(fd, "HGET hx b\r\n", "$1\r\n2\r\n");
    /* Lazy: the read that reaps field a changes hx for both. */
    EXPECT(w, "+OK", "DEBUG CLOCK-OFFSET 1000");
    EXPECT(w, "2", "HLEN hx");
    EXPECT_MSG(r, "[\"message\",\"__redis__:invalidate\",[\"hx\"]]");
    EXPECT_RAW(fd, "", INV(2) "hx\r\n");
    EXPECT(w, "+OK", "DEBUG CLOCK-OFFSET 0");
    /* Active: the cycle reaps field b. */
    EXPECT(t, "\"3\"", "HGET hx c");
    EXPECT_RAW(fd, "HGET hx c\r\n", "$1\r\n3\r\n");
    EXPECT(w, "[1]", "HPEXPIRE hx 500 FIELDS 1 b");
    EXPECT_MSG(r, "[\"message\",\"__redis__:invalidate\",[\"hx\"]]");
    EXPECT_RAW(fd, "", INV(2) "hx\r\n");
    EXPECT(t, "\"3\"", "HGET hx c");
    EXPECT_RAW(fd, "HGET hx c\r\n", "$1\r\n3\r\n");
    EXPECT(w, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT(w, "+OK", "DEBUG CLOCK-OFFSET 1000");
    EXPECT_MSG(r, "[\"message\",\"__redis__:invalidate\",[\"hx\"]]");
    EXPECT_RAW(fd, "", INV(2) "hx\r\n");
    EXPECT(w, "+OK", "DEBUG CLOCK-OFFSET 0");
    EXPECT(w, "1", "HLEN hx");
    /* FLUSHALL: one null for every tracking client. */
    EXPECT(w, "+OK", "FLUSHALL");
    EXPECT_MSG(r, "[\"message\",\"__redis__:invalidate\",nil]");
    EXPECT_RAW(fd, "", ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    EXPECT(w, "+OK", "FLUSHDB");
    EXPECT_MSG(r, "[\"message\",\"__redis__:invalidate\",nil]");
    EXPECT_RAW(fd, "PING\r\n", ">2\r\n$10\r\ninvalidate\r\n_\r\n+PONG\r\n");
    const char *info = it_run(w, "INFO clients");
    if (!strstr(info, "tracking_clients:2\\r\\n")) TEST_FAIL("INFO clients: %s", info);
    /* The target leaves: RESP2 tracking sessions only get the flag. */
    redisFree(r);
    EXPECT(t, "nil", "HGET hx c"); /* flushed; reads of missing keys are tracked too */
    EXPECT_RAW(fd, "HGET hx c\r\n", "_\r\n");
    EXPECT(w, "1", "HSET hx c 4");
    char want[160];
    snprintf(want, sizeof(want),
             "[\"flags\",[\"on\",\"broken_redirect\"],\"redirect\",%lld,\"prefixes\",[]]", rid);
    EXPECT(t, want, "CLIENT TRACKINGINFO");
    EXPECT_RAW(fd, "", INV(2) "hx\r\n");
    close(fd);
    redisFree(t);
    redisFree(w);
}

TEST(bcast_batches_per_prefix) {
    redisContext *w = it_client();
    int fd = resp3();
    EXPECT_RAW(fd, "CLIENT TRACKING on BCAST PREFIX user: PREFIX job:\r\n", "+OK\r\n");
    /* One transaction, one loop turn: one sorted batch per prefix. */
    EXPECT(w, "+OK", "MULTI");
    EXPECT(w, "+QUEUED", "SET user:2 a");
    EXPECT(w, "+QUEUED", "SET other b");
    EXPECT(w, "+QUEUED", "SET user:1 c");
    EXPECT(w, "+QUEUED", "SET job:9 d");
    EXPECT(w, "+QUEUED", "SET user:2 e");
    EXPECT(w, "[+OK,+OK,+OK,+OK,+OK]", "EXEC");
    EXPECT_RAW(fd, "",
               ">2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\njob:9\r\n"
               ">2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:1\r\n$6\r\nuser:2\r\n");
    EXPECT(w, "+OK", "SET other c");
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    const char *info = it_run(w, "INFO stats");
    if (!strstr(info, "tracking_total_prefixes:2\\r\\n")) TEST_FAIL("INFO stats: %s", info);
    EXPECT_RAW(fd, "CLIENT TRACKING off\r\n", "+OK\r\n");
    info = it_run(w, "INFO stats");
    if (!strstr(info, "tracking_total_prefixes:0\\r\\n")) TEST_FAIL("INFO stats: %s", info);
    close(fd);
    redisFree(w);
}

TEST(optin_optout) {
    redisContext *w = it_client();
    int fd = resp3();
    EXPECT(w, "+OK", "MSET o1 a o2 b");
    EXPECT_RAW(fd, "CLIENT TRACKING on OPTIN\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET o1\r\n", "$1\r\na\r\n"); /* not tracked */
    EXPECT_RAW(fd, "CLIENT CACHING yes\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET o2\r\n", "$1\r\nb\r\n"); /* tracked; CACHING is spent */
    EXPECT_RAW(fd, "GET o1\r\n", "$1\r\na\r\n");
    EXPECT(w, "+OK", "MSET o1 c o2 d");
    EXPECT_RAW(fd, "PING\r\n", INV(2) "o2\r\n+PONG\r\n");
    EXPECT_RAW(fd, "CLIENT TRACKING off\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "CLIENT TRACKING on OPTOUT\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "CLIENT CACHING no\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET o1\r\n", "$1\r\nc\r\n"); /* not tracked */
    EXPECT_RAW(fd, "GET o2\r\n", "$1\r\nd\r\n"); /* tracked */
    EXPECT(w, "+OK", "MSET o1 e o2 f");
    EXPECT_RAW(fd, "PING\r\n", INV(2) "o2\r\n+PONG\r\n");
    close(fd);
    redisFree(w);
}

TEST(table_limit_and_info) {
    redisContext *w = it_client();
    EXPECT(w, "+OK", "FLUSHALL");
    int fd = resp3();
    EXPECT_RAW(fd, "CLIENT TRACKING on\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "MGET t1 t2\r\n", "*2\r\n_\r\n_\r\n");
    const char *info = it_run(w, "INFO stats");
    if (!strstr(info, "tracking_total_keys:2\\r\\n") ||
        !strstr(info, "tracking_total_items:2\\r\\n"))
        TEST_FAIL("INFO stats: %s", info);
    EXPECT(w, "+OK", "CONFIG SET tracking-table-max-keys 1");
    EXPECT(w, "[\"tracking-table-max-keys\",\"1\"]", "CONFIG GET tracking-table-max-keys");
    /* The next loop turn forgets one key, telling its reader. */
    char got[256];
    size_t n = it_raw_read(fd, got, strlen(INV(2) "t1\r\n"), 2000);
    got[n] = '\0';
    if (strcmp(got, INV(2) "t1\r\n") != 0 && strcmp(got, INV(2) "t2\r\n") != 0)
        TEST_FAIL("table limit: %s", got);
    info = it_run(w, "INFO stats");
    if (!strstr(info, "tracking_total_keys:1\\r\\n")) TEST_FAIL("INFO stats: %s", info);
    EXPECT(w, "+OK", "CONFIG SET tracking-table-max-keys 1000000");
    close(fd);
    redisFree(w);
}

TEST(eviction_invalidates) {
    redisContext *w = it_client();
    EXPECT(w, "+OK", "FLUSHALL");
    EXPECT(w, "+OK", "SET ev v");
    int fd = resp3();
    EXPECT_RAW(fd, "CLIENT TRACKING on\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "GET ev\r\n", "$1\r\nv\r\n");
    EXPECT(w, "+OK", "CONFIG SET maxmemory-policy allkeys-random");
    EXPECT(w, "+OK", "CONFIG SET maxmemory 1");
    redisReply *r = redisCommand(w, "SET other x"); /* evicts ev (and may be refused) */
    freeReplyObject(r);
    EXPECT(w, "+OK", "CONFIG SET maxmemory 0");
    EXPECT(w, "+OK", "CONFIG SET maxmemory-policy noeviction");
    EXPECT(w, "0", "EXISTS ev");
    EXPECT_RAW(fd, "", INV(2) "ev\r\n");
    close(fd);
    redisFree(w);
}

int main(void) {
    it_start(NULL);
    RUN(option_errors);
    RUN(resp3_invalidate_on_write_once);
    RUN(idle_client_invalidated_at_once);
    RUN(resp2_redirect_and_resp3_on_field_expiry_and_flush);
    RUN(bcast_batches_per_prefix);
    RUN(optin_optout);
    RUN(table_limit_and_info);
    RUN(eviction_invalidates);
    it_stop();
    return test_report();
}
