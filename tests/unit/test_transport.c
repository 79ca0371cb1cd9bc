/* Unit tests for net/transport.c: the plain TCP and Unix transports driven through their
 * table on a private libuv loop. A test listener accepts into a transport (as net/'s
 * listener does), a client transport connects to it, and the two exchange bytes with
 * try_write and write, stop and restart reading, half-close with shutdown, change owner,
 * and close. Every run is bounded by a watchdog timer. */
#include "mayfly/net/transport.h"
#include "mayfly/util/buf.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WATCHDOG_MS 5000

/* One end of a connection as its owner sees it. */
typedef struct end {
    transport *t;
    buf in;          /* everything read */
    int eof;         /* read reported UV_EOF */
    int read_error;  /* another read error */
    int writes_done; /* write_done events with status 0 */
    int write_error; /* the status of a failed write_done, 0 if none */
    int closed;      /* closed event seen */
    int reads;       /* read events with data */
} end;

static uv_loop_t loop;
static uv_timer_t watchdog;
static int timed_out;
static end server_end, client_end;
static union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
} lsock;
static const transport_type *kind;
static void (*on_both_ready)(void);

static void ev_alloc(transport *t, size_t suggested, uv_buf_t *b) {
    (void)suggested;
    end *e = t->data;
    char *p = buf_reserve(&e->in, 4096);
    *b = uv_buf_init(p, 4096);
}

static void ev_read(transport *t, ssize_t nread, const uv_buf_t *b) {
    (void)b;
    end *e = t->data;
    if (nread == UV_EOF)
        e->eof = 1;
    else if (nread < 0)
        e->read_error = 1;
    else if (nread > 0) {
        e->in.len += (size_t)nread;
        e->reads++;
    }
}

static void ev_write_done(transport *t, int status) {
    end *e = t->data;
    if (status == 0)
        e->writes_done++;
    else
        e->write_error = status;
}

static void ev_closed(transport *t) {
    end *e = t->data;
    e->closed = 1;
    e->t = NULL;
}

static const transport_events events = {ev_alloc, ev_read, ev_write_done, ev_closed};

static void on_watchdog(uv_timer_t *h) {
    (void)h;
    timed_out = 1;
    uv_stop(&loop);
}

static int both_ready_count;
static void one_ready(void) {
    if (++both_ready_count == 2 && on_both_ready) on_both_ready();
}

static void on_accept(uv_stream_t *server, int status) {
    if (status < 0) return;
    server_end.t = transport_new(&loop, kind, NULL);
    transport_set_owner(server_end.t, &events, &server_end);
    if (uv_accept(server, &server_end.t->h.stream) != 0) abort();
    transport_read_start(server_end.t);
    one_ready();
}

static void on_connect(uv_connect_t *req, int status) {
    (void)req;
    if (status < 0) {
        fprintf(stderr, "connect: %s\n", uv_strerror(status));
        uv_stop(&loop);
        return;
    }
    transport_read_start(client_end.t);
    one_ready();
}

static char sock_path[64];

/* Opens a listener of the current kind and connects a client transport to it. */
static void setup(void) {
    memset(&server_end, 0, sizeof(server_end));
    memset(&client_end, 0, sizeof(client_end));
    buf_init(&server_end.in);
    buf_init(&client_end.in);
    both_ready_count = 0;
    timed_out = 0;
    uv_loop_init(&loop);
    uv_timer_init(&loop, &watchdog);
    uv_timer_start(&watchdog, on_watchdog, WATCHDOG_MS, 0);
    client_end.t = transport_new(&loop, kind, NULL);
    transport_set_owner(client_end.t, &events, &client_end);
    static uv_connect_t creq;
    if (kind == &transport_unix) {
        snprintf(sock_path, sizeof(sock_path), "/tmp/mayfly-test-transport-%d.sock", (int)getpid());
        unlink(sock_path);
        uv_pipe_init(&loop, &lsock.pipe, 0);
        if (uv_pipe_bind(&lsock.pipe, sock_path) != 0) abort();
        uv_listen(&lsock.stream, 8, on_accept);
        uv_pipe_connect(&creq, &client_end.t->h.pipe, sock_path, on_connect);
    } else {
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", 0, &a);
        uv_tcp_init(&loop, &lsock.tcp);
        if (uv_tcp_bind(&lsock.tcp, (struct sockaddr *)&a, 0) != 0) abort();
        uv_listen(&lsock.stream, 8, on_accept);
        struct sockaddr_storage ss;
        int len = sizeof(ss);
        uv_tcp_getsockname(&lsock.tcp, (struct sockaddr *)&ss, &len);
        uv_tcp_connect(&creq, &client_end.t->h.tcp, (struct sockaddr *)&ss, on_connect);
    }
}

/* Runs the loop until check() holds (checked after every loop turn) or the watchdog. */
static int run_until(int (*check)(void)) {
    while (!check() && !timed_out) {
        if (uv_run(&loop, UV_RUN_ONCE) == 0) break;
    }
    return check();
}

static void teardown(void) {
    if (server_end.t) transport_close(server_end.t);
    if (client_end.t) transport_close(client_end.t);
    uv_close(&lsock.handle, NULL);
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    buf_deinit(&server_end.in);
    buf_deinit(&client_end.in);
    if (kind == &transport_unix) unlink(sock_path);
}

static int connected(void) {
    return both_ready_count == 2;
}
static size_t want_len;
static int server_has_want(void) {
    return server_end.in.len >= want_len;
}
static int client_has_want(void) {
    return client_end.in.len >= want_len;
}
static int server_eof(void) {
    return server_end.eof;
}
static int both_closed(void) {
    return server_end.closed && client_end.closed;
}
static int client_write_done(void) {
    return client_end.writes_done > 0;
}

/* try_write, then a queued write of a payload far larger than a socket buffer, both
 * arrive in order; write_done fires once. */
static void exchange(void) {
    setup();
    ASSERT(run_until(connected));
    ASSERT_STR_EQ(kind->name, kind == &transport_unix ? "unix" : "tcp");
    ASSERT_EQ(kind == &transport_unix, transport_is_unix(client_end.t));
    ASSERT(transport_fd(client_end.t) >= 0);

    int n = transport_try_write(client_end.t, "hello ", 6);
    ASSERT_EQ(6, n);
    size_t big = 8u << 20;
    char *payload = malloc(big);
    for (size_t i = 0; i < big; i++)
        payload[i] = (char)('a' + i % 26);
    ASSERT_EQ(0, transport_write(client_end.t, payload, big));
    ASSERT(client_end.t->writing);
    want_len = 6 + big;
    ASSERT(run_until(server_has_want));
    ASSERT(run_until(client_write_done));
    ASSERT_EQ(1, client_end.writes_done);
    ASSERT_MEM_EQ("hello ", 6, server_end.in.data, 6);
    ASSERT(memcmp(server_end.in.data + 6, payload, big) == 0);
    free(payload);

    /* The other way, and a reply while the server end's reading is stopped arrives once
     * it starts again. */
    transport_read_stop(server_end.t);
    ASSERT_EQ(0, server_end.t->reading);
    ASSERT_EQ(3, transport_try_write(server_end.t, "ack", 3));
    want_len = 3;
    ASSERT(run_until(client_has_want));
    ASSERT_MEM_EQ("ack", 3, client_end.in.data, 3);
    size_t before = server_end.in.len;
    ASSERT_EQ(4, transport_try_write(client_end.t, "more", 4));
    for (int i = 0; i < 20; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_EQ(before, server_end.in.len);
    transport_read_start(server_end.t);
    want_len = before + 4;
    ASSERT(run_until(server_has_want));

    /* shutdown: the server reads EOF; the client may still read. */
    ASSERT_EQ(0, transport_shutdown(client_end.t));
    ASSERT(run_until(server_eof));
    ASSERT_EQ(4, transport_try_write(server_end.t, "last", 4));
    want_len = 7;
    ASSERT(run_until(client_has_want));
    ASSERT_MEM_EQ("acklast", 7, client_end.in.data, 7);

    transport_close(server_end.t);
    transport_close(client_end.t);
    transport_close(client_end.t); /* idempotent */
    ASSERT(run_until(both_closed));
    ASSERT_EQ(0, server_end.read_error);
    ASSERT_EQ(0, timed_out);
    teardown();
}

TEST(tcp_exchange) {
    kind = &transport_tcp;
    exchange();
}

TEST(unix_exchange) {
    kind = &transport_unix;
    exchange();
}

/* Addresses: TCP reports both ends (the client's peer is the listener's port), Unix
 * reports UV_ENOTSUP. */
TEST(addresses) {
    kind = &transport_tcp;
    setup();
    ASSERT(run_until(connected));
    struct sockaddr_storage peer, local;
    ASSERT_EQ(0, transport_sockaddr(client_end.t, 1, &peer));
    ASSERT_EQ(0, transport_sockaddr(server_end.t, 0, &local));
    char a[64], b[64];
    transport_format_addr(&peer, a, sizeof(a));
    transport_format_addr(&local, b, sizeof(b));
    ASSERT_STR_EQ(a, b);
    ASSERT(strncmp(a, "127.0.0.1:", 10) == 0);
    transport_tune_tcp(server_end.t, 1, 300);
    teardown();

    kind = &transport_unix;
    setup();
    ASSERT(run_until(connected));
    ASSERT_EQ(UV_ENOTSUP, transport_sockaddr(client_end.t, 1, &peer));
    transport_tune_tcp(server_end.t, 1, 300); /* a no-op */
    struct sockaddr_storage unknown;
    memset(&unknown, 0, sizeof(unknown));
    transport_format_addr(&unknown, a, sizeof(a));
    ASSERT_STR_EQ("?:0", a);
    teardown();
}

/* A new owner set between events gets every later event, the old one none. */
static end other;
static int other_has_two(void) {
    return other.in.len >= 2;
}
TEST(owner_change) {
    kind = &transport_tcp;
    setup();
    ASSERT(run_until(connected));
    memset(&other, 0, sizeof(other));
    buf_init(&other.in);
    transport_read_stop(server_end.t);
    transport_set_owner(server_end.t, &events, &other);
    transport_read_start(server_end.t);
    ASSERT_EQ(2, transport_try_write(client_end.t, "hi", 2));
    ASSERT(run_until(other_has_two));
    ASSERT_EQ(0, server_end.in.len);
    transport *t = server_end.t;
    server_end.t = NULL;
    transport_close(t);
    while (!other.closed && !timed_out)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(1, other.closed);
    ASSERT_EQ(0, server_end.closed);
    buf_deinit(&other.in);
    teardown();
}

/* A write queued when the transport closes completes with UV_ECANCELED before closed;
 * the other end reads what had left, then the end of the stream. */
TEST(close_with_write_in_flight) {
    kind = &transport_tcp;
    setup();
    ASSERT(run_until(connected));
    transport_read_stop(server_end.t); /* nothing drains the client's writes */
    size_t big = 32u << 20;
    char *payload = calloc(1, big);
    ASSERT_EQ(0, transport_write(client_end.t, payload, big));
    uv_run(&loop, UV_RUN_NOWAIT);
    transport_close(client_end.t);
    while (!client_end.closed && !timed_out)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(0, client_end.writes_done);
    ASSERT_EQ(UV_ECANCELED, client_end.write_error);
    free(payload);
    transport_read_start(server_end.t);
    ASSERT(run_until(server_eof) || server_end.read_error);
    teardown();
}

int main(void) {
    RUN(tcp_exchange);
    RUN(unix_exchange);
    RUN(addresses);
    RUN(owner_change);
    RUN(close_with_write_in_flight);
    return test_report();
}
