/* bus_recv: what arrives on the cluster bus (the layout is described in bus.c).
 *
 * bus.c reads each message whole and hands it to bus_process_packet, which follows Redis's
 * clusterProcessPacket rule by rule: the length check per type, then the handshake (a MEET
 * adds the sender in HANDSHAKE state; the PONG to our PING or MEET gives a handshake node
 * its real name), epochs, role and slot changes, gossip about third nodes (new nodes,
 * failure reports), FAIL, UPDATE, PUBLISH and the failover messages. A message that breaks
 * a rule is dropped, or its link freed, never trusted. */
#include "cluster/bus_int.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/config.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

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

/* Redis's length rules per type; 0 if the message is well formed. */ static int
check_length(const uint8_t *p, uint32_t totlen, int type) {
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
            bus_link_update(sender->link, cl.slots[s]);
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
        bus_link_ping(l, MSG_PONG);
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
int bus_process_packet(cluster_link *l, const uint8_t *p, uint32_t len) {
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
