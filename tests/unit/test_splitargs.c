/* Unit tests for util/splitargs: sdssplitargs's rules, shared by inline requests, the AOF
 * manifest, config lines and ACL selectors. */
#include "mayfly/util/splitargs.h"
#include "unit/test.h"

#include <string.h>

static int split(const char *line, char *store, char **w, size_t *lens, int max) {
    return splitargs_split(line, strlen(line), store, w, lens, max);
}

TEST(words_and_blanks) {
    char store[64], *w[8];
    size_t lens[8];
    ASSERT_EQ(3, split("  set \t key\r\n value  ", store, w, lens, 8));
    ASSERT_STR_EQ("set", w[0]);
    ASSERT_STR_EQ("key", w[1]);
    ASSERT_STR_EQ("value", w[2]);
    ASSERT_EQ(5, lens[2]);
    ASSERT_EQ(0, split("   ", store, w, lens, 8));
    ASSERT_EQ(0, split("", store, w, NULL, 8));
}

TEST(quotes_and_escapes) {
    char store[64], *w[8];
    size_t lens[8];
    ASSERT_EQ(3, split("\"a b\" 'c\\'d' \"\\x41\\n\\t\\q\"", store, w, lens, 8));
    ASSERT_STR_EQ("a b", w[0]);
    ASSERT_STR_EQ("c'd", w[1]);
    ASSERT_STR_EQ("A\n\tq", w[2]);
    /* An embedded NUL keeps its length. */
    ASSERT_EQ(1, split("\"x\\x00y\"", store, w, lens, 8));
    ASSERT_EQ(3, lens[0]);
    ASSERT_MEM_EQ("x\0y", 3, w[0], lens[0]);
    /* Quotes may open inside a word; "" is an empty word. */
    ASSERT_EQ(2, split("ab\"c d\" \"\"", store, w, lens, 8));
    ASSERT_STR_EQ("abc d", w[0]);
    ASSERT_EQ(0, lens[1]);
}

TEST(refusals) {
    char store[64], *w[8];
    ASSERT_EQ(-1, split("\"open", store, w, NULL, 8));
    ASSERT_EQ(-1, split("'open", store, w, NULL, 8));
    ASSERT_EQ(-1, split("\"closed\"x", store, w, NULL, 8));
    ASSERT_EQ(-1, split("'closed'x", store, w, NULL, 8));
    ASSERT_EQ(-2, split("a b c", store, w, NULL, 2));
    ASSERT_EQ(2, split("a b", store, w, NULL, 2));
}

int main(void) {
    RUN(words_and_blanks);
    RUN(quotes_and_escapes);
    RUN(refusals);
    return test_report();
}
