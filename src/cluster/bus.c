/* bus: the cluster bus, wire-compatible with Redis 7 (cluster_legacy.h of Redis is the
 * reference for the layout; every multi-byte field is big-endian):
 *
 *     0 "RCmb" · 4 totlen · 8 ver=1 · 10 port · 12 type · 14 count · 16 currentEpoch ·
 *     24 configEpoch · 32 offset · 40 sender[40] · 80 myslots[2048] · 2128 slaveof[40] ·
 *     2168 myip[46] · 2214 extensions · 2216 unused[30] · 2246 pport · 2248 cport ·
 *     2250 flags · 2252 state · 2253 mflags[3] · 2256 data
 *
 * PING / PONG / MEET carry `count` gossip entries of 104 bytes (name, ping_sent and
 * pong_received in seconds, ip[46], port, cport, flags, pport) and then, when mflags[0]
 * has EXT_DATA, `extensions` blocks (u32 length incl. the 8-byte block header, u16 type,
 * data padded to 8 bytes): hostname (0), human nodename (1), forgotten node (2), shard id
 * (3). FAIL carries a node name, UPDATE a config epoch, a name and a slot bitmap, PUBLISH
 * two lengths and the bytes.
 *
 * Links are peers (net/peer.h): one outbound link per known node, opened by the cron, and
 * the inbound links other nodes open to us, tied to their node once a message names a
 * sender we know. Every message is read whole into the peer's input buffer and handled
 * by bus_recv.c (bus_process_packet, Redis's clusterProcessPacket rule by rule). The
 * cron (bus_cron, every 100 ms) reconnects, pings, and turns silent nodes into PFAIL;
 * failure reports from a majority of masters turn PFAIL into FAIL, broadcast to everyone. */
#include "cluster/bus_int.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/config.h"
#include "mayfly/net/net.h"
#include "mayfly/net/transport.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[MSG_TYPES] = {"ping",    "pong",     "meet",        "fail",
                                                  "publish", "auth-req", "auth-ack",    "update",
                                                  "mfstart", "module",   "publishshard"};

const char *bus_type_name(int type) {
    return type >= 0 && type < MSG_TYPES ? type_names[type] : "unknown";
}

/* ---- links ---- */

static void link_connected(peer *pe);
static void link_readable(peer *pe);
static void link_closed(peer *pe, int status);
static const peer_events link_events = {link_connected, link_readable, NULL, link_closed};
static void inbound_connected(peer *pe);
static const peer_events inbound_events = {inbound_connected, link_readable, NULL, link_closed};

static cluster_link *link_new(cluster_node *n, int inbound) {
    cluster_link *l = mem_calloc(1, sizeof(*l));
    l->node = n;
    l->inbound = inbound;
    l->ctime = clock_now_ms();
    return l;
}

/* Detaches l from its node and frees it (the peer is closed or already gone). */
static void link_release(cluster_link *l) {
    if (l->node) {
        if (l->node->link == l) l->node->link = NULL;
        if (l->node->inbound_link == l) l->node->inbound_link = NULL;
    }
    mem_free(l);
}

void bus_link_free(cluster_link *l) {
    if (l->pe) {
        peer_set_data(l->pe, NULL);
        peer_close(l->pe);
    }
    link_release(l);
}

static void link_closed(peer *pe, int status) {
    (void)status;
    cluster_link *l = peer_data(pe);
    if (l) link_release(l);
}

static void inbound_connected(peer *pe) {
    cluster_link *l = link_new(NULL, 1);
    l->pe = pe;
    peer_set_data(pe, l);
}

int bus_listen(int port) {
    if (net_listen_peers(port, &inbound_events) < 0) return -1;
    return 0;
}

/* ---- building messages ---- */

static int my_client_port(void) {
    cluster_node *me = cl.myself;
    return config.tls_cluster ? me->tls_port : me->tcp_port;
}
static int my_other_port(void) {
    cluster_node *me = cl.myself;
    return config.tls_cluster ? me->tcp_port : me->tls_port;
}

/* Writes the header of a message of type into m (H_DATA bytes, zeroed by the caller). */
static void build_header(uint8_t *m, int type) {
    cluster_node *me = cl.myself;
    const cluster_node *master = (me->flags & CN_SLAVE) && me->master ? me->master : me;
    memcpy(m + H_SIG, "RCmb", 4);
    put16(m + H_VER, 1);
    put16(m + H_TYPE, (unsigned)type);
    memcpy(m + H_SENDER, me->name, CLUSTER_NAMELEN);
    if (cluster_cfg.announce_ip && cluster_cfg.announce_ip[0])
        memcpy(m + H_MYIP, cluster_cfg.announce_ip,
               strnlen(cluster_cfg.announce_ip, CLUSTER_IPLEN - 1));
    memcpy(m + H_MYSLOTS, master->slots, sizeof(master->slots));
    if (me->master) memcpy(m + H_SLAVEOF, me->master->name, CLUSTER_NAMELEN);
    put16(m + H_PORT, (unsigned)my_client_port());
    put16(m + H_PPORT, (unsigned)my_other_port());
    put16(m + H_CPORT, (unsigned)me->cport);
    put16(m + H_FLAGS, (unsigned)me->flags);
    m[H_STATE] = (uint8_t)cl.state;
    put64(m + H_CURRENT_EPOCH, cl.current_epoch);
    put64(m + H_CONFIG_EPOCH, master->config_epoch);
    put64(m + H_OFFSET, (uint64_t)failover_my_offset());
    if (failover_paused()) m[H_MFLAGS] |= MFLAG0_PAUSED;
}

static void send_raw(cluster_link *l, buf *msg, int type) {
    if (!l || !l->pe) return;
    put32((uint8_t *)msg->data + H_TOTLEN, (uint32_t)msg->len);
    peer_write(l->pe, msg->data, msg->len);
    peer_flush(l->pe);
    if (type >= 0 && type < MSG_TYPES) cl.sent[type]++;
}

static uint8_t *msg_start(buf *b, int type, size_t data_len) {
    buf_init(b);
    uint8_t *m = (uint8_t *)buf_reserve(b, H_DATA + data_len);
    memset(m, 0, H_DATA + data_len);
    b->len = H_DATA + data_len;
    build_header(m, type);
    return m;
}

static void put_gossip(uint8_t *g, const cluster_node *n) {
    memset(g, 0, GOSSIP_LEN);
    memcpy(g, n->name, CLUSTER_NAMELEN);
    put32(g + 40, (uint32_t)(n->ping_sent / 1000));
    put32(g + 44, (uint32_t)(n->pong_received / 1000));
    memcpy(g + 48, n->ip, strnlen(n->ip, CLUSTER_IPLEN - 1));
    put16(g + 94, (unsigned)(config.tls_cluster ? n->tls_port : n->tcp_port));
    put16(g + 96, (unsigned)n->cport);
    put16(g + 98, (unsigned)n->flags);
    put16(g + 100, (unsigned)(config.tls_cluster ? n->tcp_port : n->tls_port));
}

/* Appends one extension block (type, data of len bytes, padded to 8). */
static void put_ext(buf *b, int type, const void *data, size_t len) {
    size_t padded = (len + 7) / 8 * 8;
    uint8_t *e = (uint8_t *)buf_reserve(b, 8 + padded);
    memset(e, 0, 8 + padded);
    put32(e, (uint32_t)(8 + padded));
    put16(e + 4, (unsigned)type);
    memcpy(e + 8, data, len);
    b->len += 8 + padded;
}

static int gossip_wanted(const cluster_node *n, cluster_link *l) {
    if (n == cl.myself || (n->flags & (CN_HANDSHAKE | CN_NOADDR | CN_PFAIL))) return 0;
    if (!n->link && n->numslots == 0) return 0;
    return !(l->node && l->node == n);
}

static int is_pfail_entry(const cluster_node *n) {
    return (n->flags & CN_PFAIL) && !(n->flags & (CN_HANDSHAKE | CN_NOADDR));
}

/* Picks the nodes a PING to l gossips about (Redis's choice): about a tenth of the nodes
 * (at least 3) at random, then every node in PFAIL. Returns the count; picked has room
 * for every node. */
static int pick_gossip(cluster_link *l, cluster_node **picked) {
    int fresh = cl.nnodes - 2;
    int wanted = cl.nnodes / 10;
    if (wanted < 3) wanted = 3;
    if (wanted > fresh) wanted = fresh;
    int count = 0;
    for (int iter = 0; wanted > 0 && count < wanted && iter < wanted * 3; iter++) {
        cluster_node *n = cl.nodes[rand_below((uint64_t)cl.nnodes)];
        if (!gossip_wanted(n, l)) continue;
        int dup = 0;
        for (int j = 0; j < count; j++)
            dup |= picked[j] == n;
        if (!dup) picked[count++] = n;
    }
    for (int i = 0; i < cl.nnodes; i++)
        if (is_pfail_entry(cl.nodes[i])) picked[count++] = cl.nodes[i];
    return count;
}

/* Appends myself's extensions (hostname, human nodename, shard id); returns their count. */
static int put_extensions(buf *b, const cluster_link *l) {
    int exts = 0;
    const cluster_node *me = cl.myself;
    if (me->hostname[0]) {
        put_ext(b, EXT_HOSTNAME, me->hostname, strlen(me->hostname) + 1);
        exts++;
    }
    if (me->human_nodename[0]) {
        put_ext(b, EXT_HUMAN_NODENAME, me->human_nodename, strlen(me->human_nodename) + 1);
        exts++;
    }
    /* Redis 7.0 logs every extension type it does not know: the shard id goes to nodes
     * that sent one (7.2+) and to nodes not heard from yet. */
    if (!l->node || l->node->sent_shard_ext || !l->node->heard) {
        put_ext(b, EXT_SHARDID, me->shard_id, CLUSTER_NAMELEN);
        exts++;
    }
    return exts;
}

/* Redis's clusterSendPing: a PING, PONG or MEET with its gossip and extensions. */
void bus_link_ping(cluster_link *l, int type) {
    buf b;
    msg_start(&b, type, 0);
    cluster_node **picked = mem_calloc((size_t)cl.nnodes * 2 + 1, sizeof(*picked));
    int count = pick_gossip(l, picked);
    for (int j = 0; j < count; j++) {
        put_gossip((uint8_t *)buf_reserve(&b, GOSSIP_LEN), picked[j]);
        b.len += GOSSIP_LEN;
    }
    mem_free(picked);
    int exts = put_extensions(&b, l);
    uint8_t *m = (uint8_t *)b.data;
    put16(m + H_COUNT, (unsigned)count);
    put16(m + H_EXTENSIONS, (unsigned)exts);
    if (exts) m[H_MFLAGS] |= MFLAG0_EXT_DATA;
    if (l->node && type == MSG_PING && l->node->ping_sent == 0) l->node->ping_sent = clock_now_ms();
    send_raw(l, &b, type);
    buf_deinit(&b);
}

static void broadcast(buf *msg, int type) {
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n == cl.myself || (n->flags & CN_HANDSHAKE) || !n->link) continue;
        send_raw(n->link, msg, type);
    }
}

void bus_broadcast_pong(void) {
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n == cl.myself || (n->flags & CN_HANDSHAKE) || !n->link) continue;
        bus_link_ping(n->link, MSG_PONG);
    }
}

/* PONG to every replica of our master (or of us), the election's offset for them. */
void bus_broadcast_pong_shard(void) {
    const cluster_node *m = cluster_node_master_of(cl.myself);
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n == cl.myself || (n->flags & CN_HANDSHAKE) || !n->link) continue;
        if ((n->flags & CN_SLAVE) && n->master == m) bus_link_ping(n->link, MSG_PONG);
    }
}

void bus_send_ping_to(cluster_node *n) {
    if (n->link) bus_link_ping(n->link, MSG_PING);
}

void bus_send_auth_request(int force_ack) {
    buf b;
    uint8_t *m = msg_start(&b, MSG_AUTH_REQUEST, 0);
    if (force_ack) m[H_MFLAGS] |= MFLAG0_FORCEACK;
    broadcast(&b, MSG_AUTH_REQUEST);
    buf_deinit(&b);
}

static void send_empty(cluster_node *n, int type) {
    if (!n->link) return;
    buf b;
    msg_start(&b, type, 0);
    send_raw(n->link, &b, type);
    buf_deinit(&b);
}

void bus_send_auth_ack(cluster_node *n) {
    send_empty(n, MSG_AUTH_ACK);
}

void bus_send_mfstart(cluster_node *n) {
    send_empty(n, MSG_MFSTART);
}

void bus_send_fail(const cluster_node *n) {
    buf b;
    uint8_t *m = msg_start(&b, MSG_FAIL, CLUSTER_NAMELEN);
    memcpy(m + H_DATA, n->name, CLUSTER_NAMELEN);
    broadcast(&b, MSG_FAIL);
    buf_deinit(&b);
}

void bus_link_update(cluster_link *l, const cluster_node *n) {
    if (!l) return;
    buf b;
    uint8_t *m = msg_start(&b, MSG_UPDATE, 8 + CLUSTER_NAMELEN + CLUSTER_SLOTS / 8);
    put64(m + H_DATA, n->config_epoch);
    memcpy(m + H_DATA + 8, n->name, CLUSTER_NAMELEN);
    memcpy(m + H_DATA + 8 + CLUSTER_NAMELEN, n->slots, CLUSTER_SLOTS / 8);
    send_raw(l, &b, MSG_UPDATE);
    buf_deinit(&b);
}

void bus_send_publish(const char *ch, size_t chlen, const char *msg, size_t mlen, int shard) {
    int type = shard ? MSG_PUBLISHSHARD : MSG_PUBLISH;
    buf b;
    uint8_t *m = msg_start(&b, type, 8 + chlen + mlen);
    put32(m + H_DATA, (uint32_t)chlen);
    put32(m + H_DATA + 4, (uint32_t)mlen);
    memcpy(m + H_DATA + 8, ch, chlen);
    memcpy(m + H_DATA + 8 + chlen, msg, mlen);
    if (!shard) {
        broadcast(&b, type);
    } else {
        /* The shard: our master (or ourselves) and its replicas. */
        const cluster_node *m0 = cluster_node_master_of(cl.myself);
        for (int i = 0; i < cl.nnodes; i++) {
            cluster_node *n = cl.nodes[i];
            if (n == cl.myself || !n->link) continue;
            if (n == m0 || n->master == m0) send_raw(n->link, &b, type);
        }
    }
    buf_deinit(&b);
}

/* ---- handshake ---- */

int bus_start_handshake(const char *ip, int port, int cport, const char **err) {
    struct sockaddr_storage ss;
    char norm[CLUSTER_IPLEN] = {0};
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) == 0) {
        uv_ip4_name((struct sockaddr_in *)&ss, norm, sizeof(norm));
    } else if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) == 0) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, norm, sizeof(norm));
    } else {
        *err = "invalid";
        return -1;
    }
    if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) {
        *err = "invalid";
        return -1;
    }
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (!(n->flags & CN_HANDSHAKE)) continue;
        int np = config.tls_cluster ? n->tls_port : n->tcp_port;
        if (strcasecmp(n->ip, norm) == 0 && np == port && n->cport == cport) return 0;
    }
    if (cl.nnodes >= CLUSTER_MAX_NODES) {
        *err = "too many nodes";
        return -1;
    }
    cluster_node *n = cluster_node_new(NULL, CN_HANDSHAKE | CN_MEET);
    memcpy(n->ip, norm, sizeof(n->ip));
    if (config.tls_cluster)
        n->tls_port = port;
    else
        n->tcp_port = port;
    n->cport = cport;
    cluster_node_add(n);
    return 0;
}

static void link_readable(peer *pe) {
    cluster_link *l = peer_data(pe);
    if (!l) return;
    buf *in = peer_input(pe);
    while (in->len >= 8) {
        const uint8_t *p = (const uint8_t *)in->data;
        uint32_t totlen = get32(p + H_TOTLEN);
        if (memcmp(p, "RCmb", 4) != 0 || totlen < H_DATA || totlen > MSG_MAX_LEN) {
            log_warning("Bad message length or signature received on the Cluster bus.");
            bus_link_free(l);
            return;
        }
        if (in->len < totlen) return;
        if (!bus_process_packet(l, p, totlen)) return; /* the link (and its peer) is gone */
        peer_consume(pe, totlen);
    }
}

static void link_connected(peer *pe) {
    cluster_link *l = peer_data(pe);
    if (!l || !l->node) return;
    cluster_node *n = l->node;
    int64_t old_ping = n->ping_sent;
    bus_link_ping(l, (n->flags & CN_MEET) ? MSG_MEET : MSG_PING);
    /* Keep the time of a ping still unanswered: reconnecting must not hide a timeout. */
    if (old_ping) n->ping_sent = old_ping;
    n->flags &= ~CN_MEET;
}

/* ---- failure detection ---- */

void bus_mark_failing_if_needed(cluster_node *n, int64_t now_ms) {
    int quorum = cl.size / 2 + 1;
    if (!(n->flags & CN_PFAIL) || (n->flags & CN_FAIL)) return;
    int failures = cluster_report_count(n, now_ms);
    if (cl.myself->flags & CN_MASTER) failures++;
    if (failures < quorum) return;
    log_notice("Marking node %.40s as failing (quorum reached).", n->name);
    n->flags &= ~CN_PFAIL;
    n->flags |= CN_FAIL;
    n->fail_time = now_ms;
    if (cl.myself->flags & CN_MASTER) bus_send_fail(n);
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
}

void bus_clear_failure_if_needed(cluster_node *n, int64_t now_ms) {
    if (!(n->flags & CN_FAIL)) return;
    if ((n->flags & CN_SLAVE) || n->numslots == 0) {
        log_notice("Clear FAIL state for node %.40s: %s is reachable again.", n->name,
                   (n->flags & CN_SLAVE) ? "replica" : "master without slots");
        n->flags &= ~CN_FAIL;
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
    }
    if ((n->flags & CN_MASTER) && n->numslots > 0 &&
        now_ms - n->fail_time > cluster_cfg.node_timeout * 2) {
        log_notice("Clear FAIL state for node %.40s: is reachable again and nobody is serving "
                   "its slots after some time.",
                   n->name);
        n->flags &= ~CN_FAIL;
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
    }
}

/* ---- cron ---- */

static void connect_node(cluster_node *n) {
    cluster_link *l = link_new(n, 0);
    peer_options opt = {.type = config.tls_cluster ? &transport_tls : NULL,
                        .connect_timeout_ms = (uint64_t)cluster_cfg.node_timeout};
    peer *pe = NULL;
    if (peer_connect(n->ip, n->cport, &opt, &link_events, l, &pe) < 0) {
        mem_free(l);
        return;
    }
    l->pe = pe;
    n->link = l;
    /* As Redis does: count the PING this link will carry from now, so that a node whose
     * connections keep failing still times out (PFAIL). */
    if (n->ping_sent == 0) n->ping_sent = clock_now_ms();
}

/* Ping the least recently ponged of 5 random nodes (once a second). */
static void ping_random(void) {
    cluster_node *min = NULL;
    for (int i = 0; i < 5 && cl.nnodes > 1; i++) {
        cluster_node *n = cl.nodes[rand_below((uint64_t)cl.nnodes)];
        if (!n->link || n->ping_sent != 0 || (n->flags & (CN_MYSELF | CN_HANDSHAKE))) continue;
        if (!min || n->pong_received < min->pong_received) min = n;
    }
    if (min) bus_link_ping(min->link, MSG_PING);
}

static int64_t handshake_timeout(void) {
    return cluster_cfg.node_timeout > 1000 ? cluster_cfg.node_timeout : 1000;
}

/* One node's checks: reconnect a stuck link, ping, PFAIL. */
static void check_node(cluster_node *n, int64_t now) {
    int64_t timeout = cluster_cfg.node_timeout;
    cluster_link *l = n->link;
    if (l && now - l->ctime > timeout && n->ping_sent && now - n->ping_sent > timeout / 2 &&
        now - n->data_received > timeout / 2) {
        bus_link_free(l); /* reconnected by the next cron */
        return;
    }
    if (l && n->ping_sent == 0 && now - n->pong_received > timeout / 2) {
        bus_link_ping(l, MSG_PING);
        return;
    }
    /* The replica of our manual failover is pinged continuously (our paused offset). */
    if (l && failover_ping_replica(n)) {
        bus_link_ping(l, MSG_PING);
        return;
    }
    if (n->ping_sent == 0) return;
    int64_t delay = now - n->ping_sent, data_delay = now - n->data_received;
    if (delay > data_delay) delay = data_delay;
    if (delay > timeout && !(n->flags & (CN_PFAIL | CN_FAIL))) {
        log_debug("*** NODE %.40s possibly failing", n->name);
        n->flags |= CN_PFAIL;
        cluster_todo(CLUSTER_TODO_UPDATE_STATE);
    }
}

/* cluster-link-sendbuf-limit: a link whose unsent output passed the limit (a peer that
 * stopped reading) is freed, as Redis's freeClusterLinkOnBufferLimitReached; an outbound
 * one is reconnected at once by the cron. */
static void free_link_over_limit(cluster_link *l) {
    long long limit = cluster_cfg.link_sendbuf_limit;
    if (!l || !l->pe || limit == 0) return;
    size_t used = peer_pending_out(l->pe);
    if (used <= (unsigned long long)limit) return;
    log_warning("Freeing cluster link(%s node %.40s, used memory: %zu) due to exceeding send "
                "buffer memory limit.",
                l->inbound ? "from" : "to", l->node ? l->node->name : "", used);
    bus_link_free(l);
    cl.links_buffer_limit_exceeded++;
}

void bus_cron(int64_t now) {
    static unsigned iteration;
    iteration++;
    for (int i = cl.nnodes - 1; i >= 0; i--) {
        cluster_node *n = cl.nodes[i];
        if (n == cl.myself || (n->flags & CN_NOADDR)) continue;
        free_link_over_limit(n->link);
        free_link_over_limit(n->inbound_link);
        if ((n->flags & CN_HANDSHAKE) && now - n->ctime > handshake_timeout()) {
            cluster_node_del(n);
            continue;
        }
        if (!n->link && n->ip[0] && n->cport) connect_node(n);
    }
    if (iteration % 10 == 0) ping_random();
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n == cl.myself || (n->flags & (CN_NOADDR | CN_HANDSHAKE))) continue;
        check_node(n, now);
    }
    failover_cron(now);
    cluster_update_state(now);
}
