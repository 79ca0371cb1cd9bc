/* string: the string value type, with Redis's three encodings.
 *
 *   INT     a 64-bit integer, for values that are exactly an integer's canonical text
 *           ("123", "-5"; not "0123" or "+5") of at most 20 bytes;
 *   EMBSTR  up to STRING_INLINE_MAX bytes stored inline after the header (one block);
 *   RAW     a separate growable buffer (longer values, and any value modified in place by
 *           APPEND or SETRANGE).
 *
 * OBJECT ENCODING reports "int", "embstr" and "raw" as Redis does: Redis embeds only up to
 * 44 bytes (STRING_EMBSTR_MAX), so an inline value longer than that is reported "raw". Mayfly
 * embeds longer values because a separate buffer costs a second allocation and 32 bytes of
 * header (a 100-byte value: 112 bytes inline, 144 as RAW) while nothing is gained for a
 * value that is never modified in place (one that is becomes RAW, as an EMBSTR does). An
 * EMBSTR's header is 12 bytes and its bytes have no NUL after them (Redis's embstr: 16 + 3
 * and a NUL), so a given memory limit holds more of them. The struct is
 * public so that the hot paths (GET, SET) inline their accessors; change it only through this API.
 */
#ifndef MAYFLY_TYPES_STRING_H
#define MAYFLY_TYPES_STRING_H

#include "mayfly/types/object.h"
#include "mayfly/util/slice.h"
#include "mayfly/util/strconv.h"

#include <stddef.h>
#include <stdint.h>

#define STRING_EMBSTR_MAX 44     /* Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT ("embstr" up to it) */
#define STRING_INLINE_MAX 4096   /* longest value stored inline (ENC_EMBSTR) */
#define STRING_SHARED_INTS 10000 /* integers in [0, this) are "shared" (OBJECT REFCOUNT) */
/* 1 (the default) while small integers count as shared; evict/ sets 0 under maxmemory with
 * an LRU or LFU policy, where Redis gives every value its own object (and access clock). */
extern int string_share_ints;

typedef struct string {
    obj hdr; /* type OBJ_STRING */
    /* The length in bytes (INT: unused): an EMBSTR's is len_lo (at most STRING_INLINE_MAX)
     * and its bytes follow at once (STRING_EMB_OFFSET, over len_hi and u: 12 + len bytes in
     * all, no NUL); a RAW string's is len_lo | len_hi << 32. */
    uint32_t len_lo, len_hi;
    union {
        long long ival; /* INT */
        struct {
            char *ptr; /* owned, cap bytes */
            size_t cap;
        } raw; /* RAW */
    } u;
} string;
#define STRING_EMB_OFFSET (offsetof(string, len_lo) + sizeof(uint32_t))

/* The bytes of an EMBSTR. */
static inline const char *string_emb(const string *s) {
    return (const char *)s + STRING_EMB_OFFSET;
}

/* Returns an owned string holding p[0..len), in the most compact encoding (Redis's
 * tryObjectEncoding: INT when the text is a canonical integer, else EMBSTR or RAW). */
string *string_new(const char *p, size_t len);
/* Like string_new but never INT (Redis's createStringObject: EMBSTR or RAW by length). */
string *string_new_text(const char *p, size_t len);
/* Returns an owned RAW string of len zero bytes (SETRANGE on a missing key). */
string *string_new_zeros(size_t len);
/* Returns an owned INT string. */
string *string_from_ll(long long v);
/* Returns an owned RAW copy of s (before modifying a value in place). */
string *string_dup_raw(const string *s);
/* Returns an owned copy of s in the same encoding (COPY). */
string *string_dup(const string *s);
void string_free(string *s);

/* The bytes of s. For INT, they are written to tmp (at least STRCONV_LL_MAX bytes). */
static inline slice string_bytes(const string *s, char *tmp) {
    switch (s->hdr.enc) {
    case ENC_INT:
        return (slice){tmp, ll_to_str(tmp, s->u.ival)};
    case ENC_EMBSTR:
        return (slice){string_emb(s), s->len_lo};
    default:
        return (slice){s->u.raw.ptr, s->len_lo | (size_t)((uint64_t)s->len_hi << 32)};
    }
}
/* Length of the value's text. */
size_t string_len(const string *s);
/* Parses s as a long long with Redis's rules; 0 on success, -1 if it is not one. */
int string_get_ll(const string *s, long long *out);
/* Parses s as a long double (INCRBYFLOAT); 0 on success, -1 if it is not one. */
int string_get_ld(const string *s, long double *out);
/* Sets the value of an INT string that is not shared (INCR in place). */
void string_set_ll(string *s, long long v);

/* RAW strings only: grows the value to at least len bytes, zero-filling (SETRANGE). */
void string_grow_zero(string *s, size_t len);
/* RAW strings only: writes p[0..len) at offset (offset + len <= current length). */
void string_write(string *s, size_t offset, const char *p, size_t len);
/* RAW strings only: appends p[0..len). */
void string_append(string *s, const char *p, size_t len);

/* Approximate bytes used by the value (MEMORY USAGE). */
size_t string_memory(const string *s);

#endif
