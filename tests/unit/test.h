/* test.h: a tiny unit-test harness (after libuv's test/task.h).
 *
 *     TEST(parse_ping) { ASSERT_EQ(1, 1); }
 *     int main(void) { RUN(parse_ping); return test_report(); }
 *
 * A failed assertion prints both sides with file and line and fails the current test;
 * test_report prints "N passed, M failed" and returns the process exit code. */
#ifndef MAYFLY_TEST_H
#define MAYFLY_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_now __attribute__((unused));
static int tests_passed __attribute__((unused)), tests_failed __attribute__((unused));

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        test_failed_now = 0;                                                                       \
        test_##name();                                                                             \
        if (test_failed_now) {                                                                     \
            tests_failed++;                                                                        \
            fprintf(stderr, "FAIL %s\n", #name);                                                   \
        } else {                                                                                   \
            tests_passed++;                                                                        \
        }                                                                                          \
    } while (0)

#define TEST_FAIL(...)                                                                             \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        test_failed_now = 1;                                                                       \
        return;                                                                                    \
    } while (0)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) TEST_FAIL("assertion failed: %s", #cond);                                     \
    } while (0)

#define ASSERT_EQ(expect, actual)                                                                  \
    do {                                                                                           \
        long long e_ = (long long)(expect), a_ = (long long)(actual);                              \
        if (e_ != a_) TEST_FAIL("%s == %s: expected %lld, got %lld", #expect, #actual, e_, a_);    \
    } while (0)

#define ASSERT_STR_EQ(expect, actual)                                                              \
    do {                                                                                           \
        const char *e_ = (expect), *a_ = (actual);                                                 \
        if (!e_ || !a_ || strcmp(e_, a_) != 0)                                                     \
            TEST_FAIL("%s == %s: expected \"%s\", got \"%s\"", #expect, #actual,                   \
                      e_ ? e_ : "(null)", a_ ? a_ : "(null)");                                     \
    } while (0)

/* Compares len bytes; prints both as escaped text on mismatch. */
#define ASSERT_MEM_EQ(expect, elen, actual, alen)                                                  \
    do {                                                                                           \
        size_t el_ = (elen), al_ = (alen);                                                         \
        if (el_ != al_ || memcmp((expect), (actual), el_) != 0) {                                  \
            fprintf(stderr, "%s:%d: bytes differ\n  expected: ", __FILE__, __LINE__);              \
            test_print_escaped((const char *)(expect), el_);                                       \
            fprintf(stderr, "\n  actual:   ");                                                     \
            test_print_escaped((const char *)(actual), al_);                                       \
            fputc('\n', stderr);                                                                   \
            test_failed_now = 1;                                                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static inline void test_print_escaped(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 32 || c > 126)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
}

__attribute__((unused)) static int test_report(void) {
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}

#endif
