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
 * by process_packet, which follows Redis's clusterProcessPacket rule by rule: handshake
 * (a MEET adds the sender in HANDSHAKE state; the PONG to our PING or MEET gives a
 * handshake node its real name), epochs, role and slot changes, gossip about third nodes
 * (new nodes, failure reports), FAIL, UPDATE and PUBLISH. The cron (bus_cron, every 100 ms)
 * reconnects, pings, and turns silent nodes into PFAIL; failure reports from a majority of
 * masters turn PFAIL into FAIL, broadcast to everyone. */
#include "cluster/cluster_int.h"
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

enum {
    MSG_PING = 0,
    MSG_PONG = 1,
    MSG_MEET = 2,
    MSG_FAIL = 3,
    MSG_PUBLISH = 4,
    MSG_AUTH_REQUEST = 5,
    MSG_AUTH_ACK = 6,
    MSG_UPDATE = 7,
    MSG_MFSTART = 8,
    MSG_MODULE = 9,
    MSG_PUBLISHSHARD = 10,
    MSG_TYPES = 11,
};

enum { EXT_HOSTNAME = 0, EXT_HUMAN_NODENAME = 1, EXT_FORGOTTEN_NODE = 2, EXT_SHARDID = 3 };

/* Header offsets. */
enum {
    H_SIG = 0,
    H_TOTLEN = 4,
    H_VER = 8,
    H_PORT = 10,
    H_TYPE = 12,
    H_COUNT = 14,
    H_CURRENT_EPOCH = 16,
    H_CONFIG_EPOCH = 24,
    H_OFFSET = 32,
    H_SENDER = 40,
    H_MYSLOTS = 80,
    H_SLAVEOF = 2128,
    H_MYIP = 2168,
    H_EXTENSIONS = 2214,
    H_PPORT = 2246,
    H_CPORT = 2248,
    H_FLAGS = 2250,
    H_STATE = 2252,
    H_MFLAGS = 2253,
    H_DATA = 2256,
};
#define GOSSIP_LEN 104
#define MSG_MAX_LEN ((uint32_t)1 << 28) /* a bigger frame is refused: the link is dropped */
#define MFLAG0_PAUSED 1                 /* a master paused for a manual failover */
#define MFLAG0_FORCEACK 2               /* vote even though the master is up (manual failover) */
#define MFLAG0_EXT_DATA 4

/* ---- byte order ---- */

static void put16(uint8_t *p, unsigned v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static unsigned get16(const uint8_t *p) {
    return (unsigned)p[0] << 8 | p[1];
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

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
static void send_ping(cluster_link *l, int type) {
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
        send_ping(n->link, MSG_PONG);
    }
}

/* PONG to every replica of our master (or of us), the election's offset for them. */
void bus_broadcast_pong_shard(void) {
    const cluster_node *m = cluster_node_master_of(cl.myself);
    for (int i = 0; i < cl.nnodes; i++) {
        cluster_node *n = cl.nodes[i];
        if (n == cl.myself || (n->flags & CN_HANDSHAKE) || !n->link) continue;
        if ((n->flags & CN_SLAVE) && n->master == m) send_ping(n->link, MSG_PONG);
    }
}

void bus_send_ping_to(cluster_node *n) {
    if (n->link) send_ping(n->link, MSG_PING);
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

static void send_update(cluster_link *l, const cluster_node *n) {
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

/* ---- receiving ---- */

typedef struct msg {
    const uint8_t *p;
    uint32_t len;
    int type;
    cluster_link *link;
    cluster_node *sender;
    uint64_t cur_epoch, cfg_epoch;
    int flags;
    int64_t now;
} msg;

/* Redis's length rules per type; 0 if the message is well formed. */
static int check_length(const uint8_t *p, uint32_t totlen, int type) {
    uint32_t exp;
    switch (type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET: {
        exp = H_DATA + GOSSIP_LEN * get16(p + H_COUNT);
        if (exp > totlen) return -1;
        if (p[H_MFLAGS] & MFLAG0_EXT_DATA) {
            for (unsigned e = get16(p + H_EXTENSIONS); e > 0; e--) {
                if (totlen - exp < 8) return -1;
                uint32_t el = get32(p + exp);
                if (el % 8 != 0 || el < 8 || totlen - exp < el) return -1;
                exp += el;
            }
        }
        break;
    }
    case MSG_FAIL:
        exp = H_DATA + CLUSTER_NAMELEN;
        break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD:
        if (totlen < H_DATA + 8) return -1;
        exp = H_DATA + 8 + get32(p + H_DATA) + get32(p + H_DATA + 4);
        break;
    case MSG_AUTH_REQUEST:
    case MSG_AUTH_ACK:
    case MSG_MFSTART:
        exp = H_DATA;
        break;
    case MSG_UPDATE:
        exp = H_DATA + 8 + CLUSTER_NAMELEN + CLUSTER_SLOTS / 8;
        break;
    default:
        exp = totlen;
    }
    return exp == totlen ? 0 : -1;
}

/* The ip a message's sender is reachable at: what it announces, else the link's peer. */
static int sender_ip(const msg *m, char *out) {
    memset(out, 0, CLUSTER_IPLEN);
    if (m->p[H_MYIP]) {
        memcpy(out, m->p + H_MYIP, CLUSTER_IPLEN - 1);
        return 0;
    }
    transport *t = m->link->pe ? peer_transport(m->link->pe) : NULL;
    struct sockaddr_storage ss;
    if (!t || transport_sockaddr(t, 1, &ss) < 0) return -1;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, out, CLUSTER_IPLEN);
    else
        uv_ip6_name((struct sockaddr_in6 *)&ss, out, CLUSTER_IPLEN);
    return 0;
}

static void msg_ports(const msg *m, int *tcp, int *tls) {
    int port = (int)get16(m->p + H_PORT), pport = (int)get16(m->p + H_PPORT);
    *tcp = config.tls_cluster ? pport : port;
    *tls = config.tls_cluster ? port : pport;
}

/* Redis's nodeUpdateAddressIfNeeded. Returns 1 if the address changed. */
static int update_address(cluster_node *n, const msg *m) {
    if (m->link == n->link) return 0;
    char ip[CLUSTER_IPLEN];
    if (sender_ip(m, ip) < 0) return 0;
    int tcp, tls, cport = (int)get16(m->p + H_CPORT);
    msg_ports(m, &tcp, &tls);
    if (n->tcp_port == tcp && n->tls_port == tls && n->cport == cport && strcmp(ip, n->ip) == 0)
        return 0;
    memcpy(n->ip, ip, sizeof(n->ip));
    n->tcp_port = tcp;
    n->tls_port = tls;
    n->cport = cport;
    if (n->link) bus_link_free(n->link);
    n->flags &= ~CN_NOADDR;
    log_notice("Address updated for node %.40s (%s), now %s:%d", n->name, n->human_nodename, n->ip,
               config.tls_cluster ? n->tls_port : n->tcp_port);
    return 1;
}

/* Our own address as the other side sees it (a MEET tells us who we are). */
static void learn_my_ip(const msg *m) {
    if (cluster_cfg.announce_ip && cluster_cfg.announce_ip[0]) return;
    if (m->type != MSG_MEET && cl.myself->ip[0]) return;
    transport *t = m->link->pe ? peer_transport(m->link->pe) : NULL;
    struct sockaddr_storage ss;
    if (!t || transport_sockaddr(t, 0, &ss) < 0) return;
    char ip[CLUSTER_IPLEN] = {0};
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
    else
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
    if (strcmp(ip, cl.myself->ip) == 0) return;
    memcpy(cl.myself->ip, ip, sizeof(ip));
    log_notice("IP address for this node updated to %s", ip);
    cluster_todo(CLUSTER_TODO_SAVE);
}

/* What one gossip entry says about a node we know (Redis's clusterProcessGossipSection). */
static void gossip_known(const msg *m, cluster_node *n, const uint8_t *g) {
    cluster_node *sender = m->sender;
    int flags = (int)get16(g + 98);
    int failing = (flags & (CN_FAIL | CN_PFAIL)) != 0;
    if (sender && (sender->flags & CN_MASTER)) {
        if (failing) {
            if (cluster_report_add(n, sender, m->now))
                log_verbose("Node %.40s reported node %.40s as not reachable.", sender->name,
                            n->name);
            bus_mark_failing_if_needed(n, m->now);
        } else if (cluster_report_del(n, sender)) {
            log_verbose("Node %.40s reported node %.40s is back online.", sender->name, n->name);
        }
    }
    if (!failing && n->ping_sent == 0 && n->nreports == 0) {
        int64_t pong = (int64_t)get32(g + 44) * 1000;
        if (pong <= m->now + 500 && pong > n->pong_received) n->pong_received = pong;
    }
    /* A node we cannot reach, seen at another address by a node that can: move to it. */
    if (!(n->flags & (CN_FAIL | CN_PFAIL)) || (flags & CN_NOADDR) || failing) return;
    char ip[CLUSTER_IPLEN] = {0};
    memcpy(ip, g + 48, CLUSTER_IPLEN - 1);
    int port = (int)get16(g + 94), pport = (int)get16(g + 100), cport = (int)get16(g + 96);
    int tcp = config.tls_cluster ? pport : port, tls = config.tls_cluster ? port : pport;
    if (strcasecmp(n->ip, ip) == 0 && n->tcp_port == tcp && n->tls_port == tls && n->cport == cport)
        return;
    if (n->link) bus_link_free(n->link);
    memcpy(n->ip, ip, sizeof(n->ip));
    n->tcp_port = tcp;
    n->tls_port = tls;
    n->cport = cport;
    n->flags &= ~CN_NOADDR;
}

/* A node gossiped by a node we know: added with the name and address given. */
static void gossip_new(const msg *m, const uint8_t *g) {
    int flags = (int)get16(g + 98);
    if (!m->sender || (flags & CN_NOADDR) || cluster_ban_exists((const char *)g, m->now) ||
        cl.nnodes >= CLUSTER_MAX_NODES)
        return;
    cluster_node *n = cluster_node_new((const char *)g, flags & (CN_MASTER | CN_SLAVE));
    memcpy(n->ip, g + 48, CLUSTER_IPLEN - 1);
    int port = (int)get16(g + 94), pport = (int)get16(g + 100);
    n->tcp_port = config.tls_cluster ? pport : port;
    n->tls_port = config.tls_cluster ? port : pport;
    n->cport = (int)get16(g + 96);
    cluster_node_add(n);
    cluster_todo(CLUSTER_TODO_SAVE);
}

static void process_gossip(const msg *m) {
    unsigned count = get16(m->p + H_COUNT);
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *g = m->p + H_DATA + (size_t)i * GOSSIP_LEN;
        if (!cluster_name_valid((const char *)g, CLUSTER_NAMELEN)) return;
        cluster_node *n = cluster_lookup((const char *)g);
        if (n && n != cl.myself && n != m->sender)
            gossip_known(m, n, g);
        else if (!n)
            gossip_new(m, g);
    }
}

static void process_extensions(const msg *m) {
    cluster_node *sender = m->sender;
    if (!sender) return;
    const char *host = NULL, *human = NULL, *shard = NULL;
    size_t host_len = 0, human_len = 0;
    uint32_t off = H_DATA + GOSSIP_LEN * get16(m->p + H_COUNT);
    unsigned exts = (m->p[H_MFLAGS] & MFLAG0_EXT_DATA) ? get16(m->p + H_EXTENSIONS) : 0;
    for (; exts > 0; exts--) {
        uint32_t el = get32(m->p + off);
        unsigned type = get16(m->p + off + 4);
        const char *d = (const char *)m->p + off + 8;
        size_t dlen = el - 8;
        if (type == EXT_HOSTNAME) {
            host = d;
            host_len = strnlen(d, dlen);
        } else if (type == EXT_HUMAN_NODENAME) {
            human = d;
            human_len = strnlen(d, dlen);
        } else if (type == EXT_SHARDID && dlen >= CLUSTER_NAMELEN) {
            shard = d;
        } else if (type == EXT_FORGOTTEN_NODE && dlen >= CLUSTER_NAMELEN + 8) {
            cluster_node *n = cluster_lookup(d);
            if (n && n != cl.myself && n != sender && cl.myself->master != n) {
                uint64_t ttl = get64((const uint8_t *)d + CLUSTER_NAMELEN);
                cluster_ban_add(d, m->now + (int64_t)ttl * 1000);
                cluster_node_del(n);
                cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
            }
        } else {
            log_warning("Received unknown extension type %u", type);
        }
        off += el;
    }
    sender->heard = 1;
    if (m->p[H_MFLAGS] & MFLAG0_EXT_DATA) sender->flags |= CN_EXTENSIONS;
    cluster_set_hostname(sender, host ? host : "", host ? host_len : 0);
    cluster_set_human_nodename(sender, human ? human : "", human ? human_len : 0);
    if (shard) {
        sender->sent_shard_ext = 1;
        if (memcmp(sender->shard_id, shard, CLUSTER_NAMELEN) != 0) {
            memcpy(sender->shard_id, shard, CLUSTER_NAMELEN);
            cluster_todo(CLUSTER_TODO_SAVE);
        }
    } else if (sender->master) {
        memcpy(sender->shard_id, sender->master->shard_id, CLUSTER_NAMELEN);
    }
}

/* The handshake node behind our outbound link answered: give it its real name, or drop it
 * if we know it already. Returns 0 when the link is gone. */
static int finish_handshake(msg *m) {
    cluster_link *l = m->link;
    if (m->sender) {
        log_verbose("Handshake: we already know node %.40s, updating the address if needed.",
                    m->sender->name);
        if (update_address(m->sender, m))
            cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
        cluster_node_del(l->node);
        return 0;
    }
    const char *name = (const char *)m->p + H_SENDER;
    if (!cluster_name_valid(name, CLUSTER_NAMELEN)) {
        cluster_node_del(l->node);
        return 0;
    }
    cluster_node_rename(l->node, name);
    log_debug("Handshake with node %.40s completed.", l->node->name);
    l->node->flags &= ~CN_HANDSHAKE;
    l->node->flags |= m->flags & (CN_MASTER | CN_SLAVE);
    cluster_todo(CLUSTER_TODO_SAVE);
    return 1;
}

static void process_role(msg *m) {
    cluster_node *sender = m->sender;
    const char *slaveof = (const char *)m->p + H_SLAVEOF;
    static const char zero[CLUSTER_NAMELEN];
    if (memcmp(slaveof, zero, CLUSTER_NAMELEN) == 0) {
        cluster_set_master(sender);
        return;
    }
    cluster_node *master = cluster_lookup(slaveof);
    if (sender->flags & CN_MASTER) {
        if (master && memcmp(master->shard_id, sender->shard_id, CLUSTER_NAMELEN) == 0 &&
            sender->config_epoch <= m->cfg_epoch) {
            for (int s = 0; s < CLUSTER_SLOTS; s++) {
                if (cl.slots[s] != sender) continue;
                cluster_del_slot(s);
                cluster_add_slot(master, s);
            }
            cluster_set_master(master);
            master->config_epoch = m->cfg_epoch;
        } else {
            cluster_del_node_slots(sender);
        }
        sender->flags &= ~(CN_MASTER | CN_MIGRATE_TO);
        sender->flags |= CN_SLAVE;
        cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    }
    if (master && sender->master != master) {
        if (sender->master) cluster_node_remove_replica(sender->master, sender);
        cluster_node_add_replica(master, sender);
        sender->master = master;
        memcpy(sender->shard_id, master->shard_id, CLUSTER_NAMELEN);
        cluster_todo(CLUSTER_TODO_SAVE);
    }
}

static void process_slots(msg *m) {
    cluster_node *sender = m->sender;
    const uint8_t *claimed = m->p + H_MYSLOTS;
    cluster_node *sm = (sender->flags & CN_MASTER) ? sender : sender->master;
    int dirty = sm && memcmp(sm->slots, claimed, CLUSTER_SLOTS / 8) != 0;
    if (!dirty) return;
    if (sender->flags & CN_MASTER) cluster_update_slots_with(sender, m->cfg_epoch, claimed);
    /* The sender claims slots that a master with a newer epoch serves: tell it. */
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bitmap_test(claimed, s) || cl.slots[s] == sender || !cl.slots[s]) continue;
        if (cl.slots[s]->config_epoch > m->cfg_epoch) {
            log_verbose("Node %.40s has old slots configuration, sending an UPDATE message "
                        "about %.40s",
                        sender->name, cl.slots[s]->name);
            send_update(sender->link, cl.slots[s]);
            break;
        }
    }
}

/* A reply on our outbound link: completes a handshake, or finds that another node now
 * answers at that address. Returns 0 when the link was freed. */
static int check_outbound(msg *m) {
    cluster_link *l = m->link;
    if (l->node->flags & CN_HANDSHAKE) return finish_handshake(m);
    if (memcmp(l->node->name, m->p + H_SENDER, CLUSTER_NAMELEN) == 0) return 1;
    log_debug("PONG contains mismatching sender ID. About node %.40s", l->node->name);
    cluster_node *n = l->node;
    n->flags |= CN_NOADDR;
    n->ip[0] = '\0';
    n->tcp_port = n->tls_port = n->cport = 0;
    bus_link_free(l);
    cluster_todo(CLUSTER_TODO_SAVE);
    return 0;
}

/* PING, PONG and MEET. Returns 0 when the link was freed. */
static int process_ping(msg *m) {
    cluster_link *l = m->link;
    if (m->type == MSG_PING || m->type == MSG_MEET) {
        learn_my_ip(m);
        if (!m->sender && m->type == MSG_MEET && cl.nnodes < CLUSTER_MAX_NODES) {
            cluster_node *n = cluster_node_new(NULL, CN_HANDSHAKE);
            if (sender_ip(m, n->ip) < 0) n->ip[0] = '\0';
            msg_ports(m, &n->tcp_port, &n->tls_port);
            n->cport = (int)get16(m->p + H_CPORT);
            cluster_node_add(n);
            cluster_todo(CLUSTER_TODO_SAVE);
        }
        send_ping(l, MSG_PONG);
    }
    if (!l->inbound && l->node && !check_outbound(m)) return 0;
    cluster_node *sender = m->sender;
    if (sender) {
        sender->flags &= ~CN_NOFAILOVER;
        sender->flags |= m->flags & CN_NOFAILOVER;
    }
    if (sender && m->type == MSG_PING && !(sender->flags & CN_HANDSHAKE) &&
        update_address(sender, m))
        cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    if (!l->inbound && m->type == MSG_PONG && l->node) {
        l->node->pong_received = m->now;
        l->node->ping_sent = 0;
        if (l->node->flags & CN_PFAIL) {
            l->node->flags &= ~CN_PFAIL;
            cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
        } else if (l->node->flags & CN_FAIL) {
            bus_clear_failure_if_needed(l->node, m->now);
        }
    }
    if (!sender) return 1;
    process_role(m);
    process_slots(m);
    if ((cl.myself->flags & CN_MASTER) && (sender->flags & CN_MASTER) &&
        m->cfg_epoch == cl.myself->config_epoch)
        cluster_epoch_collision(sender);
    process_gossip(m);
    process_extensions(m);
    return 1;
}

static void process_fail(msg *m) {
    const char *about = (const char *)m->p + H_DATA;
    if (!m->sender) {
        log_notice("Ignoring FAIL message from unknown node %.40s about %.40s",
                   (const char *)m->p + H_SENDER, about);
        return;
    }
    cluster_node *f = cluster_lookup(about);
    if (!f || (f->flags & (CN_FAIL | CN_MYSELF))) return;
    log_notice("FAIL message received from %.40s about %.40s", m->sender->name, about);
    f->flags |= CN_FAIL;
    f->fail_time = m->now;
    f->flags &= ~CN_PFAIL;
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
}

static void process_update(msg *m) {
    if (!m->sender) return;
    const uint8_t *d = m->p + H_DATA;
    uint64_t epoch = get64(d);
    cluster_node *n = cluster_lookup((const char *)d + 8);
    if (!n || n->config_epoch >= epoch) return;
    if (n->flags & CN_SLAVE) cluster_set_master(n);
    n->config_epoch = epoch;
    cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    cluster_update_slots_with(n, epoch, d + 8 + CLUSTER_NAMELEN);
}

static void process_publish(msg *m) {
    if (!m->sender) return;
    const uint8_t *d = m->p + H_DATA;
    uint32_t chlen = get32(d), mlen = get32(d + 4);
    slice ch = {(const char *)d + 8, chlen}, body = {(const char *)d + 8 + chlen, mlen};
    pubsub_publish_to(m->type == MSG_PUBLISHSHARD ? PUBSUB_SHARD : PUBSUB_CHANNEL, ch, body);
}

static void process_failover(const msg *m) {
    if (!m->sender) return; /* we do not know that node */
    if (m->type == MSG_AUTH_REQUEST) {
        failover_request rq = {.current_epoch = m->cur_epoch,
                               .config_epoch = m->cfg_epoch,
                               .claimed = m->p + H_MYSLOTS,
                               .force_ack = (m->p[H_MFLAGS] & MFLAG0_FORCEACK) != 0,
                               .now = m->now};
        failover_vote(m->sender, &rq);
    } else if (m->type == MSG_AUTH_ACK) {
        failover_ack(m->sender, m->cur_epoch);
    } else {
        failover_mfstart(m->sender, m->now);
    }
}

/* Returns 0 when the link was freed while processing. */
static int process_packet(cluster_link *l, const uint8_t *p, uint32_t len) {
    msg m = {.p = p, .len = len, .type = (int)get16(p + H_TYPE), .link = l, .now = clock_now_ms()};
    if (m.type < MSG_TYPES) cl.received[m.type]++;
    if (get16(p + H_VER) != 1) return 1;
    if (check_length(p, len, m.type) < 0) {
        log_warning("Received invalid %s packet of length %u", bus_type_name(m.type), len);
        return 1;
    }
    m.flags = (int)get16(p + H_FLAGS);
    if (l->node && !(l->node->flags & CN_HANDSHAKE)) {
        m.sender = l->node;
    } else {
        m.sender = cluster_lookup((const char *)p + H_SENDER);
        if (m.sender && !l->node && l->inbound) {
            if (m.sender->inbound_link && m.sender->inbound_link != l)
                bus_link_free(m.sender->inbound_link);
            m.sender->inbound_link = l;
            l->node = m.sender;
        }
    }
    if (m.sender) m.sender->data_received = m.now;
    if (m.sender && !(m.sender->flags & CN_HANDSHAKE)) {
        m.cur_epoch = get64(p + H_CURRENT_EPOCH);
        m.cfg_epoch = get64(p + H_CONFIG_EPOCH);
        if (m.cur_epoch > cl.current_epoch) cl.current_epoch = m.cur_epoch;
        if (m.cfg_epoch > m.sender->config_epoch) {
            m.sender->config_epoch = m.cfg_epoch;
            cluster_todo(CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
        }
        m.sender->repl_offset = (long long)get64(p + H_OFFSET);
        failover_note_sender(m.sender, p[H_MFLAGS] & MFLAG0_PAUSED);
    }
    switch (m.type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET:
        return process_ping(&m);
    case MSG_FAIL:
        process_fail(&m);
        break;
    case MSG_UPDATE:
        process_update(&m);
        break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD:
        process_publish(&m);
        break;
    case MSG_AUTH_REQUEST:
    case MSG_AUTH_ACK:
    case MSG_MFSTART:
        process_failover(&m);
        break;
    default:
        break; /* modules: none here */
    }
    return 1;
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
        if (!process_packet(l, p, totlen)) return; /* the link (and its peer) is gone */
        peer_consume(pe, totlen);
    }
}

static void link_connected(peer *pe) {
    cluster_link *l = peer_data(pe);
    if (!l || !l->node) return;
    cluster_node *n = l->node;
    int64_t old_ping = n->ping_sent;
    send_ping(l, (n->flags & CN_MEET) ? MSG_MEET : MSG_PING);
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
    if (min) send_ping(min->link, MSG_PING);
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
        send_ping(l, MSG_PING);
        return;
    }
    /* The replica of our manual failover is pinged continuously (our paused offset). */
    if (l && failover_ping_replica(n)) {
        send_ping(l, MSG_PING);
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
