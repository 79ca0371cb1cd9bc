/* Integration tests: CONFIG SET port / bind take effect at once, as in Redis (updatePort,
 * applyBind): the listeners move before the OK, connections already open stay, INFO
 * tcp_port follows; a port or address that cannot be listened on is refused with Redis's
 * error, and then the old value and the old listeners stay (the old port still accepts).
 * Port 0 closes the TCP listener. Addresses are loopback ones (127.0.0.0/8 and ::1 are all
 * local on Linux); 10.255.255.1 stands for an address this host does not have. */
#include "integration/harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* 1 if a PING over a new connection to ip:port gets PONG. */
static int answers(const char *ip, int port) {
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout(ip, port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return 0;
    }
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* A socket listening on 127.0.0.1:port (the port is then busy); returns the fd. */
static int hold_port(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
        perror("hold_port");
        exit(2);
    }
    return fd;
}

TEST(config_set_port_moves_the_listener) {
    it_server s;
    it_start_server(&s, NULL);
    redisContext *c = it_client_to(&s);
    int old = s.port, port = it_free_port();
    EXPECT(c, "+OK", "CONFIG SET port %d", port);
    ASSERT(answers("127.0.0.1", port));
    ASSERT(!answers("127.0.0.1", old));
    EXPECT(c, "+PONG", "PING"); /* the connection made on the old port stays */
    ASSERT_EQ(port, it_info_field(c, "tcp_port"));
    char want[64];
    snprintf(want, sizeof(want), "[\"port\",\"%d\"]", port);
    EXPECT(c, want, "CONFIG GET port");
    /* A busy port: Redis's error, and nothing changes. */
    int busy = it_free_port();
    int fd = hold_port(busy);
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on "
           "this port. Check server logs.",
           "CONFIG SET port %d", busy);
    close(fd);
    EXPECT(c, want, "CONFIG GET port");
    ASSERT(answers("127.0.0.1", port));
    ASSERT_EQ(port, it_info_field(c, "tcp_port"));
    /* Setting the same port keeps the listener. */
    EXPECT(c, "+OK", "CONFIG SET port %d", port);
    ASSERT(answers("127.0.0.1", port));
    /* Port 0: no TCP listener; the open connection brings it back. */
    EXPECT(c, "+OK", "CONFIG SET port 0");
    ASSERT(!answers("127.0.0.1", port));
    EXPECT(c, "+OK", "CONFIG SET port %d", old);
    ASSERT(answers("127.0.0.1", old));
    s.port = old;
    redisFree(c);
    it_stop_server(&s);
}

TEST(config_set_bind_moves_the_listeners) {
    it_server s;
    it_start_server(&s, NULL);
    redisContext *c = it_client_to(&s);
    int port = s.port;
    EXPECT(c, "+OK", "CONFIG SET bind %s", "127.0.0.2");
    ASSERT(answers("127.0.0.2", port));
    ASSERT(!answers("127.0.0.1", port));
    EXPECT(c, "[\"bind\",\"127.0.0.2\"]", "CONFIG GET bind");
    EXPECT(c, "+OK", "CONFIG SET bind %s", "127.0.0.1 127.0.0.2");
    ASSERT(answers("127.0.0.1", port));
    ASSERT(answers("127.0.0.2", port));
    /* An address this host does not have: refused, the old list and listeners stay. */
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to "
           "specified addresses.",
           "CONFIG SET bind %s", "127.0.0.3 10.255.255.1");
    EXPECT(c, "[\"bind\",\"127.0.0.1 127.0.0.2\"]", "CONFIG GET bind");
    ASSERT(answers("127.0.0.1", port));
    ASSERT(answers("127.0.0.2", port));
    ASSERT(!answers("127.0.0.3", port)); /* opened for the attempt, closed again */
    /* The same address made optional ('-') is skipped. */
    EXPECT(c, "+OK", "CONFIG SET bind %s", "-10.255.255.1 127.0.0.3");
    ASSERT(answers("127.0.0.3", port));
    ASSERT(!answers("127.0.0.1", port));
    ASSERT(!answers("127.0.0.2", port));
    /* Only optional addresses that do not exist: nothing to listen on, refused. */
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to "
           "specified addresses.",
           "CONFIG SET bind %s", "-10.255.255.1");
    ASSERT(answers("127.0.0.3", port));
    EXPECT(c, "+OK", "CONFIG SET bind %s", "127.0.0.1 -::1");
    ASSERT(answers("127.0.0.1", port));
    int fd6 = it_raw_connect6(port);
    ASSERT(fd6 >= 0);
    close(fd6);
    EXPECT(c, "+PONG", "PING");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'unixsocket') - can't set "
           "immutable config",
           "CONFIG SET unixsocket %s", "/tmp/x.sock");
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    RUN(config_set_port_moves_the_listener);
    RUN(config_set_bind_moves_the_listeners);
    return test_report();
}
