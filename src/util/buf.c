/* buf: growable byte buffer. Growth doubles the capacity, so n appends cost O(n). */
#include "mayfly/util/buf.h"

#include "mayfly/util/mem.h"

#include <stdio.h>
#include <string.h>

void buf_init(buf *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = 0;
    b->over = 0;
}

void buf_deinit(buf *b) {
    mem_free(b->data);
    buf_init(b);
}

char *buf_grow(buf *b, size_t extra) {
    if (b->limit && (b->len > b->limit || extra > b->limit - b->len)) {
        /* Over the limit: what the buffer holds is dropped (see buf.h). */
        b->over = 1;
        b->len = 0;
    }
    if (b->cap - b->len < extra) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < extra)
            cap *= 2;
        /* Doubling stops at the limit, so a bounded buffer never allocates past it (one
         * append larger than the limit still gets its room). */
        if (b->limit && cap > b->limit) cap = b->len + extra > b->limit ? b->len + extra : b->limit;
        b->data = mem_realloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

char *buf_reserve_exact(buf *b, size_t extra) {
    if (b->cap - b->len < extra) {
        b->cap = b->len + extra;
        b->data = mem_realloc(b->data, b->cap);
    }
    return b->data + b->len;
}

void buf_append(buf *b, const void *p, size_t len) {
    if (len == 0) return;
    memcpy(buf_reserve(b, len), p, len);
    b->len += len;
}

void buf_puts(buf *b, const char *s) {
    buf_append(b, s, strlen(s));
}

void buf_putc(buf *b, char c) {
    *buf_reserve(b, 1) = c;
    b->len++;
}

void buf_vprintf(buf *b, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    char *dst = buf_reserve(b, 128);
    int n = vsnprintf(dst, b->cap - b->len, fmt, copy);
    va_end(copy);
    if (n < 0) return;
    if ((size_t)n >= b->cap - b->len) {
        dst = buf_reserve(b, (size_t)n + 1);
        vsnprintf(dst, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *buf_strdupf(const char *fmt, ...) {
    buf b;
    buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *s = mem_strndup(b.data ? b.data : "", b.len);
    buf_deinit(&b);
    return s;
}

void buf_consume(buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void buf_shrink(buf *b, size_t keep) {
    if (b->len == 0 && b->cap > keep) {
        mem_free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}
