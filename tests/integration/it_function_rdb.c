/* it_function_rdb: function libraries in Redis's formats. FUNCTION DUMP payloads go both
 * ways between Mayfly and Debian's Redis 7.0 (a Mayfly payload restores in Redis once its
 * version bytes say 10: Redis 7.0 refuses any newer number, and a libraries payload is the
 * same in every version); FUNCTION RESTORE's policies and errors answer as Redis 7.0's,
 * reply by reply, and a failed restore changes nothing; libraries in an RDB file load both
 * ways (with redis-check-rdb accepting Mayfly's) and survive Mayfly's restarts from a
 * snapshot and from log bases of both kinds (RDB preamble, RESP). */
#include "integration/rdb_util.h"
#include "mayfly/util/crc64.h"

#define LIB_A                                                                                      \
    "#!lua name=liba\n"                                                                            \
    "redis.register_function('fa', function(keys, args) return 'a:' .. (args[1] or '') end)\n"     \
    "redis.register_function{function_name='fa_ro', callback=function() return 1 end, "            \
    "flags={'no-writes'}, description='read only'}\n"
#define LIB_B                                                                                      \
    "#!lua name=libb\n"                                                                            \
    "local function incr(keys) return redis.call('INCR', keys[1]) end\n"                           \
    "redis.register_function('fb', incr)\n"
/* libb again, with another function. */
#define LIB_B2                                                                                     \
    "#!lua name=libb\n"                                                                            \
    "redis.register_function('fb2', function() return 'b2' end)\n"
/* A library of another name whose function clashes with liba's. */
#define LIB_C                                                                                      \
    "#!lua name=libc\n"                                                                            \
    "redis.register_function('FA', function() return 'c' end)\n"

static void load(redisContext *c, const char *code) {
    redisReply *r = redisCommand(c, "FUNCTION LOAD REPLACE %s", code);
    if (!r || r->type != REDIS_REPLY_STRING) fprintf(stderr, "FUNCTION LOAD failed\n");
    if (r) freeReplyObject(r);
}

/* FUNCTION DUMP into an owned buffer. */
static char *fdump(redisContext *c, size_t *len) {
    redisReply *r = redisCommand(c, "FUNCTION DUMP");
    char *p = NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        p = malloc(r->len);
        memcpy(p, r->str, r->len);
        *len = r->len;
    }
    if (r) freeReplyObject(r);
    return p;
}

/* FUNCTION RESTORE payload [policy...], rendered (static buffer). */
static const char *frestore(redisContext *c, const char *p, size_t len, const char *opt1,
                            const char *opt2) {
    static char out[1024];
    const char *argv[5] = {"FUNCTION", "RESTORE", p, opt1, opt2};
    size_t lens[5] = {8, 7, len, opt1 ? strlen(opt1) : 0, opt2 ? strlen(opt2) : 0};
    redisReply *r = redisCommandArgv(c, opt2 ? 5 : opt1 ? 4 : 3, argv, lens);
    it_render(r, out, sizeof(out));
    if (r) freeReplyObject(r);
    return out;
}

/* Sorts an array of arrays by their 2nd element (a name). */
static void sort_by_name(redisReply *r) {
    for (size_t i = 1; i < r->elements; i++)
        for (size_t j = i; j > 0; j--) {
            redisReply *a = r->element[j - 1], *b = r->element[j];
            if (strcmp(a->element[1]->str, b->element[1]->str) <= 0) break;
            r->element[j - 1] = b;
            r->element[j] = a;
        }
}

/* FUNCTION LIST WITHCODE, rendered (owned). Libraries and their functions come in each
 * server's own order (Redis's is its dicts'): both are sorted by name. */
static char *flist(redisContext *c) {
    static char out[16384];
    redisReply *r = redisCommand(c, "FUNCTION LIST WITHCODE");
    if (r && r->type == REDIS_REPLY_ARRAY) {
        sort_by_name(r);
        for (size_t i = 0; i < r->elements; i++)
            sort_by_name(r->element[i]->element[5]);
    }
    it_render(r, out, sizeof(out));
    if (r) freeReplyObject(r);
    return strdup(out);
}

static int same_libraries(redisContext *a, redisContext *b) {
    char *x = flist(a), *y = flist(b);
    int same = strcmp(x, y) == 0;
    if (!same) fprintf(stderr, "FUNCTION LIST differs:\n%s\n%s\n", x, y);
    free(x);
    free(y);
    return same;
}

/* Rewrites a payload's version (2 bytes before the CRC64) and its CRC64. */
static void set_payload_version(char *p, size_t len, int version) {
    p[len - 10] = (char)(version & 0xff);
    p[len - 9] = (char)(version >> 8);
    uint64_t crc = crc64(0, p, len - 8);
    for (int i = 0; i < 8; i++)
        p[len - 8 + i] = (char)(crc >> (8 * i));
}

TEST(redis70_function_payload_restores_in_mayfly) {
    it_server redis, mayfly;
    it_start_redis(&redis, NULL);
    it_start_server(&mayfly, NULL);
    redisContext *rc = it_client_to(&redis), *mc = it_client_to(&mayfly);
    load(rc, LIB_A);
    load(rc, LIB_B);
    for (int compress = 1; compress >= 0; compress--) {
        EXPECT(rc, "+OK", "CONFIG SET rdbcompression %s", compress ? "yes" : "no");
        size_t len;
        char *p = fdump(rc, &len);
        if (!p) TEST_FAIL("Redis's FUNCTION DUMP");
        const char *r = frestore(mc, p, len, "FLUSH", NULL);
        if (strcmp(r, "+OK") != 0) TEST_FAIL("RESTORE: %s", r);
        free(p);
        if (!same_libraries(rc, mc)) TEST_FAIL("libraries differ (compress %d)", compress);
    }
    EXPECT(mc, "\"a:x\"", "FCALL fa 0 x");
    EXPECT(mc, "1", "FCALL fb 1 counter");
    EXPECT(mc, "1", "FCALL_RO fa_ro 0");
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

TEST(mayfly_function_payload_restores_in_redis70) {
    it_server redis, mayfly;
    it_start_redis(&redis, NULL);
    it_start_server(&mayfly, NULL);
    redisContext *rc = it_client_to(&redis), *mc = it_client_to(&mayfly);
    load(mc, LIB_A);
    load(mc, LIB_B);
    size_t len;
    char *p = fdump(mc, &len);
    if (!p) TEST_FAIL("FUNCTION DUMP");
    if (len < 10 || p[len - 10] != 12 || p[len - 9] != 0) TEST_FAIL("not RDB 12's footer");
    /* Redis 7.0 refuses version 12 as it refuses Redis 7.4's payloads. */
    EXPECT(rc, "-ERR DUMP payload version or checksum are wrong", "FUNCTION RESTORE %b", p, len);
    set_payload_version(p, len, 10);
    const char *r = frestore(rc, p, len, NULL, NULL);
    if (strcmp(r, "+OK") != 0) TEST_FAIL("Redis 7.0 RESTORE: %s", r);
    free(p);
    if (!same_libraries(rc, mc)) TEST_FAIL("libraries differ");
    EXPECT(rc, "\"a:y\"", "FCALL fa 0 y");
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

/* Runs the same FUNCTION RESTORE on both servers; their replies must be equal, and so
 * must their libraries after it. */
static int same_restore(redisContext *rc, redisContext *mc, const char *p, size_t len,
                        const char *opt1, const char *opt2) {
    char want[1024];
    snprintf(want, sizeof(want), "%s", frestore(rc, p, len, opt1, opt2));
    const char *got = frestore(mc, p, len, opt1, opt2);
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "RESTORE %s %s: Redis %s, Mayfly %s\n", opt1 ? opt1 : "", opt2 ? opt2 : "",
                want, got);
        return 0;
    }
    return same_libraries(rc, mc);
}

/* Loads code into a scratch library set on both servers and dumps it (Redis's payload,
 * version 10, which both read). Leaves both with the libraries given. */
static char *payload_of(redisContext *rc, redisContext *mc, const char *c1, const char *c2,
                        size_t *len) {
    it_run(rc, "FUNCTION FLUSH");
    it_run(mc, "FUNCTION FLUSH");
    load(rc, c1);
    if (c2) load(rc, c2);
    return fdump(rc, len);
}

TEST(restore_policies_and_errors_as_redis70) {
    it_server redis, mayfly;
    it_start_redis(&redis, NULL);
    it_start_server(&mayfly, NULL);
    redisContext *rc = it_client_to(&redis), *mc = it_client_to(&mayfly);
    size_t la, lb, lb2, lc, lk;
    char *pa = payload_of(rc, mc, LIB_A, NULL, &la);
    char *pb = payload_of(rc, mc, LIB_B, NULL, &lb);
    char *pb2 = payload_of(rc, mc, LIB_B2, NULL, &lb2);
    char *pc = payload_of(rc, mc, LIB_C, NULL, &lc);
    EXPECT(rc, "+OK", "FUNCTION FLUSH");
    it_run(rc, "SET k v");
    redisReply *kr = redisCommand(rc, "DUMP k");
    char *pk = malloc(kr->len);
    memcpy(pk, kr->str, kr->len);
    lk = kr->len;
    freeReplyObject(kr);
    if (!pa || !pb || !pb2 || !pc) TEST_FAIL("payloads");
    /* Start both from liba + libb. */
    if (!same_restore(rc, mc, pa, la, "FLUSH", NULL)) TEST_FAIL("FLUSH a");
    if (!same_restore(rc, mc, pb, lb, NULL, NULL)) TEST_FAIL("APPEND b");
    /* Collisions: a library name (APPEND), a function name (any policy). */
    if (!same_restore(rc, mc, pb2, lb2, "APPEND", NULL)) TEST_FAIL("APPEND b2");
    if (!same_restore(rc, mc, pc, lc, "REPLACE", NULL)) TEST_FAIL("REPLACE c");
    if (!same_restore(rc, mc, pc, lc, "append", NULL)) TEST_FAIL("append c");
    if (!same_restore(rc, mc, pb2, lb2, "REPLACE", NULL)) TEST_FAIL("REPLACE b2");
    if (!same_restore(rc, mc, pc, lc, "FLUSH", NULL)) TEST_FAIL("FLUSH c");
    /* Bad arguments and payloads. */
    if (!same_restore(rc, mc, pa, la, "MERGE", NULL)) TEST_FAIL("bad policy");
    if (!same_restore(rc, mc, pa, la, "FLUSH", "FLUSH")) TEST_FAIL("too many");
    if (!same_restore(rc, mc, pk, lk, NULL, NULL)) TEST_FAIL("a key's payload");
    if (!same_restore(rc, mc, "short", 5, NULL, NULL)) TEST_FAIL("short payload");
    pa[la - 1] ^= 1;
    if (!same_restore(rc, mc, pa, la, NULL, NULL)) TEST_FAIL("bad checksum");
    pa[la - 1] ^= 1;
    /* A payload with no library: FLUSH empties, APPEND adds nothing. */
    EXPECT(rc, "+OK", "FUNCTION FLUSH");
    size_t le;
    char *pe = fdump(rc, &le);
    if (!pe || le != 10) TEST_FAIL("empty payload");
    if (!same_restore(rc, mc, pa, la, "FLUSH", NULL)) TEST_FAIL("FLUSH a again");
    if (!same_restore(rc, mc, pe, le, NULL, NULL)) TEST_FAIL("APPEND nothing");
    if (!same_restore(rc, mc, pe, le, "FLUSH", NULL)) TEST_FAIL("FLUSH to nothing");
    /* A library that does not compile: nothing changes. */
    if (!same_restore(rc, mc, pa, la, "FLUSH", NULL)) TEST_FAIL("FLUSH a once more");
    char bad[] = "#!lua name=bad\nthis is not lua\n";
    char *pbad = malloc(la + sizeof(bad));
    size_t lbad = 0;
    pbad[lbad++] = (char)245;
    pbad[lbad++] = (char)(sizeof(bad) - 1); /* a 6-bit length */
    memcpy(pbad + lbad, bad, sizeof(bad) - 1);
    lbad += sizeof(bad) - 1;
    lbad += 10;
    set_payload_version(pbad, lbad, 10);
    if (!same_restore(rc, mc, pbad, lbad, "FLUSH", NULL)) TEST_FAIL("library that fails");
    EXPECT(mc, "\"a:z\"", "FCALL fa 0 z");
    char want[512];
    snprintf(want, sizeof(want), "%s", it_run(rc, "FUNCTION RESTORE"));
    EXPECT(mc, want, "FUNCTION RESTORE");
    free(pa);
    free(pb);
    free(pb2);
    free(pc);
    free(pk);
    free(pe);
    free(pbad);
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

/* Copies the dump.rdb of a server's directory to another's. */
static int copy_dump(const it_server *from, const it_server *to) {
    char src[600], dst[600];
    snprintf(src, sizeof(src), "%s/dump.rdb", from->dir);
    snprintf(dst, sizeof(dst), "%s/dump.rdb", to->dir);
    return ru_copy(src, dst, -1);
}

TEST(rdb_with_functions_both_ways) {
    it_server redis, mayfly;
    it_start_redis(&redis, NULL);
    it_start_server(&mayfly, NULL);
    redisContext *rc = it_client_to(&redis);
    load(rc, LIB_A);
    load(rc, LIB_B);
    it_run(rc, "SET k v");
    EXPECT(rc, "+OK", "SAVE");
    it_kill_server(&mayfly);
    if (copy_dump(&redis, &mayfly) < 0) TEST_FAIL("copy");
    if (!it_restart_server(&mayfly, NULL)) TEST_FAIL("Mayfly refused Redis 7.0's dump");
    redisContext *mc = it_client_to(&mayfly);
    if (!same_libraries(rc, mc)) TEST_FAIL("libraries from Redis's dump");
    EXPECT(mc, "\"v\"", "GET k");
    /* Back: Mayfly's snapshot with a library more, into Redis 7.0. */
    EXPECT(mc, "-ERR Function FA already exists", "FUNCTION LOAD %s", LIB_C);
    EXPECT(mc, "+OK", "FUNCTION DELETE liba");
    load(mc, LIB_C);
    EXPECT(mc, "+OK", "SAVE");
    redisFree(rc);
    it_kill_server(&redis);
    if (copy_dump(&mayfly, &redis) < 0) TEST_FAIL("copy back");
    char dump[600], out[8192];
    snprintf(dump, sizeof(dump), "%s/dump.rdb", redis.dir);
    size_t len;
    char *p = ru_read(dump, &len);
    if (!p || len < 17) TEST_FAIL("read the dump");
    memcpy(p + 5, "0010", 4);
    uint64_t crc = crc64(0, p, len - 8);
    for (int i = 0; i < 8; i++)
        p[len - 8 + i] = (char)(crc >> (8 * i));
    if (ru_write(dump, p, len) < 0) TEST_FAIL("write");
    free(p);
    if (ru_shell(out, sizeof(out), "redis-check-rdb '%s'", dump) != 0 ||
        !strstr(out, "RDB looks OK"))
        TEST_FAIL("redis-check-rdb: %s", out);
    if (!it_restart_server(&redis, NULL)) TEST_FAIL("redis-server refused Mayfly's dump");
    rc = it_client_to(&redis);
    if (!same_libraries(rc, mc)) TEST_FAIL("libraries from Mayfly's dump");
    EXPECT(rc, "\"c\"", "FCALL FA 0");
    /* Mayfly's checker lists them. */
    const char *bin = getenv("MAYFLY_SERVER");
    snprintf(dump, sizeof(dump), "%s/dump.rdb", mayfly.dir);
    if (ru_shell(out, sizeof(out), "'%s' --check-rdb '%s'", bin ? bin : "./mayfly-server", dump) !=
            0 ||
        !strstr(out, "Function library: #!lua name=libc") || !strstr(out, "2 function libraries"))
        TEST_FAIL("--check-rdb: %s", out);
    redisFree(rc);
    redisFree(mc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

/* Libraries come back after a restart from a snapshot, and from a log rewritten into a base
 * of each kind (the increments then hold no FUNCTION LOAD). */
TEST(functions_survive_snapshots_and_log_rewrites) {
    static const char *const rdb_args[] = {"--save", "", NULL};
    static const char *const aof_rdb[] = {"--appendonly", "yes", "--save", "", NULL};
    static const char *const aof_resp[] = {
        "--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--save", "", NULL};
    const char *const *modes[] = {rdb_args, aof_rdb, aof_resp};
    for (int m = 0; m < 3; m++) {
        it_server s;
        it_start_server(&s, modes[m]);
        redisContext *c = it_client_to(&s);
        load(c, LIB_A);
        load(c, LIB_B);
        char *before = flist(c);
        if (m == 0) {
            EXPECT(c, "+OK", "SAVE");
        } else {
            EXPECT(c, "+Background append only file rewriting started", "BGREWRITEAOF");
            WAIT_FOR(it_info_field(c, "aof_rewrite_in_progress") == 0 &&
                         it_info_field(c, "aof_rewrite_scheduled") == 0,
                     10000);
        }
        redisFree(c);
        it_kill_server(&s);
        if (m > 0) {
            /* Only the base may hold them: the new increment is empty. */
            char out[4096];
            if (ru_shell(out, sizeof(out), "cat '%s'/appendonlydir/*.incr.aof", s.dir) != 0 ||
                strstr(out, "FUNCTION"))
                TEST_FAIL("the increment holds: %s", out);
        }
        if (!it_restart_server(&s, modes[m])) TEST_FAIL("restart (mode %d)", m);
        c = it_client_to(&s);
        char *after = flist(c);
        if (strcmp(before, after) != 0) TEST_FAIL("mode %d: %s\nvs\n%s", m, before, after);
        free(before);
        free(after);
        EXPECT(c, "1", "FCALL fb 1 n");
        redisFree(c);
        it_stop_server(&s);
    }
}

int main(void) {
    RUN(redis70_function_payload_restores_in_mayfly);
    RUN(mayfly_function_payload_restores_in_redis70);
    RUN(restore_policies_and_errors_as_redis70);
    RUN(rdb_with_functions_both_ways);
    RUN(functions_survive_snapshots_and_log_rewrites);
    return test_report();
}
