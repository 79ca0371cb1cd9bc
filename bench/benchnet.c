/* benchnet: the loopback client plumbing of bench/'s C tools (see benchnet.h). Blocking
 * sockets, no library: each tool runs its own poll loop around these. */
#define _GNU_SOURCE
#include "benchnet.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *benchnet_tool = "bench";

int benchnet_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "%s: connect: %s\n", benchnet_tool, strerror(errno));
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

void benchnet_send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "%s: write: %s\n", benchnet_tool, strerror(errno));
            exit(2);
        }
        p += w;
        n -= (size_t)w;
    }
}

size_t benchnet_frame_len(const char *p, size_t n) {
    const char *eol = memchr(p, '\n', n);
    if (!eol) return 0;
    size_t line = (size_t)(eol - p) + 1;
    long long v = atoll(p + 1);
    switch (p[0]) {
    case '$':
    case '=':
    case '!':
        if (v < 0) return line;
        return n >= line + (size_t)v + 2 ? line + (size_t)v + 2 : 0;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        long long items = (p[0] == '%' || p[0] == '|') ? 2 * v : v;
        size_t off = line;
        for (long long i = 0; i < items; i++) {
            size_t len = benchnet_frame_len(p + off, n - off);
            if (len == 0) return 0;
            off += len;
        }
        return off;
    }
    default:
        return line;
    }
}

int64_t benchnet_now_us(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
