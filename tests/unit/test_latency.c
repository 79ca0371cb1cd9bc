/* Unit tests for util/hdrhist (the slots, percentiles and reporting levels Redis's HDR
 * histograms give: 1 ns to 1 s, two significant digits) and util/latency (samples per
 * second, all-time maximum, reset, the doctor's figures and the graph's text). */
#include "mayfly/util/hdrhist.h"
#include "mayfly/util/latency.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

typedef struct levels {
    int n;
    long long ns[64], cum[64];
} levels;

static void collect(void *ctx, int64_t level_ns, int64_t cum) {
    levels *l = ctx;
    if (l->n < 64) {
        l->ns[l->n] = level_ns;
        l->cum[l->n] = cum;
        l->n++;
    }
}

TEST(slots_and_percentiles) {
    hdrhist *h = hdrhist_new();
    ASSERT_EQ(0, hdrhist_percentile(h, 50));
    hdrhist_record(h, 1000); /* 1 us: the slot [1000, 1003] of width 4 */
    ASSERT_EQ(1003, hdrhist_percentile(h, 50));
    ASSERT_EQ(1000, hdrhist_percentile(h, 0));
    hdrhist_free(h);
    h = hdrhist_new();
    hdrhist_record(h, 255); /* exact below 256 */
    ASSERT_EQ(255, hdrhist_percentile(h, 100));
    hdrhist_free(h);
    h = hdrhist_new();
    hdrhist_record(h, 256); /* width 2 from 256 */
    ASSERT_EQ(257, hdrhist_percentile(h, 99.9));
    hdrhist_record(h, 0);          /* recorded as 1 */
    hdrhist_record(h, 5000000000); /* recorded as 1 s */
    ASSERT_EQ(3, hdrhist_count(h));
    ASSERT_EQ(1, hdrhist_percentile(h, 10));
    ASSERT_EQ(257, hdrhist_percentile(h, 50));
    /* 1e9 lies in band 22 (width 2^22): its slot ends at 1,002,438,655. */
    ASSERT_EQ(1002438655, hdrhist_percentile(h, 100));
    hdrhist_free(h);
    /* 100 values 1..100 us: the 50th is 50 us (50,000 in a slot of width 256). */
    h = hdrhist_new();
    for (int i = 100; i >= 1; i--)
        hdrhist_record(h, (int64_t)i * 1000);
    ASSERT_EQ(50175, hdrhist_percentile(h, 50));
    ASSERT_EQ(99327, hdrhist_percentile(h, 99));
    ASSERT_EQ(100351, hdrhist_percentile(h, 100));
    hdrhist_free(h);
}

TEST(reporting_levels) {
    hdrhist *h = hdrhist_new();
    levels l = {0};
    hdrhist_each_level(h, collect, &l);
    ASSERT_EQ(0, l.n);
    hdrhist_record(h, 1000); /* counted at the first level (1024) */
    hdrhist_record(h, 1031); /* the slot that starts at 1024 is counted there too */
    hdrhist_record(h, 1500); /* at 2048 */
    hdrhist_record(h, 1000000);
    hdrhist_each_level(h, collect, &l);
    ASSERT_EQ(3, l.n);
    ASSERT_EQ(1031, l.ns[0]); /* LATENCY HISTOGRAM prints 1 */
    ASSERT_EQ(2, l.cum[0]);
    ASSERT_EQ(2063, l.ns[1]); /* 2 */
    ASSERT_EQ(3, l.cum[1]);
    ASSERT_EQ(1056767, l.ns[2]); /* 1056 */
    ASSERT_EQ(4, l.cum[2]);
    hdrhist_free(h);
}

TEST(monitor_samples) {
    latency_reset(NULL);
    latency_monitor_threshold = 0;
    latency_note("command", 500); /* off */
    ASSERT_EQ(0, latency_event_count());
    latency_monitor_threshold = 100;
    latency_note("command", 99);
    ASSERT_EQ(0, latency_event_count());
    latency_add("command", 150, 1000);
    latency_add("command", 120, 1000); /* same second: the worst stays */
    latency_add("command", 300, 1000);
    latency_add("fast-command", 100, 1001);
    latency_add("command", 200, 1002);
    ASSERT_EQ(2, latency_event_count());
    ASSERT_STR_EQ("command", latency_event_name(0));
    latency_sample v[LATENCY_SAMPLES];
    uint32_t max = 0;
    ASSERT_EQ(2, latency_history("command", v, &max));
    ASSERT_EQ(300, max);
    ASSERT_EQ(1000, v[0].time);
    ASSERT_EQ(300, v[0].latency);
    ASSERT_EQ(1002, v[1].time);
    ASSERT_EQ(200, v[1].latency);
    latency_stats st;
    latency_analyze("command", 1010, &st);
    ASSERT_EQ(2, st.samples);
    ASSERT_EQ(250, st.avg);
    ASSERT_EQ(50, st.mad);
    ASSERT_EQ(200, st.min);
    ASSERT_EQ(300, st.max);
    ASSERT_EQ(10, st.period);
    /* The ring keeps the last 160 seconds. */
    for (int i = 0; i < 200; i++)
        latency_add("expire-cycle", 100 + i, 2000 + i);
    ASSERT_EQ(LATENCY_SAMPLES, latency_history("expire-cycle", v, &max));
    ASSERT_EQ(2040, v[0].time);
    ASSERT_EQ(299, max);
    ASSERT_EQ(1, latency_reset("EXPIRE-CYCLE"));
    ASSERT_EQ(-1, latency_history("expire-cycle", v, &max));
    ASSERT_EQ(2, latency_reset(NULL));
    ASSERT_EQ(0, latency_event_count());
    latency_monitor_threshold = 0;
}

TEST(graph_text) {
    latency_reset(NULL);
    buf b;
    buf_init(&b);
    ASSERT_EQ(-1, latency_graph(&b, "command", 100));
    latency_add("command", 10, 40);
    latency_add("command", 20, 70);
    latency_add("command", 40, 100);
    ASSERT_EQ(0, latency_graph(&b, "command", 100));
    const char *want = "command - high 40 ms, low 10 ms (all time high 40 ms)\n"
                       "--------------------------------------------------------------------------"
                       "------\n"
                       "  #\n"
                       "  |\n"
                       " o|\n"
                       "_||\n"
                       "   \n"
                       "130\n"
                       "m0s\n"
                       " s \n";
    ASSERT_EQ(strlen(want), b.len);
    ASSERT(memcmp(want, b.data, b.len) == 0);
    buf_deinit(&b);
    latency_reset(NULL);
}

int main(void) {
    RUN(slots_and_percentiles);
    RUN(reporting_levels);
    RUN(monitor_samples);
    RUN(graph_text);
    return test_report();
}
