/* io: the buffered reader, varints and file helpers; see io.h. */
#include "mayfly/util/mem.h"
#include "persist/io_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PR_MIN_CAP (256 * 1024)

int io_write_all(int fd, const void *p, size_t len) {
    const char *c = p;
    while (len) {
        ssize_t n = write(fd, c, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) {
            errno = ENOSPC;
            return -1;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

int io_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

void io_path(char *out, size_t cap, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    if (dl == 0)
        snprintf(out, cap, "%s", name);
    else
        snprintf(out, cap, "%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", name);
}

/* ---- reader ---- */

void pr_init(pr *r, int fd) {
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->cap = PR_MIN_CAP;
    r->buf = mem_alloc(r->cap);
    XXH64_reset(&r->hash, 0);
}

void pr_deinit(pr *r) {
    mem_free(r->buf);
    r->buf = NULL;
}

int pr_need(pr *r, size_t n) {
    while (r->end - r->pos < n) {
        if (r->err) return PR_EIO;
        if (r->eof) return PR_SHORT;
        if (r->pos > 0) { /* move the unread bytes to the front */
            memmove(r->buf, r->buf + r->pos, r->end - r->pos);
            r->base += r->pos;
            r->end -= r->pos;
            r->pos = 0;
        }
        if (n > r->cap) {
            r->cap = n + PR_MIN_CAP;
            r->buf = mem_realloc(r->buf, r->cap);
        }
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0) {
            if (errno == EINTR) continue;
            r->err = errno;
            return PR_EIO;
        }
        if (got == 0) r->eof = 1;
        r->end += (size_t)got;
    }
    return PR_OK;
}

const char *pr_take(pr *r, size_t n) {
    const char *p = r->buf + r->pos;
    XXH64_update(&r->hash, p, n);
    r->pos += n;
    return p;
}

int pr_varint(pr *r, uint64_t *out) {
    for (size_t want = 1; want <= VARINT_MAX; want++) {
        int rc = pr_need(r, want);
        if (rc != PR_OK) return rc;
        size_t used = varint_get_checked(pr_peek(r), want, out);
        if (used) {
            pr_take(r, used);
            return PR_OK;
        }
        if (!((unsigned char)pr_peek(r)[want - 1] & 0x80)) return PR_SHORT;
    }
    return PR_SHORT;
}

int pr_u8(pr *r, uint8_t *out) {
    int rc = pr_need(r, 1);
    if (rc == PR_OK) *out = (uint8_t)*pr_take(r, 1);
    return rc;
}

int pr_u64le(pr *r, uint64_t *out) {
    int rc = pr_need(r, 8);
    if (rc != PR_OK) return rc;
    const char *p = pr_take(r, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    *out = v;
    return PR_OK;
}

uint64_t pr_digest(pr *r) {
    return XXH64_digest(&r->hash);
}

int pr_rest_is_zero(pr *r) {
    for (;;) {
        for (size_t i = r->pos; i < r->end; i++)
            if (r->buf[i]) return 0;
        pr_take(r, r->end - r->pos);
        int rc = pr_need(r, 1);
        if (rc == PR_SHORT) return 1;
        if (rc != PR_OK) return 0;
    }
}
