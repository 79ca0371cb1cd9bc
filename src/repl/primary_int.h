/* primary_int: a replica link of this server, shared by primary.c (the link's life: PSYNC,
 * the snapshot, REPLCONF ACKs, the cron) and catchup.c (the stream sent to it from the
 * backlog's blocks). */
#ifndef MAYFLY_REPL_PRIMARY_INT_H
#define MAYFLY_REPL_PRIMARY_INT_H

#include "mayfly/client/session.h"
#include "mayfly/net/peer.h"
#include "mayfly/resp/resp.h"

#include <stdint.h>

enum link_state { L_WAIT_START, L_WAIT_END, L_SEND_BULK, L_ONLINE, L_RDB_SENT };

typedef struct rlink {
    peer *pe;
    session *s; /* CLIENT LIST's view, from connected on */
    enum link_state state;
    int capa;              /* CAPA_* */
    int pre_psync;         /* came with SYNC: no +FULLRESYNC, no ACKs expected */
    int rdb_only;          /* REPLCONF rdb-only 1: the snapshot and nothing more */
    int no_data;           /* REPLCONF rdb-filter-only: PERSIST_NO_DATA_* */
    int start_on_ack;      /* diskless: the stream starts at the first ACK */
    int kill_asap;         /* CLIENT KILL: closed from the loop */
    int close_after_write; /* an error was queued: close once it is written */
    int fd_pipe;           /* receives the running diskless transfer */
    int port;              /* REPLCONF listening-port */
    char ip[64];           /* REPLCONF ip-address, else the address it connects from */
    uint64_t ack_off;
    uint64_t aof_ack_off; /* REPLCONF ACK ... FACK: its log is fsynced up to there */
    int64_t ack_ms;       /* last ACK (or newline) */
    uint64_t initial;     /* +FULLRESYNC offset: the snapshot holds the stream up to it */
    uint64_t sent;        /* last stream offset handed to the peer */
    uint64_t held;        /* streaming: the first offset it still needs from the backlog (not
                             yet sent, or in a write in flight): blocks from there are kept */
    int fd;               /* disk transfer: the RDB file, -1 */
    uint64_t file_off, file_size;
    int64_t partial_write_ms; /* diskless: since when it has been behind, 0 */
    int64_t soft_since_ms;    /* over the replica soft output limit since, 0 */
    resp_parser parser;       /* REPLCONF ACK and newlines */
    /* What the client was before the handover (for its session). */
    uint64_t id;
    char addr[64], laddr[64], name[64], user[64];
    int64_t ctime_ms;
    struct rlink *prev, *next;
} rlink;

/* ---- primary.c ---- */

/* The links, newest first (next). */
rlink *primary_links(void);

/* ---- catchup.c: the stream to the links ---- */

/* A link the stream flows to (online, its first ACK in if it waited for one). */
int link_streaming(const rlink *l);
/* The first offset l still needs from the backlog, UINT64_MAX: none. */
uint64_t link_needs(const rlink *l);
/* Sends what the stream holds after l->sent; see catchup.c. The caller updates what the
 * stream keeps (links_update_keep). */
void link_catch_up(rlink *l);
/* The link is in sync: the stream flows to it from its snapshot's offset on. */
void link_start_stream(rlink *l);
/* Recomputes what the stream must keep for the links. */
void links_update_keep(void);
/* What counts against the link's client-output-buffer-limit (and CLIENT LIST's omem). */
long long link_obuf(const rlink *l);

#endif
