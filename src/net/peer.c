/* peer: outbound connections and handed-over clients; the contract is in
 * mayfly/net/peer.h.
 *
 * States:
 *
 *     RESOLVING ─▶ CONNECTING ─▶ (HANDSHAKE) ─▶ OPEN ─▶ DEAD
 *     PENDING (conn_handover) ─────────────────▶ OPEN ─▶ DEAD
 *
 * A name is resolved on libuv's thread pool; each address is tried in turn (a refused
 * IPv6 ::1 falls back to 127.0.0.1, as Redis's anetTcpGenericConnect walks the list). One
 * timer serves, in turn, the connect timeout, an asynchronous report of a failure found
 * while starting (events never run inside the call that caused them), and the read
 * timeout of an open peer.
 *
 * Memory: a peer is freed when the last thing that may still call back into it is gone
 * (`holds`: its timer handle, its transport, a name lookup in flight, a client connection
 * that will hand over its transport). DEAD means no more events for the owner. */
#include "mayfly/net/peer.h"

#include "mayfly/config.h"
#include "mayfly/util/mem.h"
#include "net/net_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { PEER_PENDING, PEER_RESOLVING, PEER_CONNECTING, PEER_HANDSHAKE, PEER_OPEN, PEER_DEAD };

struct peer {
    const peer_events *ev;
    void *data;
    int state;
    const transport_type *type;
    transport *t; /* the current transport (an attempt's, or the open one), or NULL */
    buf in;       /* received, not consumed */
    buf out;      /* queued by the owner */
    buf wbuf;     /* owned by the transport_write in flight */
    size_t woff;  /* where the in-flight bytes start in wbuf */
    size_t kept;  /* bytes of a peer_send_kept write in flight (the owner's memory) */
    uv_timer_t timer;
    int fail_status;          /* a failure to report from the timer, 0 if none */
    uint64_t read_timeout_ms; /* 0: none */
    uv_getaddrinfo_t gai;
    int resolving;                 /* gai in flight */
    struct addrinfo *ai, *ai_next; /* resolved addresses, the next to try */
    uv_connect_t creq;
    int port;
    int paused;               /* peer_pause */
    int pending;              /* on the flush list */
    int holds;                /* see Memory above */
    char addr[64];            /* "ip:port" */
    struct peer *prev, *next; /* every live peer */
    struct peer *pnext;       /* the flush list */
};

static peer *peers;
static peer *pending_head;

static void finish(peer *pe, int status, int notify);

/* ---- memory ---- */

static void release(peer *pe) {
    if (--pe->holds > 0) return;
    buf_deinit(&pe->in);
    buf_deinit(&pe->out);
    buf_deinit(&pe->wbuf);
    mem_free(pe);
}

static void on_timer_closed(uv_handle_t *h) {
    release(h->data);
}

static void on_timer(uv_timer_t *h);

static peer *peer_alloc(const peer_events *ev, void *data, int state) {
    peer *pe = mem_calloc(1, sizeof(*pe));
    pe->ev = ev;
    pe->data = data;
    pe->state = state;
    pe->type = &transport_tcp;
    buf_init(&pe->in);
    buf_init(&pe->out);
    buf_init(&pe->wbuf);
    uv_timer_init(net_loop, &pe->timer);
    pe->timer.data = pe;
    pe->holds = 1; /* the timer handle */
    pe->next = peers;
    if (peers) peers->prev = pe;
    peers = pe;
    return pe;
}

static void unlist(peer *pe) {
    if (pe->prev)
        pe->prev->next = pe->next;
    else if (peers == pe)
        peers = pe->next;
    if (pe->next) pe->next->prev = pe->prev;
    pe->prev = pe->next = NULL;
}

/* ---- the flush list ---- */

static void mark_pending(peer *pe) {
    if (pe->pending || pe->state == PEER_DEAD) return;
    pe->pending = 1;
    pe->pnext = pending_head;
    pending_head = pe;
    net_kick();
}

static void unmark_pending(peer *pe) {
    if (!pe->pending) return;
    for (peer **p = &pending_head; *p; p = &(*p)->pnext) {
        if (*p == pe) {
            *p = pe->pnext;
            break;
        }
    }
    pe->pending = 0;
}

/* Writes the queued output: what the socket takes now, the rest with transport_write. */
static void flush_one(peer *pe) {
    if (pe->state != PEER_OPEN || pe->t->writing || pe->out.len == 0) return;
    int n = transport_try_write(pe->t, pe->out.data, pe->out.len);
    if (n < 0) {
        finish(pe, n, 1);
        return;
    }
    if ((size_t)n < pe->out.len) {
        buf tmp = pe->wbuf;
        pe->wbuf = pe->out;
        pe->woff = (size_t)n;
        pe->out = tmp;
        buf_clear(&pe->out);
        int rc = transport_write(pe->t, pe->wbuf.data + n, pe->wbuf.len - (size_t)n);
        if (rc < 0) finish(pe, rc, 1);
        return;
    }
    buf_clear(&pe->out);
    buf_shrink(&pe->out, NET_IDLE_BUF_KEEP);
    if (pe->ev->drained) pe->ev->drained(pe);
}

void peer_flush_pending(void) {
    /* Links queued by this pass's drained events wait for the next turn (net_kick). */
    peer *list = pending_head;
    pending_head = NULL;
    while (list) {
        peer *pe = list;
        list = pe->pnext;
        pe->pending = 0;
        flush_one(pe);
    }
}

/* ---- transport events ---- */

static void on_alloc(transport *t, size_t suggested, uv_buf_t *b) {
    (void)suggested;
    peer *pe = t->data;
    char *p = buf_reserve(&pe->in, NET_READ_CHUNK);
    *b = uv_buf_init(p, (unsigned)(pe->in.cap - pe->in.len));
}

static void arm_read_timeout(peer *pe) {
    if (pe->read_timeout_ms && !pe->paused)
        uv_timer_start(&pe->timer, on_timer, pe->read_timeout_ms, 0);
    else
        uv_timer_stop(&pe->timer);
}

static void on_read(transport *t, ssize_t nread, const uv_buf_t *b) {
    (void)b;
    peer *pe = t->data;
    if (pe->state != PEER_OPEN) return;
    if (nread < 0) {
        finish(pe, (int)nread, 1);
        return;
    }
    if (nread == 0) return;
    pe->in.len += (size_t)nread;
    arm_read_timeout(pe);
    pe->ev->readable(pe);
}

static void on_write_done(transport *t, int status) {
    peer *pe = t->data;
    pe->kept = 0;
    buf_clear(&pe->wbuf);
    buf_shrink(&pe->wbuf, NET_IDLE_BUF_KEEP);
    if (pe->state != PEER_OPEN) return;
    if (status < 0) {
        finish(pe, status, 1);
        return;
    }
    if (pe->out.len)
        mark_pending(pe);
    else if (pe->ev->drained)
        pe->ev->drained(pe);
}

static void on_transport_closed(transport *t) {
    peer *pe = t->data;
    if (pe->t == t) pe->t = NULL;
    release(pe);
}

static const transport_events peer_tevents = {on_alloc, on_read, on_write_done,
                                              on_transport_closed};

/* ---- opening ---- */

static void set_addr(peer *pe, const struct sockaddr *addr) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    transport_format_addr(&ss, pe->addr, sizeof(pe->addr));
}

/* Established: tells the owner, and sends what it queued before. */
static void opened(peer *pe) {
    pe->state = PEER_OPEN;
    uv_timer_stop(&pe->timer);
    arm_read_timeout(pe);
    if (!pe->paused) transport_read_start(pe->t);
    pe->ev->connected(pe);
    if (pe->state != PEER_OPEN) return;
    if (pe->out.len) mark_pending(pe);
    if (pe->in.len) pe->ev->readable(pe);
}

/* Reports err from the loop rather than from inside the current call. */
static void fail_soon(peer *pe, int err) {
    pe->fail_status = err;
    uv_timer_start(&pe->timer, on_timer, 0, 0);
}

static void on_timer(uv_timer_t *h) {
    peer *pe = h->data;
    finish(pe, pe->fail_status ? pe->fail_status : UV_ETIMEDOUT, 1);
}

static void drop_transport(peer *pe) {
    if (!pe->t) return;
    transport_close(pe->t); /* its closed event releases the peer's hold */
    pe->t = NULL;
}

static void on_handshake(transport *t, int status) {
    peer *pe = t->data;
    if (pe->state != PEER_HANDSHAKE) return;
    if (status < 0) {
        finish(pe, status, 1);
        return;
    }
    opened(pe);
}

static void try_next(peer *pe, int err);

static void on_connect(uv_connect_t *req, int status) {
    peer *pe = req->data;
    if (pe->state != PEER_CONNECTING) return; /* closed meanwhile: UV_ECANCELED */
    if (status < 0) {
        drop_transport(pe);
        try_next(pe, status);
        return;
    }
    if (pe->ai) uv_freeaddrinfo(pe->ai);
    pe->ai = pe->ai_next = NULL;
    transport_tune_tcp(pe->t, 1, config.tcp_keepalive);
    if (!pe->t->type->handshake) {
        opened(pe);
        return;
    }
    pe->state = PEER_HANDSHAKE;
    int rc = transport_handshake(pe->t, 0, on_handshake);
    if (rc < 0) finish(pe, rc, 1);
}

/* Starts connecting to one address; returns 0 or a libuv error (nothing left open). */
static int start_connect(peer *pe, const struct sockaddr *addr) {
    int err = 0;
    transport *t = transport_new(net_loop, pe->type, &err);
    if (!t) return err;
    transport_set_owner(t, &peer_tevents, pe);
    pe->t = t;
    pe->holds++;
    pe->creq.data = pe;
    err = uv_tcp_connect(&pe->creq, &t->h.tcp, addr, on_connect);
    if (err < 0) {
        drop_transport(pe);
        return err;
    }
    set_addr(pe, addr);
    pe->state = PEER_CONNECTING;
    return 0;
}

/* Tries the remaining resolved addresses; err is the last failure, reported when none is
 * left. */
static void try_next(peer *pe, int err) {
    while (pe->ai_next) {
        struct addrinfo *a = pe->ai_next;
        pe->ai_next = a->ai_next;
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        err = start_connect(pe, a->ai_addr);
        if (err == 0) return;
    }
    fail_soon(pe, err ? err : UV_EAI_NONAME);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    peer *pe = req->data;
    pe->resolving = 0;
    if (pe->state != PEER_RESOLVING) {
        if (res) uv_freeaddrinfo(res);
    } else if (status < 0) {
        finish(pe, status, 1);
    } else {
        pe->ai = pe->ai_next = res;
        try_next(pe, 0);
    }
    release(pe);
}

int peer_connect(const char *host, int port, const peer_options *opt, const peer_events *ev,
                 void *data, peer **out) {
    if (!host || !host[0] || port < 1 || port > 65535) return UV_EINVAL;
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr;
    int numeric = uv_ip4_addr(host, port, &addr.v4) == 0 || uv_ip6_addr(host, port, &addr.v6) == 0;
    peer *pe = peer_alloc(ev, data, PEER_RESOLVING);
    pe->port = port;
    if (opt && opt->type) pe->type = opt->type;
    if (opt && opt->connect_timeout_ms)
        uv_timer_start(&pe->timer, on_timer, opt->connect_timeout_ms, 0);
    if (numeric) {
        int err = start_connect(pe, &addr.sa);
        if (err < 0) fail_soon(pe, err);
    } else {
        char service[8];
        snprintf(service, sizeof(service), "%d", port);
        struct addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        pe->gai.data = pe;
        int err = uv_getaddrinfo(net_loop, &pe->gai, on_resolved, host, service, &hints);
        if (err < 0) {
            finish(pe, err, 0);
            return err;
        }
        pe->resolving = 1;
        pe->holds++;
    }
    *out = pe;
    return 0;
}

/* ---- handover from a client connection ---- */

peer *peer_new_pending(const peer_events *ev, void *data) {
    peer *pe = peer_alloc(ev, data, PEER_PENDING);
    pe->holds++; /* the client connection, until peer_adopt or peer_adopt_failed */
    return pe;
}

void peer_adopt(peer *pe, transport *t, buf *in) {
    transport_set_owner(t, &peer_tevents, pe);
    pe->t = t; /* the transport's hold on pe replaces the client connection's */
    if (pe->state != PEER_PENDING) { /* the owner closed it meanwhile */
        drop_transport(pe);
        return;
    }
    buf tmp = pe->in;
    pe->in = *in;
    *in = tmp;
    struct sockaddr_storage ss;
    if (transport_sockaddr(t, 1, &ss) == 0) transport_format_addr(&ss, pe->addr, sizeof(pe->addr));
    opened(pe);
}

void peer_adopt_failed(peer *pe, int status) {
    finish(pe, status, 1);
    release(pe);
}

/* ---- ending ---- */

static void finish(peer *pe, int status, int notify) {
    if (pe->state == PEER_DEAD) return;
    pe->state = PEER_DEAD;
    unlist(pe);
    unmark_pending(pe);
    uv_timer_stop(&pe->timer);
    uv_close((uv_handle_t *)&pe->timer, on_timer_closed);
    if (pe->resolving) uv_cancel((uv_req_t *)&pe->gai); /* on_resolved still runs */
    if (pe->ai) uv_freeaddrinfo(pe->ai);
    pe->ai = pe->ai_next = NULL;
    drop_transport(pe);
    if (notify && pe->ev->closed) pe->ev->closed(pe, status);
}

void peer_close(peer *pe) {
    finish(pe, 0, 0);
}

void peer_close_all_now(void) {
    while (peers)
        finish(peers, UV_ECANCELED, 1);
}

void peer_close_fds(void) {
    for (peer *pe = peers; pe; pe = pe->next) {
        int fd = pe->t ? transport_fd(pe->t) : -1;
        if (fd >= 0) close(fd);
    }
}

/* ---- input and output ---- */

buf *peer_input(peer *pe) {
    return &pe->in;
}

void peer_consume(peer *pe, size_t n) {
    buf_consume(&pe->in, n);
    if (pe->in.len == 0) buf_shrink(&pe->in, NET_IDLE_BUF_KEEP);
}

void peer_write(peer *pe, const void *p, size_t len) {
    if (pe->state == PEER_DEAD) return;
    buf_append(&pe->out, p, len);
    mark_pending(pe);
}

void peer_send(peer *pe, const void *p, size_t len) {
    if (pe->state != PEER_OPEN || pe->out.len || pe->t->writing || len == 0) {
        peer_write(pe, p, len);
        return;
    }
    /* Nothing is queued ahead: straight to the socket, no copy. An error is left for the
     * flush to find (the next write fails alike) so that no event runs inside this call. */
    int n = transport_try_write(pe->t, p, len);
    if (n < 0) n = 0;
    if ((size_t)n < len) peer_write(pe, (const char *)p + n, len - (size_t)n);
}

size_t peer_send_kept(peer *pe, const uv_buf_t *bufs, unsigned n) {
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += bufs[i].len;
    if (len == 0) return 0;
    int rc = pe->state == PEER_OPEN && !pe->out.len && !pe->t->writing
                 ? transport_try_writev(pe->t, bufs, n)
                 : -1; /* not for this call (see the header): copied, in order */
    if (rc >= 0 && (size_t)rc == len) return len;
    size_t took = rc > 0 ? (size_t)rc : 0;
    /* The rest goes from the caller's memory in one write: no copy. An error (now or from
     * the write) is left for the flush / the write's completion to report, never inside
     * this call. */
    uv_buf_t rest[PEER_KEPT_MAX];
    unsigned k = 0;
    for (unsigned i = 0, skip = 0; i < n && k < PEER_KEPT_MAX; i++) {
        size_t off = took > skip ? took - skip : 0;
        skip += bufs[i].len;
        if (off >= bufs[i].len) continue;
        rest[k++] = uv_buf_init(bufs[i].base + off, (unsigned)(bufs[i].len - off));
    }
    if (rc < 0 || transport_writev(pe->t, rest, k) < 0) {
        for (unsigned i = 0; i < k; i++)
            peer_write(pe, rest[i].base, rest[i].len);
        return len;
    }
    pe->kept = len - took;
    return took;
}

int peer_writing(const peer *pe) {
    return pe->out.len || (pe->t && pe->t->writing);
}

buf *peer_out(peer *pe) {
    return &pe->out;
}

void peer_flush(peer *pe) {
    mark_pending(pe);
}

size_t peer_pending_out(const peer *pe) {
    size_t inflight = pe->t && pe->t->writing && !pe->kept ? pe->wbuf.len - pe->woff : 0;
    return pe->out.len + inflight;
}

void peer_pause(peer *pe) {
    pe->paused = 1;
    if (pe->state != PEER_OPEN) return;
    transport_read_stop(pe->t);
    uv_timer_stop(&pe->timer);
}

void peer_resume(peer *pe) {
    if (!pe->paused) return;
    pe->paused = 0;
    if (pe->state != PEER_OPEN) return;
    transport_read_start(pe->t);
    arm_read_timeout(pe);
}

void peer_set_read_timeout(peer *pe, uint64_t ms) {
    pe->read_timeout_ms = ms;
    if (pe->state == PEER_OPEN) arm_read_timeout(pe);
}

void *peer_data(const peer *pe) {
    return pe->data;
}

void peer_set_data(peer *pe, void *data) {
    pe->data = data;
}

const char *peer_addr(const peer *pe) {
    return pe->addr;
}

transport *peer_transport(const peer *pe) {
    return pe->state == PEER_OPEN ? pe->t : NULL;
}
