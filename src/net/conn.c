/* conn: client connections on a transport (net/transport.h).
 *
 * Per connection:
 *
 *     transport ─read─▶ in (query buffer) ─resp_parse─▶ argv slices ─cmd_dispatch─▶ s->out
 *     s->out ─(once per loop turn, try_write first)─▶ transport; the unwritten tail moves to
 *     wbuf and goes out with transport_write while new replies gather in s->out.
 *
 * Connections with replies to send are put on the `pending` list; net.c's uv_check handle
 * (which runs after libuv has polled for I/O) flushes them all, so every pipeline batch
 * read in one loop turn is answered with one write.
 *
 * Fairness: a read that fills its whole buffer (NET_READ_CHUNK) means more input is
 * waiting, and libuv would go on reading and we on executing it, up to 32 reads in one go.
 * Instead the connection stops being read for the rest of the loop turn (resume_read) and
 * starts again after the flush, so one deep pipeline is executed 16 KB per turn, between
 * the other clients' requests, as Redis reads 16 KB per client per event. Writes to a hash
 * of ten million fields cost a few microseconds each in cache misses: unbounded, a 70 KB
 * batch kept a PING waiting 13 ms.
 *
 * Time: one connection's commands get TURN_EXEC_US per loop turn; once the time spent
 * plus the longest of its commands so far in this turn would pass it (the clock is read at
 * the end of every command anyway), the rest of its input waits on the ready list for a
 * later turn, as with the output pause below. 16 KB of writes into a table of ten million
 * keys (cache and TLB misses all) took about 1-2 ms; bounded by time, a deep pipeline holds
 * a turn for about 1 ms whatever the size of the data. Checked against the time spent
 * alone, a turn of HSETs of 100 fields into a 10M-field hash (0.4-0.8 ms each) ran to
 * 1.8 ms of CPU. Mostly per connection, not per turn: fifty clients pipelining 16 commands
 * each (about 1 ms in all, 20 us each) never reach it, so they pay no pause and resume.
 * But once the turn as a whole has been busy TURN_EXEC_US (util/looptime), a connection
 * stops after TURN_EXEC_MIN_US of its own, so that two deep pipelines hold a turn for about
 * 1.1 ms, not 2.
 *
 * Output accounting, after every command (not once per read: 16 KB of pipelined HGETALLs
 * can ask for gigabytes of replies):
 *  - pause: once OUT_PAUSE bytes of replies are pending (unsent or in flight), the
 *    connection stops executing and reading; its unparsed input waits. It resumes when the
 *    output drains: in the write completion, or, when the socket took everything at once,
 *    from the ready list one loop turn later. A client that pipelines without reading
 *    holds about OUT_PAUSE bytes of replies, whatever it sends.
 *  - client-output-buffer-limit: checked after every command (and every push); a client
 *    past it is marked to close and executes nothing more. Its reply buffer carries the
 *    hard limit (buf_set_limit), so even one huge reply (HGETALL of millions of fields)
 *    stops growing there, and the handler's loop stops early (reply_aborted).
 * Pushed output (pub/sub) is bounded by client-output-buffer-limit alone.
 *
 * Handover (conn_handover): the connection stops parsing, writes what its session has to
 * say, then gives its transport and unparsed input to a peer and frees itself.
 *
 * Lifetimes: a conn is freed in its transport's closed event (or when handed over); its
 * session with it. */
#include "mayfly/net/conn.h"

#include "mayfly/client/clientmem.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/config.h"
#include "mayfly/evict/evict.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/looptime.h"
#include "mayfly/util/mem.h"
#include "net/net_int.h"

#include <limits.h>
#include <unistd.h>

#define OUT_PAUSE (8 * 1024 * 1024) /* stop executing while this much output is unsent */
#define STREAM_TURN (1024 * 1024)   /* most bytes of replies one connection makes per turn */
#ifndef TURN_EXEC_US                /* -D to profile under valgrind, where time runs 50x slow */
#define TURN_EXEC_US 1000           /* command time of one connection in one loop turn */
#endif
/* ...and at least this, once the turn has been busy TURN_EXEC_US (100 us by default) */
#define TURN_EXEC_MIN_US (TURN_EXEC_US / 10)

struct conn {
    transport *t; /* the stream; t->data == this conn */
    session *s;
    buf in; /* unparsed input */
    resp_parser parser;
    slice *argv; /* argument slices for the command being dispatched */
    int argv_cap;
    buf wbuf;                /* bytes owned by the transport_write in flight */
    size_t woff;             /* where the in-flight bytes start in wbuf */
    int closing;             /* transport_close was called */
    int pending;             /* PEND_NOW: on the pending list; PEND_SOON: on the soon list */
    uint64_t soon_turn;      /* wake_soon: the flush that may leave it for the next one */
    int resume_read;         /* reading stopped for the rest of this loop turn (fairness) */
    int protected;           /* a busy script of this connection runs: no reading, no closing */
    int close_deferred;      /* closed while protected: close when the script ends */
    int read_before_protect; /* it was being read when protected */
    int out_paused;          /* stopped executing with OUT_PAUSE bytes of output pending */
    int ready;               /* on the ready list */
    peer *handover;          /* conn_handover was asked: the peer that takes the transport */
    struct conn *pnext, *pprev;
    struct conn *rnext, *rprev; /* the ready list */
};

enum { PEND_NONE, PEND_NOW, PEND_SOON };
static conn *pending_head;
/* Connections whose only new output is tracking's invalidations (wake_soon): left by one
 * flush for the next, so that they leave with the client's next reply if it comes by then;
 * a 1 ms timer makes sure the next flush comes. */
static conn *soon_head;
static uint64_t flush_turn; /* conn_flush_pending calls so far */
static uv_timer_t soon_timer;
static int soon_timer_init;
/* Connections paused by their output whose output then drained without a write in flight
 * (the socket took it all): they resume executing at the next loop turn. */
static conn *ready_head, *ready_tail;
static size_t ready_count;

static void conn_close(conn *c);
static void process_input(conn *c);

/* ---- the pending list ---- */

static void link_pending(conn *c, conn **head, int which) {
    c->pending = which;
    c->pprev = NULL;
    c->pnext = *head;
    if (*head) (*head)->pprev = c;
    *head = c;
}

static void unmark_pending(conn *c) {
    if (!c->pending) return;
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else if (c->pending == PEND_SOON)
        soon_head = c->pnext;
    else
        pending_head = c->pnext;
    if (c->pnext) c->pnext->pprev = c->pprev;
    c->pending = PEND_NONE;
}

static void mark_pending(conn *c) {
    c->soon_turn = 0; /* a reply: nothing waits */
    if (c->pending == PEND_NOW || c->closing) return;
    unmark_pending(c); /* off the soon list: it goes out with this turn's replies */
    link_pending(c, &pending_head, PEND_NOW);
}

/* ---- the ready list (first in, first out) ---- */

static void mark_ready(conn *c) {
    if (c->ready || c->closing) return;
    c->ready = 1;
    c->rnext = NULL;
    c->rprev = ready_tail;
    if (ready_tail)
        ready_tail->rnext = c;
    else
        ready_head = c;
    ready_tail = c;
    ready_count++;
    net_kick(); /* the next poll must not sleep: this input is already here */
}

static void unmark_ready(conn *c) {
    if (!c->ready) return;
    if (c->rprev)
        c->rprev->rnext = c->rnext;
    else
        ready_head = c->rnext;
    if (c->rnext)
        c->rnext->rprev = c->rprev;
    else
        ready_tail = c->rprev;
    c->ready = 0;
    ready_count--;
}

/* ---- session callbacks ---- */

/* The hard limit as a bound on s->out (buf_set_limit): what may still be added before the
 * pending output (beyond Redis's fixed first chunk) reaches client-output-buffer-limit's
 * hard limit of the client's class (or 1 KB for a client that has not authenticated). */
static void update_out_limit(conn *c) {
    session *s = c->s;
    int cls = (s->flags & SESS_PUBSUB) ? 2 : 0;
    unsigned long long hard = (unsigned long long)config.client_obuf_hard[cls];
    if (!s->authenticated && (hard == 0 || hard > 1024)) hard = 1024;
    size_t limit = 0;
    if (hard) {
        unsigned long long room = hard + SESSION_REPLY_CHUNK;
        limit = s->out_inflight >= room ? 1 : (size_t)(room - s->out_inflight);
    }
    buf_set_limit(&s->out, limit);
}

/* client-output-buffer-limit, as Redis's checkClientOutputBufferLimits: a client whose
 * pending output (beyond the fixed first chunk) reaches the hard limit, or stays at or
 * over the soft limit for longer than soft_secs, is closed without flushing. Checked
 * whenever output is added (after a command, on every pub/sub delivery). Subscribers use
 * the pubsub class, everyone else the normal one. */
static void check_obuf_limits(conn *c) {
    session *s = c->s;
    if (s->flags & SESS_CLOSE_ASAP) return;
    update_out_limit(c);
    if (session_pending(s) <= SESSION_REPLY_CHUNK && !buf_over(&s->out)) {
        s->obl_soft_since_ms = 0; /* nothing beyond the first chunk: under every limit */
        return;
    }
    int cls = (s->flags & SESS_PUBSUB) ? 2 : 0;
    long long used = (long long)session_omem(s);
    long long hard = config.client_obuf_hard[cls], soft = config.client_obuf_soft[cls];
    /* As Redis: a client that has not authenticated may not queue more than 1 KB beyond
     * the first chunk (it could otherwise fill memory without ever reading a reply). */
    int over_hard =
        (hard && used >= hard) || (used > 1024 && !s->authenticated) || buf_over(&s->out);
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

/* New output was queued: its limits and its share of client memory are checked now. */
static void output_grew(session *s) {
    check_obuf_limits(s->conn);
    clientmem_note(s);
}

static void ops_wake(session *s) {
    output_grew(s);
    mark_pending(s->conn);
}

static void on_soon_timer(uv_timer_t *h) {
    (void)h;
    /* Timers run before the poll and the flush check after it: without a kick the poll
     * would sleep until the next event (the cron tick) before the check sends them. */
    net_kick();
}

static void ops_wake_soon(session *s) {
    conn *c = s->conn;
    output_grew(s);
    if (c->pending || c->closing) return; /* already going out (or staying) */
    link_pending(c, &pending_head, PEND_NOW);
    c->soon_turn = flush_turn + 1;
}

static void ops_kill(session *s) {
    s->flags |= SESS_CLOSE_ASAP;
    mark_pending(s->conn);
}

/* CLIENT LIST qbuf: the unparsed input; while a big argument is being received, only its
 * bytes, as Redis, which moves such an argument to the start of its query buffer. */
static size_t ops_qbuf(const session *s) {
    const conn *c = s->conn;
    size_t off, bulk;
    if (resp_payload_at(&c->parser, &off, &bulk) && bulk >= NET_BIG_ARG && off <= c->in.len)
        return c->in.len - off;
    return c->in.len;
}

static void start_reading(conn *c);

/* A busy script serves other clients from inside this connection's read (or write)
 * callback: its input must stay where it is (the script's arguments point into it), so
 * it is neither read nor freed until the script ends. */
static void ops_protect(session *s, int on) {
    conn *c = s->conn;
    if (on) {
        c->read_before_protect = c->t->reading;
        transport_read_stop(c->t);
        c->protected = 1;
        return;
    }
    c->protected = 0;
    if (c->close_deferred) {
        c->close_deferred = 0;
        conn_close(c);
        return;
    }
    if (c->read_before_protect) start_reading(c);
    if (c->out_paused && !c->t->writing) mark_ready(c);
}

/* The session is no longer blocked (WAIT answered): the input that arrived meanwhile runs
 * from the ready list, next turn. */
static void ops_unblocked(session *s) {
    mark_ready(s->conn);
}

/* What the connection holds for s (client eviction's figure, with the session's own). */
static size_t ops_mem(const session *s) {
    const conn *c = s->conn;
    return sizeof(*c) + c->in.cap + c->wbuf.cap + (size_t)c->argv_cap * sizeof(slice) +
           (size_t)c->parser.argv_cap * sizeof(resp_arg) + c->parser.scratch_cap;
}

static const session_ops conn_ops = {.wake = ops_wake,
                                     .wake_soon = ops_wake_soon,
                                     .kill = ops_kill,
                                     .qbuf_len = ops_qbuf,
                                     .protect = ops_protect,
                                     .streams = 1,
                                     .unblocked = ops_unblocked,
                                     .mem = ops_mem};

/* ---- writing ---- */

static void start_reading(conn *c) {
    if (c->closing || c->handover || c->protected || c->out_paused) return;
    transport_read_start(c->t);
}

static void on_write_done(transport *t, int status) {
    conn *c = t->data;
    c->s->out_inflight = 0;
    update_out_limit(c);
    host_stat.net_output_bytes += (long long)(c->wbuf.len - c->woff);
    buf_clear(&c->wbuf);
    buf_shrink(&c->wbuf, NET_IDLE_BUF_KEEP);
    clientmem_note(c->s);
    if (status < 0 || c->closing) {
        conn_close(c);
        return;
    }
    /* Input left unparsed by backpressure is served now; not while a busy script of this
     * connection runs (its command is still in the buffer): the script's own command loop
     * goes on with that input, and reading resumes when the script ends. */
    if (c->protected) {
        c->read_before_protect = 1;
        mark_pending(c);
        return;
    }
    if ((c->in.len || c->out_paused) && !c->handover) process_input(c);
    if (!c->closing) start_reading(c);
    mark_pending(c);
}

/* Gives the transport and the unparsed input to the peer waiting for them; frees c. */
static void complete_handover(conn *c) {
    peer *pe = c->handover;
    transport *t = c->t;
    transport_read_stop(t);
    unmark_pending(c);
    unmark_ready(c);
    session_free(c->s);
    resp_parser_deinit(&c->parser);
    peer_adopt(pe, t, &c->in); /* takes the transport over (transport_set_owner) */
    buf_deinit(&c->in);
    buf_deinit(&c->wbuf);
    mem_free(c->argv);
    mem_free(c);
}

/* Writes s->out: directly what the socket takes, the rest with transport_write. Returns 0
 * while c lives on, -1 if c was closed or handed over (and may be gone). */
static int flush(conn *c) {
    session *s = c->s;
    if (c->closing) return -1;
    if (s->flags & SESS_CLOSE_ASAP) { /* even with a write in flight to a stuck peer */
        conn_close(c);
        return -1;
    }
    if (c->t->writing) return 0;
    if (s->out.len) {
        int n = transport_try_write(c->t, s->out.data, s->out.len);
        if (n < 0) {
            conn_close(c);
            return -1;
        }
        host_stat.net_output_bytes += n;
        host_stat.writes_processed++;
        if ((size_t)n < s->out.len) {
            /* Hand the unwritten tail to the transport; replies keep gathering in s->out
             * (the buffers swap storage; s->out keeps its limit). */
            char *data = c->wbuf.data;
            size_t cap = c->wbuf.cap;
            c->wbuf.data = s->out.data;
            c->wbuf.cap = s->out.cap;
            c->wbuf.len = s->out.len;
            c->woff = (size_t)n;
            s->out.data = data;
            s->out.cap = cap;
            buf_clear(&s->out);
            if (transport_write(c->t, c->wbuf.data + n, c->wbuf.len - (size_t)n) < 0) {
                conn_close(c);
                return -1;
            }
            s->out_inflight = c->wbuf.len - c->woff;
            update_out_limit(c);
            clientmem_note(s);
            return 0;
        }
        buf_clear(&s->out);
        buf_shrink(&s->out, NET_IDLE_BUF_KEEP);
        clientmem_note(s);
    }
    if (s->flags & SESS_CLOSE_AFTER_REPLY) {
        conn_close(c);
        return -1;
    }
    if (c->handover) {
        complete_handover(c);
        return -1;
    }
    return 0;
}

/* Resumes the connections put on the ready list in an earlier turn: each executes one
 * more batch (up to OUT_PAUSE bytes of output), flushed in this same turn. Those that pause
 * again join the tail for the next turn. */
static void run_ready(void) {
    for (size_t n = ready_count; n > 0 && ready_head; n--) {
        conn *c = ready_head;
        unmark_ready(c);
        if (c->closing || c->protected || c->handover || c->t->writing) continue;
        process_input(c);
        if (!c->closing) start_reading(c);
    }
}

void conn_run_received(void) {
    /* A few passes, each giving every waiting connection a turn's budget; one paused by
     * its output (or with a write in flight) stays as it is. */
    for (int pass = 0; pass < 4; pass++) {
        int ran = 0;
        for (session *s = session_first(); s; s = s->next) {
            if (s->ops != &conn_ops) continue;
            conn *c = s->conn;
            if (!c->out_paused || c->in.len == 0 || c->closing || c->protected || c->handover ||
                c->t->writing || session_pending(s) >= OUT_PAUSE)
                continue;
            process_input(c);
            ran = 1;
        }
        if (!ran) break;
    }
}

/* Client eviction once per loop turn (Redis's beforeSleep): a query buffer grown by a
 * partial argument, a lowered limit; the victims close in conn_flush_pending. Then the
 * paused connections' next batches: net.c calls this before the before-flush hook, so the
 * writes they make reach the append-only log (and the replicas) before their replies leave,
 * as those of commands run from the poll do. Run after the hook (as it once was), a reply
 * could leave a whole turn before its write did, and be lost to a kill -9. */
void conn_run_ready(void) {
    if (evict_clients_over()) evict_clients();
    run_ready();
}

void conn_flush_pending(void) {
    flush_turn++;
    while (soon_head) { /* left by the last flush: they go now */
        conn *c = soon_head;
        unmark_pending(c);
        link_pending(c, &pending_head, PEND_NOW);
    }
    while (pending_head) {
        conn *c = pending_head;
        unmark_pending(c);
        if (c->soon_turn == flush_turn) {
            c->soon_turn = 0;
            link_pending(c, &soon_head, PEND_SOON);
            continue;
        }
        if (flush(c) < 0) continue;
        if (c->t->writing) continue; /* on_write_done resumes reading and executing */
        if (c->out_paused) {
            mark_ready(c); /* the socket took everything: go on next turn */
        } else if (c->resume_read) {
            c->resume_read = 0;
            start_reading(c);
        }
    }
    if (soon_head) {
        if (!soon_timer_init) {
            uv_timer_init(net_loop, &soon_timer);
            uv_unref((uv_handle_t *)&soon_timer);
            soon_timer_init = 1;
        }
        uv_timer_start(&soon_timer, on_soon_timer, 1, 0);
    }
}

/* ---- reading ---- */

static void on_alloc(transport *t, size_t suggested, uv_buf_t *b) {
    (void)suggested;
    conn *c = t->data;
    /* A big argument (Redis's PROTO_MBULK_BIG_ARG) gets a buffer of its size, and reads of
     * what it still lacks, no more (as Redis's readQueryFromClient): its last bytes must
     * not double a buffer of hundreds of megabytes, which would also count twice against
     * maxmemory-clients. */
    size_t off, bulk;
    if (resp_payload_at(&c->parser, &off, &bulk) && bulk >= NET_BIG_ARG &&
        off + bulk + 2 > c->in.len) {
        size_t lack = off + bulk + 2 - c->in.len;
        if (lack > UINT_MAX) lack = UINT_MAX;
        *b = uv_buf_init(buf_reserve_exact(&c->in, lack), (unsigned)lack);
        return;
    }
    size_t want = resp_bytes_wanted(&c->parser);
    if (want < NET_READ_CHUNK) want = NET_READ_CHUNK;
    char *p = want > NET_BIG_ARG ? buf_reserve_exact(&c->in, want) : buf_reserve(&c->in, want);
    /* No more than wanted even if the buffer has more room: a full read is the sign that
     * input is waiting (see Fairness above). */
    size_t room = c->in.cap - c->in.len;
    *b = uv_buf_init(p, (unsigned)(room < want ? room : want));
}

/* The commands of c's input the latest prefetch_ahead peeked at: where each starts and
 * the registry entry cmd_prefetch found for it, so dispatch looks no name up twice. */
typedef struct peeked {
    size_t at[DB_PREFETCH_MAX];
    struct reg_entry *found[DB_PREFETCH_MAX];
    int n, next;
} peeked;

/* 1 if the command that starts at pos is the next one peeked at (commands run in order,
 * each over the bytes the peek saw), with *found the entry found for it (or NULL). */
static inline int peeked_at(peeked *pk, size_t pos, struct reg_entry **found) {
    *found = NULL;
    if (pk->next >= pk->n || pk->at[pk->next] != pos) return 0;
    *found = pk->found[pk->next++];
    return 1;
}

/* Runs the command the parser just returned; after_one: a command of this batch ran just
 * before it (its end gives this one's start: cmd_dispatch_next), was_peeked: resp_peek took
 * its bytes whole (each header and payload followed by CRLF: with the parser's canonical
 * lengths, exactly argv's RESP), found: then its entry. */
static void dispatch_parsed(conn *c, size_t pos, int after_one, int was_peeked,
                            struct reg_entry *found) {
    int argc = c->parser.argc;
    if (argc <= 0) return;
    if (argc > c->argv_cap) {
        c->argv_cap = argc < 16 ? 16 : argc;
        mem_free(c->argv);
        c->argv = mem_alloc(sizeof(slice) * (size_t)c->argv_cap);
        c->s->req_argv = c->argv; /* the argv of every request of c (session.h req) */
    }
    const char *base = c->parser.inline_base ? c->parser.inline_base : c->in.data + pos;
    for (int i = 0; i < argc; i++)
        c->argv[i] = (slice){base + c->parser.argv[i].off, c->parser.argv[i].len};
    /* A multibulk request's bytes: its propagation may copy them (session.h req). */
    session *s = c->s;
    s->req = (slice){base, c->parser.inline_base ? 0 : c->parser.consumed};
    s->req_exact = was_peeked;
    if (after_one)
        cmd_dispatch_next(s, argc, c->argv, found);
    else
        cmd_dispatch(s, argc, c->argv);
    s->req.len = 0;
}

/* Produces more of s's streamed reply (session_stream), up to OUT_PAUSE bytes pending or
 * STREAM_TURN bytes made in this call, so other clients are served between the parts.
 * Returns 1 while the reply goes on (c is then paused: nothing else of it runs). */
static int run_stream(conn *c) {
    session *s = c->s;
    size_t made = 0;
    while (s->stream && !(s->flags & SESS_CLOSE_ASAP)) {
        if (session_pending(s) >= OUT_PAUSE || made >= STREAM_TURN) {
            c->out_paused = 1;
            return 1;
        }
        size_t before = s->out.len;
        update_out_limit(c);
        session_stream_step(s);
        made += s->out.len > before ? s->out.len - before : STREAM_TURN;
        check_obuf_limits(c);
    }
    return s->stream != NULL;
}

/* Client eviction before a command (Redis's place in processCommand): 1 if s itself was
 * evicted. */
static int evicted_before_command(session *s) {
    if (!evict_clients_over()) return 0;
    clientmem_note(s); /* its arguments are in: count them before choosing */
    evict_clients();
    return (s->flags & SESS_CLOSE_ASAP) != 0;
}

/* Fairness: after STREAM_TURN bytes of replies made in this call, or once the turn's
 * command time would be spent by one more command as long as the longest so far
 * (longest_us), the rest waits for a later turn (ready list), so a pipeline of big replies
 * (HGETALLs) holds the loop for about one of them, not for OUT_PAUSE bytes' worth, and a
 * deep pipeline for about TURN_EXEC_US, or TURN_EXEC_MIN_US in a turn already that busy
 * (the clock was last read at the end of the latest command). Returns 1 when c must stop
 * for now (its reading is then paused). */
static int turn_over(conn *c, size_t out_at_start, int ran, int64_t started_us,
                     int64_t longest_us) {
    const session *s = c->s;
    int64_t now = clock_mono_last_us(), own = now - started_us;
    int turn_done =
        (s->out.len >= out_at_start && s->out.len - out_at_start >= STREAM_TURN) ||
        (ran &&
         (own + longest_us >= TURN_EXEC_US ||
          (own >= TURN_EXEC_MIN_US && looptime_turn_busy_at(now) + longest_us >= TURN_EXEC_US)));
    if (session_pending(s) < OUT_PAUSE && !turn_done) return 0;
    /* Backpressure: resume when the output drains (see the top of this file). */
    c->out_paused = 1;
    transport_read_stop(c->t);
    return 1;
}

/* A request that breaks the protocol: its error, then the connection closes. */
static void reply_protocol_error(conn *c) {
    session *s = c->s;
    buf_puts(&s->out, "-ERR ");
    buf_puts(&s->out, c->parser.err);
    buf_puts(&s->out, "\r\n");
    log_verbose("Protocol error (%s) from client id=%llu addr=%s", c->parser.err,
                (unsigned long long)s->id, s->addr);
    s->flags |= SESS_CLOSE_AFTER_REPLY;
}

/* Prefetching (db/db_prefetch.c): once the commands warmed before (up to warm) are run,
 * peeks at up to DB_PREFETCH_MAX complete commands of c's input from pos on and has
 * cmd_prefetch warm the cache for their keys; returns where the next peek starts (past
 * the commands warmed; the end of the input once a command cannot be peeked at:
 * incomplete, inline, long headers), and notes them in *pk. Not before authentication. */
static size_t prefetch_ahead(conn *c, size_t pos, size_t warm, peeked *pk) {
    if (pos < warm || c->parser.limits.unauthenticated) return warm;
    slice argvs[DB_PREFETCH_MAX][CMD_PEEK_ARGS];
    int argcs[DB_PREFETCH_MAX], n = 0;
    size_t at = pos;
    while (n < DB_PREFETCH_MAX && at < c->in.len) {
        size_t used;
        int argc = resp_peek(c->in.data + at, c->in.len - at, argvs[n], CMD_PEEK_ARGS, &used);
        if (argc == 0) {
            at = c->in.len;
            break;
        }
        pk->at[n] = at;
        argcs[n++] = argc;
        at += used;
    }
    pk->n = pk->next = 0;
    if (n < 2) return at;
    cmd_prefetch(c->s, n, argvs, argcs, pk->found);
    pk->n = n;
    return at;
}

static void process_input(conn *c) {
    session *s = c->s;
    size_t pos = 0, out_at_start = s->out.len, warm = 0;
    peeked pk = {.n = 0};
    int ran = 0;
    c->out_paused = 0;
    clientmem_note(s); /* what was just read */
    if (s->stream && run_stream(c)) transport_read_stop(c->t);
    int64_t started_us = pos < c->in.len ? clock_mono_us() : 0;
    int64_t prev_us = started_us, longest_us = 0; /* the longest command of this turn */
    while (!c->out_paused && pos < c->in.len && !c->closing && !c->handover &&
           !(s->flags & (SESS_CLOSE_AFTER_REPLY | SESS_CLOSE_ASAP | SESS_BLOCKED))) {
        if (turn_over(c, out_at_start, ran, started_us, longest_us)) break;
        c->parser.limits.unauthenticated = session_auth_required(s);
        warm = prefetch_ahead(c, pos, warm, &pk);
        int rc = resp_parse(&c->parser, c->in.data + pos, c->in.len - pos);
        if (rc == RESP_INCOMPLETE) break;
        if (rc == RESP_EPROTO) {
            reply_protocol_error(c);
            pos = c->in.len;
            break;
        }
        if (evicted_before_command(s)) break; /* its command does not run */
        if (!ran) update_out_limit(c); /* then check_obuf_limits keeps it after each command */
        struct reg_entry *found;
        int was_peeked = peeked_at(&pk, pos, &found);
        dispatch_parsed(c, pos, ran, was_peeked, found);
        ran = 1;
        int64_t end_us = clock_mono_last_us();
        if (end_us - prev_us > longest_us) longest_us = end_us - prev_us;
        prev_us = end_us;
        if (s->flags & SESS_POSTPONED) {
            s->flags &= ~SESS_POSTPONED; /* blocked: the command stays, to run again */
            break;
        }
        pos += c->parser.consumed;
        check_obuf_limits(c); /* a client past its limit runs nothing more */
        clientmem_note(s);
        if (s->stream && run_stream(c)) {
            transport_read_stop(c->t); /* the reply goes on in later turns */
            break;
        }
    }
    buf_consume(&c->in, pos);
    if ((long long)c->in.len > config.client_query_buffer_limit && !c->handover) {
        log_warning("Closing client that reached max query buffer length: id=%llu addr=%s "
                    "(qbuf=%zu)",
                    (unsigned long long)s->id, s->addr, c->in.len);
        s->flags |= SESS_CLOSE_ASAP;
        host_stat.qbuf_limit_disconnections++;
    }
    if (c->in.len == 0) buf_shrink(&c->in, NET_IDLE_BUF_KEEP);
    check_obuf_limits(c);
    clientmem_note(s);
    mark_pending(c);
}

/* Redis reads an argument of 32 KB or more into a buffer of its own and checks
 * client-query-buffer-limit against it, trailing CRLF included, before running the
 * command: a 1 MB value under a 1 MB limit closes the client. Returns 1 if c was closed. */
static int big_arg_over_limit(conn *c) {
    size_t off, bulk;
    if (c->handover || !resp_payload_at(&c->parser, &off, &bulk) || bulk < NET_BIG_ARG) return 0;
    size_t have = c->in.len - off, full = bulk + 2;
    if ((long long)(have < full ? have : full) <= config.client_query_buffer_limit) return 0;
    session *s = c->s;
    log_warning("Closing client that reached max query buffer length: id=%llu addr=%s "
                "(qbuf=%zu)",
                (unsigned long long)s->id, s->addr, have < full ? have : full);
    s->flags |= SESS_CLOSE_ASAP;
    host_stat.qbuf_limit_disconnections++;
    mark_pending(c);
    return 1;
}

static void on_read(transport *t, ssize_t nread, const uv_buf_t *b) {
    conn *c = t->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0) return;
    c->in.len += (size_t)nread;
    host_stat.net_input_bytes += nread;
    host_stat.reads_processed++;
    if (big_arg_over_limit(c)) return;
    process_input(c);
    if ((size_t)nread == b->len && t->reading && !c->closing) {
        transport_read_stop(t); /* more is waiting: the other clients first (see Fairness) */
        c->resume_read = 1;
        mark_pending(c);
    }
}

/* ---- lifecycle ---- */

static void on_closed(transport *t) {
    conn *c = t->data;
    unmark_pending(c);
    unmark_ready(c);
    if (c->handover) peer_adopt_failed(c->handover, UV_ECONNRESET);
    session_free(c->s);
    resp_parser_deinit(&c->parser);
    buf_deinit(&c->in);
    buf_deinit(&c->wbuf);
    mem_free(c->argv);
    mem_free(c);
}

static const transport_events conn_events = {on_alloc, on_read, on_write_done, on_closed};

static void conn_close(conn *c) {
    if (c->closing) return;
    if (c->protected) {
        c->close_deferred = 1;
        c->s->flags |= SESS_CLOSE_ASAP;
        return;
    }
    c->closing = 1;
    /* Gone for client eviction from now on, though listed until the close completes. */
    c->s->flags |= SESS_CLOSE_ASAP;
    clientmem_update(c->s);
    unmark_pending(c);
    unmark_ready(c);
    transport_close(c->t);
}

conn *conn_new(transport *t) {
    conn *c = mem_calloc(1, sizeof(*c));
    c->t = t;
    transport_set_owner(t, &conn_events, c);
    resp_parser_init(&c->parser);
    c->parser.limits.max_bulk_len = config.proto_max_bulk_len;
    buf_init(&c->in);
    buf_init(&c->wbuf);
    c->s = session_new(&conn_ops, c);
    c->s->fd = transport_fd(t);
    update_out_limit(c);
    return c;
}

session *conn_session(conn *c) {
    return c->s;
}

void conn_start(conn *c) {
    start_reading(c);
}

void conn_refuse(conn *c, const char *msg, size_t len) {
    buf_append(&c->s->out, msg, len);
    c->s->flags |= SESS_CLOSE_AFTER_REPLY;
    mark_pending(c);
}

peer *conn_handover(session *s, const peer_events *ev, void *data) {
    if (s->ops != &conn_ops) return NULL;
    conn *c = s->conn;
    if (c->closing || c->handover || (s->flags & (SESS_CLOSE_ASAP | SESS_CLOSE_AFTER_REPLY)))
        return NULL;
    c->handover = peer_new_pending(ev, data);
    transport_read_stop(c->t);
    c->resume_read = 0;
    mark_pending(c);
    return c->handover;
}

/* ---- every connection ---- */

void conn_close_fds(void) {
    for (session *s = session_first(); s; s = s->next)
        if (s->ops == &conn_ops && s->fd >= 0) close(s->fd);
}

void conn_close_all_now(void) {
    for (session *s = session_first(); s; s = s->next) {
        if (s->ops != &conn_ops) continue;
        conn *c = s->conn;
        if (c->closing) continue;
        /* A last, best-effort write of what is pending, then close. */
        if (!c->t->writing && s->out.len) transport_try_write(c->t, s->out.data, s->out.len);
        conn_close(c);
    }
}

void conn_cron_all(int64_t now_ms) {
    for (session *s = session_first(); s; s = s->next) {
        if (s->ops != &conn_ops) continue;
        conn *c = s->conn;
        if (c->closing) continue;
        if (config.timeout > 0 && !(s->flags & (SESS_PUBSUB | SESS_MULTI | SESS_BLOCKED)) &&
            !c->handover && now_ms - s->last_ms > (int64_t)config.timeout * 1000) {
            log_verbose("Closing idle client id=%llu", (unsigned long long)s->id);
            conn_close(c);
            continue;
        }
        if (c->in.len == 0) buf_shrink(&c->in, NET_IDLE_BUF_KEEP);
    }
}
