/* it_slowlog: SLOWLOG with Redis's entry shape and limits, and the empty-but-valid LATENCY
 * replies that monitoring tools expect. */
#include "integration/harness.h"

#include <stdio.h>

/* The arguments of the newest entry but `skip` (the SLOWLOG GET itself is not logged yet
 * when it replies), rendered. */
static const char *entry_args(redisContext *c, int skip, long long *duration) {
    static char out[4096];
    redisReply *r = redisCommand(c, "SLOWLOG GET %d", skip + 1);
    out[0] = '\0';
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)skip + 1) {
        redisReply *e = r->element[skip];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 6) {
            it_render(e->element[3], out, sizeof(out));
            if (duration) *duration = e->element[2]->integer;
        }
    }
    if (r) freeReplyObject(r);
    return out;
}

TEST(slowlog_records_with_redis_shape) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than 0");
    EXPECT(c, "+OK", "SLOWLOG RESET");
    EXPECT(c, "+OK", "CLIENT SETNAME probe");
    EXPECT(c, "+OK", "SET a b");
    ASSERT_STR_EQ("[\"SET\",\"a\",\"b\"]", entry_args(c, 0, NULL));
    redisReply *r = redisCommand(c, "SLOWLOG GET 1");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    redisReply *e = r->element[0];
    ASSERT(e->elements == 6 && e->element[0]->type == REDIS_REPLY_INTEGER);
    ASSERT(e->element[1]->integer > 1700000000); /* unix seconds */
    ASSERT(e->element[2]->integer >= 0);
    ASSERT(strncmp(e->element[4]->str, "127.0.0.1:", 10) == 0);
    ASSERT_STR_EQ("probe", e->element[5]->str);
    freeReplyObject(r);
    /* SLOWLOG RESET, CLIENT SETNAME, SET, SLOWLOG GET 1, and now SLOWLOG GET x2. */
    EXPECT(c, "5", "SLOWLOG LEN");
    EXPECT(c, "-ERR count should be greater than or equal to -1", "SLOWLOG GET -2");
    r = redisCommand(c, "SLOWLOG GET -1");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 7);
    freeReplyObject(r);
    redisFree(c);
}

TEST(slowlog_limits_and_redaction) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than 0");
    const char *argv[40];
    argv[0] = "DEL";
    for (int i = 1; i < 40; i++)
        argv[i] = "k";
    redisReply *r = redisCommandArgv(c, 40, argv, NULL);
    freeReplyObject(r);
    char want[512] = "[\"DEL\"";
    for (int i = 1; i < 31; i++)
        strcat(want, ",\"k\"");
    strcat(want, ",\"... (9 more arguments)\"]");
    ASSERT_STR_EQ(want, entry_args(c, 0, NULL));
    char big[201];
    memset(big, 'x', 200);
    big[200] = '\0';
    EXPECT(c, "0", "EXISTS %s", big);
    snprintf(want, sizeof(want), "[\"EXISTS\",\"%.128s... (72 more bytes)\"]", big);
    ASSERT_STR_EQ(want, entry_args(c, 0, NULL));
    r = redisCommand(c, "AUTH secret");
    freeReplyObject(r);
    ASSERT_STR_EQ("[\"AUTH\",\"(redacted)\"]", entry_args(c, 0, NULL));
    r = redisCommand(c, "HELLO 2 AUTH default secret");
    freeReplyObject(r);
    ASSERT_STR_EQ("[\"HELLO\",\"2\",\"AUTH\",\"(redacted)\",\"(redacted)\"]",
                  entry_args(c, 0, NULL));
    /* MIGRATE: only the credentials (Redis's "SLOWLOG - Some commands can redact sensitive
     * fields"); no key here, so no connection is tried. */
    EXPECT(c, "+NOKEY", "MIGRATE 127.0.0.1 1 nokey 9 5000");
    ASSERT_STR_EQ("[\"MIGRATE\",\"127.0.0.1\",\"1\",\"nokey\",\"9\",\"5000\"]",
                  entry_args(c, 0, NULL));
    EXPECT(c, "+NOKEY", "MIGRATE 127.0.0.1 1 nokey 9 5000 AUTH secret");
    ASSERT_STR_EQ("[\"MIGRATE\",\"127.0.0.1\",\"1\",\"nokey\",\"9\",\"5000\",\"AUTH\","
                  "\"(redacted)\"]",
                  entry_args(c, 0, NULL));
    EXPECT(c, "+NOKEY", "MIGRATE 127.0.0.1 1 %b 9 5000 COPY AUTH2 user secret KEYS no1 no2", "",
           (size_t)0);
    ASSERT_STR_EQ("[\"MIGRATE\",\"127.0.0.1\",\"1\",\"\",\"9\",\"5000\",\"COPY\","
                  "\"AUTH2\",\"(redacted)\",\"(redacted)\",\"KEYS\",\"no1\",\"no2\"]",
                  entry_args(c, 0, NULL));
    /* EXEC is not logged; the commands it ran are. */
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SET m 1");
    EXPECT(c, "[+OK]", "EXEC");
    ASSERT_STR_EQ("[\"SET\",\"m\",\"1\"]", entry_args(c, 0, NULL));
    EXPECT(c, "+OK", "CONFIG SET slowlog-max-len 2");
    EXPECT(c, "2", "SLOWLOG LEN");
    EXPECT(c, "+OK", "CONFIG SET slowlog-max-len 128");
    /* -1 logs nothing; a threshold logs only what ran that long. */
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than -1");
    EXPECT(c, "+OK", "SLOWLOG RESET");
    EXPECT(c, "+OK", "SET a b");
    EXPECT(c, "0", "SLOWLOG LEN");
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than 10000");
    EXPECT(c, "+OK", "SET a b");
    EXPECT(c, "+OK", "DEBUG SLEEP 0.02");
    EXPECT(c, "1", "SLOWLOG LEN");
    long long us = 0;
    ASSERT_STR_EQ("[\"DEBUG\",\"SLEEP\",\"0.02\"]", entry_args(c, 0, &us));
    ASSERT(us >= 20000);
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than 10000");
    redisFree(c);
}

/* With no latency event yet (it_latency has the events themselves). */
TEST(latency_replies_without_events) {
    redisContext *c = it_client();
    EXPECT(c, "[]", "LATENCY LATEST");
    EXPECT(c, "[]", "LATENCY HISTORY command");
    EXPECT(c, "[]", "LATENCY HISTOGRAM nosuchcommand");
    EXPECT(c, "0", "LATENCY RESET");
    EXPECT(c, "0", "LATENCY RESET command fork");
    EXPECT(c, "-ERR No samples available for event 'command'", "LATENCY GRAPH command");
    const char *doc = it_run(c, "LATENCY DOCTOR");
    ASSERT(strstr(doc, "Latency monitoring is disabled in this Redis instance") != NULL);
    EXPECT(c, "+OK", "CONFIG SET latency-monitor-threshold 100");
    doc = it_run(c, "LATENCY DOCTOR");
    ASSERT(strstr(doc, "no latency spike was observed") != NULL);
    EXPECT(c, "+OK", "CONFIG SET latency-monitor-threshold 0");
    redisReply *r = redisCommand(c, "LATENCY HELP");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements > 10);
    freeReplyObject(r);
    r = redisCommand(c, "SLOWLOG HELP");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 12);
    freeReplyObject(r);
    EXPECT(c, "-ERR unknown subcommand 'NOPE'. Try LATENCY HELP.", "LATENCY NOPE");
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(slowlog_records_with_redis_shape);
    RUN(slowlog_limits_and_redaction);
    RUN(latency_replies_without_events);
    it_stop();
    return test_report();
}
