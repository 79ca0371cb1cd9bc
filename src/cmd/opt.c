/* opt: option tokens and expire times shared by the commands that take them; see
 * opt_int.h. */
#include "cmd/opt_int.h"

#include <limits.h>
#include <stdint.h>

/* The option words, lowercase, packed a byte per 8 bits (first byte lowest). */
#define W2(a, b) ((uint64_t)(a) | (uint64_t)(b) << 8)
#define W3(a, b, c) (W2(a, b) | (uint64_t)(c) << 16)
#define W4(a, b, c, d) (W3(a, b, c) | (uint64_t)(d) << 24)
#define W6(a, b, c, d, e, f) (W4(a, b, c, d) | (uint64_t)(e) << 32 | (uint64_t)(f) << 40)
#define W7(a, b, c, d, e, f, g) (W6(a, b, c, d, e, f) | (uint64_t)(g) << 48)

/* o's bytes or-ed with 0x20 and packed as the words above: or-ing 0x20 folds a letter's
 * case and maps no other byte onto a lowercase letter, and every option word is all
 * letters, so equal packs mean the same word in any case. */
static inline uint64_t pack_folded(slice o) {
    uint64_t w = 0;
    for (size_t i = 0; i < o.len; i++)
        w |= (uint64_t)((unsigned char)o.p[i] | 0x20) << (8 * i);
    return w;
}

enum opt_token opt_token(slice o) {
    if (o.len < 2 || o.len > 7) return OPT_NONE;
    uint64_t w = pack_folded(o);
    switch (o.len) {
    case 2:
        switch (w) {
        case W2('e', 'x'):
            return OPT_EX;
        case W2('p', 'x'):
            return OPT_PX;
        case W2('n', 'x'):
            return OPT_NX;
        case W2('x', 'x'):
            return OPT_XX;
        case W2('g', 't'):
            return OPT_GT;
        case W2('l', 't'):
            return OPT_LT;
        default:
            return OPT_NONE;
        }
    case 3:
        switch (w) {
        case W3('g', 'e', 't'):
            return OPT_GET;
        case W3('f', 'n', 'x'):
            return OPT_FNX;
        case W3('f', 'x', 'x'):
            return OPT_FXX;
        default:
            return OPT_NONE;
        }
    case 4:
        switch (w) {
        case W4('e', 'x', 'a', 't'):
            return OPT_EXAT;
        case W4('p', 'x', 'a', 't'):
            return OPT_PXAT;
        default:
            return OPT_NONE;
        }
    case 6:
        return w == W6('f', 'i', 'e', 'l', 'd', 's') ? OPT_FIELDS : OPT_NONE;
    case 7:
        if (w == W7('k', 'e', 'e', 'p', 't', 't', 'l')) return OPT_KEEPTTL;
        return w == W7('p', 'e', 'r', 's', 'i', 's', 't') ? OPT_PERSIST : OPT_NONE;
    default:
        return OPT_NONE;
    }
}

int opt_deadline(enum opt_token t, long long v, int64_t now_ms, long long max, long long *out) {
    if (t == OPT_EX || t == OPT_EXAT) {
        if (v > max / 1000 || v < LLONG_MIN / 1000) return -1;
        v *= 1000;
    }
    int64_t base = (t == OPT_EX || t == OPT_PX) ? now_ms : 0;
    if (v > max - base) return -1;
    *out = v + base;
    return 0;
}
