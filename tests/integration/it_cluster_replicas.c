/* it_cluster_replicas: a Mayfly-only cluster with replicas, as the done-when asks:
 * 3 primaries + 3 replicas made by Debian's `redis-cli --cluster create --cluster-replicas 1`,
 * `--cluster check` clean, replicas listed and replicating (READONLY reads), a manual
 * CLUSTER FAILOVER, then a SIGKILL of a primary: its replica is elected, the cluster is ok
 * again (the time is printed), the old primary rejoins as a replica with the data.
 *
 * Node timeout 1 s; every wait is bounded; nodes are stopped by PID. */
#include "integration/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 7 /* 6 for the cluster, a 7th joins for the replica migration */

typedef struct node {
    it_server s;
    int bus;
    char bus_arg[16];
    const char *args[16];
    char id[41];
} node;

static node nd[N];

static const char *reply_str(const it_server *s, const char *fmt, const char *arg) {
    static char out[16384];
    redisContext *c = it_client_to(s);
    redisReply *r = arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
    out[0] = '\0';
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
              r->type == REDIS_REPLY_ERROR))
        snprintf(out, sizeof(out), "%s", r->str);
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
}

static const char *field_of(const it_server *s, const char *cmd, const char *field) {
    static char val[128];
    const char *t = reply_str(s, cmd, NULL);
    char key[128];
    snprintf(key, sizeof(key), "%s:", field);
    val[0] = '\0';
    const char *p = strstr(t, key);
    if (p) sscanf(p + strlen(key), "%127[^\r\n]", val);
    return val;
}

static int state_ok(const node *n) {
    return strcmp(field_of(&n->s, "CLUSTER INFO", "cluster_state"), "ok") == 0;
}

static int all_ok(void) {
    for (int i = 0; i < N; i++)
        if (nd[i].s.pid && !state_ok(&nd[i])) return 0;
    return 1;
}

/* The line of text that starts with id (ids also appear as other lines' master). */
static const char *find_line(const char *text, const char *id) {
    size_t len = strlen(id);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, id, len) == 0) return p;
    return NULL;
}

/* The flags and master columns of id's line in n's CLUSTER NODES. */
static void line_of(const node *n, const char *id, char *flags, char *master) {
    flags[0] = master[0] = '\0';
    const char *p = find_line(reply_str(&n->s, "CLUSTER NODES", NULL), id);
    if (p) sscanf(p, "%*s %*s %63s %63s", flags, master);
}

/* 1 when every running node sees id as a replica of master_id (or a master if NULL). */
static int all_see(const char *id, const char *master_id) {
    for (int i = 0; i < N; i++) {
        if (!nd[i].s.pid) continue;
        char flags[64], master[64];
        line_of(&nd[i], id, flags, master);
        if (master_id ? strcmp(master, master_id) != 0 || !strstr(flags, "slave")
                      : !strstr(flags, "master"))
            return 0;
        if (strstr(flags, "fail")) return 0;
    }
    return 1;
}

/* Replica lines in every node's CLUSTER NODES, summed. */
static int replicas_seen(void) {
    int n = 0;
    for (int i = 0; i < N; i++)
        for (const char *p = nd[i].s.pid ? reply_str(&nd[i].s, "CLUSTER NODES", NULL) : "";
             (p = strstr(p, "slave ")); p++)
            n++;
    return n;
}

static int link_up(const node *n) {
    return strcmp(field_of(&n->s, "INFO replication", "master_link_status"), "up") == 0;
}

/* The index of the node whose id is the master column of i's line (-1 for a master). */
static int master_index(int i) {
    if (!nd[i].s.pid) return -2; /* not running */
    char flags[64], master[64];
    line_of(&nd[0], nd[i].id, flags, master);
    for (int j = 0; j < N; j++)
        if (strcmp(nd[j].id, master) == 0) return j;
    return -1;
}

static int sh(const char *cmd, char *out, size_t cap) {
    char line[2048];
    snprintf(line, sizeof(line), "timeout 60 %s 2>&1", cmd);
    FILE *f = popen(line, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    return pclose(f);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int check_clean(void) {
    char cmd[256], out[16384];
    for (int i = 0; i < N; i++) {
        if (!nd[i].s.pid) continue;
        snprintf(cmd, sizeof(cmd), "redis-cli --cluster check 127.0.0.1:%d", nd[i].s.port);
        int rc = sh(cmd, out, sizeof(out));
        int ok = rc == 0 && strstr(out, "[OK] All nodes agree about slots configuration.") &&
                 strstr(out, "[OK] All 16384 slots covered.") && !strstr(out, "[ERR]") &&
                 !strstr(out, "[WARNING]");
        if (!ok) fprintf(stderr, "%s\n", out);
        return ok;
    }
    return 0;
}

/* A key whose slot the master m serves (tags tried in order). */
static void key_of(int m, char *out, size_t cap) {
    redisContext *c = it_client_to(&nd[m].s);
    for (int t = 0; t < 10000; t++) {
        snprintf(out, cap, "{k%d}h", t);
        redisReply *r = redisCommand(c, "EXISTS %s", out);
        int mine = r && r->type == REDIS_REPLY_INTEGER;
        if (r) freeReplyObject(r);
        if (mine) break;
    }
    redisFree(c);
}

TEST(create_with_replicas) {
    for (int i = 0; i < N - 1; i++) {
        nd[i].bus = it_free_port();
        snprintf(nd[i].bus_arg, sizeof(nd[i].bus_arg), "%d", nd[i].bus);
        const char *a[] = {"--cluster-enabled",
                           "yes",
                           "--cluster-port",
                           nd[i].bus_arg,
                           "--cluster-node-timeout",
                           "1000",
                           "--save",
                           "",
                           "--appendonly",
                           "no",
                           "--repl-diskless-sync-delay",
                           "0",
                           NULL};
        memcpy(nd[i].args, a, sizeof(a));
        it_start_server(&nd[i].s, nd[i].args);
        snprintf(nd[i].id, sizeof(nd[i].id), "%s", reply_str(&nd[i].s, "CLUSTER MYID", NULL));
    }
    char cmd[1024], out[16384];
    int len = snprintf(cmd, sizeof(cmd), "redis-cli --cluster create");
    for (int i = 0; i < N - 1; i++)
        len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " 127.0.0.1:%d", nd[i].s.port);
    snprintf(cmd + len, sizeof(cmd) - (size_t)len, " --cluster-replicas 1 --cluster-yes");
    int rc = sh(cmd, out, sizeof(out));
    if (rc != 0 || !strstr(out, "[OK] All 16384 slots covered.")) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    WAIT_FOR(all_ok(), 20000);
    WAIT_FOR(replicas_seen() == (N - 1) * 3, 20000);
    int masters = 0, replicas = 0;
    for (int i = 0; i < N - 1; i++) {
        int m = master_index(i);
        if (m < 0) {
            masters++;
            continue;
        }
        replicas++;
        WAIT_FOR(link_up(&nd[i]), 20000);
        WAIT_FOR(all_see(nd[i].id, nd[m].id), 10000);
        /* Every node lists it under its master. */
        redisContext *c = it_client_to(&nd[(i + 1) % (N - 1)].s);
        redisReply *r = redisCommand(c, "CLUSTER REPLICAS %s", nd[m].id);
        ASSERT_EQ(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1, 1);
        ASSERT_EQ(strncmp(r->element[0]->str, nd[i].id, 40), 0);
        freeReplyObject(r);
        redisFree(c);
    }
    ASSERT_EQ(masters, 3);
    ASSERT_EQ(replicas, 3);
    WAIT_FOR(check_clean(), 20000);
    ASSERT_STR_EQ(field_of(&nd[0].s, "CLUSTER INFO", "cluster_size"), "3");
}

/* Writes reach the replica; it serves reads after READONLY and redirects them before. */
TEST(replica_reads) {
    int r = -1;
    for (int i = 0; i < N && r < 0; i++)
        if (master_index(i) >= 0) r = i;
    int m = master_index(r);
    char key[64], want[128];
    key_of(m, key, sizeof(key));
    redisContext *cm = it_client_to(&nd[m].s);
    EXPECT(cm, "1", "HSET %s f v", key);
    EXPECT(cm, "1", "WAIT 1 5000");
    redisFree(cm);
    redisContext *cr = it_client_to(&nd[r].s);
    int slot = (int)it_int(cr, "CLUSTER KEYSLOT %s", key);
    snprintf(want, sizeof(want), "-MOVED %d 127.0.0.1:%d", slot, nd[m].s.port);
    EXPECT(cr, want, "HGET %s f", key);
    EXPECT(cr, "+OK", "READONLY");
    EXPECT(cr, "\"v\"", "HGET %s f", key);
    EXPECT(cr, want, "HSET %s f w", key);
    EXPECT(cr, "+OK", "READWRITE");
    EXPECT(cr, want, "HGET %s f", key);
    EXPECT(cr, "-ERR syntax error", "CLUSTER FAILOVER BOGUS");
    redisFree(cr);
    cm = it_client_to(&nd[m].s);
    EXPECT(cm, "-ERR You should send CLUSTER FAILOVER to a replica", "CLUSTER FAILOVER");
    EXPECT(cm, "-ERR Can't replicate myself", "CLUSTER REPLICATE %s", nd[m].id);
    EXPECT(cm, "-ERR I can only replicate a master, not a replica.", "CLUSTER REPLICATE %s",
           nd[r].id);
    int other = -1;
    for (int i = 0; i < N && other < 0; i++)
        if (i != m && master_index(i) == -1) other = i;
    EXPECT(cm, "-ERR To set a master the node must be empty and without assigned slots.",
           "CLUSTER REPLICATE %s", nd[other].id);
    EXPECT(cm, "-ERR Unknown node nosuchnode", "CLUSTER REPLICATE nosuchnode");
    redisFree(cm);
}

/* CLUSTER FAILOVER on a replica: its master holds its clients' writes (as Redis's pause),
 * hands over its offset, and the replica is elected with the masters' votes; the old
 * master follows it and the held write, run again, is redirected to the new master. The
 * two other masters are stopped (SIGSTOP) while the failover starts, so that the election
 * waits for their votes and the held write can be watched. */
TEST(manual_failover) {
    int r = -1;
    for (int i = 0; i < N && r < 0; i++)
        if (master_index(i) >= 0) r = i;
    int m = master_index(r);
    char key[64];
    key_of(m, key, sizeof(key));
    int stopped[N], nstopped = 0;
    for (int i = 0; i < N; i++)
        if (i != m && master_index(i) == -1) stopped[nstopped++] = i;
    ASSERT_EQ(nstopped, 2);
    redisContext *c = it_client_to(&nd[r].s);
    EXPECT(c, "-ERR syntax error", "CLUSTER FAILOVER SOON");
    for (int i = 0; i < nstopped; i++)
        kill(nd[stopped[i]].s.pid, SIGSTOP);
    EXPECT(c, "+OK", "CLUSTER FAILOVER");
    redisFree(c);
    char grep[700];
    snprintf(grep, sizeof(grep), "grep -q 'Manual failover requested by replica %s' %s/server.log",
             nd[r].id, nd[m].s.dir);
    WAIT_FOR(system(grep) == 0, 5000);
    int fd = it_raw_connect_to(&nd[m].s);
    char cmd[256], got[256];
    int len =
        snprintf(cmd, sizeof(cmd), "*4\r\n$4\r\nHSET\r\n$%zu\r\n%s\r\n$1\r\nf\r\n$4\r\nheld\r\n",
                 strlen(key), key);
    it_raw_send(fd, cmd, (size_t)len);
    size_t n = it_raw_read(fd, got, sizeof(got) - 1, 300);
    got[n] = '\0';
    int held = n == 0;
    c = it_client_to(&nd[m].s);
    EXPECT(c, "\"v\"", "HGET %s f", key); /* reads go on */
    redisFree(c);
    for (int i = 0; i < nstopped; i++)
        kill(nd[stopped[i]].s.pid, SIGCONT);
    if (!held) fprintf(stderr, "the write was answered at once: %s\n", got);
    ASSERT_EQ(held, 1);
    n = it_raw_read(fd, got, sizeof(got) - 1, 8000);
    got[n] = '\0';
    close(fd);
    char want[128];
    c = it_client_to(&nd[m].s);
    long long slot = it_int(c, "CLUSTER KEYSLOT %s", key);
    redisFree(c);
    snprintf(want, sizeof(want), "-MOVED %lld 127.0.0.1:%d\r\n", slot, nd[r].s.port);
    ASSERT_STR_EQ(got, want);
    int done = 0;
    for (int waited = 0; !done && waited < 15000; waited += 20) {
        done = all_see(nd[r].id, NULL) && all_see(nd[m].id, nd[r].id);
        if (!done) it_sleep_ms(20);
    }
    if (!done) {
        char cmd2[700];
        snprintf(cmd2, sizeof(cmd2), "tail -n 25 %s/server.log %s/server.log >&2", nd[r].s.dir,
                 nd[m].s.dir);
        if (system(cmd2) != 0) fprintf(stderr, "no logs\n");
        for (int i = 0; i < N && nd[i].s.pid; i++)
            fprintf(stderr, "node %d (%s):\n%s\n", i, nd[i].id,
                    reply_str(&nd[i].s, "CLUSTER NODES", NULL));
    }
    ASSERT_EQ(done, 1);
    WAIT_FOR(all_ok(), 10000);
    WAIT_FOR(link_up(&nd[m]), 15000);
    c = it_client_to(&nd[r].s);
    EXPECT(c, "\"v\"", "HGET %s f", key);
    EXPECT(c, "0", "HSET %s f after-manual", key);
    redisFree(c);
}

/* SIGKILL of a primary: its replica wins the election, the cluster is ok again, the old
 * primary comes back as a replica with the data. */
TEST(kill_primary) {
    int r = -1;
    for (int i = 0; i < N && r < 0; i++)
        if (master_index(i) >= 0) r = i;
    int m = master_index(r);
    char key[64];
    key_of(m, key, sizeof(key));
    redisContext *c = it_client_to(&nd[m].s);
    EXPECT(c, "1", "HSET %s g before-kill", key);
    EXPECT(c, "1", "WAIT 1 5000");
    redisFree(c);
    long long t0 = now_ms();
    it_kill_server(&nd[m].s);
    nd[m].s.pid = 0;
    WAIT_FOR(all_see(nd[r].id, NULL), 20000);
    WAIT_FOR(all_ok(), 10000);
    long long took = now_ms() - t0;
    fprintf(stderr,
            "failover (Mayfly, node timeout 1000 ms): %lld ms from SIGKILL to "
            "cluster_state:ok with the replica promoted\n",
            took);
    c = it_client_to(&nd[r].s);
    EXPECT(c, "\"before-kill\"", "HGET %s g", key);
    EXPECT(c, "1", "HSET %s h after-kill", key);
    redisFree(c);
    ASSERT_EQ(it_restart_server(&nd[m].s, nd[m].args), 1);
    WAIT_FOR(all_see(nd[m].id, nd[r].id), 20000);
    WAIT_FOR(link_up(&nd[m]), 20000);
    c = it_client_to(&nd[m].s);
    EXPECT(c, "+OK", "READONLY");
    WAIT_FOR(strcmp(it_run(c, "HGET %s h", key), "\"after-kill\"") == 0, 10000);
    redisFree(c);
    WAIT_FOR(check_clean(), 20000);
}

/* Replica migration: a 7th node joins as a second replica of master A; when master B loses
 * its only replica, one of A's replicas (the one with the smallest id) moves to B. */
TEST(replica_migration) {
    int a = -1, b = -1;
    for (int i = 0; i < N - 1; i++) {
        if (master_index(i) != -1) continue;
        if (a < 0)
            a = i;
        else if (b < 0)
            b = i;
    }
    int b_replica = -1;
    for (int i = 0; i < N - 1; i++)
        if (master_index(i) == b) b_replica = i;
    node *x = &nd[N - 1];
    x->bus = it_free_port();
    snprintf(x->bus_arg, sizeof(x->bus_arg), "%d", x->bus);
    const char *args[] = {"--cluster-enabled",
                          "yes",
                          "--cluster-port",
                          x->bus_arg,
                          "--cluster-node-timeout",
                          "1000",
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--repl-diskless-sync-delay",
                          "0",
                          NULL};
    memcpy(x->args, args, sizeof(args));
    it_start_server(&x->s, x->args);
    snprintf(x->id, sizeof(x->id), "%s", reply_str(&x->s, "CLUSTER MYID", NULL));
    redisContext *c = it_client_to(&x->s);
    EXPECT(c, "+OK", "CLUSTER MEET 127.0.0.1 %d %d", nd[a].s.port, nd[a].bus);
    WAIT_FOR(strstr(reply_str(&nd[a].s, "CLUSTER NODES", NULL), x->id) &&
                 strstr(reply_str(&x->s, "CLUSTER NODES", NULL), nd[b].id),
             10000);
    EXPECT(c, "+OK", "CLUSTER REPLICATE %s", nd[a].id);
    redisFree(c);
    WAIT_FOR(all_see(x->id, nd[a].id) && link_up(x), 15000);
    /* B's only replica dies: B is orphaned; after 5 s one of A's two replicas moves. */
    it_kill_server(&nd[b_replica].s);
    nd[b_replica].s.pid = 0;
    int moved = -1;
    for (int waited = 0; moved < 0 && waited < 20000; waited += 50) {
        for (int i = 0; i < N; i++)
            if (nd[i].s.pid && i != a && master_index(i) == b && i != b_replica) moved = i;
        if (moved < 0) it_sleep_ms(50);
    }
    ASSERT_EQ(moved >= 0, 1);
    WAIT_FOR(all_see(nd[moved].id, nd[b].id) && link_up(&nd[moved]), 15000);
    /* The migrant was the smallest id among A's replicas. */
    for (int i = 0; i < N; i++)
        if (nd[i].s.pid && i != moved && master_index(i) == a)
            ASSERT_EQ(strcmp(nd[moved].id, nd[i].id) < 0, 1);
    char log[700];
    snprintf(log, sizeof(log), "grep -q 'Migrating to orphaned master %s' %s/server.log", nd[b].id,
             nd[moved].s.dir);
    ASSERT_EQ(system(log), 0);
}

int main(void) {
    RUN(create_with_replicas);
    RUN(replica_reads);
    RUN(manual_failover);
    for (int i = 0; i < N; i++) /* had manual_failover stopped half-way */
        if (nd[i].s.pid) kill(nd[i].s.pid, SIGCONT);
    RUN(kill_primary);
    RUN(replica_migration);
    for (int i = 0; i < N; i++)
        if (nd[i].s.pid) it_stop_server(&nd[i].s);
    return test_report();
}
