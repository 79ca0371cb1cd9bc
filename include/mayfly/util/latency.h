/* latency: the latency monitor (Redis's LATENCY LATEST / HISTORY / GRAPH / DOCTOR data).
 *
 * Code that may stall the server times itself and reports the duration under an event
 * name ("command", "fast-command", "expire-cycle", "eviction-cycle", "aof-fsync-always",
 * ...). A duration of at least latency_monitor_threshold milliseconds (0: the monitor is
 * off) becomes a sample of that event: each event keeps its last 160 samples (one per
 * second: the worst of the second) and its all-time maximum. Times are Unix seconds. */
#ifndef MAYFLY_UTIL_LATENCY_H
#define MAYFLY_UTIL_LATENCY_H

#include "mayfly/util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define LATENCY_SAMPLES 160 /* history kept per event */

/* latency-monitor-threshold, in milliseconds (the config row points here). */
extern long long latency_monitor_threshold;

typedef struct latency_sample {
    int64_t time;     /* Unix seconds */
    uint32_t latency; /* milliseconds */
} latency_sample;

/* Records ms for event when the monitor is on and ms reaches the threshold. */
void latency_note(const char *event, int64_t ms);
/* Records ms for event unconditionally (the caller checked the threshold). */
void latency_add(const char *event, int64_t ms, int64_t now_s);
/* Forgets event (NULL: every event); returns how many events were forgotten. Names are
 * matched without regard to case. */
int latency_reset(const char *event);

/* Events in the order they first happened: count, and the i-th name. */
size_t latency_event_count(void);
const char *latency_event_name(size_t i);
/* event's samples, oldest first, into out (LATENCY_SAMPLES slots); returns how many, or -1
 * when the event has no data. *max gets its all-time maximum. */
int latency_history(const char *event, latency_sample *out, uint32_t *max);

/* LATENCY GRAPH's text for event at now_s (a header, a rule, an ASCII chart of the samples
 * labelled with their ages); -1 when the event has no data. */
int latency_graph(buf *out, const char *event, int64_t now_s);

/* The figures LATENCY DOCTOR prints for an event. */
typedef struct latency_stats {
    uint32_t all_time_high, avg, min, max, mad, samples;
    int64_t period; /* seconds from the oldest sample to now (at least 1) */
} latency_stats;
void latency_analyze(const char *event, int64_t now_s, latency_stats *st);

#endif
