/* it_aof_redis: the append-only log across Mayfly and a real Redis 7.0 (Debian's
 * redis-server, multi-part AOF, RDB 10 preambles). Redis's appendonlydir (RDB or RESP base,
 * RESP increments) loads in Mayfly; Mayfly's appendonlydir (with a RESP base, since Redis 7.0
 * reads RDB up to version 10) passes redis-check-aof and loads in Redis; a Redis 6 style
 * single appendonly.aof (RDB preamble and RESP tail) is moved into the log directory and
 * loaded, as Redis 7 does. The two servers are compared key by key. --check-aof reports as
 * redis-check-aof does (line for line, but for the wording of a problem's detail line) on
 * valid, damaged, truncated and timestamped files and manifests, with --fix and
 * --truncate-to-timestamp, and leaves the same files. */
#include "integration/rdb_util.h"

static void fill(redisContext *c, long long t, int round) {
    it_run(c, "SET s%d v%d", round, round);
    it_run(c, "SET n%d %d", round, round * 1000);
    it_run(c, "INCRBY n%d 5", round);
    it_run(c, "SET ttl%d v PX 3600000", round);
    it_run(c, "PEXPIREAT n%d %lld", round, t + round);
    it_run(c, "HSET h%d a 1 b 2 c %0100d", round, round);
    for (int i = 0; i < 600; i++)
        redisAppendCommand(c, "HSET big%d f%d %d", round, i, i);
    for (int i = 0; i < 600; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) == REDIS_OK) freeReplyObject(r);
    }
    it_run(c, "HDEL big%d f7", round);
    it_run(c, "MULTI");
    it_run(c, "SELECT 4");
    it_run(c, "SET in4_%d x", round);
    it_run(c, "SELECT 0");
    it_run(c, "DEL s%d", round - 1);
    it_run(c, "EXEC");
    it_run(c, "SELECT 2");
    it_run(c, "SET two%d 2", round);
    it_run(c, "SELECT 0");
}

/* Copies a server's log directory into another server's directory. */
static int copy_log_dir(const it_server *from, const it_server *to) {
    char out[4096];
    return ru_shell(out, sizeof(out), "rm -rf '%s/appendonlydir' && cp -r '%s/appendonlydir' '%s/'",
                    to->dir, from->dir, to->dir) == 0
               ? 0
               : -1;
}

static int rewrite_done(redisContext *c) {
    for (int i = 0; i < 1000; i++) {
        if (it_info_field(c, "aof_rewrite_in_progress") == 0 &&
            it_info_field(c, "aof_rewrite_scheduled") == 0)
            return 1;
        it_sleep_ms(10);
    }
    return 0;
}

TEST(redis70_log_loads_in_mayfly) {
    static const char *const preambles[] = {"yes", "no"};
    long long t = pu_now_ms() + 3600000;
    for (int p = 0; p < 2; p++) {
        const char *const rargs[] = {
            "--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble",
            preambles[p],   NULL};
        const char *const margs[] = {"--appendonly", "yes", NULL};
        it_server redis, mayfly;
        it_start_redis(&redis, rargs);
        redisContext *rc = it_client_to(&redis);
        fill(rc, t, 1);
        EXPECT(rc, "+Background append only file rewriting started", "BGREWRITEAOF");
        if (!rewrite_done(rc)) TEST_FAIL("Redis's rewrite never finished");
        fill(rc, t, 2); /* into the increment */
        it_start_server(&mayfly, NULL);
        it_kill_server(&mayfly);
        if (copy_log_dir(&redis, &mayfly) < 0) TEST_FAIL("copy");
        if (!it_restart_server(&mayfly, margs)) TEST_FAIL("Mayfly refused Redis's log");
        redisContext *mc = it_client_to(&mayfly);
        int same = ru_same_dataset(rc, mc, 16);
        redisFree(mc);
        redisFree(rc);
        it_stop_server(&mayfly);
        it_stop_server(&redis);
        if (!same) TEST_FAIL("datasets differ (aof-use-rdb-preamble %s)", preambles[p]);
    }
}

TEST(mayfly_log_loads_in_redis70) {
    long long t = pu_now_ms() + 3600000;
    const char *const margs[] = {"--appendonly",
                                 "yes",
                                 "--appendfsync",
                                 "always",
                                 "--aof-use-rdb-preamble",
                                 "no",
                                 "--aof-timestamp-enabled",
                                 "yes",
                                 NULL};
    const char *const rargs[] = {"--appendonly", "yes", NULL};
    it_server redis, mayfly;
    it_start_server(&mayfly, margs);
    redisContext *mc = it_client_to(&mayfly);
    fill(mc, t, 1);
    EXPECT(mc, "+Background append only file rewriting started", "BGREWRITEAOF");
    if (!rewrite_done(mc)) TEST_FAIL("the rewrite never finished");
    fill(mc, t, 2);
    char manifest[700], out[8192];
    snprintf(manifest, sizeof(manifest), "%s/appendonlydir/appendonly.aof.manifest", mayfly.dir);
    if (ru_shell(out, sizeof(out), "redis-check-aof '%s'", manifest) != 0 ||
        !strstr(out, "All AOF files and manifest are valid"))
        TEST_FAIL("redis-check-aof: %s", out);
    if (!strstr(out, "appendonly.aof.2.base.aof") || !strstr(out, "appendonly.aof.2.incr.aof"))
        TEST_FAIL("file names: %s", out);
    it_start_redis(&redis, NULL);
    it_kill_server(&redis);
    if (copy_log_dir(&mayfly, &redis) < 0) TEST_FAIL("copy");
    if (!it_restart_server(&redis, rargs)) TEST_FAIL("Redis refused Mayfly's log");
    redisContext *rc = it_client_to(&redis);
    int same = ru_same_dataset(mc, rc, 16);
    /* Redis appends to Mayfly's increment, and Mayfly reads what Redis wrote. */
    EXPECT(rc, "+OK", "SET from_redis yes");
    EXPECT(rc, "1", "HSET h1 fromredis 1");
    it_run(rc, "SHUTDOWN NOSAVE");
    redisFree(rc);
    it_wait_exit(&redis, 10000);
    if (!same) TEST_FAIL("datasets differ");
    it_kill_server(&mayfly);
    if (copy_log_dir(&redis, &mayfly) < 0) TEST_FAIL("copy back");
    static const char *const back[] = {"--appendonly", "yes", NULL};
    if (!it_restart_server(&mayfly, back)) TEST_FAIL("Mayfly refused Redis's continuation");
    redisFree(mc);
    mc = it_client_to(&mayfly);
    EXPECT(mc, "\"yes\"", "GET from_redis");
    EXPECT(mc, "\"1\"", "HGET h1 fromredis");
    EXPECT(mc, "\"v2\"", "GET s2");
    redisFree(mc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

TEST(redis6_single_file_log_is_moved_and_loaded) {
    /* Redis 7.0 writes the RDB preamble of such a file: take a base it wrote, and append
     * RESP commands after it, as Redis 4 to 6 did. */
    long long t = pu_now_ms() + 3600000;
    const char *const rargs[] = {"--appendonly", "yes", "--aof-use-rdb-preamble", "yes", NULL};
    it_server redis, mayfly;
    it_start_redis(&redis, rargs);
    redisContext *rc = it_client_to(&redis);
    fill(rc, t, 1);
    EXPECT(rc, "+Background append only file rewriting started", "BGREWRITEAOF");
    if (!rewrite_done(rc)) TEST_FAIL("rewrite");
    it_start_server(&mayfly, NULL);
    it_kill_server(&mayfly);
    char out[4096];
    if (ru_shell(out, sizeof(out), "cat '%s'/appendonlydir/*.base.rdb > '%s/appendonly.aof'",
                 redis.dir, mayfly.dir) != 0)
        TEST_FAIL("copy: %s", out);
    char tail[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$4\r\ntail\r\n$2\r\nok\r\n";
    char path[700];
    snprintf(path, sizeof(path), "%s/appendonly.aof", mayfly.dir);
    FILE *f = fopen(path, "ab");
    if (!f || fwrite(tail, 1, strlen(tail), f) != strlen(tail) || fclose(f) != 0)
        TEST_FAIL("append");
    static const char *const margs[] = {"--appendonly", "yes", NULL};
    if (!it_restart_server(&mayfly, margs)) TEST_FAIL("Mayfly refused the old-style log");
    redisContext *mc = it_client_to(&mayfly);
    EXPECT(mc, "\"ok\"", "GET tail");
    EXPECT(mc, "1", "DEL tail");
    if (!ru_same_dataset(rc, mc, 16)) TEST_FAIL("datasets differ");
    if (!pu_log_has(&mayfly, "Successfully migrated an old-style AOF file"))
        TEST_FAIL("no log line");
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof", mayfly.dir);
    if (pu_file_size(path) <= 0) TEST_FAIL("the file was not moved into the log directory");
    redisFree(mc);
    redisFree(rc);
    it_stop_server(&mayfly);
    it_stop_server(&redis);
}

/* ---- --check-aof against redis-check-aof ---- */

/* Drops the lines that name the exact byte and reason of a problem ("0x<offset>: why"):
 * Mayfly words them its own way; every other line must be redis-check-aof's. */
static void drop_detail_lines(char *s) {
    char *w = s;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (strncmp(line, "0x", 2) != 0) {
            memmove(w, line, len);
            w += len;
        }
        line += len;
    }
    *w = '\0';
}

/* Writes name with content in both directories. */
static int put_both(const char *rdir, const char *mdir, const char *name, const char *content) {
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", rdir, name);
    if (ru_write(path, content, strlen(content)) < 0) return -1;
    snprintf(path, sizeof(path), "%s/%s", mdir, name);
    return ru_write(path, content, strlen(content));
}

/* Runs redis-check-aof ARGS in rdir and Mayfly's checker in mdir (answering "y" to
 * --fix), compares their reports and exit statuses, and the files they leave. */
static int same_report(const char *rdir, const char *mdir, const char *args, const char *file) {
    char rout[8192], mout[8192];
    const char *bin = getenv("MAYFLY_SERVER");
    int rst = ru_shell(rout, sizeof(rout), "cd '%s' && echo y | redis-check-aof %s", rdir, args);
    int mst = ru_shell(mout, sizeof(mout), "cd '%s' && echo y | '%s' --check-aof %s", mdir,
                       bin ? bin : "./mayfly-server", args);
    drop_detail_lines(rout);
    drop_detail_lines(mout);
    if (rst != mst || strcmp(rout, mout) != 0) {
        fprintf(stderr, "redis-check-aof %s (exit %d):\n%s\nMayfly (exit %d):\n%s\n", args, rst,
                rout, mst, mout);
        return 0;
    }
    char rpath[700], mpath[700];
    snprintf(rpath, sizeof(rpath), "%s/%s", rdir, file);
    snprintf(mpath, sizeof(mpath), "%s/%s", mdir, file);
    size_t rlen = 0, mlen = 0;
    char *r = ru_read(rpath, &rlen), *m = ru_read(mpath, &mlen);
    int same = (!r && !m) || (r && m && rlen == mlen && memcmp(r, m, rlen) == 0);
    if (!same) fprintf(stderr, "%s differs after: %s\n", file, args);
    free(r);
    free(m);
    return same;
}

#define SET_FOO "*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$5\r\nhello\r\n"
#define SET_BAR "*3\r\n$3\r\nset\r\n$3\r\nbar\r\n$5\r\nworld\r\n"
#define MULTI "*1\r\n$5\r\nmulti\r\n"
#define EXEC "*1\r\n$4\r\nexec\r\n"
#define TS_SET(ts, n) "#TS:" #ts "\r\n*3\r\n$3\r\nset\r\n$4\r\nfoo" #n "\r\n$4\r\nbar" #n "\r\n"

TEST(check_aof_reports_as_redis_check_aof) {
    char rdir[] = "/tmp/mayfly-chk-XXXXXX", mdir[] = "/tmp/mayfly-chk-XXXXXX", out[256];
    if (!mkdtemp(rdir) || !mkdtemp(mdir)) TEST_FAIL("mkdtemp");
    static const struct {
        const char *file, *content, *args;
    } cases[] = {
        {"ok.aof", SET_FOO SET_BAR MULTI SET_FOO EXEC "#TS:1\r\n", "ok.aof"},
        {"empty.aof", "", "empty.aof"},
        {"bad.aof", SET_FOO "!!!" SET_FOO, "bad.aof"},
        {"short.aof", SET_FOO "*3\r\n$3\r\nset\r\n$3\r\nbar\r\n$5\r\nworl", "short.aof"},
        {"multi.aof", SET_FOO MULTI SET_BAR, "multi.aof"},
        {"exec.aof", SET_FOO EXEC SET_BAR, "exec.aof"},
        {"nested.aof", SET_FOO MULTI SET_BAR MULTI, "nested.aof"},
        {"fixme.aof", SET_FOO SET_BAR "*3\r\n$3\r\nset\r\n$3", "--fix fixme.aof"},
        {"fixmulti.aof", SET_FOO MULTI SET_BAR, "--fix fixmulti.aof"},
        {"ts.aof", TS_SET(1628217470, 1) TS_SET(1628217471, 2) TS_SET(1628217472, 3),
         "--truncate-to-timestamp 1628217480 ts.aof"},
        {"ts.aof", NULL, "--truncate-to-timestamp 1628217471 ts.aof"},
        {"ts.aof", NULL, "--truncate-to-timestamp 1628217469 ts.aof"},
        {"ts.aof", NULL, "--truncate-to-timestamp 16282x ts.aof"},
        {"badts.aof", SET_FOO "#TS:12a\r\n" SET_BAR, "--truncate-to-timestamp 5 badts.aof"},
        {"a.1.base.aof", SET_FOO, "a.1.base.aof"},
        {"a.1.incr.aof", SET_BAR MULTI SET_FOO EXEC, "a.1.incr.aof"},
        {"a.2.incr.aof", TS_SET(1628217470, 1) TS_SET(1628217472, 2), "a.2.incr.aof"},
        {"missing.aof", NULL, "missing.aof"},
        {"a.manifest",
         "file a.1.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i\n"
         "file a.2.incr.aof seq 2 type i\n",
         "a.manifest"},
        {"a.2.incr.aof", NULL, "--truncate-to-timestamp 1628217471 a.manifest"},
        {"a.1.incr.aof", SET_BAR MULTI SET_FOO, "a.manifest"},
        {"a.1.incr.aof", NULL, "--fix a.manifest"},
        {"a.2.incr.aof", SET_FOO "*3\r\n$3\r\nset\r\n$3\r\nbar\r\n$5\r\nworl", "--fix a.manifest"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].content && put_both(rdir, mdir, cases[i].file, cases[i].content) < 0)
            TEST_FAIL("write %s", cases[i].file);
        if (!same_report(rdir, mdir, cases[i].args, cases[i].file))
            TEST_FAIL("case %zu: %s", i, cases[i].args);
    }
    ru_shell(out, sizeof(out), "rm -rf '%s' '%s'", rdir, mdir);
}

int main(void) {
    RUN(redis70_log_loads_in_mayfly);
    RUN(mayfly_log_loads_in_redis70);
    RUN(redis6_single_file_log_is_moved_and_loaded);
    RUN(check_aof_reports_as_redis_check_aof);
    return test_report();
}
