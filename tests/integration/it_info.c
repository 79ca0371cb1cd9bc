/* Integration tests: INFO sections and formats (Redis 7/8 names), RESP3 verbatim reply,
 * commandstats and errorstats. */
#include "integration/harness.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writes the "# Section" header lines of text, joined by ",", into out. */
static const char *headers(const char *text) {
    static char out[512];
    out[0] = '\0';
    for (const char *p = text; (p = strstr(p, "# ")) != NULL; p++) {
        if (p[-1] != 'n' && p[-1] != '"') continue; /* only at a line start */
        const char *end = strstr(p, "\\r");
        if (!end) break;
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%.*s", len ? "," : "", (int)(end - p - 2), p + 2);
    }
    return out;
}

TEST(default_and_all_sections) {
    redisContext *c = it_client();
    const char *def =
        "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Errorstats,Cluster,"
        "Keyspace";
    const char *all = "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                      "Commandstats,Errorstats,Latencystats,Cluster,Keyspace";
    ASSERT_STR_EQ(def, headers(it_run(c, "INFO")));
    ASSERT_STR_EQ(def, headers(it_run(c, "INFO default")));
    ASSERT_STR_EQ(all, headers(it_run(c, "INFO all")));
    ASSERT_STR_EQ(all, headers(it_run(c, "INFO everything")));
    ASSERT_STR_EQ("Server,CPU", headers(it_run(c, "INFO cpu SERVER")));
    ASSERT_STR_EQ("Clients,Commandstats", headers(it_run(c, "INFO commandstats clients")));
    EXPECT(c, "\"\"", "INFO nosuchsection");
    redisFree(c);
}

TEST(server_fields) {
    redisContext *c = it_client();
    const char *s = it_run(c, "INFO server");
    ASSERT(strncmp(s, "\"# Server\\r\\nredis_version:", 26) == 0);
    ASSERT(strstr(s, "\\r\\nmayfly_version:") != NULL);
    ASSERT(strstr(s, "\\r\\nredis_mode:standalone\\r\\n") != NULL);
    ASSERT(it_info_field(c, "tcp_port") == it_srv.port);
    ASSERT(it_info_field(c, "process_id") == (long long)it_srv.pid || it_srv.pid == 0);
    ASSERT(it_info_field(c, "uptime_in_seconds") >= 0);
    ASSERT_EQ(10, it_info_field(c, "hz"));
    redisFree(c);
}

TEST(clients_memory_stats) {
    redisContext *c = it_client();
    redisContext *c2 = it_client();
    ASSERT(it_info_field(c, "connected_clients") >= 2);
    ASSERT_EQ(10000, it_info_field(c, "maxclients"));
    ASSERT(it_info_field(c, "used_memory") > 0);
    ASSERT(it_info_field(c, "used_memory_rss") > 0);
    ASSERT(it_info_field(c, "used_memory_peak") >= it_info_field(c, "used_memory") / 2);
    ASSERT(strstr(it_run(c, "INFO memory"), "maxmemory_policy:noeviction\\r\\n") != NULL);
    long long before = it_info_field(c, "total_commands_processed");
    EXPECT(c2, "+PONG", "PING");
    ASSERT(it_info_field(c, "total_commands_processed") >= before + 2);
    ASSERT(it_info_field(c, "total_connections_received") >= 2);
    ASSERT(it_info_field(c, "expired_keys") >= 0);
    ASSERT(it_info_field(c, "expired_subkeys") >= 0);
    ASSERT(it_info_field(c, "loading") == 0);
    ASSERT(strstr(it_run(c, "INFO replication"), "role:master\\r\\n") != NULL);
    ASSERT(strstr(it_run(c, "INFO cluster"), "cluster_enabled:0\\r\\n") != NULL);
    redisFree(c2);
    redisFree(c);
}

TEST(commandstats_and_errorstats) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "+PONG", "PING");
    EXPECT(c, "-ERR wrong number of arguments for 'echo' command", "ECHO");
    EXPECT(c, "-ERR unknown command 'nope', with args beginning with: ", "nope");
    const char *cs = it_run(c, "INFO commandstats");
    ASSERT(strstr(cs, "cmdstat_ping:calls=2,usec=") != NULL);
    ASSERT(strstr(cs, "cmdstat_echo:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,"
                      "failed_calls=0\\r\\n") != NULL);
    ASSERT(strstr(cs, "cmdstat_config|resetstat:calls=1,") != NULL);
    const char *es = it_run(c, "INFO errorstats");
    ASSERT(strstr(es, "errorstat_ERR:count=2\\r\\n") != NULL);
    ASSERT_EQ(2, it_info_field(c, "total_error_replies"));
    redisFree(c);
}

/* Issue 21: INFO stats carries Redis 7.2+'s event-loop figures: turns, time spent in them
 * (I/O waits excluded), time in commands, and their per-second samples (cron, 1 s). */
TEST(eventloop_stats) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    long long cycles = it_info_field(c, "eventloop_cycles");
    ASSERT(cycles >= 1);
    for (int i = 0; i < 20; i++)
        EXPECT(c, "+OK", "SET el%d x", i);
    ASSERT(it_info_field(c, "eventloop_cycles") >= cycles + 20);
    ASSERT(it_info_field(c, "eventloop_duration_sum") > 0);
    long long cmd_sum = it_info_field(c, "eventloop_duration_cmd_sum");
    ASSERT(cmd_sum > 0 && cmd_sum <= it_info_field(c, "eventloop_duration_sum"));
    WAIT_FOR(it_info_field(c, "instantaneous_eventloop_cycles_per_sec") > 0, 3000);
    ASSERT(it_info_field(c, "instantaneous_eventloop_duration_usec") >= 0);
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    ASSERT(it_info_field(c, "eventloop_cycles") < cycles + 20);
    redisFree(c);
}

/* mayfly_eventloop_turn_max_usec is a turn's busy time: a command that blocks the loop
 * counts in full, the loop's sleep between turns does not (every wait for I/O is timed by
 * util/looptime, libuv's idle metric kept only the last wait of a poll phase). With hz 1
 * the idle server sleeps about a second at a time. */
TEST(turn_max_is_busy_time) {
    redisContext *c = it_client();
    EXPECT(c, "+OK", "CONFIG SET hz 1");
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    EXPECT(c, "+OK", "DEBUG SLEEP 0.3");
    ASSERT(it_info_field(c, "mayfly_eventloop_turn_max_usec") >= 300000);
    EXPECT(c, "+OK", "CONFIG RESETSTAT");
    long long cycles = it_info_field(c, "eventloop_cycles");
    struct timespec idle = {2, 500 * 1000 * 1000};
    nanosleep(&idle, NULL); /* the server waits for I/O: two or three cron ticks */
    long long turns = it_info_field(c, "eventloop_cycles") - cycles;
    long long max_us = it_info_field(c, "mayfly_eventloop_turn_max_usec");
    long long sum_us = it_info_field(c, "eventloop_duration_sum");
    EXPECT(c, "+OK", "CONFIG SET hz 10");
    ASSERT(turns >= 2);
    ASSERT(max_us < 500000);
    ASSERT(sum_us < 1000000);
    redisFree(c);
}

TEST(resp3_verbatim) {
    int fd = it_raw_connect();
    char buf[65536];
    it_raw_send(fd, "HELLO 3\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000) > 0);
    it_raw_send(fd, "INFO cluster\r\n", 14);
    size_t n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    buf[n] = '\0';
    const char *want = "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n";
    ASSERT_MEM_EQ(want, strlen(want), buf, n);
    it_raw_send(fd, "HELLO 2\r\n", 9);
    ASSERT(it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000) > 0);
    it_raw_send(fd, "INFO cluster\r\n", 14);
    n = it_raw_read_reply(fd, buf, sizeof(buf) - 1, 5000);
    want = "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n";
    ASSERT_MEM_EQ(want, strlen(want), buf, n);
    close(fd);
}

int main(void) {
    it_start(NULL);
    RUN(default_and_all_sections);
    RUN(server_fields);
    RUN(clients_memory_stats);
    RUN(commandstats_and_errorstats);
    RUN(resp3_verbatim);
    RUN(eventloop_stats);
    RUN(turn_max_is_busy_time);
    it_stop();
    return test_report();
}
