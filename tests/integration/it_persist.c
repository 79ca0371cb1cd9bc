/* it_persist: snapshots and the append-only log across restarts: SHUTDOWN saves, TTLs
 * come back exactly, expired keys do not, the log survives rewrites, a truncated tail is
 * cut off, a corrupt middle stops the start and --check-aof finds and fixes it, and a
 * failed save turns writes into -MISCONF. Crash tests under load are in it_persist_crash.c. */
#include "integration/rdb_util.h"

static const char *const snap_args[] = {"--save", "3600 1", NULL};
static const char *const aof_args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};

/* Writes keys whose deadlines are absolute and known, and one already due once the clock
 * is put right (written while the server's clock runs 20 s behind). */
static int write_ttl_keys(redisContext *c, long long *deadline) {
    *deadline = pu_now_ms() + 600000;
    if (it_int(c, "SET plain v") == LLONG_MIN && strcmp(it_run(c, "SET plain v"), "+OK") != 0)
        return 0;
    it_run(c, "SET exact v PXAT %lld", *deadline);
    it_run(c, "SET rel v");
    it_run(c, "PEXPIREAT rel %lld", *deadline + 1);
    it_run(c, "DEBUG CLOCK-OFFSET -20000");
    it_run(c, "SET gone v PX 5000");   /* deadline = real now - 15 s */
    it_run(c, "SET stays v PX 60000"); /* deadline = real now + 40 s */
    it_run(c, "INCRBYFLOAT f 1.5");
    it_run(c, "DEBUG CLOCK-OFFSET 0");
    return 1;
}

static int check_ttl_keys(redisContext *c, long long deadline) {
    char want[64];
    snprintf(want, sizeof(want), "%lld", deadline);
    if (!it_expect(c, __FILE__, __LINE__, "\"v\"", "GET plain")) return 0;
    if (!it_expect(c, __FILE__, __LINE__, want, "PEXPIRETIME exact")) return 0;
    snprintf(want, sizeof(want), "%lld", deadline + 1);
    if (!it_expect(c, __FILE__, __LINE__, want, "PEXPIRETIME rel")) return 0;
    if (!it_expect(c, __FILE__, __LINE__, "nil", "GET gone")) return 0;
    if (!it_expect(c, __FILE__, __LINE__, "\"v\"", "GET stays")) return 0;
    if (!it_expect(c, __FILE__, __LINE__, "\"1.5\"", "GET f")) return 0;
    long long ttl = it_int(c, "PTTL stays");
    if (ttl < 30000 || ttl > 40000) {
        fprintf(stderr, "PTTL stays = %lld\n", ttl);
        return 0;
    }
    return 1;
}

TEST(snapshot_on_shutdown_keeps_exact_ttls) {
    it_server s;
    it_start_server(&s, snap_args);
    redisContext *c = it_client_to(&s);
    long long deadline;
    if (!write_ttl_keys(c, &deadline)) TEST_FAIL("setup");
    redisReply *r = redisCommand(c, "SHUTDOWN");
    if (r) freeReplyObject(r);
    redisFree(c);
    if (it_wait_exit(&s, 10000) != 0) TEST_FAIL("server did not exit cleanly");
    if (!it_restart_server(&s, snap_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    int ok = check_ttl_keys(c, deadline);
    long long loaded = it_info_field(c, "rdb_last_load_keys_loaded");
    long long expired = it_info_field(c, "rdb_last_load_keys_expired");
    redisFree(c);
    it_stop_server(&s);
    if (!ok) TEST_FAIL("values or TTLs differ after restart");
    /* 'gone' is past its deadline: written to the file as Redis writes such a key and
     * dropped at load (expired 1), unless active expiry reaped it before SHUTDOWN. */
    if (loaded != 5 || expired > 1) TEST_FAIL("loaded %lld expired %lld", loaded, expired);
}

TEST(shutdown_nosave_and_sigterm) {
    it_server s;
    it_start_server(&s, snap_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET a 1");
    redisReply *r = redisCommand(c, "SHUTDOWN NOSAVE");
    if (r) freeReplyObject(r);
    redisFree(c);
    if (it_wait_exit(&s, 10000) != 0) TEST_FAIL("exit");
    if (!it_restart_server(&s, snap_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "0", "EXISTS a");
    EXPECT(c, "+OK", "SET b 2");
    redisFree(c);
    kill(s.pid, SIGTERM); /* SIGTERM saves too */
    if (it_wait_exit(&s, 10000) != 0) TEST_FAIL("exit after SIGTERM");
    if (!it_restart_server(&s, snap_args)) TEST_FAIL("restart 2");
    c = it_client_to(&s);
    EXPECT(c, "\"2\"", "GET b");
    redisFree(c);
    it_stop_server(&s);
}

/* Issue 21: shutdown-on-sigterm / shutdown-on-sigint give the signal SHUTDOWN's flags:
 * "nosave" drops what a default SIGTERM would have saved; "save" saves without save
 * points. Set live with CONFIG SET, as Redis allows. */
TEST(shutdown_on_signal_flags) {
    it_server s;
    it_start_server(&s, snap_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET kept 1");
    EXPECT(c, "+OK", "SAVE");
    EXPECT(c, "+OK", "SET dropped 1");
    EXPECT(c, "+OK", "CONFIG SET shutdown-on-sigterm nosave");
    redisFree(c);
    kill(s.pid, SIGTERM);
    if (it_wait_exit(&s, 10000) != 0) TEST_FAIL("exit after SIGTERM");
    static const char *const nosnap[] = {"--save", "", NULL};
    if (!it_restart_server(&s, nosnap)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "1", "EXISTS kept");
    EXPECT(c, "0", "EXISTS dropped");
    EXPECT(c, "+OK", "SET saved 1");
    EXPECT(c, "+OK", "CONFIG SET shutdown-on-sigint save");
    redisFree(c);
    kill(s.pid, SIGINT);
    if (it_wait_exit(&s, 10000) != 0) TEST_FAIL("exit after SIGINT");
    if (!it_restart_server(&s, nosnap)) TEST_FAIL("restart 2");
    c = it_client_to(&s);
    EXPECT(c, "1", "EXISTS saved");
    redisFree(c);
    it_stop_server(&s);
}

/* FLUSHALL saves the empty dataset at once when save points are set (Redis's
 * flushAllDataAndResetRDB), leaving no change unsaved; without save points it counts as a
 * change. Redis 7.0 answers the same. The snapshot it writes is empty: a restart finds
 * nothing, not the key an earlier SAVE wrote. */
TEST(flushall_saves_when_save_points_are_set) {
    it_server redis;
    it_start_redis(&redis, NULL);
    it_server s;
    it_start_server(&s, NULL);
    redisContext *cs[2] = {it_client_to(&redis), it_client_to(&s)};
    for (int i = 0; i < 2; i++) {
        redisContext *c = cs[i];
        EXPECT(c, "+OK", "CONFIG SET save %s", "");
        EXPECT(c, "+OK", "SET key value");
        EXPECT(c, "+OK", "FLUSHALL");
        if (it_info_field(c, "rdb_changes_since_last_save") <= 0) TEST_FAIL("no save points");
        EXPECT(c, "+OK", "SET kept value");
        EXPECT(c, "+OK", "SAVE"); /* the snapshot holds kept until FLUSHALL's own */
        EXPECT(c, "+OK", "CONFIG SET save %s", "3600 1 300 100 60 10000");
        EXPECT(c, "+OK", "SET key value");
        EXPECT(c, "+OK", "FLUSHALL");
        if (it_info_field(c, "rdb_changes_since_last_save") != 0) TEST_FAIL("save points (%d)", i);
    }
    redisFree(cs[0]);
    redisFree(cs[1]);
    if (!it_restart_server(&s, NULL)) TEST_FAIL("restart");
    redisContext *c = it_client_to(&s);
    EXPECT(c, "0", "DBSIZE");
    redisFree(c);
    it_stop_server(&s);
    it_stop_server(&redis);
}

/* FLUSHALL stops a BGSAVE that is writing (it would save the flushed keys) even without
 * save points, and the stopped save is not counted as failed; beside Redis 7.0, slowed down
 * by rdb-key-save-delay (1 ms a key: 2 s for the 2000 keys). */
TEST(flushall_stops_a_bgsave) {
    it_server redis;
    it_start_redis(&redis, NULL);
    it_server s;
    it_start_server(&s, NULL);
    redisContext *cs[2] = {it_client_to(&redis), it_client_to(&s)};
    for (int i = 0; i < 2; i++) {
        redisContext *c = cs[i];
        EXPECT(c, "+OK", "CONFIG SET save %s", "");
        EXPECT(c, "+OK", "DEBUG POPULATE 2000");
        EXPECT(c, "+OK", "SET one more");
        EXPECT(c, "+OK", "CONFIG SET rdb-key-save-delay 1000");
        EXPECT(c, "+Background saving started", "BGSAVE");
        if (it_info_field(c, "rdb_bgsave_in_progress") != 1) TEST_FAIL("no save running (%d)", i);
        EXPECT(c, "+OK", "FLUSHALL");
        int n = 0;
        while (it_info_field(c, "rdb_bgsave_in_progress") != 0 && n++ < 50)
            it_sleep_ms(20);
        if (n > 50) TEST_FAIL("the save was not stopped (%d)", i);
        const char *info = it_run(c, "INFO persistence");
        if (!strstr(info, "rdb_last_bgsave_status:ok")) TEST_FAIL("counted as failed (%d)", i);
        if (it_info_field(c, "rdb_changes_since_last_save") <= 0) TEST_FAIL("changes (%d)", i);
        EXPECT(c, "+OK", "CONFIG SET rdb-key-save-delay 0");
        EXPECT(c, "+Background saving started", "BGSAVE");
    }
    redisFree(cs[0]);
    redisFree(cs[1]);
    it_stop_server(&s);
    it_stop_server(&redis);
}

TEST(save_bgsave_lastsave_info) {
    it_server s;
    it_start_server(&s, snap_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET a 1");
    if (it_info_field(c, "rdb_changes_since_last_save") != 1) TEST_FAIL("dirty");
    EXPECT(c, "+OK", "SAVE");
    if (it_info_field(c, "rdb_changes_since_last_save") != 0) TEST_FAIL("dirty after SAVE");
    long long last = it_int(c, "LASTSAVE");
    if (last < pu_now_ms() / 1000 - 5) TEST_FAIL("LASTSAVE %lld", last);
    EXPECT(c, "+OK", "SET b 2");
    EXPECT(c, "+Background saving started", "BGSAVE");
    if (!pu_wait_zero(c, "rdb_bgsave_in_progress")) TEST_FAIL("bgsave never finished");
    char st[32];
    if (strcmp(pu_info_str(c, "rdb_last_bgsave_status", st, sizeof(st)), "ok") != 0)
        TEST_FAIL("status %s", st);
    if (it_info_field(c, "rdb_saves") != 2) TEST_FAIL("rdb_saves");
    if (it_info_field(c, "loading") != 0) TEST_FAIL("loading");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, snap_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "\"2\"", "GET b");
    redisFree(c);
    it_stop_server(&s);
}

TEST(failed_bgsave_gives_misconf) {
    it_server s;
    /* dir is a protected config, as in Redis 7: CONFIG SET needs it enabled. */
    static const char *const args[] = {"--enable-protected-configs", "yes", "--save", "3600 1",
                                       NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET a 1");
    EXPECT(c, "+OK", "CONFIG SET dir /nonexistent-mayfly-dir");
    EXPECT(c, "+Background saving started", "BGSAVE");
    if (!pu_wait_zero(c, "rdb_bgsave_in_progress")) TEST_FAIL("bgsave never finished");
    char st[32];
    if (strcmp(pu_info_str(c, "rdb_last_bgsave_status", st, sizeof(st)), "err") != 0)
        TEST_FAIL("status %s", st);
    const char *r = it_run(c, "SET a 2");
    if (strncmp(r, "-MISCONF ", 9) != 0) TEST_FAIL("SET replied %s", r);
    EXPECT(c, "\"1\"", "GET a"); /* reads keep working */
    EXPECT(c, "+OK", "CONFIG SET dir %s", s.dir);
    EXPECT(c, "+OK", "SAVE");
    EXPECT(c, "+OK", "SET a 2");
    redisFree(c);
    it_stop_server(&s);
}

TEST(aof_keeps_exact_ttls_and_effects) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    long long deadline;
    if (!write_ttl_keys(c, &deadline)) TEST_FAIL("setup");
    EXPECT(c, "+OK", "SET k v EX 1000");
    EXPECT(c, "1", "EXPIRE k 2000");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "INCR n");
    EXPECT(c, "+QUEUED", "INCR n");
    EXPECT(c, "[1,2]", "EXEC");
    long long kexp = it_int(c, "PEXPIRETIME k");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    int ok = check_ttl_keys(c, deadline);
    char want[32];
    snprintf(want, sizeof(want), "%lld", kexp);
    EXPECT(c, want, "PEXPIRETIME k");
    EXPECT(c, "\"2\"", "GET n");
    redisFree(c);
    it_stop_server(&s);
    if (!ok) TEST_FAIL("values or TTLs differ after restart");
}

TEST(rewrite_then_crash) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    for (int i = 0; i < 1000; i++)
        redisAppendCommand(c, "SET k%d %d", i, i);
    for (int i = 0; i < 1000; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) TEST_FAIL("pipeline");
        freeReplyObject(r);
    }
    EXPECT(c, "1", "DEL k0");
    EXPECT(c, "+Background append only file rewriting started", "BGREWRITEAOF");
    for (int i = 1000; i < 1100; i++)
        EXPECT(c, "+OK", "SET k%d %d", i, i);
    if (!pu_wait_zero(c, "aof_rewrite_in_progress")) TEST_FAIL("rewrite never finished");
    if (it_info_field(c, "aof_rewrites") != 1) TEST_FAIL("aof_rewrites");
    EXPECT(c, "+OK", "SET after rewrite");
    redisFree(c);
    it_kill_server(&s);
    char incr[700];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no manifest");
    if (!strstr(incr, "appendonly.aof.2.incr.aof")) TEST_FAIL("increment %s", incr);
    char old[700];
    snprintf(old, sizeof(old), "%s/appendonlydir/appendonly.aof.1.incr.aof", s.dir);
    if (pu_file_size(old) >= 0) TEST_FAIL("the old increment was not removed");
    snprintf(old, sizeof(old), "%s/appendonlydir/appendonly.aof.1.base.rdb", s.dir);
    if (pu_file_size(old) >= 0) TEST_FAIL("the old base was not removed");
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "1100", "DBSIZE"); /* k1..k1099 and after */
    EXPECT(c, "\"rewrite\"", "GET after");
    EXPECT(c, "nil", "GET k0");
    EXPECT(c, "\"1050\"", "GET k1050");
    redisFree(c);
    it_stop_server(&s);
}

TEST(truncated_tail_is_cut_off) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    for (int i = 0; i < 10; i++)
        EXPECT(c, "+OK", "SET k%d %d", i, i);
    redisFree(c);
    it_kill_server(&s);
    char incr[700], out[4096];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no manifest");
    long long size = pu_file_size(incr);
    if (truncate(incr, size - 3) < 0) TEST_FAIL("truncate");
    if (pu_check_aof(incr, 0, out, sizeof(out)) != 1 ||
        !strstr(out, "the log ends inside a command") ||
        !strstr(out, "is not valid. Use the --fix option"))
        TEST_FAIL("check-aof said: %s", out);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "9", "DBSIZE");
    EXPECT(c, "nil", "GET k9");
    EXPECT(c, "+OK", "SET k9 again");
    redisFree(c);
    if (!pu_log_has(&s, "Truncating the AOF")) TEST_FAIL("no warning in the log");
    it_kill_server(&s);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart 2");
    c = it_client_to(&s);
    EXPECT(c, "\"again\"", "GET k9");
    redisFree(c);
    it_stop_server(&s);
}

TEST(corrupt_middle_refuses_to_start) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    for (int i = 0; i < 20; i++)
        EXPECT(c, "+OK", "SET key%d value%d", i, i);
    redisFree(c);
    it_kill_server(&s);
    char incr[700], out[4096];
    if (pu_last_incr(&s, incr, sizeof(incr)) < 0) TEST_FAIL("no manifest");
    /* The log is RESP with no checksum (as Redis's): damage its structure, the '*' that
     * starts a command in the middle. */
    size_t size;
    char *data = ru_read(incr, &size);
    if (!data) TEST_FAIL("read");
    char *star = strstr(data + size / 2, "\r\n*");
    if (!star) TEST_FAIL("no command in the second half");
    star[2] = '!';
    if (ru_write(incr, data, size) < 0) TEST_FAIL("write");
    free(data);
    if (it_restart_server(&s, aof_args)) TEST_FAIL("started with a corrupt log");
    if (s.exit_status != 1) TEST_FAIL("exit status %d", s.exit_status);
    if (!pu_log_has(&s, "Bad file format reading the append only file") ||
        !pu_log_has(&s, "at offset"))
        TEST_FAIL("the log does not name the file and offset");
    if (pu_check_aof(incr, 0, out, sizeof(out)) != 1 || !strstr(out, "format error") ||
        !strstr(out, "is not valid. Use the --fix option"))
        TEST_FAIL("check-aof said: %s", out);
    if (pu_check_aof(incr, 1, out, sizeof(out)) != 0 || !strstr(out, "Successfully truncated"))
        TEST_FAIL("check-aof --fix said: %s", out);
    if (pu_check_aof(incr, 0, out, sizeof(out)) != 0) TEST_FAIL("still bad: %s", out);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart after fix");
    c = it_client_to(&s);
    long long n = it_int(c, "DBSIZE");
    if (n < 5 || n >= 20) TEST_FAIL("DBSIZE %lld after the fix", n);
    EXPECT(c, "\"value0\"", "GET key0");
    redisFree(c);
    it_stop_server(&s);
}

TEST(enable_aof_at_runtime) {
    it_server s;
    it_start_server(&s, NULL);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET before 1");
    EXPECT(c, "+OK", "CONFIG SET appendonly yes");
    EXPECT(c, "+OK", "SET during 2");
    if (!pu_wait_zero(c, "aof_rewrite_in_progress")) TEST_FAIL("rewrite never finished");
    for (int i = 0; i < 100 && it_info_field(c, "aof_rewrite_scheduled") != 0; i++)
        it_sleep_ms(20);
    EXPECT(c, "+OK", "SET after 3");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "[\"1\",\"2\",\"3\"]", "MGET before during after");
    redisFree(c);
    it_stop_server(&s);
}

/* Issue 21: inside EXEC a fork is never started mid-transaction; BGREWRITEAOF answers
 * "scheduled" and CONFIG SET appendonly yes logs that its rewrite was scheduled, and the
 * cron starts them right after (INFO total_forks counts each fork). */
TEST(transaction_schedules_forks) {
    it_server s;
    it_start_server(&s, NULL);
    redisContext *c = it_client_to(&s);
    ASSERT_EQ(0, it_info_field(c, "total_forks"));
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SET foo bar");
    EXPECT(c, "+QUEUED", "CONFIG SET appendonly yes");
    EXPECT(c, "[+OK,+OK]", "EXEC");
    if (!pu_log_has(&s, "AOF was enabled during a transaction. An AOF background was "
                        "scheduled to start when possible."))
        TEST_FAIL("no scheduling line in the log");
    WAIT_FOR(it_info_field(c, "total_forks") == 1, 5000);
    if (!pu_wait_zero(c, "aof_rewrite_in_progress")) TEST_FAIL("first rewrite never finished");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "SET foo bar");
    EXPECT(c, "+QUEUED", "BGREWRITEAOF");
    EXPECT(c, "[+OK,+Background append only file rewriting scheduled]", "EXEC");
    WAIT_FOR(it_info_field(c, "total_forks") == 2, 5000);
    if (!pu_wait_zero(c, "aof_rewrite_in_progress")) TEST_FAIL("rewrite never finished");
    ASSERT(it_info_field(c, "latest_fork_usec") > 0);
    redisFree(c);
    it_stop_server(&s);
}

/* Field TTLs come back exactly from the log and from a snapshot; fields that expired while
 * the server was down do not come back, even when a later write touched their hash. */
TEST(hash_field_ttls_survive_restarts) {
    static const char *const both[] = {"--appendonly", "yes", "--appendfsync", "always", "--save",
                                       "3600 1",       NULL};
    it_server s;
    it_start_server(&s, both);
    redisContext *c = it_client_to(&s);
    long long t = pu_now_ms() + 600000;
    EXPECT(c, "1", "HSETEX h PXAT %lld FIELDS 2 a 1 b 2", t);
    EXPECT(c, "1", "HSETEX h EX 900 FIELDS 1 c 3");
    EXPECT(c, "[1]", "HEXPIRE h 1000 FIELDS 1 b");
    EXPECT(c, "\"1.5\"", "HINCRBYFLOAT h a 0.5");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET -20000");
    EXPECT(c, "1", "HSETEX h PX 5000 FIELDS 1 gone x");
    EXPECT(c, "1", "HSET h plain y");
    EXPECT(c, "+OK", "DEBUG CLOCK-OFFSET 0");
    char want[64];
    long long bexp, cexp;
    redisReply *r = redisCommand(c, "HPEXPIRETIME h FIELDS 2 b c");
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) TEST_FAIL("HPEXPIRETIME");
    bexp = r->element[0]->integer;
    cexp = r->element[1]->integer;
    freeReplyObject(r);
    for (int round = 0; round < 2; round++) {
        if (round == 0) {
            it_kill_server(&s); /* from the log */
        } else {
            r = redisCommand(c, "SHUTDOWN");
            if (r) freeReplyObject(r);
            it_wait_exit(&s, 10000);
        }
        redisFree(c);
        if (!it_restart_server(&s, round == 0 ? both : snap_args)) TEST_FAIL("restart");
        c = it_client_to(&s);
        snprintf(want, sizeof(want), "[%lld,%lld,%lld]", t, bexp, cexp);
        EXPECT(c, want, "HPEXPIRETIME h FIELDS 3 a b c");
        EXPECT(c, "[\"1.5\",\"2\",\"3\",nil,\"y\"]", "HMGET h a b c gone plain");
        EXPECT(c, "4", "HLEN h");
    }
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    RUN(hash_field_ttls_survive_restarts);
    RUN(snapshot_on_shutdown_keeps_exact_ttls);
    RUN(shutdown_nosave_and_sigterm);
    RUN(shutdown_on_signal_flags);
    RUN(save_bgsave_lastsave_info);
    RUN(flushall_saves_when_save_points_are_set);
    RUN(flushall_stops_a_bgsave);
    RUN(failed_bgsave_gives_misconf);
    RUN(aof_keeps_exact_ttls_and_effects);
    RUN(rewrite_then_crash);
    RUN(truncated_tail_is_cut_off);
    RUN(corrupt_middle_refuses_to_start);
    RUN(enable_aof_at_runtime);
    RUN(transaction_schedules_forks);
    return test_report();
}
