/* load: the start-up loader; see load.h.
 *
 * The work is a list of files (sources), loaded in order:
 *
 *     snapshot mode:  [ dir/dbfilename ]
 *     log mode:       [ base (a snapshot) ] incr lo .. incr hi
 *
 * A slice resumes the current file where the last one stopped: the snapshot loader and
 * the record reader keep their own position. */
#include "mayfly/persist/load.h"

#include "mayfly/config.h"
#include "mayfly/persist/aof.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"
#include "persist/record_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORDS_PER_CHECK 256
#define MAX_SOURCES 4096

typedef struct source {
    int is_snapshot;
    char path[4096];
} source;

static source *sources;
static int nsources, cur = -1;
static int from_manifest;
static int legacy_loaded; /* the snapshot was in Mayfly 0.1's format */
static load_replay_fn *replay_fn;
static int64_t start_ms, drop_before_ms;
static uint64_t total_bytes, done_bytes; /* done_bytes: of files finished */
static long long keys_loaded, keys_expired, replay_errors, records;

/* The open file. */
static snapshot_loader snap;
static int log_fd = -1;
static pr log_r;
static record rec;

static uint64_t size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void add_source(int is_snapshot, const char *dir, const char *name) {
    if (nsources == MAX_SOURCES) return;
    if (!sources) sources = mem_calloc(MAX_SOURCES, sizeof(source));
    source *s = &sources[nsources++];
    s->is_snapshot = is_snapshot;
    io_path(s->path, sizeof(s->path), dir, name);
    total_bytes += size_of(s->path);
}

int load_begin(int64_t now_ms, load_replay_fn *replay) {
    replay_fn = replay;
    start_ms = now_ms;
    drop_before_ms = now_ms;
    if (config.appendonly) {
        char dir[4096], err[512], name[1100];
        aof_dir(dir, sizeof(dir));
        manifest m;
        int rc = manifest_load(dir, &m, err, sizeof(err));
        if (rc == MANIFEST_EBAD) {
            log_warning("Bad AOF manifest: %s", err);
            return LOAD_FAILED;
        }
        if (rc == MANIFEST_OK) {
            from_manifest = 1;
            if (m.base_seq) {
                manifest_base_name(name, sizeof(name), m.base_seq);
                add_source(1, dir, name);
            }
            for (long s = m.incr_lo; s <= m.incr_hi; s++) {
                manifest_incr_name(name, sizeof(name), s);
                add_source(0, dir, name);
            }
            return LOAD_MORE;
        }
    }
    char path[4096];
    io_path(path, sizeof(path), config.dir, config.dbfilename);
    if (access(path, F_OK) != 0) return LOAD_DONE;
    add_source(1, config.dir, config.dbfilename);
    return LOAD_MORE;
}

int load_used_manifest(void) {
    return from_manifest;
}

int load_was_legacy_snapshot(void) {
    return legacy_loaded;
}

static void close_current(void) {
    if (cur < 0 || cur >= nsources) return;
    if (sources[cur].is_snapshot) {
        snapshot_load_end(&snap);
    } else if (log_fd >= 0) {
        pr_deinit(&log_r);
        close(log_fd);
        log_fd = -1;
    }
    done_bytes += size_of(sources[cur].path);
}

/* Rewrites the header of an empty or torn last increment so appending can go on. */
static int reset_log(const char *path) {
    int f = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (f < 0) return -1;
    buf h;
    buf_init(&h);
    record_put_header(&h, clock_now_ms());
    int rc = io_write_all(f, h.data, h.len) == 0 && fsync(f) == 0 ? 0 : -1;
    buf_deinit(&h);
    close(f);
    return rc;
}

static int open_next(void) {
    cur++;
    if (cur >= nsources) return LOAD_DONE;
    source *s = &sources[cur];
    if (s->is_snapshot) {
        /* A log's base keeps what was live when it was written: the increments replay
         * from that moment on, and expiry drops the rest afterwards. */
        int rc = snapshot_load_begin(&snap, s->path, from_manifest ? 0 : drop_before_ms);
        if (rc == SNAP_MORE) return LOAD_MORE;
        log_warning("Can't load the snapshot %s: %s (offset %llu)", s->path, snap.err,
                    (unsigned long long)snap.err_offset);
        return LOAD_FAILED;
    }
    log_fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (log_fd < 0) {
        log_warning("Can't open the append-only file %s: %s", s->path, strerror(errno));
        return LOAD_FAILED;
    }
    pr_init(&log_r, log_fd);
    int64_t created;
    int rc = record_read_header(&log_r, &created);
    if (rc == REC_OK) return LOAD_MORE;
    if ((rc == REC_EOF || rc == REC_TRUNCATED) && cur == nsources - 1) {
        log_warning("The append-only file %s is empty or has a torn header: starting it again",
                    s->path);
        close_current();
        if (reset_log(s->path) < 0) {
            log_warning("Can't reset %s: %s", s->path, strerror(errno));
            return LOAD_FAILED;
        }
        return open_next();
    }
    log_warning("Bad file format reading the append only file %s at offset 0: not a Mayfly "
                "log. Use 'mayfly-server --check-aof --fix %s'",
                s->path, s->path);
    return LOAD_FAILED;
}

/* Handles a damaged record in the current log. */
static int log_damage(int rc, const char *why) {
    source *s = &sources[cur];
    if (rc == REC_TRUNCATED && cur == nsources - 1 && config.aof_load_truncated) {
        log_warning("!!! Warning: short read while loading the AOF file %s!!! (%s)", s->path, why);
        log_warning("!!! Truncating the AOF %s at offset %llu !!!", s->path,
                    (unsigned long long)rec.offset);
        if (truncate(s->path, (off_t)rec.offset) < 0) {
            log_warning("Error truncating the AOF file %s: %s", s->path, strerror(errno));
            return LOAD_FAILED;
        }
        log_warning("AOF %s loaded anyway because aof-load-truncated is enabled", s->path);
        return LOAD_DONE;
    }
    if (rc == REC_EIO) {
        log_warning("Error reading the append only file %s: %s", s->path, strerror(log_r.err));
        return LOAD_FAILED;
    }
    log_warning("Bad file format reading the append only file %s at offset %llu: %s. Use "
                "'mayfly-server --check-aof --fix %s'",
                s->path, (unsigned long long)rec.offset,
                rc == REC_TRUNCATED ? "the file is truncated" : why, s->path);
    return LOAD_FAILED;
}

/* Loads up to n records of the current log file. */
static int step_log(int n) {
    for (int i = 0; i < n; i++) {
        const char *why = "";
        int rc = record_read(&log_r, &rec, &why);
        if (rc == REC_EOF) return LOAD_DONE;
        if (rc != REC_OK) return log_damage(rc, why);
        records++;
        int r = replay_fn(rec.dbid, rec.time_ms, rec.argc, rec.argv);
        if (r < 0) {
            log_warning("Unknown command '%.*s' reading the append only file %s at offset %llu",
                        (int)(rec.argv[0].len < 64 ? rec.argv[0].len : 64), rec.argv[0].p,
                        sources[cur].path, (unsigned long long)rec.offset);
            return LOAD_FAILED;
        }
        if (r > 0 && replay_errors++ < 10)
            log_warning("A command in %s at offset %llu replied an error while loading",
                        sources[cur].path, (unsigned long long)rec.offset);
    }
    return LOAD_MORE;
}

static int step_snapshot(int n) {
    int rc = snapshot_load_step(&snap, (size_t)n);
    if (rc == SNAP_MORE) return LOAD_MORE;
    keys_loaded += snap.keys_loaded;
    keys_expired += snap.keys_expired;
    if (rc == SNAP_DONE) {
        if (snap.legacy && !from_manifest) legacy_loaded = 1;
        return LOAD_DONE;
    }
    if (rc == SNAP_EUNSUPPORTED) {
        log_warning("Can't load the RDB file %s: %s. Mayfly implements strings and hashes only: "
                    "delete or convert such keys in the server that wrote the file, then save "
                    "it again (docs/migration.md)",
                    sources[cur].path, snap.err);
        return LOAD_FAILED;
    }
    log_warning("Short read or damage loading the RDB file %s at offset %llu: %s. Use "
                "'mayfly-server --check-rdb %s' to see what it holds",
                sources[cur].path, (unsigned long long)snap.err_offset, snap.err,
                sources[cur].path);
    return LOAD_FAILED;
}

static void finish(void) {
    double secs = (double)(clock_now_ms() - start_ms) / 1000.0;
    if (from_manifest)
        log_notice("DB loaded from append only file: %.3f seconds (%lld records)", secs, records);
    else
        log_notice("DB loaded from disk: %.3f seconds (%lld keys, %lld expired dropped)", secs,
                   keys_loaded, keys_expired);
    record_deinit(&rec);
    mem_free(sources);
    sources = NULL;
}

/* key-load-delay: Redis's debugDelay. A short sleep costs a context switch however short,
 * so a negative -N sleeps 1 us once every N keys on average instead. */
static void key_load_delay(int us) {
    if (us < 0) us = rand_u64() % (uint64_t)(-(long long)us) == 0 ? 1 : 0;
    if (us > 0) {
        struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

int load_step(int64_t budget_us) {
    int64_t start = clock_mono_us();
    if (cur < 0) {
        int rc = open_next();
        if (rc != LOAD_MORE) {
            if (rc == LOAD_DONE) finish();
            return rc;
        }
    }
    for (;;) {
        /* With key-load-delay, one key at a time so the slice still ends on time. */
        int delay = config.key_load_delay;
        int n = delay ? 1 : RECORDS_PER_CHECK;
        int rc = sources[cur].is_snapshot ? step_snapshot(n) : step_log(n);
        if (delay && rc == LOAD_MORE) key_load_delay(delay);
        if (rc == LOAD_FAILED) return LOAD_FAILED;
        if (rc == LOAD_DONE) {
            int last = cur == nsources - 1;
            close_current();
            if (last) {
                finish();
                return LOAD_DONE;
            }
            rc = open_next();
            if (rc == LOAD_FAILED) return rc;
            if (rc == LOAD_DONE) {
                finish();
                return LOAD_DONE;
            }
        }
        if (clock_mono_us() - start >= budget_us) return LOAD_MORE;
    }
}

void load_info(buf *b, int64_t now_ms) {
    uint64_t loaded = done_bytes;
    if (cur >= 0 && cur < nsources)
        loaded += sources[cur].is_snapshot ? snapshot_load_offset(&snap) : pr_offset(&log_r);
    double perc = total_bytes ? 100.0 * (double)loaded / (double)total_bytes : 0;
    int64_t elapsed = now_ms - start_ms;
    long eta =
        loaded && total_bytes > loaded
            ? (long)((double)elapsed * (double)(total_bytes - loaded) / (double)loaded / 1000.0)
            : 1;
    buf_printf(b,
               "loading_start_time:%lld\r\n"
               "loading_total_bytes:%llu\r\n"
               "loading_rdb_used_mem:0\r\n"
               "loading_loaded_bytes:%llu\r\n"
               "loading_loaded_perc:%.2f\r\n"
               "loading_eta_seconds:%ld\r\n",
               (long long)(start_ms / 1000), (unsigned long long)total_bytes,
               (unsigned long long)loaded, perc, eta);
}

long long load_keys_loaded(void) {
    return keys_loaded;
}
long long load_keys_expired(void) {
    return keys_expired;
}
