/* Integration tests: TLS on tls-port, with certificates made at test time
 * (tests/tls/gen-certs.sh). Clients: a small blocking OpenSSL client written here (raw
 * RESP over TLS), Debian's redis-cli --tls, and redis-py with ssl=True (also as an ACL
 * user). The server also listens on a plain port, which the harness and the admin
 * connection use. */
#include "integration/repl_util.h"
#include "mayfly/util/buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char certs[256];
static int tls_port;

static const char *cert(const char *name) {
    static char p[16][512];
    static int i;
    i = (i + 1) % 16;
    snprintf(p[i], sizeof(p[i]), "%s/%s", certs, name);
    return p[i];
}

/* ---- a blocking TLS client ---- */

typedef struct tcli {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} tcli;

typedef struct topts {
    const char *cert, *key;       /* NULL: no client certificate */
    int min_version, max_version; /* TLS1_2_VERSION ...; 0: any */
    int port;                     /* 0: tls_port */
    const char *host;             /* NULL: 127.0.0.1 */
} topts;

static int tcp_connect_to(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

static int tcp_connect(int port) {
    return tcp_connect_to("127.0.0.1", port);
}

static void tcli_free(tcli *c) {
    if (!c) return;
    if (c->ssl) SSL_free(c->ssl);
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    free(c);
}

/* Connects and completes the handshake; NULL if it fails. */
static tcli *tcli_open(const topts *o) {
    tcli *c = calloc(1, sizeof(*c));
    c->fd = tcp_connect_to(o->host ? o->host : "127.0.0.1", o->port ? o->port : tls_port);
    c->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(c->ctx, cert("ca.crt"), NULL);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (o->min_version) SSL_CTX_set_min_proto_version(c->ctx, o->min_version);
    if (o->max_version) SSL_CTX_set_max_proto_version(c->ctx, o->max_version);
    if (o->cert) {
        SSL_CTX_use_certificate_chain_file(c->ctx, o->cert);
        SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM);
    }
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (c->fd < 0 || SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        tcli_free(c);
        return NULL;
    }
    return c;
}

static tcli *tcli_default(void) {
    topts o = {cert("client.crt"), cert("client.key"), 0, 0, 0};
    return tcli_open(&o);
}

static int tcli_send(tcli *c, const char *p, size_t len) {
    while (len) {
        int n = SSL_write(c->ssl, p, (int)len);
        if (n <= 0) {
            ERR_clear_error();
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes (or fewer if the stream ends or times out). */
static size_t tcli_read(tcli *c, char *out, size_t len) {
    size_t got = 0;
    while (got < len) {
        int n = SSL_read(c->ssl, out + got, (int)(len - got));
        if (n <= 0) {
            ERR_clear_error();
            break;
        }
        got += (size_t)n;
    }
    return got;
}

/* Sends a command line (inline) and checks the exact reply. */
static int tcli_expect(tcli *c, const char *cmd, const char *reply) {
    char line[256];
    snprintf(line, sizeof(line), "%s\r\n", cmd);
    if (tcli_send(c, line, strlen(line)) < 0) return 0;
    char got[512];
    size_t n = tcli_read(c, got, strlen(reply));
    if (n != strlen(reply) || memcmp(got, reply, n) != 0) {
        fprintf(stderr, "  %s: expected %s, got %.*s\n", cmd, reply, (int)n, got);
        return 0;
    }
    return 1;
}

/* 1 if a client with these options can run PING (TLS 1.3 reports a refused client
 * certificate only on the first read). */
static int pings(const topts *o) {
    tcli *c = tcli_open(o);
    if (!c) return 0;
    int ok = tcli_expect(c, "PING", "+PONG\r\n");
    tcli_free(c);
    return ok;
}

/* ---- tests ---- */

TEST(ping_and_data) {
    tcli *c = tcli_default();
    ASSERT(c != NULL);
    ASSERT(tcli_expect(c, "PING", "+PONG\r\n"));
    ASSERT(tcli_expect(c, "SET tlskey hello", "+OK\r\n"));
    ASSERT(tcli_expect(c, "GET tlskey", "$5\r\nhello\r\n"));
    tcli_free(c);
    /* The plain port sees the same data. */
    redisContext *r = it_client();
    EXPECT(r, "\"hello\"", "GET tlskey");
    redisFree(r);
}

TEST(plaintext_on_tls_port) {
    int fd = it_raw_connect_to(&(it_server){.host = "127.0.0.1", .port = tls_port});
    it_raw_send_str(fd, "*1\r\n$4\r\nPING\r\n");
    ASSERT(it_raw_closed(fd, 5000));
    close(fd);
    redisContext *r = it_client();
    EXPECT(r, "+PONG", "PING");
    redisFree(r);
}

TEST(client_certificates) {
    topts good = {cert("client.crt"), cert("client.key"), 0, 0, 0};
    topts none = {NULL, NULL, 0, 0, 0};
    topts other = {cert("other-client.crt"), cert("other-client.key"), 0, 0, 0};
    topts expired = {cert("expired-client.crt"), cert("expired-client.key"), 0, 0, 0};
    redisContext *r = it_client();
    /* tls-auth-clients yes (the default). */
    ASSERT(pings(&good));
    ASSERT(!pings(&none));
    ASSERT(!pings(&other));
    ASSERT(!pings(&expired));
    EXPECT(r, "+OK", "CONFIG SET tls-auth-clients optional");
    ASSERT(pings(&good));
    ASSERT(pings(&none));
    ASSERT(!pings(&other));
    ASSERT(!pings(&expired));
    EXPECT(r, "+OK", "CONFIG SET tls-auth-clients no");
    ASSERT(pings(&none));
    ASSERT(pings(&other));
    EXPECT(r, "+OK", "CONFIG SET tls-auth-clients yes");
    ASSERT(!pings(&none));
    redisFree(r);
}

TEST(protocols) {
    redisContext *r = it_client();
    topts v12 = {cert("client.crt"), cert("client.key"), TLS1_2_VERSION, TLS1_2_VERSION, 0};
    topts v13 = {cert("client.crt"), cert("client.key"), TLS1_3_VERSION, TLS1_3_VERSION, 0};
    ASSERT(pings(&v12));
    ASSERT(pings(&v13));
    EXPECT(r, "+OK", "CONFIG SET tls-protocols TLSv1.3");
    ASSERT(!pings(&v12));
    ASSERT(pings(&v13));
    EXPECT(r, "+OK", "CONFIG SET tls-protocols TLSv1.2");
    ASSERT(pings(&v12));
    ASSERT(!pings(&v13));
    EXPECT(r,
           "-ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to "
           "update TLS configuration. Check server logs.",
           "CONFIG SET tls-protocols TLSv9");
    EXPECT(r, "[\"tls-protocols\",\"TLSv1.2\"]", "CONFIG GET tls-protocols");
    /* Ciphers of TLSv1.2: one the client does not offer leaves no common cipher. */
    EXPECT(r, "+OK", "CONFIG SET tls-ciphers ECDHE-ECDSA-AES256-GCM-SHA384");
    ASSERT(pings(&v12));
    EXPECT(r, "+OK", "CONFIG SET tls-ciphers ECDHE-RSA-AES128-GCM-SHA256");
    ASSERT(!pings(&v12));
    EXPECT(r, "+OK", "CONFIG SET tls-protocols %s tls-ciphers %s", "", "");
    ASSERT(pings(&v13));
    redisFree(r);
}

/* Certificates are reloaded by CONFIG SET; a bad one is refused and changes nothing. */
TEST(reload_certificates) {
    redisContext *r = it_client();
    tcli *live = tcli_default();
    ASSERT(live != NULL);
    EXPECT(r,
           "-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to "
           "update TLS configuration. Check server logs.",
           "CONFIG SET tls-cert-file %s", cert("missing.crt"));
    char want[600];
    snprintf(want, sizeof(want), "[\"tls-cert-file\",\"%s\"]", cert("server.crt"));
    EXPECT(r, want, "CONFIG GET tls-cert-file");
    /* An encrypted key needs its password first. */
    EXPECT(r,
           "-ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to "
           "update TLS configuration. Check server logs.",
           "CONFIG SET tls-key-file %s", cert("server-encrypted.key"));
    EXPECT(r, "+OK", "CONFIG SET tls-key-file-pass 1234");
    EXPECT(r, "+OK", "CONFIG SET tls-key-file %s", cert("server-encrypted.key"));
    ASSERT(pings(&(topts){cert("client.crt"), cert("client.key"), 0, 0, 0}));
    /* The connection made before the reloads still works. */
    ASSERT(tcli_expect(live, "PING", "+PONG\r\n"));
    tcli_free(live);
    redisFree(r);
}

/* CONFIG SET bind moves the TLS listeners with the plain ones (Redis's applyBind); the
 * connections already made stay. */
TEST(bind_moves_tls_listeners) {
    redisContext *r = it_client();
    tcli *live = tcli_default();
    ASSERT(live != NULL);
    EXPECT(r, "+OK", "CONFIG SET bind %s", "127.0.0.2");
    topts there = {cert("client.crt"), cert("client.key"), 0, 0, 0, "127.0.0.2"};
    ASSERT(pings(&there));
    tcli *gone = tcli_default(); /* 127.0.0.1 */
    ASSERT(gone == NULL);
    ASSERT(tcli_expect(live, "PING", "+PONG\r\n"));
    EXPECT(r, "+OK", "CONFIG SET bind %s", "127.0.0.1");
    ASSERT(pings(&(topts){cert("client.crt"), cert("client.key"), 0, 0, 0, NULL}));
    ASSERT(!pings(&there));
    tcli_free(live);
    redisFree(r);
}

/* Sends everything while reading replies (non-blocking both ways), so that neither side's
 * buffers fill up. Returns the bytes of reply read into out. */
static size_t exchange(tcli *c, const char *req, size_t reqlen, char *out, size_t want) {
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    size_t sent = 0, got = 0;
    time_t start = time(NULL);
    while (got < want && time(NULL) - start < 30) {
        int progress = 0;
        if (sent < reqlen) {
            size_t chunk = reqlen - sent < 65536 ? reqlen - sent : 65536;
            int n = SSL_write(c->ssl, req + sent, (int)chunk);
            if (n > 0) {
                sent += (size_t)n;
                progress = 1;
            }
            ERR_clear_error();
        }
        int n = SSL_read(c->ssl, out + got, (int)(want - got < 1 << 20 ? want - got : 1 << 20));
        if (n > 0) {
            got += (size_t)n;
            progress = 1;
        } else {
            int e = SSL_get_error(c->ssl, n);
            ERR_clear_error();
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) break;
        }
        if (!progress) {
            struct pollfd p = {c->fd, POLLIN | (sent < reqlen ? POLLOUT : 0), 0};
            poll(&p, 1, 100);
        }
    }
    return got;
}

TEST(large_pipeline_byte_exact) {
    tcli *c = tcli_default();
    ASSERT(c != NULL);
    buf req, expect;
    buf_init(&req);
    buf_init(&expect);
    /* 2000 SETs of values from 0 bytes to ~50 KB (about 5 MB), then a GET of each. */
    const int n = 2000;
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)((i * 7919) % 1000) * ((i % 10 == 0) ? 50 : 1);
        char key[32];
        int klen = snprintf(key, sizeof(key), "pipe:%d", i);
        buf_printf(&req, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%zu\r\n", klen, key, len);
        for (size_t k = 0; k < len; k++)
            buf_putc(&req, (char)('a' + (i + k) % 26));
        buf_puts(&req, "\r\n");
        buf_puts(&expect, "+OK\r\n");
    }
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)((i * 7919) % 1000) * ((i % 10 == 0) ? 50 : 1);
        char key[32];
        int klen = snprintf(key, sizeof(key), "pipe:%d", i);
        buf_printf(&req, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", klen, key);
        buf_printf(&expect, "$%zu\r\n", len);
        for (size_t k = 0; k < len; k++)
            buf_putc(&expect, (char)('a' + (i + k) % 26));
        buf_puts(&expect, "\r\n");
    }
    char *got = malloc(expect.len);
    size_t g = exchange(c, req.data, req.len, got, expect.len);
    ASSERT_EQ(expect.len, g);
    ASSERT(memcmp(expect.data, got, expect.len) == 0);
    free(got);
    buf_deinit(&req);
    buf_deinit(&expect);
    tcli_free(c);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Opens n TLS clients at once: non-blocking connects and handshakes driven together, as
 * a crowd of clients would arrive. Returns how many completed (within 60 s). */
static int open_many(tcli **v, int n) {
    struct pollfd *p = calloc((size_t)n, sizeof(*p));
    int *done = calloc((size_t)n, sizeof(int));
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx, cert("ca.crt"), NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_use_certificate_chain_file(ctx, cert("client.crt"));
    SSL_CTX_use_PrivateKey_file(ctx, cert("client.key"), SSL_FILETYPE_PEM);
    for (int i = 0; i < n; i++) {
        v[i] = calloc(1, sizeof(tcli));
        v[i]->fd = tcp_connect(tls_port); /* loopback connects complete at once */
        SSL_CTX_up_ref(ctx);
        v[i]->ctx = ctx;
        v[i]->ssl = SSL_new(ctx);
        SSL_set_fd(v[i]->ssl, v[i]->fd);
        fcntl(v[i]->fd, F_SETFL, fcntl(v[i]->fd, F_GETFL) | O_NONBLOCK);
    }
    SSL_CTX_free(ctx);
    int completed = 0;
    double deadline = now_ms() + 60000;
    while (completed < n && now_ms() < deadline) {
        int np = 0;
        for (int i = 0; i < n; i++) {
            if (done[i]) continue;
            int rc = SSL_connect(v[i]->ssl);
            if (rc == 1) {
                done[i] = 1;
                completed++;
                continue;
            }
            int e = SSL_get_error(v[i]->ssl, rc);
            ERR_clear_error();
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                done[i] = -1;
                continue;
            }
            p[np].fd = v[i]->fd;
            p[np].events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            np++;
        }
        if (np == 0) break;
        poll(p, (nfds_t)np, 100);
    }
    for (int i = 0; i < n; i++) /* back to blocking, with the socket timeouts */
        fcntl(v[i]->fd, F_SETFL, fcntl(v[i]->fd, F_GETFL) & ~O_NONBLOCK);
    free(p);
    free(done);
    return completed;
}

TEST(thousand_connections) {
    enum { N = 1000 };
    tcli **v = calloc(N, sizeof(tcli *));
    int opened = open_many(v, N);
    redisContext *r = it_client();
    int ok = opened == N && it_info_field(r, "connected_clients") >= N + 1;
    for (int i = 0; ok && i < N; i++)
        ok = tcli_send(v[i], "PING\r\n", 6) == 0;
    for (int i = 0; ok && i < N; i++) {
        char got[8];
        ok = tcli_read(v[i], got, 7) == 7 && memcmp(got, "+PONG\r\n", 7) == 0;
    }
    for (int i = 0; i < N; i++)
        tcli_free(v[i]);
    free(v);
    ASSERT_EQ(N, opened);
    ASSERT(ok);
    WAIT_FOR(it_info_field(r, "connected_clients") == 1, 10000);
    redisFree(r);
}

/* A client that opens the TCP connection and sends part of a ClientHello, then nothing,
 * must not delay anyone: PING latency on a TLS connection stays low meanwhile. */
TEST(stalled_handshake) {
    int stalled[20];
    for (int i = 0; i < 20; i++) {
        stalled[i] = tcp_connect(tls_port);
        ASSERT(stalled[i] >= 0);
        /* A TLS record header announcing 512 bytes of handshake, then 3 of them. */
        const unsigned char part[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};
        if (i % 2) ASSERT(write(stalled[i], part, sizeof(part)) == (ssize_t)sizeof(part));
    }
    tcli *c = tcli_default();
    ASSERT(c != NULL);
    double worst = 0;
    for (int i = 0; i < 200; i++) {
        double t0 = now_ms();
        ASSERT(tcli_expect(c, "PING", "+PONG\r\n"));
        double dt = now_ms() - t0;
        if (dt > worst) worst = dt;
    }
    /* Generous for a shared, busy machine; a blocked loop would take seconds. */
    ASSERT(worst < 500);
    /* The stalled connections are not clients (yet). */
    redisContext *r = it_client();
    ASSERT_EQ(2, it_info_field(r, "connected_clients"));
    redisFree(r);
    for (int i = 0; i < 20; i++)
        close(stalled[i]);
    tcli_free(c);
}

/* Runs a shell command; returns its exit status and its output in out. */
static int run(const char *cmd, char *out, size_t cap) {
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(redis_cli_tls) {
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof(cmd),
             "redis-cli -p %d --tls --cacert %s --cert %s --key %s SET fromcli 42 2>&1 && "
             "redis-cli -p %d --tls --cacert %s --cert %s --key %s GET fromcli 2>&1",
             tls_port, cert("ca.crt"), cert("client.crt"), cert("client.key"), tls_port,
             cert("ca.crt"), cert("client.crt"), cert("client.key"));
    ASSERT_EQ(0, run(cmd, out, sizeof(out)));
    ASSERT_STR_EQ("OK\n42\n", out);
    /* Without a client certificate the server refuses it. */
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d --tls --cacert %s PING 2>&1", tls_port,
             cert("ca.crt"));
    run(cmd, out, sizeof(out));
    ASSERT(strstr(out, "PONG") == NULL);
}

TEST(redis_py_tls) {
    char out[4096];
    if (run("/usr/bin/python3 -c 'import redis' 2>&1", out, sizeof(out)) != 0) {
        printf("SKIP: redis-py is not installed\n");
        return;
    }
    char cmd[2048];
    snprintf(
        cmd, sizeof(cmd),
        "/usr/bin/python3 -c 'import redis; r = redis.Redis(host=\"localhost\", port=%d, ssl=True, "
        "ssl_ca_certs=\"%s\", ssl_certfile=\"%s\", ssl_keyfile=\"%s\"); "
        "r.set(\"py\", \"ok\"); print(r.get(\"py\").decode(), r.ping())' 2>&1",
        tls_port, cert("ca.crt"), cert("client.crt"), cert("client.key"));
    ASSERT_EQ(0, run(cmd, out, sizeof(out)));
    ASSERT_STR_EQ("ok True\n", out);
}

/* An ACL user over TLS with real clients: redis-cli --tls --user/--pass and redis-py with
 * ssl=True and username/password. The user's limits hold on the TLS port (NOPERM outside
 * its keys and commands), a wrong password is refused, and CLIENT LIST names the user of a
 * TLS connection. */
TEST(acl_user_over_tls) {
    redisContext *r = it_client();
    EXPECT(r, "+OK", "ACL SETUSER tlsapp on >s3cret ~app:* -@all +@string +@connection +client");
    char cli[1024], cmd[8192], out[4096];
    snprintf(cli, sizeof(cli),
             "redis-cli -p %d --tls --cacert %s --cert %s --key %s --no-auth-warning --user "
             "tlsapp",
             tls_port, cert("ca.crt"), cert("client.crt"), cert("client.key"));
    snprintf(cmd, sizeof(cmd),
             "%s --pass s3cret SET app:1 fromcli 2>&1; %s --pass s3cret GET app:1 2>&1; "
             "%s --pass s3cret GET other 2>&1; %s --pass s3cret HSET app:h f v 2>&1; "
             "%s --pass s3cret ACL WHOAMI 2>&1",
             cli, cli, cli, cli, cli);
    run(cmd, out, sizeof(out));
    /* redis-cli (raw output) follows an error with an empty line. */
    ASSERT_STR_EQ("OK\nfromcli\nNOPERM No permissions to access a key\n\n"
                  "NOPERM User tlsapp has no permissions to run the 'hset' command\n\n"
                  "NOPERM User tlsapp has no permissions to run the 'acl|whoami' command\n\n",
                  out);
    snprintf(cmd, sizeof(cmd), "%s --pass wrong PING 2>&1", cli);
    run(cmd, out, sizeof(out));
    ASSERT(strstr(out, "WRONGPASS invalid username-password pair or user is disabled.") != NULL);

    if (run("/usr/bin/python3 -c 'import redis' 2>&1", out, sizeof(out)) != 0) {
        printf("SKIP: redis-py is not installed\n");
    } else {
        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 -c 'import redis\n"
                 "r = redis.Redis(host=\"localhost\", port=%d, ssl=True, ssl_ca_certs=\"%s\", "
                 "ssl_certfile=\"%s\", ssl_keyfile=\"%s\", username=\"tlsapp\", "
                 "password=\"s3cret\")\n"
                 "r.set(\"app:py\", \"ok\")\n"
                 "print(r.get(\"app:py\").decode(), r.client_info()[\"user\"])\n"
                 "try:\n  r.get(\"other\")\n"
                 "except redis.exceptions.NoPermissionError as e:\n  print(\"denied:\", e)\n"
                 "' 2>&1",
                 tls_port, cert("ca.crt"), cert("client.crt"), cert("client.key"));
        ASSERT_EQ(0, run(cmd, out, sizeof(out)));
        ASSERT_STR_EQ("ok tlsapp\ndenied: No permissions to access a key\n", out);
    }
    EXPECT(r, "\"fromcli\"", "GET app:1");
    EXPECT(r, "1", "ACL DELUSER tlsapp");
    redisFree(r);
}

/* Reads one bulk reply ("$N\r\n" + N bytes + "\r\n") into out; returns N or -1. */
static long read_bulk(tcli *c, char *out, size_t cap) {
    char hdr[32];
    size_t n = 0;
    while (n < sizeof(hdr) - 1 && tcli_read(c, hdr + n, 1) == 1) {
        n++;
        if (n >= 2 && hdr[n - 2] == '\r' && hdr[n - 1] == '\n') break;
    }
    hdr[n] = '\0';
    if (hdr[0] != '$') return -1;
    long len = atol(hdr + 1);
    if (len < 0 || (size_t)len + 2 > cap) return -1;
    if (tcli_read(c, out, (size_t)len + 2) != (size_t)len + 2) return -1;
    out[len] = '\0';
    return len;
}

/* A server with only a TLS port: INFO's tcp_port names it, as Redis does. */
TEST(tls_only_server) {
    int p = it_free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", p);
    pid_t pid = fork();
    if (pid == 0) {
        execl(getenv("MAYFLY_SERVER"), "mayfly-server", "--port", "0", "--tls-port", port,
              "--tls-cert-file", cert("server.crt"), "--tls-key-file", cert("server.key"),
              "--tls-ca-cert-file", cert("ca.crt"), "--save", "", "--logfile", "/dev/null",
              (char *)NULL);
        _exit(127);
    }
    ASSERT(pid > 0);
    topts o = {cert("client.crt"), cert("client.key"), 0, 0, p};
    int up = 0;
    for (int i = 0; i < 500 && !up; i++) {
        up = pings(&o);
        if (!up) it_sleep_ms(10);
    }
    char info[16384] = "";
    tcli *c = up ? tcli_open(&o) : NULL;
    if (c && tcli_send(c, "INFO server\r\n", 13) == 0) read_bulk(c, info, sizeof(info));
    tcli_free(c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    ASSERT(up);
    char line[64];
    snprintf(line, sizeof(line), "tcp_port:%d\r\n", p);
    ASSERT(strstr(info, line) != NULL);
}

/* tls-replication with masteruser/masterauth, with a real replica: a Mayfly replica whose
 * link goes to this server's TLS port (which asks for a client certificate) and
 * authenticates as an ACL user allowed only the replication commands. The data and the
 * stream arrive, the primary lists the link under that user, and a wrong password keeps
 * the link down. */
TEST(replication_over_tls) {
    redisContext *r = it_client();
    EXPECT(r, "+OK", "ACL SETUSER repl on >replpw -@all +psync +replconf +ping");
    EXPECT(r, "+OK", "SET tlsrepl:k v1");
    char of[64];
    snprintf(of, sizeof(of), "127.0.0.1 %d", tls_port);
    const char *args[] = {"--tls-replication",
                          "yes",
                          "--replicaof",
                          of,
                          "--masteruser",
                          "repl",
                          "--masterauth",
                          "replpw",
                          "--tls-cert-file",
                          cert("client.crt"),
                          "--tls-key-file",
                          cert("client.key"),
                          "--tls-ca-cert-file",
                          cert("ca.crt"),
                          NULL};
    it_server rs;
    it_start_server(&rs, args);
    redisContext *rc = it_client_to(&rs);
    WAIT_FOR(ru_link_up(rc), 10000);
    EXPECT(rc, "\"v1\"", "GET tlsrepl:k");
    EXPECT(r, "+OK", "SET tlsrepl:k v2");
    EXPECT(r, "1", "WAIT 1 5000");
    EXPECT(rc, "\"v2\"", "GET tlsrepl:k");
    redisReply *x = redisCommand(r, "CLIENT LIST TYPE replica");
    ASSERT(x && x->type == REDIS_REPLY_STRING);
    ASSERT(strstr(x->str, " user=repl ") != NULL);
    freeReplyObject(x);
    /* A wrong password: the link is dropped, and the next handshake is refused. */
    long long denied = it_info_field(r, "acl_access_denied_auth");
    EXPECT(rc, "+OK", "CONFIG SET masterauth wrong");
    EXPECT(rc, "1", "CLIENT KILL TYPE master");
    WAIT_FOR(it_info_field(r, "acl_access_denied_auth") > denied, 10000);
    ASSERT(!ru_link_up(rc));
    redisFree(rc);
    it_stop_server(&rs);
    EXPECT(r, "1", "ACL DELUSER repl");
    redisFree(r);
}

int main(void) {
    SSL_library_init();
    snprintf(certs, sizeof(certs), "/tmp/mayfly-it-tls-%d", (int)getpid());
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "sh %s/tests/tls/gen-certs.sh %s", src ? src : ".", certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not make certificates\n");
        return 1;
    }
    tls_port = it_free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", tls_port);
    const char *args[] = {"--tls-port",
                          port,
                          "--tls-cert-file",
                          cert("server.crt"),
                          "--tls-key-file",
                          cert("server.key"),
                          "--tls-ca-cert-file",
                          cert("ca.crt"),
                          "--maxclients",
                          "2000",
                          NULL};
    it_start(args);
    RUN(ping_and_data);
    RUN(plaintext_on_tls_port);
    RUN(client_certificates);
    RUN(protocols);
    RUN(reload_certificates);
    RUN(bind_moves_tls_listeners);
    RUN(large_pipeline_byte_exact);
    RUN(thousand_connections);
    RUN(stalled_handshake);
    RUN(redis_cli_tls);
    RUN(redis_py_tls);
    RUN(acl_user_over_tls);
    RUN(tls_only_server);
    RUN(replication_over_tls);
    it_stop();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", certs);
    return test_report();
}
