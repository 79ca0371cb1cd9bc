/* server: start-up, the event loop, the cron and shutdown.
 *
 * The cron timer fires `hz` times a second. Each tick runs one active-expiry slice with a
 * time budget (about 1 ms, a quarter of the tick at most); if a backlog of due keys or
 * fields remains, an idle handle schedules further slices right after the loop has served
 * I/O, so a reaping storm is spread between client requests instead of stalling them. */
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

#define EXPIRE_SLICE_US 1000 /* active-expiry budget per slice */
#define REHASH_SLICE_US 500  /* incremental rehash budget per tick */

static uv_loop_t *loop;
static uv_timer_t cron_timer;
static uv_idle_t backlog_idle;
static uv_signal_t sig_int, sig_term;
static int shutting_down;
static long long ops_at_last_sample, in_at_last_sample, out_at_last_sample;
static int64_t last_sample_us;

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
    }
}

static void on_cron(uv_timer_t *t) {
    (void)t;
    int64_t now = clock_now_ms();
    run_expire_slice();
    db_rehash(REHASH_SLICE_US);
    conn_cron(now);
    int64_t us = clock_mono_us();
    if (us - last_sample_us >= 1000000) {
        long long ops = cmd_total_commands();
        host_stat.ops_per_sec =
            (ops - ops_at_last_sample) * 1000000 / (us - last_sample_us ? us - last_sample_us : 1);
        long long dt = us - last_sample_us;
        host_stat.input_kbps_x100 =
            (host_stat.net_input_bytes - in_at_last_sample) * 100000000 / 1024 / dt;
        host_stat.output_kbps_x100 =
            (host_stat.net_output_bytes - out_at_last_sample) * 100000000 / 1024 / dt;
        in_at_last_sample = host_stat.net_input_bytes;
        out_at_last_sample = host_stat.net_output_bytes;
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
