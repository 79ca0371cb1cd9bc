/* opt: option tokens and expire times shared by the commands that take them; see
 * opt_int.h. */
#include "cmd/opt_int.h"

#include <limits.h>

/* 1 if s is the all-letters lowercase word w (n bytes) in any case: or-ing 0x20 folds a
 * letter's case and maps no other byte onto a lowercase letter. */
static int word_ci(slice s, const char *w, size_t n) {
    if (s.len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((s.p[i] | 0x20) != w[i]) return 0;
    return 1;
}

/* Every option word, lowercase, with its length and token. */
static const struct {
    const char *word;
    size_t len;
    enum opt_token token;
} words[] = {
    {"ex", 2, OPT_EX},           {"px", 2, OPT_PX},         {"exat", 4, OPT_EXAT},
    {"pxat", 4, OPT_PXAT},       {"nx", 2, OPT_NX},         {"xx", 2, OPT_XX},
    {"gt", 2, OPT_GT},           {"lt", 2, OPT_LT},         {"keepttl", 7, OPT_KEEPTTL},
    {"persist", 7, OPT_PERSIST}, {"get", 3, OPT_GET},       {"fnx", 3, OPT_FNX},
    {"fxx", 3, OPT_FXX},         {"fields", 6, OPT_FIELDS},
};

enum opt_token opt_token(slice o) {
    if (o.len < 2 || o.len > 7) return OPT_NONE;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (words[i].len == o.len && word_ci(o, words[i].word, o.len)) return words[i].token;
    return OPT_NONE;
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
