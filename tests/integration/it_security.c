/* Integration tests: requirepass, AUTH, HELLO AUTH, the limits on unauthenticated clients
 * (Redis's tests/unit/auth.tcl and protocol.tcl texts). Protected mode's DENIED path needs
 * a non-loopback peer, which these tests may not use: its decision is unit-tested in
 * tests/unit/test_net.c, and here we check that loopback clients are accepted with it on. */
#include "integration/harness.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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
    size_t n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
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

/* Issue 21: an unauthenticated client that never reads its -NOAUTH replies is cut off once
 * they pass 1 KB beyond the first reply chunk, as Redis does (Redis's auth.tcl hung on it:
 * the server queued replies without bound). Writes are non-blocking and bounded by time. */
TEST(unauthenticated_output_is_limited) {
    int fd = it_raw_connect();
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    char chunk[9 * 1000];
    for (size_t i = 0; i < sizeof(chunk); i += 9)
        memcpy(chunk + i, "SET x 5\r\n", 9);
    int closed = 0;
    time_t deadline = time(NULL) + 5;
    while (!closed && time(NULL) < deadline) {
        ssize_t n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) closed = 1;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) it_sleep_ms(5);
    }
    if (!closed) closed = it_raw_closed(fd, 2000);
    ASSERT(closed);
    close(fd);
}

/* Issue 21: requirepass may hold a NUL byte (Redis's is binary safe); AUTH compares all of
 * it and CONFIG GET shows all of it. */
TEST(binary_password) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "AUTH s3cret");
    redisReply *r = redisCommand(c, "CONFIG SET requirepass %b", "abc\0def", (size_t)7);
    ASSERT(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0);
    freeReplyObject(r);
    r = redisCommand(c, "CONFIG GET requirepass");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    ASSERT(r->element[1]->len == 7 && memcmp(r->element[1]->str, "abc\0def", 7) == 0);
    freeReplyObject(r);
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "AUTH abc\r\n", WRONGPASS);
    /* String literals with a NUL inside: their length is sizeof - 1, not strlen. */
    static const char almost[] = "*2\r\n$4\r\nAUTH\r\n$7\r\nabc\0de!\r\n";
    static const char right[] = "*2\r\n$4\r\nAUTH\r\n$7\r\nabc\0def\r\n";
    ASSERT(it_expect_raw(fd, __FILE__, __LINE__, almost, sizeof(almost) - 1, WRONGPASS,
                         strlen(WRONGPASS)));
    ASSERT(it_expect_raw(fd, __FILE__, __LINE__, right, sizeof(right) - 1, "+OK\r\n", 5));
    EXPECT_RAW(fd, "CONFIG SET requirepass s3cret\r\n", "+OK\r\n");
    close(fd);
    redisFree(c);
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
    RUN(unauthenticated_output_is_limited);
    RUN(binary_password);
    RUN(no_password_configured);
    it_stop();
    return test_report();
}
