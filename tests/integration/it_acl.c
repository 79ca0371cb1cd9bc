/* Integration tests: ACL users over real connections, with Redis's texts (tests/unit/acl.tcl
 * and acl-v2.tcl of the Redis repository): every rule kind, ACL LOG, ACL GETUSER/LIST,
 * DRYRUN, the aclfile round trip, `user` lines in the config, AUTH / HELLO AUTH, MULTI,
 * channel permissions, and the sessions closed by DELUSER, LOAD and revoked channels. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A hiredis connection authenticated as user/pass. */
static redisContext *as(const char *user, const char *pass) {
    redisContext *c = it_client();
    redisReply *r = redisCommand(c, "AUTH %s %s", user, pass);
    if (!r || r->type != REDIS_REPLY_STATUS) {
        fprintf(stderr, "AUTH %s failed\n", user);
        exit(1);
    }
    freeReplyObject(r);
    return c;
}

/* The value of field name in an ACL GETUSER reply (RESP2: flat array), rendered. */
static const char *getuser_field(redisContext *c, const char *user, const char *name) {
    static char out[1024];
    redisReply *r = redisCommand(c, "ACL GETUSER %s", user);
    snprintf(out, sizeof(out), "(missing)");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, name) == 0) it_render(r->element[i + 1], out, sizeof(out));
    freeReplyObject(r);
    return out;
}

/* A field of ACL LOG's entry i (newest first), rendered. */
static const char *log_field(redisContext *c, size_t i, const char *name) {
    static char out[1024];
    redisReply *r = redisCommand(c, "ACL LOG");
    snprintf(out, sizeof(out), "(missing)");
    if (r && r->type == REDIS_REPLY_ARRAY && i < r->elements) {
        redisReply *e = r->element[i];
        for (size_t k = 0; k + 1 < e->elements; k += 2)
            if (strcmp(e->element[k]->str, name) == 0)
                it_render(e->element[k + 1], out, sizeof(out));
    }
    freeReplyObject(r);
    return out;
}

#define NOPERM_KEY "-NOPERM No permissions to access a key"
#define NOPERM_CHANNEL "-NOPERM No permissions to access a channel"
#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."

TEST(users_and_passwords) {
    redisContext *c = it_client();
    EXPECT(c, "\"default\"", "ACL WHOAMI");
    EXPECT(c, "+OK", "ACL SETUSER newuser");
    EXPECT(c, "[\"default\",\"newuser\"]", "ACL USERS");
    EXPECT(c, "-ERR Usernames can't contain spaces or null characters", "ACL SETUSER %s", "a a");
    EXPECT(c, "+OK", "ACL SETUSER newuser >passwd1");
    EXPECT(c, WRONGPASS, "AUTH newuser passwd1"); /* new users start off */
    EXPECT(c, "+OK", "ACL SETUSER newuser on +acl");
    EXPECT(c, "+OK", "AUTH newuser passwd1");
    EXPECT(c, "\"newuser\"", "ACL WHOAMI");
    EXPECT(c, "+OK", "ACL SETUSER newuser >passwd2");
    EXPECT(c, "+OK", "AUTH newuser passwd1");
    EXPECT(c, "+OK", "AUTH newuser passwd2");
    EXPECT(c, WRONGPASS, "AUTH newuser passwd3");
    EXPECT(c, "+OK", "ACL SETUSER newuser <passwd1");
    EXPECT(c, WRONGPASS, "AUTH newuser passwd1");
    EXPECT(c, "+OK",
           "ACL SETUSER newuser #34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6");
    EXPECT(c, "+OK", "AUTH newuser passwd4");
    EXPECT(c,
           "-ERR Error in ACL SETUSER modifier "
           "'#34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4eq': The password "
           "hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
           "ACL SETUSER newuser #34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4eq");
    ASSERT(strstr(getuser_field(c, "newuser", "passwords"),
                  "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6") != NULL);
    ASSERT(strstr(getuser_field(c, "newuser", "passwords"), "passwd4") == NULL);
    EXPECT(c, "+OK",
           "ACL SETUSER newuser !34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6");
    EXPECT(c, WRONGPASS, "AUTH newuser passwd4");
    EXPECT(c, "+OK", "ACL SETUSER newuser nopass");
    EXPECT(c, "+OK", "AUTH newuser zipzapblabla");
    EXPECT(c, "+OK", "ACL SETUSER newuser resetpass");
    EXPECT(c, WRONGPASS, "AUTH newuser zipzapblabla");
    EXPECT(c, "+OK", "AUTH default anything"); /* nopass: any password */
    EXPECT(c,
           "-ERR AUTH <password> called without any password configured for the default "
           "user. Are you sure your configuration is correct?",
           "AUTH onlypassword");
    EXPECT(c, "+OK", "ACL SETUSER newuser off");
    EXPECT(c, WRONGPASS, "AUTH newuser anything");
    EXPECT(c, "-ERR The 'default' user cannot be removed", "ACL DELUSER default");
    EXPECT(c, "1", "ACL DELUSER newuser nosuchuser");
    EXPECT(c, "nil", "ACL GETUSER newuser");
    redisFree(c);
}

/* "A user limited to ~session:* and +@hash cannot read other keys or run CONFIG." */
TEST(session_user) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER app on >pw ~session:* -@all +@hash");
    redisContext *a = as("app", "pw");
    EXPECT(a, "1", "HSET session:1 user ada");
    EXPECT(a, "\"ada\"", "HGET session:1 user");
    EXPECT(a, NOPERM_KEY, "HGET other user");
    EXPECT(a, NOPERM_KEY, "HDEL other user");
    EXPECT(a, "-NOPERM User app has no permissions to run the 'config|get' command",
           "CONFIG GET maxmemory");
    EXPECT(a, "-NOPERM User app has no permissions to run the 'get' command", "GET session:1");
    EXPECT(a, "-NOPERM User app has no permissions to run the 'ping' command", "PING");
    EXPECT(a, "+OK", "AUTH app pw"); /* AUTH is always allowed */
    EXPECT(c, "+OK", "ACL SETUSER app +@connection");
    EXPECT(a, "+PONG", "PING");
    EXPECT(c, "1", "ACL DELUSER app");
    redisFree(a);
    redisFree(c);
}

TEST(command_rules) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER r on nopass allkeys allchannels -@all +acl");
    redisContext *r = as("r", "x");
    EXPECT(c, "+OK", "ACL SETUSER r +@all -@string");
    EXPECT(r, "1", "HSET h f v");
    EXPECT(r, "-NOPERM User r has no permissions to run the 'set' command", "SET k v");
    EXPECT(c, "+OK", "ACL SETUSER r +@all -client");
    EXPECT(c, "+OK", "ACL SETUSER r +client|id +client|setname");
    ASSERT_STR_EQ("\"+@all -client +client|id +client|setname\"",
                  getuser_field(c, "r", "commands"));
    redisReply *rep = redisCommand(r, "CLIENT ID");
    ASSERT(rep && rep->type == REDIS_REPLY_INTEGER);
    freeReplyObject(rep);
    EXPECT(r, "-NOPERM User r has no permissions to run the 'client|kill' command",
           "CLIENT KILL TYPE master");
    EXPECT(c, "+OK", "ACL SETUSER r -@all +acl +config -config|set");
    EXPECT(r, "[\"hz\",\"10\"]", "CONFIG GET hz");
    EXPECT(r, "-NOPERM User r has no permissions to run the 'config|set' command",
           "CONFIG SET hz 10");
    EXPECT(c,
           "-ERR Error in ACL SETUSER modifier '+config|get|appendonly': Allowing first-arg "
           "of a subcommand is not supported",
           "ACL SETUSER r +config|get|appendonly");
    EXPECT(c,
           "-ERR Error in ACL SETUSER modifier '+config|asdf': Unknown command or category "
           "name in ACL",
           "ACL SETUSER r +config|asdf");
    EXPECT(c,
           "-ERR Error in ACL SETUSER modifier '-@nosuch': Unknown command or category name "
           "in ACL",
           "ACL SETUSER r -@nosuch");
    EXPECT(c, "+OK", "ACL SETUSER r -@all +acl +select|0");
    EXPECT(r, "+OK", "SELECT 0");
    EXPECT(r, "-NOPERM User r has no permissions to run the 'select' command", "SELECT 1");
    EXPECT(c, "+OK", "ACL SETUSER r nocommands +acl");
    EXPECT(r, "-NOPERM User r has no permissions to run the 'select' command", "SELECT 0");
    EXPECT(c, "+OK", "ACL SETUSER r allcommands");
    EXPECT(r, "+OK", "SELECT 0");
    /* The retained rules, as Redis 7.2+ prints them. */
    EXPECT(c, "+OK",
           "ACL SETUSER adv -@all +client|list +client|list +config|get +config "
           "+acl|list -acl");
    ASSERT_STR_EQ("\"-@all +client|list +config -acl\"", getuser_field(c, "adv", "commands"));
    EXPECT(c, "+OK", "ACL SETUSER adv reset +@all -@hash -@slow +hget");
    EXPECT(c, "+OK", "ACL SETUSER adv -@hash");
    ASSERT_STR_EQ("\"+@all -@slow +hget -@hash\"", getuser_field(c, "adv", "commands"));
    EXPECT(c, "2", "ACL DELUSER r adv");
    redisFree(r);
    redisFree(c);
}

TEST(key_permissions) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER k on nopass +@all %%R~read* %%W~write* %%RW~rw*");
    redisContext *k = as("k", "x");
    EXPECT(c, "+OK", "SET readstr bar");
    EXPECT(k, "\"bar\"", "GET readstr");
    EXPECT(k, NOPERM_KEY, "SET readstr bar");
    EXPECT(k, NOPERM_KEY, "GET notread");
    EXPECT(k, "+OK", "SET writestr bar");
    EXPECT(k, NOPERM_KEY, "GET writestr");
    EXPECT(k, NOPERM_KEY, "SET writestr bar GET"); /* GET needs read access */
    EXPECT(k, "+OK", "SET rwstr bar");
    EXPECT(k, "\"bar\"", "SET rwstr baz GET");
    /* EXISTS, TYPE, HLEN... need no access flag: any matching pattern. */
    EXPECT(k, "1", "EXISTS writestr");
    EXPECT(k, "+string", "TYPE readstr");
    EXPECT(k, NOPERM_KEY, "EXISTS nothing");
    EXPECT(c, "+OK", "ACL SETUSER k resetkeys ~foo");
    EXPECT(c, "+OK", "ACL SETUSER kk %%R~foo %%W~foo %%RW~bar");
    ASSERT_STR_EQ("\"~foo ~bar\"", getuser_field(c, "kk", "keys"));
    EXPECT(c, "+OK", "ACL SETUSER kk allkeys");
    EXPECT(c,
           "-ERR Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or "
           "the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to "
           "start with an empty list of patterns",
           "ACL SETUSER kk ~x");
    EXPECT(c, "2", "ACL DELUSER k kk");
    redisFree(k);
    redisFree(c);
}

/* acl-v2.tcl's DRYRUN key tables, for the commands Mayfly has: which access each needs. */
TEST(dryrun_key_access) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER ct on nopass +@all %%R~read* %%W~write* %%RW~rw*");
    /* Commands whose key needs no access flag: any matching pattern will do. */
    const char *any[][2] = {{"HEXISTS", "foo"}, {"HSTRLEN", "foo"}, {"STRLEN", NULL},
                            {"HLEN", NULL},     {"TOUCH", NULL},    {"EXISTS", NULL},
                            {"TYPE", NULL}};
    const char *keys[] = {"read", "write", "rw", "nothing"};
    for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
        for (int k = 0; k < 4; k++) {
            const char *argv[6] = {"ACL", "DRYRUN", "ct", any[i][0], keys[k], any[i][1]};
            int argc = any[i][1] ? 6 : 5;
            const char *want = k < 3 ? "+OK"
                                     : "\"User ct has no permissions to access the 'nothing' "
                                       "key\"";
            EXPECT_ARGV(c, want, argc, argv);
        }
    }
    EXPECT(c, "+OK", "ACL DRYRUN ct MEMORY USAGE write");
    EXPECT(c, "+OK", "ACL DRYRUN ct MEMORY USAGE read");
    EXPECT(c, "+OK", "ACL DRYRUN ct COPY read write");
    EXPECT(c, "\"User ct has no permissions to access the 'write' key\"",
           "ACL DRYRUN ct COPY write read"); /* the source needs read access */
    EXPECT(c, "+OK", "ACL DRYRUN ct SET write v");
    EXPECT(c, "\"User ct has no permissions to access the 'write' key\"",
           "ACL DRYRUN ct SET write v GET");
    EXPECT(c, "\"User ct has no permissions to access the 'write' key\"",
           "ACL DRYRUN ct SET write v EX GET"); /* as Redis: GET anywhere after the value */
    EXPECT(c, "+OK", "ACL DRYRUN ct SET rw v GET");
    EXPECT(c, "\"User ct has no permissions to access the 'read' key\"",
           "ACL DRYRUN ct SET read v");
    EXPECT(c, "+OK", "ACL DRYRUN ct MGET read1 read2 rw3");
    EXPECT(c, "\"User ct has no permissions to access the 'write4' key\"",
           "ACL DRYRUN ct MGET read1 read2 write4");
    EXPECT(c, "+OK", "ACL DRYRUN ct MSET write1 v rw2 v");
    EXPECT(c, "\"User ct has no permissions to access the 'read2' key\"",
           "ACL DRYRUN ct MSET write1 v read2 v");
    EXPECT(c, "+OK", "ACL DRYRUN ct DEL write1 rw2");
    EXPECT(c, "+OK", "ACL DRYRUN ct HGET read f");
    EXPECT(c, "+OK", "ACL DRYRUN ct HSET write f v");
    EXPECT(c, "\"User ct has no permissions to access the 'write' key\"",
           "ACL DRYRUN ct HGETALL write");
    /* The same answers through two selectors (the general path, not the one-selector one). */
    EXPECT(c, "+OK", "ACL SETUSER ct2 on nopass +@all %%R~read* (%%W~write* +@all)");
    EXPECT(c, "+OK", "ACL DRYRUN ct2 SET write v");
    EXPECT(c, "\"User ct2 has no permissions to access the 'write' key\"",
           "ACL DRYRUN ct2 SET write v GET");
    EXPECT(c, "\"User ct2 has no permissions to access the 'read' key\"",
           "ACL DRYRUN ct2 SET read v");
    EXPECT(c, "2", "ACL DELUSER ct ct2");
    redisFree(c);
}

TEST(selectors) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER sel on nopass -@all resetkeys");
    redisContext *s = as("sel", "x");
    EXPECT(s, "-NOPERM User sel has no permissions to run the 'ping' command", "PING");
    EXPECT(c, "+OK", "ACL SETUSER sel %s %s", "(+@write ~write::*)", "(+@read ~read::*)");
    EXPECT(s, "+OK", "SET write::foo bar");
    EXPECT(s, "nil", "GET read::foo");
    EXPECT(s, NOPERM_KEY, "GET write::foo");
    EXPECT(s, NOPERM_KEY, "SET read::foo bar");
    ASSERT_STR_EQ("[[\"commands\",\"-@all +@write\",\"keys\",\"~write::*\",\"channels\",\"\"],"
                  "[\"commands\",\"-@all +@read\",\"keys\",\"~read::*\",\"channels\",\"\"]]",
                  getuser_field(c, "sel", "selectors"));
    EXPECT(c, "-ERR Unmatched parenthesis in acl selector starting at '(+PING'.",
           "ACL SETUSER bad on (+PING (+SELECT (+DEL");
    EXPECT(c, "-ERR Error in ACL SETUSER modifier '(this-is-invalid)': Syntax error",
           "ACL SETUSER bad on (this-is-invalid)");
    EXPECT(c, "nil", "ACL GETUSER bad");
    EXPECT(c, "+OK", "ACL SETUSER sel clearselectors");
    EXPECT(s, "-NOPERM User sel has no permissions to run the 'set' command", "SET write::foo bar");
    EXPECT(c, "1", "ACL DELUSER sel");
    redisFree(s);
    redisFree(c);
}

TEST(getuser_list_dryrun_cat) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER info -@all +get resetchannels &channel1 %%R~foo1 %%W~bar1 ~baz1");
    EXPECT(c, "+OK", "ACL SETUSER info %s", "(-@all +set resetchannels &channel2 %R~foo2)");
    EXPECT(c,
           "[\"flags\",[\"off\",\"sanitize-payload\"],\"passwords\",[],\"commands\",\"-@all "
           "+get\",\"keys\",\"%R~foo1 %W~bar1 ~baz1\",\"channels\",\"&channel1\",\"selectors\","
           "[[\"commands\",\"-@all +set\",\"keys\",\"%R~foo2\",\"channels\",\"&channel2\"]]]",
           "ACL GETUSER info");
    EXPECT(c,
           "[\"user default on nopass sanitize-payload ~* &* +@all\",\"user info off "
           "sanitize-payload %R~foo1 %W~bar1 ~baz1 resetchannels &channel1 -@all +get "
           "(%R~foo2 resetchannels &channel2 -@all +set)\"]",
           "ACL LIST");
    EXPECT(c, "+OK", "ACL DRYRUN info GET foo1");
    EXPECT(c, "\"User info has no permissions to access the 'bar1' key\"",
           "ACL DRYRUN info GET bar1");
    EXPECT(c, "\"User info has no permissions to run the 'hget' command\"",
           "ACL DRYRUN info HGET foo1 f");
    EXPECT(c, "-ERR User 'nobody' not found", "ACL DRYRUN nobody GET x");
    EXPECT(c, "-ERR Command 'nosuch' not found", "ACL DRYRUN info nosuch x");
    EXPECT(c, "-ERR wrong number of arguments for 'set' command", "ACL DRYRUN info SET v");
    EXPECT(c, "-ERR Unknown category 'NON_EXISTS'", "ACL CAT NON_EXISTS");
    EXPECT(c, "-ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.",
           "ACL CAT NON_EXISTS NON_EXISTS2");
    const char *cats = it_run(c, "ACL CAT");
    ASSERT(strncmp(cats, "[\"keyspace\",\"read\",\"write\"", 26) == 0);
    const char *tx = it_run(c, "ACL CAT transaction");
    ASSERT(strstr(tx, "\"multi\"") != NULL && strstr(tx, "\"get\"") == NULL);
    EXPECT(c, "-ERR wrong number of arguments for 'acl|help' command", "ACL HELP xxx");
    const char *pass = it_run(c, "ACL GENPASS");
    ASSERT_EQ(66, strlen(pass)); /* 64 hex digits in quotes */
    pass = it_run(c, "ACL GENPASS 5");
    ASSERT_EQ(4, strlen(pass));
    EXPECT(c,
           "-ERR ACL GENPASS argument must be the number of bits for the output password, a "
           "positive number up to 4096",
           "ACL GENPASS 5000");
    EXPECT(c, "1", "ACL DELUSER info");
    redisFree(c);
}

TEST(acl_log) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL LOG RESET");
    EXPECT(c, "+OK", "ACL SETUSER antirez >foo on +set ~object:1234 +multi +exec");
    EXPECT(c, "+OK", "ACL SETUSER antirez resetchannels +publish");
    redisContext *a = as("antirez", "foo");
    EXPECT(a, "-NOPERM User antirez has no permissions to run the 'get' command", "GET foo");
    ASSERT_STR_EQ("\"antirez\"", log_field(c, 0, "username"));
    ASSERT_STR_EQ("\"toplevel\"", log_field(c, 0, "context"));
    ASSERT_STR_EQ("\"command\"", log_field(c, 0, "reason"));
    ASSERT_STR_EQ("\"get\"", log_field(c, 0, "object"));
    ASSERT(strstr(log_field(c, 0, "client-info"), "cmd=get") != NULL);
    it_run(a, "GET foo");
    it_run(a, "GET foo");
    ASSERT_STR_EQ("3", log_field(c, 0, "count"));
    EXPECT(a, NOPERM_KEY, "SET somekeynotallowed 1234");
    ASSERT_STR_EQ("\"key\"", log_field(c, 0, "reason"));
    ASSERT_STR_EQ("\"somekeynotallowed\"", log_field(c, 0, "object"));
    EXPECT(a, NOPERM_CHANNEL, "PUBLISH somechannelnotallowed nullmsg");
    ASSERT_STR_EQ("\"channel\"", log_field(c, 0, "reason"));
    ASSERT_STR_EQ("\"somechannelnotallowed\"", log_field(c, 0, "object"));
    /* Inside MULTI, at queueing time and again at EXEC. */
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "-NOPERM User antirez has no permissions to run the 'incr' command", "INCR foo");
    EXPECT(a, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    ASSERT_STR_EQ("\"multi\"", log_field(c, 0, "context"));
    ASSERT_STR_EQ("\"incr\"", log_field(c, 0, "object"));
    EXPECT(c, "+OK", "ACL SETUSER antirez +incr");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "INCR object:1234");
    EXPECT(c, "+OK", "ACL SETUSER antirez -incr");
    EXPECT(a,
           "[-NOPERM ACLs rules changed between the moment the transaction was accumulated and "
           "the EXEC call. This command is no longer allowed for the following reason: no "
           "permission to execute the command or subcommand]",
           "EXEC");
    ASSERT_STR_EQ("\"multi\"", log_field(c, 0, "context"));
    ASSERT(strstr(log_field(c, 0, "client-info"), "cmd=exec") != NULL);
    /* Failed AUTH. */
    EXPECT(c, WRONGPASS, "AUTH antirez wrong-password");
    ASSERT_STR_EQ("\"auth\"", log_field(c, 0, "reason"));
    ASSERT_STR_EQ("\"AUTH\"", log_field(c, 0, "object"));
    ASSERT_STR_EQ("\"antirez\"", log_field(c, 0, "username"));
    /* Count argument, the length limit, RESET. */
    redisReply *r = redisCommand(c, "ACL LOG 2");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    freeReplyObject(r);
    EXPECT(c, "+OK", "CONFIG SET acllog-max-len 3");
    for (int i = 0; i < 10; i++)
        it_run(a, "SET obj:%d 123", i);
    r = redisCommand(c, "ACL LOG");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    freeReplyObject(r);
    EXPECT(c, "+OK", "CONFIG SET acllog-max-len 128");
    EXPECT(c, "+OK", "ACL LOG RESET");
    EXPECT(c, "[]", "ACL LOG");
    ASSERT(it_info_field(c, "acl_access_denied_cmd") >= 3);
    ASSERT(it_info_field(c, "acl_access_denied_key") >= 11);
    ASSERT(it_info_field(c, "acl_access_denied_channel") >= 1);
    ASSERT(it_info_field(c, "acl_access_denied_auth") >= 1);
    EXPECT(c, "1", "ACL DELUSER antirez");
    redisFree(a);
    redisFree(c);
}

TEST(channels) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER ps on >pspass +@all allkeys resetchannels &foo:1 &bar:*");
    redisContext *p = as("ps", "pspass");
    EXPECT(p, "0", "PUBLISH foo:1 msg");
    EXPECT(p, "0", "PUBLISH bar:2 msg");
    EXPECT(p, NOPERM_CHANNEL, "PUBLISH zap:3 msg");
    EXPECT(p, "0", "SPUBLISH bar:2 msg");
    EXPECT(p, NOPERM_CHANNEL, "SPUBLISH zap:3 msg");
    EXPECT(p, "+OK", "MULTI");
    EXPECT(p, NOPERM_CHANNEL, "SUBSCRIBE notexits foo:1");
    EXPECT(p, NOPERM_CHANNEL, "PSUBSCRIBE bar:baz");
    EXPECT(p, "+OK", "DISCARD");
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "AUTH ps pspass\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "SUBSCRIBE foo:1\r\n", "*3\r\n$9\r\nsubscribe\r\n$5\r\nfoo:1\r\n:1\r\n");
    EXPECT_RAW(fd, "PSUBSCRIBE bar:*\r\n", "*3\r\n$10\r\npsubscribe\r\n$5\r\nbar:*\r\n:2\r\n");
    EXPECT_RAW(fd, "PSUBSCRIBE bar:baz\r\n", NOPERM_CHANNEL "\r\n");
    EXPECT_RAW(fd, "SUBSCRIBE zap:3\r\n", NOPERM_CHANNEL "\r\n");
    /* A superset keeps the subscriber; losing a pattern closes it. */
    EXPECT(c, "+OK", "ACL SETUSER ps resetchannels &foo:1 &bar:* &baz:qaz");
    EXPECT(c, "+OK", "ACL SETUSER ps allchannels");
    EXPECT(p, "1", "PUBLISH foo:1 hello");
    char got[256];
    size_t n = it_raw_read(fd, got, 36, 2000);
    ASSERT(n == 36 &&
           memcmp(got, "*3\r\n$7\r\nmessage\r\n$5\r\nfoo:1\r\n$5\r\nhello\r\n", 36) == 0);
    EXPECT(c, "+OK", "ACL SETUSER ps resetchannels &foo:1");
    ASSERT(it_raw_closed(fd, 3000));
    close(fd);
    /* acl-pubsub-default applies to users created after it is set. */
    EXPECT(c, "+OK", "CONFIG SET acl-pubsub-default allchannels");
    EXPECT(c, "+OK", "ACL SETUSER mydefault");
    ASSERT_STR_EQ("\"&*\"", getuser_field(c, "mydefault", "channels"));
    EXPECT(c, "+OK", "CONFIG SET acl-pubsub-default resetchannels");
    EXPECT(c, "+OK", "ACL SETUSER other");
    ASSERT_STR_EQ("\"\"", getuser_field(c, "other", "channels"));
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'acl-pubsub-default') - "
           "argument(s) must be one of the following: allchannels, resetchannels",
           "CONFIG SET acl-pubsub-default maybe");
    EXPECT(c, "3", "ACL DELUSER ps mydefault other");
    redisFree(p);
    redisFree(c);
}

TEST(deluser_closes_sessions) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER using on >passwd +acl +ping");
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "AUTH using passwd\r\n", "+OK\r\n");
    redisContext *self = as("using", "passwd");
    EXPECT(c, "1", "ACL DELUSER using");
    ASSERT(it_raw_closed(fd, 3000));
    close(fd);
    /* Deleting one's own user: the reply arrives, then the connection closes. */
    EXPECT(c, "+OK", "ACL SETUSER me on >pw +acl");
    redisContext *m = as("me", "pw");
    EXPECT(m, "1", "ACL DELUSER me");
    redisReply *r = redisCommand(m, "PING");
    ASSERT(r == NULL);
    redisFree(m);
    redisFree(self);
    /* CLIENT KILL USER closes a user's connections (ACL SETUSER off does not). */
    EXPECT(c, "+OK", "ACL SETUSER killme on >pw +ping");
    redisContext *k = as("killme", "pw");
    EXPECT(c, "+OK", "ACL SETUSER killme off");
    EXPECT(k, "+PONG", "PING");
    EXPECT(c, "1", "CLIENT KILL USER killme");
    ASSERT(redisCommand(k, "PING") == NULL);
    redisFree(k);
    EXPECT(c, "-ERR No such user 'nobody'", "CLIENT KILL USER nobody");
    EXPECT(c, "1", "ACL DELUSER killme");
    /* A user nobody uses: nobody is closed. */
    EXPECT(c, "+OK", "ACL SETUSER not_used on >passwd");
    EXPECT(c, "1", "ACL DELUSER not_used");
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
}

TEST(hello_auth) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER secure-user1 >supass on +@all");
    EXPECT(c, "+OK", "ACL SETUSER secure-user2 >supass on +@all");
    int fd = it_raw_connect();
    char buf[2048];
    const char *chain = "HELLO 2 AUTH secure-user pass AUTH secure-user2 supass AUTH "
                        "secure-user1 supass\r\n";
    it_raw_send(fd, chain, strlen(chain));
    size_t n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    buf[n] = '\0';
    ASSERT(strncmp(buf, "*14\r\n", 5) == 0);
    EXPECT_RAW(fd, "ACL WHOAMI\r\n", "$12\r\nsecure-user1\r\n");
    EXPECT_RAW(fd, "HELLO 2 AUTH secure-user1 supass AUTH secure-user pass\r\n", WRONGPASS "\r\n");
    EXPECT_RAW(fd, "ACL WHOAMI\r\n", "$12\r\nsecure-user1\r\n");
    EXPECT_RAW(fd, "CLIENT SETNAME client0\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "HELLO 2 AUTH user pass SETNAME client1\r\n", WRONGPASS "\r\n");
    EXPECT_RAW(fd, "CLIENT GETNAME\r\n", "$7\r\nclient0\r\n");
    close(fd);
    /* When the default user is off, new connections are not authenticated. */
    EXPECT(c, "+OK", "ACL SETUSER default off");
    fd = it_raw_connect();
    EXPECT_RAW(fd, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    it_raw_send_str(fd, "HELLO 3 AUTH secure-user2 supass\r\n");
    n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    ASSERT(n > 4 && memcmp(buf, "%7\r\n", 4) == 0);
    close(fd);
    EXPECT(c, "+OK", "ACL SETUSER default on");
    EXPECT(c, "2", "ACL DELUSER secure-user1 secure-user2");
    redisFree(c);
}

TEST(slowlog_redacts_acl_arguments) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than 0");
    EXPECT(c, "+OK", "SLOWLOG RESET");
    EXPECT(c, "+OK", "ACL SETUSER slowuser on >secret");
    EXPECT(c, "+OK", "CONFIG SET slowlog-log-slower-than 10000");
    const char *log = it_run(c, "SLOWLOG GET 1");
    ASSERT(strstr(log, "\"ACL\",\"SETUSER\",\"(redacted)\",\"(redacted)\",\"(redacted)\"") != NULL);
    ASSERT(strstr(log, "secret") == NULL);
    EXPECT(c, "1", "ACL DELUSER slowuser");
    redisFree(c);
}

/* A second server with an ACL file: load, save, and the sessions ACL LOAD closes. */
TEST(aclfile_round_trip) {
    it_server s2;
    char path[512];
    snprintf(path, sizeof(path), "/tmp/mayfly-it-acl-%d.acl", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("user alice on allcommands allkeys &* >alice\n"
          "user bob on -@all +@hash +acl ~h* &* >bob\n"
          "user default on nopass ~* &* +@all\n",
          f);
    fclose(f);
    const char *args[] = {"--aclfile", path, NULL};
    it_start_server(&s2, args);
    redisContext *c = it_client_to(&s2);
    EXPECT(c, "[\"alice\",\"bob\",\"default\"]", "ACL USERS");
    EXPECT(c, "+OK", "AUTH bob bob");
    EXPECT(c, "1", "HSET h f v");
    EXPECT(c, "-NOPERM User bob has no permissions to run the 'set' command", "SET h value");
    EXPECT(c, NOPERM_KEY, "HSET other f v");
    EXPECT(c, "+OK", "AUTH default x");
    EXPECT(c, "+OK", "ACL SETUSER eve +get allkeys >eve on");
    EXPECT(c, "+OK", "ACL SETUSER doug on nopass resetchannels &test* +@all ~*");
    EXPECT(c, "+OK", "ACL SAVE");
    const char *before = it_run(c, "ACL LIST");
    char saved[2048];
    snprintf(saved, sizeof(saved), "%s", before);
    /* doug subscribes; the file is changed to drop doug's channel; alice is untouched. */
    int doug = it_raw_connect_to(&s2);
    EXPECT_RAW(doug, "AUTH doug x\r\n", "+OK\r\n");
    EXPECT_RAW(doug, "SUBSCRIBE test1\r\n", "*3\r\n$9\r\nsubscribe\r\n$5\r\ntest1\r\n:1\r\n");
    int alice = it_raw_connect_to(&s2);
    EXPECT_RAW(alice, "AUTH alice alice\r\n", "+OK\r\n");
    EXPECT(c, "+OK", "ACL LOAD");
    ASSERT_STR_EQ(saved, it_run(c, "ACL LIST")); /* the round trip is exact */
    EXPECT_RAW(alice, "PING\r\n", "+PONG\r\n");
    EXPECT_RAW(doug, "PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    f = fopen(path, "a");
    fputs("user mallory on nopass +@all ~*\n", f);
    fclose(f);
    /* An error anywhere: nothing changes. */
    f = fopen(path, "a");
    fputs("user alice on nopass ~* -@all\n", f);
    fclose(f);
    const char *err = it_run(c, "ACL LOAD");
    ASSERT(strstr(err, "WARNING: Duplicate user 'alice' found on line") != NULL);
    ASSERT(strstr(err, "no change to the previously active ACL rules was performed") != NULL);
    ASSERT_STR_EQ(saved, it_run(c, "ACL LIST"));
    f = fopen(path, "w");
    fputs("user alice on allcommands allkeys &* >alice\nuser doug on nopass resetchannels "
          "+@all ~*\n",
          f);
    fclose(f);
    EXPECT(c, "+OK", "ACL LOAD");
    EXPECT_RAW(alice, "PING\r\n", "+PONG\r\n");
    ASSERT(it_raw_closed(doug, 3000));
    EXPECT(c, "[\"alice\",\"default\",\"doug\"]", "ACL USERS");
    ASSERT_STR_EQ("\"+@all\"", getuser_field(c, "default", "commands"));
    ASSERT_STR_EQ("\"&*\"", getuser_field(c, "default", "channels"));
    close(doug);
    close(alice);
    redisFree(c);
    it_stop_server(&s2);
    unlink(path);
}

/* `user` lines in the config (no ACL file): the default user's rules and CONFIG REWRITE. */
TEST(config_users) {
    it_server s2;
    const char *args[] = {"--user", "default", "on", "nopass", "~*",     "+@all",  "-flushdb",
                          "--user", "app",     "on", ">pw",    "~app:*", "+@hash", NULL};
    it_start_server(&s2, args);
    redisContext *c = it_client_to(&s2);
    EXPECT(c, "-NOPERM User default has no permissions to run the 'flushdb' command", "FLUSHDB");
    EXPECT(c, NOPERM_CHANNEL, "SUBSCRIBE foo"); /* `user default` resets: no channels */
    EXPECT(c,
           "[\"user app on sanitize-payload "
           "#30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* "
           "resetchannels -@all +@hash\",\"user default on nopass sanitize-payload ~* "
           "resetchannels +@all -flushdb\"]",
           "ACL LIST");
    EXPECT(c,
           "-ERR This Redis instance is not configured to use an ACL file. You may want to "
           "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
           "(assuming you have a Redis configuration file set) in order to store users in "
           "the Redis configuration.",
           "ACL SAVE");
    redisFree(c);
    it_stop_server(&s2);
    /* Duplicates, and users in both the config and an ACL file, stop the start. */
    const char *dup[] = {"--port", "0", "--user", "foo", "--user", "foo", NULL};
    char out[4096];
    ASSERT(it_run_binary(dup, out, sizeof(out), 5000) != 0);
    ASSERT(strstr(out, "Duplicate user found") != NULL);
    const char *both[] = {"--port", "0", "--aclfile", "/nonexistent.acl", "--user", "foo", NULL};
    ASSERT(it_run_binary(both, out, sizeof(out), 5000) != 0);
    ASSERT(strstr(out, "please define either an ACL file or declare users directly") != NULL);
}

/* CONFIG REWRITE writes the users as `user` lines (no ACL file); they survive a restart. */
TEST(config_rewrite_users) {
    char conf[256];
    snprintf(conf, sizeof(conf), "/tmp/mayfly-it-acl-%d.conf", (int)getpid());
    FILE *f = fopen(conf, "w");
    fputs("hz 10\nuser default on nopass ~* +@all -flushdb\nuser old on nopass\n", f);
    fclose(f);
    it_server s2;
    const char *args[] = {conf, NULL};
    it_start_server(&s2, args);
    redisContext *c = it_client_to(&s2);
    EXPECT(c, "1", "ACL DELUSER old");
    EXPECT(c, "+OK", "ACL SETUSER new on >pw ~n:* +get");
    EXPECT(c, "+OK", "CONFIG REWRITE");
    redisFree(c);
    char text[4096] = "";
    f = fopen(conf, "r");
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    ASSERT(strstr(text, "user default on nopass sanitize-payload ~* resetchannels +@all "
                        "-flushdb\n") != NULL);
    ASSERT(strstr(text, "user new on sanitize-payload #") != NULL);
    ASSERT(strstr(text, "user old") == NULL);
    ASSERT(it_restart_server(&s2, args));
    c = it_client_to(&s2);
    EXPECT(c, "-NOPERM User default has no permissions to run the 'flushdb' command", "FLUSHDB");
    EXPECT(c, "[\"default\",\"new\"]", "ACL USERS");
    redisFree(c);
    it_stop_server(&s2);
    unlink(conf);
}

/* Scripts run their commands as their caller's user (Redis's scriptVerifyACL). */
TEST(scripts_run_as_the_caller) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "ACL SETUSER scr on >pw +eval +get ~a*");
    EXPECT(c, "+OK", "ACL LOG RESET");
    redisContext *u = as("scr", "pw");
    EXPECT(u, "nil", "EVAL %s 1 a1", "return redis.call('get', KEYS[1])");
    const char *r = it_run(u, "EVAL %s 0", "return redis.call('incr','foo')");
    ASSERT(strstr(r, "ACL failure in script: User scr has no permissions to run the 'incr' "
                     "command") != NULL);
    ASSERT_STR_EQ("\"lua\"", log_field(c, 0, "context"));
    ASSERT_STR_EQ("\"incr\"", log_field(c, 0, "object"));
    ASSERT_STR_EQ("\"scr\"", log_field(c, 0, "username"));
    ASSERT(strstr(log_field(c, 0, "client-info"), "cmd=eval") != NULL);
    r = it_run(u, "EVAL %s 0", "return redis.call('get','b1')");
    ASSERT(strstr(r, "ACL failure in script: No permissions to access a key") != NULL);
    ASSERT_STR_EQ("\"key\"", log_field(c, 0, "reason"));
    /* redis.acl_check_cmd answers for the caller. */
    EXPECT(u, "1", "EVAL %s 0", "return redis.acl_check_cmd('get','a2')");
    EXPECT(u, "nil", "EVAL %s 0", "return redis.acl_check_cmd('get','b2')");
    EXPECT(u, "nil", "EVAL %s 0", "return redis.acl_check_cmd('set','a2','v')");
    EXPECT(c, "1", "EVAL %s 0", "return redis.acl_check_cmd('set','a2','v')");
    /* EVAL's own keys are checked at dispatch. */
    EXPECT(u, NOPERM_KEY, "EVAL %s 1 b1", "return 1");
    EXPECT(c, "1", "ACL DELUSER scr");
    redisFree(u);
    redisFree(c);
}

/* requirepass is the default user's password (and protected mode's "password set"). */
TEST(requirepass_is_default_password) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET requirepass s3cret");
    ASSERT(strstr(it_run(c, "ACL LIST"), "user default on sanitize-payload #") != NULL);
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    EXPECT_RAW(fd, "AUTH default s3cret\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "ACL WHOAMI\r\n", "$7\r\ndefault\r\n");
    close(fd);
    EXPECT(c, "+OK", "CONFIG SET requirepass %s", "");
    EXPECT(c, "[\"user default on nopass sanitize-payload ~* &* +@all\"]", "ACL LIST");
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(users_and_passwords);
    RUN(session_user);
    RUN(command_rules);
    RUN(key_permissions);
    RUN(dryrun_key_access);
    RUN(selectors);
    RUN(getuser_list_dryrun_cat);
    RUN(acl_log);
    RUN(channels);
    RUN(deluser_closes_sessions);
    RUN(hello_auth);
    RUN(slowlog_redacts_acl_arguments);
    RUN(aclfile_round_trip);
    RUN(config_users);
    RUN(config_rewrite_users);
    RUN(scripts_run_as_the_caller);
    RUN(requirepass_is_default_password);
    it_stop();
    return test_report();
}
