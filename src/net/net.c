/* net: the network layer's loop-turn machinery, the module's front door for server.c.
 *
 *     listener.c  bind list, accept, admission (maxclients, protected mode)
 *     conn.c      client connections: query buffer, parsing, dispatch, replies, limits
 *     peer.c      outbound connections and handed-over clients (replication, cluster bus)
 *     transport.c the stream table under both (TCP, Unix; TLS plugs in as another type)
 *
 * Output of every kind is written once per loop turn by one uv_check handle, which runs
 * after libuv has polled for I/O and run the callbacks of what it found: first the
 * connections paused in an earlier turn run their next batch, then the before-flush hook
 * (the append-only log is written and fsynced before any reply of the turn leaves: no
 * command may run between it and the flush), then every client connection with replies,
 * then every peer with output.
 * Output queued outside an I/O callback (a timer, a peer's event) starts an idle handle
 * for one turn (net_kick), so the poll does not sleep on it. */
#include "mayfly/net/net.h"

#include "net/net_int.h"

uv_loop_t *net_loop;
static uv_check_t flush_check;
static uv_idle_t kick_idle;
static void (*before_flush)(void);

void net_set_before_flush(void (*fn)(void)) {
    before_flush = fn;
}

static void on_check(uv_check_t *h) {
    (void)h;
    uv_idle_stop(&kick_idle);
    tls_run_deferred();
    conn_run_ready(); /* before the hook: what these commands write is logged first */
    if (before_flush) before_flush();
    conn_flush_pending();
    peer_flush_pending();
}

static void on_kick(uv_idle_t *h) {
    (void)h; /* being active is the point: the next poll does not block */
}

void net_kick(void) {
    uv_idle_start(&kick_idle, on_kick);
}

void net_init(uv_loop_t *loop) {
    net_loop = loop;
    uv_check_init(loop, &flush_check);
    uv_check_start(&flush_check, on_check);
    uv_unref((uv_handle_t *)&flush_check);
    uv_idle_init(loop, &kick_idle);
    uv_unref((uv_handle_t *)&kick_idle);
}

void net_run_received(void) {
    conn_run_received();
}

void net_close_all(void) {
    conn_close_all_now();
    peer_close_all_now();
}

void net_close_fds_in_child(void) {
    listener_close_fds();
    conn_close_fds();
    peer_close_fds();
}

void net_cron(int64_t now_ms) {
    conn_cron_all(now_ms);
}
