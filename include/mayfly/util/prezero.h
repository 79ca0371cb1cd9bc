/* prezero: big new arrays zeroed off the loop thread (util/prezero.c). */
#ifndef MAYFLY_UTIL_PREZERO_H
#define MAYFLY_UTIL_PREZERO_H

#include <stddef.h>

/* One array being zeroed; opaque. */
typedef struct prezero prezero;

/* Starts the zeroing thread (once; later calls do nothing). Call it at start-up, before
 * the loop thread is pinned: a thread inherits its creator's CPU affinity. Without it
 * every array is zeroed by its owner's prezero_step calls alone. Returns 0, or -1 if the
 * thread could not start (the owners then zero everything themselves). */
int prezero_thread_start(void);
/* 1 while the thread runs. */
int prezero_thread_running(void);
/* Stops and joins the thread (tests); queued arrays are left to their owners' steps. */
void prezero_thread_stop(void);

/* Starts zeroing the len bytes at p, PREZERO_PAGE bytes at a time: queued for the
 * thread when it runs. The caller owns p, must not read or write it before
 * prezero_step has returned 1, and ends the job with prezero_end before it frees p.
 * Returns an owned job. */
#define PREZERO_PAGE 4096
prezero *prezero_begin(void *p, size_t len);
/* Zeroes up to `pages` more pages on the calling thread when no zeroing thread runs or
 * when help is set (the thread is late); returns 1 once every page is zero (the array
 * is then the caller's again), 0 while some are not. */
int prezero_step(prezero *z, size_t pages, int help);
/* Ends a job, done or not: waits for a page the thread is zeroing right now (at most one)
 * and frees the job; the thread never touches the array afterwards. NULL: nothing. */
void prezero_end(prezero *z);

/* Bytes of z's array zeroed so far (tests). */
size_t prezero_done_bytes(prezero *z);
/* Pages zeroed so far by the thread and by owners' steps (tests, diagnostics). */
void prezero_counts(size_t *by_thread, size_t *by_owner);

#endif
