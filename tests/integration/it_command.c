/* Integration tests: COMMAND and its subcommands, in RESP2 (hiredis) and RESP3 (raw
 * bytes). Expected shapes were taken from Redis 7.0.15 (redis-server on a spare port) and
 * Redis 8's reply code (display_text in argument maps). */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(count_matches_command) {
    redisContext *c = it_client();
    long long n = it_int(c, "COMMAND COUNT");
    ASSERT(n > 10);
    redisReply *r = redisCommand(c, "COMMAND");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY);
    ASSERT_EQ(n, (long long)r->elements);
    freeReplyObject(r);
    EXPECT(c, "-ERR wrong number of arguments for 'command|count' command", "COMMAND COUNT x");
    EXPECT(c, "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.", "COMMAND FOO");
    redisFree(c);
}

TEST(info_shapes) {
    redisContext *c = it_client();
    EXPECT(c,
           "[[\"config|get\",-3,[+admin,+noscript,+loading,+stale],0,0,0,"
           "[+@admin,+@slow,+@dangerous],[],[],[]]]",
           "COMMAND INFO config|get");
    EXPECT(c, "[nil,nil]", "COMMAND INFO nosuch config|nosuch");
    EXPECT(c,
           "[[\"ping\",-1,[+fast],0,0,0,[+@fast,+@connection],"
           "[\"request_policy:all_shards\",\"response_policy:all_succeeded\"],[],[]]]",
           "COMMAND INFO PING");
    redisReply *r = redisCommand(c, "COMMAND INFO command");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    redisReply *e = r->element[0];
    ASSERT(e->type == REDIS_REPLY_ARRAY && e->elements == 10);
    ASSERT_EQ(7, (long long)e->element[9]->elements);
    ASSERT_STR_EQ("command|count", e->element[9]->element[0]->element[0]->str);
    freeReplyObject(r);
    /* COMMAND INFO without names lists every command. */
    r = redisCommand(c, "COMMAND INFO");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY);
    ASSERT_EQ(it_int(c, "COMMAND COUNT"), (long long)r->elements);
    freeReplyObject(r);
    redisFree(c);
}

TEST(docs_shapes) {
    redisContext *c = it_client();
    EXPECT(c,
           "[\"config|resetstat\",[\"summary\",\"Resets the server's statistics.\",\"since\","
           "\"2.0.0\",\"group\",\"server\",\"complexity\",\"O(1)\"]]",
           "COMMAND DOCS config|resetstat");
    EXPECT(c, "[]", "COMMAND DOCS nosuch");
    EXPECT(c,
           "[\"flushdb\",[\"summary\",\"Remove all keys from the current database.\",\"since\","
           "\"1.0.0\",\"group\",\"server\",\"complexity\",\"O(N) where N is the number of keys "
           "in the selected database\",\"arguments\",[[\"name\",\"flush-type\",\"type\","
           "\"oneof\",\"flags\",[+optional],\"arguments\",[[\"name\",\"async\",\"type\","
           "\"pure-token\",\"token\",\"ASYNC\",\"display_text\",\"async\"],[\"name\",\"sync\","
           "\"type\",\"pure-token\",\"token\",\"SYNC\",\"display_text\",\"sync\"]]]]]]",
           "COMMAND DOCS flushdb nosuch");
    /* CONFIG SET: the repeated pair becomes a multiple block. */
    const char *set = it_run(c, "COMMAND DOCS config|set");
    ASSERT(strstr(set, "[\"name\",\"parameter_value\",\"type\",\"block\",\"flags\",[+multiple],"
                       "\"arguments\",[[\"name\",\"parameter\",\"type\",\"string\","
                       "\"display_text\",\"parameter\"],[\"name\",\"value\",\"type\",\"string\","
                       "\"display_text\",\"value\"]]]") != NULL);
    /* A container lists its subcommands' docs. */
    const char *cfg = it_run(c, "COMMAND DOCS config");
    ASSERT(strstr(cfg, "\"subcommands\",[\"config|get\",[\"summary\"") != NULL);
    /* Every command has docs. The reply nests deeper than hiredis 0.14 parses (as Redis's
     * does), so its header is read raw. */
    char want[32], got[32];
    snprintf(want, sizeof(want), "*%lld\r\n", 2 * it_int(c, "COMMAND COUNT"));
    int fd = it_raw_connect();
    it_raw_send(fd, "COMMAND DOCS\r\n", 14);
    size_t n = it_raw_read(fd, got, strlen(want), 5000);
    close(fd);
    ASSERT_MEM_EQ(want, strlen(want), got, n);
    redisFree(c);
}

TEST(list_filters) {
    redisContext *c = it_client();
    EXPECT(c,
           "[\"config\",\"config|get\",\"config|set\",\"config|resetstat\",\"config|rewrite\","
           "\"config|help\"]",
           "COMMAND LIST FILTERBY PATTERN conf*");
    EXPECT(c, "[\"config|get\"]", "COMMAND LIST FILTERBY PATTERN CONFIG|G?T");
    EXPECT(c, "[]", "COMMAND LIST FILTERBY MODULE foo");
    EXPECT(c, "[]", "COMMAND LIST FILTERBY ACLCAT nosuchcategory");
    const char *admin = it_run(c, "COMMAND LIST FILTERBY ACLCAT admin");
    ASSERT(strstr(admin, "\"config|get\"") != NULL);
    ASSERT(strstr(admin, "\"ping\"") == NULL);
    EXPECT(c, "-ERR syntax error", "COMMAND LIST FILTERBY");
    EXPECT(c, "-ERR syntax error", "COMMAND LIST FILTERBY FOO x");
    EXPECT(c, "-ERR syntax error", "COMMAND LIST x");
    redisReply *r = redisCommand(c, "COMMAND LIST");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY);
    ASSERT(r->elements > (size_t)it_int(c, "COMMAND COUNT")); /* subcommands too */
    freeReplyObject(r);
    redisFree(c);
}

TEST(getkeys) {
    redisContext *c = it_client();
    EXPECT(c, "-ERR Invalid command specified", "COMMAND GETKEYS nosuch a");
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS config get x");
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS ping");
    /* Redis checks for keys before the arity. */
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS echo a b");
    EXPECT(c, "-ERR The command has no key arguments", "COMMAND GETKEYS echo");
    EXPECT(c, "-ERR wrong number of arguments for 'command|getkeys' command", "COMMAND GETKEYS");
    /* Key commands come from other families; check them when present. */
    if (strcmp(it_run(c, "COMMAND INFO get"), "[nil]") != 0) {
        EXPECT(c, "[\"k\"]", "COMMAND GETKEYS get k");
        EXPECT(c, "[[\"k\",[+RO,+access]]]", "COMMAND GETKEYSANDFLAGS get k");
    }
    if (strcmp(it_run(c, "COMMAND INFO mset"), "[nil]") != 0)
        EXPECT(c, "[\"a\",\"b\"]", "COMMAND GETKEYS mset a 1 b 2");
    /* Issue 21: SET's key flags depend on the call (variable_flags): it overwrites unless
     * GET reads the old value, as Redis's setGetKeys says. */
    EXPECT(c, "[[\"k1\",[+OW,+update]]]", "COMMAND GETKEYSANDFLAGS set k1 v1");
    EXPECT(c, "[[\"k1\",[+RW,+access,+update]]]", "COMMAND GETKEYSANDFLAGS set k1 v1 get");
    EXPECT(c, "[[\"k1\",[+OW,+update]]]", "COMMAND GETKEYSANDFLAGS set k1 v1 EX 10");
    redisFree(c);
}

TEST(help) {
    redisContext *c = it_client();
    redisReply *r = redisCommand(c, "COMMAND HELP");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 21);
    ASSERT_STR_EQ("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                  r->element[0]->str);
    freeReplyObject(r);
    redisFree(c);
}

TEST(resp3_sets_and_maps) {
    int fd = it_raw_connect();
    char buf[4096];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    size_t n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    ASSERT(n > 0);
    EXPECT_RAW(fd, "COMMAND INFO config|resetstat\r\n",
               "*1\r\n*10\r\n$16\r\nconfig|resetstat\r\n:2\r\n~4\r\n+admin\r\n+noscript\r\n"
               "+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n~3\r\n+@admin\r\n+@slow\r\n"
               "+@dangerous\r\n~2\r\n$24\r\nrequest_policy:all_nodes\r\n"
               "$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n");
    EXPECT_RAW(fd, "COMMAND DOCS config|resetstat\r\n",
               "%1\r\n$16\r\nconfig|resetstat\r\n%4\r\n$7\r\nsummary\r\n"
               "$31\r\nResets the server's statistics.\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n"
               "$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n");
    EXPECT_RAW(fd, "COMMAND DOCS nosuch\r\n", "%0\r\n");
    EXPECT_RAW(fd, "COMMAND INFO nosuch\r\n", "*1\r\n_\r\n");
    EXPECT_RAW(fd, "COMMAND DOCS echo\r\n",
               "%1\r\n$4\r\necho\r\n%5\r\n$7\r\nsummary\r\n$25\r\nReturns the given string."
               "\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
               "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n"
               "$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
               "$12\r\ndisplay_text\r\n$7\r\nmessage\r\n");
    close(fd);
}

int main(void) {
    it_start(NULL);
    RUN(count_matches_command);
    RUN(info_shapes);
    RUN(docs_shapes);
    RUN(list_filters);
    RUN(getkeys);
    RUN(help);
    RUN(resp3_sets_and_maps);
    it_stop();
    return test_report();
}
