/* glob: see glob.h for the pattern language.
 *
 * The matcher walks pattern and subject together; a '*' tries the rest of the pattern
 * at each later position of the subject (recursively). Once one such attempt has run
 * out of subject without matching, no longer skip can match either, so a shared flag
 * stops every pending '*' at once: this keeps patterns like "a*a*a*a*b" polynomial.
 * Recursion deeper than GLOB_MAX_NESTING stars fails the match, bounding the stack. */
#include "mayfly/util/glob.h"

#include <ctype.h>

#define GLOB_MAX_NESTING 1000

/* Bytes compare as signed chars in bracket ranges, as in Redis on x86. */
static int byte_at(const char *p) {
    return (int)(signed char)*p;
}

static int fold(int c, int nocase) {
    return nocase ? tolower((unsigned char)c) : c;
}

/* Matches one [...] class at *pat against the byte c; advances *pat and *plen to the class's
 * last byte (the ']' or, unterminated, the pattern's last byte). Returns 1 on a match. */
static int match_class(const char **pat, size_t *plen, char c, int nocase) {
    const char *p = *pat + 1;
    size_t n = *plen - 1;
    int neg = n > 0 && p[0] == '^';
    if (neg) {
        p++;
        n--;
    }
    int match = 0;
    for (;;) {
        if (n == 0) { /* unterminated: step back onto the last byte */
            p--;
            n++;
            break;
        }
        if (p[0] == '\\' && n >= 2) {
            p++;
            n--;
            if (fold(p[0], nocase) == fold(c, nocase)) match = 1;
        } else if (p[0] == ']') {
            break;
        } else if (n >= 3 && p[1] == '-') {
            int lo = byte_at(p), hi = byte_at(p + 2), ch = (int)(signed char)c;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = tolower(lo & 0xff);
                hi = tolower(hi & 0xff);
                ch = tolower(ch & 0xff);
                lo = (int)(signed char)lo;
                hi = (int)(signed char)hi;
                ch = (int)(signed char)ch;
            }
            p += 2;
            n -= 2;
            if (ch >= lo && ch <= hi) match = 1;
        } else if (fold(p[0], nocase) == fold(c, nocase)) {
            match = 1;
        }
        p++;
        n--;
    }
    *pat = p;
    *plen = n;
    return neg ? !match : match;
}

static int match_impl(const char *pat, size_t plen, const char *str, size_t slen, int nocase,
                      int *give_up, int nesting) {
    if (nesting > GLOB_MAX_NESTING) return 0;
    while (plen && slen) {
        switch (pat[0]) {
        case '*':
            while (plen > 1 && pat[1] == '*') {
                pat++;
                plen--;
            }
            if (plen == 1) return 1;
            while (slen) {
                if (match_impl(pat + 1, plen - 1, str, slen, nocase, give_up, nesting + 1))
                    return 1;
                if (*give_up) return 0;
                str++;
                slen--;
            }
            *give_up = 1;
            return 0;
        case '?':
            str++;
            slen--;
            break;
        case '[':
            if (!match_class(&pat, &plen, str[0], nocase)) return 0;
            str++;
            slen--;
            break;
        case '\\':
            if (plen >= 2) {
                pat++;
                plen--;
            }
            /* the escaped byte is matched literally */
            if (fold(pat[0], nocase) != fold(str[0], nocase)) return 0;
            str++;
            slen--;
            break;
        default:
            if (fold(pat[0], nocase) != fold(str[0], nocase)) return 0;
            str++;
            slen--;
            break;
        }
        pat++;
        plen--;
        if (slen == 0) {
            while (plen && pat[0] == '*') {
                pat++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

int glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase) {
    int give_up = 0;
    return match_impl(pat, plen, str, slen, nocase, &give_up, 0);
}
