/* it_repl: replication between Mayfly processes over real sockets.
 *
 * A full sync of hashes with field TTLs (deadlines identical on the replica), streaming
 * writes that converge (offsets and datasets equal), partial resync after a dropped link
 * and after a replica restart, WAIT, the read-only replica, field expiry reaching the
 * replica as HDEL, a replica of a replica, a disk-based sync, PSYNC continuing with a
 * promoted replica (replid2), and the NOREPLICAS / MASTERDOWN gates. Every wait is a
 * bounded poll. */
#include "integration/persist_util.h"
#include "integration/repl_util.h"

#include <signal.h>

#define SYNC_MS 10000

/* Starts p and a replica r of it, both with extra arguments, and waits for the link. */
static int pair(it_server *p, it_server *r, const char *const *pextra, const char *const *rextra,
                redisContext **pc, redisContext **rc) {
    ru_start_primary(p, pextra);
    ru_start_replica(r, p, rextra);
    *pc = it_client_to(p);
    *rc = it_client_to(r);
    for (int waited = 0; waited < SYNC_MS; waited += 10) {
        if (ru_link_up(*rc)) return 1;
        it_sleep_ms(10);
    }
    return 0;
}

static void unpair(it_server *p, it_server *r, redisContext *pc, redisContext *rc) {
    redisFree(pc);
    redisFree(rc);
    it_stop_server(r);
    it_stop_server(p);
}

TEST(full_sync_of_field_ttls) {
    it_server p, r;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    /* Compact and table encodings, fields with and without TTLs, a key TTL. */
    EXPECT(pc, "1", "HSETEX small PX 500000 FIELDS 2 a 1 b 2");
    EXPECT(pc, "1", "HSET small c 3");
    for (int i = 0; i < 700; i++)
        redisAppendCommand(pc, "HSETEX big PX %d FIELDS 1 f%d v%d", 100000 + i * 37, i, i);
    for (int i = 0; i < 700; i++) {
        redisReply *x;
        if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("pipeline");
        freeReplyObject(x);
    }
    EXPECT(pc, "1", "HSET big plain x");
    EXPECT(pc, "+OK", "SET s v PX 900000");
    ru_start_replica(&r, &p, NULL);
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after the full sync");
    EXPECT(rc, "\"hashtable\"", "OBJECT ENCODING big");
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    unpair(&p, &r, pc, rc);
}

TEST(streaming_writes_converge) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    /* Pipelined writes of every kind that propagates: relative TTLs become absolute. */
    for (int i = 0; i < 2000; i++) {
        switch (i % 6) {
        case 0:
            redisAppendCommand(pc, "SET k%d %d EX 1000", i, i);
            break;
        case 1:
            redisAppendCommand(pc, "HSET h%d f %d g x", i % 50, i);
            break;
        case 2:
            redisAppendCommand(pc, "HSETEX h%d EX 500 FIELDS 1 t%d %d", i % 50, i, i);
            break;
        case 3:
            redisAppendCommand(pc, "INCRBYFLOAT n%d 1.5", i % 10);
            break;
        case 4:
            redisAppendCommand(pc, "HPEXPIRE h%d 700000 FIELDS 1 f", i % 50);
            break;
        default:
            redisAppendCommand(pc, "MULTI");
            break;
        }
        if (i % 6 == 5) {
            redisAppendCommand(pc, "DEL k%d", i - 5);
            redisAppendCommand(pc, "HINCRBY h%d c 1", i % 50);
            redisAppendCommand(pc, "EXEC");
        }
    }
    int replies = 2000 + (2000 / 6) * 3;
    for (int i = 0; i < replies; i++) {
        redisReply *x;
        if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("pipeline");
        freeReplyObject(x);
    }
    EXPECT(pc, "1", "WAIT 1 5000");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs");
    unpair(&p, &r, pc, rc);
}

/* The bytes of a file's last len bytes into out (cap > len); the count read. */
static size_t file_tail(const char *path, char *out, size_t len) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = 0;
    if (fseek(f, -(long)len, SEEK_END) == 0) n = fread(out, 1, len, f);
    fclose(f);
    return n;
}

/* A request in RESP's own form reaches the stream (and the log) as its own bytes; one in a
 * looser form Redis also accepts (bytes it skips unchecked that are not CRLF), an inline
 * one and one that arrived in two reads are encoded from argv: either way the stream is
 * what Redis would send, the canonical RESP of argv, and its length is the offset's step. */
TEST(stream_bytes_are_canonical_resp) {
    it_server p, r;
    redisContext *pc, *rc;
    const char *pextra[] = {"--repl-ping-replica-period", "3600", "--appendonly", "yes", NULL};
    if (!pair(&p, &r, pextra, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "SET warm 1"); /* the stream's SELECT goes out before off0 */
    EXPECT(pc, "1", "WAIT 1 5000");
    char replid[64];
    if (!ru_info(pc, "master_replid", replid, sizeof(replid))) TEST_FAIL("no replid");
    long long off0 = it_info_field(pc, "master_repl_offset");
    int fd = it_raw_connect_to(&p);
    static const char *const sent[] = {
        "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n",             /* exact */
        "*3\rX$3\r\nset\r\n$2\rXk2xx$2\r\nv2\r\n",                 /* loose */
        "SET k3 v3\r\n",                                           /* inline */
        "*4\r\n$4\r\nhset\r\n$1\r\nh\r\n$1\r\nf\r\n$3\r\nabc\r\n", /* exact */
        "*3\r\n$3\r\nSET\r\n$2\r\nk5",                             /* cut here */
        "\r\n$2\r\nv5\r\n",
        /* A pipeline in one read: net/ peeks ahead (prefetch) at the commands it holds
         * whole in RESP's own form, and passes those on without another check. */
        ("*3\r\n$3\r\nSET\r\n$2\r\nk6\r\n$2\r\nv6\r\n*3\r\n$3\r\nSET\r\n$2\r\nk7\r\n$2\r\nv7\r\n"
         "*3\r\n$3\r\nSET\r\n$2\r\nk8xx$2\r\nv8\r\n*3\r\n$3\r\nSET\r\n$2\r\nk9\r\n$2\r\nv9\r\n"
         "*2\r\n$4\r\nINCR\r\n$1\r\nn\n\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"),
    };
    static const char want[] = "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n"
                               "*3\r\n$3\r\nset\r\n$2\r\nk2\r\n$2\r\nv2\r\n"
                               "*3\r\n$3\r\nSET\r\n$2\r\nk3\r\n$2\r\nv3\r\n"
                               "*4\r\n$4\r\nhset\r\n$1\r\nh\r\n$1\r\nf\r\n$3\r\nabc\r\n"
                               "*3\r\n$3\r\nSET\r\n$2\r\nk5\r\n$2\r\nv5\r\n"
                               "*3\r\n$3\r\nSET\r\n$2\r\nk6\r\n$2\r\nv6\r\n"
                               "*3\r\n$3\r\nSET\r\n$2\r\nk7\r\n$2\r\nv7\r\n"
                               "*3\r\n$3\r\nSET\r\n$2\r\nk8\r\n$2\r\nv8\r\n"
                               "*3\r\n$3\r\nSET\r\n$2\r\nk9\r\n$2\r\nv9\r\n"
                               "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
                               "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
    size_t wlen = sizeof(want) - 1;
    for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
        it_raw_send_str(fd, sent[i]);
        it_sleep_ms(20); /* the cut command arrives in two reads */
    }
    static const char replies[] = "+OK\r\n+OK\r\n+OK\r\n:1\r\n+OK\r\n"
                                  "+OK\r\n+OK\r\n+OK\r\n+OK\r\n:1\r\n:2\r\n";
    char got[512];
    size_t n = it_raw_read(fd, got, sizeof(replies) - 1, 5000);
    close(fd);
    ASSERT_MEM_EQ(replies, sizeof(replies) - 1, got, n);
    ASSERT_EQ(off0 + (long long)wlen, it_info_field(pc, "master_repl_offset"));
    /* The backlog from off0 on, as a replica continuing there gets it. */
    char psync[128];
    snprintf(psync, sizeof(psync), "PSYNC %s %lld\r\n", replid, off0 + 1);
    fd = it_raw_connect_to(&p);
    it_raw_send_str(fd, psync);
    /* No "REPLCONF capa psync2" was sent: the reply names no id, as Redis's. */
    static const char head[] = "+CONTINUE\r\n";
    int hlen = (int)sizeof(head) - 1;
    n = it_raw_read(fd, got, (size_t)hlen + wlen, 5000);
    close(fd);
    ASSERT_MEM_EQ(head, (size_t)hlen, got, n < (size_t)hlen ? n : (size_t)hlen);
    ASSERT_MEM_EQ(want, wlen, got + hlen, n - (size_t)hlen);
    /* The log's RESP sink takes the same bytes. */
    char incr[1200];
    if (pu_last_incr(&p, incr, sizeof(incr)) != 0) TEST_FAIL("no log increment");
    n = file_tail(incr, got, wlen);
    ASSERT_MEM_EQ(want, wlen, got, n);
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs");
    unpair(&p, &r, pc, rc);
}

TEST(publish_reaches_replica_subscribers) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    redisContext *sub = it_client_to(&r);
    redisReply *x = redisCommand(sub, "SUBSCRIBE news");
    if (!x) TEST_FAIL("subscribe");
    freeReplyObject(x);
    /* Nobody listens on the primary; the replica's subscriber gets the message. */
    EXPECT(pc, "0", "PUBLISH news hello");
    if (redisGetReply(sub, (void **)&x) != REDIS_OK) TEST_FAIL("no message");
    char out[256];
    ASSERT_STR_EQ("[\"message\",\"news\",\"hello\"]", it_render(x, out, sizeof(out)));
    freeReplyObject(x);
    redisFree(sub);
    unpair(&p, &r, pc, rc);
}

TEST(partial_resync_after_dropped_link) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "SET a 1");
    EXPECT(rc, "1", "CLIENT KILL TYPE master");
    /* Written while the link is down: it comes from the backlog. */
    EXPECT(pc, "+OK", "SET b 2");
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "\"2\"", "GET b");
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    ASSERT_EQ(1, it_info_field(pc, "sync_partial_ok"));
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    /* The primary drops the replica's link this time. */
    EXPECT(pc, "1", "CLIENT KILL TYPE replica");
    EXPECT(pc, "+OK", "SET c 3");
    WAIT_FOR(ru_link_up(rc) && it_info_field(pc, "sync_partial_ok") == 2, SYNC_MS);
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "\"3\"", "GET c");
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    unpair(&p, &r, pc, rc);
}

TEST(partial_resync_after_replica_restart) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "SET a 1");
    EXPECT(pc, "1", "WAIT 1 5000");
    /* The snapshot of the shutdown records the primary's replid and offset. */
    redisCommand(rc, "SHUTDOWN SAVE");
    redisFree(rc);
    it_wait_exit(&r, 10000);
    EXPECT(pc, "+OK", "SET b 2");
    char of[64];
    const char *args[] = {"--repl-diskless-sync-delay", "0", "--replicaof",
                          ru_replicaof(&p, of, sizeof(of)), NULL};
    if (!it_restart_server(&r, args)) TEST_FAIL("restart");
    rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "\"2\"", "GET b");
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    ASSERT_EQ(1, it_info_field(pc, "sync_partial_ok"));
    unpair(&p, &r, pc, rc);
}

TEST(wait) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "SET a 1");
    EXPECT(pc, "1", "WAIT 1 0");
    /* Two replicas asked, one exists: the timeout answers with what was acknowledged. */
    long long t0 = ru_now_ms();
    EXPECT(pc, "1", "WAIT 2 300");
    long long took = ru_now_ms() - t0;
    if (took < 250 || took > 3000) TEST_FAIL("WAIT 2 300 took %lld ms", took);
    /* In a transaction it does not block. */
    EXPECT(pc, "+OK", "MULTI");
    EXPECT(pc, "+QUEUED", "WAIT 5 10000");
    EXPECT(pc, "[1]", "EXEC");
    EXPECT(pc, "-ERR timeout is negative", "WAIT 1 -1");
    EXPECT(pc, "-ERR timeout is not an integer or out of range", "WAIT 1 x");
    EXPECT(rc,
           "-ERR WAIT cannot be used with replica instances. Please also note that since Redis "
           "4.0 if a replica is configured to be writable (which is not the default) writes to "
           "replicas are just local and are not propagated.",
           "WAIT 1 0");
    /* A client blocked in WAIT holds its next command back until it is answered. */
    redisAppendCommand(pc, "WAIT 3 200");
    redisAppendCommand(pc, "PING");
    redisReply *x;
    if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("wait reply");
    ASSERT_EQ(1, x->integer);
    freeReplyObject(x);
    if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("ping reply");
    ASSERT_STR_EQ("PONG", x->str);
    freeReplyObject(x);
    unpair(&p, &r, pc, rc);
}

TEST(read_only_replica) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(rc, "-READONLY You can't write against a read only replica.", "SET a 1");
    EXPECT(rc, "-READONLY You can't write against a read only replica.", "HSET h f v");
    EXPECT(rc, "+OK", "MULTI");
    EXPECT(rc, "-READONLY You can't write against a read only replica.", "SET a 1");
    EXPECT(rc, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EXPECT(rc, "nil", "GET a");
    EXPECT(rc, "+OK", "CONFIG SET replica-read-only no");
    EXPECT(rc, "+OK", "SET local 1");
    EXPECT(rc, "\"1\"", "GET local");
    EXPECT(pc, "nil", "GET local");
    unpair(&p, &r, pc, rc);
}

/* replica-ignore-maxmemory yes (the default): a replica over its maxmemory evicts nothing
 * itself; it keeps what the primary has. */
TEST(replica_ignores_maxmemory) {
    it_server p, r;
    redisContext *pc, *rc;
    const char *rextra[] = {"--maxmemory", "2mb", "--maxmemory-policy", "allkeys-random", NULL};
    if (!pair(&p, &r, NULL, rextra, &pc, &rc)) TEST_FAIL("no link");
    static char value[8001];
    memset(value, 'v', sizeof(value) - 1);
    for (int i = 0; i < 600; i++)
        redisAppendCommand(pc, "SET big:%d %s", i, value);
    for (int i = 0; i < 600; i++) {
        redisReply *x;
        if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("pipeline");
        freeReplyObject(x);
    }
    EXPECT(pc, "1", "WAIT 1 5000");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    EXPECT(rc, "600", "DBSIZE");
    ASSERT_EQ(0, it_info_field(rc, "evicted_keys"));
    /* Told not to ignore it, the replica evicts down to its limit. */
    EXPECT(rc, "+OK", "CONFIG SET replica-ignore-maxmemory no");
    EXPECT(pc, "+OK", "SET trigger 1");
    WAIT_FOR(it_info_field(rc, "evicted_keys") > 0, 5000);
    unpair(&p, &r, pc, rc);
}

/* A field of the replica's line in the primary's CLIENT LIST TYPE replica, -1 if none. */
static long long replica_client_field(redisContext *c, const char *field) {
    redisReply *x = redisCommand(c, "CLIENT LIST TYPE replica");
    long long v = -1;
    char key[32];
    snprintf(key, sizeof(key), " %s=", field);
    if (x && x->type == REDIS_REPLY_STRING && strstr(x->str, key))
        v = atoll(strstr(x->str, key) + strlen(key));
    if (x) freeReplyObject(x);
    return v;
}

/* n SETs of a len-byte value, pipelined; 0 on a failed reply. */
static int set_values(redisContext *c, int n, size_t len) {
    char *value = malloc(len + 1);
    memset(value, 'x', len);
    value[len] = '\0';
    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "SET lag:%d %s", i, value);
    free(value);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        redisReply *x;
        if (redisGetReply(c, (void **)&x) != REDIS_OK) return 0;
        ok &= x->type == REDIS_REPLY_STATUS;
        freeReplyObject(x);
    }
    return ok;
}

/* A replica that stops reading (SIGSTOP) is sent the stream from the backlog's blocks once
 * it reads again, as Redis 7's shared replication buffer: the blocks from its position stay
 * (the backlog reaches back to them), count as its output buffer (CLIENT LIST omem, obl 0;
 * INFO mem_clients_slaves) and are freed once it has them. Past its output-buffer limit
 * the link is dropped and the blocks freed. */
TEST(lagging_replica_keeps_backlog_blocks) {
    it_server p, r;
    redisContext *pc, *rc;
    const char *pextra[] = {"--repl-backlog-size", "16384", NULL};
    if (!pair(&p, &r, pextra, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "SET before 1");
    EXPECT(pc, "1", "WAIT 1 5000");
    kill(r.pid, SIGSTOP);
    /* 32 MB: more than both sockets' buffers take on loopback. */
    if (!set_values(pc, 512, 64 * 1024)) {
        kill(r.pid, SIGCONT);
        TEST_FAIL("writes");
    }
    WAIT_FOR(replica_client_field(pc, "omem") >= 8 * 1024 * 1024, 5000);
    long long omem = replica_client_field(pc, "omem");
    long long slaves = it_info_field(pc, "mem_clients_slaves");
    long long histlen = it_info_field(pc, "repl_backlog_histlen");
    long long total = it_info_field(pc, "mem_total_replication_buffers");
    long long obl = replica_client_field(pc, "obl");
    kill(r.pid, SIGCONT);
    if (omem < 8 * 1024 * 1024) TEST_FAIL("omem %lld while the replica lags", omem);
    if (slaves < 8 * 1024 * 1024) TEST_FAIL("mem_clients_slaves %lld", slaves);
    if (histlen < 8 * 1024 * 1024) TEST_FAIL("repl_backlog_histlen %lld", histlen);
    if (total < slaves + 16384) TEST_FAIL("mem_total_replication_buffers %lld", total);
    ASSERT_EQ(0, obl);
    /* Reading again, it gets every byte from the kept blocks. */
    WAIT_FOR(ru_offsets_equal(pc, rc), 15000);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after catching up");
    EXPECT(pc, "+OK", "SET after 1"); /* a new block: the old ones go */
    WAIT_FOR(it_info_field(pc, "repl_backlog_histlen") <= 16384, 5000);
    ASSERT_EQ(0, it_info_field(pc, "mem_clients_slaves"));
    ASSERT_EQ(0, replica_client_field(pc, "omem"));
    /* Over the limit: disconnected, the blocks freed, a partial resync from the backlog
     * impossible (the replica syncs in full again). */
    EXPECT(pc, "+OK", "CONFIG SET client-output-buffer-limit %s", "replica 4mb 0 0");
    kill(r.pid, SIGSTOP);
    int ok = set_values(pc, 256, 64 * 1024);
    WAIT_FOR(it_info_field(pc, "connected_slaves") == 0, 5000);
    kill(r.pid, SIGCONT);
    if (!ok) TEST_FAIL("writes");
    ASSERT_EQ(1, it_info_field(pc, "client_output_buffer_limit_disconnections"));
    WAIT_FOR(it_info_field(pc, "repl_backlog_histlen") <= 16384, 5000);
    ASSERT_EQ(0, it_info_field(pc, "mem_clients_slaves"));
    WAIT_FOR(ru_link_up(rc) && ru_offsets_equal(pc, rc), 15000);
    ASSERT_EQ(2, it_info_field(pc, "sync_full"));
    unpair(&p, &r, pc, rc);
}

TEST(field_expiry_reaches_replica_as_hdel) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(pc, "1", "HSETEX h PX 60000 FIELDS 2 gone 1 also 2");
    EXPECT(pc, "1", "HSET h stays 3");
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "+OK", "CONFIG RESETSTAT");
    /* Time moves on the primary only: the fields are due there and it reaps them. */
    EXPECT(pc, "+OK", "DEBUG CLOCK-OFFSET 120000");
    EXPECT(pc, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    WAIT_FOR(it_int(pc, "HLEN h") == 1, 5000);
    EXPECT(pc, "1", "WAIT 1 5000");
    /* The replica, whose clock says the fields are live, removed them on the HDEL. */
    EXPECT(rc, "[\"stays\",\"3\"]", "HGETALL h");
    const char *stats = it_run(rc, "INFO commandstats");
    if (!strstr(stats, "cmdstat_hdel:calls=1,")) TEST_FAIL("no HDEL applied: %s", stats);
    unpair(&p, &r, pc, rc);
}

TEST(replica_hides_what_expired) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(pc, "+OK", "SET k v PX 60000");
    EXPECT(pc, "1", "HSETEX h PX 60000 FIELDS 1 f v");
    EXPECT(pc, "1", "WAIT 1 5000");
    /* The replica's clock passes the deadlines; its primary has reaped nothing yet. */
    EXPECT(rc, "+OK", "DEBUG CLOCK-OFFSET 120000");
    EXPECT(rc, "nil", "GET k");
    EXPECT(rc, "[]", "HGETALL h");
    EXPECT(rc, "0", "DBSIZE");
    EXPECT(rc, "+OK", "DEBUG CLOCK-OFFSET 0");
    EXPECT(rc, "\"v\"", "GET k");
    unpair(&p, &r, pc, rc);
}

TEST(replica_of_a_replica) {
    it_server p, r, r2;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    ru_start_replica(&r2, &r, NULL);
    redisContext *r2c = it_client_to(&r2);
    WAIT_FOR(ru_link_up(r2c), SYNC_MS);
    for (int i = 0; i < 500; i++)
        EXPECT(pc, "1", "HSETEX h%d PX 500000 FIELDS 1 f %d", i % 20, i);
    EXPECT(pc, "1", "WAIT 1 5000");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    WAIT_FOR(ru_offsets_equal(rc, r2c), 5000);
    if (!ru_same_dataset(pc, r2c)) TEST_FAIL("the second-level replica differs");
    /* Its primary's id is the top primary's, passed on. */
    char a[64], b[64];
    ru_info(pc, "master_replid", a, sizeof(a));
    ru_info(r2c, "master_replid", b, sizeof(b));
    ASSERT_STR_EQ(a, b);
    redisFree(r2c);
    it_stop_server(&r2);
    unpair(&p, &r, pc, rc);
}

TEST(disk_based_sync) {
    static const char *const disk[] = {"--repl-diskless-sync", "no", NULL};
    it_server p, r;
    redisContext *pc, *rc;
    ru_start_primary(&p, disk);
    pc = it_client_to(&p);
    EXPECT(pc, "1", "HSETEX h PX 500000 FIELDS 1 f v");
    ru_start_replica(&r, &p, NULL);
    rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    EXPECT(pc, "+OK", "SET after 1");
    EXPECT(pc, "1", "WAIT 1 5000");
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs");
    unpair(&p, &r, pc, rc);
}

TEST(promoted_replica_continues_with_psync) {
    it_server p, r1, r2;
    redisContext *pc, *r1c;
    if (!pair(&p, &r1, NULL, NULL, &pc, &r1c)) TEST_FAIL("no link");
    ru_start_replica(&r2, &p, NULL);
    redisContext *r2c = it_client_to(&r2);
    WAIT_FOR(ru_link_up(r2c), SYNC_MS);
    EXPECT(pc, "+OK", "SET a 1");
    EXPECT(pc, "2", "WAIT 2 5000");
    char old[64], id2[64];
    ru_info(pc, "master_replid", old, sizeof(old));
    /* r1 becomes the primary; r2 follows it: PSYNC with the old id continues (replid2). */
    EXPECT(r1c, "+OK", "REPLICAOF NO ONE");
    ru_info(r1c, "master_replid2", id2, sizeof(id2));
    ASSERT_STR_EQ(old, id2);
    EXPECT(r1c, "+OK", "SET b 2");
    char of[64];
    EXPECT(r2c, "+OK", "REPLICAOF %s %d", "127.0.0.1", r1.port);
    (void)of;
    WAIT_FOR(ru_link_up(r2c), SYNC_MS);
    EXPECT(r1c, "1", "WAIT 1 5000");
    EXPECT(r2c, "\"2\"", "GET b");
    ASSERT_EQ(0, it_info_field(r1c, "sync_full"));
    ASSERT_EQ(1, it_info_field(r1c, "sync_partial_ok"));
    EXPECT(r2c, "+OK Already connected to specified master", "REPLICAOF 127.0.0.1 %d", r1.port);
    redisFree(r2c);
    it_stop_server(&r2);
    unpair(&p, &r1, pc, r1c);
}

TEST(gates_and_introspection) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    /* min-replicas-to-write: one good replica is enough, two are not. */
    EXPECT(pc, "+OK", "CONFIG SET min-replicas-to-write 1");
    WAIT_FOR(it_info_field(pc, "min_slaves_good_slaves") == 1, 5000);
    EXPECT(pc, "+OK", "SET a 1");
    EXPECT(pc, "+OK", "CONFIG SET min-replicas-to-write 2");
    EXPECT(pc, "-NOREPLICAS Not enough good replicas to write.", "SET a 1");
    EXPECT(pc, "\"1\"", "GET a");
    EXPECT(pc, "+OK", "CONFIG SET min-replicas-to-write 0");
    /* ROLE on both sides. */
    const char *role = it_run(rc, "ROLE");
    char want[128];
    snprintf(want, sizeof(want), "[\"slave\",\"127.0.0.1\",%d,\"connected\",", p.port);
    if (strncmp(role, want, strlen(want)) != 0) TEST_FAIL("ROLE: %s", role);
    role = it_run(pc, "ROLE");
    if (strncmp(role, "[\"master\",", 10) != 0 || !strstr(role, "\"127.0.0.1\""))
        TEST_FAIL("ROLE: %s", role);
    char v[64];
    if (!ru_info(pc, "slave0", v, sizeof(v)) || !strstr(v, "state=online")) TEST_FAIL("slave0");
    ASSERT_EQ(1, it_info_field(pc, "connected_slaves"));
    if (!strstr(it_run(pc, "CLIENT LIST TYPE replica"), "flags=S")) TEST_FAIL("no flags=S");
    if (!strstr(it_run(rc, "CLIENT LIST TYPE master"), "flags=M")) TEST_FAIL("no flags=M");
    /* INFO's replication rates, sampled once a second by the cron: writes flowing for a
     * while show on both sides. */
    double out_kbps = 0, in_kbps = 0;
    for (long long t0 = ru_now_ms(); ru_now_ms() - t0 < 5000 && (out_kbps <= 0 || in_kbps <= 0);) {
        for (int i = 0; i < 50; i++)
            redisAppendCommand(pc, "SET rate%d %0500d", i, i);
        for (int i = 0; i < 50; i++) {
            redisReply *x;
            if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("pipeline");
            freeReplyObject(x);
        }
        out_kbps = ru_info(pc, "instantaneous_output_repl_kbps", v, sizeof(v)) ? atof(v) : -1;
        in_kbps = ru_info(rc, "instantaneous_input_repl_kbps", v, sizeof(v)) ? atof(v) : -1;
        it_sleep_ms(20);
    }
    if (out_kbps <= 0 || in_kbps <= 0) TEST_FAIL("repl kbps: out %.2f in %.2f", out_kbps, in_kbps);
    EXPECT(rc, "+OK", "CONFIG SET replica-serve-stale-data no");
    /* The primary goes away: a stale-data-refusing replica says MASTERDOWN. */
    it_stop_server(&p);
    redisFree(pc);
    WAIT_FOR(!ru_link_up(rc), 5000);
    EXPECT(rc, "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
           "GET a");
    EXPECT(rc, "\"PONG\"", "ECHO PONG");
    EXPECT(rc, "+OK", "REPLICAOF NO ONE");
    EXPECT(rc, "\"1\"", "GET a");
    EXPECT(rc, "+OK", "SET a 2");
    redisFree(rc);
    it_stop_server(&r);
}

/* WAITAOF: the primary's own log (appendfsync always) and the replica's FACK (its log,
 * everysec), the refusals, MULTI answering at once, and a replica whose log is off never
 * counted for new writes. */
TEST(waitaof) {
    it_server p, r;
    redisContext *pc, *rc;
    const char *pa[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    const char *ra[] = {"--appendonly", "yes", "--appendfsync", "everysec", NULL};
    if (!pair(&p, &r, pa, ra, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "-ERR value is out of range, value must between 0 and 1", "WAITAOF 2 0 0");
    EXPECT(pc, "-ERR value is out of range, must be positive", "WAITAOF 0 -1 0");
    EXPECT(pc, "-ERR timeout is negative", "WAITAOF 0 0 -1");
    EXPECT(pc, "-ERR value is not an integer or out of range", "WAITAOF x 0 0");
    EXPECT(rc,
           "-ERR WAITAOF cannot be used with replica instances. Please also note that writes to "
           "replicas are just local and are not propagated.",
           "WAITAOF 0 0 0");
    EXPECT(pc, "+OK", "SET k v");
    EXPECT(pc, "[1,1]", "WAITAOF 1 1 5000");
    EXPECT(pc, "+OK", "MULTI");
    EXPECT(pc, "+QUEUED", "WAITAOF 1 5 10000");
    EXPECT(pc, "[[1,1]]", "EXEC");
    /* The replica's log goes off: its FACK stops, new writes are not counted. */
    EXPECT(rc, "+OK", "CONFIG SET appendonly no");
    EXPECT(pc, "+OK", "SET k2 v");
    long long t0 = ru_now_ms();
    EXPECT(pc, "[1,0]", "WAITAOF 1 1 300");
    if (ru_now_ms() - t0 < 250) TEST_FAIL("WAITAOF did not wait for its timeout");
    EXPECT(pc, "1", "WAIT 1 5000"); /* the stream itself still flows */
    unpair(&p, &r, pc, rc);
    /* Without a log, numlocal is refused. */
    ru_start_primary(&p, NULL);
    pc = it_client_to(&p);
    EXPECT(pc, "-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.",
           "WAITAOF 1 0 0");
    EXPECT(pc, "[0,0]", "WAITAOF 0 0 0");
    redisFree(pc);
    it_stop_server(&p);
}

/* repl-diskless-load on-empty-db: an empty replica loads straight from the socket (hashes
 * with field TTLs arrive identical), one with data goes through the file. */
TEST(diskless_load) {
    it_server p, r;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    for (int i = 0; i < 300; i++)
        redisAppendCommand(pc, "HSETEX h%d PX %d FIELDS 2 a %d b x", i % 30, 400000 + i, i);
    for (int i = 0; i < 300; i++) {
        redisReply *x;
        if (redisGetReply(pc, (void **)&x) != REDIS_OK) TEST_FAIL("pipeline");
        freeReplyObject(x);
    }
    EXPECT(pc, "+OK", "SET s v PX 900000");
    const char *dl[] = {"--repl-diskless-load", "on-empty-db", NULL};
    ru_start_replica(&r, &p, dl);
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after a diskless load");
    ASSERT(pu_log_has(&r, "receiving streamed RDB from master with EOF to parser"));
    /* With data, the next full sync goes through the file. */
    EXPECT(rc, "+OK", "REPLICAOF NO ONE");
    EXPECT(rc, "+OK", "SET only-here 1");
    EXPECT(rc, "+OK", "REPLICAOF 127.0.0.1 %d", p.port);
    WAIT_FOR(ru_link_up(rc) && it_info_field(pc, "sync_full") == 2, SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after a disk load");
    ASSERT(pu_log_has(&r, "receiving streamed RDB from master with EOF to disk"));
    redisFree(rc);
    redisFree(pc);
    it_stop_server(&r);
    it_stop_server(&p);
}

/* Diskless load of an RDB whose last item is a large value: the loader waits for more
 * bytes before decoding a large item again, and must not wait for more than the stream
 * holds (it did: a 100 KB string arriving in 64 KB reads was never decoded). */
TEST(diskless_load_of_a_large_last_value) {
    it_server p, r;
    ru_start_primary(&p, NULL);
    redisContext *pc = it_client_to(&p);
    enum { LEN = 100000 };
    char *v = malloc(LEN);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < LEN; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        v[i] = (char)('!' + x % 90); /* random text: LZF cannot shrink it much */
    }
    redisReply *rep = redisCommand(pc, "SET big %b", v, (size_t)LEN);
    if (!rep || rep->type != REDIS_REPLY_STATUS) TEST_FAIL("SET big");
    freeReplyObject(rep);
    free(v);
    const char *dl[] = {"--repl-diskless-load", "on-empty-db", NULL};
    ru_start_replica(&r, &p, dl);
    redisContext *rc = it_client_to(&r);
    WAIT_FOR(ru_link_up(rc), SYNC_MS);
    if (!ru_same_dataset(pc, rc)) TEST_FAIL("replica differs after a diskless load");
    ASSERT(pu_log_has(&r, "to parser"));
    /* In one go: no transfer was given up and tried again. */
    ASSERT_EQ(1, it_info_field(pc, "sync_full"));
    ASSERT(!pu_log_has(&r, "Failed trying to load"));
    redisFree(rc);
    redisFree(pc);
    it_stop_server(&r);
    it_stop_server(&p);
}

/* Lines of s's log holding needle. */
static int count_in_log(const it_server *s, const char *needle) {
    char path[512];
    snprintf(path, sizeof(path), "%s/server.log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle)) n++;
    fclose(f);
    return n;
}

/* A command of the primary's stream that fails on the replica (DEBUG REPLICATE of an
 * unknown command; INCRBY over a writable replica's own string) is logged as Redis logs it
 * and counted in unexpected_error_replies; with propagation-error-behavior panic-on-replicas
 * a read-only replica stops instead of diverging. */
TEST(errors_applying_the_stream) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(rc, "+OK", "CONFIG SET replica-read-only no");
    EXPECT(rc, "+OK", "SET number2 foo");
    EXPECT(pc, "+OK", "DEBUG REPLICATE fake-command-1 a");
    EXPECT(pc, "1", "INCRBY number2 1");
    EXPECT(pc, "1", "WAIT 1 5000");
    EXPECT(rc, "\"foo\"", "GET number2");
    ASSERT_EQ(2, it_info_field(rc, "unexpected_error_replies"));
    ASSERT_EQ(0, it_info_field(pc, "unexpected_error_replies"));
    ASSERT_EQ(1, count_in_log(&r, "== CRITICAL == This replica is sending an error to its master: "
                                  "'unknown command 'fake-command-1', with args beginning with: "
                                  "'a' ' after processing the command '<unknown>'"));
    ASSERT_EQ(1, count_in_log(&r, "== CRITICAL == This replica is sending an error to its master: "
                                  "'value is not an integer or out of range' after processing the "
                                  "command 'incrby'"));
    EXPECT(rc, "+OK", "CONFIG RESETSTAT");
    ASSERT_EQ(0, it_info_field(rc, "unexpected_error_replies"));
    EXPECT(rc, "+OK", "CONFIG SET replica-read-only yes");
    EXPECT(rc, "+OK", "CONFIG SET propagation-error-behavior panic-on-replicas");
    EXPECT(pc, "+OK", "DEBUG REPLICATE fake-command-2");
    if (it_wait_exit(&r, 5000) != 1) TEST_FAIL("the replica did not stop");
    ASSERT_EQ(1, count_in_log(&r, "This replica panicked sending an error to its master after "
                                  "processing the command '<unknown>'"));
    unpair(&p, &r, pc, rc);
}

/* CLIENT PAUSE WRITE on a replica holds its primary's stream at the first write, as Redis
 * blocks its master client: the replica reads on (slave_read_repl_offset) but applies
 * nothing (slave_repl_offset, the data), and goes on from there once unpaused. */
TEST(pause_holds_the_stream) {
    it_server p, r;
    redisContext *pc, *rc;
    if (!pair(&p, &r, NULL, NULL, &pc, &rc)) TEST_FAIL("no link");
    EXPECT(pc, "+OK", "SET foo bar");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    long long held = it_info_field(rc, "slave_repl_offset");
    EXPECT(rc, "+OK", "CLIENT PAUSE 100000 WRITE");
    EXPECT(pc, "+OK", "SET foo2 bar2");
    EXPECT(pc, "+OK", "SET foo3 bar3");
    WAIT_FOR(it_info_field(rc, "slave_read_repl_offset") == it_info_field(pc, "master_repl_offset"),
             5000);
    ASSERT_EQ(held, it_info_field(rc, "slave_repl_offset"));
    EXPECT(rc, "nil", "GET foo2");
    EXPECT(rc, "+OK", "CLIENT UNPAUSE");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    EXPECT(rc, "\"bar2\"", "GET foo2");
    EXPECT(rc, "\"bar3\"", "GET foo3");
    /* A pause that ends by its deadline releases the stream too. */
    EXPECT(rc, "+OK", "CLIENT PAUSE 300 WRITE");
    EXPECT(pc, "+OK", "SET foo4 bar4");
    WAIT_FOR(ru_offsets_equal(pc, rc), 5000);
    EXPECT(rc, "\"bar4\"", "GET foo4");
    unpair(&p, &r, pc, rc);
}

/* A full sync replaces the replica's function libraries with the primary's, as its keys
 * (Redis empties both): a library only the replica had is gone. */
TEST(full_sync_replaces_function_libraries) {
    it_server p, r;
    ru_start_primary(&p, NULL);
    ru_start_primary(&r, NULL);
    redisContext *pc = it_client_to(&p), *rc = it_client_to(&r);
    EXPECT(pc, "\"lib1\"", "FUNCTION LOAD %s",
           "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)");
    EXPECT(rc, "\"mine\"", "FUNCTION LOAD %s",
           "#!lua name=mine\nredis.register_function('f2', function() return 2 end)");
    EXPECT(rc, "+OK", "SET own 1");
    EXPECT(rc, "+OK", "REPLICAOF 127.0.0.1 %d", p.port);
    WAIT_FOR(ru_link_up(rc), 10000);
    const char *libs = it_run(rc, "FUNCTION LIST");
    if (!strstr(libs, "lib1") || strstr(libs, "mine")) TEST_FAIL("libraries: %s", libs);
    EXPECT(rc, "0", "EXISTS own");
    unpair(&p, &r, pc, rc);
}

int main(void) {
    RUN(full_sync_of_field_ttls);
    RUN(streaming_writes_converge);
    RUN(stream_bytes_are_canonical_resp);
    RUN(publish_reaches_replica_subscribers);
    RUN(partial_resync_after_dropped_link);
    RUN(partial_resync_after_replica_restart);
    RUN(wait);
    RUN(waitaof);
    RUN(read_only_replica);
    RUN(replica_ignores_maxmemory);
    RUN(lagging_replica_keeps_backlog_blocks);
    RUN(field_expiry_reaches_replica_as_hdel);
    RUN(replica_hides_what_expired);
    RUN(replica_of_a_replica);
    RUN(disk_based_sync);
    RUN(diskless_load);
    RUN(diskless_load_of_a_large_last_value);
    RUN(promoted_replica_continues_with_psync);
    RUN(gates_and_introspection);
    RUN(errors_applying_the_stream);
    RUN(pause_holds_the_stream);
    RUN(full_sync_replaces_function_libraries);
    return test_report();
}
