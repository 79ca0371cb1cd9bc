/* Unit tests for util/varint.h: exact bytes of known values, lengths and round trips at
 * every 7-bit boundary and at random, and the checked decoder's refusals (cut short, more
 * than 64 bits). */
#include "mayfly/util/rand.h"
#include "mayfly/util/varint.h"
#include "unit/test.h"

#include <stdint.h>

TEST(known_bytes) {
    uint8_t b[VARINT_MAX];
    ASSERT_EQ(1, varint_put(b, 0));
    ASSERT_EQ(0x00, b[0]);
    ASSERT_EQ(1, varint_put(b, 127));
    ASSERT_EQ(0x7f, b[0]);
    ASSERT_EQ(2, varint_put(b, 300));
    ASSERT_EQ(0xac, b[0]);
    ASSERT_EQ(0x02, b[1]);
    ASSERT_EQ(10, varint_put(b, UINT64_MAX));
    for (int i = 0; i < 9; i++)
        ASSERT_EQ(0xff, b[i]);
    ASSERT_EQ(0x01, b[9]);
}

static int round_trip(uint64_t v) {
    uint8_t b[VARINT_MAX + 2] = {0};
    size_t n = varint_put(b, v);
    uint64_t a = ~v, c = ~v;
    return n == varint_len(v) && varint_get(b, &a) == n && a == v &&
           varint_get_checked(b, n, &c) == n && c == v &&
           varint_get_checked(b, n - 1, &c) == 0; /* one byte short */
}

TEST(round_trips_at_every_boundary) {
    for (int bits = 0; bits <= 64; bits++) {
        uint64_t edge = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits);
        ASSERT(round_trip(edge));
        ASSERT(round_trip(edge - 1));
        if (bits < 64) ASSERT(round_trip(edge + 1));
        if (bits > 0 && bits % 7 == 0 && bits < 64)
            ASSERT_EQ(bits / 7 + 1, varint_len((uint64_t)1 << bits));
    }
    rand_seed(7);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rand_u64() >> rand_below(64);
        if (!round_trip(v)) TEST_FAIL("round trip of %llu", (unsigned long long)v);
    }
}

TEST(checked_refuses_bad_input) {
    uint64_t v = 0;
    ASSERT_EQ(0, varint_get_checked("", 0, &v));
    /* Ten continuation bytes: longer than any uint64. */
    uint8_t longer[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ASSERT_EQ(0, varint_get_checked(longer, sizeof(longer), &v));
    /* A tenth byte above 1 would need bit 64. */
    uint8_t big[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    ASSERT_EQ(0, varint_get_checked(big, sizeof(big), &v));
    big[9] = 0x01;
    ASSERT_EQ(10, varint_get_checked(big, sizeof(big), &v));
    ASSERT(v == UINT64_MAX);
    /* Trailing bytes after a complete varint are not read. */
    uint8_t two[3] = {0xac, 0x02, 0xff};
    ASSERT_EQ(2, varint_get_checked(two, 3, &v));
    ASSERT_EQ(300, v);
}

int main(void) {
    RUN(known_bytes);
    RUN(round_trips_at_every_boundary);
    RUN(checked_refuses_bad_input);
    return test_report();
}
