/* Unit tests for cluster key slots: CRC-16/XMODEM's check value, slots Redis documents,
 * and the hash-tag rules (the first '{', the next '}', an empty tag hashes the whole key). */
#include "mayfly/cluster/cluster.h"
#include "mayfly/util/crc16.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

TEST(crc16_check_value) {
    ASSERT_EQ(0x31C3, crc16("123456789", 9));
    ASSERT_EQ(0, crc16("", 0));
}

static int slot(const char *k) {
    return cluster_keyslot(k, strlen(k));
}

TEST(documented_slots) {
    ASSERT_EQ(12182, slot("foo"));
    ASSERT_EQ(11058, slot("somekey"));
    ASSERT_EQ(15495, slot("a"));
    ASSERT_EQ(3300, slot("b"));
}

TEST(hash_tags) {
    ASSERT_EQ(slot("user1000"), slot("{user1000}.following"));
    ASSERT_EQ(slot("user1000"), slot("{user1000}.followers"));
    ASSERT_EQ(slot("bar"), slot("foo{bar}{zap}"));
    ASSERT_EQ(slot("{bar"), slot("foo{{bar}}zap"));
    /* An empty tag, or no closing brace: the whole key. */
    ASSERT_EQ((int)(crc16("foo{}{bar}", 10) & 16383), slot("foo{}{bar}"));
    ASSERT_EQ((int)(crc16("a{b", 3) & 16383), slot("a{b"));
    ASSERT_EQ((int)(crc16("}{", 2) & 16383), slot("}{"));
    /* Binary keys. */
    ASSERT_EQ((int)(crc16("a\0b", 3) & 16383), cluster_keyslot("a\0b", 3));
    for (int i = 0; i < 1000; i++) {
        char k[32];
        int n = snprintf(k, sizeof(k), "key:%d", i);
        int s = cluster_keyslot(k, (size_t)n);
        ASSERT_EQ(1, s >= 0 && s < CLUSTER_SLOTS);
    }
}

int main(void) {
    RUN(crc16_check_value);
    RUN(documented_slots);
    RUN(hash_tags);
    return test_report();
}
