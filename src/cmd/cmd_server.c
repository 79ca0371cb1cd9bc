/* cmd_server: server commands: INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, SHUTDOWN.
 *
 * INFO builds its text section by section with Redis's field names; memory figures come
 * from jemalloc (util/mem), the keyspace lines from db/. */
#include "cmd/memory_int.h"
#include "mayfly/acl/acl.h"
#include "mayfly/client/monitor.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/client/tracking.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/info.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/evict/lazyfree.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

static void human_bytes(char *out, size_t cap, double n) {
    const char *units = "BKMGTP";
    int u = 0;
    while (n >= 1024 && u < 5) {
        n /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%.0fB", n);
    else
        snprintf(out, cap, "%.2f%c", n, units[u]);
}

static void section_server(buf *b, int64_t now_ms) {
    struct utsname un;
    uname(&un);
    int64_t up = (now_ms - host_stat.start_ms) / 1000;
    buf_printf(b,
               "# Server\r\n"
               "redis_version:%s\r\n"
               "mayfly_version:%s\r\n"
               "redis_git_sha1:00000000\r\n"
               "redis_git_dirty:0\r\n"
               "redis_build_id:0\r\n"
               "redis_mode:standalone\r\n"
               "os:%s %s %s\r\n"
               "arch_bits:%d\r\n"
               "monotonic_clock:POSIX clock_gettime\r\n"
               "multiplexing_api:epoll\r\n"
               "atomicvar_api:c11-builtin\r\n"
               "gcc_version:%d.%d.%d\r\n"
               "process_id:%d\r\n"
               "process_supervised:no\r\n"
               "run_id:%016llx%016llx%08x\r\n"
               "tcp_port:%d\r\n"
               "server_time_usec:%lld\r\n"
               "uptime_in_seconds:%lld\r\n"
               "uptime_in_days:%lld\r\n"
               "hz:%d\r\n"
               "configured_hz:%d\r\n"
               "lru_clock:%lld\r\n"
               "executable:\r\n"
               "config_file:%s\r\n"
               "io_threads_active:0\r\n",
               MAYFLY_REDIS_VERSION, MAYFLY_VERSION, un.sysname, un.release, un.machine,
               (int)(sizeof(void *) * 8),
#ifdef __GNUC__
               __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
               0, 0, 0,
#endif
               (int)getpid(), (unsigned long long)host_stat.start_ms * 2654435761ULL,
               (unsigned long long)getpid() * 40503ULL, (unsigned)host_stat.start_ms,
               host_stat.tcp_port, (long long)clock_now_us(), (long long)up,
               (long long)(up / 86400), config.hz, config.hz,
               (long long)((now_ms / 1000) & ((1 << 24) - 1)),
               config.config_file ? config.config_file : "");
    if (host_stat.shutdown_deadline_ms)
        buf_printf(b, "shutdown_in_milliseconds:%lld\r\n",
                   (long long)(host_stat.shutdown_deadline_ms - clock_mono_us() / 1000));
}

static void section_clients(buf *b, int64_t now_ms) {
    (void)now_ms;
    size_t max_in = 0, max_out = 0, n = 0, pubsub = 0;
    for (session *s = session_first(); s; s = s->next) {
        /* Replicas are not clients here, as in Redis (its master link is). */
        if (s->flags & (SESS_INTERNAL | SESS_REPLICA)) continue;
        n++;
        size_t q = s->ops && s->ops->qbuf_len ? s->ops->qbuf_len(s) : 0;
        if (q > max_in) max_in = q;
        if (session_pending(s) > max_out) max_out = session_pending(s);
        if (s->flags & SESS_PUBSUB) pubsub++;
    }
    buf_printf(b,
               "# Clients\r\n"
               "connected_clients:%zu\r\n"
               "cluster_connections:0\r\n"
               "maxclients:%lld\r\n"
               "client_recent_max_input_buffer:%zu\r\n"
               "client_recent_max_output_buffer:%zu\r\n"
               "blocked_clients:%d\r\n"
               "tracking_clients:%zu\r\n"
               "pubsub_clients:%zu\r\n"
               "watching_clients:0\r\n"
               "clients_in_timeout_table:0\r\n"
               "total_watched_keys:0\r\n"
               "total_blocking_keys:0\r\n"
               "total_blocking_keys_on_nokey:0\r\n",
               n, config.maxclients, max_in, max_out, session_blocked, tracking_clients(), pubsub);
}

static long long scripting_evicted(void) {
    info_scripting f = {0};
    if (info_scripting_fill) info_scripting_fill(&f);
    return f.evicted_scripts;
}

/* The scripting lines of INFO memory, from the figures scripting reports (zeros without). */
static void scripting_memory_lines(buf *b) {
    info_scripting f = {0};
    if (info_scripting_fill) info_scripting_fill(&f);
    char h_eval[32], h_total[32], h_scripts[32];
    human_bytes(h_eval, sizeof(h_eval), (double)f.eval_vm);
    human_bytes(h_total, sizeof(h_total), (double)(f.eval_vm + f.functions_vm));
    human_bytes(h_scripts, sizeof(h_scripts), (double)(f.eval_scripts + f.functions));
    buf_printf(b,
               "used_memory_lua:%zu\r\n"
               "used_memory_vm_eval:%zu\r\n"
               "used_memory_lua_human:%s\r\n"
               "used_memory_scripts_eval:%zu\r\n"
               "number_of_cached_scripts:%zu\r\n"
               "number_of_functions:%zu\r\n"
               "number_of_libraries:%zu\r\n"
               "used_memory_vm_functions:%zu\r\n"
               "used_memory_vm_total:%zu\r\n"
               "used_memory_vm_total_human:%s\r\n"
               "used_memory_functions:%zu\r\n"
               "used_memory_scripts:%zu\r\n"
               "used_memory_scripts_human:%s\r\n",
               f.eval_vm, f.eval_vm, h_eval, f.eval_scripts, f.cached_scripts, f.function_count,
               f.library_count, f.functions_vm, f.eval_vm + f.functions_vm, h_total, f.functions,
               f.eval_scripts + f.functions, h_scripts);
}

static void section_memory(buf *b, int64_t now_ms) {
    (void)now_ms;
    mem_overhead m;
    mem_overhead_get(&m);
    char h_used[32], h_rss[32], h_peak[32], h_max[32], h_sys[32];
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double sys = pages > 0 && psize > 0 ? (double)pages * (double)psize : 0;
    human_bytes(h_used, sizeof(h_used), (double)m.total);
    human_bytes(h_rss, sizeof(h_rss), (double)m.rss);
    human_bytes(h_peak, sizeof(h_peak), (double)m.peak);
    human_bytes(h_max, sizeof(h_max), (double)config.maxmemory);
    human_bytes(h_sys, sizeof(h_sys), sys);
    buf scripting;
    buf_init(&scripting);
    scripting_memory_lines(&scripting);
    buf_printf(b,
               "# Memory\r\n"
               "used_memory:%zu\r\n"
               "used_memory_human:%s\r\n"
               "used_memory_rss:%zu\r\n"
               "used_memory_rss_human:%s\r\n"
               "used_memory_peak:%zu\r\n"
               "used_memory_peak_human:%s\r\n"
               "used_memory_peak_perc:%.2f%%\r\n"
               "used_memory_overhead:%zu\r\n"
               "used_memory_startup:%zu\r\n"
               "used_memory_dataset:%zu\r\n"
               "used_memory_dataset_perc:%.2f%%\r\n"
               "allocator_allocated:%zu\r\n"
               "allocator_active:%zu\r\n"
               "allocator_resident:%zu\r\n"
               "allocator_muzzy:%zu\r\n"
               "total_system_memory:%.0f\r\n"
               "total_system_memory_human:%s\r\n"
               "%s"
               "maxmemory:%lld\r\n"
               "maxmemory_human:%s\r\n"
               "maxmemory_policy:%s\r\n"
               "allocator_frag_ratio:%.2f\r\n"
               "allocator_frag_bytes:%lld\r\n"
               "allocator_rss_ratio:%.2f\r\n"
               "allocator_rss_bytes:%lld\r\n"
               "rss_overhead_ratio:%.2f\r\n"
               "rss_overhead_bytes:%lld\r\n"
               "mem_fragmentation_ratio:%.2f\r\n"
               "mem_fragmentation_bytes:%lld\r\n"
               "mem_not_counted_for_evict:%zu\r\n"
               "mem_replication_backlog:%zu\r\n"
               "mem_total_replication_buffers:%lld\r\n"
               "mem_clients_slaves:%zu\r\n"
               "mem_clients_normal:%zu\r\n"
               "mem_cluster_links:0\r\n"
               "mem_aof_buffer:%zu\r\n"
               "mem_allocator:%s\r\n"
               "mem_overhead_db_hashtable_rehashing:%zu\r\n"
               "active_defrag_running:0\r\n"
               "lazyfree_pending_objects:%zu\r\n"
               "lazyfreed_objects:%zu\r\n",
               m.total, h_used, m.rss, h_rss, m.peak, h_peak, m.peak_perc, m.overhead, m.startup,
               m.dataset, m.dataset_perc, m.allocated, m.active, m.resident, m.muzzy, sys, h_sys,
               scripting.data ? scripting.data : "", config.maxmemory, h_max,
               config_policy_names[config.maxmemory_policy], m.allocator_frag,
               m.allocator_frag_bytes, m.allocator_rss, m.allocator_rss_bytes, m.rss_extra,
               m.rss_extra_bytes, m.total_frag, m.total_frag_bytes, evict_not_counted(),
               m.repl_backlog, host_stat.repl_buffer_bytes, m.clients_slaves, m.clients_normal,
               m.aof_buffer, m.allocator, m.rehashing, lazyfree_pending() + db_pending_frees(),
               lazyfree_freed());
    buf_deinit(&scripting);
    mem_overhead_deinit(&m);
}

static void section_stats(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_printf(
        b,
        "# Stats\r\n"
        "total_connections_received:%lld\r\n"
        "total_commands_processed:%lld\r\n"
        "instantaneous_ops_per_sec:%lld\r\n"
        "total_net_input_bytes:%lld\r\n"
        "total_net_output_bytes:%lld\r\n"
        "total_net_repl_input_bytes:%lld\r\n"
        "total_net_repl_output_bytes:%lld\r\n"
        "instantaneous_input_kbps:%.2f\r\n"
        "instantaneous_output_kbps:%.2f\r\n"
        "instantaneous_input_repl_kbps:%.2f\r\n"
        "instantaneous_output_repl_kbps:%.2f\r\n"
        "rejected_connections:%lld\r\n"
        "sync_full:%lld\r\n"
        "sync_partial_ok:%lld\r\n"
        "sync_partial_err:%lld\r\n"
        "expired_keys:%lld\r\n"
        "expired_subkeys:%lld\r\n"
        "expired_stale_perc:0.00\r\n"
        "expired_time_cap_reached_count:0\r\n"
        "expire_cycle_cpu_milliseconds:%lld\r\n"
        "expire_backlog:%lld\r\n"
        "evicted_keys:%lld\r\n"
        "evicted_clients:%lld\r\n"
        "evicted_scripts:%lld\r\n"
        "mayfly_evicted_fields:%lld\r\n"
        "total_eviction_exceeded_time:%lld\r\n"
        "current_eviction_exceeded_time:%lld\r\n"
        "keyspace_hits:%lld\r\n"
        "keyspace_misses:%lld\r\n"
        "pubsub_channels:%zu\r\n"
        "pubsub_patterns:%zu\r\n"
        "pubsubshard_channels:%zu\r\n"
        "latest_fork_usec:%lld\r\n"
        "total_forks:%lld\r\n"
        "migrate_cached_sockets:%lld\r\n"
        "slave_expires_tracked_keys:0\r\n"
        "active_defrag_hits:0\r\n"
        "active_defrag_misses:0\r\n"
        "active_defrag_key_hits:0\r\n"
        "active_defrag_key_misses:0\r\n"
        "total_active_defrag_time:0\r\n"
        "current_active_defrag_time:0\r\n"
        "tracking_total_keys:%zu\r\n"
        "tracking_total_items:%zu\r\n"
        "tracking_total_prefixes:%zu\r\n"
        "unexpected_error_replies:%lld\r\n"
        "total_error_replies:%lld\r\n"
        "dump_payload_sanitizations:0\r\n"
        "total_reads_processed:%lld\r\n"
        "total_writes_processed:%lld\r\n"
        "io_threaded_reads_processed:0\r\n"
        "io_threaded_writes_processed:0\r\n"
        "client_query_buffer_limit_disconnections:%lld\r\n"
        "client_output_buffer_limit_disconnections:%lld\r\n"
        "reply_buffer_shrinks:0\r\n"
        "reply_buffer_expands:0\r\n"
        "eventloop_cycles:%lld\r\n"
        "eventloop_duration_sum:%lld\r\n"
        "eventloop_duration_cmd_sum:%lld\r\n"
        "instantaneous_eventloop_cycles_per_sec:%lld\r\n"
        "instantaneous_eventloop_duration_usec:%lld\r\n"
        "mayfly_eventloop_turn_max_usec:%lld\r\n"
        "mayfly_eventloop_turn_cpu_max_usec:%lld\r\n"
        "mayfly_eventloop_turns_cpu_over_1ms:%lld\r\n"
        "mayfly_eventloop_turns_cpu_over_2ms:%lld\r\n"
        "acl_access_denied_auth:%lld\r\n"
        "acl_access_denied_cmd:%lld\r\n"
        "acl_access_denied_key:%lld\r\n"
        "acl_access_denied_channel:%lld\r\n",
        host_stat.total_connections, cmd_total_commands(), host_stat.ops_per_sec,
        host_stat.net_input_bytes, host_stat.net_output_bytes, host_stat.net_repl_input_bytes,
        host_stat.net_repl_output_bytes, (double)host_stat.input_kbps_x100 / 100.0,
        (double)host_stat.output_kbps_x100 / 100.0, (double)host_stat.repl_input_kbps_x100 / 100.0,
        (double)host_stat.repl_output_kbps_x100 / 100.0, host_stat.rejected_connections,
        host_stat.sync_full, host_stat.sync_partial_ok, host_stat.sync_partial_err,
        db_stat.expired_keys, db_stat.expired_subkeys, host_stat.expire_cycle_us / 1000,
        db_stat.expire_cycle_backlog, db_stat.evicted_keys, evict_stat.evicted_clients,
        scripting_evicted(), db_stat.evicted_fields, evict_exceeded_total_ms(),
        evict_exceeded_current_ms(), db_stat.keyspace_hits, db_stat.keyspace_misses,
        pubsub_channel_count(), pubsub_pattern_count(), pubsub_shard_channel_count(),
        host_stat.latest_fork_usec, host_stat.total_forks, host_stat.migrate_cached_sockets,
        tracking_total_keys(), tracking_total_items(), tracking_total_prefixes(),
        host_stat.unexpected_error_replies, cmd_total_errors(), host_stat.reads_processed,
        host_stat.writes_processed, host_stat.qbuf_limit_disconnections,
        host_stat.obuf_limit_disconnections, host_stat.eventloop_cycles, host_stat.eventloop_us,
        cmd_total_usec(), host_stat.eventloop_cycles_per_sec, host_stat.eventloop_cycle_us,
        host_stat.eventloop_turn_max_us, host_stat.eventloop_turn_cpu_max_us,
        host_stat.eventloop_turns_cpu_over_1ms, host_stat.eventloop_turns_cpu_over_2ms,
        acl_stat.denied_auth, acl_stat.denied_cmd, acl_stat.denied_key, acl_stat.denied_channel);
}

static void section_cpu(buf *b, int64_t now_ms) {
    (void)now_ms;
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    buf_printf(b,
               "# CPU\r\n"
               "used_cpu_sys:%ld.%06ld\r\n"
               "used_cpu_user:%ld.%06ld\r\n"
               "used_cpu_sys_children:0.000000\r\n"
               "used_cpu_user_children:0.000000\r\n"
               "used_cpu_sys_main_thread:%ld.%06ld\r\n"
               "used_cpu_user_main_thread:%ld.%06ld\r\n",
               (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
               (long)self.ru_utime.tv_usec, (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
               (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
}

void (*info_scripting_fill)(info_scripting *out);

static void section_replication(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Replication\r\n"
                "role:master\r\n"
                "connected_slaves:0\r\n"
                "master_failover_state:no-failover\r\n"
                "master_replid:0000000000000000000000000000000000000000\r\n"
                "master_replid2:0000000000000000000000000000000000000000\r\n"
                "master_repl_offset:0\r\n"
                "second_repl_offset:-1\r\n"
                "repl_backlog_active:0\r\n"
                "repl_backlog_size:1048576\r\n"
                "repl_backlog_first_byte_offset:0\r\n"
                "repl_backlog_histlen:0\r\n");
}

static void section_keyspace(buf *b, int64_t now_ms) {
    buf_puts(b, "# Keyspace\r\n");
    db_info_keyspace(b, now_ms);
}

static void section_commandstats(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Commandstats\r\n");
    cmd_info_commandstats(b);
}

static void section_errorstats(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Errorstats\r\n");
    cmd_info_errorstats(b);
}

static void section_modules(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Modules\r\n");
}
static void section_latencystats(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Latencystats\r\n");
    cmd_info_latencystats(b);
}
static void section_cluster(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Cluster\r\ncluster_enabled:0\r\n");
}

const info_section cmd_info_sections[] = {
    {"server", INFO_SERVER, 1, section_server},
    {"clients", INFO_CLIENTS, 1, section_clients},
    {"memory", INFO_MEMORY, 1, section_memory},
    {"stats", INFO_STATS, 1, section_stats},
    {"replication", INFO_REPLICATION, 1, section_replication},
    {"cpu", INFO_CPU, 1, section_cpu},
    {"modules", INFO_MODULES, 1, section_modules},
    {"commandstats", INFO_COMMANDSTATS, 0, section_commandstats},
    {"errorstats", INFO_ERRORSTATS, 1, section_errorstats},
    {"latencystats", INFO_LATENCYSTATS, 0, section_latencystats},
    {"cluster", INFO_CLUSTER, 1, section_cluster},
    {"keyspace", INFO_KEYSPACE, 1, section_keyspace},
    {0},
};

static const info_section *sections[INFO_SECTIONS_MAX];
static size_t nsections;

int info_section_add(const info_section *s) {
    for (size_t i = 0; i < nsections; i++)
        if (strcmp(sections[i]->name, s->name) == 0) {
            sections[i] = s;
            return 0;
        }
    if (nsections == INFO_SECTIONS_MAX) return -1;
    size_t at = nsections;
    while (at > 0 && sections[at - 1]->order > s->order)
        at--;
    memmove(&sections[at + 1], &sections[at], (nsections - at) * sizeof(sections[0]));
    sections[at] = s;
    nsections++;
    return 0;
}

void info_build(buf *b, const slice *names, int n, int64_t now_ms) {
    int want[INFO_SECTIONS_MAX] = {0};
    if (n == 0) {
        for (size_t i = 0; i < nsections; i++)
            want[i] = sections[i]->in_default;
    }
    for (int k = 0; k < n; k++) {
        int all = slice_eq_ci(names[k], "all") || slice_eq_ci(names[k], "everything");
        int def = slice_eq_ci(names[k], "default");
        for (size_t i = 0; i < nsections; i++)
            if (all || (def && sections[i]->in_default) || slice_eq_ci(names[k], sections[i]->name))
                want[i] = 1;
    }
    int first = 1;
    for (size_t i = 0; i < nsections; i++) {
        if (!want[i]) continue;
        if (!first) buf_puts(b, "\r\n");
        first = 0;
        sections[i]->write(b, now_ms);
    }
}

static void cmd_info(cmd_ctx *c) {
    buf b;
    buf_init(&b);
    info_build(&b, c->argv + 1, c->argc - 1, c->now_ms);
    reply_verbatim(c, b.data ? b.data : "", b.len);
    buf_deinit(&b);
}

static void cmd_dbsize(cmd_ctx *c) {
    reply_int(c, (long long)db_size_visible(c->db, c->now_ms));
}

/* FLUSHDB / FLUSHALL [ASYNC|SYNC]: 1 to free on the lazy-free thread (ASYNC, or neither
 * and lazyfree-lazy-user-flush), 0 to free now, -1 after a syntax error reply. */
static int flush_mode(cmd_ctx *c) {
    if (c->argc == 1) return evict_conf.lazy_user_flush;
    if (c->argc == 2 && slice_eq_ci(c->argv[1], "ASYNC")) return 1;
    if (c->argc == 2 && slice_eq_ci(c->argv[1], "SYNC")) return 0;
    reply_syntax_error(c);
    return -1;
}

static void flush_one(db *d, int lazy) {
    if (lazy)
        lazyfree_db(db_flush_detached(d));
    else
        db_flush(d);
}

static void cmd_flushdb(cmd_ctx *c) {
    int lazy = flush_mode(c);
    if (lazy < 0) return;
    flush_one(c->db, lazy);
    db_stat.dirty++; /* always propagated, as in Redis */
    reply_ok(c);
}

static void cmd_flushall(cmd_ctx *c) {
    int lazy = flush_mode(c);
    if (lazy < 0) return;
    for (int i = 0; i < db_count(); i++)
        flush_one(db_get(i), lazy);
    /* Always propagated, as in Redis; with save points set the empty dataset is saved at
     * once, which leaves no change unsaved. */
    propagate_argv(c, c->argc, c->argv);
    /* A snapshot being written is stopped (it would save what was flushed). */
    if (host.flushall_save) host.flushall_save();
    if (!config.save || !config.save[0]) db_stat.dirty++;
    reply_ok(c);
}

static void cmd_time(cmd_ctx *c) {
    int64_t us = clock_now_us();
    reply_array(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

/* Clients blocked in a SHUTDOWN that waits for replicas. */
static session **shutdown_waiters;
static int nshutdown_waiters, shutdown_waiters_cap;

static void shutdown_waiter_forget(session *s) {
    for (int i = 0; i < nshutdown_waiters; i++) {
        if (shutdown_waiters[i] != s) continue;
        shutdown_waiters[i] = shutdown_waiters[--nshutdown_waiters];
        return;
    }
}

static void shutdown_waiter_add(session *s) {
    if (nshutdown_waiters == shutdown_waiters_cap) {
        shutdown_waiters_cap = shutdown_waiters_cap ? shutdown_waiters_cap * 2 : 4;
        shutdown_waiters =
            mem_realloc(shutdown_waiters, sizeof(*shutdown_waiters) * (size_t)shutdown_waiters_cap);
    }
    shutdown_waiters[nshutdown_waiters++] = s;
    session_block(s, shutdown_waiter_forget);
}

void host_shutdown_cancelled(void) {
    while (nshutdown_waiters) {
        session *s = shutdown_waiters[--nshutdown_waiters];
        buf_puts(&s->out, "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
        session_unblock(s);
    }
}

static void shutdown_abort(cmd_ctx *c) {
    if (host.shutdown_abort && host.shutdown_abort() == 0)
        reply_ok(c);
    else
        reply_error(c, "ERR No shutdown in progress.");
}

static void cmd_shutdown(cmd_ctx *c) {
    int flags = 0, abort = 0;
    for (int i = 1; i < c->argc; i++) {
        slice a = c->argv[i];
        if (slice_eq_ci(a, "NOSAVE"))
            flags |= HOST_SHUTDOWN_NOSAVE;
        else if (slice_eq_ci(a, "SAVE"))
            flags |= HOST_SHUTDOWN_SAVE;
        else if (slice_eq_ci(a, "NOW"))
            flags |= HOST_SHUTDOWN_NOW;
        else if (slice_eq_ci(a, "FORCE"))
            flags |= HOST_SHUTDOWN_FORCE;
        else if (slice_eq_ci(a, "ABORT"))
            abort = 1;
        else {
            reply_syntax_error(c);
            return;
        }
    }
    if ((abort && flags) || ((flags & HOST_SHUTDOWN_NOSAVE) && (flags & HOST_SHUTDOWN_SAVE))) {
        reply_syntax_error(c);
        return;
    }
    if (abort) {
        shutdown_abort(c);
        return;
    }
    session *s = c->s;
    if (!(flags & HOST_SHUTDOWN_NOW) && (!s->ops || !s->ops->unblocked)) {
        reply_error(c, "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
        return;
    }
    /* While a script is busy, only SHUTDOWN NOSAVE: a save would store half its effects. */
    const char *busy = host.busy_refusal ? host.busy_refusal() : NULL;
    if (busy && !(flags & HOST_SHUTDOWN_NOSAVE)) {
        reply_error(c, busy);
        return;
    }
    int rc = host.shutdown ? host.shutdown(flags) : -1;
    if (rc < 0) {
        reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    /* Waiting for replicas: blocked until the shutdown happens or is cancelled. On success
     * the connection closes without a reply, as with Redis. */
    if (rc == 1) shutdown_waiter_add(s);
}

/* ---- CONFIG ---- */

static void config_get_cmd(cmd_ctx *c) {
    buf names, values;
    buf_init(&names);
    buf_init(&values);
    size_t total = 0;
    char **all_n = NULL, **all_v = NULL;
    size_t cap = 0;
    for (int i = 2; i < c->argc; i++) {
        char **n, **v;
        size_t k = config_get(c->argv[i].p, c->argv[i].len, &n, &v);
        for (size_t j = 0; j < k; j++) {
            int dup = 0;
            for (size_t t = 0; t < total; t++)
                if (strcasecmp(all_n[t], n[j]) == 0) dup = 1;
            if (dup) {
                mem_free(n[j]);
                mem_free(v[j]);
                continue;
            }
            if (total == cap) {
                cap = cap ? cap * 2 : 16;
                all_n = mem_realloc(all_n, cap * sizeof(char *));
                all_v = mem_realloc(all_v, cap * sizeof(char *));
            }
            all_n[total] = n[j];
            all_v[total] = v[j];
            total++;
        }
        mem_free(n);
        mem_free(v);
    }
    reply_map(c, total);
    for (size_t t = 0; t < total; t++) {
        reply_bulk_cstr(c, all_n[t]);
        /* The value again, with its length: requirepass may hold a NUL byte. */
        buf v;
        buf_init(&v);
        config_value(all_n[t], &v);
        reply_bulk(c, v.data ? v.data : "", v.len);
        buf_deinit(&v);
        mem_free(all_n[t]);
        mem_free(all_v[t]);
    }
    mem_free(all_n);
    mem_free(all_v);
    buf_deinit(&names);
    buf_deinit(&values);
}

/* CONFIG SET's names: each known, settable and given once; canon[] gets the rows' names.
 * Returns 0, or -1 after replying the error. Like Redis, a directive that may not change
 * while a dataset loads answers -LOADING once the names are otherwise valid. */
static int config_set_names(cmd_ctx *c, int pairs, const char **canon) {
    int deny_loading = 0;
    for (int i = 0; i < pairs; i++) {
        char name[128];
        slice n = c->argv[2 + 2 * i];
        snprintf(name, sizeof(name), "%.*s", (int)n.len, n.p);
        canon[i] = config_canonical(name);
        if (!canon[i] || n.len >= sizeof(name)) {
            reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                         (int)n.len, n.p);
            return -1;
        }
        const char *why;
        if (config_settable(canon[i], &why) < 0) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                         (int)n.len, n.p, why);
            return -1;
        }
        if (host_stat.loading && (config_flags(canon[i]) & CONFIG_DENY_LOADING)) deny_loading = 1;
        for (int j = 0; j < i; j++)
            if (canon[j] == canon[i]) {
                reply_errorf(c,
                             "ERR CONFIG SET failed (possibly related to argument '%s') - "
                             "duplicate parameter",
                             name);
                return -1;
            }
    }
    if (deny_loading) {
        reply_error(c, "LOADING Redis is loading the dataset in memory");
        return -1;
    }
    return 0;
}

static void config_set_cmd(cmd_ctx *c) {
    if ((c->argc - 2) % 2) {
        reply_syntax_error(c); /* as Redis 7+: an odd count is a syntax error */
        return;
    }
    int pairs = (c->argc - 2) / 2;
    char *old[64];
    const char *canon[64];
    if (pairs > 64) {
        reply_error(c, "ERR too many parameters");
        return;
    }
    if (config_set_names(c, pairs, canon) < 0) return;
    for (int i = 0; i < pairs; i++) {
        buf b;
        buf_init(&b);
        config_value(canon[i], &b);
        old[i] = mem_strndup(b.data ? b.data : "", b.len);
        buf_deinit(&b);
    }
    int failed = -1;
    const char *err = NULL;
    for (int i = 0; i < pairs; i++) {
        slice v = c->argv[3 + 2 * i];
        if (config_set(canon[i], v.p, v.len, &err) < 0) {
            failed = i;
            break;
        }
    }
    if (failed >= 0) {
        const char *ignored;
        for (int i = 0; i < failed; i++)
            config_set(canon[i], old[i], strlen(old[i]), &ignored);
        slice n = c->argv[2 + 2 * failed];
        reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                     (int)n.len, n.p, err);
    } else {
        reply_ok(c);
    }
    for (int i = 0; i < pairs; i++)
        mem_free(old[i]);
}

static void config_resetstat(cmd_ctx *c) {
    cmd_reset_stats();
    db_stat.expired_keys = db_stat.expired_subkeys = db_stat.evicted_keys = 0;
    db_stat.evicted_fields = 0;
    evict_reset_stats();
    lazyfree_reset_stats();
    db_stat.keyspace_hits = db_stat.keyspace_misses = 0;
    host_stat.total_connections = host_stat.rejected_connections = 0;
    host_stat.net_input_bytes = host_stat.net_output_bytes = 0;
    host_stat.expire_cycle_us = 0;
    host_stat.reads_processed = host_stat.writes_processed = 0;
    host_stat.qbuf_limit_disconnections = host_stat.obuf_limit_disconnections = 0;
    host_stat.unexpected_error_replies = 0;
    memset(&acl_stat, 0, sizeof(acl_stat));
    host_stat.total_forks = 0;
    host_stat.eventloop_cycles = host_stat.eventloop_us = 0;
    host_stat.eventloop_turn_max_us = host_stat.eventloop_turn_cpu_max_us = 0;
    host_stat.sync_full = host_stat.sync_partial_ok = host_stat.sync_partial_err = 0;
    host_stat.net_repl_input_bytes = host_stat.net_repl_output_bytes = 0;
    host_stat.eventloop_turns_cpu_over_1ms = host_stat.eventloop_turns_cpu_over_2ms = 0;
    reply_ok(c);
}

static void config_rewrite_cmd(cmd_ctx *c) {
    const char *err;
    if (config_rewrite(&err) < 0)
        reply_errorf(c, "ERR %s", err);
    else
        reply_ok(c);
}

static void config_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
        NULL};
    reply_help(c, lines);
}

/* MONITOR: a second one is ignored without a reply, as in Redis. */
static void cmd_monitor(cmd_ctx *c) {
    if (c->s->flags & SESS_MONITOR) return;
    monitor_add(c->s);
    reply_ok(c);
}

#define ADMIN (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const cmd_spec config_subcmds[] = {
    {"get", config_get_cmd, -3, ADMIN, 0, 0, 0, "server", "2.0.0",
     "O(N) when N is the number of configuration parameters provided",
     "Returns the effective values of configuration parameters.", "parameter [parameter ...]", NULL,
     "@admin @slow @dangerous"},
    {"set", config_set_cmd, -4, ADMIN, 0, 0, 0, "server", "2.0.0",
     "O(N) when N is the number of configuration parameters provided",
     "Sets configuration parameters in-flight.", "parameter value [parameter value ...]", NULL,
     "@admin @slow @dangerous"},
    {"resetstat", config_resetstat, 2, ADMIN, 0, 0, 0, "server", "2.0.0", "O(1)",
     "Resets the server's statistics.", "", NULL, "@admin @slow @dangerous"},
    {"rewrite", config_rewrite_cmd, 2, ADMIN, 0, 0, 0, "server", "2.8.0", "O(1)",
     "Persists the effective configuration to file.", "", NULL, "@admin @slow @dangerous"},
    {"help", config_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow"},
    {0},
};

const cmd_spec cmd_family_server[] = {
    {"info", cmd_info, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Returns information and statistics about the server.", "[section [section ...]]", NULL,
     "@slow @dangerous"},
    {"config", NULL, -2, 0, 0, 0, 0, "server", "2.0.0", "Depends on subcommand.",
     "A container for server configuration commands.", "", config_subcmds, "@slow"},
    {"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Returns the number of keys in the database.", "", NULL, "@keyspace @read @fast"},
    {"flushdb", cmd_flushdb, -1, CMD_WRITE, 0, 0, 0, "server", "1.0.0",
     "O(N) where N is the number of keys in the selected database",
     "Remove all keys from the current database.", "[ASYNC|SYNC]", NULL,
     "@keyspace @write @slow @dangerous"},
    {"flushall", cmd_flushall, -1, CMD_WRITE, 0, 0, 0, "server", "1.0.0",
     "O(N) where N is the total number of keys in all databases",
     "Removes all keys from all databases.", "[ASYNC|SYNC]", NULL,
     "@keyspace @write @slow @dangerous"},
    {"time", cmd_time, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "server", "2.6.0", "O(1)",
     "Returns the server time.", "", NULL, "@fast"},
    {"monitor", cmd_monitor, 1, ADMIN, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Listens for all requests received by the server in real-time.", "", NULL,
     "@admin @slow @dangerous"},
    {"shutdown", cmd_shutdown, -1, ADMIN | CMD_NO_MULTI | CMD_ALLOW_BUSY, 0, 0, 0, "server",
     "1.0.0", "O(N) when saving, where N is the total number of keys in all databases",
     "Synchronously saves the database(s) to disk and shuts down the Redis server.",
     "[save-selector: NOSAVE|SAVE] [NOW] [FORCE] [ABORT]", NULL, "@admin @slow @dangerous"},
    {0},
};
