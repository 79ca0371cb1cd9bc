/* it_aof_offline: BGREWRITEAOF with appendonly no writes a log anyway, as in Redis: a base
 * of the dataset under a new manifest, which a later start with appendonly yes loads (field
 * TTLs included) and continues with an increment; a second rewrite replaces the files of
 * the first. */
#include "integration/persist_util.h"

static int exists_in_log_dir(const it_server *s, const char *name) {
    char path[700];
    snprintf(path, sizeof(path), "%s/appendonlydir/%s", s->dir, name);
    return access(path, F_OK) == 0;
}

static int rewrite_and_wait(redisContext *c) {
    if (!it_expect(c, __FILE__, __LINE__, "+Background append only file rewriting started",
                   "BGREWRITEAOF"))
        return 0;
    if (!pu_wait_zero(c, "aof_rewrite_in_progress")) return 0;
    char st[32];
    return strcmp(pu_info_str(c, "aof_last_bgrewrite_status", st, sizeof(st)), "ok") == 0;
}

TEST(bgrewriteaof_without_appendonly_writes_a_log) {
    static const char *const off[] = {"--appendonly", "no", NULL};
    static const char *const on[] = {"--appendonly", "yes", NULL};
    it_server s;
    it_start_server(&s, off);
    redisContext *c = it_client_to(&s);
    long long t = pu_now_ms() + 600000;
    EXPECT(c, "1", "HSETEX h PXAT %lld FIELDS 2 a 1 b 2", t);
    EXPECT(c, "+OK", "SET k v");
    if (!rewrite_and_wait(c)) TEST_FAIL("first rewrite");
    if (!exists_in_log_dir(&s, "appendonly.aof.manifest") ||
        !exists_in_log_dir(&s, "appendonly.aof.1.base.rdb"))
        TEST_FAIL("first rewrite: files missing");
    EXPECT(c, "+OK", "SET k v2");
    if (!rewrite_and_wait(c)) TEST_FAIL("second rewrite");
    if (!exists_in_log_dir(&s, "appendonly.aof.2.base.rdb") ||
        exists_in_log_dir(&s, "appendonly.aof.1.base.rdb"))
        TEST_FAIL("second rewrite did not replace the first");
    if (it_info_field(c, "aof_enabled") != 0) TEST_FAIL("the log is on");
    redisFree(c);
    it_kill_server(&s);
    /* The log alone (no snapshot: the harness runs with save "") brings the data back. */
    if (!it_restart_server(&s, on)) TEST_FAIL("restart with appendonly yes");
    c = it_client_to(&s);
    char want[64];
    snprintf(want, sizeof(want), "[%lld,%lld]", t, t);
    EXPECT(c, want, "HPEXPIRETIME h FIELDS 2 a b");
    EXPECT(c, "\"v2\"", "GET k");
    EXPECT(c, "+OK", "SET after restart");
    if (!exists_in_log_dir(&s, "appendonly.aof.1.incr.aof")) TEST_FAIL("no increment opened");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, on)) TEST_FAIL("second restart");
    c = it_client_to(&s);
    EXPECT(c, "[\"v2\",\"restart\"]", "MGET k after");
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    RUN(bgrewriteaof_without_appendonly_writes_a_log);
    return test_report();
}
