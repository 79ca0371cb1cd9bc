/* Integration tests: the connection handshakes real clients send (from
 * /work/shared/clients.md), replayed as raw pipelined bytes, plus an optional run of
 * Debian's redis-py (python3-redis, importable only from /usr/bin/python3), skipped when
 * it is not installed. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sends the pipeline of n commands in one write and returns their n replies (static),
 * waited for at most 5 s. */
static const char *pipeline(int fd, const char *bytes, int n, size_t *len) {
    static char buf[65536];
    it_raw_send(fd, bytes, strlen(bytes));
    *len = it_raw_read_replies(fd, buf, sizeof(buf) - 1, n, 5000);
    buf[*len] = '\0';
    return buf;
}

static int ends_with(const char *s, size_t n, const char *tail) {
    size_t t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

TEST(node_redis_resp3) {
    int fd = it_raw_connect();
    size_t n;
    const char *r =
        pipeline(fd,
                 "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
                 "*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n"
                 "*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$7\r\nLIB-VER\r\n$5\r\n6.3.1\r\n"
                 "*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$8\r\nLIB-NAME\r\n"
                 "$10\r\nnode-redis\r\n"
                 "*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"
                 "$20\r\nmoving-endpoint-type\r\n$11\r\nexternal-ip\r\n",
                 5, &n);
    ASSERT(strncmp(r, "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n", 38) == 0);
    ASSERT(strstr(r, "$5\r\nproto\r\n:3\r\n") != NULL);
    /* SELECT, two SETINFO: +OK each; MAINT_NOTIFICATIONS: exactly one (ignored) error. */
    ASSERT(ends_with(r, n,
                     "*0\r\n+OK\r\n+OK\r\n+OK\r\n-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. "
                     "Try CLIENT HELP.\r\n"));
    it_raw_send(fd, "CLIENT INFO\r\n", 13);
    char buf[2048];
    n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    buf[n] = '\0';
    ASSERT(strstr(buf, " db=5 ") != NULL);
    ASSERT(strstr(buf, " resp=3 lib-name=node-redis lib-ver=6.3.1") != NULL);
    close(fd);
}

TEST(ioredis_lower_case_and_info) {
    int fd = it_raw_connect();
    size_t n;
    const char *r =
        pipeline(fd,
                 "*2\r\n$5\r\nhello\r\n$1\r\n3\r\n"
                 "*2\r\n$6\r\nselect\r\n$1\r\n2\r\n"
                 "*4\r\n$6\r\nclient\r\n$7\r\nSETINFO\r\n$7\r\nLIB-VER\r\n$5\r\n6.0.0\r\n"
                 "*4\r\n$6\r\nclient\r\n$7\r\nSETINFO\r\n$8\r\nLIB-NAME\r\n"
                 "$7\r\nioredis\r\n"
                 "*1\r\n$4\r\ninfo\r\n",
                 5, &n);
    ASSERT(strncmp(r, "%7\r\n", 4) == 0);
    const char *ok3 = strstr(r, "*0\r\n+OK\r\n+OK\r\n+OK\r\n=");
    ASSERT(ok3 != NULL);
    /* INFO is a verbatim string whose text has loading:0 (ioredis's ready check). */
    ASSERT(strstr(ok3, "txt:# Server\r\n") != NULL);
    ASSERT(strstr(ok3, "\r\nloading:0\r\n") != NULL);
    ASSERT(ends_with(r, n, "\r\n\r\n"));
    it_raw_send(fd, "*1\r\n$4\r\nquit\r\n", 14);
    char buf[16];
    n = it_raw_read(fd, buf, 5, 2000);
    ASSERT_MEM_EQ("+OK\r\n", 5, buf, n);
    close(fd);
}

TEST(redis_py_and_hiredis_select) {
    int fd = it_raw_connect();
    EXPECT_RAW(fd, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n", "+OK\r\n");
    EXPECT_RAW(fd, "*2\r\n$6\r\nSELECT\r\n$1\r\n8\r\n", "+OK\r\n");
    /* redis-cli --pipe ends with ECHO of 20 random bytes. */
    EXPECT_RAW(fd, "*2\r\n$4\r\nECHO\r\n$20\r\n0123456789abcdefghij\r\n",
               "$20\r\n0123456789abcdefghij\r\n");
    close(fd);
}

TEST(redis_py_optional) {
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import redis' 2>/dev/null") != 0) {
        fprintf(stderr, "Debian python3-redis not installed: redis-py check skipped\n");
        return;
    }
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "timeout 30 /usr/bin/python3 -c \""
             "import redis\n"
             "r = redis.Redis(host='127.0.0.1', port=%d, db=3, client_name='py')\n"
             "assert r.ping()\n"
             "info = r.info()\n"
             "assert info['loading'] == 0 and 'redis_version' in info, info\n"
             "assert r.info('server')['tcp_port'] == %d\n"
             "assert r.config_get('save') == {'save': ''}\n"
             "assert r.config_get('maxmemory')['maxmemory'] == '0'\n"
             "assert r.client_getname() == 'py'\n"
             "assert r.command_count() > 10\n"
             "assert r.echo('hi') == b'hi'\n"
             "\" 2>&1",
             it_srv.port, it_srv.port);
    int rc = system(cmd);
    ASSERT_EQ(0, rc);
}

/* CLIENT INFO/LIST cmd= names the command being run, with its container (client|info),
 * as Redis does (its c->lastcmd is set before the call). redis-py's client_info() showed
 * the previous command instead, and "info" for a subcommand. */
TEST(client_list_cmd_is_current_full_name) {
    redisContext *a = it_client();
    redisContext *b = it_client();
    ASSERT(strstr(it_run(a, "CLIENT INFO"), " cmd=client|info ") != NULL);
    long long id = it_int(a, "CLIENT ID");
    EXPECT(a, "+OK", "SET cmdname v");
    char listing[4096];
    snprintf(listing, sizeof(listing), "%s", it_run(b, "CLIENT LIST ID %lld", id));
    ASSERT(strstr(listing, " cmd=set ") != NULL);
    EXPECT(a, "-ERR unknown command 'NOSUCH', with args beginning with: ", "NOSUCH");
    ASSERT(strstr(it_run(b, "CLIENT LIST ID %lld", id), " cmd=NULL ") != NULL);
    ASSERT(strstr(it_run(b, "CLIENT INFO"), " cmd=client|info ") != NULL);
    redisFree(a);
    redisFree(b);
}

int main(void) {
    it_start(NULL);
    RUN(node_redis_resp3);
    RUN(ioredis_lower_case_and_info);
    RUN(redis_py_and_hiredis_select);
    RUN(redis_py_optional);
    RUN(client_list_cmd_is_current_full_name);
    it_stop();
    return test_report();
}
