/* peer: a connection that is not a client: outbound (a replica's link to its primary, a
 * cluster bus link, MIGRATE) or a client handed over by conn_handover (a primary's link to
 * a replica). A peer moves bytes and reports events; what the bytes mean (RESP replies
 * through resp_reader, a command stream through resp_parse, an RDB payload, binary bus
 * messages) is its owner's business.
 *
 *     peer_connect ──resolve──▶ connect ──handshake (TLS)──▶ connected ──▶ ... ──▶ closed
 *                  └──────────── connect timeout, refused, no address ─────────▶ closed
 *
 * Input: every read appends to the peer's input buffer and calls ev->readable; the owner
 * parses what it can from peer_input(pe) and drops the bytes it used with peer_consume.
 * Output: peer_write (or peer_out + peer_flush) queues bytes; they are written once per
 * loop turn, as client replies are (a direct write first, then the transport's queue).
 * peer_send writes at once when nothing is queued, queueing only the rest.
 *
 * Lifetimes: after peer_close no event runs and the peer is gone (its memory is freed
 * from the loop). Every other end (EOF from the other side, an error, a timeout, server
 * shutdown) is reported once by ev->closed(pe, status) and the peer is freed after it
 * returns. Events run on the loop thread, never inside the call that caused them
 * (peer_connect, peer_write, peer_resume, ...). */
#ifndef MAYFLY_NET_PEER_H
#define MAYFLY_NET_PEER_H

#include "mayfly/net/transport.h"
#include "mayfly/util/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct peer peer;

typedef struct peer_events {
    /* The connection is established (after the transport's handshake, if any). */
    void (*connected)(peer *pe);
    /* New input is at the end of peer_input(pe). */
    void (*readable)(peer *pe);
    /* Everything queued has been written (for owners streaming a large payload in
     * pieces: write the next piece here). May be NULL. */
    void (*drained)(peer *pe);
    /* The connection ended without peer_close: status is a libuv error (UV_EOF when the
     * other side closed, UV_ETIMEDOUT for the connect or read timeout, UV_ECONNREFUSED,
     * UV_EAI_NONAME for a name that does not resolve, UV_ECANCELED at shutdown). The peer
     * is freed when this returns. */
    void (*closed)(peer *pe, int status);
} peer_events;

typedef struct peer_options {
    const transport_type *type;  /* NULL: transport_tcp */
    uint64_t connect_timeout_ms; /* resolve + connect + handshake; 0: no limit of ours */
} peer_options;

/* Opens a connection to host:port. host is a numeric IPv4 or IPv6 address (connected at once)
 * or a name resolved with uv_getaddrinfo on libuv's thread pool; each address it resolves
 * to is tried in turn until one connects. Returns 0 with *out set, and then exactly one of
 * ev->connected or ev->closed runs later; or a negative libuv error (UV_EINVAL for an
 * empty host or a port outside 1..65535) with no event ever. opt may be NULL. */
int peer_connect(const char *host, int port, const peer_options *opt, const peer_events *ev,
                 void *data, peer **out);
/* Closes the connection at once, dropping unsent output; no event runs after this. */
void peer_close(peer *pe);

/* The input received and not yet consumed. */
buf *peer_input(peer *pe);
/* Drops the first n bytes of the input (n <= its length). */
void peer_consume(peer *pe, size_t n);
/* Queues len bytes to send (copied). */
void peer_write(peer *pe, const void *p, size_t len);
/* Sends len bytes now if nothing is queued ahead of them (a write to the socket, no copy);
 * what the socket does not take, or everything when output is queued, is queued as by
 * peer_write. For streams whose bytes are kept elsewhere anyway (a replica's feed from the
 * backlog): no copy in the common case, at the cost of one write per call. */
void peer_send(peer *pe, const void *p, size_t len);
/* Sends the bytes of n <= PEER_KEPT_MAX buffers, in order, that the caller keeps unchanged
 * until `drained` runs (a replica's feed from the backlog's blocks): written at once (one
 * writev) as far as the socket takes them, the rest written from the buffers themselves,
 * no copy. Call it only when peer_writing is 0; returns the bytes the socket took at once:
 * all of them, or fewer when the rest is in flight (then `drained` follows once it is
 * written). Where the bytes cannot go out this way (the peer is not open yet, an error)
 * they are copied as by peer_write and all are counted as taken. */
#define PEER_KEPT_MAX 16
size_t peer_send_kept(peer *pe, const uv_buf_t *bufs, unsigned n);
/* 1 while output is queued or a write is in flight (peer_send_kept's included). */
int peer_writing(const peer *pe);
/* The output queue, to append frames to directly (resp_w_*); call peer_flush after. */
buf *peer_out(peer *pe);
/* Schedules the queued output to be written at the end of this loop turn. */
void peer_flush(peer *pe);
/* Bytes queued or being written, not yet handed to the socket; a peer_send_kept write in
 * flight is not counted (its bytes are the caller's). */
size_t peer_pending_out(const peer *pe);

/* Stops reading (backpressure); input already received stays in peer_input. */
void peer_pause(peer *pe);
/* Starts reading again. */
void peer_resume(peer *pe);
/* Ends the connection with UV_ETIMEDOUT when no byte arrives for ms milliseconds while it is
 * established (a request waiting for its reply, a replica's primary going silent); 0
 * turns it off. Every read restarts the count. */
void peer_set_read_timeout(peer *pe, uint64_t ms);

/* The owner's pointer given to peer_connect / conn_handover, or set by peer_set_data. */
void *peer_data(const peer *pe);
/* Replaces the owner's pointer (an accepted peer gets its owner's state in `connected`). */
void peer_set_data(peer *pe, void *data);
/* The other side as "ip:port" once an address is being tried (TCP), else "". */
const char *peer_addr(const peer *pe);
/* The transport once connected, else NULL (for facts such as transport_fd). */
transport *peer_transport(const peer *pe);

#endif
