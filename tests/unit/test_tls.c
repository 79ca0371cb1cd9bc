/* Unit tests for net/tls.c: contexts from tls-* settings and sessions over memory. A client
 * and a server session are wired back to back in memory (no sockets): each one's output
 * is fed to the other until both are idle. Certificates come from tests/tls/gen-certs.sh,
 * run into a temporary directory. */
#include "mayfly/net/tls.h"
#include "mayfly/util/mem.h"
#include "unit/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static const char *path(const char *name) {
    static char p[16][512];
    static int i;
    i = (i + 1) % 16;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static tls_settings base(void) {
    tls_settings s;
    memset(&s, 0, sizeof(s));
    s.cert_file = path("server.crt");
    s.key_file = path("server.key");
    s.ca_cert_file = path("ca.crt");
    s.client_cert_file = path("client.crt");
    s.client_key_file = path("client.key");
    s.session_caching = 1;
    s.session_cache_size = 20 * 1024;
    s.session_cache_timeout = 300;
    s.auth_clients = TLS_AUTH_YES;
    return s;
}

static int configure(const tls_settings *s) {
    char *err = NULL;
    int rc = tls_configure(s, &err);
    if (rc < 0) fprintf(stderr, "  (configure: %s)\n", err);
    mem_free(err);
    return rc;
}

/* Moves a's output to b's input; returns the bytes moved. */
static size_t move(tls_session *a, tls_session *b) {
    buf *o = tls_session_out(a);
    size_t n = o->len;
    if (n) tls_session_feed(b, o->data, n);
    buf_clear(o);
    return n;
}

/* Runs both handshakes to the end: 1 if both succeed, 0 if one fails. */
static int handshake(tls_session *c, tls_session *s) {
    int cr = TLS_WANT, sr = TLS_WANT;
    for (int i = 0; i < 50; i++) {
        if (cr == TLS_WANT) cr = tls_session_handshake(c);
        move(c, s);
        if (sr == TLS_WANT) sr = tls_session_handshake(s);
        move(s, c);
        if (cr == TLS_ERROR || sr == TLS_ERROR) return 0;
        if (cr == TLS_DONE && sr == TLS_DONE) {
            /* The client may still need the server's last flight (TLS 1.3 tickets). */
            char tmp[16];
            tls_session_read(c, tmp, sizeof(tmp));
            return 1;
        }
    }
    return 0;
}

/* Reads everything decryptable from r into out (cap bytes); returns the count. */
static size_t drain(tls_session *r, char *out, size_t cap) {
    size_t got = 0;
    for (;;) {
        int n = tls_session_read(r, out + got, cap - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    return got;
}

TEST(protocols) {
    ASSERT_EQ(12, tls_parse_protocols(NULL));
    ASSERT_EQ(12, tls_parse_protocols(""));
    ASSERT_EQ(4, tls_parse_protocols("TLSv1.2"));
    ASSERT_EQ(15, tls_parse_protocols("tlsv1 TLSv1.1  tlsv1.2 TLSV1.3"));
    ASSERT_EQ(-1, tls_parse_protocols("TLSv1.4"));
    ASSERT_EQ(-1, tls_parse_protocols("SSLv3"));
}

TEST(configure_errors) {
    tls_cleanup();
    tls_settings s = base();
    char *err = NULL;
    s.cert_file = NULL;
    ASSERT_EQ(-1, tls_configure(&s, &err));
    ASSERT_STR_EQ("No tls-cert-file configured!", err);
    mem_free(err);
    s = base();
    s.key_file = "";
    ASSERT_EQ(-1, tls_configure(&s, &err));
    ASSERT_STR_EQ("No tls-key-file configured!", err);
    mem_free(err);
    s = base();
    s.ca_cert_file = NULL;
    ASSERT_EQ(-1, tls_configure(&s, &err));
    ASSERT(strstr(err, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified") != NULL);
    mem_free(err);
    s.auth_clients = TLS_AUTH_NO;
    ASSERT_EQ(0, tls_configure(&s, &err)); /* no CA needed without client auth */
    s = base();
    s.cert_file = path("missing.crt");
    ASSERT_EQ(-1, tls_configure(&s, &err));
    ASSERT(strncmp(err, "Failed to load certificate: ", 28) == 0);
    mem_free(err);
    s = base();
    s.key_file = path("server-encrypted.key");
    ASSERT_EQ(-1, tls_configure(&s, &err));
    ASSERT(strncmp(err, "Failed to load private key: ", 28) == 0);
    mem_free(err);
    s.key_file_pass = "1234";
    ASSERT_EQ(0, tls_configure(&s, &err));
    s = base();
    s.protocols = "TLSv9";
    ASSERT_EQ(-1, tls_configure(&s, &err));
    mem_free(err);
    s = base();
    s.ciphers = "NO-SUCH-CIPHER";
    ASSERT_EQ(-1, tls_configure(&s, &err));
    ASSERT_STR_EQ("Failed to configure ciphers: NO-SUCH-CIPHER", err);
    mem_free(err);
    s = base();
    s.ciphersuites = "TLS_NOPE";
    ASSERT_EQ(-1, tls_configure(&s, &err));
    mem_free(err);
    s = base();
    s.dh_params_file = path("missing.pem");
    ASSERT_EQ(-1, tls_configure(&s, &err));
    mem_free(err);
    /* The failures left the last good contexts in place. */
    ASSERT(tls_configured());
}

TEST(handshake_and_data) {
    tls_settings s = base();
    ASSERT_EQ(0, configure(&s));
    tls_session *srv = tls_session_new(1, TLS_AUTH_YES, NULL);
    tls_session *cli = tls_session_new(0, 0, "localhost");
    ASSERT(srv && cli);
    ASSERT(handshake(cli, srv));
    ASSERT(tls_session_established(srv));
    ASSERT_STR_EQ("TLSv1.3", tls_session_version(srv));
    /* A megabyte each way, byte exact. */
    size_t n = 1 << 20;
    char *data = mem_alloc(n), *got = mem_alloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 131 + (i >> 9));
    ASSERT_EQ(0, tls_session_write(cli, data, n));
    ASSERT(move(cli, srv) > n);
    ASSERT(tls_session_readable(srv));
    ASSERT_EQ(n, drain(srv, got, n));
    ASSERT(memcmp(data, got, n) == 0);
    ASSERT_EQ(TLS_WANT, tls_session_read(srv, got, n));
    ASSERT_EQ(0, tls_session_write(srv, data, n));
    move(srv, cli);
    ASSERT_EQ(n, drain(cli, got, n));
    ASSERT(memcmp(data, got, n) == 0);
    /* Ciphertext arriving byte by byte still decrypts. */
    ASSERT_EQ(0, tls_session_write(cli, "PING\r\n", 6));
    buf *o = tls_session_out(cli);
    size_t total = 0;
    for (size_t i = 0; i < o->len; i++) {
        tls_session_feed(srv, o->data + i, 1);
        int r = tls_session_read(srv, got + total, 64);
        if (r > 0) total += (size_t)r;
    }
    buf_clear(o);
    ASSERT_EQ(6, total);
    ASSERT(memcmp(got, "PING\r\n", 6) == 0);
    /* close_notify ends the stream cleanly. */
    tls_session_shutdown(cli);
    move(cli, srv);
    ASSERT_EQ(TLS_CLOSED, tls_session_read(srv, got, n));
    mem_free(data);
    mem_free(got);
    tls_session_free(srv);
    tls_session_free(cli);
}

/* The server refuses client certificates it cannot verify. */
static int client_accepted(const char *cert, const char *key, int auth) {
    tls_settings s = base();
    s.client_cert_file = path(cert);
    s.client_key_file = path(key);
    if (configure(&s) < 0) return -1;
    tls_session *srv = tls_session_new(1, auth, NULL);
    tls_session *cli = tls_session_new(0, 0, "localhost");
    int ok = handshake(cli, srv);
    if (ok) {
        /* With TLS 1.3 the server judges the client's certificate after the client thinks
         * it is done: send a byte to see whether the server took it. */
        char c = 0;
        tls_session_write(cli, "x", 1);
        move(cli, srv);
        ok = tls_session_read(srv, &c, 1) == 1 && c == 'x';
    }
    if (!ok && tls_session_error(srv)[0] == '\0' && tls_session_error(cli)[0] == '\0') ok = -2;
    tls_session_free(srv);
    tls_session_free(cli);
    return ok;
}

TEST(client_certificates) {
    ASSERT_EQ(1, client_accepted("client.crt", "client.key", TLS_AUTH_YES));
    ASSERT_EQ(0, client_accepted("other-client.crt", "other-client.key", TLS_AUTH_YES));
    ASSERT_EQ(0, client_accepted("expired-client.crt", "expired-client.key", TLS_AUTH_YES));
    ASSERT_EQ(0, client_accepted("other-client.crt", "other-client.key", TLS_AUTH_OPTIONAL));
    ASSERT_EQ(1, client_accepted("other-client.crt", "other-client.key", TLS_AUTH_NO));
}

TEST(plaintext_is_refused) {
    tls_settings s = base();
    ASSERT_EQ(0, configure(&s));
    tls_session *srv = tls_session_new(1, TLS_AUTH_YES, NULL);
    const char *junk = "*1\r\n$4\r\nPING\r\n";
    tls_session_feed(srv, junk, strlen(junk));
    ASSERT_EQ(TLS_ERROR, tls_session_handshake(srv));
    ASSERT(tls_session_error(srv)[0] != '\0');
    tls_session_free(srv);
}

TEST(reload_keeps_live_sessions) {
    tls_settings s = base();
    ASSERT_EQ(0, configure(&s));
    tls_session *srv = tls_session_new(1, TLS_AUTH_YES, NULL);
    tls_session *cli = tls_session_new(0, 0, "localhost");
    ASSERT(handshake(cli, srv));
    tls_cleanup(); /* the old context lives on in the sessions */
    s.auth_clients = TLS_AUTH_NO;
    ASSERT_EQ(0, configure(&s));
    char got[8];
    ASSERT_EQ(0, tls_session_write(cli, "hello", 5));
    move(cli, srv);
    ASSERT_EQ(5, drain(srv, got, sizeof(got)));
    tls_session_free(srv);
    tls_session_free(cli);
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/mayfly-test-tls-%d", (int)getpid());
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "sh %s/tests/tls/gen-certs.sh %s", src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not make certificates: %s\n", cmd);
        return 1;
    }
    RUN(protocols);
    RUN(configure_errors);
    RUN(handshake_and_data);
    RUN(client_certificates);
    RUN(plaintext_is_refused);
    RUN(reload_keeps_live_sessions);
    tls_cleanup();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report();
}
