/* rdb: Redis's RDB format, values <-> bytes (no files, no sockets).
 *
 * An RDB stream, as Redis 7.4/8 write it (version 12; Valkey 9 writes "VALKEY080"):
 *
 *     "REDIS0012" | AUX name value ... | [FUNCTION2 code] ...
 *     { SELECTDB n | RESIZEDB keys expires
 *       { [EXPIRETIME_MS t] [IDLE s | FREQ f] type key value }* }*
 *     EOF | crc64 (8 bytes, little endian; 0 when written with rdbchecksum no)
 *
 * A DUMP payload is "type value | version (2 bytes LE) | crc64 (8 bytes LE)".
 *
 * Writing (rdb_enc) goes through a sink callback: a file, a socket or a memory buffer, so
 * snapshots, AOF bases, DUMP and (later) replication full syncs share one encoder. Values
 * are read through the public type APIs only (hash iteration), never their layout.
 *
 * Reading (rdb_dec) is incremental and never blocks: the caller hands it whatever bytes it
 * has, and it either decodes one whole item (a key with its value, an AUX field, ...) and
 * says how many bytes it used, or answers RDB_MORE with a lower bound of the bytes it needs
 * from the same position, consuming nothing. A caller reading a file or a socket keeps the
 * unconsumed bytes, appends more (at least the bound, and at least as many again as it
 * holds, so that a large value is re-parsed O(log n) times) and calls again. Nothing is
 * allocated for a length until its bytes are there, so a bogus length cannot make the
 * decoder allocate more than the input justifies. */
#ifndef MAYFLY_RDB_RDB_H
#define MAYFLY_RDB_RDB_H

#include "mayfly/types/hash.h"
#include "mayfly/types/object.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

#define RDB_VERSION 12            /* what Mayfly writes (Redis 7.4 and 8) */
#define RDB_REDIS_MAX_VERSION 12  /* newest "REDIS" version Mayfly reads */
#define RDB_VALKEY_MIN_VERSION 80 /* "VALKEY" versions Mayfly reads: Valkey 9.0 ... */
#define RDB_VALKEY_MAX_VERSION 81 /* ... and 9.1 */

/* Object types (Redis src/rdb.h). Numbers 22 and 23 mean something else in a Valkey file
 * (version 80 and later): 22 is Valkey's hash with field expiry, 23 its path hash. */
enum rdb_type {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE_PRE_GA = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
    RDB_TYPE_SET_LISTPACK = 20,
    RDB_TYPE_STREAM_LISTPACKS_3 = 21,
    RDB_TYPE_HASH_METADATA_PRE_GA = 22,    /* Redis 7.4 RC; Valkey 9: RDB_TYPE_HASH_2 */
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23, /* Redis 7.4 RC; Valkey 9.1: path hash */
    RDB_TYPE_HASH_METADATA = 24,
    RDB_TYPE_HASH_LISTPACK_EX = 25,
    RDB_TYPE_STREAM_LISTPACKS_4 = 26,
    RDB_TYPE_STREAM_LISTPACKS_5 = 27,
};

/* Opcodes (Redis src/rdb.h; 242 and 243 are Valkey's). */
enum rdb_opcode {
    RDB_OPCODE_VALKEY_UPDATE = 242,
    RDB_OPCODE_VALKEY_SLOT_IMPORT = 243,
    RDB_OPCODE_SLOT_INFO = 244,
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION_PRE_GA = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* Results (negative: errors, with a message in the decoder's err). */
enum {
    RDB_OK = 0,        /* an item was decoded (or written) */
    RDB_DONE = 1,      /* the EOF opcode and the checksum were read: the stream is complete */
    RDB_MORE = 2,      /* the bytes end inside the next item: call again with more */
    RDB_ECORRUPT = -1, /* malformed input */
    RDB_EVERSION = -2, /* not an RDB stream, or a version Mayfly does not read */
    RDB_ETYPE = -3,    /* a value of a type Mayfly does not implement (list, set, ...) */
    RDB_ECHECKSUM = -4 /* the CRC64 does not match */
};

/* A short name of an object type for messages ("list", "hash-listpack-ex", ...); valkey
 * selects the meaning of 22 and 23. Never NULL. */
const char *rdb_type_name(int type, int valkey);

/* ---- writing -------------------------------------------------------------------------- */

/* Receives encoded bytes; returns 0, or -1 with errno set (the encoder stops writing). */
typedef int rdb_sink_fn(void *ctx, const char *p, size_t len);

typedef struct rdb_enc {
    rdb_sink_fn *sink;
    void *ctx;
    int compress;     /* rdbcompression: LZF for strings longer than 20 bytes */
    int checksum;     /* rdbchecksum: compute the CRC64 (else the trailer is 0) */
    uint64_t crc;     /* of every byte written so far (when checksum) */
    uint64_t written; /* bytes written so far */
    int err;          /* errno of the first failed sink call, 0 if none */
    size_t len;       /* bytes pending in out */
    char *out;        /* owned staging buffer */
    buf scratch;      /* LZF output */
    buf lp;           /* the listpack of a compact hash being written */
    void *sort;       /* owned scratch for ordering hash entries: sort_cap, then as many
                       * more for the merge */
    size_t sort_cap;
    int version;      /* the header's RDB version; 0: RDB_VERSION (set before writing) */
    const slice *aux; /* more AUX fields for the header: naux (name, value) pairs, borrowed */
    size_t naux;
    int key_delay_us; /* rdb-key-save-delay: clock_debug_delay after each key of a dataset */
} rdb_enc;

/* Prepares an encoder writing to sink(ctx, ...). */
void rdb_enc_init(rdb_enc *e, rdb_sink_fn *sink, void *ctx, int compress, int checksum);
/* Frees the encoder's buffers (it does not flush). */
void rdb_enc_deinit(rdb_enc *e);
/* Writes the magic "REDIS0012" (or e->version) and Mayfly's AUX fields (redis-ver,
 * redis-bits, ctime, used-mem, aof-base, mayfly-ver), then e->aux. */
void rdb_enc_header(rdb_enc *e, int64_t now_ms, size_t used_mem, int aof_base);
/* Writes one AUX field. */
void rdb_enc_aux(rdb_enc *e, slice name, slice value);
/* Writes SELECTDB dbid and RESIZEDB keys expires. */
void rdb_enc_select_db(rdb_enc *e, int dbid, uint64_t keys, uint64_t expires);
/* Writes one key: [EXPIRETIME_MS expire_ms] type key value. Fields due at now_ms are left
 * out; a hash with no live field is not written at all. Returns 1 if the key was written,
 * 0 if it was left out. val is only read (iterating a hashtable pauses its rehashing). */
int rdb_enc_key(rdb_enc *e, slice key, obj *val, int64_t expire_ms, int64_t now_ms);
/* Writes the EOF opcode and the checksum, then flushes. Returns 0, or -1 (errno set) if
 * any write failed. */
int rdb_enc_end(rdb_enc *e);
/* Hands the staged bytes to the sink. Returns 0 or -1 (errno set). */
int rdb_enc_flush(rdb_enc *e);

/* 1 if some hash of the dataset has a field with a TTL (only RDB 12 can hold it: a
 * dataset without one can be written as RDB 10, which Redis 7.0 reads). */
int rdb_dataset_has_field_ttls(void);
/* Writes one function library: FUNCTION2 and its code (the FUNCTION LOAD payload). */
void rdb_enc_function(rdb_enc *e, slice code);

/* Writes the whole dataset as of now_ms: header, the function libraries (through the
 * library hooks), every non-empty database, EOF and checksum. Keys due at now_ms are left out.
 * aof_base: the file is an AOF base (AUX aof-base 1). *keys (OUT, may be NULL) receives the number
 * of keys written. Returns 0 or -1 (errno set). */
int rdb_save_dataset(rdb_enc *e, int64_t now_ms, int aof_base, long long *keys);

/* ---- function libraries ----------------------------------------------------------------- */

/* Function libraries live in script/, above rdb/: server.c registers how to list them and
 * how to create one, and snapshots, log bases and loaders reach them through these. */
typedef void rdb_library_fn(const char *code, size_t len, void *ctx);
typedef void rdb_library_foreach_fn(rdb_library_fn *fn, void *ctx);
typedef int rdb_library_fn_rc(const char *code, size_t len, void *ctx, char *err, size_t cap);
typedef struct rdb_library_hooks {
    /* Calls fn with each library's code (the FUNCTION LOAD payload), in load order. */
    rdb_library_foreach_fn *foreach;
    /* Creates a library from its code as loading a file does: one of the same name is
     * replaced, no time limit. Returns 0, or -1 with Redis's error text in err. */
    int (*create)(const char *code, size_t len, char *err, size_t cap);
    /* Drops every library (before a dataset is loaded in place of the current one). */
    void (*flush)(void);
} rdb_library_hooks;

/* Registers the hooks (h is kept; NULL: none, then there are no libraries to write and a
 * file's libraries cannot be loaded). */
void rdb_set_library_hooks(const rdb_library_hooks *h);
/* The registered hooks, or NULL. */
const rdb_library_hooks *rdb_library_hooks_get(void);

/* Appends to out FUNCTION DUMP's payload: FUNCTION2 and the code of each library foreach
 * gives, then the RDB version (2 bytes LE) and the CRC64 of all before (8 bytes LE). */
void rdb_functions_payload(buf *out, rdb_library_foreach_fn *foreach, int compress);

/* Reads FUNCTION RESTORE's payload, calling each with every library's code in order (each
 * returns 0, or -1 with Redis's error text in err, which ends the reading). Returns RDB_OK;
 * RDB_EVERSION for a version newer than Mayfly reads or a wrong CRC64 ("DUMP payload
 * version or checksum are wrong"); RDB_ECORRUPT with Redis's text in err (without a code:
 * "given type is not a function", ...); or each's failure, -1 (ECORRUPT), err as it set. */
int rdb_functions_payload_read(const char *p, size_t len, rdb_library_fn_rc *each, void *ctx,
                               char *err, size_t cap);

/* Appends to out the DUMP payload of val as of now_ms (type, value, RDB version, CRC64). A
 * hash with no live field gives an empty hash-listpack payload. */
void rdb_dump_payload(buf *out, obj *val, int64_t now_ms, int compress);

/* ---- reading -------------------------------------------------------------------------- */

typedef struct rdb_dec_opts {
    hash_limits lim;        /* hash-max-listpack-entries / -value of the loaded hashes */
    int64_t drop_before_ms; /* hash fields with a deadline <= this are dropped (0: none) */
    int verify_checksum;    /* rdbchecksum: check a non-zero CRC64 trailer */
    int databases;          /* SELECTDB must name a database below this */
    int skip_unsupported;   /* read past values of other types (lists, sets, zsets, streams,
                               modules) and report them with val NULL instead of failing with
                               RDB_ETYPE (the offline checker) */
} rdb_dec_opts;

enum rdb_item_kind {
    RDB_ITEM_KEY,      /* a key with its value */
    RDB_ITEM_AUX,      /* an AUX field */
    RDB_ITEM_SELECTDB, /* the following keys belong to dbid */
    RDB_ITEM_RESIZEDB, /* size hints of the current database */
    RDB_ITEM_FUNCTION, /* a function library (FUNCTION2): its code in code */
    RDB_ITEM_SKIPPED,  /* something Mayfly cannot use, read and skipped (see what) */
};

/* One decoded item. Slices are borrowed from the decoder (or the input) until the next
 * call; val is owned by the caller. */
typedef struct rdb_item {
    enum rdb_item_kind kind;
    int dbid;                     /* the current database */
    int type;                     /* KEY: the RDB object type */
    slice key;                    /* KEY */
    obj *val;                     /* KEY: owned; NULL when every field of a hash was dropped
                                     or the value was of another type (unsupported) */
    int unsupported;              /* KEY: a value of a type Mayfly lacks, read past */
    int64_t expire_ms;            /* KEY: the key's deadline, 0 if none */
    long long idle;               /* KEY: IDLE seconds, -1 if absent */
    int freq;                     /* KEY: FREQ counter, -1 if absent */
    size_t fields_dropped;        /* KEY: hash fields dropped as due (drop_before_ms) */
    slice aux_name, aux_value;    /* AUX */
    slice code;                   /* FUNCTION: the library's code */
    uint64_t db_keys, db_expires; /* RESIZEDB */
    const char *what;             /* SKIPPED: "module aux data" */
    char module[10];              /* SKIPPED module aux: the module type's name */
} rdb_item;

typedef struct rdb_dec {
    rdb_dec_opts o;
    int stage;       /* header, body, trailer, done */
    int version;     /* from the header */
    int valkey;      /* the header said "VALKEY" */
    uint64_t crc;    /* CRC64 of the bytes consumed so far */
    uint64_t offset; /* bytes consumed so far */
    size_t need;     /* after RDB_MORE: bytes needed from the current position */
    int dbid;
    int64_t pending_expire; /* opcodes read before the next key */
    long long pending_idle;
    int pending_freq;
    buf arena; /* decoded strings (keys, LZF output, integers as text) */
    buf blob;  /* a compressed compact blob (listpack, ziplist, zipmap) decompressed */
    /* A hash too large to be compact is decoded field by field, each field consumed as it
     * arrives, so that a value of any size needs no more buffered input than one field: */
    obj *big;           /* the hash under construction, NULL if none */
    buf big_key;        /* its key */
    int big_type;       /* its RDB type (4, 22 or 24) */
    uint64_t big_left;  /* fields still to read */
    int64_t big_min;    /* type 24: the base of the field deadlines */
    size_t big_dropped; /* fields dropped so far */
    void *refs;         /* owned scratch: the fields of the hash being decoded */
    size_t refs_cap;
    char err[256]; /* why, after an error */
} rdb_dec;

/* Prepares a decoder for a whole RDB stream (starting with its magic). */
void rdb_dec_init(rdb_dec *d, const rdb_dec_opts *o);
void rdb_dec_deinit(rdb_dec *d);
/* Decodes the next item from p[0..len) (the bytes after those consumed so far). Returns
 * RDB_OK with *out filled; RDB_DONE once the EOF opcode and the checksum were read (nothing
 * after them is read: an old-style AOF continues in RESP); RDB_MORE when the bytes end
 * inside an item, with d->need the bytes to have from p + *used before calling again; or an
 * error (d->err says why; d->offset is where the item that failed starts). In every case
 * *used bytes were consumed (the header and opcodes such as EXPIRETIME that precede a key
 * are consumed as they are read). The item's slices point into p or the decoder: valid
 * until the next call, while p stays as it is. After an error or RDB_DONE the decoder must
 * not be called again. */
int rdb_dec_next(rdb_dec *d, const char *p, size_t len, size_t *used, rdb_item *out);

/* Decodes a DUMP payload (RESTORE). Returns RDB_OK with *val (owned; NULL when every field
 * of a hash was dropped), RDB_EVERSION when the footer's version is newer than Mayfly reads
 * or the CRC64 does not match ("DUMP payload version or checksum are wrong"), RDB_ETYPE or
 * RDB_ECORRUPT ("Bad data format"); err (cap bytes) says why. *type (OUT, may be NULL)
 * receives the object type. */
int rdb_load_payload(const char *p, size_t len, const rdb_dec_opts *o, obj **val, int *type,
                     char *err, size_t cap);

#endif
