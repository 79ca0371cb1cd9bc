/* cluster_cmd: the client side of Redis Cluster: the cluster-* directives, the CLUSTER
 * command and its subcommands, ASKING / READONLY / READWRITE and INFO's cluster section
 * (the redirect gate that routes each command is redirect.c). Texts and order are
 * Redis's. */
#include "cluster/cluster_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

cluster_settings cluster_cfg;

/* ---- directives ---- */

static int announce_apply(const char **err) {
    (void)err;
    cluster_apply_announced();
    return 0;
}

static const char *const endpoint_names[] = {"ip", "hostname", "unknown-endpoint", NULL};

const config_row cluster_config_rows[] = {
    {.name = "cluster-enabled",
     .kind = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.cluster_enabled,
     .max = 1,
     .def = "no"},
    CONFIG_STR_ROW("cluster-config-file", &cluster_cfg.config_file, CONFIG_IMMUTABLE, "nodes.conf"),
    {.name = "cluster-port",
     .kind = CONFIG_INT,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &cluster_cfg.port,
     .max = 65535,
     .def = "0"},
    {.name = "cluster-node-timeout",
     .kind = CONFIG_INT,
     .ptr = &cluster_cfg.node_timeout,
     .min = 0,
     .max = LLONG_MAX,
     .def = "15000"},
    CONFIG_BOOL_ROW("cluster-require-full-coverage", &cluster_cfg.require_full_coverage, "yes"),
    CONFIG_BOOL_ROW("cluster-allow-reads-when-down", &cluster_cfg.allow_reads_when_down, "no"),
    CONFIG_BOOL_ROW("cluster-allow-pubsubshard-when-down", &cluster_cfg.allow_pubsubshard_when_down,
                    "yes"),
    {.name = "cluster-replica-validity-factor",
     .alias = "cluster-slave-validity-factor",
     .kind = CONFIG_INT,
     .ptr = &cluster_cfg.replica_validity_factor,
     .max = INT_MAX,
     .def = "10"},
    CONFIG_INT_ROW("cluster-migration-barrier", &cluster_cfg.migration_barrier, 0, INT_MAX, "1"),
    CONFIG_BOOL_ROW("cluster-allow-replica-migration", &cluster_cfg.allow_replica_migration, "yes"),
    {.name = "cluster-replica-no-failover",
     .alias = "cluster-slave-no-failover",
     .kind = CONFIG_BOOL,
     .ptr = &cluster_cfg.replica_no_failover,
     .max = 1,
     .def = "no"},
    CONFIG_MEM_ROW("cluster-link-sendbuf-limit", &cluster_cfg.link_sendbuf_limit, 0, LLONG_MAX,
                   "0"),
    {.name = "cluster-announce-ip",
     .kind = CONFIG_STR,
     .flags = CONFIG_EMPTY_NULL,
     .ptr = &cluster_cfg.announce_ip,
     .def = "",
     .apply = announce_apply},
    {.name = "cluster-announce-hostname",
     .kind = CONFIG_STR,
     .flags = CONFIG_EMPTY_NULL,
     .ptr = &cluster_cfg.announce_hostname,
     .def = "",
     .apply = announce_apply},
    {.name = "cluster-announce-human-nodename",
     .kind = CONFIG_STR,
     .flags = CONFIG_EMPTY_NULL,
     .ptr = &cluster_cfg.announce_human_nodename,
     .def = "",
     .apply = announce_apply},
    {.name = "cluster-announce-port",
     .kind = CONFIG_INT,
     .ptr = &cluster_cfg.announce_port,
     .max = 65535,
     .def = "0",
     .apply = announce_apply},
    {.name = "cluster-announce-bus-port",
     .kind = CONFIG_INT,
     .ptr = &cluster_cfg.announce_bus_port,
     .max = 65535,
     .def = "0",
     .apply = announce_apply},
    {.name = "cluster-announce-tls-port",
     .kind = CONFIG_INT,
     .ptr = &cluster_cfg.announce_tls_port,
     .max = 65535,
     .def = "0",
     .apply = announce_apply},
    CONFIG_ENUM_ROW("cluster-preferred-endpoint-type", &cluster_cfg.preferred_endpoint,
                    endpoint_names, "ip"),
    {0},
};

/* ---- INFO ---- */

static void write_info(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_printf(b, "# Cluster\r\ncluster_enabled:%d\r\n", config.cluster_enabled ? 1 : 0);
}

const info_section cluster_info_section = {"cluster", INFO_CLUSTER, 1, write_info};

void cluster_publish(slice channel, slice msg, int shard) {
    if (!config.cluster_enabled || !cl.myself) return;
    bus_send_publish(channel.p, channel.len, msg.p, msg.len, shard);
}

/* ---- cron ---- */

void cluster_cron(int64_t now_ms) {
    static int64_t last;
    migrate_cron(now_ms);
    if (!config.cluster_enabled || !cl.myself) return;
    if (now_ms - last < 100 && now_ms >= last) return;
    last = now_ms;
    bus_cron(now_ms);
}

/* ---- helpers ---- */

static const char *const ERR_DISABLED = "ERR This instance has cluster support disabled";

static int enabled_or_reply(cmd_ctx *c) {
    if (config.cluster_enabled && cl.myself) return 1;
    reply_error(c, ERR_DISABLED);
    return 0;
}

/* Redis's getSlotOrReply. */
static int slot_or_reply(cmd_ctx *c, slice a) {
    long long v;
    if (str_to_ll(a.p, a.len, &v) < 0 || v < 0 || v >= CLUSTER_SLOTS) {
        reply_error(c, "ERR Invalid or out of range slot");
        return -1;
    }
    return (int)v;
}

int cluster_client_tls(const cmd_ctx *c) {
    return c->s ? (c->s->flags & SESS_TLS) != 0 : config.tls_cluster;
}

static cluster_node *lookup_arg(slice a) {
    if (a.len != CLUSTER_NAMELEN) return NULL;
    return cluster_lookup(a.p);
}

/* ---- subcommands ---- */

static void cl_keyslot(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    reply_int(c, cluster_keyslot(c->argv[2].p, c->argv[2].len));
}

static void cl_countkeysinslot(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    long long slot;
    if (arg_ll(c, c->argv[2], &slot) < 0) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(c, "ERR Invalid slot");
        return;
    }
    reply_int(c, (long long)db_slot_size(db_get(0), (int)slot));
}

static void cl_getkeysinslot(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    long long slot, max;
    if (arg_ll(c, c->argv[2], &slot) < 0 || arg_ll(c, c->argv[3], &max) < 0) return;
    if (max < 0 || slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(c, "ERR Invalid slot or number of keys");
        return;
    }
    /* The stored keys, as Redis lists them (a key gone but not reaped yet too: MIGRATE's
     * lookup reaps it, so a reshard's loop still ends). */
    db *d = db_get(0);
    size_t n = db_slot_size(d, (int)slot);
    if ((unsigned long long)max < n) n = (size_t)max;
    reply_array(c, n);
    dbentry *e = db_slot_first(d, (int)slot);
    for (size_t i = 0; i < n && e; i++, e = db_slot_next(e))
        reply_bulk(c, e->key, e->klen);
}

static void cl_myid(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    reply_bulk(c, cl.myself->name, CLUSTER_NAMELEN);
}

static void cl_myshardid(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    reply_bulk(c, cl.myself->shard_id, CLUSTER_NAMELEN);
}

static void cl_info(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    int assigned = 0, ok = 0, pfail = 0, fail = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        cluster_node *n = cl.slots[s];
        if (!n) continue;
        assigned++;
        if (n->flags & CN_FAIL)
            fail++;
        else if (n->flags & CN_PFAIL)
            pfail++;
        else
            ok++;
    }
    buf b;
    buf_init(&b);
    buf_printf(&b,
               "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
               "cluster_slots_pfail:%d\r\ncluster_slots_fail:%d\r\ncluster_known_nodes:%d\r\n"
               "cluster_size:%d\r\ncluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n",
               cl.state == CLUSTER_OK ? "ok" : "fail", assigned, ok, pfail, fail, cl.nnodes,
               cl.size, (unsigned long long)cl.current_epoch,
               (unsigned long long)cluster_node_epoch(cl.myself));
    long long sent = 0, received = 0;
    for (int t = 0; t < 11; t++) {
        if (!cl.sent[t]) continue;
        sent += cl.sent[t];
        buf_printf(&b, "cluster_stats_messages_%s_sent:%lld\r\n", bus_type_name(t), cl.sent[t]);
    }
    buf_printf(&b, "cluster_stats_messages_sent:%lld\r\n", sent);
    for (int t = 0; t < 11; t++) {
        if (!cl.received[t]) continue;
        received += cl.received[t];
        buf_printf(&b, "cluster_stats_messages_%s_received:%lld\r\n", bus_type_name(t),
                   cl.received[t]);
    }
    buf_printf(&b, "cluster_stats_messages_received:%lld\r\n", received);
    buf_printf(&b, "total_cluster_links_buffer_limit_exceeded:%lld\r\n",
               cl.links_buffer_limit_exceeded);
    reply_verbatim(c, b.data, b.len);
    buf_deinit(&b);
}

static void cl_nodes(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    buf b;
    buf_init(&b);
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_describe_node(&b, cl.nodes[i], 0, cluster_client_tls(c));
        buf_putc(&b, '\n');
    }
    reply_verbatim(c, b.data, b.len);
    buf_deinit(&b);
}

/* One node of CLUSTER SLOTS: endpoint, port, id, metadata. */
static void slots_node(cmd_ctx *c, const cluster_node *n) {
    int port = cluster_client_port(n, cluster_client_tls(c));
    int with_host = cluster_cfg.preferred_endpoint != CLUSTER_ENDPOINT_HOSTNAME && n->hostname[0];
    int with_ip = cluster_cfg.preferred_endpoint != CLUSTER_ENDPOINT_IP;
    reply_array(c, 4);
    reply_bulk_cstr(c, cluster_node_endpoint(n));
    reply_int(c, port);
    reply_bulk(c, n->name, CLUSTER_NAMELEN);
    reply_map(c, (size_t)with_host + (size_t)with_ip);
    if (with_ip) {
        reply_bulk_cstr(c, "ip");
        reply_bulk_cstr(c, n->ip);
    }
    if (with_host) {
        reply_bulk_cstr(c, "hostname");
        reply_bulk_cstr(c, n->hostname);
    }
}

static void slots_range(cmd_ctx *c, const cluster_node *n, int start, int end) {
    int nrep = 0;
    for (int i = 0; i < n->nreplicas; i++)
        if (!(n->replicas[i]->flags & CN_FAIL)) nrep++;
    reply_array(c, 3 + (size_t)nrep);
    reply_int(c, start);
    reply_int(c, end);
    slots_node(c, n);
    for (int i = 0; i < n->nreplicas; i++)
        if (!(n->replicas[i]->flags & CN_FAIL)) slots_node(c, n->replicas[i]);
}

static void cl_slots(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    size_t mark = reply_defer(c);
    size_t ranges = 0;
    int start = -1;
    for (int s = 0; s <= CLUSTER_SLOTS; s++) {
        cluster_node *n = s < CLUSTER_SLOTS ? cl.slots[s] : NULL;
        if (start >= 0 && (s == CLUSTER_SLOTS || n != cl.slots[start])) {
            slots_range(c, cl.slots[start], start, s - 1);
            ranges++;
            start = -1;
        }
        if (n && start < 0) start = s;
    }
    reply_defer_array(c, mark, ranges);
}

static void shard_node(cmd_ctx *c, const cluster_node *n) {
    int tls = config.tls_port != 0 && n->tls_port;
    size_t pairs = 7 + (size_t)(n->hostname[0] != 0) + (size_t)tls;
    reply_map(c, pairs);
    reply_bulk_cstr(c, "id");
    reply_bulk(c, n->name, CLUSTER_NAMELEN);
    if (!config.tls_cluster || config.port) {
        reply_bulk_cstr(c, "port");
        reply_int(c, n->tcp_port);
    }
    if (tls) {
        reply_bulk_cstr(c, "tls-port");
        reply_int(c, n->tls_port);
    }
    reply_bulk_cstr(c, "ip");
    reply_bulk_cstr(c, n->ip);
    reply_bulk_cstr(c, "endpoint");
    reply_bulk_cstr(c, cluster_node_endpoint(n));
    if (n->hostname[0]) {
        reply_bulk_cstr(c, "hostname");
        reply_bulk_cstr(c, n->hostname);
    }
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, (n->flags & CN_SLAVE) ? "replica" : "master");
    reply_bulk_cstr(c, "replication-offset");
    reply_int(c, n->repl_offset);
    reply_bulk_cstr(c, "health");
    const char *health = (n->flags & CN_FAIL) ? "fail" : "online";
    reply_bulk_cstr(c, health);
}

static void cl_shards(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    size_t mark = reply_defer(c);
    size_t shards = 0;
    for (int i = 0; i < cl.nnodes; i++) {
        const cluster_node *m = cl.nodes[i];
        if (!(m->flags & CN_MASTER) || (m->flags & CN_HANDSHAKE)) continue;
        shards++;
        reply_map(c, 2);
        reply_bulk_cstr(c, "slots");
        size_t smark = reply_defer(c);
        size_t nb = 0;
        int start = -1;
        for (int s = 0; s <= CLUSTER_SLOTS; s++) {
            int has = s < CLUSTER_SLOTS && bitmap_test(m->slots, s);
            if (has && start < 0) start = s;
            if (!has && start >= 0) {
                reply_int(c, start);
                reply_int(c, s - 1);
                nb += 2;
                start = -1;
            }
        }
        reply_defer_array(c, smark, nb);
        reply_bulk_cstr(c, "nodes");
        reply_array(c, 1 + (size_t)m->nreplicas);
        shard_node(c, m);
        for (int r = 0; r < m->nreplicas; r++)
            shard_node(c, m->replicas[r]);
    }
    reply_defer_array(c, mark, shards);
}

/* Marks [start, end] in mark (ADDSLOTS / DELSLOTS checks); replies and returns -1 on error. */
static int check_slots(cmd_ctx *c, uint8_t *mark, int del, int start, int end) {
    for (int s = start; s <= end; s++) {
        if (del && !cl.slots[s]) {
            reply_errorf(c, "ERR Slot %d is already unassigned", s);
            return -1;
        }
        if (!del && cl.slots[s]) {
            reply_errorf(c, "ERR Slot %d is already busy", s);
            return -1;
        }
        if (mark[s]++ == 1) {
            reply_errorf(c, "ERR Slot %d specified multiple times", s);
            return -1;
        }
    }
    return 0;
}

static void apply_slots(const uint8_t *mark, int del) {
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!mark[s]) continue;
        if (del) {
            cluster_del_slot(s);
        } else {
            if (cl.importing_from[s]) cl.importing_from[s] = NULL;
            cluster_add_slot(cl.myself, s);
        }
    }
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
}

static void slots_cmd(cmd_ctx *c, int del, int ranges) {
    if (!enabled_or_reply(c)) return;
    if (ranges && c->argc % 2 == 1) {
        reply_arity_error(c);
        return;
    }
    uint8_t *mark = mem_calloc(CLUSTER_SLOTS, 1);
    int step = ranges ? 2 : 1;
    for (int j = 2; j < c->argc; j += step) {
        int a = slot_or_reply(c, c->argv[j]);
        int b = a < 0 || !ranges ? a : slot_or_reply(c, c->argv[j + 1]);
        if (a < 0 || b < 0) goto out;
        if (a > b) {
            reply_errorf(c, "ERR start slot number %d is greater than end slot number %d", a, b);
            goto out;
        }
        if (ranges && check_slots(c, mark, del, a, b) < 0) goto out;
    }
    for (int j = 2; !ranges && j < c->argc; j++) {
        int s = slot_or_reply(c, c->argv[j]);
        if (check_slots(c, mark, del, s, s) < 0) goto out;
    }
    apply_slots(mark, del);
    reply_ok(c);
out:
    mem_free(mark);
}

static void cl_addslots(cmd_ctx *c) {
    slots_cmd(c, 0, 0);
}
static void cl_delslots(cmd_ctx *c) {
    slots_cmd(c, 1, 0);
}
static void cl_addslotsrange(cmd_ctx *c) {
    slots_cmd(c, 0, 1);
}
static void cl_delslotsrange(cmd_ctx *c) {
    slots_cmd(c, 1, 1);
}

static void cl_flushslots(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    if (db_size(db_get(0)) != 0) {
        reply_error(c, "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
        return;
    }
    cluster_del_node_slots(cl.myself);
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
    reply_ok(c);
}

/* The node argument of SETSLOT; node_form: SETSLOT NODE's "Unknown node" text. */
static cluster_node *setslot_target(cmd_ctx *c, int node_form) {
    cluster_node *n = lookup_arg(c->argv[4]);
    if (!n) {
        if (node_form)
            reply_errorf(c, "ERR Unknown node %.*s", (int)c->argv[4].len, c->argv[4].p);
        else
            reply_errorf(c, "ERR I don't know about node %.*s", (int)c->argv[4].len, c->argv[4].p);
        return NULL;
    }
    if (n->flags & CN_SLAVE) {
        reply_error(c, "ERR Target node is not a master");
        return NULL;
    }
    return n;
}

/* SETSLOT <slot> NODE <id>: returns 0 or -1 after replying. */
static int setslot_node(cmd_ctx *c, int slot) {
    cluster_node *n = setslot_target(c, 1);
    if (!n) return -1;
    size_t keys = db_slot_size(db_get(0), slot);
    if (cl.slots[slot] == cl.myself && n != cl.myself && keys != 0) {
        reply_errorf(c,
                     "ERR Can't assign hashslot %d to a different node while I still hold keys "
                     "for this hash slot.",
                     slot);
        return -1;
    }
    if (keys == 0 && cl.migrating_to[slot]) cl.migrating_to[slot] = NULL;
    int was_mine = cl.slots[slot] == cl.myself;
    cluster_del_slot(slot);
    cluster_add_slot(n, slot);
    if (was_mine && n != cl.myself && cl.myself->numslots == 0 &&
        cluster_cfg.allow_replica_migration) {
        log_notice("Configuration change detected. Reconfiguring myself as a replica of %.40s",
                   n->name);
        cluster_update_slots_with(n, n->config_epoch, n->slots);
    }
    if (n == cl.myself && cl.importing_from[slot]) {
        if (cluster_bump_epoch_without_consensus())
            log_notice("configEpoch updated after importing slot %d", slot);
        cl.importing_from[slot] = NULL;
        bus_broadcast_pong();
    }
    return 0;
}

static void cl_setslot(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    if (cl.myself->flags & CN_SLAVE) {
        reply_error(c, "ERR Please use SETSLOT only with masters.");
        return;
    }
    int slot = slot_or_reply(c, c->argv[2]);
    if (slot < 0) return;
    slice how = c->argv[3];
    if (slice_eq_ci(how, "migrating") && c->argc == 5) {
        if (cl.slots[slot] != cl.myself) {
            reply_errorf(c, "ERR I'm not the owner of hash slot %u", (unsigned)slot);
            return;
        }
        cluster_node *n = setslot_target(c, 0);
        if (!n) return;
        cl.migrating_to[slot] = n;
    } else if (slice_eq_ci(how, "importing") && c->argc == 5) {
        if (cl.slots[slot] == cl.myself) {
            reply_errorf(c, "ERR I'm already the owner of hash slot %u", (unsigned)slot);
            return;
        }
        cluster_node *n = setslot_target(c, 0);
        if (!n) return;
        cl.importing_from[slot] = n;
    } else if (slice_eq_ci(how, "stable") && c->argc == 4) {
        cl.importing_from[slot] = cl.migrating_to[slot] = NULL;
    } else if (slice_eq_ci(how, "node") && c->argc == 5) {
        if (setslot_node(c, slot) < 0) return;
    } else {
        reply_error(c, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER "
                       "HELP");
        return;
    }
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    reply_ok(c);
}

static void cl_meet(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    if (c->argc > 5) {
        reply_arity_error(c);
        return;
    }
    long long port, cport;
    if (str_to_ll(c->argv[3].p, c->argv[3].len, &port) < 0) {
        reply_errorf(c, "ERR Invalid base port specified: %.*s", (int)c->argv[3].len, c->argv[3].p);
        return;
    }
    cport = port + CLUSTER_PORT_INCR;
    if (c->argc == 5 && str_to_ll(c->argv[4].p, c->argv[4].len, &cport) < 0) {
        reply_errorf(c, "ERR Invalid bus port specified: %.*s", (int)c->argv[4].len, c->argv[4].p);
        return;
    }
    char ip[CLUSTER_IPLEN] = {0};
    const char *err = NULL;
    if (c->argv[2].len >= sizeof(ip) || port < 0 || port > 65535 || cport < 0 || cport > 65535 ||
        (memcpy(ip, c->argv[2].p, c->argv[2].len),
         bus_start_handshake(ip, (int)port, (int)cport, &err) < 0)) {
        reply_errorf(c, "ERR Invalid node address specified: %.*s:%.*s", (int)c->argv[2].len,
                     c->argv[2].p, (int)c->argv[3].len, c->argv[3].p);
        return;
    }
    reply_ok(c);
}

static void cl_forget(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    cluster_node *n = lookup_arg(c->argv[2]);
    if (!n) {
        if (c->argv[2].len == CLUSTER_NAMELEN && cluster_ban_exists(c->argv[2].p, c->now_ms))
            reply_ok(c);
        else
            reply_errorf(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].p);
        return;
    }
    if (n == cl.myself) {
        reply_error(c, "ERR I tried hard but I can't forget myself...");
        return;
    }
    if ((cl.myself->flags & CN_SLAVE) && cl.myself->master == n) {
        reply_error(c, "ERR Can't forget my master!");
        return;
    }
    cluster_ban_add(n->name, c->now_ms + 60000);
    cluster_node_del(n);
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
    reply_ok(c);
}

static void cl_count_failure_reports(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    cluster_node *n = lookup_arg(c->argv[2]);
    if (!n) {
        reply_errorf(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].p);
        return;
    }
    reply_int(c, cluster_report_count(n, c->now_ms));
}

static void cl_bumpepoch(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    int bumped = cluster_bump_epoch_without_consensus();
    char line[64];
    snprintf(line, sizeof(line), "%s %llu", bumped ? "BUMPED" : "STILL",
             (unsigned long long)cl.myself->config_epoch);
    reply_simple(c, line);
}

static void cl_saveconfig(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    if (cluster_save_config(1) < 0) {
        reply_errorf(c, "ERR error saving the cluster node config: %s", strerror(errno));
        return;
    }
    reply_ok(c);
}

static void cl_set_config_epoch(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    long long epoch;
    if (arg_ll(c, c->argv[2], &epoch) < 0) return;
    if (epoch < 0) {
        reply_errorf(c, "ERR Invalid config epoch specified: %lld", epoch);
    } else if (cl.nnodes > 1) {
        reply_error(c, "ERR The user can assign a config epoch only when the node does not know "
                       "any other node.");
    } else if (cl.myself->config_epoch != 0) {
        reply_error(c, "ERR Node config epoch is already non-zero");
    } else {
        cl.myself->config_epoch = (uint64_t)epoch;
        log_notice("configEpoch set to %llu via CLUSTER SET-CONFIG-EPOCH",
                   (unsigned long long)epoch);
        if (cl.current_epoch < (uint64_t)epoch) cl.current_epoch = (uint64_t)epoch;
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
        reply_ok(c);
    }
}

static void cl_reset(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    int hard = 0;
    if (c->argc == 3) {
        if (slice_eq_ci(c->argv[2], "hard")) {
            hard = 1;
        } else if (!slice_eq_ci(c->argv[2], "soft")) {
            reply_syntax_error(c);
            return;
        }
    } else if (c->argc > 3) {
        reply_arity_error(c);
        return;
    }
    if ((cl.myself->flags & CN_MASTER) && db_size(c->db) != 0) {
        reply_error(c, "ERR CLUSTER RESET can't be called with master nodes containing keys");
        return;
    }
    cluster_reset(hard);
    reply_ok(c);
}

/* CLUSTER REPLICAS / SLAVES <master-id>: the CLUSTER NODES lines of its replicas. */
static void cl_replicas(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    cluster_node *n = lookup_arg(c->argv[2]);
    if (!n) {
        reply_errorf(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].p);
        return;
    }
    if (n->flags & CN_SLAVE) {
        reply_error(c, "ERR The specified node is not a master");
        return;
    }
    reply_array(c, (size_t)n->nreplicas);
    buf b;
    buf_init(&b);
    for (int i = 0; i < n->nreplicas; i++) {
        buf_clear(&b);
        cluster_describe_node(&b, n->replicas[i], 0, cluster_client_tls(c));
        reply_bulk(c, b.data, b.len);
    }
    buf_deinit(&b);
}

static void cl_replicate(cmd_ctx *c) {
    if (enabled_or_reply(c)) failover_cmd_replicate(c);
}

static void cl_failover(cmd_ctx *c) {
    if (enabled_or_reply(c)) failover_cmd_failover(c);
}

static void cl_links(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    size_t mark = reply_defer(c);
    size_t n = 0;
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *node = cl.nodes[i];
        cluster_link *ls[2] = {node->link, node->inbound_link};
        for (int k = 0; k < 2; k++) {
            if (!ls[k]) continue;
            n++;
            reply_map(c, 6);
            reply_bulk_cstr(c, "direction");
            reply_bulk_cstr(c, k ? "from" : "to");
            reply_bulk_cstr(c, "node");
            reply_bulk(c, node->name, CLUSTER_NAMELEN);
            reply_bulk_cstr(c, "create-time");
            reply_int(c, ls[k]->ctime);
            reply_bulk_cstr(c, "events");
            reply_bulk_cstr(c, "r");
            reply_bulk_cstr(c, "send-buffer-allocated");
            reply_int(c, ls[k]->pe ? (long long)peer_pending_out(ls[k]->pe) : 0);
            reply_bulk_cstr(c, "send-buffer-used");
            reply_int(c, ls[k]->pe ? (long long)peer_pending_out(ls[k]->pe) : 0);
        }
    }
    reply_defer_array(c, mark, n);
}

static void cl_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from "
        "current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "MYID",
        "    Return the node id.",
        "MYSHARDID",
        "    Return the node's shard id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> "
        "<link> <slot> ...",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "HELP",
        "    Print this help.",
        NULL};
    if (!enabled_or_reply(c)) return;
    reply_help(c, lines);
}

/* ---- ASKING, READONLY, READWRITE ---- */

static void cmd_asking(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    c->s->flags |= SESS_ASKING;
    reply_ok(c);
}

static void cmd_readonly(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    c->s->flags |= SESS_READONLY;
    reply_ok(c);
}

static void cmd_readwrite(cmd_ctx *c) {
    if (!enabled_or_reply(c)) return;
    c->s->flags &= ~SESS_READONLY;
    reply_ok(c);
}

/* ---- the table ---- */

#define CL_ADM (CMD_ADMIN | CMD_STALE | CMD_NOSCRIPT)
#define CL_RO (CMD_LOADING | CMD_STALE)
#define ROW(name, fn, arity, flags, since, summary, syntax, acl)                                   \
    { name, fn, arity, flags, 0, 0, 0, "cluster", since, "O(1)", summary, syntax, NULL, acl }

static const cmd_spec cluster_subcmds[] = {
    ROW("addslots", cl_addslots, -3, CL_ADM, "3.0.0", "Assigns new hash slots to a node.",
        "slot [slot ...]", "@admin @slow @dangerous"),
    ROW("addslotsrange", cl_addslotsrange, -4, CL_ADM, "7.0.0",
        "Assigns new hash slot ranges to a node.", "start-slot end-slot [start-slot end-slot ...]",
        "@admin @slow @dangerous"),
    ROW("bumpepoch", cl_bumpepoch, 2, CL_ADM, "3.0.0", "Advances the cluster config epoch.", "",
        "@admin @slow @dangerous"),
    ROW("count-failure-reports", cl_count_failure_reports, 3, CL_ADM, "3.0.0",
        "Returns the number of active failure reports active for a node.", "node-id",
        "@admin @slow @dangerous"),
    ROW("countkeysinslot", cl_countkeysinslot, 3, CMD_STALE, "3.0.0",
        "Returns the number of keys in a hash slot.", "slot", "@slow"),
    ROW("delslots", cl_delslots, -3, CL_ADM, "3.0.0", "Sets hash slots as unbound for a node.",
        "slot [slot ...]", "@admin @slow @dangerous"),
    ROW("delslotsrange", cl_delslotsrange, -4, CL_ADM, "7.0.0",
        "Sets hash slot ranges as unbound for a node.",
        "start-slot end-slot [start-slot end-slot ...]", "@admin @slow @dangerous"),
    ROW("failover", cl_failover, -2, CL_ADM, "3.0.0",
        "Forces a replica to perform a manual failover of its master.", "[FORCE|TAKEOVER]",
        "@admin @slow @dangerous"),
    ROW("flushslots", cl_flushslots, 2, CL_ADM, "3.0.0",
        "Deletes all slots information from a node.", "", "@admin @slow @dangerous"),
    ROW("forget", cl_forget, 3, CL_ADM, "3.0.0", "Removes a node from the nodes table.", "node-id",
        "@admin @slow @dangerous"),
    ROW("getkeysinslot", cl_getkeysinslot, 4, CMD_STALE, "3.0.0",
        "Returns the key names in a hash slot.", "slot count", "@slow"),
    ROW("help", cl_help, 2, CL_RO, "5.0.0", "Returns helpful text about the different subcommands.",
        "", "@slow"),
    ROW("info", cl_info, 2, CMD_STALE, "3.0.0", "Returns information about the state of a node.",
        "", "@slow"),
    ROW("keyslot", cl_keyslot, 3, CMD_STALE, "3.0.0", "Returns the hash slot for a key.", "key",
        "@slow"),
    ROW("links", cl_links, 2, CMD_STALE, "7.0.0",
        "Returns a list of all TCP links to and from peer nodes.", "", "@slow"),
    ROW("meet", cl_meet, -4, CL_ADM, "3.0.0", "Forces a node to handshake with another node.",
        "ip port [cluster-bus-port]", "@admin @slow @dangerous"),
    ROW("myid", cl_myid, 2, CMD_STALE, "3.0.0", "Returns the ID of a node.", "", "@slow"),
    ROW("myshardid", cl_myshardid, 2, CMD_STALE, "7.2.0", "Returns the shard ID of a node.", "",
        "@slow"),
    ROW("nodes", cl_nodes, 2, CMD_STALE, "3.0.0", "Returns the cluster configuration for a node.",
        "", "@slow"),
    ROW("replicas", cl_replicas, 3, CL_RO, "5.0.0", "Lists the replica nodes of a master node.",
        "node-id", "@admin @slow @dangerous"),
    ROW("replicate", cl_replicate, 3, CL_ADM, "3.0.0",
        "Configure a node as replica of a master node.", "node-id", "@admin @slow @dangerous"),
    ROW("reset", cl_reset, -2, CL_ADM, "3.0.0", "Resets a node.", "[HARD|SOFT]",
        "@admin @slow @dangerous"),
    ROW("saveconfig", cl_saveconfig, 2, CL_ADM, "3.0.0",
        "Forces a node to save the cluster configuration to disk.", "", "@admin @slow @dangerous"),
    ROW("set-config-epoch", cl_set_config_epoch, 3, CL_ADM, "3.0.0",
        "Sets the configuration epoch for a new node.", "config-epoch", "@admin @slow @dangerous"),
    ROW("setslot", cl_setslot, -4, CL_ADM, "3.0.0", "Binds a hash slot to a node.",
        "slot <IMPORTING node-id | MIGRATING node-id | NODE node-id | STABLE>",
        "@admin @slow @dangerous"),
    ROW("shards", cl_shards, 2, CL_RO, "7.0.0", "Returns the mapping of cluster slots to shards.",
        "", "@slow"),
    ROW("slaves", cl_replicas, 3, CL_RO, "3.0.0", "Lists the replica nodes of a master node.",
        "node-id", "@admin @slow @dangerous"),
    ROW("slots", cl_slots, 2, CL_RO, "3.0.0", "Returns the mapping of cluster slots to nodes.", "",
        "@slow"),
    {0},
};

const cmd_spec cluster_family[] = {
    {"cluster", NULL, -2, 0, 0, 0, 0, "cluster", "3.0.0", "Depends on subcommand.",
     "A container for Redis Cluster commands.", "", cluster_subcmds, "@slow"},
    {"asking", cmd_asking, 1, CMD_FAST, 0, 0, 0, "cluster", "3.0.0", "O(1)",
     "Signals that a cluster client is following an -ASK redirect.", "", NULL, "@fast @connection"},
    {"readonly", cmd_readonly, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "cluster", "3.0.0",
     "O(1)", "Enables read-only queries for a connection to a Redis Cluster replica node.", "",
     NULL, "@fast @connection"},
    {"readwrite", cmd_readwrite, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "cluster", "3.0.0",
     "O(1)", "Enables read-write queries for a connection to a Reids Cluster replica node.", "",
     NULL, "@fast @connection"},
    {0},
};
