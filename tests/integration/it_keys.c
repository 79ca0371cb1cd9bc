/* Integration tests: generic key commands, TTLs and active expiry (keyspace issue, items
 * 1-3). TTL tests move the server's clock with DEBUG CLOCK-OFFSET instead of sleeping. */
#include "integration/harness.h"

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

TEST(del_exists_type) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "MSET a 1 b 2 c 3");
    EXPECT(c, "3", "EXISTS a b a");
    EXPECT(c, "+string", "TYPE a");
    EXPECT(c, "+none", "TYPE nosuch");
    EXPECT(c, "2", "DEL a b nosuch");
    EXPECT(c, "1", "UNLINK c");
    EXPECT(c, "0", "EXISTS a b c");
    EXPECT(c, "-ERR wrong number of arguments for 'del' command", "DEL");
    redisFree(c);
}

TEST(keys_patterns) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 h*llo 6");
    EXPECT(c, "6", "DBSIZE");
    redisReply *r = redisCommand(c, "KEYS h?llo");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 4); /* h*llo too */
    freeReplyObject(r);
    r = redisCommand(c, "KEYS h[ae]llo");
    ASSERT(r && r->elements == 2);
    freeReplyObject(r);
    r = redisCommand(c, "KEYS h[^e]llo");
    ASSERT(r && r->elements == 3); /* hallo hxllo h*llo */
    freeReplyObject(r);
    r = redisCommand(c, "KEYS h\\*llo");
    ASSERT(r && r->elements == 1 && strcmp(r->element[0]->str, "h*llo") == 0);
    freeReplyObject(r);
    r = redisCommand(c, "KEYS *");
    ASSERT(r && r->elements == 6);
    freeReplyObject(r);
    EXPECT(c, "[]", "KEYS nomatch*");
    redisFree(c);
}

TEST(scan_basic_and_options) {
    redisContext *c = fresh();
    for (int i = 0; i < 100; i++)
        freeReplyObject(redisCommand(c, "SET key:%d %d", i, i));
    int seen[100] = {0};
    unsigned long long cursor = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %llu COUNT 7", cursor);
        ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            seen[atoi(r->element[1]->element[i]->str + 4)]++;
        freeReplyObject(r);
    } while (cursor != 0);
    for (int i = 0; i < 100; i++)
        ASSERT(seen[i] >= 1);
    EXPECT(c, "-ERR invalid cursor", "SCAN abc");
    EXPECT(c, "-ERR syntax error", "SCAN 0 COUNT 0");
    EXPECT(c, "-ERR syntax error", "SCAN 0 FOO bar");
    EXPECT(c, "-ERR syntax error", "SCAN 0 COUNT");
    EXPECT(c, "-ERR value is not an integer or out of range", "SCAN 0 COUNT x");
    /* MATCH and TYPE filter. */
    int matched = 0, other_type = 0;
    cursor = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %llu MATCH key:1* COUNT 1000", cursor);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        matched += (int)r->element[1]->elements;
        freeReplyObject(r);
        r = redisCommand(c, "SCAN %llu TYPE hash COUNT 1000", 0ULL);
        other_type += (int)r->element[1]->elements;
        freeReplyObject(r);
    } while (cursor != 0);
    ASSERT_EQ(11, matched); /* key:1, key:10..19 */
    ASSERT_EQ(0, other_type);
    redisFree(c);
}

TEST(scan_guarantee_under_growth) {
    redisContext *c = fresh();
    for (int i = 0; i < 1000; i++)
        freeReplyObject(redisCommand(c, "SET base:%d x", i));
    static int seen[1000];
    memset(seen, 0, sizeof(seen));
    unsigned long long cursor = 0;
    int added = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %llu COUNT 20", cursor);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str;
            if (strncmp(k, "base:", 5) == 0) seen[atoi(k + 5)]++;
        }
        freeReplyObject(r);
        /* The table grows (and rehashes) between steps, about as fast as SCAN advances. */
        for (int j = 0; j < 20; j++)
            freeReplyObject(redisCommand(c, "SET new:%d x", added++));
        if (added > 200000) TEST_FAIL("SCAN did not finish");
    } while (cursor != 0);
    for (int i = 0; i < 1000; i++)
        if (!seen[i]) TEST_FAIL("base:%d never returned", i);
    redisFree(c);
}

TEST(randomkey) {
    redisContext *c = fresh();
    EXPECT(c, "nil", "RANDOMKEY");
    EXPECT(c, "+OK", "SET only v");
    EXPECT(c, "\"only\"", "RANDOMKEY");
    EXPECT(c, "+OK", "SET gone v PX 100");
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 1000");
    for (int i = 0; i < 20; i++)
        EXPECT(c, "\"only\"", "RANDOMKEY");
    redisFree(c);
}

TEST(rename_renamenx) {
    redisContext *c = fresh();
    EXPECT(c, "-ERR no such key", "RENAME nosuch x");
    EXPECT(c, "-ERR no such key", "RENAMENX nosuch x");
    EXPECT(c, "+OK", "SET a 1 EX 100");
    EXPECT(c, "+OK", "RENAME a b");
    EXPECT(c, "0", "EXISTS a");
    EXPECT(c, "100", "TTL b");
    EXPECT(c, "+OK", "RENAME b b");
    EXPECT(c, "0", "RENAMENX b b");
    EXPECT(c, "+OK", "SET c 3");
    EXPECT(c, "0", "RENAMENX b c");
    EXPECT(c, "1", "RENAMENX b d");
    EXPECT(c, "+OK", "RENAME d c");
    EXPECT(c, "\"1\"", "GET c");
    EXPECT(c, "100", "TTL c");
    redisFree(c);
}

TEST(copy_move_swapdb) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET a hello EX 100");
    EXPECT(c, "1", "COPY a b");
    EXPECT(c, "\"hello\"", "GET b");
    EXPECT(c, "100", "TTL b");
    EXPECT(c, "0", "COPY a b");
    EXPECT(c, "1", "COPY a b REPLACE");
    EXPECT(c, "0", "COPY nosuch b");
    EXPECT(c, "-ERR source and destination objects are the same", "COPY a a");
    EXPECT(c, "1", "COPY a a DB 1");
    EXPECT(c, "-ERR DB index is out of range", "COPY a a DB 99");
    EXPECT(c, "-ERR value is not an integer or out of range", "COPY a a DB x");
    EXPECT(c, "-ERR syntax error", "COPY a b FOO");
    EXPECT(c, "+OK", "SET n 5");
    EXPECT(c, "1", "COPY n n2");
    EXPECT(c, "1", "OBJECT REFCOUNT n2");
    EXPECT(c, "0", "MOVE a 1"); /* exists in db 1 already */
    EXPECT(c, "1", "MOVE b 2");
    EXPECT(c, "0", "EXISTS b");
    EXPECT(c, "-ERR source and destination objects are the same", "MOVE a 0");
    EXPECT(c, "-ERR DB index is out of range", "MOVE a 16");
    EXPECT(c, "-ERR value is not an integer or out of range", "MOVE a x");
    EXPECT(c, "0", "MOVE nosuch 1");
    EXPECT(c, "+OK", "SELECT 2");
    EXPECT(c, "\"hello\"", "GET b");
    EXPECT(c, "100", "TTL b");
    EXPECT(c, "+OK", "SWAPDB 0 2");
    EXPECT(c, "\"hello\"", "GET a");
    EXPECT(c, "0", "EXISTS b");
    EXPECT(c, "+OK", "SWAPDB 2 2");
    EXPECT(c, "-ERR invalid first DB index", "SWAPDB x 1");
    EXPECT(c, "-ERR invalid second DB index", "SWAPDB 1 x");
    EXPECT(c, "-ERR DB index is out of range", "SWAPDB 1 16");
    redisFree(c);
}

TEST(object_and_memory) {
    redisContext *c = fresh();
    EXPECT(c, "nil", "OBJECT ENCODING nosuch");
    EXPECT(c, "+OK", "SET k v");
    EXPECT(c, "0", "OBJECT IDLETIME k");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 5000");
    EXPECT(c, "5", "OBJECT IDLETIME k");
    EXPECT(c, "1", "TOUCH k nosuch");
    EXPECT(c, "0", "OBJECT IDLETIME k");
    EXPECT(c,
           "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
           "Please note that when switching between policies at runtime LRU and LFU data "
           "will take some time to adjust.",
           "OBJECT FREQ k");
    const char *help = it_run(c, "OBJECT HELP");
    ASSERT(strncmp(help, "[+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", 64) ==
           0);
    EXPECT(c, "-ERR unknown subcommand 'foo'. Try OBJECT HELP.", "OBJECT foo");
    ASSERT(it_int(c, "MEMORY USAGE k") > 0);
    ASSERT(it_int(c, "MEMORY USAGE k SAMPLES 0") > 0);
    EXPECT(c, "nil", "MEMORY USAGE nosuch");
    EXPECT(c, "-ERR syntax error", "MEMORY USAGE k SAMPLES -1");
    redisFree(c);
}

TEST(expire_family) {
    redisContext *c = fresh();
    EXPECT(c, "0", "EXPIRE nosuch 10");
    EXPECT(c, "-2", "TTL nosuch");
    EXPECT(c, "-2", "PTTL nosuch");
    EXPECT(c, "-2", "EXPIRETIME nosuch");
    EXPECT(c, "+OK", "SET k v");
    EXPECT(c, "-1", "TTL k");
    EXPECT(c, "-1", "PEXPIRETIME k");
    EXPECT(c, "1", "EXPIRE k 100");
    EXPECT(c, "100", "TTL k");
    ASSERT(it_int(c, "PTTL k") > 99000);
    EXPECT(c, "1", "PEXPIRE k 50000");
    EXPECT(c, "50", "TTL k");
    EXPECT(c, "1", "EXPIREAT k 4102444800");
    EXPECT(c, "4102444800", "EXPIRETIME k");
    EXPECT(c, "4102444800000", "PEXPIRETIME k");
    EXPECT(c, "1", "PEXPIREAT k 4102444800123");
    EXPECT(c, "4102444800123", "PEXPIRETIME k");
    EXPECT(c, "1", "PERSIST k");
    EXPECT(c, "0", "PERSIST k");
    EXPECT(c, "0", "PERSIST nosuch");
    /* NX XX GT LT */
    EXPECT(c, "0", "EXPIRE k 100 XX");
    EXPECT(c, "0", "EXPIRE k 100 GT"); /* no TTL counts as infinite */
    EXPECT(c, "1", "EXPIRE k 100 NX");
    EXPECT(c, "0", "EXPIRE k 200 NX");
    EXPECT(c, "1", "EXPIRE k 200 XX");
    EXPECT(c, "0", "EXPIRE k 100 GT");
    EXPECT(c, "1", "EXPIRE k 300 GT");
    EXPECT(c, "0", "EXPIRE k 400 LT");
    EXPECT(c, "1", "EXPIRE k 50 LT");
    EXPECT(c, "1", "EXPIRE k 40 lt xx");
    EXPECT(c, "-ERR NX and XX, GT or LT options at the same time are not compatible",
           "EXPIRE k 10 NX XX");
    EXPECT(c, "-ERR GT and LT options at the same time are not compatible", "EXPIRE k 10 GT LT");
    EXPECT(c, "-ERR Unsupported option foo", "EXPIRE k 10 foo");
    EXPECT(c, "-ERR value is not an integer or out of range", "EXPIRE k x");
    EXPECT(c, "-ERR invalid expire time in 'expire' command", "EXPIRE k 9223372036854775807");
    EXPECT(c, "-ERR invalid expire time in 'pexpire' command", "PEXPIRE k 9223372036854775807");
    EXPECT(c, "-ERR invalid expire time in 'expireat' command", "EXPIREAT k -9223372036854775808");
    EXPECT(c, "+OK", "SET p v");
    EXPECT(c, "1", "PEXPIREAT p 9223372036854775807");
    /* A time in the past deletes at once. */
    EXPECT(c, "1", "EXPIRE k -1");
    EXPECT(c, "0", "EXISTS k");
    EXPECT(c, "+OK", "SET k v");
    EXPECT(c, "1", "EXPIREAT k 1");
    EXPECT(c, "-2", "TTL k");
    redisFree(c);
}

TEST(lazy_expiry_with_clock_offset) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    long long before = it_info_field(c, "expired_keys");
    /* PX 1800, not 1500: TTL rounds (ttl + 500) / 1000, and 1500 gave 1 instead of 2 as
     * soon as one millisecond passed between SET and TTL (a timed assertion). */
    EXPECT(c, "+OK", "SET k v PX 1800");
    EXPECT(c, "2", "TTL k"); /* (ttl + 500) / 1000 rounds */
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 1000");
    EXPECT(c, "1", "TTL k");
    EXPECT(c, "1", "DBSIZE");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 2000");
    EXPECT(c, "0", "DBSIZE");                            /* gone for every reader... */
    ASSERT_EQ(before, it_info_field(c, "expired_keys")); /* ...but not reaped until touched */
    EXPECT(c, "nil", "GET k");
    EXPECT(c, "0", "DBSIZE");
    ASSERT_EQ(before + 1, it_info_field(c, "expired_keys"));
    redisFree(c);
}

TEST(info_keyspace) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "SET a 1");
    EXPECT(c, "+OK", "SET b 1 EX 100");
    redisReply *r = redisCommand(c, "INFO keyspace");
    ASSERT(r && r->type == REDIS_REPLY_STRING);
    char *line = strstr(r->str, "db0:keys=2,expires=1,avg_ttl=");
    ASSERT(line != NULL);
    long long avg = atoll(line + strlen("db0:keys=2,expires=1,avg_ttl="));
    ASSERT(avg > 90000 && avg <= 100000);
    ASSERT(strstr(r->str, ",subexpiry=0\r\n") != NULL);
    ASSERT(strstr(r->str, "db1:") == NULL);
    freeReplyObject(r);
    redisFree(c);
}

TEST(active_expiry_100k_untouched) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    long long before = it_info_field(c, "expired_keys");
    for (int i = 0; i < 100000; i++)
        redisAppendCommand(c, "SET k:%d v PX %d", i, 100000 + i % 500);
    for (int i = 0; i < 100000; i++) {
        redisReply *r;
        ASSERT(redisGetReply(c, (void **)&r) == REDIS_OK);
        freeReplyObject(r);
    }
    EXPECT(c, "+OK", "SET keeper v");
    EXPECT(c, "100001", "DBSIZE");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 200000");
    /* Nothing touched, active expiry off: nothing reaped, yet DBSIZE counts only "keeper". */
    EXPECT(c, "1", "DBSIZE");
    ASSERT_EQ(before, it_info_field(c, "expired_keys"));
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    WAIT_FOR(it_info_field(c, "expired_keys") == before + 100000, 10000);
    EXPECT(c, "1", "DBSIZE");
    EXPECT(c, "\"v\"", "GET keeper");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 0");
    redisFree(c);
}

TEST(active_expiry_in_order) {
    redisContext *c = fresh();
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    long long before = it_info_field(c, "expired_keys");
    EXPECT(c, "+OK", "SET early v PX 1000");
    EXPECT(c, "+OK", "SET late v PX 60000");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 2000");
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    WAIT_FOR(it_info_field(c, "expired_keys") == before + 1, 2000);
    EXPECT(c, "1", "DBSIZE");
    EXPECT(c, "1", "EXISTS late");
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(del_exists_type);
    RUN(keys_patterns);
    RUN(scan_basic_and_options);
    RUN(scan_guarantee_under_growth);
    RUN(randomkey);
    RUN(rename_renamenx);
    RUN(copy_move_swapdb);
    RUN(object_and_memory);
    RUN(expire_family);
    RUN(lazy_expiry_with_clock_offset);
    RUN(info_keyspace);
    RUN(active_expiry_100k_untouched);
    RUN(active_expiry_in_order);
    it_stop();
    return test_report();
}
