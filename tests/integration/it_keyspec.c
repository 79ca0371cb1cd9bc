/* Integration tests: key specs (COMMAND INFO), COMMAND GETKEYS and GETKEYSANDFLAGS.
 *
 * Two sources of truth: Redis 8's src/commands/<name>.json key specs (hard-coded below for the
 * commands Redis 7.0 lacks and for a representative set), and Debian's redis-server 7.0
 * run beside Mayfly: for every command both have, the key specs and legacy key range of
 * COMMAND INFO and the keys and flags of sample calls must be the same. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REFERENCE_SERVER "/usr/bin/redis-server"

TEST(getkeysandflags_redis8) {
    redisContext *c = it_client();
    EXPECT(c, "[[\"k\",[+OW,+update]]]", "COMMAND GETKEYSANDFLAGS set k v");
    EXPECT(c, "[[\"k\",[+RW,+access,+update]]]", "COMMAND GETKEYSANDFLAGS set k v get");
    EXPECT(c, "[[\"k\",[+RW,+access,+update]]]", "COMMAND GETKEYSANDFLAGS set k v EX 10 GeT");
    EXPECT(c, "[[\"h\",[+RW,+update]]]", "COMMAND GETKEYSANDFLAGS hsetex h EX 10 FIELDS 1 f v");
    EXPECT(c, "[[\"h\",[+RW,+access,+update]]]",
           "COMMAND GETKEYSANDFLAGS hgetex h PERSIST FIELDS 1 f");
    EXPECT(c, "[[\"h\",[+RW,+access,+delete]]]", "COMMAND GETKEYSANDFLAGS hgetdel h FIELDS 1 f");
    EXPECT(c, "[[\"h\",[+RW,+update]]]", "COMMAND GETKEYSANDFLAGS hexpire h 10 FIELDS 1 f");
    EXPECT(c, "[[\"h\",[+RO,+access]]]", "COMMAND GETKEYSANDFLAGS httl h FIELDS 1 f");
    EXPECT(c, "[[\"a\",[+RO,+access]],[\"b\",[+OW,+update]]]", "COMMAND GETKEYSANDFLAGS copy a b");
    EXPECT(c, "[[\"a\",[+RW,+access,+delete]],[\"b\",[+OW,+insert]]]",
           "COMMAND GETKEYSANDFLAGS renamenx a b");
    EXPECT(c, "[[\"a\",[+RM,+delete]],[\"b\",[+RM,+delete]]]", "COMMAND GETKEYSANDFLAGS del a b");
    EXPECT(c, "[[\"a\",[+OW,+update]],[\"b\",[+OW,+update]]]",
           "COMMAND GETKEYSANDFLAGS mset a 1 b 2");
    EXPECT(c, "[[\"k\",[+RO]]]", "COMMAND GETKEYSANDFLAGS object encoding k");
    EXPECT(c, "[\"a\",\"b\"]", "COMMAND GETKEYS watch a b");
    /* Shard channels are not keys; the checks come in Redis's order. */
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS spublish ch msg");
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS echo a b");
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS config");
    EXPECT(c, "-ERR Invalid number of arguments specified for command", "COMMAND GETKEYS get");
    EXPECT(c, "-ERR Invalid command specified", "COMMAND GETKEYS object nosuch k");
    /* COMMAND INFO shows the specs with their notes. */
    EXPECT(c,
           "[[\"hgetex\",-5,[+write,+fast],1,1,1,[+@write,+@hash,+@fast],[],"
           "[[\"notes\",\"RW and UPDATE because it changes the TTL\",\"flags\","
           "[+RW,+access,+update],\"begin_search\",[\"type\",\"index\",\"spec\",[\"index\",1]],"
           "\"find_keys\",[\"type\",\"range\",\"spec\",[\"lastkey\",0,\"keystep\",1,\"limit\","
           "0]]]],[]]]",
           "COMMAND INFO hgetex");
    redisFree(c);
}

/* Renders the reply to COMMAND GETKEYSANDFLAGS <words of call> on c into out. */
static void render_getkeys(redisContext *c, char *out, size_t cap, const char *call) {
    char copy[256];
    const char *argv[32] = {"COMMAND", "GETKEYSANDFLAGS"};
    int argc = 2;
    snprintf(copy, sizeof(copy), "%s", call);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && argc < 32;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    out[0] = '\0';
    if (r) it_render(r, out, cap);
    freeReplyObject(r);
}

/* Compares COMMAND INFO's legacy key range and key specs of every Mayfly command (and
 * subcommand) that the reference server has. */
static int compare_command_info(redisContext *m, redisContext *ref) {
    redisReply *list = redisCommand(m, "COMMAND LIST");
    if (!list || list->type != REDIS_REPLY_ARRAY) return -1;
    int compared = 0, bad = 0;
    for (size_t i = 0; i < list->elements; i++) {
        const char *name = list->element[i]->str;
        redisReply *a = redisCommand(m, "COMMAND INFO %s", name);
        redisReply *b = redisCommand(ref, "COMMAND INFO %s", name);
        if (a && b && b->type == REDIS_REPLY_ARRAY && b->elements == 1 &&
            b->element[0]->type == REDIS_REPLY_ARRAY && a->elements == 1) {
            compared++;
            static char ra[8192], rb[8192];
            for (int k = 3; k <= 8; k++) {
                if (k == 6 || k == 7) continue; /* ACL categories and tips: not key facts */
                it_render(a->element[0]->element[k], ra, sizeof(ra));
                it_render(b->element[0]->element[k], rb, sizeof(rb));
                if (strcmp(ra, rb) != 0) {
                    fprintf(stderr, "COMMAND INFO %s [%d]:\n  mayfly %s\n  redis  %s\n", name, k,
                            ra, rb);
                    bad++;
                }
            }
        }
        freeReplyObject(a);
        freeReplyObject(b);
    }
    freeReplyObject(list);
    return bad ? -1 : compared;
}

TEST(same_as_reference_server) {
    if (access(REFERENCE_SERVER, X_OK) != 0)
        TEST_FAIL("%s is missing (scripts/install-deps.sh installs redis-server)",
                  REFERENCE_SERVER);
    it_server ref;
    if (!it_start_binary(&ref, REFERENCE_SERVER, NULL)) TEST_FAIL("reference did not start");
    redisContext *m = it_client();
    redisContext *r = it_client_to(&ref);
    int compared = compare_command_info(m, r);
    /* Sample calls: key-taking forms Redis 7.0 also has (its COMMAND GETKEYS needs an
     * argument after the command name, Redis 8's does not). */
    static const char *const calls[] = {
        "set k v",         "set k v get",
        "set k v nx px 5", "get k",
        "getex k ex 1",    "getdel k",
        "getset k v",      "mget a b c",
        "mset a 1 b 2",    "msetnx a 1 b 2",
        "setnx k v",       "setex k 1 v",
        "psetex k 1 v",    "append k v",
        "strlen k",        "incr k",
        "incrbyfloat k 1", "getrange k 0 1",
        "setrange k 0 v",  "del a b",
        "unlink a",        "exists a b",
        "touch a",         "type k",
        "rename a b",      "renamenx a b",
        "copy a b",        "move k 1",
        "expire k 1",      "pexpireat k 1",
        "ttl k",           "pexpiretime k",
        "persist k",       "hset h f v",
        "hget h f",        "hmget h f g",
        "hdel h f",        "hlen h",
        "hexists h f",     "hstrlen h f",
        "hincrby h f 1",   "hsetnx h f v",
        "hgetall h",       "hrandfield h",
        "hscan h 0",       "object encoding k",
        "object freq k",   "memory usage k",
        "watch a b",       "spublish c m",
        "ssubscribe c",    "echo x",
        "config get x",    "nosuch k",
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        static char ra[4096], rb[4096];
        render_getkeys(m, ra, sizeof(ra), calls[i]);
        render_getkeys(r, rb, sizeof(rb), calls[i]);
        if (strcmp(ra, rb) != 0) {
            fprintf(stderr, "GETKEYSANDFLAGS %s:\n  mayfly %s\n  redis  %s\n", calls[i], ra, rb);
            bad++;
        }
    }
    redisFree(m);
    redisFree(r);
    it_stop_server(&ref);
    ASSERT(compared > 60); /* most of the table exists in Redis 7.0 */
    ASSERT_EQ(0, bad);
}

int main(void) {
    it_start(NULL);
    RUN(getkeysandflags_redis8);
    RUN(same_as_reference_server);
    it_stop();
    return test_report();
}
