/* latprobe: round-trip latencies of a server while something else loads it (bench/).
 *
 *     latprobe PORT OUTFILE [--spin idle|normal] [--every MS CMD [ARG...] --]...
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
 * conn 0 is the PING connection, 1.. the --every ones in order. With --spin a thread also
 * spins on the monotonic clock beside them (on the probe's CPUs; "idle": SCHED_IDLE, so it
 * runs only when nothing else of the machine wants that CPU and never delays the PING
 * connection) and records every gap between two of its clock reads longer than
 * SPIN_RECORD_US (<gap start> <gap length>): what the machine took from a thread that never
 * sleeps, in the same window as the round trips, so a PING maximum can be read against the
 * machine's own floor. A gap during which the thread was not switched out (its context
 * switch counts did not move) is conn -1: the virtual CPU itself stalled (the hypervisor,
 * interrupts), which no scheduling class escapes; a gap with a switch is conn -2: another
 * thread of the machine ran there instead (a SCHED_IDLE thread yields to every one).
 * A C program, not the
 * Python harness, so that the figures are the server's and the loopback's, not a Python
 * thread's: the benchmark's targets are a few milliseconds. Replies are parsed only far
 * enough to know where they end (any RESP2/RESP3 type, nested). */
#define _GNU_SOURCE
#include "benchnet.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_CONNS 8
#define MAX_ARGS 32
#define SPIN_RECORD_US 250 /* spin gaps recorded: longer than a quarter millisecond */

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

typedef struct sample_buf {
    sample *v;
    size_t n, cap;
} sample_buf;

static volatile sig_atomic_t stop;
static sample_buf samples;      /* the connections' round trips (main thread) */
static sample_buf spin_samples; /* the spinning thread's gaps (that thread only until joined) */
static atomic_int spin_stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
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
    c->sent_mono_us = benchnet_now_us(CLOCK_MONOTONIC);
    c->sent_wall_us = benchnet_now_us(CLOCK_REALTIME);
    benchnet_send_all(c->fd, buf, n);
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

static void push_sample(sample_buf *b, sample s) {
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->v = realloc(b->v, b->cap * sizeof(*b->v));
        if (!b->v) exit(2);
    }
    b->v[b->n++] = s;
}

static void record(conn *c, int idx) {
    int64_t rtt = benchnet_now_us(CLOCK_MONOTONIC) - c->sent_mono_us;
    push_sample(&samples, (sample){c->sent_wall_us, (int32_t)rtt, idx});
    c->sent_mono_us = 0;
}

/* The thread's context switches so far, voluntary and not. */
static long switches(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* The spinning thread: reads the monotonic clock back to back until told to stop and keeps
 * every gap over SPIN_RECORD_US (its start as wall time, its length), as conn -1 when the
 * thread was not switched out during it, -2 when it was. */
static void *spin_main(void *arg) {
    if (*(const int *)arg) { /* idle class: runs only on time no other thread wants */
        struct sched_param p = {0};
        pthread_setschedparam(pthread_self(), SCHED_IDLE, &p);
    }
    int64_t wall_off = benchnet_now_us(CLOCK_REALTIME) - benchnet_now_us(CLOCK_MONOTONIC);
    /* The switch count is read right after each clock read (a system call a turn: the
     * thread has nothing else to do). A switch inside a gap between two clock reads comes
     * either before the count read that follows the gap's first clock read or after it,
     * so the reads on either side of that one (the one before the gap's first clock read
     * and the one after its second) always differ: a gap is "switched" when they do.
     * (This also blames a gap for a switch just before it; it never misses one.) */
    int64_t last = benchnet_now_us(CLOCK_MONOTONIC);
    long sw_prev = switches(), sw_last = sw_prev;
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
        int64_t t = benchnet_now_us(CLOCK_MONOTONIC);
        long sw = switches();
        if (t - last > SPIN_RECORD_US)
            push_sample(&spin_samples,
                        (sample){last + wall_off, (int32_t)(t - last), sw != sw_prev ? -2 : -1});
        last = t;
        sw_prev = sw_last;
        sw_last = sw;
    }
    /* The gap in which the stop came: a thread starved until then (a SCHED_IDLE spinner on
     * a busy CPU) last read the clock before it, and its loop ends without that gap. */
    int64_t t = benchnet_now_us(CLOCK_MONOTONIC);
    if (t - last > SPIN_RECORD_US)
        push_sample(&spin_samples, (sample){last + wall_off, (int32_t)(t - last),
                                            switches() != sw_prev ? -2 : -1});
    return NULL;
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
    size_t len = benchnet_frame_len(c->in, c->in_len);
    if (len == 0) return;
    if (c->argc > 0) note_cursor(c, c->in, len);
    record(c, idx);
    memmove(c->in, c->in + len, c->in_len - len);
    c->in_len -= len;
}

/* Parses "[--spin idle|normal] [--every MS CMD [ARG...] --]..." from argv[3..] into conns[1..]
 * (connecting each) and *spin (0 none, 1 idle, 2 normal); returns the number of
 * connections, or -1 on a bad argument. */
static int parse_args(int argc, char **argv, int port, conn *conns, int *spin) {
    int n = 1;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--spin") == 0 && i + 1 < argc) {
            const char *cls = argv[++i];
            *spin = strcmp(cls, "idle") == 0 ? 1 : strcmp(cls, "normal") == 0 ? 2 : -1;
            if (*spin < 0) return -1;
            continue;
        }
        if (strcmp(argv[i], "--every") != 0 || i + 2 >= argc || n == MAX_CONNS) {
            fprintf(stderr, "latprobe: bad argument %s\n", argv[i]);
            return -1;
        }
        conn *c = &conns[n++];
        c->every_ms = atoi(argv[++i]);
        strcpy(c->cursor, "0");
        while (++i < argc && strcmp(argv[i], "--") != 0 && c->argc < MAX_ARGS)
            c->argv[c->argc++] = argv[i];
        c->fd = benchnet_connect(port);
    }
    return n;
}

/* Sends each connection's next command when it is due and reads replies, until a signal
 * or the end of standard input. */
static int run(conn *conns, int n) {
    struct pollfd pfd[MAX_CONNS + 1];
    while (!stop) {
        int64_t t = benchnet_now_us(CLOCK_MONOTONIC);
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
    return 0;
}

static int write_samples(const char *out) {
    FILE *f = fopen(out, "w");
    if (!f) {
        perror("latprobe: open");
        return 2;
    }
    const sample_buf *bufs[] = {&samples, &spin_samples};
    for (int b = 0; b < 2; b++)
        for (size_t i = 0; i < bufs[b]->n; i++) {
            const sample *s = &bufs[b]->v[i];
            fprintf(f, "%d %lld %d\n", s->conn, (long long)s->t_us, s->rtt_us);
        }
    return fclose(f) == 0 ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: latprobe PORT OUTFILE [--spin idle|normal] "
                        "[--every MS CMD [ARG...] --]...\n");
        return 2;
    }
    benchnet_tool = "latprobe";
    int port = atoi(argv[1]);
    conn conns[MAX_CONNS];
    memset(conns, 0, sizeof(conns));
    conns[0].fd = benchnet_connect(port);
    static char ping[] = "PING";
    conns[0].argc = 1;
    conns[0].argv[0] = ping;
    int spin = 0;
    int n = parse_args(argc, argv, port, conns, &spin);
    if (n < 0) return 2;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    pthread_t spinner;
    int spin_idle = spin == 1;
    if (spin && pthread_create(&spinner, NULL, spin_main, &spin_idle) != 0) {
        fprintf(stderr, "latprobe: cannot start the spinning thread\n");
        return 2;
    }
    int rc = run(conns, n);
    if (spin) {
        atomic_store(&spin_stop, 1);
        pthread_join(spinner, NULL);
    }
    if (rc == 0) rc = write_samples(argv[2]);
    for (int i = 0; i < n; i++) {
        close(conns[i].fd);
        free(conns[i].in);
    }
    free(samples.v);
    free(spin_samples.v);
    return rc;
}
