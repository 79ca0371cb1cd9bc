/* slice: a borrowed (pointer, length) view of bytes, e.g. one command argument. */
#ifndef MAYFLY_UTIL_SLICE_H
#define MAYFLY_UTIL_SLICE_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct slice {
    const char *p; /* not NUL-terminated in general */
    size_t len;
} slice;

static inline slice slice_of(const char *s) {
    return (slice){s, strlen(s)};
}

/* 1 if s equals the C string word, ignoring ASCII case (option names like "EX"). */
static inline int slice_eq_ci(slice s, const char *word) {
    size_t n = strlen(word);
    return s.len == n && strncasecmp(s.p, word, n) == 0;
}

/* 1 if a and b hold the same bytes. */
static inline int slice_eq(slice a, slice b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

#endif
