/* clock: wall and monotonic time; see clock.h. */
#include "mayfly/util/clock.h"

#include "mayfly/util/rand.h"

#include <time.h>

static int64_t offset_ms; /* test aid: added to every wall-clock reading */

int64_t clock_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + offset_ms * 1000;
}

int64_t clock_now_ms(void) {
    return clock_now_us() / 1000;
}

static int64_t wall_minus_mono_us; /* wall - monotonic at the last resync */
static int64_t synced_at_us = -1;  /* monotonic time of the last resync, -1 = never */
static int64_t last_derived_ms;    /* latest clock_now_ms_at result, before the offset */

int64_t clock_now_ms_at(int64_t mono_us) {
    if (synced_at_us < 0 || mono_us - synced_at_us >= CLOCK_RESYNC_US || mono_us < synced_at_us) {
        struct timespec w;
        clock_gettime(CLOCK_REALTIME, &w);
        int64_t m = clock_mono_us();
        wall_minus_mono_us = (int64_t)w.tv_sec * 1000000 + w.tv_nsec / 1000 - m;
        synced_at_us = m;
    }
    int64_t ms = (mono_us + wall_minus_mono_us) / 1000;
    /* The two reads of a resync are not simultaneous: keep a ms boundary from going back. */
    if (ms < last_derived_ms && last_derived_ms - ms < CLOCK_RESYNC_US / 1000) ms = last_derived_ms;
    last_derived_ms = ms;
    return ms + offset_ms;
}

static _Thread_local int64_t mono_last_us; /* this thread's latest clock_mono_us reading */

int64_t clock_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    mono_last_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    return mono_last_us;
}

int64_t clock_mono_last_us(void) {
    return mono_last_us;
}

void clock_set_offset_ms(int64_t ms) {
    offset_ms = ms;
}
int64_t clock_get_offset_ms(void) {
    return offset_ms;
}

void clock_debug_delay(int us) {
    if (us < 0) us = rand_u64() % (uint64_t)(-(long long)us) == 0 ? 1 : 0;
    if (us > 0) {
        struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}
