/* clock: wall and monotonic time; see clock.h. */
#include "util/clock.h"

#include <time.h>

static int64_t offset_ms; /* test aid: added to every wall-clock reading */

int64_t clock_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + offset_ms * 1000;
}

int64_t clock_now_ms(void) { return clock_now_us() / 1000; }

int64_t clock_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_set_offset_ms(int64_t ms) { offset_ms = ms; }
int64_t clock_get_offset_ms(void) { return offset_ms; }
