/* hdrhist: see hdrhist.h. Slot arithmetic: with 256 slots for [0, 256) and 128 slots of
 * width 2^b for each [128 * 2^b, 256 * 2^b), a value v lies in band b = max(0,
 * floor(log2 v) - 7); its slot is (b + 1) * 128 + (v >> b) - 128. 23 bands reach 1 s, so
 * the table has 24 * 128 counters (24 KB as one block). It is kept in 24 chunks of 128
 * counters (1 KB each), a chunk allocated when a value first falls in it: a command's
 * latencies span a few powers of two, so a histogram costs a few KB, not 24 (Redis
 * allocates the whole table on a command's first call), and the first call of a command
 * moves used_memory by about 1 KB. */
#include "mayfly/util/hdrhist.h"

#include "mayfly/util/mem.h"

#define HALF_BITS 7                        /* 128 slots per band above the first */
#define HALF (1 << HALF_BITS)              /* 128 */
#define BANDS 23                           /* bands until 256 * 2^22 > HDRHIST_MAX */
#define CHUNKS (BANDS + 1)                 /* of HALF slots each */
#define SLOTS (CHUNKS * HALF)              /* 3072 */
#define LOW_MASK ((int64_t)(2 * HALF) - 1) /* values below 256 are band 0 */

struct hdrhist {
    int64_t total;
    int64_t *chunk[CHUNKS]; /* slots [k * HALF, (k + 1) * HALF); NULL: all zero */
};

static int64_t count_at(const hdrhist *h, int i) {
    const int64_t *ch = h->chunk[i >> HALF_BITS];
    return ch ? ch[i & (HALF - 1)] : 0;
}

static int band_of(int64_t v) {
    int top = 63 - __builtin_clzll((unsigned long long)(v | LOW_MASK));
    return top - HALF_BITS;
}

static int slot_of(int64_t v) {
    int b = band_of(v);
    return ((b + 1) << HALF_BITS) + (int)(v >> b) - HALF;
}

/* The lowest value of slot i. */
static int64_t slot_value(int i) {
    int b = (i >> HALF_BITS) - 1;
    int64_t sub = (i & (HALF - 1)) + HALF;
    if (b < 0) {
        sub -= HALF;
        b = 0;
    }
    return sub << b;
}

static int64_t lowest_of(int64_t v) {
    int b = band_of(v);
    return (v >> b) << b;
}

static int64_t highest_of(int64_t v) {
    return lowest_of(v) + ((int64_t)1 << band_of(v)) - 1;
}

hdrhist *hdrhist_new(void) {
    return mem_calloc(1, sizeof(hdrhist));
}

void hdrhist_free(hdrhist *h) {
    if (!h) return;
    for (int k = 0; k < CHUNKS; k++)
        mem_free(h->chunk[k]);
    mem_free(h);
}

void hdrhist_record(hdrhist *h, int64_t ns) {
    if (ns < HDRHIST_MIN) ns = HDRHIST_MIN;
    if (ns > HDRHIST_MAX) ns = HDRHIST_MAX;
    int i = slot_of(ns);
    int64_t **ch = &h->chunk[i >> HALF_BITS];
    if (!*ch) *ch = mem_calloc(HALF, sizeof(**ch));
    (*ch)[i & (HALF - 1)]++;
    h->total++;
}

int64_t hdrhist_count(const hdrhist *h) {
    return h->total;
}

int64_t hdrhist_percentile(const hdrhist *h, double p) {
    if (p > 100.0) p = 100.0;
    int64_t want = (int64_t)(p / 100.0 * (double)h->total + 0.5);
    if (want < 1) want = 1;
    int64_t seen = 0;
    for (int i = 0; i < SLOTS; i++) {
        seen += count_at(h, i);
        if (seen >= want) {
            int64_t v = slot_value(i);
            return p == 0.0 ? lowest_of(v) : highest_of(v);
        }
    }
    return 0;
}

/* The walk of hdrhist_each_level: the position (slot i, its value, the count up to and
 * including it) advances until its value reaches the level, which then doubles. A level
 * reports the position reached, so its count includes the slot that starts at the level;
 * the walk ends once every value is counted and the next slot lies within the level. */
void hdrhist_each_level(const hdrhist *h, void (*fn)(void *ctx, int64_t level_ns, int64_t cum),
                        void *ctx) {
    int i = -1;
    int64_t cum = 0, value = 0, reported = 0;
    int64_t level = 1024, level_low = lowest_of(level);
    for (;;) {
        int more = cum < h->total || (i < SLOTS && slot_value(i + 1) > level_low);
        if (!more) return;
        while (value < level_low && i + 1 < SLOTS) {
            i++;
            cum += count_at(h, i);
            value = slot_value(i);
        }
        if (value < level_low) return; /* ran off the table */
        level *= 2;
        level_low = lowest_of(level);
        if (cum > reported) fn(ctx, highest_of(value), cum);
        reported = cum;
    }
}
