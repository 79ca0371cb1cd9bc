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
/* The latest clock_mono_us() reading of the calling thread (0 before the first), without
 * reading the clock: dispatch reads it at the end of every command, so the network layer
 * learns how long a batch has run for free. */
int64_t clock_mono_last_us(void);
/* clock_now_ms() derived from a monotonic reading mono_us just taken, without a second
 * clock read: the wall-minus-monotonic difference is re-read every CLOCK_RESYNC_US, so a
 * step of the wall clock shows within that time. Never goes backwards between resyncs
 * (apart from the test offset). Dispatch uses it so that one clock read per command gives
 * both the command's now_ms and the start of its duration. */
int64_t clock_now_ms_at(int64_t mono_us);
#define CLOCK_RESYNC_US 10000
/* Sets the offset added to the wall clock (DEBUG CLOCK-OFFSET). */
void clock_set_offset_ms(int64_t offset_ms);
int64_t clock_get_offset_ms(void);
/* Redis's debugDelay, for the test aids key-load-delay and rdb-key-save-delay: sleeps us
 * microseconds; a negative -N sleeps 1 us once every N calls on average (a sleep however
 * short costs a context switch, so short delays are made rare instead). */
void clock_debug_delay(int us);

#endif
