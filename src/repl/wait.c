/* wait: WAIT numreplicas timeout and WAITAOF numlocal numreplicas timeout.
 *
 * A client waits for the offset just after its last write (session.woff, set by the
 * stream's sink). WAIT counts online replicas whose REPLCONF ACK reached it; WAITAOF counts
 * those whose FACK (the offset their append-only log has fsynced) did, and locally whether
 * this server's log is fsynced that far (aof_fsynced_offset). A client that must wait is
 * blocked (session_block) and listed; every flush (and the timer of the nearest deadline)
 * answers those whose counts are reached or whose time is up. A GETACK goes into the
 * stream at the next flush so that replicas answer at once rather than within a second. */
#include "mayfly/cmd/host.h"
#include "mayfly/persist/aof.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "repl/repl_int.h"

typedef struct waiter {
    session *s;
    uint64_t offset;
    long long numreplicas;
    int aof;             /* WAITAOF: FACKs and the local fsync */
    long long numlocal;  /* WAITAOF: 0 or 1 */
    int64_t deadline_ms; /* 0: none */
    struct waiter *next;
} waiter;

static waiter *waiters;
static int ack_wanted;        /* a GETACK goes out at the next flush */
static uv_timer_t wait_timer; /* the nearest deadline */

void primary_request_acks(void) {
    ack_wanted = 1;
}

static void waiter_unlink(waiter *w) {
    for (waiter **p = &waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* A blocked client was freed (it hung up, CLIENT KILL). */
static void waiter_session_freed(session *s) {
    for (waiter *w = waiters; w; w = w->next) {
        if (w->s == s) {
            waiter_unlink(w);
            mem_free(w);
            return;
        }
    }
}

static void on_wait_timer(uv_timer_t *t) {
    (void)t;
    primary_process_waits(repl_now_ms());
}

static void arm_wait_timer(int64_t now) {
    int64_t next = 0;
    for (waiter *w = waiters; w; w = w->next)
        if (w->deadline_ms && (!next || w->deadline_ms < next)) next = w->deadline_ms;
    if (!next) {
        uv_timer_stop(&wait_timer);
        return;
    }
    uv_timer_start(&wait_timer, on_wait_timer, (uint64_t)(next > now ? next - now : 0), 0);
}

static int local_fsynced(uint64_t offset) {
    return aof_fsynced_offset() >= (long long)offset;
}

static void write_aof_counts(buf *out, int local, int replicas) {
    resp_w_array(out, 2);
    resp_w_int(out, local);
    resp_w_int(out, replicas);
}

void primary_process_waits(int64_t now) {
    if (ack_wanted) {
        ack_wanted = 0;
        if (!repl_st.master_host && primary_replica_count()) {
            slice getack[3] = {slice_of("REPLCONF"), slice_of("GETACK"), slice_of("*")};
            stream_append_argv(3, getack);
            primary_feed();
        }
    }
    if (!waiters) return;
    for (waiter *w = waiters, *next; w; w = next) {
        next = w->next;
        int acks = primary_count_acks(w->offset, w->aof);
        int local = w->aof && local_fsynced(w->offset);
        int done = acks >= w->numreplicas && local >= w->numlocal;
        if (!done && !(w->deadline_ms && now >= w->deadline_ms)) continue;
        session *s = w->s;
        waiter_unlink(w);
        if (w->aof)
            write_aof_counts(&s->out, local, acks);
        else
            resp_w_int(&s->out, acks);
        mem_free(w);
        session_unblock(s);
    }
    arm_wait_timer(now);
}

/* The timeout argument as Redis's getTimeoutFromObjectOrReply (milliseconds); -1 having
 * replied. */
static int parse_timeout(cmd_ctx *c, slice a, long long *out) {
    if (str_to_ll(a.p, a.len, out) < 0) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (*out < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    return 0;
}

static void block(session *s, int aof, long long numlocal, long long numreplicas,
                  long long timeout) {
    waiter *w = mem_calloc(1, sizeof(*w));
    w->s = s;
    w->offset = s->woff;
    w->numreplicas = numreplicas;
    w->aof = aof;
    w->numlocal = numlocal;
    int64_t now = repl_now_ms();
    w->deadline_ms = timeout > 0 ? now + timeout : 0;
    w->next = waiters;
    waiters = w;
    session_block(s, waiter_session_freed);
    primary_request_acks();
    arm_wait_timer(now);
}

/* Inside a transaction, or for a client that cannot wait: answer at once. */
static int cannot_block(const session *s) {
    return host_stat.in_exec || !s->ops || !s->ops->unblocked;
}

void primary_wait(cmd_ctx *c) {
    if (repl_st.master_host) {
        reply_error(c, "ERR WAIT cannot be used with replica instances. Please also note that "
                       "since Redis 4.0 if a replica is configured to be writable (which is not "
                       "the default) writes to replicas are just local and are not propagated.");
        return;
    }
    long long num, timeout;
    if (arg_ll(c, c->argv[1], &num) < 0 || parse_timeout(c, c->argv[2], &timeout) < 0) return;
    session *s = c->s;
    int acks = primary_count_acks(s->woff, 0);
    if (acks >= num || cannot_block(s)) {
        reply_int(c, acks);
        return;
    }
    block(s, 0, 0, num, timeout);
}

void primary_waitaof(cmd_ctx *c) {
    long long numlocal, numreplicas, timeout;
    if (arg_ll(c, c->argv[1], &numlocal) < 0) return;
    if (numlocal < 0 || numlocal > 1) {
        reply_error(c, "ERR value is out of range, value must between 0 and 1");
        return;
    }
    if (arg_ll(c, c->argv[2], &numreplicas) < 0) return;
    if (numreplicas < 0) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    if (parse_timeout(c, c->argv[3], &timeout) < 0) return;
    if (repl_st.master_host) {
        reply_error(c, "ERR WAITAOF cannot be used with replica instances. Please also note "
                       "that writes to replicas are just local and are not propagated.");
        return;
    }
    if (numlocal && !aof_is_on()) {
        reply_error(c, "ERR WAITAOF cannot be used when numlocal is set but appendonly is "
                       "disabled.");
        return;
    }
    session *s = c->s;
    int acks = primary_count_acks(s->woff, 1);
    int local = local_fsynced(s->woff);
    if ((acks >= numreplicas && local >= numlocal) || cannot_block(s)) {
        reply_array(c, 2);
        reply_int(c, local);
        reply_int(c, acks);
        return;
    }
    block(s, 1, numlocal, numreplicas, timeout);
}

void primary_unblock_waiters(void) {
    while (waiters) {
        waiter *w = waiters;
        session *s = w->s;
        waiters = w->next;
        mem_free(w);
        resp_w_error(&s->out, "UNBLOCKED force unblock from blocking operation, instance state "
                              "changed (master -> replica?)");
        session_unblock(s);
    }
    uv_timer_stop(&wait_timer);
}

void wait_init(uv_loop_t *loop) {
    uv_timer_init(loop, &wait_timer);
}

void wait_shutdown(void) {
    uv_timer_stop(&wait_timer);
    uv_close((uv_handle_t *)&wait_timer, NULL);
}
