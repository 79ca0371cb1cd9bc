/* strconv: strict number parsing and formatting with Redis's rules.
 *
 * The parsers take (pointer, length) because arguments are not NUL-terminated slices of
 * the query buffer. Each returns 0 on success and -1 if the text is not exactly a number
 * of that kind (no spaces, no '+', no leading zeros for integers, no overflow). */
#ifndef MAYFLY_UTIL_STRCONV_H
#define MAYFLY_UTIL_STRCONV_H

#include <stddef.h>
#include <stdint.h>

#define STRCONV_LL_MAX 21   /* chars for any long long, with sign */
#define STRCONV_LD_MAX 5120 /* Redis's MAX_LONG_DOUBLE_CHARS */

/* Parses a signed 64-bit integer, exactly as Redis's string2ll. */
int str_to_ll(const char *s, size_t len, long long *out);
/* Parses an unsigned 64-bit integer (digits only). */
int str_to_ull(const char *s, size_t len, unsigned long long *out);
/* Parses a long double as Redis's string2ld (used by INCRBYFLOAT): NaN is refused. */
int str_to_ld(const char *s, size_t len, long double *out);
/* Parses a double as Redis's string2d: NaN and leading spaces are refused. */
int str_to_d(const char *s, size_t len, double *out);
/* Writes v in decimal to dst (at least STRCONV_LL_MAX bytes); returns the length. */
size_t ll_to_str(char *dst, long long v);
/* Writes v as Redis's ld2string in human mode ("%.17Lf" with trailing zeros cut,
 * "inf"/"-inf"); dst has cap bytes; returns the length. */
size_t ld_to_str(char *dst, size_t cap, long double v);
/* Writes the shortest text that reads back as v ("inf", "-inf", "nan" for specials);
 * dst has at least 32 bytes; returns the length. */
size_t d_to_str(char *dst, double v);

#endif
