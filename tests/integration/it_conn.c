/* Integration tests: connection commands, protocol handling and pipelining (issue 2). */
#include "integration/harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(ping_echo) {
    redisContext *c = it_client();
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "\"hello\"", "PING hello");
    EXPECT(c, "-ERR wrong number of arguments for 'ping' command", "PING a b");
    EXPECT(c, "\"a\\r\\nb\"", "ECHO %b", "a\r\nb", (size_t)4);
    EXPECT(c, "-ERR wrong number of arguments for 'echo' command", "ECHO");
    redisFree(c);
}

TEST(unknown_command_and_case) {
    redisContext *c = it_client();
    EXPECT(c, "-ERR unknown command 'foo', with args beginning with: 'a' 'b' ", "foo a b");
    EXPECT(c, "-ERR unknown command 'nope', with args beginning with: ", "nope");
    EXPECT(c, "+PONG", "pInG");
    EXPECT(c, "-ERR unknown subcommand 'nope'. Try CLIENT HELP.", "client nope");
    EXPECT(c, "-ERR wrong number of arguments for 'client' command", "CLIENT");
    EXPECT(c, "-ERR wrong number of arguments for 'client|setname' command", "CLIENT SETNAME");
    redisFree(c);
}

TEST(select_db) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "SELECT 15");
    EXPECT(c, "-ERR DB index is out of range", "SELECT 16");
    EXPECT(c, "-ERR value is not an integer or out of range", "SELECT x");
    EXPECT(c, "-ERR DB index is out of range", "SELECT -1");
    redisFree(c);
}

TEST(hello_resp3_raw) {
    int fd = it_raw_connect();
    char buf[4096];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    size_t n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    buf[n] = '\0';
    ASSERT(strncmp(buf, "%7\r\n$6\r\nserver\r\n", 16) == 0);
    ASSERT(strstr(buf, "$5\r\nproto\r\n:3\r\n") != NULL);
    ASSERT(strstr(buf, "$7\r\nmodules\r\n*0\r\n") != NULL);
    /* RESP3 frames from now on: a nil is "_". */
    EXPECT_RAW(fd, "CLIENT GETNAME\r\n", "_\r\n");
    EXPECT_RAW(fd, "CONFIG GET hz\r\n", "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    EXPECT_RAW(fd, "HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n");
    EXPECT_RAW(fd, "HELLO x\r\n", "-ERR Protocol version is not an integer or out of range\r\n");
    EXPECT_RAW(fd, "HELLO 2 FOO\r\n", "-ERR Syntax error in HELLO option 'FOO'\r\n");
    it_raw_send(fd, "HELLO 2\r\n", 9);
    n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    buf[n] = '\0';
    ASSERT(strncmp(buf, "*14\r\n", 5) == 0);
    EXPECT_RAW(fd, "CLIENT GETNAME\r\n", "$-1\r\n");
    close(fd);
}

TEST(client_commands) {
    redisContext *c = it_client();
    long long id = it_int(c, "CLIENT ID");
    ASSERT(id > 0);
    EXPECT(c, "nil", "CLIENT GETNAME");
    EXPECT(c, "+OK", "CLIENT SETNAME worker-1");
    EXPECT(c, "\"worker-1\"", "CLIENT GETNAME");
    EXPECT(c, "-ERR Client names cannot contain spaces, newlines or special characters.",
           "CLIENT SETNAME %s", "a b");
    EXPECT(c, "+OK", "CLIENT SETINFO LIB-NAME mylib");
    EXPECT(c, "+OK", "CLIENT SETINFO lib-ver 1.2.3");
    EXPECT(c, "-ERR Unrecognized option 'foo'", "CLIENT SETINFO foo bar");
    const char *info = it_run(c, "CLIENT INFO");
    ASSERT(strstr(info, "name=worker-1") != NULL);
    ASSERT(strstr(info, "lib-name=mylib lib-ver=1.2.3") != NULL);
    const char *list = it_run(c, "CLIENT LIST");
    ASSERT(strstr(list, "name=worker-1") != NULL);
    EXPECT(c, "+OK", "CLIENT NO-EVICT on");
    EXPECT(c, "+OK", "CLIENT NO-TOUCH off");
    EXPECT(c, "-ERR syntax error", "CLIENT NO-EVICT maybe");
    EXPECT(c, "-1", "CLIENT GETREDIR");
    redisFree(c);
}

/* Issue 21: CLIENT LIST / INFO carry watch= (keys WATCHed) after multi= (commands queued,
 * -1 outside MULTI), as Redis 7.4+ prints them. */
TEST(client_list_watch_and_multi) {
    redisContext *a = it_client(), *b = it_client();
    long long bid = it_int(b, "CLIENT ID");
    ASSERT(strstr(it_run(b, "CLIENT INFO"), " multi=-1 watch=0 qbuf=") != NULL);
    EXPECT(b, "+OK", "WATCH wk1 wk2");
    EXPECT(b, "+OK", "MULTI");
    EXPECT(b, "+QUEUED", "GET wk1");
    ASSERT(strstr(it_run(a, "CLIENT LIST ID %lld", bid), " multi=1 watch=2 qbuf=") != NULL);
    EXPECT(b, "[nil]", "EXEC");
    ASSERT(strstr(it_run(a, "CLIENT LIST ID %lld", bid), " multi=-1 watch=0 qbuf=") != NULL);
    redisFree(a);
    redisFree(b);
}

TEST(client_kill) {
    redisContext *a = it_client(), *b = it_client();
    long long bid = it_int(b, "CLIENT ID");
    EXPECT(a, "1", "CLIENT KILL ID %lld", bid);
    EXPECT(a, "0", "CLIENT KILL ID %lld", bid);
    redisReply *r = redisCommand(b, "PING");
    ASSERT(r == NULL); /* the connection was closed */
    EXPECT(a, "-ERR No such client", "CLIENT KILL 1.2.3.4:5");
    EXPECT(a, "-ERR syntax error", "CLIENT KILL ID 1 SKIPME");
    /* Issue 21: an unknown user is an error, not 0 clients killed. */
    EXPECT(a, "-ERR No such user 'wrong_user'", "CLIENT KILL USER wrong_user");
    EXPECT(a, "0", "CLIENT KILL USER default SKIPME yes ID 999999");
    redisFree(a);
    redisFree(b);
}

TEST(client_reply_off_skip) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "CLIENT REPLY SKIP\r\nPING one\r\nPING two\r\n", "$3\r\ntwo\r\n");
    EXPECT_RAW(fd, "CLIENT REPLY OFF\r\nPING a\r\nPING b\r\nCLIENT REPLY ON\r\nPING c\r\n",
               "+OK\r\n$1\r\nc\r\n");
    close(fd);
}

TEST(quit_closes) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "QUIT\r\n", "+OK\r\n");
    ASSERT(it_raw_closed(fd, 2000));
    close(fd);
}

TEST(reset_restores_defaults) {
    int fd = it_raw_connect();
    char buf[2048];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf), 5000) > 0);
    EXPECT_RAW(fd, "SELECT 3\r\nCLIENT SETNAME x\r\nRESET\r\n", "+OK\r\n+OK\r\n+RESET\r\n");
    EXPECT_RAW(fd, "CLIENT GETNAME\r\n", "$-1\r\n"); /* back to RESP2, no name */
    close(fd);
}

TEST(protocol_errors_close) {
    struct {
        const char *send, *reply;
    } cases[] = {
        {"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
        {"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
        {"*1\r\n+OK\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
        {"*2\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
        {"PING \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
        {"*20\r\n$4\r\nPING\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = it_raw_connect();
        if (i == 5) {
            close(fd);
            continue; /* only applies with requirepass: see auth tests */
        }
        EXPECT_RAW(fd, cases[i].send, cases[i].reply);
        ASSERT(it_raw_closed(fd, 2000));
        close(fd);
    }
    /* Replies to the commands before the bad one are still sent. */
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",
               "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
    ASSERT(it_raw_closed(fd, 2000));
    close(fd);
}

TEST(inline_commands) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "PING\r\n", "+PONG\r\n");
    EXPECT_RAW(fd, "ECHO \"a b\\x41\"\n", "$4\r\na bA\r\n");
    EXPECT_RAW(fd, "\r\n\r\nPING\r\n", "+PONG\r\n"); /* blank lines are skipped */
    close(fd);
}

TEST(pipeline_10000_in_one_write) {
    int fd = it_raw_connect();
    const char *one = "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    size_t len = strlen(one), n = 10000;
    char *req = malloc(len * n);
    for (size_t i = 0; i < n; i++)
        memcpy(req + i * len, one, len);
    it_raw_send(fd, req, len * n);
    const char *rep = "$5\r\nhello\r\n";
    size_t rlen = strlen(rep);
    char *got = malloc(rlen * n);
    size_t r = it_raw_read(fd, got, rlen * n, 10000);
    ASSERT_EQ(rlen * n, r);
    for (size_t i = 0; i < n; i++)
        ASSERT(memcmp(got + i * rlen, rep, rlen) == 0);
    free(req);
    free(got);
    close(fd);
}

/* A pipelined batch is peeked at before it runs (prefetching), and each command runs with
 * the registry entry the peek found for it: in one write, commands of every kind (unknown,
 * lower case, no argument, a subcommand, a bad subcommand, a wrong arity) and an inline
 * one in the middle (peeking stops there) get the replies they get one at a time. */
TEST(pipeline_of_mixed_commands_in_one_write) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "*4\r\n$4\r\nhset\r\n$2\r\nph\r\n$1\r\nf\r\n$1\r\nv\r\n", ":1\r\n");
    static const char *const pairs[][2] = {
        {"*2\r\n$3\r\nFOO\r\n$1\r\nk\r\n",
         "-ERR unknown command 'FOO', with args beginning with: 'k' \r\n"},
        {"*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
        {"*3\r\n$6\r\nconfig\r\n$3\r\nGET\r\n$9\r\nmaxmemory\r\n",
         "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"},
        {"*2\r\n$6\r\nOBJECT\r\n$4\r\nNOPE\r\n",
         "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n"},
        {"*3\r\n$4\r\nhGeT\r\n$2\r\nph\r\n$1\r\nf\r\n", "$1\r\nv\r\n"},
        {"*3\r\n$3\r\nGET\r\n$2\r\nph\r\n$1\r\nz\r\n",
         "-ERR wrong number of arguments for 'get' command\r\n"},
        {"*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n", "$1\r\nx\r\n"},
    };
    size_t npairs = sizeof(pairs) / sizeof(pairs[0]);
    char req[8192], want[8192];
    size_t rl = 0, wl = 0;
    for (int round = 0; round < 5; round++) {
        for (size_t i = 0; i < npairs; i++) {
            const char *q = pairs[(i + (size_t)round) % npairs][0];
            const char *a = pairs[(i + (size_t)round) % npairs][1];
            memcpy(req + rl, q, strlen(q));
            rl += strlen(q);
            memcpy(want + wl, a, strlen(a));
            wl += strlen(a);
        }
        if (round == 2) {
            memcpy(req + rl, "PING\r\n", 6);
            rl += 6;
            memcpy(want + wl, "+PONG\r\n", 7);
            wl += 7;
        }
    }
    it_raw_send(fd, req, rl);
    char got[8192];
    size_t n = it_raw_read(fd, got, wl, 5000);
    ASSERT_EQ(wl, n);
    if (memcmp(got, want, wl) != 0) TEST_FAIL("got %.*s", (int)n, got);
    EXPECT_RAW(fd, "*2\r\n$3\r\nDEL\r\n$2\r\nph\r\n", ":1\r\n");
    close(fd);
}

TEST(byte_by_byte_command) {
    int fd = it_raw_connect();
    const char *cmd = "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n";
    for (size_t i = 0; i < strlen(cmd); i++) {
        it_raw_send(fd, cmd + i, 1);
        it_sleep_ms(1);
    }
    EXPECT_RAW(fd, "", "$3\r\nabc\r\n");
    close(fd);
}

TEST(big_value_100mb) {
    redisContext *c = it_client();
    size_t len = 100u * 1024 * 1024;
    char *v = malloc(len);
    for (size_t i = 0; i < len; i++)
        v[i] = (char)('a' + i % 26);
    redisReply *r = redisCommand(c, "ECHO %b", v, len);
    ASSERT(r && r->type == REDIS_REPLY_STRING && r->len == len && memcmp(r->str, v, len) == 0);
    freeReplyObject(r);
    free(v);
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
}

TEST(disconnect_mid_command) {
    for (int i = 0; i < 20; i++) {
        int fd = it_raw_connect();
        const char *partial = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc";
        it_raw_send(fd, partial, strlen(partial));
        close(fd);
    }
    redisContext *c = it_client();
    EXPECT(c, "+PONG", "PING");
    redisFree(c);
}

TEST(time_and_dbsize) {
    redisContext *c = it_client();
    redisReply *r = redisCommand(c, "TIME");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    ASSERT(atoll(r->element[0]->str) > 1700000000);
    freeReplyObject(r);
    EXPECT(c, "0", "DBSIZE");
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(ping_echo);
    RUN(unknown_command_and_case);
    RUN(select_db);
    RUN(hello_resp3_raw);
    RUN(client_commands);
    RUN(client_kill);
    RUN(client_list_watch_and_multi);
    RUN(client_reply_off_skip);
    RUN(quit_closes);
    RUN(reset_restores_defaults);
    RUN(protocol_errors_close);
    RUN(inline_commands);
    RUN(pipeline_10000_in_one_write);
    RUN(pipeline_of_mixed_commands_in_one_write);
    RUN(byte_by_byte_command);
    RUN(big_value_100mb);
    RUN(disconnect_mid_command);
    RUN(time_and_dbsize);
    it_stop();
    return test_report();
}
