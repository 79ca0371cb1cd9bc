/* bus_int: what the two halves of the cluster bus share (bus.c: links, sending, the cron;
 * bus_recv.c: checking and handling what arrives): the message layout of Redis 7's bus
 * (see bus.c) and big-endian field access. */
#ifndef MAYFLY_CLUSTER_BUS_INT_H
#define MAYFLY_CLUSTER_BUS_INT_H

#include "cluster/cluster_int.h"

#include <stdint.h>

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

static inline void put16(uint8_t *p, unsigned v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static inline void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline unsigned get16(const uint8_t *p) {
    return (unsigned)p[0] << 8 | p[1];
}
static inline uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Sends a PING, PONG or MEET with gossip and extensions on l (bus.c). */
void bus_link_ping(cluster_link *l, int type);
/* Sends an UPDATE about n's slots and config epoch on l (bus.c). */
void bus_link_update(cluster_link *l, const cluster_node *n);
/* Handles one whole message p[0..len) read on l (bus_recv.c); 0 if l was freed. */
int bus_process_packet(cluster_link *l, const uint8_t *p, uint32_t len);

#endif
