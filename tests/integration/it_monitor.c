/* Integration tests: MONITOR (issue 19): Redis's line format (timestamp, database, client
 * address or "lua", arguments as sent, quoted as sdscatrepr), commands fed after they ran (a
 * transaction's commands before EXEC, a script's after EVAL), admin commands left out,
 * AUTH and HELLO AUTH redacted, RESET ending it; and redis-cli's `monitor` when present. */
#include "integration/harness.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char addr[64]; /* the commanding client's ip:port */

/* The next monitor line with its timestamp checked and cut: "[db addr] args", or an error
 * text. */
static const char *next_line(redisContext *m) {
    static char out[1024];
    redisSetTimeout(m, (struct timeval){2, 0});
    redisReply *r = NULL;
    if (redisGetReply(m, (void **)&r) != REDIS_OK || !r) return "(timeout)";
    if (r->type != REDIS_REPLY_STATUS) {
        it_render(r, out, sizeof(out));
        freeReplyObject(r);
        return out;
    }
    const char *p = r->str;
    size_t digits = 0;
    while (isdigit((unsigned char)p[digits]))
        digits++;
    int ok = digits >= 10 && p[digits] == '.';
    for (int i = 1; ok && i <= 6; i++)
        ok = isdigit((unsigned char)p[digits + (size_t)i]) != 0;
    ok = ok && p[digits + 7] == ' ';
    snprintf(out, sizeof(out), "%s", ok ? p + digits + 8 : r->str);
    if (!ok) snprintf(out, sizeof(out), "(bad timestamp) %s", r->str);
    freeReplyObject(r);
    return out;
}

#define EXPECT_LINE(m, fmt_expected)                                                               \
    do {                                                                                           \
        char want_[512];                                                                           \
        snprintf(want_, sizeof(want_), fmt_expected, addr);                                        \
        const char *got_ = next_line(m);                                                           \
        if (strcmp(got_, want_) != 0) TEST_FAIL("monitor: expected %s, got %s", want_, got_);      \
    } while (0)

TEST(feed_format_order_and_redaction) {
    redisContext *c = it_client();
    redisContext *m = it_client();
    const char *info = it_run(c, "CLIENT INFO");
    const char *a = strstr(info, "addr=");
    ASSERT(a != NULL);
    size_t n = strcspn(a + 5, " ");
    snprintf(addr, sizeof(addr), "%.*s", (int)n, a + 5);
    EXPECT(m, "+OK", "MONITOR");
    if (!strstr(it_run(c, "CLIENT LIST"), " flags=O ")) TEST_FAIL("no monitor in CLIENT LIST");
    EXPECT(c, "+OK", "SET k v");
    EXPECT_LINE(m, "[0 %s] \"SET\" \"k\" \"v\"");
    redisReply *r = redisCommand(c, "SET %b %b", "a\"b\\", (size_t)4, "\x01\n\xff", (size_t)3);
    freeReplyObject(r);
    EXPECT_LINE(m, "[0 %s] \"SET\" \"a\\\"b\\\\\" \"\\x01\\n\\xff\"");
    /* Admin commands are not shown; the database is the one after the command. */
    EXPECT(c, "[\"maxmemory\",\"0\"]", "CONFIG GET maxmemory");
    EXPECT(c, "+OK", "SELECT 3");
    EXPECT_LINE(m, "[3 %s] \"SELECT\" \"3\"");
    EXPECT(c, "+OK", "SELECT 0");
    EXPECT_LINE(m, "[0 %s] \"SELECT\" \"0\"");
    /* A transaction: its commands as they run, then EXEC; queuing shows nothing. */
    EXPECT(c, "+OK", "MULTI");
    EXPECT(c, "+QUEUED", "INCR n");
    EXPECT(c, "[1]", "EXEC");
    EXPECT_LINE(m, "[0 %s] \"MULTI\"");
    EXPECT_LINE(m, "[0 %s] \"INCR\" \"n\"");
    EXPECT_LINE(m, "[0 %s] \"EXEC\"");
    /* EVAL is shown before it runs, then its commands, from "lua". */
    EXPECT(c, "2", "EVAL %s 0", "return redis.call('incr','n')");
    EXPECT_LINE(m, "[0 %s] \"EVAL\" \"return redis.call('incr','n')\" \"0\"");
    EXPECT_LINE(m, "[0 lua%.0s] \"incr\" \"n\""); /* %.0s: no address */
    /* Secrets are redacted. */
    r = redisCommand(c, "AUTH secret");
    freeReplyObject(r);
    EXPECT_LINE(m, "[0 %s] \"AUTH\" \"(redacted)\"");
    r = redisCommand(c, "AUTH someone secret");
    freeReplyObject(r);
    EXPECT_LINE(m, "[0 %s] \"AUTH\" \"(redacted)\" \"(redacted)\"");
    r = redisCommand(c, "HELLO 2 AUTH default secret SETNAME x");
    freeReplyObject(r);
    EXPECT_LINE(m,
                "[0 %s] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"x\"");
    /* RESET ends it. */
    EXPECT(m, "+RESET", "RESET");
    EXPECT(c, "+PONG", "PING");
    EXPECT(m, "+PONG", "PING"); /* the PING of c was not fed to m */
    redisFree(m);
    redisFree(c);
}

/* redis-cli monitor prints the same lines. */
TEST(redis_cli_monitor) {
    if (access("/usr/bin/redis-cli", X_OK) != 0) {
        printf("SKIP redis-cli not installed\n");
        return;
    }
    char cmdline[512];
    snprintf(
        cmdline, sizeof(cmdline),
        "timeout 5 stdbuf -oL /usr/bin/redis-cli -h %s -p %d monitor > %s/cli-monitor.out 2>&1 &",
        it_srv.host, it_srv.port, it_srv.dir);
    ASSERT(system(cmdline) == 0);
    redisContext *c = it_client();
    /* Wait (bounded) until the monitor is attached: CLIENT LIST shows cmd=monitor. */
    for (int i = 0; i < 100 && !strstr(it_run(c, "CLIENT LIST"), "cmd=monitor"); i++)
        pause_ms(50);
    EXPECT(c, "+OK", "SET clikey 1");
    char path[512], got[4096] = {0};
    snprintf(path, sizeof(path), "%s/cli-monitor.out", it_srv.dir);
    for (int i = 0; i < 100 && !strstr(got, "clikey"); i++) {
        pause_ms(50);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(got, 1, sizeof(got) - 1, f);
        got[n] = '\0';
        fclose(f);
    }
    if (!strstr(got, "OK\n") || !strstr(got, "\"SET\" \"clikey\" \"1\""))
        TEST_FAIL("redis-cli monitor printed: %s", got);
    redisFree(c);
}

int main(void) {
    it_start(NULL);
    RUN(feed_format_order_and_redaction);
    RUN(redis_cli_monitor);
    it_stop();
    return test_report();
}
