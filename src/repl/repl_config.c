/* repl_config: the replication directives, as redis.conf names them (with their slave-*
 * aliases). They replace the compatibility rows config.c accepted before replication
 * existed. replicaof is Redis's special directive: "host port" (CONFIG GET shows the current
 * primary, CONFIG REWRITE writes it, or drops the line on a primary); it cannot be changed
 * with CONFIG SET (REPLICAOF does that). */
#include "mayfly/util/mem.h"
#include "repl/repl_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

repl_config repl_cfg = {.backlog_size = 1024 * 1024,
                        .backlog_ttl = 3600,
                        .timeout = 60,
                        .ping_period = 10,
                        .min_replicas_max_lag = 10,
                        .read_only = 1,
                        .serve_stale = 1,
                        .priority = 100,
                        .announced = 1,
                        .diskless_sync = 1,
                        .diskless_sync_delay = 5};

/* "host port", "no one", or "" (the default: a primary). */
static int parse_replicaof(const char *v, const char **err) {
    char host[256], port[32], extra[2];
    int n = sscanf(v, "%255s %31s %1s", host, port, extra);
    if (n <= 0) {
        mem_free(repl_st.master_host);
        repl_st.master_host = NULL;
        repl_st.master_port = 0;
        return 0;
    }
    if (n != 2) {
        *err = "wrong number of arguments";
        return -1;
    }
    if (strcasecmp(host, "no") == 0 && strcasecmp(port, "one") == 0) {
        mem_free(repl_st.master_host);
        repl_st.master_host = NULL;
        repl_st.master_port = 0;
        return 0;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p < 0 || p > 65535) {
        *err = "Invalid master port";
        return -1;
    }
    mem_free(repl_st.master_host);
    repl_st.master_host = mem_strdup(host);
    repl_st.master_port = (int)p;
    return 0;
}

static void print_replicaof(buf *out) {
    if (repl_st.master_host) buf_printf(out, "%s %d", repl_st.master_host, repl_st.master_port);
}

static int apply_gates(const char **err) {
    (void)err;
    repl_update_gates();
    return 0;
}

static int apply_backlog_size(const char **err) {
    (void)err;
    stream_set_backlog_size(repl_cfg.backlog_size);
    return 0;
}

#define INT_ROW(n, al, p, lo, hi, d)                                                               \
    {                                                                                              \
        .name = (n), .alias = (al), .kind = CONFIG_INT, .ptr = (p), .min = (lo), .max = (hi),      \
        .def = (d)                                                                                 \
    }
#define BOOL_ROW(n, al, p, d, ap)                                                                  \
    {                                                                                              \
        .name = (n), .alias = (al), .kind = CONFIG_BOOL, .ptr = (p), .max = 1, .def = (d),         \
        .apply = (ap)                                                                              \
    }

static const char *const diskless_load_names[] = {"disabled", "on-empty-db", "swapdb", NULL};

const config_row repl_config_rows[] = {
    {.name = "replicaof",
     .alias = "slaveof",
     .kind = CONFIG_SPECIAL,
     .flags = CONFIG_IMMUTABLE | CONFIG_DROP_EMPTY,
     .def = "",
     .parse = parse_replicaof,
     .print = print_replicaof},
    {.name = "masterauth",
     .kind = CONFIG_STR,
     .flags = CONFIG_SENSITIVE | CONFIG_EMPTY_NULL | CONFIG_BINARY,
     .ptr = &repl_cfg.masterauth,
     .len = &repl_cfg.masterauth_len,
     .def = ""},
    {.name = "masteruser",
     .kind = CONFIG_STR,
     .flags = CONFIG_EMPTY_NULL,
     .ptr = &repl_cfg.masteruser,
     .def = ""},
    {.name = "repl-backlog-size",
     .kind = CONFIG_MEM,
     .ptr = &repl_cfg.backlog_size,
     .min = 1,
     .max = LLONG_MAX,
     .def = "1mb",
     .apply = apply_backlog_size},
    INT_ROW("repl-backlog-ttl", NULL, &repl_cfg.backlog_ttl, 0, INT_MAX, "3600"),
    INT_ROW("repl-timeout", NULL, &repl_cfg.timeout, 1, INT_MAX, "60"),
    INT_ROW("repl-ping-replica-period", "repl-ping-slave-period", &repl_cfg.ping_period, 1, INT_MAX,
            "10"),
    {.name = "min-replicas-to-write",
     .alias = "min-slaves-to-write",
     .kind = CONFIG_INT,
     .ptr = &repl_cfg.min_replicas_to_write,
     .max = INT_MAX,
     .def = "0",
     .apply = apply_gates},
    {.name = "min-replicas-max-lag",
     .alias = "min-slaves-max-lag",
     .kind = CONFIG_INT,
     .ptr = &repl_cfg.min_replicas_max_lag,
     .max = INT_MAX,
     .def = "10",
     .apply = apply_gates},
    BOOL_ROW("replica-read-only", "slave-read-only", &repl_cfg.read_only, "yes", apply_gates),
    BOOL_ROW("replica-serve-stale-data", "slave-serve-stale-data", &repl_cfg.serve_stale, "yes",
             apply_gates),
    INT_ROW("replica-priority", "slave-priority", &repl_cfg.priority, 0, INT_MAX, "100"),
    BOOL_ROW("replica-announced", NULL, &repl_cfg.announced, "yes", NULL),
    BOOL_ROW("replica-ignore-maxmemory", "slave-ignore-maxmemory", &repl_cfg.ignore_maxmemory,
             "yes", NULL),
    {.name = "replica-announce-ip",
     .alias = "slave-announce-ip",
     .kind = CONFIG_STR,
     .flags = CONFIG_EMPTY_NULL,
     .ptr = &repl_cfg.announce_ip,
     .def = ""},
    INT_ROW("replica-announce-port", "slave-announce-port", &repl_cfg.announce_port, 0, 65535, "0"),
    BOOL_ROW("repl-diskless-sync", NULL, &repl_cfg.diskless_sync, "yes", NULL),
    INT_ROW("repl-diskless-sync-delay", NULL, &repl_cfg.diskless_sync_delay, 0, INT_MAX, "5"),
    INT_ROW("repl-diskless-sync-max-replicas", NULL, &repl_cfg.diskless_sync_max_replicas, 0,
            INT_MAX, "0"),
    BOOL_ROW("repl-disable-tcp-nodelay", NULL, &repl_cfg.disable_tcp_nodelay, "no", NULL),
    {.name = "repl-diskless-load",
     .kind = CONFIG_ENUM,
     .flags = CONFIG_DENY_LOADING,
     .ptr = &repl_cfg.diskless_load,
     .names = diskless_load_names,
     .def = "disabled"},
    {0},
};
