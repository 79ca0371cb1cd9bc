/* buf: a growable byte buffer. data may move on any append: keep offsets, not pointers. */
#ifndef MAYFLY_UTIL_BUF_H
#define MAYFLY_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
} buf;

/* Initialises an empty buffer (no allocation). */
void buf_init(buf *b);
/* Frees the storage; the buffer may be initialised again. */
void buf_deinit(buf *b);
/* The growing path of buf_reserve (not for direct use). */
char *buf_grow(buf *b, size_t extra);
/* Makes room for at least extra more bytes; returns a pointer to data + len. Inline: the
 * reply writer calls it once per frame, and the room is almost always there. */
static inline char *buf_reserve(buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return b->data + b->len;
    return buf_grow(b, extra);
}
/* Appends len bytes of p. */
void buf_append(buf *b, const void *p, size_t len);
/* Appends a NUL-terminated string (without the NUL). */
void buf_puts(buf *b, const char *s);
/* Appends one byte. */
void buf_putc(buf *b, char c);
/* Appends printf-formatted text. */
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(buf *b, size_t n);
/* Sets len to 0, keeping the storage. */
static inline void buf_clear(buf *b) {
    b->len = 0;
}
/* Frees the storage if it is larger than keep bytes and empty (shrinks idle buffers). */
void buf_shrink(buf *b, size_t keep);

#endif
