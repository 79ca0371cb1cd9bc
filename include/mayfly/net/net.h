/* net: listeners, client connections and peers, on one libuv loop. This is what the
 * composition root (server.c) drives; owners of streams use transport.h, peer.h and
 * conn.h. */
#ifndef MAYFLY_NET_NET_H
#define MAYFLY_NET_NET_H

#include "mayfly/config.h"

#include <stdint.h>
#include <uv.h>

/* Installs the loop-turn hooks (one flush of every connection and peer per loop turn)
 * on loop; call once, before anything else here. */
void net_init(uv_loop_t *loop);
/* Sets a function run once per loop turn just before replies are flushed (the
 * append-only log's write and group-commit fsync). */
void net_set_before_flush(void (*fn)(void));
/* Starts listening per config (bind list, port, unixsocket). Returns 0, or -1 after
 * logging why (e.g. the port is in use). */
int net_listen(void);
/* Builds the TLS contexts from the tls-* directives (net/tls.c), all or nothing. Returns
 * 0, or -1 with *err an owned message for the log. */
int net_tls_configure(char **err);
/* Moves the TLS listeners to config.tls_port on the bind addresses (0: none). Returns 0,
 * or -1 after logging why; then the old listeners stay. */
int net_listen_tls(void);
/* Moves the TCP and TLS client listeners to config.port / config.tls_port on the bind
 * list (CONFIG SET port / bind), all or nothing: listeners already on a wanted address and
 * port are kept, the missing ones opened, and only then the others closed. Returns 0, or
 * -1 after logging why; then the old listeners stay. */
int net_relisten(void);
/* 1 when TLS is configured for anything (tls-port, tls-replication, tls-cluster). */
int net_tls_wanted(void);
/* The network directives (net_config.c): port, bind, unixsocket, client limits, tls-*. */
extern const config_row net_config_rows[];
/* Listens on port (the bind addresses; TLS when tls-cluster is set) for connections that are
 * peers, not clients (the cluster bus): each accepted connection becomes a peer with events
 * ev, whose `connected` runs first (the owner attaches its state with peer_set_data).
 * Returns 0, or -1 after logging why. */
struct peer_events;
int net_listen_peers(int port, const struct peer_events *ev);
/* Closes the listeners (shutdown). */
void net_close_listeners(void);
/* Executes every command already received but left for a later loop turn by the turn's
 * time budget (a signal's shutdown calls it first: Redis executes a read's whole pipeline
 * before it looks at a signal). Output backpressure still applies. */
void net_run_received(void);
/* Graceful end: a last best-effort write of every client's pending replies, then every
 * client connection and peer is closed (peers report closed with UV_ECANCELED). */
void net_close_all(void);
/* In a forked child: closes the file descriptors of the listeners, client connections
 * and peers (plain close(2): the child never runs the loop). */
void net_close_fds_in_child(void);
/* Cron work: idle timeouts, output-buffer soft limits, idle buffer shrinking. */
void net_cron(int64_t now_ms);

#endif
