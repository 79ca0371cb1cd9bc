/* Integration tests: requirepass, AUTH, HELLO AUTH, the limits on unauthenticated clients
 * (Redis's tests/unit/auth.tcl and protocol.tcl texts). Protected mode's DENIED path needs
 * a non-loopback peer, which these tests may not use: its decision is unit-tested in
 * tests/unit/test_net.c, and here we check that loopback clients are accepted with it on. */
#include "integration/harness.h"

#include <string.h>
#include <unistd.h>

#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled.\r\n"

TEST(noauth_then_auth) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    EXPECT_RAW(fd, "CONFIG GET hz\r\n", "-NOAUTH Authentication required.\r\n");
    EXPECT_RAW(fd, "AUTH wrong\r\n", WRONGPASS);
    EXPECT_RAW(fd, "AUTH default wrong\r\n", WRONGPASS);
    EXPECT_RAW(fd, "AUTH someone s3cret\r\n", WRONGPASS);
    EXPECT_RAW(fd, "AUTH a b c\r\n", "-ERR syntax error\r\n");
    EXPECT_RAW(fd, "AUTH s3cret\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    EXPECT_RAW(fd, "AUTH default s3cret\r\n", "+OK\r\n");
    close(fd);
    redisContext *c = it_client();
    EXPECT(c, "+OK", "AUTH s3cret");
    ASSERT(it_info_field(c, "acl_access_denied_auth") >= 3);
    redisFree(c);
}

TEST(hello_auth) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "HELLO 3\r\n",
               "-NOAUTH HELLO must be called with the client already authenticated, otherwise "
               "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
               "client and select the RESP protocol version at the same time\r\n");
    EXPECT_RAW(fd, "HELLO 3 AUTH default nope\r\n", WRONGPASS);
    char buf[1024];
    it_raw_send(fd, "HELLO 3 AUTH default s3cret SETNAME app\r\n", 41);
    size_t n = it_raw_read_all(fd, buf, sizeof(buf) - 1, 300);
    buf[n] = '\0';
    ASSERT(strncmp(buf, "%7\r\n$6\r\nserver\r\n", 16) == 0);
    EXPECT_RAW(fd, "CLIENT GETNAME\r\n", "$3\r\napp\r\n");
    close(fd);
}

TEST(quit_and_reset_without_auth) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "RESET\r\n", "+RESET\r\n");
    EXPECT_RAW(fd, "QUIT\r\n", "+OK\r\n");
    ASSERT(it_raw_closed(fd, 2000));
    close(fd);
    /* RESET drops an earlier authentication. */
    fd = it_raw_connect();
    EXPECT_RAW(fd, "AUTH s3cret\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "RESET\r\n", "+RESET\r\n");
    EXPECT_RAW(fd, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    close(fd);
}

TEST(unauthenticated_limits) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n");
    ASSERT(it_raw_closed(fd, 2000));
    close(fd);
    fd = it_raw_connect();
    EXPECT_RAW(fd, "*1\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n");
    ASSERT(it_raw_closed(fd, 2000));
    close(fd);
    /* Within the limits it is only NOAUTH; after AUTH the limits are gone. */
    fd = it_raw_connect();
    /* Arity is checked before authentication, as in Redis. */
    EXPECT_RAW(fd,
               "*10\r\n$4\r\nECHO\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
               "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
               "-ERR wrong number of arguments for 'echo' command\r\n");
    EXPECT_RAW(fd, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$2\r\nhz\r\n",
               "-NOAUTH Authentication required.\r\n");
    EXPECT_RAW(fd, "AUTH s3cret\r\n", "+OK\r\n");
    EXPECT_RAW(fd,
               "*11\r\n$4\r\nPING\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
               "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
               "-ERR wrong number of arguments for 'ping' command\r\n");
    close(fd);
}

TEST(no_password_configured) {
    it_server s;
    it_start_server(&s, NULL);
    redisContext *c = it_client_to(&s);
    EXPECT(c,
           "-ERR AUTH <password> called without any password configured for the default user. "
           "Are you sure your configuration is correct?",
           "AUTH foo");
    EXPECT(c, "+OK", "AUTH default anything");
    EXPECT(c, "[\"protected-mode\",\"yes\"]", "CONFIG GET protected-mode");
    /* Loopback clients are accepted in protected mode without a password. */
    EXPECT(c, "+PONG", "PING");
    /* A password set at run time applies to new connections; this one stays in. */
    EXPECT(c, "+OK", "CONFIG SET requirepass newpass");
    EXPECT(c, "+PONG", "PING");
    int fd = it_raw_connect_to(&s);
    EXPECT_RAW(fd, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    EXPECT_RAW(fd, "AUTH newpass\r\n", "+OK\r\n");
    close(fd);
    EXPECT(c, "+OK", "CONFIG SET requirepass %s", "");
    fd = it_raw_connect_to(&s);
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    close(fd);
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    const char *args[] = {"--requirepass", "s3cret", NULL};
    it_start(args);
    RUN(noauth_then_auth);
    RUN(hello_auth);
    RUN(quit_and_reset_without_auth);
    RUN(unauthenticated_limits);
    RUN(no_password_configured);
    it_stop();
    return test_report();
}
