/* latprobe: round-trip latencies of a server while something else loads it (bench/).
 *
 *     latprobe PORT OUTFILE [--every MS CMD [ARG...] --]...
 *
 * One connection sends PING back to back and records each round trip; each --every adds a
 * connection that sends CMD every MS milliseconds (a client polling HLEN, another reading
 * a slice with HSCAN) and records its round trips too. The argument "$CURSOR" is replaced
 * by the cursor of the previous reply (an HSCAN or SCAN walking on). It runs until SIGTERM
 * or SIGINT, or until its standard input closes, then writes one line per sample to
 * OUTFILE:
 *
 *     <conn> <send time, Unix microseconds> <round trip, microseconds>
 *
 * conn 0 is the PING connection, 1.. the --every ones in order. A C program, not the
 * Python harness, so that the figures are the server's and the loopback's, not a Python
 * thread's: the benchmark's targets are a few milliseconds. Replies are parsed only far
 * enough to know where they end (any RESP2/RESP3 type, nested). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 8
#define MAX_ARGS 32

typedef struct sample {
    int64_t t_us;
    int32_t rtt_us;
    int32_t conn;
} sample;

typedef struct conn {
    int fd;
    int every_ms; /* 0: back to back (the PING connection) */
    int argc;
    char *argv[MAX_ARGS];
    char cursor[64];
    int64_t sent_mono_us, sent_wall_us; /* 0: nothing in flight */
    int64_t next_mono_us;
    char *in;
    size_t in_len, in_cap;
} conn;

static volatile sig_atomic_t stop;
static sample *samples;
static size_t nsamples, cap_samples;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t now_us(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("latprobe: connect");
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            perror("latprobe: write");
            exit(2);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_command(conn *c) {
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", c->argc);
    for (int i = 0; i < c->argc; i++) {
        const char *a = strcmp(c->argv[i], "$CURSOR") == 0 ? c->cursor : c->argv[i];
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "$%zu\r\n%s\r\n", strlen(a), a);
        if (n >= sizeof(buf)) {
            fprintf(stderr, "latprobe: command too long\n");
            exit(2);
        }
    }
    c->sent_mono_us = now_us(CLOCK_MONOTONIC);
    c->sent_wall_us = now_us(CLOCK_REALTIME);
    send_all(c->fd, buf, n);
}

/* Length of the complete reply at p[0..n), or 0 if incomplete. */
static size_t reply_len(const char *p, size_t n) {
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
    case '%': {
        long long items = p[0] == '%' ? 2 * v : v;
        size_t off = line;
        for (long long i = 0; i < items; i++) {
            size_t len = reply_len(p + off, n - off);
            if (len == 0) return 0;
            off += len;
        }
        return off;
    }
    default:
        return line;
    }
}

/* The cursor of an HSCAN/SCAN reply ("*2\r\n$N\r\n<cursor>\r\n..."), kept for $CURSOR. */
static void note_cursor(conn *c, const char *p, size_t n) {
    if (n < 4 || p[0] != '*') return;
    const char *bulk = memchr(p, '\n', n);
    if (!bulk || bulk[1] != '$') return;
    const char *s = memchr(bulk + 1, '\n', n - (size_t)(bulk + 1 - p));
    if (!s) return;
    s++;
    size_t len = strcspn(s, "\r");
    if (len >= sizeof(c->cursor)) return;
    memcpy(c->cursor, s, len);
    c->cursor[len] = '\0';
}

static void record(conn *c, int idx) {
    int64_t rtt = now_us(CLOCK_MONOTONIC) - c->sent_mono_us;
    if (nsamples == cap_samples) {
        cap_samples = cap_samples ? cap_samples * 2 : 1 << 16;
        samples = realloc(samples, cap_samples * sizeof(*samples));
        if (!samples) exit(2);
    }
    samples[nsamples++] = (sample){c->sent_wall_us, (int32_t)rtt, idx};
    c->sent_mono_us = 0;
}

/* Reads what has arrived on c; records a sample when a whole reply is in. */
static void on_readable(conn *c, int idx) {
    if (c->in_cap - c->in_len < 65536) {
        c->in_cap = c->in_cap * 2 + 65536;
        c->in = realloc(c->in, c->in_cap);
        if (!c->in) exit(2);
    }
    ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (r <= 0) {
        if (r < 0 && errno == EINTR) return;
        fprintf(stderr, "latprobe: connection %d closed\n", idx);
        stop = 1;
        return;
    }
    c->in_len += (size_t)r;
    size_t len = reply_len(c->in, c->in_len);
    if (len == 0) return;
    if (c->argc > 0) note_cursor(c, c->in, len);
    record(c, idx);
    memmove(c->in, c->in + len, c->in_len - len);
    c->in_len -= len;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: latprobe PORT OUTFILE [--every MS CMD [ARG...] --]...\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *out = argv[2];
    conn conns[MAX_CONNS];
    memset(conns, 0, sizeof(conns));
    int n = 1;
    conns[0].fd = connect_to(port);
    static char *ping[] = {"PING"};
    conns[0].argc = 1;
    conns[0].argv[0] = ping[0];
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--every") != 0 || i + 2 >= argc || n == MAX_CONNS) {
            fprintf(stderr, "latprobe: bad argument %s\n", argv[i]);
            return 2;
        }
        conn *c = &conns[n++];
        c->every_ms = atoi(argv[++i]);
        strcpy(c->cursor, "0");
        while (++i < argc && strcmp(argv[i], "--") != 0 && c->argc < MAX_ARGS)
            c->argv[c->argc++] = argv[i];
        c->fd = connect_to(port);
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    struct pollfd pfd[MAX_CONNS + 1];
    while (!stop) {
        int64_t t = now_us(CLOCK_MONOTONIC);
        int timeout_ms = 100;
        for (int i = 0; i < n; i++) {
            conn *c = &conns[i];
            if (c->sent_mono_us == 0 && t >= c->next_mono_us) {
                send_command(c);
                c->next_mono_us = c->every_ms ? t + (int64_t)c->every_ms * 1000 : 0;
            }
            if (c->sent_mono_us == 0) {
                int wait = (int)((c->next_mono_us - t) / 1000);
                if (wait < timeout_ms) timeout_ms = wait < 0 ? 0 : wait;
            }
            pfd[i] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        }
        pfd[n] = (struct pollfd){.fd = 0, .events = POLLIN};
        if (poll(pfd, (nfds_t)n + 1, timeout_ms) < 0) {
            if (errno == EINTR) continue;
            perror("latprobe: poll");
            return 2;
        }
        for (int i = 0; i < n; i++)
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) on_readable(&conns[i], i);
        if (pfd[n].revents & (POLLIN | POLLHUP)) {
            char tmp[256];
            if (read(0, tmp, sizeof(tmp)) <= 0) stop = 1;
        }
    }
    FILE *f = fopen(out, "w");
    if (!f) {
        perror("latprobe: open");
        return 2;
    }
    for (size_t i = 0; i < nsamples; i++)
        fprintf(f, "%d %lld %d\n", samples[i].conn, (long long)samples[i].t_us, samples[i].rtt_us);
    fclose(f);
    for (int i = 0; i < n; i++) {
        close(conns[i].fd);
        free(conns[i].in);
    }
    free(samples);
    return 0;
}
