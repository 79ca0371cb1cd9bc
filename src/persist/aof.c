/* aof: the append-only log at run time, Redis 7's multi-part AOF; see aof.h.
 *
 * Files live in dir/appenddirname and are named by the manifest (manifest_int.h): a base
 * (an RDB file with aof-use-rdb-preamble yes, else RESP commands) and increments of RESP
 * commands. State: the manifest as last saved (m), the open increment (fd, its size), the
 * buffer of commands not yet written, and the write status. The log is a journal sink with
 * SELECT framing: the journal writes a SELECT whenever the database changes, and each new
 * increment resets the sink so that it starts with one. Sizes are tracked
 * rather than stat'ed: base_size + old_incr_size + incr_size is aof_current_size.
 *
 * Write failures (disk full) follow Redis: a partial write is cut back with ftruncate so
 * the file never ends in half a command, the bytes stay buffered and are retried by the
 * cron, and until a write succeeds writes are refused with -MISCONF. With appendfsync
 * always the process exits instead, since replies already promised durability. */
#include "mayfly/persist/aof.h"

#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/strconv.h"
#include "persist/aof_base_int.h"
#include "persist/fsync_thread_int.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"
#include "persist/record_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FSYNC_NO 0
#define FSYNC_EVERYSEC 1
#define FSYNC_ALWAYS 2

static int on;                      /* the log is open */
static int first_rewrite;           /* enabled at run time: manifest waits for the rewrite */
static int fd = -1;                 /* the increment being appended to */
static manifest m;                  /* as saved on disk (or to be saved by the first rewrite) */
static buf pending;                 /* commands not yet written */
static long long last_ts;           /* the last #TS annotation written (seconds) */
static uint64_t incr_size;          /* bytes in the open increment */
static uint64_t old_incr_size;      /* bytes in the manifest's other increments */
static uint64_t base_size;          /* bytes in the base */
static uint64_t size_after_rewrite; /* aof_current_size after the last rewrite or load */
static int write_errno;             /* last write or fsync failure, 0 if ok */
static int write_fault;             /* DEBUG AOF-WRITE-ERROR: every write fails with this */
static int flush_sleep_us;          /* DEBUG AOF-FLUSH-SLEEP: slept before each write */
static int unsynced;                /* bytes written since the last fsync was queued */
static int64_t last_fsync_ms;
static long long delayed_fsync;
static int offline; /* rewrite in progress with the log off (BGREWRITEAOF, as Redis) */
/* WAITAOF: replication offsets (aof_repl_offset) the log has reached. */
static long long fsynced_off;  /* fsynced up to here */
static uint64_t written_off;   /* written (not yet fsynced) up to here */
static uint64_t submitted_off; /* the fsync in the thread covers up to here */
static int fsync_inflight;     /* such an fsync is queued or running */

uint64_t (*aof_repl_offset)(void);

static uint64_t repl_now_offset(void) {
    return aof_repl_offset ? aof_repl_offset() : 0;
}

long long aof_fsynced_offset(void) {
    return on && !first_rewrite ? fsynced_off : -1;
}

/* Moves fsynced_off on: the thread's fsync finished, or everything written is fsynced
 * (then the offset may run ahead of the log with stream bytes that never reach it: PINGs,
 * PUBLISH). appendfsync no never fsyncs, so it never moves, as in Redis. */
static void update_fsynced(void) {
    if (fsync_inflight) {
        if (fsync_thread_pending()) return;
        fsync_inflight = 0;
        if ((long long)submitted_off > fsynced_off) fsynced_off = (long long)submitted_off;
    }
    if (config.appendfsync != FSYNC_NO && !unsynced && pending.len == 0 && !write_errno &&
        (long long)repl_now_offset() > fsynced_off)
        fsynced_off = (long long)repl_now_offset();
}

static size_t sink_record(journal_sink *js, const journal_rec *r);
static journal_sink sink = {.name = "aof", .framing = JOURNAL_FRAME_SELECT, .record = sink_record};

void aof_dir(char *out, size_t cap) {
    io_path(out, cap, config.dir, config.appenddirname);
}

int aof_is_on(void) {
    return on;
}
int aof_waiting_first_rewrite(void) {
    return on && first_rewrite;
}
int aof_last_write_errno(void) {
    return write_errno;
}
void aof_set_write_fault(int err) {
    write_fault = err;
}
void aof_set_flush_sleep(int us) {
    flush_sleep_us = us > 0 ? us : 0;
}

static uint64_t current_size(void) {
    return base_size + old_incr_size + incr_size;
}

static uint64_t file_size(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    io_path(path, sizeof(path), dir, name);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Sizes of the base and of the increments but the last (the open one). */
static void measure(const char *dir) {
    base_size = m.base.name[0] ? file_size(dir, m.base.name) : 0;
    old_incr_size = 0;
    for (size_t i = 0; i + 1 < m.nincr; i++)
        old_incr_size += file_size(dir, m.incr[i].name);
}

/* Creates (or opens, keeping its content) the increment name for appending; returns the fd
 * or -1 (logged). */
static int open_incr(const char *dir, const char *name, int truncate) {
    char path[4096];
    io_path(path, sizeof(path), dir, name);
    int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
    if (f < 0) log_warning("Can't open the append-only file %s: %s", path, strerror(errno));
    return f;
}

static int ensure_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    log_warning("Can't create the append-only directory %s: %s", dir, strerror(errno));
    return -1;
}

/* Deletes the history files of m and forgets them (Redis's aofDelHistoryFiles). */
static void delete_history(const char *dir, manifest *mf) {
    if (mf->nhist == 0) return;
    char path[4096];
    for (size_t i = 0; i < mf->nhist; i++) {
        io_path(path, sizeof(path), dir, mf->hist[i].name);
        log_notice("Removing the history file %s", mf->hist[i].name);
        unlink(path);
    }
    manifest_clear_history(mf);
    if (manifest_save(dir, mf) < 0)
        log_warning("Can't update the AOF manifest after removing history: %s", strerror(errno));
}

/* Writes the dataset as a base to dir/<tmp> and renames it to dir/<name>. */
static int write_base_file(const char *dir, const char *tmp, const char *name, int64_t now_ms) {
    char tpath[4096], path[4096];
    io_path(tpath, sizeof(tpath), dir, tmp);
    io_path(path, sizeof(path), dir, name);
    int f = open(tpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f < 0) return -1;
    int rc = aof_base_write(f, now_ms);
    if (rc == 0) rc = fsync(f);
    close(f);
    if (rc == 0) rc = rename(tpath, path);
    if (rc < 0) {
        int saved = errno;
        unlink(tpath);
        errno = saved;
    }
    return rc;
}

/* A new log of the current dataset: a base and an empty increment under a new manifest
 * (Redis writes a base even for an empty dataset). The files an old manifest named are
 * left alone; old gives the sequence numbers to continue from (may be NULL). */
static int create_log(const char *dir, const manifest *old, int64_t now_ms) {
    manifest nm;
    manifest_init(&nm);
    if (old) {
        nm.base_seq = old->base_seq;
        nm.incr_seq = old->incr_seq;
    }
    const char *base = manifest_new_base(&nm, config.aof_use_rdb_preamble);
    if (write_base_file(dir, "temp-rewriteaof-start.aof", base, now_ms) < 0) {
        log_warning("Can't write the AOF base file %s: %s", base, strerror(errno));
        manifest_deinit(&nm);
        return -1;
    }
    log_notice("Creating AOF base file %s on server start", base);
    const char *incr = manifest_new_incr(&nm);
    fd = open_incr(dir, incr, 1);
    if (fd < 0 || fsync(fd) < 0 || io_fsync_dir(dir) < 0 || manifest_save(dir, &nm) < 0) {
        log_warning("Can't create the AOF increment and manifest: %s", strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
        manifest_deinit(&nm);
        return -1;
    }
    log_notice("Creating AOF incr file %s on server start", incr);
    manifest_deinit(&m);
    m = nm;
    incr_size = 0;
    return 0;
}

/* Reopens the manifest's last increment (creating one when it names none). */
static int reopen_log(const char *dir) {
    char err[512];
    manifest_deinit(&m);
    if (manifest_load(dir, &m, err, sizeof(err)) != MANIFEST_OK) {
        log_warning("Can't read the AOF manifest: %s", err);
        return -1;
    }
    int created = m.nincr == 0;
    if (created) manifest_new_incr(&m);
    const char *name = m.incr[m.nincr - 1].name;
    fd = open_incr(dir, name, 0);
    if (fd < 0) return -1;
    if (created && (manifest_save(dir, &m) < 0)) {
        log_warning("Can't update the AOF manifest: %s", strerror(errno));
        return -1;
    }
    log_notice("%s AOF incr file %s on server start", created ? "Creating" : "Opening", name);
    incr_size = file_size(dir, name);
    return 0;
}

int aof_open(int m_loaded, int rewrite, int64_t now_ms) {
    char dir[4096], err[512];
    aof_dir(dir, sizeof(dir));
    if (ensure_dir(dir) < 0) return -1;
    journal_sink_reset_db(&sink);
    if (!m_loaded || rewrite) {
        manifest old;
        int had = manifest_load(dir, &old, err, sizeof(err)) == MANIFEST_OK;
        int rc = create_log(dir, had ? &old : NULL, now_ms);
        if (rc == 0 && had && rewrite)
            log_warning("Converted the Mayfly 0.1 append-only files of %s to Redis's format; "
                        "the old files are no longer named by the manifest and can be deleted",
                        dir);
        if (had) manifest_deinit(&old);
        if (rc < 0) return -1;
    } else if (reopen_log(dir) < 0) {
        return -1;
    }
    measure(dir);
    on = 1;
    first_rewrite = 0;
    fsynced_off = (long long)repl_now_offset(); /* what came before is in the loaded files */
    size_after_rewrite = current_size();
    last_fsync_ms = now_ms;
    if (config.appendfsync == FSYNC_EVERYSEC) fsync_thread_start();
    return 0;
}

int aof_begin_enable(int64_t now_ms) {
    char dir[4096], err[512];
    aof_dir(dir, sizeof(dir));
    if (ensure_dir(dir) < 0) return -1;
    /* No file yet: the caller starts the first rewrite at once, which opens the increment just
     * before it forks, so nothing is fed in between. The manifest is written when the rewrite
     * completes; the files of an older one (left by a log that was on before) become history
     * then and are removed, as Redis does. */
    manifest_deinit(&m);
    if (manifest_load(dir, &m, err, sizeof(err)) != MANIFEST_OK) manifest_init(&m);
    base_size = old_incr_size = incr_size = 0;
    journal_sink_reset_db(&sink);
    on = 1;
    first_rewrite = 1;
    last_fsync_ms = now_ms;
    fsync_thread_start();
    return 0;
}

void aof_close(void) {
    if (!on) return;
    aof_flush_sync();
    fsync_thread_drain();
    if (fd >= 0) close(fd);
    fd = -1;
    on = 0;
    first_rewrite = 0;
    buf_deinit(&pending);
}

/* The journal's records, SELECTs included (JOURNAL_FRAME_SELECT: the journal inserts one
 * whenever the database changes; a new increment resets the stream so it starts with one). */
static size_t sink_record(journal_sink *js, const journal_rec *r) {
    (void)js;
    if (!on) return 0;
    size_t before = pending.len;
    if (config.aof_timestamp_enabled && r->time_ms / 1000 > last_ts) {
        last_ts = r->time_ms / 1000;
        record_put_timestamp(&pending, last_ts);
    }
    if (r->resp.len)
        buf_append(&pending, r->resp.p, r->resp.len); /* already argv's RESP encoding */
    else
        record_put(&pending, r->argc, r->argv);
    return pending.len - before;
}

journal_sink *aof_sink(void) {
    return &sink;
}

/* Writes the buffer. Returns 0 when everything is written, -1 otherwise (status set). */
static int write_pending(void) {
    if (pending.len == 0) return 0;
    if (fd < 0) return -1;
    size_t done = 0;
    errno = write_fault;
    while (!write_fault && done < pending.len) {
        ssize_t n = write(fd, pending.data + done, pending.len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    if (done == pending.len) {
        written_off = repl_now_offset();
        incr_size += done;
        buf_clear(&pending);
        buf_shrink(&pending, 1024 * 1024);
        unsynced = 1;
        if (write_errno) {
            log_warning("AOF write error looks solved, Redis can write again.");
            write_errno = 0;
            persist_misconf_rearm();
        }
        return 0;
    }
    int err = errno ? errno : ENOSPC;
    if (done > 0 && ftruncate(fd, (off_t)incr_size) < 0) {
        /* Could not cut the partial command back: keep what reached the file. */
        incr_size += done;
        buf_consume(&pending, done);
    }
    if (write_errno != err) log_warning("Error writing to the AOF file: %s", strerror(err));
    write_errno = err;
    persist_misconf_rearm();
    return -1;
}

void aof_before_reply(void) {
    if (!on || fd < 0) return;
    if (pending.len == 0) {
        update_fsynced();
        return;
    }
    if (flush_sleep_us) clock_debug_delay(flush_sleep_us);
    int rc = write_pending();
    if (config.appendfsync == FSYNC_ALWAYS) {
        if (rc < 0) {
            log_warning("Can't recover from AOF write error when the AOF fsync policy is "
                        "'always'. Exiting...");
            exit(1);
        }
        if (fdatasync(fd) < 0) {
            log_warning("Can't persist AOF for fsync error when the AOF fsync policy is "
                        "'always': %s. Exiting...",
                        strerror(errno));
            exit(1);
        }
        unsynced = 0;
        fsynced_off = (long long)written_off;
    }
}

void aof_cron(int64_t now_ms) {
    if (!on || fd < 0) return;
    if (pending.len) write_pending(); /* retry after a failure */
    int err = fsync_thread_take_error();
    if (err) {
        log_warning("Error fsyncing the AOF file: %s", strerror(err));
        write_errno = err;
        persist_misconf_rearm();
    }
    if (config.appendfsync == FSYNC_EVERYSEC && unsynced && now_ms - last_fsync_ms >= 1000) {
        if (fsync_thread_pending()) {
            delayed_fsync++;
            return;
        }
        fsync_thread_start();
        submitted_off = written_off;
        fsync_inflight = 1;
        fsync_thread_submit(fd, 0);
        unsynced = 0;
        last_fsync_ms = now_ms;
    }
}

int aof_flush_sync(void) {
    if (!on || fd < 0) return 0;
    if (write_pending() < 0) return -1;
    if (fdatasync(fd) < 0) {
        write_errno = errno;
        persist_misconf_rearm();
        return -1;
    }
    unsynced = 0;
    return 0;
}

/* ---- compaction ---- */

void aof_rewrite_temp_path(char *out, size_t cap, int child_pid) {
    char dir[4096], name[64];
    aof_dir(dir, sizeof(dir));
    snprintf(name, sizeof(name), "temp-rewriteaof-bg-%d.aof", child_pid);
    io_path(out, cap, dir, name);
}

int aof_rewrite_prepare(int64_t now_ms) {
    (void)now_ms;
    char dir[4096];
    aof_dir(dir, sizeof(dir));
    if (!on) {
        /* BGREWRITEAOF with the log off: the child writes a base; install_offline does the
         * rest when it is done. */
        offline = 1;
        return ensure_dir(dir);
    }
    offline = 0;
    if (fd >= 0 && write_pending() < 0) return -1;
    /* First rewrite: what was fed before the fork is in the base the child writes. */
    if (fd < 0) buf_clear(&pending);
    manifest nm;
    manifest_copy(&nm, &m);
    const char *name = manifest_new_incr(&nm);
    int nfd = open_incr(dir, name, 1);
    if (nfd < 0 || fsync(nfd) < 0 || io_fsync_dir(dir) < 0 ||
        (!first_rewrite && manifest_save(dir, &nm) < 0)) {
        log_warning("Can't open a new AOF increment for the rewrite: %s", strerror(errno));
        if (nfd >= 0) close(nfd);
        manifest_deinit(&nm);
        return -1;
    }
    log_notice("Creating AOF incr file %s on background rewrite", name);
    /* The old increment gets its last fsync (and close) from the thread. */
    fsync_thread_start();
    if (fd >= 0) fsync_thread_submit(fd, 1);
    fd = nfd;
    old_incr_size += incr_size;
    incr_size = 0;
    journal_sink_reset_db(&sink);
    manifest_deinit(&m);
    m = nm;
    return 0;
}

int aof_rewrite_child(int64_t now_ms) {
    char path[4096];
    aof_rewrite_temp_path(path, sizeof(path), (int)getpid());
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0) return 1;
    int rc = aof_base_write(f, now_ms) < 0 || fsync(f) < 0;
    close(f);
    return rc;
}

/* Renames the child's temp file to a new base of nm (whose increments but keep_last become
 * history), saves nm and deletes the history. Returns 0 or -1 (logged; tmp removed). */
static int install_base(const char *dir, const char *tmp, manifest *nm, int keep_last) {
    char path[4096];
    const char *name = manifest_new_base(nm, config.aof_use_rdb_preamble);
    io_path(path, sizeof(path), dir, name);
    if (rename(tmp, path) < 0 || io_fsync_dir(dir) < 0) {
        log_warning("Can't install the rewritten AOF base %s: %s", name, strerror(errno));
        unlink(tmp);
        return -1;
    }
    manifest_retire_incr(nm, keep_last);
    if (manifest_save(dir, nm) < 0) {
        log_warning("Can't update the AOF manifest after a rewrite: %s", strerror(errno));
        unlink(path);
        return -1;
    }
    delete_history(dir, nm);
    return 0;
}

void aof_rewrite_done(int ok, int child_pid, int64_t now_ms) {
    (void)now_ms;
    char dir[4096], tmp[4096], err[512];
    aof_dir(dir, sizeof(dir));
    aof_rewrite_temp_path(tmp, sizeof(tmp), child_pid);
    int was_offline = offline;
    offline = 0;
    if (!ok || (was_offline && on) || (!was_offline && !on)) {
        unlink(tmp);
        return;
    }
    manifest nm;
    if (was_offline) {
        /* The log is off: the new base replaces every file of the old manifest, and a start
         * with appendonly yes loads it and opens an increment after it. */
        if (manifest_load(dir, &nm, err, sizeof(err)) != MANIFEST_OK) manifest_init(&nm);
        if (install_base(dir, tmp, &nm, 0) == 0)
            log_notice("Background AOF rewrite finished successfully");
        manifest_deinit(&nm);
        return;
    }
    manifest_copy(&nm, &m);
    if (install_base(dir, tmp, &nm, 1) < 0) {
        manifest_deinit(&nm);
        return;
    }
    manifest_deinit(&m);
    m = nm;
    if (first_rewrite) fsynced_off = 0; /* WAITAOF counts from now on (update_fsynced) */
    first_rewrite = 0;
    measure(dir);
    size_after_rewrite = current_size();
    log_notice("Background AOF rewrite finished successfully");
}

int aof_rewrite_due(void) {
    if (!on || config.auto_aof_rewrite_percentage <= 0) return 0;
    uint64_t cur = current_size();
    if ((long long)cur < config.auto_aof_rewrite_min_size) return 0;
    uint64_t base = size_after_rewrite ? size_after_rewrite : 1;
    if (cur <= base) return 0;
    return (cur - base) * 100 / base >= (uint64_t)config.auto_aof_rewrite_percentage;
}

void aof_info(buf *b) {
    buf_printf(b,
               "aof_current_size:%llu\r\n"
               "aof_base_size:%llu\r\n"
               "aof_pending_rewrite:0\r\n"
               "aof_buffer_length:%zu\r\n"
               "aof_pending_bio_fsync:%d\r\n"
               "aof_delayed_fsync:%lld\r\n",
               (unsigned long long)current_size(), (unsigned long long)size_after_rewrite,
               pending.len, fsync_thread_pending(), delayed_fsync);
}

size_t aof_buffered(void) {
    return pending.cap;
}
