/* Integration tests: CONFIG GET/SET/RESETSTAT/REWRITE with Redis's error texts (taken from
 * Redis 7.0.15 on a spare port), start-up errors of the binary, and the sample
 * mayfly.conf. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SET_FAILED "-ERR CONFIG SET failed (possibly related to argument "

TEST(get_patterns) {
    redisContext *c = it_client();
    EXPECT(c, "[\"hz\",\"10\"]", "CONFIG GET hz");
    /* A name without glob characters comes back as written (Redis's configGetCommand). */
    EXPECT(c, "[\"HZ\",\"10\"]", "CONFIG GET HZ");
    EXPECT(c, "[]", "CONFIG GET nosuch");
    EXPECT(c, "[\"hz\",\"10\",\"databases\",\"16\"]", "CONFIG GET hz nosuch databases hz");
    EXPECT(c, "[\"save\",\"\",\"appendonly\",\"no\"]", "CONFIG GET save appendonly");
    EXPECT(c, "[\"maxmemory\",\"0\",\"maxmemory-policy\",\"noeviction\"]",
           "CONFIG GET maxmemory maxmemory-p?l[a-i]c*");
    EXPECT(c, "[\"hash-max-ziplist-entries\",\"512\"]", "CONFIG GET hash-max-ziplist-entries");
    EXPECT(c, "[\"slowlog-max-len\",\"128\"]", "CONFIG GET slowlog-max-len");
    EXPECT(c, "-ERR wrong number of arguments for 'config|get' command", "CONFIG GET");
    /* Issue 21: a pattern matches aliases too, as in Redis 7+ (slaveof beside replicaof). */
    EXPECT(c, "[\"replicaof\",\"\",\"slaveof\",\"\"]", "CONFIG GET *of");
    /* A pathological pattern must not take exponential time. */
    EXPECT(c, "[]", "CONFIG GET *a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
    redisFree(c);
}

TEST(set_errors_like_redis) {
    redisContext *c = it_client();
    EXPECT(c, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
           "CONFIG SET nosuch 1");
    EXPECT(c, SET_FAILED "'maxclients') - argument couldn't be parsed into an integer",
           "CONFIG SET maxclients abc");
    EXPECT(c, SET_FAILED "'maxclients') - argument must be between 1 and 4294967295 inclusive",
           "CONFIG SET maxclients 0");
    EXPECT(c, SET_FAILED "'databases') - can't set immutable config", "CONFIG SET databases 3");
    EXPECT(c, SET_FAILED "'dir') - can't set protected config", "CONFIG SET dir /tmp");
    EXPECT(c, SET_FAILED "'maxmemory') - argument must be a memory value",
           "CONFIG SET maxmemory 1xb");
    EXPECT(c,
           SET_FAILED "'appendfsync') - argument(s) must be one of the following: everysec, "
                      "always, no",
           "CONFIG SET appendfsync foo");
    EXPECT(c,
           SET_FAILED "'maxmemory-policy') - argument(s) must be one of the following: "
                      "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, "
                      "allkeys-lfu, allkeys-random, noeviction, volatile-soonest",
           "CONFIG SET maxmemory-policy foo"); /* Mayfly's own policy last */
    EXPECT(c, SET_FAILED "'protected-mode') - argument must be 'yes' or 'no'",
           "CONFIG SET protected-mode maybe");
    EXPECT(c, SET_FAILED "'save') - Invalid save parameters", "CONFIG SET save 1");
    EXPECT(c, SET_FAILED "'timeout') - argument must be between 0 and 2147483647 inclusive",
           "CONFIG SET timeout -1");
    EXPECT(c, SET_FAILED "'HZ') - duplicate parameter", "CONFIG SET hz 10 HZ 20");
    /* Mayfly's cap: its longest key (1 GB - 1); Redis allows more (compatibility.md). */
    EXPECT(c,
           SET_FAILED "'proto-max-bulk-len') - argument must be between 1048576 and 1073741823 "
                      "inclusive",
           "CONFIG SET proto-max-bulk-len 1gb");
    EXPECT(c, "+OK", "CONFIG SET proto-max-bulk-len 1073741823");
    EXPECT(c, "-ERR syntax error", "CONFIG SET a b c");
    EXPECT(c, "-ERR wrong number of arguments for 'config|set' command", "CONFIG SET");
    EXPECT(c, "-ERR wrong number of arguments for 'config|set' command", "CONFIG SET hz");
    EXPECT(c, "-ERR wrong number of arguments for 'config|resetstat' command",
           "CONFIG RESETSTAT x");
    EXPECT(c, "-ERR The server is running without a config file", "CONFIG REWRITE");
    redisFree(c);
}

TEST(set_values) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET hz 1000");
    EXPECT(c, "[\"hz\",\"500\"]", "CONFIG GET hz");
    EXPECT(c, "+OK", "CONFIG SET hz 0");
    EXPECT(c, "[\"hz\",\"1\"]", "CONFIG GET hz");
    EXPECT(c, "+OK", "CONFIG SET hz 10 maxmemory 10mb");
    EXPECT(c, "[\"maxmemory\",\"10485760\"]", "CONFIG GET maxmemory");
    /* All or nothing: a bad second value leaves the first unchanged. */
    EXPECT(c, SET_FAILED "'hz') - argument couldn't be parsed into an integer",
           "CONFIG SET maxmemory 20mb hz x");
    EXPECT(c, "[\"maxmemory\",\"10485760\"]", "CONFIG GET maxmemory");
    EXPECT(c, "+OK", "CONFIG SET maxmemory 0 maxmemory-policy ALLKEYS-LRU");
    EXPECT(c, "[\"maxmemory-policy\",\"allkeys-lru\"]", "CONFIG GET maxmemory-policy");
    EXPECT(c, "+OK", "CONFIG SET maxmemory-policy noeviction");
    EXPECT(c, "+OK", "CONFIG SET hash-max-ziplist-entries 100");
    EXPECT(c, "[\"hash-max-listpack-entries\",\"100\"]", "CONFIG GET hash-max-listpack-entries");
    EXPECT(c, "+OK", "CONFIG SET hash-max-listpack-entries 512");
    redisFree(c);
}

TEST(resetstat) {
    redisContext *c = it_client();
    EXPECT(c, "-ERR unknown command 'nosuchcmd', with args beginning with: ", "nosuchcmd");
    ASSERT(strstr(it_run(c, "INFO errorstats"), "errorstat_ERR:count=") != NULL);
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    ASSERT(strstr(it_run(c, "INFO errorstats"), "errorstat_ERR") == NULL);
    ASSERT(it_info_field(c, "total_commands_processed") <= 2);
    redisFree(c);
}

TEST(help) {
    redisContext *c = it_client();
    redisReply *r = redisCommand(c, "CONFIG HELP");
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && r->elements == 11);
    ASSERT_STR_EQ("    Prints this help.", r->element[10]->str);
    freeReplyObject(r);
    redisFree(c);
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

TEST(rewrite_keeps_comments) {
    char path[300], text[4096];
    snprintf(path, sizeof(path), "%s/rw.conf", it_srv.dir);
    ASSERT(write_file(path, "# keep me\nhz 20\nhz 30\nmaxmemory 1mb\n") == 0);
    it_server s;
    const char *args[] = {path, NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "[\"hz\",\"30\"]", "CONFIG GET hz");
    EXPECT(c, "+OK", "CONFIG SET hz 40 requirepass %s", "a b\"c");
    EXPECT(c, "+OK", "CONFIG REWRITE");
    redisFree(c);
    it_stop_server(&s);
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    ASSERT(strncmp(text, "# keep me\nhz 40\nmaxmemory 1048576\n", 34) == 0);
    ASSERT(strstr(text, "hz 30") == NULL);
    ASSERT(strstr(text, "requirepass \"a b\\\"c\"\n") != NULL);
    /* The rewritten file loads. */
    const char *check[] = {path, "--port", "0", "--bind", "127.0.0.1", "--nosuch", "x", NULL};
    char out[2048];
    ASSERT_EQ(1, it_run_binary(check, out, sizeof(out), 5000));
    ASSERT(strstr(out, ">>> 'nosuch \"x\"'") != NULL);
}

TEST(startup_errors) {
    char path[300], out[4096];
    snprintf(path, sizeof(path), "%s/bad.conf", it_srv.dir);
    ASSERT(write_file(path, "port 1\nfoo bar\n") == 0);
    const char *a1[] = {path, NULL};
    ASSERT_EQ(1, it_run_binary(a1, out, sizeof(out), 5000));
    ASSERT(strstr(out, "*** FATAL CONFIG FILE ERROR (Mayfly ") != NULL);
    ASSERT(strstr(out, "Reading the configuration file, at line 2\n>>> 'foo bar'\n"
                       "Bad directive or wrong number of arguments\n") != NULL);

    ASSERT(write_file(path, "# c\n\nhz abc\n") == 0);
    ASSERT_EQ(1, it_run_binary(a1, out, sizeof(out), 5000));
    ASSERT(strstr(out, "at line 3\n>>> 'hz abc'\nargument couldn't be parsed into an integer\n") !=
           NULL);

    ASSERT(write_file(path, "port \"1\n") == 0);
    ASSERT_EQ(1, it_run_binary(a1, out, sizeof(out), 5000));
    ASSERT(strstr(out, "Unbalanced quotes in configuration line") != NULL);

    const char *a2[] = {"--hz", "abc", NULL};
    ASSERT_EQ(1, it_run_binary(a2, out, sizeof(out), 5000));
    ASSERT(strstr(out, "at line 2\n>>> 'hz \"abc\"'\nargument couldn't be parsed into an "
                       "integer\n") != NULL);

    const char *a3[] = {"/nonexistent/mayfly.conf", NULL};
    ASSERT_EQ(1, it_run_binary(a3, out, sizeof(out), 5000));
    ASSERT(strstr(out, "Fatal error, can't open config file '/nonexistent/mayfly.conf': No "
                       "such file or directory") != NULL);

    const char *a4[] = {"--maxmemory-policy", "foo", NULL};
    ASSERT_EQ(1, it_run_binary(a4, out, sizeof(out), 5000));
    ASSERT(strstr(out, "argument(s) must be one of the following: volatile-lru") != NULL);
}

/* Issue 21: the command line is read as Redis reads it (config lines: "--name" starts one,
 * other words are its values, even one that starts with "--" right after a bare name). */
TEST(command_line_like_redis) {
    char out[4096];
    const char *a1[] = {"--port", "--bla", "--loglevel", "verbose", NULL};
    ASSERT_EQ(1, it_run_binary(a1, out, sizeof(out), 5000));
    ASSERT(strstr(out, ">>> 'port \"--bla\"'\nargument couldn't be parsed into an integer") !=
           NULL);
    const char *a2[] = {"--logfile", "--my--log--file", "--loglevel", "--bla", NULL};
    ASSERT_EQ(1, it_run_binary(a2, out, sizeof(out), 5000));
    ASSERT(strstr(out, ">>> 'loglevel \"--bla\"'\nargument(s) must be one of the following") !=
           NULL);
    const char *a3[] = {"--shutdown-on-sigint", NULL};
    ASSERT_EQ(1, it_run_binary(a3, out, sizeof(out), 5000));
    ASSERT(strstr(out, ">>> 'shutdown-on-sigint'\nargument(s) must be one of the following") !=
           NULL);
    const char *a4[] = {"--port", "6379", "6380", NULL};
    ASSERT_EQ(1, it_run_binary(a4, out, sizeof(out), 5000));
    ASSERT(strstr(out, ">>> 'port \"6379\" \"6380\"'") != NULL);
    /* Bare words after the config file make a line of their own, "--name value" given as
     * one argument is a whole line: both accepted, so the error is the last line's. */
    char path[300];
    snprintf(path, sizeof(path), "%s/cl.conf", it_srv.dir);
    ASSERT(write_file(path, "port 0\nsave\n") == 0);
    const char *a5[] = {path, "loglevel", "verbose", "--maxmemory 700mb", "--hz", "abc", NULL};
    ASSERT_EQ(1, it_run_binary(a5, out, sizeof(out), 5000));
    ASSERT(strstr(out, "at line 6\n>>> 'hz \"abc\"'") != NULL);
    /* And a server started that way has the values. */
    snprintf(path, sizeof(path), "%s/cl2.conf", it_srv.dir);
    ASSERT(write_file(path, "save\nmaxmemory-clients 10%\n") == 0);
    it_server s;
    const char *args[] = {path,
                          "--maxmemory 700mb",
                          "--maxmemory-policy volatile-lru",
                          "--save",
                          "--proc-title-template",
                          "--my--title",
                          "--loglevel",
                          "verbose",
                          NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "[\"maxmemory\",\"734003200\"]", "CONFIG GET maxmemory");
    EXPECT(c, "[\"maxmemory-policy\",\"volatile-lru\"]", "CONFIG GET maxmemory-policy");
    EXPECT(c, "[\"save\",\"\"]", "CONFIG GET save");
    EXPECT(c, "[\"proc-title-template\",\"--my--title\"]", "CONFIG GET proc-title-template");
    EXPECT(c, "[\"loglevel\",\"verbose\"]", "CONFIG GET loglevel");
    EXPECT(c, "[\"maxmemory-clients\",\"10%\"]", "CONFIG GET maxmemory-clients");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
           "percentage argument must be less or equal to 100",
           "CONFIG SET maxmemory-clients 200%%");
    EXPECT(c, "+OK", "CONFIG SET maxmemory-clients 1mb");
    EXPECT(c, "[\"maxmemory-clients\",\"1048576\"]", "CONFIG GET maxmemory-clients");
    EXPECT(c, "+OK", "CONFIG SET shutdown-on-sigterm %s", "nosave force");
    EXPECT(c, "[\"shutdown-on-sigterm\",\"nosave force\"]", "CONFIG GET shutdown-on-sigterm");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - "
           "shutdown options SAVE and NOSAVE can't be used simultaneously",
           "CONFIG SET shutdown-on-sigint %s", "save nosave");
    redisFree(c);
    it_stop_server(&s);
}

/* Issue 21: the directives of Redis's test-suite default.conf are accepted with their
 * effect, and the start-up lines tools wait for are logged (" PID: <pid>" with
 * always-show-logo, "Server initialized", "Ready to accept connections"). */
TEST(redis_test_suite_directives) {
    char path[300];
    snprintf(path, sizeof(path), "%s/suite.conf", it_srv.dir);
    ASSERT(write_file(path, "always-show-logo yes\nrepl-diskless-sync-delay 0\n"
                            "enable-module-command yes\n"
                            "propagation-error-behavior panic\nshutdown-on-sigterm nosave\n") == 0);
    it_server s;
    /* After the harness's own "--enable-debug-command yes". */
    const char *args[] = {path, "--enable-debug-command", "local", NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "[\"enable-debug-command\",\"local\"]", "CONFIG GET enable-debug-command");
    EXPECT(c, "[\"propagation-error-behavior\",\"panic\"]",
           "CONFIG GET propagation-error-behavior");
    EXPECT(c, "[\"repl-diskless-sync-delay\",\"0\"]", "CONFIG GET repl-diskless-sync-delay");
    /* local: a loopback client may run DEBUG. */
    EXPECT(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - "
           "can't set immutable config",
           "CONFIG SET enable-debug-command yes");
    long long pid = it_info_field(c, "process_id");
    redisFree(c);
    char logpath[400], log[8192], want[64];
    snprintf(logpath, sizeof(logpath), "%s/server.log", s.dir);
    FILE *f = fopen(logpath, "r");
    ASSERT(f != NULL);
    size_t n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[n] = '\0';
    snprintf(want, sizeof(want), " PID: %lld\n", pid);
    ASSERT(strstr(log, want) != NULL);
    ASSERT(strstr(log, "Server initialized\n") != NULL);
    ASSERT(strstr(log, "Ready to accept connections") != NULL);
    ASSERT(strstr(log, "enable-module-command has no effect") != NULL);
    it_stop_server(&s);
}

/* Issue 21: DEBUG is refused unless enable-debug-command allows it (Redis's default is
 * no); the error is Redis's. */
TEST(debug_is_refused_by_default) {
    it_server s;
    const char *args[] = {"--enable-debug-command", "no", NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c,
           "-ERR DEBUG command not allowed. If the enable-debug-command option is set to "
           "\"local\", you can run it from a local connection, otherwise you need to set this "
           "option in the configuration file, and then restart the server.",
           "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT(c, "[\"enable-debug-command\",\"no\"]", "CONFIG GET enable-debug-command");
    redisFree(c);
    it_stop_server(&s);
}

TEST(version_and_help) {
    char out[4096];
    const char *v[] = {"--version", NULL};
    ASSERT_EQ(0, it_run_binary(v, out, sizeof(out), 5000));
    ASSERT(strncmp(out, "Mayfly server v=", 16) == 0);
    const char *v2[] = {"-v", NULL};
    ASSERT_EQ(0, it_run_binary(v2, out, sizeof(out), 5000));
    ASSERT(strncmp(out, "Mayfly server v=", 16) == 0);
    const char *h[] = {"--help", NULL};
    ASSERT_EQ(0, it_run_binary(h, out, sizeof(out), 5000));
    ASSERT(strstr(out, "Usage: ./mayfly-server [/path/to/mayfly.conf] [options]") != NULL);
}

TEST(sample_config_loads) {
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "MAYFLY_SOURCE_DIR not set: sample config not checked\n");
        return;
    }
    char path[400];
    snprintf(path, sizeof(path), "%s/mayfly.conf", src);
    it_server s;
    const char *args[] = {path, NULL};
    it_start_server(&s, args);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "[\"unixsocketperm\",\"700\"]", "CONFIG GET unixsocketperm");
    const char *info = it_run(c, "INFO server");
    ASSERT(strstr(info, "config_file:") != NULL && strstr(info, "mayfly.conf") != NULL);
    redisFree(c);
    it_stop_server(&s);
}

/* The bytes of /proc/PID/cmdline up to the first NUL (the title as ps shows it). */
static void read_cmdline(pid_t pid, char *out, size_t cap) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
}

/* proc-title-template as Redis: expanded into the process title at start and on CONFIG SET,
 * spaces at the ends trimmed; a template with an unknown variable or an unclosed brace is
 * refused in a file or argument (the server does not start) and by CONFIG SET. */
TEST(process_title) {
    char out[4096];
    const char *bad[] = {"--port", "0", "--proc-title-template", "{title} {nosuch}", NULL};
    ASSERT_EQ(1, it_run_binary(bad, out, sizeof(out), 5000));
    ASSERT(strstr(out, "template format is invalid or contains unknown variables") != NULL);
    it_server s;
    const char *args[] = {"--proc-title-template", "  T {port} {config-file} {server-mode}", NULL};
    it_start_server(&s, args);
    char want[128], got[1024];
    snprintf(want, sizeof(want), "T %d -", s.port);
    read_cmdline(s.pid, got, sizeof(got));
    ASSERT_STR_EQ(want, got);
    redisContext *c = it_client_to(&s);
    EXPECT(c, "+OK", "CONFIG SET proc-title-template %s", "{{{title}} {listen-addr} {tls-port}");
    /* {title} is the program as the harness started it. */
    const char *bin = s.bin ? s.bin : getenv("MAYFLY_SERVER");
    snprintf(want, sizeof(want), "{%s} 127.0.0.1:%d 0", bin ? bin : "./mayfly-server", s.port);
    read_cmdline(s.pid, got, sizeof(got));
    ASSERT_STR_EQ(want, got);
    const char *refused = "-ERR CONFIG SET failed (possibly related to argument "
                          "'proc-title-template') - template format is invalid or contains "
                          "unknown variables";
    EXPECT(c, refused, "CONFIG SET proc-title-template %s", "{title");
    EXPECT(c, refused, "CONFIG SET proc-title-template %s", "   ");
    EXPECT(c, refused, "CONFIG SET proc-title-template %s", "x {");
    EXPECT(c, "[\"proc-title-template\",\"{{{title}} {listen-addr} {tls-port}\"]",
           "CONFIG GET proc-title-template");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'set-proc-title') - can't "
           "set immutable config",
           "CONFIG SET set-proc-title no");
    redisFree(c);
    it_stop_server(&s);
}

int main(void) {
    it_start(NULL);
    RUN(get_patterns);
    RUN(set_errors_like_redis);
    RUN(set_values);
    RUN(resetstat);
    RUN(help);
    RUN(rewrite_keeps_comments);
    RUN(startup_errors);
    RUN(command_line_like_redis);
    RUN(redis_test_suite_directives);
    RUN(debug_is_refused_by_default);
    RUN(version_and_help);
    RUN(sample_config_loads);
    RUN(process_title);
    it_stop();
    return test_report();
}
