/* cmd_latency: LATENCY, the latency monitor's directives and per-command latency tracking.
 *
 * The monitor (util/latency) holds events: "command" / "fast-command" from cmd_call, and
 * the server's cycles (expire-cycle, eviction-cycle) from server.c. LATENCY LATEST /
 * HISTORY / GRAPH / RESET / DOCTOR read it as Redis's latency.c does.
 *
 * latency-tracking (on by default) records every command's duration in a histogram of its
 * own (util/hdrhist, Redis's HDR layout: 1 ns to 1 s, two significant digits), created on
 * the command's first call and dropped by CONFIG RESETSTAT. INFO latencystats prints the
 * latency-tracking-info-percentiles of each (p50, p99, p99.9 by default) and
 * LATENCY HISTOGRAM the cumulative counts at powers of two from 1024 ns. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/util/hdrhist.h"
#include "mayfly/util/latency.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/slice.h"
#include "mayfly/util/strconv.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PERCENTILES 64

static int tracking_on = 1;
static double percentiles[MAX_PERCENTILES] = {50.0, 99.0, 99.9};
static size_t npercentiles = 3;

void cmd_latency_record(cmd_stats *st, const cmd_spec *cmd, int64_t took_us) {
    latency_note((cmd->flags & CMD_FAST) ? "fast-command" : "command", took_us / 1000);
    if (!tracking_on || !st) return;
    if (!st->hist) st->hist = hdrhist_new();
    hdrhist_record(st->hist, took_us * 1000);
}

/* A percentile as Redis prints it: "%f" without trailing zeros (and point). */
static void percentile_name(char *out, size_t cap, double p) {
    int n = snprintf(out, cap, "%f", p);
    if (n <= 0 || (size_t)n >= cap || !strchr(out, '.')) return;
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.') out[--n] = '\0';
}

static void info_line(void *ctx, const char *name, const char *sub, cmd_stats *st) {
    buf *b = ctx;
    if (!st->hist) return;
    buf_printf(b, "latency_percentiles_usec_%s%s%s:", name, sub ? "|" : "", sub ? sub : "");
    for (size_t i = 0; i < npercentiles; i++) {
        char pn[64];
        percentile_name(pn, sizeof(pn), percentiles[i]);
        buf_printf(b, "%sp%s=%.3f", i ? "," : "", pn,
                   (double)hdrhist_percentile(st->hist, percentiles[i]) / 1000.0);
    }
    buf_puts(b, "\r\n");
}

void cmd_info_latencystats(buf *b) {
    if (tracking_on) cmd_foreach_stats(info_line, b);
}

/* ---- LATENCY HISTOGRAM ---- */

typedef struct hist_reply {
    cmd_ctx *c;
    size_t commands;
    size_t pairs; /* histogram_usec entries of the command being written */
} hist_reply;

static void bucket_pair(void *ctx, int64_t level_ns, int64_t cum) {
    hist_reply *h = ctx;
    reply_int(h->c, level_ns / 1000);
    reply_int(h->c, cum);
    h->pairs++;
}

static void command_histogram(hist_reply *h, const char *name, const char *sub,
                              const hdrhist *hist) {
    char full[256];
    snprintf(full, sizeof(full), "%s%s%s", name, sub ? "|" : "", sub ? sub : "");
    reply_bulk_cstr(h->c, full);
    reply_map(h->c, 2);
    reply_bulk_cstr(h->c, "calls");
    reply_int(h->c, hdrhist_count(hist));
    reply_bulk_cstr(h->c, "histogram_usec");
    size_t mark = reply_defer(h->c);
    h->pairs = 0;
    hdrhist_each_level(hist, bucket_pair, h);
    reply_defer_map(h->c, mark, h->pairs);
    h->commands++;
}

static void histogram_of(void *ctx, const char *name, const char *sub, cmd_stats *st) {
    if (st->hist) command_histogram(ctx, name, sub, st->hist);
}

/* A subcommand named by its full name, parent|sub (Redis's lookupCommandBySds). */
static void named_subcommand(hist_reply *h, slice full) {
    const char *bar = memchr(full.p, '|', full.len);
    if (!bar) return;
    const cmd_spec *parent = cmd_lookup((slice){full.p, (size_t)(bar - full.p)});
    if (!parent || !parent->subcmds) return;
    const cmd_spec *sub =
        cmd_lookup_sub(parent, (slice){bar + 1, full.len - (size_t)(bar - full.p) - 1});
    cmd_stats *st = sub ? cmd_stats_of(sub) : NULL;
    if (st && st->hist) command_histogram(h, parent->name, sub->name, st->hist);
}

static void latency_histogram(cmd_ctx *c) {
    hist_reply h = {c, 0, 0};
    size_t mark = reply_defer(c);
    if (c->argc == 2) {
        cmd_foreach_stats(histogram_of, &h);
    } else {
        for (int i = 2; i < c->argc; i++) {
            const cmd_spec *spec = cmd_lookup(c->argv[i]);
            if (!spec) {
                named_subcommand(&h, c->argv[i]); /* "client|id" */
                continue;
            }
            cmd_stats *st = cmd_stats_of(spec);
            if (st && st->hist) command_histogram(&h, spec->name, NULL, st->hist);
            for (const cmd_spec *sub = spec->subcmds; sub && sub->name; sub++) {
                st = cmd_stats_of(sub);
                if (st && st->hist) command_histogram(&h, spec->name, sub->name, st->hist);
            }
        }
    }
    reply_defer_map(c, mark, h.commands);
}

/* ---- the monitor's views ---- */

static void event_name(cmd_ctx *c, char *out, size_t cap) {
    size_t n = c->argv[2].len < cap - 1 ? c->argv[2].len : cap - 1;
    memcpy(out, c->argv[2].p, n);
    out[n] = '\0';
}

static void latency_latest(cmd_ctx *c) {
    size_t n = latency_event_count();
    reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        latency_sample v[LATENCY_SAMPLES];
        uint32_t max = 0;
        const char *name = latency_event_name(i);
        int k = latency_history(name, v, &max);
        reply_array(c, 4);
        reply_bulk_cstr(c, name);
        reply_int(c, k > 0 ? v[k - 1].time : 0);
        reply_int(c, k > 0 ? v[k - 1].latency : 0);
        reply_int(c, max);
    }
}

static void latency_history_cmd(cmd_ctx *c) {
    char name[256];
    event_name(c, name, sizeof(name));
    latency_sample v[LATENCY_SAMPLES];
    int n = memchr(c->argv[2].p, 0, c->argv[2].len) ? -1 : latency_history(name, v, NULL);
    reply_array(c, n > 0 ? (size_t)n : 0);
    for (int i = 0; i < n; i++) {
        reply_array(c, 2);
        reply_int(c, v[i].time);
        reply_int(c, v[i].latency);
    }
}

static void latency_graph_cmd(cmd_ctx *c) {
    char name[256];
    event_name(c, name, sizeof(name));
    buf g;
    buf_init(&g);
    if (memchr(c->argv[2].p, 0, c->argv[2].len) || latency_graph(&g, name, (int64_t)time(NULL)) < 0)
        reply_errorf(c, "ERR No samples available for event '%s'", name);
    else
        reply_verbatim(c, g.data, g.len);
    buf_deinit(&g);
}

static void latency_reset_cmd(cmd_ctx *c) {
    if (c->argc == 2) {
        reply_int(c, latency_reset(NULL));
        return;
    }
    int n = 0;
    for (int i = 2; i < c->argc; i++) {
        char *name = mem_strndup(c->argv[i].p, c->argv[i].len);
        n += latency_reset(name);
        mem_free(name);
    }
    reply_int(c, n);
}

static void latency_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the "
        "specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

/* ---- LATENCY DOCTOR (Redis's report, word for word) ---- */

enum {
    ADV_SLOWLOG_ENABLE = 1 << 0,
    ADV_SLOWLOG_TUNE = 1 << 1,
    ADV_SLOWLOG_INSPECT = 1 << 2,
    ADV_SCHEDULER = 1 << 3,
    ADV_RELAX_FSYNC = 1 << 4,
    ADV_HZ = 1 << 5,
    ADV_LARGE_OBJECTS = 1 << 6,
    ADV_MASS_EVICTION = 1 << 7,
    ADV_DISABLE_THP = 1 << 8,
};

/* Bytes of anonymous huge pages the process uses (Linux's smaps), 0 when unknown. */
static long long anon_huge_pages(void) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    char line[256];
    long long total = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "AnonHugePages:", 14) == 0) total += strtoll(line + 14, NULL, 10);
    fclose(f);
    return total * 1024;
}

/* The advices an event calls for; *count grows by as many as Redis counts for it. */
static unsigned event_advices(const char *event, int *count) {
    unsigned a = 0;
    if (strcmp(event, "command") == 0) {
        if (config.slowlog_log_slower_than < 0 || config.slowlog_max_len == 0) {
            a |= ADV_SLOWLOG_ENABLE;
            ++*count;
        } else if (config.slowlog_log_slower_than / 1000 > latency_monitor_threshold) {
            a |= ADV_SLOWLOG_TUNE;
            ++*count;
        }
        a |= ADV_SLOWLOG_INSPECT | ADV_LARGE_OBJECTS;
        *count += 2;
    } else if (strcmp(event, "fast-command") == 0) {
        a |= ADV_SCHEDULER;
        ++*count;
    } else if (strcmp(event, "aof-fsync-always") == 0) {
        a |= ADV_RELAX_FSYNC;
        ++*count;
    } else if (strcmp(event, "expire-cycle") == 0) {
        a |= ADV_HZ | ADV_LARGE_OBJECTS;
        *count += 2;
    } else if (strcmp(event, "eviction-cycle") == 0) {
        a |= ADV_MASS_EVICTION;
        ++*count;
    }
    return a;
}

static void doctor_advices(buf *out, unsigned a) {
    buf_puts(out, "\nI have a few advices for you:\n\n");
    if (a & ADV_SLOWLOG_ENABLE)
        buf_printf(out,
                   "- There are latency issues with potentially slow commands you are using. "
                   "Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
                   "slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not "
                   "able to log slow commands execution for you.\n",
                   (unsigned long long)latency_monitor_threshold * 1000);
    if (a & ADV_SLOWLOG_TUNE)
        buf_printf(out,
                   "- Your current Slow Log configuration only logs events that are slower than "
                   "your configured latency monitor threshold. Please use 'CONFIG SET "
                   "slowlog-log-slower-than %llu'.\n",
                   (unsigned long long)latency_monitor_threshold * 1000);
    if (a & ADV_SLOWLOG_INSPECT)
        buf_puts(out, "- Check your Slow Log to understand what are the commands you are running "
                      "which are too slow to execute. Please check "
                      "https://redis.io/commands/slowlog for more information.\n");
    if (a & ADV_SCHEDULER)
        buf_puts(out,
                 "- The system is slow to execute Redis code paths not containing system calls. "
                 "This usually means the system does not provide Redis CPU time to run for long "
                 "periods. You should try to:\n"
                 "  1) Lower the system load.\n"
                 "  2) Use a computer / VM just for Redis if you are running other software in "
                 "the same system.\n"
                 "  3) Check if you have a \"noisy neighbour\" problem.\n"
                 "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic "
                 "latency in your system.\n"
                 "  5) Check if the problem is allocator-related by recompiling Redis with "
                 "MALLOC=libc, if you are using Jemalloc. However this may create fragmentation "
                 "problems.\n");
    if ((a & ADV_RELAX_FSYNC) && config.appendfsync == 2)
        buf_puts(out, "- Your fsync policy is set to 'always'. It is very hard to get good "
                      "performances with such a setup, if possible try to relax the fsync "
                      "policy to 'onesec'.\n");
    if ((a & ADV_HZ) && config.hz < 100)
        buf_puts(out, "- In order to make the Redis keys expiring process more incremental, try "
                      "to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz "
                      "100'.\n");
    if (a & ADV_LARGE_OBJECTS)
        buf_puts(out, "- Deleting, expiring or evicting (because of maxmemory policy) large "
                      "objects is a blocking operation. If you have very large objects that are "
                      "often deleted, expired, or evicted, try to fragment those objects into "
                      "multiple smaller objects.\n");
    if (a & ADV_MASS_EVICTION)
        buf_puts(out, "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or "
                      "allocation of large objects via sets or sorted sets intersections, STORE "
                      "option of SORT, Redis Cluster large keys migrations (RESTORE command), "
                      "may create sudden memory pressure forcing the server to block trying to "
                      "evict keys. \n");
    if (a & ADV_DISABLE_THP)
        buf_puts(out,
                 "- I detected a non zero amount of anonymous huge pages used by your process. "
                 "This creates very serious latency events in different conditions, especially "
                 "when Redis is persisting on disk. To disable THP support use the command 'echo "
                 "never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it "
                 "into /etc/rc.local so that the command will be executed again after a reboot. "
                 "Note that even if you have already disabled THP, you still need to restart the "
                 "Redis process to get rid of the huge pages already created.\n");
}

static void latency_report(buf *out) {
    size_t n = latency_event_count();
    if (n == 0 && latency_monitor_threshold == 0) {
        buf_puts(out, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this "
                      "Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
                      "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
                      "mission I'd suggest to take a look at "
                      "https://redis.io/topics/latency-monitor.\n");
        return;
    }
    unsigned advices = 0;
    int count = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        const char *event = latency_event_name(i);
        if (i == 0)
            buf_puts(out, "Dave, I have observed latency spikes in this Redis instance. You "
                          "don't mind talking about it, do you Dave?\n\n");
        latency_stats st;
        latency_analyze(event, now, &st);
        buf_printf(out,
                   "%zu. %s: %u latency spikes (average %lums, mean deviation %lums, period %.2f "
                   "sec). Worst all time event %lums.\n",
                   i + 1, event, st.samples, (unsigned long)st.avg, (unsigned long)st.mad,
                   st.samples ? (double)st.period / st.samples : 0.0,
                   (unsigned long)st.all_time_high);
        advices |= event_advices(event, &count);
    }
    if (anon_huge_pages() > 0) {
        advices |= ADV_DISABLE_THP;
        count++;
    }
    if (n == 0 && count == 0)
        buf_puts(out, "Dave, no latency spike was observed during the lifetime of this Redis "
                      "instance, not in the slightest bit. I honestly think you ought to sit "
                      "down calmly, take a stress pill, and think things over.\n");
    else if (n > 0 && count == 0)
        buf_puts(out, "\nWhile there are latency events logged, I'm not able to suggest any "
                      "easy fix. Please use the Redis community to get some help, providing "
                      "this report in your help request.\n");
    else
        doctor_advices(out, advices);
}

static void latency_doctor(cmd_ctx *c) {
    buf report;
    buf_init(&report);
    latency_report(&report);
    reply_verbatim(c, report.data, report.len);
    buf_deinit(&report);
}

#define ADMNS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define HLP (CMD_LOADING | CMD_STALE)

static const cmd_spec latency_subcmds[] = {
    {"doctor", latency_doctor, 2, ADMNS, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns a human-readable latency analysis report.", "", NULL, "@admin @slow @dangerous"},
    {"graph", latency_graph_cmd, 3, ADMNS, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns a latency graph for an event.", "event", NULL, "@admin @slow @dangerous"},
    {"history", latency_history_cmd, 3, ADMNS, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns timestamp-latency samples for an event.", "event", NULL, "@admin @slow @dangerous"},
    {"latest", latency_latest, 2, ADMNS, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns the latest latency samples for all events.", "", NULL, "@admin @slow @dangerous"},
    {"reset", latency_reset_cmd, -2, ADMNS, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Resets the latency data for one or more events.", "[event [event ...]]", NULL,
     "@admin @slow @dangerous"},
    {"histogram", latency_histogram, -2, ADMNS, 0, 0, 0, "server", "7.0.0",
     "O(N) where N is the number of commands with latency information being retrieved.",
     "Returns the cumulative distribution of latencies of a subset or all commands.",
     "[command [command ...]]", NULL, "@admin @slow @dangerous"},
    {"help", latency_help, 2, HLP, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow"},
    {0},
};

const cmd_spec cmd_family_latency[] = {
    {"latency", NULL, -2, 0, 0, 0, 0, "server", "2.8.13", "Depends on subcommand.",
     "A container for latency diagnostics commands.", "", latency_subcmds, "@slow"},
    {0},
};

/* ---- directives ---- */

/* latency-tracking-info-percentiles: numbers in [0, 100] separated by spaces; "" for none
 * (Redis's messages). Nothing is stored unless every number is valid. */
static int parse_percentiles(const char *v, const char **err) {
    double tmp[MAX_PERCENTILES];
    size_t n = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\t')
            end++;
        double d;
        if (n == MAX_PERCENTILES || str_to_d(p, (size_t)(end - p), &d) < 0) {
            *err = "Invalid latency-tracking-info-percentiles parameters";
            return -1;
        }
        if (d > 100.0 || d < 0.0) {
            *err = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
            return -1;
        }
        tmp[n++] = d;
        p = end;
    }
    memcpy(percentiles, tmp, n * sizeof(double));
    npercentiles = n;
    return 0;
}

static void print_percentiles(buf *out) {
    for (size_t i = 0; i < npercentiles; i++) {
        char pn[64];
        percentile_name(pn, sizeof(pn), percentiles[i]);
        buf_printf(out, "%s%s", i ? " " : "", pn);
    }
}

const config_row cmd_latency_config_rows[] = {
    CONFIG_INT_ROW("latency-monitor-threshold", &latency_monitor_threshold, 0, LLONG_MAX, "0"),
    CONFIG_BOOL_ROW("latency-tracking", &tracking_on, "yes"),
    {.name = "latency-tracking-info-percentiles",
     .kind = CONFIG_SPECIAL,
     .def = "50 99 99.9",
     .parse = parse_percentiles,
     .print = print_percentiles},
    {0},
};
