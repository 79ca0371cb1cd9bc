/* Unit tests for net/peer.c (outbound connections) and conn_handover, in one process: the
 * server's own listener, connections and commands run on a private loop, and peers
 * connect to it over loopback TCP as a replica or a MIGRATE would. Every wait is bounded
 * by a deadline on the loop. */
#include "mayfly/client/session.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/net/conn.h"
#include "mayfly/net/net.h"
#include "mayfly/net/peer.h"
#include "mayfly/resp/resp.h"
#include "mayfly/server.h"
#include "mayfly/util/buf.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define WAIT_MS 5000

/* What the owner of a peer saw. */
typedef struct owner {
    peer *pe;
    int connected;
    int closed;
    int status; /* closed's */
    int drained;
    int readable;
    buf got; /* every byte read (consumed from the peer at once) */
    int close_in_readable;
    const char *greeting; /* written on connected */
} owner;

static uv_loop_t loop;
static int server_port;

static void o_connected(peer *pe) {
    owner *o = peer_data(pe);
    o->connected++;
    if (o->greeting) peer_write(pe, o->greeting, strlen(o->greeting));
}
static void o_readable(peer *pe) {
    owner *o = peer_data(pe);
    buf *in = peer_input(pe);
    o->readable++;
    buf_append(&o->got, in->data, in->len);
    peer_consume(pe, in->len);
    if (o->close_in_readable) {
        peer_close(pe);
        o->pe = NULL;
    }
}
static void o_drained(peer *pe) {
    owner *o = peer_data(pe);
    o->drained++;
}
static void o_closed(peer *pe, int status) {
    owner *o = peer_data(pe);
    o->closed++;
    o->status = status;
    o->pe = NULL;
}
static const peer_events events = {o_connected, o_readable, o_drained, o_closed};

static void owner_init(owner *o) {
    memset(o, 0, sizeof(*o));
    buf_init(&o->got);
}
static void owner_deinit(owner *o) {
    if (o->pe) peer_close(o->pe);
    o->pe = NULL;
    buf_deinit(&o->got);
}

/* ---- running the loop ---- */

static uv_timer_t deadline;
static int expired;
static void on_deadline(uv_timer_t *h) {
    (void)h;
    expired = 1;
}

/* Runs loop turns until *flag is nonzero or ms pass. Returns *flag. */
static int wait_flag(const int *flag, uint64_t ms) {
    expired = 0;
    uv_timer_start(&deadline, on_deadline, ms, 0);
    while (!*flag && !expired)
        uv_run(&loop, UV_RUN_ONCE);
    uv_timer_stop(&deadline);
    return *flag;
}

/* Runs loop turns until o has received at least n bytes or WAIT_MS pass. */
static int wait_bytes(owner *o, size_t n) {
    expired = 0;
    uv_timer_start(&deadline, on_deadline, WAIT_MS, 0);
    while (o->got.len < n && !expired && !o->closed)
        uv_run(&loop, UV_RUN_ONCE);
    uv_timer_stop(&deadline);
    return o->got.len >= n;
}

/* Runs the loop for ms (to show that something does not happen). */
static void run_for(uint64_t ms) {
    int never = 0;
    wait_flag(&never, ms);
}

static int got_is(const owner *o, const char *s) {
    return o->got.len == strlen(s) && memcmp(o->got.data, s, o->got.len) == 0;
}

/* A loopback port nobody listens on (bound, read, closed). */
static int free_port(void) {
    uv_tcp_t t;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&loop, &t);
    uv_tcp_bind(&t, (struct sockaddr *)&a, 0);
    struct sockaddr_in got;
    int len = sizeof(got);
    uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return ntohs(got.sin_port);
}

static int connect_to_server(owner *o, const char *host, const peer_options *opt) {
    return peer_connect(host, server_port, opt, &events, o, &o->pe);
}

/* ---- tests ---- */

TEST(ping_pong_and_queued_before_connected) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    ASSERT(peer_transport(o.pe) == NULL);
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%d", server_port);
    ASSERT_STR_EQ(want, peer_addr(o.pe));     /* known once an address is being tried */
    peer_write(o.pe, "PING\r\nPING\r\n", 12); /* queued before the connection exists */
    ASSERT_EQ(12, peer_pending_out(o.pe));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    ASSERT(wait_bytes(&o, 14));
    ASSERT(got_is(&o, "+PONG\r\n+PONG\r\n"));
    ASSERT_EQ(0, peer_pending_out(o.pe));
    ASSERT(o.drained >= 1);
    ASSERT_STR_EQ(want, peer_addr(o.pe));
    ASSERT(peer_transport(o.pe) != NULL);
    ASSERT(transport_fd(peer_transport(o.pe)) >= 0);
    ASSERT_EQ(1, (long long)session_count());
    /* peer_close: the server sees the end; the owner hears nothing more. */
    peer_close(o.pe);
    o.pe = NULL;
    run_for(50);
    ASSERT_EQ(0, o.closed);
    ASSERT_EQ(0, (long long)session_count());
    owner_deinit(&o);
}

TEST(large_payload_through_the_queue) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    size_t big = 6u << 20;
    char *v = malloc(big);
    memset(v, 'v', big);
    buf *out = peer_out(o.pe);
    resp_w_array(out, 3);
    resp_w_bulk(out, "SET", 3);
    resp_w_bulk(out, "big", 3);
    resp_w_bulk(out, v, big);
    peer_flush(o.pe);
    free(v);
    ASSERT(wait_bytes(&o, 5));
    ASSERT(got_is(&o, "+OK\r\n"));
    ASSERT(o.drained >= 1);
    buf_clear(&o.got);
    peer_write(o.pe, "STRLEN big\r\n", 12);
    ASSERT(wait_bytes(&o, 10));
    ASSERT(got_is(&o, ":6291456\r\n"));
    peer_write(o.pe, "DEL big\r\n", 9);
    ASSERT(wait_bytes(&o, 14));
    owner_deinit(&o);
}

/* peer_send: straight to the socket while nothing is queued, queued behind what is; the
 * bytes arrive in call order either way (a 6 MB value is usually more than the socket takes
 * at once, so that a piece is written in part and the rest queues). */
TEST(send_direct_then_queued_in_order) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    peer_send(o.pe, "PING\r\n", 6); /* before the connection exists: queued */
    ASSERT_EQ(6, peer_pending_out(o.pe));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    ASSERT(wait_bytes(&o, 7));
    ASSERT(got_is(&o, "+PONG\r\n"));
    buf_clear(&o.got);
    peer_send(o.pe, "PING\r\n", 6); /* nothing queued: written at once */
    ASSERT_EQ(0, peer_pending_out(o.pe));
    ASSERT(wait_bytes(&o, 7));
    buf_clear(&o.got);
    /* Something queued: peer_send queues behind it. */
    peer_write(o.pe, "PING\r\n", 6);
    peer_send(o.pe, "ECHO x\r\n", 8);
    ASSERT_EQ(14, peer_pending_out(o.pe));
    ASSERT(wait_bytes(&o, 14));
    ASSERT(got_is(&o, "+PONG\r\n$1\r\nx\r\n"));
    buf_clear(&o.got);
    size_t big = 6u << 20, third = big / 3;
    char *v = malloc(big);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)('a' + i % 26);
    const char head[] = "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$6291456\r\n";
    peer_send(o.pe, head, sizeof(head) - 1);
    peer_send(o.pe, v, third);
    peer_send(o.pe, v + third, big - third);
    peer_send(o.pe, "\r\n", 2);
    free(v);
    peer_write(o.pe, "GETRANGE big 2097150 2097154\r\n", 31);
    ASSERT(wait_bytes(&o, 16));
    ASSERT(got_is(&o, "+OK\r\n$5\r\nqrstu\r\n"));
    ASSERT_EQ(0, peer_pending_out(o.pe));
    buf_clear(&o.got);
    peer_write(o.pe, "DEL big\r\n", 9);
    ASSERT(wait_bytes(&o, 4));
    owner_deinit(&o);
    run_for(50); /* the server sees the end before the next test counts sessions */
}

TEST(refused_and_invalid) {
    owner o;
    owner_init(&o);
    peer *pe = NULL;
    ASSERT_EQ(UV_EINVAL, peer_connect("127.0.0.1", 0, NULL, &events, &o, &pe));
    ASSERT_EQ(UV_EINVAL, peer_connect("127.0.0.1", 65536, NULL, &events, &o, &pe));
    ASSERT_EQ(UV_EINVAL, peer_connect("", 6379, NULL, &events, &o, &pe));
    ASSERT(pe == NULL);
    int port = free_port();
    ASSERT_EQ(0, peer_connect("127.0.0.1", port, NULL, &events, &o, &o.pe));
    ASSERT_EQ(0, o.closed); /* never inside the call */
    ASSERT(wait_flag(&o.closed, WAIT_MS));
    ASSERT_EQ(UV_ECONNREFUSED, o.status);
    ASSERT_EQ(0, o.connected);
    run_for(20);
    ASSERT_EQ(1, o.closed);
    owner_deinit(&o);
}

/* A name goes through uv_getaddrinfo; "localhost" may give ::1 first, which the server
 * also listens on when the host has IPv6 (else the next address is tried). */
TEST(name_resolution) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "localhost", NULL));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    peer_write(o.pe, "PING\r\n", 6);
    ASSERT(wait_bytes(&o, 7));
    ASSERT(got_is(&o, "+PONG\r\n"));
    owner_deinit(&o);
    /* Closed while resolving: no event, nothing leaks (the lookup finishes on its own). */
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "localhost", NULL));
    peer_close(o.pe);
    o.pe = NULL;
    run_for(50);
    ASSERT_EQ(0, o.connected + o.closed);
    owner_deinit(&o);
}

/* Fake transport types with a handshake over plain TCP: one never finishes (the connect
 * timeout must end it), one finishes from a timer (connected must wait for it). */
static transport_type stalling, slow;
static int handshakes, handshake_side = -1;
static transport_ready_cb slow_done;
static transport *slow_t;
static uv_timer_t slow_timer;

static int stall_handshake(transport *t, int server_side, transport_ready_cb done) {
    (void)t;
    (void)done;
    handshakes++;
    handshake_side = server_side;
    return 0;
}
static void on_slow_timer(uv_timer_t *h) {
    (void)h;
    slow_done(slow_t, 0);
}
static int slow_handshake(transport *t, int server_side, transport_ready_cb done) {
    handshakes++;
    handshake_side = server_side;
    slow_done = done;
    slow_t = t;
    uv_timer_start(&slow_timer, on_slow_timer, 30, 0);
    return 0;
}

TEST(handshake_hook_and_connect_timeout) {
    stalling = transport_tcp;
    stalling.name = "stall";
    stalling.handshake = stall_handshake;
    slow = transport_tcp;
    slow.name = "slow";
    slow.handshake = slow_handshake;
    uv_timer_init(&loop, &slow_timer);

    owner o;
    owner_init(&o);
    peer_options opt = {&stalling, 100};
    handshakes = 0;
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", &opt));
    ASSERT(wait_flag(&o.closed, WAIT_MS));
    ASSERT_EQ(UV_ETIMEDOUT, o.status);
    ASSERT_EQ(1, handshakes);
    ASSERT_EQ(0, handshake_side);
    ASSERT_EQ(0, o.connected);
    owner_deinit(&o);

    owner_init(&o);
    peer_options opt2 = {&slow, 2000};
    handshakes = 0;
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", &opt2));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    ASSERT_EQ(1, handshakes);
    run_for(2100); /* the connect timeout no longer applies */
    ASSERT_EQ(0, o.closed);
    peer_write(o.pe, "PING\r\n", 6);
    ASSERT(wait_bytes(&o, 7));
    owner_deinit(&o);
    uv_close((uv_handle_t *)&slow_timer, NULL);
}

/* The margins are wide (a 500 ms limit, 150 ms gaps) so that a loaded machine running the
 * sanitizers cannot make a reply look late. */
TEST(read_timeout_and_pause) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    /* Paused, the silence does not count; resumed, it does. */
    peer_pause(o.pe);
    peer_set_read_timeout(o.pe, 500);
    run_for(700);
    ASSERT_EQ(0, o.closed);
    /* Input that arrives while paused waits in the socket. */
    peer_write(o.pe, "PING\r\n", 6);
    run_for(50);
    ASSERT_EQ(0, o.readable);
    peer_resume(o.pe);
    ASSERT(wait_bytes(&o, 7));
    /* Each read restarts the count: replies 150 ms apart keep the link open well past the
     * limit. */
    for (int i = 0; i < 5; i++) {
        run_for(150);
        ASSERT(o.pe != NULL);
        peer_write(o.pe, "PING\r\n", 6);
        ASSERT(wait_bytes(&o, 7 * (size_t)(i + 2)));
    }
    ASSERT_EQ(0, o.closed);
    ASSERT(wait_flag(&o.closed, WAIT_MS));
    ASSERT_EQ(UV_ETIMEDOUT, o.status);
    owner_deinit(&o);
}

TEST(server_closes_and_close_in_readable) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    peer_write(o.pe, "QUIT\r\n", 6);
    ASSERT(wait_flag(&o.closed, WAIT_MS));
    ASSERT_EQ(UV_EOF, o.status);
    ASSERT(got_is(&o, "+OK\r\n"));
    owner_deinit(&o);

    owner_init(&o);
    o.close_in_readable = 1;
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    peer_write(o.pe, "PING\r\n", 6);
    ASSERT(wait_flag(&o.readable, WAIT_MS));
    run_for(50);
    ASSERT_EQ(0, o.closed);
    owner_deinit(&o);
}

/* The only network session (the tests keep one client at a time). */
static session *only_session(void) {
    return session_count() == 1 ? session_first() : NULL;
}

/* A client whose unparsed input ends in a partial command is handed over: its pending
 * reply goes out first, then the new owner's greeting; the partial command and what
 * follows reach the new owner as bytes and are never executed. */
TEST(handover_carries_unparsed_input) {
    owner cli, srv;
    owner_init(&cli);
    owner_init(&srv);
    srv.greeting = "+HANDED\r\n";
    ASSERT_EQ(0, connect_to_server(&cli, "127.0.0.1", NULL));
    peer_write(cli.pe, "PING\r\n*2\r\n$4\r\nECHO", 18);
    ASSERT(wait_bytes(&cli, 7));
    session *s = only_session();
    ASSERT(s != NULL);
    session *internal = session_new(NULL, NULL);
    ASSERT(conn_handover(internal, &events, &srv) == NULL);
    session_free(internal);
    srv.pe = conn_handover(s, &events, &srv);
    ASSERT(srv.pe != NULL);
    ASSERT(conn_handover(s, &events, &srv) == NULL); /* once */
    peer_write(cli.pe, "\r\n$2\r\nhi\r\n", 10);
    ASSERT(wait_flag(&srv.connected, WAIT_MS));
    ASSERT_EQ(0, (long long)session_count());
    const char *rest = "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
    ASSERT(wait_bytes(&srv, strlen(rest)));
    ASSERT(got_is(&srv, rest));
    ASSERT(wait_bytes(&cli, 16));
    run_for(30);
    ASSERT(got_is(&cli, "+PONG\r\n+HANDED\r\n"));
    ASSERT(strncmp(peer_addr(srv.pe), "127.0.0.1:", 10) == 0);
    /* The client leaves: the new owner hears EOF. */
    peer_close(cli.pe);
    cli.pe = NULL;
    ASSERT(wait_flag(&srv.closed, WAIT_MS));
    ASSERT_EQ(UV_EOF, srv.status);
    owner_deinit(&cli);
    owner_deinit(&srv);
}

/* A handover waits for the client's replies to be written; a client that stops reading
 * and then disconnects ends it before it completes: closed, never connected. */
TEST(handover_fails_when_client_goes_first) {
    owner cli, srv;
    owner_init(&cli);
    owner_init(&srv);
    ASSERT_EQ(0, connect_to_server(&cli, "127.0.0.1", NULL));
    ASSERT(wait_flag(&cli.connected, WAIT_MS));
    size_t big = 4u << 20;
    char *v = malloc(big);
    memset(v, 'x', big);
    buf *out = peer_out(cli.pe);
    resp_w_array(out, 3);
    resp_w_bulk(out, "SET", 3);
    resp_w_bulk(out, "k", 1);
    resp_w_bulk(out, v, big);
    free(v);
    peer_flush(cli.pe);
    ASSERT(wait_bytes(&cli, 5));
    /* Small socket buffers at both ends: with the kernel's autotuning they grow to several
     * MB on loopback, enough to take in the replies made before the handover, which then
     * completed when the test ran slowly (seen under parallel load). */
    session *s0 = only_session();
    ASSERT(s0 != NULL);
    int small = 64 * 1024;
    ASSERT_EQ(0, setsockopt(transport_fd(peer_transport(cli.pe)), SOL_SOCKET, SO_RCVBUF, &small,
                            sizeof(small)));
    ASSERT_EQ(0, setsockopt(s0->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
    peer_pause(cli.pe);
    for (int i = 0; i < 8; i++)
        peer_write(cli.pe, "GET k\r\n", 7);
    /* 32 MB of replies: far more than the socket buffers take. The server makes them a
     * turn at a time (1 MB per turn), so wait until a write is stuck in flight. */
    session *s = NULL;
    for (int waited = 0; waited < 10000; waited += 20) {
        run_for(20);
        s = only_session();
        if (s && s->out_inflight > 0) break;
    }
    ASSERT(s != NULL);
    ASSERT(s->out_inflight > 0);
    ASSERT(session_pending(s) > 0);
    srv.pe = conn_handover(s, &events, &srv);
    ASSERT(srv.pe != NULL);
    run_for(50);
    ASSERT_EQ(0, srv.connected);
    peer_close(cli.pe); /* unread input makes this a reset */
    cli.pe = NULL;
    ASSERT(wait_flag(&srv.closed, WAIT_MS));
    ASSERT(srv.status < 0);
    ASSERT_EQ(0, srv.connected);
    ASSERT_EQ(0, (long long)session_count());
    owner_deinit(&cli);
    owner_deinit(&srv);
}

/* A handover asked from a command handler, as PSYNC will: the command's reply goes out,
 * the rest of the pipeline read with it is not executed but reaches the new owner. The
 * test registers its own command family for this (XHANDOVER). */
static owner *xh_owner;
static void cmd_xhandover(cmd_ctx *c) {
    xh_owner->pe = conn_handover(c->s, &events, xh_owner);
    reply_simple(c, xh_owner->pe ? "FULLRESYNC" : "REFUSED");
}
static const cmd_spec test_family[] = {
    {"xhandover", cmd_xhandover, 1, CMD_ADMIN, 0, 0, 0, "server", "0.0.0", "O(1)",
     "Hands the connection over (unit test aid).", "", NULL, "@admin"},
    {0},
};

TEST(handover_from_a_command) {
    owner cli, srv;
    owner_init(&cli);
    owner_init(&srv);
    xh_owner = &srv;
    srv.greeting = "$3\r\nrdb";
    ASSERT_EQ(0, connect_to_server(&cli, "127.0.0.1", NULL));
    const char *pipeline = "PING\r\nXHANDOVER\r\nPING\r\nREPLCONF ACK 0\r\n";
    peer_write(cli.pe, pipeline, strlen(pipeline));
    ASSERT(wait_flag(&srv.connected, WAIT_MS));
    const char *rest = "PING\r\nREPLCONF ACK 0\r\n";
    ASSERT(wait_bytes(&srv, strlen(rest)));
    ASSERT(got_is(&srv, rest));
    const char *seen = "+PONG\r\n+FULLRESYNC\r\n$3\r\nrdb";
    ASSERT(wait_bytes(&cli, strlen(seen)));
    run_for(30);
    ASSERT(got_is(&cli, seen)); /* the second PING never ran */
    ASSERT_EQ(0, (long long)session_count());
    peer_close(srv.pe); /* the new owner ends it: the client hears EOF */
    srv.pe = NULL;
    ASSERT(wait_flag(&cli.closed, WAIT_MS));
    ASSERT_EQ(UV_EOF, cli.status);
    ASSERT_EQ(0, srv.closed);
    owner_deinit(&cli);
    owner_deinit(&srv);
}

/* Shutdown closes every peer with UV_ECANCELED (last: the server is gone after it). */
TEST(shutdown_closes_peers) {
    owner o;
    owner_init(&o);
    ASSERT_EQ(0, connect_to_server(&o, "127.0.0.1", NULL));
    ASSERT(wait_flag(&o.connected, WAIT_MS));
    net_close_listeners();
    net_close_all();
    ASSERT_EQ(1, o.closed);
    ASSERT_EQ(UV_ECANCELED, o.status);
    owner_deinit(&o);
}

int main(void) {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &deadline);
    server_init();
    db_init_all(16);
    if (cmd_family_add(test_family) != 0) {
        fprintf(stderr, "cannot register the test family\n");
        return 1;
    }
    net_init(&loop);
    server_port = free_port();
    config.port = server_port;
    if (net_listen() < 0) {
        fprintf(stderr, "cannot listen on %d\n", server_port);
        return 1;
    }
    RUN(ping_pong_and_queued_before_connected);
    RUN(large_payload_through_the_queue);
    RUN(send_direct_then_queued_in_order);
    RUN(refused_and_invalid);
    RUN(name_resolution);
    RUN(handshake_hook_and_connect_timeout);
    RUN(read_timeout_and_pause);
    RUN(server_closes_and_close_in_readable);
    RUN(handover_carries_unparsed_input);
    RUN(handover_fails_when_client_goes_first);
    RUN(handover_from_a_command);
    RUN(shutdown_closes_peers);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    db_free_all();
    return test_report();
}
