/* check: the offline log checker; see check.h. */
#include "mayfly/persist/check.h"

#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"
#include "persist/record_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_snapshot(const char *path) {
    char magic[8];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, magic, sizeof(magic));
    close(fd);
    return (n >= 5 && memcmp(magic, "REDIS", 5) == 0) ||
           (n >= 6 && memcmp(magic, "VALKEY", 6) == 0) ||
           (n == 8 && memcmp(magic, LEGACY_SNAP_MAGIC, 8) == 0);
}

static int check_snapshot(const char *path) {
    snapshot_loader l;
    int rc = snapshot_load_begin(&l, path, 0);
    while (rc == SNAP_MORE)
        rc = snapshot_load_step(&l, 1024);
    if (rc == SNAP_DONE)
        printf("Snapshot %s is valid (%lld keys)\n", path, l.keys_loaded);
    else
        printf("Snapshot %s is not valid: %s at offset %llu\n", path, l.err,
               (unsigned long long)l.err_offset);
    snapshot_load_end(&l);
    db_free_all();
    db_init_all(config.databases);
    return rc == SNAP_DONE ? 0 : 1;
}

static int check_log(const char *path, int fix) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("Cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    fstat(fd, &st);
    pr r;
    pr_init(&r, fd);
    record rec = {0};
    int64_t created;
    long long n = 0;
    const char *why = "not a Mayfly log (bad header)";
    int rc = record_read_header(&r, &created);
    if (rc == REC_OK) {
        while ((rc = record_read(&r, &rec, &why)) == REC_OK)
            n++;
    } else {
        rec.offset = 0;
        if (rc == REC_TRUNCATED || rc == REC_EOF) why = "the file ends inside its header";
    }
    record_deinit(&rec);
    pr_deinit(&r);
    close(fd);
    uint64_t ok_up_to = rc == REC_EOF && n ? (uint64_t)st.st_size : rec.offset;
    if (rc == REC_EOF) ok_up_to = (uint64_t)st.st_size;
    printf("AOF analyzed: filename=%s, size=%lld, ok_up_to=%llu, ok_up_to_record=%lld, "
           "diff=%llu\n",
           path, (long long)st.st_size, (unsigned long long)ok_up_to, n,
           (unsigned long long)((uint64_t)st.st_size - ok_up_to));
    if (rc == REC_EOF) {
        printf("AOF %s is valid\n", path);
        return 0;
    }
    printf("AOF %s is %s at offset %llu: %s\n", path, rc == REC_TRUNCATED ? "truncated" : "corrupt",
           (unsigned long long)rec.offset, why);
    if (!fix) {
        printf("AOF %s is not valid. Use the --fix option to try fixing it.\n", path);
        return 1;
    }
    if (truncate(path, (off_t)rec.offset) < 0) {
        printf("Failed to truncate AOF %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("Successfully truncated AOF %s to %llu bytes (%lld records kept)\n", path,
           (unsigned long long)rec.offset, n);
    return 0;
}

static int check_manifest(const char *path, int fix) {
    char copy[4096], dir[4096], name[1100], file[4096], err[512];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(dir, sizeof(dir), "%s", dirname(copy));
    manifest m;
    if (manifest_load(dir, &m, err, sizeof(err)) != MANIFEST_OK) {
        printf("Invalid manifest %s: %s\n", path, err);
        return 1;
    }
    int status = 0;
    if (m.base_seq) {
        manifest_base_name(name, sizeof(name), m.base_seq);
        io_path(file, sizeof(file), dir, name);
        status |= check_snapshot(file);
    }
    for (long s = m.incr_lo; s <= m.incr_hi; s++) {
        manifest_incr_name(name, sizeof(name), s);
        io_path(file, sizeof(file), dir, name);
        status |= check_log(file, fix && s == m.incr_hi);
    }
    return status;
}

int check_aof_main(const char *path, int fix) {
    db_init_all(config.databases);
    if (ends_with(path, ".manifest")) return check_manifest(path, fix);
    if (is_snapshot(path)) return check_snapshot(path);
    return check_log(path, fix);
}
