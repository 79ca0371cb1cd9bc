/* failover: replicas taking over their master's slots, with Redis Cluster's rules
 * (cluster_legacy.c of Redis is the reference for each of them).
 *
 * As a master serving slots, this node votes: a replica whose master is FAIL (or that asks
 * with FORCEACK, a manual failover) sends FAILOVER_AUTH_REQUEST with its currentEpoch; we
 * grant one vote per epoch (lastVoteEpoch, saved in nodes.conf before the ACK leaves), at
 * most one per failed master every 2 * node timeout, and never to a replica claiming slots
 * that a master with a newer config epoch serves.
 *
 * As a replica of a FAIL master, this node runs an election: it waits 500 ms + random
 * 0-500 ms + 1 s per replica of the same master with a better replication offset (its
 * rank), bumps currentEpoch, asks every node for a vote, and with the votes of a majority of
 * the masters serving slots takes the epoch of the election as its config epoch, claims its
 * master's slots and tells everyone (PONG to all). An election that got no majority expires
 * after max(2 * node timeout, 2 s) and is retried after twice that.
 *
 * A manual failover (CLUSTER FAILOVER) sends MFSTART to the master, which holds its clients'
 * writes (cmd/pause.h, CMD_PAUSE_CLUSTER: postponed, then run again, so after the takeover
 * they meet MOVED, as in Redis) and pings the replica with its offset flagged PAUSED; once the
 * replica has processed up to that offset it runs the election at once with FORCEACK. FORCE skips
 * the master, TAKEOVER skips the election (a config epoch without consensus). */
#include "cluster/cluster_int.h"
#include "mayfly/cmd/pause.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/repl/repl.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/rand.h"

#include <string.h>

#define MF_TIMEOUT_MS 5000   /* CLUSTER_MF_TIMEOUT */
#define MF_PAUSE_MULT 2      /* the master stops writes for twice that */
#define MIGRATION_DELAY 5000 /* CLUSTER_SLAVE_MIGRATION_DELAY */
#define RELOG_PERIOD_MS 10000

enum { CANT_NONE, CANT_DATA_AGE, CANT_WAITING_DELAY, CANT_EXPIRED, CANT_WAITING_VOTES };

static struct {
    /* The election of this replica. */
    int64_t auth_time; /* when it starts (or started) */
    int auth_count;    /* votes received */
    int auth_sent;     /* the request went out */
    int auth_rank;
    uint64_t auth_epoch;
    int cant_reason;
    int64_t cant_logged;
    /* Manual failover: on the replica (mf_end, can_start, master_offset) and on the master
     * (mf_end, mf_replica). */
    int64_t mf_end;
    int mf_can_start;
    cluster_node *mf_replica;
    long long mf_master_offset;
    int64_t pause_until; /* a master holds writes until then (0: not holding) */
    int64_t link_seen;   /* a replica's link to its master was last up then (0: never) */
} fo = {.mf_master_offset = -1};

/* Redis's replicationGetSlaveOffset on a replica, master_repl_offset on a master. */
static long long my_offset(void) {
    return (long long)repl_processed_offset();
}

long long failover_my_offset(void) {
    return my_offset();
}

int failover_paused(void) {
    return (cl.myself->flags & CN_MASTER) && fo.mf_end != 0;
}

/* The master's side of a manual failover holds writes until the replica took over or
 * until (Redis's pauseActions(PAUSE_DURING_FAILOVER, ...)). */
static void hold_writes(int64_t until) {
    fo.pause_until = until;
    cmd_pause_writes(CMD_PAUSE_CLUSTER);
}

static void release_writes(void) {
    if (!fo.pause_until) return;
    fo.pause_until = 0;
    cmd_unpause(CMD_PAUSE_CLUSTER);
}

void failover_reset_manual(void) {
    release_writes();
    fo.mf_end = 0;
    fo.mf_can_start = 0;
    fo.mf_replica = NULL;
    fo.mf_master_offset = -1;
}

void failover_forget_node(const cluster_node *n) {
    if (fo.mf_replica == n) failover_reset_manual();
}

/* ---- voting (as a master serving slots) ---- */

static int vote_refused(const cluster_node *node, const failover_request *rq) {
    const cluster_node *master = node->master;
    if (rq->current_epoch < cl.current_epoch) {
        log_warning("Failover auth denied to %.40s (%s): reqEpoch (%llu) < curEpoch(%llu)",
                    node->name, node->human_nodename, (unsigned long long)rq->current_epoch,
                    (unsigned long long)cl.current_epoch);
        return 1;
    }
    if (cl.last_vote_epoch == cl.current_epoch) {
        log_warning("Failover auth denied to %.40s (%s): already voted for epoch %llu", node->name,
                    node->human_nodename, (unsigned long long)cl.current_epoch);
        return 1;
    }
    if (node->flags & CN_MASTER) {
        log_warning("Failover auth denied to %.40s (%s): it is a master node", node->name,
                    node->human_nodename);
        return 1;
    }
    if (!master) {
        log_warning("Failover auth denied to %.40s (%s): I don't know its master", node->name,
                    node->human_nodename);
        return 1;
    }
    if (!(master->flags & CN_FAIL) && !rq->force_ack) {
        log_warning("Failover auth denied to %.40s (%s): its master is up", node->name,
                    node->human_nodename);
        return 1;
    }
    int64_t since = rq->now - master->voted_time;
    if (since < cluster_cfg.node_timeout * 2) {
        log_warning("Failover auth denied to %.40s %s: can't vote about this master before %lld "
                    "milliseconds",
                    node->name, node->human_nodename,
                    (long long)(cluster_cfg.node_timeout * 2 - since));
        return 1;
    }
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bitmap_test(rq->claimed, s) || !cl.slots[s]) continue;
        if (cl.slots[s]->config_epoch <= rq->config_epoch) continue;
        log_warning("Failover auth denied to %.40s (%s): slot %d epoch (%llu) > reqEpoch (%llu)",
                    node->name, node->human_nodename, s,
                    (unsigned long long)cl.slots[s]->config_epoch,
                    (unsigned long long)rq->config_epoch);
        return 1;
    }
    return 0;
}

void failover_vote(cluster_node *node, const failover_request *rq) {
    /* Only masters serving slots vote: the quorum is a majority of them. */
    if ((cl.myself->flags & CN_SLAVE) || cl.myself->numslots == 0) return;
    if (vote_refused(node, rq)) return;
    cl.last_vote_epoch = cl.current_epoch;
    node->master->voted_time = rq->now;
    /* The vote is on disk before anyone can count it (the ACK leaves after the save). */
    if (cluster_save_config(1) < 0) log_warning("Could not save the vote in the cluster config");
    bus_send_auth_ack(node);
    log_notice("Failover auth granted to %.40s (%s) for epoch %llu", node->name,
               node->human_nodename, (unsigned long long)cl.current_epoch);
}

void failover_ack(cluster_node *sender, uint64_t sender_epoch) {
    if (!(sender->flags & CN_MASTER) || sender->numslots == 0) return;
    if (sender_epoch < fo.auth_epoch) return;
    fo.auth_count++;
    cluster_todo(CLUSTER_TODO_HANDLE_FAILOVER);
}

/* ---- manual failover, the master's side ---- */

void failover_mfstart(cluster_node *sender, int64_t now_ms) {
    if (sender->master != cl.myself) return;
    failover_reset_manual();
    fo.mf_end = now_ms + MF_TIMEOUT_MS;
    fo.mf_replica = sender;
    hold_writes(now_ms + MF_TIMEOUT_MS * MF_PAUSE_MULT);
    log_notice("Manual failover requested by replica %.40s (%s).", sender->name,
               sender->human_nodename);
    /* Our offset, flagged PAUSED, tells the replica how far it must catch up. */
    if (sender->link) bus_send_ping_to(sender);
}

int failover_ping_replica(const cluster_node *n) {
    return fo.mf_end && (cl.myself->flags & CN_MASTER) && fo.mf_replica == n && n->link;
}

/* Every message from a known node: a paused master's offset, for our manual failover. */
void failover_note_sender(const cluster_node *sender, int paused) {
    if (!fo.mf_end || !(cl.myself->flags & CN_SLAVE) || cl.myself->master != sender || !paused ||
        fo.mf_master_offset != -1)
        return;
    fo.mf_master_offset = sender->repl_offset;
    cluster_todo(CLUSTER_TODO_HANDLE_MANUAL);
    log_notice("Received replication offset for paused master manual failover: %lld",
               fo.mf_master_offset);
}

/* ---- the election (as a replica) ---- */

/* Replicas of our master (able to fail over) with a better offset than ours. */
static int replica_rank(void) {
    cluster_node *m = cl.myself->master;
    if (!m) return 0;
    long long mine = my_offset();
    int rank = 0;
    for (int i = 0; i < m->nreplicas; i++) {
        cluster_node *r = m->replicas[i];
        if (r != cl.myself && !(r->flags & CN_NOFAILOVER) && r->repl_offset > mine) rank++;
    }
    return rank;
}

static void log_cant_failover(int reason, int64_t now) {
    if (reason == fo.cant_reason && now - fo.cant_logged < RELOG_PERIOD_MS) return;
    fo.cant_reason = reason;
    cluster_node *m = cl.myself->master;
    /* Quiet while the master failed only recently: the log is for stalled replicas. */
    if (m && (m->flags & CN_FAIL) && now - m->fail_time < cluster_cfg.node_timeout + 5000) return;
    static const char *const why[] = {
        "Unknown reason code.",
        ("Disconnected from master for longer than allowed. Please check the "
         "'cluster-replica-validity-factor' configuration option."),
        "Waiting the delay before I can start a new failover.", "Failover attempt expired.",
        "Waiting for votes, but majority still not reached."};
    fo.cant_logged = now;
    log_notice("Currently unable to failover: %s", why[reason]);
    if (reason == CANT_WAITING_VOTES || reason == CANT_EXPIRED)
        log_notice("Needed quorum: %d. Number of votes received so far: %d", cl.size / 2 + 1,
                   fo.auth_count);
}

/* The last step of every failover: this replica becomes the master of its master's slots
 * (the caller gave it a new config epoch). */
void failover_replace_master(void) {
    cluster_node *me = cl.myself, *old = me->master;
    if ((me->flags & CN_MASTER) || !old) return;
    cluster_set_master(me);
    repl_promote();
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bitmap_test(old->slots, s)) continue;
        cluster_del_slot(s);
        cluster_add_slot(me, s);
    }
    cluster_update_state(clock_now_ms());
    if (cluster_save_config(1) < 0) log_warning("Could not save the cluster config");
    bus_broadcast_pong();
    failover_reset_manual();
}

/* When the link to our master was last up: now while it is, else when it went down (the
 * cron's sampling alone would miss a link that was up for less than 100 ms before its
 * master died: such a replica never ran for election). */
static void note_link(int64_t now) {
    if (repl_master_link_up()) {
        fo.link_seen = now;
        return;
    }
    long long down = repl_master_down_ms();
    if (down >= 0 && now - down > fo.link_seen) fo.link_seen = now - down;
}

/* How long this replica has been without its master's data, past the node timeout. */
static int data_too_old(int64_t now) {
    note_link(now);
    /* Never linked since it follows this master: as old as can be (Redis's
     * repl_down_since 0). */
    int64_t age = fo.link_seen ? now - fo.link_seen : INT64_MAX / 2;
    if (age > cluster_cfg.node_timeout) age -= cluster_cfg.node_timeout;
    if (!cluster_cfg.replica_validity_factor) return 0;
    return age > 10 * 1000 + cluster_cfg.node_timeout * cluster_cfg.replica_validity_factor;
}

/* Schedules a new election: 500 ms + random(500) + rank seconds from now (at once for a
 * manual failover). */
static void schedule_election(int64_t now) {
    fo.auth_time = now + 500 + (int64_t)rand_below(500);
    fo.auth_count = 0;
    fo.auth_sent = 0;
    fo.auth_rank = replica_rank();
    fo.auth_time += (int64_t)fo.auth_rank * 1000;
    if (fo.mf_end) {
        fo.auth_time = now;
        fo.auth_rank = 0;
        cluster_todo(CLUSTER_TODO_HANDLE_FAILOVER);
    }
    log_notice("Start of election delayed for %lld milliseconds (rank #%d, offset %lld).",
               (long long)(fo.auth_time - now), fo.auth_rank, my_offset());
    bus_broadcast_pong_shard();
}

static void won_election(void) {
    log_notice("Failover election won: I'm the new master.");
    if (cl.myself->config_epoch < fo.auth_epoch) {
        cl.myself->config_epoch = fo.auth_epoch;
        log_notice("configEpoch set to %llu after successful failover",
                   (unsigned long long)cl.myself->config_epoch);
    }
    failover_replace_master();
}

void failover_handle_replica(int64_t now) {
    cluster_node *me = cl.myself, *m = me->master;
    int64_t auth_age = now - fo.auth_time;
    int manual = fo.mf_end != 0 && fo.mf_can_start;
    int64_t auth_timeout = cluster_cfg.node_timeout * 2;
    if (auth_timeout < 2000) auth_timeout = 2000;
    cl.todo &= ~CLUSTER_TODO_HANDLE_FAILOVER;
    if ((me->flags & CN_MASTER) || !m || (!(m->flags & CN_FAIL) && !manual) ||
        (cluster_cfg.replica_no_failover && !manual) || m->numslots == 0) {
        fo.cant_reason = CANT_NONE;
        return;
    }
    if (data_too_old(now) && !manual) {
        log_cant_failover(CANT_DATA_AGE, now);
        return;
    }
    if (auth_age > auth_timeout * 2) {
        schedule_election(now);
        return;
    }
    if (!fo.auth_sent && !fo.mf_end) {
        int rank = replica_rank();
        if (rank > fo.auth_rank) {
            int64_t added = (int64_t)(rank - fo.auth_rank) * 1000;
            fo.auth_time += added;
            fo.auth_rank = rank;
            log_notice("Replica rank updated to #%d, added %lld milliseconds of delay.", rank,
                       (long long)added);
        }
    }
    if (now < fo.auth_time) {
        log_cant_failover(CANT_WAITING_DELAY, now);
        return;
    }
    if (auth_age > auth_timeout) {
        log_cant_failover(CANT_EXPIRED, now);
        return;
    }
    if (!fo.auth_sent) {
        cl.current_epoch++;
        fo.auth_epoch = cl.current_epoch;
        log_notice("Starting a failover election for epoch %llu.",
                   (unsigned long long)cl.current_epoch);
        bus_send_auth_request(fo.mf_end != 0);
        fo.auth_sent = 1;
        cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
        return;
    }
    if (fo.auth_count >= cl.size / 2 + 1)
        won_election();
    else
        log_cant_failover(CANT_WAITING_VOTES, now);
}

/* The replica's side of a manual failover: can it start (offset reached)? */
void failover_handle_manual(void) {
    cl.todo &= ~CLUSTER_TODO_HANDLE_MANUAL;
    if (!fo.mf_end || fo.mf_can_start || fo.mf_master_offset == -1) return;
    long long mine = my_offset();
    if (fo.mf_master_offset == mine) {
        fo.mf_can_start = 1;
        log_notice("All master replication stream processed, manual failover can start.");
        cluster_todo(CLUSTER_TODO_HANDLE_FAILOVER);
        return;
    }
    cluster_todo(CLUSTER_TODO_HANDLE_MANUAL);
}

/* CLUSTER FAILOVER on this replica (the caller checked the preconditions). */
void failover_start_manual(int force, int takeover, int64_t now) {
    failover_reset_manual();
    fo.mf_end = now + MF_TIMEOUT_MS;
    if (takeover) {
        log_notice("Taking over the master (user request).");
        cluster_bump_epoch_without_consensus();
        failover_replace_master();
    } else if (force) {
        log_notice("Forced failover user request accepted.");
        fo.mf_can_start = 1;
    } else {
        log_notice("Manual failover user request accepted.");
        bus_send_mfstart(cl.myself->master);
    }
}

/* ---- replica migration ---- */

static int ok_replicas(const cluster_node *n) {
    int ok = 0;
    for (int i = 0; i < n->nreplicas; i++)
        if (!(n->replicas[i]->flags & (CN_FAIL | CN_PFAIL))) ok++;
    return ok;
}

static int non_failing_replicas(const cluster_node *n) {
    int ok = 0;
    for (int i = 0; i < n->nreplicas; i++)
        if (!(n->replicas[i]->flags & CN_FAIL)) ok++;
    return ok;
}

/* Redis's clusterHandleSlaveMigration: a replica of a master with the most working replicas
 * (the one with the smallest name among them) moves to an orphaned master. */
/* The replica with the smallest name among n's, if smaller than candidate's. */
static cluster_node *smallest_replica(cluster_node *n, cluster_node *candidate) {
    for (int j = 0; j < n->nreplicas; j++)
        if (memcmp(n->replicas[j]->name, candidate->name, CLUSTER_NAMELEN) < 0)
            candidate = n->replicas[j];
    return candidate;
}

static void handle_migration(int max_replicas, int64_t now) {
    cluster_node *mine = cl.myself->master, *target = NULL, *candidate = cl.myself;
    if (cl.state != CLUSTER_OK || !mine) return;
    if (ok_replicas(mine) <= cluster_cfg.migration_barrier) return;
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        int ok = (n->flags & CN_MASTER) ? non_failing_replicas(n) : 0;
        int orphaned = (n->flags & CN_MASTER) && !(n->flags & CN_FAIL) &&
                       (n->flags & CN_MIGRATE_TO) && ok == 0;
        if (orphaned && !target && n->numslots > 0) target = n;
        if (orphaned && !n->orphaned_time) n->orphaned_time = now;
        if (!orphaned) n->orphaned_time = 0;
        if (ok == max_replicas) candidate = smallest_replica(n, candidate);
    }
    if (target && candidate == cl.myself && now - target->orphaned_time > MIGRATION_DELAY) {
        log_notice("Migrating to orphaned master %.40s", target->name);
        failover_set_my_master(target);
    }
}

/* ---- following a master ---- */

void failover_set_my_master(cluster_node *n) {
    cluster_node *me = cl.myself;
    if (me->flags & CN_MASTER) {
        me->flags &= ~(CN_MASTER | CN_MIGRATE_TO);
        me->flags |= CN_SLAVE;
        for (int s = 0; s < CLUSTER_SLOTS; s++)
            cl.migrating_to[s] = cl.importing_from[s] = NULL;
    } else if (me->master) {
        cluster_node_remove_replica(me->master, me);
    }
    me->master = n;
    fo.link_seen = 0;
    memcpy(me->shard_id, n->shard_id, sizeof(me->shard_id));
    cluster_node_add_replica(n, me);
    failover_follow_master();
    failover_reset_manual();
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
}

/* Points replication at our master's address (Redis's replicationSetMaster). */
void failover_follow_master(void) {
    cluster_node *m = cl.myself->master;
    if (!m || !m->ip[0] || (m->flags & CN_NOADDR)) return;
    /* Replication goes over TLS with tls-replication, so to the TLS port then. */
    int port = config.tls_replication ? m->tls_port : m->tcp_port;
    repl_replicate(m->ip, port);
}

/* ---- the cron (every 100 ms, after the nodes' checks) ---- */

void failover_cron(int64_t now) {
    if (fo.mf_end && fo.mf_end < now) {
        log_warning("Manual failover timed out.");
        failover_reset_manual();
    }
    if (fo.pause_until && now >= fo.pause_until) release_writes();
    cluster_node *me = cl.myself;
    /* cluster-replica-no-failover travels as the nofailover flag (Redis's
     * clusterUpdateMyselfFlags). */
    int nofailover = cluster_cfg.replica_no_failover && (me->flags & CN_SLAVE) ? CN_NOFAILOVER : 0;
    if ((me->flags & CN_NOFAILOVER) != nofailover) {
        me->flags = (me->flags & ~CN_NOFAILOVER) | nofailover;
        cluster_todo(CLUSTER_TODO_SAVE);
    }
    if (!(me->flags & CN_SLAVE)) return;
    note_link(now);
    /* A replica whose replication is off (after a restart) follows its master again. */
    if (!repl_is_replica() && me->master) failover_follow_master();
    int orphaned = 0, max_replicas = 0, mine = 0;
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n == me || (n->flags & (CN_NOADDR | CN_HANDSHAKE)) || !(n->flags & CN_MASTER) ||
            (n->flags & CN_FAIL))
            continue;
        int ok = non_failing_replicas(n);
        if (ok == 0 && n->numslots > 0 && (n->flags & CN_MIGRATE_TO)) orphaned++;
        if (ok > max_replicas) max_replicas = ok;
        if (me->master == n) mine = ok;
    }
    failover_handle_manual();
    failover_handle_replica(now);
    if (orphaned && max_replicas >= 2 && mine == max_replicas &&
        cluster_cfg.allow_replica_migration)
        handle_migration(max_replicas, now);
}

void failover_before_sleep(int todo) {
    if (!(cl.myself->flags & CN_SLAVE)) return;
    if (todo & CLUSTER_TODO_HANDLE_MANUAL) {
        failover_handle_manual();
        failover_handle_replica(clock_now_ms());
    } else if (todo & CLUSTER_TODO_HANDLE_FAILOVER) {
        failover_handle_replica(clock_now_ms());
    }
}

/* ---- CLUSTER REPLICATE and CLUSTER FAILOVER ---- */

void failover_cmd_replicate(cmd_ctx *c) {
    slice id = c->argv[2];
    cluster_node *n = id.len == CLUSTER_NAMELEN ? cluster_lookup(id.p) : NULL;
    if (!n) {
        reply_errorf(c, "ERR Unknown node %.*s", (int)id.len, id.p);
    } else if (n == cl.myself) {
        reply_error(c, "ERR Can't replicate myself");
    } else if (n->flags & CN_SLAVE) {
        reply_error(c, "ERR I can only replicate a master, not a replica.");
    } else if ((cl.myself->flags & CN_MASTER) &&
               (cl.myself->numslots != 0 || db_size(db_get(0)) != 0)) {
        reply_error(c, "ERR To set a master the node must be empty and without assigned slots.");
    } else {
        failover_set_my_master(n);
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
        reply_ok(c);
    }
}

void failover_cmd_failover(cmd_ctx *c) {
    int force = 0, takeover = 0;
    if (c->argc == 3) {
        if (slice_eq_ci(c->argv[2], "force")) {
            force = 1;
        } else if (slice_eq_ci(c->argv[2], "takeover")) {
            takeover = force = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    } else if (c->argc > 3) {
        reply_arity_error(c);
        return;
    }
    cluster_node *m = cl.myself->master;
    if (cl.myself->flags & CN_MASTER) {
        reply_error(c, "ERR You should send CLUSTER FAILOVER to a replica");
    } else if (!m) {
        reply_error(c, "ERR I'm a replica but my master is unknown to me");
    } else if (!force && ((m->flags & CN_FAIL) || !m->link)) {
        reply_error(c, "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
    } else {
        failover_start_manual(force, takeover, c->now_ms);
        reply_ok(c);
    }
}
