/* it_repl_redis: replication between Mayfly and real Redis peers (Debian's redis-server and
 * redis-cli 7.0).
 *
 *   - Mayfly replicating Redis 7.0: full sync of an RDB 10, the stream, partial resync;
 *     with repl-diskless-load on-empty-db, from the socket (length-prefixed and EOF-marked);
 *   - Redis 7.0 replicating Mayfly: Mayfly sends RDB 10 when no hash has a field TTL (7.0
 *     reads RDB <= 10; RDB 12 is needed only for field TTLs), then the stream and a partial
 *     resync;
 *   - redis-cli --rdb (a backup over the replication protocol), --functions-rdb and
 *     --replica. */
#include "integration/persist_util.h"
#include "integration/repl_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_MS 10000

static void fill(redisContext *c) {
    for (int i = 0; i < 300; i++) {
        redisAppendCommand(c, "SET s%d v%d EX %d", i, i, 1000 + i);
        redisAppendCommand(c, "HSET small%d a %d b x", i % 7, i);
        redisAppendCommand(c, "HSET big f%d %d", i, i);
    }
    for (int i = 0; i < 900; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) == REDIS_OK) freeReplyObject(r);
    }
}

TEST(mayfly_replicates_redis) {
    ru_field_ttls = 0;
    it_server p, r;
    it_start_redis(&p, (const char *const[]){"--repl-diskless-sync-delay", "0", NULL});
    redisContext *pc = it_client_to(&p);
    fill(pc);
    ru_start_replica(&r, &p, NULL);
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("after the full sync");
    /* The stream: Redis 7.0 propagates relative TTLs as absolute ones. */
    EXPECT(pc, "+OK", "SET later 1 PX 100000");
    EXPECT(pc, "1", "EXPIRE big 5000");
    EXPECT(pc, "1", "HDEL big f1");
    EXPECT(pc, "1", "WAIT 1 5000");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("after the stream");
    /* Partial resync. */
    EXPECT(rc, "1", "CLIENT KILL TYPE master");
    EXPECT(pc, "+OK", "SET during 1");
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "\"1\"", "GET during");
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    ASSERT_EQ(1, it_info_field(pc, "sync_partial_ok"));
    redisFree(pc);
    redisFree(rc);
    it_stop_server(&r);
    it_stop_server(&p);
    ru_field_ttls = 1;
}

/* repl-diskless-load on-empty-db with a Redis 7.0 primary, both ways Redis sends the RDB:
 * with its length (repl-diskless-sync no) and EOF-marked (from the socket). */
TEST(mayfly_loads_redis_from_socket) {
    ru_field_ttls = 0;
    const char *diskless[] = {"no", "yes"};
    const char *how[] = {"bytes from master to parser", "with EOF to parser"};
    for (int i = 0; i < 2; i++) {
        it_server p, r;
        it_start_redis(&p, (const char *const[]){"--repl-diskless-sync", diskless[i],
                                                 "--repl-diskless-sync-delay", "0", NULL});
        redisContext *pc = it_client_to(&p);
        fill(pc);
        const char *dl[] = {"--repl-diskless-load", "on-empty-db", NULL};
        ru_start_replica(&r, &p, dl);
        redisContext *rc = it_client_to(&r);
        WAIT_FOR(ru_link_up(rc), SYNC_MS);
        if (!ru_same_dataset(pc, rc)) TEST_FAIL("after the full sync (%s)", how[i]);
        if (!pu_log_has(&r, how[i])) TEST_FAIL("the replica did not log '%s'", how[i]);
        EXPECT(pc, "+OK", "SET after 1");
        EXPECT(pc, "1", "WAIT 1 5000");
        EXPECT(rc, "\"1\"", "GET after");
        redisFree(pc);
        redisFree(rc);
        it_stop_server(&r);
        it_stop_server(&p);
    }
    ru_field_ttls = 1;
}

TEST(redis_replicates_mayfly) {
    ru_field_ttls = 0;
    it_server p, r;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    fill(pc);
    char of[64];
    snprintf(of, sizeof(of), "%d", p.port);
    it_start_redis(&r, (const char *const[]){"--replicaof", "127.0.0.1", of, NULL});
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("after the full sync");
    EXPECT(pc, "+OK", "SET later 1 EX 1000");
    EXPECT(pc, "1", "HSET big new 1");
    EXPECT(pc, "1", "WAIT 1 5000");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("after the stream");
    EXPECT(rc, "1", "CLIENT KILL TYPE master");
    EXPECT(pc, "+OK", "SET during 1");
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "\"1\"", "GET during");
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    ASSERT_EQ(1, it_info_field(pc, "sync_partial_ok"));
    redisFree(pc);
    redisFree(rc);
    it_stop_server(&r);
    it_stop_server(&p);
    ru_field_ttls = 1;
}

/* Runs redis-cli with args, stdout to out_path; returns the exit status (-1: timeout). */
static int run_cli(const char *const *args, const char *out_path, int timeout_ms) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp("redis-cli", (char *const *)args);
        _exit(127);
    }
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        it_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

TEST(redis_cli_rdb_backup) {
    it_server p, copy;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    fill(pc);
    EXPECT(pc, "1", "HSETEX ttl PX 900000 FIELDS 1 f v");
    char port[16], file[300];
    snprintf(port, sizeof(port), "%d", p.port);
    snprintf(file, sizeof(file), "%s/backup.rdb", p.dir);
    char log[300];
    snprintf(log, sizeof(log), "%s/cli.out", p.dir);
    const char *args[] = {"redis-cli", "-p", port, "--rdb", file, NULL};
    ASSERT_EQ(0, run_cli(args, log, 20000));
    /* The backup is a snapshot another server loads: the same dataset, TTLs included. */
    const char *cargs[] = {"--dbfilename", "backup.rdb", "--dir", p.dir, NULL};
    it_start_server(&copy, cargs);
    redisContext *cc = it_client_to(&copy);
    if (!ru_same_dataset(pc, cc)) TEST_FAIL("the backup differs");
    redisFree(cc);
    it_stop_server(&copy);
    redisFree(pc);
    it_stop_server(&p);
}

/* redis-cli --functions-rdb (REPLCONF rdb-filter-only functions): the function libraries
 * and no key. */
TEST(redis_cli_functions_rdb) {
    it_server p, copy;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    EXPECT(pc, "+OK", "SET key 1");
    redisReply *r = redisCommand(pc, "FUNCTION LOAD %s",
                                 "#!lua name=backuplib\n"
                                 "redis.register_function('answer', function() return 42 end)");
    if (!r || r->type != REDIS_REPLY_STRING) TEST_FAIL("FUNCTION LOAD");
    freeReplyObject(r);
    char port[16], file[300], log[300];
    snprintf(port, sizeof(port), "%d", p.port);
    snprintf(file, sizeof(file), "%s/functions.rdb", p.dir);
    snprintf(log, sizeof(log), "%s/cli.out", p.dir);
    const char *args[] = {"redis-cli", "-p", port, "--functions-rdb", file, NULL};
    ASSERT_EQ(0, run_cli(args, log, 20000));
    const char *cargs[] = {"--dbfilename", "functions.rdb", "--dir", p.dir, NULL};
    it_start_server(&copy, cargs);
    redisContext *cc = it_client_to(&copy);
    EXPECT(cc, "0", "DBSIZE");
    EXPECT(cc, "42", "FCALL answer 0");
    redisFree(cc);
    it_stop_server(&copy);
    redisFree(pc);
    it_stop_server(&p);
}

TEST(redis_cli_replica) {
    it_server p;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    EXPECT(pc, "+OK", "SET before 1");
    char port[16], out[300];
    snprintf(port, sizeof(port), "%d", p.port);
    snprintf(out, sizeof(out), "%s/replica.out", p.dir);
    pid_t pid = fork();
    if (pid == 0) {
        const char *args[] = {"redis-cli", "-p", port, "--replica", NULL};
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp("redis-cli", (char *const *)args);
        _exit(127);
    }
    /* It logs the stream once synchronized (it sleeps 1 s before its first ACK). */
    char text[4096] = "";
    for (int waited = 0; waited < 15000 && !strstr(text, "\"streamed\",\"yes\""); waited += 50) {
        redisReply *r = redisCommand(pc, "SET streamed yes");
        if (r) freeReplyObject(r);
        it_sleep_ms(50);
        FILE *f = fopen(out, "r");
        if (f) {
            size_t n = fread(text, 1, sizeof(text) - 1, f);
            text[n] = '\0';
            fclose(f);
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (!strstr(text, "\"streamed\",\"yes\"")) TEST_FAIL("redis-cli --replica: %s", text);
    redisFree(pc);
    it_stop_server(&p);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    RUN(mayfly_replicates_redis);
    RUN(mayfly_loads_redis_from_socket);
    RUN(redis_replicates_mayfly);
    RUN(redis_cli_rdb_backup);
    RUN(redis_cli_functions_rdb);
    RUN(redis_cli_replica);
    return test_report();
}
