/* pubsub: the channel, pattern and shard-channel registry and message delivery; see
 * pubsub.h.
 *
 * Three kinds of topic: channels, patterns and shard channels. Each kind has a global
 * dict of topics; a topic holds an array of its subscriptions. Each session has, per
 * kind, a dict of its own subscriptions keyed by topic name. A subscription knows its
 * index in the topic's array, so leaving a topic is O(1) (swap with the last):
 *
 *     topics[CHANNEL] ─▶ topic "news" ─ subs[] ─▶ [sub s1] [sub s7] [sub s3]
 *                                                     ▲
 *     s7->pubsub->subs[CHANNEL] ─▶ sub "news" ────────┘ (topic, session, idx)
 *
 * Publishing encodes a message frame once, appends the same bytes to each subscriber's
 * output and wakes its connection (net/ applies client-output-buffer-limit there).
 * RESP2 and RESP3 frames differ only in their first byte ('*' or '>'), so one encoding
 * serves both. A topic is freed when its last subscriber leaves. */
#include "mayfly/client/pubsub.h"

#include "mayfly/resp/resp.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/mem.h"

#include <string.h>

enum {
    K_CHANNEL = PUBSUB_CHANNEL,
    K_PATTERN = PUBSUB_PATTERN,
    K_SHARD = PUBSUB_SHARD,
    K_COUNT = PUBSUB_KINDS
};

typedef struct topic {
    dict_node node;    /* in topics[kind] */
    struct sub **subs; /* subscriptions, in no particular order */
    size_t nsubs, cap;
    size_t len;  /* name length */
    char name[]; /* name bytes (not NUL-terminated) */
} topic;

typedef struct sub {
    dict_node node; /* in the session's subs[kind], keyed by the topic's name */
    topic *t;
    session *s;
    size_t idx; /* position in t->subs */
} sub;

struct pubsub_state {
    dict subs[K_COUNT]; /* this session's subscriptions per kind */
};

static void topic_key(const dict_node *n, const char **key, size_t *len) {
    const topic *t = (const topic *)n;
    *key = t->name;
    *len = t->len;
}

static void sub_key(const dict_node *n, const char **key, size_t *len) {
    const sub *b = (const sub *)n;
    *key = b->t->name;
    *len = b->t->len;
}

static const dict_type topic_type = {.key_of = topic_key};
static const dict_type sub_type = {.key_of = sub_key};

static dict topics[K_COUNT];
static int topics_ready;
int pubsub_sessions; /* sessions with a pubsub_state */

static void init_topics(void) {
    if (topics_ready) return;
    for (int k = 0; k < K_COUNT; k++)
        dict_init(&topics[k], &topic_type);
    topics_ready = 1;
}

static size_t count_of(const session *s, int kind) {
    return s->pubsub ? dict_size(&s->pubsub->subs[kind]) : 0;
}

size_t pubsub_reply_count(const session *s, int kind) {
    if (kind == K_SHARD) return count_of(s, K_SHARD);
    return count_of(s, K_CHANNEL) + count_of(s, K_PATTERN);
}

static size_t total_count(const session *s) {
    return count_of(s, K_CHANNEL) + count_of(s, K_PATTERN) + count_of(s, K_SHARD);
}

static struct pubsub_state *state_of(session *s) {
    if (!s->pubsub) {
        s->pubsub = mem_calloc(1, sizeof(*s->pubsub));
        for (int k = 0; k < K_COUNT; k++)
            dict_init(&s->pubsub->subs[k], &sub_type);
        armed_set(&pubsub_sessions, pubsub_sessions + 1);
    }
    return s->pubsub;
}

/* Subscribes s to name; returns 1 if it was not subscribed yet. */
static int sub_add(session *s, int kind, slice name) {
    init_topics();
    struct pubsub_state *st = state_of(s);
    if (dict_find(&st->subs[kind], name.p, name.len)) return 0;
    topic *t = (topic *)dict_find(&topics[kind], name.p, name.len);
    if (!t) {
        t = mem_calloc(1, sizeof(topic) + name.len);
        t->len = name.len;
        if (name.len) memcpy(t->name, name.p, name.len);
        dict_add(&topics[kind], &t->node);
    }
    if (t->nsubs == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4;
        t->subs = mem_realloc(t->subs, t->cap * sizeof(sub *));
    }
    sub *b = mem_alloc(sizeof(*b));
    b->node.next = NULL;
    b->t = t;
    b->s = s;
    b->idx = t->nsubs;
    t->subs[t->nsubs++] = b;
    dict_add(&st->subs[kind], &b->node);
    return 1;
}

/* Removes subscription b (already unlinked from its session's dict) from its topic, and
 * frees the topic if b was its last subscriber. */
static void sub_drop(sub *b, int kind) {
    topic *t = b->t;
    sub *last = t->subs[--t->nsubs];
    t->subs[b->idx] = last;
    last->idx = b->idx;
    mem_free(b);
    if (t->nsubs == 0) {
        dict_unlink(&topics[kind], &t->node);
        mem_free(t->subs);
        mem_free(t);
    }
}

static void free_state_if_empty(session *s) {
    if (!s->pubsub || total_count(s) != 0) return;
    for (int k = 0; k < K_COUNT; k++)
        dict_deinit(&s->pubsub->subs[k]);
    mem_free(s->pubsub);
    s->pubsub = NULL;
    armed_set(&pubsub_sessions, pubsub_sessions - 1);
}

static void update_mode(session *s) {
    if (total_count(s) == 0)
        s->flags &= ~SESS_PUBSUB;
    else
        s->flags |= SESS_PUBSUB;
    free_state_if_empty(s);
}

int pubsub_subscribe(session *s, int kind, slice name) {
    int added = sub_add(s, kind, name);
    s->flags |= SESS_PUBSUB;
    return added;
}

int pubsub_unsubscribe(session *s, int kind, slice name) {
    sub *b = s->pubsub ? (sub *)dict_find(&s->pubsub->subs[kind], name.p, name.len) : NULL;
    if (!b) return 0;
    dict_unlink(&s->pubsub->subs[kind], &b->node);
    sub_drop(b, kind);
    update_mode(s);
    return 1;
}

size_t pubsub_unsubscribe_all(session *s, int kind, void (*each)(void *ctx, slice name),
                              void *ctx) {
    size_t n = 0;
    if (!s->pubsub) return 0;
    dict_iter it;
    dict_iter_init(&it, &s->pubsub->subs[kind]);
    while (dict_iter_next(&it)) {
        sub *b = (sub *)dict_iter_delete(&it);
        /* Unlinked from the session (its counts are down), the topic not yet freed. */
        if (each) each(ctx, (slice){b->t->name, b->t->len});
        sub_drop(b, kind);
        n++;
    }
    dict_iter_deinit(&it);
    update_mode(s);
    return n;
}

void pubsub_session_free(session *s) {
    for (int k = 0; k < K_COUNT && s->pubsub; k++)
        pubsub_unsubscribe_all(s, k, NULL, NULL);
}

/* ---- delivery ---- */

/* Appends a frame built as a RESP2 array to every subscriber of t (RESP3 sessions get a
 * push: the same bytes with '>' first). Returns the number of subscribers. */
static long long deliver(const topic *t, const buf *frame) {
    for (size_t i = 0; i < t->nsubs; i++) {
        session *s = t->subs[i]->s;
        if (s->flags & SESS_CLOSE_ASAP) continue;
        buf *out = session_push_out(s);
        if (s->proto == 3) {
            buf_putc(out, '>');
            buf_append(out, frame->data + 1, frame->len - 1);
        } else {
            buf_append(out, frame->data, frame->len);
        }
        if (s->ops && s->ops->wake) s->ops->wake(s);
    }
    return (long long)t->nsubs;
}

long long pubsub_publish_to(int kind, slice channel, slice msg) {
    init_topics();
    long long receivers = 0;
    buf frame;
    buf_init(&frame);
    topic *t = (topic *)dict_find(&topics[kind], channel.p, channel.len);
    if (t) {
        resp_w_array(&frame, 3);
        resp_w_bulk_cstr(&frame, kind == K_SHARD ? "smessage" : "message");
        resp_w_bulk(&frame, channel.p, channel.len);
        resp_w_bulk(&frame, msg.p, msg.len);
        receivers += deliver(t, &frame);
    }
    if (kind == K_CHANNEL && dict_size(&topics[K_PATTERN]) > 0) {
        dict_iter it;
        dict_iter_init(&it, &topics[K_PATTERN]);
        for (topic *p; (p = (topic *)dict_iter_next(&it));) {
            if (!glob_match(p->name, p->len, channel.p, channel.len, 0)) continue;
            buf_clear(&frame);
            resp_w_array(&frame, 4);
            resp_w_bulk_cstr(&frame, "pmessage");
            resp_w_bulk(&frame, p->name, p->len);
            resp_w_bulk(&frame, channel.p, channel.len);
            resp_w_bulk(&frame, msg.p, msg.len);
            receivers += deliver(p, &frame);
        }
        dict_iter_deinit(&it);
    }
    buf_deinit(&frame);
    return receivers;
}

long long pubsub_publish(slice channel, slice msg) {
    return pubsub_publish_to(K_CHANNEL, channel, msg);
}

int pubsub_idle(void) {
    return pubsub_sessions == 0;
}

size_t pubsub_channel_count(void) {
    return topics_ready ? dict_size(&topics[K_CHANNEL]) : 0;
}
size_t pubsub_pattern_count(void) {
    return topics_ready ? dict_size(&topics[K_PATTERN]) : 0;
}
size_t pubsub_shard_channel_count(void) {
    return topics_ready ? dict_size(&topics[K_SHARD]) : 0;
}
size_t pubsub_session_channels(const session *s) {
    return count_of(s, K_CHANNEL);
}
size_t pubsub_session_patterns(const session *s) {
    return count_of(s, K_PATTERN);
}
size_t pubsub_session_shard_channels(const session *s) {
    return count_of(s, K_SHARD);
}

size_t pubsub_session_memory(const session *s) {
    if (!s->pubsub) return 0;
    size_t n = sizeof(*s->pubsub);
    for (int k = 0; k < K_COUNT; k++)
        n += dict_buckets_memory(&s->pubsub->subs[k]) + count_of(s, k) * sizeof(sub);
    return n;
}

int pubsub_session_each(session *s, int (*fn)(void *ctx, slice name, int is_pattern), void *ctx) {
    if (!s->pubsub) return 0;
    int rc = 0;
    for (int k = 0; k < K_COUNT && !rc; k++) {
        dict_iter it;
        dict_iter_init(&it, &s->pubsub->subs[k]);
        for (dict_node *n; !rc && (n = dict_iter_next(&it));) {
            const sub *b = (const sub *)n;
            rc = fn(ctx, (slice){b->t->name, b->t->len}, k == K_PATTERN);
        }
        dict_iter_deinit(&it);
    }
    return rc;
}

void pubsub_topics(int kind, const slice *pattern, void (*each)(void *ctx, slice name), void *ctx) {
    init_topics();
    dict_iter it;
    dict_iter_init(&it, &topics[kind]);
    for (topic *t; (t = (topic *)dict_iter_next(&it));) {
        if (pattern && !glob_match(pattern->p, pattern->len, t->name, t->len, 0)) continue;
        each(ctx, (slice){t->name, t->len});
    }
    dict_iter_deinit(&it);
}

size_t pubsub_subscribers(int kind, slice name) {
    init_topics();
    const topic *t = (const topic *)dict_find(&topics[kind], name.p, name.len);
    return t ? t->nsubs : 0;
}
