/* looptime: how long the event-loop thread slept waiting for I/O, measured by Mayfly.
 *
 * A loop turn's busy time is its wall time less its sleep in the poll for I/O (INFO
 * eventloop_duration_sum, mayfly_eventloop_turn_max_usec). libuv 1.44's own idle-time
 * metric keeps only the LAST wait of a poll phase, and the phase waits more than once when
 * a wake-up brings nothing libuv delivers: an event of a descriptor it stopped watching but
 * left in the epoll set (a connection whose reading stopped), which it then removes, or a
 * signal's EINTR. The earlier sleeps then counted as busy time (a "turn" of 10 ms that ran
 * 0.3 ms). Waiting outside libuv's poll (on uv_backend_fd) is no way out: libuv applies
 * the turn's watcher changes (a new write interest, a resumed read, a new connection) to
 * the epoll set only when its poll starts, so an outside wait would sleep through them.
 *
 * So the waits themselves are timed: looptime.c defines epoll_wait and epoll_pwait, which
 * libuv's calls resolve to (the executable's definitions come first in the dynamic
 * linker's search, before libc's), and every call that may block, made on the thread that
 * called looptime_start, adds its duration to looptime_idle_ns(). Other threads' calls and
 * zero-timeout polls just pass through to the kernel.
 *
 * The same figures, read in the middle of a turn, tell deferrable work how much of the
 * turn is left (looptime_turn_busy_us). */
#ifndef MAYFLY_UTIL_LOOPTIME_H
#define MAYFLY_UTIL_LOOPTIME_H

#include <stdint.h>

/* From now on, the calling thread's blocking epoll waits are timed. */
void looptime_start(void);
/* Nanoseconds the looptime_start thread has spent in blocking epoll waits (monotonic
 * clock). Read on that thread. */
uint64_t looptime_idle_ns(void);
/* How many of those waits there were (a test sees that the loop's waits are the ones
 * timed). */
uint64_t looptime_waits(void);

/* Loop turns: the loop marks the end of each turn (its prepare handle, just before the
 * poll), and work that may be put off (active expiry, rehashing) asks how busy the turn
 * has been so far, to fit into what is left of a per-turn budget instead of stacking
 * slices that each keep to their own budget. Read on the looptime_start thread. */
void looptime_turn_mark(void);
/* Microseconds since the last looptime_turn_mark (or looptime_start) less the thread's
 * blocking waits since: the current turn's busy time so far. Reads the clock. */
int64_t looptime_turn_busy_us(void);
/* The same at mono_us, a CLOCK_MONOTONIC reading in microseconds the caller already has
 * (util/clock's clock_mono_last_us), without reading the clock again. */
int64_t looptime_turn_busy_at(int64_t mono_us);
/* Turns marked so far: an id of the current turn (a slice that ran in this turn). */
uint64_t looptime_turns(void);

#endif
