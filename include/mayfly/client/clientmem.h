/* clientmem: what each client costs in memory, and the running sum over the clients that
 * client eviction may close (maxmemory-clients, Redis 7's client eviction, in evict/).
 *
 * A client's memory (CLIENT LIST tot-mem) is its session, its reply buffers (pending and
 * in flight), the connection's query buffer, write buffer and argument arrays (net/ tells
 * through session_ops.mem), its subscriptions, watched keys and MULTI queue (cmd/ tells
 * through clientmem_extra). Allocated sizes (capacities), not lengths.
 *
 * The sum is kept incrementally, as Redis's client memory buckets: each session remembers
 * what it last added (session.mem_noted) and clientmem_note replaces it with its present
 * figure. net/ notes a session after each command, after reading, after writing and when
 * output is pushed to it. Nothing is counted while tracking is off (maxmemory-clients 0):
 * then a note costs one test. */
#ifndef MAYFLY_CLIENT_CLIENTMEM_H
#define MAYFLY_CLIENT_CLIENTMEM_H

#include "mayfly/client/session.h"

#include <stddef.h>

/* 1 while maxmemory-clients is set (clientmem_track switches it). */
extern int clientmem_tracking;
/* Bytes of the evictable clients as last noted (Redis's NORMAL + PUBSUB client memory). */
extern size_t clientmem_evictable_total;

/* Memory of s in bytes (CLIENT LIST tot-mem). */
size_t clientmem_of(const session *s);
/* 1 if client eviction may close s: a network client (ops->mem set), not CLIENT NO-EVICT,
 * not already closing, not a primary's or a replica's link. */
int clientmem_evictable(const session *s);

/* Brings s's share of clientmem_evictable_total up to date (its memory if tracking is on
 * and it is evictable, else nothing). */
void clientmem_update(session *s);
static inline void clientmem_note(session *s) {
    if (clientmem_tracking || s->mem_noted) clientmem_update(s);
}
/* Removes s's share (session_free). */
void clientmem_forget(session *s);
/* Turns tracking on or off and recounts every live session. */
void clientmem_track(int on);

/* Memory that layers above client/ keep per session (cmd/'s MULTI queue); set once by
 * server.c, NULL: none. */
extern size_t (*clientmem_extra)(const session *s);

#endif
