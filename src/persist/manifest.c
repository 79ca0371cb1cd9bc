/* manifest: reading and atomically replacing the log's manifest; see manifest.h. */
#include "mayfly/config.h"
#include "mayfly/util/buf.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void manifest_base_name(char *out, size_t cap, long seq) {
    snprintf(out, cap, "%s.%ld.base.snap", config.appendfilename, seq);
}

void manifest_incr_name(char *out, size_t cap, long seq) {
    snprintf(out, cap, "%s.%ld.incr.log", config.appendfilename, seq);
}

void manifest_file_name(char *out, size_t cap) {
    snprintf(out, cap, "%s.manifest", config.appendfilename);
}

/* Parses one "file <name> seq <n> type <b|i>" line into m. Returns 0 or -1. */
static int parse_line(char *line, manifest *m) {
    char name[1024], type[8], expect[1100];
    long seq;
    if (sscanf(line, "file %1023s seq %ld type %7s", name, &seq, type) != 3 || seq <= 0) return -1;
    if (strcmp(type, "b") == 0) {
        if (m->base_seq) return -1;
        manifest_base_name(expect, sizeof(expect), seq);
        if (strcmp(expect, name) != 0) return -1;
        m->base_seq = seq;
        return 0;
    }
    if (strcmp(type, "i") != 0) return -1;
    manifest_incr_name(expect, sizeof(expect), seq);
    if (strcmp(expect, name) != 0) return -1;
    if (m->incr_lo > m->incr_hi) {
        m->incr_lo = m->incr_hi = seq;
        return 0;
    }
    if (seq != m->incr_hi + 1) return -1;
    m->incr_hi = seq;
    return 0;
}

int manifest_load(const char *dir, manifest *m, char *err, size_t cap) {
    char name[1100], path[4096];
    manifest_file_name(name, sizeof(name));
    io_path(path, sizeof(path), dir, name);
    *m = (manifest){0, 1, 0};
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return MANIFEST_ENOENT;
        snprintf(err, cap, "can't open %s: %s", path, strerror(errno));
        return MANIFEST_EBAD;
    }
    char line[2048];
    int lineno = 0, rc = MANIFEST_OK;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (parse_line(line, m) < 0) {
            snprintf(err, cap, "invalid line %d in %s", lineno, path);
            rc = MANIFEST_EBAD;
            break;
        }
    }
    fclose(f);
    if (rc == MANIFEST_OK && m->incr_lo > m->incr_hi) {
        snprintf(err, cap, "%s names no increment file", path);
        rc = MANIFEST_EBAD;
    }
    return rc;
}

int manifest_save(const char *dir, const manifest *m) {
    char name[1100], tmpname[1200], path[4096], tmp[4096], file[1100];
    manifest_file_name(name, sizeof(name));
    snprintf(tmpname, sizeof(tmpname), "temp-%s", name);
    io_path(path, sizeof(path), dir, name);
    io_path(tmp, sizeof(tmp), dir, tmpname);
    buf b;
    buf_init(&b);
    buf_puts(&b, "# mayfly append-only manifest\n");
    if (m->base_seq) {
        manifest_base_name(file, sizeof(file), m->base_seq);
        buf_printf(&b, "file %s seq %ld type b\n", file, m->base_seq);
    }
    for (long s = m->incr_lo; s <= m->incr_hi; s++) {
        manifest_incr_name(file, sizeof(file), s);
        buf_printf(&b, "file %s seq %ld type i\n", file, s);
    }
    int rc = -1, saved = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (io_write_all(fd, b.data, b.len) == 0 && fsync(fd) == 0 && rename(tmp, path) == 0 &&
            io_fsync_dir(dir) == 0)
            rc = 0;
        saved = errno;
        close(fd);
        if (rc < 0) unlink(tmp);
    } else {
        saved = errno;
    }
    buf_deinit(&b);
    errno = saved;
    return rc;
}
