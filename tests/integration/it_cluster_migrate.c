/* it_cluster_migrate: MIGRATE and RESTORE-ASKING between real processes: Mayfly to Mayfly
 * (keys, key TTLs and hash field TTLs intact; COPY, REPLACE, KEYS, AUTH, AUTH2, the
 * destination database; the target's errors, NOKEY, IOERR on a refused connection and on
 * a target that never answers; the DEL that is logged), Debian's Redis 7.0 to Mayfly (its
 * RDB 10 payloads are read), Mayfly to Redis 7.0 (refused by Redis: it reads payloads up to
 * RDB 10, Mayfly writes 12, as Redis 7.4 and 8 do), and a slot moved by hand between two
 * Mayfly cluster nodes (SETSLOT IMPORTING / MIGRATING, MIGRATE through the redirect gate,
 * RESTORE-ASKING, SETSLOT NODE, the per-slot key counts). */
#define _GNU_SOURCE
#include "integration/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static it_server dst, dst2, rds;

/* The reply of a command as an integer array element i (LLONG_MIN if not one). */
static long long elem_int(redisContext *c, int i, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = LLONG_MIN;
    if (r && r->type == REDIS_REPLY_ARRAY && (size_t)i < r->elements &&
        r->element[i]->type == REDIS_REPLY_INTEGER)
        v = r->element[i]->integer;
    if (r) freeReplyObject(r);
    return v;
}

TEST(migrate_keeps_ttls) {
    redisContext *s = it_client(), *d = it_client_to(&dst);
    EXPECT(s, "+OK", "SET str hello PX 500000");
    EXPECT(s, "2", "HSET h f1 v1 f2 v2");
    EXPECT(s, "1", "HSET big f0 v0");
    for (int i = 1; i < 300; i++) /* a hashtable-encoded hash */
        EXPECT(s, "1", "HSET big f%d %0100d", i, i);
    EXPECT(s, "[1]", "HPEXPIRE h 400000 FIELDS 1 f1");
    EXPECT(s, "[1]", "HPEXPIRE big 300000 FIELDS 1 f7");
    long long str_at = it_int(s, "PEXPIRETIME str");
    long long f1_at = elem_int(s, 0, "HPEXPIRETIME h FIELDS 1 f1");
    long long f7_at = elem_int(s, 0, "HPEXPIRETIME big FIELDS 1 f7");
    ASSERT(str_at > 0 && f1_at > 0 && f7_at > 0);
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d str 0 5000", dst.port);
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d h 0 5000", dst.port);
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d big 0 5000", dst.port);
    EXPECT(s, "0", "EXISTS str h big");
    EXPECT(d, "\"hello\"", "GET str");
    /* The key TTL travels as a relative TTL: within the time the exchange took. */
    long long at = it_int(d, "PEXPIRETIME str");
    ASSERT(at >= str_at - 5 && at <= str_at + 2000);
    /* Field deadlines travel inside the payload, absolute: exactly the same. */
    ASSERT_EQ(f1_at, elem_int(d, 0, "HPEXPIRETIME h FIELDS 1 f1"));
    ASSERT_EQ(-1, elem_int(d, 0, "HPEXPIRETIME h FIELDS 1 f2"));
    ASSERT_EQ(f7_at, elem_int(d, 0, "HPEXPIRETIME big FIELDS 1 f7"));
    EXPECT(d, "300", "HLEN big");
    EXPECT(d, "\"v2\"", "HGET h f2");
    EXPECT(s, "+NOKEY", "MIGRATE 127.0.0.1 %d str 0 5000", dst.port);
    ASSERT_EQ(1, it_info_field(s, "migrate_cached_sockets")); /* one target so far */
    /* And back, into another database. */
    EXPECT(d, "+OK", "MIGRATE 127.0.0.1 %d h 3 5000", it_srv.port);
    EXPECT(s, "0", "EXISTS h");
    EXPECT(s, "+OK", "SELECT 3");
    EXPECT(s, "\"v1\"", "HGET h f1");
    ASSERT_EQ(f1_at, elem_int(s, 0, "HPEXPIRETIME h FIELDS 1 f1"));
    EXPECT(s, "+OK", "SELECT 0");
    redisFree(s);
    redisFree(d);
}

TEST(migrate_options) {
    redisContext *s = it_client(), *d = it_client_to(&dst);
    EXPECT(s, "+OK", "SET a 1");
    EXPECT(s, "+OK", "SET b 2");
    EXPECT(d, "+OK", "SET a old");
    /* The target's error, key kept here. */
    EXPECT(s, "-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
           "MIGRATE 127.0.0.1 %d a 0 5000", dst.port);
    EXPECT(s, "\"1\"", "GET a");
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d a 0 5000 REPLACE COPY", dst.port);
    EXPECT(s, "\"1\"", "GET a");
    EXPECT(d, "\"1\"", "GET a");
    EXPECT(d, "1", "DEL a");
    /* KEYS: the missing key is skipped; a non-empty key argument is refused. */
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS a nosuch b", dst.port, "");
    EXPECT(s, "0", "EXISTS a b");
    EXPECT(d, "[\"1\",\"2\"]", "MGET a b");
    EXPECT(s, "+NOKEY", "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS a b", dst.port, "");
    /* A key the target refuses stays; those it took go, before and after it. */
    EXPECT(s, "+OK", "MSET p 1 q 2 r 3");
    EXPECT(d, "+OK", "SET q busy");
    EXPECT(s, "-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
           "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS p q r", dst.port, "");
    EXPECT(s, "[nil,\"2\",nil]", "MGET p q r");
    EXPECT(d, "[\"1\",\"busy\",\"3\"]", "MGET p q r");
    EXPECT(s,
           "-ERR When using MIGRATE KEYS option, the key argument must be set to the empty "
           "string",
           "MIGRATE 127.0.0.1 %d a 0 5000 KEYS a", dst.port);
    EXPECT(s, "-ERR syntax error", "MIGRATE 127.0.0.1 %d a 0 5000 BOGUS", dst.port);
    EXPECT(s, "-ERR syntax error", "MIGRATE 127.0.0.1 %d a 0 5000 AUTH", dst.port);
    EXPECT(s, "-ERR value is not an integer or out of range", "MIGRATE 127.0.0.1 %d a 0 x",
           dst.port);
    EXPECT(s, "-ERR wrong number of arguments for 'migrate' command", "MIGRATE 127.0.0.1 1 a 0");
    EXPECT(s, "[\"k\"]", "COMMAND GETKEYS MIGRATE 127.0.0.1 1 k 0 5000 AUTH keys");
    EXPECT(s, "[\"x\",\"y\"]", "COMMAND GETKEYS MIGRATE 127.0.0.1 1 %s 0 5000 KEYS x y", "");
    EXPECT(s, "[\"z\"]", "COMMAND GETKEYS MIGRATE 127.0.0.1 1 %s 0 5000 AUTH2 u keys KEYS z", "");
    /* An out-of-range database: the target's SELECT error. */
    EXPECT(d, "+OK", "SET c 3");
    EXPECT(d, "-ERR Target instance replied with error: ERR DB index is out of range",
           "MIGRATE 127.0.0.1 %d c 99 5000", it_srv.port);
    EXPECT(d, "\"3\"", "GET c");
    redisFree(s);
    redisFree(d);
}

TEST(migrate_auth) {
    redisContext *s = it_client(), *a = it_client_to(&dst2);
    EXPECT(a, "+OK", "ACL SETUSER mover on >pw2 ~* +@all");
    EXPECT(a, "+OK", "CONFIG SET requirepass pw");
    EXPECT(s, "+OK", "SET k v");
    EXPECT(s, "-ERR Target instance replied with error: NOAUTH Authentication required.",
           "MIGRATE 127.0.0.1 %d k 0 5000", dst2.port);
    EXPECT(s,
           "-ERR Target instance replied with error: WRONGPASS invalid username-password pair "
           "or user is disabled.",
           "MIGRATE 127.0.0.1 %d k 0 5000 AUTH nope", dst2.port);
    EXPECT(s, "\"v\"", "GET k");
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d k 0 5000 AUTH pw COPY", dst2.port);
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d k 0 5000 AUTH2 mover pw2 REPLACE", dst2.port);
    EXPECT(s, "0", "EXISTS k");
    redisFree(a);
    a = it_client_to(&dst2);
    EXPECT(a, "+OK", "AUTH pw");
    EXPECT(a, "\"v\"", "GET k");
    EXPECT(a, "+OK", "CONFIG SET requirepass %s", "");
    redisFree(a);
    redisFree(s);
}

/* A listener that accepts connections (the kernel's backlog) but never answers. */
static int silent_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

TEST(migrate_io_errors) {
    redisContext *s = it_client();
    EXPECT(s, "+OK", "SET k v");
    int port = it_free_port();
    EXPECT(s, "-IOERR error or timeout connecting to the client", "MIGRATE 127.0.0.1 %d k 0 500",
           port);
    int sport, lfd = silent_listener(&sport);
    ASSERT(lfd >= 0);
    EXPECT(s, "-IOERR error or timeout reading to target instance", "MIGRATE 127.0.0.1 %d k 0 300",
           sport);
    EXPECT(s, "\"v\"", "GET k");
    close(lfd);
    /* The server was not harmed: still serving. */
    EXPECT(s, "+PONG", "PING");
    EXPECT(s, "1", "DEL k");
    redisFree(s);
}

/* Reads the append-only log's incr file(s) of it_srv into out; returns the length. */
static size_t read_incr(char *out, size_t cap) {
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", it_srv.dir);
    out[0] = '\0';
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    size_t used = 0;
    for (struct dirent *de; (de = readdir(dp));) {
        if (!strstr(de->d_name, ".incr.aof")) continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        used += fread(out + used, 1, cap - 1 - used, f);
        fclose(f);
    }
    closedir(dp);
    out[used] = '\0';
    return used;
}

static int has(const char *log, size_t len, const char *what) {
    return memmem(log, len, what, strlen(what)) != NULL;
}

/* A moved key is logged as DEL (replicas and the log forget it), a copied one not at all. */
TEST(migrate_logs_del) {
    redisContext *s = it_client();
    EXPECT(s, "+OK", "SET logged-moved 1");
    EXPECT(s, "+OK", "SET logged-copied 1");
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d logged-moved 0 5000 REPLACE", dst.port);
    EXPECT(s, "+OK", "MIGRATE 127.0.0.1 %d logged-copied 0 5000 COPY REPLACE", dst.port);
    static char log[1 << 20];
    size_t len = read_incr(log, sizeof(log));
    ASSERT(has(log, len, "$3\r\nDEL\r\n$12\r\nlogged-moved\r\n"));
    ASSERT(!has(log, len, "MIGRATE") && !has(log, len, "migrate"));
    ASSERT(has(log, len, "$3\r\nSET\r\n$13\r\nlogged-copied\r\n"));
    ASSERT(!has(log, len, "DEL\r\n$13\r\nlogged-copied"));
    redisFree(s);
}

/* Redis 7.0 reads DUMP payloads up to RDB 10 and refuses Mayfly's (12); Redis 7.0's own
 * payloads restore here, through MIGRATE with AUTH and the KEYS form. */
TEST(migrate_with_redis70) {
    redisContext *s = it_client(), *r = it_client_to(&rds);
    EXPECT(s, "+OK", "SET tored 1");
    EXPECT(s,
           "-ERR Target instance replied with error: ERR DUMP payload version or checksum are "
           "wrong",
           "MIGRATE 127.0.0.1 %d tored 0 5000", rds.port);
    EXPECT(s, "\"1\"", "GET tored");
    EXPECT(r, "+OK", "SET rs hello PX 600000");
    EXPECT(r, "3", "HSET rh a 1 b 2 c 3");
    EXPECT(r, "+OK", "SET rn 12345");
    EXPECT(r, "1", "HSET rbig f0 v0");
    for (int i = 0; i < 200; i++)
        EXPECT(r, "1", "HSET rbig f%d %0100d", i + 1, i);
    long long at = it_int(r, "PEXPIRETIME rs");
    EXPECT(s, "+OK", "CONFIG SET requirepass pw");
    EXPECT(r, "+OK", "MIGRATE 127.0.0.1 %d %s 0 5000 AUTH pw KEYS rs rh rn rbig", it_srv.port, "");
    EXPECT(r, "0", "EXISTS rs rh rn rbig");
    redisFree(s);
    s = it_client();
    EXPECT(s, "+OK", "AUTH pw");
    EXPECT(s, "\"hello\"", "GET rs");
    long long got = it_int(s, "PEXPIRETIME rs");
    ASSERT(got >= at - 5 && got <= at + 2000);
    EXPECT(s, "[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\"]", "HGETALL rh");
    EXPECT(s, "\"12345\"", "GET rn");
    EXPECT(s, "201", "HLEN rbig");
    EXPECT(s, "+OK", "CONFIG SET requirepass %s", "");
    redisFree(s);
    redisFree(r);
}

/* ---- a slot moved by hand between two cluster nodes ---- */

static it_server na, nb;

static void start_cluster_node(it_server *s, char *bport) {
    snprintf(bport, 16, "%d", it_free_port());
    const char *args[] = {"--cluster-enabled",
                          "yes",
                          "--cluster-port",
                          bport,
                          "--cluster-node-timeout",
                          "2000",
                          "--save",
                          "",
                          NULL};
    it_start_server(s, args);
}

static const char *str_of(redisContext *c, const char *fmt, ...) {
    static char out[4096];
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    out[0] = '\0';
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        snprintf(out, sizeof(out), "%s", r->str);
    if (r) freeReplyObject(r);
    return out;
}

static int state_ok(redisContext *c) {
    return strstr(str_of(c, "CLUSTER INFO"), "cluster_state:ok") != NULL;
}

#define SLOT_KEYS 40 /* keys {foo}0.. of slot 12182, plus foo itself */

TEST(slot_moved_by_hand) {
    char bpa[16], bpb[16], ida[41], idb[41], want[128];
    start_cluster_node(&na, bpa);
    start_cluster_node(&nb, bpb);
    redisContext *a = it_client_to(&na), *b = it_client_to(&nb);
    snprintf(ida, sizeof(ida), "%s", str_of(a, "CLUSTER MYID"));
    snprintf(idb, sizeof(idb), "%s", str_of(b, "CLUSTER MYID"));
    EXPECT(a, "+OK", "CLUSTER ADDSLOTSRANGE 0 8191");
    EXPECT(b, "+OK", "CLUSTER ADDSLOTSRANGE 8192 16383");
    EXPECT(a, "+OK", "CLUSTER MEET 127.0.0.1 %d %s", nb.port, bpb);
    WAIT_FOR(state_ok(a) && state_ok(b), 20000);
    EXPECT(b, "+OK", "SET foo bar");
    for (int i = 0; i < SLOT_KEYS; i++) {
        EXPECT(b, "2", "HSET {foo}%d f v g w", i);
        EXPECT(b, "[1]", "HPEXPIRE {foo}%d %d FIELDS 1 f", i, 100000 + i);
    }
    long long f_at = elem_int(b, 0, "HPEXPIRETIME {foo}7 FIELDS 1 f");
    EXPECT(b, "41", "CLUSTER COUNTKEYSINSLOT 12182");
    EXPECT(a, "0", "CLUSTER COUNTKEYSINSLOT 12182");

    EXPECT(a, "+OK", "CLUSTER SETSLOT 12182 IMPORTING %s", idb);
    EXPECT(b, "+OK", "CLUSTER SETSLOT 12182 MIGRATING %s", ida);
    /* RESTORE-ASKING is taken by the importing node without ASKING; RESTORE is not. */
    redisReply *dump = redisCommand(b, "DUMP foo");
    ASSERT(dump && dump->type == REDIS_REPLY_STRING);
    snprintf(want, sizeof(want), "-MOVED 12182 127.0.0.1:%d", nb.port);
    EXPECT(a, want, "RESTORE {foo}new 0 %b", dump->str, dump->len);
    EXPECT(a, "+OK", "RESTORE-ASKING {foo}new 0 %b", dump->str, dump->len);
    freeReplyObject(dump);
    /* While the slot is open MIGRATE runs on either side, keys here or not. */
    EXPECT(b, "+NOKEY", "MIGRATE 127.0.0.1 %d {foo}nosuch 0 5000", na.port);
    EXPECT(a, "+NOKEY", "MIGRATE 127.0.0.1 %d {foo}nosuch 0 5000", nb.port);
    EXPECT(b, "-ERR Target instance replied with error: ERR SELECT is not allowed in cluster mode",
           "MIGRATE 127.0.0.1 %d foo 1 5000", na.port);
    /* (The RESTORE after the refused SELECT still ran on the target's database 0, as with
     * Redis: the commands are pipelined.) */
    EXPECT(b, "+OK", "MIGRATE 127.0.0.1 %d foo 0 5000 REPLACE", na.port);
    snprintf(want, sizeof(want), "-ASK 12182 127.0.0.1:%d", na.port);
    EXPECT(b, want, "GET foo");
    EXPECT(b,
           "-ERR Can't assign hashslot 12182 to a different node while I still hold keys for "
           "this hash slot.",
           "CLUSTER SETSLOT 12182 NODE %s", ida);
    /* The rest in batches from GETKEYSINSLOT, as redis-cli does. */
    for (int round = 0; round < 20; round++) {
        redisReply *ks = redisCommand(b, "CLUSTER GETKEYSINSLOT 12182 7");
        ASSERT(ks && ks->type == REDIS_REPLY_ARRAY);
        if (ks->elements == 0) {
            freeReplyObject(ks);
            break;
        }
        ASSERT(ks->elements <= 7);
        const char *argv[16];
        size_t lens[16];
        char port[16];
        snprintf(port, sizeof(port), "%d", na.port);
        const char *head[] = {"MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS"};
        int n = 0;
        for (; n < 7; n++) {
            argv[n] = head[n];
            lens[n] = strlen(head[n]);
        }
        for (size_t k = 0; k < ks->elements; k++, n++) {
            argv[n] = ks->element[k]->str;
            lens[n] = ks->element[k]->len;
        }
        redisReply *m = redisCommandArgv(b, n, argv, lens);
        ASSERT(m && m->type == REDIS_REPLY_STATUS && strcmp(m->str, "OK") == 0);
        freeReplyObject(m);
        freeReplyObject(ks);
    }
    EXPECT(b, "0", "CLUSTER COUNTKEYSINSLOT 12182");
    EXPECT(a, "42", "CLUSTER COUNTKEYSINSLOT 12182");
    EXPECT(a, "+OK", "CLUSTER SETSLOT 12182 NODE %s", ida);
    EXPECT(b, "+OK", "CLUSTER SETSLOT 12182 NODE %s", ida);
    EXPECT(a, "\"bar\"", "GET foo");
    ASSERT_EQ(f_at, elem_int(a, 0, "HPEXPIRETIME {foo}7 FIELDS 1 f"));
    EXPECT(a, "[\"v\",\"w\"]", "HMGET {foo}39 f g");
    snprintf(want, sizeof(want), "-MOVED 12182 127.0.0.1:%d", na.port);
    EXPECT(b, want, "GET foo");
    WAIT_FOR(strstr(str_of(b, "CLUSTER NODES"), "myself,master - 0 0 2 connected 8192-12181 "
                                                "12183-16383") != NULL ||
                 strstr(str_of(b, "CLUSTER NODES"), "connected 8192-12181 12183-16383") != NULL,
             5000);

    /* EXEC checks the queued commands' slots again, as Redis does: all in one slot, still
     * served here; a refused EXEC gets the redirection itself and its transaction goes. */
    redisContext *a2 = it_client_to(&na);
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "SET foo 1");
    EXPECT(a, "+QUEUED", "SET hello 1");
    EXPECT(a, "-CROSSSLOT Keys in request don't hash to the same slot", "EXEC");
    EXPECT(a, "-ERR EXEC without MULTI", "EXEC");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "SET bar 1");
    EXPECT(a2, "+OK", "CLUSTER SETSLOT 5061 NODE %s", idb); /* bar's slot, no key in it */
    snprintf(want, sizeof(want), "-MOVED 5061 127.0.0.1:%d", nb.port);
    EXPECT(a, want, "EXEC");
    EXPECT(a, "-ERR EXEC without MULTI", "EXEC");
    EXPECT(b, "+OK", "CLUSTER SETSLOT 5061 NODE %s", idb);
    /* ASKING before MULTI lets an importing node run the transaction. */
    EXPECT(b, "+OK", "CLUSTER SETSLOT 5061 MIGRATING %s", ida);
    EXPECT(a, "+OK", "CLUSTER SETSLOT 5061 IMPORTING %s", idb);
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, want, "SET bar 2");
    EXPECT(a, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EXPECT(a, "+OK", "ASKING");
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "+QUEUED", "SET bar 2");
    EXPECT(a, "+QUEUED", "GET bar");
    EXPECT(a, "[+OK,\"2\"]", "EXEC");
    EXPECT(a, want, "GET bar"); /* ASKING is spent */
    EXPECT(a, "+OK", "CLUSTER SETSLOT 5061 STABLE");
    EXPECT(b, "+OK", "CLUSTER SETSLOT 5061 STABLE");
    redisFree(a2);
    redisFree(a);
    redisFree(b);
    it_stop_server(&na);
    it_stop_server(&nb);
}

int main(void) {
    const char *src_args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    it_start(src_args);
    it_start_server(&dst, NULL);
    it_start_server(&dst2, NULL);
    it_start_redis(&rds, NULL);
    RUN(migrate_keeps_ttls);
    RUN(migrate_options);
    RUN(migrate_auth);
    RUN(migrate_io_errors);
    RUN(migrate_logs_del);
    RUN(migrate_with_redis70);
    RUN(slot_moved_by_hand);
    it_stop_server(&rds);
    it_stop_server(&dst2);
    it_stop_server(&dst);
    it_stop();
    return test_report();
}
