/* rdb_lp: the compact blobs Redis stores hashes in, as they appear inside RDB strings.
 *
 *   listpack (RDB 10+, types 16 and 25):
 *       [total bytes u32le][count u16le] { entry [backlen] }* 0xFF
 *       entry:  0xxxxxxx               7-bit unsigned integer
 *               10llllll data          string of up to 63 bytes
 *               110iiiii iiiiiiii      13-bit signed integer
 *               1110llll llllllll data string of up to 4095 bytes
 *               0xF0 len u32le data    longer string
 *               0xF1..0xF4             16, 24, 32, 64-bit signed integer (little endian)
 *       backlen: the entry's length, 1..5 bytes of 7 bits each, readable from its last
 *                byte backwards (each byte but the first has the top bit set)
 *   ziplist (RDB 2..9, type 13):
 *       [total u32le][offset of the last entry u32le][count u16le] { entry }* 0xFF
 *       entry:  [prevlen: 1 byte, or 0xFE + u32le][encoding][data]
 *               encoding 00llllll | 01llllll llllllll (big endian) | 0x80 + u32 (big
 *               endian): strings; 0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0 int24,
 *               0xFE int8 (little endian); 0xF1..0xFD the values 0..12
 *   zipmap (Redis 2.4 and older, type 9):
 *       [count u8] { len field len free value [free bytes] }* 0xFF
 *       len: 1 byte below 254, or 0xFE + u32le
 *
 * Every reader first validates the whole blob (bounds, encodings, counts), so iteration
 * over a validated blob needs no checks. Facts from Redis's listpack.c, ziplist.c and
 * zipmap.c; the code is Mayfly's. */
#include "mayfly/util/strconv.h"
#include "rdb/rdb_int.h"

#include <string.h>

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Sign-extends the low bits of v. */
static int64_t sext(uint64_t v, int bits) {
    uint64_t m = (uint64_t)1 << (bits - 1);
    v &= (bits == 64) ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
    return (int64_t)((v ^ m) - m);
}

/* ---- listpack ------------------------------------------------------------------------ */

#define LP_HDR 6
#define LP_EOF 0xFF
#define LP_COUNT_UNKNOWN 65535

static size_t backlen_size(uint64_t l) {
    if (l <= 127) return 1;
    if (l < 16383) return 2;
    if (l < 2097151) return 3;
    if (l < 268435455) return 4;
    return 5;
}

/* Parses the entry at p (avail bytes before the terminator position) into *out and returns
 * the length of its encoding and data (without backlen), or 0 if malformed. */
static size_t lp_entry(const unsigned char *p, size_t avail, rdb_elem *out) {
    unsigned b = p[0];
    size_t hdr, len = 0;
    out->s = NULL;
    if (avail < 1) return 0;
    if ((b & 0x80) == 0) {
        out->v = b & 0x7f;
        return 1;
    }
    if ((b & 0xC0) == 0x80) {
        hdr = 1;
        len = b & 0x3f;
    } else if ((b & 0xE0) == 0xC0) {
        if (avail < 2) return 0;
        out->v = sext(((uint64_t)(b & 0x1f) << 8) | p[1], 13);
        return 2;
    } else if ((b & 0xF0) == 0xE0) {
        if (avail < 2) return 0;
        hdr = 2;
        len = ((size_t)(b & 0x0f) << 8) | p[1];
    } else if (b == 0xF0) {
        if (avail < 5) return 0;
        hdr = 5;
        len = (size_t)le(p + 1, 4);
    } else if (b >= 0xF1 && b <= 0xF4) {
        static const int bytes[] = {2, 3, 4, 8};
        int n = bytes[b - 0xF1];
        if (avail < (size_t)n + 1) return 0;
        out->v = sext(le(p + 1, n), n * 8);
        return (size_t)n + 1;
    } else {
        return 0; /* 0xF5..0xFE are unused, 0xFF is the terminator */
    }
    if (len > avail - hdr) return 0;
    out->s = p + hdr;
    out->len = len;
    return hdr + len;
}

/* 1 if the back-length of an entry of n bytes, whose last byte is at q, says n. */
static int backlen_ok(const unsigned char *q, size_t n, size_t bl) {
    if (bl == 1) return *q == n; /* the common case: entries under 128 bytes */
    uint64_t v = 0;
    for (size_t i = 0; i < bl; i++, q--) {
        v |= (uint64_t)(*q & 127) << (7 * i);
        if ((i + 1 < bl) != ((*q & 128) != 0)) return 0;
    }
    return v == n;
}

/* Checks the whole blob and, with out, stores its elements there (cap of them at most).
 * Returns the number of elements, or -1. */
static long lp_walk(const unsigned char *lp, size_t len, rdb_elem *out, size_t cap) {
    if (len < LP_HDR + 1 || le(lp, 4) != len || lp[len - 1] != LP_EOF) return -1;
    size_t pos = LP_HDR, end = len - 1;
    long count = 0;
    rdb_elem scratch;
    while (pos < end) {
        if (out && (size_t)count == cap) return -1;
        rdb_elem *e = out ? &out[count] : &scratch;
        size_t n = lp_entry(lp + pos, end - pos, e);
        if (n == 0) return -1;
        size_t bl = backlen_size(n);
        if (bl > end - pos - n || !backlen_ok(lp + pos + n + bl - 1, n, bl)) return -1;
        pos += n + bl;
        count++;
    }
    unsigned hdr_count = (unsigned)le(lp + 4, 2);
    if (hdr_count != LP_COUNT_UNKNOWN && hdr_count != (unsigned long)count) return -1;
    return count;
}

long rdb_lp_validate(const unsigned char *lp, size_t len) {
    return lp_walk(lp, len, NULL, 0);
}

long rdb_lp_decode(const unsigned char *lp, size_t len, rdb_elem *out, size_t cap) {
    return lp_walk(lp, len, out, cap);
}

int rdb_lp_next(const unsigned char *lp, size_t *pos, rdb_elem *out) {
    if (*pos == 0) *pos = LP_HDR;
    if (lp[*pos] == LP_EOF) return 0;
    size_t n = lp_entry(lp + *pos, SIZE_MAX / 2, out);
    *pos += n + backlen_size(n);
    return 1;
}

/* The writers below store at w, which has room for RDB_LP_MAX_STR / RDB_LP_MAX_INT bytes,
 * and return how many they stored: the listpack of a whole hash is sized once and written
 * without a bound check per element. */

static size_t put_backlen(unsigned char *w, size_t l) {
    if (l <= 127) { /* entries under 128 bytes: the common case */
        w[0] = (unsigned char)l;
        return 1;
    }
    size_t n = backlen_size(l);
    /* The first byte holds the highest bits; every later byte has the top bit set. */
    for (size_t i = 0; i < n; i++) {
        unsigned char v = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        w[i] = i == 0 ? v : (unsigned char)(v | 128);
    }
    return n;
}

size_t rdb_lp_put_int(unsigned char *w, int64_t v) {
    size_t n;
    if (v >= 0 && v <= 127) {
        w[0] = (unsigned char)v;
        n = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint64_t u = (uint64_t)v & 0x1fff;
        w[0] = (unsigned char)(0xC0 | (u >> 8));
        w[1] = (unsigned char)u;
        n = 2;
    } else {
        int bytes = v >= -32768 && v <= 32767          ? 2
                    : v >= -8388608 && v <= 8388607    ? 3
                    : v >= INT32_MIN && v <= INT32_MAX ? 4
                                                       : 8;
        static const unsigned char code[9] = {0, 0, 0xF1, 0xF2, 0xF3, 0, 0, 0, 0xF4};
        w[0] = code[bytes];
        for (int i = 0; i < bytes; i++)
            w[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
        n = (size_t)bytes + 1;
    }
    return n + put_backlen(w + n, n);
}

size_t rdb_lp_put(unsigned char *w, const char *s, size_t len) {
    long long v;
    /* Only a digit or '-' can start a canonical integer: skip the parse for the rest. */
    if (len > 0 && len < STRCONV_LL_MAX && ((s[0] >= '0' && s[0] <= '9') || s[0] == '-') &&
        str_to_ll(s, len, &v) == 0)
        return rdb_lp_put_int(w, v);
    size_t hdr;
    if (len < 64) {
        w[0] = (unsigned char)(0x80 | len);
        hdr = 1;
    } else if (len < 4096) {
        w[0] = (unsigned char)(0xE0 | (len >> 8));
        w[1] = (unsigned char)len;
        hdr = 2;
    } else {
        w[0] = 0xF0;
        for (int i = 0; i < 4; i++)
            w[1 + i] = (unsigned char)(len >> (8 * i));
        hdr = 5;
    }
    memcpy(w + hdr, s, len);
    return hdr + len + put_backlen(w + hdr + len, hdr + len);
}

size_t rdb_lp_finish(unsigned char *lp, size_t used, size_t count) {
    lp[used++] = LP_EOF;
    for (int i = 0; i < 4; i++)
        lp[i] = (unsigned char)(used >> (8 * i));
    size_t c = count < LP_COUNT_UNKNOWN ? count : LP_COUNT_UNKNOWN;
    lp[4] = (unsigned char)c;
    lp[5] = (unsigned char)(c >> 8);
    return used;
}

void rdb_lp_begin(buf *b) {
    buf_clear(b);
    char hdr[LP_HDR] = {0};
    buf_append(b, hdr, LP_HDR);
}

void rdb_lp_append_int(buf *b, int64_t v) {
    unsigned char *w = (unsigned char *)buf_reserve(b, RDB_LP_MAX_INT);
    b->len += rdb_lp_put_int(w, v);
}

void rdb_lp_append(buf *b, const char *s, size_t len) {
    unsigned char *w = (unsigned char *)buf_reserve(b, RDB_LP_MAX_STR(len));
    b->len += rdb_lp_put(w, s, len);
}

void rdb_lp_end(buf *b, size_t count) {
    buf_reserve(b, 1);
    b->len = rdb_lp_finish((unsigned char *)b->data, b->len, count);
}

/* ---- ziplist ------------------------------------------------------------------------- */

#define ZL_HDR 10
#define ZL_END 0xFF

/* Parses the entry at p (avail bytes before the terminator): *prevlen (OUT) its stored
 * length of the previous entry, *out the element. Returns the entry's whole length, or 0. */
static size_t zl_entry(const unsigned char *p, size_t avail, size_t *prevlen, rdb_elem *out) {
    size_t n;
    if (avail < 1) return 0;
    if (p[0] < 0xFE) {
        *prevlen = p[0];
        n = 1;
    } else if (p[0] == 0xFE) {
        if (avail < 5) return 0;
        *prevlen = (size_t)le(p + 1, 4);
        n = 5;
    } else {
        return 0;
    }
    if (avail - n < 1) return 0;
    unsigned e = p[n];
    size_t len = 0, hdr;
    out->s = NULL;
    if ((e & 0xC0) == 0x00) {
        hdr = 1;
        len = e & 0x3f;
    } else if ((e & 0xC0) == 0x40) {
        if (avail - n < 2) return 0;
        hdr = 2;
        len = ((size_t)(e & 0x3f) << 8) | p[n + 1];
    } else if (e == 0x80) {
        if (avail - n < 5) return 0;
        hdr = 5;
        len = ((size_t)p[n + 1] << 24) | ((size_t)p[n + 2] << 16) | ((size_t)p[n + 3] << 8) |
              p[n + 4];
    } else {
        int bytes;
        switch (e) {
        case 0xC0:
            bytes = 2;
            break;
        case 0xD0:
            bytes = 4;
            break;
        case 0xE0:
            bytes = 8;
            break;
        case 0xF0:
            bytes = 3;
            break;
        case 0xFE:
            bytes = 1;
            break;
        default:
            if (e < 0xF1 || e > 0xFD) return 0;
            out->v = (int64_t)(e & 0x0f) - 1;
            return n + 1;
        }
        if (avail - n - 1 < (size_t)bytes) return 0;
        out->v = sext(le(p + n + 1, bytes), bytes * 8);
        return n + 1 + (size_t)bytes;
    }
    if (len > avail - n - hdr) return 0;
    out->s = p + n + hdr;
    out->len = len;
    return n + hdr + len;
}

long rdb_zl_validate(const unsigned char *zl, size_t len) {
    if (len < ZL_HDR + 1 || le(zl, 4) != len || zl[len - 1] != ZL_END) return -1;
    size_t tail = (size_t)le(zl + 4, 4), pos = ZL_HDR, end = len - 1, prev = 0, last = ZL_HDR;
    long count = 0;
    while (pos < end) {
        size_t prevlen;
        rdb_elem e;
        size_t n = zl_entry(zl + pos, end - pos, &prevlen, &e);
        if (n == 0 || prevlen != prev) return -1;
        last = pos;
        prev = n;
        pos += n;
        count++;
    }
    if (tail != last) return -1;
    unsigned hdr_count = (unsigned)le(zl + 8, 2);
    if (hdr_count != 65535 && hdr_count != (unsigned long)count) return -1;
    return count;
}

int rdb_zl_next(const unsigned char *zl, size_t *pos, rdb_elem *out) {
    if (*pos == 0) *pos = ZL_HDR;
    if (zl[*pos] == ZL_END) return 0;
    size_t prevlen;
    *pos += zl_entry(zl + *pos, SIZE_MAX / 2, &prevlen, out);
    return 1;
}

/* ---- zipmap -------------------------------------------------------------------------- */

/* Reads a zipmap length at p (avail bytes); returns the bytes it takes, or 0. */
static size_t zm_len(const unsigned char *p, size_t avail, size_t *out) {
    if (avail < 1 || p[0] == 0xFF) return 0;
    if (p[0] < 0xFE) {
        *out = p[0];
        return 1;
    }
    if (avail < 5) return 0;
    *out = (size_t)le(p + 1, 4);
    return 5;
}

/* Parses the pair at pos; returns its length, or 0. */
static size_t zm_pair(const unsigned char *zm, size_t pos, size_t end, rdb_elem *f, rdb_elem *v) {
    size_t p = pos, l, n;
    if (!(n = zm_len(zm + p, end - p, &l)) || l > end - p - n) return 0;
    f->s = zm + p + n;
    f->len = l;
    p += n + l;
    if (!(n = zm_len(zm + p, end - p, &l)) || end - p - n < 1) return 0;
    size_t free_bytes = zm[p + n];
    p += n + 1;
    if (l > end - p || free_bytes > end - p - l) return 0;
    v->s = zm + p;
    v->len = l;
    return p + l + free_bytes - pos;
}

long rdb_zm_validate(const unsigned char *zm, size_t len) {
    if (len < 2 || zm[len - 1] != 0xFF) return -1;
    size_t pos = 1, end = len - 1;
    long count = 0;
    while (pos < end) {
        rdb_elem f, v;
        size_t n = zm_pair(zm, pos, end, &f, &v);
        if (n == 0) return -1;
        pos += n;
        count++;
    }
    if (zm[0] < 254 && zm[0] != count) return -1;
    return count;
}

int rdb_zm_next(const unsigned char *zm, size_t *pos, rdb_elem *f, rdb_elem *v) {
    if (*pos == 0) *pos = 1;
    if (zm[*pos] == 0xFF) return 0;
    *pos += zm_pair(zm, *pos, SIZE_MAX / 2, f, v);
    return 1;
}
