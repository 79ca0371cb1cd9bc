/* Integration tests: scripting behaviour that is Redis 8's own (it_script_redis.c compares
 * the rest with a real Redis 7.0 byte for byte), error and command statistics, scripts over
 * hash fields with TTLs, busy scripts (-BUSY, SCRIPT/FUNCTION KILL, UNKILLABLE, SHUTDOWN
 * NOSAVE) and what scripts leave in the append-only log. */
#include "integration/harness.h"
#include "integration/persist_util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Redis 8 prints doubles (returned as {double=x} or passed to redis.call) in the shortest
 * form that reads back exactly, as fpconv does; Redis 7.0 used %.17g. */
TEST(numbers_as_redis8) {
    redisContext *c = it_client();
    EXPECT(c, "\"0.1\"", "EVAL %s 0", "return {double=0.1}");
    EXPECT(c, "\"1e+300\"", "EVAL %s 0", "return {double=1e300}");
    EXPECT(c, "\"1.5e-7\"", "EVAL %s 0", "return {double=1.5e-7}");
    EXPECT(c, "\"123456789012345680\"", "EVAL %s 0", "return {double=123456789012345678}");
    EXPECT(c, "\"-0\"", "EVAL %s 0", "return {double=-0.0}");
    EXPECT(c, "\"0.1\"", "EVAL %s 0", "redis.call('set', 'x', 0.1) return redis.call('get', 'x')");
    EXPECT(c, "\"0.3333333333333333\"", "EVAL %s 0",
           "redis.call('set', 'x', 1/3) return redis.call('get', 'x')");
    EXPECT(c, "\"1152921504606846976\"", "EVAL %s 0",
           "redis.call('set', 'x', 2^60) return redis.call('get', 'x')");
    EXPECT(c, "\"1e+100\"", "EVAL %s 0",
           "redis.call('set', 'x', 1e100) return redis.call('get', 'x')");
    EXPECT(c, "\"-2.5\"", "EVAL %s 0",
           "redis.call('set', 'x', -2.5) return redis.call('get', 'x')");
    /* Out of range numbers become the x86 conversion's LLONG_MIN, as in Redis. */
    EXPECT(c, "-9223372036854775808", "EVAL %s 0", "return 1e30");
    redisFree(c);
    int fd = it_raw_connect();
    it_raw_send_str(fd, "HELLO 3\r\n");
    char tmp[4096];
    ASSERT(it_raw_read_reply(fd, tmp, sizeof(tmp), 5000) > 0);
    EXPECT_RAW(fd, "EVAL \"return {double=0.1}\" 0\r\n", ",0.1\r\n");
    EXPECT_RAW(fd, "EVAL \"return {double=3}\" 0\r\n", ",3\r\n");
    close(fd);
}

TEST(sandbox_as_redis8) {
    redisContext *c = it_client();
    /* os holds clock() alone; getfenv, setfenv and newproxy are there. */
    EXPECT(c, "[\"clock\"]", "EVAL %s 0",
           "local t = {} for k,v in pairs(os) do t[#t+1]=k end return t");
    EXPECT(c, "1", "EVAL %s 0", "return os.clock() >= 0");
    EXPECT(c, "1", "EVAL %s 0", "return getfenv() == _G");
    EXPECT(c, "\"function\"", "EVAL %s 0", "return type(setfenv)");
    EXPECT(c, "\"userdata\"", "EVAL %s 0", "return type(newproxy())");
    EXPECT(c, "\"8.0.0\"", "EVAL %s 0", "return redis.REDIS_VERSION");
    EXPECT(c, "524288", "EVAL %s 0", "return redis.REDIS_VERSION_NUM");
    /* setfenv(0, t) inside a script does not leak into the next one. */
    EXPECT(c, "nil", "EVAL %s 0", "setfenv(0, {})");
    EXPECT(c, "\"ok\"", "EVAL %s 0", "return redis.status_reply('ok')['ok']");
    EXPECT(c,
           "-ERR Invalid log level. script: 98a24cb7f5bda56ea0dffcf7659384483e53398d, on "
           "@user_script:1.",
           "EVAL %s 0", "redis.log(9, 'y')");
    EXPECT(c,
           "-ERR redis.set_repl() requires one argument. script: "
           "e39b47fd8e0d5dc1c7155bbafcefaf48cf163f82, on @user_script:1.",
           "EVAL %s 0", "redis.set_repl()");
    /* load() with a reader function goes through the text parser too. */
    EXPECT(c, "7", "EVAL %s 0",
           "local parts = {'return ', '7'} local i = 0 "
           "return load(function() i = i + 1 return parts[i] end)()");
    EXPECT(c, "nil", "EVAL %s 0",
           "local s = string.dump(function() return 1 end) local done = false "
           "return (load(function() if done then return nil end done = true return s end))");
    /* A huge cjson output is refused instead of overflowing Debian's cjson buffers. */
    EXPECT(c, "1", "EVAL %s 0",
           "local s = 'x' for i = 1, 23 do s = s .. s end local t = {} for i = 1, 30 do "
           "t[i] = s end local ok, e = pcall(cjson.encode, t) return (not ok) and "
           "string.find(e, 'too large') ~= nil");
    EXPECT(c, "\"[1,\\\"a\\\"]\"", "EVAL %s 0", "return cjson.new().encode({1, 'a'})");
    redisFree(c);
}

static long long stat_of(redisContext *c, const char *section, const char *field) {
    redisReply *r = redisCommand(c, "INFO %s", section);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, field);
        if (p) v = atoll(p + strlen(field));
    }
    if (r) freeReplyObject(r);
    return v;
}

/* Error and command statistics, as Redis counts them (checked against Redis 7.0). */
TEST(statistics) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    EXPECT(c, "+OK", "SET s str");
    const char *scripts[] = {
        "return redis.call('nosuch')",
        "return redis.call('incr','s')",
        "return redis.pcall('incr','s')",
        "local r = redis.pcall('incr','s') return 1",
        "return {err='My Error'}",
        "return redis.error_reply('X y')",
        "error('z')",
        "return redis.call('get')",
    };
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
        freeReplyObject(redisCommand(c, "EVAL %s 0", scripts[i]));
    freeReplyObject(redisCommand(c, "EVAL_RO %s 0", "return redis.call('set','a','b')"));
    ASSERT_EQ(7, stat_of(c, "errorstats", "errorstat_ERR:count="));
    ASSERT_EQ(1, stat_of(c, "errorstats", "errorstat_My:count="));
    ASSERT_EQ(1, stat_of(c, "errorstats", "errorstat_X:count="));
    ASSERT_EQ(9, stat_of(c, "stats", "total_error_replies:"));
    ASSERT_EQ(8, stat_of(c, "commandstats", "cmdstat_eval:calls="));
    redisReply *r = redisCommand(c, "INFO commandstats");
    ASSERT(r && r->type == REDIS_REPLY_STRING);
    ASSERT(strstr(r->str, "cmdstat_incr:calls=3,") != NULL);
    ASSERT(strstr(r->str, "rejected_calls=0,failed_calls=3\r\n") != NULL);
    ASSERT(strstr(r->str, "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,"
                          "failed_calls=0") != NULL);
    const char *ev = strstr(r->str, "cmdstat_eval:");
    ASSERT(ev && strstr(ev, "rejected_calls=0,failed_calls=7") != NULL);
    const char *ro = strstr(r->str, "cmdstat_eval_ro:");
    ASSERT(ro && strstr(ro, "rejected_calls=0,failed_calls=1") != NULL);
    freeReplyObject(r);
    redisFree(c);
}

/* INFO's scripting figures, and Redis 8's eviction of EVAL scripts past 500 (never of those
 * SCRIPT LOAD added). */
TEST(info_and_script_eviction) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "SCRIPT FLUSH");
    EXPECT(c, "+OK", "FUNCTION FLUSH");
    EXPECT(c, "\"831718c21eb8cace8e6f31e7782a9d8e38ed5600\"", "SCRIPT LOAD %s", "return 'kept'");
    for (int i = 0; i < 501; i++)
        freeReplyObject(redisCommand(c, "EVAL %s 0", i == 0 ? "return 0" : "return 1 + 0"));
    char body[64];
    for (int i = 2; i <= 500; i++) {
        snprintf(body, sizeof(body), "return %d", i);
        freeReplyObject(redisCommand(c, "EVAL %s 0", body));
    }
    /* 1 loaded + 501 distinct EVAL scripts ("return 0", "return 1 + 0", "return 2".."return
     * 500"): the oldest EVAL script went. */
    ASSERT_EQ(501, stat_of(c, "memory", "number_of_cached_scripts:"));
    ASSERT_EQ(1, stat_of(c, "stats", "evicted_scripts:"));
    EXPECT(c, "-NOSCRIPT No matching script. Please use EVAL.", "EVALSHA %s 0",
           "06d3d9b2060dd51343d5f19f0e531f15c507e3d1");
    EXPECT(c, "\"kept\"", "EVALSHA 831718c21eb8cace8e6f31e7782a9d8e38ed5600 0");
    ASSERT(stat_of(c, "memory", "used_memory_vm_eval:") > 0);
    EXPECT(c, "\"infolib\"", "FUNCTION LOAD %s",
           "#!lua name=infolib\nredis.register_function('a', function() return 1 end)\n"
           "redis.register_function('b', function() return 2 end)");
    ASSERT_EQ(2, stat_of(c, "memory", "number_of_functions:"));
    ASSERT_EQ(1, stat_of(c, "memory", "number_of_libraries:"));
    EXPECT(c, "+OK", "SCRIPT FLUSH");
    ASSERT_EQ(0, stat_of(c, "memory", "number_of_cached_scripts:"));
    EXPECT(c, "+OK", "FUNCTION FLUSH");
    ASSERT_EQ(0, stat_of(c, "memory", "number_of_functions:"));
    redisFree(c);
}

/* "Read these fields, extend those TTLs, count the rest" in one round trip. */
TEST(hash_field_ttls_in_scripts) {
    redisContext *c = it_client();
    EXPECT(c, "1", "HSETEX sess PX 60000 FIELDS 3 user ada cart 3 token t1");
    const char *script =
        "local v = redis.call('HGET', KEYS[1], 'user') "
        "local ext = redis.call('HPEXPIRE', KEYS[1], ARGV[1], 'FIELDS', 2, 'user', 'cart') "
        "local ttl = redis.call('HTTL', KEYS[1], 'FIELDS', 2, 'user', 'token') "
        "redis.call('HPERSIST', KEYS[1], 'FIELDS', 1, 'token') "
        "return {v, ext, ttl, redis.call('HLEN', KEYS[1]), "
        "redis.call('HTTL', KEYS[1], 'FIELDS', 1, 'token')}";
    EXPECT(c, "[\"ada\",[1,1],[120,60],3,[-1]]", "EVAL %s 1 sess 120000", script);
    EXPECT(c, "1", "EVAL %s 1 h2",
           "return redis.call('HSETEX', KEYS[1], 'FNX', 'EX', 100, 'FIELDS', 1, 'a', 'b')");
    EXPECT(c, "[\"b\"]", "EVAL %s 1 h2",
           "return redis.call('HGETEX', KEYS[1], 'PERSIST', 'FIELDS', 1, 'a')");
    EXPECT(c, "[-1]", "HTTL h2 FIELDS 1 a");
    /* The script runs at one "now": a field due before it started is gone for all of it. */
    EXPECT(c, "[2,-2]", "EVAL %s 1 h3",
           "redis.call('HSET', KEYS[1], 'x', 1) "
           "local r = redis.call('HPEXPIRE', KEYS[1], 0, 'FIELDS', 1, 'x') "
           "return {r[1], redis.call('HTTL', KEYS[1], 'FIELDS', 1, 'x')[1]}");
    redisFree(c);
}

/* Waits until PING answers -BUSY (the script passed its threshold). */
static int wait_busy(redisContext *c) {
    for (int i = 0; i < 500; i++) {
        const char *r = it_run(c, "PING");
        if (strncmp(r, "-BUSY", 5) == 0) return 1;
        it_sleep_ms(10);
    }
    return 0;
}

static char last_read[4096];

/* Reads until needle (and what follows within 50 ms) arrived, for at most 5 s. */
static int read_contains(int fd, const char *needle) {
    size_t got = 0;
    last_read[0] = '\0';
    for (int waited = 0; waited < 5000 && !strstr(last_read, needle); waited += 50) {
        got += it_raw_read_all(fd, last_read + got, sizeof(last_read) - 1 - got, 50);
        last_read[got] = '\0';
    }
    if (strstr(last_read, needle)) {
        got += it_raw_read_all(fd, last_read + got, sizeof(last_read) - 1 - got, 50);
        last_read[got] = '\0';
    }
    return strstr(last_read, needle) != NULL;
}

TEST(busy_eval_killed) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET busy-reply-threshold 50");
    int fd = it_raw_connect();
    it_raw_send_str(fd, "EVAL \"local i = 0 while true do i = i + 1 end\" 0\r\nPING\r\n");
    if (!wait_busy(c)) TEST_FAIL("the script never became busy");
    EXPECT(c,
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.",
           "GET x");
    EXPECT(c,
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.",
           "FUNCTION KILL");
    EXPECT(c,
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.",
           "FUNCTION STATS");
    EXPECT(c,
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.",
           "SHUTDOWN");
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+OK", "DISCARD");
    /* A new connection is served too. */
    redisContext *c2 = it_client();
    EXPECT(c2,
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.",
           "PING");
    redisFree(c2);
    EXPECT(c, "+OK", "SCRIPT KILL");
    /* The caller gets the kill error, then its pipelined PING is answered. */
    ASSERT(read_contains(fd, "-ERR Script killed by user with SCRIPT KILL... script: ") &&
           strstr(strstr(last_read, "SCRIPT KILL..."), "+PONG\r\n") != NULL);
    close(fd);
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "-NOTBUSY No scripts in execution right now.", "SCRIPT KILL");
    EXPECT(c, "+OK", "CONFIG SET busy-reply-threshold 5000");
    redisFree(c);
}

TEST(busy_function_killed) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET busy-reply-threshold 50");
    EXPECT(c, "\"spin\"", "FUNCTION LOAD REPLACE %s",
           "#!lua name=spin\nredis.register_function('spin', function() while true do end end)");
    int fd = it_raw_connect();
    it_raw_send_str(fd, "FCALL spin 1 k a\r\n");
    if (!wait_busy(c)) TEST_FAIL("the function never became busy");
    EXPECT(c,
           "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN "
           "NOSAVE.",
           "SCRIPT KILL");
    redisReply *r = redisCommand(c, "FUNCTION STATS");
    char out[1024];
    it_render(r, out, sizeof(out));
    freeReplyObject(r);
    ASSERT(strstr(out, "[\"running_script\",[\"name\",\"spin\",\"command\",[\"FCALL\",\"spin\","
                       "\"1\",\"k\",\"a\"],\"duration_ms\",") != NULL);
    EXPECT(c, "+OK", "FUNCTION KILL");
    ASSERT(read_contains(fd, "-ERR Script killed by user with SCRIPT KILL... script: spin, on "
                             "@user_function:2."));
    close(fd);
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "+OK", "CONFIG SET busy-reply-threshold 5000");
    redisFree(c);
}

/* The client whose script is busy hangs up: the connection is closed only once the
 * script has ended, and the server goes on. SIGTERM during a busy script waits for it. */
TEST(busy_caller_gone_and_sigterm) {
    it_server s;
    static const char *const args[] = {"--busy-reply-threshold", "50", NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    int fd = it_raw_connect_to(&s);
    it_raw_send_str(fd, "EVAL \"while true do end\" 0\r\n");
    if (!wait_busy(c)) TEST_FAIL("the script never became busy");
    close(fd);
    it_sleep_ms(50);
    EXPECT(c, "+OK", "SCRIPT KILL");
    EXPECT(c, "+PONG", "PING");
    fd = it_raw_connect_to(&s);
    it_raw_send_str(fd, "EVAL \"while true do end\" 0\r\n");
    if (!wait_busy(c)) TEST_FAIL("the second script never became busy");
    kill(s.pid, SIGTERM);
    it_sleep_ms(100);
    EXPECT(c,
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.",
           "PING");
    EXPECT(c, "+OK", "SCRIPT KILL");
    ASSERT(read_contains(fd, "-ERR Script killed by user with SCRIPT KILL..."));
    close(fd);
    redisFree(c);
    ASSERT_EQ(0, it_wait_exit(&s, 10000));
    it_stop_server(&s);
}

static const char *const aof_args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};

/* A script that wrote cannot be killed; SHUTDOWN NOSAVE ends the server before the
 * script's effects reach the log. */
TEST(busy_unkillable_then_shutdown_nosave) {
    it_server s;
    static const char *const args[] = {"--appendonly", "yes", "--busy-reply-threshold", "50", NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET before 1");
    int fd = it_raw_connect_to(&s);
    it_raw_send_str(fd, "EVAL \"redis.call('set', 'during', 1) while true do end\" 0\r\n");
    if (!wait_busy(c)) TEST_FAIL("the script never became busy");
    EXPECT(c,
           "-UNKILLABLE Sorry the script already executed write commands against the dataset. "
           "You can either wait the script termination or kill the server in a hard way using "
           "the SHUTDOWN NOSAVE command.",
           "SCRIPT KILL");
    redisReply *r = redisCommand(c, "SHUTDOWN NOSAVE");
    ASSERT(r == NULL); /* no reply: the server is gone */
    redisFree(c);
    ASSERT_EQ(0, it_wait_exit(&s, 10000));
    close(fd);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "\"1\"", "GET before");
    EXPECT(c, "nil", "GET during");
    redisFree(c);
    it_stop_server(&s);
}

static int file_has(const char *path, const char *needle, size_t *at) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    static char data[1 << 20];
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);
    size_t len = strlen(needle);
    for (size_t i = *at; i + len <= n; i++)
        if (memcmp(data + i, needle, len) == 0) {
            *at = i + len;
            return 1;
        }
    return 0;
}

/* A script's effects are logged as the commands it ran, with absolute times, inside one
 * MULTI/EXEC; redis.set_repl(REPL_NONE) keeps a command out; a failing script keeps what
 * it did before the failure (as Redis). Replay gives back the same data and deadlines. */
TEST(effects_in_the_log) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "[1,1]", "EVAL %s 2 h k",
           "local a = redis.call('HSETEX', KEYS[1], 'EX', 900, 'FIELDS', 1, 'f', 'v') "
           "local b = redis.call('HPEXPIRE', KEYS[1], 500000, 'FIELDS', 1, 'f')[1] "
           "redis.call('SET', KEYS[2], 'x', 'EX', 1000) "
           "redis.set_repl(redis.REPL_NONE) redis.call('SET', 'unlogged', 1) "
           "redis.set_repl(redis.REPL_ALL) redis.call('INCR', 'n') return {a, b}");
    redisReply *r = redisCommand(c, "EVAL %s 0",
                                 "redis.call('SET', 'partial', 1) "
                                 "redis.call('nosuch')");
    ASSERT(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    long long fexp = 0, kexp = it_int(c, "PEXPIRETIME k");
    r = redisCommand(c, "HPEXPIRETIME h FIELDS 1 f");
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) fexp = r->element[0]->integer;
    if (r) freeReplyObject(r);
    ASSERT(fexp > 0 && kexp > 0);
    char path[700];
    ASSERT(pu_last_incr(&s, path, sizeof(path)) == 0);
    size_t at = 0;
    ASSERT(file_has(path, "multi", &at));
    ASSERT(file_has(path, "hsetex", &at));
    ASSERT(file_has(path, "PXAT", &at));
    ASSERT(file_has(path, "exec", &at));
    at = 0;
    ASSERT(!file_has(path, "unlogged", &at));
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    char want[64];
    snprintf(want, sizeof(want), "[%lld]", fexp);
    EXPECT(c, want, "HPEXPIRETIME h FIELDS 1 f");
    snprintf(want, sizeof(want), "%lld", kexp);
    EXPECT(c, want, "PEXPIRETIME k");
    EXPECT(c, "\"1\"", "GET n");
    EXPECT(c, "\"1\"", "GET partial");
    EXPECT(c, "nil", "GET unlogged");
    redisFree(c);
    it_stop_server(&s);
}

/* While the log cannot be written: a script that declared it may write is refused at
 * dispatch like any write command; a no-writes script runs; a script without a shebang
 * runs and its write command fails inside it (Redis's rules). */
TEST(misconf_and_script_flags) {
    it_server s;
    static const char *const args[] = {"--appendonly", "yes", NULL}; /* everysec: survives */
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "SET x 1");
    EXPECT(c, "\"mc\"", "FUNCTION LOAD %s",
           "#!lua name=mc\nredis.register_function('w', function() return 1 end)\n"
           "redis.register_function{function_name='r', flags={'no-writes'}, "
           "callback=function() return 2 end}");
    EXPECT(c, "+OK", "DEBUG AOF-WRITE-ERROR 1");
    /* A write fails in the log (after its reply); from then on writes are refused. */
    redisReply *r = NULL;
    for (int i = 0; i < 200; i++) {
        if (r) freeReplyObject(r);
        r = redisCommand(c, "SET x 2");
        if (r && r->type == REDIS_REPLY_ERROR) break;
        it_sleep_ms(10);
    }
    ASSERT(r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "MISCONF ", 8) == 0);
    char misconf[256];
    snprintf(misconf, sizeof(misconf), "-%s", r->str);
    freeReplyObject(r);
    EXPECT(c, misconf, "EVAL %s 0", "#!lua\nreturn 1");
    EXPECT(c, misconf, "FCALL w 0");
    EXPECT(c, "2", "FCALL_RO r 0");
    EXPECT(c, "\"2\"", "EVAL %s 0", "#!lua flags=no-writes\nreturn redis.call('get', 'x')");
    EXPECT(c, "1", "EVAL %s 0", "return 1");
    r = redisCommand(c, "EVAL %s 0", "return redis.call('set', 'x', 3)");
    ASSERT(r && r->type == REDIS_REPLY_ERROR);
    char want[300];
    snprintf(want, sizeof(want), "%s script: ", misconf + 1);
    ASSERT(strncmp(r->str, want, strlen(want)) == 0);
    freeReplyObject(r);
    /* In MULTI the script is refused as it is queued, as a write command would be. */
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, misconf, "EVAL %s 0", "#!lua\nreturn 1");
    EXPECT(c, "+QUEUED", "EVAL %s 0", "#!lua flags=no-writes\nreturn 1");
    EXPECT(c, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    redisFree(c);
    it_kill_server(&s);
    it_stop_server(&s);
}

/* Functions come back after a restart from the log (FUNCTION LOAD is logged). */
TEST(functions_survive_restart) {
    it_server s;
    it_start_server(&s, aof_args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "\"keep\"", "FUNCTION LOAD %s",
           "#!lua name=keep\nredis.register_function('kept', function(k, a) return a[1] end)");
    EXPECT(c, "\"gone\"", "FUNCTION LOAD %s",
           "#!lua name=gone\nredis.register_function('dropped', function() return 1 end)");
    EXPECT(c, "+OK", "FUNCTION DELETE gone");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, aof_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    EXPECT(c, "\"hello\"", "FCALL kept 0 hello");
    EXPECT(c, "-ERR Function not found", "FCALL dropped 0");
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    it_start(NULL);
    RUN(numbers_as_redis8);
    RUN(sandbox_as_redis8);
    RUN(statistics);
    RUN(hash_field_ttls_in_scripts);
    RUN(info_and_script_eviction);
    RUN(busy_eval_killed);
    RUN(busy_function_killed);
    it_stop();
    RUN(busy_unkillable_then_shutdown_nosave);
    RUN(busy_caller_gone_and_sigterm);
    RUN(effects_in_the_log);
    RUN(misconf_and_script_flags);
    RUN(functions_survive_restart);
    return test_report();
}
