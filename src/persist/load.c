/* load: the start-up loader; see load.h.
 *
 * The work is a list of files (sources), loaded in order:
 *
 *     snapshot mode:  [ dir/dbfilename ]                       an RDB file
 *     log mode:       [ base ] incr 1 .. incr n                named by the manifest
 *
 * Each file of the log is recognised by its first bytes, as Redis's loader does: an RDB
 * ("REDIS", "VALKEY"), which may go on with RESP commands (an old-style preamble AOF), or
 * RESP commands from the start; Mayfly 0.1's snapshot and log formats ("MAYFLYSN",
 * "MAYFLYLG") are read too, and the log is then rewritten in the new format at the end of
 * the load (load_needs_rewrite). A slice resumes the current file where the last one
 * stopped: the snapshot loader and the command reader keep their own position.
 *
 * RESP commands are replayed through the command layer with "now" at 0: nothing is due
 * while the log is replayed (as Redis loads with expiry off), since the log holds absolute
 * deadlines and the DEL/HDEL of every reap; what is due is reaped once loading is over. */
#include "mayfly/persist/load.h"

#include "mayfly/config.h"
#include "mayfly/persist/aof.h"
#include "mayfly/persist/persist.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "persist/io_int.h"
#include "persist/legacy_int.h"
#include "persist/manifest_int.h"
#include "persist/record_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORDS_PER_CHECK 256
#define MAX_SOURCES (MANIFEST_MAX_FILES + 1)

enum { SRC_SNAPSHOT, SRC_BASE, SRC_INCR };
enum { PH_RDB, PH_RESP, PH_LEGACY_LOG };

typedef struct source {
    int kind;
    char path[4096];
} source;

static source *sources;
static int nsources, cur = -1;
static int from_manifest;
static int legacy_snapshot; /* dbfilename was a Mayfly 0.1 snapshot */
static int needs_rewrite;   /* a file of the log was in Mayfly 0.1's format */
static load_replay_fn *replay_fn;
static int64_t start_ms, drop_before_ms;
static uint64_t total_bytes, done_bytes; /* done_bytes: of files finished */
static long long keys_loaded, keys_expired, replay_errors, records;

/* The open file. */
static int phase;
static snapshot_loader snap;
static int log_fd = -1;
static uint64_t log_size;
static pr log_r;
static record rec;
static legacy_record lrec;
static int first_command;           /* the next RESP command starts the file: database 0 */
static int in_multi;                /* a MULTI was replayed without its EXEC yet */
static uint64_t valid_before_multi; /* offset of that MULTI */

static uint64_t size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void add_source(int kind, const char *dir, const char *name) {
    if (nsources == MAX_SOURCES) return;
    if (!sources) sources = mem_calloc(MAX_SOURCES, sizeof(source));
    source *s = &sources[nsources++];
    s->kind = kind;
    io_path(s->path, sizeof(s->path), dir, name);
    total_bytes += size_of(s->path);
}

/* A file the manifest lists but the directory lacks: logged as Redis does, before anything
 * is loaded (the dataset would miss its commands). Returns 1 if one is missing. */
static int missing_source(void) {
    for (int i = 0; i < nsources; i++) {
        struct stat st;
        if (stat(sources[i].path, &st) == 0) continue;
        const char *name = strrchr(sources[i].path, '/');
        log_warning("Unable to obtain the AOF file %s length. stat: %s",
                    name ? name + 1 : sources[i].path, strerror(errno));
        return 1;
    }
    return 0;
}

/* Redis before 7 kept the whole log in dir/appendfilename: make it the base of a manifest
 * in the log directory, as Redis 7 does when it first starts on such a file. */
static int upgrade_single_file_aof(const char *dir) {
    char old[4096], moved[4096];
    io_path(old, sizeof(old), config.dir, config.appendfilename);
    struct stat st;
    if (stat(old, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -1;
    manifest m;
    manifest_init(&m);
    snprintf(m.base.name, sizeof(m.base.name), "%s", config.appendfilename);
    m.base.seq = m.base_seq = 1;
    m.base.type = 'b';
    int rc = manifest_save(dir, &m);
    manifest_deinit(&m);
    io_path(moved, sizeof(moved), dir, config.appendfilename);
    if (rc < 0 || rename(old, moved) < 0) return -1;
    log_notice("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", old,
               dir);
    return 0;
}

int load_begin(int64_t now_ms, load_replay_fn *replay) {
    replay_fn = replay;
    start_ms = now_ms;
    drop_before_ms = now_ms;
    if (config.appendonly) {
        char dir[4096], err[512];
        aof_dir(dir, sizeof(dir));
        manifest m;
        int rc = manifest_load(dir, &m, err, sizeof(err));
        if (rc == MANIFEST_ENOENT && upgrade_single_file_aof(dir) < 0) {
            log_warning("Can't move the old-style AOF file into %s: %s", dir, strerror(errno));
            return LOAD_FAILED;
        }
        if (rc == MANIFEST_ENOENT) rc = manifest_load(dir, &m, err, sizeof(err));
        if (rc == MANIFEST_EBAD) {
            log_warning("Bad AOF manifest: %s", err);
            return LOAD_FAILED;
        }
        if (rc == MANIFEST_OK) {
            from_manifest = 1;
            if (m.base.name[0]) add_source(SRC_BASE, dir, m.base.name);
            for (size_t i = 0; i < m.nincr; i++)
                add_source(SRC_INCR, dir, m.incr[i].name);
            manifest_deinit(&m);
            if (missing_source()) return LOAD_FAILED;
            if (nsources == 0) return LOAD_DONE;
            return LOAD_MORE;
        }
    }
    char path[4096];
    io_path(path, sizeof(path), config.dir, config.dbfilename);
    if (access(path, F_OK) != 0) return LOAD_DONE;
    add_source(SRC_SNAPSHOT, config.dir, config.dbfilename);
    return LOAD_MORE;
}

int load_used_manifest(void) {
    return from_manifest;
}

int load_was_legacy_snapshot(void) {
    return legacy_snapshot;
}

int load_needs_rewrite(void) {
    return needs_rewrite;
}

static void close_log(void) {
    if (log_fd < 0) return;
    pr_deinit(&log_r);
    close(log_fd);
    log_fd = -1;
}

static void close_current(void) {
    if (cur < 0 || cur >= nsources) return;
    if (phase == PH_RDB) snapshot_load_end(&snap);
    close_log();
    done_bytes += size_of(sources[cur].path);
}

/* Opens the current file for reading commands from offset. */
static int open_log(uint64_t offset, int ph) {
    source *s = &sources[cur];
    log_fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || (offset && lseek(log_fd, (off_t)offset, SEEK_SET) < 0)) {
        log_warning("Can't open the append-only file %s: %s", s->path, strerror(errno));
        return LOAD_FAILED;
    }
    log_size = size_of(s->path);
    pr_init(&log_r, log_fd);
    log_r.base = offset;
    phase = ph;
    first_command = 1;
    in_multi = 0;
    return LOAD_MORE;
}

static int open_next(void) {
    cur++;
    if (cur >= nsources) return LOAD_DONE;
    source *s = &sources[cur];
    char magic[8] = {0};
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warning("Can't open the %s file %s: %s",
                    s->kind == SRC_SNAPSHOT ? "RDB" : "append-only", s->path, strerror(errno));
        return LOAD_FAILED;
    }
    ssize_t n = read(fd, magic, sizeof(magic));
    close(fd);
    if (s->kind == SRC_SNAPSHOT || (n >= 5 && memcmp(magic, "REDIS", 5) == 0) ||
        (n >= 6 && memcmp(magic, "VALKEY", 6) == 0) ||
        (n == 8 && memcmp(magic, LEGACY_SNAP_MAGIC, 8) == 0)) {
        /* A log's base keeps what was live when it was written: the increments replay from
         * that moment on, and expiry drops the rest afterwards. */
        int rc = snapshot_load_begin(&snap, s->path, from_manifest ? 0 : drop_before_ms);
        /* The RDB file itself (not a log's base): the keys it holds past their deadline are
         * told to the replicas once replication is restored (Redis's RDBFLAGS_FEED_REPL). */
        snap.keep_expired = s->kind == SRC_SNAPSHOT && persist_repl_expired != NULL;
        phase = PH_RDB;
        if (rc == SNAP_MORE) {
            if (snap.legacy && from_manifest) needs_rewrite = 1;
            return LOAD_MORE;
        }
        log_warning("Can't load %s: %s", s->path, snap.err);
        return LOAD_FAILED;
    }
    if (n == 8 && memcmp(magic, "MAYFLYLG", 8) == 0) {
        needs_rewrite = 1;
        int rc = open_log(0, PH_LEGACY_LOG);
        int64_t created;
        if (rc == LOAD_MORE && legacy_log_read_header(&log_r, &created) != LREC_OK) {
            log_warning("Bad file format reading the append only file %s at offset 0", s->path);
            return LOAD_FAILED;
        }
        return rc;
    }
    return open_log(0, PH_RESP);
}

/* The file ends early at offset point (the last complete command, or before an unfinished
 * MULTI): cut it there when that is allowed, as Redis does. */
static int truncated_at(uint64_t point, const char *why) {
    source *s = &sources[cur];
    if (cur != nsources - 1) {
        log_warning("Fatal error: the truncated file %s is not the last file (%s)", s->path, why);
        return LOAD_FAILED;
    }
    if (!config.aof_load_truncated) {
        log_warning("Unexpected end of file reading the append only file %s (%s). You can: 1) "
                    "Make a backup of your AOF file, then use 'mayfly-server --check-aof --fix "
                    "<file.manifest>'. 2) Alternatively you can set the 'aof-load-truncated' "
                    "configuration option to yes and restart the server.",
                    s->path, why);
        return LOAD_FAILED;
    }
    log_warning("!!! Warning: short read while loading the AOF file %s!!! (%s)", s->path, why);
    log_warning("!!! Truncating the AOF %s at offset %llu !!!", s->path, (unsigned long long)point);
    if (truncate(s->path, (off_t)point) < 0) {
        log_warning("Error truncating the AOF file %s: %s", s->path, strerror(errno));
        return LOAD_FAILED;
    }
    log_warning("AOF %s loaded anyway because aof-load-truncated is enabled", s->path);
    return LOAD_DONE;
}

/* Runs one command; tracks MULTI/EXEC so an unfinished transaction can be dropped. */
static int replay_command(record *r) {
    slice name = r->argv[0];
    if (slice_eq_ci(name, "multi")) {
        in_multi = 1;
        valid_before_multi = r->offset;
    } else if (slice_eq_ci(name, "exec") || slice_eq_ci(name, "discard")) {
        in_multi = 0;
    }
    records++;
    int rc = replay_fn(first_command ? 0 : -1, 0, r->argc, r->argv);
    first_command = 0;
    if (rc < 0) {
        log_warning("Unknown command '%.*s' reading the append only file %s at offset %llu",
                    (int)(name.len < 64 ? name.len : 64), name.p, sources[cur].path,
                    (unsigned long long)r->offset);
        return LOAD_FAILED;
    }
    if (rc > 0 && replay_errors++ < 10)
        log_warning("A command in %s at offset %llu replied an error while loading",
                    sources[cur].path, (unsigned long long)r->offset);
    return LOAD_MORE;
}

/* An unfinished MULTI at the end: its commands were only queued; drop them. */
static void drop_open_multi(void) {
    if (!in_multi) return;
    log_warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", sources[cur].path);
    slice discard = slice_of("DISCARD");
    replay_fn(-1, 0, 1, &discard);
    in_multi = 0;
}

/* Loads up to n commands of the current RESP file. */
static int step_resp(int n) {
    for (int i = 0; i < n; i++) {
        const char *why = "";
        int rc = record_read(&log_r, log_size, &rec, &why);
        if (rc == REC_OK) {
            if (replay_command(&rec) == LOAD_FAILED) return LOAD_FAILED;
            continue;
        }
        if (rc == REC_EOF && !in_multi) return LOAD_DONE;
        if (rc == REC_EIO) {
            log_warning("Error reading the append only file %s: %s", sources[cur].path,
                        strerror(log_r.err));
            return LOAD_FAILED;
        }
        if (rc == REC_CORRUPT) {
            log_warning("Bad file format reading the append only file %s at offset %llu: %s. "
                        "Make a backup of it, then use 'mayfly-server --check-aof --fix %s'",
                        sources[cur].path, (unsigned long long)rec.offset, why, sources[cur].path);
            return LOAD_FAILED;
        }
        uint64_t point = in_multi ? valid_before_multi : rec.offset;
        if (rc == REC_EOF) why = "the file ends inside a MULTI/EXEC block";
        drop_open_multi();
        return truncated_at(point, why);
    }
    return LOAD_MORE;
}

/* Loads up to n records of a Mayfly 0.1 log, each at its own time and database. */
static int step_legacy_log(int n) {
    for (int i = 0; i < n; i++) {
        const char *why = "";
        int rc = legacy_log_read(&log_r, &lrec, &why);
        if (rc == LREC_EOF) return LOAD_DONE;
        if (rc == LREC_TRUNCATED) return truncated_at(lrec.offset, why);
        if (rc != LREC_OK) {
            log_warning("Bad file format reading the append only file %s at offset %llu: %s",
                        sources[cur].path, (unsigned long long)lrec.offset, why);
            return LOAD_FAILED;
        }
        records++;
        if (replay_fn(lrec.dbid, lrec.time_ms, lrec.argc, lrec.argv) < 0) {
            log_warning("Unknown command reading the append only file %s at offset %llu",
                        sources[cur].path, (unsigned long long)lrec.offset);
            return LOAD_FAILED;
        }
    }
    return LOAD_MORE;
}

static void tell_expired(int dbid, slice key, void *arg) {
    (void)arg;
    persist_repl_expired(dbid, key);
}

static int step_snapshot(int n) {
    int rc = snapshot_load_step(&snap, (size_t)n);
    if (rc == SNAP_MORE) return LOAD_MORE;
    keys_loaded += snap.keys_loaded;
    keys_expired += snap.keys_expired;
    if (rc == SNAP_DONE) {
        if (snap.legacy && !from_manifest) legacy_snapshot = 1;
        /* Where replication stood when it was written (Redis restores it only from an RDB
         * loaded as the snapshot, not from a log's base). */
        if (sources[cur].kind == SRC_SNAPSHOT && snap.repl_id[0] && snap.repl_offset >= 0 &&
            snap.repl_db >= 0 && persist_repl_loaded)
            persist_repl_loaded(snap.repl_id, (uint64_t)snap.repl_offset, snap.repl_db);
        if (snap.keep_expired) snapshot_load_expired_foreach(&snap, tell_expired, NULL);
        /* An RDB preamble may go on with commands (an old-style AOF, or RESP appended). */
        uint64_t end = snap.end_offset;
        if (sources[cur].kind != SRC_SNAPSHOT && end < size_of(sources[cur].path)) {
            snapshot_load_end(&snap);
            return open_log(end, PH_RESP);
        }
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
        log_notice("DB loaded from append only file: %.3f seconds (%lld keys from the base, %lld "
                   "commands)",
                   secs, keys_loaded, records);
    else
        log_notice("DB loaded from disk: %.3f seconds (%lld keys, %lld expired dropped)", secs,
                   keys_loaded, keys_expired);
    record_deinit(&rec);
    legacy_record_deinit(&lrec);
    mem_free(sources);
    sources = NULL;
}

static int step_current(int n) {
    switch (phase) {
    case PH_RDB:
        return step_snapshot(n);
    case PH_LEGACY_LOG:
        return step_legacy_log(n);
    default:
        return step_resp(n);
    }
}

/* Bytes of the sources read so far. */
static uint64_t loaded_bytes(void) {
    uint64_t loaded = done_bytes;
    if (cur >= 0 && cur < nsources)
        loaded += phase == PH_RDB ? snapshot_load_offset(&snap) : pr_offset(&log_r);
    return loaded;
}

/* After a source is done: the next ones, until one has more to load. Returns LOAD_MORE,
 * LOAD_FAILED, or LOAD_DONE once every source is loaded (finish() called). */
static int next_source(void) {
    int rc = LOAD_DONE;
    while (rc == LOAD_DONE) {
        close_current();
        rc = open_next();
        if (rc == LOAD_DONE) {
            finish();
            return LOAD_DONE;
        }
    }
    return rc;
}

/* A step ends after budget_us or, as Redis processes events while loading, once
 * loading-process-events-interval-bytes more bytes are read, whichever comes first. */
int load_step(int64_t budget_us) {
    int64_t start = clock_mono_us();
    uint64_t start_bytes = loaded_bytes();
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
        int rc = step_current(delay ? 1 : RECORDS_PER_CHECK);
        if (delay && rc == LOAD_MORE) clock_debug_delay(delay);
        if (rc == LOAD_DONE) rc = next_source();
        if (rc != LOAD_MORE) return rc;
        if (clock_mono_us() - start >= budget_us) return LOAD_MORE;
        if (loaded_bytes() - start_bytes >= (uint64_t)config.loading_events_interval_bytes)
            return LOAD_MORE;
    }
}

void load_info(buf *b, int64_t now_ms) {
    uint64_t loaded = loaded_bytes();
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
