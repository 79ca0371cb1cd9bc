/* opt_int: the option tokens and expire times that SET, GETEX, the EXPIRE family, HSETEX,
 * HGETEX and the HEXPIRE family share: one classifier, one time conversion. Each command
 * keeps its own grammar (which tokens it takes, in what order) and Redis's error texts.
 * Internal to cmd/.
 *
 *     enum opt_token t = opt_token(argv[i]);       EX PX EXAT PXAT NX XX GT LT KEEPTTL
 *     if (opt_is_time(t)) ...                      PERSIST GET FNX FXX FIELDS, or OPT_NONE
 *     opt_deadline(t, v, now_ms, max, &when)       -> absolute Unix ms, or -1 on overflow */
#ifndef MAYFLY_CMD_OPT_INT_H
#define MAYFLY_CMD_OPT_INT_H

#include "mayfly/util/slice.h"

#include <stdint.h>

enum opt_token {
    OPT_NONE,
    OPT_EX,   /* seconds from now */
    OPT_PX,   /* milliseconds from now */
    OPT_EXAT, /* Unix time in seconds */
    OPT_PXAT, /* Unix time in milliseconds */
    OPT_NX,
    OPT_XX,
    OPT_GT,
    OPT_LT,
    OPT_KEEPTTL,
    OPT_PERSIST,
    OPT_GET,
    OPT_FNX,
    OPT_FXX,
    OPT_FIELDS,
};

/* The token o names (any case), OPT_NONE if none. Words of another length are skipped
 * before any byte is compared: a few instructions on the SET/HSETEX hot paths. */
enum opt_token opt_token(slice o);

/* 1 for EX, PX, EXAT, PXAT. */
static inline int opt_is_time(enum opt_token t) {
    return t >= OPT_EX && t <= OPT_PXAT;
}

/* 1 for NX, XX, GT, LT. */
static inline int opt_is_condition(enum opt_token t) {
    return t >= OPT_NX && t <= OPT_LT;
}

/* The absolute deadline in Unix ms for the time argument v of option t (EX/EXAT: seconds,
 * PX/PXAT: milliseconds; EX/PX: relative to now_ms). Returns 0 with *out, or -1 when the
 * unit conversion leaves [LLONG_MIN, max] or the deadline exceeds max (Redis's "invalid
 * expire time"). Signs are the caller's to check first (SET wants > 0, the hash commands
 * >= 0, EXPIRE anything). */
int opt_deadline(enum opt_token t, long long v, int64_t now_ms, long long max, long long *out);

#endif
