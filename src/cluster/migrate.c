/* migrate: MIGRATE, after Redis's migrateCommand.
 *
 * The keys found here are sent to the target as RESTORE (RESTORE-ASKING in cluster mode,
 * so a target importing the slot accepts them) with their remaining TTL and a DUMP payload
 * (rdb/, field TTLs inside), preceded by AUTH / AUTH2 and SELECT when needed; every key the
 * target stored is then deleted here (unless COPY) and the command is logged as DEL of
 * those keys. As in Redis the exchange is synchronous: the loop waits for the target, at
 * most `timeout` ms per read or write, so MIGRATE holds up other clients for as long as it
 * takes (Redis's documented behaviour; reshard tools move a few keys per call).
 *
 * Connections are cached per host:port for 10 s (64 at most), remembering the database the
 * last MIGRATE selected, as Redis's migrateGetSocket; a failed exchange closes the socket
 * and is retried once on a fresh one, unless it timed out or a key already moved. With
 * tls-cluster yes the connection speaks TLS, as Redis's (connTypeOfCluster): the handshake
 * runs within the connect timeout, and net/'s memory-BIO session is driven here by poll. */
#include "cluster/cluster_int.h"
#include "mayfly/client/notify.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/net/tls.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIGRATE_CACHE_MAX 64
#define MIGRATE_CACHE_TTL_MS 10000
#define MIGRATE_LINE_MAX 1024 /* a reply line longer than this is cut (Redis's buffers) */
#define MIGRATE_CHUNK (64 * 1024)

typedef struct mig_sock {
    char name[300]; /* "host:port" */
    int fd;
    tls_session *tls;    /* NULL: plain TCP */
    long long last_dbid; /* -1: none selected yet */
    int64_t last_use_ms;
    buf in; /* bytes read past the last line */
} mig_sock;

static mig_sock *cache[MIGRATE_CACHE_MAX];
static int ncache;

static void sock_close(mig_sock *s) {
    for (int i = 0; i < ncache; i++) {
        if (cache[i] != s) continue;
        cache[i] = cache[--ncache];
        break;
    }
    close(s->fd);
    if (s->tls) tls_session_free(s->tls);
    buf_deinit(&s->in);
    mem_free(s);
    host_stat.migrate_cached_sockets = ncache;
}

void migrate_cron(int64_t now_ms) {
    for (int i = ncache - 1; i >= 0; i--)
        if (now_ms - cache[i]->last_use_ms > MIGRATE_CACHE_TTL_MS) sock_close(cache[i]);
}

void migrate_close_fds(void) {
    for (int i = 0; i < ncache; i++)
        close(cache[i]->fd);
}

static int64_t mono_ms(void) {
    return clock_mono_us() / 1000;
}

/* Waits until fd is ready for events before deadline (monotonic ms); 1 ready, 0 timed out
 * (errno ETIMEDOUT) or failed. */
static int wait_fd(int fd, short events, int64_t deadline) {
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return 0;
        }
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return 0;
    }
}

/* Connects fd to a within deadline; 0 or -1. */
static int connect_within(int fd, const struct addrinfo *a, int64_t deadline) {
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) return 0;
    if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline)) return -1;
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) return -1;
    return 0;
}

/* A connected non-blocking socket to host:port within timeout_ms, or -1. */
static int dial(const char *hostname, const char *port, long long timeout_ms) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(hostname, port, &hints, &res) != 0) return -1;
    int fd = -1;
    int64_t deadline = mono_ms() + timeout_ms;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
            connect_within(fd, a, deadline) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* ---- I/O on a cached socket, plain or TLS ---- */

/* Sends the TLS session's pending ciphertext before deadline. 0 or -1. */
static int tls_flush(mig_sock *s, int64_t deadline) {
    buf *out = tls_session_out(s->tls);
    while (out->len > 0) {
        ssize_t w = write(s->fd, out->data, out->len);
        if (w > 0) {
            buf_consume(out, (size_t)w);
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (!wait_fd(s->fd, POLLOUT, deadline)) return -1;
    }
    return 0;
}

/* Reads some ciphertext into the TLS session before deadline. 0, or -1 (end of stream,
 * error, timeout). */
static int tls_fill(mig_sock *s, int64_t deadline) {
    for (;;) {
        size_t room;
        char *dst = tls_session_in_room(s->tls, 16384, &room);
        ssize_t r = read(s->fd, dst, room);
        if (r > 0) {
            tls_session_in_commit(s->tls, (size_t)r);
            return 0;
        }
        if (r == 0) return -1;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (!wait_fd(s->fd, POLLIN, deadline)) return -1;
    }
}

/* The client side of the TLS handshake before deadline. 0 or -1. */
static int tls_handshake_within(mig_sock *s, int64_t deadline) {
    for (;;) {
        int rc = tls_session_handshake(s->tls);
        if (tls_flush(s, deadline) < 0) return -1;
        if (rc == TLS_DONE) return 0;
        if (rc != TLS_WANT || tls_fill(s, deadline) < 0) return -1;
    }
}

/* Writes len bytes (a chunk of the request) before deadline. 0 or -1. */
static int sock_write(mig_sock *s, const char *p, size_t len, int64_t deadline) {
    if (s->tls) return tls_session_write(s->tls, p, len) < 0 ? -1 : tls_flush(s, deadline);
    while (len > 0) {
        ssize_t w = write(s->fd, p, len);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (!wait_fd(s->fd, POLLOUT, deadline)) return -1;
    }
    return 0;
}

/* Reads up to cap bytes of the reply stream before deadline: > 0 bytes, or -1. */
static ssize_t sock_read(mig_sock *s, char *dst, size_t cap, int64_t deadline) {
    for (;;) {
        if (s->tls) {
            int r = tls_session_read(s->tls, dst, cap);
            if (r > 0) return r;
            if (r != TLS_WANT || tls_flush(s, deadline) < 0 || tls_fill(s, deadline) < 0) return -1;
            continue;
        }
        ssize_t r = read(s->fd, dst, cap);
        if (r > 0) return r;
        if (r == 0) return -1;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (!wait_fd(s->fd, POLLIN, deadline)) return -1;
    }
}

/* The cached socket for host:port, or a new one (NULL when it cannot connect). */
static mig_sock *get_sock(slice addr, slice port, long long timeout_ms, int64_t now_ms) {
    char name[300];
    snprintf(name, sizeof(name), "%.*s:%.*s", (int)(addr.len > 255 ? 255 : addr.len), addr.p,
             (int)(port.len > 31 ? 31 : port.len), port.p);
    for (int i = 0; i < ncache; i++) {
        if (strcmp(cache[i]->name, name) != 0) continue;
        cache[i]->last_use_ms = now_ms;
        return cache[i];
    }
    if (ncache == MIGRATE_CACHE_MAX) sock_close(cache[0]);
    char h[256], p[32];
    snprintf(h, sizeof(h), "%.*s", (int)(addr.len > 255 ? 255 : addr.len), addr.p);
    snprintf(p, sizeof(p), "%.*s", (int)(port.len > 31 ? 31 : port.len), port.p);
    int64_t deadline = mono_ms() + timeout_ms;
    int fd = dial(h, p, timeout_ms);
    if (fd < 0) return NULL;
    mig_sock *s = mem_calloc(1, sizeof(*s));
    s->fd = fd;
    if (config.tls_cluster) {
        s->tls = tls_session_new(0, 0, h);
        if (!s->tls || tls_handshake_within(s, deadline) < 0) {
            close(fd);
            if (s->tls) tls_session_free(s->tls);
            mem_free(s);
            return NULL;
        }
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->last_dbid = -1;
    s->last_use_ms = now_ms;
    buf_init(&s->in);
    cache[ncache++] = s;
    host_stat.migrate_cached_sockets = ncache;
    return s;
}

/* Writes len bytes in chunks, each within timeout_ms. 0 or -1. */
static int write_all(mig_sock *s, const char *p, size_t len, long long timeout_ms) {
    while (len > 0) {
        size_t chunk = len > MIGRATE_CHUNK ? MIGRATE_CHUNK : len;
        if (sock_write(s, p, chunk, mono_ms() + timeout_ms) < 0) return -1;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

/* Reads one reply line (without CRLF) into out (MIGRATE_LINE_MAX bytes) within timeout_ms.
 * Returns 0 or -1. */
static int read_line(mig_sock *s, char *out, long long timeout_ms) {
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        char *nl = s->in.len ? memchr(s->in.data, '\n', s->in.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - s->in.data);
            size_t keep = n && s->in.data[n - 1] == '\r' ? n - 1 : n;
            if (keep >= MIGRATE_LINE_MAX) keep = MIGRATE_LINE_MAX - 1;
            memcpy(out, s->in.data, keep);
            out[keep] = '\0';
            buf_consume(&s->in, n + 1);
            return 0;
        }
        if (s->in.len > 64 * 1024) return -1; /* not a line reply: out of step */
        char *dst = buf_reserve(&s->in, 4096);
        ssize_t r = sock_read(s, dst, 4096, deadline);
        if (r < 0) return -1;
        s->in.len += (size_t)r;
    }
}

typedef struct mig_args {
    int copy, replace;
    slice user, pass; /* pass.p NULL: no AUTH; user.p NULL: AUTH without a user name */
    int first_key, nkeys;
    long long dbid, timeout;
} mig_args;

/* Parses the options after the timeout; returns 0, or -1 after replying. */
static int parse_args(cmd_ctx *c, mig_args *a) {
    *a = (mig_args){.first_key = 3, .nkeys = 1};
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        slice o = c->argv[j];
        if (slice_eq_ci(o, "copy")) {
            a->copy = 1;
        } else if (slice_eq_ci(o, "replace")) {
            a->replace = 1;
        } else if (slice_eq_ci(o, "auth") && more >= 1) {
            a->pass = c->argv[++j];
        } else if (slice_eq_ci(o, "auth2") && more >= 2) {
            a->user = c->argv[++j];
            a->pass = c->argv[++j];
        } else if (slice_eq_ci(o, "keys")) {
            if (c->argv[3].len != 0) {
                reply_error(c, "ERR When using MIGRATE KEYS option, the key argument must be set "
                               "to the empty string");
                return -1;
            }
            a->first_key = j + 1;
            a->nkeys = c->argc - j - 1;
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    if (arg_ll(c, c->argv[5], &a->timeout) < 0 || arg_ll(c, c->argv[4], &a->dbid) < 0) return -1;
    if (a->timeout <= 0) a->timeout = 1000;
    return 0;
}

/* The request: AUTH, SELECT, then one RESTORE per live key; keys[] gets the keys sent. */
static void build_request(cmd_ctx *c, const mig_args *a, const mig_sock *s, buf *out, slice *keys,
                          int *nsent) {
    if (a->pass.p) {
        resp_w_array(out, a->user.p ? 3 : 2);
        resp_w_bulk_cstr(out, "AUTH");
        if (a->user.p) resp_w_bulk(out, a->user.p, a->user.len);
        resp_w_bulk(out, a->pass.p, a->pass.len);
    }
    if (s->last_dbid != a->dbid) {
        resp_w_array(out, 2);
        resp_w_bulk_cstr(out, "SELECT");
        resp_w_bulk_ll(out, a->dbid);
    }
    buf payload;
    buf_init(&payload);
    *nsent = 0;
    for (int j = 0; j < a->nkeys; j++) {
        slice k = c->argv[a->first_key + j];
        dbentry *e = db_find(c->db, k, c->now_ms);
        if (!e) continue;
        long long ttl = 0;
        if (db_entry_expire(e)) {
            ttl = db_entry_expire(e) - c->now_ms;
            if (ttl < 1) ttl = 1;
        }
        resp_w_array(out, a->replace ? 5 : 4);
        resp_w_bulk_cstr(out, config.cluster_enabled ? "RESTORE-ASKING" : "RESTORE");
        resp_w_bulk(out, k.p, k.len);
        resp_w_bulk_ll(out, ttl);
        buf_clear(&payload);
        rdb_dump_payload(&payload, e->val, c->now_ms, config.rdbcompression);
        resp_w_bulk(out, payload.data, payload.len);
        if (a->replace) resp_w_bulk_cstr(out, "REPLACE");
        keys[(*nsent)++] = k;
    }
    buf_deinit(&payload);
}

enum { MIG_OK, MIG_TARGET_ERR, MIG_IO_WRITE, MIG_IO_READ };

/* Deletes a key the target took (unless COPY) and records it for the DEL record. */
static void moved_here(cmd_ctx *c, slice key, slice *moved, int *nmoved) {
    db_delete(c->db, key, c->now_ms);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_GENERIC, "del", key, c->db->id);
    moved[(*nmoved)++] = key;
}

/* Reads the replies to AUTH and SELECT, when they were sent. 0 or -1. */
static int read_preamble(mig_sock *s, const mig_args *a, int select, char *auth_line,
                         char *sel_line) {
    if (a->pass.p && read_line(s, auth_line, a->timeout) < 0) return -1;
    if (select && read_line(s, sel_line, a->timeout) < 0) return -1;
    return 0;
}

/* One exchange on s. Returns MIG_*; the keys the target took are deleted here (unless
 * COPY) and appended to moved. *replies counts the RESTORE replies read (a retry is
 * attempted only when none was). The target's first error is replied here. */
static int exchange(cmd_ctx *c, const mig_args *a, mig_sock *s, slice *moved, int *nmoved,
                    int *replies) {
    buf req;
    buf_init(&req);
    int n = 0, select = s->last_dbid != a->dbid;
    slice *sent = mem_alloc(sizeof(*sent) * (size_t)a->nkeys);
    build_request(c, a, s, &req, sent, &n);
    int rc = write_all(s, req.data, req.len, a->timeout) < 0 ? MIG_IO_WRITE : MIG_OK;
    buf_deinit(&req);
    char auth_line[MIGRATE_LINE_MAX] = "+", sel_line[MIGRATE_LINE_MAX] = "+";
    char line[MIGRATE_LINE_MAX], first_err[MIGRATE_LINE_MAX] = "";
    if (rc == MIG_OK && read_preamble(s, a, select, auth_line, sel_line) < 0) rc = MIG_IO_READ;
    /* A refused AUTH or SELECT fails every key; otherwise each RESTORE answers for its key,
     * and a key the target took is deleted here even after another key's error (Redis's
     * "delete just ack keys"). */
    const char *early = auth_line[0] == '-' ? auth_line : sel_line[0] == '-' ? sel_line : NULL;
    for (int j = 0; rc == MIG_OK && j < n; j++) {
        if (read_line(s, line, a->timeout) < 0) {
            rc = MIG_IO_READ;
            break;
        }
        (*replies)++;
        const char *err = early ? early : line[0] == '-' ? line : NULL;
        if (err && !first_err[0]) snprintf(first_err, sizeof(first_err), "%s", err + 1);
        if (!err && !a->copy) moved_here(c, sent[j], moved, nmoved);
    }
    mem_free(sent);
    if (first_err[0]) {
        s->last_dbid = -1;
        reply_errorf(c, "ERR Target instance replied with error: %s", first_err);
        return MIG_TARGET_ERR;
    }
    if (rc == MIG_OK) s->last_dbid = a->dbid;
    return rc;
}

/* Logs the moved keys as one DEL (nothing when none moved). */
static void propagate_moved(cmd_ctx *c, const slice *keys, int moved) {
    if (moved == 0) {
        propagate_none(c);
        return;
    }
    slice *argv = mem_alloc(sizeof(*argv) * (size_t)(moved + 1));
    argv[0] = slice_of("DEL");
    memcpy(argv + 1, keys, sizeof(*argv) * (size_t)moved);
    propagate_argv(c, moved + 1, argv);
    mem_free(argv);
}

/* The exchange with one retry on a fresh socket (Redis's socket_err path). Returns MIG_*,
 * or -1 when no connection could be made (replied). */
static int migrate_with_retry(cmd_ctx *c, const mig_args *a, slice *moved, int *nmoved) {
    int rc = MIG_IO_READ;
    for (int attempt = 0; attempt < 2; attempt++) {
        mig_sock *s = get_sock(c->argv[1], c->argv[2], a->timeout, c->now_ms);
        if (!s) {
            reply_error(c, "IOERR error or timeout connecting to the client");
            return -1;
        }
        int replies = 0;
        errno = 0;
        rc = exchange(c, a, s, moved, nmoved, &replies);
        if (rc == MIG_OK || rc == MIG_TARGET_ERR) return rc;
        int timed_out = errno == ETIMEDOUT;
        sock_close(s);
        if (timed_out || replies > 0) break;
    }
    return rc;
}

void cluster_cmd_migrate(cmd_ctx *c) {
    mig_args a;
    if (parse_args(c, &a) < 0) return;
    int live = 0;
    for (int j = 0; j < a.nkeys; j++)
        if (db_lookup(c->db, c->argv[a.first_key + j], c->now_ms, 0)) live++;
    if (live == 0) {
        propagate_none(c);
        reply_simple(c, "NOKEY");
        return;
    }
    slice *moved = mem_alloc(sizeof(*moved) * (size_t)a.nkeys);
    int nmoved = 0;
    int rc = migrate_with_retry(c, &a, moved, &nmoved);
    propagate_moved(c, moved, nmoved);
    mem_free(moved);
    if (rc == MIG_OK) reply_ok(c);
    if (rc == MIG_IO_WRITE || rc == MIG_IO_READ)
        reply_errorf(c, "IOERR error or timeout %s to target instance",
                     rc == MIG_IO_WRITE ? "writing" : "reading");
}

/* Redis's migrateGetKeys: the key at 3, or those after KEYS (none when the key argument is
 * not empty: MIGRATE answers that syntax error itself). */
static int migrate_getkeys(const cmd_spec *cmd, int argc, const slice *argv, cmd_key_list *out) {
    (void)cmd;
    int first = 3, num = argc > 3 ? 1 : 0;
    for (int i = 6; i < argc; i++) {
        if (slice_eq_ci(argv[i], "keys")) {
            if (argv[3].len > 0) {
                num = 0;
            } else {
                first = i + 1;
                num = argc - first;
            }
            break;
        }
        if (slice_eq_ci(argv[i], "auth"))
            i += 1;
        else if (slice_eq_ci(argv[i], "auth2"))
            i += 2;
    }
    for (int i = 0; i < num; i++)
        cmd_key_list_push(out, first + i, KS_RW | KS_ACCESS | KS_DELETE);
    return num;
}

static const cmd_key_spec migrate_keys[] = {
    KS_RANGE(KS_RW | KS_ACCESS | KS_DELETE, 3, 0, 1),
    {.flags = KS_RW | KS_ACCESS | KS_DELETE | KS_INCOMPLETE,
     .begin = KS_BEGIN_KEYWORD,
     .keyword = "KEYS",
     .startfrom = -2,
     .find = KS_FIND_RANGE,
     .lastkey = -1,
     .step = 1},
    {0},
};

const cmd_spec cluster_migrate_family[] = {
    {"migrate", cluster_cmd_migrate, -6, CMD_WRITE | CMD_MOVABLE_KEYS, 3, 3, 1, "generic", "2.6.0",
     "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the "
     "target instance. See the pages of these commands for time complexity. Also an O(N) data "
     "transfer between the two instances is performed.",
     "Atomically transfers a key from one Redis instance to another.",
     "host port <key | \"\"> destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 "
     "username password] [KEYS key [key ...]]",
     NULL, "@keyspace @write @slow @dangerous", 0, migrate_keys, migrate_getkeys},
    {0},
};
