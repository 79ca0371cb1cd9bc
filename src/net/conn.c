/* conn: connections, the only code that touches libuv streams.
 *
 * Per connection:
 *
 *     socket ─read─▶ in (query buffer) ─resp_parse─▶ argv slices ─cmd_dispatch─▶ s->out
 *     s->out ─(once per loop turn, uv_try_write first)─▶ socket; the unwritten tail moves
 *     to wbuf and goes out with uv_write while new replies gather in s->out.
 *
 * Connections with replies to send are put on the `pending` list; a uv_check handle
 * (which runs after libuv has polled for I/O) flushes them all, so every pipeline batch
 * read in one loop turn is answered with one write.
 *
 * Fairness: a read that fills its whole buffer (READ_CHUNK) means more input is waiting,
 * and libuv would go on reading and we on executing it, up to 32 reads in one go. Instead
 * the connection stops being read for the rest of the loop turn (resume_read) and starts
 * again after the flush, so one deep pipeline is executed 16 KB per turn, between the
 * other clients' requests, as Redis reads 16 KB per client per event. Writes to a hash of
 * ten million fields cost a few microseconds each in cache misses: unbounded, a 70 KB
 * batch kept a PING waiting 13 ms.
 *
 * Backpressure: while a connection has more than OUT_PAUSE bytes of replies in flight it
 * stops being read and its unparsed input waits, so a client that does not read its
 * replies cannot make the server buffer without bound. Pushed output (pub/sub) is bounded
 * by client-output-buffer-limit instead.
 *
 * Lifetimes: a conn is freed only in its uv_close callback; its session with it. */
#include "mayfly/net/conn.h"

#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/session.h"
#include "mayfly/config.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)
#define OUT_PAUSE (8 * 1024 * 1024) /* stop reading while this much output is unsent */
#define IDLE_BUF_KEEP (32 * 1024)   /* larger idle buffers are freed */

typedef struct conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    session *s;
    buf in; /* unparsed input */
    resp_parser parser;
    slice *argv; /* argument slices for the command being dispatched */
    int argv_cap;
    buf wbuf;    /* bytes owned by the uv_write in flight */
    size_t woff; /* where the in-flight bytes start in wbuf */
    uv_write_t wreq;
    int writing;     /* a uv_write is in flight */
    int reading;     /* uv_read_start is active */
    int closing;     /* uv_close was called */
    int pending;     /* on the pending list */
    int resume_read; /* reading stopped for the rest of this loop turn (fairness) */
    struct conn *pnext, *pprev;
} conn;

typedef struct listener {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    int is_unix;
} listener;

static uv_loop_t *loop;
static uv_check_t flush_check;
static void (*before_flush)(void);
static conn *pending_head;
static listener *listeners[CONFIG_MAX_BIND + 1];
static int nlisteners;

static void conn_close(conn *c);

void conn_set_before_flush(void (*fn)(void)) {
    before_flush = fn;
}
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void process_input(conn *c);

/* ---- session callbacks ---- */

static void mark_pending(conn *c) {
    if (c->pending || c->closing) return;
    c->pending = 1;
    c->pprev = NULL;
    c->pnext = pending_head;
    if (pending_head) pending_head->pprev = c;
    pending_head = c;
}

static void unmark_pending(conn *c) {
    if (!c->pending) return;
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else
        pending_head = c->pnext;
    if (c->pnext) c->pnext->pprev = c->pprev;
    c->pending = 0;
}

/* client-output-buffer-limit, as Redis's checkClientOutputBufferLimits: a client whose
 * pending output (beyond the fixed first chunk) reaches the hard limit, or stays at or
 * over the soft limit for longer than soft_secs, is closed without flushing. Checked
 * whenever output is added (after a command, on every pub/sub delivery). Subscribers use
 * the pubsub class, everyone else the normal one. */
static void check_obuf_limits(conn *c) {
    session *s = c->s;
    if (s->flags & SESS_CLOSE_ASAP) return;
    int cls = (s->flags & SESS_PUBSUB) ? 2 : 0;
    long long used = (long long)session_omem(s);
    long long hard = config.client_obuf_hard[cls], soft = config.client_obuf_soft[cls];
    int over_hard = hard && used >= hard;
    int over_soft = soft && used >= soft;
    if (over_soft) {
        int64_t now = clock_now_ms();
        if (s->obl_soft_since_ms == 0) {
            s->obl_soft_since_ms = now;
            over_soft = 0;
        } else if (now - s->obl_soft_since_ms <=
                   (int64_t)config.client_obuf_soft_secs[cls] * 1000) {
            over_soft = 0;
        }
    } else {
        s->obl_soft_since_ms = 0;
    }
    if (!over_hard && !over_soft) return;
    log_warning("Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output "
                "buffer limits.",
                (unsigned long long)s->id, s->addr);
    host_stat.obuf_limit_disconnections++;
    s->flags |= SESS_CLOSE_ASAP;
    mark_pending(c);
}

static void ops_wake(session *s) {
    check_obuf_limits(s->conn);
    mark_pending(s->conn);
}

static void ops_kill(session *s) {
    s->flags |= SESS_CLOSE_ASAP;
    mark_pending(s->conn);
}

static size_t ops_qbuf(const session *s) {
    return ((const conn *)s->conn)->in.len;
}

static const session_ops conn_ops = {ops_wake, ops_kill, ops_qbuf};

/* ---- writing ---- */

static void start_reading(conn *c) {
    if (c->reading || c->closing) return;
    if (uv_read_start(&c->h.stream, on_alloc, on_read) == 0) c->reading = 1;
}

static void stop_reading(conn *c) {
    if (!c->reading) return;
    uv_read_stop(&c->h.stream);
    c->reading = 0;
}

static void on_write(uv_write_t *req, int status) {
    conn *c = req->data;
    c->writing = 0;
    c->s->out_inflight = 0;
    host_stat.net_output_bytes += (long long)(c->wbuf.len - c->woff);
    buf_clear(&c->wbuf);
    buf_shrink(&c->wbuf, IDLE_BUF_KEEP);
    if (status < 0 || c->closing) {
        conn_close(c);
        return;
    }
    /* Input left unparsed by backpressure is served now. */
    if (c->in.len) process_input(c);
    if (!c->closing) start_reading(c);
    mark_pending(c);
}

static void flush(conn *c) {
    session *s = c->s;
    if (c->closing) return;
    if (s->flags & SESS_CLOSE_ASAP) { /* even with a write in flight to a stuck peer */
        conn_close(c);
        return;
    }
    if (c->writing) return;
    if (s->out.len) {
        uv_buf_t b = uv_buf_init(s->out.data, (unsigned)s->out.len);
        int n = uv_try_write(&c->h.stream, &b, 1);
        if (n == UV_EAGAIN) n = 0;
        if (n < 0) {
            conn_close(c);
            return;
        }
        host_stat.net_output_bytes += n;
        host_stat.writes_processed++;
        if ((size_t)n < s->out.len) {
            /* Hand the unwritten tail to uv_write; replies keep gathering in s->out. */
            buf tmp = c->wbuf;
            c->wbuf = s->out;
            c->woff = (size_t)n;
            s->out = tmp;
            buf_clear(&s->out);
            uv_buf_t rest = uv_buf_init(c->wbuf.data + n, (unsigned)(c->wbuf.len - (size_t)n));
            c->wreq.data = c;
            if (uv_write(&c->wreq, &c->h.stream, &rest, 1, on_write) < 0) {
                conn_close(c);
                return;
            }
            c->writing = 1;
            s->out_inflight = c->wbuf.len - c->woff;
            if (c->wbuf.len - c->woff > OUT_PAUSE) stop_reading(c);
            return;
        }
        buf_clear(&s->out);
        buf_shrink(&s->out, IDLE_BUF_KEEP);
    }
    if (s->flags & SESS_CLOSE_AFTER_REPLY) conn_close(c);
}

static void on_check(uv_check_t *h) {
    (void)h;
    /* The append-only log is written (and fsynced) before any reply of the turn leaves. */
    if (before_flush) before_flush();
    while (pending_head) {
        conn *c = pending_head;
        unmark_pending(c);
        flush(c);
        if (c->resume_read) {
            c->resume_read = 0;
            /* With a write in flight, on_write starts reading again. */
            if (!c->closing && !c->writing) start_reading(c);
        }
    }
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)suggested;
    conn *c = h->data;
    size_t want = resp_bytes_wanted(&c->parser);
    if (want < READ_CHUNK) want = READ_CHUNK;
    char *p = buf_reserve(&c->in, want);
    /* No more than wanted even if the buffer has more room: a full read is the sign that
     * input is waiting (see Fairness above). */
    size_t room = c->in.cap - c->in.len;
    *b = uv_buf_init(p, (unsigned)(room < want ? room : want));
}

static void process_input(conn *c) {
    session *s = c->s;
    size_t pos = 0;
    while (pos < c->in.len && !c->closing &&
           !(s->flags & (SESS_CLOSE_AFTER_REPLY | SESS_CLOSE_ASAP))) {
        if (c->writing && c->wbuf.len - c->woff + s->out.len > OUT_PAUSE) {
            stop_reading(c); /* backpressure: resume in on_write */
            break;
        }
        c->parser.limits.unauthenticated = !s->authenticated;
        int rc = resp_parse(&c->parser, c->in.data + pos, c->in.len - pos);
        if (rc == RESP_INCOMPLETE) break;
        if (rc == RESP_EPROTO) {
            buf_puts(&s->out, "-ERR ");
            buf_puts(&s->out, c->parser.err);
            buf_puts(&s->out, "\r\n");
            log_verbose("Protocol error (%s) from client id=%llu addr=%s", c->parser.err,
                        (unsigned long long)s->id, s->addr);
            s->flags |= SESS_CLOSE_AFTER_REPLY;
            pos = c->in.len;
            break;
        }
        int argc = c->parser.argc;
        if (argc > 0) {
            if (argc > c->argv_cap) {
                c->argv_cap = argc < 16 ? 16 : argc;
                mem_free(c->argv);
                c->argv = mem_alloc(sizeof(slice) * (size_t)c->argv_cap);
            }
            const char *base = c->parser.inline_base ? c->parser.inline_base : c->in.data + pos;
            for (int i = 0; i < argc; i++)
                c->argv[i] = (slice){base + c->parser.argv[i].off, c->parser.argv[i].len};
            cmd_dispatch(s, argc, c->argv);
        }
        pos += c->parser.consumed;
    }
    buf_consume(&c->in, pos);
    if ((long long)c->in.len > config.client_query_buffer_limit) {
        log_warning("Closing client that reached max query buffer length: id=%llu addr=%s "
                    "(qbuf=%zu)",
                    (unsigned long long)s->id, s->addr, c->in.len);
        s->flags |= SESS_CLOSE_ASAP;
        host_stat.qbuf_limit_disconnections++;
    }
    if (c->in.len == 0) buf_shrink(&c->in, IDLE_BUF_KEEP);
    check_obuf_limits(c);
    mark_pending(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b) {
    conn *c = stream->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0) return;
    c->in.len += (size_t)nread;
    host_stat.net_input_bytes += nread;
    host_stat.reads_processed++;
    process_input(c);
    if ((size_t)nread == b->len && c->reading && !c->closing) {
        stop_reading(c); /* more is waiting: the other clients first (see Fairness) */
        c->resume_read = 1;
        mark_pending(c);
    }
}

/* ---- lifecycle ---- */

static void on_closed(uv_handle_t *h) {
    conn *c = h->data;
    unmark_pending(c);
    session_free(c->s);
    resp_parser_deinit(&c->parser);
    buf_deinit(&c->in);
    buf_deinit(&c->wbuf);
    mem_free(c->argv);
    mem_free(c);
}

static void conn_close(conn *c) {
    if (c->closing) return;
    stop_reading(c);
    c->closing = 1;
    unmark_pending(c);
    uv_close(&c->h.handle, on_closed);
}

int conn_protected_denies(int protected_mode, int has_password, int is_local) {
    return protected_mode && !has_password && !is_local;
}

int conn_addr_is_local(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) return a->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t cap) {
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

static const char denied_msg[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    "same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Set up an authentication password for the default user. NOTE: You only need to "
    "do one of the above things in order for the server to start accepting connections from "
    "the outside.\r\n";

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    listener *l = server->data;
    conn *c = mem_calloc(1, sizeof(*c));
    if (l->is_unix)
        uv_pipe_init(loop, &c->h.pipe, 0);
    else
        uv_tcp_init(loop, &c->h.tcp);
    c->h.handle.data = c;
    resp_parser_init(&c->parser);
    c->parser.limits.max_bulk_len = config.proto_max_bulk_len;
    buf_init(&c->in);
    buf_init(&c->wbuf);
    c->s = session_new(&conn_ops, c);
    session *s = c->s;
    if (uv_accept(server, &c->h.stream) != 0) {
        conn_close(c);
        return;
    }
    host_stat.total_connections++;
    s->ctime_ms = s->last_ms = clock_now_ms();
    uv_os_fd_t fd;
    if (uv_fileno(&c->h.handle, &fd) == 0) s->fd = fd;
    int local = 1;
    if (l->is_unix) {
        s->flags |= SESS_UNIX;
        snprintf(s->addr, sizeof(s->addr), "%s:0", config.unixsocket ? config.unixsocket : "");
        snprintf(s->laddr, sizeof(s->laddr), "%s:0", config.unixsocket ? config.unixsocket : "");
    } else {
        struct sockaddr_storage ss;
        int len = sizeof(ss);
        memset(&ss, 0, sizeof(ss));
        if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
            format_addr(&ss, s->addr, sizeof(s->addr));
            local = conn_addr_is_local(&ss);
        }
        len = sizeof(ss);
        if (uv_tcp_getsockname(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0)
            format_addr(&ss, s->laddr, sizeof(s->laddr));
        uv_tcp_nodelay(&c->h.tcp, 1);
        if (config.tcp_keepalive > 0)
            uv_tcp_keepalive(&c->h.tcp, 1, (unsigned)config.tcp_keepalive);
    }
    if (local) s->flags |= SESS_LOOPBACK;
    if ((long long)session_count() > config.maxclients) {
        host_stat.rejected_connections++;
        buf_puts(&s->out, "-ERR max number of clients reached\r\n");
        s->flags |= SESS_CLOSE_AFTER_REPLY;
        mark_pending(c);
        return;
    }
    if (conn_protected_denies(config.protected_mode, config.requirepass != NULL, local)) {
        log_warning("Possible SECURITY ATTACK detected. Protected mode refused a connection "
                    "from %s",
                    s->addr);
        buf_append(&s->out, denied_msg, sizeof(denied_msg) - 1);
        s->flags |= SESS_CLOSE_AFTER_REPLY;
        mark_pending(c);
        return;
    }
    start_reading(c);
}

/* ---- listeners ---- */

static int listen_tcp(const char *addr, int optional) {
    struct sockaddr_storage ss;
    const char *a = addr;
    if (strcmp(a, "*") == 0) a = "0.0.0.0";
    if (strcmp(a, "::*") == 0) a = "::";
    int v6 = strchr(a, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(a, config.port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(a, config.port, (struct sockaddr_in *)&ss);
    if (rc < 0) {
        log_warning("Invalid bind address '%s'", addr);
        return optional ? 0 : -1;
    }
    listener *l = mem_calloc(1, sizeof(*l));
    uv_tcp_init(loop, &l->h.tcp);
    l->h.handle.data = l;
    rc = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0) rc = uv_listen(&l->h.stream, config.tcp_backlog, on_connection);
    if (rc < 0) {
        uv_close(&l->h.handle, (uv_close_cb)mem_free);
        if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT)) {
            log_notice("Skipping optional bind address %s: %s", addr, uv_strerror(rc));
            return 0;
        }
        log_warning("Warning: Could not create server TCP listening socket %s:%d: %s", a,
                    config.port, uv_strerror(rc));
        return -1;
    }
    listeners[nlisteners++] = l;
    if (config.port == 0) {
        int len = sizeof(ss);
        uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &len);
        host_stat.tcp_port =
            ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        host_stat.tcp_port = config.port;
    }
    return 0;
}

static int listen_unix(const char *path) {
    listener *l = mem_calloc(1, sizeof(*l));
    l->is_unix = 1;
    uv_pipe_init(loop, &l->h.pipe, 0);
    l->h.handle.data = l;
    unlink(path);
    int rc = uv_pipe_bind(&l->h.pipe, path);
    if (rc == 0 && config.unixsocketperm) chmod(path, (mode_t)config.unixsocketperm);
    if (rc == 0) rc = uv_listen(&l->h.stream, config.tcp_backlog, on_connection);
    if (rc < 0) {
        uv_close(&l->h.handle, (uv_close_cb)mem_free);
        log_warning("Failed opening Unix socket %s: %s", path, uv_strerror(rc));
        return -1;
    }
    listeners[nlisteners++] = l;
    return 0;
}

void conn_init(uv_loop_t *l) {
    loop = l;
    uv_check_init(loop, &flush_check);
    uv_check_start(&flush_check, on_check);
    uv_unref((uv_handle_t *)&flush_check);
}

int conn_listen_all(uv_loop_t *l) {
    loop = l;
    if (config.port != 0) {
        for (int i = 0; i < config.bind_count; i++) {
            const char *a = config.bind[i];
            int optional = a[0] == '-';
            if (listen_tcp(optional ? a + 1 : a, optional) < 0) return -1;
        }
        if (nlisteners == 0) {
            log_warning("Failed listening on any bind address");
            return -1;
        }
    }
    if (config.unixsocket && listen_unix(config.unixsocket) < 0) return -1;
    if (nlisteners == 0) {
        log_warning("Configured to not listen anywhere, exiting.");
        return -1;
    }
    return 0;
}

void conn_close_listeners(void) {
    for (int i = 0; i < nlisteners; i++) {
        if (listeners[i]->is_unix && config.unixsocket) unlink(config.unixsocket);
        uv_close(&listeners[i]->h.handle, (uv_close_cb)mem_free);
    }
    nlisteners = 0;
}

void conn_close_fds_in_child(void) {
    for (int i = 0; i < nlisteners; i++) {
        uv_os_fd_t fd;
        if (uv_fileno(&listeners[i]->h.handle, &fd) == 0) close(fd);
    }
    for (session *s = session_first(); s; s = s->next)
        if (s->ops == &conn_ops && s->fd >= 0) close(s->fd);
}

void conn_close_all(void) {
    for (session *s = session_first(); s; s = s->next) {
        if (s->ops != &conn_ops) continue;
        conn *c = s->conn;
        if (c->closing) continue;
        /* A last, best-effort write of what is pending, then close. */
        if (!c->writing && s->out.len) {
            uv_buf_t b = uv_buf_init(s->out.data, (unsigned)s->out.len);
            uv_try_write(&c->h.stream, &b, 1);
        }
        conn_close(c);
    }
}

void conn_cron(int64_t now_ms) {
    for (session *s = session_first(); s; s = s->next) {
        if (s->ops != &conn_ops) continue;
        conn *c = s->conn;
        if (c->closing) continue;
        if (config.timeout > 0 && !(s->flags & SESS_PUBSUB) && !(s->flags & SESS_MULTI) &&
            now_ms - s->last_ms > (int64_t)config.timeout * 1000) {
            log_verbose("Closing idle client id=%llu", (unsigned long long)s->id);
            conn_close(c);
            continue;
        }
        if (c->in.len == 0) buf_shrink(&c->in, IDLE_BUF_KEEP);
    }
}
