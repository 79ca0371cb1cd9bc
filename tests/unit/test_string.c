/* Unit tests for types/string: the three encodings keep every byte and length across the
 * inline limit, copies, in-place changes (RAW) and the EMBSTR's compact layout (12-byte
 * header, no NUL after the bytes, so a 100-byte value fits jemalloc's 112-byte class). */
#include "mayfly/types/string.h"
#include "mayfly/util/mem.h"
#include "unit/test.h"

#include <string.h>

static void fill(char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(seed + i * 7);
}

static int same(const string *s, const char *p, size_t n) {
    char tmp[STRCONV_LL_MAX];
    slice b = string_bytes(s, tmp);
    return b.len == n && string_len(s) == n && (n == 0 || memcmp(b.p, p, n) == 0);
}

TEST(lengths_around_the_inline_limit) {
    static char data[STRING_INLINE_MAX + 64];
    static const size_t lens[] = {0,  1,  3,   4,   11,   12,   13,   44,
                                  45, 99, 100, 101, 4095, 4096, 4097, 4100};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        fill(data, n, (unsigned)n);
        data[0] = n ? 'x' : data[0]; /* never a canonical integer */
        string *s = string_new(data, n);
        ASSERT_EQ(n <= STRING_INLINE_MAX ? ENC_EMBSTR : ENC_RAW, s->hdr.enc);
        ASSERT(same(s, data, n));
        string *d = string_dup(s);
        ASSERT_EQ(s->hdr.enc, d->hdr.enc);
        ASSERT(same(d, data, n));
        string *r = string_dup_raw(s);
        ASSERT_EQ(ENC_RAW, r->hdr.enc);
        ASSERT(same(r, data, n));
        string_free(s);
        string_free(d);
        string_free(r);
    }
}

TEST(embstr_is_compact) {
    char data[100];
    fill(data, sizeof(data), 3);
    data[0] = 'v';
    string *s = string_new(data, sizeof(data));
    ASSERT_EQ(ENC_EMBSTR, s->hdr.enc);
    ASSERT_EQ(12, (long long)STRING_EMB_OFFSET);
    ASSERT(string_memory(s) <= 112); /* one block of 12 + 100 bytes */
    string_free(s);
}

TEST(raw_changes_in_place) {
    string *s = string_new_text("abc", 3);
    string *r = string_dup_raw(s);
    string_append(r, "defg", 4);
    ASSERT(same(r, "abcdefg", 7));
    string_grow_zero(r, 10);
    ASSERT(same(r, "abcdefg\0\0\0", 10));
    string_write(r, 8, "Z", 1);
    ASSERT(same(r, "abcdefg\0Z\0", 10));
    static char big[10000];
    fill(big, sizeof(big), 5);
    string_append(r, big, sizeof(big));
    ASSERT_EQ(10010, (long long)string_len(r));
    string *z = string_new_zeros(5);
    ASSERT(same(z, "\0\0\0\0\0", 5));
    string_free(s);
    string_free(r);
    string_free(z);
}

TEST(integers_and_floats) {
    string *s = string_new("12345", 5);
    ASSERT_EQ(ENC_INT, s->hdr.enc);
    ASSERT(same(s, "12345", 5));
    string_free(s);
    /* An EMBSTR has no NUL after its bytes: parsing must go by length. */
    char buf[8] = {'1', '.', '5', '9', '9', '9', '9', '9'};
    s = string_new(buf, 3);
    long double ld;
    ASSERT_EQ(0, string_get_ld(s, &ld));
    ASSERT(ld == 1.5L);
    long long v;
    ASSERT_EQ(-1, string_get_ll(s, &v));
    string_free(s);
}

int main(void) {
    RUN(lengths_around_the_inline_limit);
    RUN(embstr_is_compact);
    RUN(raw_changes_in_place);
    RUN(integers_and_floats);
    return test_report();
}
