/* cluster: Redis Cluster's state on this node: the node table, the slot table, epochs,
 * nodes.conf and the cluster state (ok / fail).
 *
 *     cl.nodes[]  every node we know (myself first), by 40-hex name
 *     cl.slots[s] the master serving slot s (NULL: unassigned); each node also keeps its
 *                 slot bitmap, as on the bus (myslots) and in nodes.conf
 *     cl.migrating_to[s] / importing_from[s]  open slots of this node (SETSLOT)
 *
 * The protocol is Redis's own (cluster_legacy.c is the reference for every rule): nodes
 * learn each other through the bus (bus.c), slot ownership follows the highest config
 * epoch, and a change that must survive a restart asks for a nodes.conf rewrite at the end
 * of the loop turn (cluster_todo). nodes.conf is written in Redis 7.2+'s format (address
 * with ",hostname,tls-port=..,shard-id=.." aux fields, a "vars" line) to a temporary file
 * that replaces the old one by rename, so a crash leaves the old or the new file, never a
 * mix; Redis 7.0's lines without aux fields load too. */
#include "cluster/cluster_int.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/crc16.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cluster_state cl;

#define CLUSTER_BAN_MAX 64
static cluster_ban bans[CLUSTER_BAN_MAX];
static int nbans;

int cluster_keyslot(const char *key, size_t len) {
    size_t s = 0;
    while (s < len && key[s] != '{')
        s++;
    if (s < len) {
        size_t e = s + 1;
        while (e < len && key[e] != '}')
            e++;
        /* A tag only when "{...}" is closed and not empty. */
        if (e < len && e != s + 1) return crc16(key + s + 1, e - s - 1) & (CLUSTER_SLOTS - 1);
    }
    return crc16(key, len) & (CLUSTER_SLOTS - 1);
}

/* ---- names ---- */

void cluster_random_name(char *out) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < CLUSTER_NAMELEN; i++)
        out[i] = hex[rand_below(16)];
    out[CLUSTER_NAMELEN] = '\0';
}

int cluster_name_valid(const char *name, size_t len) {
    if (len != CLUSTER_NAMELEN) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return 0;
    }
    return 1;
}

/* ---- nodes ---- */

cluster_node *cluster_node_new(const char *name, int flags) {
    cluster_node *n = mem_calloc(1, sizeof(*n));
    if (name) {
        memcpy(n->name, name, CLUSTER_NAMELEN);
        n->name[CLUSTER_NAMELEN] = '\0';
    } else {
        cluster_random_name(n->name);
    }
    cluster_random_name(n->shard_id);
    n->flags = flags;
    n->ctime = clock_now_ms();
    n->hostname = mem_calloc(1, 1);
    n->human_nodename = mem_calloc(1, 1);
    n->repl_offset = 0;
    return n;
}

void cluster_node_add(cluster_node *n) {
    cl.nodes = mem_realloc(cl.nodes, sizeof(*cl.nodes) * (size_t)(cl.nnodes + 1));
    cl.nodes[cl.nnodes++] = n;
}

cluster_node *cluster_lookup(const char *name) {
    for (int i = 0; i < cl.nnodes; i++)
        if (memcmp(cl.nodes[i]->name, name, CLUSTER_NAMELEN) == 0) return cl.nodes[i];
    return NULL;
}

void cluster_node_rename(cluster_node *n, const char *newname) {
    memcpy(n->name, newname, CLUSTER_NAMELEN);
    n->name[CLUSTER_NAMELEN] = '\0';
}

static void free_node(cluster_node *n) {
    mem_free(n->replicas);
    mem_free(n->reports);
    mem_free(n->hostname);
    mem_free(n->human_nodename);
    mem_free(n);
}

void cluster_node_del(cluster_node *n) {
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (cl.importing_from[s] == n) cl.importing_from[s] = NULL;
        if (cl.migrating_to[s] == n) cl.migrating_to[s] = NULL;
        if (cl.slots[s] == n) cluster_del_slot(s);
    }
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *o = cl.nodes[i];
        if (o == n) continue;
        cluster_report_del(o, n);
        if (o->master == n) o->master = NULL;
    }
    if (n->master) cluster_node_remove_replica(n->master, n);
    for (int i = 0; i < n->nreplicas; i++)
        n->replicas[i]->master = NULL;
    failover_forget_node(n);
    if (n->link) bus_link_free(n->link);
    if (n->inbound_link) bus_link_free(n->inbound_link);
    for (int i = 0; i < cl.nnodes; i++) {
        if (cl.nodes[i] != n) continue;
        cl.nodes[i] = cl.nodes[--cl.nnodes];
        break;
    }
    free_node(n);
}

void cluster_set_hostname(cluster_node *n, const char *s, size_t len) {
    if (strlen(n->hostname) == len && memcmp(n->hostname, s, len) == 0) return;
    mem_free(n->hostname);
    n->hostname = mem_alloc(len + 1);
    memcpy(n->hostname, s, len);
    n->hostname[len] = '\0';
    cluster_todo(CLUSTER_TODO_SAVE);
}

void cluster_set_human_nodename(cluster_node *n, const char *s, size_t len) {
    if (strlen(n->human_nodename) == len && memcmp(n->human_nodename, s, len) == 0) return;
    mem_free(n->human_nodename);
    n->human_nodename = mem_alloc(len + 1);
    memcpy(n->human_nodename, s, len);
    n->human_nodename[len] = '\0';
    cluster_todo(CLUSTER_TODO_SAVE);
}

const cluster_node *cluster_node_master_of(const cluster_node *n) {
    return (n->flags & CN_SLAVE) && n->master ? n->master : n;
}

uint64_t cluster_node_epoch(const cluster_node *n) {
    return cluster_node_master_of(n)->config_epoch;
}

/* ---- replicas ---- */

void cluster_node_add_replica(cluster_node *m, cluster_node *r) {
    for (int i = 0; i < m->nreplicas; i++)
        if (m->replicas[i] == r) return;
    m->replicas = mem_realloc(m->replicas, sizeof(*m->replicas) * (size_t)(m->nreplicas + 1));
    m->replicas[m->nreplicas++] = r;
    m->flags |= CN_MIGRATE_TO;
}

void cluster_node_remove_replica(cluster_node *m, cluster_node *r) {
    for (int i = 0; i < m->nreplicas; i++) {
        if (m->replicas[i] != r) continue;
        m->replicas[i] = m->replicas[--m->nreplicas];
        break;
    }
    if (m->nreplicas == 0) m->flags &= ~CN_MIGRATE_TO;
}

void cluster_set_master(cluster_node *n) {
    if (n->flags & CN_MASTER) return;
    if (n->master) {
        cluster_node_remove_replica(n->master, n);
        if (n != cl.myself) n->flags |= CN_MIGRATE_TO;
    }
    n->flags &= ~CN_SLAVE;
    n->flags |= CN_MASTER;
    n->master = NULL;
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
}

/* ---- failure reports ---- */

int cluster_report_add(cluster_node *failing, cluster_node *sender, int64_t now_ms) {
    for (int i = 0; i < failing->nreports; i++) {
        if (failing->reports[i].node != sender) continue;
        failing->reports[i].time = now_ms;
        return 0;
    }
    failing->reports =
        mem_realloc(failing->reports, sizeof(*failing->reports) * (size_t)(failing->nreports + 1));
    failing->reports[failing->nreports++] = (fail_report){sender, now_ms};
    return 1;
}

int cluster_report_del(cluster_node *failing, cluster_node *sender) {
    for (int i = 0; i < failing->nreports; i++) {
        if (failing->reports[i].node != sender) continue;
        failing->reports[i] = failing->reports[--failing->nreports];
        return 1;
    }
    return 0;
}

int cluster_report_count(cluster_node *n, int64_t now_ms) {
    int64_t validity = cluster_cfg.node_timeout * 2; /* CLUSTER_FAIL_REPORT_VALIDITY_MULT */
    int keep = 0;
    for (int i = 0; i < n->nreports; i++)
        if (now_ms - n->reports[i].time <= validity) n->reports[keep++] = n->reports[i];
    n->nreports = keep;
    return keep;
}

/* ---- slots ---- */

int cluster_node_has_slot(const cluster_node *n, int slot) {
    return bitmap_test(n->slots, slot);
}

int cluster_add_slot(cluster_node *n, int slot) {
    if (cl.slots[slot]) return -1;
    if (!bitmap_test(n->slots, slot)) {
        bitmap_set(n->slots, slot);
        n->numslots++;
    }
    cl.slots[slot] = n;
    return 0;
}

int cluster_del_slot(int slot) {
    cluster_node *n = cl.slots[slot];
    if (!n) return -1;
    if (bitmap_test(n->slots, slot)) {
        bitmap_clear(n->slots, slot);
        n->numslots--;
    }
    cl.slots[slot] = NULL;
    return 0;
}

int cluster_del_node_slots(cluster_node *n) {
    int deleted = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bitmap_test(n->slots, s)) continue;
        if (cl.slots[s] == n) cluster_del_slot(s);
        bitmap_clear(n->slots, s);
        deleted++;
    }
    n->numslots = 0;
    return deleted;
}

/* ---- epochs ---- */

uint64_t cluster_max_epoch(void) {
    uint64_t max = 0;
    for (int i = 0; i < cl.nnodes; i++)
        if (cl.nodes[i]->config_epoch > max) max = cl.nodes[i]->config_epoch;
    return max > cl.current_epoch ? max : cl.current_epoch;
}

/* Redis's clusterBumpConfigEpochWithoutConsensus: returns 1 if the epoch changed. */
int cluster_bump_epoch_without_consensus(void) {
    uint64_t max = cluster_max_epoch();
    if (cl.myself->config_epoch == 0 || cl.myself->config_epoch != max) {
        cl.current_epoch++;
        cl.myself->config_epoch = cl.current_epoch;
        cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
        log_notice("New configEpoch set to %llu", (unsigned long long)cl.myself->config_epoch);
        return 1;
    }
    return 0;
}

/* Two masters with the same config epoch: the one with the smaller name takes a new one
 * (Redis's clusterHandleConfigEpochCollision). */
void cluster_epoch_collision(cluster_node *sender) {
    if (sender->config_epoch != cl.myself->config_epoch || !(sender->flags & CN_MASTER) ||
        !(cl.myself->flags & CN_MASTER))
        return;
    if (memcmp(sender->name, cl.myself->name, CLUSTER_NAMELEN) <= 0) return;
    cl.current_epoch++;
    cl.myself->config_epoch = cl.current_epoch;
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    log_verbose("WARNING: configEpoch collision with node %.40s. configEpoch set to %llu",
                sender->name, (unsigned long long)cl.myself->config_epoch);
}

/* ---- slot updates from the bus ---- */

void cluster_update_slots_with(cluster_node *sender, uint64_t epoch, const uint8_t *slots) {
    cluster_node *me = cl.myself;
    if (sender == me) return;
    const cluster_node *cur_master = (me->flags & CN_SLAVE) && me->master ? me->master : me;
    cluster_node *new_master = NULL;
    int lost_mine = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bitmap_test(slots, s)) continue;
        if (cl.slots[s] == sender) continue;
        /* A slot being imported is set by hand (SETSLOT), not by the bus. */
        if (cl.importing_from[s]) continue;
        if (cl.slots[s] && cl.slots[s]->config_epoch >= epoch) continue;
        if (cl.slots[s] == cur_master) {
            new_master = sender;
            lost_mine++;
        }
        if (cl.slots[s]) cluster_del_slot(s);
        cluster_add_slot(sender, s);
        cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
    }
    /* All of our (or our master's) slots went to sender: follow it as a replica. Keys left
     * in slots we lost, while we keep others, are Redis's dirty slots (deleted there). */
    if (new_master && cur_master->numslots == 0 && lost_mine) {
        log_notice("Configuration change detected. Reconfiguring myself as a replica of %.40s",
                   sender->name);
        failover_set_my_master(sender);
    }
}

/* ---- state ---- */

void cluster_update_state(int64_t now_ms) {
    int new_state = CLUSTER_OK;
    if (cluster_cfg.require_full_coverage) {
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            if (!cl.slots[s] || (cl.slots[s]->flags & CN_FAIL)) {
                new_state = CLUSTER_FAIL;
                break;
            }
        }
    }
    /* The size and the reachable masters: a node in a minority partition goes down. */
    int size = 0, reachable = 0;
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (!(n->flags & CN_MASTER) || n->numslots == 0) continue;
        size++;
        if (!(n->flags & (CN_FAIL | CN_PFAIL))) reachable++;
    }
    cl.size = size;
    if (reachable < size / 2 + 1) {
        new_state = CLUSTER_FAIL;
        cl.among_minority_since = now_ms;
    }
    if (new_state == cl.state) return;
    /* Rejoining the majority: wait a little (min(node timeout, 5 s) in Redis) before
     * accepting writes, so the configuration can catch up. */
    if (new_state == CLUSTER_OK && (cl.myself->flags & CN_MASTER) &&
        now_ms - cl.among_minority_since < 500 && cl.among_minority_since)
        return;
    log_notice("Cluster state changed: %s", new_state == CLUSTER_OK ? "ok" : "fail");
    cl.state = new_state;
}

void cluster_todo(int what) {
    cl.todo |= what;
}

/* ---- forgotten nodes ---- */

void cluster_ban_add(const char *name, int64_t until_ms) {
    for (int i = 0; i < nbans; i++) {
        if (memcmp(bans[i].name, name, CLUSTER_NAMELEN) != 0) continue;
        bans[i].until_ms = until_ms;
        return;
    }
    if (nbans == CLUSTER_BAN_MAX) memmove(bans, bans + 1, sizeof(bans[0]) * --nbans);
    memcpy(bans[nbans].name, name, CLUSTER_NAMELEN);
    bans[nbans++].until_ms = until_ms;
}

int cluster_ban_exists(const char *name, int64_t now_ms) {
    int keep = 0, found = 0;
    for (int i = 0; i < nbans; i++) {
        if (bans[i].until_ms < now_ms) continue;
        if (memcmp(bans[i].name, name, CLUSTER_NAMELEN) == 0) found = 1;
        bans[keep++] = bans[i];
    }
    nbans = keep;
    return found;
}

/* ---- descriptions (CLUSTER NODES and nodes.conf) ---- */

static void describe_flags(buf *b, int flags) {
    static const struct {
        int flag;
        const char *name;
    } names[] = {{CN_MYSELF, "myself"}, {CN_MASTER, "master"},
                 {CN_SLAVE, "slave"},   {CN_PFAIL, "fail?"},
                 {CN_FAIL, "fail"},     {CN_HANDSHAKE, "handshake"},
                 {CN_NOADDR, "noaddr"}, {CN_NOFAILOVER, "nofailover"}};
    int any = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(flags & names[i].flag)) continue;
        if (any) buf_putc(b, ',');
        buf_puts(b, names[i].name);
        any = 1;
    }
    if (!any) buf_puts(b, "noflags");
}

static void describe_slots(buf *b, const cluster_node *n) {
    int start = -1;
    for (int s = 0; s <= CLUSTER_SLOTS; s++) {
        int has = s < CLUSTER_SLOTS && bitmap_test(n->slots, s);
        if (has && start < 0) start = s;
        if (!has && start >= 0) {
            if (start == s - 1)
                buf_printf(b, " %d", start);
            else
                buf_printf(b, " %d-%d", start, s - 1);
            start = -1;
        }
    }
}

void cluster_describe_node(buf *b, const cluster_node *n, int for_conf, int tls) {
    buf_append(b, n->name, CLUSTER_NAMELEN);
    int port = cluster_client_port(n, tls);
    buf_printf(b, " %s:%d@%d", n->ip, port, n->cport);
    if (n->hostname[0]) buf_printf(b, ",%s", n->hostname);
    if (for_conf) {
        if (!n->hostname[0]) buf_putc(b, ',');
        if (config.tls_cluster)
            buf_printf(b, ",tcp-port=%d", n->tcp_port);
        else
            buf_printf(b, ",tls-port=%d", n->tls_port);
        if (n->human_nodename[0]) buf_printf(b, ",nodename=%s", n->human_nodename);
        buf_printf(b, ",shard-id=%s", n->shard_id);
    }
    buf_putc(b, ' ');
    describe_flags(b, n->flags);
    buf_putc(b, ' ');
    if (n->master)
        buf_append(b, n->master->name, CLUSTER_NAMELEN);
    else
        buf_putc(b, '-');
    buf_printf(b, " %lld %lld %llu %s", (long long)n->ping_sent, (long long)n->pong_received,
               (unsigned long long)cluster_node_epoch(n),
               n->link || (n->flags & CN_MYSELF) ? "connected" : "disconnected");
    describe_slots(b, n);
    if (!(n->flags & CN_MYSELF)) return;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (cl.migrating_to[s])
            buf_printf(b, " [%d->-%.40s]", s, cl.migrating_to[s]->name);
        else if (cl.importing_from[s])
            buf_printf(b, " [%d-<-%.40s]", s, cl.importing_from[s]->name);
    }
}

const char *cluster_node_endpoint(const cluster_node *n) {
    if (cluster_cfg.preferred_endpoint == CLUSTER_ENDPOINT_HOSTNAME)
        return n->hostname[0] ? n->hostname : "?";
    if (cluster_cfg.preferred_endpoint == CLUSTER_ENDPOINT_UNKNOWN) return "?";
    return n->ip;
}

/* ---- nodes.conf ---- */

/* nodes.conf's path: cluster-config-file, relative to `dir` unless absolute (Mayfly does
 * not chdir into `dir` as Redis does; the effect is the same). */
static void conf_path(char *out, size_t cap) {
    const char *f = cluster_cfg.config_file ? cluster_cfg.config_file : "nodes.conf";
    const char *d = config.dir ? config.dir : ".";
    if (f[0] == '/')
        snprintf(out, cap, "%s", f);
    else
        snprintf(out, cap, "%s%s%s", d, d[0] && d[strlen(d) - 1] == '/' ? "" : "/", f);
}

int cluster_save_config(int do_fsync) {
    cl.todo &= ~CLUSTER_TODO_SAVE;
    buf b;
    buf_init(&b);
    for (int i = 0; i < cl.nnodes; i++) {
        if (cl.nodes[i]->flags & CN_HANDSHAKE) continue;
        cluster_describe_node(&b, cl.nodes[i], 1, config.tls_cluster);
        buf_putc(&b, '\n');
    }
    buf_printf(&b, "vars currentEpoch %llu lastVoteEpoch %llu\n",
               (unsigned long long)cl.current_epoch, (unsigned long long)cl.last_vote_epoch);
    char path[4096], tmp[4200];
    conf_path(path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d-%lld", path, (int)getpid(), (long long)clock_now_ms());
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        log_warning("Could not open temp cluster config file: %s", strerror(errno));
        goto out;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            log_warning("Failed after writing (%zu) bytes to tmp cluster config file: %s", off,
                        strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (do_fsync && fsync(fd) < 0) {
        log_warning("Could not sync tmp cluster config file: %s", strerror(errno));
        goto out;
    }
    if (rename(tmp, path) < 0) {
        log_warning("Could not rename tmp cluster config file: %s", strerror(errno));
        goto out;
    }
    cl.todo &= ~CLUSTER_TODO_FSYNC;
    rc = 0;
out:
    if (fd >= 0) close(fd);
    if (rc < 0) unlink(tmp);
    buf_deinit(&b);
    return rc;
}

/* Splits s at spaces into at most max words (in place). */
static int split_words(char *s, char **w, int max) {
    int n = 0;
    for (char *p = strtok(s, " \t\r\n"); p && n < max; p = strtok(NULL, " \t\r\n"))
        w[n++] = p;
    return n;
}

static int parse_port(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > 65535) return -1;
    *out = (int)v;
    return 0;
}

/* The aux fields of a nodes.conf address: shard-id, nodename, tcp-port, tls-port. */
static int load_aux(cluster_node *n, char *next) {
    for (char *f = next; f && *f; f = next) {
        next = strchr(f, ',');
        if (next) *next++ = '\0';
        char *eq = strchr(f, '=');
        if (!eq) return -1;
        *eq++ = '\0';
        if (strcmp(f, "shard-id") == 0) {
            if (!cluster_name_valid(eq, strlen(eq))) return -1;
            memcpy(n->shard_id, eq, CLUSTER_NAMELEN);
        } else if (strcmp(f, "nodename") == 0) {
            cluster_set_human_nodename(n, eq, strlen(eq));
        } else if (strcmp(f, "tcp-port") == 0) {
            if (parse_port(eq, &n->tcp_port) < 0) return -1;
        } else if (strcmp(f, "tls-port") == 0) {
            if (parse_port(eq, &n->tls_port) < 0) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* "ip:port[@cport][,hostname[,aux=value...]]" */
static int load_address(cluster_node *n, char *addr) {
    char *aux = strchr(addr, ',');
    if (aux) *aux++ = '\0';
    char *at = strchr(addr, '@');
    if (at) *at++ = '\0';
    char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= CLUSTER_IPLEN) return -1;
    *colon = '\0';
    int port = 0;
    if (parse_port(colon + 1, &port) < 0) return -1;
    memset(n->ip, 0, sizeof(n->ip));
    memcpy(n->ip, addr, strlen(addr));
    if (config.tls_cluster)
        n->tls_port = port;
    else
        n->tcp_port = port;
    if (at && parse_port(at, &n->cport) < 0) return -1;
    if (!at) n->cport = port + CLUSTER_PORT_INCR;
    if (!aux) return 0;
    char *next = strchr(aux, ',');
    if (next) *next++ = '\0';
    cluster_set_hostname(n, aux, strlen(aux));
    return load_aux(n, next);
}
static int load_flags(cluster_node *n, char *s) {
    for (char *f = strtok(s, ","); f; f = strtok(NULL, ",")) {
        if (strcmp(f, "myself") == 0) {
            if (cl.myself) return -1;
            cl.myself = n;
            n->flags |= CN_MYSELF;
        } else if (strcmp(f, "master") == 0) {
            n->flags |= CN_MASTER;
        } else if (strcmp(f, "slave") == 0) {
            n->flags |= CN_SLAVE;
        } else if (strcmp(f, "fail?") == 0) {
            n->flags |= CN_PFAIL;
        } else if (strcmp(f, "fail") == 0) {
            n->flags |= CN_FAIL;
            n->fail_time = clock_now_ms();
        } else if (strcmp(f, "handshake") == 0) {
            n->flags |= CN_HANDSHAKE;
        } else if (strcmp(f, "noaddr") == 0) {
            n->flags |= CN_NOADDR;
        } else if (strcmp(f, "nofailover") == 0) {
            n->flags |= CN_NOFAILOVER;
        } else if (strcmp(f, "noflags") != 0) {
            return -1;
        }
    }
    return 0;
}

static cluster_node *get_or_add(const char *name) {
    cluster_node *n = cluster_lookup(name);
    if (!n) {
        n = cluster_node_new(name, 0);
        cluster_node_add(n);
    }
    return n;
}

/* One slot word: "5", "0-5460", "[5->-<name>]", "[5-<-<name>]". */
static int load_slot_word(cluster_node *n, char *w) {
    if (w[0] == '[') {
        char *dir = strchr(w, '-');
        if (!dir || strlen(dir) < 3 + CLUSTER_NAMELEN) return -1;
        int slot = atoi(w + 1);
        if (slot < 0 || slot >= CLUSTER_SLOTS) return -1;
        const char *other = dir + 3;
        if (!cluster_name_valid(other, CLUSTER_NAMELEN)) return -1;
        cluster_node *o = get_or_add(other);
        if (dir[1] == '>')
            cl.migrating_to[slot] = o;
        else
            cl.importing_from[slot] = o;
        return 0;
    }
    char *dash = strchr(w, '-');
    int start = atoi(w), stop = dash ? atoi(dash + 1) : start;
    if (start < 0 || stop >= CLUSTER_SLOTS || start > stop) return -1;
    for (int s = start; s <= stop; s++)
        cluster_add_slot(n, s);
    return 0;
}

static int load_line(char *line) {
    char *w[CLUSTER_SLOTS + 16];
    int argc = split_words(line, w, (int)(sizeof(w) / sizeof(w[0])));
    if (argc == 0) return 0;
    if (strcasecmp(w[0], "vars") == 0) {
        if (argc % 2 == 0) return -1;
        for (int j = 1; j < argc; j += 2) {
            if (strcasecmp(w[j], "currentEpoch") == 0)
                cl.current_epoch = strtoull(w[j + 1], NULL, 10);
            else if (strcasecmp(w[j], "lastVoteEpoch") == 0)
                cl.last_vote_epoch = strtoull(w[j + 1], NULL, 10);
            else
                log_notice("Skipping unknown cluster config variable '%s'", w[j]);
        }
        return 0;
    }
    if (argc < 8 || !cluster_name_valid(w[0], strlen(w[0]))) return -1;
    cluster_node *n = get_or_add(w[0]);
    if (load_address(n, w[1]) < 0 || load_flags(n, w[2]) < 0) return -1;
    if (n->ip[0] == '\0') n->flags |= CN_NOADDR;
    if (strcmp(w[3], "-") != 0) {
        if (!cluster_name_valid(w[3], strlen(w[3]))) return -1;
        cluster_node *m = get_or_add(w[3]);
        n->master = m;
        cluster_node_add_replica(m, n);
    }
    if (atoi(w[4])) n->ping_sent = clock_now_ms();
    if (atoi(w[5])) n->pong_received = clock_now_ms();
    n->config_epoch = strtoull(w[6], NULL, 10);
    for (int j = 8; j < argc; j++)
        if (load_slot_word(n, w[j]) < 0) return -1;
    return 0;
}

/* Returns 1 when loaded, 0 when there is no file (or it is empty), -1 on a corrupt file. */
static int load_config(void) {
    char path[4096];
    conf_path(path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        log_warning("Loading the cluster node config from %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1024 + (size_t)CLUSTER_SLOTS * 128;
    char *line = mem_alloc(cap);
    int rc = 0, lines = 0;
    while (fgets(line, (int)cap, f)) {
        if (line[0] == '\n' || line[0] == '\0') continue;
        lines++;
        if (load_line(line) < 0) {
            rc = -1;
            break;
        }
    }
    mem_free(line);
    fclose(f);
    if (rc == 0 && lines == 0) return 0;
    if (rc < 0 || !cl.myself) {
        log_warning("Unrecoverable error: corrupted cluster config file \"%s\".", path);
        return -1;
    }
    /* Replicas share their master's shard. */
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n->master) memcpy(n->shard_id, n->master->shard_id, sizeof(n->shard_id));
    }
    if (cluster_max_epoch() > cl.current_epoch) cl.current_epoch = cluster_max_epoch();
    log_notice("Node configuration loaded, I'm %.40s", cl.myself->name);
    return 1;
}

static void apply_announced(void) {
    cluster_node *me = cl.myself;
    if (cluster_cfg.announce_ip && cluster_cfg.announce_ip[0]) {
        memset(me->ip, 0, sizeof(me->ip));
        strncpy(me->ip, cluster_cfg.announce_ip, sizeof(me->ip) - 1);
    }
    int port = cluster_cfg.announce_port ? cluster_cfg.announce_port : config.port;
    int tls_port = cluster_cfg.announce_tls_port ? cluster_cfg.announce_tls_port : config.tls_port;
    me->tcp_port = port;
    me->tls_port = tls_port;
    int cport = cluster_cfg.port ? cluster_cfg.port : config.port + CLUSTER_PORT_INCR;
    me->cport = cluster_cfg.announce_bus_port ? cluster_cfg.announce_bus_port : cport;
    const char *h = cluster_cfg.announce_hostname ? cluster_cfg.announce_hostname : "";
    cluster_set_hostname(me, h, strlen(h));
    const char *hn = cluster_cfg.announce_human_nodename ? cluster_cfg.announce_human_nodename : "";
    cluster_set_human_nodename(me, hn, strlen(hn));
}

void cluster_apply_announced(void) {
    if (!cl.myself) return;
    apply_announced();
    cluster_todo(CLUSTER_TODO_SAVE);
}

int cluster_init(int64_t now_ms) {
    if (!config.cluster_enabled) return 0;
    cl.state = CLUSTER_FAIL;
    int rc = load_config();
    if (rc < 0) return -1;
    if (rc == 0) {
        cl.myself = cluster_node_new(NULL, CN_MYSELF | CN_MASTER | CN_EXTENSIONS);
        cluster_node_add(cl.myself);
        log_notice("No cluster configuration found, I'm %.40s", cl.myself->name);
    }
    cl.myself->flags |= CN_EXTENSIONS;
    apply_announced();
    if (cluster_save_config(1) < 0) {
        log_warning("Fatal: can't update cluster config file.");
        return -1;
    }
    int cport = cluster_cfg.port ? cluster_cfg.port : config.port + CLUSTER_PORT_INCR;
    if (cport > 65535) {
        log_warning("Redis port number too high. Cluster communication port is 10,000 port "
                    "numbers higher than your Redis port. Your Redis port number must be 55535 "
                    "or less.");
        return -1;
    }
    if (bus_listen(cport) < 0) return -1;
    cluster_update_state(now_ms);
    return 0;
}

void cluster_before_sleep(void) {
    if (!config.cluster_enabled || !cl.myself) return;
    if (cl.todo & (CLUSTER_TODO_HANDLE_FAILOVER | CLUSTER_TODO_HANDLE_MANUAL)) {
        int todo = cl.todo;
        cl.todo &= ~(CLUSTER_TODO_HANDLE_FAILOVER | CLUSTER_TODO_HANDLE_MANUAL);
        failover_before_sleep(todo);
    }
    if (cl.todo & CLUSTER_TODO_UPDATE_STATE) {
        cl.todo &= ~CLUSTER_TODO_UPDATE_STATE;
        cluster_update_state(clock_now_ms());
    }
    if (cl.todo & CLUSTER_TODO_SAVE) {
        if (cluster_save_config(cl.todo & CLUSTER_TODO_FSYNC ? 1 : 0) < 0) {
            log_warning("Fatal: can't update cluster config file.");
            exit(1);
        }
    }
}

void cluster_shutdown(void) {
    if (!config.cluster_enabled || !cl.myself) return;
    if (cluster_save_config(1) < 0) log_warning("Fatal: can't update cluster config file.");
}

void cluster_reset(int hard) {
    cluster_node *me = cl.myself;
    if (me->flags & CN_SLAVE) {
        if (me->master) cluster_node_remove_replica(me->master, me);
        me->master = NULL;
        me->flags &= ~CN_SLAVE;
        me->flags |= CN_MASTER;
    }
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        cl.migrating_to[s] = cl.importing_from[s] = NULL;
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (cl.slots[s]) cluster_del_slot(s);
    memset(me->slots, 0, sizeof(me->slots));
    me->numslots = 0;
    for (int i = cl.nnodes - 1; i >= 0; i--)
        if (cl.nodes[i] != me) cluster_node_del(cl.nodes[i]);
    nbans = 0;
    if (hard) {
        cl.current_epoch = 0;
        cl.last_vote_epoch = 0;
        me->config_epoch = 0;
        char old[CLUSTER_NAMELEN + 1];
        memcpy(old, me->name, sizeof(old));
        cluster_random_name(me->name);
        cluster_random_name(me->shard_id);
        log_notice("Node hard reset, now I'm %.40s", me->name);
    }
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
}
