/* armed: switches that arm a hot path's rare checks, and a count of those that are on.
 *
 * A switch is an int (a flag or a count) that its owner changes only through armed_set;
 * armed_on is then the number of switches that are non-zero anywhere in the process, so a
 * hot path (cmd/'s dispatch gates: authentication, ACL, maxmemory, loading, pause, ...)
 * learns that all of them are off from one load instead of reading each. Main thread only. */
#ifndef MAYFLY_UTIL_ARMED_H
#define MAYFLY_UTIL_ARMED_H

extern int armed_on; /* switches that are non-zero */

/* *sw = v, keeping armed_on. */
static inline void armed_set(int *sw, int v) {
    armed_on += (v != 0) - (*sw != 0);
    *sw = v;
}

#endif
