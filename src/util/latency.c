/* latency: see latency.h. A small array of events (there are a few dozen names at most),
 * each with a ring of LATENCY_SAMPLES samples; a sample in the same second as the
 * previous one only raises it. The graph is a four-row chart in the characters "_o#" with
 * '|' below a bar's top, one column per sample, each column labelled below with the
 * sample's age written downwards (as Redis's sparkline). */
#include "mayfly/util/latency.h"

#include "mayfly/util/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_EVENTS 64
#define GRAPH_COLUMNS 80
#define GRAPH_ROWS 4

long long latency_monitor_threshold = 0;

typedef struct series {
    char *name;
    int next; /* the slot the next sample goes to */
    uint32_t max;
    latency_sample ring[LATENCY_SAMPLES];
} series;

static series *events[MAX_EVENTS];
static size_t nevents;

static series *find(const char *event) {
    for (size_t i = 0; i < nevents; i++)
        if (strcasecmp(events[i]->name, event) == 0) return events[i];
    return NULL;
}

void latency_note(const char *event, int64_t ms) {
    if (latency_monitor_threshold > 0 && ms >= latency_monitor_threshold)
        latency_add(event, ms, (int64_t)time(NULL));
}

void latency_add(const char *event, int64_t ms, int64_t now_s) {
    series *s = find(event);
    if (!s) {
        if (nevents == MAX_EVENTS) return;
        s = mem_calloc(1, sizeof(*s));
        s->name = mem_strdup(event);
        events[nevents++] = s;
    }
    uint32_t v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms < 0 ? 0 : ms);
    if (v > s->max) s->max = v;
    latency_sample *prev = &s->ring[(s->next + LATENCY_SAMPLES - 1) % LATENCY_SAMPLES];
    if (prev->time == now_s) {
        if (v > prev->latency) prev->latency = v;
        return;
    }
    s->ring[s->next] = (latency_sample){now_s, v};
    s->next = (s->next + 1) % LATENCY_SAMPLES;
}

int latency_reset(const char *event) {
    int n = 0;
    size_t kept = 0;
    for (size_t i = 0; i < nevents; i++) {
        if (!event || strcasecmp(events[i]->name, event) == 0) {
            mem_free(events[i]->name);
            mem_free(events[i]);
            n++;
        } else {
            events[kept++] = events[i];
        }
    }
    nevents = kept;
    return n;
}

size_t latency_event_count(void) {
    return nevents;
}

const char *latency_event_name(size_t i) {
    return i < nevents ? events[i]->name : NULL;
}

int latency_history(const char *event, latency_sample *out, uint32_t *max) {
    series *s = find(event);
    if (!s) return -1;
    int n = 0;
    for (int j = 0; j < LATENCY_SAMPLES; j++) {
        const latency_sample *x = &s->ring[(s->next + j) % LATENCY_SAMPLES];
        if (x->time) out[n++] = *x;
    }
    if (max) *max = s->max;
    return n;
}

void latency_analyze(const char *event, int64_t now_s, latency_stats *st) {
    memset(st, 0, sizeof(*st));
    latency_sample v[LATENCY_SAMPLES];
    uint32_t max = 0;
    int n = latency_history(event, v, &max);
    st->all_time_high = max;
    if (n <= 0) return;
    uint64_t sum = 0;
    int64_t oldest = v[0].time;
    st->min = st->max = v[0].latency;
    for (int i = 0; i < n; i++) {
        if (v[i].latency < st->min) st->min = v[i].latency;
        if (v[i].latency > st->max) st->max = v[i].latency;
        if (v[i].time < oldest) oldest = v[i].time;
        sum += v[i].latency;
    }
    st->samples = (uint32_t)n;
    st->avg = (uint32_t)(sum / (uint64_t)n);
    st->period = now_s - oldest;
    if (st->period == 0) st->period = 1;
    uint64_t dev = 0;
    for (int i = 0; i < n; i++) {
        int64_t d = (int64_t)st->avg - v[i].latency;
        dev += (uint64_t)(d < 0 ? -d : d);
    }
    st->mad = (uint32_t)(dev / (uint64_t)n);
}

/* ---- the chart ---- */

typedef struct column {
    double value;
    char label[24];
} column;

/* The bar height of value on a scale of GRAPH_ROWS * 3 steps. */
static int step_of(double value, double min, double range) {
    int steps = GRAPH_ROWS * 3;
    int step = (int)((double)(int)((value - min) * steps) / range);
    if (step < 0) step = 0;
    if (step >= steps) step = steps - 1;
    return step;
}

/* Rows of the chart for cols[0..n), then its labels top-down. */
static void render_block(buf *out, const column *cols, int n, double min, double range) {
    static const char fill[] = "_o#";
    char line[GRAPH_COLUMNS];
    for (int row = 0; row < GRAPH_ROWS; row++) {
        for (int j = 0; j < n; j++) {
            int idx = step_of(cols[j].value, min, range) - (GRAPH_ROWS - row - 1) * 3;
            line[j] = idx >= 3 ? '|' : idx >= 0 ? fill[idx] : ' ';
        }
        buf_append(out, line, (size_t)n);
        buf_append(out, "\n", 1);
    }
    /* One blank row, then the labels, one character per row. */
    memset(line, ' ', sizeof(line));
    buf_append(out, line, (size_t)n);
    buf_append(out, "\n", 1);
    for (size_t ch = 0;; ch++) {
        int any = 0;
        for (int j = 0; j < n; j++) {
            int has = strlen(cols[j].label) > ch;
            line[j] = has ? cols[j].label[ch] : ' ';
            any |= has;
        }
        if (!any) break;
        buf_append(out, line, (size_t)n);
        buf_append(out, "\n", 1);
    }
}

static void age_label(char *out, size_t cap, int64_t age) {
    if (age < 0) age = 0; /* the clock went back */
    if (age < 60)
        snprintf(out, cap, "%llds", (long long)age);
    else if (age < 3600)
        snprintf(out, cap, "%lldm", (long long)(age / 60));
    else if (age < 86400)
        snprintf(out, cap, "%lldh", (long long)(age / 3600));
    else
        snprintf(out, cap, "%lldd", (long long)(age / 86400));
}

int latency_graph(buf *out, const char *event, int64_t now_s) {
    series *s = find(event);
    if (!s) return -1;
    latency_sample v[LATENCY_SAMPLES];
    int n = latency_history(event, v, NULL);
    column cols[LATENCY_SAMPLES];
    uint32_t lo = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || v[i].latency < lo) lo = v[i].latency;
        if (i == 0 || v[i].latency > hi) hi = v[i].latency;
        cols[i].value = v[i].latency;
        age_label(cols[i].label, sizeof(cols[i].label), now_s - v[i].time);
    }
    buf_printf(out, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", s->name,
               (unsigned long)hi, (unsigned long)lo, (unsigned long)s->max);
    for (int i = 0; i < GRAPH_COLUMNS; i++)
        buf_append(out, "-", 1);
    buf_append(out, "\n", 1);
    double range = (double)hi - (double)lo;
    if (range == 0) range = 1;
    for (int j = 0; j < n; j += GRAPH_COLUMNS) {
        if (j) buf_append(out, "\n", 1);
        render_block(out, cols + j, n - j < GRAPH_COLUMNS ? n - j : GRAPH_COLUMNS, lo, range);
    }
    return 0;
}
