/* tls: OpenSSL contexts from the tls-* directives, and sessions over memory; see
 * mayfly/net/tls.h.
 *
 * Each session's SSL object talks to one BIO of our own type whose read takes bytes from
 * the session's input buffer and whose write appends to its output buffer: no socket, no
 * copy through a BIO_s_mem's internal buffers, and "would block" is just an empty input.
 *
 *     in:  [consumed | ciphertext not yet read by OpenSSL]   (compacted as it drains)
 *     out: [ciphertext OpenSSL produced, not yet sent]
 *
 * Contexts are reference-counted by OpenSSL: tls_configure swaps in new ones and drops its
 * references to the old, which live on while sessions made from them do. */
#include "mayfly/net/tls.h"

#include "mayfly/util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PROTO_TLS1 1
#define PROTO_TLS1_1 2
#define PROTO_TLS1_2 4
#define PROTO_TLS1_3 8
#define PROTO_DEFAULT (PROTO_TLS1_2 | PROTO_TLS1_3)

static SSL_CTX *server_ctx, *client_ctx;

/* ---- contexts ---- */

static const char *ssl_error_text(char *out, size_t cap) {
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, out, cap);
    ERR_clear_error();
    return out;
}

static int set(const char *s) {
    return s && *s;
}

int tls_parse_protocols(const char *s) {
    if (!set(s)) return PROTO_DEFAULT;
    int protocols = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        size_t n = (size_t)(p - w);
        if (n == 5 && strncasecmp(w, "tlsv1", 5) == 0)
            protocols |= PROTO_TLS1;
        else if (n == 7 && strncasecmp(w, "tlsv1.1", 7) == 0)
            protocols |= PROTO_TLS1_1;
        else if (n == 7 && strncasecmp(w, "tlsv1.2", 7) == 0)
            protocols |= PROTO_TLS1_2;
        else if (n == 7 && strncasecmp(w, "tlsv1.3", 7) == 0)
            protocols |= PROTO_TLS1_3;
        else
            return -1;
    }
    return protocols;
}

/* Hands the key file's password to OpenSSL (userdata: the password, or NULL). */
static int password_cb(char *out, int size, int rwflag, void *userdata) {
    (void)rwflag;
    const char *pass = userdata;
    if (!pass) return -1;
    size_t n = strlen(pass);
    if (n > (size_t)size) return -1;
    memcpy(out, pass, n);
    return (int)n;
}

/* The parts common to the server and client contexts: protocols, certificate and key,
 * CA, ciphers. */
static SSL_CTX *base_context(const tls_settings *s, int protocols, int client, char **err) {
    const char *cert = client ? s->client_cert_file : s->cert_file;
    const char *key = client ? s->client_key_file : s->key_file;
    const char *pass = client ? s->client_key_file_pass : s->key_file_pass;
    char e[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        *err = buf_strdupf("Failed to create an SSL context: %s", ssl_error_text(e, sizeof(e)));
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION);
    if (!(protocols & PROTO_TLS1)) SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1);
    if (!(protocols & PROTO_TLS1_1)) SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_1);
    if (!(protocols & PROTO_TLS1_2)) SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_2);
    if (!(protocols & PROTO_TLS1_3)) SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_3);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_default_passwd_cb(ctx, password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)(set(pass) ? pass : NULL));
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) <= 0) {
        *err =
            buf_strdupf("Failed to load certificate: %s: %s", cert, ssl_error_text(e, sizeof(e)));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) <= 0) {
        *err = buf_strdupf("Failed to load private key: %s: %s", key, ssl_error_text(e, sizeof(e)));
        goto fail;
    }
    if ((set(s->ca_cert_file) || set(s->ca_cert_dir)) &&
        SSL_CTX_load_verify_locations(ctx, set(s->ca_cert_file) ? s->ca_cert_file : NULL,
                                      set(s->ca_cert_dir) ? s->ca_cert_dir : NULL) <= 0) {
        *err = buf_strdupf("Failed to configure CA certificate(s) file/directory: %s",
                           ssl_error_text(e, sizeof(e)));
        goto fail;
    }
    if (set(s->ciphers) && !SSL_CTX_set_cipher_list(ctx, s->ciphers)) {
        ERR_clear_error();
        *err = buf_strdupf("Failed to configure ciphers: %s", s->ciphers);
        goto fail;
    }
    if (set(s->ciphersuites) && !SSL_CTX_set_ciphersuites(ctx, s->ciphersuites)) {
        ERR_clear_error();
        *err = buf_strdupf("Failed to configure ciphersuites: %s", s->ciphersuites);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static int load_dh_params(SSL_CTX *ctx, const char *path, char **err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        *err = buf_strdupf("Failed to load %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
        &pkey, "PEM", NULL, "DH", OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS, NULL, NULL);
    int ok = dctx && OSSL_DECODER_from_fp(dctx, f);
    OSSL_DECODER_CTX_free(dctx);
    fclose(f);
    if (!ok) {
        ERR_clear_error();
        *err = buf_strdupf("%s: failed to read DH params.", path);
        return -1;
    }
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, pkey) <= 0) {
        char e[256];
        *err = buf_strdupf("Failed to load DH params file: %s: %s", path,
                           ssl_error_text(e, sizeof(e)));
        EVP_PKEY_free(pkey);
        return -1;
    }
    return 0;
}

/* Server-only settings: session cache, renegotiation, cipher preference, DH. */
static int server_settings(SSL_CTX *ctx, const tls_settings *s, char **err) {
    if (s->session_caching) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, s->session_cache_size);
        SSL_CTX_set_timeout(ctx, s->session_cache_timeout);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"redis", 5);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (s->prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_options(ctx, SSL_OP_SINGLE_DH_USE);
    if (set(s->dh_params_file)) return load_dh_params(ctx, s->dh_params_file, err);
    SSL_CTX_set_dh_auto(ctx, 1);
    return 0;
}

int tls_configure(const tls_settings *s, char **err) {
    *err = NULL;
    if (!set(s->cert_file)) {
        *err = mem_strdup("No tls-cert-file configured!");
        return -1;
    }
    if (!set(s->key_file)) {
        *err = mem_strdup("No tls-key-file configured!");
        return -1;
    }
    if ((s->auth_clients != TLS_AUTH_NO || s->cluster || s->replication) && !set(s->ca_cert_file) &&
        !set(s->ca_cert_dir)) {
        *err = mem_strdup("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                          "tls-cluster, tls-replication or tls-auth-clients are enabled!");
        return -1;
    }
    int protocols = tls_parse_protocols(s->protocols);
    if (protocols < 0) {
        *err = mem_strdup("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                          "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
        return -1;
    }
    SSL_CTX *ctx = base_context(s, protocols, 0, err);
    SSL_CTX *cctx = NULL;
    if (!ctx) return -1;
    if (server_settings(ctx, s, err) < 0) goto fail;
    if (set(s->client_cert_file) && set(s->client_key_file)) {
        cctx = base_context(s, protocols, 1, err);
        if (!cctx) goto fail;
    }
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
    server_ctx = ctx;
    client_ctx = cctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    SSL_CTX_free(cctx);
    return -1;
}

int tls_configured(void) {
    return server_ctx != NULL;
}

void tls_cleanup(void) {
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
    server_ctx = client_ctx = NULL;
}

/* ---- sessions ---- */

struct tls_session {
    SSL *ssl;
    buf in; /* ciphertext received; bytes before in_off are consumed */
    size_t in_off;
    buf out; /* ciphertext to send */
    int established;
    char err[256];
};

static BIO_METHOD *bio_method;

static int bio_write(BIO *b, const char *p, int len) {
    tls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len > 0) buf_append(&s->out, p, (size_t)len);
    return len;
}

static int bio_read(BIO *b, char *out, int cap) {
    tls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = s->in.len - s->in_off;
    if (avail == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = avail < (size_t)cap ? avail : (size_t)cap;
    memcpy(out, s->in.data + s->in_off, n);
    s->in_off += n;
    if (s->in_off == s->in.len) {
        s->in.len = 0;
        s->in_off = 0;
    }
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    (void)ptr;
    tls_session *s = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return s ? (long)(s->in.len - s->in_off) : 0;
    case BIO_CTRL_WPENDING:
        return s ? (long)s->out.len : 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *method(void) {
    if (!bio_method) {
        bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mayfly");
        BIO_meth_set_write(bio_method, bio_write);
        BIO_meth_set_read(bio_method, bio_read);
        BIO_meth_set_ctrl(bio_method, bio_ctrl);
        BIO_meth_set_create(bio_method, bio_create);
    }
    return bio_method;
}

static int is_ip_address(const char *host) {
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

tls_session *tls_session_new(int server_side, int auth_clients, const char *sni) {
    SSL_CTX *ctx = server_side ? server_ctx : (client_ctx ? client_ctx : server_ctx);
    if (!ctx) return NULL;
    SSL *ssl = SSL_new(ctx);
    if (!ssl) {
        ERR_clear_error();
        return NULL;
    }
    tls_session *s = mem_calloc(1, sizeof(*s));
    s->ssl = ssl;
    buf_init(&s->in);
    buf_init(&s->out);
    BIO *b = BIO_new(method());
    BIO_set_data(b, s);
    SSL_set_bio(ssl, b, b);
    if (server_side) {
        int mode = auth_clients == TLS_AUTH_NO ? SSL_VERIFY_NONE
                   : auth_clients == TLS_AUTH_OPTIONAL
                       ? SSL_VERIFY_PEER
                       : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_set_verify(ssl, mode, NULL);
        SSL_set_accept_state(ssl);
    } else {
        if (sni && *sni && !is_ip_address(sni)) SSL_set_tlsext_host_name(ssl, sni);
        SSL_set_connect_state(ssl);
    }
    return s;
}

void tls_session_free(tls_session *s) {
    if (!s) return;
    SSL_free(s->ssl); /* frees the BIO too */
    buf_deinit(&s->in);
    buf_deinit(&s->out);
    mem_free(s);
}

void tls_session_feed(tls_session *s, const char *p, size_t len) {
    size_t room;
    char *dst = tls_session_in_room(s, len, &room);
    memcpy(dst, p, len);
    tls_session_in_commit(s, len);
}

char *tls_session_in_room(tls_session *s, size_t want, size_t *room) {
    if (s->in_off && s->in_off == s->in.len) {
        s->in.len = s->in_off = 0;
    } else if (s->in_off > 0 && s->in.cap - s->in.len < want) {
        buf_consume(&s->in, s->in_off);
        s->in_off = 0;
    }
    char *p = buf_reserve(&s->in, want);
    *room = s->in.cap - s->in.len;
    return p;
}

void tls_session_in_commit(tls_session *s, size_t n) {
    s->in.len += n;
}

void tls_session_shrink(tls_session *s, size_t keep) {
    if (s->in_off == s->in.len) {
        s->in.len = s->in_off = 0;
        buf_shrink(&s->in, keep);
    }
}

size_t tls_session_in_len(const tls_session *s) {
    return s->in.len - s->in_off;
}

/* Classifies a failed SSL call; fills s->err on an error. */
static int failure(tls_session *s, int rc) {
    int e = SSL_get_error(s->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        /* Our BIO never fails: an unexpected end of the stream. */
        snprintf(s->err, sizeof(s->err), "%s",
                 ERR_peek_error() ? ERR_reason_error_string(ERR_peek_error()) : "unexpected EOF");
        ERR_clear_error();
        return TLS_ERROR;
    default:
        ssl_error_text(s->err, sizeof(s->err));
        return TLS_ERROR;
    }
}

int tls_session_handshake(tls_session *s) {
    if (s->established) return TLS_DONE;
    ERR_clear_error();
    int rc = SSL_do_handshake(s->ssl);
    if (rc == 1) {
        s->established = 1;
        return TLS_DONE;
    }
    int f = failure(s, rc);
    return f == TLS_CLOSED ? TLS_ERROR : f;
}

int tls_session_established(const tls_session *s) {
    return s->established;
}

int tls_session_read(tls_session *s, char *out, size_t cap) {
    if (cap == 0) return TLS_WANT;
    if (cap > INT32_MAX) cap = INT32_MAX;
    ERR_clear_error();
    int rc = SSL_read(s->ssl, out, (int)cap);
    if (rc > 0) return rc;
    return failure(s, rc);
}

int tls_session_readable(const tls_session *s) {
    return SSL_pending(s->ssl) > 0 || s->in.len > s->in_off;
}

int tls_session_write(tls_session *s, const char *p, size_t len) {
    size_t done = 0;
    ERR_clear_error();
    while (done < len) {
        size_t chunk = len - done;
        if (chunk > 16384) chunk = 16384;
        int rc = SSL_write(s->ssl, p + done, (int)chunk);
        if (rc <= 0) {
            failure(s, rc);
            return TLS_ERROR;
        }
        done += (size_t)rc;
    }
    return 0;
}

void tls_session_shutdown(tls_session *s) {
    if (!s->established) return;
    ERR_clear_error();
    SSL_shutdown(s->ssl);
    ERR_clear_error();
}

buf *tls_session_out(tls_session *s) {
    return &s->out;
}

const char *tls_session_error(const tls_session *s) {
    return s->err;
}

const char *tls_session_version(const tls_session *s) {
    return SSL_get_version(s->ssl);
}

const char *tls_session_cipher(const tls_session *s) {
    return SSL_get_cipher_name(s->ssl);
}
