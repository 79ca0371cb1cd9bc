#include <limits.h>
/* Integration tests: pub/sub (EVENTS issue, items 1, 2 and 5). Frame shapes are checked
 * byte for byte on raw sockets in RESP2 and RESP3 (the bytes were compared with Redis
 * 7.0's), hiredis drives its own subscribe flow, and a subscriber that never reads is
 * cut off at client-output-buffer-limit while other clients carry on. */
#include "integration/harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads and discards one reply (HELLO's), waiting for it at most 5 s. */
static void drain(int fd) {
    char tmp[8192];
    it_raw_read_reply(fd, tmp, sizeof(tmp), 5000);
}

/* Reads and discards until the peer closes (1) or timeout_ms pass (0). */
static int wait_eof(int fd, int timeout_ms) {
    static char tmp[1 << 16];
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0) continue;
        for (int i = 0; i < 64; i++) {
            ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
            if (n == 0) return 1;
            if (n < 0) break;
        }
    }
    return 0;
}

/* A raw connection whose receive buffer is small, so that the server's output backs up
 * quickly when we do not read. */
static int connect_small_rcvbuf(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)it_srv.port);
    inet_pton(AF_INET, it_srv.host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

TEST(resp2_subscribe_mode) {
    redisContext *pub = it_client();
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "SUBSCRIBE a b a\r\n",
               "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
               "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
               "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n");
    EXPECT_RAW(fd, "GET x\r\n",
               "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
               "RESET are allowed in this context\r\n");
    EXPECT_RAW(fd, "CLIENT LIST\r\n",
               "-ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING "
               "/ QUIT / RESET are allowed in this context\r\n");
    EXPECT_RAW(fd, "PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    EXPECT_RAW(fd, "PING hi\r\n", "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    EXPECT(pub, "1", "PUBLISH a hello");
    EXPECT(pub, "0", "PUBLISH nobody hello");
    EXPECT_RAW(fd, "", "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE a nope\r\n",
               "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
               "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnope\r\n:1\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    EXPECT_RAW(fd, "PUNSUBSCRIBE\r\n", "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    /* Out of subscribe mode: ordinary commands again. */
    EXPECT_RAW(fd, "GET nosuch-ps\r\n", "$-1\r\n");
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    /* Counts cover channels and patterns together. */
    EXPECT_RAW(fd, "PSUBSCRIBE p*\r\n", "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n");
    EXPECT_RAW(fd, "SUBSCRIBE c\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:2\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:1\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n");
    EXPECT_RAW(fd, "QUIT\r\n", "+OK\r\n");
    if (!it_raw_closed(fd, 2000)) TEST_FAIL("QUIT did not close the subscriber");
    close(fd);
    redisFree(pub);
}

TEST(resp3_push_frames) {
    redisContext *pub = it_client();
    int fd = it_raw_connect();
    it_raw_send(fd, "HELLO 3\r\n", 9);
    drain(fd);
    EXPECT_RAW(fd, "SUBSCRIBE r3\r\n", ">3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n");
    /* Ordinary commands keep working on a RESP3 subscriber. */
    EXPECT_RAW(fd, "GET nosuch-r3\r\n", "_\r\n");
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    EXPECT(pub, "1", "PUBLISH r3 m1");
    EXPECT_RAW(fd, "", ">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$2\r\nm1\r\n");
    /* Publishing to itself: PUBLISH's own reply comes first, then the push (Redis 7.2+). */
    EXPECT_RAW(fd, "PUBLISH r3 self\r\n",
               ":1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$4\r\nself\r\n");
    /* Inside MULTI the pushes follow the whole EXEC array (issue 21: they used to land
     * between its elements). */
    EXPECT_RAW(fd, "MULTI\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "PING abc\r\n", "+QUEUED\r\n");
    EXPECT_RAW(fd, "PUBLISH r3 bar\r\n", "+QUEUED\r\n");
    EXPECT_RAW(fd, "PUBLISH r3 vaz\r\n", "+QUEUED\r\n");
    EXPECT_RAW(fd, "EXEC\r\n",
               "*3\r\n$3\r\nabc\r\n:1\r\n:1\r\n"
               ">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$3\r\nbar\r\n"
               ">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$3\r\nvaz\r\n");
    EXPECT_RAW(fd, "PSUBSCRIBE r*\r\n", ">3\r\n$10\r\npsubscribe\r\n$2\r\nr*\r\n:2\r\n");
    EXPECT(pub, "2", "PUBLISH r3 m2");
    EXPECT_RAW(fd, "",
               ">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$2\r\nm2\r\n"
               ">4\r\n$8\r\npmessage\r\n$2\r\nr*\r\n$2\r\nr3\r\n$2\r\nm2\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE\r\n", ">3\r\n$11\r\nunsubscribe\r\n$2\r\nr3\r\n:1\r\n");
    EXPECT_RAW(fd, "UNSUBSCRIBE\r\n", ">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n");
    EXPECT_RAW(fd, "PUNSUBSCRIBE r* zz\r\n",
               ">3\r\n$12\r\npunsubscribe\r\n$2\r\nr*\r\n:0\r\n"
               ">3\r\n$12\r\npunsubscribe\r\n$2\r\nzz\r\n:0\r\n");
    EXPECT_RAW(fd, "SSUBSCRIBE s3\r\n", ">3\r\n$10\r\nssubscribe\r\n$2\r\ns3\r\n:1\r\n");
    EXPECT(pub, "1", "SPUBLISH s3 x");
    EXPECT_RAW(fd, "", ">3\r\n$8\r\nsmessage\r\n$2\r\ns3\r\n$1\r\nx\r\n");
    EXPECT_RAW(fd, "PUBSUB SHARDNUMSUB s3\r\n", "*2\r\n$2\r\ns3\r\n:1\r\n");
    EXPECT_RAW(fd, "RESET\r\n", "+RESET\r\n");
    EXPECT(pub, "0", "SPUBLISH s3 x");
    close(fd);
    redisFree(pub);
}

TEST(pattern_matching) {
    redisContext *pub = it_client();
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "PSUBSCRIBE h?llo\r\n", "*3\r\n$10\r\npsubscribe\r\n$5\r\nh?llo\r\n:1\r\n");
    EXPECT(pub, "1", "PUBLISH hello 1");
    EXPECT(pub, "1", "PUBLISH hallo 2");
    EXPECT(pub, "0", "PUBLISH heello 3");
    EXPECT(pub, "0", "PUBLISH hllo 4");
    EXPECT_RAW(fd, "",
               "*4\r\n$8\r\npmessage\r\n$5\r\nh?llo\r\n$5\r\nhello\r\n$1\r\n1\r\n"
               "*4\r\n$8\r\npmessage\r\n$5\r\nh?llo\r\n$5\r\nhallo\r\n$1\r\n2\r\n");
    EXPECT_RAW(fd, "PUNSUBSCRIBE h?llo\r\n", "*3\r\n$12\r\npunsubscribe\r\n$5\r\nh?llo\r\n:0\r\n");
    EXPECT_RAW(fd, "PSUBSCRIBE n[ae]ws.*\r\n",
               "*3\r\n$10\r\npsubscribe\r\n$9\r\nn[ae]ws.*\r\n:1\r\n");
    EXPECT(pub, "1", "PUBLISH news.it x");
    EXPECT(pub, "1", "PUBLISH naws. y");
    EXPECT(pub, "0", "PUBLISH nows.it z");
    EXPECT_RAW(fd, "",
               "*4\r\n$8\r\npmessage\r\n$9\r\nn[ae]ws.*\r\n$7\r\nnews.it\r\n$1\r\nx\r\n"
               "*4\r\n$8\r\npmessage\r\n$9\r\nn[ae]ws.*\r\n$5\r\nnaws.\r\n$1\r\ny\r\n");
    /* Two clients on the same pattern: one pattern, two deliveries. */
    int fd2 = it_raw_connect();
    EXPECT_RAW(fd2, "PSUBSCRIBE n[ae]ws.*\r\n",
               "*3\r\n$10\r\npsubscribe\r\n$9\r\nn[ae]ws.*\r\n:1\r\n");
    EXPECT(pub, "1", "PUBSUB NUMPAT");
    EXPECT(pub, "2", "PUBLISH news.x z");
    EXPECT_RAW(fd2, "", "*4\r\n$8\r\npmessage\r\n$9\r\nn[ae]ws.*\r\n$6\r\nnews.x\r\n$1\r\nz\r\n");
    /* Escapes: a literal '*'. */
    EXPECT_RAW(fd2, "PSUBSCRIBE lit\\*\r\n", "*3\r\n$10\r\npsubscribe\r\n$5\r\nlit\\*\r\n:2\r\n");
    EXPECT(pub, "2", "PUBSUB NUMPAT");
    EXPECT(pub, "0", "PUBLISH litx z");
    close(fd);
    close(fd2);
    WAIT_FOR(it_int(pub, "PUBSUB NUMPAT") == 0, 2000);
    redisFree(pub);
}

TEST(binary_safe_names_and_payloads) {
    redisContext *pub = it_client();
    int fd = it_raw_connect();
    /* Channel "a\0b\r\n" sent as a multibulk argument. */
    const char sub[] = "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\na\0b\r\n\r\n";
    const char conf[] = "*3\r\n$9\r\nsubscribe\r\n$5\r\na\0b\r\n\r\n:1\r\n";
    it_raw_send(fd, sub, sizeof(sub) - 1);
    char got[256];
    size_t n = it_raw_read(fd, got, sizeof(conf) - 1, 2000);
    ASSERT_MEM_EQ(conf, sizeof(conf) - 1, got, n);
    redisReply *r =
        redisCommand(pub, "PUBLISH %b %b", "a\0b\r\n", (size_t)5, "\x00\xff\r\n*1", (size_t)6);
    ASSERT(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    const char msg[] = "*3\r\n$7\r\nmessage\r\n$5\r\na\0b\r\n\r\n$6\r\n\x00\xff\r\n*1\r\n";
    n = it_raw_read(fd, got, sizeof(msg) - 1, 2000);
    ASSERT_MEM_EQ(msg, sizeof(msg) - 1, got, n);
    /* An empty payload and an empty channel name. */
    EXPECT_RAW(fd, "SUBSCRIBE \"\"\r\n", "*3\r\n$9\r\nsubscribe\r\n$0\r\n\r\n:2\r\n");
    EXPECT(pub, "1", "PUBLISH %s %s", "", "");
    EXPECT_RAW(fd, "", "*3\r\n$7\r\nmessage\r\n$0\r\n\r\n$0\r\n\r\n");
    close(fd);
    redisFree(pub);
}

TEST(pubsub_introspection) {
    redisContext *c = it_client();
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "SUBSCRIBE intro.1 intro.2\r\n",
               "*3\r\n$9\r\nsubscribe\r\n$7\r\nintro.1\r\n:1\r\n"
               "*3\r\n$9\r\nsubscribe\r\n$7\r\nintro.2\r\n:2\r\n");
    int fd2 = it_raw_connect();
    EXPECT_RAW(fd2, "SUBSCRIBE intro.1\r\n", "*3\r\n$9\r\nsubscribe\r\n$7\r\nintro.1\r\n:1\r\n");
    EXPECT_RAW(fd2, "SSUBSCRIBE intro.1\r\n", "*3\r\n$10\r\nssubscribe\r\n$7\r\nintro.1\r\n:1\r\n");
    EXPECT(c, "[\"intro.1\",2,\"intro.2\",1,\"none\",0]", "PUBSUB NUMSUB intro.1 intro.2 none");
    EXPECT(c, "[]", "PUBSUB NUMSUB");
    EXPECT(c, "[\"intro.2\"]", "PUBSUB CHANNELS intro.[2-9]");
    EXPECT(c, "[\"intro.1\"]", "PUBSUB SHARDCHANNELS");
    EXPECT(c, "[\"intro.1\",1]", "PUBSUB SHARDNUMSUB intro.1");
    EXPECT(c, "0", "PUBSUB NUMPAT");
    EXPECT(c, "2", "PUBLISH intro.1 x");
    EXPECT(c, "1", "SPUBLISH intro.1 x");
    EXPECT(c,
           "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB "
           "HELP.",
           "PUBSUB channels a b");
    EXPECT(c, "-ERR wrong number of arguments for 'pubsub|numpat' command", "PUBSUB NUMPAT x");
    EXPECT(c, "-ERR unknown subcommand 'nope'. Try PUBSUB HELP.", "PUBSUB nope");
    EXPECT(c, "-ERR wrong number of arguments for 'pubsub' command", "PUBSUB");
    EXPECT(c, "-ERR wrong number of arguments for 'publish' command", "PUBLISH x");
    EXPECT(c, "-ERR wrong number of arguments for 'subscribe' command", "SUBSCRIBE");
    EXPECT(c, "-ERR wrong number of arguments for 'psubscribe' command", "PSUBSCRIBE");
    redisReply *r = redisCommand(c, "PUBSUB HELP");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 14);
    ASSERT_STR_EQ("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                  r->element[0]->str);
    ASSERT_STR_EQ("    Print this help.", r->element[13]->str);
    freeReplyObject(r);
    /* INFO clients counts subscribers; CLIENT LIST shows their subscriptions. */
    ASSERT_EQ(2, it_info_field(c, "pubsub_clients"));
    const char *list = it_run(c, "CLIENT LIST TYPE pubsub");
    if (!strstr(list, "sub=2 psub=0 ssub=0") || !strstr(list, "sub=1 psub=0 ssub=1"))
        TEST_FAIL("CLIENT LIST TYPE pubsub: %s", list);
    if (!strstr(list, "flags=P")) TEST_FAIL("no P flag: %s", list);
    close(fd);
    close(fd2);
    WAIT_FOR(it_info_field(c, "pubsub_clients") == 0, 2000);
    EXPECT(c, "[\"intro.1\",0]", "PUBSUB NUMSUB intro.1");
    EXPECT(c, "[]", "PUBSUB SHARDCHANNELS");
    redisFree(c);
}

/* hiredis's own flow: SUBSCRIBE through redisCommand, then redisGetReply per message. */
TEST(hiredis_subscribe_flow) {
    redisContext *sub = it_client();
    redisContext *pub = it_client();
    redisSetTimeout(sub, (struct timeval){5, 0});
    char out[512];
    redisReply *r = redisCommand(sub, "SUBSCRIBE hr.a hr.b");
    ASSERT_STR_EQ("[\"subscribe\",\"hr.a\",1]", it_render(r, out, sizeof(out)));
    freeReplyObject(r);
    ASSERT(redisGetReply(sub, (void **)&r) == REDIS_OK);
    ASSERT_STR_EQ("[\"subscribe\",\"hr.b\",2]", it_render(r, out, sizeof(out)));
    freeReplyObject(r);
    for (int i = 0; i < 50; i++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "m%d", i);
        EXPECT(pub, "1", "PUBLISH %s %s", i % 2 ? "hr.b" : "hr.a", msg);
    }
    for (int i = 0; i < 50; i++) {
        char want[96];
        snprintf(want, sizeof(want), "[\"message\",\"%s\",\"m%d\"]", i % 2 ? "hr.b" : "hr.a", i);
        ASSERT(redisGetReply(sub, (void **)&r) == REDIS_OK);
        ASSERT_STR_EQ(want, it_render(r, out, sizeof(out)));
        freeReplyObject(r);
    }
    redisAppendCommand(sub, "UNSUBSCRIBE hr.a");
    ASSERT(redisGetReply(sub, (void **)&r) == REDIS_OK);
    ASSERT_STR_EQ("[\"unsubscribe\",\"hr.a\",1]", it_render(r, out, sizeof(out)));
    freeReplyObject(r);
    redisFree(sub);
    redisFree(pub);
}

TEST(reset_and_disconnect_unsubscribe) {
    redisContext *c = it_client();
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "SUBSCRIBE rs\r\n", "*3\r\n$9\r\nsubscribe\r\n$2\r\nrs\r\n:1\r\n");
    EXPECT_RAW(fd, "PSUBSCRIBE rs*\r\n", "*3\r\n$10\r\npsubscribe\r\n$3\r\nrs*\r\n:2\r\n");
    EXPECT_RAW(fd, "RESET\r\n", "+RESET\r\n");
    EXPECT(c, "[\"rs\",0]", "PUBSUB NUMSUB rs");
    EXPECT(c, "0", "PUBSUB NUMPAT");
    EXPECT(c, "0", "PUBLISH rs x");
    EXPECT_RAW(fd, "GET nosuch-rs\r\n", "$-1\r\n");
    /* Many subscribers, then they all go away. */
    int fds[40];
    for (int i = 0; i < 40; i++) {
        fds[i] = it_raw_connect();
        EXPECT_RAW(fds[i], "SUBSCRIBE many\r\n", "*3\r\n$9\r\nsubscribe\r\n$4\r\nmany\r\n:1\r\n");
    }
    EXPECT(c, "40", "PUBLISH many hi");
    for (int i = 0; i < 40; i++)
        EXPECT_RAW(fds[i], "", "*3\r\n$7\r\nmessage\r\n$4\r\nmany\r\n$2\r\nhi\r\n");
    for (int i = 0; i < 40; i += 2)
        close(fds[i]);
    WAIT_FOR(it_int(c, "PUBLISH many again") == 20, 2000);
    for (int i = 1; i < 40; i += 2)
        close(fds[i]);
    WAIT_FOR(it_int(c, "PUBLISH many again") == 0, 2000);
    close(fd);
    redisFree(c);
}

/* A subscriber that never reads is disconnected at the hard limit; the publisher and
 * others are unaffected. Bounded: at most 64 MB published, in 64 KB messages. */
TEST(slow_subscriber_hard_limit) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "pubsub 1mb 0 0");
    long long disc0 = it_info_field(c, "client_output_buffer_limit_disconnections");
    int fd = connect_small_rcvbuf();
    EXPECT_RAW(fd, "SUBSCRIBE flood\r\n", "*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n");
    redisContext *other = it_client();
    size_t len = 64 * 1024;
    char *payload = malloc(len);
    memset(payload, 'x', len);
    int sent = 0, gone = 0;
    while (sent < 1024 && !gone) {
        redisReply *r = redisCommand(c, "PUBLISH flood %b", payload, len);
        ASSERT(r && r->type == REDIS_REPLY_INTEGER);
        gone = r->integer == 0;
        freeReplyObject(r);
        sent++;
    }
    free(payload);
    if (!gone) TEST_FAIL("subscriber still attached after %d MB", sent / 16);
    ASSERT_EQ(disc0 + 1, it_info_field(c, "client_output_buffer_limit_disconnections"));
    EXPECT(c, "[\"flood\",0]", "PUBSUB NUMSUB flood");
    EXPECT(other, "+PONG", "PING");
    EXPECT(other, "+OK", "SET after-flood 1");
    if (!wait_eof(fd, 10000)) TEST_FAIL("the slow subscriber's socket was not closed");
    close(fd);
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "pubsub 32mb 8mb 60");
    redisFree(other);
    redisFree(c);
}

/* The soft limit: over it for longer than soft_seconds (checked when output is added). */
TEST(slow_subscriber_soft_limit) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "pubsub 0 512kb 1");
    int fd = connect_small_rcvbuf();
    EXPECT_RAW(fd, "SUBSCRIBE soft\r\n", "*3\r\n$9\r\nsubscribe\r\n$4\r\nsoft\r\n:1\r\n");
    size_t len = 64 * 1024;
    char *payload = malloc(len);
    memset(payload, 'y', len);
    /* Fill the socket buffers and go over the soft limit (at most 32 MB). */
    int i;
    for (i = 0; i < 512; i++) {
        redisReply *r = redisCommand(c, "PUBLISH soft %b", payload, len);
        freeReplyObject(r);
        const char *list = it_run(c, "CLIENT LIST TYPE pubsub");
        const char *om = strstr(list, "omem=");
        if (om && atoll(om + 5) >= 1024 * 1024) break;
    }
    if (i == 512) TEST_FAIL("output never went over the soft limit");
    /* Still attached within soft_seconds. */
    EXPECT(c, "1", "PUBLISH soft %s", "small");
    it_sleep_ms(1200);
    /* Closed as this one is added (it still counts as a receiver, as in Redis). */
    EXPECT(c, "1", "PUBLISH soft %s", "late");
    WAIT_FOR(it_int(c, "PUBLISH soft %s", "gone") == 0, 2000);
    free(payload);
    close(fd);
    EXPECT(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "pubsub 32mb 8mb 60");
    redisFree(c);
}

TEST(info_counts_subscriptions) {
    redisContext *c = it_client();
    long long disc0 = it_info_field(c, "client_output_buffer_limit_disconnections");
    int fd = it_raw_connect();
    char buf[512];
    it_raw_send_str(fd, "SUBSCRIBE info-a info-b\r\nPSUBSCRIBE info-*\r\n");
    ASSERT(it_raw_read_replies(fd, buf, sizeof(buf), 3, 5000) > 0);
    ASSERT_EQ(2, it_info_field(c, "pubsub_channels"));
    ASSERT_EQ(1, it_info_field(c, "pubsub_patterns"));
    close(fd);
    WAIT_FOR(it_info_field(c, "pubsub_channels") == 0, 2000);
    ASSERT_EQ(0, it_info_field(c, "pubsub_patterns"));
    ASSERT(disc0 != LLONG_MIN);
    redisFree(c);
}

/* Issue 21: (un)subscribe confirmations are pushes, sent even while CLIENT REPLY OFF or
 * SKIP drops replies (Redis's tests waited forever for them). */
TEST(reply_off_keeps_confirmations) {
    redisContext *pub = it_client();
    for (int proto = 2; proto <= 3; proto++) {
        int fd = it_raw_connect();
        if (proto == 3) {
            it_raw_send(fd, "HELLO 3\r\n", 9);
            drain(fd);
        }
        const char *arr = proto == 3 ? ">3" : "*3";
        char want[256];
        snprintf(want, sizeof(want), "%s\r\n$9\r\nsubscribe\r\n$3\r\nro1\r\n:1\r\n", arr);
        EXPECT_RAW(fd, "CLIENT REPLY OFF\r\nSUBSCRIBE ro1\r\n", want);
        snprintf(want, sizeof(want), "%s\r\n$10\r\npsubscribe\r\n$3\r\nro*\r\n:2\r\n", arr);
        EXPECT_RAW(fd, "PSUBSCRIBE ro*\r\n", want);
        EXPECT(pub, "2", "PUBLISH ro1 hi");
        snprintf(want, sizeof(want),
                 "%s\r\n$7\r\nmessage\r\n$3\r\nro1\r\n$2\r\nhi\r\n"
                 "%c4\r\n$8\r\npmessage\r\n$3\r\nro*\r\n$3\r\nro1\r\n$2\r\nhi\r\n",
                 arr, arr[0]);
        EXPECT_RAW(fd, "", want);
        snprintf(want, sizeof(want), "%s\r\n$11\r\nunsubscribe\r\n$3\r\nro1\r\n:1\r\n", arr);
        EXPECT_RAW(fd, "UNSUBSCRIBE ro1\r\n", want);
        if (proto == 3) {
            /* SKIP too: the confirmation goes out, the skipped command's own reply not. */
            EXPECT_RAW(fd, "CLIENT REPLY ON\r\n", "+OK\r\n");
            snprintf(want, sizeof(want),
                     ">3\r\n$12\r\npunsubscribe\r\n$3\r\nro*\r\n:0\r\n+PONG\r\n");
            EXPECT_RAW(fd, "CLIENT REPLY SKIP\r\nPUNSUBSCRIBE ro*\r\nPING\r\n", want);
        }
        close(fd);
    }
    redisFree(pub);
}

int main(void) {
    it_start(NULL);
    RUN(reply_off_keeps_confirmations);
    RUN(resp2_subscribe_mode);
    RUN(resp3_push_frames);
    RUN(pattern_matching);
    RUN(binary_safe_names_and_payloads);
    RUN(pubsub_introspection);
    RUN(hiredis_subscribe_flow);
    RUN(reset_and_disconnect_unsubscribe);
    RUN(slow_subscriber_hard_limit);
    RUN(slow_subscriber_soft_limit);
    RUN(info_counts_subscriptions);
    it_stop();
    return test_report();
}
