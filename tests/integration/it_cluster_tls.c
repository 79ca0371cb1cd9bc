/* it_cluster_tls: the cluster bus over TLS (tls-cluster yes), with certificates made at
 * test time (tests/tls/gen-certs.sh). Two Mayfly nodes and Debian's redis-server 7.0 meet
 * on their TLS bus ports, agree on slots, redirect to TLS client ports, detect a failure;
 * a plaintext message to a TLS bus port gets no answer. Node timeout 1 s, waits bounded. */
#include "integration/harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char certs[256];

static const char *cert(const char *name) {
    static char p[16][512];
    static int i;
    i = (i + 1) % 16;
    snprintf(p[i], sizeof(p[i]), "%s/%s", certs, name);
    return p[i];
}

typedef struct node {
    it_server s;
    int bus, tls;
    char bus_arg[16], tls_arg[16];
    const char *args[24];
    char id[41];
} node;

static void node_args(node *n) {
    n->bus = it_free_port();
    n->tls = it_free_port();
    snprintf(n->bus_arg, sizeof(n->bus_arg), "%d", n->bus);
    snprintf(n->tls_arg, sizeof(n->tls_arg), "%d", n->tls);
    const char *a[] = {"--cluster-enabled",
                       "yes",
                       "--cluster-port",
                       n->bus_arg,
                       "--cluster-node-timeout",
                       "1000",
                       "--tls-port",
                       n->tls_arg,
                       "--tls-cluster",
                       "yes",
                       "--tls-cert-file",
                       cert("server.crt"),
                       "--tls-key-file",
                       cert("server.key"),
                       "--tls-ca-cert-file",
                       cert("ca.crt"),
                       "--save",
                       "",
                       "--appendonly",
                       "no",
                       NULL};
    memcpy(n->args, a, sizeof(a));
}

static const char *reply_str(const it_server *s, const char *cmd) {
    static char out[16384];
    redisContext *c = it_client_to(s);
    redisReply *r = redisCommand(c, cmd);
    out[0] = '\0';
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        snprintf(out, sizeof(out), "%s", r->str);
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
}

static const char *state_of(const it_server *s) {
    static char val[32];
    val[0] = '\0';
    const char *p = strstr(reply_str(s, "CLUSTER INFO"), "cluster_state:");
    if (p) sscanf(p + 14, "%31[a-z]", val);
    return val;
}

static node M1, M2, R;

/* Runs redis-cli over TLS (client certificate of gen-certs.sh) against n's TLS port. */
static void tls_cli(const node *n, const char *cmd, char *out, size_t cap) {
    char line[2048];
    snprintf(line, sizeof(line),
             "timeout 20 redis-cli --tls --cacert %s --cert %s --key %s -p %d %s 2>&1",
             cert("ca.crt"), cert("client.crt"), cert("client.key"), n->tls, cmd);
    out[0] = '\0';
    FILE *f = popen(line, "r");
    if (!f) return;
    size_t got = fread(out, 1, cap - 1, f);
    out[got] = '\0';
    pclose(f);
}

static int knows_all(const node *n) {
    const char *t = reply_str(&n->s, "CLUSTER NODES");
    int lines = 0, connected = 0;
    for (const char *p = t; (p = strchr(p, '\n')); p++)
        lines++;
    for (const char *p = t; (p = strstr(p, " connected")); p++)
        connected++;
    return lines == 3 && connected == 3 && !strstr(t, "handshake");
}

/* MIGRATE with tls-cluster yes connects with TLS, as Redis's (connTypeOfCluster): a key
 * of M1's slot moves to M2's TLS port and back; M2's plaintext port fails the handshake;
 * Redis 7.0's TLS port answers over TLS (its MOVED: it does not import that slot). */
static void migrate_over_tls(void) {
    redisContext *c1 = it_client_to(&M1.s), *c2 = it_client_to(&M2.s);
    long long slot = it_int(c1, "CLUSTER KEYSLOT b");
    ASSERT(slot >= 0 && slot <= 5460);
    EXPECT(c1, "1", "HSET {b}k f v");
    EXPECT(c1, "[1]", "HPEXPIREAT {b}k 4102444800000 FIELDS 1 f");
    EXPECT(c2, "+OK", "CLUSTER SETSLOT %lld IMPORTING %s", slot, M1.id);
    EXPECT(c1, "+OK", "CLUSTER SETSLOT %lld MIGRATING %s", slot, M2.id);
    char want[128];
    snprintf(want, sizeof(want), "-IOERR error or timeout connecting to the client");
    EXPECT(c1, want, "MIGRATE 127.0.0.1 %d {b}k 0 2000", M2.s.port);
    EXPECT(c1, "+OK", "MIGRATE 127.0.0.1 %d {b}k 0 5000", M2.tls);
    EXPECT(c1, "0", "DBSIZE");
    EXPECT(c2, "+OK", "ASKING");
    EXPECT(c2, "[4102444800000]", "HPEXPIRETIME {b}k FIELDS 1 f");
    ASSERT(it_int(c1, "CLUSTER KEYSLOT bar") <= 5460); /* another slot of M1's */
    EXPECT(c1, "1", "HSET {bar}r f v");
    const char *got = it_run(c1, "MIGRATE 127.0.0.1 %d {bar}r 0 5000", R.tls);
    ASSERT_EQ(strncmp(got, "-ERR Target instance replied with error: MOVED 5061 ", 52), 0);
    EXPECT(c1, "1", "DEL {bar}r");
    /* Back to M1 once its slot is stable (the owner serves RESTORE-ASKING). */
    EXPECT(c1, "+OK", "CLUSTER SETSLOT %lld STABLE", slot);
    EXPECT(c2, "+OK", "MIGRATE 127.0.0.1 %d {b}k 0 5000", M1.tls);
    EXPECT(c2, "+OK", "CLUSTER SETSLOT %lld STABLE", slot);
    EXPECT(c1, "[4102444800000]", "HPEXPIRETIME {b}k FIELDS 1 f");
    EXPECT(c1, "1", "DEL {b}k");
    redisFree(c1);
    redisFree(c2);
}

TEST(tls_bus_mixed_cluster) {
    node_args(&M1);
    node_args(&M2);
    node_args(&R);
    it_start_server(&M1.s, M1.args);
    it_start_server(&M2.s, M2.args);
    if (!it_start_binary(&R.s, "/usr/bin/redis-server", R.args)) TEST_FAIL("no redis-server");
    node *all[] = {&M1, &M2, &R};
    for (int i = 0; i < 3; i++)
        snprintf(all[i]->id, sizeof(all[i]->id), "%s", reply_str(&all[i]->s, "CLUSTER MYID"));
    redisContext *c = it_client_to(&M1.s);
    EXPECT(c, "+OK", "CLUSTER MEET 127.0.0.1 %d %d", M2.tls, M2.bus);
    EXPECT(c, "+OK", "CLUSTER MEET 127.0.0.1 %d %d", R.tls, R.bus);
    EXPECT(c, "+OK", "CLUSTER ADDSLOTSRANGE 0 5460");
    redisFree(c);
    c = it_client_to(&M2.s);
    EXPECT(c, "+OK", "CLUSTER ADDSLOTSRANGE 5461 10922");
    redisFree(c);
    c = it_client_to(&R.s);
    EXPECT(c, "+OK", "CLUSTER ADDSLOTSRANGE 10923 16383");
    redisFree(c);
    /* Polled until seen once: a link may be re-made right after a handshake (a node met
     * twice, by MEET and by gossip), and TLS makes that window long enough to catch. */
    int met = 0;
    for (int waited = 0; !met && waited < 15000; waited += 20) {
        met = knows_all(&M1) && knows_all(&M2) && knows_all(&R);
        if (!met) it_sleep_ms(20);
    }
    ASSERT_EQ(met, 1);
    WAIT_FOR(strcmp(state_of(&M1.s), "ok") == 0 && strcmp(state_of(&M2.s), "ok") == 0 &&
                 strcmp(state_of(&R.s), "ok") == 0,
             15000);
    /* A plaintext client gets plaintext ports, a TLS client TLS ports (Redis 7.2+'s rule,
     * also Redis 7.0's for plaintext clients). */
    char want[256];
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d@%d", M1.id, M1.s.port, M1.bus);
    ASSERT_EQ(strstr(reply_str(&R.s, "CLUSTER NODES"), want) != NULL, 1);
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d@%d", R.id, R.s.port, R.bus);
    ASSERT_EQ(strstr(reply_str(&M2.s, "CLUSTER NODES"), want) != NULL, 1);
    c = it_client_to(&M1.s);
    snprintf(want, sizeof(want), "-MOVED 12182 127.0.0.1:%d", R.s.port);
    EXPECT(c, want, "GET foo");
    redisFree(c);
    char out[8192];
    tls_cli(&M1, "CLUSTER NODES", out, sizeof(out));
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d@%d", R.id, R.tls, R.bus);
    if (!strstr(out, want)) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(strstr(out, want) != NULL, 1);
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d@%d myself", M1.id, M1.tls, M1.bus);
    ASSERT_EQ(strstr(out, want) != NULL, 1);
    tls_cli(&M1, "GET foo", out, sizeof(out));
    snprintf(want, sizeof(want), "MOVED 12182 127.0.0.1:%d", R.tls);
    if (!strstr(out, want)) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(strstr(out, want) != NULL, 1);
    tls_cli(&M1, "CLUSTER SLOTS", out, sizeof(out));
    snprintf(want, sizeof(want), "%d\n%s", R.tls, R.id);
    ASSERT_EQ(strstr(out, want) != NULL, 1);
    migrate_over_tls();
    if (test_failed_now) return;
    /* The bus port speaks TLS only: a plaintext PING gets no answer, the link is closed. */
    it_server bus = {0};
    snprintf(bus.host, sizeof(bus.host), "127.0.0.1");
    bus.port = M1.bus;
    int fd = it_raw_connect_to(&bus);
    uint8_t m[2256] = {'R', 'C', 'm', 'b', 0, 0, 0x08, 0xd0, 0, 1};
    memcpy(m + 40, R.id, 40);
    it_raw_send(fd, m, sizeof(m));
    char back[64];
    size_t got = it_raw_read(fd, back, 4, 2000);
    ASSERT_EQ(got >= 4 && memcmp(back, "RCmb", 4) == 0, 0);
    ASSERT_EQ(it_raw_closed(fd, 5000), 1);
    close(fd);
    /* Failure detection over TLS: M2 dies, M1 and Redis agree it failed. */
    it_kill_server(&M2.s);
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d@%d master,fail ", M2.id, M2.s.port, M2.bus);
    WAIT_FOR(strstr(reply_str(&M1.s, "CLUSTER NODES"), want) &&
                 strstr(reply_str(&R.s, "CLUSTER NODES"), want),
             15000);
    WAIT_FOR(strcmp(state_of(&M1.s), "fail") == 0, 5000);
    ASSERT_EQ(it_restart_server(&M2.s, M2.args), 1);
    WAIT_FOR(strcmp(state_of(&M1.s), "ok") == 0 && strcmp(state_of(&R.s), "ok") == 0, 15000);
}

int main(void) {
    snprintf(certs, sizeof(certs), "/tmp/mayfly-it-cluster-tls-%d", (int)getpid());
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "sh %s/tests/tls/gen-certs.sh %s", src ? src : ".", certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not make certificates\n");
        return 1;
    }
    RUN(tls_bus_mixed_cluster);
    it_stop_server(&M1.s);
    it_stop_server(&M2.s);
    it_stop_server(&R.s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", certs);
    return test_report();
}
