/* it_rdb_redis: RDB files across Mayfly and a real Redis (Debian's redis-server 7.0, which
 * reads and writes RDB 10). Dumps Redis writes, with and without rdbcompression, load in
 * Mayfly with every key, value and TTL equal (the two servers are compared key by key);
 * a dump Mayfly writes of a dataset without field TTLs is accepted by redis-check-rdb and
 * loaded by redis-server once its version bytes say 10 (RDB 12 adds only the field-TTL
 * types over 10; Redis 7.0 refuses any newer version number). */
#include "integration/rdb_util.h"
#include "mayfly/util/crc64.h"

/* Strings of every encoding, key TTLs, hashes of every encoding Redis 7.0 writes. */
static void fill(redisContext *c, long long t) {
    it_run(c, "SET small 12");
    it_run(c, "SET big -9223372036854775808");
    it_run(c, "SET emb hello");
    it_run(c, "SET raw %0100d", 42);
    it_run(c, "SET zeros %01000d", 0);
    char bin[300];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)(i * 37 + 11);
    redisReply *r = redisCommand(c, "SET bin %b", bin, sizeof(bin));
    freeReplyObject(r);
    r = redisCommand(c, "SET %b empty", "", (size_t)0);
    freeReplyObject(r);
    it_run(c, "SET ttl v PXAT %lld", t);
    it_run(c, "HSET lp a 1 b two c -300 d 70000 e 4294967296 f 007");
    it_run(c, "PEXPIREAT lp %lld", t + 1);
    r = redisCommand(c, "HSET binhash %b %b x y", bin, (size_t)20, bin + 20, (size_t)30);
    freeReplyObject(r);
    it_run(c, "HSET longval f %0100d", 1);
    for (int i = 0; i < 700; i++)
        redisAppendCommand(c, "HSET ht f%d %d", i, i % 3 ? i : -i * 1000);
    for (int i = 0; i < 700; i++) {
        redisReply *x;
        if (redisGetReply(c, (void **)&x) == REDIS_OK) freeReplyObject(x);
    }
    it_run(c, "SELECT 1");
    it_run(c, "SET one 1");
    it_run(c, "HSET h1 f v");
    it_run(c, "SELECT 9");
    it_run(c, "SET nine 9 PXAT %lld", t + 2);
    it_run(c, "SELECT 0");
}

/* Copies the file src of a server's directory to dst's directory as dump.rdb. */
static int copy_dump(const it_server *from, const it_server *to) {
    char src[600], dst[600];
    snprintf(src, sizeof(src), "%s/dump.rdb", from->dir);
    snprintf(dst, sizeof(dst), "%s/dump.rdb", to->dir);
    return ru_copy(src, dst, -1);
}

TEST(redis70_dumps_load_in_mayfly) {
    long long t = pu_now_ms() + 3600000;
    it_server redis, mayfly;
    it_start_redis(&redis, NULL);
    redisContext *rc = it_client_to(&redis);
    fill(rc, t);
    EXPECT(rc, "\"hashtable\"", "OBJECT ENCODING ht");
    EXPECT(rc, "\"listpack\"", "OBJECT ENCODING lp");
    it_start_server(&mayfly, NULL);
    for (int compress = 1; compress >= 0; compress--) {
        EXPECT(rc, "+OK", "CONFIG SET rdbcompression %s", compress ? "yes" : "no");
        EXPECT(rc, "+OK", "SAVE");
        it_kill_server(&mayfly);
        if (copy_dump(&redis, &mayfly) < 0) TEST_FAIL("copy");
        if (!it_restart_server(&mayfly, NULL)) TEST_FAIL("Mayfly refused Redis 7.0's dump");
        redisContext *mc = it_client_to(&mayfly);
        int same = ru_same_dataset(rc, mc, 16);
        redisFree(mc);
        if (!same) TEST_FAIL("datasets differ (rdbcompression %s)", compress ? "yes" : "no");
    }
    redisFree(rc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

/* Rewrites an RDB file's version and its CRC64 trailer. */
static int set_version(const char *path, const char *digits) {
    size_t len;
    char *p = ru_read(path, &len);
    if (!p || len < 17 || memcmp(p, "REDIS", 5) != 0) return -1;
    memcpy(p + 5, digits, 4);
    uint64_t crc = crc64(0, p, len - 8);
    for (int i = 0; i < 8; i++)
        p[len - 8 + i] = (char)(crc >> (8 * i));
    int rc = ru_write(path, p, len);
    free(p);
    return rc;
}

TEST(mayfly_dump_loads_in_redis70) {
    long long t = pu_now_ms() + 3600000;
    it_server redis, mayfly;
    it_start_server(&mayfly, NULL);
    redisContext *mc = it_client_to(&mayfly);
    fill(mc, t);
    EXPECT(mc, "+OK", "SAVE");
    it_start_redis(&redis, NULL);
    it_kill_server(&redis);
    if (copy_dump(&mayfly, &redis) < 0) TEST_FAIL("copy");
    char dump[600], out[8192];
    snprintf(dump, sizeof(dump), "%s/dump.rdb", redis.dir);
    if (set_version(dump, "0010") < 0) TEST_FAIL("not an RDB file");
    if (ru_shell(out, sizeof(out), "redis-check-rdb '%s'", dump) != 0 ||
        !strstr(out, "RDB looks OK"))
        TEST_FAIL("redis-check-rdb: %s", out);
    if (!it_restart_server(&redis, NULL)) TEST_FAIL("redis-server refused Mayfly's dump");
    redisContext *rc = it_client_to(&redis);
    if (!ru_same_dataset(mc, rc, 16)) TEST_FAIL("datasets differ");
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&redis);
    it_stop_server(&mayfly);
}

/* The rendered reply of a command (a literal format: its words are the arguments). */
#define REPLY_INTO(out, c, ...) (snprintf(out, sizeof(out), "%s", it_run(c, __VA_ARGS__)), out)

/* DEBUG DIGEST and DIGEST-VALUE give Redis's own digests: the same data written to Redis
 * 7.0 and to Mayfly digest alike (strings of every encoding, hashes of both encodings, key
 * TTLs, several databases), an empty dataset is forty zeros, and a hash field with a TTL
 * counts as Redis 7.4+ counts it (the value below is Redis 7.4's for that hash). DEBUG
 * POPULATE is checked by the digests too. */
TEST(debug_digest_is_redis_digest) {
    static const char *const dbg[] = {"--enable-debug-command", "yes", NULL};
    long long t = pu_now_ms() + 3600000;
    it_server redis, mayfly;
    it_start_redis(&redis, dbg);
    it_start_server(&mayfly, dbg);
    redisContext *rc = it_client_to(&redis), *mc = it_client_to(&mayfly);
    char want[128], got[128];
    EXPECT(mc, REPLY_INTO(want, rc, "DEBUG DIGEST"), "DEBUG DIGEST");
    if (strcmp(want, "+0000000000000000000000000000000000000000") != 0)
        TEST_FAIL("empty digest %s", want);
    fill(rc, t);
    fill(mc, t);
    REPLY_INTO(want, rc, "DEBUG DIGEST");
    if (strcmp(REPLY_INTO(got, mc, "DEBUG DIGEST"), want) != 0)
        TEST_FAIL("DIGEST: Redis %s, Mayfly %s", want, got);
#define KEYS "small big emb raw zeros bin ttl lp binhash longval ht none"
    char wantv[2048], gotv[2048];
    REPLY_INTO(wantv, rc, "DEBUG DIGEST-VALUE " KEYS);
    if (strcmp(REPLY_INTO(gotv, mc, "DEBUG DIGEST-VALUE " KEYS), wantv) != 0)
        TEST_FAIL("DIGEST-VALUE: Redis %s, Mayfly %s", wantv, gotv);
    /* Moving a key to another database changes the digest, as in Redis. */
    EXPECT(rc, "1", "MOVE emb 3");
    EXPECT(mc, "1", "MOVE emb 3");
    EXPECT(mc, REPLY_INTO(want, rc, "DEBUG DIGEST"), "DEBUG DIGEST");
    if (strcmp(want, got) == 0) TEST_FAIL("MOVE did not change the digest");
    EXPECT(mc, "2", "HSET hfe f1 v1 f2 v2");
    EXPECT(mc, "[1]", "HEXPIRE hfe 100 FIELDS 1 f1");
    EXPECT(mc, "[+c0a4c76394f815dbaa91c1fd2331c14d8dd7df19]", "DEBUG DIGEST-VALUE hfe");
    /* DEBUG POPULATE makes Redis's keys and values (existing keys kept, values cut or
     * padded with zero bytes), and refuses what Redis refuses. */
    EXPECT(rc, "+OK", "FLUSHALL");
    EXPECT(mc, "+OK", "FLUSHALL");
    static const char *const populate[] = {"SET key:3 keep",          "DEBUG POPULATE 10",
                                           "DEBUG POPULATE 5 pre 3",  "DEBUG POPULATE 3 big 12",
                                           "DEBUG POPULATE -1",       "DEBUG POPULATE x",
                                           "DEBUG POPULATE 2 pre 1x", "DEBUG POPULATE 0"};
    for (size_t i = 0; i < sizeof(populate) / sizeof(populate[0]); i++) {
        char *argv[8];
        size_t argvlen[8];
        int argc = 0;
        char line[64];
        snprintf(line, sizeof(line), "%s", populate[i]);
        for (char *w = strtok(line, " "); w && argc < 8; w = strtok(NULL, " ")) {
            argv[argc] = w;
            argvlen[argc++] = strlen(w);
        }
        redisReply *a = redisCommandArgv(rc, argc, (const char **)argv, argvlen);
        redisReply *b = redisCommandArgv(mc, argc, (const char **)argv, argvlen);
        int same = a && b && a->type == b->type &&
                   (a->type != REDIS_REPLY_ERROR || strcmp(a->str, b->str) == 0);
        if (a) freeReplyObject(a);
        if (b) freeReplyObject(b);
        if (!same) TEST_FAIL("%s: replies differ", populate[i]);
    }
    EXPECT(mc, "18", "DBSIZE");
    EXPECT(mc, "\"value:2\\x00\\x00\\x00\\x00\\x00\"", "GET big:2");
    EXPECT(mc, REPLY_INTO(want, rc, "DEBUG DIGEST"), "DEBUG DIGEST");
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&redis);
    it_stop_server(&mayfly);
}

/* A key's LFU counter in a Redis dump (saved under an LFU policy) is loaded by Mayfly under
 * an LFU policy (OBJECT FREQ as in Redis), and its idle time under an LRU one. */
TEST(access_clocks_in_redis70_dumps_load) {
    static const char *const lfu[] = {"--maxmemory-policy", "allkeys-lfu", NULL};
    static const char *const lru[] = {"--maxmemory-policy", "allkeys-lru", NULL};
    const char *const *policies[2] = {lfu, lru};
    it_server redis, mayfly;
    it_start_server(&mayfly, NULL);
    for (int i = 0; i < 2; i++) {
        it_start_redis(&redis, policies[i]);
        redisContext *rc = it_client_to(&redis);
        it_run(rc, "SET k v");
        redisReply *d = redisCommand(rc, "DUMP k");
        if (!d || d->type != REDIS_REPLY_STRING) TEST_FAIL("DUMP");
        redisReply *r = redisCommand(
            rc, i == 0 ? "RESTORE k 0 %b REPLACE FREQ 100" : "RESTORE k 0 %b REPLACE IDLETIME 1000",
            d->str, d->len);
        freeReplyObject(r);
        freeReplyObject(d);
        EXPECT(rc, "+OK", "SAVE");
        it_kill_server(&mayfly);
        if (copy_dump(&redis, &mayfly) < 0) TEST_FAIL("copy");
        if (!it_restart_server(&mayfly, policies[i])) TEST_FAIL("Mayfly refused the dump");
        redisContext *mc = it_client_to(&mayfly);
        if (i == 0) {
            long long want = it_int(rc, "OBJECT FREQ k"), got = it_int(mc, "OBJECT FREQ k");
            if (want != 100 || got != want) TEST_FAIL("FREQ: Redis %lld, Mayfly %lld", want, got);
        } else {
            long long got = it_int(mc, "OBJECT IDLETIME k");
            if (got < 1000 || got > 1010) TEST_FAIL("IDLETIME %lld", got);
        }
        redisFree(mc);
        redisFree(rc);
        it_stop_server(&redis);
    }
    it_stop_server(&mayfly);
}

/* Runs one step of debug_reload_as_redis: its words as arguments, except a FUNCTION LOAD,
 * whose code (the rest of the line) is one argument. The rendered reply goes to out. */
static void reload_step(redisContext *c, const char *step, char *out, size_t cap) {
    redisReply *r;
    if (strncmp(step, "FUNCTION LOAD ", 14) == 0) {
        r = redisCommand(c, "FUNCTION LOAD %s", step + 14);
    } else {
        char words[256];
        const char *argv[8];
        int n = 0;
        snprintf(words, sizeof(words), "%s", step);
        for (char *w = strtok(words, " "); w && n < 8; w = strtok(NULL, " "))
            argv[n++] = w;
        r = redisCommandArgv(c, n, argv, NULL);
    }
    it_render(r, out, cap);
    if (r) freeReplyObject(r);
}

/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] answers as Redis 7.0 does, step by step: the
 * dataset and function libraries saved, emptied and loaded again (a key written after the
 * save is gone after NOSAVE, a library too), MERGE replacing a key the file holds, the
 * option error, and a missing file (the dataset is then empty, as in Redis). */
TEST(debug_reload_as_redis) {
    static const char *const steps[] = {
        "DEBUG POPULATE 100",
        "SET ttl v PX 100000",
        "FUNCTION LOAD #!lua name=lib1\nredis.register_function('f1', function() return 1 end)",
        "DEBUG RELOAD",
        "DBSIZE",
        "SET x 1",
        "FUNCTION LOAD #!lua name=lib2\nredis.register_function('f2', function() return 2 end)",
        "DEBUG RELOAD NOSAVE",
        "DBSIZE",
        "GET x",
        "FCALL f1 0",
        "FCALL f2 0",
        "SET key:1 other",
        "DEBUG RELOAD NOSAVE NOFLUSH MERGE",
        "GET key:1",
        "DBSIZE",
        "DEBUG RELOAD BOGUS",
        "CONFIG SET dbfilename nosuch.rdb",
        "DEBUG RELOAD NOSAVE",
        "DBSIZE",
    };
    it_server redis, mayfly;
    it_start_redis(&redis, NULL);
    it_start_server(&mayfly, NULL);
    redisContext *rc = it_client_to(&redis), *mc = it_client_to(&mayfly);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char want[512], got[512];
        reload_step(rc, steps[i], want, sizeof(want));
        reload_step(mc, steps[i], got, sizeof(got));
        if (strcmp(want, got) != 0) TEST_FAIL("%s: Redis %s, Mayfly %s", steps[i], want, got);
    }
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

int main(void) {
    RUN(redis70_dumps_load_in_mayfly);
    RUN(mayfly_dump_loads_in_redis70);
    RUN(debug_digest_is_redis_digest);
    RUN(access_clocks_in_redis70_dumps_load);
    RUN(debug_reload_as_redis);
    return test_report();
}
