/* server: start-up, the event loop, the cron and shutdown.
 *
 * The cron timer fires `hz` times a second. Each tick runs one active-expiry slice with a
 * time budget (EXPIRE_SLICE_US); if a backlog of due keys or fields remains, an idle handle
 * schedules further slices right after the loop has served I/O, so a reaping storm is
 * spread between client requests instead of stalling them. A request that arrives during
 * a storm waits for at most the rest of one loop turn, so the turn's length is the latency
 * budget; the throughput of reaping hardly depends on it, because between two slices the
 * loop only polls (the idle handle makes that poll non-blocking).
 *
 * Work that can wait (expiry slices, the key table's rehash) shares one budget per loop
 * turn: each piece gets what is left of TURN_WORK_US after the loop thread's CPU time so far
 * in this turn, within its own minimum and maximum, and at most one expiry slice runs per
 * turn. CPU time, not busy wall time (util/looptime): on a loaded machine the wall time
 * counts the run queue's wait, which would cut every slice to its minimum and slow reaping
 * down just when the thread has least CPU. Each piece keeping to its own budget was not enough: the
 * cron's tick (timer phase) ran a slice and the rehash, and the idle handle, started by that slice,
 * ran another in the same turn (1.0-1.3 ms of work in a turn, plus the turn's commands).
 *
 * Memory freed in bulk (a reaping storm, FLUSHALL, deleting a big key) stays in jemalloc's
 * dirty pages for its decay time (10 s). When allocated memory has dropped well below its
 * peak since the last purge, the cron asks jemalloc to purge on a libuv worker thread, so
 * the madvise calls for hundreds of megabytes never stall the loop. */
#include "mayfly/server.h"

#include "mayfly/acl/acl.h"
#include "mayfly/client/clientmem.h"
#include "mayfly/client/notify.h"
#include "mayfly/client/session.h"
#include "mayfly/client/tracking.h"
#include "mayfly/cluster/cluster.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/info.h"
#include "mayfly/cmd/pause.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/evict/lazyfree.h"
#include "mayfly/journal/journal.h"
#include "mayfly/net/net.h"
#include "mayfly/net/tls.h"
#include "mayfly/persist/aof.h"
#include "mayfly/persist/persist.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/repl/repl.h"
#include "mayfly/script/script.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/latency.h"
#include "mayfly/util/log.h"
#include "mayfly/util/looptime.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/prezero.h"
#include "mayfly/util/proctitle.h"
#include "mayfly/util/rand.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

host_stats host_stat;
host_ops host;

#define TURN_WORK_US 750        /* deferrable work fills a loop turn up to this much CPU time */
#define EXPIRE_SLICE_US 500     /* active-expiry budget of one slice at most... */
#define EXPIRE_SLICE_MIN_US 100 /* ...and at least, however busy the turn (progress) */
#define REHASH_SLICE_US 250     /* incremental rehash budget per tick at most... */
#define REHASH_SLICE_MIN_US 50  /* ...and at least */
#define LOAD_SLICE_US 5000      /* loading work between two polls for I/O */
#define PURGE_MIN_BYTES ((size_t)8 << 20) /* purge after a drop of at least this much... */
#define PURGE_MIN_SHARE 8                 /* ...and at least 1/8 of the peak */

static uv_loop_t *loop;
static uv_timer_t cron_timer;
static uv_idle_t backlog_idle;
static uv_idle_t load_idle;
static uv_idle_t evict_idle;    /* continues an eviction that ran out of time (evict_pending) */
static session *replay_session; /* runs the logged commands while loading */
static uv_signal_t sig_int, sig_term;
static uv_prepare_t cycle_prepare;              /* ends each loop turn: INFO eventloop_* */
static int64_t cycle_last_cpu_us;               /* the loop thread's CPU time at the last turn */
static uint64_t expire_slice_turn = UINT64_MAX; /* the loop turn of the last expiry slice */

static int64_t thread_cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static long long cycles_at_sample, cycle_us_at_sample;
static int shutting_down;
static long long ops_at_last_sample, in_at_last_sample, out_at_last_sample;
static long long repl_in_at_last_sample, repl_out_at_last_sample;

/* A byte counter's rate over dt us in KiB/s * 100 (instantaneous_*_kbps); a counter that
 * CONFIG RESETSTAT set back counts from 0. */
static long long kbps_x100(long long total, long long *last, long long dt) {
    long long bytes = total >= *last ? total - *last : total;
    *last = total;
    return bytes * 100000000 / 1024 / dt;
}
static int64_t last_sample_us;
static uv_work_t purge_req;
static int purge_running;           /* a purge is queued or running on the thread pool */
static int script_busy;             /* a script runs past busy-reply-threshold: the cron waits */
static int signal_shutdown_pending; /* SIGTERM/SIGINT arrived while a script was busy */
static uv_timer_t deferred_shutdown;
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

static void no_work(uv_work_t *req) {
    (void)req;
}

/* Starts libuv's thread pool (where purges run) with the server, as Redis starts its bio
 * threads: started on the first purge instead, its threads would cost that loop turn their
 * creation and inherit the loop thread's CPU affinity (a server pinned by thread). */
static void start_thread_pool(void) {
    if (uv_queue_work(loop, &purge_req, no_work, purge_done) == 0) purge_running = 1;
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

/* What is left of this loop turn's TURN_WORK_US of CPU time for a piece of deferrable
 * work, within [min_us, max_us]. */
static int64_t turn_work_budget(int64_t min_us, int64_t max_us) {
    int64_t left = TURN_WORK_US - (thread_cpu_us() - cycle_last_cpu_us);
    return left < min_us ? min_us : left > max_us ? max_us : left;
}

static void run_expire_slice(void) {
    /* Nothing expires while loading (the log replays at its own times) or while a busy
     * script is suspended in the middle of its work. */
    if (!config.active_expire || host_stat.loading || script_busy) return;
    /* One slice per turn: the cron's slice starts the idle handle, which libuv runs in the
     * same loop iteration; that one waits for the next turn (the handle stays active, so
     * the poll in between does not sleep). */
    uint64_t turn = looptime_turns();
    if (turn == expire_slice_turn) return;
    expire_slice_turn = turn;
    int64_t start = clock_mono_us();
    int more =
        db_active_expire(clock_now_ms(), turn_work_budget(EXPIRE_SLICE_MIN_US, EXPIRE_SLICE_US));
    int64_t took = clock_mono_us() - start;
    host_stat.expire_cycles++;
    host_stat.expire_cycle_us += took;
    latency_note("expire-cycle", took / 1000);
    if (more && !host_stat.active_expire_running) {
        host_stat.active_expire_running = 1;
        uv_idle_start(&backlog_idle, (uv_idle_cb)run_expire_slice);
    } else if (!more && host_stat.active_expire_running) {
        host_stat.active_expire_running = 0;
        uv_idle_stop(&backlog_idle);
        maybe_purge(); /* a storm just ended: give its memory back now, not at the next tick */
    }
}

/* An eviction ran out of its time (maxmemory-eviction-tenacity), or maxmemory was lowered:
 * evict_perform runs again right after each I/O poll until memory is under the limit or
 * nothing is left to evict (Redis's evictionTimeProc), clients being served in between. */
static void on_evict_idle(uv_idle_t *h) {
    if (evict_pending && !cmd_writes_paused()) { /* paused writes: nothing is evicted */
        int64_t start = clock_mono_us();
        evict_perform(clock_now_ms());
        latency_note("eviction-cycle", (clock_mono_us() - start) / 1000);
    }
    if (!evict_pending) uv_idle_stop(h);
}

static void maybe_continue_eviction(void) {
    if (evict_pending && !uv_is_active((uv_handle_t *)&evict_idle))
        uv_idle_start(&evict_idle, on_evict_idle);
}

/* Runs once per loop turn, just before the loop waits for I/O: counts the turn and the
 * time since the last one less the time the loop thread slept in its waits for I/O
 * (util/looptime: every wait timed, which libuv's idle-time metric is not), which is
 * Redis's eventloop_duration_sum. */
static void on_cycle_end(uv_prepare_t *h) {
    (void)h;
    int64_t busy = looptime_turn_busy_us();
    looptime_turn_mark();
    host_stat.eventloop_cycles++;
    host_stat.eventloop_us += busy > 0 ? busy : 0;
    maybe_continue_eviction();
    if (busy > host_stat.eventloop_turn_max_us) host_stat.eventloop_turn_max_us = busy;
    int64_t cpu = thread_cpu_us(), turn_cpu = cpu - cycle_last_cpu_us;
    if (turn_cpu > host_stat.eventloop_turn_cpu_max_us)
        host_stat.eventloop_turn_cpu_max_us = turn_cpu;
    host_stat.eventloop_turns_cpu_over_1ms += turn_cpu > 1000;
    host_stat.eventloop_turns_cpu_over_2ms += turn_cpu > 2000;
    cycle_last_cpu_us = cpu;
}

/* From here on the loop's turns are counted (on_cycle_end), their idle time being this
 * thread's waits for I/O as util/looptime times them. */
static void start_cycle_timing(void) {
    looptime_start();
    cycle_last_cpu_us = thread_cpu_us();
    uv_prepare_init(loop, &cycle_prepare);
    uv_prepare_start(&cycle_prepare, on_cycle_end);
}

/* The instantaneous_eventloop_* figures over the last second (called by the cron). */
static void sample_cycles(long long dt_us) {
    long long cycles = host_stat.eventloop_cycles - cycles_at_sample;
    long long us = host_stat.eventloop_us - cycle_us_at_sample;
    if (cycles < 0 || us < 0) cycles = us = 0; /* CONFIG RESETSTAT in between */
    host_stat.eventloop_cycles_per_sec = cycles * 1000000 / (dt_us ? dt_us : 1);
    host_stat.eventloop_cycle_us = cycles ? us / cycles : 0;
    cycles_at_sample = host_stat.eventloop_cycles;
    cycle_us_at_sample = host_stat.eventloop_us;
}

static void shutdown_wait_cron(void);

static void on_cron(uv_timer_t *t) {
    (void)t;
    /* A busy script is in the middle of its work: no expiry, rehashing, saves or client
     * timeouts until it ends (Redis runs no cron while it serves clients from a script). */
    if (script_busy) return;
    int64_t now = clock_now_ms();
    cmd_pause_cron(now); /* a CLIENT PAUSE past its deadline ends */
    /* During a backlog the idle handle already runs slices back to back: one more here
     * would double the pause of this loop turn. */
    if (!host_stat.active_expire_running) run_expire_slice();
    /* Not while a dataset loads: the table sized from RESIZEDB is still mostly empty and
     * would be shrunk, then grown again key by key. */
    if (!host_stat.loading) db_rehash(turn_work_budget(REHASH_SLICE_MIN_US, REHASH_SLICE_US));
    net_cron(now);
    cluster_cron(now);
    persist_cron(now);
    evict_sample_peak();
    repl_cron(now);
    shutdown_wait_cron();
    maybe_purge();
    int64_t us = clock_mono_us();
    long long dt = us - last_sample_us;
    if (dt >= 1000000) {
        long long ops = cmd_total_commands();
        host_stat.ops_per_sec = (ops - ops_at_last_sample) * 1000000 / dt;
        host_stat.input_kbps_x100 = kbps_x100(host_stat.net_input_bytes, &in_at_last_sample, dt);
        host_stat.output_kbps_x100 = kbps_x100(host_stat.net_output_bytes, &out_at_last_sample, dt);
        host_stat.repl_input_kbps_x100 =
            kbps_x100(host_stat.net_repl_input_bytes, &repl_in_at_last_sample, dt);
        host_stat.repl_output_kbps_x100 =
            kbps_x100(host_stat.net_repl_output_bytes, &repl_out_at_last_sample, dt);
        ops_at_last_sample = ops;
        sample_cycles(dt);
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
    uv_idle_stop(&load_idle);
    uv_close((uv_handle_t *)&load_idle, NULL);
    uv_idle_stop(&evict_idle);
    uv_close((uv_handle_t *)&evict_idle, NULL);
    uv_prepare_stop(&cycle_prepare);
    uv_close((uv_handle_t *)&cycle_prepare, NULL);
    uv_signal_stop(&sig_int);
    uv_signal_stop(&sig_term);
    uv_close((uv_handle_t *)&cron_timer, NULL);
    uv_timer_stop(&deferred_shutdown);
    uv_close((uv_handle_t *)&deferred_shutdown, NULL);
    uv_close((uv_handle_t *)&backlog_idle, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
}

static int shutdown_wait_flags; /* the flags of the shutdown that waits for replicas */

/* Ends the wait for replicas without shutting down. */
static void cancel_shutdown_wait(void) {
    host_stat.shutdown_deadline_ms = 0;
    repl_shutdown_wait(0);
    host_shutdown_cancelled();
}

static int finish_shutdown(int flags) {
    repl_log_lagging();
    /* The log is fsynced and the final snapshot written before any client is let go. */
    if (!host_stat.loading && persist_shutdown(flags) < 0) {
        if (host_stat.shutdown_deadline_ms) {
            log_warning("Errors trying to shut down the server. Check the logs for more "
                        "information.");
            cancel_shutdown_wait();
        }
        return -1;
    }
    host_stat.shutdown_deadline_ms = 0;
    cluster_shutdown();
    shutting_down = 1;
    net_close_listeners();
    repl_shutdown();
    net_close_all();
    stop_loop_handles();
    if (config.pidfile && config.pidfile[0]) unlink(config.pidfile);
    log_warning("Mayfly is now ready to exit, bye bye...");
    return 0;
}

/* Redis's prepareForShutdown: without NOW, and with shutdown-timeout, replicas that are
 * behind get that many seconds to catch up while writes are paused (1: waiting; the cron
 * finishes it). */
static int do_shutdown(int flags) {
    if (shutting_down) return 0;
    if (host_stat.shutdown_deadline_ms) return 1; /* already waiting */
    log_warning("User requested shutdown...");
    if (!(flags & HOST_SHUTDOWN_NOW) && config.shutdown_timeout > 0 && !repl_ready_to_shutdown()) {
        host_stat.shutdown_deadline_ms =
            clock_mono_us() / 1000 + (long long)config.shutdown_timeout * 1000;
        shutdown_wait_flags = flags;
        repl_shutdown_wait(1);
        log_notice("Waiting for replicas before shutting down.");
        return 1;
    }
    return finish_shutdown(flags);
}

/* The cron: a shutdown that waits goes on once the replicas caught up or time is up. */
static void shutdown_wait_cron(void) {
    if (!host_stat.shutdown_deadline_ms) return;
    if (clock_mono_us() / 1000 < host_stat.shutdown_deadline_ms && !repl_ready_to_shutdown())
        return;
    finish_shutdown(shutdown_wait_flags);
}

static int do_shutdown_abort(void) {
    if (host_stat.shutdown_deadline_ms) {
        cancel_shutdown_wait();
    } else if (signal_shutdown_pending) {
        signal_shutdown_pending = 0; /* a signal's shutdown waited for a busy script */
    } else {
        return -1;
    }
    log_notice("Shutdown manually aborted.");
    return 0;
}

_Static_assert(CONFIG_SHUTDOWN_NOSAVE == HOST_SHUTDOWN_NOSAVE &&
                   CONFIG_SHUTDOWN_SAVE == HOST_SHUTDOWN_SAVE &&
                   CONFIG_SHUTDOWN_NOW == HOST_SHUTDOWN_NOW &&
                   CONFIG_SHUTDOWN_FORCE == HOST_SHUTDOWN_FORCE,
               "shutdown-on-sig* flags are SHUTDOWN's");

static int signal_shutdown_flags; /* the flags of a signal that came while a script was busy */

static void on_deferred_shutdown(uv_timer_t *t) {
    (void)t;
    if (do_shutdown(signal_shutdown_flags) < 0)
        log_warning("SIGTERM received but errors trying to shut down the server, check the logs "
                    "for more information");
}

/* SIGINT and SIGTERM shut down as SHUTDOWN would with the flags of shutdown-on-sigint /
 * shutdown-on-sigterm (default: save if save points are configured). */
static void on_signal(uv_signal_t *h, int signum) {
    (void)h;
    log_warning("Received %s scheduling shutdown...", signum == SIGINT ? "SIGINT" : "SIGTERM");
    int flags = signum == SIGINT ? config.shutdown_on_sigint : config.shutdown_on_sigterm;
    if (script_busy) {
        /* Saving now would store half of the script's effects: after it ends. */
        signal_shutdown_pending = 1;
        signal_shutdown_flags = flags;
        return;
    }
    net_run_received();
    if (do_shutdown(flags) < 0)
        log_warning("SIGTERM received but errors trying to shut down the server, check the logs "
                    "for more information");
}

/* Records go to the log (a journal sink of persist/aof.c) only while it is open. */
static void sync_propagation(void) {
    if (aof_is_on())
        journal_sink_add(aof_sink());
    else
        journal_sink_remove(aof_sink());
}

/* ---- ACL ---- */

/* A `user` line of the config file: validated now, applied once the commands exist. */
static int config_user(int argc, char **argv, const char **err) {
    static char msg[512];
    slice words[64];
    if (argc > 64) argc = 64;
    for (int i = 0; i < argc; i++)
        words[i] = slice_of(argv[i]);
    char *why = NULL;
    if (acl_config_user(argc, words, &why) == 0) return 0;
    snprintf(msg, sizeof(msg), "%s", why);
    mem_free(why);
    *err = msg;
    return -1;
}

/* The users: the default user (requirepass), then `user` lines or the ACL file (not both),
 * as Redis's ACLLoadUsersAtStartup. Returns 0, or -1 after logging why. */
static int load_users(void) {
    acl_set_pubsub_default(config.acl_pubsub_default);
    acl_init();
    if (config.requirepass) acl_set_default_password(config.requirepass, config.requirepass_len);
    int have_file = config.aclfile && config.aclfile[0];
    if (have_file && acl_config_users_pending()) {
        log_warning("Configuring Redis with users defined in redis.conf and at the same setting "
                    "an ACL file path is invalid. This setup is very likely to lead to "
                    "configuration errors and security holes, please define either an ACL file "
                    "or declare users directly in your redis.conf, but not both.");
        return -1;
    }
    char *err = NULL;
    if (acl_load_config_users(&err) < 0) {
        log_warning("%s", err);
        log_warning("Critical error while loading ACLs. Exiting.");
        mem_free(err);
        return -1;
    }
    if (have_file) {
        char path[4096];
        acl_file_path(config.aclfile, config.dir, path, sizeof(path));
        acl_userset *old = acl_load_file(path, config.aclfile, &err);
        if (!old) {
            log_warning("Aborting Redis startup because of ACL errors: %s", err);
            mem_free(err);
            return -1;
        }
        acl_userset_free(old);
    }
    return 0;
}

/* After any CONFIG SET: the log may have been opened or closed (appendonly); requirepass
 * is the default user's password. */
static void on_config_changed(const char *name) {
    if (strcmp(name, "requirepass") == 0)
        acl_set_default_password(config.requirepass, config.requirepass_len);
    if (strcmp(name, "acl-pubsub-default") == 0) acl_set_pubsub_default(config.acl_pubsub_default);
    sync_propagation();
}

/* hz: clamped to 1..500 as in Redis; a change re-arms the cron. */
static void clamp_hz(void) {
    config.hz = config.hz < 1 ? 1 : config.hz > 500 ? 500 : config.hz;
}

static int apply_hz(const char **err) {
    (void)err;
    if (loop) start_cron();
    return 0;
}

/* ---- busy scripts (src/script/script.c explains why a nested turn is sound) ---- */

static void serve_while_busy(void) {
    uv_run(loop, UV_RUN_NOWAIT);
    /* SHUTDOWN NOSAVE during the turn: the log is synced and the clients are gone; exit
     * from here, as Redis does, before the script's effects reach the log. */
    if (shutting_down) exit(0);
}

static void script_busy_changed(int busy) {
    script_busy = busy;
    if (!busy && signal_shutdown_pending) {
        signal_shutdown_pending = 0;
        /* The script's command is still returning: shut down on the next loop turn. */
        uv_timer_start(&deferred_shutdown, on_deferred_shutdown, 0, 0);
    }
}
/* ---- the process title (set-proc-title, proc-title-template) ---- */

static int set_proc_title = 1;
static char *proc_title_template;

/* The template's variables, as Redis's redisProcTitleGetVariable. */
static void title_listen_addr(buf *out, const char *title) {
    (void)title;
    if (config.port || config.tls_port)
        buf_printf(out, "%s:%d", config.bind_count ? config.bind[0] : "*",
                   config.port ? config.port : config.tls_port);
    else
        buf_printf(out, "unixsocket:%s", config.unixsocket ? config.unixsocket : "");
}
static void title_title(buf *out, const char *title) {
    buf_puts(out, title);
}
static void title_server_mode(buf *out, const char *title) {
    (void)title;
    if (config.cluster_enabled) buf_puts(out, "[cluster]");
}
static void title_config_file(buf *out, const char *title) {
    (void)title;
    buf_puts(out, config.config_file ? config.config_file : "-");
}
static void title_port(buf *out, const char *title) {
    (void)title;
    buf_printf(out, "%d", config.port);
}
static void title_tls_port(buf *out, const char *title) {
    (void)title;
    buf_printf(out, "%d", config.tls_port);
}
static void title_unixsocket(buf *out, const char *title) {
    (void)title;
    buf_puts(out, config.unixsocket ? config.unixsocket : "");
}

static const struct {
    const char *name;
    void (*put)(buf *out, const char *title);
} title_vars[] = {{"title", title_title},
                  {"listen-addr", title_listen_addr},
                  {"server-mode", title_server_mode},
                  {"config-file", title_config_file},
                  {"port", title_port},
                  {"tls-port", title_tls_port},
                  {"unixsocket", title_unixsocket}};

static int title_var(const char *name, size_t len, buf *out, void *arg) {
    for (size_t i = 0; i < sizeof(title_vars) / sizeof(title_vars[0]); i++)
        if (strlen(title_vars[i].name) == len && memcmp(title_vars[i].name, name, len) == 0) {
            title_vars[i].put(out, arg);
            return 0;
        }
    return -1;
}

/* A template must expand (known variables, braces closed) to something other than
 * spaces. */
static int check_proc_title_template(const char *v, const char **err) {
    buf t;
    buf_init(&t);
    int ok = proctitle_expand(v, title_var, "", &t) == 0 && t.len > 0;
    buf_deinit(&t);
    if (ok) return 0;
    *err = "template format is invalid or contains unknown variables";
    return -1;
}

/* Shows the template expanded with title (NULL: the program's name) as the process title. */
static void update_proc_title(const char *title) {
    if (!set_proc_title || !proc_title_template) return;
    buf t;
    buf_init(&t);
    if (proctitle_expand(proc_title_template, title_var, (void *)(title ? title : proctitle_arg0()),
                         &t) == 0) {
        buf_putc(&t, '\0');
        proctitle_set(t.data);
    }
    buf_deinit(&t);
}

static int apply_proc_title_template(const char **err) {
    (void)err;
    update_proc_title(NULL);
    return 0;
}

static const config_row server_config_rows[] = {
    {.name = "set-proc-title",
     .kind = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &set_proc_title,
     .max = 1,
     .def = "yes"},
    {.name = "proc-title-template",
     .kind = CONFIG_STR,
     .ptr = &proc_title_template,
     .def = "{title} {listen-addr} {server-mode}",
     .check = check_proc_title_template,
     .apply = apply_proc_title_template},
    {.name = "hz",
     .kind = CONFIG_INT,
     .ptr = &config.hz,
     .max = INT_MAX,
     .def = "10",
     .stored = clamp_hz,
     .apply = apply_hz},
    {0},
};

/* ---- loading ---- */

static void noop_session(session *s) {
    (void)s;
}
static size_t no_qbuf(const session *s) {
    (void)s;
    return 0;
}
static const session_ops replay_ops = {noop_session, noop_session, no_qbuf, NULL};

/* Runs one logged command (load_replay_fn): in database dbid (-1: where the log's SELECTs
 * left the session), at time_ms (0 for RESP logs: nothing expires while they replay). */
static int replay(int dbid, int64_t time_ms, int argc, slice *argv) {
    if (!cmd_lookup(argv[0]) || dbid >= db_count()) return -1;
    session *s = replay_session;
    if (dbid >= 0) {
        s->db_id = dbid;
        s->db = db_get(dbid);
    }
    long long errors = cmd_total_errors();
    cmd_dispatch_at(s, argc, argv, time_ms);
    int failed = cmd_total_errors() != errors;
    if (failed) host_stat.unexpected_error_replies++;
    /* propagation-error-behavior panic: a command of the log that fails stops the server
     * (Redis's AOF-loading client), rather than loading a dataset that differs from the
     * one that was logged. */
    if (failed && config.propagation_error_behavior == 1) {
        log_warning("This server panicked sending an error to its AOF-loading-client after "
                    "processing the command '%.*s'",
                    (int)argv[0].len, argv[0].p);
        exit(1);
    }
    buf_clear(&s->out);
    return failed;
}

static void loading_done(void) {
    uv_idle_stop(&load_idle);
    if (replay_session) {
        session_free(replay_session);
        replay_session = NULL;
        cmd_reset_stats(); /* replayed commands are not traffic */
    }
    sync_propagation();
    log_notice("Ready to accept connections tcp");
    repl_start();
}

/* After a failed load, as Redis: an RDB failure ends with this line; an append-only log's
 * failure ends with the loader's own message (tools read the log's last line). */
static void log_load_failure(void) {
    if (!config.appendonly) log_warning("Fatal error loading the DB, check server logs. Exiting.");
}

static void on_load_idle(uv_idle_t *h) {
    (void)h;
    int rc = persist_load_step(LOAD_SLICE_US);
    if (rc == LOAD_FAILED) {
        log_load_failure();
        exit(1);
    }
    if (rc == LOAD_DONE) loading_done();
}

static int start_loading(void) {
    replay_session = session_new(&replay_ops, NULL);
    replay_session->flags |= SESS_INTERNAL;
    session_set_authenticated(replay_session, 1);
    int rc = persist_load_begin(clock_now_ms(), replay);
    if (rc == LOAD_FAILED) return -1;
    if (rc == LOAD_DONE)
        loading_done();
    else
        uv_idle_start(&load_idle, on_load_idle);
    return 0;
}

/* The start-up lines tools wait for: Redis's test framework looks for " PID: <pid>" (its
 * logo, shown with always-show-logo), others for "Server initialized" and "Ready to accept
 * connections". */
static void log_startup_banner(void) {
    int pid = (int)getpid();
    log_notice("Mayfly %s (Redis %s compatible) pid=%d, just started", MAYFLY_VERSION,
               MAYFLY_REDIS_VERSION, pid);
    if (config.always_show_logo) {
        log_notice("Mayfly %s, 64 bit, %s mode", MAYFLY_VERSION,
                   config.cluster_enabled ? "cluster" : "standalone");
        log_notice("    Port: %d", host_stat.tcp_port);
        log_notice("    PID: %d", pid);
    } else {
        log_notice("Running mode=%s, port=%d.", config.cluster_enabled ? "cluster" : "standalone",
                   host_stat.tcp_port);
    }
    if (config.enable_module_command != CONFIG_PROTECTED_NO)
        log_notice("enable-module-command has no effect: Mayfly has no modules");
    log_notice("Server initialized");
}

/* Once per loop turn before replies go out (Redis's beforeSleep): the BCAST invalidations
 * of the turn's changes join them (those of the cron's active expiry wait for the next
 * turn, like its keyspace events), the log's write and group commit, what the replicas
 * get, then nodes.conf if the cluster's configuration changed during the turn. */
static void before_flush(void) {
    (void)tracking_before_sleep();
    persist_before_reply();
    repl_before_flush();
    cluster_before_sleep();
}

/* A function library of a file being loaded (rdb/ and persist/ reach script/ through this):
 * as Redis loads one, replacing a library of the same name, without a time limit. */
static int create_library(const char *code, size_t len, char *err, size_t cap) {
    char name[256];
    return function_create(code, len, 1, 0, err, cap, name, sizeof(name));
}

/* ---- registration: each subsystem's directives, commands, gates and INFO sections ---- */

void server_init(void) {
    static int done;
    if (done) return;
    done = 1;
    /* Directives (config.h), in the order CONFIG GET lists them; then their defaults. */
    config_add(net_config_rows);
    config_add(server_config_rows);
    config_add(cmd_hash_config_rows);
    config_add(persist_config_rows);
    config_add(repl_config_rows);
    config_add(cmd_slowlog_config_rows);
    config_add(cmd_latency_config_rows);
    config_add(notify_config_rows);
    config_add(script_config_rows);
    config_add(evict_config_rows);
    config_add(cluster_config_rows);
    config_add(tracking_config_rows);
    config_init();
    /* Command families (cmd/cmd.h), in the order COMMAND lists them. */
    static const cmd_spec *const families[] = {
        cmd_family_conn,        cmd_family_server,  cmd_family_command, cmd_family_keys,
        cmd_family_ttl,         cmd_family_string,  cmd_family_hash,    cmd_family_hash_ttl,
        cmd_family_multi,       cmd_family_pubsub,  persist_commands,   cmd_family_debug,
        cmd_family_slowlog,     cmd_family_latency, cmd_family_dump,    cmd_family_eval,
        cmd_family_function,    cluster_family,     cmd_family_acl,     repl_commands,
        cluster_migrate_family,
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        cmd_family_add(families[i]);
    /* Dispatch gates (cmd/gate.h): each brings its order key from Redis's processCommand. */
    cmd_gate_add(&cmd_gate_protected);
    cmd_gate_add(&cmd_gate_auth);
    cmd_gate_add(&cmd_gate_acl);
    cmd_gate_add(&cmd_gate_no_multi);
    cmd_gate_add(&cmd_gate_oom);
    cmd_gate_add(&cluster_gate_redirect);
    cmd_gate_add(&persist_gate_misconf);
    cmd_gate_add(&repl_gate_min_replicas);
    cmd_gate_add(&repl_gate_readonly);
    cmd_gate_add(&cmd_gate_pubsub);
    cmd_gate_add(&repl_gate_masterdown);
    cmd_gate_add(&persist_gate_loading);
    cmd_gate_add(&script_gate_busy);
    cmd_gate_add(&cmd_gate_pause);
    /* INFO sections (cmd/info.h). */
    for (const info_section *s = cmd_info_sections; s->name; s++)
        info_section_add(s);
    info_section_add(&persist_info_section);
    info_section_add(&repl_info_section);
    /* What snapshots record of replication, and what a loaded one said. */
    persist_repl_info = repl_save_info;
    aof_repl_offset = repl_processed_offset;
    persist_repl_loaded = repl_loaded_info;
    persist_repl_expired = repl_loaded_expired;
    info_section_add(&cluster_info_section);
    /* The client layer: keyspace notifications' db hooks; cmd/'s part of a session. */
    notify_init();
    session_release_hook = multi_session_free;
    clientmem_extra = multi_session_memory;
    session_auth = (session_auth_ops){cmd_acl_session_start, cmd_acl_auth_required};
    /* acl/: `user` lines of the config file, and CONFIG REWRITE of them. */
    config_user_line = config_user;
    config_rewrite_users = acl_write_users;
}

/* ---- the memory ceiling ---- */

/* Nothing is evicted while the dataset loads, while a busy script serves other clients
 * from inside its command, or on a replica that ignores maxmemory (Redis's
 * isSafeToPerformEvictions). */
static int may_evict(void) {
    return !host_stat.loading && !script_busy && !repl_ignores_maxmemory();
}

static size_t aof_buffer_bytes(void) {
    return aof_is_on() ? aof_buffered() : 0;
}

static void start_eviction(void) {
    static const evict_host evict_hooks = {may_evict};
    evict_set_host(&evict_hooks);
    evict_set_uncounted(EVICT_UNCOUNTED_AOF, aof_buffer_bytes);
    evict_set_uncounted(EVICT_UNCOUNTED_REPLICAS, repl_replica_output_bytes);
    db_set_value_freer(lazyfree_db_freer);
    db_set_grow_check(evict_table_may_grow);
    lazyfree_start();
    evict_config_changed();
}

/* A forked child (snapshot, log rewrite) holds no listener, client or MIGRATE socket. */
static void close_fds_in_child(void) {
    net_close_fds_in_child();
    migrate_close_fds();
}

/* The calls lower layers make upward (cmd/host.h, config, INFO's scripting section). */
static void install_hooks(void) {
    host.shutdown = do_shutdown;
    host.shutdown_abort = do_shutdown_abort;
    host.after_fork_child = close_fds_in_child;
    host.aof_write_fault = aof_set_write_fault;
    host.aof_flush_sleep = aof_set_flush_sleep;
    host.busy_refusal = script_busy_error;
    host.publish = cluster_publish;
    host.debug_reload = persist_debug_reload;
    host.flushall_save = persist_flushall_save;
    config_on_change = on_config_changed;
    info_scripting_fill = script_info_fill;
}

/* Redis's sanity checks after loading the configuration: 1 (reported on stderr, as
 * config errors are) when the server cannot run so. A cluster node's primary is the bus's
 * business. */
static int config_insane(void) {
    if (config.cluster_enabled && repl_master_host()) {
        fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Mayfly %s) ***\n", MAYFLY_VERSION);
        fprintf(stderr, "replicaof directive not allowed in cluster mode\n");
        return 1;
    }
    return 0;
}

/* What the process needs before anything runs: its title, the allocator's accounting,
 * SIGPIPE ignored, the random seeds. */
static void start_process(void) {
    update_proc_title(NULL);
    mem_init();
    mem_thread_register(); /* before the lazy-free thread: mem_used counts both */
    signal(SIGPIPE, SIG_IGN);
    rand_seed(0);
    dict_set_seed(rand_u64());
}

int server_run(void) {
    if (config_insane()) return 1;
    start_process();
    log_setup((enum log_level)config.loglevel, config.logfile);
    loop = uv_default_loop();
    host_stat.start_ms = clock_now_ms();
    last_sample_us = clock_mono_us();
    install_hooks();

    db_init_all(config.databases);
    /* Cluster mode keeps a key list per hash slot (COUNTKEYSINSLOT, GETKEYSINSLOT, MIGRATE's
     * reshards), set before the first key is loaded. */
    if (config.cluster_enabled) db_set_key_slots(CLUSTER_SLOTS, cluster_keyslot);
    if (load_users() < 0) return 1;
    start_eviction();
    journal_init();
    static const script_host script_hooks = {serve_while_busy, script_busy_changed,
                                             persist_write_refusal, repl_min_replicas_refusal};
    script_init(&script_hooks);
    static const rdb_library_hooks library_hooks = {function_foreach, create_library,
                                                    function_flush_all};
    rdb_set_library_hooks(&library_hooks);
    net_init(loop);
    net_set_before_flush(before_flush);
    if (net_tls_wanted()) {
        char *why = NULL;
        if (net_tls_configure(&why) < 0) {
            log_warning("%s", why);
            log_warning("Failed to configure TLS. Check logs for more info.");
            mem_free(why);
            return 1;
        }
    }
    if (net_listen() < 0) return 1;
    if (cluster_init(clock_now_ms()) < 0) return 1;
    cluster_gate_arm();

    log_startup_banner();
    if (config.pidfile && config.pidfile[0]) {
        FILE *f = fopen(config.pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    start_cycle_timing();
    uv_timer_init(loop, &cron_timer);
    uv_timer_init(loop, &deferred_shutdown);
    uv_idle_init(loop, &backlog_idle);
    uv_idle_init(loop, &load_idle);
    uv_idle_init(loop, &evict_idle);
    start_thread_pool();
    /* Before the bench or an operator pins the loop thread: a thread inherits its CPUs. */
    if (prezero_thread_start() < 0) log_warning("Could not start the table-zeroing thread");
    start_cron();
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    repl_init(loop);
    /* Listeners are open: during a long load clients are answered -LOADING. */
    if (start_loading() < 0) {
        log_load_failure();
        return 1;
    }

    evict_mark_startup();
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    lazyfree_stop();
    script_shutdown();
    db_free_all();
    prezero_thread_stop();
    return 0;
}
