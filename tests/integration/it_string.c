/* Integration tests: string commands (keyspace issue, item 4), checked against Redis's
 * replies and error texts. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static redisContext *fresh(void) {
    redisContext *c = it_client();
    redisReply *r = redisCommand(c, "FLUSHALL");
    freeReplyObject(r);
    return c;
}

TEST(set_get_basic) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET k v");
    EXPECT(c, "\"v\"", "GET k");
    EXPECT(c, "nil", "GET nosuch");
    EXPECT(c, "+OK", "SET k %b", "a\0b", (size_t)3);
    EXPECT(c, "\"a\\x00b\"", "GET k");
    EXPECT(c, "+OK", "SET empty %s", "");
    EXPECT(c, "\"\"", "GET empty");
    EXPECT(c, "-ERR wrong number of arguments for 'get' command", "GET");
    EXPECT(c, "-ERR wrong number of arguments for 'set' command", "SET k");
    redisFree(c);
}

TEST(set_options) {
    redisContext *c = fresh();
    EXPECT(c, "nil", "SET k v XX");
    EXPECT(c, "+OK", "SET k v NX");
    EXPECT(c, "nil", "SET k w NX");
    EXPECT(c, "+OK", "SET k w XX");
    EXPECT(c, "\"w\"", "SET k x GET");
    EXPECT(c, "nil", "SET new x GET");
    EXPECT(c, "\"x\"", "SET k y NX GET"); /* NX fails: the old value, nothing set */
    EXPECT(c, "\"x\"", "GET k");
    EXPECT(c, "-ERR syntax error", "SET k v NX XX");
    EXPECT(c, "-ERR syntax error", "SET k v EX 10 PX 100");
    EXPECT(c, "-ERR syntax error", "SET k v KEEPTTL EX 10");
    EXPECT(c, "-ERR syntax error", "SET k v EX");
    EXPECT(c, "-ERR syntax error", "SET k v PERSIST");
    EXPECT(c, "-ERR syntax error", "SET k v foo");
    EXPECT(c, "-ERR value is not an integer or out of range", "SET k v EX x");
    EXPECT(c, "-ERR invalid expire time in 'set' command", "SET k v EX 0");
    EXPECT(c, "-ERR invalid expire time in 'set' command", "SET k v PX -5");
    EXPECT(c, "-ERR invalid expire time in 'set' command", "SET k v EX 9223372036854775");
    EXPECT(c, "-ERR invalid expire time in 'set' command", "SET k v EXAT 99999999999999999");
    EXPECT(c, "-ERR invalid expire time in 'set' command", "SET k v PX 9223372036854775807");
    redisFree(c);
}

TEST(set_ttl_options) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET k v EX 100");
    EXPECT(c, "100", "TTL k");
    EXPECT(c, "+OK", "SET k v PX 100000");
    EXPECT(c, "100", "TTL k");
    EXPECT(c, "+OK", "SET k v KEEPTTL");
    EXPECT(c, "100", "TTL k");
    EXPECT(c, "+OK", "SET k v");
    EXPECT(c, "-1", "TTL k");
    EXPECT(c, "+OK", "SET k v EXAT 4102444800");
    EXPECT(c, "4102444800", "EXPIRETIME k");
    EXPECT(c, "+OK", "SET k v PXAT 4102444800123");
    EXPECT(c, "4102444800123", "PEXPIRETIME k");
    EXPECT(c, "+OK", "SET k v PXAT 1"); /* in the past: gone at once for readers */
    EXPECT(c, "nil", "GET k");
    EXPECT(c, "0", "EXISTS k");
    EXPECT(c, "+OK", "SETEX k 100 v");
    EXPECT(c, "100", "TTL k");
    EXPECT(c, "-ERR invalid expire time in 'setex' command", "SETEX k 0 v");
    EXPECT(c, "-ERR invalid expire time in 'psetex' command", "PSETEX k -1 v");
    EXPECT(c, "+OK", "PSETEX k 100000 v");
    EXPECT(c, "100", "TTL k");
    redisFree(c);
}

TEST(setnx_getset_getdel) {
    redisContext *c = fresh();
    EXPECT(c, "1", "SETNX k v");
    EXPECT(c, "0", "SETNX k w");
    EXPECT(c, "\"v\"", "GETSET k w");
    EXPECT(c, "nil", "GETSET new x");
    EXPECT(c, "+OK", "SET t v EX 100");
    EXPECT(c, "\"v\"", "GETSET t w");
    EXPECT(c, "-1", "TTL t");
    EXPECT(c, "\"w\"", "GETDEL k");
    EXPECT(c, "nil", "GETDEL k");
    EXPECT(c, "0", "EXISTS k");
    redisFree(c);
}

TEST(getex) {
    redisContext *c = fresh();
    EXPECT(c, "nil", "GETEX nosuch EX 10");
    EXPECT(c, "+OK", "SET k v");
    EXPECT(c, "\"v\"", "GETEX k");
    EXPECT(c, "\"v\"", "GETEX k EX 100");
    EXPECT(c, "100", "TTL k");
    EXPECT(c, "\"v\"", "GETEX k PERSIST");
    EXPECT(c, "-1", "TTL k");
    EXPECT(c, "\"v\"", "GETEX k PXAT 4102444800123");
    EXPECT(c, "4102444800123", "PEXPIRETIME k");
    EXPECT(c, "-ERR syntax error", "GETEX k EX 10 PERSIST");
    EXPECT(c, "-ERR syntax error", "GETEX k KEEPTTL");
    EXPECT(c, "-ERR syntax error", "GETEX k NX");
    EXPECT(c, "-ERR invalid expire time in 'getex' command", "GETEX k EX -1");
    EXPECT(c, "\"v\"", "GETEX k EXAT 1"); /* a past absolute time deletes */
    EXPECT(c, "0", "EXISTS k");
    redisFree(c);
}

TEST(encodings) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET k 12345");
    EXPECT(c, "\"int\"", "OBJECT ENCODING k");
    EXPECT(c, "+OK", "SET k -9223372036854775808");
    EXPECT(c, "\"int\"", "OBJECT ENCODING k");
    EXPECT(c, "+OK", "SET k 012");
    EXPECT(c, "\"embstr\"", "OBJECT ENCODING k");
    EXPECT(c, "+OK", "SET k %s", "12345678901234567890123456789012345678901234");
    EXPECT(c, "\"embstr\"", "OBJECT ENCODING k");
    EXPECT(c, "+OK", "SET k %s", "123456789012345678901234567890123456789012345");
    EXPECT(c, "\"raw\"", "OBJECT ENCODING k");
    EXPECT(c, "+OK", "SET k abc");
    EXPECT(c, "4", "APPEND k d");
    EXPECT(c, "\"raw\"", "OBJECT ENCODING k");
    EXPECT(c, "+OK", "SET f 1");
    EXPECT(c, "\"2.5\"", "INCRBYFLOAT f 1.5");
    EXPECT(c, "\"embstr\"", "OBJECT ENCODING f");
    EXPECT(c, "+OK", "SET n 5");
    EXPECT(c, "2147483647", "OBJECT REFCOUNT n");
    EXPECT(c, "+OK", "SET n 9998");
    EXPECT(c, "9999", "INCR n");
    EXPECT(c, "2147483647", "OBJECT REFCOUNT n");
    EXPECT(c, "10000", "INCR n");
    EXPECT(c, "1", "OBJECT REFCOUNT n");
    redisFree(c);
}

TEST(mget_mset_msetnx) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "MSET a 1 b 2");
    EXPECT(c, "[\"1\",\"2\",nil]", "MGET a b c");
    EXPECT(c, "-ERR wrong number of arguments for 'mset' command", "MSET a 1 b");
    EXPECT(c, "0", "MSETNX c 3 a 1");
    EXPECT(c, "0", "EXISTS c");
    EXPECT(c, "1", "MSETNX c 3 d 4");
    EXPECT(c, "1", "MSETNX x 1 x 2"); /* the same new key twice: the last value wins */
    EXPECT(c, "\"2\"", "GET x");
    EXPECT(c, "+OK", "SET t v EX 100");
    EXPECT(c, "+OK", "MSET t w");
    EXPECT(c, "-1", "TTL t");
    redisFree(c);
}

TEST(incr_family) {
    redisContext *c = fresh();
    EXPECT(c, "1", "INCR n");
    EXPECT(c, "0", "DECR n");
    EXPECT(c, "10", "INCRBY n 10");
    EXPECT(c, "5", "DECRBY n 5");
    EXPECT(c, "+OK", "SET n 9223372036854775807");
    EXPECT(c, "-ERR increment or decrement would overflow", "INCR n");
    EXPECT(c, "+OK", "SET n -9223372036854775808");
    EXPECT(c, "-ERR increment or decrement would overflow", "DECR n");
    EXPECT(c, "-ERR decrement would overflow", "DECRBY n -9223372036854775808");
    EXPECT(c, "+OK", "SET s abc");
    EXPECT(c, "-ERR value is not an integer or out of range", "INCR s");
    EXPECT(c, "+OK", "SET s %s", " 1");
    EXPECT(c, "-ERR value is not an integer or out of range", "INCR s");
    EXPECT(c, "-ERR value is not an integer or out of range", "INCRBY n x");
    EXPECT(c, "+OK", "SET t 1 EX 100");
    EXPECT(c, "2", "INCR t");
    EXPECT(c, "100", "TTL t"); /* INCR keeps the TTL */
    redisFree(c);
}

TEST(incrbyfloat) {
    redisContext *c = fresh();
    EXPECT(c, "\"10.5\"", "INCRBYFLOAT f 10.5");
    EXPECT(c, "\"10.6\"", "INCRBYFLOAT f 0.1");
    EXPECT(c, "\"5010.60000000000000009\"", "INCRBYFLOAT f 5.0e3"); /* as Redis */
    EXPECT(c, "-ERR value is not a valid float", "INCRBYFLOAT f abc");
    EXPECT(c, "+OK", "SET s abc");
    EXPECT(c, "-ERR value is not a valid float", "INCRBYFLOAT s 1");
    EXPECT(c, "-ERR value is not a valid float", "INCRBYFLOAT f 1e5000"); /* overflows */
    EXPECT(c, "+OK", "SET x 1.18e4932");
    EXPECT(c, "-ERR increment would produce NaN or Infinity", "INCRBYFLOAT x 1.18e4932");
    EXPECT(c, "+OK", "SET i 3");
    EXPECT(c, "\"3.5\"", "INCRBYFLOAT i 0.5");
    EXPECT(c, "\"3\"", "INCRBYFLOAT i -0.5");
    redisFree(c);
}

TEST(append_strlen_ranges) {
    redisContext *c = fresh();
    EXPECT(c, "5", "APPEND k hello");
    EXPECT(c, "11", "APPEND k %s", " world");
    EXPECT(c, "\"hello world\"", "GET k");
    EXPECT(c, "11", "STRLEN k");
    EXPECT(c, "0", "STRLEN nosuch");
    EXPECT(c, "\"hello\"", "GETRANGE k 0 4");
    EXPECT(c, "\"world\"", "GETRANGE k -5 -1");
    EXPECT(c, "\"hello world\"", "GETRANGE k 0 100");
    EXPECT(c, "\"\"", "GETRANGE k 5 2");
    EXPECT(c, "\"\"", "GETRANGE k -1 -5");
    EXPECT(c, "\"\"", "GETRANGE nosuch 0 -1");
    EXPECT(c, "-ERR value is not an integer or out of range", "GETRANGE k a 1");
    EXPECT(c, "+OK", "SET n 12345");
    EXPECT(c, "5", "STRLEN n");
    EXPECT(c, "\"234\"", "GETRANGE n 1 3");
    EXPECT(c, "11", "SETRANGE k 6 WORLD");
    EXPECT(c, "\"hello WORLD\"", "GET k");
    EXPECT(c, "13", "SETRANGE k 11 !!");
    EXPECT(c, "11", "SETRANGE z 8 abc");
    EXPECT(c, "\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00abc\"", "GET z");
    EXPECT(c, "0", "SETRANGE none 5 %s", "");
    EXPECT(c, "0", "EXISTS none");
    EXPECT(c, "13", "SETRANGE k 3 %s", "");
    EXPECT(c, "-ERR offset is out of range", "SETRANGE k -1 x");
    EXPECT(c, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
           "SETRANGE k 536870911 xx");
    EXPECT(c, "+OK", "SET n 12");
    EXPECT(c, "3", "SETRANGE n 2 3");
    EXPECT(c, "\"raw\"", "OBJECT ENCODING n");
    redisFree(c);
}

TEST(wrongtype_everywhere) {
    redisContext *c = fresh();
    /* Until the hash type lands, WRONGTYPE paths are exercised only when HSET exists. */
    const char *r = it_run(c, "HSET h f v");
    if (r[0] == '-') {
        redisFree(c);
        return;
    }
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    const char *cmds[] = {"GET h",      "SET h v GET", "GETEX h",        "GETDEL h",
                          "GETSET h v", "INCR h",      "DECRBY h 1",     "INCRBYFLOAT h 1",
                          "APPEND h x", "STRLEN h",    "GETRANGE h 0 1", "SETRANGE h 0 x",
                          NULL};
    for (int i = 0; cmds[i]; i++)
        EXPECT(c, wt, cmds[i]);
    EXPECT(c, "[nil]", "MGET h");
    EXPECT(c, "+OK", "SET h v"); /* SET overwrites any type */
    redisFree(c);
}

TEST(resp3_nulls) {
    int fd = it_raw_connect();
    char buf[4096];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000) > 0);
    EXPECT_RAW(fd, "GET nosuch-r3\r\n", "_\r\n");
    EXPECT_RAW(fd, "MGET nosuch-r3 x-r3\r\n", "*2\r\n_\r\n_\r\n");
    EXPECT_RAW(fd, "SET nosuch-r3 v XX\r\n", "_\r\n");
    close(fd);
}

int main(void) {
    it_start(NULL);
    RUN(set_get_basic);
    RUN(set_options);
    RUN(set_ttl_options);
    RUN(setnx_getset_getdel);
    RUN(getex);
    RUN(encodings);
    RUN(mget_mset_msetnx);
    RUN(incr_family);
    RUN(incrbyfloat);
    RUN(append_strlen_ranges);
    RUN(wrongtype_everywhere);
    RUN(resp3_nulls);
    it_stop();
    return test_report();
}
