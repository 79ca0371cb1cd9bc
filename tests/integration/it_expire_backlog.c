/* Integration tests: every read is exact while a large backlog of due fields is still stored
 * (issue 17). Lazy expiry reaps at most 1,000 fields per command, so with active expiry off
 * a hash of thousands of fields that fell due keeps most of them stored for a while; HLEN,
 * HGET, HGETALL, HSCAN, HRANDFIELD, EXISTS, TYPE, DBSIZE, KEYS, SCAN and RANDOMKEY must
 * answer as if they were gone, and must keep doing so while random writes and reads go on
 * (a model of every field, checked after each command). Time moves with DEBUG CLOCK-OFFSET;
 * nothing sleeps except bounded polls. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 4
#define NF 6000

/* The model: per key, per field, 0 = absent, else the deadline (or INT64_MAX: none). */
static int64_t model[NKEYS][NF];
static int is_hash[NKEYS];
static const char *key_names[NKEYS] = {"big", "mid", "dead", "str"};
static int64_t now_ms; /* the server's now: wall clock at setup + offset */
static int64_t offset;

static int field_live(int k, int j) {
    return model[k][j] != 0 && model[k][j] > now_ms;
}
static int live_fields(int k) {
    int n = 0;
    for (int j = 0; j < NF; j++)
        n += field_live(k, j);
    return n;
}
static int key_visible(int k) {
    return is_hash[k] ? live_fields(k) > 0 : model[k][0] > now_ms;
}

static redisContext *fresh(void) {
    redisContext *c = it_client();
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET 0"));
    freeReplyObject(redisCommand(c, "DEBUG SET-ACTIVE-EXPIRE 0"));
    return c;
}

static void set_offset(redisContext *c, int64_t off) {
    now_ms += off - offset;
    offset = off;
    freeReplyObject(redisCommand(c, "DEBUG CLOCK-OFFSET %lld", (long long)off));
}

/* Writes count fields of key k from first, with deadline dl (0: none), pipelined in
 * batches of 500 fields per HSETEX/HSET. */
static void load_fields(redisContext *c, int k, int first, int count, int64_t dl) {
    const char *argv[1010];
    size_t lens[1010];
    static char names[1000][16];
    int cmds = 0;
    for (int j = first; j < first + count;) {
        int n = 0;
        argv[n++] = dl ? "HSETEX" : "HSET";
        argv[n++] = key_names[k];
        char when[24];
        if (dl) {
            snprintf(when, sizeof(when), "%lld", (long long)dl);
            argv[n++] = "PXAT";
            argv[n++] = when;
            argv[n++] = "FIELDS";
        }
        char cnt[16];
        int batch = first + count - j < 500 ? first + count - j : 500;
        snprintf(cnt, sizeof(cnt), "%d", batch);
        if (dl) argv[n++] = cnt;
        for (int b = 0; b < batch; b++, j++) {
            snprintf(names[b], sizeof(names[b]), "f%d", j);
            argv[n++] = names[b];
            argv[n++] = names[b]; /* value = name */
            model[k][j] = dl ? dl : INT64_MAX;
        }
        for (int a = 0; a < n; a++)
            lens[a] = strlen(argv[a]);
        redisAppendCommandArgv(c, n, argv, lens);
        cmds++;
        /* One at a time: the names buffer is reused by the next batch. */
        redisReply *r;
        if (redisGetReply(c, (void **)&r) == REDIS_OK) freeReplyObject(r);
    }
}

static int field_index(const char *s, size_t len) {
    if (len < 2 || s[0] != 'f') return -1;
    int j = 0;
    for (size_t i = 1; i < len; i++)
        j = j * 10 + (s[i] - '0');
    return j < NF ? j : -1;
}

/* Checks that the reply lists (every `stride` element from `first`) exactly the live fields
 * of k, each once (distinct) or at least once. Returns 0 or -1 with a message. */
static int check_field_set(int k, redisReply *r, int stride, int exact_once) {
    static unsigned short seen[NF];
    memset(seen, 0, sizeof(seen));
    if (!r || r->type != REDIS_REPLY_ARRAY) return -1;
    for (size_t i = 0; i < r->elements; i += (size_t)stride) {
        int j = field_index(r->element[i]->str, r->element[i]->len);
        if (j < 0 || !field_live(k, j)) {
            fprintf(stderr, "%s: listed a field that is not live: %s\n", key_names[k],
                    r->element[i]->str);
            return -1;
        }
        seen[j]++;
    }
    for (int j = 0; j < NF; j++)
        if ((exact_once && seen[j] != field_live(k, j)) || (!exact_once && seen[j] > 1)) {
            fprintf(stderr, "%s: f%d seen %u times, live %d\n", key_names[k], j, seen[j],
                    field_live(k, j));
            return -1;
        }
    return 0;
}

/* HSCAN from 0 to the end: every live field at least once, none that is not live. */
static int check_hscan(redisContext *c, int k) {
    static unsigned char seen[NF];
    memset(seen, 0, sizeof(seen));
    char cursor[32] = "0";
    for (int calls = 0; calls < 100000; calls++) {
        redisReply *r = redisCommand(c, "HSCAN %s %s COUNT 100", key_names[k], cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return -1;
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        redisReply *a = r->element[1];
        for (size_t i = 0; i < a->elements; i += 2) {
            int j = field_index(a->element[i]->str, a->element[i]->len);
            if (j < 0 || !field_live(k, j)) {
                fprintf(stderr, "HSCAN %s gave a field that is not live\n", key_names[k]);
                freeReplyObject(r);
                return -1;
            }
            seen[j] = 1;
        }
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0) break;
    }
    for (int j = 0; j < NF; j++)
        if (seen[j] != field_live(k, j)) {
            fprintf(stderr, "HSCAN %s missed f%d\n", key_names[k], j);
            return -1;
        }
    return 0;
}

/* Every read of key k agrees with the model. */
static int check_key(redisContext *c, int k) {
    const char *key = key_names[k];
    int vis = key_visible(k);
    if (it_int(c, "EXISTS %s", key) != vis) return fprintf(stderr, "EXISTS %s\n", key), -1;
    redisReply *r = redisCommand(c, "TYPE %s", key);
    int type_ok = r && r->str &&
                  strcmp(r->str, !vis         ? "none"
                                 : is_hash[k] ? "hash"
                                              : "string") == 0;
    freeReplyObject(r);
    if (!type_ok) return fprintf(stderr, "TYPE %s\n", key), -1;
    if (!is_hash[k]) return 0;
    if (it_int(c, "HLEN %s", key) != live_fields(k)) {
        fprintf(stderr, "HLEN %s: %lld vs %d\n", key, it_int(c, "HLEN %s", key), live_fields(k));
        return -1;
    }
    for (int probe = 0; probe < 20; probe++) {
        int j = rand() % NF;
        r = redisCommand(c, "HGET %s f%d", key, j);
        int ok =
            field_live(k, j) ? r && r->type == REDIS_REPLY_STRING : r && r->type == REDIS_REPLY_NIL;
        freeReplyObject(r);
        if (!ok) return fprintf(stderr, "HGET %s f%d\n", key, j), -1;
        if (it_int(c, "HEXISTS %s f%d", key, j) != field_live(k, j)) return -1;
    }
    r = redisCommand(c, "HGETALL %s", key);
    int rc = check_field_set(k, r, 2, 1);
    freeReplyObject(r);
    if (rc) return fprintf(stderr, "HGETALL %s\n", key), -1;
    r = redisCommand(c, "HKEYS %s", key);
    rc = check_field_set(k, r, 1, 1);
    freeReplyObject(r);
    if (rc) return fprintf(stderr, "HKEYS %s\n", key), -1;
    if (check_hscan(c, k)) return -1;
    r = redisCommand(c, "HRANDFIELD %s 7 WITHVALUES", key);
    rc = check_field_set(k, r, 2, 0);
    size_t want = live_fields(k) < 7 ? (size_t)live_fields(k) : 7;
    if (!rc && r->elements != 2 * want) rc = -1;
    freeReplyObject(r);
    if (rc) return fprintf(stderr, "HRANDFIELD %s 7\n", key), -1;
    r = redisCommand(c, "HRANDFIELD %s -9", key);
    if (r && r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (!field_live(k, field_index(r->element[i]->str, r->element[i]->len))) rc = -1;
    freeReplyObject(r);
    if (rc) return fprintf(stderr, "HRANDFIELD %s -9\n", key), -1;
    return 0;
}

/* DBSIZE, KEYS *, a full SCAN and RANDOMKEY agree with the model. */
static int check_keyspace(redisContext *c) {
    int visible = 0;
    for (int k = 0; k < NKEYS; k++)
        visible += key_visible(k);
    if (it_int(c, "DBSIZE") != visible) return fprintf(stderr, "DBSIZE\n"), -1;
    redisReply *r = redisCommand(c, "KEYS *");
    int n = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : -1;
    freeReplyObject(r);
    if (n != visible) return fprintf(stderr, "KEYS: %d vs %d\n", n, visible), -1;
    char cursor[32] = "0";
    int scanned = 0;
    do {
        r = redisCommand(c, "SCAN %s COUNT 2", cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY) return -1;
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            for (int k = 0; k < NKEYS; k++)
                if (strcmp(key, key_names[k]) == 0 && !key_visible(k)) scanned = -1000;
            scanned++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (scanned != visible) return fprintf(stderr, "SCAN: %d vs %d\n", scanned, visible), -1;
    for (int i = 0; i < 10; i++) {
        r = redisCommand(c, "RANDOMKEY");
        int ok = r && (visible ? r->type == REDIS_REPLY_STRING : r->type == REDIS_REPLY_NIL);
        for (int k = 0; ok && r->type == REDIS_REPLY_STRING && k < NKEYS; k++)
            if (strcmp(r->str, key_names[k]) == 0 && !key_visible(k)) ok = 0;
        freeReplyObject(r);
        if (!ok) return fprintf(stderr, "RANDOMKEY\n"), -1;
    }
    return 0;
}

static int64_t server_now(redisContext *c) {
    redisReply *r = redisCommand(c, "TIME");
    int64_t t = (int64_t)atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
    freeReplyObject(r);
    return t;
}

TEST(reads_exact_with_backlog) {
    redisContext *c = fresh();
    memset(model, 0, sizeof(model));
    srand(17);
    offset = 0;
    int64_t t0 = server_now(c) + 600000; /* far enough that loading never reaches it */
    now_ms = t0 - 600000; /* the model's clock: the server's, less the seconds the test takes */
    is_hash[0] = is_hash[1] = is_hash[2] = 1;
    /* big: 4,000 fields due at t0, 1,000 later, 1,000 without TTL (a hashtable). */
    load_fields(c, 0, 0, 4000, t0);
    load_fields(c, 0, 4000, 1000, t0 + 50000);
    load_fields(c, 0, 5000, 1000, 0);
    /* mid: a compact hash, 90 of its 100 fields due at t0. */
    load_fields(c, 1, 0, 90, t0);
    load_fields(c, 1, 90, 10, t0 + 50000);
    /* dead: 3,000 fields, all due at t0. */
    load_fields(c, 2, 0, 3000, t0);
    EXPECT(c, "+OK", "SET str v PXAT %lld", (long long)t0);
    model[3][0] = t0;
    EXPECT(c, "\"hashtable\"", "OBJECT ENCODING big");
    EXPECT(c, "\"listpackex\"", "OBJECT ENCODING mid");
    EXPECT(c, "4", "DBSIZE");
    long long base = it_info_field(c, "expired_subkeys");

    set_offset(c, 600000 + 10); /* everything due at t0 is due now */
    /* Nothing is reaped by these, and all of them already see the backlog gone. */
    EXPECT(c, "2", "DBSIZE"); /* big and mid, each with live fields left */
    {
        redisReply *r = redisCommand(c, "KEYS *");
        ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        freeReplyObject(r);
    }
    ASSERT_EQ(base, it_info_field(c, "expired_subkeys"));
    /* One lookup of big reaps exactly the budget, 1,000 of its 4,000 due fields. */
    EXPECT(c, "2000", "HLEN big");
    ASSERT_EQ(base + 1000, it_info_field(c, "expired_subkeys"));
    EXPECT(c, "2000", "HLEN big");
    ASSERT_EQ(base + 2000, it_info_field(c, "expired_subkeys"));
    /* dead goes as a whole, its 3,000 entries freed in steps by the cycle. */
    EXPECT(c, "0", "EXISTS dead");
    ASSERT_EQ(base + 5000, it_info_field(c, "expired_subkeys"));
    ASSERT(check_keyspace(c) == 0);
    for (int k = 0; k < NKEYS; k++)
        ASSERT(check_key(c, k) == 0);

    /* Random writes, reads and small clock moves, checked against the model throughout. */
    for (int step = 0; step < 150; step++) {
        int k = rand() % 2, j = rand() % NF, op = rand() % 12;
        if (op < 3) {
            /* 50 s from any instant the clock is moved to, so that the real time passing
             * while the test runs never decides whether a field is live. */
            int64_t dl = now_ms + (rand() % 6 - 1) * 100000 + 50000;
            EXPECT(c, "1", "HSETEX %s PXAT %lld FIELDS 1 f%d f%d", key_names[k], (long long)dl, j,
                   j);
            model[k][j] = dl;
            if (!key_visible(k) && !field_live(k, j)) model[k][j] = 0; /* an empty hash goes */
        } else if (op < 5) {
            long long want = field_live(k, j);
            ASSERT_EQ(want, it_int(c, "HDEL %s f%d", key_names[k], j));
            if (want) model[k][j] = 0;
        } else if (op < 6) {
            set_offset(c, offset + 100000);
        } else if (op < 8) {
            ASSERT(check_key(c, k) == 0);
        } else {
            ASSERT(check_keyspace(c) == 0);
        }
        if (test_failed_now) break;
    }
    /* The cycle finishes the backlog; the answers do not change. */
    int visible_before = 0;
    for (int k = 0; k < NKEYS; k++)
        visible_before += key_visible(k);
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    WAIT_FOR(it_info_field(c, "expire_backlog") == 0 &&
                 it_info_field(c, "lazyfree_pending_objects") == 0,
             20000);
    ASSERT_EQ(visible_before, it_int(c, "DBSIZE"));
    for (int k = 0; k < 2; k++)
        ASSERT(check_key(c, k) == 0);
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 0");
    redisFree(c);
}

/* A hash dying as a whole is told once: "hexpired" then "del", and the log gets a DEL. */
TEST(dead_hash_goes_as_one_unit) {
    redisContext *c = fresh();
    int64_t t0 = server_now(c) + 600000;
    memset(model, 0, sizeof(model));
    offset = 0;
    now_ms = t0 - 600000;
    load_fields(c, 2, 0, 2500, t0);
    EXPECT(c, "+OK", "CONFIG SET notify-keyspace-events Kgh");
    redisContext *sub = it_client();
    redisReply *r = redisCommand(sub, "SUBSCRIBE __keyspace@0__:dead");
    freeReplyObject(r);
    set_offset(c, 600000 + 10);
    long long base = it_info_field(c, "expired_subkeys");
    EXPECT(c, "nil", "HGET dead f1");
    ASSERT_EQ(base + 2500, it_info_field(c, "expired_subkeys"));
    const char *events[2] = {"hexpired", "del"};
    for (int i = 0; i < 2; i++) {
        ASSERT(redisGetReply(sub, (void **)&r) == REDIS_OK);
        ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == 3);
        ASSERT_STR_EQ(events[i], r->element[2]->str);
        freeReplyObject(r);
    }
    EXPECT(c, "+OK", "CONFIG SET notify-keyspace-events %s", "");
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    WAIT_FOR(it_info_field(c, "lazyfree_pending_objects") == 0, 5000);
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 0");
    redisFree(sub);
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(reads_exact_with_backlog);
    RUN(dead_hash_goes_as_one_unit);
    it_stop();
    return test_report();
}
