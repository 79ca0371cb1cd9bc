/* Integration tests for issue 20 (hardening), each probing as an attacker or a careless
 * client would: binary values under the float commands, extreme deadlines and offsets
 * (undefined behaviour under UBSan before), Redis 8's GETRANGE and SCAN TYPE, and memory
 * that stays bounded whatever a client pipelines without reading its replies (a flood of
 * HGETALLs, HRANDFIELD with a huge negative count, a single reply past the output limit),
 * while another client's PING keeps being answered within a second. */
#include "integration/harness.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define IT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IT_ASAN 1
#endif
#endif
#ifndef IT_ASAN
#define IT_ASAN 0
#endif

#define MB (1024LL * 1024)
#define HASH_FIELDS 50000

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's resident set (kB) from /proc; -1 when unknown (TEST_SERVER). */
static long long server_rss_kb(void) {
    if (it_srv.pid == 0) return -1;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)it_srv.pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* A hash of HASH_FIELDS fields "field:NNNNN" -> "value:NNNNN" (an HGETALL of it is about
 * 1.8 MB of reply). */
static int fill_hash(redisContext *c, const char *key) {
    enum { BATCH = 1000 };
    static char names[2 * BATCH][16];
    const char *argv[2 + 2 * BATCH];
    size_t lens[2 + 2 * BATCH];
    argv[0] = "HSET";
    lens[0] = 4;
    argv[1] = key;
    lens[1] = strlen(key);
    for (int base = 0; base < HASH_FIELDS; base += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            snprintf(names[2 * i], sizeof(names[0]), "field:%05d", base + i);
            snprintf(names[2 * i + 1], sizeof(names[0]), "value:%05d", base + i);
            argv[2 + 2 * i] = names[2 * i];
            argv[3 + 2 * i] = names[2 * i + 1];
            lens[2 + 2 * i] = lens[3 + 2 * i] = strlen(names[2 * i]);
        }
        redisReply *r = redisCommandArgv(c, 2 + 2 * BATCH, argv, lens);
        int ok = r && r->type == REDIS_REPLY_INTEGER;
        freeReplyObject(r);
        if (!ok) return 0;
    }
    return 1;
}

/* Watches the server for about ms: PINGs from c every 20 ms. Returns the slowest PING's
 * latency in ms (or -1 if one failed) and the highest RSS seen in *peak_kb. */
static long long watch_server(redisContext *c, int ms, long long *peak_kb) {
    long long worst = 0, end = now_ms() + ms;
    while (now_ms() < end) {
        long long t0 = now_ms();
        redisReply *r = redisCommand(c, "PING");
        long long took = now_ms() - t0;
        int ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok) return -1;
        if (took > worst) worst = took;
        long long rss = server_rss_kb();
        if (rss > *peak_kb) *peak_kb = rss;
        it_sleep_ms(20);
    }
    return worst;
}

/* The omem of the client named name in CLIENT LIST, or -1. */
static long long client_omem(redisContext *c, const char *name) {
    redisReply *r = redisCommand(c, "CLIENT LIST");
    long long omem = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        char pat[64];
        snprintf(pat, sizeof(pat), " name=%s ", name);
        const char *line = strstr(r->str, pat);
        const char *om = line ? strstr(line, " omem=") : NULL;
        if (om) omem = atoll(om + 6);
    }
    freeReplyObject(r);
    return omem;
}

TEST(float_commands_check_whole_argument) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "SET %s %b", "s", "1\0abc", (size_t)5);
    EXPECT(c, "-ERR value is not a valid float", "INCRBYFLOAT s 1");
    EXPECT(c, "\"1\\x00abc\"", "GET s");
    EXPECT(c, "+OK", "SET n 1");
    EXPECT(c, "-ERR value is not a valid float", "INCRBYFLOAT n %b", "1\0zz", (size_t)4);
    EXPECT(c, "\"1\"", "GET n");
    EXPECT(c, "1", "HSET h f %b", "\0", (size_t)1);
    EXPECT(c, "-ERR hash value is not a float", "HINCRBYFLOAT h f 1");
    EXPECT(c, "\"\\x00\"", "HGET h f");
    EXPECT(c, "1", "HSET h g 1");
    EXPECT(c, "-ERR value is not a valid float", "HINCRBYFLOAT h g %b", "1\0zz", (size_t)4);
    EXPECT(c, "1", "HSET h t %b", "2.5\0", (size_t)4);
    EXPECT(c, "-ERR hash value is not a float", "HINCRBYFLOAT h t 1");
    EXPECT(c, "\"3.5\"", "HINCRBYFLOAT h g 2.5");
    /* The integer parsers already took the whole length; they stay that way. */
    EXPECT(c, "-ERR value is not an integer or out of range", "INCRBY n %b", "1\0", (size_t)2);
    EXPECT(c, "-ERR value is not an integer or out of range", "EXPIRE n %b", "10\0", (size_t)3);
    EXPECT(c, "-ERR value is not a valid float", "DEBUG SLEEP %b", "0\0", (size_t)2);
    redisFree(c);
}

TEST(redis8_getrange_and_scan_type) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "SET one v");
    EXPECT(c, "\"\"", "GETRANGE one 0 -2");
    EXPECT(c, "\"v\"", "GETRANGE one 0 -1");
    EXPECT(c, "\"v\"", "GETRANGE one -5 0");
    EXPECT(c, "+OK", "SET k hello");
    EXPECT(c, "\"\"", "GETRANGE k 0 -6");
    EXPECT(c, "\"h\"", "GETRANGE k 0 -5");
    EXPECT(c, "\"\"", "GETRANGE k 5 10");
    EXPECT(c, "\"hello\"", "GETRANGE k -100 100");
    EXPECT(c, "\"\"", "GETRANGE k -9223372036854775808 -9223372036854775808");
    EXPECT(c, "\"hello\"", "GETRANGE k -9223372036854775808 9223372036854775807");
    EXPECT(c, "-ERR unknown type name 'none'", "SCAN 0 TYPE none");
    EXPECT(c, "-ERR unknown type name 'nosuch'", "SCAN 0 TYPE nosuch");
    EXPECT(c, "-ERR NOVALUES option can only be used in HSCAN", "SCAN 0 NOVALUES");
    EXPECT(c, "[\"0\",[]]", "SCAN 0 TYPE StReAm COUNT 1000");
    redisFree(c);
}

TEST(extreme_deadlines_and_offsets) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "SET k v PXAT 9223372036854775807");
    EXPECT(c, "9223372036854775807", "PEXPIRETIME k");
    EXPECT(c, "9223372036854776", "EXPIRETIME k"); /* as Redis: rounded */
    long long ttl = it_int(c, "TTL k");
    ASSERT(ttl > 9223370000000000LL && ttl < 9223372036854776LL);
    EXPECT(c, "-ERR invalid expire time in 'expire' command", "EXPIRE k 9223372036854775807");
    EXPECT(c, "-ERR invalid expire time in 'set' command", "SET k v EX 9223372036854775807");
    EXPECT(c, "-ERR invalid expire time in 'getex' command", "GETEX k EXAT 9223372036854775807");
    EXPECT(c, "1", "HSET hx f v");
    EXPECT(c, "-ERR invalid expire time in 'hexpire' command",
           "HEXPIRE hx 9223372036854775807 FIELDS 1 f");
    EXPECT(c, "-ERR invalid expire time in 'hsetex' command",
           "HSETEX hx PXAT 9223372036854775807 FIELDS 1 f v");
    EXPECT(c, "-ERR sleep time is out of range", "DEBUG SLEEP 1e300");
    EXPECT(c, "-ERR sleep time is out of range", "DEBUG SLEEP inf");
    EXPECT(c, "+OK", "DEBUG SLEEP -1e300");
    EXPECT(c, "-ERR clock offset is out of range", "DEBUG CLOCK-OFFSET 9223372036854775807");
    EXPECT(c, "-ERR clock offset is out of range", "DEBUG CLOCK-OFFSET -9223372036854775808");
    EXPECT(c, "0", "DEBUG CLOCK-OFFSET");
    /* A large offset that is accepted moves every deadline without overflow. */
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 31536000000000"); /* a thousand years */
    EXPECT(c, "+OK", "SET t v EX 100");
    ASSERT(it_int(c, "PEXPIRETIME t") > 31536000000000LL);
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 0");
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
}

/* 400 HGETALLs of a 1.8 MB reply each (720 MB) in one write, never read: the server
 * pauses the client at its output threshold instead of building them all, so its memory
 * stays under the configured hard limit (64 MB) plus a margin, and other clients are
 * served. Reading then resumes it. */
TEST(pipelined_hgetall_is_bounded) {
    redisContext *c = it_client();
    ASSERT(fill_hash(c, "big"));
    long long base = server_rss_kb(), peak = base;
    int fd = it_raw_connect();
    it_raw_send_str(fd, "CLIENT SETNAME flood\r\n");
    char ok[8];
    ASSERT_EQ(5, it_raw_read(fd, ok, 5, 5000));
    static char cmds[400 * 13];
    for (int i = 0; i < 400; i++)
        memcpy(cmds + i * 13, "HGETALL big\r\n", 13);
    it_raw_send(fd, cmds, sizeof(cmds));
    long long worst = watch_server(c, 1500, &peak);
    ASSERT(worst >= 0);
    if (worst >= 1000) TEST_FAIL("PING took %lld ms while a client flooded", worst);
    long long omem = client_omem(c, "flood");
    fprintf(stderr, "pipelined HGETALL: slowest PING %lld ms, RSS +%lld kB, flood omem %lld\n",
            worst, peak - base, omem);
    if (omem < 0 || omem > 64 * MB) TEST_FAIL("the flooding client holds omem=%lld", omem);
    /* Its resident growth: the replies it holds plus the socket's share, not 720 MB
     * (ASan's quarantine keeps freed blocks resident: checked without it only). */
    if (!IT_ASAN && base > 0 && peak - base > (64 + 16) * 1024)
        TEST_FAIL("server RSS grew by %lld kB (from %lld kB)", peak - base, base);
    /* Reading resumes it: far more than the pause threshold arrives. */
    static char sink[1 << 20];
    long long got = 0, until = now_ms() + 20000;
    while (got < 40 * MB && now_ms() < until) {
        size_t n = it_raw_read(fd, sink, sizeof(sink), 2000);
        if (n == 0) break;
        got += (long long)n;
    }
    ASSERT(got >= 40 * MB);
    close(fd);
    EXPECT(c, "100000", "EVAL %s 1 big", "return #redis.call('HGETALL', KEYS[1])");
    redisFree(c);
}

/* HRANDFIELD with a count of -2^31 is 2^31 draws (gigabytes): streamed as the client
 * reads, so memory stays bounded and others are served; the reply is well formed. */
TEST(hrandfield_huge_negative_count_streams) {
    redisContext *c = it_client();
    EXPECT(c, "3", "HSET r a 1 b 2 c 3");
    long long base = server_rss_kb(), peak = base;
    int fd = it_raw_connect();
    it_raw_send_str(fd, "CLIENT SETNAME rnd\r\nHRANDFIELD r -2147483648\r\n");
    char head[32];
    ASSERT_EQ(5 + 13, it_raw_read(fd, head, 5 + 13, 5000));
    ASSERT(memcmp(head, "+OK\r\n*2147483648\r\n", 18) == 0);
    long long worst = watch_server(c, 1000, &peak);
    ASSERT(worst >= 0);
    if (worst >= 1000) TEST_FAIL("PING took %lld ms during HRANDFIELD", worst);
    long long omem = client_omem(c, "rnd");
    fprintf(stderr, "HRANDFIELD -2^31: slowest PING %lld ms, RSS +%lld kB, omem %lld\n", worst,
            peak - base, omem);
    if (omem < 0 || omem > 16 * MB) TEST_FAIL("the HRANDFIELD client holds omem=%lld", omem);
    if (!IT_ASAN && base > 0 && peak - base > 48 * 1024)
        TEST_FAIL("server RSS grew by %lld kB (from %lld kB)", peak - base, base);
    /* The draws keep coming as they are read: each is "$1\r\nX\r\n" with X in a, b, c. */
    static char sink[7 * 4096];
    for (int round = 0; round < 200; round++) {
        ASSERT_EQ(sizeof(sink), it_raw_read(fd, sink, sizeof(sink), 5000));
        for (size_t i = 0; i < sizeof(sink); i += 7)
            ASSERT(memcmp(sink + i, "$1\r\n", 4) == 0 && sink[i + 4] >= 'a' && sink[i + 4] <= 'c' &&
                   memcmp(sink + i + 5, "\r\n", 2) == 0);
    }
    close(fd);
    EXPECT(c, "+PONG", "PING");
    /* Within a transaction it is built whole, up to the output limit, then dropped: the
     * client is closed (as Redis), the server goes on. */
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "normal 4mb 0 0");
    fd = it_raw_connect();
    it_raw_send_str(fd, "MULTI\r\nHRANDFIELD r -2147483648 WITHVALUES\r\nEXEC\r\n");
    ASSERT(it_raw_closed(fd, 20000));
    close(fd);
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "normal 0 0 0");
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
}

/* One reply past the hard limit (an HGETALL, an HSCAN with a huge COUNT, the same big
 * field asked for many times): the client is closed and memory is not spent building it.
 * (A streamed reply, HRANDFIELD with a huge negative count, is not: it is made as fast as
 * the client reads it, so its pending output stays small.) */
TEST(single_huge_reply_hits_the_limit) {
    redisContext *c = it_client();
    static char value[256 * 1024];
    memset(value, 'x', sizeof(value));
    EXPECT(c, "1", "HSET fat f %b", value, sizeof(value));
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "normal 1mb 0 0");
    static const char *const cmds[] = {"HGETALL big\r\n", "HSCAN big 0 COUNT 1000000000\r\n",
                                       "HMGET fat f f f f f f f f\r\n"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int fd = it_raw_connect();
        it_raw_send_str(fd, cmds[i]);
        if (!it_raw_closed(fd, 20000)) TEST_FAIL("not closed after %s", cmds[i]);
        close(fd);
    }
    /* A reply under the limit is still answered. */
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "HGET big field:00007\r\n", "$11\r\nvalue:00007\r\n");
    close(fd);
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "normal 0 0 0");
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
}

int main(void) {
    const char *args[] = {"--client-output-buffer-limit", "normal 64mb 32mb 10", NULL};
    it_start(args);
    RUN(float_commands_check_whole_argument);
    RUN(redis8_getrange_and_scan_type);
    RUN(extreme_deadlines_and_offsets);
    RUN(pipelined_hgetall_is_bounded);
    RUN(hrandfield_huge_negative_count_streams);
    RUN(single_huge_reply_hits_the_limit);
    it_stop();
    return test_report();
}
