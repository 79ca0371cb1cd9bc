/* manifest: reading and atomically replacing the log's manifest; see manifest.h.
 *
 * The line syntax is Redis's: space-separated words, where a word may be double-quoted with
 * C escapes (\n \r \t \a \b \\ \" \xHH) or single-quoted (\' only), as Redis's
 * sdssplitargs reads them; names that need it are written quoted, as Redis's sdscatrepr
 * writes them. */
#include "mayfly/config.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/splitargs.h"
#include "persist/io_int.h"
#include "persist/manifest_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_LINE 1024 /* Redis's MANIFEST_MAX_LINE */
#define MAX_WORDS 16

void manifest_init(manifest *m) {
    memset(m, 0, sizeof(*m));
}

void manifest_deinit(manifest *m) {
    mem_free(m->incr);
    mem_free(m->hist);
    manifest_init(m);
}

void manifest_copy(manifest *dst, const manifest *src) {
    *dst = *src;
    dst->incr = mem_alloc((src->nincr + 1) * sizeof(aof_file));
    dst->hist = mem_alloc((src->nhist + 1) * sizeof(aof_file));
    if (src->nincr) memcpy(dst->incr, src->incr, src->nincr * sizeof(aof_file));
    if (src->nhist) memcpy(dst->hist, src->hist, src->nhist * sizeof(aof_file));
}

static void push(aof_file **list, size_t *n, const aof_file *f) {
    *list = mem_realloc(*list, (*n + 1) * sizeof(aof_file));
    (*list)[(*n)++] = *f;
}

void manifest_file_name(char *out, size_t cap) {
    snprintf(out, cap, "%s.manifest", config.appendfilename);
}

/* ---- reading ---- */

/* Parses one line into f. Returns NULL or a message. */
static const char *parse_line(const char *line, aof_file *f) {
    char store[MAX_LINE + 8], *w[MAX_WORDS];
    int n = splitargs_split(line, strlen(line), store, w, NULL, MAX_WORDS);
    if (n < 6 || n % 2) return "Invalid AOF manifest file format";
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < n; i += 2) {
        if (strcasecmp(w[i], "file") == 0) {
            if (strchr(w[i + 1], '/') || strlen(w[i + 1]) >= sizeof(f->name) || !w[i + 1][0])
                return "File can't be a path, just a filename";
            snprintf(f->name, sizeof(f->name), "%s", w[i + 1]);
        } else if (strcasecmp(w[i], "seq") == 0) {
            f->seq = atoll(w[i + 1]);
        } else if (strcasecmp(w[i], "type") == 0) {
            f->type = w[i + 1][0];
        }
    }
    if (!f->name[0] || f->seq <= 0 || !f->type) return "Invalid AOF manifest file format";
    return NULL;
}

/* Adds a parsed file to m. Returns NULL or a message. */
static const char *add_file(manifest *m, const aof_file *f) {
    switch (f->type) {
    case 'b':
        if (m->base.name[0]) return "Found duplicate base file information";
        m->base = *f;
        if (f->seq > m->base_seq) m->base_seq = f->seq;
        return NULL;
    case 'h':
        push(&m->hist, &m->nhist, f);
        return NULL;
    case 'i':
        if (m->nincr && f->seq <= m->incr[m->nincr - 1].seq)
            return "Found a non-monotonic sequence number";
        push(&m->incr, &m->nincr, f);
        if (f->seq > m->incr_seq) m->incr_seq = f->seq;
        return NULL;
    default:
        return "Unknown AOF file type";
    }
}

int manifest_load(const char *dir, manifest *m, char *err, size_t cap) {
    char name[1100], path[4096];
    manifest_file_name(name, sizeof(name));
    io_path(path, sizeof(path), dir, name);
    return manifest_load_file(path, m, err, cap);
}

int manifest_load_file(const char *path, manifest *m, char *err, size_t cap) {
    manifest_init(m);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return MANIFEST_ENOENT;
        snprintf(err, cap, "can't open %s: %s", path, strerror(errno));
        return MANIFEST_EBAD;
    }
    char line[MAX_LINE + 2];
    int lineno = 0;
    const char *why = NULL;
    while (!why && fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#') continue;
        if (!strchr(line, '\n')) {
            why = "The AOF manifest file contains too long line";
            break;
        }
        if (m->nincr + m->nhist >= MANIFEST_MAX_FILES) {
            why = "The AOF manifest names too many files";
            break;
        }
        aof_file af;
        why = parse_line(line, &af);
        if (!why) why = add_file(m, &af);
    }
    if (!why && ferror(f)) why = "Read AOF manifest failed";
    if (!why && lineno == 0) why = "Found an empty AOF manifest";
    fclose(f);
    if (!why) return MANIFEST_OK;
    if (lineno)
        snprintf(err, cap, "%s (%s, line %d)", why, path, lineno);
    else
        snprintf(err, cap, "%s (%s)", why, path);
    manifest_deinit(m);
    return MANIFEST_EBAD;
}

/* ---- writing ---- */

static int needs_quotes(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"' || c == '\'' || isspace(c) || !isprint(c)) return 1;
    }
    return 0;
}

static void put_name(buf *b, const char *s) {
    if (!needs_quotes(s)) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        case '\a':
            buf_puts(b, "\\a");
            break;
        case '\b':
            buf_puts(b, "\\b");
            break;
        default:
            if (isprint(c))
                buf_putc(b, (char)c);
            else
                buf_printf(b, "\\x%02x", c);
        }
    }
    buf_putc(b, '"');
}

static void put_file(buf *b, const aof_file *f) {
    buf_puts(b, "file ");
    put_name(b, f->name);
    buf_printf(b, " seq %lld type %c\n", f->seq, f->type);
}

int manifest_save(const char *dir, const manifest *m) {
    char name[1100], tmpname[1200], path[4096], tmp[4096];
    manifest_file_name(name, sizeof(name));
    snprintf(tmpname, sizeof(tmpname), "temp-%s", name);
    io_path(path, sizeof(path), dir, name);
    io_path(tmp, sizeof(tmp), dir, tmpname);
    buf b;
    buf_init(&b);
    if (m->base.name[0]) put_file(&b, &m->base);
    for (size_t i = 0; i < m->nhist; i++)
        put_file(&b, &m->hist[i]);
    for (size_t i = 0; i < m->nincr; i++)
        put_file(&b, &m->incr[i]);
    int rc = -1, saved = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (io_write_all(fd, b.data ? b.data : "", b.len) == 0 && fsync(fd) == 0 &&
            rename(tmp, path) == 0 && io_fsync_dir(dir) == 0)
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

/* ---- changes ---- */

const char *manifest_new_base(manifest *m, int rdb) {
    if (m->base.name[0]) {
        aof_file old = m->base;
        old.type = 'h';
        push(&m->hist, &m->nhist, &old);
    }
    m->base.seq = ++m->base_seq;
    m->base.type = 'b';
    snprintf(m->base.name, sizeof(m->base.name), "%s.%lld.base.%s", config.appendfilename,
             m->base.seq, rdb ? "rdb" : "aof");
    return m->base.name;
}

const char *manifest_new_incr(manifest *m) {
    aof_file f;
    memset(&f, 0, sizeof(f));
    f.seq = ++m->incr_seq;
    f.type = 'i';
    snprintf(f.name, sizeof(f.name), "%s.%lld.incr.aof", config.appendfilename, f.seq);
    push(&m->incr, &m->nincr, &f);
    return m->incr[m->nincr - 1].name;
}

void manifest_retire_incr(manifest *m, int keep_last) {
    size_t keep = keep_last && m->nincr ? 1 : 0;
    for (size_t i = 0; i + keep < m->nincr; i++) {
        aof_file h = m->incr[i];
        h.type = 'h';
        push(&m->hist, &m->nhist, &h);
    }
    if (keep) m->incr[0] = m->incr[m->nincr - 1];
    m->nincr = keep;
}

void manifest_clear_history(manifest *m) {
    m->nhist = 0;
}
