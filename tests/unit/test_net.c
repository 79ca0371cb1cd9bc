/* Unit tests for net/listener.c's protected-mode decision. A second, non-loopback client
 * address cannot be produced in a test that may only use 127.0.0.1 and ::1, so the
 * decision and the address classification are tested here directly. */
#include "mayfly/net/listener.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static int local4(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) return -1;
    return listener_addr_is_local(&ss);
}

static int local6(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1) return -1;
    return listener_addr_is_local(&ss);
}

TEST(loopback_addresses_are_local) {
    ASSERT_EQ(1, local4("127.0.0.1"));
    ASSERT_EQ(1, local4("127.0.0.2"));
    ASSERT_EQ(1, local4("127.255.255.254"));
    ASSERT_EQ(1, local6("::1"));
    ASSERT_EQ(1, local6("::ffff:127.0.0.1"));
}

TEST(other_addresses_are_not_local) {
    ASSERT_EQ(0, local4("10.0.0.1"));
    ASSERT_EQ(0, local4("192.168.1.10"));
    ASSERT_EQ(0, local4("128.0.0.1"));
    ASSERT_EQ(0, local4("0.0.0.0"));
    ASSERT_EQ(0, local6("::2"));
    ASSERT_EQ(0, local6("fe80::1"));
    ASSERT_EQ(0, local6("::ffff:10.0.0.1"));
    struct sockaddr_storage unknown;
    memset(&unknown, 0, sizeof(unknown));
    unknown.ss_family = AF_UNSPEC;
    ASSERT_EQ(0, listener_addr_is_local(&unknown));
}

TEST(protected_mode_decision) {
    /* protected-mode, password set, peer local */
    ASSERT_EQ(1, listener_protected_denies(1, 0, 0));
    ASSERT_EQ(0, listener_protected_denies(1, 0, 1));
    ASSERT_EQ(0, listener_protected_denies(1, 1, 0));
    ASSERT_EQ(0, listener_protected_denies(0, 0, 0));
    ASSERT_EQ(0, listener_protected_denies(0, 1, 1));
}

int main(void) {
    RUN(loopback_addresses_are_local);
    RUN(other_addresses_are_not_local);
    RUN(protected_mode_decision);
    return test_report();
}
