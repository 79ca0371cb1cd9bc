/* trackload: read/write load from many connections, with or without client-side caching's
 * tracking on (bench/tracking_bench.py).
 *
 *     trackload PORT SECONDS CLIENTS KEYS WRITE_PERMILLE TRACK
 *
 * Opens CLIENTS connections in RESP3 (HELLO 3); with TRACK 1 each also sends
 * CLIENT TRACKING on, so every key it reads is remembered and every change of such a key
 * by any connection sends it an invalidation push. Then each connection sends one command
 * at a time: SET k:<n> v for WRITE_PERMILLE of them, GET k:<n> for the others, n random
 * in [0, KEYS). Pushes are read and counted apart; replies are counted as operations.
 * After SECONDS it prints one line:
 *
 *     ops=<replies> ops_per_sec=<rate> pushes=<invalidations received>
 *
 * A C program so that the client side costs little next to the server (one poll loop). */
#define _GNU_SOURCE
#include "benchnet.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CLIENTS 512
#define BUF_CAP (1 << 16)

typedef struct conn {
    int fd;
    char in[BUF_CAP];
    size_t len;
    int waiting; /* replies still expected (setup: several) */
} conn;

static conn conns[MAX_CLIENTS];
static long long ops, pushes;
static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void) {
    return (double)benchnet_now_us(CLOCK_MONOTONIC) / 1e6;
}

static void send_next(conn *c, int keys, int write_permille) {
    char cmd[128];
    unsigned long k = (unsigned long)(next_rand() % (uint64_t)keys);
    char key[32];
    int kl = snprintf(key, sizeof(key), "k:%lu", k);
    int n;
    if ((int)(next_rand() % 1000) < write_permille)
        n = snprintf(cmd, sizeof(cmd), "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n", kl, key);
    else
        n = snprintf(cmd, sizeof(cmd), "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kl, key);
    benchnet_send_all(c->fd, cmd, (size_t)n);
    c->waiting = 1;
}

/* Consumes the complete frames of c; returns how many replies (not pushes) it saw. */
static int consume(conn *c) {
    int replies = 0;
    size_t off = 0;
    for (;;) {
        size_t len = benchnet_frame_len(c->in + off, c->len - off);
        if (len == 0) break;
        if (c->in[off] == '>')
            pushes++;
        else
            replies++;
        off += len;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
    return replies;
}

static int read_some(conn *c) {
    if (c->len == BUF_CAP) {
        fprintf(stderr, "trackload: frame larger than the buffer\n");
        exit(2);
    }
    ssize_t r = read(c->fd, c->in + c->len, BUF_CAP - c->len);
    if (r <= 0) {
        fprintf(stderr, "trackload: connection closed\n");
        exit(2);
    }
    c->len += (size_t)r;
    return consume(c);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: trackload PORT SECONDS CLIENTS KEYS WRITE_PERMILLE TRACK\n");
        return 2;
    }
    int port = atoi(argv[1]), clients = atoi(argv[3]), keys = atoi(argv[4]);
    int write_permille = atoi(argv[5]), track = atoi(argv[6]);
    double seconds = atof(argv[2]);
    if (clients < 1 || clients > MAX_CLIENTS || keys < 1 || seconds <= 0) return 2;
    benchnet_tool = "trackload";
    struct pollfd pfd[MAX_CLIENTS];
    for (int i = 0; i < clients; i++) {
        conn *c = &conns[i];
        c->fd = benchnet_connect(port);
        const char *setup = track ? "HELLO 3\r\nCLIENT TRACKING on\r\n" : "HELLO 3\r\n";
        benchnet_send_all(c->fd, setup, strlen(setup));
        c->waiting = track ? 2 : 1;
        while (c->waiting > 0)
            c->waiting -= read_some(c);
        pfd[i] = (struct pollfd){.fd = c->fd, .events = POLLIN};
    }
    pushes = 0;
    for (int i = 0; i < clients; i++)
        send_next(&conns[i], keys, write_permille);
    double start = now_s(), end = start + seconds;
    while (now_s() < end) {
        int n = poll(pfd, (nfds_t)clients, 100);
        if (n < 0 && errno != EINTR) {
            perror("trackload: poll");
            return 2;
        }
        for (int i = 0; i < clients && n > 0; i++) {
            if (!(pfd[i].revents & POLLIN)) continue;
            int got = read_some(&conns[i]);
            if (got > 0) {
                ops += got;
                send_next(&conns[i], keys, write_permille);
            }
        }
    }
    double took = now_s() - start;
    printf("ops=%lld ops_per_sec=%.0f pushes=%lld\n", ops, (double)ops / took, pushes);
    for (int i = 0; i < clients; i++)
        close(conns[i].fd);
    return 0;
}
