/* persist: the facade over snapshots, the log, loading and the child; see persist.h.
 *
 * Save rules ("save 3600 1 300 100 60 10000"): a BGSAVE starts when, for some pair, at
 * least <changes> writes happened and more than <seconds> passed since the last good save;
 * after a failure, not sooner than 5 seconds after the previous attempt (Redis's
 * CONFIG_BGSAVE_RETRY_DELAY). */
#include "mayfly/persist/persist.h"

#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/info.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/persist/aof.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "persist/fsync_thread_int.h"
#include "persist/io_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define BGSAVE_RETRY_DELAY_MS 5000
#define MISCONF_SNAPSHOT                                                                           \
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "     \
    "to disk. Commands that may modify the data set are disabled, because this instance is "       \
    "configured to report errors during writes if RDB snapshotting fails "                         \
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "     \
    "RDB error."

/* CHILD_SNAPSHOT writes the snapshot file (for BGSAVE, the save rules, or replicas when
 * for_repl); CHILD_REPL_SOCKET writes an RDB into a pipe for a diskless transfer. */
enum child_kind { CHILD_NONE, CHILD_SNAPSHOT, CHILD_REWRITE, CHILD_REPL_SOCKET };

static struct {
    pid_t pid;
    enum child_kind kind;
    int64_t start_ms;
    long long dirty_at_fork;
    int for_repl;    /* a replica waits for what it writes */
    int repl_fd;     /* CHILD_REPL_SOCKET: the pipe */
    char mark[40];   /* CHILD_REPL_SOCKET: the end mark */
    int rdb_version; /* 10 when the dataset holds no field TTL (Redis 7.0 reads it), else 0 */
    int no_data;     /* CHILD_REPL_SOCKET: PERSIST_NO_DATA_* (rdb-filter-only) */
} child = {.repl_fd = -1};

int (*persist_repl_info)(char replid[41], uint64_t *offset, int *stream_db);
void (*persist_repl_loaded)(const char *replid, uint64_t offset, int stream_db);
void (*persist_repl_expired)(int dbid, slice key);
void (*persist_repl_child_done)(int ok);

static int64_t lastsave_ms;        /* last successful save */
static int64_t last_bgsave_try_ms; /* last BGSAVE attempt */
static int last_bgsave_ok = 1, last_rewrite_ok = 1;
static long long last_bgsave_secs = -1, last_rewrite_secs = -1;
static long long saves, rewrites, rewrite_failures_in_row;
static int bgsave_scheduled, rewrite_scheduled;
static char misconf_aof[160];

/* ---- loading ---- */

static void snapshot_temp_name(char *out, size_t cap, int pid) {
    snprintf(out, cap, "temp-%d.rdb", pid);
}

/* A snapshot of Mayfly 0.1 was loaded: keep it as <dbfilename>.mayfly-0.1 and write the
 * dataset in RDB in its place, so that the next start (and Redis) read the new format. */
static int convert_legacy_snapshot(int64_t now_ms) {
    char path[4096], keep[4200], tmp[64];
    io_path(path, sizeof(path), config.dir, config.dbfilename);
    snprintf(keep, sizeof(keep), "%s.mayfly-0.1", path);
    if (link(path, keep) < 0 && errno != EEXIST) {
        log_warning("Can't keep a copy of the Mayfly 0.1 snapshot as %s: %s", keep,
                    strerror(errno));
        return -1;
    }
    snapshot_temp_name(tmp, sizeof(tmp), (int)getpid());
    if (snapshot_save(config.dir, tmp, config.dbfilename, now_ms, 0) < 0) {
        log_warning("Can't convert the Mayfly 0.1 snapshot %s to RDB: %s", path, strerror(errno));
        return -1;
    }
    log_warning("Converted the Mayfly 0.1 snapshot %s to an RDB file (RDB version %d); the old "
                "file is kept as %s",
                path, RDB_VERSION, keep);
    return 0;
}

static int loaded(int64_t now_ms) {
    armed_set(&host_stat.loading, 0);
    lastsave_ms = now_ms;
    if (load_was_legacy_snapshot() && convert_legacy_snapshot(now_ms) < 0) return LOAD_FAILED;
    if (config.appendonly && aof_open(load_used_manifest(), load_needs_rewrite(), now_ms) < 0)
        return LOAD_FAILED;
    return LOAD_DONE;
}

int persist_load_begin(int64_t now_ms, load_replay_fn *replay) {
    lastsave_ms = now_ms;
    armed_set(&host_stat.loading, 1);
    int rc = load_begin(now_ms, replay);
    if (rc == LOAD_DONE) return loaded(now_ms);
    return rc;
}

int persist_load_step(int64_t budget_us) {
    int rc = load_step(budget_us);
    if (rc == LOAD_DONE) return loaded(clock_now_ms());
    return rc;
}

/* ---- the child ---- */

/* A diskless transfer: "$EOF:<mark>\r\n", the RDB, the mark, into the pipe. */
static int repl_socket_body(int64_t now_ms) {
    char head[64];
    int n = snprintf(head, sizeof(head), "$EOF:%.40s\r\n", child.mark);
    if (io_write_all(child.repl_fd, head, (size_t)n) < 0) return 1;
    int rc = child.no_data
                 ? snapshot_write_empty_fd(child.repl_fd, now_ms, child.rdb_version,
                                           child.no_data == PERSIST_NO_DATA_FUNCTIONS)
                 : snapshot_write_fd_version(child.repl_fd, now_ms, 0, child.rdb_version, NULL);
    if (rc < 0) return 1;
    if (io_write_all(child.repl_fd, child.mark, sizeof(child.mark)) < 0) return 1;
    return close(child.repl_fd) < 0 ? 1 : 0;
}

static int child_body(enum child_kind kind, int64_t now_ms) {
    if (kind == CHILD_REWRITE) return aof_rewrite_child(now_ms);
    if (kind == CHILD_REPL_SOCKET) return repl_socket_body(now_ms);
    char tmp[64];
    snapshot_temp_name(tmp, sizeof(tmp), (int)getpid());
    return snapshot_save_version(config.dir, tmp, config.dbfilename, now_ms, 0,
                                 child.for_repl ? child.rdb_version : 0) < 0
               ? 1
               : 0;
}

/* Forks a child of the kind. Returns 0 or -1 (errno set). */
static int start_child(enum child_kind kind, int64_t now_ms) {
    long long dirty = db_stat.dirty;
    int64_t fork_start = clock_mono_us();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid > 0) {
        host_stat.total_forks++;
        host_stat.latest_fork_usec = clock_mono_us() - fork_start;
    }
    if (pid == 0) {
        /* The loop's signal handlers would write to the parent's loop: restore defaults. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGUSR1, SIG_DFL);
        /* Die with the server, and let go of its sockets. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (host.after_fork_child) host.after_fork_child();
        _exit(child_body(kind, now_ms));
    }
    child.pid = pid;
    child.kind = kind;
    child.start_ms = now_ms;
    child.dirty_at_fork = dirty;
    return 0;
}

/* ok: 1 the child did its work, 0 it failed, -1 the server stopped it (SIGUSR1), which
 * Redis does not count as a failed save. */
static void child_done(int ok, int64_t now_ms) {
    long long secs = (now_ms - child.start_ms) / 1000;
    int for_repl = child.for_repl;
    child.for_repl = 0;
    if (child.kind == CHILD_REPL_SOCKET) {
        if (ok)
            log_notice("Background RDB transfer terminated with success");
        else
            log_warning("Background transfer error");
    } else if (child.kind == CHILD_SNAPSHOT) {
        if (ok >= 0) last_bgsave_ok = ok;
        persist_misconf_rearm();
        last_bgsave_secs = secs;
        if (ok < 0) {
            log_warning("Background saving terminated by signal %d", SIGUSR1);
            char tmp[64], path[4096];
            snapshot_temp_name(tmp, sizeof(tmp), (int)child.pid);
            io_path(path, sizeof(path), config.dir, tmp);
            unlink(path);
        } else if (ok) {
            log_notice("Background saving terminated with success");
            db_stat.dirty -= child.dirty_at_fork;
            lastsave_ms = now_ms;
            saves++;
        } else {
            log_warning("Background saving error");
            char tmp[64], path[4096];
            snapshot_temp_name(tmp, sizeof(tmp), (int)child.pid);
            io_path(path, sizeof(path), config.dir, tmp);
            unlink(path);
        }
    } else {
        if (ok < 0) ok = 0;
        aof_rewrite_done(ok, (int)child.pid, now_ms);
        last_rewrite_ok = ok;
        last_rewrite_secs = secs;
        if (ok) {
            rewrites++;
            rewrite_failures_in_row = 0;
        } else {
            log_warning("Background AOF rewrite terminated with error");
            rewrite_failures_in_row++;
        }
    }
    child.pid = 0;
    child.kind = CHILD_NONE;
    if (for_repl && persist_repl_child_done) persist_repl_child_done(ok);
}

static void check_child(int64_t now_ms) {
    if (!child.pid) return;
    int status;
    pid_t r = waitpid(child.pid, &status, WNOHANG);
    if (r == 0) return;
    int ok = r == child.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    child_done(ok, now_ms);
}

/* Stops a running child and removes its temp file (shutdown, appendonly no). */
static void kill_child(void) {
    if (!child.pid) return;
    kill(child.pid, SIGUSR1);
    waitpid(child.pid, NULL, 0);
    child_done(-1, clock_now_ms());
}

static int bgsave_now(int64_t now_ms) {
    last_bgsave_try_ms = now_ms;
    if (start_child(CHILD_SNAPSHOT, now_ms) < 0) {
        last_bgsave_ok = 0;
        persist_misconf_rearm();
        log_warning("Can't save in background: fork: %s", strerror(errno));
        return -1;
    }
    log_notice("Background saving started by pid %d", (int)child.pid);
    return 0;
}

static int rewrite_now(int64_t now_ms) {
    rewrite_scheduled = 0;
    if (aof_rewrite_prepare(now_ms) < 0) {
        last_rewrite_ok = 0;
        rewrite_failures_in_row++;
        return -1;
    }
    if (start_child(CHILD_REWRITE, now_ms) < 0) {
        log_warning("Can't rewrite append only file in background: fork: %s", strerror(errno));
        last_rewrite_ok = 0;
        rewrite_failures_in_row++;
        return -1;
    }
    log_notice("Background append only file rewriting started by pid %d", (int)child.pid);
    return 0;
}

/* ---- snapshots for replicas ---- */

int persist_child_running(void) {
    return child.pid != 0;
}

int persist_repl_child_start(int fd, const char *mark, int no_data) {
    if (child.pid) {
        if (fd >= 0) close(fd);
        errno = EBUSY;
        return -1;
    }
    int64_t now = clock_now_ms();
    child.rdb_version = !no_data && rdb_dataset_has_field_ttls() ? 0 : 10;
    child.no_data = no_data;
    child.repl_fd = fd;
    if (fd >= 0) memcpy(child.mark, mark, sizeof(child.mark));
    int rc = start_child(fd >= 0 ? CHILD_REPL_SOCKET : CHILD_SNAPSHOT, now);
    int e = errno;
    if (fd >= 0) close(fd); /* the child has it */
    child.repl_fd = -1;
    if (rc < 0) {
        errno = e;
        log_warning("Can't save in background: fork: %s", strerror(e));
        return -1;
    }
    child.for_repl = 1;
    if (fd < 0) last_bgsave_try_ms = now;
    log_notice("Background RDB transfer started by pid %d", (int)child.pid);
    return 0;
}

void persist_repl_child_kill(void) {
    if (child.pid && child.for_repl) kill_child();
}

void persist_snapshot_path(char *out, size_t cap) {
    io_path(out, cap, config.dir, config.dbfilename);
}

/* ---- a replica's full sync ---- */

static snapshot_loader repl_loader;
static int repl_loading;

/* Every key and function library goes (before a dataset is loaded in place of this one,
 * as Redis's emptyData). */
static void flush_all(void) {
    for (int id = 0; id < db_count(); id++)
        db_flush(db_get(id));
    const rdb_library_hooks *libs = rdb_library_hooks_get();
    if (libs && libs->flush) libs->flush();
}

/* Nothing may write the old dataset meanwhile: a child would overwrite the new file, and
 * the log describes the old data (Redis stops both the same way). */
static void repl_load_prepare(void) {
    kill_child();
    if (aof_is_on()) aof_close();
    armed_set(&host_stat.loading, 1);
    flush_all();
}

int persist_repl_load_begin(const char *path) {
    repl_load_prepare();
    /* A replica keeps keys past their TTL: its primary deletes them. */
    int rc = snapshot_load_begin(&repl_loader, path, 0);
    if (rc != SNAP_MORE) {
        log_warning("Can't load %s: %s", path, repl_loader.err);
        snapshot_load_end(&repl_loader);
        armed_set(&host_stat.loading, 0);
        return LOAD_FAILED;
    }
    repl_loading = 1;
    return LOAD_MORE;
}

static int repl_load_finished(void) {
    long long keys = repl_loader.keys_loaded;
    int pushed = repl_loader.push;
    snapshot_load_end(&repl_loader);
    repl_loading = 0;
    armed_set(&host_stat.loading, 0);
    db_stat.dirty++;
    log_notice("Done loading RDB, keys loaded: %lld.", keys);
    int64_t now = clock_now_ms();
    if (!pushed) lastsave_ms = now; /* the snapshot file holds it */
    if (config.appendonly && aof_begin_enable(now) == 0) {
        log_notice("MASTER <-> REPLICA sync: Starting AOF after a successful sync");
        if (child.pid || host_stat.in_exec)
            rewrite_scheduled = 1;
        else if (rewrite_now(now) < 0)
            aof_close();
    }
    return LOAD_DONE;
}

int persist_repl_load_step(int64_t budget_us) {
    if (!repl_loading) return LOAD_FAILED;
    int64_t start = clock_mono_us();
    for (;;) {
        int rc = snapshot_load_step(&repl_loader, 256);
        if (rc == SNAP_DONE) return repl_load_finished();
        if (rc != SNAP_MORE) {
            log_warning("Short read or damage loading the RDB received from the master at "
                        "offset %llu: %s",
                        (unsigned long long)repl_loader.err_offset, repl_loader.err);
            persist_repl_load_abort();
            return LOAD_FAILED;
        }
        if (clock_mono_us() - start >= budget_us) return LOAD_MORE;
    }
}

void persist_repl_load_begin_stream(uint64_t size_hint) {
    repl_load_prepare();
    snapshot_load_begin_push(&repl_loader, 0, size_hint);
    repl_loading = 1;
}

int persist_repl_load_feed(const char *p, size_t len) {
    if (!repl_loading) return LOAD_FAILED;
    if (p)
        snapshot_load_feed(&repl_loader, p, len);
    else
        snapshot_load_feed_end(&repl_loader);
    for (;;) {
        int rc = snapshot_load_step(&repl_loader, 256);
        if (rc == SNAP_WANT) return LOAD_MORE;
        if (rc == SNAP_DONE) return repl_load_finished();
        if (rc != SNAP_MORE) {
            log_warning("Damage in the RDB received from the master at offset %llu: %s",
                        (unsigned long long)repl_loader.err_offset, repl_loader.err);
            persist_repl_load_abort();
            return LOAD_FAILED;
        }
    }
}

int persist_repl_loading(void) {
    return repl_loading;
}

void persist_repl_load_abort(void) {
    if (!repl_loading) return;
    snapshot_load_end(&repl_loader);
    repl_loading = 0;
    flush_all(); /* a half-loaded dataset is worse than none */
    armed_set(&host_stat.loading, 0);
}

/* ---- cron ---- */

/* 1 if a save rule says it is time to save. */
static int save_rule_due(int64_t now_ms) {
    if (!config.save || !config.save[0]) return 0;
    if (!last_bgsave_ok && now_ms - last_bgsave_try_ms < BGSAVE_RETRY_DELAY_MS) return 0;
    const char *p = config.save;
    char *end;
    for (;;) {
        long long secs = strtoll(p, &end, 10);
        if (end == p) return 0;
        p = end;
        long long changes = strtoll(p, &end, 10);
        if (end == p) return 0;
        p = end;
        if (db_stat.dirty >= changes && (now_ms - lastsave_ms) / 1000 > secs) {
            log_notice("%lld changes in %lld seconds. Saving...", changes, secs);
            return 1;
        }
    }
}

void persist_cron(int64_t now_ms) {
    if (host_stat.loading) return;
    check_child(now_ms);
    aof_cron(now_ms);
    if (child.pid) return;
    if (aof_waiting_first_rewrite() || rewrite_scheduled) {
        rewrite_now(now_ms);
        return;
    }
    if (bgsave_scheduled || save_rule_due(now_ms)) {
        bgsave_scheduled = 0;
        bgsave_now(now_ms);
        return;
    }
    if (aof_rewrite_due()) {
        log_notice("Starting automatic rewriting of AOF on growth");
        rewrite_now(now_ms);
    }
}

void persist_before_reply(void) {
    aof_before_reply();
}

/* ---- shutdown and configuration ---- */

int persist_shutdown(int flags) {
    kill_child();
    if (aof_is_on()) {
        log_notice("Calling fsync() on the AOF file.");
        if (aof_flush_sync() < 0) log_warning("Error writing the AOF on shutdown");
        fsync_thread_drain();
    }
    int save = (config.save && config.save[0] && !(flags & HOST_SHUTDOWN_NOSAVE)) ||
               (flags & HOST_SHUTDOWN_SAVE);
    if (!save) return 0;
    log_notice("Saving the final snapshot before exiting.");
    char tmp[64];
    snapshot_temp_name(tmp, sizeof(tmp), (int)getpid());
    if (snapshot_save(config.dir, tmp, config.dbfilename, clock_now_ms(), 0) < 0) {
        log_warning("Error trying to save the DB, can't exit: %s", strerror(errno));
        return (flags & HOST_SHUTDOWN_FORCE) ? 0 : -1;
    }
    log_notice("DB saved on disk");
    return 0;
}

/* ---- directives ---- */

static int parse_save(const char *v, const char **err) {
    /* "" disables; otherwise pairs of positive integers. */
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", v);
    int count = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        long long n;
        if (str_to_ll(t, strlen(t), &n) < 0 || n < 0) {
            *err = "Invalid save parameters";
            return -1;
        }
        count++;
    }
    if (count % 2) {
        *err = "Invalid save parameters";
        return -1;
    }
    mem_free(config.save);
    config.save = mem_strdup(v);
    return 0;
}

static void print_save(buf *out) {
    buf_puts(out, config.save ? config.save : "");
}

/* CONFIG SET appendonly: open the log (with a rewrite that writes its base) or close it. */
static int apply_appendonly(const char **err) {
    (void)err;
    if (config.appendonly && !aof_is_on()) {
        /* A rewrite started with the log off would install a log of its own. */
        if (child.pid && child.kind == CHILD_REWRITE) kill_child();
        if (aof_begin_enable(clock_now_ms()) < 0) return 0;
        if (child.pid || host_stat.in_exec) {
            rewrite_scheduled = 1;
            log_warning(host_stat.in_exec
                            ? "AOF was enabled during a transaction. An AOF background was "
                              "scheduled to start when possible."
                            : "AOF was enabled but there is already another background "
                              "operation. An AOF background was scheduled to start when "
                              "possible.");
        } else if (rewrite_now(clock_now_ms()) < 0) {
            aof_close();
        }
    } else if (!config.appendonly && aof_is_on()) {
        if (child.pid && child.kind == CHILD_REWRITE) kill_child();
        aof_close();
    }
    return 0;
}

static int apply_appendfsync(const char **err) {
    (void)err;
    if (config.appendfsync == 1) fsync_thread_start();
    return 0;
}

static const char *const fsync_names[] = {"no", "everysec", "always", NULL};
static const char *const fsync_shown[] = {"everysec", "always", "no", NULL};

const config_row persist_config_rows[] = {
    CONFIG_STR_ROW("dir", &config.dir, CONFIG_PROTECTED | CONFIG_DENY_LOADING, "./"),
    CONFIG_STR_ROW("dbfilename", &config.dbfilename, CONFIG_PROTECTED, "dump.rdb"),
    {.name = "save",
     .kind = CONFIG_SPECIAL,
     .flags = CONFIG_LINES_ADD,
     .def = "3600 1 300 100 60 10000",
     .parse = parse_save,
     .print = print_save},
    {.name = "appendonly",
     .kind = CONFIG_BOOL,
     .ptr = &config.appendonly,
     .max = 1,
     .def = "no",
     .apply = apply_appendonly},
    {.name = "appendfsync",
     .kind = CONFIG_ENUM,
     .ptr = &config.appendfsync,
     .names = fsync_names,
     .shown = fsync_shown,
     .def = "everysec",
     .apply = apply_appendfsync},
    CONFIG_STR_ROW("appenddirname", &config.appenddirname, CONFIG_IMMUTABLE, "appendonlydir"),
    CONFIG_STR_ROW("appendfilename", &config.appendfilename, CONFIG_IMMUTABLE, "appendonly.aof"),
    CONFIG_INT_ROW("auto-aof-rewrite-percentage", &config.auto_aof_rewrite_percentage, 0, INT_MAX,
                   "100"),
    CONFIG_MEM_ROW("auto-aof-rewrite-min-size", &config.auto_aof_rewrite_min_size, 0, LLONG_MAX,
                   "64mb"),
    CONFIG_BOOL_ROW("aof-load-truncated", &config.aof_load_truncated, "yes"),
    CONFIG_BOOL_ROW("stop-writes-on-bgsave-error", &config.stop_writes_on_bgsave_error, "yes"),
    CONFIG_BOOL_ROW("aof-timestamp-enabled", &config.aof_timestamp_enabled, "no"),
    CONFIG_BOOL_ROW("aof-use-rdb-preamble", &config.aof_use_rdb_preamble, "yes"),
    {.name = "rdbchecksum",
     .kind = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &config.rdbchecksum,
     .max = 1,
     .def = "yes"},
    CONFIG_BOOL_ROW("rdbcompression", &config.rdbcompression, "yes"),
    /* Redis's hidden test aid: microseconds to sleep after each key (or log record) loaded;
     * negative -N sleeps 1 us once every N keys on average. */
    {.name = "key-load-delay",
     .kind = CONFIG_INT,
     .flags = CONFIG_HIDDEN,
     .ptr = &config.key_load_delay,
     .min = INT_MIN,
     .max = INT_MAX,
     .def = "0"},
    /* Redis's hidden test aid: microseconds to sleep after each key an RDB gets (SAVE,
     * BGSAVE, a replica's transfer, an AOF's base), same negative form; it makes a
     * snapshot child slow enough for tests to act while it runs. */
    {.name = "rdb-key-save-delay",
     .kind = CONFIG_INT,
     .flags = CONFIG_HIDDEN,
     .ptr = &config.rdb_key_save_delay,
     .min = INT_MIN,
     .max = INT_MAX,
     .def = "0"},
    /* Redis's hidden directive: how many bytes a load reads between two turns of the event
     * loop (Mayfly's load steps also end after 5 ms of work). */
    {.name = "loading-process-events-interval-bytes",
     .kind = CONFIG_INT,
     .flags = CONFIG_HIDDEN,
     .ptr = &config.loading_events_interval_bytes,
     .min = 1024,
     .max = INT_MAX,
     .def = "2097152"},
    {0},
};

/* ---- host ops ---- */

const char *persist_write_refusal(void) {
    if (config.stop_writes_on_bgsave_error && config.save && config.save[0] && !last_bgsave_ok)
        return MISCONF_SNAPSHOT;
    int e = aof_is_on() ? aof_last_write_errno() : 0;
    if (e) {
        snprintf(misconf_aof, sizeof(misconf_aof), "MISCONF Errors writing to the AOF file: %s",
                 strerror(e));
        return misconf_aof;
    }
    return NULL;
}

/* ---- dispatch gates ---- */

/* The MISCONF gate's switch: on while a snapshot or a log write has failed (the refusal
 * itself also looks at the settings). */
static int misconf_armed;

void persist_misconf_rearm(void) {
    armed_set(&misconf_armed, !last_bgsave_ok || aof_last_write_errno() != 0);
}

static const char *check_misconf(cmd_ctx *c, char *msg, size_t cap) {
    (void)c;
    (void)msg;
    (void)cap;
    return persist_write_refusal();
}

static const char *check_loading(cmd_ctx *c, char *msg, size_t cap) {
    (void)c;
    (void)msg;
    (void)cap;
    return host_stat.loading ? "LOADING Redis is loading the dataset in memory" : NULL;
}

/* Writes (and PING, as Redis does, so a health check sees the error) while the disk
 * refuses them; any command without the loading flag while the dataset loads. */
const cmd_gate persist_gate_misconf = {.name = "misconf",
                                       .order = CMD_GATE_MISCONF,
                                       .when_any = CMD_WRITE | CMD_MISCONF_DENY,
                                       .armed = &misconf_armed,
                                       .check = check_misconf};
const cmd_gate persist_gate_loading = {.name = "loading",
                                       .order = CMD_GATE_LOADING,
                                       .unless_any = CMD_LOADING,
                                       .armed = &host_stat.loading,
                                       .check = check_loading};

/* A child writing an RDB (BGSAVE, or for replicas): what Redis calls an RDB child. */
static int rdb_child(void) {
    return child.pid && (child.kind == CHILD_SNAPSHOT || child.kind == CHILD_REPL_SOCKET);
}

/* FLUSHALL with save points: see persist.h. */
void persist_flushall_save(void) {
    if (rdb_child()) kill_child();
    if (!config.save || !config.save[0]) return;
    const char *msg;
    (void)persist_save(&msg); /* a failure is logged and counted as a failed save */
}

/* DEBUG RELOAD: see persist.h. Loads in one go, as Redis's rdbLoad from DEBUG (the server
 * serves nobody meanwhile); keys already past their TTL are dropped on a primary. */
int persist_debug_reload(int save, int flush, int merge, const char **msg) {
    if (save && persist_save(msg) < 0) return -1;
    char path[4096];
    persist_snapshot_path(path, sizeof(path));
    if (flush) flush_all();
    static snapshot_loader l;
    int rc = snapshot_load_begin(&l, path, host_stat.replica ? 0 : clock_now_ms());
    l.allow_dup = merge;
    while (rc == SNAP_MORE)
        rc = snapshot_load_step(&l, 4096);
    if (rc != SNAP_DONE) log_warning("Can't load %s: %s", path, l.err);
    snapshot_load_end(&l);
    if (rc != SNAP_DONE) {
        *msg = "ERR Error trying to load the RDB dump, check server logs.";
        return -1;
    }
    db_stat.dirty++;
    log_notice("DB reloaded by DEBUG RELOAD");
    *msg = "OK";
    return 0;
}

int persist_save(const char **msg) {
    if (rdb_child()) {
        *msg = "ERR Background save already in progress";
        return -1;
    }
    int64_t now = clock_now_ms();
    char tmp[64];
    snapshot_temp_name(tmp, sizeof(tmp), (int)getpid());
    if (snapshot_save(config.dir, tmp, config.dbfilename, now, 0) < 0) {
        log_warning("Failed saving the DB: %s", strerror(errno));
        last_bgsave_ok = 0;
        persist_misconf_rearm();
        *msg = "ERR";
        return -1;
    }
    log_notice("DB saved on disk");
    db_stat.dirty = 0;
    lastsave_ms = now;
    last_bgsave_ok = 1;
    persist_misconf_rearm();
    saves++;
    *msg = "OK";
    return 0;
}

int persist_bgsave(int schedule, const char **msg) {
    if (rdb_child()) {
        *msg = "ERR Background save already in progress";
        return -1;
    }
    if (child.pid || host_stat.in_exec) {
        if (!schedule && !host_stat.in_exec) {
            *msg = "ERR Another child process is active (AOF?): can't BGSAVE right now. Use "
                   "BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";
            return -1;
        }
        bgsave_scheduled = 1;
        *msg = "Background saving scheduled";
        return 0;
    }
    if (bgsave_now(clock_now_ms()) < 0) {
        *msg = "ERR Background save failed: can't fork";
        return -1;
    }
    *msg = "Background saving started";
    return 0;
}

int persist_bgrewriteaof(const char **msg) {
    if (child.pid && child.kind == CHILD_REWRITE) {
        *msg = "ERR Background append only file rewriting already in progress";
        return -1;
    }
    /* Inside EXEC, as Redis: no fork in the middle of a transaction; the cron starts it. */
    if (child.pid || host_stat.in_exec) {
        rewrite_scheduled = 1;
        *msg = "Background append only file rewriting scheduled";
        return 0;
    }
    if (rewrite_now(clock_now_ms()) < 0) {
        *msg = "ERR Can't execute an AOF background rewriting. Please check the server logs "
               "for more information.";
        return -1;
    }
    *msg = "Background append only file rewriting started";
    return 0;
}

long long persist_lastsave(void) {
    return lastsave_ms / 1000;
}

/* ---- INFO ---- */

static void write_info(buf *b, int64_t now) {
    int bg = rdb_child();
    int rw = child.pid && child.kind == CHILD_REWRITE;
    buf_printf(b,
               "# Persistence\r\n"
               "loading:%d\r\n"
               "async_loading:0\r\n"
               "current_cow_peak:0\r\n"
               "current_cow_size:0\r\n"
               "current_cow_size_age:0\r\n"
               "current_fork_perc:0.00\r\n"
               "current_save_keys_processed:0\r\n"
               "current_save_keys_total:0\r\n"
               "rdb_changes_since_last_save:%lld\r\n"
               "rdb_bgsave_in_progress:%d\r\n"
               "rdb_last_save_time:%lld\r\n"
               "rdb_last_bgsave_status:%s\r\n"
               "rdb_last_bgsave_time_sec:%lld\r\n"
               "rdb_current_bgsave_time_sec:%lld\r\n"
               "rdb_saves:%lld\r\n"
               "rdb_last_cow_size:0\r\n"
               "rdb_last_load_keys_expired:%lld\r\n"
               "rdb_last_load_keys_loaded:%lld\r\n"
               "aof_enabled:%d\r\n"
               "aof_rewrite_in_progress:%d\r\n"
               "aof_rewrite_scheduled:%d\r\n"
               "aof_last_rewrite_time_sec:%lld\r\n"
               "aof_current_rewrite_time_sec:%lld\r\n"
               "aof_last_bgrewrite_status:%s\r\n"
               "aof_rewrites:%lld\r\n"
               "aof_rewrites_consecutive_failures:%lld\r\n"
               "aof_last_write_status:%s\r\n"
               "aof_last_cow_size:0\r\n"
               "module_fork_in_progress:0\r\n"
               "module_fork_last_cow_size:0\r\n",
               host_stat.loading, db_stat.dirty, bg, (long long)(lastsave_ms / 1000),
               last_bgsave_ok ? "ok" : "err", last_bgsave_secs,
               bg ? (long long)((now - child.start_ms) / 1000) : -1LL, saves, load_keys_expired(),
               load_keys_loaded(), config.appendonly, rw,
               rewrite_scheduled || aof_waiting_first_rewrite(), last_rewrite_secs,
               rw ? (long long)((now - child.start_ms) / 1000) : -1LL,
               last_rewrite_ok ? "ok" : "err", rewrites, rewrite_failures_in_row,
               aof_last_write_errno() ? "err" : "ok");
    if (aof_is_on()) aof_info(b);
    if (host_stat.loading) load_info(b, now);
}

const info_section persist_info_section = {"persistence", INFO_PERSISTENCE, 1, write_info};
