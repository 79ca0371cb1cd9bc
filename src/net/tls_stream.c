/* tls_stream: the TLS transport type (transport_tls): a libuv TCP stream carrying TLS,
 * with OpenSSL working on memory (net/tls.c), never on the socket.
 *
 *     socket ─uv_read─▶ session in ─SSL_read─▶ owner's alloc/read (plaintext)
 *     owner try_write/write ─SSL_write─▶ session out ─uv_try_write, then uv_write─▶ socket
 *
 * The handshake runs on libuv reads like any other traffic, so a slow or stuck client
 * holds only its own connection. Plaintext sent to a TLS port fails the handshake and the
 * connection is closed.
 *
 * Writes: try_write encrypts up to TRY_WRITE_MAX bytes when nothing is queued and sends
 * what the socket takes; the rest of that ciphertext goes out with our own uv_write, and
 * meanwhile try_write answers 0 ("socket full"), so the owner falls back to write. write
 * encrypts everything and completes when the socket has taken the last ciphertext byte of
 * it (counted in `sent`). Ciphertext produced while our uv_write is in flight (the owner's,
 * alerts, TLS 1.3 tickets) waits in the session's output and goes next.
 *
 * Events the contract says must come "from the loop" (plaintext decrypted but not yet
 * delivered when the owner resumes reading, a write that completed inside write, the
 * first flight of a client handshake) are queued on a deferred list that net.c runs once
 * per loop turn before flushing replies (tls_run_deferred), with net_kick so the poll does
 * not sleep meanwhile. */
#include "mayfly/config.h"
#include "mayfly/net/net.h"
#include "mayfly/net/tls.h"
#include "mayfly/net/transport.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "net/net_int.h"

#include <string.h>

#define READ_ROOM (32 * 1024)      /* ciphertext room offered to each socket read */
#define TRY_WRITE_MAX (256 * 1024) /* plaintext encrypted by one try_write */

typedef struct tls_impl {
    transport *t;
    tls_session *sess;
    transport_ready_cb done; /* set while the handshake runs */
    buf inflight;            /* ciphertext of our uv_write in flight */
    size_t inflight_off;     /* bytes of inflight already sent by uv_try_write */
    unsigned uv_writing : 1; /* our uv_write (t->wreq) is in flight */
    unsigned uv_reading : 1; /* uv_read_start is in effect */
    unsigned want_shutdown : 1;
    unsigned shut : 1;        /* uv_shutdown was started */
    unsigned deferred : 1;    /* on the deferred list */
    unsigned d_handshake : 1; /* deferred: the first handshake step (client side) */
    unsigned d_deliver : 1;   /* deferred: deliver buffered plaintext */
    unsigned d_done : 1;      /* deferred: the owner's write may have completed */
    uint64_t sent;            /* ciphertext bytes the socket has taken */
    uint64_t owner_mark;      /* the owner's write completes once sent reaches this */
    int read_err;             /* a socket read error to report to the owner */
    int write_err;            /* a socket write error: every later write fails */
    struct tls_impl *dnext, *dprev;
} tls_impl;

static tls_impl *deferred_head;

static void deliver(transport *t);
static void drive_handshake(transport *t);

/* ---- the deferred list ---- */

static void defer(tls_impl *m) {
    if (m->t->closing) return;
    if (!m->deferred) {
        m->deferred = 1;
        m->dprev = NULL;
        m->dnext = deferred_head;
        if (deferred_head) deferred_head->dprev = m;
        deferred_head = m;
    }
    net_kick();
}

static void undefer(tls_impl *m) {
    if (!m->deferred) return;
    if (m->dprev)
        m->dprev->dnext = m->dnext;
    else
        deferred_head = m->dnext;
    if (m->dnext) m->dnext->dprev = m->dprev;
    m->deferred = 0;
}

/* The owner's write is complete once every ciphertext byte of it has been sent. */
static int owner_write_complete(const tls_impl *m) {
    return m->t->writing && !m->uv_writing && m->sent >= m->owner_mark;
}

void tls_run_deferred(void) {
    while (deferred_head) {
        tls_impl *m = deferred_head;
        undefer(m);
        transport *t = m->t;
        if (t->closing) continue;
        if (m->d_handshake) {
            m->d_handshake = 0;
            drive_handshake(t);
        }
        if (m->d_done && !t->closing) {
            m->d_done = 0;
            if (owner_write_complete(m)) {
                t->writing = 0;
                t->ev->write_done(t, 0);
            }
        }
        if (m->d_deliver && !t->closing) {
            m->d_deliver = 0;
            deliver(t);
        }
    }
}

/* ---- writing ciphertext ---- */

static void on_uv_write(uv_write_t *req, int status);

static void maybe_shutdown(transport *t) {
    tls_impl *m = t->impl;
    if (!m->want_shutdown || m->shut || m->uv_writing || tls_session_out(m->sess)->len) return;
    m->shut = 1;
    t->sreq.data = t;
    if (uv_shutdown(&t->sreq, &t->h.stream, NULL) == 0) t->shutting = 1;
}

/* Sends the session's output: what the socket takes now, the rest with uv_write. Then
 * completes the owner's write, at once when sync is set (we are in a libuv callback),
 * else from the loop. Returns 0 or a libuv error. */
static int flush_out(transport *t, int sync) {
    tls_impl *m = t->impl;
    if (m->write_err) return m->write_err;
    buf *o = tls_session_out(m->sess);
    if (!m->uv_writing && o->len) {
        uv_buf_t b = uv_buf_init(o->data, (unsigned)o->len);
        int n = uv_try_write(&t->h.stream, &b, 1);
        if (n == UV_EAGAIN) n = 0;
        if (n < 0) {
            m->write_err = n;
            return n;
        }
        m->sent += (uint64_t)n;
        if ((size_t)n < o->len) {
            buf tmp = m->inflight;
            m->inflight = *o;
            *o = tmp;
            buf_clear(o);
            m->inflight_off = (size_t)n;
            uv_buf_t rest = uv_buf_init(m->inflight.data + n, (unsigned)(m->inflight.len - n));
            t->wreq.data = t;
            int rc = uv_write(&t->wreq, &t->h.stream, &rest, 1, on_uv_write);
            if (rc < 0) {
                m->write_err = rc;
                return rc;
            }
            m->uv_writing = 1;
        } else {
            buf_clear(o);
            buf_shrink(o, NET_IDLE_BUF_KEEP);
        }
    }
    if (owner_write_complete(m)) {
        if (sync) {
            t->writing = 0;
            t->ev->write_done(t, 0);
        } else {
            m->d_done = 1;
            defer(m);
        }
    }
    if (!t->closing) maybe_shutdown(t);
    return 0;
}

static void on_uv_write(uv_write_t *req, int status) {
    transport *t = req->data;
    tls_impl *m = t->impl;
    m->uv_writing = 0;
    if (t->closing) return; /* the closed event reports the owner's write */
    if (status < 0) {
        m->write_err = status;
        if (t->writing) {
            t->writing = 0;
            t->ev->write_done(t, status);
        }
        return;
    }
    m->sent += m->inflight.len - m->inflight_off;
    buf_clear(&m->inflight);
    buf_shrink(&m->inflight, NET_IDLE_BUF_KEEP);
    if (flush_out(t, 1) < 0 && t->writing && !t->closing) {
        t->writing = 0;
        t->ev->write_done(t, m->write_err);
    }
}

/* ---- reading ciphertext ---- */

static void on_uv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)suggested;
    transport *t = h->data;
    tls_impl *m = t->impl;
    size_t room;
    char *p = tls_session_in_room(m->sess, READ_ROOM, &room);
    *b = uv_buf_init(p, (unsigned)(room < READ_ROOM ? room : READ_ROOM));
}

static void stop_uv_read(transport *t) {
    tls_impl *m = t->impl;
    if (!m->uv_reading) return;
    uv_read_stop(&t->h.stream);
    m->uv_reading = 0;
}

static void handshake_end(transport *t, int status) {
    tls_impl *m = t->impl;
    transport_ready_cb done = m->done;
    m->done = NULL;
    if (status == 0) stop_uv_read(t); /* until the new owner reads */
    done(t, status);
}

static void on_uv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    (void)b;
    transport *t = s->data;
    tls_impl *m = t->impl;
    if (nread == 0) return;
    if (nread < 0) {
        stop_uv_read(t);
        if (m->done) {
            handshake_end(t, (int)nread);
            return;
        }
        m->read_err = (int)nread;
        deliver(t);
        return;
    }
    tls_session_in_commit(m->sess, (size_t)nread);
    if (m->done)
        drive_handshake(t);
    else
        deliver(t);
}

static int start_uv_read(transport *t) {
    tls_impl *m = t->impl;
    if (m->uv_reading) return 0;
    int rc = uv_read_start(&t->h.stream, on_uv_alloc, on_uv_read);
    if (rc == 0) m->uv_reading = 1;
    return rc;
}

static void drive_handshake(transport *t) {
    tls_impl *m = t->impl;
    int rc = tls_session_handshake(m->sess);
    int wrc = flush_out(t, 1); /* our flight, or the alert telling the peer why */
    if (rc == TLS_WANT && wrc == 0) return;
    if (rc == TLS_DONE && wrc == 0) {
        handshake_end(t, 0);
        return;
    }
    log_verbose("TLS handshake failed: %s",
                wrc < 0 ? uv_strerror(wrc) : tls_session_error(m->sess));
    handshake_end(t, wrc < 0 ? wrc : UV_EPROTO);
}

/* Hands decrypted bytes to the owner while it reads; reports the end of the stream. */
static void deliver(transport *t) {
    tls_impl *m = t->impl;
    while (t->reading && !t->closing) {
        uv_buf_t b;
        t->ev->alloc(t, READ_ROOM, &b);
        int n = tls_session_read(m->sess, b.base, b.len);
        if (n > 0) {
            t->ev->read(t, n, &b);
            continue;
        }
        if (flush_out(t, 1) < 0) n = TLS_ERROR; /* a reply to a key update, say */
        if (n == TLS_WANT && !m->read_err) {
            tls_session_shrink(m->sess, NET_IDLE_BUF_KEEP);
            return;
        }
        int err = n == TLS_WANT ? m->read_err : n == TLS_CLOSED ? UV_EOF : UV_EPROTO;
        if (n == TLS_ERROR) log_verbose("TLS read failed: %s", tls_session_error(m->sess));
        m->read_err = 0;
        stop_uv_read(t);
        t->ev->read(t, err, &b);
        return;
    }
}

/* ---- the transport table ---- */

static int tls_init(transport *t, uv_loop_t *loop) {
    int rc = uv_tcp_init(loop, &t->h.tcp);
    if (rc < 0) return rc;
    tls_impl *m = mem_calloc(1, sizeof(*m));
    m->t = t;
    buf_init(&m->inflight);
    t->impl = m;
    return 0;
}

static int tls_handshake(transport *t, int server_side, transport_ready_cb done) {
    tls_impl *m = t->impl;
    if (m->sess || t->closing) return UV_EINVAL;
    m->sess = tls_session_new(server_side, config.tls_auth_clients, NULL);
    if (!m->sess) return UV_EINVAL;
    m->done = done;
    int rc = start_uv_read(t);
    if (rc < 0) return rc;
    if (!server_side) { /* the client speaks first, from the loop */
        m->d_handshake = 1;
        defer(m);
    }
    return 0;
}

static int tls_read_start(transport *t) {
    tls_impl *m = t->impl;
    if (t->closing || !m->sess || m->done) return 0;
    t->reading = 1;
    if (!m->read_err) {
        int rc = start_uv_read(t);
        if (rc < 0) return rc;
    }
    if (m->read_err || tls_session_readable(m->sess)) {
        m->d_deliver = 1;
        defer(m);
    }
    return 0;
}

static void tls_read_stop(transport *t) {
    t->reading = 0;
    stop_uv_read(t);
}

static int tls_try_write(transport *t, const char *p, size_t len) {
    tls_impl *m = t->impl;
    if (t->closing) return UV_ECANCELED;
    if (m->write_err) return m->write_err;
    if (!m->sess || m->done) return UV_ENOTCONN;
    if (m->uv_writing || tls_session_out(m->sess)->len) return 0;
    size_t take = len < TRY_WRITE_MAX ? len : TRY_WRITE_MAX;
    if (tls_session_write(m->sess, p, take) < 0) return UV_EPROTO;
    int rc = flush_out(t, 0);
    return rc < 0 ? rc : (int)take;
}

/* Encrypted one after the other: the buffers' plaintext in order. */
static int tls_try_writev(transport *t, const uv_buf_t *bufs, unsigned n) {
    int took = 0;
    for (unsigned i = 0; i < n; i++) {
        int rc = tls_try_write(t, bufs[i].base, bufs[i].len);
        if (rc < 0) return took ? took : rc;
        took += rc;
        if ((size_t)rc < bufs[i].len) break;
    }
    return took;
}

static int tls_writev(transport *t, const uv_buf_t *bufs, unsigned n) {
    tls_impl *m = t->impl;
    if (t->closing) return UV_ECANCELED;
    if (m->write_err) return m->write_err;
    if (!m->sess || m->done) return UV_ENOTCONN;
    for (unsigned i = 0; i < n; i++)
        if (tls_session_write(m->sess, bufs[i].base, bufs[i].len) < 0) return UV_EPROTO;
    size_t queued =
        (m->uv_writing ? m->inflight.len - m->inflight_off : 0) + tls_session_out(m->sess)->len;
    m->owner_mark = m->sent + queued;
    t->writing = 1;
    return flush_out(t, 0);
}

static int tls_write(transport *t, const char *p, size_t len) {
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    return tls_writev(t, &b, 1);
}

static int tls_shutdown(transport *t) {
    tls_impl *m = t->impl;
    if (t->closing || !m->sess || m->want_shutdown) return 0;
    tls_session_shutdown(m->sess);
    m->want_shutdown = 1;
    return flush_out(t, 0);
}

static void on_closed(uv_handle_t *h) {
    transport *t = h->data;
    if (t->writing) {
        t->writing = 0;
        if (t->ev && t->ev->write_done) t->ev->write_done(t, UV_ECANCELED);
    }
    if (t->ev && t->ev->closed) t->ev->closed(t);
    t->type->deinit(t);
    mem_free(t);
}

static void tls_close(transport *t) {
    tls_impl *m = t->impl;
    if (t->closing) return;
    /* A last close_notify, if the socket takes it now. */
    if (m->sess && !m->done && !m->write_err && !m->uv_writing && !m->want_shutdown) {
        tls_session_shutdown(m->sess);
        buf *o = tls_session_out(m->sess);
        uv_buf_t b = uv_buf_init(o->data, (unsigned)o->len);
        if (o->len) (void)uv_try_write(&t->h.stream, &b, 1);
    }
    t->closing = 1;
    t->reading = 0;
    undefer(m);
    uv_close(&t->h.handle, on_closed);
}

static void tls_deinit(transport *t) {
    tls_impl *m = t->impl;
    if (!m) return;
    undefer(m);
    tls_session_free(m->sess);
    buf_deinit(&m->inflight);
    mem_free(m);
    t->impl = NULL;
}

const transport_type transport_tls = {
    .name = "tls",
    .init = tls_init,
    .handshake = tls_handshake,
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .try_write = tls_try_write,
    .write = tls_write,
    .try_writev = tls_try_writev,
    .writev = tls_writev,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .deinit = tls_deinit,
};

/* ---- configuration from the tls-* directives ---- */

int net_tls_configure(char **err) {
    tls_settings s = {
        .cert_file = config.tls_cert_file,
        .key_file = config.tls_key_file,
        .key_file_pass = config.tls_key_file_pass,
        .client_cert_file = config.tls_client_cert_file,
        .client_key_file = config.tls_client_key_file,
        .client_key_file_pass = config.tls_client_key_file_pass,
        .dh_params_file = config.tls_dh_params_file,
        .ca_cert_file = config.tls_ca_cert_file,
        .ca_cert_dir = config.tls_ca_cert_dir,
        .protocols = config.tls_protocols,
        .ciphers = config.tls_ciphers,
        .ciphersuites = config.tls_ciphersuites,
        .prefer_server_ciphers = config.tls_prefer_server_ciphers,
        .session_caching = config.tls_session_caching,
        .session_cache_size = config.tls_session_cache_size,
        .session_cache_timeout = config.tls_session_cache_timeout,
        .auth_clients = config.tls_auth_clients,
        .replication = config.tls_replication,
        .cluster = config.tls_cluster,
    };
    return tls_configure(&s, err);
}
