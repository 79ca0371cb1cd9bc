/* it_cluster: Redis Cluster against real processes: Mayfly nodes, Debian's redis-server 7.0
 * (cluster-enabled) on the same bus, and redis-cli --cluster create / check.
 *
 * Every node gets a free client port and a free cluster-port (so port+10000 need not be
 * free); nodes are stopped by PID (the harness). The bus cron runs every 100 ms and the
 * node timeout is 1 s, so each wait below is bounded in seconds. */
#include "integration/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int it_free_port(void);

#define NODES 3

static it_server mf[NODES]; /* Mayfly nodes */
static int bus_port[NODES];

static char port_args[NODES + 2][16];
static const char *node_args[NODES + 2][12];

/* The arguments of node i (kept for restarts). */
static const char *const *args_of(int i, int bport) {
    snprintf(port_args[i], sizeof(port_args[i]), "%d", bport);
    const char *a[] = {"--cluster-enabled",
                       "yes",
                       "--cluster-port",
                       port_args[i],
                       "--cluster-node-timeout",
                       "1000",
                       "--save",
                       "",
                       "--appendonly",
                       "no",
                       NULL};
    memcpy(node_args[i], a, sizeof(a));
    return node_args[i];
}

static void start_node(it_server *s, int *bport, const char *bin) {
    static int next = 0;
    int i = bin ? NODES + 1 : next++ % NODES;
    *bport = it_free_port();
    const char *const *args = args_of(i, *bport);
    if (bin) {
        if (!it_start_binary(s, bin, args)) {
            fprintf(stderr, "cannot start %s\n", bin);
            exit(1);
        }
    } else {
        it_start_server(s, args);
    }
}

/* The CLUSTER NODES text of s (static buffer). */
static const char *nodes_of(const it_server *s) {
    static char out[8192];
    redisContext *c = it_client_to(s);
    redisReply *r = redisCommand(c, "CLUSTER NODES");
    out[0] = '\0';
    if (r && (r->type == REDIS_REPLY_STRING)) snprintf(out, sizeof(out), "%s", r->str);
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
}

static int count_lines(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        if (len && (!needle || strstr(line, needle))) n++;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

/* 1 when s knows n nodes, all out of handshake and connected. */
static int knows_all(const it_server *s, int n) {
    const char *t = nodes_of(s);
    return count_lines(t, NULL) == n && count_lines(t, "handshake") == 0 &&
           count_lines(t, " connected") == n;
}

static const char *info_field(const it_server *s, const char *field) {
    static char val[128];
    redisContext *c = it_client_to(s);
    redisReply *r = redisCommand(c, "CLUSTER INFO");
    val[0] = '\0';
    if (r && r->str) {
        const char *p = strstr(r->str, field);
        if (p) sscanf(p + strlen(field) + 1, "%127[^\r\n]", val);
    }
    if (r) freeReplyObject(r);
    redisFree(c);
    return val;
}

static void myid(const it_server *s, char *out) {
    redisContext *c = it_client_to(s);
    redisReply *r = redisCommand(c, "CLUSTER MYID");
    snprintf(out, 41, "%s", r && r->str ? r->str : "");
    if (r) freeReplyObject(r);
    redisFree(c);
}

/* Runs a shell command line with a time limit; returns its exit status and output. */
static int sh(const char *cmd, char *out, size_t cap) {
    char line[1024];
    snprintf(line, sizeof(line), "timeout 60 %s 2>&1", cmd);
    FILE *f = popen(line, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    return pclose(f);
}

TEST(cluster_disabled_refuses) {
    redisContext *c = it_client();
    EXPECT(c, "-ERR This instance has cluster support disabled", "CLUSTER INFO");
    EXPECT(c, "-ERR This instance has cluster support disabled", "CLUSTER KEYSLOT foo");
    EXPECT(c, "-ERR This instance has cluster support disabled", "READONLY");
    EXPECT(c, "-ERR This instance has cluster support disabled", "ASKING");
    EXPECT(c, "+OK", "SELECT 1");
    EXPECT(c, "[\"cluster-enabled\",\"no\"]", "CONFIG GET cluster-enabled");
    redisFree(c);
    /* A cluster node configured with a primary does not start (Redis's sanity check). */
    const char *args[] = {"--port", "0", "--cluster-enabled", "yes", "--replicaof", "127.0.0.1",
                          "1",      NULL};
    char out[4096];
    ASSERT(it_run_binary(args, out, sizeof(out), 5000) != 0);
    ASSERT(strstr(out, "replicaof directive not allowed in cluster mode") != NULL);
}

/* Key slots agree with Redis 7.0's, hash tags included. */
TEST(keyslot_matches_redis) {
    redisContext *m = it_client_to(&mf[0]);
    it_server r = {0};
    int bp;
    start_node(&r, &bp, "/usr/bin/redis-server");
    redisContext *rc = it_client_to(&r);
    const char *keys[] = {"foo",
                          "somekey",
                          "{user1000}.following",
                          "foo{}{bar}",
                          "foo{{bar}}zap",
                          "foo{bar}{zap}",
                          "{}",
                          "{",
                          "}",
                          "a{b",
                          "x}{y}",
                          "",
                          "\xff\xfe"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *argv[] = {"CLUSTER", "KEYSLOT", keys[i]};
        redisReply *a = redisCommandArgv(rc, 3, argv, NULL);
        char want[32];
        snprintf(want, sizeof(want), "%lld", a->integer);
        freeReplyObject(a);
        EXPECT_ARGV(m, want, 3, argv);
    }
    EXPECT(m, "12182", "CLUSTER KEYSLOT foo");
    redisFree(rc);
    redisFree(m);
    it_stop_server(&r);
}

/* Mayfly and Redis 7.0 nodes MEET and see each other on the bus. */
TEST(meet_redis70) {
    it_server r = {0};
    int rbp;
    start_node(&r, &rbp, "/usr/bin/redis-server");
    redisContext *c = it_client_to(&mf[0]);
    EXPECT(c, "+OK", "CLUSTER MEET 127.0.0.1 %d %d", mf[1].port, bus_port[1]);
    EXPECT(c, "+OK", "CLUSTER MEET 127.0.0.1 %d %d", r.port, rbp);
    WAIT_FOR(knows_all(&mf[0], 3) && knows_all(&mf[1], 3) && knows_all(&r, 3), 10000);
    ASSERT_EQ(knows_all(&mf[0], 3), 1);
    ASSERT_EQ(knows_all(&mf[1], 3), 1);
    ASSERT_EQ(knows_all(&r, 3), 1);
    /* Each side names the others by their own ids. */
    char id_r[41], id_m0[41], id_m1[41];
    myid(&r, id_r);
    myid(&mf[0], id_m0);
    myid(&mf[1], id_m1);
    ASSERT_EQ(strstr(nodes_of(&mf[1]), id_r) != NULL, 1);
    ASSERT_EQ(strstr(nodes_of(&r), id_m0) != NULL, 1);
    ASSERT_EQ(strstr(nodes_of(&r), id_m1) != NULL, 1);
    /* Slots assigned on either side reach the other with the owner's config epoch. */
    redisContext *rc = it_client_to(&r);
    EXPECT(c, "+OK", "CLUSTER ADDSLOTSRANGE 0 99");
    EXPECT(rc, "+OK", "CLUSTER ADDSLOTS 12182");
    /* BUMPED, or STILL when an epoch collision already gave node 0 the highest epoch. */
    const char *bump = it_run(c, "CLUSTER BUMPEPOCH");
    ASSERT_EQ(strncmp(bump, "+BUMPED ", 8) == 0 || strncmp(bump, "+STILL ", 7) == 0, 1);
    WAIT_FOR(strstr(nodes_of(&r), " 0-99") && strstr(nodes_of(&mf[0]), " 12182") &&
                 strstr(nodes_of(&mf[1]), " 12182"),
             10000);
    ASSERT_EQ(strstr(nodes_of(&r), " 0-99") != NULL, 1);
    ASSERT_EQ(strstr(nodes_of(&mf[1]), " 12182") != NULL, 1);
    /* Not every slot is served: the cluster is down unless partial coverage is allowed. */
    EXPECT(c, "-CLUSTERDOWN The cluster is down", "GET foo");
    EXPECT(c, "+OK", "CONFIG SET cluster-require-full-coverage no");
    WAIT_FOR(strcmp(info_field(&mf[0], "cluster_state"), "ok") == 0, 5000);
    char moved[128];
    snprintf(moved, sizeof(moved), "-MOVED 12182 127.0.0.1:%d", r.port);
    EXPECT(c, moved, "GET foo");
    EXPECT(c, "-CLUSTERDOWN Hash slot not served", "GET a");
    EXPECT(c, "+OK", "CONFIG SET cluster-require-full-coverage yes");
    /* PUBLISH crosses the bus from Mayfly to Redis. */
    redisContext *sub = it_client_to(&r);
    redisReply *x = redisCommand(sub, "SUBSCRIBE ch");
    freeReplyObject(x);
    EXPECT(c, "0", "PUBLISH ch hello");
    x = NULL;
    ASSERT_EQ(redisGetReply(sub, (void **)&x), REDIS_OK);
    ASSERT_EQ(x->elements, 3);
    ASSERT_STR_EQ(x->element[2]->str, "hello");
    freeReplyObject(x);
    redisFree(sub);
    /* Redis forgets a Mayfly node and the other way round; a FAIL follows a crash. */
    EXPECT(c, "+OK", "CLUSTER RESET HARD");
    EXPECT(rc, "+OK", "CLUSTER RESET HARD");
    redisFree(rc);
    redisFree(c);
    it_stop_server(&r);
    c = it_client_to(&mf[1]);
    EXPECT(c, "+OK", "CLUSTER RESET HARD");
    redisFree(c);
}

TEST(cli_create_and_redirects) {
    char cmd[512], out[8192];
    snprintf(cmd, sizeof(cmd),
             "redis-cli --cluster create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d --cluster-yes",
             mf[0].port, mf[1].port, mf[2].port);
    int rc = sh(cmd, out, sizeof(out));
    if (rc != 0 || !strstr(out, "[OK] All 16384 slots covered.")) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    for (int i = 0; i < NODES; i++)
        WAIT_FOR(strcmp(info_field(&mf[i], "cluster_state"), "ok") == 0, 10000);
    for (int i = 0; i < NODES; i++)
        ASSERT_STR_EQ(info_field(&mf[i], "cluster_state"), "ok");
    for (int i = 0; i < NODES; i++)
        WAIT_FOR(knows_all(&mf[i], 3), 10000);
    snprintf(cmd, sizeof(cmd), "redis-cli --cluster check 127.0.0.1:%d", mf[1].port);
    rc = sh(cmd, out, sizeof(out));
    if (rc != 0 || !strstr(out, "[OK] All nodes agree about slots configuration.") ||
        strstr(out, "[ERR]") || strstr(out, "[WARNING]"))
        fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(strstr(out, "[ERR]") == NULL && strstr(out, "[WARNING]") == NULL, 1);
    ASSERT_STR_EQ(info_field(&mf[0], "cluster_size"), "3");
    ASSERT_STR_EQ(info_field(&mf[0], "cluster_known_nodes"), "3");

    /* Slots 0-5460 are node 0's, 5461-10922 node 1's, the rest node 2's. */
    redisContext *c0 = it_client_to(&mf[0]);
    redisContext *c2 = it_client_to(&mf[2]);
    char want[128];
    snprintf(want, sizeof(want), "-MOVED 12182 127.0.0.1:%d", mf[2].port);
    EXPECT(c0, want, "SET foo bar");
    EXPECT(c2, "+OK", "SET foo bar");
    EXPECT(c2, "\"bar\"", "GET foo");
    EXPECT(c0, "-CROSSSLOT Keys in request don't hash to the same slot", "MSET a 1 b 2");
    EXPECT(c0, "+OK", "MSET {b}1 1 {b}2 2");
    EXPECT(c0, "-ERR SELECT is not allowed in cluster mode", "SELECT 1");
    EXPECT(c0, "+OK", "SELECT 0");
    /* Whom a node replicates is the bus's business (CLUSTER REPLICATE), as in Redis. */
    EXPECT(c0, "-ERR REPLICAOF not allowed in cluster mode.", "REPLICAOF 127.0.0.1 %d", mf[1].port);
    EXPECT(c0, "-ERR REPLICAOF not allowed in cluster mode.", "SLAVEOF NO ONE");
    EXPECT(c0, "+PONG", "PING");
    EXPECT(c2, "1", "CLUSTER COUNTKEYSINSLOT 12182");
    EXPECT(c2, "[\"foo\"]", "CLUSTER GETKEYSINSLOT 12182 10");
    EXPECT(c2, "-ERR Invalid slot", "CLUSTER COUNTKEYSINSLOT 16384");
    EXPECT(c2, "-ERR Invalid slot or number of keys", "CLUSTER GETKEYSINSLOT 1 -1");
    EXPECT(c2, "-ERR Slot 12182 is already busy", "CLUSTER ADDSLOTS 12182");
    EXPECT(c2, "-ERR Invalid or out of range slot", "CLUSTER ADDSLOTS 16384");
    EXPECT(c2, "-ERR Slot 1 is already busy", "CLUSTER ADDSLOTSRANGE 1 3");
    EXPECT(c2, "-ERR start slot number 3 is greater than end slot number 1",
           "CLUSTER ADDSLOTSRANGE 3 1");
    EXPECT(c2, "-ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
           "CLUSTER SETSLOT 1 bogus");
    EXPECT(c2, "-ERR I'm not the owner of hash slot 1", "CLUSTER SETSLOT 1 MIGRATING x");
    EXPECT(c2, "-ERR Unknown node x", "CLUSTER REPLICAS x");

    /* A slot being moved from node 2 to node 0: -ASK for missing keys, -TRYAGAIN for a mix,
     * ASKING lets node 0 serve it once. */
    char id0[41], id2[41];
    myid(&mf[0], id0);
    myid(&mf[2], id2);
    EXPECT(c2, "[]", "CLUSTER REPLICAS %s", id0);
    EXPECT(c2, "[]", "CLUSTER SLAVES %s", id0);
    EXPECT(c2, "+OK", "CLUSTER SETSLOT 12182 MIGRATING %s", id0);
    EXPECT(c0, "+OK", "CLUSTER SETSLOT 12182 IMPORTING %s", id2);
    EXPECT(c2, "\"bar\"", "GET foo");
    snprintf(want, sizeof(want), "-ASK 12182 127.0.0.1:%d", mf[0].port);
    EXPECT(c2, want, "GET {foo}x");
    EXPECT(c2, "-TRYAGAIN Multiple keys request during rehashing of slot", "MGET foo {foo}x");
    snprintf(want, sizeof(want), "-MOVED 12182 127.0.0.1:%d", mf[2].port);
    EXPECT(c0, want, "GET {foo}x");
    EXPECT(c0, "+OK", "ASKING");
    EXPECT(c0, "nil", "GET {foo}x");
    EXPECT(c0, want, "GET {foo}x");
    EXPECT(c2,
           "-ERR Can't assign hashslot 12182 to a different node while I still hold keys "
           "for this hash slot.",
           "CLUSTER SETSLOT 12182 NODE %s", id0);
    EXPECT(c2, "+OK", "CLUSTER SETSLOT 12182 STABLE");
    EXPECT(c0, "+OK", "CLUSTER SETSLOT 12182 STABLE");
    redisFree(c0);
    redisFree(c2);
}

/* nodes.conf keeps the identity, slots and epochs across a restart. */
TEST(nodes_conf_survives_restart) {
    char before[41], after[41];
    myid(&mf[1], before);
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%s", info_field(&mf[1], "cluster_my_epoch"));
    ASSERT_EQ(it_restart_server(&mf[1], node_args[1]), 1);
    myid(&mf[1], after);
    ASSERT_STR_EQ(after, before);
    ASSERT_STR_EQ(info_field(&mf[1], "cluster_my_epoch"), epoch);
    WAIT_FOR(strcmp(info_field(&mf[1], "cluster_state"), "ok") == 0, 10000);
    ASSERT_STR_EQ(info_field(&mf[1], "cluster_state"), "ok");
    ASSERT_STR_EQ(info_field(&mf[1], "cluster_slots_assigned"), "16384");
    char path[512], buf[4096];
    snprintf(path, sizeof(path), "%s/nodes.conf", mf[1].dir);
    FILE *f = fopen(path, "r");
    ASSERT_EQ(f != NULL, 1);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    ASSERT_EQ(strstr(buf, "myself,master") != NULL, 1);
    ASSERT_EQ(strstr(buf, "vars currentEpoch ") != NULL, 1);
    ASSERT_EQ(strstr(buf, ",shard-id=") != NULL, 1);
}

/* A node that dies is marked PFAIL, then FAIL by the majority; the cluster goes down. */
TEST(failure_detection) {
    char id2[41];
    myid(&mf[2], id2);
    it_kill_server(&mf[2]);
    WAIT_FOR(strstr(nodes_of(&mf[0]), "master,fail ") && strstr(nodes_of(&mf[1]), "master,fail "),
             15000);
    ASSERT_EQ(strstr(nodes_of(&mf[0]), "master,fail ") != NULL, 1);
    ASSERT_EQ(strstr(nodes_of(&mf[1]), "master,fail ") != NULL, 1);
    WAIT_FOR(strcmp(info_field(&mf[0], "cluster_state"), "fail") == 0, 5000);
    ASSERT_STR_EQ(info_field(&mf[0], "cluster_state"), "fail");
    redisContext *c = it_client_to(&mf[0]);
    EXPECT(c, "-CLUSTERDOWN The cluster is down", "GET b");
    EXPECT(c, "+OK", "CONFIG SET cluster-allow-reads-when-down yes");
    EXPECT(c, "nil", "GET b");
    EXPECT(c, "-CLUSTERDOWN The cluster is down and only accepts read commands", "SET a 1");
    redisFree(c);
    /* It comes back: the FAIL flag is cleared and the cluster is ok again. */
    ASSERT_EQ(it_restart_server(&mf[2], node_args[2]), 1);
    WAIT_FOR(strcmp(info_field(&mf[0], "cluster_state"), "ok") == 0, 15000);
    ASSERT_STR_EQ(info_field(&mf[0], "cluster_state"), "ok");
}

/* The unsent bytes of node 0's link to node `to` (-1: no such link), from CLUSTER LINKS. */
static long long link_sendbuf(const char *to) {
    redisContext *c = it_client_to(&mf[0]);
    redisReply *r = redisCommand(c, "CLUSTER LINKS");
    long long used = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *l = r->element[i];
        int out = 0, node = 0;
        long long u = 0;
        for (size_t k = 0; k + 1 < l->elements; k += 2) {
            const char *f = l->element[k]->str, *v = l->element[k + 1]->str;
            if (strcmp(f, "direction") == 0) out = strcmp(v, "to") == 0;
            if (strcmp(f, "node") == 0) node = strcmp(v, to) == 0;
            if (strcmp(f, "send-buffer-used") == 0) u = l->element[k + 1]->integer;
        }
        if (out && node) used = u;
    }
    freeReplyObject(r);
    redisFree(c);
    return used;
}

/* cluster-link-sendbuf-limit: node 2 stops reading (SIGSTOP) while node 0 broadcasts 24 MB
 * of PUBLISH messages (the kernel's socket buffers take some MB of them). Without a limit the
 * link's send buffer keeps them; with one, the next cron frees the link (logged and counted in
 * CLUSTER INFO as in Redis) and connects again. */
TEST(link_sendbuf_limit) {
    char id2[41];
    myid(&mf[2], id2);
    WAIT_FOR(link_sendbuf(id2) >= 0, 5000);
    redisContext *c = it_client_to(&mf[0]);
    ASSERT_STR_EQ(info_field(&mf[0], "total_cluster_links_buffer_limit_exceeded"), "0");
    /* Node 0 must not drop the link as stuck (no PONG for half the node timeout) while the
     * test watches its buffer: a long timeout meanwhile. */
    EXPECT(c, "+OK", "CONFIG SET cluster-node-timeout 60000");
    ASSERT_EQ(kill(mf[2].pid, SIGSTOP), 0);
    size_t len = 1024 * 1024;
    char *msg = malloc(len);
    memset(msg, 'm', len);
    for (int i = 0; i < 24; i++)
        EXPECT(c, "0", "PUBLISH ch %b", msg, len);
    free(msg);
    WAIT_FOR(link_sendbuf(id2) > 4 * 1024 * 1024, 5000);
    ASSERT_EQ(link_sendbuf(id2) > 4 * 1024 * 1024, 1);
    ASSERT_STR_EQ(info_field(&mf[0], "total_cluster_links_buffer_limit_exceeded"), "0");
    EXPECT(c, "+OK", "CONFIG SET cluster-link-sendbuf-limit 1mb");
    WAIT_FOR(strcmp(info_field(&mf[0], "total_cluster_links_buffer_limit_exceeded"), "1") == 0,
             5000);
    ASSERT_STR_EQ(info_field(&mf[0], "total_cluster_links_buffer_limit_exceeded"), "1");
    /* The new link holds no more than its PING. */
    ASSERT_EQ(link_sendbuf(id2) < 1024 * 1024, 1);
    char path[512], cmd[1024], out[512];
    snprintf(path, sizeof(path), "%s/server.log", mf[0].dir);
    snprintf(cmd, sizeof(cmd), "grep -c 'Freeing cluster link(to node %s, used memory: ' '%s'", id2,
             path);
    ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
    ASSERT_EQ(atoi(out), 1);
    ASSERT_EQ(kill(mf[2].pid, SIGCONT), 0);
    EXPECT(c, "+OK", "CONFIG SET cluster-link-sendbuf-limit 0");
    EXPECT(c, "+OK", "CONFIG SET cluster-node-timeout 1000");
    redisFree(c);
    for (int i = 0; i < NODES; i++)
        WAIT_FOR(strcmp(info_field(&mf[i], "cluster_state"), "ok") == 0, 15000);
}

int main(void) {
    it_start(NULL);
    RUN(cluster_disabled_refuses);
    it_stop();
    for (int i = 0; i < NODES; i++)
        start_node(&mf[i], &bus_port[i], NULL);
    RUN(keyslot_matches_redis);
    RUN(meet_redis70);
    RUN(cli_create_and_redirects);
    RUN(nodes_conf_survives_restart);
    RUN(failure_detection);
    RUN(link_sendbuf_limit);
    kill(mf[2].pid, SIGCONT); /* had the test stopped half-way */
    for (int i = 0; i < NODES; i++)
        it_stop_server(&mf[i]);
    return test_report();
}
