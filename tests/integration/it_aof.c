/* it_aof: details of the Redis-format append-only log: a MULTI left without its EXEC at the
 * end of the log is dropped and cut off; aof-timestamp-enabled writes #TS annotations that
 * loading and --check-aof skip; --check-aof reads a manifest whose base is an RDB file; the
 * manifest is Redis's syntax; a file the manifest lists but the directory lacks refuses the
 * start; a log directory written by Mayfly 0.1 is loaded and rewritten
 * in Redis's format. Restarts, rewrites, truncation and damage are in it_persist.c. */
#include "integration/rdb_util.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static const char *const aof_args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};

static int append(const char *path, const char *s) {
    FILE *f = fopen(path, "ab");
    int ok = f && fwrite(s, 1, strlen(s), f) == strlen(s);
    if (f && fclose(f) != 0) ok = 0;
    return ok;
}

TEST(unfinished_multi_at_the_end_is_dropped) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET kept 1");
    redisFree(c);
    it_kill_server(&s);
    char incr[700];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no manifest");
    long long good = pu_file_size(incr);
    if (!append(incr, "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$1\r\n1\r\n"))
        TEST_FAIL("append");
    char out[4096];
    if (pu_check_aof(incr, 0, out, sizeof(out)) != 1 ||
        !strstr(out, "Reached EOF before reading EXEC for MULTI"))
        TEST_FAIL("check-aof: %s", out);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "\"1\"", "GET kept");
    EXPECT(c, "nil", "GET lost");
    if (!pu_log_has(&s, "Revert incomplete MULTI/EXEC transaction")) TEST_FAIL("no warning");
    if (pu_file_size(incr) != good) TEST_FAIL("the MULTI was not cut off");
    EXPECT(c, "+OK", "SET after 2");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart 2");
    c = it_client_to(&s);
    EXPECT(c, "[\"1\",\"2\",nil]", "MGET kept after lost");
    redisFree(c);
    it_stop_server(&s);
}

TEST(timestamps_manifest_syntax_and_check) {
    static const char *const args[] = {"--appendonly", "yes", "--aof-timestamp-enabled", "yes",
                                       NULL};
    it_server s;
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET a 1");
    EXPECT(c, "1", "HSETEX h PX 600000 FIELDS 1 f v");
    EXPECT(c, "+OK", "SET b 2");
    redisFree(c);
    it_kill_server(&s);
    char incr[700], manifest[700], out[8192];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no manifest");
    size_t len;
    char *log = ru_read(incr, &len);
    if (!log || strncmp(log, "#TS:", 4) != 0) TEST_FAIL("no timestamp annotation first");
    free(log);
    snprintf(manifest, sizeof(manifest), "%s/appendonlydir/appendonly.aof.manifest", s.dir);
    char *m = ru_read(manifest, &len);
    if (!m || strcmp(m, "file appendonly.aof.1.base.rdb seq 1 type b\n"
                        "file appendonly.aof.1.incr.aof seq 1 type i\n") != 0)
        TEST_FAIL("manifest: %s", m ? m : "(none)");
    free(m);
    if (pu_check_aof(manifest, 0, out, sizeof(out)) != 0 || !strstr(out, "RDB preamble is OK") ||
        !strstr(out, "All AOF files and manifest are valid"))
        TEST_FAIL("check-aof: %s", out);
    if (!it_restart_server(&s, args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "[\"1\",\"2\"]", "MGET a b");
    EXPECT(c, "\"v\"", "HGET h f");
    redisFree(c);
    it_stop_server(&s);
}

TEST(a_listed_file_missing_refuses_to_start) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET kept 1");
    redisFree(c);
    it_kill_server(&s);
    char manifest[700];
    snprintf(manifest, sizeof(manifest), "%s/appendonlydir/appendonly.aof.manifest", s.dir);
    size_t len;
    char *m = ru_read(manifest, &len);
    if (!m) TEST_FAIL("no manifest");
    if (!append(manifest, "file appendonly.aof.9.incr.aof seq 9 type i\n")) TEST_FAIL("append");
    /* Nothing is served without the commands of the missing file; the log names it as
     * Redis's does. */
    if (it_restart_server(&s, aof_args)) TEST_FAIL("started without a listed file");
    if (!pu_log_has(&s, "Unable to obtain the AOF file appendonly.aof.9.incr.aof length. "
                        "stat: No such file or directory"))
        TEST_FAIL("the log does not name the missing file");
    if (ru_write(manifest, m, len) < 0) TEST_FAIL("restore the manifest");
    free(m);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "\"1\"", "GET kept");
    redisFree(c);
    it_stop_server(&s);
}

/* ---- a log directory of Mayfly 0.1 ---- */

static void leb(buf *b, unsigned long long v) {
    while (v >= 0x80) {
        buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    buf_putc(b, (char)v);
}

static void le_bytes(buf *b, unsigned long long v, int n) {
    for (int i = 0; i < n; i++)
        buf_putc(b, (char)(v >> (8 * i)));
}

/* One record of the old log: len, ~len, check, payload (persist/legacy.c). */
static void old_record(buf *b, long long t, int dbid, int argc, const char *const *argv) {
    buf p;
    buf_init(&p);
    leb(&p, (unsigned long long)t);
    leb(&p, (unsigned long long)dbid);
    leb(&p, (unsigned long long)argc);
    for (int i = 0; i < argc; i++) {
        leb(&p, strlen(argv[i]));
        buf_puts(&p, argv[i]);
    }
    uint32_t len = (uint32_t)p.len;
    le_bytes(b, len, 4);
    le_bytes(b, ~len, 4);
    le_bytes(b, (uint32_t)XXH3_64bits_withSeed(p.data, p.len, len), 4);
    buf_append(b, p.data, p.len);
    buf_deinit(&p);
}

TEST(mayfly_0_1_log_directory_is_converted) {
    long long now = pu_now_ms(), t = now + 3600000;
    it_server s;
    it_start_server(&s, NULL);
    it_kill_server(&s);
    char dir[700], path[800];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", s.dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/appendonly.aof.manifest", dir);
    static const char man[] = "# mayfly append-only manifest\n"
                              "file appendonly.aof.3.incr.log seq 3 type i\n";
    if (ru_write(path, man, strlen(man)) < 0) TEST_FAIL("manifest");
    buf b;
    buf_init(&b);
    buf_append(&b, "MAYFLYLG\x01", 9);
    le_bytes(&b, (unsigned long long)now, 8);
    const char *set[] = {"set", "k", "v"};
    const char *hset[] = {"hsetex", "h", "PXAT", NULL, "FIELDS", "1", "f", "x"};
    char when[32];
    snprintf(when, sizeof(when), "%lld", t);
    hset[3] = when;
    const char *sel[] = {"set", "in3", "y"};
    old_record(&b, now, 0, 3, set);
    old_record(&b, now, 0, 8, hset);
    old_record(&b, now, 3, 3, sel);
    snprintf(path, sizeof(path), "%s/appendonly.aof.3.incr.log", dir);
    if (ru_write(path, b.data, b.len) < 0) TEST_FAIL("log");
    buf_deinit(&b);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("start on the old directory");
    redisContext *c = it_client_to(&s);
    char want[48];
    snprintf(want, sizeof(want), "[%lld]", t);
    EXPECT(c, "\"v\"", "GET k");
    EXPECT(c, want, "HPEXPIRETIME h FIELDS 1 f");
    EXPECT(c, "+OK", "SELECT 3");
    EXPECT(c, "\"y\"", "GET in3");
    EXPECT(c, "+OK", "SELECT 0");
    EXPECT(c, "+OK", "SET after conversion");
    redisFree(c);
    it_kill_server(&s);
    snprintf(path, sizeof(path), "%s/appendonly.aof.manifest", dir);
    size_t len;
    char *m = ru_read(path, &len);
    if (!m || !strstr(m, "file appendonly.aof.1.base.rdb seq 1 type b") ||
        !strstr(m, "file appendonly.aof.4.incr.aof seq 4 type i") || strstr(m, "mayfly"))
        TEST_FAIL("manifest after conversion: %s", m ? m : "(none)");
    free(m);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "[\"v\",\"conversion\"]", "MGET k after");
    redisFree(c);
    it_stop_server(&s);
}

/* Reads the whole file at path into out (NUL-terminated); returns its length, -1 on error. */
static long read_file(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    return (long)n;
}

/* Effects are logged as Redis propagates them: GETEX ... PERSIST as PERSIST; the lazy
 * deletions of a SCAN or RANDOMKEY one by one, not wrapped in MULTI/EXEC (Redis's
 * CMD_TOUCHES_ARBITRARY_KEYS), while a transaction and a command of several effects after
 * them are still wrapped. */
TEST(effects_logged_as_redis_propagates_them) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(c, "+OK", "SET t v EX 100");
    EXPECT(c, "\"v\"", "GETEX t PERSIST");
    EXPECT(c, "-1", "TTL t");
    EXPECT(c, "\"v\"", "GETEX t PERSIST"); /* no TTL left: no effect, nothing logged */
    EXPECT(c, "+OK", "SET s1 v PX 1000");
    EXPECT(c, "+OK", "SET s2 v PX 1000");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 5000");
    EXPECT(c, "[\"0\",[\"t\"]]", "SCAN 0");
    EXPECT(c, "+OK", "SELECT 1"); /* only keys past their TTL: RANDOMKEY reaps both */
    EXPECT(c, "+OK", "SET r1 v PX 1000");
    EXPECT(c, "+OK", "SET r2 v PX 1000");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 10000");
    EXPECT(c, "nil", "RANDOMKEY");
    EXPECT(c, "0", "DBSIZE");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SET m1 v");
    EXPECT(c, "+QUEUED", "SET m2 v");
    EXPECT(c, "[+OK,+OK]", "EXEC");
    EXPECT(c, "+OK", "MSET a 1 b 2");
    redisFree(c);
    char incr[700], log[8192];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no manifest");
    long n = read_file(incr, log, sizeof(log));
    it_stop_server(&s);
    if (n < 0) TEST_FAIL("read %s", incr);
    const char *persist = "*2\r\n$7\r\npersist\r\n$1\r\nt\r\n";
    const char *p = strstr(log, persist);
    if (!p || strstr(p + 1, persist)) TEST_FAIL("one PERSIST t expected:\n%s", log);
    if (strstr(log, "GETEX") || strstr(log, "getex")) TEST_FAIL("GETEX logged:\n%s", log);
    /* The four deletions, each alone, then one MULTI for the transaction's two SETs. */
    const char *m = strstr(log, "MULTI");
    if (!m) m = strstr(log, "multi");
    if (!m || strstr(m + 1, "MULTI") || strstr(m + 1, "multi"))
        TEST_FAIL("one MULTI expected:\n%s", log);
    const char *keys[] = {"s1", "s2", "r1", "r2"};
    for (int i = 0; i < 4; i++) {
        char del[64];
        snprintf(del, sizeof(del), "\r\n$3\r\ndel\r\n$2\r\n%s\r\n", keys[i]);
        const char *d = strstr(log, del);
        if (!d || d > m) TEST_FAIL("DEL %s missing or inside the MULTI:\n%s", keys[i], log);
    }
    if (!strstr(m, "m1") || !strstr(m, "m2") || !strstr(m, "exec")) TEST_FAIL("%s", log);
}

int main(void) {
    RUN(unfinished_multi_at_the_end_is_dropped);
    RUN(timestamps_manifest_syntax_and_check);
    RUN(a_listed_file_missing_refuses_to_start);
    RUN(mayfly_0_1_log_directory_is_converted);
    RUN(effects_logged_as_redis_propagates_them);
    return test_report();
}
