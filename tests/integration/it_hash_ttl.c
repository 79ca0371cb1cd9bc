/* Integration tests: hash field expiration commands (issue "THE HEART", item 2): HSETEX
 * HGETEX HGETDEL HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT HTTL HPTTL HEXPIRETIME HPEXPIRETIME
 * HPERSIST, their option combinations and errors (texts from Redis 8's t_hash.c and
 * tests/unit/type/hash-field-expire.tcl), and the examples of the HSETEX spec page.
 * Time is moved with DEBUG CLOCK-OFFSET, never slept through. */
#include "integration/harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static redisContext *fresh(void) {
    redisContext *c = it_client();
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    freeReplyObject(redisCommand(c, "DEBUG SET-ACTIVE-EXPIRE 1"));
    return c;
}

/* The server's wall clock in ms (TIME), which includes any DEBUG CLOCK-OFFSET. */
static long long server_ms(redisContext *c) {
    redisReply *r = redisCommand(c, "TIME");
    long long ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
    freeReplyObject(r);
    return ms;
}

/* The n-th integer of an array reply to a command (LLONG_MIN on a bad shape). */
static long long nth_int(redisContext *c, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = LLONG_MIN;
    if (r && r->type == REDIS_REPLY_ARRAY && n < r->elements &&
        r->element[n]->type == REDIS_REPLY_INTEGER)
        v = r->element[n]->integer;
    freeReplyObject(r);
    return v;
}

#define IN_RANGE(v, lo, hi)                                                                        \
    do {                                                                                           \
        long long v_ = (v);                                                                        \
        if (v_ < (lo) || v_ > (hi))                                                                \
            TEST_FAIL("%s = %lld, expected in [%lld, %lld]", #v, v_, (long long)(lo),              \
                      (long long)(hi));                                                            \
    } while (0)

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"
#define MAX_MS "70368744177663" /* 2^46 - 1 */

TEST(hsetex_input_validation) {
    redisContext *c = fresh();
    const char *arity[] = {"HSETEX myhash",
                           "HSETEX myhash fields",
                           "HSETEX myhash fields 1",
                           "HSETEX myhash fields 2 a b",
                           "HSETEX myhash fields 2 a b c",
                           "HSETEX myhash fields 2 a b c d e",
                           "HSETEX myhash fields 3 a b c d",
                           "HSETEX myhash fields 3 a b c d e",
                           "HSETEX myhash fields 3 a b c d e f g",
                           "HSETEX myhash fields 3 a b",
                           "HSETEX myhash fields 1 a b unknown"};
    for (size_t i = 0; i < sizeof(arity) / sizeof(arity[0]); i++)
        EXPECT(c, "-ERR wrong number of arguments for 'hsetex' command", arity[i]);
    EXPECT(c, "-ERR unknown argument: nx", "HSETEX myhash nx fields 1 a b");
    EXPECT(c, "-ERR unknown argument: 1", "HSETEX myhash 1 fields 1 a b");
    const char *cond[] = {"fxx fxx", "fxx fnx", "fnx fxx", "fnx fnx", "fxx fnx fxx"};
    for (size_t i = 0; i < sizeof(cond) / sizeof(cond[0]); i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "HSETEX myhash %s EX 100 fields 1 a b", cond[i]);
        EXPECT(c, "-ERR Only one of FXX or FNX arguments can be specified", cmd);
    }
    const char *exp[] = {"EX 100 PX 1000",  "EX 100 EXAT 100",   "EXAT 100 EX 1000",
                         "PX 100 PXAT 100", "PXAT 100 EXAT 100", "EX 100 KEEPTTL",
                         "KEEPTTL EX 100",  "EX 100 EX 100",     "KEEPTTL KEEPTTL"};
    for (size_t i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "HSETEX myhash %s fields 1 a b", exp[i]);
        EXPECT(c, "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified", cmd);
    }
    EXPECT(c, "-ERR value is not an integer or out of range", "HSETEX myhash ex fields 1 a b");
    EXPECT(c, "-ERR value is not an integer or out of range", "HSETEX myhash pxat fields 1 a b");
    EXPECT(c, "-ERR invalid expire time in 'hsetex' command",
           "HSETEX myhash EXAT 281474976710656 1 a b");
    EXPECT(c, "-ERR invalid expire time in 'hsetex' command",
           "HSETEX myhash PXAT 70368744177664 FIELDS 1 a b");
    EXPECT(c, "-ERR invalid expire time in 'hsetex' command",
           "HSETEX myhash EX 70368744177 FIELDS 1 a b");
    EXPECT(c, "-ERR invalid expire time, must be >= 0", "HSETEX myhash EXAT -1 1 a b");
    EXPECT(c, "-ERR value is not an integer or out of range",
           "HSETEX myhash EXAT 9223372036854775808 1 a b");
    EXPECT(c, "-ERR invalid number of fields", "HSETEX myhash fields x a b");
    EXPECT(c, "-ERR invalid number of fields", "HSETEX myhash fields 9223372036854775808 a b");
    EXPECT(c, "-ERR invalid number of fields", "HSETEX myhash fields 0 a b");
    EXPECT(c, "-ERR invalid number of fields", "HSETEX myhash fields -1 a b");
    EXPECT(c, "0", "EXISTS myhash");
    /* Arguments are parsed before the key's type is checked. */
    EXPECT(c, "+OK", "SET s v");
    EXPECT(c, "-ERR invalid number of fields", "HSETEX s fields 0 a b");
    EXPECT(c, WRONGTYPE, "HSETEX s FIELDS 1 a b");
    redisFree(c);
}

TEST(hsetex_basic_and_conditions) {
    redisContext *c = fresh();
    EXPECT(c, "1", "HSETEX myhash FIELDS 1 f1 v1");
    EXPECT(c, "\"v1\"", "HGET myhash f1");
    EXPECT(c, "1", "HSETEX myhash FIELDS 2 f1 v11 f2 v2");
    EXPECT(c, "[\"f1\",\"v11\",\"f2\",\"v2\"]", "HGETALL myhash");
    /* FXX: all fields must exist; a failed FXX on a missing key leaves no key. */
    EXPECT(c, "0", "HSETEX nokey FXX FIELDS 1 f1 v1");
    EXPECT(c, "0", "EXISTS nokey");
    EXPECT(c, "0", "HSETEX myhash FXX FIELDS 2 f1 x f3 y");
    EXPECT(c, "[\"v11\",nil]", "HMGET myhash f1 f3");
    EXPECT(c, "1", "HSETEX myhash FXX EX 100 FIELDS 2 f1 a f2 b");
    EXPECT(c, "[100,100]", "HTTL myhash FIELDS 2 f1 f2");
    EXPECT(c, "1", "HSETEX myhash PX 5000 FXX FIELDS 1 f1 c");
    IN_RANGE(nth_int(c, 0, "HPTTL myhash FIELDS 1 f1"), 4900, 5000);
    /* FNX: no field may exist. */
    EXPECT(c, "0", "HSETEX myhash FNX FIELDS 2 f3 x f1 y");
    EXPECT(c, "0", "HEXISTS myhash f3");
    EXPECT(c, "1", "HSETEX myhash FNX EX 50 FIELDS 2 f3 x f4 y");
    EXPECT(c, "[50,50]", "HTTL myhash FIELDS 2 f3 f4");
    EXPECT(c, "1", "HSETEX fresh FNX FIELDS 1 a 1");
    /* No expiry option clears the TTL; KEEPTTL keeps it. */
    EXPECT(c, "1", "HSETEX myhash KEEPTTL FIELDS 1 f3 kept");
    EXPECT(c, "[50]", "HTTL myhash FIELDS 1 f3");
    EXPECT(c, "\"kept\"", "HGET myhash f3");
    EXPECT(c, "1", "HSETEX myhash FIELDS 1 f3 cleared");
    EXPECT(c, "[-1]", "HTTL myhash FIELDS 1 f3");
    EXPECT(c, "1", "HSETEX myhash KEEPTTL FIELDS 1 new v");
    EXPECT(c, "[-1]", "HTTL myhash FIELDS 1 new");
    EXPECT(c, "\"listpackex\"", "OBJECT ENCODING myhash");
    redisFree(c);
}

TEST(hsetex_past_time_deletes) {
    redisContext *c = fresh();
    EXPECT(c, "2", "HSET h keep 1 gone 2");
    EXPECT(c, "1", "HSETEX h PXAT 1 FIELDS 2 gone x new y");
    EXPECT(c, "[\"keep\",\"1\"]", "HGETALL h");
    EXPECT(c, "1", "HSETEX h EX 0 FIELDS 1 keep z");
    EXPECT(c, "0", "EXISTS h"); /* the last field went, and the key with it */
    EXPECT(c, "1", "HSETEX h2 EXAT 1 FIELDS 1 a b");
    EXPECT(c, "0", "EXISTS h2");
    redisFree(c);
}

/* The examples of /work/shared/spec/HSETEX.md, with EXAT moved to now + 55627 s. */
TEST(hsetex_spec_examples) {
    redisContext *c = fresh();
    long long at = server_ms(c) / 1000 + 55627;
    EXPECT(c, "1", "HSETEX mykey EXAT %lld FIELDS 2 field1 Hello field2 World", at);
    IN_RANGE(nth_int(c, 0, "HTTL mykey FIELDS 2 field1 field2"), 55626, 55627);
    IN_RANGE(nth_int(c, 1, "HTTL mykey FIELDS 2 field1 field2"), 55626, 55627);
    EXPECT(c, "0", "HSETEX mykey FNX EX 60 FIELDS 2 field1 Hello field2 World");
    EXPECT(c, "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
           "HSETEX mykey FXX EX 60 KEEPTTL FIELDS 2 field1 hello field2 world");
    EXPECT(c, "1", "HSETEX mykey FXX KEEPTTL FIELDS 2 field1 hello field2 world");
    IN_RANGE(nth_int(c, 0, "HTTL mykey FIELDS 2 field1 field2"), 55626, 55627);
    IN_RANGE(nth_int(c, 1, "HTTL mykey FIELDS 2 field1 field2"), 55626, 55627);
    EXPECT(c, "[\"hello\",\"world\"]", "HMGET mykey field1 field2");
    ASSERT_EQ(at, nth_int(c, 1, "HEXPIRETIME mykey FIELDS 2 field1 field2"));
    redisFree(c);
}

TEST(hgetex) {
    redisContext *c = fresh();
    const char *arity[] = {"HGETEX", "HGETEX h1", "HGETEX h1 FIELDS", "HGETEX h1 FIELDS 0",
                           "HGETEX h1 FIELDS 1"};
    for (size_t i = 0; i < sizeof(arity) / sizeof(arity[0]); i++)
        EXPECT(c, "-ERR wrong number of arguments for 'hgetex' command", arity[i]);
#define NOFIELDS "-ERR Mandatory argument FIELDS is missing or not at the right position"
    EXPECT(c, NOFIELDS, "HGETEX h1 XFIELDX 1 a");
    EXPECT(c, NOFIELDS, "HGETEX h1 PXAT 1 1");
    EXPECT(c, NOFIELDS, "HGETEX h1 PERSIST 1 FIELDS 1 a");
    EXPECT(c, "-ERR The `numfields` parameter must match the number of arguments",
           "HGETEX h1 FIELDS 2 a");
    EXPECT(c, "-ERR Number of fields must be a positive integer", "HGETEX h1 FIELDS 0 a");
    EXPECT(c, "-ERR Number of fields must be a positive integer", "HGETEX h1 FIELDS -1 a");
    EXPECT(c, "-ERR Number of fields must be a positive integer",
           "HGETEX h1 FIELDS 9223372036854775808 a");
    EXPECT(c, "-ERR value is not an integer or out of range", "HGETEX h1 EX bla FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time, must be >= 0", "HGETEX h1 PX -1 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time, must be >= 0", "HGETEX h1 EX -1 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time in 'hgetex' command",
           "HGETEX h1 EX 281474976710656 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time in 'hgetex' command",
           "HGETEX h1 PXAT 70368744177664 FIELDS 1 a");
    EXPECT(c, "-ERR wrong number of arguments for 'hgetex' command", "HGETEX h1 EX 10 FIELDS");
    EXPECT(c, "[nil,nil]", "HGETEX h1 EX 10 FIELDS 2 a b");
    EXPECT(c, "0", "EXISTS h1");
    EXPECT(c, "3", "HSET h1 a 1 b 2 c strval");
    EXPECT(c, "[\"1\",\"2\",\"strval\"]", "HGETEX h1 FIELDS 3 a b c");
    EXPECT(c, "[-1,-1,-1]", "HTTL h1 FIELDS 3 a b c");
    EXPECT(c, "[\"1\",nil]", "HGETEX h1 EX 10000 FIELDS 2 a nope");
    EXPECT(c, "[10000]", "HTTL h1 FIELDS 1 a");
    EXPECT(c, "[\"2\"]", "HGETEX h1 PX 5000 FIELDS 1 b");
    IN_RANGE(nth_int(c, 0, "HPTTL h1 FIELDS 1 b"), 4900, 5000);
    long long now = server_ms(c);
    EXPECT(c, "[\"strval\"]", "HGETEX h1 PXAT %lld FIELDS 1 c", now + 20000);
    ASSERT_EQ(now + 20000, nth_int(c, 0, "HPEXPIRETIME h1 FIELDS 1 c"));
    EXPECT(c, "[\"strval\"]", "HGETEX h1 EXAT %lld FIELDS 1 c", now / 1000 + 30);
    ASSERT_EQ(now / 1000 + 30, nth_int(c, 0, "HEXPIRETIME h1 FIELDS 1 c"));
    EXPECT(c, "[\"1\",\"2\"]", "HGETEX h1 PERSIST FIELDS 2 a b");
    EXPECT(c, "[-1,-1]", "HTTL h1 FIELDS 2 a b");
    EXPECT(c, "[\"1\",\"2\"]", "HGETEX h1 PERSIST FIELDS 2 a b"); /* again: a no-op */
    /* A past time deletes the fields, and the key once empty. */
    EXPECT(c, "[\"1\",nil]", "HGETEX h1 PXAT 1 FIELDS 2 a a");
    EXPECT(c, "[\"2\",\"strval\"]", "HGETEX h1 PXAT 1 FIELDS 2 b c");
    EXPECT(c, "0", "EXISTS h1");
    EXPECT(c, "+OK", "SET s v");
    EXPECT(c, WRONGTYPE, "HGETEX s FIELDS 1 a");
    EXPECT(c, WRONGTYPE, "HGETEX s XFIELDX 1 a"); /* the type is checked first */
    redisFree(c);
}

TEST(hgetdel) {
    redisContext *c = fresh();
    EXPECT(c, "-ERR wrong number of arguments for 'hgetdel' command", "HGETDEL h FIELDS 1");
    EXPECT(c, NOFIELDS, "HGETDEL h XFIELDS 1 a");
    EXPECT(c, "-ERR Number of fields must be a positive integer", "HGETDEL h FIELDS 0 a");
    EXPECT(c, "-ERR The `numfields` parameter must match the number of arguments",
           "HGETDEL h FIELDS 2 a");
    EXPECT(c, "[nil,nil]", "HGETDEL h FIELDS 2 a b");
    EXPECT(c, "3", "HSET h a 1 b 2 c 3");
    EXPECT(c, "[\"1\",nil,nil]", "HGETDEL h FIELDS 3 a x a");
    EXPECT(c, "[\"2\",nil]", "HGETDEL h FIELDS 2 b a");
    EXPECT(c, "1", "HLEN h");
    EXPECT(c, "[\"3\",nil,nil]", "HGETDEL h FIELDS 3 c d e");
    EXPECT(c, "0", "EXISTS h");
    EXPECT(c, "+OK", "SET s v");
    EXPECT(c, WRONGTYPE, "HGETDEL s FIELDS 1 a");
    redisFree(c);
}

TEST(hexpire_family) {
    redisContext *c = fresh();
    EXPECT(c, "[-2,-2]", "HEXPIRE nokey 100 FIELDS 2 a b"); /* an array, not nil */
    EXPECT(c, "0", "EXISTS nokey");
    EXPECT(c, "3", "HSET h a 1 b 2 c 3");
    EXPECT(c, "[1,-2]", "HEXPIRE h 100 FIELDS 2 a nope");
    EXPECT(c, "[100]", "HTTL h FIELDS 1 a");
    EXPECT(c, "[1]", "HPEXPIRE h 50000 FIELDS 1 b");
    IN_RANGE(nth_int(c, 0, "HPTTL h FIELDS 1 b"), 49900, 50000);
    long long now = server_ms(c);
    EXPECT(c, "[1]", "HEXPIREAT h %lld FIELDS 1 c", now / 1000 + 1000);
    ASSERT_EQ(now / 1000 + 1000, nth_int(c, 0, "HEXPIRETIME h FIELDS 1 c"));
    ASSERT_EQ((now / 1000 + 1000) * 1000, nth_int(c, 0, "HPEXPIRETIME h FIELDS 1 c"));
    EXPECT(c, "[1]", "HPEXPIREAT h %lld FIELDS 1 c", now + 123456);
    ASSERT_EQ(now + 123456, nth_int(c, 0, "HPEXPIRETIME h FIELDS 1 c"));
    ASSERT_EQ((now + 123456 + 999) / 1000, nth_int(c, 0, "HEXPIRETIME h FIELDS 1 c"));
    /* Conditions: no TTL counts as infinite. */
    EXPECT(c, "1", "HSET h d 4");
    EXPECT(c, "[0,1]", "HEXPIRE h 10 NX FIELDS 2 a d");
    EXPECT(c, "[0]", "HEXPIRE h 10 NX FIELDS 1 d");
    EXPECT(c, "1", "HSET h e 5");
    EXPECT(c, "[0,1]", "HEXPIRE h 20 XX FIELDS 2 e d");
    EXPECT(c, "[0,0,0]", "HEXPIRE h 15 GT FIELDS 3 e d a"); /* e: no TTL; d 20; a 100 */
    EXPECT(c, "[1]", "HEXPIRE h 30 GT FIELDS 1 d");
    EXPECT(c, "[30]", "HTTL h FIELDS 1 d");
    EXPECT(c, "[1,1]", "HEXPIRE h 25 LT FIELDS 2 e d"); /* no TTL counts as infinite */
    EXPECT(c, "[25,25]", "HTTL h FIELDS 2 e d");
    EXPECT(c, "[0]", "HEXPIRE h 29 lt FIELDS 1 d");
    EXPECT(c, "[25]", "HTTL h FIELDS 1 d");
    /* A time now or past deletes (2); a condition is checked first. */
    EXPECT(c, "[0]", "HPEXPIRE h 0 GT FIELDS 1 d");
    EXPECT(c, "[2,-2]", "HPEXPIRE h 0 FIELDS 2 d d");
    EXPECT(c, "0", "HEXISTS h d");
    EXPECT(c, "[2]", "HPEXPIREAT h 0 FIELDS 1 e");
    EXPECT(c, "[2,2,2]", "HEXPIREAT h 1 FIELDS 3 a b c");
    EXPECT(c, "0", "EXISTS h");
    redisFree(c);
}

TEST(hexpire_errors) {
    redisContext *c = fresh();
    EXPECT(c, "1", "HSET h a 1");
    EXPECT(c, "-ERR wrong number of arguments for 'hexpire' command", "HEXPIRE h 10 FIELDS 1");
    EXPECT(c, "-ERR value is not an integer or out of range", "HEXPIRE h x FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time, must be >= 0", "HEXPIRE h -1 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time, must be >= 0", "HPEXPIREAT h -5 FIELDS 1 a");
    EXPECT(c, "[1]", "HPEXPIREAT h " MAX_MS " FIELDS 1 a");
    EXPECT(c, "[" MAX_MS "]", "HPEXPIRETIME h FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time in 'hpexpireat' command",
           "HPEXPIREAT h 70368744177664 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time in 'hexpireat' command",
           "HEXPIREAT h 70368744177664 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time in 'hexpire' command", "HEXPIRE h 70368744177 FIELDS 1 a");
    EXPECT(c, "-ERR invalid expire time in 'hpexpire' command",
           "HPEXPIRE h 70368744177663 FIELDS 1 a");
    EXPECT(c, NOFIELDS, "HEXPIRE h 10 NX NX FIELDS 1 a");
    EXPECT(c, NOFIELDS, "HEXPIRE h 10 FOO FIELDS 1 a");
    EXPECT(c, "-ERR Parameter `numFields` should be greater than 0", "HEXPIRE h 10 FIELDS 0 a");
    EXPECT(c, "-ERR Parameter `numFields` should be greater than 0", "HEXPIRE h 10 FIELDS x a");
    EXPECT(c, "-ERR The `numfields` parameter must match the number of arguments",
           "HEXPIRE h 10 FIELDS 2 a");
    EXPECT(c, "-ERR The `numfields` parameter must match the number of arguments",
           "HEXPIRE h 10 XX FIELDS 1 a b");
    EXPECT(c, "+OK", "SET s v");
    EXPECT(c, WRONGTYPE, "HEXPIRE s 10 FIELDS 1 a");
    EXPECT(c, WRONGTYPE, "HEXPIRE s x FIELDS 1 a"); /* type first, then the time */
    redisFree(c);
}

TEST(httl_hpersist) {
    redisContext *c = fresh();
    EXPECT(c, "[-2,-2]", "HTTL nokey FIELDS 2 a b");
    EXPECT(c, "[-2]", "HPTTL nokey FIELDS 1 a");
    EXPECT(c, "[-2]", "HEXPIRETIME nokey FIELDS 1 a");
    EXPECT(c, "[-2]", "HPEXPIRETIME nokey FIELDS 1 a");
    EXPECT(c, "[-2,-2]", "HPERSIST nokey FIELDS 2 a b");
    EXPECT(c, "2", "HSET h a 1 b 2");
    EXPECT(c, "[1]", "HPEXPIRE h 1500 FIELDS 1 a");
    EXPECT(c, "[2,-1,-2]", "HTTL h FIELDS 3 a b c"); /* 1.5 s rounds up */
    EXPECT(c, NOFIELDS, "HTTL h FIELD 1 a");
    EXPECT(c, "-ERR Number of fields must be a positive integer", "HTTL h FIELDS 0 a");
    EXPECT(c, "-ERR The `numfields` parameter must match the number of arguments",
           "HPTTL h FIELDS 1 a b");
    EXPECT(c, "[1,-1,-2]", "HPERSIST h FIELDS 3 a b c");
    EXPECT(c, "[-1]", "HPERSIST h FIELDS 1 a");
    EXPECT(c, "[-1]", "HTTL h FIELDS 1 a");
    EXPECT(c, "\"listpack\"", "OBJECT ENCODING h");
    EXPECT(c, NOFIELDS, "HPERSIST h 1 a b");
    EXPECT(c, "-ERR Number of fields must be a positive integer", "HPERSIST h FIELDS -1 a");
    EXPECT(c, "+OK", "SET s v");
    EXPECT(c, WRONGTYPE, "HTTL s FIELDS 1 a");
    EXPECT(c, WRONGTYPE, "HPERSIST s FIELDS 1 a");
    redisFree(c);
}

TEST(ttl_policies_of_writers) {
    redisContext *c = fresh();
    EXPECT(c, "1", "HSETEX h EX 100 FIELDS 4 a 1 b 2 c 3 d 1.5");
    EXPECT(c, "0", "HSET h a 10");
    EXPECT(c, "+OK", "HMSET h b 20");
    EXPECT(c, "[-1,-1]", "HTTL h FIELDS 2 a b");
    EXPECT(c, "4", "HINCRBY h c 1");
    EXPECT(c, "\"2\"", "HINCRBYFLOAT h d 0.5");
    EXPECT(c, "[100,100]", "HTTL h FIELDS 2 c d");
    EXPECT(c, "0", "HSETNX h c 9");
    EXPECT(c, "[100]", "HTTL h FIELDS 1 c");
    redisFree(c);
}

/* An expired field is absent for every command (active expiry off, time moved on). */
static void setup_expired(redisContext *c) {
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    freeReplyObject(redisCommand(c, "DEBUG SET-ACTIVE-EXPIRE 0"));
    freeReplyObject(redisCommand(c, "HSET h live 1 dead 22"));
    freeReplyObject(redisCommand(c, "HPEXPIRE h 1000 FIELDS 1 dead"));
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 2000"));
}

TEST(expired_field_absent_everywhere) {
    redisContext *c = fresh();
    struct {
        const char *cmd, *want;
    } cases[] = {
        {"HGET h dead", "nil"},
        {"HMGET h dead live", "[nil,\"1\"]"},
        {"HGETALL h", "[\"live\",\"1\"]"},
        {"HKEYS h", "[\"live\"]"},
        {"HVALS h", "[\"1\"]"},
        {"HLEN h", "1"},
        {"HEXISTS h dead", "0"},
        {"HSTRLEN h dead", "0"},
        {"HRANDFIELD h -5", "[\"live\",\"live\",\"live\",\"live\",\"live\"]"},
        {"HRANDFIELD h 5 WITHVALUES", "[\"live\",\"1\"]"},
        {"HSCAN h 0", "[\"0\",[\"live\",\"1\"]]"},
        {"HGETEX h FIELDS 1 dead", "[nil]"},
        {"HGETDEL h FIELDS 1 dead", "[nil]"},
        {"HTTL h FIELDS 1 dead", "[-2]"},
        {"HPERSIST h FIELDS 1 dead", "[-2]"},
        {"HEXPIRE h 100 FIELDS 1 dead", "[-2]"},
        {"HINCRBY h dead 5", "5"},
        {"HSETEX h FNX FIELDS 1 dead x", "1"},
        {"HSETEX h FXX FIELDS 1 dead x", "0"},
        {"HSETNX h dead x", "1"},
        {"HDEL h dead", "0"},
        {"HSET h dead y", "1"},
        {"DBSIZE", "1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setup_expired(c);
        EXPECT(c, cases[i].want, cases[i].cmd);
    }
    /* A hash whose only field expired is gone: EXISTS, TYPE, HLEN. */
    setup_expired(c);
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    EXPECT(c, "1", "HSETEX solo PX 1000 FIELDS 1 f v");
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 2000"));
    EXPECT(c, "0", "EXISTS solo");
    EXPECT(c, "+none", "TYPE solo");
    EXPECT(c, "0", "HLEN solo");
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    freeReplyObject(redisCommand(c, "DEBUG SET-ACTIVE-EXPIRE 1"));
    redisFree(c);
}

TEST(key_commands_keep_field_ttls) {
    redisContext *c = fresh();
    long long now = server_ms(c);
    EXPECT(c, "2", "HSET h a 1 b 2");
    EXPECT(c, "[1]", "HPEXPIREAT h %lld FIELDS 1 a", now + 100000);
    EXPECT(c, "+OK", "RENAME h h2");
    ASSERT_EQ(now + 100000, nth_int(c, 0, "HPEXPIRETIME h2 FIELDS 1 a"));
    EXPECT(c, "1", "COPY h2 h3");
    ASSERT_EQ(now + 100000, nth_int(c, 0, "HPEXPIRETIME h3 FIELDS 1 a"));
    EXPECT(c, "1", "MOVE h3 1");
    EXPECT(c, "+OK", "SELECT 1");
    ASSERT_EQ(now + 100000, nth_int(c, 0, "HPEXPIRETIME h3 FIELDS 1 a"));
    EXPECT(c, "[-1]", "HPEXPIRETIME h3 FIELDS 1 b");
    EXPECT(c, "+hash", "TYPE h3");
    EXPECT(c, "+OK", "SELECT 0");
    /* A key TTL works beside field TTLs: whichever comes first. */
    EXPECT(c, "1", "EXPIRE h2 50");
    EXPECT(c, "50", "TTL h2");
    EXPECT(c, "[100,-1]", "HTTL h2 FIELDS 2 a b");
    EXPECT(c, "1", "PERSIST h2");
    EXPECT(c, "[100]", "HTTL h2 FIELDS 1 a");
    EXPECT(c, "1", "PEXPIRE h2 5000");
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 6000"));
    EXPECT(c, "0", "EXISTS h2");
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(hsetex_input_validation);
    RUN(hsetex_basic_and_conditions);
    RUN(hsetex_past_time_deletes);
    RUN(hsetex_spec_examples);
    RUN(hgetex);
    RUN(hgetdel);
    RUN(hexpire_family);
    RUN(hexpire_errors);
    RUN(httl_hpersist);
    RUN(ttl_policies_of_writers);
    RUN(expired_field_absent_everywhere);
    RUN(key_commands_keep_field_ttls);
    it_stop();
    return test_report();
}
