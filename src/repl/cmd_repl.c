/* cmd_repl: the replication commands (REPLICAOF, SLAVEOF, ROLE, WAIT, PSYNC, SYNC, REPLCONF).
 * They parse and answer as Redis's; the work is in repl.c, primary.c and replica.c. */
#include "mayfly/config.h"
#include "mayfly/util/log.h"
#include "mayfly/util/strconv.h"
#include "repl/repl_int.h"

#include <stdio.h>

static void cmd_replicaof(cmd_ctx *c) {
    /* In cluster mode the bus says whom a replica follows (CLUSTER REPLICATE). */
    if (config.cluster_enabled) {
        reply_error(c, "ERR REPLICAOF not allowed in cluster mode.");
        return;
    }
    if (failover_active()) {
        reply_error(c, "ERR REPLICAOF not allowed while failing over.");
        return;
    }
    if (slice_eq_ci(c->argv[1], "no") && slice_eq_ci(c->argv[2], "one")) {
        if (repl_is_replica()) {
            primary_unblock_waiters();
            repl_promote();
            log_notice("MASTER MODE enabled (user request from 'id=%llu addr=%s')",
                       (unsigned long long)c->s->id, c->s->addr);
        }
        reply_ok(c);
        return;
    }
    if (c->s->flags & SESS_REPLICA) {
        reply_error(c, "ERR Command is not valid when client is a replica.");
        return;
    }
    long long port;
    if (str_to_ll(c->argv[2].p, c->argv[2].len, &port) < 0 || port < 0 || port > 65535) {
        reply_error(c, "ERR Invalid master port");
        return;
    }
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)c->argv[1].len, c->argv[1].p);
    if (!repl_is_replica()) primary_unblock_waiters();
    if (repl_replicate(host, (int)port) == 1) {
        log_notice("REPLICAOF would result into synchronization with the master we are already "
                   "connected with. No operation performed.");
        reply_simple(c, "OK Already connected to specified master");
        return;
    }
    log_notice("REPLICAOF %s:%d enabled (user request from 'id=%llu addr=%s')", host, (int)port,
               (unsigned long long)c->s->id, c->s->addr);
    reply_ok(c);
}

static void cmd_role(cmd_ctx *c) {
    if (repl_is_replica())
        replica_role_reply(c);
    else
        primary_role_reply(c);
}

static void cmd_wait(cmd_ctx *c) {
    primary_wait(c);
}

static void cmd_sync(cmd_ctx *c) {
    primary_sync_command(c);
}

static void cmd_replconf(cmd_ctx *c) {
    if (c->s->flags & SESS_MASTER) {
        /* From our primary's stream: GETACK asks for an ACK now; no reply goes back. */
        if (c->argc >= 2 && slice_eq_ci(c->argv[1], "getack")) replica_send_ack();
        return;
    }
    primary_replconf(c);
}

#define REPLICAOF_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE)
#define SYNC_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI)

const cmd_spec repl_commands[] = {
    {"replicaof", cmd_replicaof, 3, REPLICAOF_FLAGS, 0, 0, 0, "server", "5.0.0", "O(1)",
     "Configures a server as replica of another, or promotes it to a master.",
     "<host port | NO ONE>", NULL, "@admin @slow @dangerous"},
    {"slaveof", cmd_replicaof, 3, REPLICAOF_FLAGS, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Sets a Redis server as a replica of another, or promotes it to being a master.",
     "<host port | NO ONE>", NULL, "@admin @slow @dangerous"},
    {"failover", failover_command, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE, 0, 0, 0, "server",
     "6.2.0", "O(1)", "Starts a coordinated failover from a server to one of its replicas.",
     "[TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]", NULL, "@admin @slow @dangerous"},
    {"role", cmd_role, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "server",
     "2.8.12", "O(1)", "Returns the replication role.", "", NULL, "@admin @fast @dangerous"},
    {"wait", cmd_wait, 3, CMD_BLOCKING, 0, 0, 0, "generic", "3.0.0", "O(1)",
     "Blocks until the asynchronous replication of all preceding write commands sent by the "
     "connection is completed.",
     "numreplicas timeout", NULL, "@slow @blocking @connection"},
    {"waitaof", primary_waitaof, 4, CMD_BLOCKING, 0, 0, 0, "generic", "7.2.0", "O(1)",
     "Blocks until all of the preceding write commands sent by the connection are written to "
     "the append-only file of the master and/or replicas.",
     "numlocal numreplicas timeout", NULL, "@slow @blocking @connection"},
    {"psync", cmd_sync, -3, SYNC_FLAGS, 0, 0, 0, "server", "2.8.0", NULL,
     "An internal command used in replication.", "replicationid offset", NULL,
     "@admin @slow @dangerous"},
    {"sync", cmd_sync, 1, SYNC_FLAGS, 0, 0, 0, "server", "1.0.0", NULL,
     "An internal command used in replication.", "", NULL, "@admin @slow @dangerous"},
    {"replconf", cmd_replconf, -1,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY, 0, 0, 0, "server",
     "3.0.0", "O(1)", "An internal command for configuring the replication stream.", "", NULL,
     "@admin @slow @dangerous"},
    {0},
};
