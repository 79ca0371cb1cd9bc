/* net_config: the directives of the network layer (config.h's rows): listening (port,
 * bind, unixsocket, ...), client limits (maxclients, timeout, buffer limits) and TLS.
 *
 * A CONFIG SET of a tls-* directive rebuilds the TLS contexts (Redis's applyTlsCfg), one
 * of tls-port moves the TLS listeners (applyTLSPort), and one of port or bind moves the
 * client listeners (updatePort, applyBind: TCP and TLS alike); the value is refused, and
 * the old one put back with the old listeners still open, if that fails. The values live in the
 * global `config` struct. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/net/net.h"
#include "mayfly/net/tls.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- bind, unixsocketperm, client-output-buffer-limit ---- */

static int parse_bind(const char *v, const char **err) {
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", v);
    int n = 0;
    char *save = NULL;
    char *addrs[CONFIG_MAX_BIND];
    for (char *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (n == CONFIG_MAX_BIND) {
            *err = "Too many bind addresses specified.";
            return -1;
        }
        addrs[n++] = t;
    }
    for (int i = 0; i < config.bind_count; i++) {
        mem_free(config.bind[i]);
        config.bind[i] = NULL; /* no stale pointer past a shorter list */
    }
    for (int i = 0; i < n; i++)
        config.bind[i] = mem_strdup(addrs[i]);
    config.bind_count = n;
    return 0;
}

static void print_bind(buf *out) {
    for (int i = 0; i < config.bind_count; i++)
        buf_printf(out, "%s%s", i ? " " : "", config.bind[i]);
}

static int parse_unixperm(const char *v, const char **err) {
    char *end;
    long n = strtol(v, &end, 8);
    if (*v == '\0' || *end || n < 0 || n > 0777) {
        *err = "Invalid socket file permissions";
        return -1;
    }
    config.unixsocketperm = (int)n;
    return 0;
}

static void print_unixperm(buf *out) {
    buf_printf(out, "%o", config.unixsocketperm);
}

static const char *const obuf_classes[] = {"normal", "slave", "pubsub"};

static int parse_obuf(const char *v, const char **err) {
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", v);
    char *tok[64];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmp, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    if (n == 0 || n % 4) {
        *err = "Wrong number of arguments in buffer limit configuration.";
        return -1;
    }
    for (int i = 0; i < n; i += 4) {
        int cls = -1;
        for (int c = 0; c < 3; c++)
            if (strcasecmp(tok[i], obuf_classes[c]) == 0) cls = c;
        if (strcasecmp(tok[i], "replica") == 0) cls = 1;
        long long hard, soft, secs;
        if (cls < 0) {
            *err = "Invalid client class specified in buffer limit configuration.";
            return -1;
        }
        if (config_parse_memory(tok[i + 1], &hard) < 0 ||
            config_parse_memory(tok[i + 2], &soft) < 0 ||
            str_to_ll(tok[i + 3], strlen(tok[i + 3]), &secs) < 0 || secs < 0 || secs > INT_MAX) {
            *err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            return -1;
        }
        config.client_obuf_hard[cls] = hard;
        config.client_obuf_soft[cls] = soft;
        config.client_obuf_soft_secs[cls] = (int)secs;
    }
    return 0;
}

static void print_obuf(buf *out) {
    for (int c = 0; c < 3; c++)
        buf_printf(out, "%s%s %lld %lld %d", c ? " " : "", obuf_classes[c],
                   config.client_obuf_hard[c], config.client_obuf_soft[c],
                   config.client_obuf_soft_secs[c]);
}

/* ---- TLS ---- */

int net_tls_wanted(void) {
    return config.tls_port || config.tls_replication || config.tls_cluster;
}

static int rebuild_tls(const char **err) {
    char *why = NULL;
    if (net_tls_configure(&why) < 0) {
        log_warning("%s", why);
        mem_free(why);
        *err = "Unable to update TLS configuration. Check server logs.";
        return -1;
    }
    return 0;
}

/* A tls-* setting changed: rebuild the contexts if TLS is in use. */
static int apply_tls(const char **err) {
    return net_tls_wanted() ? rebuild_tls(err) : 0;
}

/* tls-port changed: build the contexts if this starts TLS, then move the listeners. */
static int apply_tls_port(const char **err) {
    if (!tls_configured() && config.tls_port && rebuild_tls(err) < 0) return -1;
    if (net_listen_tls() < 0) {
        *err = "Unable to listen on this port. Check server logs.";
        return -1;
    }
    return 0;
}

/* port / bind changed: the listeners move at once (Redis's updatePort / applyBind). */
static int apply_port(const char **err) {
    if (net_relisten() < 0) {
        *err = "Unable to listen on this port. Check server logs.";
        return -1;
    }
    return 0;
}

static int apply_bind(const char **err) {
    if (net_relisten() < 0) {
        *err = "Failed to bind to specified addresses.";
        return -1;
    }
    return 0;
}

static const char *const tls_auth_names[] = {"no", "yes", "optional", NULL};

#define TLS_STR(n, p, fl)                                                                          \
    {                                                                                              \
        .name = (n), .kind = CONFIG_STR, .flags = (fl) | CONFIG_EMPTY_NULL, .ptr = (p), .def = "", \
        .apply = apply_tls                                                                         \
    }
#define TLS_BOOL(n, p, d)                                                                          \
    { .name = (n), .kind = CONFIG_BOOL, .ptr = (p), .max = 1, .def = (d), .apply = apply_tls }
#define TLS_INT(n, p, d)                                                                           \
    { .name = (n), .kind = CONFIG_INT, .ptr = (p), .max = INT_MAX, .def = (d), .apply = apply_tls }

const config_row net_config_rows[] = {
    {.name = "port",
     .kind = CONFIG_INT,
     .ptr = &config.port,
     .max = 65535,
     .def = "6379",
     .apply = apply_port},
    {.name = "bind",
     .kind = CONFIG_SPECIAL,
     .def = "127.0.0.1 -::1",
     .parse = parse_bind,
     .print = print_bind,
     .apply = apply_bind},
    CONFIG_BOOL_ROW("protected-mode", &config.protected_mode, "yes"),
    {.name = "tcp-backlog",
     .kind = CONFIG_INT,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.tcp_backlog,
     .max = INT_MAX,
     .def = "511"},
    CONFIG_INT_ROW("tcp-keepalive", &config.tcp_keepalive, 0, INT_MAX, "300"),
    CONFIG_STR_ROW("unixsocket", &config.unixsocket, CONFIG_IMMUTABLE | CONFIG_EMPTY_NULL, ""),
    {.name = "unixsocketperm",
     .kind = CONFIG_SPECIAL,
     .flags = CONFIG_IMMUTABLE,
     .def = "0",
     .parse = parse_unixperm,
     .print = print_unixperm},
    CONFIG_INT_ROW("maxclients", &config.maxclients, 1, 4294967295LL, "10000"),
    CONFIG_INT_ROW("timeout", &config.timeout, 0, INT_MAX, "0"),
    /* At most DB_KEY_MAX (1 GB - 1), the longest key Mayfly stores; Redis allows more. */
    CONFIG_MEM_ROW("proto-max-bulk-len", &config.proto_max_bulk_len, 1024 * 1024,
                   (long long)DB_KEY_MAX, "512mb"),
    CONFIG_MEM_ROW("client-query-buffer-limit", &config.client_query_buffer_limit, 1024 * 1024,
                   LLONG_MAX, "1gb"),
    {.name = "client-output-buffer-limit",
     .kind = CONFIG_SPECIAL,
     .def = "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
     .parse = parse_obuf,
     .print = print_obuf},
    {.name = "tls-port",
     .kind = CONFIG_INT,
     .ptr = &config.tls_port,
     .max = 65535,
     .def = "0",
     .apply = apply_tls_port},
    TLS_STR("tls-cert-file", &config.tls_cert_file, 0),
    TLS_STR("tls-key-file", &config.tls_key_file, 0),
    TLS_STR("tls-key-file-pass", &config.tls_key_file_pass, CONFIG_SENSITIVE),
    TLS_STR("tls-client-cert-file", &config.tls_client_cert_file, 0),
    TLS_STR("tls-client-key-file", &config.tls_client_key_file, 0),
    TLS_STR("tls-client-key-file-pass", &config.tls_client_key_file_pass, CONFIG_SENSITIVE),
    TLS_STR("tls-dh-params-file", &config.tls_dh_params_file, 0),
    TLS_STR("tls-ca-cert-file", &config.tls_ca_cert_file, 0),
    TLS_STR("tls-ca-cert-dir", &config.tls_ca_cert_dir, 0),
    TLS_STR("tls-protocols", &config.tls_protocols, 0),
    TLS_STR("tls-ciphers", &config.tls_ciphers, 0),
    TLS_STR("tls-ciphersuites", &config.tls_ciphersuites, 0),
    TLS_BOOL("tls-prefer-server-ciphers", &config.tls_prefer_server_ciphers, "no"),
    TLS_BOOL("tls-session-caching", &config.tls_session_caching, "yes"),
    TLS_INT("tls-session-cache-size", &config.tls_session_cache_size, "20480"),
    TLS_INT("tls-session-cache-timeout", &config.tls_session_cache_timeout, "300"),
    /* Read when a client connects: nothing to rebuild. */
    CONFIG_ENUM_ROW("tls-auth-clients", &config.tls_auth_clients, tls_auth_names, "yes"),
    TLS_BOOL("tls-replication", &config.tls_replication, "no"),
    TLS_BOOL("tls-cluster", &config.tls_cluster, "no"),
    {0},
};
