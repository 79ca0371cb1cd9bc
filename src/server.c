/* server: start-up, the event loop, the cron and shutdown.
 *
 * The cron timer fires `hz` times a second. Each tick runs one active-expiry slice with a
 * time budget (EXPIRE_SLICE_US); if a backlog of due keys or fields remains, an idle handle
 * schedules further slices right after the loop has served I/O, so a reaping storm is
 * spread between client requests instead of stalling them. A request that arrives during
 * a storm waits for at most the rest of one slice, so the slice length is the latency
 * budget; the throughput of reaping hardly depends on it, because between two slices the
 * loop only polls (the idle handle makes that poll non-blocking).
 *
 * Memory freed in bulk (a reaping storm, FLUSHALL, deleting a big key) stays in jemalloc's
 * dirty pages for its decay time (10 s). When allocated memory has dropped well below its
 * peak since the last purge, the cron asks jemalloc to purge on a libuv worker thread, so
 * the madvise calls for hundreds of megabytes never stall the loop. */
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cmd/cmd.h"
#include "cmd/host.h"
#include "config.h"
#include "db/db.h"
#include "net/conn.h"
#include "util/clock.h"
#include "util/dict.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/rand.h"

host_stats host_stat;
host_ops host;

#define EXPIRE_SLICE_US 500 /* active-expiry budget per slice (the latency budget) */
#define REHASH_SLICE_US 250 /* incremental rehash budget per tick */
#define PURGE_MIN_BYTES ((size_t)8 << 20) /* purge after a drop of at least this much... */
#define PURGE_MIN_SHARE 8                 /* ...and at least 1/8 of the peak */

static uv_loop_t *loop;
static uv_timer_t cron_timer;
static uv_idle_t backlog_idle;
static uv_signal_t sig_int, sig_term;
static int shutting_down;
static long long ops_at_last_sample;
static int64_t last_sample_us;
static uv_work_t purge_req;
static int purge_running; /* a purge is queued or running on the thread pool */
static size_t purge_peak; /* highest allocated figure seen since the last purge */

static void purge_work(uv_work_t *req) {
    (void)req;
    mem_purge();
}

static void purge_done(uv_work_t *req, int status) {
    (void)req;
    (void)status;
    purge_running = 0;
}

/* Queues a purge of jemalloc's unused pages on the thread pool when (a) allocated memory
 * has dropped by at least PURGE_MIN_BYTES and 1/PURGE_MIN_SHARE below its peak since the
 * last purge, or (b) the server is idle (no command since the last tick) and as much is
 * resident without being in use: bucket arrays and heap arrays freed by growth would wait
 * for jemalloc's 10 s decay otherwise. (b) waits for idleness because a purge thread
 * working beside a busy loop delays it (TLB shootdowns, jemalloc's locks). */
static void maybe_purge(void) {
    /* Not during a reaping storm: the purge thread would compete with the reaping loop for
     * the CPU and jemalloc's locks. The storm's end calls this again. */
    if (purge_running || shutting_down || host_stat.active_expire_running) return;
    mem_stats st;
    mem_get_stats(&st);
    int purge = 0;
    if (st.allocated >= purge_peak) {
        purge_peak = st.allocated;
    } else {
        size_t drop = purge_peak - st.allocated;
        purge = drop >= PURGE_MIN_BYTES && drop >= purge_peak / PURGE_MIN_SHARE;
    }
    static long long cmds_at_last_check;
    long long cmds = cmd_total_commands();
    int quiet = cmds == cmds_at_last_check;
    cmds_at_last_check = cmds;
    size_t unused = st.resident > st.active ? st.resident - st.active : 0;
    if (quiet && unused >= PURGE_MIN_BYTES && unused >= st.active / PURGE_MIN_SHARE) purge = 1;
    if (!purge) return;
    purge_peak = st.allocated;
    if (uv_queue_work(loop, &purge_req, purge_work, purge_done) == 0) purge_running = 1;
}

static void run_expire_slice(void) {
    if (!config.active_expire) return;
    int64_t start = clock_mono_us();
    int more = db_active_expire(clock_now_ms(), EXPIRE_SLICE_US);
    host_stat.expire_cycles++;
    host_stat.expire_cycle_us += clock_mono_us() - start;
    if (more && !host_stat.active_expire_running) {
        host_stat.active_expire_running = 1;
        uv_idle_start(&backlog_idle, (uv_idle_cb)run_expire_slice);
    } else if (!more && host_stat.active_expire_running) {
        host_stat.active_expire_running = 0;
        uv_idle_stop(&backlog_idle);
        maybe_purge(); /* a storm just ended: give its memory back now, not at the next tick */
    }
}

static void on_cron(uv_timer_t *t) {
    (void)t;
    int64_t now = clock_now_ms();
    /* During a backlog the idle handle already runs slices back to back: one more here
     * would double the pause of this loop turn. */
    if (!host_stat.active_expire_running) run_expire_slice();
    db_rehash(REHASH_SLICE_US);
    conn_cron(now);
    maybe_purge();
    int64_t us = clock_mono_us();
    if (us - last_sample_us >= 1000000) {
        long long ops = cmd_total_commands();
        host_stat.ops_per_sec =
            (ops - ops_at_last_sample) * 1000000 / (us - last_sample_us ? us - last_sample_us : 1);
        ops_at_last_sample = ops;
        last_sample_us = us;
    }
}

static void start_cron(void) {
    uint64_t period = (uint64_t)(1000 / (config.hz > 0 ? config.hz : 10));
    if (period == 0) period = 1;
    uv_timer_start(&cron_timer, on_cron, period, period);
}

static void stop_loop_handles(void) {
    uv_timer_stop(&cron_timer);
    uv_idle_stop(&backlog_idle);
    uv_signal_stop(&sig_int);
    uv_signal_stop(&sig_term);
    uv_close((uv_handle_t *)&cron_timer, NULL);
    uv_close((uv_handle_t *)&backlog_idle, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
}

static int do_shutdown(int flags) {
    (void)flags;
    if (shutting_down) return 0;
    shutting_down = 1;
    log_warning("User requested shutdown...");
    conn_close_listeners();
    conn_close_all();
    stop_loop_handles();
    if (config.pidfile && config.pidfile[0]) unlink(config.pidfile);
    log_warning("Mayfly is now ready to exit, bye bye...");
    return 0;
}

static void on_signal(uv_signal_t *h, int signum) {
    (void)h;
    log_warning("Received %s scheduling shutdown...", signum == SIGINT ? "SIGINT" : "SIGTERM");
    do_shutdown(0);
}

static void on_config_changed(const char *name) {
    if (strcmp(name, "hz") == 0) start_cron();
}

int server_run(void) {
    signal(SIGPIPE, SIG_IGN);
    rand_seed(0);
    dict_set_seed(rand_u64());
    log_setup((enum log_level)config.loglevel, config.logfile);
    loop = uv_default_loop();
    host_stat.start_ms = clock_now_ms();
    last_sample_us = clock_mono_us();
    host.shutdown = do_shutdown;
    host.config_changed = on_config_changed;
    config_on_change = on_config_changed;

    db_init_all(config.databases);
    cmd_registry_init();
    conn_init(loop);
    if (conn_listen_all(loop) < 0) return 1;

    log_notice("Mayfly %s started, pid=%d, port=%d", MAYFLY_VERSION, (int)getpid(),
               host_stat.tcp_port);
    if (config.pidfile && config.pidfile[0]) {
        FILE *f = fopen(config.pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    uv_timer_init(loop, &cron_timer);
    uv_idle_init(loop, &backlog_idle);
    start_cron();
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    log_notice("Ready to accept connections tcp");

    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    db_free_all();
    return 0;
}
