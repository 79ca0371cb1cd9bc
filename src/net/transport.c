/* transport: the plain stream transports (TCP and Unix sockets) and the socket facts every
 * transport shares; see mayfly/net/transport.h for the table and its contract.
 *
 * Both plain types are a libuv stream with the owner's events called straight from
 * libuv's callbacks (h.handle.data points at the transport): one indirect call per read
 * or write on top of libuv, nothing buffered here. They differ only in init. */
#include "mayfly/net/transport.h"

#include "mayfly/util/mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* ---- the plain stream implementation ---- */

static void stream_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    transport *t = h->data;
    t->ev->alloc(t, suggested, b);
}

static void stream_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    transport *t = s->data;
    t->ev->read(t, nread, b);
}

static int stream_read_start(transport *t) {
    if (t->reading || t->closing) return 0;
    int rc = uv_read_start(&t->h.stream, stream_on_alloc, stream_on_read);
    if (rc == 0) t->reading = 1;
    return rc;
}

static void stream_read_stop(transport *t) {
    if (!t->reading) return;
    uv_read_stop(&t->h.stream);
    t->reading = 0;
}

static int stream_try_write(transport *t, const char *p, size_t len) {
    if (t->closing) return UV_ECANCELED;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int n = uv_try_write(&t->h.stream, &b, 1);
    return n == UV_EAGAIN ? 0 : n;
}

static void stream_on_write(uv_write_t *req, int status) {
    transport *t = req->data;
    t->writing = 0;
    t->ev->write_done(t, status);
}

static int stream_write(transport *t, const char *p, size_t len) {
    if (t->closing) return UV_ECANCELED;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    t->wreq.data = t;
    int rc = uv_write(&t->wreq, &t->h.stream, &b, 1, stream_on_write);
    if (rc == 0) t->writing = 1;
    return rc;
}

static int stream_try_writev(transport *t, const uv_buf_t *bufs, unsigned n) {
    if (t->closing) return UV_ECANCELED;
    int rc = uv_try_write(&t->h.stream, bufs, n);
    return rc == UV_EAGAIN ? 0 : rc;
}

static int stream_writev(transport *t, const uv_buf_t *bufs, unsigned n) {
    if (t->closing) return UV_ECANCELED;
    t->wreq.data = t;
    int rc = uv_write(&t->wreq, &t->h.stream, bufs, n, stream_on_write);
    if (rc == 0) t->writing = 1;
    return rc;
}

static void stream_on_shutdown(uv_shutdown_t *req, int status) {
    (void)status; /* a failed FIN shows up as a read or write error */
    transport *t = req->data;
    t->shutting = 0;
}

static int stream_shutdown(transport *t) {
    if (t->closing || t->shutting) return 0;
    t->sreq.data = t;
    int rc = uv_shutdown(&t->sreq, &t->h.stream, stream_on_shutdown);
    if (rc == 0) t->shutting = 1;
    return rc;
}

static void stream_on_closed(uv_handle_t *h) {
    transport *t = h->data;
    if (t->ev && t->ev->closed) t->ev->closed(t);
    if (t->type->deinit) t->type->deinit(t);
    mem_free(t);
}

static void stream_close(transport *t) {
    if (t->closing) return;
    t->closing = 1;
    t->reading = 0;
    uv_close(&t->h.handle, stream_on_closed);
}

static int tcp_init(transport *t, uv_loop_t *loop) {
    return uv_tcp_init(loop, &t->h.tcp);
}

static int unix_init(transport *t, uv_loop_t *loop) {
    return uv_pipe_init(loop, &t->h.pipe, 0);
}

const transport_type transport_tcp = {
    .name = "tcp",
    .init = tcp_init,
    .handshake = NULL,
    .read_start = stream_read_start,
    .read_stop = stream_read_stop,
    .try_write = stream_try_write,
    .write = stream_write,
    .try_writev = stream_try_writev,
    .writev = stream_writev,
    .shutdown = stream_shutdown,
    .close = stream_close,
    .deinit = NULL,
};

const transport_type transport_unix = {
    .name = "unix",
    .init = unix_init,
    .handshake = NULL,
    .read_start = stream_read_start,
    .read_stop = stream_read_stop,
    .try_write = stream_try_write,
    .write = stream_write,
    .try_writev = stream_try_writev,
    .writev = stream_writev,
    .shutdown = stream_shutdown,
    .close = stream_close,
    .deinit = NULL,
};

/* ---- common ---- */

transport *transport_new(uv_loop_t *loop, const transport_type *type, int *err) {
    transport *t = mem_calloc(1, sizeof(*t));
    t->type = type;
    int rc = type->init(t, loop);
    if (rc < 0) {
        /* init failed before a handle existed: nothing to close. */
        mem_free(t);
        if (err) *err = rc;
        return NULL;
    }
    t->h.handle.data = t;
    return t;
}

void transport_set_owner(transport *t, const transport_events *ev, void *data) {
    t->ev = ev;
    t->data = data;
}

int transport_sockaddr(const transport *t, int remote, struct sockaddr_storage *ss) {
    if (t->h.handle.type != UV_TCP) return UV_ENOTSUP;
    int len = sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    return remote ? uv_tcp_getpeername(&t->h.tcp, (struct sockaddr *)ss, &len)
                  : uv_tcp_getsockname(&t->h.tcp, (struct sockaddr *)ss, &len);
}

void transport_format_addr(const struct sockaddr_storage *ss, char *out, size_t cap) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    }
    snprintf(out, cap, "%s:%d", ip, port);
}

int transport_fd(const transport *t) {
    uv_os_fd_t fd;
    return uv_fileno(&t->h.handle, &fd) == 0 ? (int)fd : -1;
}

void transport_tune_tcp(transport *t, int nodelay, int keepalive_s) {
    if (t->h.handle.type != UV_TCP) return;
    uv_tcp_nodelay(&t->h.tcp, nodelay);
    if (keepalive_s > 0) uv_tcp_keepalive(&t->h.tcp, 1, (unsigned)keepalive_s);
}

int transport_is_unix(const transport *t) {
    return t->h.handle.type == UV_NAMED_PIPE;
}
