/* it_repl_security: replication links that authenticate as an ACL user (masteruser /
 * masterauth) and run over TLS (tls-replication), with real peers (issue 16).
 *
 *   - Mayfly replicating Mayfly through the primary's TLS port, client certificates
 *     required (tls-auth-clients yes): full sync, the stream; a replica without
 *     tls-replication pointed at the same port never links;
 *   - a primary whose default user needs a password: the replica logs in as a user
 *     limited to +psync +replconf +ping, and a wrong masterauth is refused (ACL LOG);
 *   - both at once against Debian's redis-server 7.0, in each direction.
 * Certificates are made at test time (tests/tls/gen-certs.sh). Every wait is bounded. */
#include "integration/repl_util.h"

#include <unistd.h>

#define SYNC_MS 10000

static char certs[256];
static char paths[8][320];

static const char *cert(int slot, const char *name) {
    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", certs, name);
    return paths[slot];
}

/* The TLS directives of a server on tls_port (its own certificate doubles as the client
 * certificate of its outgoing replication link, as in Redis), into args from n. */
static int tls_args(const char **args, int n, const char *tls_port) {
    const char *v[] = {"--tls-port",
                       tls_port,
                       "--tls-cert-file",
                       cert(0, "server.crt"),
                       "--tls-key-file",
                       cert(1, "server.key"),
                       "--tls-ca-cert-file",
                       cert(2, "ca.crt"),
                       "--tls-replication",
                       "yes",
                       NULL};
    for (int i = 0; v[i]; i++)
        args[n++] = v[i];
    return n;
}

static void fill(redisContext *c, const char *prefix, int n) {
    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "HSET %s%d f %d g x", prefix, i, i);
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) == REDIS_OK) freeReplyObject(r);
    }
}

static int link_up_within(redisContext *rc, int ms) {
    for (int waited = 0; waited < ms; waited += 20) {
        if (ru_link_up(rc)) return 1;
        it_sleep_ms(20);
    }
    return 0;
}

TEST(mayfly_over_tls) {
    it_server p, r, plain;
    char pport[16], rport[16], of[64];
    snprintf(pport, sizeof(pport), "%d", it_free_port());
    const char *pa[24] = {"--repl-diskless-sync-delay", "0"};
    int n = tls_args(pa, 2, pport);
    pa[n] = NULL;
    it_start_server(&p, pa);
    redisContext *pc = it_client_to(&p);
    fill(pc, "h", 200);
    snprintf(of, sizeof(of), "%s", pport);
    snprintf(rport, sizeof(rport), "%d", it_free_port());
    const char *ra[24] = {"--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", of};
    n = tls_args(ra, 5, rport);
    ra[n] = NULL;
    it_start_server(&r, ra);
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after the full sync over TLS");
    EXPECT(pc, "1", "HSETEX later PX 100000 FIELDS 1 f v");
    EXPECT(pc, "1", "WAIT 1 5000");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after the stream over TLS");
    /* Plaintext to the TLS port is dropped: such a replica never links. */
    it_start_server(&plain, (const char *const[]){"--replicaof", "127.0.0.1", of, NULL});
    redisContext *xc = it_client_to(&plain);
    ASSERT(!link_up_within(xc, 1500));
    ASSERT_EQ(0, it_int(xc, "DBSIZE"));
    ASSERT_EQ(1, it_info_field(pc, "connected_slaves"));
    redisFree(xc);
    it_stop_server(&plain);
    redisFree(rc);
    redisFree(pc);
    it_stop_server(&r);
    it_stop_server(&p);
}

/* The primary's default user needs a password; the replica's user may only replicate. */
static const char *const acl_primary[] = {"--repl-diskless-sync-delay",
                                          "0",
                                          "--requirepass",
                                          "adminpw",
                                          "--user",
                                          "repl",
                                          "on",
                                          ">rpw",
                                          "+psync",
                                          "+replconf",
                                          "+ping",
                                          NULL};

TEST(masteruser_acl) {
    it_server p, r, bad;
    it_start_server(&p, acl_primary);
    redisContext *pc = it_client_to(&p);
    EXPECT(pc, "+OK", "AUTH adminpw");
    fill(pc, "k", 100);
    char of[64];
    ru_replicaof(&p, of, sizeof(of));
    it_start_server(&r, (const char *const[]){"--repl-diskless-sync-delay", "0", "--replicaof", of,
                                              "--masteruser", "repl", "--masterauth", "rpw", NULL});
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after a sync as user repl");
    EXPECT(pc, "+OK", "SET more 1");
    EXPECT(pc, "1", "WAIT 1 5000");
    /* The user can replicate and nothing else. */
    redisContext *uc = it_client_to(&p);
    EXPECT(uc, "+OK", "AUTH repl rpw");
    EXPECT(uc, "-NOPERM User repl has no permissions to run the 'get' command", "GET more");
    redisFree(uc);
    /* A wrong password: no link, and the primary logs the refusal. */
    long long denied = it_info_field(pc, "acl_access_denied_auth");
    it_start_server(&bad, (const char *const[]){"--replicaof", of, "--masteruser", "repl",
                                                "--masterauth", "nope", NULL});
    redisContext *bc = it_client_to(&bad);
    ASSERT(!link_up_within(bc, 1500));
    WAIT_FOR(it_info_field(pc, "acl_access_denied_auth") > denied, 5000);
    ASSERT_EQ(1, it_info_field(pc, "connected_slaves"));
    redisFree(bc);
    it_stop_server(&bad);
    redisFree(rc);
    redisFree(pc);
    it_stop_server(&r);
    it_stop_server(&p);
}

/* The same user on both sides of a TLS link, with Debian's redis-server as the primary
 * (Mayfly replicates) or as the replica (Redis replicates Mayfly, RDB 10 without field
 * TTLs). */
static void redis_pair(int redis_is_primary) {
    it_server p, r;
    char pport[16], rport[16];
    snprintf(pport, sizeof(pport), "%d", it_free_port());
    snprintf(rport, sizeof(rport), "%d", it_free_port());
    const char *pa[40];
    int n = 0;
    for (int i = 0; acl_primary[i]; i++)
        pa[n++] = acl_primary[i];
    n = tls_args(pa, n, pport);
    pa[n] = NULL;
    const char *ra[40] = {"--replicaof", "127.0.0.1",    pport, "--masteruser",
                          "repl",        "--masterauth", "rpw"};
    n = tls_args(ra, 7, rport);
    ra[n] = NULL;
    if (redis_is_primary) {
        it_start_redis(&p, pa);
        it_start_server(&r, ra);
    } else {
        it_start_server(&p, pa);
        it_start_redis(&r, ra);
    }
    redisContext *pc = it_client_to(&p);
    redisContext *rc = it_client_to(&r);
    redisReply *x = redisCommand(pc, "AUTH adminpw");
    freeReplyObject(x);
    fill(pc, "h", 100);
    x = redisCommand(pc, "SET s v EX 1000");
    freeReplyObject(x);
    for (int waited = 0; waited < SYNC_MS && !ru_link_up(rc); waited += 20)
        it_sleep_ms(20);
    if (!ru_link_up(rc)) {
        test_failed_now = 1;
        fprintf(stderr, "%s replica did not link over TLS as user repl\n",
                redis_is_primary ? "Mayfly" : "Redis");
    } else {
        x = redisCommand(pc, "WAIT 1 5000");
        freeReplyObject(x);
        for (int waited = 0; waited < 5000 && !ru_offsets_equal(pc, rc); waited += 20)
            it_sleep_ms(20);
        if (!ru_same_dataset(pc, rc)) {
            test_failed_now = 1;
            fprintf(stderr, "datasets differ (%s primary)\n",
                    redis_is_primary ? "Redis" : "Mayfly");
        }
    }
    redisFree(rc);
    redisFree(pc);
    it_stop_server(&r);
    it_stop_server(&p);
}

TEST(mayfly_replicates_redis_over_tls_as_user) {
    ru_field_ttls = 0;
    redis_pair(1);
}

TEST(redis_replicates_mayfly_over_tls_as_user) {
    ru_field_ttls = 0;
    redis_pair(0);
}

int main(void) {
    snprintf(certs, sizeof(certs), "/tmp/mayfly-it-repl-tls-%d", (int)getpid());
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "sh %s/tests/tls/gen-certs.sh %s", src ? src : ".", certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not make certificates\n");
        return 1;
    }
    RUN(mayfly_over_tls);
    RUN(masteruser_acl);
    RUN(mayfly_replicates_redis_over_tls_as_user);
    RUN(redis_replicates_mayfly_over_tls_as_user);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", certs);
    return test_report();
}
