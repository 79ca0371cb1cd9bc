/* pubsub: publishing to channel and pattern subscribers (implemented in cmd_pubsub.c).
 *
 * PUBLISH and keyspace notifications (notify.c) go through pubsub_publish; INFO reads the
 * counts. */
#ifndef MAYFLY_CMD_PUBSUB_H
#define MAYFLY_CMD_PUBSUB_H

#include "mayfly/util/slice.h"

#include <stddef.h>

struct session;

/* Delivers msg on channel to its subscribers and to every session whose patterns match
 * it (one pmessage per matching pattern). Each frame is encoded once per protocol and
 * appended to the subscribers' output; their connections are woken. Returns the number
 * of deliveries (PUBLISH's reply). */
long long pubsub_publish(slice channel, slice msg);
/* 1 if no session subscribes to anything (notifications skip building their messages). */
int pubsub_idle(void);
/* Number of sessions with at least one subscription (the RESP2 subscribe-mode gate's
 * switch); read-only outside the pub/sub code. */
extern int pubsub_sessions;

/* Counts for INFO stats: channels and shard channels with subscribers, distinct patterns. */
size_t pubsub_channel_count(void);
size_t pubsub_pattern_count(void);
size_t pubsub_shard_channel_count(void);

/* Subscriptions of one session (CLIENT LIST sub=, psub=, ssub=). */
size_t pubsub_session_channels(const struct session *s);
size_t pubsub_session_patterns(const struct session *s);
size_t pubsub_session_shard_channels(const struct session *s);

#endif
