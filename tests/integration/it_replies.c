/* Integration tests: reply details of issue 19 checked against Redis's source. CONFIG GET
 * shows a name without glob characters as the caller wrote it (Redis's configGetCommand
 * adds the argument itself), once however often it is asked; a RESP3 client publishing to
 * a channel it is subscribed to gets the PUBLISH reply first, then the message (Redis 7.2+
 * holds such pushes until the command's reply is written); DEBUG PROTOCOL and DEBUG OBJECT
 * answer as Redis 7.0 does. */
#include "integration/harness.h"

#include <string.h>
#include <unistd.h>

TEST(config_get_echoes_exact_names) {
    redisContext *c = it_client();
    EXPECT(c, "[\"MAXMEMORY\",\"0\"]", "CONFIG GET MAXMEMORY");
    EXPECT(c, "[\"MaxMemory-Policy\",\"noeviction\"]", "CONFIG GET MaxMemory-Policy");
    EXPECT(c, "[\"SLAVE-read-only\",\"yes\"]", "CONFIG GET SLAVE-read-only");
    EXPECT(c, "[\"maxmemory\",\"0\"]", "CONFIG GET maxmemory MAXMEMORY");
    EXPECT(c, "[]", "CONFIG GET NOSUCH-THING");
    /* Patterns list the names as Redis spells them. */
    const char *all = it_run(c, "CONFIG GET MAXMEMORY-P*");
    if (strcmp(all, "[\"maxmemory-policy\",\"noeviction\"]") != 0) TEST_FAIL("pattern: %s", all);
    redisFree(c);
}

TEST(resp3_publish_to_self_reply_first) {
    int fd = it_raw_connect();
    it_raw_send_str(fd, "HELLO 3\r\n");
    char tmp[4096];
    ASSERT(it_raw_read_reply(fd, tmp, sizeof(tmp), 5000) > 0);
    EXPECT_RAW(fd, "SUBSCRIBE ch\r\n", ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    EXPECT_RAW(fd, "PUBLISH ch hi\r\n", ":1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    /* Inside MULTI the messages follow EXEC's whole reply. */
    EXPECT_RAW(
        fd, "MULTI\r\nPUBLISH ch a\r\nPING\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n+PONG\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n"
        "$1\r\na\r\n");
    close(fd);
}

/* Sends req on both connections, then reads each one's whole answer (one reply, waited
 * for at most 5 s: "" if it did not come whole). */
static void raw_ask2(const int fds[2], const char *req, char out[2][1024]) {
    for (int i = 0; i < 2; i++)
        it_raw_send_str(fds[i], req);
    for (int i = 0; i < 2; i++)
        out[i][it_raw_read_reply(fds[i], out[i], 1023, 5000)] = 0;
}

/* DEBUG PROTOCOL answers each type byte for byte as Redis 7.0 does, in RESP2 and RESP3
 * (attribute, push, bignum, verbatim, booleans, map, set...), except the double, which
 * Mayfly writes in the shortest form as Redis 7.2+ ("3.141"; 7.0 printed 17 digits). */
TEST(debug_protocol_as_redis) {
    static const char *const types[] = {"string", "integer", "bignum", "null", "array",
                                        "set",    "map",     "attrib", "push", "verbatim",
                                        "true",   "false",   "nosuch"};
    it_server redis;
    it_start_redis(&redis, NULL);
    int fds[2] = {it_raw_connect_to(&redis), it_raw_connect()};
    for (int proto = 2; proto <= 3; proto++) {
        char out[2][1024], req[64];
        snprintf(req, sizeof(req), "HELLO %d\r\n", proto);
        raw_ask2(fds, req, out);
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            snprintf(req, sizeof(req), "DEBUG PROTOCOL %s\r\n", types[i]);
            raw_ask2(fds, req, out);
            if (out[0][0] == 0 || strcmp(out[0], out[1]) != 0)
                TEST_FAIL("RESP%d %s: Redis %s, Mayfly %s", proto, types[i], out[0], out[1]);
        }
        raw_ask2(fds, "DEBUG PROTOCOL double\r\n", out);
        if (strcmp(out[1], proto == 3 ? ",3.141\r\n" : "$5\r\n3.141\r\n") != 0)
            TEST_FAIL("RESP%d double: %s", proto, out[1]);
    }
    close(fds[0]);
    close(fds[1]);
    it_stop_server(&redis);
}

/* DEBUG OBJECT: Redis's fields in Redis's order, the encoding and serialized length Redis
 * gives for the same values, a key past its TTL (active expiry off) still found as Redis's
 * dbFind finds it (Mayfly only: its clock moves), the same address while INCR changes a number in
 * place, "no such key". */
TEST(debug_object_as_redis) {
    it_server redis;
    it_start_redis(&redis, NULL);
    redisContext *cs[2] = {it_client_to(&redis), it_client()};
    char out[2][4][256];
    for (int i = 0; i < 2; i++) {
        redisContext *c = cs[i];
        it_run(c, "SET n 20000");
        it_run(c, "SET s hello");
        it_run(c, "HSET h a 1 b two");
        it_run(c, "DEBUG SET-ACTIVE-EXPIRE 0");
        it_run(c, "SET gone v PX 100");
        static const char *const keys[] = {"n", "s", "h"};
        for (int k = 0; k < 3; k++) {
            const char *r = it_run(c, "DEBUG OBJECT %s", keys[k]);
            /* Without the address and the clock, which differ by nature. */
            const char *enc = strstr(r, " encoding:"), *lru = strstr(r, " lru:");
            if (strncmp(r, "+Value at:0x", 12) != 0 || !strstr(r, " refcount:1 ") || !enc || !lru ||
                !strstr(lru, " lru_seconds_idle:"))
                TEST_FAIL("DEBUG OBJECT %s: %s", keys[k], r);
            snprintf(out[i][k], sizeof(out[i][k]), "%.*s", (int)(lru - enc), enc);
        }
        if (i == 1) {
            /* Mayfly moves its clock past the TTL (Redis would need a sleep). */
            it_run(c, "DEBUG CLOCK-OFFSET 1000");
            if (strncmp(it_run(c, "DEBUG OBJECT gone"), "+Value at:", 10) != 0)
                TEST_FAIL("a key past its TTL not found");
            EXPECT(c, "0", "EXISTS gone"); /* a lookup reaps it */
            EXPECT(c, "-ERR no such key", "DEBUG OBJECT gone");
            it_run(c, "DEBUG CLOCK-OFFSET 0");
        }
        EXPECT(c, "-ERR no such key", "DEBUG OBJECT nosuch");
        char before[256];
        snprintf(before, sizeof(before), "%s", it_run(c, "DEBUG OBJECT n"));
        it_run(c, "INCR n");
        if (strncmp(before, it_run(c, "DEBUG OBJECT n"), 20) != 0)
            TEST_FAIL("INCR moved the value");
        it_run(c, "DEBUG SET-ACTIVE-EXPIRE 1");
    }
    for (int k = 0; k < 3; k++)
        if (strcmp(out[0][k], out[1][k]) != 0) TEST_FAIL("Redis%s, Mayfly%s", out[0][k], out[1][k]);
    redisFree(cs[0]);
    redisFree(cs[1]);
    it_stop_server(&redis);
}

int main(void) {
    it_start(NULL);
    RUN(config_get_echoes_exact_names);
    RUN(resp3_publish_to_self_reply_first);
    RUN(debug_protocol_as_redis);
    RUN(debug_object_as_redis);
    it_stop();
    return test_report();
}
