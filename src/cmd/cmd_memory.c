/* cmd_memory: the command layer's side of the memory ceiling: the OOM dispatch gate and the
 * MEMORY command (USAGE, STATS, DOCTOR, PURGE, MALLOC-STATS), after Redis's object.c.
 *
 * The gate (order CMD_GATE_OOM, armed while maxmemory is set) runs evict_perform before
 * every command, as Redis's processCommand does: eviction happens whatever the command,
 * and only commands flagged deny-oom (for EXEC: if any queued command is) are refused
 * when memory stays over the limit with nothing left to evict. The outcome is kept for
 * scripts (evict_oom_at_start), whose first deny-oom command is refused by it.
 *
 * The figures of MEMORY STATS and INFO memory come from one place (mem_overhead_get):
 * used memory is mem_used(), and what Redis calls overhead is start-up memory, client and
 * log buffers, script caches and the keyspace's tables; the dataset is the rest. */
#include "cmd/keyspace_int.h"
#include "cmd/memory_int.h"
#include "mayfly/client/clientmem.h"
#include "mayfly/client/session.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/info.h"
#include "mayfly/cmd/pause.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/latency.h"
#include "mayfly/util/mem.h"

#include <stdio.h>
#include <string.h>

/* ---- the OOM gate ---- */

#define OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."

static const char *check_oom(cmd_ctx *c, char *msg, size_t cap) {
    (void)msg;
    (void)cap;
    if (cmd_writes_paused()) return NULL; /* paused writes: nothing is evicted */
    int64_t start = latency_monitor_threshold ? clock_mono_us() : 0;
    int oom = evict_perform(c->now_ms) == EVICT_FAIL;
    if (start) latency_note("eviction-cycle", (clock_mono_us() - start) / 1000);
    evict_oom_at_start = oom;
    return oom && (c->flags & CMD_DENYOOM) ? OOM_ERROR : NULL;
}

const cmd_gate cmd_gate_oom = {
    .name = "oom", .order = CMD_GATE_OOM, .armed = &evict_armed, .check = check_oom};

/* ---- figures ---- */

size_t mem_clients_normal(void) {
    size_t n = 0;
    for (session *s = session_first(); s; s = s->next)
        n += clientmem_of(s);
    return n;
}

static double ratio(size_t a, size_t b) {
    return b ? (double)a / (double)b : 0.0;
}

/* The allocator's and the process's figures (allocator.*, fragmentation). */
static void allocator_figures(mem_overhead *m) {
    mem_stats st;
    mem_get_stats(&st);
    m->allocated = st.allocated;
    m->active = st.active;
    m->resident = st.resident;
    m->muzzy = st.muzzy;
    m->allocator = st.allocator;
    m->rss = mem_rss();
    m->allocator_frag = ratio(st.active, st.allocated);
    m->allocator_frag_bytes = (long long)st.active - (long long)st.allocated;
    m->allocator_rss = ratio(st.resident, st.active);
    m->allocator_rss_bytes = (long long)st.resident - (long long)st.active;
    m->rss_extra = ratio(m->rss, st.resident);
    m->rss_extra_bytes = (long long)m->rss - (long long)st.resident;
    m->total_frag = ratio(m->rss, m->total);
    m->total_frag_bytes = (long long)m->rss - (long long)m->total;
}

void mem_overhead_get(mem_overhead *m) {
    memset(m, 0, sizeof(*m));
    m->total = mem_used();
    m->startup = evict_startup_memory();
    m->peak = evict_memory_peak();
    m->repl_backlog = (size_t)host_stat.repl_backlog_bytes;
    m->clients_slaves = evict_uncounted(EVICT_UNCOUNTED_REPLICAS);
    m->clients_normal = mem_clients_normal();
    m->aof_buffer = evict_uncounted(EVICT_UNCOUNTED_AOF);
    info_scripting f = {0};
    if (info_scripting_fill) info_scripting_fill(&f);
    m->lua_caches = f.eval_scripts;
    m->functions_caches = f.functions;
    size_t sum = m->startup + m->repl_backlog + m->clients_slaves + m->clients_normal +
                 m->aof_buffer + m->lua_caches + m->functions_caches;
    m->dbs = mem_alloc(sizeof(*m->dbs) * (size_t)db_count());
    for (int i = 0; i < db_count(); i++) {
        db *d = db_get(i);
        if (db_size(d) == 0) continue;
        mem_db_overhead *o = &m->dbs[m->ndbs++];
        size_t rehashing;
        o->dbid = i;
        db_overhead(d, &o->main, &o->expires, &rehashing);
        sum += o->main + o->expires;
        m->keys += db_size(d);
        m->rehashing += rehashing;
        m->rehashing_count += rehashing != 0;
    }
    m->overhead = sum;
    m->dataset = m->total > sum ? m->total - sum : 0;
    size_t net = m->total > m->startup ? m->total - m->startup : 1;
    m->dataset_perc = (double)m->dataset * 100.0 / (double)net;
    m->peak_perc = m->peak ? (double)m->total * 100.0 / (double)m->peak : 100.0;
    allocator_figures(m);
}

void mem_overhead_deinit(mem_overhead *m) {
    mem_free(m->dbs);
    m->dbs = NULL;
}

/* ---- MEMORY ---- */

/* The key of MEMORY USAGE, or NULL after replying nil (the access time is left alone). */
static void memory_usage(cmd_ctx *c) {
    for (int j = 3; j < c->argc; j++) {
        long long samples;
        if (slice_eq_ci(c->argv[j], "SAMPLES") && j + 1 < c->argc) {
            if (arg_ll(c, c->argv[j + 1], &samples) < 0) return;
            if (samples < 0) {
                reply_syntax_error(c);
                return;
            }
            j++; /* sizes are exact here: the sample count only changes Redis's estimate */
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    dbentry *e = db_lookup(c->db, c->argv[2], c->now_ms, DB_LOOKUP_NOTOUCH);
    if (!e)
        reply_null(c);
    else
        reply_int(c, (long long)db_entry_memory(e));
}

static void stat_ll(cmd_ctx *c, const char *name, long long v) {
    reply_bulk_cstr(c, name);
    reply_int(c, v);
}

static void stat_double(cmd_ctx *c, const char *name, double v) {
    reply_bulk_cstr(c, name);
    reply_double(c, v);
}

static void memory_stats(cmd_ctx *c) {
    mem_overhead m;
    mem_overhead_get(&m);
    reply_map(c, 31 + m.ndbs);
    stat_ll(c, "peak.allocated", (long long)m.peak);
    stat_ll(c, "total.allocated", (long long)m.total);
    stat_ll(c, "startup.allocated", (long long)m.startup);
    stat_ll(c, "replication.backlog", (long long)m.repl_backlog);
    stat_ll(c, "clients.slaves", (long long)m.clients_slaves);
    stat_ll(c, "clients.normal", (long long)m.clients_normal);
    stat_ll(c, "cluster.links", 0);
    stat_ll(c, "aof.buffer", (long long)m.aof_buffer);
    stat_ll(c, "lua.caches", (long long)m.lua_caches);
    stat_ll(c, "functions.caches", (long long)m.functions_caches);
    for (size_t j = 0; j < m.ndbs; j++) {
        char name[32];
        snprintf(name, sizeof(name), "db.%d", m.dbs[j].dbid);
        reply_bulk_cstr(c, name);
        reply_map(c, 2);
        stat_ll(c, "overhead.hashtable.main", (long long)m.dbs[j].main);
        stat_ll(c, "overhead.hashtable.expires", (long long)m.dbs[j].expires);
    }
    stat_ll(c, "overhead.db.hashtable.lut", 0);
    stat_ll(c, "overhead.db.hashtable.rehashing", (long long)m.rehashing);
    stat_ll(c, "overhead.total", (long long)m.overhead);
    stat_ll(c, "db.dict.rehashing.count", (long long)m.rehashing_count);
    stat_ll(c, "keys.count", (long long)m.keys);
    stat_ll(c, "keys.bytes-per-key", m.keys ? (long long)(m.dataset / m.keys) : 0);
    stat_ll(c, "dataset.bytes", (long long)m.dataset);
    stat_double(c, "dataset.percentage", m.dataset_perc);
    stat_double(c, "peak.percentage", m.peak_perc);
    stat_ll(c, "allocator.allocated", (long long)m.allocated);
    stat_ll(c, "allocator.active", (long long)m.active);
    stat_ll(c, "allocator.resident", (long long)m.resident);
    stat_ll(c, "allocator.muzzy", (long long)m.muzzy);
    stat_double(c, "allocator-fragmentation.ratio", m.allocator_frag);
    stat_ll(c, "allocator-fragmentation.bytes", m.allocator_frag_bytes);
    stat_double(c, "allocator-rss.ratio", m.allocator_rss);
    stat_ll(c, "allocator-rss.bytes", m.allocator_rss_bytes);
    stat_double(c, "rss-overhead.ratio", m.rss_extra);
    stat_ll(c, "rss-overhead.bytes", m.rss_extra_bytes);
    stat_double(c, "fragmentation", m.total_frag);
    stat_ll(c, "fragmentation.bytes", m.total_frag_bytes);
    mem_overhead_deinit(&m);
}

/* The findings of MEMORY DOCTOR (Redis's getMemoryDoctorReport). */
typedef struct doctor {
    int empty, big_peak, high_frag, high_alloc_frag, high_alloc_rss, high_proc_rss;
    int big_client_buf, big_slave_buf, many_scripts, reports;
} doctor;

static void examine(doctor *d) {
    mem_overhead m;
    mem_overhead_get(&m);
    memset(d, 0, sizeof(*d));
    if (m.total < 5u << 20) {
        d->empty = 1;
        d->reports++;
        mem_overhead_deinit(&m);
        return;
    }
    const long long mb10 = 10 << 20;
    d->big_peak = (double)m.peak / (double)m.total > 1.5;
    d->high_frag = m.total_frag > 1.4 && m.total_frag_bytes > mb10;
    d->high_alloc_frag = m.allocator_frag > 1.1 && m.allocator_frag_bytes > mb10;
    d->high_alloc_rss = m.allocator_rss > 1.1 && m.allocator_rss_bytes > mb10;
    d->high_proc_rss = m.rss_extra > 1.1 && m.rss_extra_bytes > mb10;
    size_t clients = session_count();
    d->big_client_buf = clients && m.clients_normal / clients > 1024 * 200;
    d->big_slave_buf = m.clients_slaves > 1024 * 1024 * 10;
    info_scripting f = {0};
    if (info_scripting_fill) info_scripting_fill(&f);
    d->many_scripts = f.cached_scripts > 1000;
    d->reports = d->big_peak + d->high_frag + d->high_alloc_frag + d->high_alloc_rss +
                 d->high_proc_rss + d->big_client_buf + d->big_slave_buf + d->many_scripts;
    mem_overhead_deinit(&m);
}

static void doctor_findings(buf *b, const doctor *d) {
    if (d->big_peak)
        buf_printf(
            b,
            " * Peak memory: In the past this instance used more than 150%% the memory that is "
            "currently using. The allocator is normally not able to release memory after a peak, "
            "so you can expect to see a big fragmentation ratio, however this is actually harmless "
            "and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) "
            "is currently bigger than expected, the memory will be used as soon as you fill the "
            "Redis instance with more data. If the memory peak was only occasional and you want to "
            "try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other "
            "option is to shutdown and restart the instance.\n\n");
    if (d->high_frag) {
        mem_stats st;
        mem_get_stats(&st);
        buf_printf(
            b,
            " * High total RSS: This instance has a memory fragmentation and RSS overhead greater "
            "than 1.4 (this means that the Resident Set Size of the Redis process is much larger "
            "than the sum of the logical allocations Redis performed). This problem is usually due "
            "either to a large peak memory (check if there is a peak memory entry above in the "
            "report) or may result from a workload that causes the allocator to fragment memory a "
            "lot. If the problem is a large peak memory, then there is no issue. Otherwise, make "
            "sure you are using the Jemalloc allocator and not the default libc malloc. Note: The "
            "currently used allocator is \"%s\".\n\n",
            st.allocator);
    }
    if (d->high_alloc_frag)
        buf_printf(b, " * High allocator fragmentation: This instance has an allocator external "
                      "fragmentation greater than 1.1. This problem is usually due either to a "
                      "large peak memory (check if there is a peak memory entry above in the "
                      "report) or may result from a workload that causes the allocator to fragment "
                      "memory a lot. You can try enabling 'activedefrag' config option.\n\n");
    if (d->high_alloc_rss)
        buf_printf(b,
                   " * High allocator RSS overhead: This instance has an RSS memory overhead is "
                   "greater than 1.1 (this means that the Resident Set Size of the allocator is "
                   "much larger than the sum what the allocator actually holds). This problem is "
                   "usually due to a large peak memory (check if there is a peak memory entry "
                   "above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
    if (d->high_proc_rss)
        buf_printf(b, " * High process RSS overhead: This instance has non-allocator RSS memory "
                      "overhead is greater than 1.1 (this means that the Resident Set Size of the "
                      "Redis process is much larger than the RSS the allocator holds). This "
                      "problem may be due to Lua scripts or Modules.\n\n");
    if (d->big_slave_buf)
        buf_printf(
            b, " * Big replica buffers: The replica output buffers in this instance are greater "
               "than 10MB for each replica (on average). This likely means that there is some "
               "replica instance that is struggling receiving data, either because it is too slow "
               "or because of networking issues. As a result, data piles on the master output "
               "buffers. Please try to identify what replica is not receiving data correctly and "
               "why. You can use the INFO output in order to check the replicas delays and the "
               "CLIENT LIST command to check the output buffers of each replica.\n\n");
    if (d->big_client_buf)
        buf_printf(
            b,
            " * Big client buffers: The clients output buffers in this instance are greater than "
            "200K per client (on average). This may result from different causes, like Pub/Sub "
            "clients subscribed to channels bot not receiving data fast enough, so that data piles "
            "on the Redis instance output buffer, or clients sending commands with large replies "
            "or very large sequences of commands in the same pipeline. Please use the CLIENT LIST "
            "command in order to investigate the issue if it causes problems in your instance, or "
            "to understand better why certain clients are using a big amount of memory.\n\n");
    if (d->many_scripts)
        buf_printf(b, " * Many scripts: There seem to be many cached scripts in this instance "
                      "(more than 1000). This may be because scripts are generated and `EVAL`ed, "
                      "instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and "
                      "`EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' "
                      "caches may end up consuming most of your memory.\n\n");
}

static void memory_doctor(cmd_ctx *c) {
    doctor d;
    examine(&d);
    buf b;
    buf_init(&b);
    if (d.reports == 0) {
        buf_printf(&b, "Hi Sam, I can't find any memory issue in your instance. I can only account "
                       "for what occurs on this base.\n");
    } else if (d.empty) {
        buf_printf(&b, "Hi Sam, this instance is empty or is using very little memory, my issues "
                       "detector can't be used in these conditions. Please, leave for your mission "
                       "on Earth and fill it with some data. The new Sam and I will be back to our "
                       "programming as soon as I finished rebooting.\n");
    } else {
        buf_printf(&b, "Sam, I detected a few issues in this Redis instance memory implants:\n\n");
        doctor_findings(&b, &d);
        buf_printf(&b, "I'm here to keep you safe, Sam. I want to help you.\n");
    }
    reply_verbatim(c, b.data ? b.data : "", b.len);
    buf_deinit(&b);
}

static void memory_purge(cmd_ctx *c) {
    if (mem_purge() == 0)
        reply_ok(c);
    else
        reply_error(c, "ERR Error purging dirty pages");
}

static void append_text(const char *text, void *ctx) {
    buf_append(ctx, text, strlen(text));
}

static void memory_malloc_stats(cmd_ctx *c) {
    buf b;
    buf_init(&b);
    if (mem_stats_report(append_text, &b) == 0)
        reply_verbatim(c, b.data ? b.data : "", b.len);
    else
        reply_bulk_cstr(c, "Stats not supported for the current allocator");
    buf_deinit(&b);
}

static void memory_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        NULL};
    reply_help_lines(c, "MEMORY", lines);
}

#define MEM_ROW(n, fn, complexity, summary)                                                        \
    { n, fn, 2, 0, 0, 0, 0, "server", "4.0.0", complexity, summary, "", NULL, "@slow" }

const cmd_spec memory_subcmds[] = {
    MEM_ROW("doctor", memory_doctor, "O(1)", "Outputs a memory problems report."),
    MEM_ROW("malloc-stats", memory_malloc_stats,
            "Depends on how much memory is allocated, could be slow",
            "Returns the allocator statistics."),
    MEM_ROW("purge", memory_purge, "Depends on how much memory is allocated, could be slow",
            "Asks the allocator to release memory."),
    MEM_ROW("stats", memory_stats, "O(1)", "Returns details about memory usage."),
    {"usage", memory_usage, -3, CMD_READONLY, 2, 2, 1, "server", "4.0.0",
     "O(N) where N is the number of samples.", "Estimates the memory usage of a key.",
     "key [SAMPLES count]", NULL, "@read @slow", KS_RO},
    {"help", memory_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "4.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow"},
    {0},
};
