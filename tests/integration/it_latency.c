/* Integration tests: the latency monitor and latency tracking (issue 19). A forced slow
 * command (DEBUG SLEEP) past latency-monitor-threshold shows in LATENCY LATEST, HISTORY,
 * GRAPH and DOCTOR, and RESET forgets it; latency-tracking's INFO latencystats percentiles
 * (latency-tracking-info-percentiles) and LATENCY HISTOGRAM, CONFIG RESETSTAT, and the
 * directives' errors. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static redisReply *cmd(redisContext *c, const char *line) {
    redisReply *r = redisCommand(c, line);
    if (!r) {
        fprintf(stderr, "no reply to %s\n", line);
        exit(1);
    }
    return r;
}

TEST(latest_history_graph_doctor_reset) {
    redisContext *c = it_client();
    EXPECT(c, "[]", "LATENCY LATEST");
    const char *doc = it_run(c, "LATENCY DOCTOR");
    if (!strstr(doc, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled"))
        TEST_FAIL("doctor while off: %s", doc);
    EXPECT(c, "+OK", "CONFIG SET latency-monitor-threshold 100");
    EXPECT(c, "[\"latency-monitor-threshold\",\"100\"]", "CONFIG GET latency-monitor-threshold");
    doc = it_run(c, "LATENCY DOCTOR");
    if (strstr(doc, "I'm sorry") || strstr(doc, "observed latency spikes"))
        TEST_FAIL("doctor with no event: %s", doc);
    /* Fast commands stay under the threshold: nothing is recorded. */
    for (int i = 0; i < 10; i++)
        EXPECT(c, "+PONG", "PING");
    EXPECT(c, "[]", "LATENCY LATEST");
    long long before = (long long)time(NULL);
    EXPECT(c, "+OK", "DEBUG SLEEP 0.15");
    long long after = (long long)time(NULL);
    redisReply *r = cmd(c, "LATENCY LATEST");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 4)
        TEST_FAIL("LATENCY LATEST shape");
    redisReply **e = r->element[0]->element;
    if (strcmp(e[0]->str, "command") != 0) TEST_FAIL("event %s", e[0]->str);
    if (e[1]->integer < before || e[1]->integer > after) TEST_FAIL("time %lld", e[1]->integer);
    if (e[2]->integer < 150 || e[2]->integer > 10000) TEST_FAIL("latency %lld", e[2]->integer);
    if (e[3]->integer != e[2]->integer) TEST_FAIL("max %lld", e[3]->integer);
    long long ms = e[2]->integer, at = e[1]->integer;
    freeReplyObject(r);
    char want[256];
    snprintf(want, sizeof(want), "[[%lld,%lld]]", at, ms);
    EXPECT(c, want, "LATENCY HISTORY command");
    EXPECT(c, "[]", "LATENCY HISTORY fast-command");
    const char *graph = it_run(c, "LATENCY GRAPH command");
    snprintf(want, sizeof(want),
             "\"command - high %lld ms, low %lld ms (all time high %lld ms)\\n-----", ms, ms, ms);
    if (strncmp(graph, want, strlen(want)) != 0) TEST_FAIL("graph: %s", graph);
    EXPECT(c, "-ERR No samples available for event 'nothing'", "LATENCY GRAPH nothing");
    doc = it_run(c, "LATENCY DOCTOR");
    snprintf(want, sizeof(want),
             "1. command: 1 latency spikes (average %lldms, mean deviation 0ms, period 1.00 "
             "sec). Worst all time event %lldms.",
             ms, ms);
    if (!strstr(doc, "Dave, I have observed latency spikes in this Redis instance.") ||
        !strstr(doc, want) || !strstr(doc, "- Check your Slow Log to understand"))
        TEST_FAIL("doctor: %s", doc);
    /* Redis's count: each name resets what is left (COMMAND takes it, command finds none). */
    EXPECT(c, "1", "LATENCY RESET nothing fast-command COMMAND command");
    EXPECT(c, "[]", "LATENCY LATEST");
    EXPECT(c, "0", "LATENCY RESET");
    EXPECT(c, "+OK", "CONFIG SET latency-monitor-threshold 0");
    EXPECT(c, "+OK", "DEBUG SLEEP 0.12");
    EXPECT(c, "[]", "LATENCY LATEST");
    redisFree(c);
}

/* The value of key pN in an INFO latencystats line, or -1. */
static double pct(const char *line, const char *key) {
    char k[32];
    snprintf(k, sizeof(k), "%s=", key);
    const char *p = strstr(line, k);
    return p ? strtod(p + strlen(k), NULL) : -1;
}

TEST(tracking_percentiles_and_histogram) {
    redisContext *c = it_client();
    EXPECT(c, "[\"latency-tracking\",\"yes\"]", "CONFIG GET latency-tracking");
    EXPECT(c, "[\"latency-tracking-info-percentiles\",\"50 99 99.9\"]",
           "CONFIG GET latency-tracking-info-percentiles");
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    for (int i = 0; i < 20; i++)
        EXPECT(c, "+PONG", "PING");
    EXPECT(c, "+OK", "DEBUG SLEEP 0.02");
    char info[8192];
    snprintf(info, sizeof(info), "%s", it_run(c, "INFO latencystats"));
    const char *ping = strstr(info, "latency_percentiles_usec_ping:p50=");
    if (!ping) TEST_FAIL("INFO latencystats: %s", info);
    double p50 = pct(ping, "p50"), p99 = pct(ping, "p99"), p999 = pct(ping, "p99.9");
    if (!(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 < 1000000))
        TEST_FAIL("ping percentiles: %s", ping);
    /* Three decimals, as Redis's "%.3f". */
    const char *dot = strchr(ping + strlen("latency_percentiles_usec_ping:p50="), '.');
    if (!dot || dot[4] != ',') TEST_FAIL("format: %s", ping);
    const char *slow = strstr(info, "latency_percentiles_usec_debug");
    if (!slow || pct(slow, "p50") < 20000) TEST_FAIL("DEBUG SLEEP percentiles: %s", info);
    /* Chosen percentiles, printed as given (trailing zeros cut). */
    EXPECT(c, "+OK", "CONFIG SET latency-tracking-info-percentiles %s", "0 50.50 100");
    EXPECT(c, "[\"latency-tracking-info-percentiles\",\"0 50.5 100\"]",
           "CONFIG GET latency-tracking-info-percentiles");
    snprintf(info, sizeof(info), "%s", it_run(c, "INFO latencystats"));
    ping = strstr(info, "latency_percentiles_usec_ping:p0=");
    if (!ping || pct(ping, "p50.5") <= 0 || pct(ping, "p100") < pct(ping, "p0"))
        TEST_FAIL("chosen percentiles: %s", info);
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument "
           "'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles "
           "parameters",
           "CONFIG SET latency-tracking-info-percentiles %s", "50 abc");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument "
           "'latency-tracking-info-percentiles') - latency-tracking-info-percentiles "
           "parameters should sit between [0.0,100.0]",
           "CONFIG SET latency-tracking-info-percentiles 100.1");
    EXPECT(c, "[\"latency-tracking-info-percentiles\",\"0 50.5 100\"]",
           "CONFIG GET latency-tracking-info-percentiles");
    EXPECT(c, "+OK", "CONFIG SET latency-tracking-info-percentiles %s", "");
    if (!strstr(it_run(c, "INFO latencystats"), "latency_percentiles_usec_ping:\\r\\n"))
        TEST_FAIL("no percentiles: %s", it_run(c, "INFO latencystats"));
    /* LATENCY HISTOGRAM: calls, and cumulative counts at 1, 2, 4, 8, 16, 33, 66, ... us. */
    redisReply *r = cmd(c, "LATENCY HISTOGRAM ping nosuchcommand");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || strcmp(r->element[0]->str, "ping"))
        TEST_FAIL("LATENCY HISTOGRAM ping shape");
    redisReply *m = r->element[1];
    if (m->elements != 4 || strcmp(m->element[0]->str, "calls") || m->element[1]->integer != 20 ||
        strcmp(m->element[2]->str, "histogram_usec"))
        TEST_FAIL("LATENCY HISTOGRAM ping fields");
    redisReply *h = m->element[3];
    static const long long levels[] = {1,     2,     4,     8,      16,     33,     66,
                                       132,   264,   528,   1056,   2113,   4227,   8454,
                                       16908, 33816, 67633, 135266, 270532, 541065, 1082130};
    long long prev = 0;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        long long us = h->element[i]->integer, cum = h->element[i + 1]->integer;
        int known = 0;
        for (size_t k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
            known |= levels[k] == us;
        if (!known || cum <= prev) TEST_FAIL("bucket %lld -> %lld", us, cum);
        prev = cum;
    }
    if (prev != 20) TEST_FAIL("last cumulative count %lld", prev);
    freeReplyObject(r);
    r = cmd(c, "LATENCY HISTOGRAM");
    int saw_ping = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        saw_ping |= strcmp(r->element[i]->str, "ping") == 0;
    freeReplyObject(r);
    if (!saw_ping) TEST_FAIL("LATENCY HISTOGRAM without ping");
    EXPECT(c, "[]", "LATENCY HISTOGRAM nosuchcommand");
    /* Off: nothing more is recorded, and INFO shows no line. */
    EXPECT(c, "+OK", "CONFIG SET latency-tracking no");
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "[]", "LATENCY HISTOGRAM ping");
    const char *off = it_run(c, "INFO latencystats");
    if (strstr(off, "latency_percentiles")) TEST_FAIL("tracking off: %s", off);
    EXPECT(c, "+OK", "CONFIG SET latency-tracking yes");
    EXPECT(c, "+OK", "CONFIG SET latency-tracking-info-percentiles %s", "50 99 99.9");
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(latest_history_graph_doctor_reset);
    RUN(tracking_percentiles_and_histogram);
    it_stop();
    return test_report();
}
