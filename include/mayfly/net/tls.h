/* tls: TLS with OpenSSL over memory, for streams that libuv owns.
 *
 * OpenSSL never touches a socket here. A tls_session reads ciphertext from an input buffer
 * the caller fills (tls_session_feed, or room from tls_session_in_room) and writes
 * ciphertext into an output buffer the caller drains onto the socket (tls_session_out), so
 * a handshake, a read or a write never blocks: each says "need more input" and returns.
 *
 *     socket ──uv_read──▶ in ──SSL_read──▶ plaintext to the owner
 *     owner ──SSL_write──▶ out ──uv_write──▶ socket
 *
 * The server and client SSL_CTX are built from the tls-* directives by tls_configure, all
 * or nothing: a failed reconfiguration (CONFIG SET of a bad certificate) leaves the
 * previous contexts in place. Sessions hold a reference to the context they started
 * with, so reloading certificates never disturbs live connections. */
#ifndef MAYFLY_NET_TLS_H
#define MAYFLY_NET_TLS_H

#include "mayfly/util/buf.h"

#include <stddef.h>

/* tls-auth-clients. */
enum tls_auth { TLS_AUTH_NO = 0, TLS_AUTH_YES = 1, TLS_AUTH_OPTIONAL = 2 };

/* The tls-* directives a context is built from (NULL or "" strings: not set). */
typedef struct tls_settings {
    const char *cert_file, *key_file, *key_file_pass;
    const char *client_cert_file, *client_key_file, *client_key_file_pass;
    const char *dh_params_file;
    const char *ca_cert_file, *ca_cert_dir;
    const char *protocols;    /* "TLSv1.2 TLSv1.3"; NULL: TLSv1.2 and TLSv1.3 */
    const char *ciphers;      /* TLSv1.2 and below (OpenSSL cipher list) */
    const char *ciphersuites; /* TLSv1.3 */
    int prefer_server_ciphers;
    int session_caching;
    int session_cache_size, session_cache_timeout;
    int auth_clients;         /* enum tls_auth: requires a CA when not TLS_AUTH_NO */
    int replication, cluster; /* tls-replication / tls-cluster: require a CA too */
} tls_settings;

/* Builds the server (and, when tls-client-cert-file and -key-file are set, the client)
 * contexts and makes them current. Returns 0, or -1 with *err an owned message in Redis's
 * log words ("Failed to load certificate: <file>: <openssl error>"); nothing changes then. */
int tls_configure(const tls_settings *s, char **err);
/* 1 once a context is configured. */
int tls_configured(void);
/* Frees the contexts (tests, shutdown). */
void tls_cleanup(void);
/* Parses tls-protocols into a bit set (1 TLSv1, 2 TLSv1.1, 4 TLSv1.2, 8 TLSv1.3); -1 if a
 * word is unknown. NULL or "" gives the default (TLSv1.2 and TLSv1.3). */
int tls_parse_protocols(const char *s);

/* ---- one connection's TLS state ---- */

typedef struct tls_session tls_session;

/* Results of tls_session_handshake / tls_session_read (besides byte counts). */
#define TLS_WANT 0      /* needs more ciphertext (or nothing to read yet) */
#define TLS_DONE 1      /* handshake complete */
#define TLS_CLOSED (-1) /* the peer sent close_notify */
#define TLS_ERROR (-2)  /* protocol or certificate error: close the connection */

/* A session on the current context: server side checks client certificates per
 * auth_clients; client side (server_side 0) uses the client context if there is one and
 * sends sni when it is a host name. Returns NULL when no context is configured. */
tls_session *tls_session_new(int server_side, int auth_clients, const char *sni);
void tls_session_free(tls_session *s);

/* Adds ciphertext received from the peer. */
void tls_session_feed(tls_session *s, const char *p, size_t len);
/* Room for at least want bytes of ciphertext at the end of the input (for a read straight
 * into it); *room gets the room size. Then tls_session_in_commit the bytes received. */
char *tls_session_in_room(tls_session *s, size_t want, size_t *room);
void tls_session_in_commit(tls_session *s, size_t n);
/* Frees the input buffer's storage beyond keep bytes while it holds nothing (idle
 * connections keep little memory). */
void tls_session_shrink(tls_session *s, size_t keep);
/* Bytes of ciphertext received and not consumed yet. */
size_t tls_session_in_len(const tls_session *s);

/* Advances the handshake: TLS_DONE, TLS_WANT or TLS_ERROR. */
int tls_session_handshake(tls_session *s);
/* 1 once the handshake is complete. */
int tls_session_established(const tls_session *s);
/* Decrypts up to cap bytes: > 0 bytes, TLS_WANT, TLS_CLOSED or TLS_ERROR. */
int tls_session_read(tls_session *s, char *out, size_t cap);
/* 1 if a read could return bytes without more input (decrypted or undecrypted bytes are
 * buffered). */
int tls_session_readable(const tls_session *s);
/* Encrypts len bytes (all of them, in records of up to 16 KB) into the output. Returns 0,
 * or TLS_ERROR. */
int tls_session_write(tls_session *s, const char *p, size_t len);
/* Queues a close_notify alert in the output. */
void tls_session_shutdown(tls_session *s);
/* The ciphertext waiting to be sent: the caller sends from its start and consumes what it
 * sent (buf_consume), or swaps it with an empty buffer of its own. */
buf *tls_session_out(tls_session *s);
/* The last error, in OpenSSL's words ("" if none). */
const char *tls_session_error(const tls_session *s);
/* The negotiated protocol ("TLSv1.3") and cipher, once established. */
const char *tls_session_version(const tls_session *s);
const char *tls_session_cipher(const tls_session *s);

#endif
