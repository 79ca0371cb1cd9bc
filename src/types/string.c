/* string: the string value type (see string.h for the encodings).
 *
 * Memory layout of each encoding (64-bit):
 *
 *   INT     [ obj | - | ival ]                             32 bytes
 *   EMBSTR  [ obj | len32 | bytes... ]                     12 + len bytes, one block
 *   RAW     [ obj | len_lo len_hi | ptr | cap ] -> [ bytes NUL ]   32 bytes + the buffer
 *
 * EMBSTR values are immutable: a command that modifies a value in place first turns it
 * into RAW (string_dup_raw, as Redis's dbUnshareStringValue), whose buffer grows
 * geometrically so that repeated APPENDs are amortised O(1). The RAW buffer always has a
 * spare byte for a terminating NUL, kept so that the bytes can be passed to strtold. */
#include "mayfly/types/string.h"

#include "mayfly/util/mem.h"

#include <assert.h>
#include <string.h>

int string_share_ints = 1;

/* The length of a RAW string. */
static size_t raw_len(const string *s) {
    return s->len_lo | (size_t)((uint64_t)s->len_hi << 32);
}

static void set_raw_len(string *s, size_t len) {
    s->len_lo = (uint32_t)len;
    s->len_hi = (uint32_t)((uint64_t)len >> 32);
}

/* Where an EMBSTR's bytes go. */
static char *emb_bytes(string *s) {
    return (char *)s + STRING_EMB_OFFSET;
}
#define STRING_MAX_PREALLOC (1024 * 1024) /* growth beyond this is linear, as sds's */

static void init_hdr(string *s, uint8_t enc) {
    s->hdr.type = OBJ_STRING;
    s->hdr.enc = enc;
    s->hdr.flags = 0;
    s->hdr.lru = 0;
}

string *string_from_ll(long long v) {
    string *s = mem_alloc(sizeof(string));
    init_hdr(s, ENC_INT);
    s->len_lo = s->len_hi = 0;
    string_set_ll(s, v);
    return s;
}

/* An EMBSTR (len <= STRING_INLINE_MAX) or RAW string of p[0..len); p may be NULL for
 * zero-filled contents. */
static string *new_raw(const char *p, size_t len);

static string *new_bytes(const char *p, size_t len) {
    if (len > STRING_INLINE_MAX) return new_raw(p, len);
    string *s = mem_alloc(STRING_EMB_OFFSET + len);
    init_hdr(s, ENC_EMBSTR);
    s->len_lo = (uint32_t)len;
    if (len && p)
        memcpy(emb_bytes(s), p, len);
    else if (len)
        memset(emb_bytes(s), 0, len);
    return s;
}

string *string_new(const char *p, size_t len) {
    long long v;
    if (len < STRCONV_LL_MAX && str_to_ll(p, len, &v) == 0) return string_from_ll(v);
    return new_bytes(p, len);
}

string *string_new_text(const char *p, size_t len) {
    return new_bytes(p, len);
}

/* A RAW string holding a copy of p[0..len) (or zeros when p is NULL). */
static string *new_raw(const char *p, size_t len) {
    string *s = mem_alloc(sizeof(string));
    init_hdr(s, ENC_RAW);
    set_raw_len(s, len);
    s->u.raw.cap = len + 1;
    s->u.raw.ptr = mem_alloc(s->u.raw.cap);
    if (p)
        memcpy(s->u.raw.ptr, p, len);
    else
        memset(s->u.raw.ptr, 0, len);
    s->u.raw.ptr[len] = '\0';
    return s;
}

string *string_new_zeros(size_t len) {
    return new_raw(NULL, len);
}

string *string_dup_raw(const string *s) {
    char tmp[STRCONV_LL_MAX];
    slice b = string_bytes(s, tmp);
    return new_raw(b.p, b.len);
}

string *string_dup(const string *s) {
    string *d;
    if (s->hdr.enc == ENC_INT) {
        d = string_from_ll(s->u.ival);
        d->hdr.flags = 0; /* a copy is never a shared object */
    } else if (s->hdr.enc == ENC_EMBSTR) {
        d = new_bytes(string_emb(s), s->len_lo);
    } else {
        d = new_raw(s->u.raw.ptr, raw_len(s));
    }
    d->hdr.lru = s->hdr.lru;
    return d;
}

void string_free(string *s) {
    if (!s) return;
    if (s->hdr.enc == ENC_RAW) mem_free(s->u.raw.ptr);
    mem_free(s);
}

size_t string_len(const string *s) {
    if (s->hdr.enc == ENC_INT) {
        char tmp[STRCONV_LL_MAX];
        return ll_to_str(tmp, s->u.ival);
    }
    return s->hdr.enc == ENC_EMBSTR ? s->len_lo : raw_len(s);
}

int string_get_ll(const string *s, long long *out) {
    if (s->hdr.enc == ENC_INT) {
        *out = s->u.ival;
        return 0;
    }
    char tmp[STRCONV_LL_MAX];
    slice b = string_bytes(s, tmp);
    return str_to_ll(b.p, b.len, out);
}

int string_get_ld(const string *s, long double *out) {
    if (s->hdr.enc == ENC_INT) {
        *out = (long double)s->u.ival;
        return 0;
    }
    char tmp[STRCONV_LL_MAX];
    slice b = string_bytes(s, tmp);
    return str_to_ld(b.p, b.len, out);
}

void string_set_ll(string *s, long long v) {
    assert(s->hdr.enc == ENC_INT);
    s->u.ival = v;
    s->hdr.flags = (string_share_ints && v >= 0 && v < STRING_SHARED_INTS) ? OBJF_SHARED : 0;
}

/* Makes room in a RAW string for len bytes plus the NUL, growing geometrically. */
static void reserve(string *s, size_t len) {
    assert(s->hdr.enc == ENC_RAW);
    if (len + 1 <= s->u.raw.cap) return;
    size_t cap = len < STRING_MAX_PREALLOC ? len * 2 : len + STRING_MAX_PREALLOC;
    s->u.raw.ptr = mem_realloc(s->u.raw.ptr, cap + 1);
    s->u.raw.cap = cap + 1;
}

void string_grow_zero(string *s, size_t len) {
    size_t cur = raw_len(s);
    if (len <= cur) return;
    reserve(s, len);
    memset(s->u.raw.ptr + cur, 0, len - cur + 1);
    set_raw_len(s, len);
}

void string_write(string *s, size_t offset, const char *p, size_t len) {
    assert(s->hdr.enc == ENC_RAW && offset + len <= raw_len(s));
    memcpy(s->u.raw.ptr + offset, p, len);
}

void string_append(string *s, const char *p, size_t len) {
    size_t cur = raw_len(s);
    reserve(s, cur + len);
    memcpy(s->u.raw.ptr + cur, p, len);
    set_raw_len(s, cur + len);
    s->u.raw.ptr[cur + len] = '\0';
}

size_t string_memory(const string *s) {
    if (s->hdr.enc == ENC_RAW) return mem_usable(s) + mem_usable(s->u.raw.ptr);
    return mem_usable(s);
}
