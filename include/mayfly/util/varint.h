/* varint: the one variable-length integer codec (LEB128, unsigned 64-bit): 7 bits per byte,
 * low groups first, the high bit set on every byte but the last. Used by the compact hash
 * encodings (types/) and the persistence formats (persist/).
 *
 *     300 = 0b1_0010_1100  ->  0xac 0x02
 *
 * Inline: the hash encodings decode lengths on every lookup. */
#ifndef MAYFLY_UTIL_VARINT_H
#define MAYFLY_UTIL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10 /* bytes of the longest encoding (a uint64) */

/* Bytes varint_put writes for v (1..VARINT_MAX). */
static inline size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80)
        v >>= 7, n++;
    return n;
}

/* Encodes v at out (room for varint_len(v) bytes); returns the bytes written. */
static inline size_t varint_put(void *out, uint64_t v) {
    uint8_t *p = out;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return (size_t)(p - (uint8_t *)out);
}

/* Decodes the varint at p into *out and returns its length. Only for memory this process
 * encoded (no bounds, no overflow check); input from outside goes through
 * varint_get_checked. */
static inline size_t varint_get(const void *in, uint64_t *out) {
    const uint8_t *p = in;
    uint64_t v = p[0] & 0x7f;
    size_t n = 1;
    if (p[0] & 0x80) {
        int shift = 7;
        do {
            v |= (uint64_t)(p[n] & 0x7f) << shift;
            shift += 7;
        } while (p[n++] & 0x80);
    }
    *out = v;
    return n;
}

/* Decodes a varint from p[0..len) into *out. Returns the bytes used, or 0 if the bytes
 * end inside it or it does not fit 64 bits. */
static inline size_t varint_get_checked(const void *in, size_t len, uint64_t *out) {
    const uint8_t *p = in;
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < VARINT_MAX; i++) {
        if (i == VARINT_MAX - 1 && p[i] > 1) return 0; /* more than 64 bits */
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

#endif
