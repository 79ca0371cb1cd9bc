/* Integration tests: connection limits and lifecycle: maxclients, idle timeout, the Unix
 * socket, the IPv6 loopback listener, graceful shutdown (SIGTERM, SIGINT, SHUTDOWN), the
 * query-buffer limit, and backpressure against a client that never reads. Every loop is
 * bounded in count and time. */
#include "integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(maxclients) {
    it_server s;
    const char *args[] = {"--maxclients", "3", NULL};
    it_start_server(&s, args);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = it_raw_connect_to(&s);
        EXPECT_RAW(fds[i], "PING\r\n", "+PONG\r\n");
    }
    int extra = it_raw_connect_to(&s);
    char buf[128];
    size_t n = it_raw_read_all(extra, buf, sizeof(buf), 1000);
    const char *want = "-ERR max number of clients reached\r\n";
    ASSERT_MEM_EQ(want, strlen(want), buf, n);
    ASSERT(it_raw_closed(extra, 2000));
    close(extra);
    close(fds[0]);
    /* A freed slot is usable again (the close is noticed asynchronously). */
    int again = -1;
    for (int i = 0; i < 50 && again < 0; i++) {
        it_sleep_ms(20);
        int fd = it_raw_connect_to(&s);
        it_raw_send(fd, "PING\r\n", 6);
        n = it_raw_read_all(fd, buf, sizeof(buf), 300);
        if (n == 7 && memcmp(buf, "+PONG\r\n", 7) == 0)
            again = fd;
        else
            close(fd);
    }
    ASSERT(again >= 0);
    close(again);
    redisContext *c = NULL;
    close(fds[1]);
    /* A slot frees once the server has seen a close: a client in it answers PING (bounded
     * by count and time; a fixed 50 ms assumed a quiet machine). */
    for (int i = 0; i < 100; i++) {
        c = it_client_to(&s);
        redisReply *r = redisCommand(c, "PING");
        int pong = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r) freeReplyObject(r);
        if (pong) break;
        redisFree(c);
        c = NULL;
        it_sleep_ms(20);
    }
    ASSERT(c != NULL);
    ASSERT(it_info_field(c, "rejected_connections") >= 1);
    redisFree(c);
    close(fds[2]);
    it_stop_server(&s);
}

TEST(idle_timeout) {
    it_server s;
    const char *args[] = {"--timeout", "1", NULL};
    it_start_server(&s, args);
    int fd = it_raw_connect_to(&s);
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    long long start = now_ms();
    ASSERT(it_raw_closed(fd, 5000));
    long long took = now_ms() - start;
    ASSERT(took >= 900);
    close(fd);
    it_stop_server(&s);
}

TEST(unix_socket) {
    it_server s;
    char path[300];
    snprintf(path, sizeof(path), "%s/mayfly.sock", it_srv.dir);
    const char *args[] = {"--unixsocket", path, "--unixsocketperm", "700", NULL};
    it_start_server(&s, args);
    struct stat st;
    ASSERT(stat(path, &st) == 0);
    ASSERT_EQ(0700, st.st_mode & 0777);
    int fd = it_raw_connect_unix(path);
    ASSERT(fd >= 0);
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    char buf[2048];
    it_raw_send(fd, "CLIENT INFO\r\n", 13);
    size_t n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    buf[n] = '\0';
    char want[400];
    snprintf(want, sizeof(want), "addr=%s:0 ", path);
    ASSERT(strstr(buf, want) != NULL);
    close(fd);
    it_stop_server(&s);
    ASSERT(stat(path, &st) != 0); /* removed at shutdown */
}

TEST(ipv6_loopback) {
    int probe = it_raw_connect6(1);
    if (probe >= 0) close(probe);
    it_server s;
    const char *args[] = {"--bind", "127.0.0.1 -::1", NULL};
    it_start_server(&s, args);
    int fd = it_raw_connect6(s.port);
    if (fd < 0) {
        fprintf(stderr, "no IPv6 loopback here (%s): skipped\n", strerror(errno));
        it_stop_server(&s);
        return;
    }
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    close(fd);
    it_stop_server(&s);
}

/* Sends a pipeline that keeps the server busy, signals it, and checks every reply arrives
 * before the close and the exit status is 0. The signal (or SHUTDOWN's connection) goes
 * once the server sleeps in the pipeline's DEBUG SLEEP: a fixed 100 ms assumed it had read
 * the pipeline by then, which a loaded machine does not promise. */
static void graceful(int sig, const char *how) {
    it_server s;
    it_start_server(&s, NULL);
    int fd = it_raw_connect_to(&s);
    it_raw_send(fd, "DEBUG SLEEP 0.3\r\nPING\r\nECHO done\r\n", 34);
    if (!it_wait_server_sleeping(&s, 5000)) {
        it_stop_server(&s);
        TEST_FAIL("the server never slept in DEBUG SLEEP (%s)", how);
    }
    if (sig) {
        kill(s.pid, sig);
    } else {
        int fd2 = it_raw_connect_to(&s);
        it_raw_send(fd2, how, strlen(how));
        it_sleep_ms(10);
        close(fd2);
    }
    char buf[256];
    size_t n = it_raw_read_all(fd, buf, sizeof(buf), 3000);
    const char *want = "+OK\r\n+PONG\r\n$4\r\ndone\r\n";
    if (n != strlen(want) || memcmp(buf, want, n) != 0) {
        it_stop_server(&s);
        TEST_FAIL("replies not flushed before shutdown (%s): got %zu bytes", how, n);
    }
    ASSERT_EQ(0, it_wait_exit(&s, 5000));
    close(fd);
    it_stop_server(&s);
}

TEST(sigterm_sigint_shutdown) {
    graceful(SIGTERM, "SIGTERM");
    if (test_failed_now) return;
    graceful(SIGINT, "SIGINT");
    if (test_failed_now) return;
    graceful(0, "SHUTDOWN NOSAVE\r\n");
}

TEST(query_buffer_limit) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET client-query-buffer-limit 1mb");
    long long before = it_info_field(c, "client_query_buffer_limit_disconnections");
    int fd = it_raw_connect();
    const char *head = "*2\r\n$4\r\nECHO\r\n$3000000\r\n";
    it_raw_send(fd, head, strlen(head));
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof(chunk));
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    size_t sent = 0;
    long long deadline = now_ms() + 5000;
    while (sent < 2500000 && now_ms() < deadline) {
        /* MSG_NOSIGNAL: the server closing mid-write is the expected outcome here, and a
         * plain write() would then kill the test with SIGPIPE. */
        ssize_t k = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
        if (k > 0)
            sent += (size_t)k;
        else if (k < 0 && errno != EAGAIN)
            break; /* closed by the server */
        else
            it_sleep_ms(1);
    }
    fcntl(fd, F_SETFL, flags);
    ASSERT(it_raw_closed(fd, 3000));
    close(fd);
    ASSERT_EQ(before + 1, it_info_field(c, "client_query_buffer_limit_disconnections"));
    EXPECT(c, "+OK", "CONFIG SET client-query-buffer-limit 1gb");
    redisFree(c);
}

/* Sends SET k <n bytes> whole on a fresh connection; returns 1 if the server replied +OK,
 * 0 if it closed the connection instead. */
static int set_of_size(size_t n) {
    int fd = it_raw_connect();
    char head[64];
    snprintf(head, sizeof(head), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", n);
    char *msg = malloc(strlen(head) + n + 2);
    size_t len = strlen(head);
    memcpy(msg, head, len);
    memset(msg + len, 'v', n);
    memcpy(msg + len + n, "\r\n", 2);
    len += n + 2;
    size_t sent = 0;
    while (sent < len) {
        ssize_t k = send(fd, msg + sent, len - sent, MSG_NOSIGNAL);
        if (k <= 0) break;
        sent += (size_t)k;
    }
    free(msg);
    char got[16] = {0};
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t k = recv(fd, got, sizeof(got) - 1, 0);
    close(fd);
    return k == 5 && memcmp(got, "+OK\r\n", 5) == 0;
}

/* Issue 21: the limit counts a large argument with its trailing CRLF, as Redis's query
 * buffer holds it: a 1,048,576-byte value under a 1,048,576-byte limit closes the client
 * (Mayfly used to accept it); two bytes fewer is accepted. */
TEST(query_buffer_limit_counts_the_crlf) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET client-query-buffer-limit 1048576");
    long long before = it_info_field(c, "client_query_buffer_limit_disconnections");
    ASSERT(!set_of_size(1048576));
    ASSERT_EQ(before + 1, it_info_field(c, "client_query_buffer_limit_disconnections"));
    ASSERT(set_of_size(1048574));
    EXPECT(c, "1048574", "STRLEN k");
    EXPECT(c, "+OK", "CONFIG SET client-query-buffer-limit 1gb");
    redisFree(c);
}

TEST(backpressure_bounds_memory) {
    redisContext *c = it_client();
    long long base_rss = it_info_field(c, "used_memory_rss");
    int fd = it_raw_connect();
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    static char pings[60000]; /* 10000 inline PINGs */
    for (size_t i = 0; i + 6 <= sizeof(pings); i += 6)
        memcpy(pings + i, "PING\r\n", 6);
    /* Try to push 200 MB without reading; stop after 10 s. */
    size_t sent = 0;
    long long deadline = now_ms() + 10000;
    int stalls = 0;
    while (sent < 200u * 1024 * 1024 && now_ms() < deadline && stalls < 300) {
        /* resumes a cut PING; MSG_NOSIGNAL: a close must fail the test, not kill it */
        ssize_t k = send(fd, pings + sent % 6, sizeof(pings) - 6, MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
            stalls = 0;
        } else {
            stalls++;
            it_sleep_ms(5);
        }
    }
    long long used = it_info_field(c, "used_memory");
    long long rss = it_info_field(c, "used_memory_rss");
    fprintf(stderr,
            "backpressure: client pushed %zu MB; server used_memory %lld MB, rss +%lld MB\n",
            sent >> 20, used >> 20, (rss - base_rss) >> 20);
    ASSERT(used < 128LL * 1024 * 1024);
    ASSERT(rss - base_rss < 192LL * 1024 * 1024);
    /* The server is still serving others, and the slow client gets every reply once it
     * reads (bounded by count and time). */
    EXPECT(c, "+PONG", "PING");
    size_t want = (sent / 6) * 7, got = 0;
    static char buf[1 << 16];
    deadline = now_ms() + 60000;
    while (got < want && now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) break;
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    ASSERT_EQ((long long)want, (long long)got);
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(maxclients);
    RUN(idle_timeout);
    RUN(unix_socket);
    RUN(ipv6_loopback);
    RUN(sigterm_sigint_shutdown);
    RUN(query_buffer_limit);
    RUN(query_buffer_limit_counts_the_crlf);
    RUN(backpressure_bounds_memory);
    it_stop();
    return test_report();
}
