/* Integration tests: the replica's expiry mode (DB_EXPIRE_HIDE), switched on a real server
 * with DEBUG EXPIRE-MODE (a test aid). Keys past their TTL and hash fields past their
 * deadline stay stored but no read returns or counts them: GET, EXISTS, TYPE, TTL, KEYS,
 * SCAN, RANDOMKEY, DBSIZE, INFO keyspace, and the hash reads. Nothing is reaped while
 * hidden (expired_keys / expired_subkeys stay put); switching back to REAP reaps exactly
 * what was hidden, which proves it was kept. Time moves with DEBUG CLOCK-OFFSET. */
#include "integration/harness.h"

#include <stdio.h>
#include <string.h>

static void run(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    freeReplyObject(redisvCommand(c, fmt, ap));
    va_end(ap);
}

static redisContext *fresh(void) {
    redisContext *c = it_client();
    run(c, "DEBUG EXPIRE-MODE reap");
    run(c, "FLUSHALL");
    run(c, "DEBUG CLOCK-OFFSET 0");
    run(c, "CONFIG RESETSTAT");
    return c;
}

/* The INFO keyspace line of db0 ("" when empty), in a static buffer. */
static const char *keyspace_db0(redisContext *c) {
    static char line[256];
    redisReply *r = redisCommand(c, "INFO keyspace");
    const char *p = r && r->str ? strstr(r->str, "db0:") : NULL;
    line[0] = '\0';
    if (p) {
        size_t n = strcspn(p, "\r\n");
        if (n >= sizeof(line)) n = sizeof(line) - 1;
        memcpy(line, p, n);
        line[n] = '\0';
    }
    freeReplyObject(r);
    return line;
}

/* s1 expires at +10 min; s2 never; h1 has a (+10 min) and b; h2 only x (+10 min), so all of h2
 * goes; h3 is a hashtable (over the listpack limit) with f0..f599, f0..f99 due at +10 min
 * (far enough that a slow machine populating them never reaches it). */
static void populate(redisContext *c) {
    run(c, "SET s1 v1 PX 600000");
    run(c, "SET s2 v2");
    run(c, "HSET h1 a 1 b 2");
    run(c, "HPEXPIRE h1 600000 FIELDS 1 a");
    run(c, "HSETEX h2 PX 600000 FIELDS 1 x 1");
    for (int i = 0; i < 600; i++)
        run(c, "HSET h3 f%d v%d", i, i);
    for (int i = 0; i < 100; i++)
        run(c, "HPEXPIRE h3 600000 FIELDS 1 f%d", i);
}

TEST(mode_switch_and_errors) {
    redisContext *c = fresh();
    EXPECT(c, "\"reap\"", "DEBUG EXPIRE-MODE");
    EXPECT(c, "+OK", "DEBUG EXPIRE-MODE HIDE");
    EXPECT(c, "\"hide\"", "DEBUG EXPIRE-MODE");
    EXPECT(c, "-ERR syntax error", "DEBUG EXPIRE-MODE sometimes");
    EXPECT(c, "-ERR wrong number of arguments for 'debug|expire-mode' command",
           "DEBUG EXPIRE-MODE hide now");
    EXPECT(c, "+OK", "DEBUG EXPIRE-MODE reap");
    redisFree(c);
}

TEST(hidden_keys_and_fields_are_never_read) {
    redisContext *c = fresh();
    run(c, "DEBUG EXPIRE-MODE hide");
    populate(c);
    EXPECT(c, "5", "DBSIZE");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h3");
    run(c, "DEBUG CLOCK-OFFSET 1200000");
    /* Strings and whole keys. */
    EXPECT(c, "nil", "GET s1");
    EXPECT(c, "\"v2\"", "GET s2");
    EXPECT(c, "2", "EXISTS s1 s2 h1 h2"); /* s2, h1 */
    EXPECT(c, "+none", "TYPE s1");
    EXPECT(c, "+none", "TYPE h2");
    EXPECT(c, "-2", "TTL s1");
    EXPECT(c, "-2", "PTTL h2");
    EXPECT(c, "-2", "EXPIRETIME s1");
    EXPECT(c, "3", "DBSIZE");
    ASSERT_STR_EQ("db0:keys=3,expires=1,avg_ttl=0,subexpiry=3", keyspace_db0(c));
    redisReply *r = redisCommand(c, "KEYS *");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    for (size_t i = 0; i < r->elements; i++)
        ASSERT(strcmp(r->element[i]->str, "s1") != 0 && strcmp(r->element[i]->str, "h2") != 0);
    freeReplyObject(r);
    r = redisCommand(c, "SCAN 0 COUNT 100");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->element[1]->elements == 3);
    freeReplyObject(r);
    for (int i = 0; i < 50; i++) {
        const char *k = it_run(c, "RANDOMKEY");
        ASSERT(strcmp(k, "\"s2\"") == 0 || strcmp(k, "\"h1\"") == 0 || strcmp(k, "\"h3\"") == 0);
    }
    /* Hash fields. */
    EXPECT(c, "1", "HLEN h1");
    EXPECT(c, "nil", "HGET h1 a");
    EXPECT(c, "[nil,\"2\"]", "HMGET h1 a b");
    EXPECT(c, "[\"b\",\"2\"]", "HGETALL h1");
    EXPECT(c, "[\"b\"]", "HKEYS h1");
    EXPECT(c, "0", "HEXISTS h1 a");
    EXPECT(c, "0", "HSTRLEN h1 a");
    EXPECT(c, "[-2,-1]", "HTTL h1 FIELDS 2 a b");
    EXPECT(c, "\"b\"", "HRANDFIELD h1");
    EXPECT(c, "[\"0\",[\"b\",\"2\"]]", "HSCAN h1 0");
    EXPECT(c, "0", "HLEN h2");
    EXPECT(c, "[]", "HGETALL h2");
    EXPECT(c, "500", "HLEN h3");
    EXPECT(c, "nil", "HGET h3 f5");
    EXPECT(c, "\"v150\"", "HGET h3 f150");
    r = redisCommand(c, "HKEYS h3");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 500);
    for (size_t i = 0; i < r->elements; i++)
        ASSERT(atoi(r->element[i]->str + 1) >= 100);
    freeReplyObject(r);
    r = redisCommand(c, "HRANDFIELD h3 -300");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 300);
    for (size_t i = 0; i < r->elements; i++)
        ASSERT(atoi(r->element[i]->str + 1) >= 100);
    freeReplyObject(r);
    /* Nothing was reaped, lazily or actively. */
    ASSERT_EQ(0, it_info_field(c, "expired_keys"));
    ASSERT_EQ(0, it_info_field(c, "expired_subkeys"));
    /* Back to REAP: the hidden part was kept, and now goes (s1; a, x and f0..f99). */
    run(c, "DEBUG EXPIRE-MODE reap");
    EXPECT(c, "2", "EXISTS s1 s2 h1 h2");
    EXPECT(c, "500", "HLEN h3");
    ASSERT_EQ(1, it_info_field(c, "expired_keys"));
    ASSERT_EQ(102, it_info_field(c, "expired_subkeys"));
    EXPECT(c, "3", "DBSIZE");
    redisFree(c);
}

TEST(client_writes_overwrite_what_is_hidden) {
    redisContext *c = fresh();
    run(c, "DEBUG EXPIRE-MODE hide");
    populate(c);
    run(c, "DEBUG CLOCK-OFFSET 1200000");
    EXPECT(c, "+OK", "SET s1 new");
    EXPECT(c, "\"new\"", "GET s1");
    EXPECT(c, "-1", "TTL s1");
    EXPECT(c, "1", "HSET h2 y 1"); /* h2 was hidden: a new hash */
    EXPECT(c, "[\"y\",\"1\"]", "HGETALL h2");
    EXPECT(c, "1", "HSET h1 a again"); /* a due field is absent to writers */
    EXPECT(c, "2", "HLEN h1");
    EXPECT(c, "0", "DEL nope s1x");
    EXPECT(c, "5", "DBSIZE");
    ASSERT_EQ(0, it_info_field(c, "expired_keys"));
    ASSERT_EQ(0, it_info_field(c, "expired_subkeys"));
    run(c, "DEBUG EXPIRE-MODE reap");
    redisFree(c);
}

TEST(active_expiry_stays_off_while_hidden) {
    redisContext *c = fresh();
    run(c, "DEBUG EXPIRE-MODE hide");
    populate(c);
    run(c, "DEBUG CLOCK-OFFSET 1200000");
    /* A regression guard, not the proof (test_db_hide checks the cycle itself): at hz 100,
     * 20 ticks would have reaped everything due in REAP mode. */
    it_sleep_ms(200);
    ASSERT_EQ(0, it_info_field(c, "expired_keys"));
    ASSERT_EQ(0, it_info_field(c, "expired_subkeys"));
    run(c, "DEBUG EXPIRE-MODE reap");
    /* In REAP mode the cycle reaps the same untouched keys and fields by itself. */
    WAIT_FOR(it_info_field(c, "expired_subkeys") == 102, 5000);
    ASSERT_EQ(1, it_info_field(c, "expired_keys"));
    redisFree(c);
}

/* REAP mode too: KEYS (which cannot reap while it iterates) skips a hash whose every field
 * is due, as it skips a key past its TTL, before anything reaps them. */
TEST(keys_skips_what_is_due_in_reap_mode) {
    redisContext *c = fresh();
    run(c, "DEBUG SET-ACTIVE-EXPIRE 0");
    run(c, "HSETEX gone PX 600000 FIELDS 2 a 1 b 2");
    run(c, "SET old v PX 600000");
    run(c, "SET kept v");
    run(c, "DEBUG CLOCK-OFFSET 1200000");
    EXPECT(c, "[\"kept\"]", "KEYS *");
    ASSERT_EQ(0, it_info_field(c, "expired_keys"));
    ASSERT_EQ(0, it_info_field(c, "expired_subkeys"));
    run(c, "DEBUG SET-ACTIVE-EXPIRE 1");
    redisFree(c);
}

int main(void) {
    const char *args[] = {"--hz", "100", NULL};
    it_start(args);
    RUN(mode_switch_and_errors);
    RUN(hidden_keys_and_fields_are_never_read);
    RUN(client_writes_overwrite_what_is_hidden);
    RUN(active_expiry_stays_off_while_hidden);
    RUN(keys_skips_what_is_due_in_reap_mode);
    it_stop();
    return test_report();
}
