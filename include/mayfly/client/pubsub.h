/* pubsub: who subscribes to what, and message delivery (client/pubsub.c).
 *
 * Three kinds of topic: channels, patterns (PSUBSCRIBE) and shard channels (SSUBSCRIBE).
 * The registry knows which sessions subscribe to which topics; PUBLISH, SPUBLISH and
 * keyspace notifications (client/notify.c) deliver through pubsub_publish_to, which
 * encodes each message frame once and appends it to every subscriber's output (RESP2
 * array or RESP3 push), waking its connection. The commands (cmd/cmd_pubsub.c) write the
 * confirmations; INFO and CLIENT LIST read the counts. */
#ifndef MAYFLY_CLIENT_PUBSUB_H
#define MAYFLY_CLIENT_PUBSUB_H

#include "mayfly/client/session.h"
#include "mayfly/util/slice.h"

#include <stddef.h>

enum pubsub_kind { PUBSUB_CHANNEL, PUBSUB_PATTERN, PUBSUB_SHARD, PUBSUB_KINDS };

/* Subscribes s to name (a channel, pattern or shard channel by kind) and puts it in
 * subscribe mode (SESS_PUBSUB). Returns 1 if s was not subscribed to it yet. */
int pubsub_subscribe(session *s, int kind, slice name);
/* Unsubscribes s from name; returns 1 if it was subscribed. SESS_PUBSUB goes with the last
 * subscription. */
int pubsub_unsubscribe(session *s, int kind, slice name);
/* Unsubscribes s from every topic of kind, calling each(ctx, name) for each one once s's
 * counts no longer include it (name valid during the call; each may be NULL). Returns the
 * number of topics left. */
size_t pubsub_unsubscribe_all(session *s, int kind, void (*each)(void *ctx, slice name), void *ctx);
/* Every subscription of s goes (session end, RESET). */
void pubsub_session_free(session *s);
/* The count Redis reports in s's (un)subscribe confirmations for kind: channels plus
 * patterns, or shard channels for the shard kind. */
size_t pubsub_reply_count(const session *s, int kind);

/* Delivers msg on channel to its subscribers of kind (PUBSUB_CHANNEL or PUBSUB_SHARD) and,
 * for a channel, to every session whose patterns match it (one pmessage per pattern).
 * Returns the number of deliveries (PUBLISH's reply). */
long long pubsub_publish_to(int kind, slice channel, slice msg);
/* pubsub_publish_to(PUBSUB_CHANNEL, ...): keyspace notifications. */
long long pubsub_publish(slice channel, slice msg);
/* 1 if no session subscribes to anything (notifications skip building their messages). */
int pubsub_idle(void);
/* Number of sessions with at least one subscription (the RESP2 subscribe-mode gate's
 * switch); read-only outside client/pubsub.c. */
extern int pubsub_sessions;

/* Calls each(ctx, name) for every topic of kind with subscribers matching pattern (NULL:
 * all), in no particular order (PUBSUB CHANNELS / SHARDCHANNELS). */
void pubsub_topics(int kind, const slice *pattern, void (*each)(void *ctx, slice name), void *ctx);
/* Subscribers of one topic (PUBSUB NUMSUB / SHARDNUMSUB). */
size_t pubsub_subscribers(int kind, slice name);

/* Counts for INFO stats: channels and shard channels with subscribers, distinct patterns. */
size_t pubsub_channel_count(void);
size_t pubsub_pattern_count(void);
size_t pubsub_shard_channel_count(void);

/* Subscriptions of one session (CLIENT LIST sub=, psub=, ssub=). */
size_t pubsub_session_channels(const session *s);
size_t pubsub_session_patterns(const session *s);
size_t pubsub_session_shard_channels(const session *s);
/* Bytes s's subscription tables cost (their buckets and entries; the channel names are
 * shared, not counted: Redis's pubsubMemOverhead). */
size_t pubsub_session_memory(const session *s);
/* Calls fn(ctx, name, is_pattern) for each of s's channels, patterns and shard channels
 * until fn returns nonzero; returns that value, or 0 (ACL: channels a user may no longer
 * read). */
int pubsub_session_each(session *s, int (*fn)(void *ctx, slice name, int is_pattern), void *ctx);

#endif
