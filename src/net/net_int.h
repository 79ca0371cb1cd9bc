/* net_int: what the parts of net/ (net.c, listener.c, conn.c, peer.c) share and nobody else
 * sees. */
#ifndef MAYFLY_NET_NET_INT_H
#define MAYFLY_NET_NET_INT_H

#include "mayfly/client/session.h"
#include "mayfly/net/peer.h"
#include "mayfly/net/transport.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NET_READ_CHUNK (16 * 1024)    /* bytes asked for per read (fairness, see conn.c) */
#define NET_IDLE_BUF_KEEP (32 * 1024) /* larger idle buffers are freed */
#define NET_BIG_ARG                                                                                \
    (32 * 1024) /* Redis's PROTO_MBULK_BIG_ARG: client-query-buffer-limit (conn.c) */

typedef struct conn conn;

/* net.c: the loop everything runs on (set by net_init). */
extern uv_loop_t *net_loop;

/* listener.c */
void listener_close_fds(void);

/* tls_stream.c: runs what TLS transports deferred to the loop (plaintext to deliver, a
 * completed write, a client's first handshake flight); net.c calls it once per turn. */
void tls_run_deferred(void);

/* conn.c: client connections. */

/* Makes a client connection around an accepted (and handshaken) transport, taking it
 * over, with a new session. The caller fills the session's connection facts, then calls
 * conn_start or conn_refuse. */
conn *conn_new(transport *t);
session *conn_session(conn *c);
/* Starts reading commands. */
void conn_start(conn *c);
/* Sends msg (a whole RESP error line) and closes after it is written. */
void conn_refuse(conn *c, const char *msg, size_t len);
/* Flushes every connection with pending replies (the flush check of net.c). */
void conn_run_ready(void);
void conn_flush_pending(void);
/* Walks the live connections (shutdown, cron, fork). */
void conn_close_all_now(void);
/* Executes the input received and left waiting by the turn's time budget (see conn.c). */
void conn_run_received(void);
void conn_cron_all(int64_t now_ms);
void conn_close_fds(void);

/* peer.c: outbound and handed-over peers. */

/* A peer that takes over transport t from a client connection (conn_handover): created
 * when the handover is asked for, started by peer_adopt once the client's replies are
 * written, or failed with peer_adopt_failed if the client closes first. */
peer *peer_new_pending(const peer_events *ev, void *data);
/* Starts the pending peer pe on transport t; in holds the unparsed input carried over
 * (moved into the peer, in is left empty). Calls ev->connected, then ev->readable if
 * input was carried over. */
void peer_adopt(peer *pe, transport *t, buf *in);
/* The client closed before its handover completed: ev->closed(pe, status), then free. */
void peer_adopt_failed(peer *pe, int status);
/* Flushes every peer with queued output (the flush check of net.c). */
void peer_flush_pending(void);
void peer_close_all_now(void);
void peer_close_fds(void);
/* Asks net.c for a loop turn without blocking in the poll (a peer queued output from
 * outside an I/O callback). */
void net_kick(void);

#endif
