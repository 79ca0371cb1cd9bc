/* transport: the byte stream under a connection, behind a small table of functions (in
 * the spirit of Redis's connection.h), so that plain TCP, Unix sockets and TLS look alike
 * to whoever owns the stream: a client connection (net/conn.c), an outbound or handed-over
 * peer (net/peer.c: outbound, or a client handed over), later a cluster bus link.
 *
 *     owner (conn, peer) ──type->read_start/try_write/write/close──▶ transport ──▶ socket
 *     owner ◀──ev->alloc/read/write_done/closed────────────────────── transport
 *
 * A transport owns one libuv handle (a uv_tcp_t or uv_pipe_t) and is freed after its
 * closed event. The owner is whoever set the events (transport_set_owner); ownership may
 * change while the stream is open (a client handed over to replication).
 *
 * Plain TCP and Unix transports map each call straight onto libuv. A TLS transport (memory
 * BIOs over the same TCP handle) fits the same table: its handshake hook runs before
 * application data flows, read_start delivers decrypted bytes through the owner's
 * alloc/read (it may hold decrypted bytes the owner has not asked for yet and must deliver
 * them from the loop after the next read_start, never inside it), try_write accepts only
 * what it can encrypt and send or queue within its own bound, and write completes when the
 * ciphertext of those bytes has left. */
#ifndef MAYFLY_NET_TRANSPORT_H
#define MAYFLY_NET_TRANSPORT_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

typedef struct transport transport;

/* What a transport tells its owner. Every event runs on the loop thread. */
typedef struct transport_events {
    /* Room for the next read: set *b (b->len > 0). Called just before each read. */
    void (*alloc)(transport *t, size_t suggested, uv_buf_t *b);
    /* nread > 0 bytes arrived at the start of b (as given by alloc); nread == 0 is
     * nothing (ignore it); nread < 0 is a libuv error (UV_EOF at the peer's end of
     * stream): the owner should close the transport. */
    void (*read)(transport *t, ssize_t nread, const uv_buf_t *b);
    /* The transport_write in flight finished: status 0, or a libuv error. */
    void (*write_done)(transport *t, int status);
    /* The transport is closed; it is freed when this returns. Last event. */
    void (*closed)(transport *t);
} transport_events;

/* Called when a handshake ends: status 0 means application data may flow. */
typedef void (*transport_ready_cb)(transport *t, int status);

/* One kind of transport. Functions return 0 or a negative libuv error code unless said
 * otherwise. */
typedef struct transport_type {
    const char *name; /* "tcp", "unix", "tls" */
    /* Creates the handle on the loop (uv_tcp_init / uv_pipe_init) and any state of the
     * type's own (t->impl). */
    int (*init)(transport *t, uv_loop_t *loop);
    /* Runs the transport's own handshake on a stream just accepted (server_side 1) or just
     * connected (0); done runs later, exactly once, unless the transport is closed first.
     * NULL: nothing to do, data may flow at once (TCP, Unix). */
    int (*handshake)(transport *t, int server_side, transport_ready_cb done);
    /* Starts delivering input through ev->alloc / ev->read; a no-op when reading. */
    int (*read_start)(transport *t);
    /* Stops delivering input (backpressure, fairness); a no-op when not reading. */
    void (*read_stop)(transport *t);
    /* Writes what it can now without blocking: returns the bytes taken (0..len; 0 when
     * the socket is full), or a negative libuv error (the owner should close). */
    int (*try_write)(transport *t, const char *p, size_t len);
    /* Queues len > 0 bytes; ev->write_done runs once they are written (or failed). p
     * must stay valid and unchanged until then; one write at a time. */
    int (*write)(transport *t, const char *p, size_t len);
    /* try_write and write for n > 0 buffers in order, in one system call where the type
     * can (TCP, Unix: writev): try_writev returns the bytes taken from the front. */
    int (*try_writev)(transport *t, const uv_buf_t *bufs, unsigned n);
    int (*writev)(transport *t, const uv_buf_t *bufs, unsigned n);
    /* Ends the write side after queued writes (TCP: FIN; TLS: close_notify then FIN).
     * The stream stays open for reading until closed. */
    int (*shutdown)(transport *t);
    /* Closes: no more events but ev->closed, which runs from the loop. A write in flight
     * ends with ev->write_done(UV_ECANCELED) first. Idempotent. */
    void (*close)(transport *t);
    /* Frees what init made besides the handle (t->impl); called after ev->closed. May be
     * NULL. */
    void (*deinit)(transport *t);
} transport_type;

/* The transport's state. Owners use the type's functions through the transport_* calls
 * below and read `data`; the rest belongs to the transport type. */
struct transport {
    const transport_type *type;
    const transport_events *ev; /* the owner's events */
    void *data;                 /* the owner's */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;                   /* the socket; h.handle.data points back at the transport */
    uv_write_t wreq;       /* the write in flight */
    uv_shutdown_t sreq;    /* a shutdown in flight */
    unsigned reading : 1;  /* read_start is in effect */
    unsigned writing : 1;  /* a write is in flight */
    unsigned closing : 1;  /* close was called */
    unsigned shutting : 1; /* a shutdown is in flight */
    void *impl;            /* the type's own state (TLS: the SSL object, BIOs); NULL for plain */
};

/* Plain transports: TCP (IPv4 or IPv6) and Unix domain sockets. */
extern const transport_type transport_tcp;
extern const transport_type transport_unix;
/* TLS over TCP (net/tls_stream.c), on the contexts net_tls_configure made. */
extern const transport_type transport_tls;

/* Allocates a transport of the given type on the loop, with no owner yet: set one with
 * transport_set_owner before the first event can happen (before read_start, handshake or
 * close). Returns an owned transport (freed after its closed event), or NULL with *err
 * set when the type's init fails. */
transport *transport_new(uv_loop_t *loop, const transport_type *type, int *err);
/* Makes (ev, data) the owner: every later event goes to them. A handover between owners
 * must happen between events, with reading stopped and no write in flight. */
void transport_set_owner(transport *t, const transport_events *ev, void *data);

static inline int transport_handshake(transport *t, int server_side, transport_ready_cb done) {
    return t->type->handshake(t, server_side, done);
}
static inline int transport_read_start(transport *t) {
    return t->type->read_start(t);
}
static inline void transport_read_stop(transport *t) {
    t->type->read_stop(t);
}
static inline int transport_try_write(transport *t, const char *p, size_t len) {
    return t->type->try_write(t, p, len);
}
static inline int transport_write(transport *t, const char *p, size_t len) {
    return t->type->write(t, p, len);
}
static inline int transport_try_writev(transport *t, const uv_buf_t *bufs, unsigned n) {
    return t->type->try_writev(t, bufs, n);
}
static inline int transport_writev(transport *t, const uv_buf_t *bufs, unsigned n) {
    return t->type->writev(t, bufs, n);
}
static inline int transport_shutdown(transport *t) {
    return t->type->shutdown(t);
}
static inline void transport_close(transport *t) {
    t->type->close(t);
}

/* Socket facts, the same for every type (they read the underlying handle). */

/* The peer's (remote = 1) or our own (0) address. Returns 0, or a negative libuv error
 * (UV_ENOTSUP for a Unix socket, which has no address to report). */
int transport_sockaddr(const transport *t, int remote, struct sockaddr_storage *ss);
/* "ip:port" (IPv6 unbracketed, as Redis's CLIENT LIST) of a TCP address into out; "?:0"
 * for an unknown family. */
void transport_format_addr(const struct sockaddr_storage *ss, char *out, size_t cap);
/* The file descriptor, or -1. */
int transport_fd(const transport *t);
/* TCP_NODELAY and keepalive (seconds, 0 = off); no-ops on a Unix socket. */
void transport_tune_tcp(transport *t, int nodelay, int keepalive_s);
/* 1 for a Unix-domain transport. */
int transport_is_unix(const transport *t);

#endif
