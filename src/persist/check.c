/* check: the offline log checker (`mayfly-server --check-aof [--fix]`, or the program run as
 * redis-check-aof); see check.h.
 *
 * A file is read as the loader reads it: an RDB part when it starts with one (decoded whole),
 * then RESP commands to the end, keeping track of MULTI/EXEC (a file ending inside a
 * transaction is cut before its MULTI, as the loader does). The report gives the file's size,
 * the offset up to which it is good and the number of commands before it; --fix truncates
 * the file there (only the last file of a manifest). */
#include "mayfly/persist/check.h"

#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/mem.h"
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

typedef struct verdict {
    int rc;            /* REC_EOF (valid), REC_TRUNCATED, REC_CORRUPT, REC_EIO */
    uint64_t ok_up_to; /* offset of the first byte not known good */
    long long commands;
    const char *why;
} verdict;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Reads the commands of path from offset from to the end. */
static verdict check_commands(const char *path, uint64_t from, uint64_t size) {
    verdict v = {REC_EIO, from, 0, "can't read the file"};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || lseek(fd, (off_t)from, SEEK_SET) < 0) {
        if (fd >= 0) close(fd);
        return v;
    }
    pr r;
    pr_init(&r, fd);
    r.base = from;
    record rec = {0};
    int in_multi = 0;
    uint64_t multi_at = 0;
    long long before_multi = 0;
    for (;;) {
        const char *why = "";
        int rc = record_read(&r, size, &rec, &why);
        if (rc == REC_OK) {
            if (slice_eq_ci(rec.argv[0], "multi")) {
                in_multi = 1;
                multi_at = rec.offset;
                before_multi = v.commands;
            } else if (slice_eq_ci(rec.argv[0], "exec") || slice_eq_ci(rec.argv[0], "discard")) {
                in_multi = 0;
            }
            v.commands++;
            continue;
        }
        v.rc = rc;
        v.why = why;
        v.ok_up_to = rec.offset;
        if (rc == REC_EOF) v.ok_up_to = size;
        if ((rc == REC_EOF || rc == REC_TRUNCATED) && in_multi) {
            v.rc = REC_TRUNCATED;
            v.ok_up_to = multi_at;
            v.commands = before_multi;
            if (rc == REC_EOF) v.why = "the file ends inside a MULTI/EXEC block";
        }
        break;
    }
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

/* Checks one file; fix: cut it at the first bad command. Returns the exit status. */
static int check_file(const char *path, int fix, int last) {
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("Cannot stat file %s: %s\n", path, strerror(errno));
        return 1;
    }
    char magic[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, magic, 8) : -1;
    if (fd >= 0) close(fd);
    if (got == 8 && (memcmp(magic, "MAYFLYLG", 8) == 0 || memcmp(magic, "MAYFLYSN", 8) == 0)) {
        printf("%s is a file of Mayfly 0.1: start Mayfly on its directory once and the log is "
               "converted (docs/migration.md)\n",
               path);
        return 1;
    }
    uint64_t from;
    if (check_rdb_part(path, &from)) return 1;
    uint64_t size = (uint64_t)st.st_size;
    verdict v = check_commands(path, from, size);
    if (v.rc == REC_EIO) {
        printf("Cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("AOF analyzed: filename=%s, size=%llu, ok_up_to=%llu, ok_up_to_command=%lld, "
           "diff=%llu\n",
           path, (unsigned long long)size, (unsigned long long)v.ok_up_to, v.commands,
           (unsigned long long)(size - v.ok_up_to));
    if (v.rc == REC_EOF) {
        printf("AOF %s is %s\n", path, size == 0 ? "empty" : "valid");
        return 0;
    }
    printf("AOF %s is %s at offset %llu: %s\n", path,
           v.rc == REC_TRUNCATED ? "truncated" : "corrupt", (unsigned long long)v.ok_up_to, v.why);
    if (!fix) {
        printf("AOF %s is not valid. Use the --fix option to try fixing it.\n", path);
        return 1;
    }
    if (!last) {
        printf("Failed to truncate AOF %s because it is not the last file\n", path);
        return 1;
    }
    if (truncate(path, (off_t)v.ok_up_to) < 0) {
        printf("Failed to truncate AOF %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("Successfully truncated AOF %s to %llu bytes (%lld commands kept)\n", path,
           (unsigned long long)v.ok_up_to, v.commands);
    return 0;
}

static int check_manifest(const char *path, int fix) {
    char copy[4096], dir[4096], file[4096], err[512];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(dir, sizeof(dir), "%s", dirname(copy));
    /* The manifest's name gives appendfilename, which names nothing else here. */
    manifest m;
    if (manifest_load(dir, &m, err, sizeof(err)) != MANIFEST_OK) {
        printf("Invalid AOF manifest %s: %s\n", path, err);
        return 1;
    }
    printf("Start checking Multi Part AOF\n");
    int status = 0;
    size_t total = (m.base.name[0] ? 1 : 0) + m.nincr, n = 0;
    if (m.base.name[0]) {
        io_path(file, sizeof(file), dir, m.base.name);
        printf("Start to check BASE AOF (%s format).\n",
               ends_with(m.base.name, ".rdb") ? "RDB" : "RESP");
        status |= check_file(file, fix, ++n == total);
    }
    if (m.nincr) printf("Start to check INCR files.\n");
    for (size_t i = 0; i < m.nincr; i++) {
        io_path(file, sizeof(file), dir, m.incr[i].name);
        status |= check_file(file, fix, ++n == total);
    }
    manifest_deinit(&m);
    if (!status) printf("All AOF files and manifest are valid\n");
    return status;
}

int check_aof_main(const char *path, int fix) {
    db_init_all(config.databases);
    if (ends_with(path, ".manifest")) {
        /* The manifest's file name fixes appendfilename for the names it holds. */
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", path);
        char *base = basename(copy);
        base[strlen(base) - strlen(".manifest")] = '\0';
        mem_free(config.appendfilename);
        config.appendfilename = mem_strdup(base);
        return check_manifest(path, fix);
    }
    return check_file(path, fix, 1);
}
