/* Unit tests for acl/: rules and their descriptions, selectors, passwords, checks, the log,
 * the ACL file and `user` config lines. Expected texts are Redis 7.2+'s (tests/unit/acl.tcl
 * and acl-v2.tcl in the Redis repository), on a small catalog registered here. */
#include "mayfly/acl/acl.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/mem.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int id_get, id_set, id_mget, id_hget, id_hset, id_config, id_config_get, id_config_set,
    id_client, id_client_id, id_client_kill, id_select, id_debug, id_publish, id_subscribe,
    id_psubscribe, id_auth, id_ping, id_exists;

static void catalog(void) {
    acl_commands_reset();
    const unsigned K = ACL_CMD_HAS_KEYS, C = ACL_CMD_HAS_CHANNELS;
    id_get = acl_command_add("get", -1, "@read @string @fast", K);
    id_set = acl_command_add("set", -1, "@write @string @slow", K);
    id_mget = acl_command_add("mget", -1, "@read @string @fast", K);
    id_hget = acl_command_add("hget", -1, "@read @hash @fast", K);
    id_hset = acl_command_add("hset", -1, "@write @hash @fast", K);
    id_config = acl_command_add("config", -1, "@slow", 0);
    id_config_get = acl_command_add("get", id_config, "@admin @slow @dangerous", 0);
    id_config_set = acl_command_add("set", id_config, "@admin @slow @dangerous", 0);
    id_client = acl_command_add("client", -1, "@slow", 0);
    id_client_id = acl_command_add("id", id_client, "@slow @connection", 0);
    id_client_kill = acl_command_add("kill", id_client, "@admin @slow @dangerous @connection", 0);
    id_select = acl_command_add("select", -1, "@fast @connection", 0);
    id_debug = acl_command_add("debug", -1, "@admin @slow @dangerous", 0);
    id_publish = acl_command_add("publish", -1, "@pubsub @fast", C);
    id_subscribe = acl_command_add("subscribe", -1, "@pubsub @slow", C);
    id_psubscribe = acl_command_add("psubscribe", -1, "@pubsub @slow", C);
    id_auth = acl_command_add("auth", -1, "@fast @connection", ACL_CMD_NO_AUTH);
    id_ping = acl_command_add("ping", -1, "@fast @connection", 0);
    id_exists = acl_command_add("exists", -1, "@keyspace @read @fast", K);
    acl_set_pubsub_default(0);
    acl_init();
}

/* Runs ACL SETUSER name with the space-separated rules; returns 0 or -1 (error in *err
 * when err is not NULL). */
static int setuser(const char *name, const char *rules, char **err) {
    slice ops[64];
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", rules);
    int n = 0;
    for (char *t = strtok(copy, " "); t && n < 64; t = strtok(NULL, " "))
        ops[n++] = slice_of(t);
    char *e = NULL;
    int rc = acl_setuser(slice_of(name), n, ops, &e);
    if (err)
        *err = e;
    else
        mem_free(e);
    return rc;
}

static acl_user *user(const char *name) {
    return acl_user_find(slice_of(name));
}

/* The commands field of ACL GETUSER for the root selector. */
static const char *commands_of(const char *name) {
    static char out[512];
    buf c, k, ch;
    buf_init(&c);
    buf_init(&k);
    buf_init(&ch);
    acl_selector_describe(user(name), 0, &c, &k, &ch);
    snprintf(out, sizeof(out), "%.*s", (int)c.len, c.data ? c.data : "");
    buf_deinit(&c);
    buf_deinit(&k);
    buf_deinit(&ch);
    return out;
}

static const char *keys_of(const char *name, size_t sel) {
    static char out[512];
    buf c, k, ch;
    buf_init(&c);
    buf_init(&k);
    buf_init(&ch);
    acl_selector_describe(user(name), sel, &c, &k, &ch);
    snprintf(out, sizeof(out), "%.*s", (int)k.len, k.data ? k.data : "");
    buf_deinit(&c);
    buf_deinit(&k);
    buf_deinit(&ch);
    return out;
}

static const char *describe(const char *name) {
    static char out[1024];
    buf b;
    buf_init(&b);
    acl_user_describe(user(name), &b);
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data ? b.data : "");
    buf_deinit(&b);
    return out;
}

/* acl_check with keys at every argument from 1 (flags per key) or channels. */
typedef struct refs_ctx {
    int first, last;
    unsigned flags;
} refs_ctx;

static int refs_fn(void *ctx, acl_ref *out, int cap) {
    refs_ctx *r = ctx;
    int n = 0;
    for (int i = r->first; i <= r->last; i++, n++)
        if (n < cap) out[n] = (acl_ref){i, r->flags};
    return n;
}

static int check(const char *name, int id, const char *args, unsigned flags, int *pos) {
    slice argv[32];
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", args);
    int argc = 0;
    for (char *t = strtok(copy, " "); t && argc < 32; t = strtok(NULL, " "))
        argv[argc++] = slice_of(t);
    refs_ctx r = {1, argc - 1, flags};
    int p = 0;
    int rc = acl_check(user(name), id, argc, argv, refs_fn, &r, &p);
    if (pos) *pos = p;
    return rc;
}

TEST(default_user) {
    catalog();
    ASSERT_STR_EQ("on nopass sanitize-payload ~* &* +@all", describe("default"));
    ASSERT(acl_user_unrestricted(acl_default_user()));
    ASSERT_EQ(1, acl_user_count());
    ASSERT_EQ(0, acl_restricted_users); /* the ACL gate's switch is off */
    ASSERT_EQ(0, setuser("r", "on nopass", NULL));
    ASSERT_EQ(1, acl_restricted_users);
    ASSERT_EQ(0, setuser("r", "+@all ~* &*", NULL));
    ASSERT_EQ(0, acl_restricted_users);
    ASSERT_EQ(0, setuser("default", "-get", NULL));
    ASSERT_EQ(1, acl_restricted_users);
    ASSERT(acl_authenticate(slice_of("default"), slice_of("anything")) != NULL);
}

TEST(new_user_and_passwords) {
    catalog();
    ASSERT_EQ(0, setuser("newuser", "", NULL));
    ASSERT_STR_EQ("off sanitize-payload resetchannels -@all", describe("newuser"));
    ASSERT_EQ(0, setuser("newuser", ">passwd1", NULL));
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("passwd1")) == NULL); /* off */
    ASSERT_EQ(0, setuser("newuser", "on >passwd2", NULL));
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("passwd1")) != NULL);
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("passwd2")) != NULL);
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("passwd3")) == NULL);
    ASSERT(acl_authenticate(slice_of("nobody"), slice_of("passwd1")) == NULL);
    ASSERT_EQ(0, setuser("newuser", "<passwd1", NULL));
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("passwd1")) == NULL);
    char *err;
    ASSERT_EQ(-1, setuser("newuser", "<passwd1", &err));
    ASSERT_STR_EQ("Error in ACL SETUSER modifier '<passwd1': The password you are trying to "
                  "remove from the user does not exist",
                  err);
    mem_free(err);
    /* The hash of "passwd4", from Redis's test. */
    const char *h = "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6";
    char rule[80];
    snprintf(rule, sizeof(rule), "#%s", h);
    ASSERT_EQ(0, setuser("newuser", rule, NULL));
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("passwd4")) != NULL);
    ASSERT_EQ(2, acl_user_password_count(user("newuser")));
    ASSERT_STR_EQ(h, acl_user_password(user("newuser"), 1));
    ASSERT_EQ(-1,
              setuser("newuser", "#34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e",
                      &err));
    ASSERT(strstr(err, "must be exactly 64 characters") != NULL);
    mem_free(err);
    ASSERT_EQ(-1,
              setuser("newuser",
                      "#34344E4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6", &err));
    mem_free(err);
    snprintf(rule, sizeof(rule), "!%s", h);
    ASSERT_EQ(0, setuser("newuser", rule, NULL));
    ASSERT_EQ(1, acl_user_password_count(user("newuser")));
    ASSERT_EQ(0, setuser("newuser", "nopass", NULL));
    ASSERT_EQ(0, acl_user_password_count(user("newuser")));
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("zipzap")) != NULL);
    ASSERT_EQ(0, setuser("newuser", "resetpass", NULL));
    ASSERT(acl_authenticate(slice_of("newuser"), slice_of("zipzap")) == NULL);
}

TEST(usernames_and_atomicity) {
    catalog();
    char *err;
    ASSERT_EQ(-1, setuser("a a", "", &err));
    ASSERT_STR_EQ("Usernames can't contain spaces or null characters", err);
    mem_free(err);
    ASSERT_EQ(0, setuser("u", "on +get ~k", NULL));
    ASSERT_EQ(-1, setuser("u", "+set ~z +nosuchcmd", &err));
    ASSERT_STR_EQ("Error in ACL SETUSER modifier '+nosuchcmd': Unknown command or category "
                  "name in ACL",
                  err);
    mem_free(err);
    ASSERT_STR_EQ("on sanitize-payload ~k resetchannels -@all +get", describe("u"));
    ASSERT_EQ(-1, setuser("v", "on bogus", &err));
    ASSERT_STR_EQ("Error in ACL SETUSER modifier 'bogus': Syntax error", err);
    mem_free(err);
    ASSERT(user("v") == NULL);
}

/* The retained-rule compaction of Redis 7.2+ ("ACL GETUSER provides correct results"). */
TEST(command_rules_text) {
    catalog();
    setuser("t", "+@all -@hash -@slow +hget", NULL);
    ASSERT_STR_EQ("+@all -@hash -@slow +hget", commands_of("t"));
    setuser("t", "-@hash", NULL);
    ASSERT_STR_EQ("+@all -@slow +hget -@hash", commands_of("t"));
    setuser("t", "+@hash", NULL);
    ASSERT_STR_EQ("+@all -@slow +hget +@hash", commands_of("t"));
    setuser("t", "-@all", NULL);
    ASSERT_STR_EQ("-@all", commands_of("t"));
    setuser("t", "-@string -@slow +@all", NULL);
    ASSERT_STR_EQ("+@all", commands_of("t"));
    setuser("t", "-@all +@HASH +@hash +@HaSh", NULL);
    ASSERT_STR_EQ("-@all +@hash", commands_of("t"));
    setuser("t", "-@all +HGET +hget +hGeT", NULL);
    ASSERT_STR_EQ("-@all +hget", commands_of("t"));
    setuser("t", "-@all +hget -hset +hset -hget", NULL);
    ASSERT_STR_EQ("-@all +hset -hget", commands_of("t"));
    setuser("t", "-@all +client|id +client|id +config|get +config", NULL);
    ASSERT_STR_EQ("-@all +client|id +config", commands_of("t"));
    setuser("t", "-@all +select|0 +select|0 +debug|segfault +debug", NULL);
    ASSERT_STR_EQ("-@all +select|0 +debug", commands_of("t"));
    setuser("t", "-@all -@dangerous", NULL);
    ASSERT_STR_EQ("-@all -@dangerous", commands_of("t"));
    setuser("t", "-@all +config +config|get -config|set +config", NULL);
    ASSERT_STR_EQ("-@all +config", commands_of("t"));
    setuser("t", "+@all -client|kill", NULL);
    ASSERT_STR_EQ("+@all -client|kill", commands_of("t"));
}

TEST(command_rules_effect) {
    catalog();
    setuser("t", "on nopass allkeys -@all +@slow", NULL);
    /* The CLIENT container is @slow, so +@slow takes every CLIENT subcommand. */
    ASSERT_EQ(ACL_OK, check("t", id_client_id, "client id", 0, NULL));
    ASSERT_EQ(ACL_DENIED_CMD, check("t", id_get, "get k", 0, NULL));
    setuser("t", "-@all +@fast", NULL);
    ASSERT_EQ(ACL_DENIED_CMD, check("t", id_client_id, "client id", 0, NULL));
    ASSERT_EQ(ACL_OK, check("t", id_get, "get k", ACL_REF_READ, NULL));
    /* NO_AUTH commands are always allowed. */
    setuser("t", "nocommands", NULL);
    ASSERT_EQ(ACL_OK, check("t", id_auth, "auth x", 0, NULL));
    /* Subcommands. */
    setuser("t", "-@all +config -config|set", NULL);
    ASSERT_EQ(ACL_OK, check("t", id_config_get, "config get x", 0, NULL));
    ASSERT_EQ(ACL_DENIED_CMD, check("t", id_config_set, "config set x y", 0, NULL));
    /* First-arg of a plain command. */
    setuser("t", "-@all +select|0", NULL);
    ASSERT_EQ(ACL_OK, check("t", id_select, "select 0", 0, NULL));
    ASSERT_EQ(ACL_DENIED_CMD, check("t", id_select, "select 1", 0, NULL));
    setuser("t", "+select", NULL);
    ASSERT_EQ(ACL_OK, check("t", id_select, "select 1", 0, NULL));
    char *err;
    ASSERT_EQ(-1, setuser("t", "+config|get|appendonly", &err));
    ASSERT(strstr(err, "Allowing first-arg of a subcommand is not supported") != NULL);
    mem_free(err);
    ASSERT_EQ(-1, setuser("t", "+config|asdf", &err));
    ASSERT(strstr(err, "Unknown command or category name in ACL") != NULL);
    mem_free(err);
    ASSERT_EQ(-1, setuser("t", "-config|asdf", &err));
    mem_free(err);
    ASSERT_EQ(-1, setuser("t", "+get|key1|key2", &err));
    ASSERT(strstr(err, "Unknown command or category name in ACL") != NULL);
    mem_free(err);
    ASSERT_EQ(-1, setuser("t", "-select|0", &err));
    mem_free(err);
    ASSERT_EQ(-1, setuser("t", "+debug|", &err));
    ASSERT(strstr(err, "Syntax error") != NULL);
    mem_free(err);
    ASSERT_EQ(-1, setuser("t", "+@nosuch", &err));
    mem_free(err);
}

TEST(key_patterns) {
    catalog();
    setuser("k", "on nopass +@all %R~read* %W~write* %RW~rw* ~both", NULL);
    ASSERT_STR_EQ("%R~read* %W~write* ~rw* ~both", keys_of("k", 0));
    ASSERT_EQ(ACL_OK, check("k", id_get, "get readx", ACL_REF_READ, NULL));
    ASSERT_EQ(ACL_DENIED_KEY, check("k", id_get, "get writex", ACL_REF_READ, NULL));
    ASSERT_EQ(ACL_OK, check("k", id_set, "set writex", ACL_REF_WRITE, NULL));
    ASSERT_EQ(ACL_DENIED_KEY, check("k", id_set, "set readx", ACL_REF_WRITE, NULL));
    ASSERT_EQ(ACL_DENIED_KEY,
              check("k", id_set, "set rw1 writex", ACL_REF_READ | ACL_REF_WRITE, NULL));
    /* A key that needs no access flag (EXISTS) matches any pattern. */
    ASSERT_EQ(ACL_OK, check("k", id_exists, "exists writex", 0, NULL));
    ASSERT_EQ(ACL_OK, check("k", id_exists, "exists readx", 0, NULL));
    ASSERT_EQ(ACL_DENIED_KEY, check("k", id_exists, "exists nothing", 0, NULL));
    /* R then W on the same pattern is the same as ~. */
    setuser("rw", "%R~foo %W~foo %RW~bar", NULL);
    ASSERT_STR_EQ("~foo ~bar", keys_of("rw", 0));
    char *err;
    ASSERT_EQ(-1, setuser("rw", "%X~a", &err));
    ASSERT(strstr(err, "Syntax error") != NULL);
    mem_free(err);
    ASSERT_EQ(-1, setuser("rw", "%RR~a", &err));
    mem_free(err);
    ASSERT_EQ(-1, setuser("rw", "%", &err));
    mem_free(err);
    ASSERT_EQ(-1, setuser("rw", "%~x", &err));
    mem_free(err);
    ASSERT_EQ(0, setuser("rw", "%RW", NULL)); /* accepted by Redis: an empty pattern */
    ASSERT_STR_EQ("~foo ~bar ~", keys_of("rw", 0));
    ASSERT_EQ(0, setuser("rw", "allkeys", NULL));
    ASSERT_EQ(-1, setuser("rw", "~foo", &err));
    ASSERT(strstr(err, "Try 'resetkeys'") != NULL);
    mem_free(err);
    ASSERT_EQ(0, setuser("rw", "resetkeys ~foo", NULL));
    ASSERT_STR_EQ("~foo", keys_of("rw", 0));
}

TEST(channels) {
    catalog();
    setuser("p", "on nopass +@all allkeys resetchannels &foo:1 &bar:*", NULL);
    ASSERT_EQ(ACL_OK, check("p", id_publish, "publish foo:1", ACL_REF_CHANNEL, NULL));
    ASSERT_EQ(ACL_OK, check("p", id_publish, "publish bar:2", ACL_REF_CHANNEL, NULL));
    int pos;
    ASSERT_EQ(ACL_DENIED_CHANNEL,
              check("p", id_subscribe, "subscribe foo:1 zap:3", ACL_REF_CHANNEL, &pos));
    ASSERT_EQ(2, pos);
    /* A PSUBSCRIBE pattern must equal an ACL pattern literally. */
    ASSERT_EQ(ACL_OK, check("p", id_psubscribe, "psubscribe bar:*",
                            ACL_REF_CHANNEL | ACL_REF_PATTERN, NULL));
    ASSERT_EQ(ACL_DENIED_CHANNEL, check("p", id_psubscribe, "psubscribe bar:baz",
                                        ACL_REF_CHANNEL | ACL_REF_PATTERN, NULL));
    ASSERT_EQ(ACL_OK, acl_check_channel(user("p"), slice_of("bar:x"), 0));
    ASSERT_EQ(ACL_DENIED_CHANNEL, acl_check_channel(user("p"), slice_of("bar:x"), 1));
    ASSERT_STR_EQ("on nopass sanitize-payload ~* resetchannels &foo:1 &bar:* +@all", describe("p"));
    char *err;
    setuser("p", "allchannels", NULL);
    ASSERT_EQ(-1, setuser("p", "&x", &err));
    ASSERT(strstr(err, "Try 'resetchannels'") != NULL);
    mem_free(err);
    /* acl-pubsub-default allchannels applies to users created afterwards. */
    acl_set_pubsub_default(1);
    setuser("q", "", NULL);
    ASSERT_STR_EQ("off sanitize-payload &* -@all", describe("q"));
    acl_set_pubsub_default(0);
    setuser("q", "reset", NULL);
    ASSERT_STR_EQ("off sanitize-payload resetchannels -@all", describe("q"));
}

TEST(selectors) {
    catalog();
    ASSERT_EQ(
        0, setuser("s", "on nopass -@all resetkeys (+@write ~write::*) (+@read ~read::*)", NULL));
    ASSERT_EQ(3, acl_user_selector_count(user("s")));
    ASSERT_EQ(ACL_DENIED_CMD, check("s", id_ping, "ping", 0, NULL));
    ASSERT_EQ(ACL_OK, check("s", id_set, "set write::foo", ACL_REF_WRITE, NULL));
    ASSERT_EQ(ACL_OK, check("s", id_get, "get read::foo", ACL_REF_READ, NULL));
    ASSERT_EQ(ACL_DENIED_KEY, check("s", id_get, "get write::foo", ACL_REF_READ, NULL));
    ASSERT_EQ(ACL_DENIED_KEY, check("s", id_set, "set read::foo", ACL_REF_WRITE, NULL));
    ASSERT_STR_EQ("on nopass sanitize-payload resetchannels -@all (~write::* resetchannels "
                  "-@all +@write) (~read::* resetchannels -@all +@read)",
                  describe("s"));
    /* The most specific, latest denial is reported. */
    setuser("m", "on nopass +mget ~key (+mget ~key ~otherkey)", NULL);
    int pos;
    ASSERT_EQ(ACL_DENIED_CMD, check("m", id_get, "get key", ACL_REF_READ, &pos));
    ASSERT_EQ(ACL_DENIED_KEY,
              check("m", id_mget, "mget otherkey someotherkey", ACL_REF_READ, &pos));
    ASSERT_EQ(2, pos);
    ASSERT_EQ(ACL_DENIED_KEY,
              check("m", id_mget, "mget key otherkey someotherkey", ACL_REF_READ, &pos));
    ASSERT_EQ(3, pos);
    /* Flexible definitions and errors. */
    slice ops[] = {slice_of("(~key1 +get )"), slice_of("( ~key2 +get )"), slice_of("( ~key3 +get)"),
                   slice_of("(~key4"),        slice_of("+get)"),          slice_of("()")};
    char *err = NULL;
    ASSERT_EQ(0, acl_setuser(slice_of("flex"), 6, ops, &err));
    ASSERT_EQ(6, acl_user_selector_count(user("flex")));
    ASSERT_STR_EQ("~key1", keys_of("flex", 1));
    ASSERT_STR_EQ("~key4", keys_of("flex", 4));
    ASSERT_STR_EQ("", keys_of("flex", 5));
    slice bad1[] = {slice_of("on"), slice_of("(+PING"), slice_of("(+SELECT"), slice_of("(+DEL")};
    ASSERT_EQ(-1, acl_setuser(slice_of("x"), 4, bad1, &err));
    ASSERT_STR_EQ("Unmatched parenthesis in acl selector starting at '(+PING'.", err);
    mem_free(err);
    slice bad2[] = {slice_of(" () ")};
    ASSERT_EQ(-1, acl_setuser(slice_of("x"), 1, bad2, &err));
    ASSERT(strstr(err, "Syntax error") != NULL);
    mem_free(err);
    slice bad3[] = {slice_of("(this-is-invalid)")};
    ASSERT_EQ(-1, acl_setuser(slice_of("x"), 1, bad3, &err));
    ASSERT_STR_EQ("Error in ACL SETUSER modifier '(this-is-invalid)': Syntax error", err);
    mem_free(err);
    ASSERT(user("x") == NULL);
    setuser("flex", "clearselectors", NULL);
    ASSERT_EQ(1, acl_user_selector_count(user("flex")));
}

TEST(unlink_and_listing) {
    catalog();
    setuser("zed", "", NULL);
    setuser("alice", "", NULL);
    setuser("bob", "", NULL);
    ASSERT_EQ(4, acl_user_count());
    ASSERT_STR_EQ("alice", acl_user_name(acl_user_at(0)));
    ASSERT_STR_EQ("bob", acl_user_name(acl_user_at(1)));
    ASSERT_STR_EQ("default", acl_user_name(acl_user_at(2)));
    ASSERT_STR_EQ("zed", acl_user_name(acl_user_at(3)));
    ASSERT(acl_user_unlink(slice_of("default")) == NULL);
    acl_user *b = acl_user_unlink(slice_of("bob"));
    ASSERT(b != NULL);
    acl_user_free(b);
    ASSERT_EQ(3, acl_user_count());
    ASSERT(acl_user_unlink(slice_of("bob")) == NULL);
}

TEST(requirepass) {
    catalog();
    acl_set_default_password("s3cret", 6);
    ASSERT(acl_authenticate(slice_of("default"), slice_of("s3cret")) != NULL);
    ASSERT(acl_authenticate(slice_of("default"), slice_of("nope")) == NULL);
    ASSERT(!acl_user_nopass(acl_default_user()));
    acl_set_default_password(NULL, 0);
    ASSERT(acl_user_nopass(acl_default_user()));
    ASSERT_STR_EQ("on nopass sanitize-payload ~* &* +@all", describe("default"));
}

TEST(denial_messages) {
    catalog();
    setuser("d", "on", NULL);
    buf b;
    buf_init(&b);
    acl_denial_message(ACL_DENIED_CMD, user("d"), id_config_set, slice_of(""), 0, &b);
    ASSERT_MEM_EQ("User d has no permissions to run the 'config|set' command", 57, b.data, b.len);
    buf_clear(&b);
    acl_denial_message(ACL_DENIED_KEY, user("d"), id_get, slice_of("k1"), 0, &b);
    ASSERT_MEM_EQ("No permissions to access a key", 30, b.data, b.len);
    buf_clear(&b);
    acl_denial_message(ACL_DENIED_CHANNEL, user("d"), id_get, slice_of("ch"), 1, &b);
    ASSERT_MEM_EQ("User d has no permissions to access the 'ch' channel", 52, b.data, b.len);
    buf_deinit(&b);
}

TEST(log_grouping) {
    catalog();
    acl_log_reset();
    acl_stats before = acl_stat;
    acl_log_add(ACL_DENIED_AUTH, ACL_CTX_TOPLEVEL, slice_of("AUTH"), slice_of("u1"), "id=1", 1000,
                128);
    long long first = acl_log_at(0)->entry_id;
    for (int i = 0; i < 10; i++)
        acl_log_add(ACL_DENIED_AUTH, ACL_CTX_TOPLEVEL, slice_of("AUTH"), slice_of("u1"), "id=2",
                    1001 + i, 128);
    ASSERT_EQ(1, acl_log_len());
    ASSERT_EQ(11, acl_log_at(0)->count);
    ASSERT_EQ(first, acl_log_at(0)->entry_id);
    ASSERT_EQ(1000, acl_log_at(0)->created_ms);
    ASSERT_EQ(1010, acl_log_at(0)->updated_ms);
    ASSERT_STR_EQ("id=2", acl_log_at(0)->client_info);
    acl_log_add(ACL_DENIED_AUTH, ACL_CTX_TOPLEVEL, slice_of("AUTH"), slice_of("u2"), "id=3", 1011,
                128);
    ASSERT_EQ(2, acl_log_len());
    ASSERT_EQ(first + 1, acl_log_at(0)->entry_id);
    /* More than a minute later: a new entry. */
    acl_log_add(ACL_DENIED_AUTH, ACL_CTX_TOPLEVEL, slice_of("AUTH"), slice_of("u1"), "id=4",
                1010 + 60001, 128);
    ASSERT_EQ(3, acl_log_len());
    ASSERT_EQ(13, acl_stat.denied_auth - before.denied_auth);
    /* Bounded by max_len; 0 keeps nothing new but counts. */
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof(key), "obj:%d", i);
        acl_log_add(ACL_DENIED_KEY, ACL_CTX_MULTI, slice_of(key), slice_of("u1"), "", 2000, 5);
    }
    ASSERT_EQ(5, acl_log_len());
    ASSERT_STR_EQ("obj:9", acl_log_at(0)->object);
    ASSERT_EQ(ACL_CTX_MULTI, acl_log_at(0)->context);
    acl_log_add(ACL_DENIED_CMD, ACL_CTX_TOPLEVEL, slice_of("get"), slice_of("u1"), "", 2000, 0);
    ASSERT_EQ(0, acl_log_len());
    ASSERT_EQ(1, acl_stat.denied_cmd - before.denied_cmd);
    ASSERT_EQ(10, acl_stat.denied_key - before.denied_key);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

TEST(acl_file_round_trip) {
    catalog();
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mayfly-test-acl-%d.acl", (int)getpid());
    setuser("alice", "on >alice allcommands allkeys &* (%R~r* +get)", NULL);
    setuser("bob",
            "on #34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6 -@all "
            "+@hash +config|get ~session:*",
            NULL);
    acl_set_default_password("pw", 2);
    char *err = NULL;
    ASSERT_EQ(0, acl_save_file(path, &err));
    buf before;
    buf_init(&before);
    acl_write_users(&before);
    acl_user *def = acl_default_user();
    acl_init(); /* forget everyone */
    def = acl_default_user();
    acl_userset *old = acl_load_file(path, NULL, &err);
    ASSERT(old != NULL);
    ASSERT(acl_default_user() == def);
    acl_userset_free(old);
    buf after;
    buf_init(&after);
    acl_write_users(&after);
    ASSERT_MEM_EQ(before.data, before.len, after.data, after.len);
    ASSERT(acl_authenticate(slice_of("default"), slice_of("pw")) != NULL);
    ASSERT(acl_authenticate(slice_of("bob"), slice_of("passwd4")) != NULL);
    buf_deinit(&before);
    buf_deinit(&after);
    unlink(path);
}

TEST(acl_file_errors) {
    catalog();
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mayfly-test-acl2-%d.acl", (int)getpid());
    setuser("keep", "on nopass", NULL);
    write_file(path, "user alice on nopass ~* +@all\n# comment\nuser alice off\n"
                     "user carl on +nosuch +alsonosuch bogus bogus2\nuser dan (~a +get\n");
    char *err = NULL;
    ASSERT(acl_load_file(path, NULL, &err) == NULL);
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "%s:2 should start with user keyword followed by the username. WARNING: Duplicate "
             "user 'alice' found on line 3. %s:4: Error in applying operation '+nosuch': Unknown "
             "command or category name in ACL. %s:4: Error in applying operation '+alsonosuch': "
             "Unknown command or category name in ACL. %s:4: Syntax error. %s:5: Unmatched "
             "parenthesis in selector definition.WARNING: ACL errors detected, no change to the "
             "previously active ACL rules was performed",
             path, path, path, path, path);
    ASSERT_STR_EQ(expect, err);
    mem_free(err);
    ASSERT(user("keep") != NULL); /* nothing changed */
    /* Without a default user in the file, the default user gets its built-in rules. */
    setuser("default", "resetchannels", NULL);
    write_file(path, "\n  user alice on nopass ~* -@all +get  \n\n");
    acl_userset *old = acl_load_file(path, NULL, &err);
    ASSERT(old != NULL);
    ASSERT(acl_userset_has(old, acl_user_find(slice_of("keep"))) == 0); /* already detached */
    acl_userset_free(old);
    ASSERT(user("keep") == NULL);
    ASSERT_STR_EQ("on nopass sanitize-payload ~* &* +@all", describe("default"));
    ASSERT_STR_EQ("on nopass sanitize-payload ~* resetchannels -@all +get", describe("alice"));
    unlink(path);
    ASSERT(acl_load_file("/nonexistent/dir/x.acl", NULL, &err) == NULL);
    ASSERT(strstr(err, "Error loading ACLs, opening file '/nonexistent/dir/x.acl'") != NULL);
    mem_free(err);
}

static int config_line(const char *line, char **err) {
    slice w[32];
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", line);
    int n = 0;
    for (char *t = strtok(copy, " "); t && n < 32; t = strtok(NULL, " "))
        w[n++] = slice_of(t);
    char *e = NULL;
    int rc = acl_config_user(n, w, &e);
    if (err)
        *err = e;
    else
        mem_free(e);
    return rc;
}

TEST(config_users) {
    catalog();
    char *err;
    ASSERT_EQ(0, config_line("user default on nopass ~* +@all", NULL));
    ASSERT_EQ(0, config_line("user app on >pw ~session:* +@hash +nosuchyet", NULL));
    ASSERT_EQ(-1, config_line("user app on", &err));
    ASSERT_STR_EQ("Error in user declaration 'app': Duplicate user found. A user can only be "
                  "defined once in config files",
                  err);
    mem_free(err);
    ASSERT_EQ(-1, config_line("user other on bogus", &err));
    ASSERT(strstr(err, "Syntax error") != NULL);
    mem_free(err);
    ASSERT(acl_config_users_pending());
    ASSERT_EQ(-1, acl_load_config_users(&err));
    ASSERT_STR_EQ("Error loading ACL rule '+nosuchyet' for the user named 'app': Unknown command "
                  "or category name in ACL",
                  err);
    mem_free(err);
    ASSERT(!acl_config_users_pending());
    catalog();
    ASSERT_EQ(0, config_line("user default on nopass ~* +@all", NULL));
    ASSERT_EQ(0, config_line("user app on >pw ~session:* +@hash", NULL));
    ASSERT_EQ(0, acl_load_config_users(&err));
    /* A `user default` line resets the default user first: no channels. */
    ASSERT_STR_EQ("on nopass sanitize-payload ~* resetchannels +@all", describe("default"));
    ASSERT_EQ(ACL_OK, check("app", id_hget, "hget session:1", ACL_REF_READ, NULL));
    ASSERT_EQ(ACL_DENIED_KEY, check("app", id_hget, "hget other", ACL_REF_READ, NULL));
    ASSERT_EQ(ACL_DENIED_CMD, check("app", id_config_get, "config get x", 0, NULL));
}

TEST(hash_and_random) {
    char h[65];
    acl_hash_password("passwd4", 7, h);
    ASSERT_STR_EQ("34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6", h);
    char r1[65] = {0}, r2[65] = {0};
    acl_random_hex(r1, 63);
    acl_random_hex(r2, 63);
    ASSERT_EQ(63, strlen(r1));
    ASSERT(strspn(r1, "0123456789abcdef") == 63);
    ASSERT(strcmp(r1, r2) != 0);
}

/* acl_check against a one-key command (GET with its key range, so the verdict's one-key
 * path decides) for a user with one pattern, compared with the glob matcher: literals and
 * prefixes around the 4- and 8-byte boundaries of the word form, longer ones and globs. */
TEST(verdict_key_matching) {
    catalog();
    acl_command_set_key_range(id_get, 1, 1, 1, ACL_REF_READ, 0);
    static const char *const pats[] = {"",          "*",
                                       "a*",        "ab",
                                       "abc*",      "abcd",
                                       "abcd*",     "abcdefg*",
                                       "abcdefgh",  "abcdefgh*",
                                       "abcdefghi", "abcdefghi*",
                                       "a?c*",      "abcdefghijklmnopq*"};
    static const char *const subjects[] = {"",
                                           "a",
                                           "ab",
                                           "abc",
                                           "abcd",
                                           "abcde",
                                           "abcdefg",
                                           "abcdefgh",
                                           "abcdefghi",
                                           "abcdefghij",
                                           "xbcdefghij",
                                           "abcdefgx",
                                           "abcdefghijklmnopqr",
                                           "abd",
                                           "b"};
    char rules[128];
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        if (strcmp(pats[i], "*") == 0) continue; /* ~* is allkeys */
        snprintf(rules, sizeof(rules), "reset on nopass +@all resetkeys %%R~%s", pats[i]);
        ASSERT_EQ(0, setuser("v", rules, NULL));
        for (size_t j = 0; j < sizeof(subjects) / sizeof(subjects[0]); j++) {
            const char *sub = subjects[j];
            size_t n = strlen(sub);
            int want = glob_match(pats[i], strlen(pats[i]), sub, n, 0) ? ACL_OK : ACL_DENIED_KEY;
            slice argv[2] = {slice_of("get"), {sub, n}};
            int pos = 0;
            int got = acl_check(user("v"), id_get, 2, argv, refs_fn, &(refs_ctx){1, 1, 0}, &pos);
            if (got != want) fprintf(stderr, "pattern '%s' subject '%s'\n", pats[i], sub);
            ASSERT_EQ(want, got);
            /* Twice: the second answer comes from the verdict computed by the first. */
            ASSERT_EQ(want,
                      acl_check(user("v"), id_get, 2, argv, refs_fn, &(refs_ctx){1, 1, 0}, &pos));
            ASSERT_EQ(want == ACL_OK ? ACL_OK : -1, acl_check_fast(user("v"), id_get, 2, argv));
            if (want != ACL_OK) ASSERT_EQ(1, pos);
        }
    }
}

/* Verdicts follow every change: a user's rules (SETUSER), the catalog (a command added
 * after the user), and a write-only pattern against a read. */
TEST(verdict_invalidation) {
    catalog();
    acl_command_set_key_range(id_get, 1, 1, 1, ACL_REF_READ, 0);
    acl_command_set_key_range(id_set, 1, 1, 1, ACL_REF_WRITE, 0);
    setuser("inv", "on nopass +get ~app:*", NULL);
    slice get_ok[2] = {slice_of("get"), slice_of("app:1")};
    slice get_no[2] = {slice_of("get"), slice_of("other")};
    ASSERT_EQ(ACL_OK, acl_check(user("inv"), id_get, 2, get_ok, NULL, NULL, NULL));
    ASSERT_EQ(ACL_OK, acl_check_fast(user("inv"), id_get, 2, get_ok));
    ASSERT_EQ(ACL_DENIED_KEY, acl_check(user("inv"), id_get, 2, get_no, NULL, NULL, NULL));
    ASSERT_EQ(ACL_DENIED_CMD, acl_check(user("inv"), id_set, 2, get_ok, NULL, NULL, NULL));
    ASSERT_EQ(ACL_DENIED_CMD, acl_check(user("inv"), id_ping, 1, get_ok, NULL, NULL, NULL));
    /* Rules change: the old verdict must not answer. */
    setuser("inv", "-get", NULL);
    ASSERT_EQ(-1, acl_check_fast(user("inv"), id_get, 2, get_ok));
    ASSERT_EQ(ACL_DENIED_CMD, acl_check(user("inv"), id_get, 2, get_ok, NULL, NULL, NULL));
    setuser("inv", "+get allkeys", NULL);
    ASSERT_EQ(ACL_OK, acl_check(user("inv"), id_get, 2, get_no, NULL, NULL, NULL));
    setuser("inv", "resetkeys %W~app:*", NULL);
    ASSERT_EQ(ACL_DENIED_KEY, acl_check(user("inv"), id_get, 2, get_ok, NULL, NULL, NULL));
    ASSERT_EQ(-1, acl_check_fast(user("inv"), id_get, 2, get_ok));
    /* A command registered after the verdicts were computed. */
    setuser("inv", "+@all ~app:*", NULL);
    ASSERT_EQ(ACL_OK, acl_check(user("inv"), id_set, 2, get_ok, NULL, NULL, NULL));
    int id_new = acl_command_add("newcmd", -1, "@read @fast", ACL_CMD_HAS_KEYS);
    acl_command_set_key_range(id_new, 1, 1, 1, ACL_REF_READ, 0);
    slice new_no[2] = {slice_of("newcmd"), slice_of("zzz")};
    ASSERT_EQ(ACL_DENIED_KEY, acl_check(user("inv"), id_new, 2, new_no, NULL, NULL, NULL));
    ASSERT_EQ(-1, acl_check_fast(user("inv"), id_new, 2, new_no));
    ASSERT_EQ(ACL_OK, acl_check(user("inv"), id_new, 2, get_ok, NULL, NULL, NULL));
    ASSERT_EQ(ACL_OK, acl_check_fast(user("inv"), id_new, 2, get_ok));
}

int main(void) {
    RUN(default_user);
    RUN(new_user_and_passwords);
    RUN(usernames_and_atomicity);
    RUN(command_rules_text);
    RUN(command_rules_effect);
    RUN(key_patterns);
    RUN(channels);
    RUN(selectors);
    RUN(unlink_and_listing);
    RUN(requirepass);
    RUN(denial_messages);
    RUN(log_grouping);
    RUN(acl_file_round_trip);
    RUN(acl_file_errors);
    RUN(config_users);
    RUN(hash_and_random);
    RUN(verdict_key_matching);
    RUN(verdict_invalidation);
    acl_init();
    acl_commands_reset();
    return test_report();
}
