/* cluster: Redis Cluster. Hash slots, the node table and nodes.conf, the cluster bus
 * (Redis 7's wire format), the CLUSTER command and the redirect gate (-MOVED, -ASK, ...).
 * server.c registers what is here and drives it: cluster_init after the configuration is
 * loaded and the listeners are open, cluster_cron from the cron, cluster_before_sleep once
 * per loop turn. With cluster-enabled no, only the directives and the commands' refusals
 * ("ERR This instance has cluster support disabled") are active. */
#ifndef MAYFLY_CLUSTER_CLUSTER_H
#define MAYFLY_CLUSTER_CLUSTER_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/info.h"
#include "mayfly/config.h"

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS 16384

/* The hash slot of a key: CRC16 of the key, or of the part between the first '{' and the
 * next '}' when that part is not empty (a hash tag), mod 16384. */
int cluster_keyslot(const char *key, size_t len);

/* The directives: cluster-enabled, cluster-config-file, cluster-port, cluster-node-timeout,
 * cluster-require-full-coverage, cluster-allow-reads-when-down, cluster-announce-*, ... */
extern const config_row cluster_config_rows[];
/* CLUSTER, ASKING, READONLY, READWRITE. */
extern const cmd_spec cluster_family[];
/* MIGRATE (in cluster mode and out of it). */
extern const cmd_spec cluster_migrate_family[];
/* In a forked child: closes MIGRATE's cached sockets (the child must not hold them). */
void migrate_close_fds(void);
/* The redirect gate (CMD_GATE_CLUSTER): armed in cluster mode only. */
extern const cmd_gate cluster_gate_redirect;
/* INFO's "# Cluster" section (cluster_enabled:0|1). */
extern const info_section cluster_info_section;

/* In cluster mode: loads nodes.conf (or creates this node with a new name and writes it),
 * locks nothing else, opens the bus port. Returns 0, or -1 after logging why (the server
 * must not start). Does nothing when cluster-enabled is no. */
int cluster_init(int64_t now_ms);
/* Arms the redirect gate when cluster mode is on (after cluster_init). */
void cluster_gate_arm(void);
/* PUBLISH / SPUBLISH on this node: the bus carries it to every node (shard 0) or to this
 * node's shard (1); nothing outside cluster mode (server.c sets it as host.publish). */
void cluster_publish(slice channel, slice msg, int shard);
/* Called by the cron; runs the bus's 100 ms cron when it is due. */
void cluster_cron(int64_t now_ms);
/* Once per loop turn: saves nodes.conf / updates the state when a change asked for it. */
void cluster_before_sleep(void);
/* Shutdown: saves nodes.conf. */
void cluster_shutdown(void);

#endif
