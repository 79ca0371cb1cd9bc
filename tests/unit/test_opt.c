/* Unit tests for cmd/opt_int.h, the option classifier and expire-time conversion that SET,
 * GETEX, the EXPIRE family, HSETEX, HGETEX and the HEXPIRE family share: every token in
 * any case, near misses that must stay OPT_NONE, and the deadline's unit conversion,
 * base and overflow edges (the integration tests hold the commands' error texts). */
#include "cmd/opt_int.h"
#include "unit/test.h"

#include <limits.h>
#include <string.h>

static enum opt_token tok(const char *s) {
    return opt_token((slice){s, strlen(s)});
}

TEST(every_token_in_any_case) {
    static const struct {
        const char *lower, *upper, *mixed;
        enum opt_token t;
    } rows[] = {
        {"ex", "EX", "eX", OPT_EX},
        {"px", "PX", "Px", OPT_PX},
        {"exat", "EXAT", "ExAt", OPT_EXAT},
        {"pxat", "PXAT", "pXaT", OPT_PXAT},
        {"nx", "NX", "Nx", OPT_NX},
        {"xx", "XX", "xX", OPT_XX},
        {"gt", "GT", "gT", OPT_GT},
        {"lt", "LT", "Lt", OPT_LT},
        {"keepttl", "KEEPTTL", "KeepTtl", OPT_KEEPTTL},
        {"persist", "PERSIST", "PerSist", OPT_PERSIST},
        {"get", "GET", "gEt", OPT_GET},
        {"fnx", "FNX", "fNx", OPT_FNX},
        {"fxx", "FXX", "FxX", OPT_FXX},
        {"fields", "FIELDS", "FieLds", OPT_FIELDS},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ASSERT_EQ(rows[i].t, tok(rows[i].lower));
        ASSERT_EQ(rows[i].t, tok(rows[i].upper));
        ASSERT_EQ(rows[i].t, tok(rows[i].mixed));
    }
}

TEST(near_misses_are_none) {
    static const char *const miss[] = {
        "",       "e",      "x",        "exa",      "exatt",     "pxa",    "keepttlx",
        "keeptt", "persis", "ge",       "gets",     "fieldz",    "field",  "fn",
        "fnxx",   "nxx",    "n",        "lte",      "ex ",       " ex",    "e\x00",
        "\xc5x",  "Ex\n",   "eXAT1",    "1",        "-1",        "f\x00x", "ey",
        "qx",     "ux",     "exat\x20", "PERSISt ", "KEEPTT\x0c"};
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++)
        ASSERT_EQ(OPT_NONE, tok(miss[i]));
    /* Case folding by | 0x20 must not make a non-letter match: 0x18 | 0x20 is '8', 0x58 'X'
     * is a letter and matches; 0xd8 | 0x20 is 0xf8. */
    ASSERT_EQ(OPT_NONE, tok("E\x18"));
    ASSERT_EQ(OPT_NONE, tok("E\xd8"));
    ASSERT_EQ(OPT_EX, tok("E\x58"));
    ASSERT_EQ(OPT_NONE, opt_token((slice){"ex", 1}));
    /* The classes. */
    ASSERT(opt_is_time(OPT_EX) && opt_is_time(OPT_PXAT) && !opt_is_time(OPT_NX));
    ASSERT(!opt_is_time(OPT_NONE) && !opt_is_time(OPT_KEEPTTL));
    ASSERT(opt_is_condition(OPT_NX) && opt_is_condition(OPT_LT) && !opt_is_condition(OPT_EX));
    ASSERT(!opt_is_condition(OPT_FNX) && !opt_is_condition(OPT_NONE));
}

TEST(deadline_units_and_base) {
    long long out = -7;
    ASSERT_EQ(0, opt_deadline(OPT_EX, 10, 5000, LLONG_MAX, &out));
    ASSERT_EQ(15000, out);
    ASSERT_EQ(0, opt_deadline(OPT_PX, 10, 5000, LLONG_MAX, &out));
    ASSERT_EQ(5010, out);
    ASSERT_EQ(0, opt_deadline(OPT_EXAT, 10, 5000, LLONG_MAX, &out));
    ASSERT_EQ(10000, out);
    ASSERT_EQ(0, opt_deadline(OPT_PXAT, 10, 5000, LLONG_MAX, &out));
    ASSERT_EQ(10, out);
    /* Negative and zero times pass through (EXPIRE deletes at once; callers check signs). */
    ASSERT_EQ(0, opt_deadline(OPT_EX, -3, 5000, LLONG_MAX, &out));
    ASSERT_EQ(2000, out);
    ASSERT_EQ(0, opt_deadline(OPT_PXAT, 0, 5000, LLONG_MAX, &out));
    ASSERT_EQ(0, out);
}

TEST(deadline_overflow_edges) {
    long long out = 42;
    /* Seconds: the largest that converts, one more does not. */
    ASSERT_EQ(0, opt_deadline(OPT_EXAT, LLONG_MAX / 1000, 0, LLONG_MAX, &out));
    ASSERT(out == LLONG_MAX / 1000 * 1000);
    out = 42;
    ASSERT_EQ(-1, opt_deadline(OPT_EXAT, LLONG_MAX / 1000 + 1, 0, LLONG_MAX, &out));
    ASSERT_EQ(42, out); /* untouched on failure */
    ASSERT_EQ(0, opt_deadline(OPT_EX, LLONG_MIN / 1000, 0, LLONG_MAX, &out));
    ASSERT_EQ(-1, opt_deadline(OPT_EX, LLONG_MIN / 1000 - 1, 0, LLONG_MAX, &out));
    /* Adding now: PX at the limit minus now fits, one more does not. */
    ASSERT_EQ(0, opt_deadline(OPT_PX, LLONG_MAX - 1000, 1000, LLONG_MAX, &out));
    ASSERT(out == LLONG_MAX);
    ASSERT_EQ(-1, opt_deadline(OPT_PX, LLONG_MAX - 999, 1000, LLONG_MAX, &out));
    ASSERT_EQ(0, opt_deadline(OPT_PX, LLONG_MIN, 1000, LLONG_MAX, &out));
    ASSERT(out == LLONG_MIN + 1000);
    /* A smaller maximum (the hash type's deadline range) bounds every form. */
    const long long max = 1LL << 48;
    ASSERT_EQ(0, opt_deadline(OPT_PXAT, max, 0, max, &out));
    ASSERT_EQ(-1, opt_deadline(OPT_PXAT, max + 1, 0, max, &out));
    ASSERT_EQ(-1, opt_deadline(OPT_EXAT, max / 1000 + 1, 0, max, &out));
    ASSERT_EQ(0, opt_deadline(OPT_EX, (max - 5000) / 1000, 5000, max, &out));
    ASSERT_EQ(-1, opt_deadline(OPT_PX, max - 4999, 5000, max, &out));
}

int main(void) {
    RUN(every_token_in_any_case);
    RUN(near_misses_are_none);
    RUN(deadline_units_and_base);
    RUN(deadline_overflow_edges);
    return test_report();
}
