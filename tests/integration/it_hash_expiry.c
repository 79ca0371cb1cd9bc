/* Integration tests: lazy and active expiry of hash fields (issue "THE HEART", items 3 and
 * 4): the two-level index, INFO counters, 100,000 fields reaped with no client touching
 * them, encoding conversion with TTLs, WATCH broken by a field expiring, and the index
 * cleaned by FLUSHDB/DEL/MOVE. Time moves with DEBUG CLOCK-OFFSET; waits are bounded
 * polls (WAIT_FOR), never sleeps that a correct server could outlast. */
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

static void run(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    freeReplyObject(redisvCommand(c, fmt, ap));
    va_end(ap);
}

/* The INFO keyspace line of database id ("" when it is empty), in a static buffer. */
static const char *keyspace_line(redisContext *c, int id) {
    static char line[256];
    redisReply *r = redisCommand(c, "INFO keyspace");
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "db%d:", id);
    line[0] = '\0';
    const char *p = r && r->str ? strstr(r->str, prefix) : NULL;
    if (p) {
        size_t n = strcspn(p, "\r\n");
        if (n >= sizeof(line)) n = sizeof(line) - 1;
        memcpy(line, p, n);
        line[n] = '\0';
    }
    freeReplyObject(r);
    return line;
}

static int allocator_is_libc(redisContext *c) {
    redisReply *r = redisCommand(c, "INFO memory");
    int libc = r && r->str && strstr(r->str, "mem_allocator:libc") != NULL;
    freeReplyObject(r);
    return libc;
}

TEST(active_expiry_of_an_untouched_field) {
    redisContext *c = fresh();
    long long base = it_info_field(c, "expired_subkeys");
    run(c, "HSET h a 1 b 2");
    run(c, "HPEXPIRE h 100 FIELDS 1 a");
    ASSERT_STR_EQ("db0:keys=1,expires=0,avg_ttl=0,subexpiry=1", keyspace_line(c, 0));
    run(c, "DEBUG CLOCK-OFFSET 200");
    /* Nobody reads h: the active cycle must reap a within a tick or so (hz 10). */
    WAIT_FOR(it_info_field(c, "expired_subkeys") == base + 1, 2000);
    ASSERT_STR_EQ("db0:keys=1,expires=0,avg_ttl=0,subexpiry=0", keyspace_line(c, 0));
    EXPECT(c, "[\"b\",\"2\"]", "HGETALL h");
    /* The last field going takes the key: a deletion, not a key expiry. */
    long long keys_base = it_info_field(c, "expired_keys");
    run(c, "HPEXPIRE h 100 FIELDS 1 b");
    run(c, "DEBUG CLOCK-OFFSET 400");
    /* Gone for every reader at once (DBSIZE counts it out before it is reaped)... */
    EXPECT(c, "0", "DBSIZE");
    /* ...and reaped by the active cycle. */
    WAIT_FOR(it_info_field(c, "expired_subkeys") == base + 2, 2000);
    EXPECT(c, "0", "DBSIZE");
    ASSERT_EQ(keys_base, it_info_field(c, "expired_keys"));
    ASSERT_STR_EQ("", keyspace_line(c, 0));
    run(c, "DEBUG CLOCK-OFFSET 0");
    redisFree(c);
}

TEST(lazy_expiry_counts_and_deletes) {
    redisContext *c = fresh();
    run(c, "DEBUG SET-ACTIVE-EXPIRE 0");
    long long base = it_info_field(c, "expired_subkeys");
    run(c, "HSETEX h PX 100 FIELDS 3 a 1 b 2 c 3");
    run(c, "HSET h keep 0");
    run(c, "DEBUG CLOCK-OFFSET 200");
    ASSERT_EQ(base, it_info_field(c, "expired_subkeys")); /* nothing ran yet */
    EXPECT(c, "1", "HLEN h");                             /* one access reaps all three */
    ASSERT_EQ(base + 3, it_info_field(c, "expired_subkeys"));
    ASSERT_STR_EQ("db0:keys=1,expires=0,avg_ttl=0,subexpiry=0", keyspace_line(c, 0));
    run(c, "HSETEX g PX 100 FIELDS 1 a 1");
    run(c, "DEBUG CLOCK-OFFSET 400");
    EXPECT(c, "0", "EXISTS g");
    EXPECT(c, "1", "DBSIZE");
    run(c, "DEBUG CLOCK-OFFSET 0");
    run(c, "DEBUG SET-ACTIVE-EXPIRE 1");
    redisFree(c);
}

TEST(subexpiry_counts_hashes) {
    redisContext *c = fresh();
    run(c, "HSET h1 a 1 b 2");
    run(c, "HSET h2 a 1");
    run(c, "HSET plain a 1");
    run(c, "SET s v EX 100");
    run(c, "HEXPIRE h1 100 FIELDS 2 a b");
    run(c, "HEXPIRE h2 100 FIELDS 1 a");
    /* avg_ttl depends on the keyspace's clock; the rest is exact. */
    const char *line = keyspace_line(c, 0);
    ASSERT(strncmp(line, "db0:keys=4,expires=1,avg_ttl=", 29) == 0);
    ASSERT(strcmp(line + strlen(line) - 12, ",subexpiry=2") == 0);
    run(c, "HPERSIST h1 FIELDS 1 a");
    ASSERT(strstr(keyspace_line(c, 0), "subexpiry=2") != NULL); /* b still has one */
    run(c, "HPERSIST h1 FIELDS 1 b");
    ASSERT(strstr(keyspace_line(c, 0), "subexpiry=1") != NULL);
    run(c, "HSET h2 a 2"); /* HSET clears the TTL */
    ASSERT(strstr(keyspace_line(c, 0), "subexpiry=0") != NULL);
    run(c, "HSETEX h3 EX 100 FIELDS 1 a 1");
    run(c, "COPY h3 h4");
    ASSERT(strstr(keyspace_line(c, 0), "subexpiry=2") != NULL);
    run(c, "MOVE h4 2");
    ASSERT(strstr(keyspace_line(c, 0), "subexpiry=1") != NULL);
    ASSERT_STR_EQ("db2:keys=1,expires=0,avg_ttl=0,subexpiry=1", keyspace_line(c, 2));
    run(c, "DEL h3");
    ASSERT(strstr(keyspace_line(c, 0), "subexpiry=0") != NULL);
    run(c, "UNLINK s h1 h2 plain");
    ASSERT_STR_EQ("", keyspace_line(c, 0));
    redisFree(c);
}

/* FLUSHDB, FLUSHALL, DEL, UNLINK, RENAME and MOVE leave the index consistent: nothing
 * dangling is reaped later (ASan builds would catch a freed hash), and moved hashes are
 * still reaped where they went. */
TEST(index_cleaned_by_key_commands) {
    redisContext *c = fresh();
    long long base = it_info_field(c, "expired_subkeys");
    for (int i = 0; i < 20; i++)
        run(c, "HSETEX h%d PX 100 FIELDS 2 a 1 b 2", i);
    run(c, "DEL h0 h1");
    run(c, "UNLINK h2");
    run(c, "RENAME h3 r3");
    run(c, "MOVE h4 1");
    run(c, "COPY h5 c5 DB 3");
    run(c, "FLUSHDB");
    run(c, "SELECT 3");
    run(c, "DEBUG CLOCK-OFFSET 300");
    /* Only the moved and copied hashes remain; they are reaped untouched. */
    WAIT_FOR(it_info_field(c, "expired_subkeys") >= base + 4, 2000);
    ASSERT_EQ(base + 4, it_info_field(c, "expired_subkeys"));
    ASSERT_STR_EQ("", keyspace_line(c, 1));
    ASSERT_STR_EQ("", keyspace_line(c, 3));
    run(c, "DEBUG CLOCK-OFFSET 0");
    run(c, "SELECT 0");
    for (int i = 0; i < 5; i++)
        run(c, "HSETEX h%d PX 100 FIELDS 1 a 1", i);
    run(c, "FLUSHALL");
    run(c, "DEBUG CLOCK-OFFSET 300");
    it_sleep_ms(250); /* a couple of cron ticks with nothing left to reap */
    ASSERT_EQ(base + 4, it_info_field(c, "expired_subkeys"));
    run(c, "DEBUG CLOCK-OFFSET 0");
    redisFree(c);
}

TEST(conversion_keeps_ttls) {
    redisContext *c = fresh();
    long long now;
    {
        redisReply *r = redisCommand(c, "TIME");
        now = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
        freeReplyObject(r);
    }
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 8");
    for (int i = 0; i < 8; i++)
        EXPECT(c, "1", "HSETEX h PXAT %lld FIELDS 1 f%d v%d", now + 100000 + i, i, i);
    EXPECT(c, "\"listpackex\"", "OBJECT ENCODING h");
    EXPECT(c, "1", "HSET h plain x");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING h");
    for (int i = 0; i < 8; i++) {
        redisReply *r = redisCommand(c, "HPEXPIRETIME h FIELDS 1 f%d", i);
        ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == now + 100000 + i);
        freeReplyObject(r);
    }
    EXPECT(c, "[-1]", "HPEXPIRETIME h FIELDS 1 plain");
    /* A long value converts too, TTLs intact. */
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-value 4");
    EXPECT(c, "1", "HSETEX g PXAT %lld FIELDS 1 a 1", now + 5000);
    EXPECT(c, "\"listpackex\"", "OBJECT ENCODING g");
    EXPECT(c, "1", "HSETEX g KEEPTTL FIELDS 1 a 123456789");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING g");
    EXPECT(c, "1", "HLEN g");
    {
        redisReply *r = redisCommand(c, "HPEXPIRETIME g FIELDS 1 a");
        ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == now + 5000);
        freeReplyObject(r);
    }
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-value 64");
    /* The converted hashes are still reaped actively. */
    run(c, "DEBUG CLOCK-OFFSET 200000");
    EXPECT(c, "1", "DBSIZE"); /* h keeps "plain"; g is gone, reaped or not */
    /* subexpiry counts stored hashes with field TTLs: 0 once the cycle has reaped them. */
    WAIT_FOR(strcmp(keyspace_line(c, 0), "db0:keys=1,expires=0,avg_ttl=0,subexpiry=0") == 0, 2000);
    EXPECT(c, "[\"plain\",\"x\"]", "HGETALL h");
    run(c, "DEBUG CLOCK-OFFSET 0");
    redisFree(c);
}

TEST(watch_broken_by_field_expiry) {
    redisContext *c = fresh();
    redisContext *other = it_client();
    /* Control: nothing expires, EXEC runs. */
    run(c, "HSETEX h PX 1000 FIELDS 1 a 1");
    run(c, "HSET h b 2");
    EXPECT(c, "+OK", "WATCH h");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "HSET h c 3");
    EXPECT(c, "[1]", "EXEC");
    /* Lazy: another client's read reaps the field. */
    run(c, "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(c, "+OK", "WATCH h");
    run(c, "DEBUG CLOCK-OFFSET 2000");
    EXPECT(other, "\"2\"", "HGET h b");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "HSET h d 4");
    EXPECT(c, "nil", "EXEC");
    EXPECT(c, "0", "HEXISTS h d");
    /* Active: the cycle reaps it with nobody reading. */
    run(c, "DEBUG CLOCK-OFFSET 0");
    run(c, "DEBUG SET-ACTIVE-EXPIRE 1");
    run(c, "HPEXPIRE h 1000 FIELDS 1 b");
    long long base = it_info_field(c, "expired_subkeys");
    EXPECT(c, "+OK", "WATCH h");
    run(other, "DEBUG CLOCK-OFFSET 2000");
    WAIT_FOR(it_info_field(other, "expired_subkeys") == base + 1, 2000);
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "HSET h e 5");
    EXPECT(c, "nil", "EXEC");
    run(c, "DEBUG CLOCK-OFFSET 0");
    redisFree(other);
    redisFree(c);
}

/* 100,000 fields (one big hashtable and many compact hashes) reaped with no client
 * touching them: DBSIZE falls to 0 and used_memory falls back near where it started. The
 * TTL is long (10 min) and the clock is moved past it, so that a slow run (sanitizers, a
 * loaded machine) never sees fields expire while they are still being written. */
TEST(reap_100k_fields_untouched) {
    redisContext *c = fresh();
    run(c, "DEBUG SET-ACTIVE-EXPIRE 0");
    long long mem0 = it_info_field(c, "used_memory");
    long long base = it_info_field(c, "expired_subkeys");
    enum { BIG = 50000, SMALL_KEYS = 500, SMALL_FIELDS = 100 };
    /* The big hash, in batches of 1000 fields per HSETEX. */
    const char *argv[4 + 3 + 2 * 1000];
    char names[2 * 1000][16];
    for (int batch = 0; batch < BIG / 1000; batch++) {
        int k = 0;
        argv[k++] = "HSETEX";
        argv[k++] = "big";
        argv[k++] = "PX";
        argv[k++] = "600000";
        argv[k++] = "FIELDS";
        argv[k++] = "1000";
        for (int i = 0; i < 1000; i++) {
            snprintf(names[2 * i], 16, "f%d", batch * 1000 + i);
            snprintf(names[2 * i + 1], 16, "v%d", i);
            argv[k++] = names[2 * i];
            argv[k++] = names[2 * i + 1];
        }
        redisAppendCommandArgv(c, k, argv, NULL);
    }
    for (int batch = 0; batch < BIG / 1000; batch++) {
        redisReply *r;
        ASSERT(redisGetReply(c, (void **)&r) == REDIS_OK && r->type == REDIS_REPLY_INTEGER);
        freeReplyObject(r);
    }
    /* The small hashes, pipelined. */
    for (int key = 0; key < SMALL_KEYS; key++) {
        int k = 0;
        char kname[16];
        snprintf(kname, sizeof(kname), "s%d", key);
        argv[k++] = "HSETEX";
        argv[k++] = kname;
        argv[k++] = "PX";
        argv[k++] = "600000";
        argv[k++] = "FIELDS";
        argv[k++] = "100";
        for (int i = 0; i < SMALL_FIELDS; i++) {
            snprintf(names[2 * i], 16, "f%d", i);
            snprintf(names[2 * i + 1], 16, "v%d", i);
            argv[k++] = names[2 * i];
            argv[k++] = names[2 * i + 1];
        }
        redisAppendCommandArgv(c, k, argv, NULL);
    }
    for (int key = 0; key < SMALL_KEYS; key++) {
        redisReply *r;
        ASSERT(redisGetReply(c, (void **)&r) == REDIS_OK && r->type == REDIS_REPLY_INTEGER);
        freeReplyObject(r);
    }
    EXPECT(c, "501", "DBSIZE");
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING big");
    long long mem1 = it_info_field(c, "used_memory");
    ASSERT(mem1 > mem0);
    run(c, "DEBUG CLOCK-OFFSET 1200000");
    run(c, "DEBUG SET-ACTIVE-EXPIRE 1");
    /* Only DBSIZE and INFO from here: no hash is read. Every key is gone at once for
     * DBSIZE; the cycle then reaps them. */
    EXPECT(c, "0", "DBSIZE");
    WAIT_FOR(it_info_field(c, "expired_subkeys") == base + BIG + SMALL_KEYS * SMALL_FIELDS, 20000);
    WAIT_FOR(it_info_field(c, "lazyfree_pending_objects") == 0, 5000);
    ASSERT_STR_EQ("", keyspace_line(c, 0));
    if (!allocator_is_libc(c)) {
        long long mem2 = it_info_field(c, "used_memory");
        long long grown = mem1 - mem0;
        /* Back to within a fifth of what the data took (allocator caches, index arrays). */
        if (mem2 - mem0 > grown / 5)
            TEST_FAIL("used_memory %lld -> %lld -> %lld did not fall back", mem0, mem1, mem2);
    }
    run(c, "DEBUG CLOCK-OFFSET 0");
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(active_expiry_of_an_untouched_field);
    RUN(lazy_expiry_counts_and_deletes);
    RUN(subexpiry_counts_hashes);
    RUN(index_cleaned_by_key_commands);
    RUN(conversion_keeps_ttls);
    RUN(watch_broken_by_field_expiry);
    RUN(reap_100k_fields_untouched);
    it_stop();
    return test_report();
}
