/* Integration tests: the hash commands without field expiry options (issue "THE HEART",
 * item 1), checked against Redis 8's replies, error texts and RESP3 shapes. */
#include "integration/harness.h"

#include <limits.h>
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

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"

TEST(hset_hget_basic) {
    redisContext *c = fresh();
    EXPECT(c, "2", "HSET h a 1 b 2");
    EXPECT(c, "1", "HSET h a 10 c 3"); /* a updated, c created */
    EXPECT(c, "\"10\"", "HGET h a");
    EXPECT(c, "nil", "HGET h nope");
    EXPECT(c, "nil", "HGET nokey a");
    EXPECT(c, "[\"10\",\"2\",nil,\"3\"]", "HMGET h a b x c");
    EXPECT(c, "[nil,nil]", "HMGET nokey a b");
    EXPECT(c, "+OK", "HMSET h d 4 e 5");
    EXPECT(c, "5", "HLEN h");
    EXPECT(c, "0", "HLEN nokey");
    EXPECT(c, "+hash", "TYPE h");
    EXPECT(c, "1", "HSET bin %b %b", "f\0g", (size_t)3, "v\0w", (size_t)3);
    EXPECT(c, "\"v\\x00w\"", "HGET bin %b", "f\0g", (size_t)3);
    EXPECT(c, "1", "HSET empty %s %s", "", "");
    EXPECT(c, "\"\"", "HGET empty %s", "");
    EXPECT(c, "-ERR wrong number of arguments for 'hset' command", "HSET h a");
    EXPECT(c, "-ERR wrong number of arguments for 'hset' command", "HSET h a 1 b");
    EXPECT(c, "-ERR wrong number of arguments for 'hmset' command", "HMSET h a 1 b");
    EXPECT(c, "-ERR wrong number of arguments for 'hget' command", "HGET h");
    EXPECT(c, "-ERR wrong number of arguments for 'hmget' command", "HMGET h");
    redisFree(c);
}

TEST(hsetnx_hdel_hexists_hstrlen) {
    redisContext *c = fresh();
    EXPECT(c, "1", "HSETNX h a 1");
    EXPECT(c, "0", "HSETNX h a 2");
    EXPECT(c, "\"1\"", "HGET h a");
    EXPECT(c, "1", "HEXISTS h a");
    EXPECT(c, "0", "HEXISTS h b");
    EXPECT(c, "0", "HEXISTS nokey a");
    EXPECT(c, "1", "HSET h long hello");
    EXPECT(c, "5", "HSTRLEN h long");
    EXPECT(c, "0", "HSTRLEN h nope");
    EXPECT(c, "0", "HSTRLEN nokey a");
    EXPECT(c, "-123", "HINCRBY h n -123");
    EXPECT(c, "4", "HSTRLEN h n");
    EXPECT(c, "0", "HDEL nokey a");
    EXPECT(c, "0", "HDEL h x y");
    EXPECT(c, "2", "HDEL h a long a x");
    EXPECT(c, "1", "EXISTS h");
    EXPECT(c, "1", "HDEL h n");
    EXPECT(c, "0", "EXISTS h"); /* the last field takes the key with it */
    EXPECT(c, "-ERR wrong number of arguments for 'hsetnx' command", "HSETNX h a");
    EXPECT(c, "-ERR wrong number of arguments for 'hdel' command", "HDEL h");
    redisFree(c);
}

TEST(hkeys_hvals_hgetall) {
    redisContext *c = fresh();
    EXPECT(c, "[]", "HKEYS nokey");
    EXPECT(c, "[]", "HVALS nokey");
    EXPECT(c, "[]", "HGETALL nokey");
    EXPECT(c, "2", "HSET h a 1 b 2");
    EXPECT(c, "[\"a\",\"b\"]", "HKEYS h");
    EXPECT(c, "[\"1\",\"2\"]", "HVALS h");
    EXPECT(c, "[\"a\",\"1\",\"b\",\"2\"]", "HGETALL h");
    /* A hashtable returns every field exactly once, whatever the order. */
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 4");
    for (int i = 0; i < 50; i++)
        EXPECT(c, "1", "HSET big f%d v%d", i, i);
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING big");
    redisReply *r = redisCommand(c, "HGETALL big");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 100);
    int seen[50] = {0};
    for (size_t i = 0; i < r->elements; i += 2) {
        int f = atoi(r->element[i]->str + 1), v = atoi(r->element[i + 1]->str + 1);
        ASSERT(f >= 0 && f < 50 && f == v && !seen[f]);
        seen[f] = 1;
    }
    freeReplyObject(r);
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    redisFree(c);
}

TEST(wrongtype) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET s v");
    const char *cmds[] = {
        "HSET s a 1",     "HSETNX s a 1", "HMSET s a 1",   "HGET s a",           "HMGET s a",
        "HDEL s a",       "HLEN s",       "HEXISTS s a",   "HSTRLEN s a",        "HKEYS s",
        "HVALS s",        "HGETALL s",    "HINCRBY s a 1", "HINCRBYFLOAT s a 1", "HRANDFIELD s",
        "HRANDFIELD s 2", "HSCAN s 0"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        EXPECT(c, WRONGTYPE, cmds[i]);
    EXPECT(c, "1", "HSET h a 1");
    EXPECT(c, WRONGTYPE, "GET h");
    redisFree(c);
}

TEST(hincrby) {
    redisContext *c = fresh();
    EXPECT(c, "5", "HINCRBY h n 5");
    EXPECT(c, "-2", "HINCRBY h n -7");
    EXPECT(c, "\"-2\"", "HGET h n");
    EXPECT(c, "3", "HSET h s abc big 9223372036854775807 sp %s", " 1");
    EXPECT(c, "-ERR hash value is not an integer", "HINCRBY h s 1");
    EXPECT(c, "-ERR hash value is not an integer", "HINCRBY h sp 1");
    EXPECT(c, "-ERR increment or decrement would overflow", "HINCRBY h big 1");
    EXPECT(c, "1", "HSET h small -9223372036854775808");
    EXPECT(c, "-ERR increment or decrement would overflow", "HINCRBY h small -1");
    EXPECT(c, "-ERR value is not an integer or out of range", "HINCRBY h n x");
    EXPECT(c, "-ERR value is not an integer or out of range", "HINCRBY h n 1.5");
    EXPECT(c, "-ERR value is not an integer or out of range", "HINCRBY h n 9223372036854775808");
    EXPECT(c, "0", "EXISTS nokey");
    EXPECT(c, "-ERR value is not an integer or out of range", "HINCRBY nokey n x");
    EXPECT(c, "0", "EXISTS nokey");
    redisFree(c);
}

TEST(hincrbyfloat) {
    redisContext *c = fresh();
    EXPECT(c, "\"10.5\"", "HINCRBYFLOAT h f 10.5");
    EXPECT(c, "\"10.6\"", "HINCRBYFLOAT h f 0.1");
    EXPECT(c, "1", "HSET h e 5.0e3");
    EXPECT(c, "\"5200\"", "HINCRBYFLOAT h e 200");
    EXPECT(c, "1", "HSET h i 17");
    EXPECT(c, "\"17.5\"", "HINCRBYFLOAT h i 0.5");
    EXPECT(c, "1", "HSET h s abc");
    EXPECT(c, "-ERR hash value is not a float", "HINCRBYFLOAT h s 1");
    EXPECT(c, "-ERR value is not a valid float", "HINCRBYFLOAT h f x");
    EXPECT(c, "-ERR value is NaN or Infinity", "HINCRBYFLOAT h f inf");
    /* Values are long doubles, as in Redis: 1e308 + 1e308 is still finite. */
    EXPECT(c, "1", "HSET h huge 1e4932");
    EXPECT(c, "-ERR increment would produce NaN or Infinity", "HINCRBYFLOAT h huge 1e4932");
    EXPECT(c, "\"1e4932\"", "HGET h huge");
    redisFree(c);
}

/* Renders each reply element and checks it is one of the fields a0..a(n-1) with value vK. */
static int all_known(const redisReply *r, int n, int withvalues) {
    for (size_t i = 0; i < r->elements; i += withvalues ? 2 : 1) {
        const char *f = r->element[i]->str;
        if (f[0] != 'a' || atoi(f + 1) < 0 || atoi(f + 1) >= n) return 0;
        if (withvalues && atoi(r->element[i + 1]->str + 1) != atoi(f + 1)) return 0;
    }
    return 1;
}

static void hrandfield_on(redisContext *c, int n) {
    redisReply *r;
    r = redisCommand(c, "HRANDFIELD h");
    ASSERT(r->type == REDIS_REPLY_STRING && r->str[0] == 'a');
    freeReplyObject(r);
    r = redisCommand(c, "HRANDFIELD h 3");
    ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)(n < 3 ? n : 3) &&
           all_known(r, n, 0));
    for (size_t i = 0; i < r->elements; i++)
        for (size_t j = i + 1; j < r->elements; j++)
            ASSERT(strcmp(r->element[i]->str, r->element[j]->str) != 0); /* distinct */
    freeReplyObject(r);
    r = redisCommand(c, "HRANDFIELD h %d WITHVALUES", n + 10);
    ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n * 2 && all_known(r, n, 1));
    freeReplyObject(r);
    r = redisCommand(c, "HRANDFIELD h -20 WITHVALUES");
    ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == 40 && all_known(r, n, 1));
    freeReplyObject(r);
    r = redisCommand(c, "HRANDFIELD h -7");
    ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == 7 && all_known(r, n, 0));
    freeReplyObject(r);
}

TEST(hrandfield) {
    redisContext *c = fresh();
    EXPECT(c, "nil", "HRANDFIELD nokey");
    EXPECT(c, "[]", "HRANDFIELD nokey 5");
    EXPECT(c, "[]", "HRANDFIELD nokey -5 WITHVALUES");
    for (int i = 0; i < 5; i++)
        EXPECT(c, "1", "HSET h a%d v%d", i, i);
    EXPECT(c, "[]", "HRANDFIELD h 0");
    EXPECT(c, "[]", "HRANDFIELD h 0 WITHVALUES");
    hrandfield_on(c, 5);
    if (test_failed_now) return;
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 3");
    EXPECT(c, "1", "HSET h a5 v5");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h");
    hrandfield_on(c, 6);
    if (test_failed_now) return;
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    EXPECT(c, "-ERR syntax error", "HRANDFIELD h 1 WITHVALUE");
    EXPECT(c, "-ERR syntax error", "HRANDFIELD h 1 WITHVALUES x");
    EXPECT(c, "-ERR value is not an integer or out of range", "HRANDFIELD h x");
    EXPECT(c, "-ERR value is out of range", "HRANDFIELD h -9223372036854770000 WITHVALUES");
    EXPECT(c, "-ERR value is out of range", "HRANDFIELD h 4611686018427387904 WITHVALUES");
    EXPECT(c,
           "-ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807",
           "HRANDFIELD h -9223372036854775808");
    redisFree(c);
}

/* Runs a full HSCAN (bounded) and returns the number of distinct fields seen, checking
 * that each is f<i> with value v<i> (or no value with NOVALUES). */
static int hscan_all(redisContext *c, const char *extra, int n, int novalues) {
    char *seen = calloc((size_t)n, 1);
    int distinct = 0;
    unsigned long long cursor = 0;
    for (int round = 0; round < 10000; round++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "HSCAN h %llu %s", cursor, extra); /* extra: several args */
        redisReply *r = redisCommand(c, cmd);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            distinct = -1;
            break;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        redisReply *items = r->element[1];
        for (size_t i = 0; i < items->elements; i += novalues ? 1 : 2) {
            int f = atoi(items->element[i]->str + 1);
            if (f < 0 || f >= n || (!novalues && atoi(items->element[i + 1]->str + 1) != f)) {
                distinct = -1000000;
                continue;
            }
            if (!seen[f]) distinct++;
            seen[f] = 1;
        }
        freeReplyObject(r);
        if (cursor == 0) break;
    }
    free(seen);
    return distinct;
}

/* Chi-square of per-field counts of HRANDFIELD's reply elements (fields f0..f9). */
static double field_chi_square(const redisReply *r) {
    unsigned hits[10] = {0};
    for (size_t i = 0; i < r->elements; i++)
        hits[atoi(r->element[i]->str + 1)]++;
    double expect = (double)r->elements / 10, chi = 0;
    for (int i = 0; i < 10; i++)
        chi += (hits[i] - expect) * (hits[i] - expect) / expect;
    return chi;
}

/* Issue 21: on a hashtable-encoded hash HRANDFIELD picked a random bucket, then a random
 * entry of it, so fields sharing a bucket came up less often (chi-square in the
 * thousands over 20,000 draws). df = 9: 40 is a 1-in-100,000 event for a fair draw. */
TEST(hrandfield_uniform_on_hashtable) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 0");
    for (int i = 0; i < 10; i++)
        freeReplyObject(redisCommand(c, "HSET rnd f%d v", i));
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING rnd");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    redisReply *r = redisCommand(c, "HRANDFIELD rnd -20000");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 20000);
    double chi = field_chi_square(r);
    if (chi >= 40) fprintf(stderr, "HRANDFIELD -20000: chi-square %.1f\n", chi);
    ASSERT(chi < 40);
    freeReplyObject(r);
    /* Plain HRANDFIELD, one field a call. */
    for (int i = 0; i < 5000; i++)
        redisAppendCommand(c, "HRANDFIELD rnd");
    redisReply all = {.type = REDIS_REPLY_ARRAY, .elements = 5000};
    all.element = calloc(5000, sizeof(redisReply *));
    for (int i = 0; i < 5000; i++)
        ASSERT(redisGetReply(c, (void **)&all.element[i]) == REDIS_OK);
    chi = field_chi_square(&all);
    if (chi >= 40) fprintf(stderr, "HRANDFIELD x5000: chi-square %.1f\n", chi);
    for (int i = 0; i < 5000; i++)
        freeReplyObject(all.element[i]);
    free(all.element);
    ASSERT(chi < 40);
    redisFree(c);
}

TEST(hscan) {
    redisContext *c = fresh();
    EXPECT(c, "[\"0\",[]]", "HSCAN nokey 0");
    EXPECT(c, "[\"0\",[]]", "HSCAN nokey 0 COUNT 0"); /* options are not read for a missing key */
    EXPECT(c, "-ERR invalid cursor", "HSCAN h x");
    EXPECT(c, "-ERR invalid cursor", "HSCAN nokey -1");
    EXPECT(c, "2", "HSET h f1 v1 f2 v2");
    EXPECT(c, "[\"0\",[\"f1\",\"v1\",\"f2\",\"v2\"]]", "HSCAN h 0");
    EXPECT(c, "[\"0\",[\"f1\",\"f2\"]]", "HSCAN h 0 NOVALUES");
    EXPECT(c, "[\"0\",[\"f2\",\"v2\"]]", "HSCAN h 0 MATCH *2");
    EXPECT(c, "[\"0\",[\"f2\"]]", "HSCAN h 0 MATCH f[2-3] COUNT 5 NOVALUES");
    EXPECT(c, "-ERR syntax error", "HSCAN h 0 COUNT 0");
    EXPECT(c, "-ERR syntax error", "HSCAN h 0 COUNT");
    EXPECT(c, "-ERR syntax error", "HSCAN h 0 TYPE hash");
    EXPECT(c, "-ERR value is not an integer or out of range", "HSCAN h 0 COUNT x");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 16");
    for (int i = 0; i < 300; i++)
        it_int(c, "HSET h f%d v%d", i, i);
    EXPECT(c, "300", "HLEN h");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h");
    ASSERT_EQ(300, hscan_all(c, "COUNT 7", 300, 0));
    ASSERT_EQ(300, hscan_all(c, "COUNT 100 NOVALUES", 300, 1));
    ASSERT_EQ(10, hscan_all(c, "MATCH f1? COUNT 20", 300, 0)); /* f10..f19 */
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    redisFree(c);
}

TEST(encodings_and_config) {
    redisContext *c = fresh();
    EXPECT(c, "1", "HSET h a 1");
    EXPECT(c, "\"listpack\"", "OBJECT ENCODING h");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-value 8");
    EXPECT(c, "1", "HSET h long 123456789");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h");
    EXPECT(c, "1", "HSET h2 a 1");
    EXPECT(c, "1", "HSET h2 %s x", "123456789");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h2");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-value 64");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 2");
    EXPECT(c, "2", "HSET h3 a 1 b 2");
    EXPECT(c, "\"listpack\"", "OBJECT ENCODING h3");
    EXPECT(c, "1", "HSET h3 c 3");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h3");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    EXPECT(c, "[\"1\",\"2\",\"3\"]", "HMGET h3 a b c");
    /* COPY, RENAME and MOVE carry hashes. */
    EXPECT(c, "1", "COPY h3 h4");
    EXPECT(c, "[\"1\",\"2\",\"3\"]", "HMGET h4 a b c");
    EXPECT(c, "+OK", "RENAME h4 h5");
    EXPECT(c, "3", "HLEN h5");
    EXPECT(c, "1", "MOVE h5 1");
    EXPECT(c, "+OK", "SELECT 1");
    EXPECT(c, "3", "HLEN h5");
    redisFree(c);
}

/* RESP3 over a raw socket: HGETALL is a map, HRANDFIELD WITHVALUES pairs are arrays. */
TEST(resp3_shapes) {
    redisContext *c = fresh();
    redisFree(c);
    int fd = it_raw_connect();
    char buf[4096];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf), 5000) > 0);
    EXPECT_RAW(fd, "HSET h a 1\r\n", ":1\r\n");
    EXPECT_RAW(fd, "HGETALL h\r\n", "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT_RAW(fd, "HGETALL nokey\r\n", "%0\r\n");
    EXPECT_RAW(fd, "HKEYS nokey\r\n", "*0\r\n");
    EXPECT_RAW(fd, "HGET h nope\r\n", "_\r\n");
    EXPECT_RAW(fd, "HMGET h a b\r\n", "*2\r\n$1\r\n1\r\n_\r\n");
    EXPECT_RAW(fd, "HRANDFIELD h 1 WITHVALUES\r\n", "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT_RAW(fd, "HRANDFIELD h -2 WITHVALUES\r\n",
               "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT_RAW(fd, "HRANDFIELD h -2\r\n", "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    EXPECT_RAW(fd, "HRANDFIELD nokey\r\n", "_\r\n");
    EXPECT_RAW(fd, "HSCAN h 0\r\n", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT_RAW(fd, "HINCRBYFLOAT h a 1.5\r\n", "$3\r\n2.5\r\n");
    /* RESP2 flattens the pairs. */
    it_raw_send(fd, "HELLO 2\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf), 5000) > 0);
    EXPECT_RAW(fd, "HRANDFIELD h -2 WITHVALUES\r\n",
               "*4\r\n$1\r\na\r\n$3\r\n2.5\r\n$1\r\na\r\n$3\r\n2.5\r\n");
    EXPECT_RAW(fd, "HGETALL h\r\n", "*2\r\n$1\r\na\r\n$3\r\n2.5\r\n");
    EXPECT_RAW(fd, "HGET h nope\r\n", "$-1\r\n");
    close(fd);
}

int main(void) {
    it_start(NULL);
    RUN(hset_hget_basic);
    RUN(hrandfield_uniform_on_hashtable);
    RUN(hsetnx_hdel_hexists_hstrlen);
    RUN(hkeys_hvals_hgetall);
    RUN(wrongtype);
    RUN(hincrby);
    RUN(hincrbyfloat);
    RUN(hrandfield);
    RUN(hscan);
    RUN(encodings_and_config);
    RUN(resp3_shapes);
    it_stop();
    return test_report();
}
