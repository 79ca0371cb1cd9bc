/* Unit tests for util/sha1: FIPS 180 example vectors, Redis's redis.sha1hex examples, and
 * feeding in pieces at every split. */
#include "mayfly/util/sha1.h"
#include "unit/test.h"

TEST(vectors) {
    char hex[41];
    sha1_hex(hex, "", 0);
    ASSERT_STR_EQ("da39a3ee5e6b4b0d3255bfef95601890afd80709", hex);
    sha1_hex(hex, "abc", 3);
    ASSERT_STR_EQ("a9993e364706816aba3e25717850c26c9cd0d89d", hex);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_hex(hex, two, strlen(two));
    ASSERT_STR_EQ("84983e441c3bd26ebaae4aa1f95129e5e54670f1", hex);
    sha1_hex(hex, "Pizza & Mandolino", 17);
    ASSERT_STR_EQ("74822d82031af7493c20eefa13bd07ec4fada82f", hex);
}

TEST(million_a) {
    char block[1000];
    memset(block, 'a', sizeof(block));
    sha1_ctx c;
    sha1_init(&c);
    for (int i = 0; i < 1000; i++)
        sha1_update(&c, block, sizeof(block));
    unsigned char d[20];
    sha1_final(&c, d);
    static const unsigned char want[20] = {0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda,
                                           0xa4, 0xf6, 0x1e, 0xeb, 0x2b, 0xdb, 0xad,
                                           0x27, 0x31, 0x65, 0x34, 0x01, 0x6f};
    ASSERT_MEM_EQ(want, 20, d, 20);
}

TEST(split_feeding) {
    char text[200];
    for (int i = 0; i < 200; i++)
        text[i] = (char)('a' + i % 26);
    for (size_t len = 0; len <= sizeof(text); len += 7) {
        char whole[41];
        sha1_hex(whole, text, len);
        for (size_t cut = 0; cut <= len; cut++) {
            sha1_ctx c;
            unsigned char d[20];
            sha1_init(&c);
            sha1_update(&c, text, cut);
            sha1_update(&c, text + cut, len - cut);
            sha1_final(&c, d);
            char hex[41];
            for (int i = 0; i < 20; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
            ASSERT_STR_EQ(whole, hex);
        }
    }
}

int main(void) {
    RUN(vectors);
    RUN(million_a);
    RUN(split_feeding);
    return test_report();
}
