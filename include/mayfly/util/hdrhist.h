/* hdrhist: a latency histogram laid out as Redis's per-command HDR histograms (1 ns to
 * 1 s, two significant digits), so that percentiles and LATENCY HISTOGRAM buckets come out
 * as Redis prints them.
 *
 * Values are nanoseconds. Below 256 every value has a slot of its own; above, each power
 * of two [128 * 2^b, 256 * 2^b) is cut into 128 slots of width 2^b. A value is reported as
 * the highest value of its slot (1000 ns -> 1003). */
#ifndef MAYFLY_UTIL_HDRHIST_H
#define MAYFLY_UTIL_HDRHIST_H

#include <stddef.h>
#include <stdint.h>

#define HDRHIST_MIN 1LL          /* smaller values are recorded as this */
#define HDRHIST_MAX 1000000000LL /* larger values are recorded as this */

typedef struct hdrhist hdrhist;

hdrhist *hdrhist_new(void);
void hdrhist_free(hdrhist *h);
/* Records one value (clamped to [HDRHIST_MIN, HDRHIST_MAX]). */
void hdrhist_record(hdrhist *h, int64_t ns);
int64_t hdrhist_count(const hdrhist *h);
/* The value at percentile p (0..100): the highest value of the slot that holds the
 * ceil-rounded p-th share of the values (the lowest one for p = 0); 0 when empty. */
int64_t hdrhist_percentile(const hdrhist *h, double p);

/* Cumulative counts at the reporting levels 1024, 2048, 4096, ... ns: calls fn(level_ns,
 * cumulative) for each level whose cumulative count grew, where level_ns is the highest
 * value of the slot reached at that level (1031, 2063, 4127, ...), as Redis's
 * LATENCY HISTOGRAM walks its histogram. */
void hdrhist_each_level(const hdrhist *h, void (*fn)(void *ctx, int64_t level_ns, int64_t cum),
                        void *ctx);

#endif
