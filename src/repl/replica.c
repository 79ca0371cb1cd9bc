/* replica: the link to this server's primary, as Redis's replica side (syncWithMaster,
 * readSyncBulkPayload).
 *
 *     connect ─▶ PING ─▶ [AUTH] REPLCONF listening-port [ip-address] capa eof capa psync2
 *             ─▶ PSYNC <cached replid> <offset+1> | PSYNC ? -1
 *                 ├─ +CONTINUE [replid] ─────────────────────────────────────▶ connected
 *                 └─ +FULLRESYNC replid offset ─▶ $len | $EOF:<mark> ─▶ temp file
 *                      ─▶ rename to the snapshot file ─▶ load (slices, -LOADING) ─▶ connected
 *
 * Connected, the primary's stream is parsed from the link's input and each command runs in
 * the master session (flags=M: obeyed, no gates, replies dropped) at DB_NOW_NOTHING_DUE,
 * so it sees and deletes exactly what is stored (keys past their TTL are hidden from
 * clients, never reaped here). The applied offset moves after each command, but not inside
 * MULTI ... EXEC: a transaction counts, and is passed on to this server's own replicas
 * (journal_pass_on_bytes), only whole. A REPLCONF ACK with the applied offset goes to the
 * primary every second and when it asks (GETACK).
 *
 * When the link drops, the primary's id, the applied offset and the database its stream
 * had selected are cached, and the next connection asks PSYNC to continue from there. */
#include "mayfly/cmd/host.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/journal/journal.h"
#include "mayfly/net/peer.h"
#include "mayfly/net/transport.h"
#include "mayfly/persist/aof.h"
#include "mayfly/persist/persist.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "repl/repl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOAD_SLICE_US 5000
/* While the temp file grows, the kernel is asked to start writing back every 8 MiB (as
 * Redis's REPL_MAX_WRITTEN_BEFORE_FSYNC), so the fsync at the end has little left. */
#define WRITEBACK_EVERY (8 * 1024 * 1024)

/* Replies the handshake waits for, in order. */
enum hs_reply { HS_PING, HS_AUTH, HS_PORT, HS_IP, HS_CAPA, HS_PSYNC, HS_BULK_HEADER };

static struct {
    enum replica_state state;
    peer *pe;
    int64_t lastio_ms;     /* last byte from the primary (handshake, transfer, stream) */
    int64_t down_since_ms; /* the link went down (0: never up, or up) */
    /* The handshake. */
    enum hs_reply expect[8];
    int nexpect, iexpect;
    int pre_psync; /* the primary answered PSYNC with an error: SYNC, no offsets */
    /* The primary we are (or were) in sync with. */
    char master_replid[REPL_ID_LEN + 1];
    int64_t initial_offset; /* +FULLRESYNC offset */
    int cached;             /* cached_* hold a primary to continue with */
    char cached_replid[REPL_ID_LEN + 1];
    uint64_t cached_offset;
    int cached_db;
    /* Streaming. */
    session *ms; /* the master session */
    resp_parser parser;
    int parser_ready;
    size_t parse_pos;   /* input parsed and run but not applied yet (inside MULTI) */
    uint64_t processed; /* slave_repl_offset */
    int kill_asap;      /* CLIENT KILL TYPE master: closed from the loop */
    /* The transfer. */
    int usemark;
    char eofmark[REPL_EOF_MARK_LEN], lastbytes[REPL_EOF_MARK_LEN];
    int64_t transfer_size; /* -1: header not read yet; 0 with a mark */
    uint64_t transfer_read;
    uint64_t written_back; /* the temp file's bytes handed to writeback so far */
    int fd;
    int diskless; /* repl-diskless-load: the RDB goes straight to the loader, no file */
    int load_rc;  /* diskless: LOAD_MORE until the loader has read the whole RDB */
    char tmpfile[4096];
    uv_idle_t load_idle;
    int load_idle_init;
    uv_idle_t resume_idle; /* applies the stream again once a pause lets it */
    int resume_idle_init;
    int64_t last_newline_ms;
} rs = {.fd = -1, .cached_db = -1};

static void link_lost(int reconnect_now);
static void connect_primary(void);

/* ---- state ---- */

enum replica_state replica_state(void) {
    return rs.state;
}

int replica_link_up(void) {
    return rs.state == RS_CONNECTED;
}

long long repl_master_down_ms(void) {
    if (rs.state == RS_CONNECTED || rs.down_since_ms == 0) return -1;
    return (long long)(repl_now_ms() - rs.down_since_ms);
}

uint64_t replica_processed_offset(void) {
    if (rs.state == RS_CONNECTED) return rs.processed;
    if (rs.cached) return rs.cached_offset;
    return 1; /* as Redis, with neither */
}

uint64_t replica_read_offset(void) {
    if (rs.state == RS_CONNECTED) return rs.processed + (rs.pe ? peer_input(rs.pe)->len : 0);
    return replica_processed_offset();
}

session *replica_master_session(void) {
    return rs.ms;
}

int replica_has_history(void) {
    return rs.state == RS_CONNECTED || rs.cached;
}

int replica_stream_db(void) {
    if (rs.ms) return rs.ms->db_id;
    return rs.cached_db < 0 ? 0 : rs.cached_db;
}

void replica_cache_myself(int stream_db) {
    log_notice("Before turning into a replica, using my own master parameters to synthesize a "
               "cached master: I may be able to synchronize with the new master with just a "
               "partial transfer.");
    rs.cached = 1;
    memcpy(rs.cached_replid, repl_st.replid, sizeof(rs.cached_replid));
    rs.cached_offset = stream_offset();
    rs.cached_db = stream_db;
}

static void discard_cached(void) {
    if (rs.cached) log_notice("Discarding previously cached master state.");
    rs.cached = 0;
}

/* ---- the master session ---- */

static void ms_wake(session *s) {
    buf_clear(&s->out); /* the primary gets no replies */
}

static void ms_kill(session *s) {
    (void)s;
    rs.kill_asap = 1;
    repl_st.feed_pending = 1; /* the next flush closes the link */
}

static size_t ms_qbuf(const session *s) {
    (void)s;
    return rs.pe ? peer_input(rs.pe)->len : 0;
}

static void apply_input(void);

static void on_resume_idle(uv_idle_t *h) {
    uv_idle_stop(h);
    apply_input();
}

/* A pause held a command of the stream (the master session was postponed, as Redis blocks
 * its master client) and has lifted: the stream is applied again from that command, from
 * the loop rather than inside the command that lifted the pause. */
static void ms_unblocked(session *s) {
    (void)s;
    if (!rs.resume_idle_init) {
        uv_idle_init(repl_loop(), &rs.resume_idle);
        rs.resume_idle_init = 1;
    }
    uv_idle_start(&rs.resume_idle, on_resume_idle);
}

static const session_ops ms_ops = {
    .wake = ms_wake, .kill = ms_kill, .qbuf_len = ms_qbuf, .unblocked = ms_unblocked};

static void make_master_session(int dbid) {
    session *s = session_new(&ms_ops, NULL);
    s->flags |= SESS_MASTER;
    session_set_authenticated(s, 1);
    transport *t = rs.pe ? peer_transport(rs.pe) : NULL;
    s->fd = t ? transport_fd(t) : -1;
    snprintf(s->addr, sizeof(s->addr), "%s", rs.pe ? peer_addr(rs.pe) : "");
    struct sockaddr_storage ss;
    if (t && transport_sockaddr(t, 0, &ss) == 0)
        transport_format_addr(&ss, s->laddr, sizeof(s->laddr));
    s->ctime_ms = s->last_ms = clock_now_ms();
    if (dbid >= 0 && dbid < db_count()) {
        s->db_id = dbid;
        s->db = db_get(dbid);
    }
    rs.ms = s;
    resp_parser_reset(&rs.parser);
    rs.parse_pos = 0;
}

static void free_master_session(void) {
    if (!rs.ms) return;
    session_free(rs.ms);
    rs.ms = NULL;
}

/* ---- writing to the primary ---- */

static void send_argv(int argc, const char *const *argv, const size_t *lens) {
    buf *out = peer_out(rs.pe);
    resp_w_array(out, (size_t)argc);
    for (int i = 0; i < argc; i++)
        resp_w_bulk(out, argv[i], lens ? lens[i] : strlen(argv[i]));
    peer_flush(rs.pe);
}

void replica_send_ack(void) {
    if (rs.state != RS_CONNECTED || rs.pre_psync || !rs.pe) return;
    char off[STRCONV_LL_MAX], fack[STRCONV_LL_MAX];
    ll_to_str(off, (long long)rs.processed);
    /* FACK: how far our append-only log is fsynced (WAITAOF on the primary). */
    long long fsynced = aof_fsynced_offset();
    ll_to_str(fack, fsynced);
    const char *argv[5] = {"REPLCONF", "ACK", off, "FACK", fack};
    send_argv(fsynced >= 0 ? 5 : 3, argv, NULL);
}

/* ---- applying the stream ---- */

/* The name Redis logs for a command: "name" or "container|sub", "<unknown>" if none. */
static void command_fullname(int argc, const slice *argv, char *out, size_t cap) {
    const cmd_spec *spec = cmd_lookup(argv[0]);
    const cmd_spec *sub = spec && spec->subcmds && argc > 1 ? cmd_lookup_sub(spec, argv[1]) : NULL;
    if (!spec)
        snprintf(out, cap, "<unknown>");
    else if (sub)
        snprintf(out, cap, "%s|%s", spec->name, sub->name);
    else
        snprintf(out, cap, "%s", spec->name);
}

/* A command of the primary's stream answered an error (Redis's afterErrorReply for its
 * master client): logged as Redis logs it, counted in unexpected_error_replies, and, when
 * propagation-error-behavior is panic or panic-on-replicas on a read-only replica, the end
 * of the server rather than a dataset that differs from the primary's. */
static void report_error_reply(int argc, const slice *argv, const buf *out) {
    const char *err = NULL;
    for (size_t i = 0; i < out->len && !err; i++)
        if (out->data[i] == '-' && (i == 0 || out->data[i - 1] == '\n')) err = out->data + i + 1;
    const char *end = err ? memchr(err, '\r', (size_t)(out->data + out->len - err)) : NULL;
    int len = err && end ? (int)(end - err) : 0;
    if (len >= 4 && memcmp(err, "ERR ", 4) == 0) { /* Redis logs addReplyError's text alone */
        err += 4;
        len -= 4;
    }
    if (len > 4096) len = 4096;
    char name[128];
    command_fullname(argc, argv, name, sizeof(name));
    log_warning("== CRITICAL == This replica is sending an error to its master: '%.*s' after "
                "processing the command '%s'",
                len, err ? err : "", name);
    host_stat.unexpected_error_replies++;
    if (repl_cfg.read_only && config.propagation_error_behavior != 0) {
        log_warning("This replica panicked sending an error to its master after processing the "
                    "command '%s'",
                    name);
        exit(1);
    }
}

/* Runs the complete commands of the primary's stream that the input holds. */
/* Runs the command just parsed (its arguments point into base) in the master session,
 * replies dropped. -1 when the session is gone, 1 when a pause holds the command (it stays
 * in the input and runs again when the pause lifts: the offset stands still meanwhile). */
static int run_parsed(const char *base) {
    int argc = rs.parser.argc;
    slice small[16];
    slice *argv = argc <= 16 ? small : mem_alloc(sizeof(slice) * (size_t)argc);
    for (int i = 0; i < argc; i++)
        argv[i] = (slice){resp_arg_ptr(&rs.parser, base, i), rs.parser.argv[i].len};
    long long errors = cmd_total_errors();
    cmd_dispatch_at(rs.ms, argc, argv, DB_NOW_NOTHING_DUE);
    if (rs.ms && (rs.ms->flags & SESS_POSTPONED)) {
        rs.ms->flags &= ~SESS_POSTPONED;
        if (argv != small) mem_free(argv);
        return 1;
    }
    if (rs.ms && cmd_total_errors() != errors) report_error_reply(argc, argv, &rs.ms->out);
    if (argv != small) mem_free(argv);
    if (!rs.ms) return -1; /* the command ended the link (it cannot, but be safe) */
    buf_clear(&rs.ms->out);
    rs.ms->last_ms = clock_now_ms();
    return 0;
}

static void apply_input(void) {
    if (rs.state != RS_CONNECTED || !rs.pe || !rs.ms) return;
    if (rs.ms->flags & SESS_BLOCKED) return; /* held by a pause: ms_unblocked resumes */
    buf *in = peer_input(rs.pe);
    size_t applied = 0;
    while (rs.parse_pos < in->len && rs.state == RS_CONNECTED && !rs.kill_asap) {
        const char *base = in->data + rs.parse_pos;
        int rc = resp_parse(&rs.parser, base, in->len - rs.parse_pos);
        if (rc == RESP_INCOMPLETE) break;
        if (rc == RESP_EPROTO) {
            log_warning("Protocol error from MASTER (%s): closing the link", rs.parser.err);
            rs.kill_asap = 1;
            break;
        }
        if (rs.parser.argc > 0 && run_parsed(base) != 0) break;
        rs.parse_pos += rs.parser.consumed;
        if (!(rs.ms->flags & SESS_MULTI)) {
            /* Applied: pass it on to our own replicas, move the offset. */
            size_t n = rs.parse_pos - applied;
            journal_pass_on_bytes(in->data + applied, n);
            rs.processed += n;
            applied = rs.parse_pos;
        }
    }
    if (rs.pe && applied) {
        peer_consume(rs.pe, applied);
        rs.parse_pos -= applied;
    }
}

/* ---- the end of a sync ---- */

static void stream_begins(int dbid) {
    make_master_session(dbid);
    rs.state = RS_CONNECTED;
    rs.down_since_ms = 0;
    rs.lastio_ms = repl_now_ms();
    repl_update_gates();
}

/* The snapshot is loaded: the stream flows from the FULLRESYNC offset. */
static void sync_finished(void) {
    memcpy(repl_st.replid, rs.master_replid, sizeof(repl_st.replid));
    repl_clear_replid2();
    stream_set_offset(rs.initial_offset > 0 ? (uint64_t)rs.initial_offset : 0);
    stream_create(); /* a replica keeps a backlog, for when it is promoted */
    rs.processed = stream_offset();
    stream_begins(-1);
    log_notice("MASTER <-> REPLICA sync: Finished with success");
    if (rs.usemark) replica_send_ack(); /* the primary starts streaming at our first ACK */
    peer_resume(rs.pe);
    apply_input();
}

static void on_load_idle(uv_idle_t *h) {
    (void)h;
    int rc = persist_repl_load_step(LOAD_SLICE_US);
    int64_t now = repl_now_ms();
    if (rs.pe && now - rs.last_newline_ms >= 1000) {
        /* Keeps the primary from timing us out while a big snapshot loads. */
        rs.last_newline_ms = now;
        peer_write(rs.pe, "\n", 1);
    }
    if (rc == LOAD_MORE) return;
    uv_idle_stop(&rs.load_idle);
    if (rc == LOAD_FAILED) {
        log_warning("Failed trying to load the MASTER synchronization DB from disk, check "
                    "server logs.");
        link_lost(0);
        return;
    }
    sync_finished();
}

/* A new dataset is coming: our own replicas must sync again, our backlog is worthless. */
static void drop_history(void) {
    discard_cached();
    primary_disconnect_all();
    stream_free();
    log_notice("MASTER <-> REPLICA sync: Flushing old data");
    log_notice("MASTER <-> REPLICA sync: Loading DB in memory");
}

/* The payload is in the temp file: make it the snapshot file and load it. */
static void load_received(void) {
    if (fsync(rs.fd) < 0) {
        log_warning("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA "
                    "synchronization: %s",
                    strerror(errno));
        link_lost(0);
        return;
    }
    close(rs.fd);
    rs.fd = -1;
    char path[4096];
    persist_snapshot_path(path, sizeof(path));
    if (rename(rs.tmpfile, path) < 0) {
        log_warning("Failed trying to rename the temp DB into %s in MASTER <-> REPLICA "
                    "synchronization: %s",
                    path, strerror(errno));
        link_lost(0);
        return;
    }
    rs.tmpfile[0] = '\0';
    drop_history();
    peer_pause(rs.pe); /* the stream waits in the socket until the data is loaded */
    rs.state = RS_LOADING;
    int rc = persist_repl_load_begin(path);
    if (rc == LOAD_FAILED) {
        log_warning("Failed trying to load the MASTER synchronization DB from disk, check "
                    "server logs.");
        link_lost(0);
        return;
    }
    if (rc == LOAD_DONE) {
        sync_finished();
        return;
    }
    if (!rs.load_idle_init) {
        uv_idle_init(repl_loop(), &rs.load_idle);
        rs.load_idle_init = 1;
    }
    rs.last_newline_ms = repl_now_ms();
    uv_idle_start(&rs.load_idle, on_load_idle);
}

/* ---- the transfer ---- */

/* Takes one line from the link's input (without CR LF) into out; -1 if none is complete.
 * A line longer than cap - 1 is cut. */
static int take_line(char *out, size_t cap) {
    buf *in = peer_input(rs.pe);
    char *nl = memchr(in->data, '\n', in->len);
    if (!nl) return -1;
    size_t len = (size_t)(nl - in->data);
    size_t used = len + 1;
    if (len && in->data[len - 1] == '\r') len--;
    if (len >= cap) len = cap - 1;
    memcpy(out, in->data, len);
    out[len] = '\0';
    peer_consume(rs.pe, used);
    host_stat.net_repl_input_bytes += (long long)used;
    return (int)len;
}

static int open_temp_file(void) {
    for (int tries = 0; tries < 5; tries++) {
        snprintf(rs.tmpfile, sizeof(rs.tmpfile), "%s/temp-%d.%ld.rdb", config.dir,
                 (int)time(NULL) + tries, (long)getpid());
        rs.fd = open(rs.tmpfile, O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0644);
        if (rs.fd >= 0) return 0;
    }
    log_warning("Opening the temp file needed for MASTER <-> REPLICA synchronization: %s",
                strerror(errno));
    rs.tmpfile[0] = '\0';
    return -1;
}

/* The bulk header: "$<len>" or "$EOF:<mark>". Returns 1 when read, 0 to wait, -1 on error. */
static int read_bulk_header(void) {
    char line[1024];
    for (;;) {
        int n = take_line(line, sizeof(line));
        if (n < 0) {
            if (peer_input(rs.pe)->len > 1024) {
                log_warning("Bad protocol from MASTER: no end of the bulk header line");
                return -1;
            }
            return 0;
        }
        if (n == 0) continue; /* a newline: the primary is still preparing the snapshot */
        if (line[0] == '-') {
            log_warning("MASTER aborted replication with an error: %s", line + 1);
            return -1;
        }
        if (line[0] != '$') {
            log_warning("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), "
                        "are you sure the host and port are right?",
                        line);
            return -1;
        }
        if (strncmp(line + 1, "EOF:", 4) == 0 && strlen(line + 5) >= REPL_EOF_MARK_LEN) {
            rs.usemark = 1;
            memcpy(rs.eofmark, line + 5, REPL_EOF_MARK_LEN);
            memset(rs.lastbytes, 0, sizeof(rs.lastbytes));
            rs.transfer_size = 0;
            log_notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF %s",
                       rs.diskless ? "to parser" : "to disk");
        } else {
            rs.usemark = 0;
            rs.transfer_size = strtoll(line + 1, NULL, 10);
            if (rs.transfer_size < 0) {
                log_warning("Bad protocol from MASTER: bulk length %s", line + 1);
                return -1;
            }
            log_notice("MASTER <-> REPLICA sync: receiving %lld bytes from master %s",
                       (long long)rs.transfer_size, rs.diskless ? "to parser" : "to disk");
        }
        return 1;
    }
}

/* Keeps the last REPL_EOF_MARK_LEN bytes seen, to find the end mark. */
static void track_last_bytes(const char *p, size_t n) {
    if (n >= REPL_EOF_MARK_LEN) {
        memcpy(rs.lastbytes, p + n - REPL_EOF_MARK_LEN, REPL_EOF_MARK_LEN);
    } else {
        size_t keep = REPL_EOF_MARK_LEN - n;
        memmove(rs.lastbytes, rs.lastbytes + n, keep);
        memcpy(rs.lastbytes + keep, p, n);
    }
}

/* Diskless: the loader takes the bytes (those after the RDB, the end mark, are ignored).
 * Returns 0, or -1 when the link was dropped. */
static int feed_loader(const char *p, size_t n) {
    if (rs.load_rc != LOAD_MORE) return 0;
    rs.load_rc = persist_repl_load_feed(p, n);
    if (rs.load_rc != LOAD_FAILED) return 0;
    log_warning("Failed trying to load the MASTER synchronization DB from socket, check server "
                "logs.");
    link_lost(0);
    return -1;
}

/* The payload has arrived whole. */
static void transfer_done(void) {
    if (!rs.diskless) {
        load_received();
        return;
    }
    /* The loader may be waiting for more bytes than the RDB has left: nothing more comes. */
    if (rs.load_rc == LOAD_MORE && feed_loader(NULL, 0) < 0) return;
    if (rs.load_rc != LOAD_DONE) {
        log_warning("Failed trying to load the MASTER synchronization DB from socket: the "
                    "transfer ended before the RDB did");
        link_lost(0);
        return;
    }
    sync_finished();
}

/* Hands n received bytes to the loader (diskless) or the temp file. Returns 0, or -1 when
 * the link was dropped. */
/* Starts writeback of the temp file's bytes before end once WRITEBACK_EVERY more are
 * there; waits only for an earlier range still in flight. A failure here is harmless: the
 * fsync before the rename reports any error that matters. */
static void start_writeback(uint64_t end) {
#ifdef SYNC_FILE_RANGE_WRITE
    if (end - rs.written_back < WRITEBACK_EVERY) return;
    if (sync_file_range(rs.fd, (off_t)rs.written_back, (off_t)(end - rs.written_back),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE) == 0)
        rs.written_back = end;
#else
    (void)end;
#endif
}

static int store_received(const char *p, size_t n) {
    if (rs.diskless) return feed_loader(p, n);
    ssize_t w = write(rs.fd, p, n);
    if (w == (ssize_t)n) {
        start_writeback(rs.transfer_read + n);
        return 0;
    }
    log_warning("Write error or short write writing to the DB dump file needed for "
                "MASTER <-> REPLICA synchronization: %s",
                w < 0 ? strerror(errno) : "short write");
    link_lost(0);
    return -1;
}

/* 1 when the whole payload has arrived (the temp file cut before an end mark), 0 if not
 * yet, -1 when the link was dropped. */
static int transfer_complete(void) {
    if (!rs.usemark) return rs.transfer_read == (uint64_t)rs.transfer_size;
    if (rs.transfer_read < REPL_EOF_MARK_LEN ||
        memcmp(rs.lastbytes, rs.eofmark, REPL_EOF_MARK_LEN) != 0)
        return 0;
    if (!rs.diskless && ftruncate(rs.fd, (off_t)(rs.transfer_read - REPL_EOF_MARK_LEN)) < 0) {
        log_warning("Error truncating the RDB file received from the master for SYNC: %s",
                    strerror(errno));
        link_lost(0);
        return -1;
    }
    return 1;
}

static void read_transfer(void) {
    if (rs.transfer_size == -1) {
        int rc = read_bulk_header();
        if (rc < 0) link_lost(0);
        if (rc <= 0) return;
        if (rs.diskless) {
            drop_history();
            persist_repl_load_begin_stream(rs.usemark ? 0 : (uint64_t)rs.transfer_size);
            rs.load_rc = LOAD_MORE;
        }
    }
    buf *in = peer_input(rs.pe);
    size_t take = in->len;
    if (!rs.usemark && (uint64_t)take > (uint64_t)rs.transfer_size - rs.transfer_read)
        take = (size_t)((uint64_t)rs.transfer_size - rs.transfer_read);
    if (take) {
        if (store_received(in->data, take) < 0) return;
        if (rs.usemark) track_last_bytes(in->data, take);
        rs.transfer_read += take;
        host_stat.net_repl_input_bytes += (long long)take;
        peer_consume(rs.pe, take);
    }
    if (transfer_complete() == 1) transfer_done();
}

/* ---- the handshake ---- */

static void expect(enum hs_reply r) {
    rs.expect[rs.nexpect++] = r;
}

static void send_psync(void) {
    const char *id = "?";
    char off[STRCONV_LL_MAX] = "-1";
    if (rs.cached) {
        id = rs.cached_replid;
        ll_to_str(off, (long long)rs.cached_offset + 1);
        log_notice("Trying a partial resynchronization (request %s:%s).", id, off);
    } else {
        log_notice("Partial resynchronization not possible (no cached master)");
    }
    /* A primary handing over (FAILOVER) asks its target to take the role. */
    const char *argv[4] = {"PSYNC", id, off, "FAILOVER"};
    send_argv(failover_in_progress() ? 4 : 3, argv, NULL);
    expect(HS_PSYNC);
}

/* After PONG: AUTH, REPLCONF listening-port, ip-address and capa, pipelined as Redis does. */
static void send_handshake(void) {
    if (repl_cfg.masterauth) {
        const char *argv[3] = {"AUTH", NULL, NULL};
        size_t lens[3] = {4, 0, 0};
        int argc = 1;
        if (repl_cfg.masteruser) {
            argv[argc] = repl_cfg.masteruser;
            lens[argc++] = strlen(repl_cfg.masteruser);
        }
        argv[argc] = repl_cfg.masterauth;
        lens[argc++] = repl_cfg.masterauth_len;
        send_argv(argc, argv, lens);
        expect(HS_AUTH);
    }
    int port = repl_cfg.announce_port                      ? repl_cfg.announce_port
               : config.tls_replication && config.tls_port ? config.tls_port
                                                           : host_stat.tcp_port;
    char portstr[STRCONV_LL_MAX];
    ll_to_str(portstr, port);
    const char *pargv[3] = {"REPLCONF", "listening-port", portstr};
    send_argv(3, pargv, NULL);
    expect(HS_PORT);
    if (repl_cfg.announce_ip) {
        const char *iargv[3] = {"REPLCONF", "ip-address", repl_cfg.announce_ip};
        send_argv(3, iargv, NULL);
        expect(HS_IP);
    }
    const char *cargv[5] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
    send_argv(5, cargv, NULL);
    expect(HS_CAPA);
}

/* +CONTINUE [replid]: the cached primary lives again. */
static void partial_accepted(const char *line) {
    log_notice("Successful partial resynchronization with master.");
    const char *id = line + 9;
    while (*id == ' ')
        id++;
    if (strlen(id) == REPL_ID_LEN && strcmp(id, rs.cached_replid) != 0) {
        /* The primary's history changed (a failover): ours continues as replid2. */
        log_notice("Master replication ID changed to %s", id);
        memcpy(repl_st.replid2, rs.cached_replid, sizeof(repl_st.replid2));
        repl_st.second_offset = (int64_t)stream_offset() + 1;
        memcpy(repl_st.replid, id, REPL_ID_LEN + 1);
        memcpy(rs.cached_replid, id, REPL_ID_LEN + 1);
        primary_disconnect_all(); /* our replicas must learn it */
    }
    rs.processed = rs.cached_offset;
    int dbid = rs.cached_db;
    rs.cached = 0;
    if (!stream_active()) stream_create();
    stream_begins(dbid);
    log_notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
}

/* repl-diskless-load: on-empty-db (and swapdb, which Mayfly treats alike) loads from the
 * socket when there is no data to lose if the transfer fails. */
static int use_diskless_load(void) {
    if (repl_cfg.diskless_load == REPL_DISKLESS_LOAD_DISABLED) return 0;
    for (int id = 0; id < db_count(); id++)
        if (db_size(db_get(id))) return 0;
    return 1;
}

static void start_transfer(void) {
    rs.diskless = use_diskless_load();
    if (!rs.diskless && open_temp_file() < 0) {
        link_lost(0);
        return;
    }
    rs.state = RS_TRANSFER;
    rs.transfer_size = -1;
    rs.transfer_read = 0;
    rs.written_back = 0;
    rs.lastio_ms = repl_now_ms();
    repl_update_gates();
}

/* The reply to PSYNC. */
static void psync_reply(const char *line) {
    if (strncmp(line, "+FULLRESYNC", 11) == 0) {
        const char *id = strchr(line, ' ');
        const char *off = id ? strchr(id + 1, ' ') : NULL;
        if (!id || !off || off - id - 1 != REPL_ID_LEN) {
            log_warning("Master replied with wrong +FULLRESYNC syntax.");
            memset(rs.master_replid, 0, sizeof(rs.master_replid));
            rs.initial_offset = -1;
        } else {
            memcpy(rs.master_replid, id + 1, REPL_ID_LEN);
            rs.master_replid[REPL_ID_LEN] = '\0';
            rs.initial_offset = strtoll(off + 1, NULL, 10);
            log_notice("Full resync from master: %s:%lld", rs.master_replid,
                       (long long)rs.initial_offset);
        }
        start_transfer();
        failover_psync_result(1);
        return;
    }
    if (strncmp(line, "+CONTINUE", 9) == 0 && rs.cached) {
        partial_accepted(line);
        failover_psync_result(1);
        return;
    }
    if (failover_in_progress()) {
        log_warning("Failover target refused PSYNC FAILOVER: %s", line);
        failover_psync_result(0); /* a primary again: the link is closed */
        return;
    }
    if (strncmp(line, "-NOMASTERLINK", 13) == 0 || strncmp(line, "-LOADING", 8) == 0) {
        log_notice("Master is currently unable to PSYNC but should be in the future: %s", line);
        link_lost(0);
        return;
    }
    if (strncmp(line, "-ERR", 4) == 0)
        log_notice("Master does not support PSYNC or is in error state (reply: %s)", line);
    else
        log_warning("Unexpected reply to PSYNC from master: %s", line);
    log_notice("Retrying with SYNC...");
    peer_write(rs.pe, "SYNC\r\n", 6);
    rs.pre_psync = 1;
    memset(rs.master_replid, 0, sizeof(rs.master_replid));
    rs.initial_offset = -1;
    start_transfer();
}

/* One handshake reply. Returns 0 to go on, -1 when the link was dropped. */
static int handshake_reply(enum hs_reply want, const char *line) {
    switch (want) {
    case HS_PING:
        if (line[0] != '+' && strncmp(line, "-NOAUTH", 7) != 0 &&
            strncmp(line, "-NOPERM", 7) != 0 &&
            strncmp(line, "-ERR operation not permitted", 28) != 0) {
            log_warning("Error reply to PING from master: '%s'", line);
            link_lost(0);
            return -1;
        }
        log_notice("Master replied to PING, replication can continue...");
        send_handshake();
        return 0;
    case HS_AUTH:
        if (line[0] == '-') {
            log_warning("Unable to AUTH to MASTER: %s", line);
            link_lost(0);
            return -1;
        }
        return 0;
    case HS_PORT:
    case HS_IP:
    case HS_CAPA:
        if (line[0] == '-')
            log_notice("(Non critical) Master does not understand REPLCONF %s: %s",
                       want == HS_PORT ? "listening-port"
                       : want == HS_IP ? "ip-address"
                                       : "capa",
                       line);
        if (want == HS_CAPA) send_psync();
        return 0;
    default:
        psync_reply(line);
        return rs.state == RS_CONNECT ? -1 : 0;
    }
}

static void handshake_readable(void) {
    char line[1024] = ""; /* zeroed: the analyzer cannot see that a reply parsed as +CONTINUE
                             is 9 bytes or more */
    while (rs.state == RS_HANDSHAKE && rs.iexpect < rs.nexpect) {
        int n = take_line(line, sizeof(line));
        if (n < 0) return;
        enum hs_reply want = rs.expect[rs.iexpect];
        if (n == 0 && want == HS_PSYNC) continue; /* the primary keeps the link alive */
        rs.iexpect++;
        if (handshake_reply(want, line) < 0) return;
    }
}

/* ---- link events ---- */

static void on_connected(peer *pe) {
    (void)pe;
    log_notice("Non blocking connect for SYNC fired the event.");
    rs.state = RS_HANDSHAKE;
    rs.nexpect = rs.iexpect = 0;
    rs.pre_psync = 0;
    rs.lastio_ms = repl_now_ms();
    const char *argv[1] = {"PING"};
    send_argv(1, argv, NULL);
    expect(HS_PING);
}

static void on_readable(peer *pe) {
    (void)pe;
    rs.lastio_ms = repl_now_ms();
    if (rs.state == RS_HANDSHAKE) handshake_readable();
    if (rs.state == RS_TRANSFER) read_transfer();
    if (rs.state == RS_CONNECTED) {
        size_t before = peer_input(rs.pe)->len;
        apply_input();
        if (rs.pe) host_stat.net_repl_input_bytes += (long long)(before - peer_input(rs.pe)->len);
    }
}

static void on_closed(peer *pe, int status) {
    (void)pe;
    rs.pe = NULL;
    if (rs.state == RS_CONNECTED) {
        log_notice("Connection with master lost.");
        link_lost(1);
    } else {
        log_warning("Error condition on socket for SYNC: %s", uv_strerror(status));
        link_lost(0);
    }
}

static const peer_events primary_events = {on_connected, on_readable, NULL, on_closed};

static void connect_primary(void) {
    if (!repl_st.master_host) return;
    peer_options opt = {.type = config.tls_replication ? &transport_tls : NULL,
                        .connect_timeout_ms = (uint64_t)repl_cfg.timeout * 1000};
    int rc =
        peer_connect(repl_st.master_host, repl_st.master_port, &opt, &primary_events, NULL, &rs.pe);
    if (rc < 0) {
        log_warning("Unable to connect to MASTER: %s", uv_strerror(rc));
        rs.pe = NULL;
        rs.state = RS_CONNECT;
        return;
    }
    rs.state = RS_CONNECTING;
    rs.lastio_ms = repl_now_ms();
    log_notice("MASTER <-> REPLICA sync started");
}

/* Ends the link or the attempt, keeping what a PSYNC can continue from. */
static void link_lost(int reconnect_now) {
    if (rs.pe) {
        peer_close(rs.pe);
        rs.pe = NULL;
    }
    if (rs.state == RS_CONNECTED) {
        if (!rs.pre_psync) {
            log_notice("Caching the disconnected master state.");
            rs.cached = 1;
            memcpy(rs.cached_replid, repl_st.replid, sizeof(rs.cached_replid));
            rs.cached_offset = rs.processed;
            rs.cached_db = rs.ms ? rs.ms->db_id : -1;
        }
        rs.down_since_ms = repl_now_ms();
        free_master_session();
    }
    if (rs.fd >= 0) {
        close(rs.fd);
        rs.fd = -1;
    }
    if (rs.tmpfile[0]) {
        unlink(rs.tmpfile);
        rs.tmpfile[0] = '\0';
    }
    if (rs.state == RS_LOADING) {
        uv_idle_stop(&rs.load_idle);
        persist_repl_load_abort();
    } else if (rs.state == RS_TRANSFER && rs.diskless) {
        persist_repl_load_abort(); /* no effect if nothing was loading yet */
    }
    rs.kill_asap = 0;
    rs.state = RS_CONNECT;
    repl_update_gates();
    if (reconnect_now && repl_st.master_host) {
        log_notice("Reconnecting to MASTER %s:%d", repl_st.master_host, repl_st.master_port);
        connect_primary();
    }
}

/* ---- role changes and the cron ---- */

void replica_start(const char *addr, int port) {
    if (!rs.parser_ready) {
        resp_parser_init(&rs.parser);
        rs.parser_ready = 1;
    }
    link_lost(0);
    log_notice("Connecting to MASTER %s:%d", addr, port);
    connect_primary();
}

void replica_stop(void) {
    link_lost(0);
    discard_cached();
    rs.state = RS_NONE;
    repl_update_gates();
}

void replica_shutdown(void) {
    if (rs.state != RS_NONE) link_lost(0);
    if (rs.load_idle_init) uv_close((uv_handle_t *)&rs.load_idle, NULL);
    rs.load_idle_init = 0;
    if (rs.resume_idle_init) uv_close((uv_handle_t *)&rs.resume_idle, NULL);
    rs.resume_idle_init = 0;
    if (rs.parser_ready) resp_parser_deinit(&rs.parser);
    rs.parser_ready = 0;
}

void replica_before_flush(void) {
    if (rs.kill_asap) link_lost(1);
}

void replica_cron(int64_t now) {
    if (!repl_st.master_host) return;
    int64_t limit = (int64_t)repl_cfg.timeout * 1000;
    if ((rs.state == RS_CONNECTING || rs.state == RS_HANDSHAKE) && now - rs.lastio_ms > limit) {
        log_warning("Timeout connecting to the MASTER...");
        link_lost(0);
    } else if (rs.state == RS_TRANSFER && now - rs.lastio_ms > limit) {
        log_warning("Timeout receiving bulk data from MASTER... If the problem persists try to "
                    "set the 'repl-timeout' parameter in redis.conf to a larger value.");
        link_lost(0);
    } else if (rs.state == RS_CONNECTED && now - rs.lastio_ms > limit) {
        log_warning("MASTER timeout: no data nor PING received...");
        link_lost(0);
    }
    if (rs.state == RS_CONNECT) {
        log_notice("Connecting to MASTER %s:%d", repl_st.master_host, repl_st.master_port);
        connect_primary();
    }
    if (rs.state == RS_CONNECTED) replica_send_ack();
}

/* ---- INFO and ROLE ---- */

void replica_info(buf *b, int64_t now) {
    int up = rs.state == RS_CONNECTED;
    int syncing = rs.state == RS_TRANSFER || rs.state == RS_LOADING;
    buf_printf(b,
               "master_host:%s\r\n"
               "master_port:%d\r\n"
               "master_link_status:%s\r\n"
               "master_last_io_seconds_ago:%d\r\n"
               "master_sync_in_progress:%d\r\n"
               "slave_read_repl_offset:%llu\r\n"
               "slave_repl_offset:%llu\r\n",
               repl_st.master_host, repl_st.master_port, up ? "up" : "down",
               up ? (int)((now - rs.lastio_ms) / 1000) : -1, syncing,
               (unsigned long long)replica_read_offset(),
               (unsigned long long)replica_processed_offset());
    if (syncing) {
        int64_t size = rs.transfer_size < 0 ? 0 : rs.transfer_size;
        double perc = size ? (double)rs.transfer_read / (double)size * 100 : 0;
        buf_printf(b,
                   "master_sync_total_bytes:%lld\r\n"
                   "master_sync_read_bytes:%llu\r\n"
                   "master_sync_left_bytes:%lld\r\n"
                   "master_sync_perc:%.2f\r\n"
                   "master_sync_last_io_seconds_ago:%d\r\n",
                   (long long)size, (unsigned long long)rs.transfer_read,
                   (long long)size - (long long)rs.transfer_read, perc,
                   (int)((now - rs.lastio_ms) / 1000));
    }
    if (!up)
        buf_printf(b, "master_link_down_since_seconds:%lld\r\n",
                   rs.down_since_ms ? (long long)((now - rs.down_since_ms) / 1000) : -1LL);
    buf_printf(b,
               "slave_priority:%d\r\n"
               "slave_read_only:%d\r\n"
               "replica_announced:%d\r\n",
               repl_cfg.priority, repl_cfg.read_only, repl_cfg.announced);
}

void replica_role_reply(cmd_ctx *c) {
    static const char *const names[] = {"none", "connect", "connecting", "handshake",
                                        "sync", "sync",    "connected"};
    reply_array(c, 5);
    reply_bulk_cstr(c, "slave");
    reply_bulk_cstr(c, repl_st.master_host);
    reply_int(c, repl_st.master_port);
    reply_bulk_cstr(c, names[rs.state]);
    reply_int(c, rs.state == RS_CONNECTED ? (long long)rs.processed : -1);
}
