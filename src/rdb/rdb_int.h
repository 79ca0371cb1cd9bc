/* rdb_int.h: pieces shared inside src/rdb/ — the bounded input reader, decoded-string
 * references, the value decoder (rdb_value.c) and the listpack / ziplist / zipmap codecs
 * (rdb_lp.c). Nothing outside src/rdb/ includes this file. */
#ifndef MAYFLY_RDB_RDB_INT_H
#define MAYFLY_RDB_RDB_INT_H

#include "mayfly/rdb/rdb.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* RDB length encodings (the two top bits of the first byte). */
#define RDB_6BITLEN 0
#define RDB_14BITLEN 1
#define RDB_32BITLEN 0x80
#define RDB_64BITLEN 0x81
#define RDB_ENCVAL 3
/* Special string encodings (RDB_ENCVAL, then these in the low six bits). */
#define RDB_ENC_INT8 0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF 3

/* Module value sub-opcodes (MODULE_AUX data). */
#define RDB_MODULE_OPCODE_EOF 0
#define RDB_MODULE_OPCODE_SINT 1
#define RDB_MODULE_OPCODE_UINT 2
#define RDB_MODULE_OPCODE_FLOAT 3
#define RDB_MODULE_OPCODE_DOUBLE 4
#define RDB_MODULE_OPCODE_STRING 5

/* Redis's EB_EXPIRE_TIME_MAX: the largest field deadline a file may hold. */
#define RDB_FIELD_EXPIRE_MAX ((int64_t)0xFFFFFFFFFFFF)

/* ---- bounded input -------------------------------------------------------------------- */

/* A reader over the bytes given to one decode attempt. Errors are sticky: after the first
 * failure every call fails, so a decoder reads a whole item and checks status once. */
typedef struct rdb_in {
    const unsigned char *start, *p, *end;
    int status;  /* RDB_OK, RDB_MORE, or an error code */
    size_t need; /* with RDB_MORE: bytes from start known to be needed */
    char *err;   /* message buffer (errcap bytes) */
    size_t errcap;
} rdb_in;

void rdb_in_init(rdb_in *in, const char *p, size_t len, char *err, size_t errcap);
/* Records an error (the first one wins) and returns -1. */
int rdb_in_fail(rdb_in *in, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Returns a pointer to the next n bytes and consumes them, or NULL (RDB_MORE). */
const unsigned char *rdb_in_take(rdb_in *in, size_t n);
/* Bytes consumed so far. */
static inline size_t rdb_in_pos(const rdb_in *in) {
    return (size_t)(in->p - in->start);
}
/* One byte, or -1. */
int rdb_in_u8(rdb_in *in);
/* A little-endian 64-bit integer (times); 0 or -1. */
int rdb_in_i64le(rdb_in *in, int64_t *out);
/* An RDB length; *encoded (may be NULL) is set when it is a special string encoding
 * (then *len is the RDB_ENC_* kind). 0 or -1. */
int rdb_in_len(rdb_in *in, uint64_t *len, int *encoded);

/* A decoded string: in the input (offset from in->start), in the arena, or (inside a
 * compact blob being read) in the blob buffer. Offsets, not pointers, because the arena may
 * move while more strings are added. */
typedef struct rdb_str {
    size_t off, len;
    int in_arena; /* 0: input, 1: the arena (or the buffer the string was read into), 2: blob */
} rdb_str;

/* Reads an RDB string (plain, integer-encoded or LZF) into *out. 0 or -1. */
int rdb_in_string(rdb_in *in, buf *arena, rdb_str *out);
/* The same for a string of at most max bytes: one whose stated length (plain, or LZF's
 * decompressed length) is longer is neither read nor decompressed: returns 1 with
 * out->len set to that length and nothing failed, for the caller to refuse it. */
int rdb_in_string_max(rdb_in *in, buf *arena, size_t max, rdb_str *out);
static inline slice rdb_str_slice(const rdb_in *in, const buf *arena, rdb_str s) {
    const char *base = s.in_arena ? arena->data : (const char *)in->start;
    return (slice){s.len ? base + s.off : "", s.len};
}

/* Decompresses LZF data (rdb_lzf.c) into out, which must have RDB_LZF_SLACK writable
 * bytes beyond out_len (wide copies may spill there). Returns the bytes written (the data
 * is whole when that is out_len), or 0 if the input is damaged or does not fit. */
#define RDB_LZF_SLACK 32
size_t rdb_lzf_decompress(const unsigned char *in, size_t in_len, unsigned char *out,
                          size_t out_len);

/* ---- values ----------------------------------------------------------------------------- */

/* What the value decoder needs besides the input. */
typedef struct rdb_vctx {
    const rdb_dec_opts *o;
    int valkey;  /* types 22/23 have Valkey's meaning */
    buf *arena;  /* decoded strings */
    buf *blob;   /* a compact blob (listpack, ziplist, zipmap) decompressed: stays put while
                    integers of it are written into the arena */
    void **refs; /* scratch array of field references, grown as needed */
    size_t *refs_cap;
    size_t dropped;  /* OUT: hash fields dropped as due */
    int unsupported; /* OUT: a value of another type was read past (skip_unsupported) */
} rdb_vctx;

/* Plain hashes (types 4, 22, 24), which a large hash is decoded as field by field. */
int rdb_is_plain_hash(int type);
/* Reads a plain hash's header: *min_ms (type 24; else 0) and the field count *n. 0 or -1. */
int rdb_read_hash_header(rdb_in *in, int type, int64_t *min_ms, uint64_t *n);
/* One field of a plain hash: its strings and its deadline, if any (not checked against
 * HASH_DEADLINE_MAX nor dropped: the caller decides). 0 or -1. */
typedef struct rdb_hash_field {
    rdb_str f, v;
    int has_ttl;
    int64_t deadline;
} rdb_hash_field;
int rdb_read_hash_field(rdb_in *in, buf *arena, int type, int valkey, int64_t min_ms,
                        rdb_hash_field *out);

/* Decodes a value of the given type. Returns 0 with *val (owned; NULL when every field of
 * a hash was dropped), or -1 with in->status set (RDB_MORE, RDB_ECORRUPT, RDB_ETYPE). */
int rdb_read_value(rdb_in *in, rdb_vctx *v, int type, obj **val);
/* A module type's nine-character name from its 64-bit id (out: 10 bytes). */
void rdb_module_name(uint64_t id, char *out);

/* ---- listpack, ziplist, zipmap (rdb_lp.c) ------------------------------------------------ */

/* One element of a listpack or ziplist: a string, or an integer (then s is NULL). */
typedef struct rdb_elem {
    const unsigned char *s;
    size_t len;
    int64_t v;
} rdb_elem;

/* Checks a whole listpack blob (header, every entry and its back-length, the terminator,
 * the element count) and returns its number of elements, or -1 if it is malformed. */
long rdb_lp_validate(const unsigned char *lp, size_t len);
/* Checks a listpack blob as rdb_lp_validate does and decodes its elements into out, at
 * most cap of them (a blob of len bytes has at most RDB_LP_MAX_ELEMS(len)): their count,
 * or -1 if the blob is malformed. */
#define RDB_LP_MAX_ELEMS(len) ((len) / 2 + 1)
long rdb_lp_decode(const unsigned char *lp, size_t len, rdb_elem *out, size_t cap);
/* Iteration over a validated listpack: *pos starts at 0; returns 1 with *out, 0 at the end. */
int rdb_lp_next(const unsigned char *lp, size_t *pos, rdb_elem *out);
/* Checks a whole ziplist blob and returns its number of elements, or -1. */
long rdb_zl_validate(const unsigned char *zl, size_t len);
int rdb_zl_next(const unsigned char *zl, size_t *pos, rdb_elem *out);
/* Checks a zipmap blob and returns its number of pairs, or -1. Iteration yields one pair
 * (two strings) at a time. */
long rdb_zm_validate(const unsigned char *zm, size_t len);
int rdb_zm_next(const unsigned char *zm, size_t *pos, rdb_elem *field, rdb_elem *value);

/* Listpack writing: begin, append elements, end (which fills in the header). Strings that
 * are canonical integers are stored as integers, as Redis's lpAppend does. */
#define RDB_LP_HDR 6                             /* total bytes u32le, count u16le */
#define RDB_LP_MAX_INT 10                        /* 0xF4 + 8 bytes, backlen 1 */
#define RDB_LP_MAX_STR(len) ((size_t)(len) + 10) /* 5-byte header, backlen up to 5 */
/* The unchecked forms: store one element at w (room for RDB_LP_MAX_STR(len) or
 * RDB_LP_MAX_INT bytes) and return its size; rdb_lp_finish appends the terminator to a
 * listpack of used bytes (room for one more), fills in the header and returns its size. */
size_t rdb_lp_put(unsigned char *w, const char *s, size_t len);
size_t rdb_lp_put_int(unsigned char *w, int64_t v);
size_t rdb_lp_finish(unsigned char *lp, size_t used, size_t count);
void rdb_lp_begin(buf *b);
void rdb_lp_append(buf *b, const char *s, size_t len);
void rdb_lp_append_int(buf *b, int64_t v);
void rdb_lp_end(buf *b, size_t count);

#endif
