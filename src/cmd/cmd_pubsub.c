/* cmd_pubsub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH and
 * PUBSUB, with Redis's reply shapes (RESP2 arrays, RESP3 push frames).
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
#include "cmd/pubsub_int.h"
#include "cmd/registry_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/mem.h"

#include <string.h>

enum { K_CHANNEL, K_PATTERN, K_SHARD, K_COUNT };

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

static const char *const sub_verb[K_COUNT] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_verb[K_COUNT] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

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

static const dict_type topic_type = {topic_key};
static const dict_type sub_type = {sub_key};

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

/* The count Redis reports in (un)subscribe replies: channels plus patterns, or shard
 * channels for the shard commands. */
static size_t reply_count(const session *s, int kind) {
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
        pubsub_sessions++;
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
    pubsub_sessions--;
}

/* Writes one (un)subscribe confirmation: [verb, name or nil, count]. Confirmations are
 * pushes, as Redis's CLIENT_PUSHING replies: they go to the session's out even while
 * CLIENT REPLY OFF or SKIP drops the command's reply. */
static void reply_confirm(cmd_ctx *c, const char *verb, const char *name, size_t len, int nil,
                          size_t count) {
    buf *out = &c->s->out;
    resp_w_push(out, c->proto, 3);
    resp_w_bulk_cstr(out, verb);
    if (nil)
        resp_w_null(out, c->proto);
    else
        resp_w_bulk(out, name, len);
    resp_w_int(out, (long long)count);
}

/* Replies to an unsubscribe from b (already unlinked from the session's dict) and drops it. */
static void leave_unlinked(cmd_ctx *c, session *s, sub *b, int kind) {
    if (c) reply_confirm(c, unsub_verb[kind], b->t->name, b->t->len, 0, reply_count(s, kind));
    sub_drop(b, kind);
}

/* Unsubscribes s from every topic of kind; with c, one confirmation each (or a single
 * one with a nil name when there was nothing to leave). */
static void leave_all(cmd_ctx *c, session *s, int kind) {
    size_t n = 0;
    if (s->pubsub) {
        dict_iter it;
        dict_iter_init(&it, &s->pubsub->subs[kind]);
        while (dict_iter_next(&it)) {
            sub *b = (sub *)dict_iter_delete(&it);
            leave_unlinked(c, s, b, kind);
            n++;
        }
        dict_iter_deinit(&it);
    }
    if (c && n == 0) reply_confirm(c, unsub_verb[kind], NULL, 0, 1, reply_count(s, kind));
}

static void update_mode(session *s) {
    if (total_count(s) == 0)
        s->flags &= ~SESS_PUBSUB;
    else
        s->flags |= SESS_PUBSUB;
    free_state_if_empty(s);
}

void pubsub_session_free(session *s) {
    if (!s->pubsub) return;
    for (int k = 0; k < K_COUNT; k++)
        leave_all(NULL, s, k);
    update_mode(s);
}

/* ---- delivery ---- */

/* Appends a frame built as a RESP2 array to every subscriber of t (RESP3 sessions get a
 * push: the same bytes with '>' first). Returns the number of subscribers. */
static long long deliver(const topic *t, const buf *frame) {
    for (size_t i = 0; i < t->nsubs; i++) {
        session *s = t->subs[i]->s;
        if (s->flags & SESS_CLOSE_ASAP) continue;
        buf *self = registry_self_push_buf(s);
        buf *out = self ? self : &s->out;
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

static long long publish_kind(int kind, slice channel, slice msg) {
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
    return publish_kind(K_CHANNEL, channel, msg);
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

/* ---- commands ---- */

static void subscribe_kind(cmd_ctx *c, int kind) {
    for (int i = 1; i < c->argc; i++) {
        sub_add(c->s, kind, c->argv[i]);
        c->s->flags |= SESS_PUBSUB;
        reply_confirm(c, sub_verb[kind], c->argv[i].p, c->argv[i].len, 0, reply_count(c->s, kind));
    }
}

static void unsubscribe_kind(cmd_ctx *c, int kind) {
    session *s = c->s;
    if (c->argc == 1) {
        leave_all(c, s, kind);
    } else {
        for (int i = 1; i < c->argc; i++) {
            sub *b = s->pubsub
                         ? (sub *)dict_find(&s->pubsub->subs[kind], c->argv[i].p, c->argv[i].len)
                         : NULL;
            if (b) {
                dict_unlink(&s->pubsub->subs[kind], &b->node);
                leave_unlinked(c, s, b, kind);
            } else
                reply_confirm(c, unsub_verb[kind], c->argv[i].p, c->argv[i].len, 0,
                              reply_count(s, kind));
        }
    }
    update_mode(s);
}

static void cmd_subscribe(cmd_ctx *c) {
    subscribe_kind(c, K_CHANNEL);
}
static void cmd_psubscribe(cmd_ctx *c) {
    subscribe_kind(c, K_PATTERN);
}
static void cmd_ssubscribe(cmd_ctx *c) {
    subscribe_kind(c, K_SHARD);
}
static void cmd_unsubscribe(cmd_ctx *c) {
    unsubscribe_kind(c, K_CHANNEL);
}
static void cmd_punsubscribe(cmd_ctx *c) {
    unsubscribe_kind(c, K_PATTERN);
}
static void cmd_sunsubscribe(cmd_ctx *c) {
    unsubscribe_kind(c, K_SHARD);
}

static void cmd_publish(cmd_ctx *c) {
    reply_int(c, publish_kind(K_CHANNEL, c->argv[1], c->argv[2]));
}

static void cmd_spublish(cmd_ctx *c) {
    reply_int(c, publish_kind(K_SHARD, c->argv[1], c->argv[2]));
}

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active topics matching the pattern. */
static void list_topics(cmd_ctx *c, int kind) {
    init_topics();
    if (c->argc > 3) { /* Redis's PUBSUB accepts at most one pattern */
        reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "PUBSUB HELP.",
                     (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].p);
        return;
    }
    slice pat = c->argc >= 3 ? c->argv[2] : (slice){NULL, 0};
    size_t mark = reply_defer(c), n = 0;
    dict_iter it;
    dict_iter_init(&it, &topics[kind]);
    for (topic *t; (t = (topic *)dict_iter_next(&it));) {
        if (pat.p && !glob_match(pat.p, pat.len, t->name, t->len, 0)) continue;
        reply_bulk(c, t->name, t->len);
        n++;
    }
    dict_iter_deinit(&it);
    reply_defer_array(c, mark, n);
}

/* PUBSUB NUMSUB / SHARDNUMSUB [name ...]: name, subscriber count pairs. */
static void count_subscribers(cmd_ctx *c, int kind) {
    init_topics();
    reply_array(c, (size_t)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        const topic *t = (const topic *)dict_find(&topics[kind], c->argv[i].p, c->argv[i].len);
        reply_bulk_slice(c, c->argv[i]);
        reply_int(c, t ? (long long)t->nsubs : 0);
    }
}

static void pubsub_channels(cmd_ctx *c) {
    list_topics(c, K_CHANNEL);
}
static void pubsub_shardchannels(cmd_ctx *c) {
    list_topics(c, K_SHARD);
}
static void pubsub_numsub(cmd_ctx *c) {
    count_subscribers(c, K_CHANNEL);
}
static void pubsub_shardnumsub(cmd_ctx *c) {
    count_subscribers(c, K_SHARD);
}
static void pubsub_numpat(cmd_ctx *c) {
    reply_int(c, (long long)pubsub_pattern_count());
}

static void pubsub_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

#define PS (CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define PS_INFO (CMD_PUBSUB | CMD_LOADING | CMD_STALE)
#define PS_PUB (CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MAY_REPLICATE)

static const cmd_spec pubsub_subcmds[] = {
    {"channels", pubsub_channels, -2, PS_INFO, 0, 0, 0, "pubsub", "2.8.0",
     "O(N) where N is the number of active channels, and assuming constant time pattern "
     "matching (relatively short channels and patterns)",
     "Returns the active channels.", "[pattern]", NULL, "@pubsub @slow"},
    {"numpat", pubsub_numpat, 2, PS_INFO, 0, 0, 0, "pubsub", "2.8.0", "O(1)",
     "Returns a count of unique pattern subscriptions.", "", NULL, "@pubsub @slow"},
    {"numsub", pubsub_numsub, -2, PS_INFO, 0, 0, 0, "pubsub", "2.8.0",
     "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
     "Returns a count of subscribers to channels.", "[channel [channel ...]]", NULL,
     "@pubsub @slow"},
    {"shardchannels", pubsub_shardchannels, -2, PS_INFO, 0, 0, 0, "pubsub", "7.0.0",
     "O(N) where N is the number of active shard channels, and assuming constant time "
     "pattern matching (relatively short shard channels).",
     "Returns the active shard channels.", "[pattern]", NULL, "@pubsub @slow"},
    {"shardnumsub", pubsub_shardnumsub, -2, PS_INFO, 0, 0, 0, "pubsub", "7.0.0",
     "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
     "Returns the count of subscribers of shard channels.", "[shardchannel [shardchannel ...]]",
     NULL, "@pubsub @slow"},
    {"help", pubsub_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub", "6.2.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@pubsub @slow"},
    {0},
};

const cmd_spec cmd_family_pubsub[] = {
    {"subscribe", cmd_subscribe, -2, PS, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of channels to subscribe to.",
     "Listens for messages published to channels.", "channel [channel ...]", NULL, "@pubsub @slow"},
    {"unsubscribe", cmd_unsubscribe, -1, PS, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of channels to unsubscribe.",
     "Stops listening to messages posted to channels.", "[channel [channel ...]]", NULL,
     "@pubsub @slow"},
    {"psubscribe", cmd_psubscribe, -2, PS, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of patterns to subscribe to.",
     "Listens for messages published to channels that match one or more patterns.",
     "pattern [pattern ...]", NULL, "@pubsub @slow"},
    {"punsubscribe", cmd_punsubscribe, -1, PS, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of patterns to unsubscribe.",
     "Stops listening to messages published to channels that match one or more patterns.",
     "[pattern [pattern ...]]", NULL, "@pubsub @slow"},
    {"ssubscribe", cmd_ssubscribe, -2, PS, 1, -1, 1, "pubsub", "7.0.0",
     "O(N) where N is the number of shard channels to subscribe to.",
     "Listens for messages published to shard channels.", "shardchannel [shardchannel ...]", NULL,
     "@pubsub @slow", KS_NOT_KEY},
    {"sunsubscribe", cmd_sunsubscribe, -1, PS, 1, -1, 1, "pubsub", "7.0.0",
     "O(N) where N is the number of shard channels to unsubscribe.",
     "Stops listening to messages posted to shard channels.", "[shardchannel [shardchannel ...]]",
     NULL, "@pubsub @slow", KS_NOT_KEY},
    {"publish", cmd_publish, 3, PS_PUB, 0, 0, 0, "pubsub", "2.0.0",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is "
     "the total number of subscribed patterns (by any client).",
     "Posts a message to a channel.", "channel message", NULL, "@pubsub @fast"},
    {"spublish", cmd_spublish, 3, PS_PUB, 1, 1, 1, "pubsub", "7.0.0",
     "O(N) where N is the number of clients subscribed to the receiving shard channel.",
     "Post a message to a shard channel", "shardchannel message", NULL, "@pubsub @fast",
     KS_NOT_KEY},
    {"pubsub", NULL, -2, 0, 0, 0, 0, "pubsub", "2.8.0", "Depends on subcommand.",
     "A container for Pub/Sub commands.", "", pubsub_subcmds, "@slow"},
    {0},
};
