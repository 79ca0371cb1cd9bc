/* aof: the append-only log at run time; see aof.h.
 *
 * State: the manifest as last saved (m), the open increment (fd, its size), the buffer of
 * records not yet written, and the write status. Sizes are tracked rather than stat'ed:
 * base_size + old_incr_size + incr_size is aof_current_size.
 *
 * Write failures (disk full) follow Redis: a partial write is cut back with ftruncate so
 * the file never ends in half a record, the bytes stay buffered and are retried by the
 * cron, and until a write succeeds writes are refused with -MISCONF. With appendfsync
 * always the process exits instead, since replies already promised durability. */
#include "mayfly/persist/aof.h"

#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/log.h"
#include "persist/fsync_thread_int.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"
#include "persist/record_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FSYNC_NO 0
#define FSYNC_EVERYSEC 1
#define FSYNC_ALWAYS 2

static int on;                      /* the log is open */
static int first_rewrite;           /* enabled at run time: manifest waits for the rewrite */
static int fd = -1;                 /* the increment being appended to */
static manifest m;                  /* as saved on disk (or to be saved by the first rewrite) */
static buf pending;                 /* records not yet written */
static uint64_t incr_size;          /* bytes in the open increment */
static uint64_t old_incr_size;      /* bytes in the manifest's other increments */
static uint64_t base_size;          /* bytes in the base */
static uint64_t size_after_rewrite; /* aof_current_size after the last rewrite or load */
static int write_errno;             /* last write or fsync failure, 0 if ok */
static int write_fault;             /* DEBUG AOF-WRITE-ERROR: every write fails with this */
static int unsynced;                /* bytes written since the last fsync was queued */
static int64_t last_fsync_ms;
static long long delayed_fsync;
static long new_base_seq; /* rewrite in progress: seq of the base it will install */
static long new_incr_lo;  /* rewrite in progress: the increment opened at the fork */
static int offline;       /* rewrite in progress with the log off (BGREWRITEAOF, as Redis) */

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

static uint64_t current_size(void) {
    return base_size + old_incr_size + incr_size;
}

static uint64_t file_size(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    io_path(path, sizeof(path), dir, name);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Creates increment seq with its header, fsynced; returns the fd or -1 (logged). */
static int create_incr(const char *dir, long seq, int64_t now_ms) {
    char name[1100], path[4096];
    manifest_incr_name(name, sizeof(name), seq);
    io_path(path, sizeof(path), dir, name);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (f < 0) {
        log_warning("Can't open the append-only file %s: %s", path, strerror(errno));
        return -1;
    }
    buf h;
    buf_init(&h);
    record_put_header(&h, now_ms);
    int rc = io_write_all(f, h.data, h.len);
    buf_deinit(&h);
    if (rc < 0 || fdatasync(f) < 0) {
        log_warning("Can't write the append-only file %s: %s", path, strerror(errno));
        close(f);
        return -1;
    }
    return f;
}

static int ensure_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    log_warning("Can't create the append-only directory %s: %s", dir, strerror(errno));
    return -1;
}

/* Removes the files of old that new no longer names. */
static void remove_unlisted(const char *dir, const manifest *old, const manifest *cur) {
    char name[1100], path[4096];
    if (old->base_seq && old->base_seq != cur->base_seq) {
        manifest_base_name(name, sizeof(name), old->base_seq);
        io_path(path, sizeof(path), dir, name);
        unlink(path);
    }
    for (long s = old->incr_lo; s <= old->incr_hi; s++) {
        if (s >= cur->incr_lo && s <= cur->incr_hi) continue;
        manifest_incr_name(name, sizeof(name), s);
        io_path(path, sizeof(path), dir, name);
        unlink(path);
    }
}

/* A new log holding the current dataset: base 1 (if the dataset is not empty), incr 1. */
static int create_log(const char *dir, int64_t now_ms) {
    int empty = 1;
    for (int i = 0; i < db_count(); i++)
        if (db_size(db_get(i))) empty = 0;
    manifest nm = {0, 1, 1};
    if (!empty) {
        char name[1100];
        manifest_base_name(name, sizeof(name), 1);
        log_notice("Creating AOF base file %s on server start", name);
        if (snapshot_save(dir, "temp-base-on-start.rdb", name, now_ms, 1) < 0) {
            log_warning("Can't write the AOF base file: %s", strerror(errno));
            return -1;
        }
        nm.base_seq = 1;
        base_size = file_size(dir, name);
    }
    fd = create_incr(dir, 1, now_ms);
    if (fd < 0) return -1;
    if (manifest_save(dir, &nm) < 0) {
        log_warning("Can't write the AOF manifest: %s", strerror(errno));
        close(fd);
        fd = -1;
        return -1;
    }
    m = nm;
    incr_size = LOG_HEADER_LEN;
    log_notice("Creating AOF incr file on server start");
    return 0;
}

int aof_open(int m_loaded, int64_t now_ms) {
    char dir[4096], name[1100], err[256];
    aof_dir(dir, sizeof(dir));
    if (ensure_dir(dir) < 0) return -1;
    base_size = old_incr_size = incr_size = 0;
    if (!m_loaded) {
        if (create_log(dir, now_ms) < 0) return -1;
    } else {
        if (manifest_load(dir, &m, err, sizeof(err)) != MANIFEST_OK) {
            log_warning("Can't read the AOF manifest: %s", err);
            return -1;
        }
        if (m.base_seq) {
            manifest_base_name(name, sizeof(name), m.base_seq);
            base_size = file_size(dir, name);
        }
        for (long s = m.incr_lo; s < m.incr_hi; s++) {
            manifest_incr_name(name, sizeof(name), s);
            old_incr_size += file_size(dir, name);
        }
        manifest_incr_name(name, sizeof(name), m.incr_hi);
        char path[4096];
        io_path(path, sizeof(path), dir, name);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            log_warning("Can't open the append-only file %s: %s", path, strerror(errno));
            return -1;
        }
        incr_size = file_size(dir, name);
    }
    on = 1;
    first_rewrite = 0;
    size_after_rewrite = current_size();
    last_fsync_ms = now_ms;
    if (config.appendfsync == FSYNC_EVERYSEC) fsync_thread_start();
    return 0;
}

int aof_begin_enable(int64_t now_ms) {
    char dir[4096];
    aof_dir(dir, sizeof(dir));
    if (ensure_dir(dir) < 0) return -1;
    manifest old;
    char err[256];
    long seq = 1;
    if (manifest_load(dir, &old, err, sizeof(err)) == MANIFEST_OK) seq = old.incr_hi + 1;
    /* No file yet: the caller starts the first rewrite at once, which opens increment seq
     * just before it forks, so nothing is fed in between. */
    m = (manifest){0, seq, seq - 1};
    base_size = old_incr_size = incr_size = 0;
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

void aof_feed(int dbid, int64_t time_ms, int argc, const slice *argv) {
    if (!on) return;
    record_put(&pending, time_ms, dbid, argc, argv);
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
        incr_size += done;
        buf_clear(&pending);
        buf_shrink(&pending, 1024 * 1024);
        unsynced = 1;
        if (write_errno) {
            log_warning("AOF write error looks solved, Redis can write again.");
            write_errno = 0;
        }
        return 0;
    }
    int err = errno ? errno : ENOSPC;
    if (done > 0 && ftruncate(fd, (off_t)incr_size) < 0) {
        /* Could not cut the partial record back: keep what reached the file. */
        incr_size += done;
        buf_consume(&pending, done);
    }
    if (write_errno != err) log_warning("Error writing to the AOF file: %s", strerror(err));
    write_errno = err;
    return -1;
}

void aof_before_reply(void) {
    if (!on || fd < 0 || pending.len == 0) return;
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
    }
}

void aof_cron(int64_t now_ms) {
    if (!on || fd < 0) return;
    if (pending.len) write_pending(); /* retry after a failure */
    int err = fsync_thread_take_error();
    if (err) {
        log_warning("Error fsyncing the AOF file: %s", strerror(err));
        write_errno = err;
    }
    if (config.appendfsync == FSYNC_EVERYSEC && unsynced && now_ms - last_fsync_ms >= 1000) {
        if (fsync_thread_pending()) {
            delayed_fsync++;
            return;
        }
        fsync_thread_start();
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
        return -1;
    }
    unsynced = 0;
    return 0;
}

/* ---- compaction ---- */

void aof_rewrite_temp_path(char *out, size_t cap, int child_pid) {
    char dir[4096], name[64];
    aof_dir(dir, sizeof(dir));
    snprintf(name, sizeof(name), "temp-rewriteaof-bg-%d.snap", child_pid);
    io_path(out, cap, dir, name);
}

int aof_rewrite_prepare(int64_t now_ms) {
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
    long seq = m.incr_hi + 1;
    int nfd = create_incr(dir, seq, now_ms);
    if (nfd < 0) return -1;
    manifest nm = m;
    nm.incr_hi = seq;
    if (!first_rewrite) {
        nm.incr_lo = m.incr_lo;
        if (manifest_save(dir, &nm) < 0) {
            log_warning("Can't update the AOF manifest: %s", strerror(errno));
            close(nfd);
            return -1;
        }
    } else {
        nm.incr_lo = seq; /* the run-time log holds nothing before the fork */
    }
    /* The old increment gets its last fsync (and close) from the thread. */
    fsync_thread_start();
    if (fd >= 0) fsync_thread_submit(fd, 1);
    fd = nfd;
    old_incr_size += incr_size;
    incr_size = LOG_HEADER_LEN;
    m = nm;
    new_base_seq = m.base_seq + 1;
    new_incr_lo = seq;
    return 0;
}

int aof_rewrite_child(int64_t now_ms) {
    char path[4096];
    aof_rewrite_temp_path(path, sizeof(path), (int)getpid());
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0) return 1;
    int rc = snapshot_write_fd(f, now_ms, 1, NULL) < 0 || fsync(f) < 0;
    close(f);
    return rc;
}

/* The log is off: the new base becomes a complete log with an empty increment after
 * it, which `appendonly yes` at the next start loads and appends to. The old manifest
 * stays in charge until the new one replaces it; then the files only it named go. */
static void install_offline(const char *dir, const char *tmp, int64_t now_ms) {
    manifest old = {0, 1, 0};
    char err[256], name[1100], path[4096];
    int had_old = manifest_load(dir, &old, err, sizeof(err)) == MANIFEST_OK;
    manifest nm = {old.base_seq + 1, old.incr_hi + 1, old.incr_hi + 1};
    manifest_base_name(name, sizeof(name), nm.base_seq);
    io_path(path, sizeof(path), dir, name);
    if (rename(tmp, path) < 0) {
        log_warning("Can't install the rewritten AOF base: %s", strerror(errno));
        unlink(tmp);
        return;
    }
    int f = create_incr(dir, nm.incr_hi, now_ms);
    if (f >= 0) close(f);
    if (f < 0 || io_fsync_dir(dir) < 0 || manifest_save(dir, &nm) < 0) {
        log_warning("Can't write the AOF manifest after a rewrite: %s", strerror(errno));
        unlink(path);
        return;
    }
    if (had_old) remove_unlisted(dir, &old, &nm);
    log_notice("Background AOF rewrite finished successfully");
}

void aof_rewrite_done(int ok, int child_pid, int64_t now_ms) {
    char dir[4096], tmp[4096], name[1100], path[4096];
    aof_dir(dir, sizeof(dir));
    aof_rewrite_temp_path(tmp, sizeof(tmp), child_pid);
    int was_offline = offline;
    offline = 0;
    if (ok && was_offline && !on) {
        install_offline(dir, tmp, now_ms);
        return;
    }
    if (!ok || !on || was_offline) {
        unlink(tmp);
        return;
    }
    manifest_base_name(name, sizeof(name), new_base_seq);
    io_path(path, sizeof(path), dir, name);
    if (rename(tmp, path) < 0 || io_fsync_dir(dir) < 0) {
        log_warning("Can't install the rewritten AOF base: %s", strerror(errno));
        unlink(tmp);
        return;
    }
    manifest nm = {new_base_seq, new_incr_lo, m.incr_hi};
    if (manifest_save(dir, &nm) < 0) {
        log_warning("Can't update the AOF manifest after a rewrite: %s", strerror(errno));
        unlink(path);
        return;
    }
    manifest old = m;
    m = nm;
    first_rewrite = 0;
    remove_unlisted(dir, &old, &m);
    base_size = file_size(dir, name);
    old_incr_size = 0;
    for (long s = m.incr_lo; s < m.incr_hi; s++) {
        manifest_incr_name(name, sizeof(name), s);
        old_incr_size += file_size(dir, name);
    }
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
