/* it_cluster_failover: replicas and failover in Redis Cluster, against real processes.
 *
 * mixed_votes: a cluster of Debian's redis-server 7.0 (a primary R and its replica Rr) and
 * two Mayfly primaries. The Mayfly nodes hold two of the three voting masters, so no Redis
 * replica can win an election without their votes. Checked: Mayfly's voting rules on
 * hand-made FAILOVER_AUTH_REQUEST messages (epochs, one vote per epoch, 2 * node timeout
 * per master, slot claims), a manual CLUSTER FAILOVER of the Redis replica, then a SIGKILL of
 * the new primary with the old one promoted by Mayfly's votes alone, and its rejoin as a
 * replica.
 *
 * Every node has a free client port and cluster-port; node timeout 2 s (1 s saw spurious
 * failovers on a loaded machine); waits are bounded. */
#include "integration/harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct node {
    it_server s;
    int bus;
    char bus_arg[16];
    const char *args[16];
    char id[41];
} node;

static void node_args(node *n, const char *timeout) {
    n->bus = it_free_port();
    snprintf(n->bus_arg, sizeof(n->bus_arg), "%d", n->bus);
    const char *a[] = {"--cluster-enabled",
                       "yes",
                       "--cluster-port",
                       n->bus_arg,
                       "--cluster-node-timeout",
                       timeout,
                       "--save",
                       "",
                       "--appendonly",
                       "no",
                       NULL};
    memcpy(n->args, a, sizeof(a));
}

static void start_mayfly(node *n) {
    node_args(n, "2000");
    it_start_server(&n->s, n->args);
}

static void start_redis(node *n) {
    node_args(n, "2000");
    if (!it_start_binary(&n->s, "/usr/bin/redis-server", n->args)) {
        fprintf(stderr, "cannot start redis-server\n");
        exit(1);
    }
}

static const char *reply_str(const it_server *s, const char *cmd) {
    static char out[16384];
    redisContext *c = it_client_to(s);
    redisReply *r = redisCommand(c, cmd);
    out[0] = '\0';
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
              r->type == REDIS_REPLY_ERROR))
        snprintf(out, sizeof(out), "%s", r->str);
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
}

static const char *nodes_of(const it_server *s) {
    return reply_str(s, "CLUSTER NODES");
}

/* The value of field in the reply of cmd ("CLUSTER INFO", "INFO replication"). */
static const char *field_of(const it_server *s, const char *cmd, const char *field) {
    static char val[128];
    const char *t = reply_str(s, cmd);
    val[0] = '\0';
    char key[128];
    snprintf(key, sizeof(key), "%s:", field);
    const char *p = strstr(t, key);
    if (p) sscanf(p + strlen(key), "%127[^\r\n]", val);
    return val;
}

static int state_ok(const it_server *s) {
    return strcmp(field_of(s, "CLUSTER INFO", "cluster_state"), "ok") == 0;
}

/* The line of text that starts with id (ids also appear as other lines' master). */
static const char *find_line(const char *text, const char *id) {
    size_t len = strlen(id);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, id, len) == 0) return p;
    return NULL;
}

/* The flags word of id's line in s's CLUSTER NODES ("" if absent). */
static const char *flags_of(const it_server *s, const char *id) {
    static char flags[128];
    flags[0] = '\0';
    const char *p = find_line(nodes_of(s), id);
    if (p) sscanf(p, "%*s %*s %127s", flags);
    return flags;
}

/* The master column of id's line in s's CLUSTER NODES. */
static const char *master_of(const it_server *s, const char *id) {
    static char m[64];
    m[0] = '\0';
    const char *p = find_line(nodes_of(s), id);
    if (p) sscanf(p, "%*s %*s %*s %63s", m);
    return m;
}

static int is_master(const it_server *s, const char *id) {
    return strstr(flags_of(s, id), "master") != NULL;
}

static int count_in_log(const it_server *s, const char *needle) {
    char path[512];
    snprintf(path, sizeof(path), "%s/server.log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle)) n++;
    fclose(f);
    return n;
}

/* Waits up to 5 s for exactly one line with needle in s's log; on a timeout prints the
 * log's election and failure lines (what else happened) and returns 0. */
static int log_once(const it_server *s, const char *needle) {
    for (int waited = 0; waited < 5000; waited += 10) {
        if (count_in_log(s, needle) == 1) return 1;
        it_sleep_ms(10);
    }
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "grep -E 'ailover|FAIL|failing|epoch' %s/server.log >&2", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "(no such lines)\n");
    fprintf(stderr, "wanted once: %s\n", needle);
    return 0;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- hand-made bus messages ---- */

static void put16(uint8_t *p, unsigned v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint8_t batch[3 * 2256];
static size_t batch_len;

/* Queues a FAILOVER_AUTH_REQUEST (type 5) as the replica `sender` of `master` would send it. */
static void add_auth_request(const char *sender, const char *master, uint64_t cur, uint64_t cfg,
                             int slot_from, int slot_to, int force_ack) {
    uint8_t *m = batch + batch_len;
    batch_len += 2256;
    memset(m, 0, 2256);
    memcpy(m, "RCmb", 4);
    m[4] = 0;
    m[5] = 0;
    m[6] = 2256 >> 8;
    m[7] = 2256 & 0xff;
    put16(m + 8, 1);
    put16(m + 12, 5);
    put64(m + 16, cur);
    put64(m + 24, cfg);
    memcpy(m + 40, sender, 40);
    for (int s = slot_from; s <= slot_to; s++)
        m[80 + s / 8] |= (uint8_t)(1u << (s & 7));
    memcpy(m + 2128, master, 40);
    put16(m + 2250, 2); /* slave */
    if (force_ack) m[2253] |= 2;
}

/* Sends the queued requests in one write on a new connection to M's bus port. The node
 * binds an inbound link to the sender it names, and drops that link when the real node's
 * own link shows up: one write per connection leaves no room for that in between. */
static void send_batch(int bus_port) {
    it_server bus = {0};
    snprintf(bus.host, sizeof(bus.host), "127.0.0.1");
    bus.port = bus_port;
    int fd = it_raw_connect_to(&bus);
    it_raw_send(fd, batch, batch_len);
    batch_len = 0;
    it_raw_closed(fd, 300);
    close(fd);
}

/* ---- the mixed cluster ---- */

static node R, Rr, M1, M2; /* Redis primary and replica, two Mayfly primaries */

static void myid(node *n) {
    snprintf(n->id, sizeof(n->id), "%s", reply_str(&n->s, "CLUSTER MYID"));
}

static int all_know(int count) {
    node *all[] = {&R, &Rr, &M1, &M2};
    for (int i = 0; i < 4; i++) {
        const char *t = nodes_of(&all[i]->s);
        int lines = 0, connected = 0;
        for (const char *p = t; (p = strchr(p, '\n')); p++)
            lines++;
        for (const char *p = t; (p = strstr(p, " connected")); p++)
            connected++;
        if (lines != count || connected != count || strstr(t, "handshake")) return 0;
    }
    return 1;
}

static void setup_mixed(void) {
    start_redis(&R);
    start_redis(&Rr);
    start_mayfly(&M1);
    start_mayfly(&M2);
    myid(&R);
    myid(&Rr);
    myid(&M1);
    myid(&M2);
    node *all[] = {&R, &Rr, &M1, &M2};
    for (int i = 0; i < 4; i++) {
        redisContext *c = it_client_to(&all[i]->s);
        freeReplyObject(redisCommand(c, "CLUSTER SET-CONFIG-EPOCH %d", i + 1));
        redisFree(c);
    }
    redisContext *c = it_client_to(&M1.s);
    for (int i = 0; i < 4; i++)
        if (all[i] != &M1)
            freeReplyObject(
                redisCommand(c, "CLUSTER MEET 127.0.0.1 %d %d", all[i]->s.port, all[i]->bus));
    redisFree(c);
    c = it_client_to(&R.s);
    freeReplyObject(redisCommand(c, "CLUSTER ADDSLOTSRANGE 0 5460"));
    redisFree(c);
    c = it_client_to(&M1.s);
    freeReplyObject(redisCommand(c, "CLUSTER ADDSLOTSRANGE 5461 10922"));
    redisFree(c);
    c = it_client_to(&M2.s);
    freeReplyObject(redisCommand(c, "CLUSTER ADDSLOTSRANGE 10923 16383"));
    redisFree(c);
}

TEST(mixed_cluster_forms) {
    setup_mixed();
    /* Polled until seen once (a link may be re-made right after a handshake). */
    int met = 0;
    for (int waited = 0; !met && waited < 15000; waited += 20) {
        met = all_know(4);
        if (!met) it_sleep_ms(20);
    }
    ASSERT_EQ(met, 1);
    redisContext *c = it_client_to(&Rr.s);
    EXPECT(c, "+OK", "CLUSTER REPLICATE %s", R.id);
    redisFree(c);
    WAIT_FOR(strcmp(master_of(&M1.s, Rr.id), R.id) == 0 &&
                 strcmp(master_of(&M2.s, Rr.id), R.id) == 0,
             10000);
    WAIT_FOR(strcmp(field_of(&Rr.s, "INFO replication", "master_link_status"), "up") == 0, 15000);
    WAIT_FOR(state_ok(&M1.s) && state_ok(&M2.s) && state_ok(&R.s) && state_ok(&Rr.s), 15000);
    ASSERT_STR_EQ(flags_of(&M1.s, Rr.id), "slave");
    c = it_client_to(&M1.s);
    char want[1024];
    /* Mayfly lists the Redis replica under its master. */
    redisReply *r = redisCommand(c, "CLUSTER REPLICAS %s", R.id);
    ASSERT_EQ(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1, 1);
    ASSERT_EQ(strncmp(r->element[0]->str, Rr.id, 40), 0);
    freeReplyObject(r);
    snprintf(want, sizeof(want), "-MOVED 3300 127.0.0.1:%d", R.s.port);
    EXPECT(c, want, "SET b 1");
    redisFree(c);
    c = it_client_to(&R.s);
    EXPECT(c, "+OK", "SET b 1");
    redisFree(c);
}

/* Mayfly's answers to FAILOVER_AUTH_REQUESTs made by hand in Rr's name. */
TEST(vote_rules) {
    uint64_t epoch = (uint64_t)atoll(field_of(&M1.s, "CLUSTER INFO", "cluster_current_epoch"));
    ASSERT_EQ(epoch >= 4, 1);
    char want[256];
    /* An older epoch than ours. */
    add_auth_request(Rr.id, R.id, epoch - 1, 1, 0, 5460, 1);
    send_batch(M1.bus);
    snprintf(want, sizeof(want), "Failover auth denied to %s (): reqEpoch (%llu) < curEpoch(%llu)",
             Rr.id, (unsigned long long)epoch - 1, (unsigned long long)epoch);
    ASSERT_EQ(log_once(&M1.s, want), 1);
    /* Its master is up and the request is not a manual failover's. */
    add_auth_request(Rr.id, R.id, epoch, 1, 0, 5460, 0);
    send_batch(M1.bus);
    snprintf(want, sizeof(want), "Failover auth denied to %s (): its master is up", Rr.id);
    ASSERT_EQ(log_once(&M1.s, want), 1);
    /* It claims M2's slots with an older config epoch than M2's (4). */
    add_auth_request(Rr.id, R.id, epoch + 1, 1, 10923, 16383, 1);
    send_batch(M1.bus);
    snprintf(want, sizeof(want),
             "Failover auth denied to %s (): slot 10923 epoch (4) > reqEpoch (1)", Rr.id);
    ASSERT_EQ(log_once(&M1.s, want), 1);
    /* Three at once (so that no loaded machine can stretch the 2 s between them): a good
     * request, granted; the same epoch again, refused (one vote per epoch); a new epoch but
     * the same master within 2 * node timeout, refused. */
    add_auth_request(Rr.id, R.id, epoch + 2, 1, 0, 5460, 1);
    add_auth_request(Rr.id, R.id, epoch + 2, 1, 0, 5460, 1);
    add_auth_request(Rr.id, R.id, epoch + 3, 1, 0, 5460, 1);
    send_batch(M1.bus);
    snprintf(want, sizeof(want), "Failover auth granted to %s () for epoch %llu", Rr.id,
             (unsigned long long)epoch + 2);
    ASSERT_EQ(log_once(&M1.s, want), 1);
    snprintf(want, sizeof(want), "Failover auth denied to %s (): already voted for epoch %llu",
             Rr.id, (unsigned long long)epoch + 2);
    ASSERT_EQ(log_once(&M1.s, want), 1);
    snprintf(want, sizeof(want), "Failover auth denied to %s : can't vote about this master before",
             Rr.id);
    ASSERT_EQ(log_once(&M1.s, want), 1);
    /* The vote is in nodes.conf. */
    char path[512], conf[8192] = {0};
    snprintf(path, sizeof(path), "%s/nodes.conf", M1.s.dir);
    FILE *f = fopen(path, "r");
    ASSERT_EQ(f != NULL, 1);
    size_t n = fread(conf, 1, sizeof(conf) - 1, f);
    conf[n] = '\0';
    fclose(f);
    snprintf(want, sizeof(want), "lastVoteEpoch %llu", (unsigned long long)epoch + 2);
    ASSERT_EQ(strstr(conf, want) != NULL, 1);
    /* M2, which got nothing, voted for nothing. */
    ASSERT_EQ(count_in_log(&M2.s, "Failover auth granted"), 0);
    /* Rr still a replica: no vote made it a master. */
    ASSERT_STR_EQ(flags_of(&M1.s, Rr.id), "slave");
}

/* CLUSTER FAILOVER on the Redis replica: R pauses, Rr asks for votes with FORCEACK; the
 * majority (2 of R, M1, M2) needs a Mayfly vote. */
TEST(manual_failover_of_redis_replica) {
    /* M1 voted about R less than 2 s ago (vote_rules): M2 must vote, or M1 after that. */
    redisContext *c = it_client_to(&Rr.s);
    EXPECT(c, "+OK", "CLUSTER FAILOVER");
    redisFree(c);
    WAIT_FOR(is_master(&M1.s, Rr.id) && is_master(&M2.s, Rr.id), 15000);
    ASSERT_EQ(is_master(&M2.s, Rr.id), 1);
    WAIT_FOR(strcmp(master_of(&M1.s, R.id), Rr.id) == 0 &&
                 strcmp(master_of(&M2.s, R.id), Rr.id) == 0,
             10000);
    char want[256];
    snprintf(want, sizeof(want), "Failover auth granted to %s", Rr.id);
    ASSERT_EQ(count_in_log(&M1.s, want) + count_in_log(&M2.s, want) >= 2, 1);
    WAIT_FOR(state_ok(&M1.s) && state_ok(&M2.s), 10000);
    c = it_client_to(&M1.s);
    snprintf(want, sizeof(want), "-MOVED 3300 127.0.0.1:%d", Rr.s.port);
    EXPECT(c, want, "GET b");
    redisFree(c);
    c = it_client_to(&Rr.s);
    EXPECT(c, "\"1\"", "GET b");
    redisFree(c);
}

/* SIGKILL of the new primary: only the two Mayfly masters are left to mark it FAIL and to
 * vote, so R's promotion is their work. */
TEST(kill_primary_mayfly_votes_promote) {
    WAIT_FOR(strcmp(field_of(&R.s, "INFO replication", "master_link_status"), "up") == 0, 15000);
    long long t0 = now_ms();
    it_kill_server(&Rr.s);
    WAIT_FOR(is_master(&M1.s, R.id) && is_master(&M2.s, R.id), 20000);
    WAIT_FOR(state_ok(&M1.s) && state_ok(&M2.s), 10000);
    long long took = now_ms() - t0;
    fprintf(stderr, "failover (Redis replica, Mayfly voters, node timeout 2000 ms): %lld ms\n",
            took);
    char want[256];
    snprintf(want, sizeof(want), "Failover auth granted to %s", R.id);
    ASSERT_EQ(count_in_log(&M1.s, want), 1);
    ASSERT_EQ(count_in_log(&M2.s, want), 1);
    redisContext *c = it_client_to(&R.s);
    EXPECT(c, "\"1\"", "GET b");
    EXPECT(c, "+OK", "SET b 2");
    redisFree(c);
    /* The old primary comes back and follows R. */
    ASSERT_EQ(it_restart_server(&Rr.s, Rr.args), 1);
    WAIT_FOR(strcmp(master_of(&M1.s, Rr.id), R.id) == 0 &&
                 strstr(flags_of(&M1.s, Rr.id), "fail") == NULL,
             15000);
    WAIT_FOR(strcmp(field_of(&Rr.s, "INFO replication", "master_link_status"), "up") == 0, 15000);
    c = it_client_to(&Rr.s);
    EXPECT(c, "+OK", "READONLY");
    WAIT_FOR(strcmp(it_run(c, "GET b"), "\"2\"") == 0, 5000);
    redisFree(c);
}

int main(void) {
    RUN(mixed_cluster_forms);
    RUN(vote_rules);
    RUN(manual_failover_of_redis_replica);
    RUN(kill_primary_mayfly_votes_promote);
    it_stop_server(&R.s);
    it_stop_server(&Rr.s);
    it_stop_server(&M1.s);
    it_stop_server(&M2.s);
    return test_report();
}
