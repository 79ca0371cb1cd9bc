/* strconv: see strconv.h. */
#include "mayfly/util/strconv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int str_to_ull(const char *s, size_t len, unsigned long long *out) {
    if (len == 0 || len >= STRCONV_LL_MAX) return -1;
    if (len > 1 && s[0] == '0') return -1;
    unsigned long long v = 0;
    /* Up to 19 digits cannot overflow 64 bits (10^19 - 1 < 2^64), so the common short
     * number needs no overflow test at all; only a 20-digit one takes the checked path. */
    size_t fast = len < 19 ? len : 19;
    for (size_t i = 0; i < fast; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return -1;
        v = v * 10 + d;
    }
    for (size_t i = fast; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return -1;
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int str_to_ll(const char *s, size_t len, long long *out) {
    if (len == 0 || len >= STRCONV_LL_MAX) return -1;
    int neg = s[0] == '-';
    if (neg) {
        s++;
        len--;
        if (len == 0 || s[0] == '0') return -1; /* "-" and "-0" are not integers */
    }
    unsigned long long v;
    if (str_to_ull(s, len, &v) < 0) return -1;
    if (neg) {
        if (v > (unsigned long long)INT64_MAX + 1) return -1;
        *out = v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)INT64_MAX) return -1;
        *out = (long long)v;
    }
    return 0;
}

/* Copies the number s[0..len) into tmp (STRCONV_LD_MAX bytes) with a NUL after it for
 * strtold / strtod; -1 if it is empty, too long or starts with white space (which they
 * would skip). */
static int number_copy(char *tmp, const char *s, size_t len) {
    if (len == 0 || len >= STRCONV_LD_MAX) return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return isspace((unsigned char)tmp[0]) ? -1 : 0;
}

int str_to_ld(const char *s, size_t len, long double *out) {
    char tmp[STRCONV_LD_MAX];
    if (number_copy(tmp, s, len) < 0) return -1;
    char *end;
    errno = 0;
    long double v = strtold(tmp, &end);
    if (end != tmp + len) return -1; /* the whole argument: "1\0abc" is not 1 */
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return -1;
    if (isnan(v)) return -1;
    *out = v;
    return 0;
}

int str_to_d(const char *s, size_t len, double *out) {
    char tmp[STRCONV_LD_MAX];
    if (number_copy(tmp, s, len) < 0) return -1;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + len) return -1; /* the whole argument, NUL bytes included */
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) return -1;
    if (isnan(v)) return -1;
    *out = v;
    return 0;
}

/* Two digits at a time from a 200-byte table, as Redis's ull2string: half the divisions. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* Decimal digits of u (u >= 10 here), by comparisons: a division per digit would cost as
 * much as the formatting itself. */
static size_t count_digits(unsigned long long u) {
    size_t n = 1;
    for (;;) {
        if (u < 10) return n;
        if (u < 100) return n + 1;
        if (u < 1000) return n + 2;
        if (u < 10000) return n + 3;
        u /= 10000;
        n += 4;
    }
}

size_t ll_to_str(char *dst, long long v) {
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    size_t len = 0;
    if (v < 0) dst[len++] = '-';
    if (u < 10) {
        dst[len++] = (char)('0' + u);
        dst[len] = '\0';
        return len;
    }
    size_t digits = count_digits(u);
    size_t end = len + digits, i = end;
    while (u >= 100) {
        unsigned idx = (unsigned)(u % 100) * 2;
        u /= 100;
        dst[--i] = digit_pairs[idx + 1];
        dst[--i] = digit_pairs[idx];
    }
    if (u < 10) {
        dst[--i] = (char)('0' + u);
    } else {
        dst[--i] = digit_pairs[u * 2 + 1];
        dst[--i] = digit_pairs[u * 2];
    }
    dst[end] = '\0';
    return end;
}

size_t ld_to_str(char *dst, size_t cap, long double v) {
    if (isinf(v)) {
        const char *t = v > 0 ? "inf" : "-inf";
        snprintf(dst, cap, "%s", t);
        return strlen(dst);
    }
    int n = snprintf(dst, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap) return 0;
    size_t len = (size_t)n;
    if (memchr(dst, '.', len)) {
        while (len && dst[len - 1] == '0')
            len--;
        if (len && dst[len - 1] == '.') len--;
    }
    if (len == 2 && dst[0] == '-' && dst[1] == '0') {
        dst[0] = '0';
        len = 1;
    }
    dst[len] = '\0';
    return len;
}

size_t d_to_str(char *dst, double v) {
    if (isnan(v)) return (size_t)snprintf(dst, 32, "nan");
    if (isinf(v)) return (size_t)snprintf(dst, 32, v > 0 ? "inf" : "-inf");
    for (int prec = 1; prec <= 17; prec++) {
        int n = snprintf(dst, 32, "%.*g", prec, v);
        if (strtod(dst, NULL) != v) continue;
        /* %g picks exponent form once the exponent reaches the precision, so the shortest
         * precision would print 10 as "1e+01". Keep the positional form that Redis's
         * "%.17g" gives for exponents below 17; v is then a whole number. */
        const char *e = strchr(dst, 'e');
        if (e != NULL) {
            int exp10 = atoi(e + 1);
            if (exp10 >= 0 && exp10 < 17) n = snprintf(dst, 32, "%.0f", v);
        }
        return (size_t)n;
    }
    return (size_t)snprintf(dst, 32, "%.17g", v);
}
