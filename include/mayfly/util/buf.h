/* buf: a growable byte buffer. data may move on any append: keep offsets, not pointers.
 *
 * A buffer may be given a limit (buf_set_limit): it then never grows past it. An append
 * that does not fit under the limit drops everything the buffer holds (len becomes 0) and
 * sets `over`; the buffer goes on taking appends (dropping again whenever it fills), so
 * the writer needs no checks of its own. That is the shape of a client's reply buffer
 * under client-output-buffer-limit: once over, the client is closed without its replies,
 * and a handler building one huge reply only needs to stop early (buf_over) to save time.
 * A mark kept into such a buffer (a deferred length) is void once it is over. */
#ifndef MAYFLY_UTIL_BUF_H
#define MAYFLY_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;   /* bytes in use */
    size_t cap;   /* bytes allocated */
    size_t limit; /* 0: none; else the most bytes it holds (see above) */
    int over;     /* an append did not fit under the limit: contents were dropped */
} buf;

/* Initialises an empty buffer (no allocation). */
void buf_init(buf *b);
/* Frees the storage and clears the limit; the buffer may be initialised again. */
void buf_deinit(buf *b);
/* Sets the limit (0: none), which applies from the next growth on; keeps over. */
static inline void buf_set_limit(buf *b, size_t limit) {
    b->limit = limit;
}
/* Drops the contents and sets over, as an append past the limit would (a reply built
 * aside that went over its own limit). */
static inline void buf_drop(buf *b) {
    b->len = 0;
    b->over = 1;
}
/* 1 once an append did not fit under the limit (the contents were dropped). */
static inline int buf_over(const buf *b) {
    return b->over;
}
/* As buf_reserve, but when the buffer must grow it gets exactly len + extra bytes, not
 * the next doubling (Redis's sdsMakeRoomForNonGreedy: a big argument's buffer is sized to
 * the argument, so a client's memory is what it sent). Ignores the limit. */
char *buf_reserve_exact(buf *b, size_t extra);
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
/* A new NUL-terminated string of printf-formatted text (mem_free it): error messages. */
char *buf_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(buf *b, size_t n);
/* Sets len to 0, keeping the storage. */
static inline void buf_clear(buf *b) {
    b->len = 0;
}
/* Frees the storage if it is larger than keep bytes and empty (shrinks idle buffers); the
 * limit and over stay. */
void buf_shrink(buf *b, size_t keep);

#endif
