/* check: the offline log checker (`mayfly-server --check-aof`, or the program run as
 * redis-check-aof); see check.h. Its report follows redis-check-aof's lines (scripts and
 * Redis's own tests read them).
 *
 * A file is read as the loader reads it: an RDB part when it starts with one (decoded whole),
 * then RESP commands to the end, keeping track of MULTI/EXEC (a file ending inside a
 * transaction is good only up to its MULTI, as the loader keeps it). The report gives the
 * file's size, the offset up to which it is good and the line there; --fix truncates the
 * file at that offset after asking (only the last file of a manifest), and
 * --truncate-to-timestamp cuts it at the first #TS annotation later than the time given. */
#include "mayfly/persist/check.h"

#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"
#include "persist/record_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    CHK_FAILED = -1, /* reported; the program exits 1 */
    CHK_OK,
    CHK_EMPTY,
    CHK_TRUNCATED,
    CHK_TS_TRUNCATED,
};

typedef struct check_opts {
    int fix;
    long long to_ts; /* --truncate-to-timestamp (0: not asked) */
} check_opts;

/* What reading a file's commands found. */
typedef struct verdict {
    int rc;            /* REC_EOF, REC_TRUNCATED, REC_CORRUPT, REC_EIO, REC_TS_* */
    uint64_t ok_up_to; /* offset after the last good command outside MULTI/EXEC */
    uint64_t at;       /* where the problem starts (the command or annotation) */
    long long line;    /* redis-check-aof's line counter (see lines_read) */
    char why[160];
} verdict;

/* redis-check-aof's line counter: 1 + the CRLF-ended lines of commands read so far, on
 * across the files of a manifest as its counter goes. */
static long long lines_read = 1;

/* Follows MULTI/EXEC across the command in rec. Returns 0, or -1 (v says why) for a MULTI
 * inside a transaction or an EXEC outside one. */
static int track_multi(const record *rec, int *in_multi, verdict *v, const char *path) {
    int multi = slice_eq_ci(rec->argv[0], "multi"), exec = slice_eq_ci(rec->argv[0], "exec");
    if ((multi && *in_multi) || (exec && !*in_multi)) {
        v->rc = REC_CORRUPT;
        snprintf(v->why, sizeof(v->why), "Unexpected %s in AOF %s", multi ? "MULTI" : "EXEC", path);
        return -1;
    }
    if (multi) *in_multi = 1;
    if (exec) *in_multi = 0;
    return 0;
}

/* Reads commands from r to the end of the file (size bytes) or the first problem, into v. */
static void scan_commands(pr *r, uint64_t size, record *rec, verdict *v, const char *path) {
    int in_multi = 0;
    for (;;) {
        const char *why = "";
        int rc = record_read(r, size, rec, &why);
        v->line += rec->lines;
        v->at = rec->offset;
        /* Good up to here unless inside a transaction (as redis-check-aof counts). */
        if (!in_multi && rc != REC_TS_PAST && rc != REC_TS_BAD) v->ok_up_to = rec->offset;
        if (rc != REC_OK) {
            v->rc = rc;
            snprintf(v->why, sizeof(v->why), "%s", why);
            if (rc == REC_EOF && in_multi) {
                v->rc = REC_TRUNCATED;
                snprintf(v->why, sizeof(v->why), "Reached EOF before reading EXEC for MULTI");
            }
            return;
        }
        if (track_multi(rec, &in_multi, v, path) < 0) return;
        if (!in_multi) v->ok_up_to = pr_offset(r);
    }
}

/* Reads the commands of path from offset from to the end (or to an annotation later than
 * to_ts). */
static verdict read_commands(const char *path, uint64_t from, uint64_t size, long long to_ts) {
    verdict v = {REC_EIO, from, from, lines_read, "can't read the file"};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || lseek(fd, (off_t)from, SEEK_SET) < 0) {
        if (fd >= 0) close(fd);
        return v;
    }
    pr r;
    pr_init(&r, fd);
    r.base = from;
    record rec = {0};
    rec.ts_limit = to_ts;
    scan_commands(&r, size, &rec, &v, path);
    lines_read = v.line;
    record_deinit(&rec);
    pr_deinit(&r);
    close(fd);
    return v;
}

/* The RDB part of path, if it starts with one: *end (OUT) is where it ends (0 if none).
 * Returns 0, or 1 after printing why it is bad. */
static int check_rdb_part(const char *path, uint64_t *end) {
    char magic[8] = {0};
    *end = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, magic, sizeof(magic));
    close(fd);
    if (!((n >= 5 && memcmp(magic, "REDIS", 5) == 0) ||
          (n >= 6 && memcmp(magic, "VALKEY", 6) == 0)))
        return 0;
    snapshot_loader l;
    int rc = snapshot_load_begin(&l, path, 0);
    while (rc == SNAP_MORE)
        rc = snapshot_load_step(&l, 1024);
    if (rc == SNAP_DONE) {
        printf("RDB preamble is OK, proceeding with AOF tail...\n");
        *end = l.end_offset;
    } else {
        printf("RDB preamble of AOF file %s is not sane at offset %llu: %s\n", path,
               (unsigned long long)l.err_offset, l.err);
    }
    snapshot_load_end(&l);
    db_free_all();
    db_init_all(config.databases);
    return rc == SNAP_DONE ? 0 : 1;
}

/* Asks before --fix truncates, as redis-check-aof does. Returns 1 on "y". */
static int confirm(const char *name, uint64_t size, uint64_t to) {
    printf("This will shrink the AOF %s from %llu bytes, with %llu bytes, to %llu bytes\n", name,
           (unsigned long long)size, (unsigned long long)(size - to), (unsigned long long)to);
    printf("Continue? [y/N]: ");
    fflush(stdout);
    char answer[8];
    if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
        printf("Aborting...\n");
        return 0;
    }
    return 1;
}

/* The file was cut at an annotation later than --truncate-to-timestamp: where allowed. */
static int truncate_at_timestamp(const char *name, const char *path, const verdict *v, int last,
                                 long long to_ts) {
    if (v->at == 0) {
        printf("AOF %s has nothing before timestamp %lld, aborting...\n", path, to_ts);
        return CHK_FAILED;
    }
    if (!last) {
        printf("Failed to truncate AOF %s to timestamp %lld to offset %llu because it is not "
               "the last file.\n",
               path, to_ts, (unsigned long long)v->at);
        printf("If you insist, please delete all files after this file according to the "
               "manifest file and delete the corresponding records in manifest file manually. "
               "Then re-run redis-check-aof.\n");
        return CHK_FAILED;
    }
    if (truncate(path, (off_t)v->at) < 0) {
        printf("Failed to truncate AOF %s to timestamp %lld\n", name, to_ts);
        return CHK_FAILED;
    }
    return CHK_TS_TRUNCATED;
}

static int is_mayfly_0_1(const char *path) {
    char magic[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, magic, 8) : -1;
    if (fd >= 0) close(fd);
    return got == 8 && (memcmp(magic, "MAYFLYLG", 8) == 0 || memcmp(magic, "MAYFLYSN", 8) == 0);
}

/* Checks one file (name: as reports call it); last: the last file of the log, the only
 * one that may be cut. */
static int check_single(const char *name, const char *path, int last, int preamble,
                        const check_opts *o) {
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("Cannot open file %s: %s, aborting...\n", path, strerror(errno));
        return CHK_FAILED;
    }
    uint64_t size = (uint64_t)st.st_size, from = 0;
    if (size == 0) return CHK_EMPTY;
    if (is_mayfly_0_1(path)) {
        printf("%s is a file of Mayfly 0.1: start Mayfly on its directory once and the log is "
               "converted (docs/migration.md)\n",
               path);
        return CHK_FAILED;
    }
    if (preamble && check_rdb_part(path, &from)) {
        printf("RDB preamble of AOF file is not sane, aborting.\n");
        return CHK_FAILED;
    }
    verdict v = read_commands(path, from, size, o->to_ts);
    if (v.rc == REC_EIO) {
        printf("Failed to read from AOF %s, aborting...\n", name);
        return CHK_FAILED;
    }
    if (v.rc == REC_TS_BAD) {
        printf("Invalid timestamp annotation\n");
        return CHK_FAILED;
    }
    if (v.rc == REC_TS_PAST) return truncate_at_timestamp(name, path, &v, last, o->to_ts);
    if (v.rc != REC_EOF && strcmp(v.why, RECORD_NOT_A_COMMAND) == 0)
        printf("AOF %s format error\n", name);
    else if (v.rc != REC_EOF)
        printf("0x%16llx: %s\n", (unsigned long long)v.at, v.why);
    uint64_t diff = size - v.ok_up_to;
    if (diff == 0 && o->to_ts) {
        printf("Truncate nothing in AOF %s to timestamp %lld\n", name, o->to_ts);
        return CHK_OK;
    }
    printf("AOF analyzed: filename=%s, size=%llu, ok_up_to=%llu, ok_up_to_line=%lld, "
           "diff=%llu\n",
           name, (unsigned long long)size, (unsigned long long)v.ok_up_to, v.line,
           (unsigned long long)diff);
    if (diff == 0) return CHK_OK;
    if (!o->fix) {
        printf("AOF %s is not valid. Use the --fix option to try fixing it.\n", name);
        return CHK_FAILED;
    }
    if (!last) {
        printf("Failed to truncate AOF %s because it is not the last file\n", name);
        return CHK_FAILED;
    }
    if (!confirm(name, size, v.ok_up_to)) return CHK_FAILED;
    if (truncate(path, (off_t)v.ok_up_to) < 0) {
        printf("Failed to truncate AOF %s\n", name);
        return CHK_FAILED;
    }
    return CHK_TRUNCATED;
}

/* The line after each file, as redis-check-aof words it. */
static void print_result(int rc, const char *name, const char *kind, long long to_ts) {
    if (rc == CHK_OK) printf("%s %s is valid\n", kind, name);
    if (rc == CHK_EMPTY) printf("%s %s is empty\n", kind, name);
    if (rc == CHK_TS_TRUNCATED)
        printf("Successfully truncated AOF %s to timestamp %lld\n", name, to_ts);
    if (rc == CHK_TRUNCATED) printf("Successfully truncated AOF %s\n", name);
}

/* 1 if the file starts with an RDB header (Redis's or Valkey's magic). */
static int starts_with_rdb(const char *path) {
    char magic[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
    if (fd >= 0) close(fd);
    return n == 8 && (memcmp(magic, "REDIS", 5) == 0 || memcmp(magic, "VALKEY", 6) == 0);
}

/* 1 if the file reads as a manifest: its first line that is not a comment names a file. */
static int is_manifest(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1100];
    int yes = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#') continue;
        yes = strncmp(line, "file", 4) == 0;
        break;
    }
    fclose(f);
    return yes;
}

static int check_manifest(const char *path, const check_opts *o) {
    char copy[4096], dir[4096], file[4096], err[512];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(dir, sizeof(dir), "%s", dirname(copy));
    printf("Start checking Multi Part AOF\n");
    manifest m;
    if (manifest_load_file(path, &m, err, sizeof(err)) != MANIFEST_OK) {
        printf("Invalid AOF manifest %s: %s\n", path, err);
        return 1;
    }
    int rc = CHK_OK;
    size_t total = (m.base.name[0] ? 1 : 0) + m.nincr, n = 0;
    if (m.base.name[0]) {
        io_path(file, sizeof(file), dir, m.base.name);
        int rdb = starts_with_rdb(file);
        printf("Start to check BASE AOF (%s format).\n", rdb ? "RDB" : "RESP");
        rc = check_single(m.base.name, file, ++n == total, rdb, o);
        print_result(rc, m.base.name, "BASE AOF", o->to_ts);
    }
    if (rc != CHK_FAILED && m.nincr) printf("Start to check INCR files.\n");
    for (size_t i = 0; rc != CHK_FAILED && i < m.nincr; i++) {
        io_path(file, sizeof(file), dir, m.incr[i].name);
        rc = check_single(m.incr[i].name, file, ++n == total, 0, o);
        print_result(rc, m.incr[i].name, "INCR AOF", o->to_ts);
    }
    manifest_deinit(&m);
    if (rc == CHK_FAILED) return 1;
    printf("All AOF files and manifest are valid\n");
    return 0;
}

int check_aof_main(const char *path, int fix, long long to_timestamp) {
    db_init_all(config.databases);
    check_opts o = {fix, to_timestamp};
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("Cannot open file %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (is_manifest(path)) return check_manifest(path, &o);
    printf("Start checking Old-Style AOF\n");
    int rc = check_single(path, path, 1, starts_with_rdb(path), &o);
    print_result(rc, path, "AOF", to_timestamp);
    return rc == CHK_FAILED ? 1 : 0;
}
