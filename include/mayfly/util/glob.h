/* glob: Redis's glob-style pattern matcher (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET).
 *
 *   *       any run of bytes          ?       any one byte
 *   [abc]   one of a, b, c            [^abc]  any byte but a, b, c
 *   [a-z]   a byte in the range       \x      the byte x itself (also inside [...])
 *
 * Matching is by bytes, with Redis's edge cases: an unterminated '[' runs to the end of
 * the pattern, a range may be given backwards ([z-a]), and an empty subject matches
 * only the empty pattern (callers special-case the pattern "*" as Redis does). */
#ifndef MAYFLY_UTIL_GLOB_H
#define MAYFLY_UTIL_GLOB_H

#include <stddef.h>

/* Returns 1 if str[0..slen) matches pat[0..plen), else 0. nocase folds ASCII case. */
int glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase);

#endif
