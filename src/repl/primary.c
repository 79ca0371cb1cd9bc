/* primary: this server's replicas.
 *
 * A client that sends PSYNC (or SYNC) is handed over by net/ (conn_handover) and becomes a
 * link: a peer that this file writes the stream to and reads REPLCONF ACKs from, plus a
 * session of its own so that CLIENT LIST shows it (flags=S) and CLIENT KILL TYPE replica
 * reaches it. A link's life, with Redis's state names:
 *
 *     PSYNC ─┬─ +CONTINUE, backlog from the asked offset ─────────────────────▶ online
 *            └─ wait_bgsave ─ fork ─┬─ disk: +FULLRESYNC, child writes the RDB file,
 *                                   │        then send_bulk ($len, the file) ──▶ online
 *                                   └─ diskless: +FULLRESYNC, the child writes
 *                                            "$EOF:<mark>" RDB <mark> to a pipe that is
 *                                            copied to every waiting replica ──▶ online,
 *                                            streaming from its first REPLCONF ACK
 *
 * From +FULLRESYNC on, the stream bytes after the snapshot's offset are kept for the link
 * (stream_keep_from) and sent once it is online. Online links get what the stream grew by
 * once per loop turn (primary_feed), from the backlog's blocks (catchup.c). The cron pings replicas
 * (a PING in the stream every repl-ping-replica-period), sends newlines to those waiting for a
 * snapshot, drops replicas silent for repl-timeout, counts the good ones (min-replicas-*), frees
 * the backlog after repl-backlog-ttl without replicas and starts a delayed diskless snapshot.
 *
 * WAIT and WAITAOF (wait.c) count the links' acknowledged offsets (primary_count_acks):
 * REPLCONF ACK <offset> [FACK <offset its log has fsynced>]. */
#include "mayfly/acl/acl.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/pause.h"
#include "mayfly/config.h"
#include "mayfly/net/conn.h"
#include "mayfly/persist/persist.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "repl/primary_int.h"
#include "repl/repl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAPA_EOF 1
#define CAPA_PSYNC2 2
#define FILE_CHUNK (256 * 1024)     /* bytes of the RDB file read per write (disk sync) */
#define PIPE_HIGH (4 * 1024 * 1024) /* a replica this far behind pauses the diskless pipe */

/* REPLCONF options a client set before PSYNC (Redis keeps them in the client). */
typedef struct conf {
    uint64_t session_id;
    int port, capa, rdb_only, no_data;
    char ip[64];
    struct conf *next;
} conf;

static rlink *links;
static int nlinks;
static conf *confs;
static uv_pipe_t rdb_pipe; /* diskless: the child's output */
static int rdb_pipe_open, rdb_pipe_reading;
static int child_kind; /* 0 none, 1 disk, 2 socket: a snapshot for replicas runs */

static void link_close(rlink *l);
static const char *state_name(const rlink *l);
static void setup_full_resync(rlink *l, uint64_t offset);

/* ---- helpers ---- */

static const char *link_name(const rlink *l) {
    static char out[96];
    snprintf(out, sizeof(out), "%s:%d", l->ip, l->port);
    return out;
}

static void refresh_good(int64_t now) {
    int good = 0;
    for (rlink *l = links; l; l = l->next)
        if (l->state == L_ONLINE &&
            (now - l->ack_ms) / 1000 <= (int64_t)repl_cfg.min_replicas_max_lag)
            good++;
    repl_st.good_replicas = good;
}

int primary_replica_count(void) {
    return nlinks;
}

rlink *primary_links(void) {
    return links;
}

/* ---- a link in sync (the stream it is sent: catchup.c) ---- */

static void put_online(rlink *l, int64_t now) {
    if (l->rdb_only) {
        l->state = L_RDB_SENT;
        log_notice("RDB transfer completed, rdb only replica (%s) should be disconnected asap",
                   link_name(l));
        return;
    }
    l->state = L_ONLINE;
    l->ack_ms = now;
    refresh_good(now);
    log_notice("Synchronization with replica %s succeeded", link_name(l));
}

/* ---- the link's session (CLIENT LIST, CLIENT KILL) ---- */

static void link_wake(session *s) {
    (void)s;
}

static void link_kill(session *s) {
    rlink *l = s->conn;
    l->kill_asap = 1; /* CLIENT KILL walks the session list: close from the loop */
    repl_st.feed_pending = 1;
}

static size_t link_qbuf(const session *s) {
    const rlink *l = s->conn;
    return l->pe ? peer_input(l->pe)->len : 0;
}

static const session_ops link_session_ops = {link_wake, link_kill, link_qbuf, NULL};

static void link_make_session(rlink *l) {
    session *s = session_new(&link_session_ops, l);
    s->id = l->id;
    s->flags |= SESS_REPLICA;
    snprintf(s->addr, sizeof(s->addr), "%s", l->addr);
    snprintf(s->laddr, sizeof(s->laddr), "%s", l->laddr);
    if (l->name[0]) s->name = mem_strdup(l->name);
    /* The user the client had authenticated as (session_new gave the default one). */
    acl_user *u = l->user[0] ? acl_user_find(slice_of(l->user)) : NULL;
    if (u) s->user = u;
    transport *t = peer_transport(l->pe);
    s->fd = t ? transport_fd(t) : -1;
    s->ctime_ms = l->ctime_ms;
    s->last_ms = l->ctime_ms;
    s->last_cmd = l->pre_psync ? "sync" : "psync";
    session_set_authenticated(s, 1);
    l->s = s;
}

/* ---- link events ---- */

static void on_connected(peer *pe) {
    rlink *l = peer_data(pe);
    link_make_session(l);
    /* repl-disable-tcp-nodelay: fewer, larger packets to the replica (Nagle). */
    transport *t = peer_transport(pe);
    if (repl_cfg.disable_tcp_nodelay && t) transport_tune_tcp(t, 0, config.tcp_keepalive);
}

/* REPLCONF ACK <offset> [FACK <offset>] and the other options a replica may send later. */
static void link_replconf(rlink *l, int argc, const slice *argv, int64_t now) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (slice_eq_ci(argv[i], "ack")) {
            long long off;
            if (str_to_ll(argv[i + 1].p, argv[i + 1].len, &off) < 0) return;
            if (off > 0 && (uint64_t)off > l->ack_off) l->ack_off = (uint64_t)off;
            if (i + 3 < argc && slice_eq_ci(argv[i + 2], "fack") &&
                str_to_ll(argv[i + 3].p, argv[i + 3].len, &off) == 0 && off > 0 &&
                (uint64_t)off > l->aof_ack_off)
                l->aof_ack_off = (uint64_t)off;
            l->ack_ms = now;
            if (l->start_on_ack && l->state == L_ONLINE) link_start_stream(l);
            return;
        }
    }
}

static void on_readable(peer *pe) {
    rlink *l = peer_data(pe);
    buf *in = peer_input(pe);
    int64_t now = repl_now_ms();
    size_t pos = 0;
    while (pos < in->len) {
        int rc = resp_parse(&l->parser, in->data + pos, in->len - pos);
        if (rc == RESP_INCOMPLETE) break;
        if (rc == RESP_EPROTO) {
            log_warning("Protocol error from replica %s: %s", link_name(l), l->parser.err);
            link_close(l);
            return;
        }
        int argc = l->parser.argc;
        if (argc <= 0) {
            l->ack_ms = now; /* a newline: the replica is alive (loading a big snapshot) */
        } else {
            slice argv[8];
            int n = argc < 8 ? argc : 8;
            for (int i = 0; i < n; i++)
                argv[i] =
                    (slice){resp_arg_ptr(&l->parser, in->data + pos, i), l->parser.argv[i].len};
            if (slice_eq_ci(argv[0], "replconf")) link_replconf(l, n, argv, now);
            if (l->s) {
                l->s->last_ms = clock_now_ms();
                l->s->last_cmd = slice_eq_ci(argv[0], "replconf") ? "replconf" : l->s->last_cmd;
            }
        }
        host_stat.net_repl_input_bytes += (long long)l->parser.consumed;
        pos += l->parser.consumed;
    }
    peer_consume(pe, pos);
    refresh_good(now);
    primary_process_waits(now);
}

static void send_file_chunk(rlink *l);

static void pipe_resume(void);

static void on_drained(peer *pe) {
    rlink *l = peer_data(pe);
    if (l->close_after_write) {
        link_close(l);
        return;
    }
    if (l->state == L_SEND_BULK) {
        send_file_chunk(l);
    } else if (l->fd_pipe) {
        pipe_resume();
    } else if (link_streaming(l) && !l->kill_asap) {
        link_catch_up(l); /* what waited in the backlog while the socket was full */
        links_update_keep();
    }
}

static void link_free(rlink *l) {
    if (l->prev)
        l->prev->next = l->next;
    else
        links = l->next;
    if (l->next) l->next->prev = l->prev;
    nlinks--;
    if (l->fd >= 0) close(l->fd);
    resp_parser_deinit(&l->parser);
    if (l->s) session_free(l->s);
    mem_free(l);
    if (nlinks == 0) repl_st.no_replicas_since_ms = repl_now_ms();
    links_update_keep();
    refresh_good(repl_now_ms());
}

static void on_closed(peer *pe, int status) {
    rlink *l = peer_data(pe);
    (void)status;
    if (l->state == L_ONLINE || l->state == L_RDB_SENT)
        log_notice("Connection with replica %s lost.", link_name(l));
    l->pe = NULL;
    link_free(l);
}

static const peer_events link_events = {on_connected, on_readable, on_drained, on_closed};

static void link_close(rlink *l) {
    if (l->pe) peer_close(l->pe);
    l->pe = NULL;
    link_free(l);
}

void primary_disconnect_all(void) {
    while (links)
        link_close(links);
}

/* ---- the snapshot for replicas ---- */

/* Redis's replicationSetupSlaveForFullResync: the link will get the snapshot taken at
 * offset, then the stream after it. */
static void setup_full_resync(rlink *l, uint64_t offset) {
    l->initial = offset;
    l->state = L_WAIT_END;
    /* The stream after the snapshot must say which database it writes to. */
    repl_sink_reset_db();
    if (!l->pre_psync) {
        char line[128];
        int n = snprintf(line, sizeof(line), "+FULLRESYNC %s %llu\r\n", repl_st.replid,
                         (unsigned long long)offset);
        peer_write(l->pe, line, (size_t)n);
    }
    links_update_keep();
}

static void send_file_chunk(rlink *l) {
    if (peer_pending_out(l->pe) > 0) return; /* drained calls again */
    if (l->file_off == l->file_size) {
        close(l->fd);
        l->fd = -1;
        put_online(l, repl_now_ms());
        if (l->state == L_ONLINE) link_start_stream(l);
        return;
    }
    char *p = buf_reserve(peer_out(l->pe), FILE_CHUNK);
    uint64_t left = l->file_size - l->file_off;
    size_t want = left < FILE_CHUNK ? (size_t)left : FILE_CHUNK;
    ssize_t n = pread(l->fd, p, want, (off_t)l->file_off);
    if (n <= 0) {
        log_warning("Read error sending DB to replica: %s",
                    n == 0 ? "premature EOF" : strerror(errno));
        link_close(l);
        return;
    }
    peer_out(l->pe)->len += (size_t)n;
    peer_flush(l->pe);
    l->file_off += (uint64_t)n;
    host_stat.net_repl_output_bytes += n;
}

/* The disk snapshot is written: send it to the links that wait for it. */
static void start_sending_file(rlink *l) {
    char path[4096];
    persist_snapshot_path(path, sizeof(path));
    struct stat sb;
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (l->fd < 0 || fstat(l->fd, &sb) < 0) {
        log_warning("SYNC failed. Can't open/stat DB after BGSAVE: %s", strerror(errno));
        link_close(l);
        return;
    }
    l->file_off = 0;
    l->file_size = (uint64_t)sb.st_size;
    l->state = L_SEND_BULK;
    char pre[32];
    int n = snprintf(pre, sizeof(pre), "$%llu\r\n", (unsigned long long)l->file_size);
    peer_write(l->pe, pre, (size_t)n);
}

/* Diskless: copies the child's output to every replica it is for. */
static void pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    (void)suggested;
    static char chunk[64 * 1024];
    *b = uv_buf_init(chunk, sizeof(chunk));
}

static void pipe_closed(uv_handle_t *h) {
    (void)h;
    rdb_pipe_open = 0;
}

static void pipe_done(void) {
    uv_close((uv_handle_t *)&rdb_pipe, pipe_closed);
    rdb_pipe_reading = 0;
    int64_t now = repl_now_ms();
    int up = 0;
    for (rlink *l = links; l; l = l->next) {
        if (l->state != L_WAIT_END || !l->fd_pipe) continue;
        l->fd_pipe = 0;
        up++;
        /* As Redis: online now, but the stream waits for its first ACK, so the replica
         * finds the end mark without the stream glued to it. */
        log_notice("Streamed RDB transfer with replica %s succeeded (socket). Waiting for "
                   "REPLCONF ACK from replica to enable streaming",
                   link_name(l));
        put_online(l, now);
        if (l->state == L_ONLINE) l->start_on_ack = 1;
    }
    log_notice("Diskless rdb transfer, done reading from pipe, %d replicas still up.", up);
    links_update_keep();
}

static void pipe_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b) {
    (void)st;
    if (nread == 0) return;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_warning("Diskless rdb transfer, read error sending DB to replicas: %s",
                        uv_strerror((int)nread));
        pipe_done();
        return;
    }
    int alive = 0, behind = 0;
    for (rlink *l = links; l; l = l->next) {
        if (l->state != L_WAIT_END || !l->fd_pipe) continue;
        peer_write(l->pe, b->base, (size_t)nread);
        host_stat.net_repl_output_bytes += nread;
        alive++;
        if (peer_pending_out(l->pe) > PIPE_HIGH) {
            behind = 1;
            if (!l->partial_write_ms) l->partial_write_ms = repl_now_ms();
        } else {
            l->partial_write_ms = 0;
        }
    }
    if (!alive) {
        log_warning("Diskless rdb transfer, last replica dropped, killing fork child.");
        persist_repl_child_kill();
        pipe_done();
        return;
    }
    if (behind) { /* the slowest replica sets the pace; on_drained resumes */
        uv_read_stop((uv_stream_t *)&rdb_pipe);
        rdb_pipe_reading = 0;
    }
}

static void pipe_resume(void) {
    if (!rdb_pipe_open || rdb_pipe_reading) return;
    for (rlink *l = links; l; l = l->next)
        if (l->state == L_WAIT_END && l->fd_pipe && peer_pending_out(l->pe) > PIPE_HIGH / 2) return;
    if (uv_read_start((uv_stream_t *)&rdb_pipe, pipe_alloc, pipe_read) == 0) rdb_pipe_reading = 1;
}

/* Forks the child for a diskless transfer to every waiting replica that can take one. */
static int start_socket_snapshot(int no_data) {
    int fds[2];
    if (pipe(fds) < 0) return -1;
    char mark[REPL_EOF_MARK_LEN];
    repl_random_hex(mark, sizeof(mark));
    uint64_t offset = stream_offset();
    if (persist_repl_child_start(fds[1], mark, no_data) < 0) {
        int e = errno;
        close(fds[0]);
        errno = e;
        return -1;
    }
    for (rlink *l = links; l; l = l->next) {
        if (l->state != L_WAIT_START || !(l->capa & CAPA_EOF) || l->no_data != no_data) continue;
        setup_full_resync(l, offset);
        l->fd_pipe = 1;
    }
    uv_pipe_init(repl_loop(), &rdb_pipe, 0);
    uv_pipe_open(&rdb_pipe, fds[0]);
    rdb_pipe_open = 1;
    rdb_pipe_reading = 0;
    pipe_resume();
    child_kind = 2;
    return 0;
}

/* Redis's startBgsaveForReplication, for the waiting replicas that asked for no_data (an
 * empty snapshot, rdb-filter-only) or not. */
static void start_snapshot(int mincapa, int no_data) {
    int socket_target = (repl_cfg.diskless_sync || no_data) && (mincapa & CAPA_EOF);
    log_notice("Starting BGSAVE for SYNC with target: %s",
               socket_target ? "replicas sockets" : "disk");
    int rc;
    if (socket_target) {
        rc = start_socket_snapshot(no_data);
    } else {
        uint64_t offset = stream_offset();
        rc = persist_repl_child_start(-1, NULL, 0);
        if (rc == 0) {
            child_kind = 1;
            for (rlink *l = links; l; l = l->next)
                if (l->state == L_WAIT_START && !l->no_data) setup_full_resync(l, offset);
        }
    }
    if (rc == 0) return;
    log_warning("BGSAVE for replication failed");
    for (rlink *l = links, *next; l; l = next) {
        next = l->next;
        if (l->state != L_WAIT_START || l->no_data != no_data) continue;
        const char *err = "-ERR BGSAVE failed, replication can't continue\r\n";
        peer_write(l->pe, err, strlen(err));
        l->close_after_write = 1;
    }
}

/* persist_repl_child_done: the snapshot child ended. */
static void child_done(int ok) {
    int kind = child_kind;
    child_kind = 0;
    for (rlink *l = links, *next; l; l = next) {
        next = l->next;
        if (kind == 1 && l->state == L_WAIT_END) {
            if (!ok) {
                log_warning("SYNC failed. BGSAVE child returned an error");
                link_close(l);
            } else {
                start_sending_file(l);
            }
        } else if (kind == 2 && !ok && (l->fd_pipe || l->start_on_ack)) {
            log_warning("SYNC failed. BGSAVE child returned an error");
            link_close(l);
        }
    }
    links_update_keep();
}

/* Redis's shouldStartChildReplication: replicas wait and no child runs; for a diskless
 * transfer, repl-diskless-sync-delay has passed (or enough replicas wait). */
static void maybe_start_snapshot(int64_t now) {
    if (persist_child_running()) return;
    int waiting = 0, mincapa = CAPA_EOF | CAPA_PSYNC2, no_data = -1;
    int64_t max_idle = 0;
    for (rlink *l = links; l; l = l->next) {
        if (l->state != L_WAIT_START) continue;
        /* One snapshot serves replicas of the same request: the first one's. */
        if (no_data < 0) no_data = l->no_data;
        if (l->no_data != no_data) continue;
        waiting++;
        mincapa &= l->capa;
        if ((now - l->ack_ms) / 1000 > max_idle) max_idle = (now - l->ack_ms) / 1000;
    }
    if (!waiting) return;
    if (!repl_cfg.diskless_sync ||
        (repl_cfg.diskless_sync_max_replicas > 0 &&
         waiting >= repl_cfg.diskless_sync_max_replicas) ||
        max_idle >= repl_cfg.diskless_sync_delay)
        start_snapshot(mincapa, no_data);
}

/* ---- PSYNC, SYNC and REPLCONF ---- */

static conf *find_conf(uint64_t id, int create) {
    for (conf *cf = confs; cf; cf = cf->next)
        if (cf->session_id == id) return cf;
    if (!create) return NULL;
    conf *cf = mem_calloc(1, sizeof(*cf));
    cf->session_id = id;
    cf->next = confs;
    confs = cf;
    return cf;
}

static void drop_conf(conf *gone) {
    for (conf **p = &confs; *p; p = &(*p)->next) {
        if (*p == gone) {
            *p = gone->next;
            mem_free(gone);
            return;
        }
    }
}

/* Options of clients that hung up before PSYNC. */
static void drop_stale_confs(void) {
    for (conf *cf = confs, *next; cf; cf = next) {
        next = cf->next;
        if (!session_by_id(cf->session_id)) drop_conf(cf);
    }
}

/* REPLCONF rdb-filter-only "<filters>": what the snapshot may hold. Keys never; "functions"
 * keeps the function libraries (redis-cli --functions-rdb), without it there are none. */
static int parse_filter(cmd_ctx *c, slice v) {
    size_t i = 0;
    int functions = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        size_t start = i;
        while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        if (i == start) break;
        slice word = {v.p + start, i - start};
        if (!slice_eq_ci(word, "functions")) {
            reply_errorf(c, "ERR Unsupported rdb-filter-only option: %.*s", (int)word.len, word.p);
            return -1;
        }
        functions = 1;
    }
    find_conf(c->s->id, 1)->no_data = functions ? PERSIST_NO_DATA_FUNCTIONS : PERSIST_NO_DATA;
    return 0;
}

/* One REPLCONF option of a client that is no replica link yet: 0 to go on, 1 to stop
 * without a reply (ack/getack), -1 after an error reply. */
static int replconf_option(cmd_ctx *c, slice k, slice v) {
    if (slice_eq_ci(k, "listening-port")) {
        long long port;
        if (arg_ll(c, v, &port) < 0) return -1;
        find_conf(c->s->id, 1)->port = (int)port;
    } else if (slice_eq_ci(k, "ip-address")) {
        if (v.len >= 256) {
            reply_errorf(c,
                         "ERR REPLCONF ip-address provided by replica instance is too long: "
                         "%zu bytes",
                         v.len);
            return -1;
        }
        conf *cf = find_conf(c->s->id, 1);
        snprintf(cf->ip, sizeof(cf->ip), "%.*s", (int)v.len, v.p);
    } else if (slice_eq_ci(k, "capa")) {
        /* Capabilities this server does not know are ignored. */
        if (slice_eq_ci(v, "eof")) find_conf(c->s->id, 1)->capa |= CAPA_EOF;
        if (slice_eq_ci(v, "psync2")) find_conf(c->s->id, 1)->capa |= CAPA_PSYNC2;
    } else if (slice_eq_ci(k, "ack") || slice_eq_ci(k, "getack")) {
        return 1; /* from a client that is no replica of ours: no reply, as Redis */
    } else if (slice_eq_ci(k, "rdb-only")) {
        long long only;
        if (arg_ll(c, v, &only) < 0) return -1;
        if (only < 0 || only > 1) {
            reply_error(c, "ERR value is out of range, value must between 0 and 1");
            return -1;
        }
        find_conf(c->s->id, 1)->rdb_only = (int)only;
    } else if (slice_eq_ci(k, "rdb-filter-only")) {
        if (parse_filter(c, v) < 0) return -1;
    } else {
        reply_errorf(c, "ERR Unrecognized REPLCONF option: %.*s", (int)k.len, k.p);
        return -1;
    }
    return 0;
}

void primary_replconf(cmd_ctx *c) {
    if (c->argc % 2 == 0) {
        reply_syntax_error(c);
        return;
    }
    for (int j = 1; j < c->argc; j += 2)
        if (replconf_option(c, c->argv[j], c->argv[j + 1]) != 0) return;
    reply_ok(c);
}

static int id_is(slice id, const char *ours) {
    return id.len == REPL_ID_LEN && strncasecmp(id.p, ours, REPL_ID_LEN) == 0;
}

/* Redis's masterTryPartialResynchronization: 1 if the link continues from offset. */
static int try_partial(rlink *l, slice replid, long long offset) {
    int ours = id_is(replid, repl_st.replid);
    int old = id_is(replid, repl_st.replid2) && offset <= repl_st.second_offset;
    if (!ours && !old) {
        if (replid.len && replid.p[0] == '?')
            log_notice("Full resync requested by replica %s", link_name(l));
        else if (!id_is(replid, repl_st.replid2))
            log_notice("Partial resynchronization not accepted: Replication ID mismatch "
                       "(Replica asked for '%.*s', my replication IDs are '%s' and '%s')",
                       (int)(replid.len > 64 ? 64 : replid.len), replid.p, repl_st.replid,
                       repl_st.replid2);
        else
            log_notice("Partial resynchronization not accepted: Requested offset for second ID "
                       "was %lld, but I can reply up to %lld",
                       offset, (long long)repl_st.second_offset);
        return 0;
    }
    if (offset < 1 || !stream_has((uint64_t)offset)) {
        log_notice("Unable to partial resync with replica %s for lack of backlog (Replica "
                   "request was: %lld).",
                   link_name(l), offset);
        if (offset > 0 && (uint64_t)offset > stream_offset() + 1)
            log_warning("Warning: replica %s tried to PSYNC with an offset that is greater than "
                        "the master replication offset.",
                        link_name(l));
        return 0;
    }
    l->state = L_ONLINE;
    l->ack_ms = repl_now_ms();
    char line[96];
    int n = (l->capa & CAPA_PSYNC2)
                ? snprintf(line, sizeof(line), "+CONTINUE %s\r\n", repl_st.replid)
                : snprintf(line, sizeof(line), "+CONTINUE\r\n");
    peer_write(l->pe, line, (size_t)n);
    l->sent = (uint64_t)offset - 1;
    l->held = (uint64_t)offset;
    uint64_t len = stream_offset() - l->sent;
    link_catch_up(l);
    links_update_keep();
    log_notice("Partial resynchronization request from %s accepted. Sending %llu bytes of "
               "backlog starting from offset %lld.",
               link_name(l), (unsigned long long)len, offset);
    refresh_good(repl_now_ms());
    return 1;
}

/* The link's identity, from the client session that asked. */
static rlink *link_new(session *s) {
    rlink *l = mem_calloc(1, sizeof(*l));
    l->fd = -1;
    resp_parser_init(&l->parser);
    l->ack_ms = repl_now_ms();
    l->id = s->id;
    snprintf(l->addr, sizeof(l->addr), "%s", s->addr);
    snprintf(l->laddr, sizeof(l->laddr), "%s", s->laddr);
    snprintf(l->name, sizeof(l->name), "%s", s->name ? s->name : "");
    snprintf(l->user, sizeof(l->user), "%s", s->user ? acl_user_name(s->user) : "default");
    l->ctime_ms = s->ctime_ms;
    conf *cf = find_conf(s->id, 0);
    if (cf) {
        l->port = cf->port;
        l->capa = cf->capa;
        l->rdb_only = cf->rdb_only;
        l->no_data = cf->no_data;
        snprintf(l->ip, sizeof(l->ip), "%s", cf->ip);
        drop_conf(cf);
    }
    if (!l->ip[0]) { /* the address it connects from, without the port */
        snprintf(l->ip, sizeof(l->ip), "%s", s->addr);
        char *colon = strrchr(l->ip, ':');
        if (colon) *colon = '\0';
    }
    return l;
}

/* PSYNC <replid> <offset> FAILOVER (Redis's FAILOVER command on the old primary): this
 * replica becomes the primary if the id is its own. Returns -1 after replying an error. */
static int psync_failover(cmd_ctx *c) {
    log_notice("Failover request received for replid %.*s.", (int)c->argv[1].len, c->argv[1].p);
    if (!repl_st.master_host) {
        reply_error(c, "ERR PSYNC FAILOVER can't be sent to a master.");
        return -1;
    }
    if (!id_is(c->argv[1], repl_st.replid)) {
        reply_error(c, "ERR PSYNC FAILOVER replid must match my replid.");
        return -1;
    }
    repl_promote();
    log_notice("MASTER MODE enabled (failover request from '%s')", c->s->addr);
    return 0;
}

/* Gets the snapshot going for a link that needs a full sync (the cases of syncCommand). */
static void begin_full_sync(rlink *l) {
    l->state = L_WAIT_START;
    if (nlinks == 1 && !stream_active()) {
        /* A backlog made from nothing starts a new history. */
        repl_change_replid();
        repl_clear_replid2();
        stream_create();
        log_notice("Replication backlog created, my new replication IDs are '%s' and '%s'",
                   repl_st.replid, repl_st.replid2);
    }
    if (child_kind == 1) {
        rlink *o = links;
        while (o &&
               !(o != l && o->state == L_WAIT_END && !o->fd_pipe && (!o->rdb_only || l->rdb_only)))
            o = o->next;
        if (o && (l->capa & o->capa) == o->capa) {
            setup_full_resync(l, o->initial);
            log_notice("Waiting for end of BGSAVE for SYNC");
        } else {
            log_notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE "
                       "for SYNC");
        }
    } else if (child_kind == 2) {
        log_notice("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
    } else if ((repl_cfg.diskless_sync || l->no_data) && (l->capa & CAPA_EOF) &&
               repl_cfg.diskless_sync_delay) {
        log_notice("Delay next BGSAVE for diskless SYNC");
    } else if (!persist_child_running()) {
        start_snapshot(l->capa, l->no_data);
    } else {
        log_notice("No BGSAVE in progress, but another BG operation is active. BGSAVE for "
                   "replication delayed");
    }
}

void primary_sync_command(cmd_ctx *c) {
    session *s = c->s;
    int psync = slice_eq_ci(c->argv[0], "psync");
    if (psync && c->argc > 3 && slice_eq_ci(c->argv[3], "failover") && psync_failover(c) < 0)
        return;
    if (failover_active()) {
        reply_error(c, "NOMASTERLINK Can't SYNC while failing over");
        return;
    }
    if (repl_st.master_host && !replica_link_up()) {
        reply_error(c, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (session_pending(s)) {
        reply_error(c, "ERR SYNC and PSYNC are invalid with pending output");
        return;
    }
    conf *cf = find_conf(s->id, 0);
    if (cf && cf->no_data && !(cf->capa & CAPA_EOF)) {
        reply_error(c, "ERR Filtered replica requires EOF capability");
        return;
    }
    long long offset = -1;
    if (psync && arg_ll(c, c->argv[2], &offset) < 0) {
        log_warning("Replica %s asks for synchronization but with a wrong offset", s->addr);
        return;
    }
    rlink *l = link_new(s);
    l->pre_psync = !psync;
    l->pe = conn_handover(s, &link_events, l);
    if (!l->pe) {
        resp_parser_deinit(&l->parser);
        mem_free(l);
        reply_error(c, "ERR this connection cannot become a replica");
        return;
    }
    l->next = links;
    if (links) links->prev = l;
    links = l;
    nlinks++;
    log_notice("Replica %s asks for synchronization", link_name(l));
    if (psync && try_partial(l, c->argv[1], offset)) {
        host_stat.sync_partial_ok++;
        return;
    }
    /* "?" asks for a full sync on purpose: not a failed partial one. */
    if (psync && !(c->argv[1].len && c->argv[1].p[0] == '?')) host_stat.sync_partial_err++;
    host_stat.sync_full++;
    begin_full_sync(l);
}

int primary_lagging(int log) {
    int lagging = 0, n = 0;
    int64_t now = repl_now_ms();
    for (rlink *l = links; l; l = l->next) {
        n++;
        if (l->ack_off == stream_offset()) continue;
        lagging++;
        if (log)
            log_notice("Lagging replica %s reported offset %llu behind master, lag=%lld, "
                       "state=%s.",
                       link_name(l), (unsigned long long)(stream_offset() - l->ack_off),
                       l->state == L_ONLINE ? (long long)((now - l->ack_ms) / 1000) : 0LL,
                       state_name(l));
    }
    if (log && n) log_notice("%d of %d replicas are in sync when shutting down.", n - lagging, n);
    return lagging;
}

int primary_replica_online(const char *want_host, int want_port) {
    for (rlink *l = links; l; l = l->next)
        if (strcasecmp(l->ip, want_host) == 0 && l->port == want_port) return l->state == L_ONLINE;
    return -1;
}

int primary_caught_up(const char *want_host, int want_port, char *out_host, size_t cap,
                      int *out_port) {
    for (rlink *l = links; l; l = l->next) {
        if (want_host && (strcasecmp(l->ip, want_host) != 0 || l->port != want_port)) continue;
        if (l->state != L_ONLINE || l->ack_off != stream_offset()) continue;
        snprintf(out_host, cap, "%s", l->ip);
        *out_port = l->port;
        return 1;
    }
    return 0;
}

size_t repl_replica_output_bytes(void) {
    size_t sum = stream_replica_memory();
    for (rlink *l = links; l; l = l->next)
        if (l->pe) sum += peer_pending_out(l->pe);
    return sum;
}

/* ---- the cron ---- */

void primary_check_limits(int64_t now) {
    long long hard = config.client_obuf_hard[1], soft = config.client_obuf_soft[1];
    for (rlink *l = links, *next; l; l = next) {
        next = l->next;
        if (l->kill_asap) {
            link_close(l);
            continue;
        }
        long long used = link_obuf(l);
        if (l->s) l->s->out_inflight = (size_t)used; /* CLIENT LIST's omem */
        int over = hard && used >= hard;
        if (soft && used >= soft) {
            if (!l->soft_since_ms) l->soft_since_ms = now;
            if (now - l->soft_since_ms > (int64_t)config.client_obuf_soft_secs[1] * 1000) over = 1;
        } else {
            l->soft_since_ms = 0;
        }
        if (!over) continue;
        log_warning("Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of "
                    "output buffer limits.",
                    (unsigned long long)l->id, l->addr);
        host_stat.obuf_limit_disconnections++;
        link_close(l);
    }
}

static void cron_timeouts(int64_t now) {
    int64_t limit = (int64_t)repl_cfg.timeout * 1000;
    for (rlink *l = links, *next; l; l = next) {
        next = l->next;
        if (l->state == L_RDB_SENT && peer_pending_out(l->pe) == 0) {
            link_close(l); /* rdb-only: the snapshot is all it wanted */
            continue;
        }
        if (l->state == L_ONLINE && !l->pre_psync && now - l->ack_ms > limit) {
            log_warning("Disconnecting timedout replica (streaming sync): %s", link_name(l));
            link_close(l);
            continue;
        }
        if (l->state == L_WAIT_END && l->fd_pipe && l->partial_write_ms &&
            now - l->partial_write_ms > limit) {
            log_warning("Disconnecting timedout replica (full sync): %s", link_name(l));
            link_close(l);
        }
    }
}

void primary_cron(int64_t now, long long loops) {
    int period = repl_cfg.ping_period > 0 ? repl_cfg.ping_period : 1;
    /* A replica of another server only passes its primary's stream on; while writes are
     * paused (FAILOVER) the offset must stand still for the replicas to catch up. */
    if (!repl_st.master_host && links && loops % period == 0 && !cmd_writes_paused()) {
        slice ping = slice_of("ping");
        stream_append_argv(1, &ping);
    }
    /* Newlines keep replicas waiting for a snapshot from timing out; they are no part of
     * the stream. */
    for (rlink *l = links; l; l = l->next)
        if (l->state == L_WAIT_START || (l->state == L_WAIT_END && !l->fd_pipe))
            peer_write(l->pe, "\n", 1);
    cron_timeouts(now);
    if (!links && repl_cfg.backlog_ttl && stream_active() && !repl_st.master_host &&
        now - repl_st.no_replicas_since_ms > (int64_t)repl_cfg.backlog_ttl * 1000) {
        /* Without a backlog the offset stands still while writes go on: the history must
         * change so that no replica continues from it. */
        repl_change_replid();
        repl_clear_replid2();
        stream_free();
        log_notice("Replication backlog freed after %d seconds without connected replicas.",
                   repl_cfg.backlog_ttl);
    }
    maybe_start_snapshot(now);
    refresh_good(now);
    drop_stale_confs();
}

/* ---- WAIT and WAITAOF (wait.c) ---- */

int primary_count_acks(uint64_t offset, int aof) {
    int n = 0;
    for (rlink *l = links; l; l = l->next)
        if (l->state == L_ONLINE && (aof ? l->aof_ack_off : l->ack_off) >= offset) n++;
    return n;
}

/* ---- INFO and ROLE ---- */

static const char *state_name(const rlink *l) {
    switch (l->state) {
    case L_WAIT_START:
    case L_WAIT_END:
        return "wait_bgsave";
    case L_SEND_BULK:
        return "send_bulk";
    case L_ONLINE:
        return "online";
    default:
        return "";
    }
}

void primary_info_lines(buf *b, int64_t now) {
    int i = 0;
    for (rlink *l = links; l; l = l->next) {
        const char *st = state_name(l);
        if (!st[0]) continue;
        long long lag = l->state == L_ONLINE ? (now - l->ack_ms) / 1000 : 0;
        buf_printf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%llu,lag=%lld\r\n", i++, l->ip,
                   l->port, st, (unsigned long long)l->ack_off, lag);
    }
}

void primary_role_reply(cmd_ctx *c) {
    reply_array(c, 3);
    reply_bulk_cstr(c, "master");
    reply_int(c, (long long)stream_offset());
    size_t mark = reply_defer(c);
    size_t n = 0;
    for (rlink *l = links; l; l = l->next) {
        if (l->state != L_ONLINE) continue;
        reply_array(c, 3);
        reply_bulk_cstr(c, l->ip);
        reply_bulk_ll(c, l->port);
        reply_bulk_ll(c, (long long)l->ack_off);
        n++;
    }
    reply_defer_array(c, mark, n);
}

/* ---- lifecycle ---- */

void primary_init(uv_loop_t *loop) {
    wait_init(loop);
    persist_repl_child_done = child_done;
}

void primary_shutdown(void) {
    primary_feed(); /* a last chance for the replicas to get everything */
    wait_shutdown();
    if (rdb_pipe_open) uv_close((uv_handle_t *)&rdb_pipe, pipe_closed);
}
