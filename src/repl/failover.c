/* failover: FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], a primary handing its
 * role to one of its replicas without losing a write (Redis 6.2's coordinated failover).
 *
 *     FAILOVER ─▶ waiting-for-sync: writes paused (cmd/pause.h), expiry only hides, no PINGs
 *                 in the stream, so the offset stands still; each ACK is compared with it
 *              ─▶ a replica (the one named, or any) acknowledged the whole stream, or the
 *                 timeout passed with FORCE: failover-in-progress: this server becomes the
 *                 replica of the target and sends it PSYNC <replid> <offset> FAILOVER; the
 *                 target, seeing its own replid, promotes itself and answers +CONTINUE
 *              ─▶ no-failover: the pause ends, and the paused writes meet READONLY.
 *
 * The timeout without FORCE, FAILOVER ABORT, or a refused PSYNC end it early (aborted): a
 * server already turned replica becomes a primary again, and the pause ends. */
#include "mayfly/cmd/pause.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "repl/repl_int.h"

#include <stdio.h>
#include <string.h>

enum fo_state { FO_NONE, FO_WAIT_SYNC, FO_IN_PROGRESS };

static struct {
    enum fo_state state;
    char *host; /* the target, NULL: the first replica to catch up */
    int port;
    int force;
    int64_t end_ms; /* 0: no timeout */
} fo;

const char *failover_state_name(void) {
    switch (fo.state) {
    case FO_WAIT_SYNC:
        return "waiting-for-sync";
    case FO_IN_PROGRESS:
        return "failover-in-progress";
    default:
        return "no-failover";
    }
}

int failover_active(void) {
    return fo.state != FO_NONE;
}

int failover_in_progress(void) {
    return fo.state == FO_IN_PROGRESS;
}

static void clear_state(void) {
    mem_free(fo.host);
    memset(&fo, 0, sizeof(fo));
    cmd_unpause(CMD_PAUSE_FAILOVER); /* expiry resumes unless another pause holds */
}

void failover_abort(const char *why) {
    if (fo.state == FO_NONE) return;
    if (fo.host)
        log_notice("FAILOVER to %s:%d aborted: %s", fo.host, fo.port, why);
    else
        log_notice("FAILOVER to any replica aborted: %s", why);
    if (fo.state == FO_IN_PROGRESS) repl_promote(); /* a primary again */
    clear_state();
}

void failover_psync_result(int accepted) {
    if (fo.state != FO_IN_PROGRESS) return;
    if (accepted)
        clear_state();
    else
        failover_abort("Failover target rejected psync request");
}

/* Turns this server into the target's replica; the link's PSYNC carries FAILOVER. */
static void hand_over(void) {
    fo.state = FO_IN_PROGRESS;
    primary_unblock_waiters();
    repl_replicate(fo.host, fo.port);
}

void failover_check(int64_t now_ms) {
    if (fo.state != FO_WAIT_SYNC) return;
    if (fo.end_ms && fo.end_ms <= now_ms) {
        if (!fo.force) {
            failover_abort("Replica never caught up before timeout");
            return;
        }
        log_notice("FAILOVER to %s:%d time out exceeded, failing over.", fo.host, fo.port);
        hand_over();
        return;
    }
    char host[64];
    int port;
    if (!primary_caught_up(fo.host, fo.port, host, sizeof(host), &port)) return;
    if (!fo.host) {
        fo.host = mem_strdup(host);
        fo.port = port;
    }
    log_notice("Failover target %s:%d is synced, failing over.", fo.host, fo.port);
    hand_over();
}

/* The options; returns 0, or -1 having replied. */
static int parse_options(cmd_ctx *c, long long *timeout, int *force, slice *host, long long *port) {
    for (int j = 1; j < c->argc; j++) {
        slice a = c->argv[j];
        if (slice_eq_ci(a, "timeout") && j + 1 < c->argc && *timeout == 0) {
            if (arg_ll(c, c->argv[j + 1], timeout) < 0) return -1;
            if (*timeout <= 0) {
                reply_error(c, "ERR FAILOVER timeout must be greater than 0");
                return -1;
            }
            j++;
        } else if (slice_eq_ci(a, "to") && j + 2 < c->argc && !host->p) {
            if (arg_ll(c, c->argv[j + 2], port) < 0) return -1;
            *host = c->argv[j + 1];
            j += 2;
        } else if (slice_eq_ci(a, "force") && !*force) {
            *force = 1;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

/* Refusals once the options are read; returns 0, or -1 having replied. */
static int check_can_start(cmd_ctx *c, long long timeout, int force, slice host, long long port) {
    const char *err = NULL;
    if (fo.state != FO_NONE)
        err = "ERR FAILOVER already in progress.";
    else if (repl_st.master_host)
        err = "ERR FAILOVER is not valid when server is a replica.";
    else if (primary_replica_count() == 0)
        err = "ERR FAILOVER requires connected replicas.";
    else if (force && (!timeout || !host.p))
        err = "ERR FAILOVER with force option requires both a timeout and target HOST and IP.";
    if (!err && host.p) {
        char h[256];
        snprintf(h, sizeof(h), "%.*s", (int)host.len, host.p);
        int online = primary_replica_online(h, (int)port);
        if (online < 0)
            err = "ERR FAILOVER target HOST and PORT is not a replica.";
        else if (!online)
            err = "ERR FAILOVER target replica is not online.";
    }
    if (!err) return 0;
    reply_error(c, err);
    return -1;
}

void failover_command(cmd_ctx *c) {
    if (config.cluster_enabled) {
        reply_error(c, "ERR FAILOVER not allowed in cluster mode.");
        return;
    }
    if (c->argc == 2 && slice_eq_ci(c->argv[1], "abort")) {
        if (fo.state == FO_NONE) {
            reply_error(c, "ERR No failover in progress.");
            return;
        }
        failover_abort("Failover manually aborted");
        reply_ok(c);
        return;
    }
    long long timeout = 0, port = 0;
    int force = 0;
    slice host = {NULL, 0};
    if (parse_options(c, &timeout, &force, &host, &port) < 0) return;
    if (check_can_start(c, timeout, force, host, port) < 0) return;
    if (host.p) {
        fo.host = mem_alloc(host.len + 1);
        memcpy(fo.host, host.p, host.len);
        fo.host[host.len] = '\0';
        fo.port = (int)port;
        log_notice("FAILOVER requested to %s:%d.", fo.host, fo.port);
    } else {
        log_notice("FAILOVER requested to any replica.");
    }
    fo.end_ms = timeout ? repl_now_ms() + timeout : 0;
    fo.force = force;
    fo.state = FO_WAIT_SYNC;
    /* The offset must stand still: no client writes, no reaping (the pause makes reads
     * only hide). */
    cmd_pause_writes(CMD_PAUSE_FAILOVER);
    reply_ok(c);
}
