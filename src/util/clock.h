/* clock: the server's time sources.
 *
 * Expiry times are absolute Unix milliseconds from clock_now_ms(), read once per command
 * and passed down as now_ms: db/ and types/ never read the clock themselves. A test-only
 * offset (DEBUG CLOCK-OFFSET) shifts the wall clock so TTL tests need not sleep. */
#ifndef MAYFLY_UTIL_CLOCK_H
#define MAYFLY_UTIL_CLOCK_H

#include <stdint.h>

/* Wall-clock Unix time in milliseconds, plus the test offset. */
int64_t clock_now_ms(void);
/* Wall-clock Unix time in microseconds, plus the test offset. */
int64_t clock_now_us(void);
/* Monotonic time in microseconds (for durations, never for expiry). */
int64_t clock_mono_us(void);
/* Sets the offset added to the wall clock (DEBUG CLOCK-OFFSET). */
void clock_set_offset_ms(int64_t offset_ms);
int64_t clock_get_offset_ms(void);

#endif
