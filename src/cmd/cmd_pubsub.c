/* cmd_pubsub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH and
 * PUBSUB, with Redis's reply shapes (RESP2 arrays, RESP3 push frames). The registry of
 * subscriptions and the delivery of messages are client/pubsub.c's. */
#include "mayfly/client/pubsub.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/resp/resp.h"

#include <string.h>

static const char *const sub_verb[PUBSUB_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_verb[PUBSUB_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

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

/* ---- commands ---- */

static void subscribe_kind(cmd_ctx *c, int kind) {
    for (int i = 1; i < c->argc; i++) {
        pubsub_subscribe(c->s, kind, c->argv[i]);
        reply_confirm(c, sub_verb[kind], c->argv[i].p, c->argv[i].len, 0,
                      pubsub_reply_count(c->s, kind));
    }
}

typedef struct leave_ctx {
    cmd_ctx *c;
    int kind;
} leave_ctx;

static void confirm_left(void *arg, slice name) {
    leave_ctx *l = arg;
    reply_confirm(l->c, unsub_verb[l->kind], name.p, name.len, 0,
                  pubsub_reply_count(l->c->s, l->kind));
}

static void unsubscribe_kind(cmd_ctx *c, int kind) {
    session *s = c->s;
    if (c->argc == 1) {
        leave_ctx l = {c, kind};
        if (pubsub_unsubscribe_all(s, kind, confirm_left, &l) == 0)
            reply_confirm(c, unsub_verb[kind], NULL, 0, 1, pubsub_reply_count(s, kind));
        return;
    }
    for (int i = 1; i < c->argc; i++) {
        pubsub_unsubscribe(s, kind, c->argv[i]);
        reply_confirm(c, unsub_verb[kind], c->argv[i].p, c->argv[i].len, 0,
                      pubsub_reply_count(s, kind));
    }
}

static void cmd_subscribe(cmd_ctx *c) {
    subscribe_kind(c, PUBSUB_CHANNEL);
}
static void cmd_psubscribe(cmd_ctx *c) {
    subscribe_kind(c, PUBSUB_PATTERN);
}
static void cmd_ssubscribe(cmd_ctx *c) {
    subscribe_kind(c, PUBSUB_SHARD);
}
static void cmd_unsubscribe(cmd_ctx *c) {
    unsubscribe_kind(c, PUBSUB_CHANNEL);
}
static void cmd_punsubscribe(cmd_ctx *c) {
    unsubscribe_kind(c, PUBSUB_PATTERN);
}
static void cmd_sunsubscribe(cmd_ctx *c) {
    unsubscribe_kind(c, PUBSUB_SHARD);
}

/* As Redis: the message goes to the replicas too (their subscribers get it). */
static void cmd_publish(cmd_ctx *c) {
    reply_int(c, pubsub_publish_to(PUBSUB_CHANNEL, c->argv[1], c->argv[2]));
    if (host.publish) host.publish(c->argv[1], c->argv[2], 0);
    propagate_repl(c, c->argc, c->argv);
}

static void cmd_spublish(cmd_ctx *c) {
    reply_int(c, pubsub_publish_to(PUBSUB_SHARD, c->argv[1], c->argv[2]));
    if (host.publish) host.publish(c->argv[1], c->argv[2], 1);
    propagate_repl(c, c->argc, c->argv);
}

typedef struct list_ctx {
    cmd_ctx *c;
    size_t n;
} list_ctx;

static void list_one(void *arg, slice name) {
    list_ctx *l = arg;
    reply_bulk(l->c, name.p, name.len);
    l->n++;
}

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active topics matching the pattern. */
static void list_topics(cmd_ctx *c, int kind) {
    if (c->argc > 3) { /* Redis's PUBSUB accepts at most one pattern */
        reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "PUBSUB HELP.",
                     (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].p);
        return;
    }
    list_ctx l = {c, 0};
    size_t mark = reply_defer(c);
    pubsub_topics(kind, c->argc >= 3 ? &c->argv[2] : NULL, list_one, &l);
    reply_defer_array(c, mark, l.n);
}

/* PUBSUB NUMSUB / SHARDNUMSUB [name ...]: name, subscriber count pairs. */
static void count_subscribers(cmd_ctx *c, int kind) {
    reply_array(c, (size_t)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        reply_bulk_slice(c, c->argv[i]);
        reply_int(c, (long long)pubsub_subscribers(kind, c->argv[i]));
    }
}

static void pubsub_channels(cmd_ctx *c) {
    list_topics(c, PUBSUB_CHANNEL);
}
static void pubsub_shardchannels(cmd_ctx *c) {
    list_topics(c, PUBSUB_SHARD);
}
static void pubsub_numsub(cmd_ctx *c) {
    count_subscribers(c, PUBSUB_CHANNEL);
}
static void pubsub_shardnumsub(cmd_ctx *c) {
    count_subscribers(c, PUBSUB_SHARD);
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
