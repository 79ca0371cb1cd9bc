/* cluster_int: what the parts of cluster/ (cluster.c: state and nodes.conf, bus.c: the
 * cluster bus, cluster_cmd.c: CLUSTER and the redirect gate) share. */
#ifndef MAYFLY_CLUSTER_CLUSTER_INT_H
#define MAYFLY_CLUSTER_CLUSTER_INT_H

#include "mayfly/cluster/cluster.h"
#include "mayfly/net/peer.h"
#include "mayfly/util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_NAMELEN 40 /* node names and shard ids: 40 hex characters */
#define CLUSTER_IPLEN 46   /* NET_IP_STR_LEN of Redis: the ip fields of the bus */
#define CLUSTER_PORT_INCR 10000
#define CLUSTER_MAX_NODES 1024 /* nodes we keep track of (bounds gossip and MEET floods) */

/* Node flags, with Redis's bit values (they travel on the bus). */
#define CN_MASTER 1
#define CN_SLAVE 2
#define CN_PFAIL 4
#define CN_FAIL 8
#define CN_MYSELF 16
#define CN_HANDSHAKE 32
#define CN_NOADDR 64
#define CN_MEET 128
#define CN_MIGRATE_TO 256
#define CN_NOFAILOVER 512
#define CN_EXTENSIONS 1024

enum { CLUSTER_OK = 0, CLUSTER_FAIL = 1 };

typedef struct cluster_link cluster_link;

typedef struct fail_report {
    struct cluster_node *node; /* the master that reported it */
    int64_t time;
} fail_report;

typedef struct cluster_node {
    char name[CLUSTER_NAMELEN + 1];     /* hex, NUL-terminated */
    char shard_id[CLUSTER_NAMELEN + 1]; /* hex */
    int flags;                          /* CN_* */
    uint64_t config_epoch;
    uint8_t slots[CLUSTER_SLOTS / 8]; /* the slots it claims, as our table has them */
    int numslots;
    struct cluster_node *master;    /* replica of (NULL for a master or unknown) */
    struct cluster_node **replicas; /* owned array */
    int nreplicas;
    int64_t ctime, ping_sent, pong_received, data_received, fail_time, voted_time;
    int64_t orphaned_time;
    long long repl_offset;
    char ip[CLUSTER_IPLEN];
    char *hostname;       /* owned, "" when none */
    char *human_nodename; /* owned, "" when none */
    int tcp_port, tls_port, cport;
    cluster_link *link;         /* our outbound link */
    cluster_link *inbound_link; /* the link it opened to us */
    fail_report *reports;       /* owned array */
    int nreports;
    int sent_shard_ext; /* it sent us a shard-id extension: it knows the type */
    int heard;          /* a PING/PONG/MEET of its own was processed */
} cluster_node;

struct cluster_link {
    peer *pe;
    cluster_node *node; /* NULL for an inbound link until its sender is known */
    int inbound;
    int64_t ctime;
};

typedef struct cluster_state {
    cluster_node *myself;
    uint64_t current_epoch;
    uint64_t last_vote_epoch;
    int state; /* CLUSTER_OK / CLUSTER_FAIL */
    int size;  /* masters serving at least one slot */
    cluster_node **nodes;
    int nnodes;
    cluster_node *slots[CLUSTER_SLOTS];
    cluster_node *migrating_to[CLUSTER_SLOTS];
    cluster_node *importing_from[CLUSTER_SLOTS];
    long long sent[11], received[11]; /* bus messages by type */
    int todo;                         /* CLUSTER_TODO_* for the end of this turn */
    int64_t state_change_ms;          /* when the state last went down (rejoin delay) */
    int64_t among_minority_since;
    long long links_buffer_limit_exceeded; /* links freed by cluster-link-sendbuf-limit */
} cluster_state;

#define CLUSTER_TODO_SAVE 1
#define CLUSTER_TODO_UPDATE_STATE 2
#define CLUSTER_TODO_FSYNC 4
#define CLUSTER_TODO_HANDLE_FAILOVER 8
#define CLUSTER_TODO_HANDLE_MANUAL 16

extern cluster_state cl;

enum { CLUSTER_ENDPOINT_IP, CLUSTER_ENDPOINT_HOSTNAME, CLUSTER_ENDPOINT_UNKNOWN };

/* The cluster-* directives (cluster_cmd.c holds the rows). */
typedef struct cluster_settings {
    char *config_file;
    int port;                  /* cluster-port: 0 = port + 10000 */
    long long node_timeout;    /* ms */
    int require_full_coverage; /* yes */
    int allow_reads_when_down;
    int allow_pubsubshard_when_down;
    int replica_validity_factor;
    int migration_barrier;
    int allow_replica_migration;
    int replica_no_failover;
    long long link_sendbuf_limit;
    char *announce_ip, *announce_hostname, *announce_human_nodename;
    int announce_port, announce_bus_port, announce_tls_port;
    int preferred_endpoint; /* CLUSTER_ENDPOINT_* */
} cluster_settings;
extern cluster_settings cluster_cfg;

/* Forgotten nodes (CLUSTER FORGET): not re-added from gossip until their time ends. */
typedef struct cluster_ban {
    char name[CLUSTER_NAMELEN];
    int64_t until_ms;
} cluster_ban;

/* ---- cluster.c: nodes, slots, epochs, nodes.conf, state ---- */

cluster_node *cluster_node_new(const char *name, int flags);
/* Adds n to the table (it must not be there). */
void cluster_node_add(cluster_node *n);
/* Removes a node from the table and frees it: its slots become unassigned, its links are
 * closed, its failure reports withdrawn. */
void cluster_node_del(cluster_node *n);
/* The node named by a 40-byte name (not NUL-terminated), or NULL. */
cluster_node *cluster_lookup(const char *name);
void cluster_node_rename(cluster_node *n, const char *newname);
void cluster_random_name(char *out);
int cluster_name_valid(const char *name, size_t len);
/* Slot ownership. */
int cluster_add_slot(cluster_node *n, int slot);
int cluster_del_slot(int slot);
int cluster_del_node_slots(cluster_node *n);
int cluster_node_has_slot(const cluster_node *n, int slot);
/* Replica bookkeeping. */
void cluster_set_master(cluster_node *n);
void cluster_node_add_replica(cluster_node *m, cluster_node *r);
void cluster_node_remove_replica(cluster_node *m, cluster_node *r);
/* Failure reports: add or refresh (1 if new), remove (1 if it existed), count the fresh. */
int cluster_report_add(cluster_node *failing, cluster_node *sender, int64_t now_ms);
int cluster_report_del(cluster_node *failing, cluster_node *sender);
int cluster_report_count(cluster_node *n, int64_t now_ms);
/* Epochs. */
uint64_t cluster_max_epoch(void);
int cluster_bump_epoch_without_consensus(void);
void cluster_epoch_collision(cluster_node *sender);
/* Slot updates from a master's claim (PING/PONG or UPDATE), Redis's
 * clusterUpdateSlotsConfigWith. */
void cluster_update_slots_with(cluster_node *sender, uint64_t epoch, const uint8_t *slots);
/* Recomputes cluster_state ok/fail and the size. */
void cluster_update_state(int64_t now_ms);
/* Writes nodes.conf atomically (temporary file, fsync, rename). Returns 0 or -1. */
int cluster_save_config(int do_fsync);
/* Asks for work at the end of this loop turn (CLUSTER_TODO_*). */
void cluster_todo(int what);
/* The line of CLUSTER NODES (for_conf = 0) or nodes.conf (1) for n, without "\n"; tls:
 * the address shows n's TLS port (a client over TLS, or nodes.conf with tls-cluster),
 * else its plain port, as Redis 7.2+ does. */
void cluster_describe_node(buf *b, const cluster_node *n, int for_conf, int tls);
/* The port a client gets for n: its TLS port for a client over TLS, else its plain one. */
static inline int cluster_client_port(const cluster_node *n, int tls) {
    return tls ? n->tls_port : n->tcp_port;
}
/* The epoch shown for n: its own, or its master's for a replica. */
uint64_t cluster_node_epoch(const cluster_node *n);
const cluster_node *cluster_node_master_of(const cluster_node *n);
void cluster_set_hostname(cluster_node *n, const char *s, size_t len);
void cluster_set_human_nodename(cluster_node *n, const char *s, size_t len);
/* The cluster-announce-* directives changed: myself's address, ports and names follow. */
void cluster_apply_announced(void);
/* Forgets n for 60 seconds (CLUSTER FORGET). */
void cluster_ban_add(const char *name, int64_t until_ms);
int cluster_ban_exists(const char *name, int64_t now_ms);
/* Empties the node table but myself and the slots (CLUSTER RESET). hard: new name, epochs 0. */
void cluster_reset(int hard);
/* The address clients should use for n (announced hostname / ip per preferred endpoint). */
const char *cluster_node_endpoint(const cluster_node *n);
/* Bits of a slot bitmap. */
static inline int bitmap_test(const uint8_t *bm, int pos) {
    return (bm[pos >> 3] >> (pos & 7)) & 1;
}
static inline void bitmap_set(uint8_t *bm, int pos) {
    bm[pos >> 3] = (uint8_t)(bm[pos >> 3] | (1u << (pos & 7)));
}
static inline void bitmap_clear(uint8_t *bm, int pos) {
    bm[pos >> 3] = (uint8_t)(bm[pos >> 3] & ~(1u << (pos & 7)));
}

/* ---- migrate.c ---- */

/* MIGRATE's handler (the redirect gate serves it locally while its slot is open). */
void cluster_cmd_migrate(cmd_ctx *c);
/* Closes cached MIGRATE sockets unused for 10 s. */
void migrate_cron(int64_t now_ms);

/* ---- bus.c ---- */

/* Opens the bus listener on the cluster port. Returns 0 or -1 (logged). */
int bus_listen(int port);
/* Starts a handshake with ip:port (cport the bus port): a node in HANDSHAKE state that gets
 * a MEET. Returns 0, or -1 with errno-like reason in *err (static text). */
int bus_start_handshake(const char *ip, int port, int cport, const char **err);
/* Closes a link (its node forgets it). */
void bus_link_free(cluster_link *l);
/* The bus cron (every 100 ms): connect, ping, timeouts, PFAIL, handshake expiry. */
void bus_cron(int64_t now_ms);
/* Sends a PING to every connected node now (after a change others must learn: slots,
 * epoch). */
void bus_broadcast_pong(void);
/* Broadcasts FAIL about n. */
void bus_send_fail(const cluster_node *n);
/* Sends PUBLISH (shard: PUBLISHSHARD to the shard only) of channel/message. */
void bus_send_publish(const char *ch, size_t chlen, const char *msg, size_t mlen, int shard);
/* Marks a PFAIL node FAIL when a majority of masters reports it. */
void bus_mark_failing_if_needed(cluster_node *n, int64_t now_ms);
/* Clears FAIL when the node is back (Redis's clearNodeFailureIfNeeded). */
void bus_clear_failure_if_needed(cluster_node *n, int64_t now_ms);
/* The message type's name for CLUSTER INFO ("ping", "pong", ...). */
const char *bus_type_name(int type);
/* Failover messages: FAILOVER_AUTH_REQUEST to every node (force_ack: a manual failover),
 * FAILOVER_AUTH_ACK and MFSTART to one node, a PING to one node now, a PONG to every
 * replica of our master (the election's offset). */
void bus_send_auth_request(int force_ack);
void bus_send_auth_ack(cluster_node *n);
void bus_send_mfstart(cluster_node *n);
void bus_send_ping_to(cluster_node *n);
void bus_broadcast_pong_shard(void);

/* ---- failover.c: votes, elections, manual failover, replica migration ---- */

/* A FAILOVER_AUTH_REQUEST as received. */
typedef struct failover_request {
    uint64_t current_epoch, config_epoch;
    const uint8_t *claimed; /* the sender's (its master's) slots */
    int force_ack;
    int64_t now;
} failover_request;
/* Votes for the replica node if Redis's rules allow (as a master serving slots). */
void failover_vote(cluster_node *node, const failover_request *rq);
/* A vote for our election from sender (its currentEpoch as sent). */
void failover_ack(cluster_node *sender, uint64_t sender_epoch);
/* MFSTART from one of our replicas: stop writes, send it our offset flagged PAUSED. */
void failover_mfstart(cluster_node *sender, int64_t now_ms);
/* Every message from a known node (after its offset is read): paused = the PAUSED flag. */
void failover_note_sender(const cluster_node *sender, int paused);
/* 1 while this master is in a manual failover (messages carry PAUSED). */
int failover_paused(void);
/* 1 when n is the replica of our manual failover (pinged at every cron). */
int failover_ping_replica(const cluster_node *n);
/* This node's replication offset for the bus header. */
long long failover_my_offset(void);
void failover_reset_manual(void);
/* A node leaves the table: forget it in the failover state. */
void failover_forget_node(const cluster_node *n);
/* CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica (preconditions checked by the caller). */
void failover_start_manual(int force, int takeover, int64_t now);
/* Becomes a replica of n (CLUSTER REPLICATE, replica migration, lost slots). */
void failover_set_my_master(cluster_node *n);
/* Points replication at our master. */
void failover_follow_master(void);
/* Takes over our master's slots (the config epoch is already new). */
void failover_replace_master(void);
void failover_handle_replica(int64_t now);
void failover_handle_manual(void);
/* CLUSTER REPLICATE <id> and CLUSTER FAILOVER [FORCE|TAKEOVER] (cluster mode checked). */
void failover_cmd_replicate(cmd_ctx *c);
void failover_cmd_failover(cmd_ctx *c);
/* The 100 ms cron and the end of a loop turn (CLUSTER_TODO_HANDLE_*). */
void failover_cron(int64_t now);
void failover_before_sleep(int todo);

/* Whether a client's replies name TLS ports (it came over TLS; a cluster link with no
 * client: tls-cluster), as Redis's shouldReturnTlsInfo (cluster_cmd.c). */
struct cmd_ctx;
int cluster_client_tls(const struct cmd_ctx *c);

#endif
