/* it_dump: DUMP and RESTORE. Mayfly's payloads restore every encoding exactly (field TTLs
 * included); the payloads a Redis 7.4-era server wrote (fixture) restore as their sidecar
 * says; payloads from a live Redis 7.0 restore with equal values and TTLs; errors and
 * options answer as Redis 7.0 does, compared reply by reply; RESTORE with a relative TTL
 * reaches the append-only log with an absolute one; FREQ and IDLETIME set the access clock
 * of the policy in force, as in Redis. */
#include "integration/rdb_util.h"
#include "mayfly/util/crc64.h"

/* DUMP key into an owned buffer (NULL if nil). */
static char *dump(redisContext *c, const char *key, size_t *len) {
    redisReply *r = redisCommand(c, "DUMP %s", key);
    char *p = NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        p = malloc(r->len);
        memcpy(p, r->str, r->len);
        *len = r->len;
    }
    if (r) freeReplyObject(r);
    return p;
}

/* RESTORE key ttl payload, then the words of opts as separate arguments. */
static const char *restore(redisContext *c, const char *key, const char *ttl, const char *p,
                           size_t len, const char *opts) {
    static char out[512];
    const char *argv[16] = {"RESTORE", key, ttl, p};
    size_t lens[16] = {7, strlen(key), strlen(ttl), len};
    char words[256];
    snprintf(words, sizeof(words), "%s", opts);
    int n = 4;
    for (char *w = strtok(words, " "); w && n < 16; w = strtok(NULL, " ")) {
        argv[n] = w;
        lens[n++] = strlen(w);
    }
    redisReply *r = redisCommandArgv(c, n, argv, lens);
    it_render(r, out, sizeof(out));
    if (r) freeReplyObject(r);
    return out;
}

static void fill(redisContext *c, long long t) {
    it_run(c, "SET int 12345");
    it_run(c, "SET emb hello");
    it_run(c, "SET long %0200d", 5);
    it_run(c, "HSET lp a 1 b 2");
    it_run(c, "HSETEX lpex PXAT %lld FIELDS 2 x 1 y 2", t);
    it_run(c, "HSET lpex z 3");
    for (int i = 0; i < 600; i++) {
        it_run(c, "HSET ht f%d %d", i, i);
        it_run(c, "HSETEX htex PXAT %lld FIELDS 1 f%d %d", t + i % 7, i, i);
    }
    it_run(c, "HSET htex plain 1");
}

TEST(own_payloads_restore_exactly) {
    long long t = pu_now_ms() + 3600000;
    it_start(NULL);
    redisContext *c = it_client();
    fill(c, t);
    static const char *const keys[] = {"int", "emb", "long", "lp", "lpex", "ht", "htex"};
    for (size_t i = 0; i < 7; i++) {
        size_t len;
        char *p = dump(c, keys[i], &len);
        if (!p) TEST_FAIL("DUMP %s", keys[i]);
        char copy[32];
        snprintf(copy, sizeof(copy), "copy:%s", keys[i]);
        const char *r = restore(c, copy, "0", p, len, "");
        if (strcmp(r, "+OK") != 0) TEST_FAIL("RESTORE %s: %s", keys[i], r);
        free(p);
        buf a, b;
        buf_init(&a);
        buf_init(&b);
        ru_describe_key(c, keys[i], strlen(keys[i]), &a);
        ru_describe_key(c, copy, strlen(copy), &b);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            TEST_FAIL("%s restores differently", keys[i]);
        buf_deinit(&a);
        buf_deinit(&b);
        char enc[64];
        snprintf(enc, sizeof(enc), "%s", it_run(c, "OBJECT ENCODING %s", keys[i]));
        EXPECT(c, enc, "OBJECT ENCODING %s", copy);
    }
    EXPECT(c, "nil", "DUMP nosuchkey");
    redisFree(c);
    it_stop();
}

TEST(redis74_payloads_restore_as_their_sidecar_says) {
    char path[600];
    ru_fixture(path, sizeof(path), "redis74-dump-payloads.json");
    json *doc = json_load(path);
    if (!doc) TEST_FAIL("sidecar");
    const json *pl = json_get(doc, "payloads");
    it_start(NULL);
    redisContext *c = it_client();
    for (size_t i = 0; i < pl->len; i++) {
        const char *hex = json_get(pl->item[i], "hex")->str;
        size_t len = strlen(hex) / 2;
        char *p = malloc(len);
        for (size_t j = 0; j < len; j++) {
            unsigned v;
            sscanf(hex + 2 * j, "%2x", &v);
            p[j] = (char)v;
        }
        const char *argv[4] = {"RESTORE", pl->key[i], "0", p};
        size_t lens[4] = {7, pl->key_len[i], 1, len};
        redisReply *r = ru_cmd(c, 4, argv, lens);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
        free(p);
        if (!ok) TEST_FAIL("RESTORE of %s refused", pl->key[i]);
        if (!ru_check_key(c, pl->key[i], pl->key_len[i], json_get(pl->item[i], "expected")))
            TEST_FAIL("%s restores differently", pl->key[i]);
    }
    redisFree(c);
    it_stop();
    json_free(doc);
}

TEST(redis70_payloads_restore_and_errors_match) {
    long long t = pu_now_ms() + 3600000;
    it_server redis;
    it_start_redis(&redis, NULL);
    it_start(NULL);
    redisContext *rc = it_client_to(&redis), *mc = it_client();
    it_run(rc, "SET int 12345");
    it_run(rc, "SET emb hello");
    it_run(rc, "SET long %0200d", 5);
    it_run(rc, "PEXPIREAT long %lld", t);
    it_run(rc, "HSET lp a 1 b 2 c -7");
    it_run(rc, "PEXPIREAT lp %lld", t + 1);
    for (int i = 0; i < 600; i++)
        it_run(rc, "HSET ht f%d %d", i, i);
    it_run(rc, "HSET longval f %0100d", 1);
    static const char *const keys[] = {"int", "emb", "long", "lp", "ht", "longval"};
    for (size_t i = 0; i < 6; i++) {
        size_t len;
        char *p = dump(rc, keys[i], &len);
        char when[32];
        long long exp = it_int(rc, "PEXPIRETIME %s", keys[i]);
        snprintf(when, sizeof(when), "%lld", exp > 0 ? exp : 0);
        const char *r = restore(mc, keys[i], when, p, len, "ABSTTL");
        if (!p || strcmp(r, "+OK") != 0) TEST_FAIL("RESTORE %s: %s", keys[i], r);
        free(p);
    }
    if (!ru_same_dataset(rc, mc, 1)) TEST_FAIL("datasets differ");
    /* The same requests, good and bad, answered alike. */
    size_t len;
    char *p = dump(rc, "lp", &len);
    char *bad = malloc(len);
    memcpy(bad, p, len);
    bad[len - 1] ^= 1; /* checksum */
    char *future = malloc(len);
    memcpy(future, p, len);
    future[len - 10] = 99; /* version */
    struct {
        const char *key, *ttl, *opts;
        const char *payload;
    } cases[] = {
        {"lp", "0", "", p},
        {"new", "-1", "", p},
        {"new", "abc", "", p},
        {"new", "0", "", bad},
        {"new", "0", "", future},
        {"new", "0", "BOGUS", p},
        {"new", "0", "IDLETIME -1", p},
        {"new", "0", "IDLETIME abc", p},
        {"new", "0", "FREQ 256", p},
        {"new", "0", "IDLETIME 5 FREQ 5", p},
        {"new", "0", "FREQ 5 IDLETIME 5", p},
        {"new", "1", "ABSTTL", p},
        {"new2", "0", "IDLETIME 1000", p},
        {"lp", "0", "REPLACE", p},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[512];
        snprintf(want, sizeof(want), "%s",
                 restore(rc, cases[i].key, cases[i].ttl, cases[i].payload, len, cases[i].opts));
        const char *got =
            restore(mc, cases[i].key, cases[i].ttl, cases[i].payload, len, cases[i].opts);
        if (strcmp(want, got) != 0)
            TEST_FAIL("RESTORE %s %s ... %s: Redis %s, Mayfly %s", cases[i].key, cases[i].ttl,
                      cases[i].opts, want, got);
    }
    EXPECT(mc, "0", "EXISTS new");
    if (it_int(mc, "OBJECT IDLETIME new2") < 1000) TEST_FAIL("IDLETIME not applied");
    /* A value cut short under a good footer (version 10 and its CRC64). */
    char cut[16] = "\x00\x14hel\x0a"; /* a 20-byte string of which 3 are there */
    uint64_t crc = crc64(0, cut, 7);
    for (int i = 0; i < 8; i++)
        cut[7 + i] = (char)(crc >> (8 * i));
    char want[128];
    snprintf(want, sizeof(want), "%s", restore(rc, "cut", "0", cut, 15, ""));
    if (strcmp(want, "-ERR Bad data format") != 0) TEST_FAIL("Redis said %s", want);
    EXPECT(mc, want, "RESTORE cut 0 %b", cut, (size_t)15);
    free(p);
    free(bad);
    free(future);
    redisFree(rc);
    redisFree(mc);
    it_stop();
    it_stop_server(&redis);
}

TEST(restore_reaches_the_log_with_an_absolute_ttl) {
    static const char *const args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET src v");
    size_t len;
    char *p = dump(c, "src", &len);
    if (strcmp(restore(c, "dst", "100000", p, len, ""), "+OK") != 0) TEST_FAIL("RESTORE");
    if (strcmp(restore(c, "src", "0", p, len, "REPLACE"), "+OK") != 0) TEST_FAIL("REPLACE");
    free(p);
    long long when = it_int(c, "PEXPIRETIME dst");
    redisFree(c);
    it_kill_server(&s);
    char incr[700];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no log");
    size_t n;
    char *log = ru_read(incr, &n);
    int found = 0;
    for (size_t i = 0; log && !found && i + 6 <= n; i++)
        found = memcmp(log + i, "ABSTTL", 6) == 0;
    if (!found) TEST_FAIL("no ABSTTL in the log");
    free(log);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    if (it_int(c, "PEXPIRETIME dst") != when) TEST_FAIL("TTL differs after replay");
    EXPECT(c, "\"v\"", "GET src");
    redisFree(c);
    it_stop_server(&s);
}

/* RESTORE's FREQ sets the LFU counter under an LFU policy and IDLETIME the idle time under
 * an LRU one; each is ignored under the other kind of policy (the key starts as a new one).
 * Redis 7.0 and Mayfly answer OBJECT FREQ / IDLETIME alike after each RESTORE. */
TEST(restore_sets_the_access_clock_of_its_policy) {
    it_server redis;
    it_start_redis(&redis, NULL);
    it_start(NULL);
    redisContext *cs[2] = {it_client_to(&redis), it_client()};
    long long got[2][4];
    for (int i = 0; i < 2; i++) {
        redisContext *c = cs[i];
        it_run(c, "SET src v");
        size_t len;
        char *p = dump(c, "src", &len);
        EXPECT(c, "+OK", "CONFIG SET maxmemory-policy allkeys-lfu");
        if (strcmp(restore(c, "f", "0", p, len, "FREQ 100"), "+OK") != 0) TEST_FAIL("FREQ");
        if (strcmp(restore(c, "i", "0", p, len, "IDLETIME 1000"), "+OK") != 0) TEST_FAIL("IDLE");
        got[i][0] = it_int(c, "OBJECT FREQ f");
        got[i][1] = it_int(c, "OBJECT FREQ i");
        EXPECT(c, "+OK", "CONFIG SET maxmemory-policy allkeys-lru");
        if (strcmp(restore(c, "f", "0", p, len, "REPLACE FREQ 100"), "+OK") != 0)
            TEST_FAIL("FREQ under LRU");
        if (strcmp(restore(c, "i", "0", p, len, "REPLACE IDLETIME 1000"), "+OK") != 0)
            TEST_FAIL("IDLETIME under LRU");
        got[i][2] = it_int(c, "OBJECT IDLETIME f");
        got[i][3] = it_int(c, "OBJECT IDLETIME i");
        free(p);
    }
    if (got[1][0] != 100 || got[1][1] != 5) TEST_FAIL("LFU: %lld %lld", got[1][0], got[1][1]);
    if (got[1][2] > 5 || got[1][3] < 1000 || got[1][3] > 1005)
        TEST_FAIL("LRU: %lld %lld", got[1][2], got[1][3]);
    for (int j = 0; j < 2; j++)
        if (got[0][j] != got[1][j])
            TEST_FAIL("OBJECT FREQ: Redis %lld, Mayfly %lld", got[0][j], got[1][j]);
    redisFree(cs[0]);
    redisFree(cs[1]);
    it_stop();
    it_stop_server(&redis);
}

int main(void) {
    RUN(own_payloads_restore_exactly);
    RUN(redis74_payloads_restore_as_their_sidecar_says);
    RUN(redis70_payloads_restore_and_errors_match);
    RUN(restore_reaches_the_log_with_an_absolute_ttl);
    RUN(restore_sets_the_access_clock_of_its_policy);
    return test_report();
}
