/* loadgen: a pipelined load generator cheap enough to saturate one server core from one
 * client core (bench/bench.py's throughput rows; bench/README.md section 1).
 *
 *     mayfly-loadgen -p PORT [-c CLIENTS] [-P DEPTH] [-n REQUESTS] [-t SECONDS]
 *                    [-r KEYSPACE] [-s SEED] [-R RATE] CMD [ARG ...]
 *
 * Like redis-benchmark: CLIENTS connections each send DEPTH requests, wait for their DEPTH
 * replies and send the next batch, until REQUESTS requests were sent (or SECONDS passed);
 * every "__rand_int__" in the arguments becomes a 12-digit zero-padded random number below
 * KEYSPACE, drawn afresh for each request (without -r it stays as written). With -R, at
 * most RATE requests a second: after the first batches, a connection whose batch is done
 * waits until the requests sent so far fit RATE x the time since the start (so a server
 * can be measured at a given throughput, not only flat out). Where
 * redis-benchmark spends ~1 us of client CPU per request (a hiredis reply object per
 * reply, a latency histogram, per-request bookkeeping), this one encodes the command once
 * and rewrites only the digits, and counts replies by scanning their RESP headers in place
 * (no allocation; bulk bodies are skipped, aggregates counted as their elements), so a
 * -P 16 run costs the client a fraction of what it costs the server. One line at the end:
 *
 *     requests=<replies> seconds=<first send .. last reply> ops_per_sec=<rate> errors=<n>
 *
 * An error reply is counted (the first one is printed on stderr as "first error: ...");
 * the exit status is 0 when every request got its reply, 1 when some replies were errors,
 * 2 on a failure (connection lost, replies missing 10 s after the last send). */
#define _GNU_SOURCE
#include "benchnet.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define MAX_ARGS 64
#define IN_CAP (1 << 16)
#define RAND_TOKEN "__rand_int__"
#define RAND_LEN 12

typedef struct lconn {
    int fd;
    char *out;          /* DEPTH copies of the encoded command */
    size_t out_len;     /* bytes of one batch of `batch` requests */
    char in[IN_CAP];    /* unparsed reply bytes */
    size_t in_len, pos; /* bytes held; scanned up to pos (an element starts there) */
    long long need;     /* elements still missing to complete the current reply */
    int batch;          /* requests of the batch in flight */
    int waiting;        /* replies of it not yet complete */
} lconn;

static lconn *conns;
static char *tmpl;        /* the command encoded once */
static size_t tmpl_len;   /* its length */
static size_t rand_at[8]; /* offsets of "__rand_int__" in tmpl */
static int nrand;
static long long keyspace;
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static long long errors;
static int first_error_shown;

static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void encode_template(int argc, char **argv) {
    size_t cap = 32;
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 32;
    tmpl = malloc(cap);
    size_t n = (size_t)sprintf(tmpl, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t al = strlen(argv[i]);
        n += (size_t)sprintf(tmpl + n, "$%zu\r\n", al);
        const char *p = argv[i];
        while ((p = strstr(p, RAND_TOKEN)) != NULL && keyspace > 0) {
            if (nrand == (int)(sizeof(rand_at) / sizeof(rand_at[0]))) break;
            rand_at[nrand++] = n + (size_t)(p - argv[i]);
            p += RAND_LEN;
        }
        memcpy(tmpl + n, argv[i], al);
        n += al;
        memcpy(tmpl + n, "\r\n", 2);
        n += 2;
    }
    tmpl_len = n;
}

/* The random parts of the first k requests of c's batch buffer drawn afresh. */
static void randomize(lconn *c, int k) {
    for (int r = 0; r < k; r++) {
        char *q = c->out + (size_t)r * tmpl_len;
        for (int j = 0; j < nrand; j++) {
            uint64_t v = next_rand() % (uint64_t)keyspace;
            char *d = q + rand_at[j] + RAND_LEN;
            for (int i = 0; i < RAND_LEN; i++) {
                *--d = (char)('0' + v % 10);
                v /= 10;
            }
        }
    }
}

static void send_batch(lconn *c, int k) {
    if (nrand > 0) randomize(c, k);
    c->batch = c->waiting = k;
    benchnet_send_all(c->fd, c->out, (size_t)k * tmpl_len);
}

/* The integer after a header's type byte up to '\r' (p .. line end), no checks beyond
 * digits: the server is trusted to speak RESP. */
static long long header_int(const char *p, const char *end) {
    long long v = 0;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return neg ? -v : v;
}

static void note_error(const char *p, const char *eol) {
    errors++;
    if (!first_error_shown) {
        first_error_shown = 1;
        fprintf(stderr, "first error: %.*s\n", (int)(eol - p - 1), p + 1);
    }
}

/* Scans c's buffered bytes from c->pos; returns the number of replies completed. An
 * element cut by the end of the buffer is left for the next read. */
static int scan_replies(lconn *c) {
    int done = 0;
    char *buf = c->in;
    size_t n = c->in_len;
    while (c->pos < n) {
        char *p = buf + c->pos;
        char *lf = memchr(p, '\n', n - c->pos);
        if (!lf) break;
        size_t next = (size_t)(lf - buf) + 1;
        long long v;
        if (c->need == 0) c->need = 1; /* a reply starts here */
        switch (*p) {
        case '$':
        case '=':
        case '!':
            v = header_int(p + 1, lf);
            if (v >= 0) {
                if (n < next + (size_t)v + 2) return done;
                next += (size_t)v + 2;
            }
            break;
        case '*':
        case '~':
        case '>':
            v = header_int(p + 1, lf);
            if (v > 0) c->need += v;
            break;
        case '%':
        case '|':
            v = header_int(p + 1, lf);
            if (v > 0) c->need += 2 * v;
            break;
        case '-':
            if (c->need == 1) note_error(p, lf);
            break;
        default:
            break;
        }
        c->pos = next;
        if (--c->need == 0) done++;
    }
    return done;
}

/* Reads what c has, counts its complete replies; keeps a cut element's bytes. */
static int read_replies(lconn *c) {
    if (c->pos > 0 && c->pos == c->in_len) {
        c->pos = c->in_len = 0;
    } else if (c->in_len == IN_CAP) {
        memmove(c->in, c->in + c->pos, c->in_len - c->pos);
        c->in_len -= c->pos;
        c->pos = 0;
        if (c->in_len == IN_CAP) {
            fprintf(stderr, "loadgen: reply element larger than %d bytes\n", IN_CAP);
            exit(2);
        }
    }
    ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (r <= 0) {
        fprintf(stderr, "loadgen: connection closed by the server\n");
        exit(2);
    }
    c->in_len += (size_t)r;
    return scan_replies(c);
}

static void usage(void) {
    fprintf(stderr, "usage: mayfly-loadgen -p PORT [-c CLIENTS] [-P DEPTH] [-n REQUESTS] "
                    "[-t SECONDS] [-r KEYSPACE] [-s SEED] [-R RATE] CMD [ARG ...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int port = 0, clients = 50, depth = 1, opt;
    long long requests = 100000;
    double seconds = 60, rate = 0;
    benchnet_tool = "loadgen";
    while ((opt = getopt(argc, argv, "+p:c:P:n:t:r:s:R:")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'c':
            clients = atoi(optarg);
            break;
        case 'P':
            depth = atoi(optarg);
            break;
        case 'n':
            requests = atoll(optarg);
            break;
        case 't':
            seconds = atof(optarg);
            break;
        case 'r':
            keyspace = atoll(optarg);
            break;
        case 's':
            rng = strtoull(optarg, NULL, 10) | 1;
            break;
        case 'R':
            rate = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (port <= 0 || clients < 1 || clients > MAX_CLIENTS || depth < 1 || requests < 1 ||
        optind >= argc || argc - optind > MAX_ARGS || seconds <= 0 || rate < 0)
        usage();
    encode_template(argc - optind, argv + optind);
    conns = calloc((size_t)clients, sizeof(*conns));
    int ep = epoll_create1(0);
    for (int i = 0; i < clients; i++) {
        lconn *c = &conns[i];
        c->fd = benchnet_connect(port);
        c->out = malloc((size_t)depth * tmpl_len);
        for (int r = 0; r < depth; r++)
            memcpy(c->out + (size_t)r * tmpl_len, tmpl, tmpl_len);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            perror("loadgen: epoll_ctl");
            return 2;
        }
    }
    long long sent = 0, replies = 0;
    int64_t start = benchnet_now_us(CLOCK_MONOTONIC), last = start;
    int64_t stop_sending = start + (int64_t)(seconds * 1e6);
    for (int i = 0; i < clients && sent < requests; i++) {
        int k = requests - sent < depth ? (int)(requests - sent) : depth;
        send_batch(&conns[i], k);
        sent += k;
    }
    struct epoll_event evs[MAX_CLIENTS];
    /* -R: connections whose batch is done wait here (first in, first out) for the rate. */
    lconn **held = calloc((size_t)clients, sizeof(*held));
    int held_n = 0, held_at = 0;
    long long burst = (long long)clients * depth; /* the first batches go at once */
    for (;;) {
        int64_t now = benchnet_now_us(CLOCK_MONOTONIC);
        int sending = now < stop_sending && sent < requests;
        if (replies >= sent && !(sending && held_n > 0)) break;
        int n = epoll_wait(ep, evs, MAX_CLIENTS, held_n > 0 && sending ? 1 : 100);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return 2;
        }
        now = benchnet_now_us(CLOCK_MONOTONIC);
        if (n <= 0 && replies < sent && now > stop_sending + 10000000) {
            fprintf(stderr, "loadgen: %lld replies missing 10 s after the deadline\n",
                    sent - replies);
            return 2;
        }
        sending = now < stop_sending;
        long long allowed =
            rate > 0 ? burst + (long long)(rate * (double)(now - start) / 1e6) : requests;
        for (int i = 0; i < n; i++) {
            lconn *c = evs[i].data.ptr;
            int got = read_replies(c);
            replies += got;
            c->waiting -= got;
            if (got > 0) last = now;
            if (c->waiting > 0 || !sending || sent >= requests) continue;
            int k = requests - sent < depth ? (int)(requests - sent) : depth;
            if (sent + k > allowed) {
                held[(held_at + held_n++) % clients] = c;
                continue;
            }
            send_batch(c, k);
            sent += k;
        }
        while (held_n > 0 && sending && sent < requests) {
            int k = requests - sent < depth ? (int)(requests - sent) : depth;
            if (sent + k > allowed) break;
            send_batch(held[held_at], k);
            held_at = (held_at + 1) % clients;
            held_n--;
            sent += k;
        }
    }
    free(held);
    double took = (double)(last - start) / 1e6;
    printf("requests=%lld seconds=%.6f ops_per_sec=%.0f errors=%lld\n", replies, took,
           took > 0 ? (double)replies / took : 0.0, errors);
    for (int i = 0; i < clients; i++)
        close(conns[i].fd);
    return errors > 0 ? 1 : 0;
}
