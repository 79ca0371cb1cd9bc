/* Unit tests for util/glob: Redis's stringmatchlen rules, edge cases included. */
#include "mayfly/util/glob.h"
#include "unit/test.h"

static int m(const char *pat, const char *str) {
    return glob_match(pat, strlen(pat), str, strlen(str), 0);
}
static int mi(const char *pat, const char *str) {
    return glob_match(pat, strlen(pat), str, strlen(str), 1);
}

TEST(literals_and_question) {
    ASSERT_EQ(1, m("hello", "hello"));
    ASSERT_EQ(0, m("hello", "hell"));
    ASSERT_EQ(0, m("hell", "hello"));
    ASSERT_EQ(1, m("h?llo", "hallo"));
    ASSERT_EQ(0, m("h?llo", "hllo"));
    ASSERT_EQ(1, m("", ""));
    ASSERT_EQ(0, m("?", ""));
}

TEST(stars) {
    ASSERT_EQ(1, m("*", "anything"));
    ASSERT_EQ(1, m("h*llo", "hllo"));
    ASSERT_EQ(1, m("h*llo", "heeeello"));
    ASSERT_EQ(1, m("*o", "hello"));
    ASSERT_EQ(1, m("h*", "h"));
    ASSERT_EQ(1, m("h**", "h"));
    ASSERT_EQ(1, m("a*b*c", "aXXbYYc"));
    ASSERT_EQ(0, m("a*b*c", "aXXbYY"));
    ASSERT_EQ(1, m("*a*", "bab"));
    ASSERT_EQ(0, m("h*?", "h"));
    /* Redis: an empty subject matches only the empty pattern, even "*". */
    ASSERT_EQ(0, m("*", ""));
    ASSERT_EQ(0, m("**", ""));
}

TEST(classes) {
    ASSERT_EQ(1, m("h[ae]llo", "hello"));
    ASSERT_EQ(1, m("h[ae]llo", "hallo"));
    ASSERT_EQ(0, m("h[ae]llo", "hillo"));
    ASSERT_EQ(1, m("h[^e]llo", "hallo"));
    ASSERT_EQ(0, m("h[^e]llo", "hello"));
    ASSERT_EQ(1, m("h[a-b]llo", "hbllo"));
    ASSERT_EQ(0, m("h[a-b]llo", "hcllo"));
    ASSERT_EQ(1, m("[z-a]", "m")); /* backwards range */
    ASSERT_EQ(1, m("[\\]]", "]")); /* escaped ] inside a class */
    /* "[a-]" is the range ']'..'a' (backwards), as in Redis: '^' and ']' match, '-' not. */
    ASSERT_EQ(1, m("[a-]", "^"));
    ASSERT_EQ(1, m("[a-]", "]"));
    ASSERT_EQ(0, m("[a-]", "-"));
    ASSERT_EQ(1, m("[abc", "b")); /* unterminated class runs to the end */
    ASSERT_EQ(0, m("[abc", "bx"));
    ASSERT_EQ(0, m("[]", "]")); /* "[]" is an empty class: matches nothing */
    ASSERT_EQ(0, m("[]", "a"));
}

TEST(escapes) {
    ASSERT_EQ(1, m("h\\*llo", "h*llo"));
    ASSERT_EQ(0, m("h\\*llo", "hello"));
    ASSERT_EQ(1, m("\\?", "?"));
    ASSERT_EQ(0, m("\\?", "a"));
    ASSERT_EQ(1, m("a\\", "a\\")); /* trailing backslash is literal */
}

TEST(nocase) {
    ASSERT_EQ(1, mi("HeLLo", "hello"));
    ASSERT_EQ(1, mi("h[A-C]llo", "hbllo"));
    ASSERT_EQ(0, m("HeLLo", "hello"));
}

TEST(binary_and_long) {
    ASSERT_EQ(1, glob_match("a?c", 3, "a\0c", 3, 0));
    /* A pathological pattern must finish quickly. */
    char str[4096];
    memset(str, 'a', sizeof(str));
    const char *pat = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    ASSERT_EQ(0, glob_match(pat, strlen(pat), str, sizeof(str), 0));
}

int main(void) {
    RUN(literals_and_question);
    RUN(stars);
    RUN(classes);
    RUN(escapes);
    RUN(nocase);
    RUN(binary_and_long);
    return test_report();
}
