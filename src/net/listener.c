/* listener: the listening sockets and the admission of each accepted connection.
 *
 * One listener per bind address (IPv4, or IPv6-only for an address with a ':'; a leading
 * '-' makes an address optional, as in Redis) on `port`, plus one on `unixsocket`. Each
 * listener has a transport type (plain TCP or Unix today; a TLS port would use the TLS
 * type); an accepted stream becomes a transport of that type, runs the type's handshake
 * if it has one, and is then admitted:
 *
 *     accept ─▶ transport ─▶ (handshake) ─▶ conn + session ─▶ maxclients ─▶ protected mode
 *                                                                 │              │
 *                                          -ERR max number of clients   -DENIED ...  (then close)
 *
 * The admission errors are replies written by the connection itself, so they go out on
 * the same path (and, over TLS, encrypted) as any reply.
 *
 * CONFIG SET port / bind / tls-port re-listen at once (Redis's changeListener), in two
 * steps so that a failure changes nothing: the listeners the new (address, port) list
 * needs are opened beside the old ones (a listener already on such a pair is kept), and
 * only when every one is open are the old ones no longer wanted closed; if one cannot be
 * opened, the new ones close and the old ones go on. Connections already accepted stay. */
#include "mayfly/net/listener.h"

#include "mayfly/acl/acl.h"
#include "mayfly/cmd/host.h"
#include "mayfly/config.h"
#include "mayfly/net/net.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "net/net_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct listener {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    const transport_type *type; /* of the connections it accepts */
    const peer_events *peer_ev; /* NULL: clients; else accepted connections become peers */
    int port;                   /* TCP: the port asked for */
    int keep;                   /* a re-listen wants it (see relisten) */
    char addr[64];              /* TCP: the bind address as configured, without its '-' */
} listener;

/* TCP and TLS (twice each while a re-listen has old and new open), cluster bus, Unix. */
static listener *listeners[5 * CONFIG_MAX_BIND + 1];
static int nlisteners;

int listener_protected_denies(int protected_mode, int has_password, int is_local) {
    return protected_mode && !has_password && !is_local;
}

int listener_addr_is_local(const struct sockaddr_storage *ss) {
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
static const char maxclients_msg[] = "-ERR max number of clients reached\r\n";

/* Fills the session's connection facts; returns 1 if the peer counts as local. */
static int describe_peer(transport *t, session *s) {
    if (transport_is_unix(t)) {
        const char *path = config.unixsocket ? config.unixsocket : "";
        s->flags |= SESS_UNIX;
        snprintf(s->addr, sizeof(s->addr), "%s:0", path);
        snprintf(s->laddr, sizeof(s->laddr), "%s:0", path);
        return 1;
    }
    if (t->type == &transport_tls) s->flags |= SESS_TLS;
    int local = 1;
    struct sockaddr_storage ss;
    if (transport_sockaddr(t, 1, &ss) == 0) {
        transport_format_addr(&ss, s->addr, sizeof(s->addr));
        local = listener_addr_is_local(&ss);
    }
    if (transport_sockaddr(t, 0, &ss) == 0) transport_format_addr(&ss, s->laddr, sizeof(s->laddr));
    transport_tune_tcp(t, 1, config.tcp_keepalive);
    return local;
}

/* A transport is ready for application data: make it a client and admit it. */
static void admit(transport *t) {
    conn *c = conn_new(t);
    session *s = conn_session(c);
    host_stat.total_connections++;
    s->ctime_ms = s->last_ms = clock_now_ms();
    int local = describe_peer(t, s);
    if (local) s->flags |= SESS_LOOPBACK;
    if ((long long)session_count() > config.maxclients) {
        host_stat.rejected_connections++;
        conn_refuse(c, maxclients_msg, sizeof(maxclients_msg) - 1);
        return;
    }
    if (listener_protected_denies(config.protected_mode, !acl_user_nopass(acl_default_user()),
                                  local)) {
        log_warning("Possible SECURITY ATTACK detected. Protected mode refused a connection "
                    "from %s",
                    s->addr);
        conn_refuse(c, denied_msg, sizeof(denied_msg) - 1);
        return;
    }
    conn_start(c);
}

/* While a transport runs its handshake nobody owns it but the listener: no data flows,
 * and a close needs nothing freed besides the transport itself. */
static void pre_alloc(transport *t, size_t suggested, uv_buf_t *b) {
    (void)t;
    (void)suggested;
    *b = uv_buf_init(NULL, 0);
}
static void pre_read(transport *t, ssize_t nread, const uv_buf_t *b) {
    (void)nread;
    (void)b;
    transport_close(t);
}
static void pre_write_done(transport *t, int status) {
    (void)t;
    (void)status;
}
static const transport_events pre_events = {pre_alloc, pre_read, pre_write_done, NULL};

/* An accepted connection of a peer listener (the cluster bus) becomes a peer. */
static void admit_peer(transport *t, const peer_events *ev) {
    transport_tune_tcp(t, 1, config.tcp_keepalive);
    peer *pe = peer_new_pending(ev, NULL);
    buf none;
    buf_init(&none);
    peer_adopt(pe, t, &none);
    buf_deinit(&none);
}

static void on_handshake(transport *t, int status) {
    if (status < 0) {
        log_verbose("Handshake failed on an accepted %s connection: %s", t->type->name,
                    uv_strerror(status));
        transport_close(t);
        return;
    }
    const peer_events *ev = t->data;
    if (ev)
        admit_peer(t, ev);
    else
        admit(t);
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    listener *l = server->data;
    transport *t = transport_new(net_loop, l->type, NULL);
    if (!t) return;
    transport_set_owner(t, &pre_events, NULL);
    if (uv_accept(server, &t->h.stream) != 0) {
        transport_close(t);
        return;
    }
    if (!t->type->handshake) {
        if (l->peer_ev)
            admit_peer(t, l->peer_ev);
        else
            admit(t);
        return;
    }
    t->data = (void *)l->peer_ev; /* read back by on_handshake */
    if (transport_handshake(t, 1, on_handshake) < 0) transport_close(t);
}

/* ---- opening and closing ---- */

static void free_handle(uv_handle_t *h) {
    mem_free(h->data);
}

static int listen_tcp(const char *addr, int optional, int port, const transport_type *type,
                      const peer_events *peer_ev) {
    struct sockaddr_storage ss;
    const char *a = addr;
    if (strcmp(a, "*") == 0) a = "0.0.0.0";
    if (strcmp(a, "::*") == 0) a = "::";
    int v6 = strchr(a, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(a, port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(a, port, (struct sockaddr_in *)&ss);
    if (rc < 0) {
        log_warning("Invalid bind address '%s'", addr);
        return optional ? 0 : -1;
    }
    listener *l = mem_calloc(1, sizeof(*l));
    l->type = type;
    l->peer_ev = peer_ev;
    l->port = port;
    snprintf(l->addr, sizeof(l->addr), "%s", addr);
    uv_tcp_init(net_loop, &l->h.tcp);
    l->h.handle.data = l;
    rc = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0) rc = uv_listen(&l->h.stream, config.tcp_backlog, on_connection);
    if (rc < 0) {
        uv_close(&l->h.handle, free_handle);
        if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT)) {
            log_notice("Skipping optional bind address %s: %s", addr, uv_strerror(rc));
            return 0;
        }
        log_warning("Warning: Could not create server TCP listening socket %s:%d: %s", a, port,
                    uv_strerror(rc));
        return -1;
    }
    listeners[nlisteners++] = l;
    return 0;
}

static int listen_unix(const char *path) {
    listener *l = mem_calloc(1, sizeof(*l));
    l->type = &transport_unix;
    uv_pipe_init(net_loop, &l->h.pipe, 0);
    l->h.handle.data = l;
    unlink(path);
    int rc = uv_pipe_bind(&l->h.pipe, path);
    if (rc == 0 && config.unixsocketperm) chmod(path, (mode_t)config.unixsocketperm);
    if (rc == 0) rc = uv_listen(&l->h.stream, config.tcp_backlog, on_connection);
    if (rc < 0) {
        uv_close(&l->h.handle, free_handle);
        log_warning("Failed opening Unix socket %s: %s", path, uv_strerror(rc));
        return -1;
    }
    listeners[nlisteners++] = l;
    return 0;
}

/* ---- re-listening: open what is missing, then close what is no longer wanted ---- */

/* The client listener of type on (addr, port) among the first n, or NULL. */
static listener *find_client(const transport_type *type, const char *addr, int port, int n) {
    for (int i = 0; i < n; i++) {
        listener *l = listeners[i];
        if (l->type == type && !l->peer_ev && l->port == port && strcmp(l->addr, addr) == 0)
            return l;
    }
    return NULL;
}

/* Step one for the client listeners of type: marks those of the first `old` that the bind
 * list on port keeps, and opens the missing ones (appended). Returns 0, or -1 (logged) when
 * an address cannot be listened on or, port being set, none is listened on. */
static int relisten_open(const transport_type *type, int port, int old) {
    if (port == 0) return 0; /* that kind of listener closes */
    int before = nlisteners, have = 0;
    for (int i = 0; i < config.bind_count; i++) {
        const char *a = config.bind[i];
        int optional = a[0] == '-';
        if (optional) a++;
        listener *l = find_client(type, a, port, old);
        if (l) {
            l->keep = 1;
            have++;
            continue;
        }
        if (listen_tcp(a, optional, port, type, NULL) < 0) return -1;
    }
    if (have == 0 && nlisteners == before) {
        log_warning("Failed listening on any bind address for %s on port %d", type->name, port);
        return -1;
    }
    return 0;
}

/* Step two, after relisten_open succeeded for every type in types[0..n): closes the old
 * client listeners of those types that were not kept. With undo, closes the new ones
 * instead (from index old on) and keeps every old one. */
static void relisten_finish(const transport_type *const *types, int n, int old, int undo) {
    int out = 0;
    for (int i = 0; i < nlisteners; i++) {
        listener *l = listeners[i];
        int concerned = 0;
        for (int t = 0; t < n; t++)
            concerned |= l->type == types[t] && !l->peer_ev;
        int drop = concerned && (undo ? i >= old : (i < old && !l->keep));
        l->keep = 0;
        if (drop)
            uv_close(&l->h.handle, free_handle);
        else
            listeners[out++] = l;
    }
    nlisteners = out;
}

/* Re-listens for types[i] on ports[i] (n of them) over the bind list, all or nothing. */
static int relisten(const transport_type *const *types, const int *ports, int n) {
    int old = nlisteners;
    for (int t = 0; t < n; t++) {
        if (relisten_open(types[t], ports[t], old) < 0) {
            relisten_finish(types, n, old, 1);
            return -1;
        }
    }
    relisten_finish(types, n, old, 0);
    host_stat.tcp_port = config.port ? config.port : config.tls_port; /* INFO, as Redis */
    return 0;
}

int net_listen(void) {
    static const transport_type *const tcp[] = {&transport_tcp};
    if (config.port != 0 && relisten(tcp, &config.port, 1) < 0) return -1;
    if (config.tls_port != 0 && net_listen_tls() < 0) return -1;
    if (config.unixsocket && listen_unix(config.unixsocket) < 0) return -1;
    if (nlisteners == 0) {
        log_warning("Configured to not listen anywhere, exiting.");
        return -1;
    }
    return 0;
}

int net_relisten(void) {
    static const transport_type *const both[] = {&transport_tcp, &transport_tls};
    int ports[] = {config.port, config.tls_port};
    return relisten(both, ports, 2);
}

int net_listen_peers(int port, const peer_events *ev) {
    const transport_type *type = config.tls_cluster ? &transport_tls : &transport_tcp;
    int before = nlisteners;
    for (int i = 0; i < config.bind_count; i++) {
        const char *a = config.bind[i];
        int optional = a[0] == '-';
        if (listen_tcp(optional ? a + 1 : a, optional, port, type, ev) < 0) return -1;
    }
    if (nlisteners == before) {
        log_warning("Failed listening on any bind address for the cluster bus");
        return -1;
    }
    return 0;
}

int net_listen_tls(void) {
    static const transport_type *const tls[] = {&transport_tls};
    return relisten(tls, &config.tls_port, 1);
}

void net_close_listeners(void) {
    for (int i = 0; i < nlisteners; i++) {
        if (listeners[i]->h.handle.type == UV_NAMED_PIPE && config.unixsocket)
            unlink(config.unixsocket);
        uv_close(&listeners[i]->h.handle, free_handle);
    }
    nlisteners = 0;
}

void listener_close_fds(void) {
    for (int i = 0; i < nlisteners; i++) {
        uv_os_fd_t fd;
        if (uv_fileno(&listeners[i]->h.handle, &fd) == 0) close(fd);
    }
}
