/* io: the byte-level pieces every persistence file shares.
 *
 *   - a buffered reader (pr) that tracks the file offset of every byte (for error messages
 *     naming the offset) and hashes what it consumes (Mayfly 0.1's snapshot trailer);
 *   - LEB128 varints (util/varint.h), little-endian fixed integers, and the file helpers
 *     (write_all, fsync of a directory, path joining).
 *
 * The reader keeps no pointers into its buffer across calls: a pointer returned by pr_take is
 * valid until the next pr_* call. */
#ifndef MAYFLY_PERSIST_IO_H
#define MAYFLY_PERSIST_IO_H

#include "mayfly/util/varint.h"

#define XXH_STATIC_LINKING_ONLY
#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

/* Buffered reader over a file descriptor. */
typedef struct pr {
    int fd;
    char *buf; /* owned */
    size_t cap;
    size_t pos, end;    /* unread bytes are buf[pos..end) */
    uint64_t base;      /* file offset of buf[0] */
    int eof;            /* read(2) returned 0 */
    int err;            /* errno of a failed read, 0 if none */
    XXH64_state_t hash; /* of every byte consumed */
} pr;

enum {
    PR_OK = 0,
    PR_SHORT = -1, /* the file ends before the bytes asked for */
    PR_EIO = -2,   /* read(2) failed (err) */
};

void pr_init(pr *r, int fd);
void pr_deinit(pr *r);
/* Makes n bytes available at pr_peek. Returns PR_OK, PR_SHORT or PR_EIO. */
int pr_need(pr *r, size_t n);
/* The unread bytes (at least as many as the last successful pr_need asked for). */
static inline const char *pr_peek(const pr *r) {
    return r->buf + r->pos;
}
/* Consumes n available bytes (hashing them); returns a pointer to them. */
const char *pr_take(pr *r, size_t n);
/* File offset of the next unread byte. */
static inline uint64_t pr_offset(const pr *r) {
    return r->base + r->pos;
}
/* Reads a varint / one byte / a u64le. Returns PR_OK, PR_SHORT, PR_EIO, or PR_SHORT for an
 * over-long varint too (callers treat it as damage). */
int pr_varint(pr *r, uint64_t *out);
int pr_u8(pr *r, uint8_t *out);
int pr_u64le(pr *r, uint64_t *out);
/* The XXH64 of every byte consumed so far. */
uint64_t pr_digest(pr *r);
/* 1 if every byte from the read position to the end of the file is zero (a torn tail
 * that the file system extended with zeros). Consumes them. */
int pr_rest_is_zero(pr *r);

static inline void u32le_put(char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}
static inline uint32_t u32le_get(const char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)(unsigned char)p[i] << (8 * i);
    return v;
}

/* Writes all len bytes (retrying short writes and EINTR). Returns 0 or -1 (errno set). */
int io_write_all(int fd, const void *p, size_t len);
/* fsyncs the directory (after a rename in it). Returns 0 or -1 (errno set). */
int io_fsync_dir(const char *dir);
/* Writes "dir/name" into out (cap bytes). */
void io_path(char *out, size_t cap, const char *dir, const char *name);

/* persist.c: recomputes the MISCONF gate's switch after a snapshot's or a log write's
 * outcome changed (util/armed.h). */
void persist_misconf_rearm(void);

#endif
