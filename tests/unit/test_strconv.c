/* Unit tests for util/strconv: Redis's strict integer and float rules. */
#include "mayfly/util/strconv.h"
#include "unit/test.h"

static int ll(const char *s, long long *v) {
    return str_to_ll(s, strlen(s), v);
}

TEST(integers_accepted) {
    long long v;
    ASSERT_EQ(0, ll("0", &v));
    ASSERT_EQ(0, v);
    ASSERT_EQ(0, ll("-42", &v));
    ASSERT_EQ(-42, v);
    ASSERT_EQ(0, ll("9223372036854775807", &v));
    ASSERT_EQ(9223372036854775807LL, v);
    ASSERT_EQ(0, ll("-9223372036854775808", &v));
    ASSERT(v == INT64_MIN);
}

TEST(integers_refused) {
    long long v;
    const char *bad[] = {"",
                         "-",
                         "+1",
                         " 1",
                         "1 ",
                         "01",
                         "-0",
                         "1a",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "1.0",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ll(bad[i], &v) == 0) TEST_FAIL("accepted \"%s\"", bad[i]);
}

TEST(long_double_rules) {
    long double v;
    ASSERT_EQ(0, str_to_ld("1.5", 3, &v));
    ASSERT(v == 1.5L);
    ASSERT_EQ(-1, str_to_ld(" 1", 2, &v));
    ASSERT_EQ(-1, str_to_ld("nan", 3, &v));
    ASSERT_EQ(-1, str_to_ld("1x", 2, &v));
    ASSERT_EQ(0, str_to_ld("inf", 3, &v));
}

/* str_to_ld and str_to_d take the same arguments: empty, leading white space, a NUL or
 * junk inside, NaN and longer than STRCONV_LD_MAX - 1 bytes are refused by both. */
TEST(double_parsers_share_their_rules) {
    static const struct {
        const char *s;
        size_t len;
        int ok;
    } cases[] = {{"", 0, 0},
                 {" 1", 2, 0},
                 {"\t1", 2, 0},
                 {"1\0"
                  "2",
                  3, 0},
                 {"1x", 2, 0},
                 {"nan", 3, 0},
                 {"1.5", 3, 1},
                 {"-inf", 4, 1},
                 {"1e999999", 8, 0},
                 {"2.5e-3", 6, 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long double ld;
        double d;
        if ((str_to_ld(cases[i].s, cases[i].len, &ld) == 0) != cases[i].ok ||
            (str_to_d(cases[i].s, cases[i].len, &d) == 0) != cases[i].ok)
            TEST_FAIL("case %zu (\"%s\")", i, cases[i].s);
    }
    char longest[STRCONV_LD_MAX + 1];
    memset(longest, '0', sizeof(longest)); /* 0 */
    long double ld;
    double d;
    ASSERT_EQ(0, str_to_ld(longest, STRCONV_LD_MAX - 1, &ld));
    ASSERT_EQ(0, str_to_d(longest, STRCONV_LD_MAX - 1, &d));
    ASSERT_EQ(-1, str_to_ld(longest, STRCONV_LD_MAX, &ld));
    ASSERT_EQ(-1, str_to_d(longest, STRCONV_LD_MAX, &d));
}

TEST(format_human) {
    char b[64];
    ld_to_str(b, sizeof(b), 10.5L);
    ASSERT_STR_EQ("10.5", b);
    ld_to_str(b, sizeof(b), 3.0L);
    ASSERT_STR_EQ("3", b);
    ld_to_str(b, sizeof(b), -0.0L);
    ASSERT_STR_EQ("0", b);
    ld_to_str(b, sizeof(b), 5.0e3L);
    ASSERT_STR_EQ("5000", b);
    d_to_str(b, 0.1);
    ASSERT_STR_EQ("0.1", b);
    d_to_str(b, 10.0);
    ASSERT_STR_EQ("10", b);
    d_to_str(b, -1500.0);
    ASSERT_STR_EQ("-1500", b);
    d_to_str(b, 1e16);
    ASSERT_STR_EQ("10000000000000000", b);
    d_to_str(b, 1e17);
    ASSERT_STR_EQ("1e+17", b);
    d_to_str(b, 1.5e-7);
    ASSERT_STR_EQ("1.5e-07", b);
    ll_to_str(b, -1234);
    ASSERT_STR_EQ("-1234", b);
}

/* ll_to_str against snprintf at every digit count and the extremes; str_to_ull at the
 * 19/20-digit boundary where the overflow check starts. */
TEST(integer_round_trips) {
    char b[STRCONV_LL_MAX], want[32];
    long long cases[] = {0,
                         1,
                         9,
                         10,
                         99,
                         100,
                         101,
                         999,
                         1000,
                         12345,
                         99999,
                         100000,
                         4294967296LL,
                         999999999999999999LL,
                         1000000000000000000LL,
                         INT64_MAX,
                         INT64_MIN,
                         -1,
                         -10,
                         -99,
                         -100,
                         INT64_MIN + 1};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = ll_to_str(b, cases[i]);
        snprintf(want, sizeof(want), "%lld", cases[i]);
        ASSERT_STR_EQ(want, b);
        ASSERT_EQ(strlen(want), n);
        long long back;
        ASSERT_EQ(0, str_to_ll(b, n, &back));
        ASSERT_EQ(cases[i], back);
    }
    unsigned long long u;
    ASSERT_EQ(0, str_to_ull("9999999999999999999", 19, &u));
    ASSERT_EQ(9999999999999999999ULL, u);
    ASSERT_EQ(0, str_to_ull("18446744073709551615", 20, &u));
    ASSERT_EQ(UINT64_MAX, u);
    ASSERT_EQ(-1, str_to_ull("18446744073709551616", 20, &u));
    ASSERT_EQ(-1, str_to_ull("99999999999999999999", 20, &u));
    ASSERT_EQ(-1, str_to_ull("12a", 3, &u));
    ASSERT_EQ(-1, str_to_ull("1/", 2, &u));
    ASSERT_EQ(-1, str_to_ull("1:", 2, &u));
}

int main(void) {
    RUN(integers_accepted);
    RUN(integers_refused);
    RUN(long_double_rules);
    RUN(double_parsers_share_their_rules);
    RUN(format_human);
    RUN(integer_round_trips);
    return test_report();
}
