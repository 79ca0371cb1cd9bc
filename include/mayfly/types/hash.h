/* hash: the hash value type (fields -> values, each field with an optional deadline).
 *
 * A hash is an `obj` (type OBJ_HASH) in one of three encodings, as OBJECT ENCODING names
 * them: ENC_LISTPACK (compact blob, no field has a TTL), ENC_LISTPACKEX (compact blob,
 * some fields have TTLs) and ENC_HASHTABLE (an otab of one allocation per field, plus a
 * min-heap of the fields that have a deadline). A compact hash becomes a hashtable when
 * it grows past the limits in hash_limits; the conversion is one way and keeps every TTL.
 *
 * Time is always an argument: now_ms is absolute Unix milliseconds, and a deadline is an
 * absolute Unix millisecond at which the field stops existing. HASH_NO_TTL (0) means "no
 * deadline". A field is *due* when its deadline <= now_ms.
 *
 * Expiry rules, for every function that takes now_ms:
 *   - readers (get, len, iteration, random, scan) never return a due field: they skip it
 *     and never change the hash (they may advance an incremental rehash);
 *   - writers (set, del, expire, persist) treat a due field as absent: hash_set replaces
 *     it, the others leave it stored for hash_reap;
 *   - hash_reap removes due fields in deadline order and reports each one, which is what
 *     the command layer calls first for lazy expiry (so that deletions are propagated)
 *     and what the active expiry cycle calls through the keyspace.
 *
 * A compact hash is one allocation, its header included, so the writers (hash_set,
 * hash_del, hash_expire, hash_persist, hash_reap) take a hash ** and may move the hash:
 * the pointer they leave in *hp replaces the one passed, which is dead, and whoever holds
 * the hash (the keyspace entry) must store it back. Readers never move it.
 *
 * All field and value arguments are binary-safe borrowed slices, copied on write; they
 * must not point into the hash itself. Slices returned in a hash_entry are borrowed from
 * the hash and valid until its next modification. */
#ifndef MAYFLY_TYPES_HASH_H
#define MAYFLY_TYPES_HASH_H

#include "mayfly/types/object.h"
#include "mayfly/util/otab.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hash hash;

/* "No deadline", as a field deadline and as the result of hash_next_deadline. */
#define HASH_NO_TTL ((int64_t)0)
/* The largest valid deadline (Redis's EB_EXPIRE_TIME_MAX >> 2): 2^46 - 1 ms, year 4199.
 * Commands validate user input against it; this module asserts it. */
#define HASH_DEADLINE_MAX ((int64_t)((1LL << 46) - 1))

/* Conversion thresholds (CONFIG hash-max-listpack-entries / hash-max-listpack-value). A
 * compact hash becomes a hashtable when it would hold more than max_listpack_entries
 * fields, or when a field or value longer than max_listpack_value bytes is stored. */
typedef struct hash_limits {
    size_t max_listpack_entries; /* default 512; values above 65535 act as 65535 */
    size_t max_listpack_value;   /* default 64 */
} hash_limits;

#define HASH_LIMITS_DEFAULT ((hash_limits){512, 64})

/* A borrowed view of one field, valid until the hash is next modified. */
typedef struct hash_entry {
    slice field;
    slice value;
    int64_t deadline; /* absolute Unix ms, or HASH_NO_TTL */
} hash_entry;

/* Error codes (negative, as STYLE §3). */
enum {
    HASH_OK = 0,
    HASH_ENOTFOUND = -1, /* no such live field */
};

/* What hash_set does to the field's deadline. */
enum hash_ttl_policy {
    HASH_TTL_CLEAR = 0, /* the field ends up without a TTL (HSET, HSETNX, HMSET, HSETEX) */
    HASH_TTL_KEEP = 1,  /* keep the TTL of an existing live field (HINCRBY, HSETEX KEEPTTL) */
    HASH_TTL_SET = 2,   /* the field gets the deadline argument (HSETEX EX/PX/EXAT/PXAT) */
};

/* Conditions of hash_expire (HEXPIRE NX | XX | GT | LT); at most one is set. */
enum {
    HASH_COND_NONE = 0,
    HASH_COND_NX = 1, /* only if the field has no TTL */
    HASH_COND_XX = 2, /* only if the field has a TTL */
    HASH_COND_GT = 4, /* only if the new deadline is later (no TTL counts as infinite) */
    HASH_COND_LT = 8, /* only if the new deadline is earlier (no TTL counts as infinite) */
};

/* Per-field results of hash_expire, which are the integers HEXPIRE replies. */
enum {
    HASH_EXPIRE_NOFIELD = -2, /* no such live field */
    HASH_EXPIRE_NOTMET = 0,   /* the NX/XX/GT/LT condition was not met; nothing changed */
    HASH_EXPIRE_SET = 1,      /* the deadline was set (or updated) */
    HASH_EXPIRE_DELETED = 2,  /* the deadline was <= now_ms, so the field was deleted */
};

/* Per-field results of hash_persist, which are the integers HPERSIST replies. */
enum {
    HASH_PERSIST_NOFIELD = -2, /* no such live field */
    HASH_PERSIST_NOTTL = -1,   /* the field has no TTL */
    HASH_PERSIST_OK = 1,       /* the TTL was removed */
};

/* 1 if a field with this deadline is logically live at now_ms (no deadline, or a later
 * one). Every reader decides what it may return with this, so whether a due field was
 * reaped already (lazily, actively, in bounded steps or not at all, as on a replica) never
 * changes what a reader sees. */
static inline int hash_field_live(int64_t deadline, int64_t now_ms) {
    return deadline == HASH_NO_TTL || deadline > now_ms;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

/* Returns an owned, empty hash (ENC_LISTPACK). The keyspace never stores an empty hash:
 * the command layer deletes the key when hash_len reaches 0. */
hash *hash_new(void);
/* Builds a hash holding the n given entries in one go (loading a snapshot, RESTORE): one
 * allocation for a compact hash instead of a lookup and a splice per field. Fields and
 * values are copied; each deadline is HASH_NO_TTL or in 1..HASH_DEADLINE_MAX (due or not:
 * nothing is dropped here). The encoding is the one hash_set would reach adding the
 * entries one by one under lim. Returns an owned hash, or NULL (nothing kept) when two
 * entries have the same field. O(n log n) for a compact hash, O(n) for a hashtable. */
hash *hash_from_entries(const hash_limits *lim, const hash_entry *e, size_t n);
/* Returns an owned, empty hash that is about to receive n fields through hash_set (loading
 * a large hash field by field): a hashtable sized for n when n exceeds lim's compact
 * limits (so no insert resizes it), else what hash_new returns. */
hash *hash_new_sized(const hash_limits *lim, size_t n);
/* Frees h and everything it holds; hash_free(NULL) does nothing. */
void hash_free(hash *h);
/* Allocations that hash_free(h) would free (1 for a compact hash). O(1). */
size_t hash_free_cost(const hash *h);
/* Frees up to about max allocations of h, a hash no longer reachable that is destroyed in
 * steps; returns 1 once h is entirely freed (h is invalid then), 0 while some remains. */
int hash_free_some(hash *h, size_t max);
/* Returns an owned deep copy of h (COPY), with the same encoding, fields and deadlines
 * (due fields included: copying is not a read). */
hash *hash_dup(const hash *h);
/* Approximate bytes held by h (MEMORY USAGE): exact for compact hashes, sampled from up to
 * 1024 entries for a hashtable. */
size_t hash_memory(const hash *h);
/* The encoding: ENC_LISTPACK, ENC_LISTPACKEX or ENC_HASHTABLE. */
enum obj_enc hash_encoding(const hash *h);
/* "listpack", "listpackex" or "hashtable". */
const char *hash_encoding_name(const hash *h);

/* ---- size and expiry index ---------------------------------------------------------- */

/* Number of live fields (HLEN): due fields are not counted. O(1) when nothing is due,
 * otherwise O(n) for a compact hash and O(log n) for a hashtable (the due fields are
 * counted by the deadline index, not visited). */
size_t hash_len(const hash *h, int64_t now_ms);
/* 1 if some field is live at now_ms (hash_len(h, now_ms) > 0): O(1) when nothing is due,
 * else O(log n) for a hashtable and O(n) for a compact hash. */
int hash_has_live(const hash *h, int64_t now_ms);
/* Number of stored fields, due ones included (for the expiry cycle and tests). O(1). */
size_t hash_stored(const hash *h);
/* Number of stored fields that have a deadline, due ones included. O(1). */
size_t hash_ttl_count(const hash *h);
/* The earliest field deadline, or HASH_NO_TTL when no field has one. O(1). The keyspace
 * files the hash under this deadline in its global expiry index; a writer should compare
 * it before and after a change to know whether to re-file the hash. */
int64_t hash_next_deadline(const hash *h);
/* The instant from which the hash has no live field: its latest field deadline when every
 * stored field has a deadline, else HASH_NO_TTL (some field never expires, or the hash is
 * empty). O(log n) for a hashtable, O(n) for a compact hash. The keyspace counts a hash
 * whose death has passed as gone (DBSIZE) before its fields are reaped. */
int64_t hash_death(const hash *h);
/* Removes up to max due fields (deadline <= now_ms) in deadline order, calling
 * on_field(field, flen, ctx) for each just before it is freed (on_field may be NULL and
 * must not touch h). Returns the number removed. O(k log n) for a hashtable, O(n + k log k)
 * for a compact hash. The hash may end up empty: the caller then deletes the key. */
size_t hash_reap(hash **hp, int64_t now_ms, size_t max,
                 void (*on_field)(const char *f, size_t flen, void *ctx), void *ctx);

/* ---- fields ------------------------------------------------------------------------- */

/* Looks up a live field. Returns HASH_OK and fills *out (OUT, may be NULL for HEXISTS)
 * with borrowed value and deadline, or HASH_ENOTFOUND (also when the field is due).
 * Serves HGET, HMGET, HEXISTS, HSTRLEN, HTTL/HPTTL/HEXPIRETIME (from out->deadline). */
int hash_get(hash *h, int64_t now_ms, slice field, hash_entry *out);
/* Prefetching for a batch of commands about to run (db_prefetch): h's storage (the first
 * lines of a listpack, a hashtable's table header); then, in a hashtable, the slot (step
 * 0) and the entry (step 1) of the field whose dict_hash is fh. They change nothing. */
void hash_prefetch(const hash *h);
void hash_prefetch_field(const hash *h, uint64_t fh, int step);
/* 1 if h is a hashtable (field prefetching pays only there). */
int hash_is_table(const hash *h);
/* Sets field to value, copying both, and sets the field's deadline by policy
 * (HASH_TTL_SET uses deadline, which must be in 1..HASH_DEADLINE_MAX; a deadline <= now_ms
 * is stored and the field is then simply due). Converts to a hashtable when lim is
 * exceeded. Returns 1 if the field was created (absent or due before), 0 if it was
 * updated. At most one allocation or reallocation in the common case. */
int hash_set(hash **hp, const hash_limits *lim, int64_t now_ms, slice field, slice value,
             enum hash_ttl_policy policy, int64_t deadline);
/* Deletes a live field and returns 1; returns 0 if it is absent or due (a due field stays
 * stored, for hash_reap to delete and report). */
int hash_del(hash **hp, int64_t now_ms, slice field);
/* Sets the deadline of an existing live field under cond (HASH_COND_*), with Redis's
 * HEXPIRE rules: the condition is checked first, then a deadline <= now_ms deletes the
 * field. Returns HASH_EXPIRE_NOFIELD, _NOTMET, _SET or _DELETED. deadline must be in
 * 1..HASH_DEADLINE_MAX. (A replica that must keep past deadlines passes now_ms = 0.) */
int hash_expire(hash **hp, int64_t now_ms, slice field, int64_t deadline, int cond);
/* Removes the deadline of a live field (HPERSIST, HGETEX PERSIST). Returns
 * HASH_PERSIST_NOFIELD, HASH_PERSIST_NOTTL or HASH_PERSIST_OK. */
int hash_persist(hash **hp, int64_t now_ms, slice field);

/* ---- iteration, scan, random -------------------------------------------------------- */

/* Called with each field a scan or random sampling emits; e is borrowed for the call. */
typedef void (*hash_visit_fn)(const hash_entry *e, void *ctx);

/* Plain iteration over the live fields (HKEYS, HVALS, HGETALL), in storage order. The
 * hash must not be modified until hash_iter_deinit, which must always be called (a
 * hashtable iterator pauses rehashing). */
typedef struct hash_iter {
    hash *h;
    int64_t now_ms;
    size_t off;   /* compact: offset of the next entry */
    otab_iter di; /* hashtable */
} hash_iter;

void hash_iter_init(hash_iter *it, hash *h, int64_t now_ms);
/* Fills *out (OUT) with the next live field and returns 1, or returns 0 at the end. */
int hash_iter_next(hash_iter *it, hash_entry *out);
void hash_iter_deinit(hash_iter *it);

/* One HSCAN step from cursor: emits live fields through fn and returns the next cursor
 * (0 when complete). A compact hash emits everything and returns 0, as Redis does; a
 * hashtable walks otab_scan until about count fields were emitted (or 10*count buckets
 * were visited), so a field present throughout is emitted at least once, maybe twice. */
uint64_t hash_scan(hash *h, int64_t now_ms, uint64_t cursor, size_t count, hash_visit_fn fn,
                   void *ctx);
/* Picks one live field uniformly at random (HRANDFIELD without count). Returns HASH_OK
 * and fills *out (OUT), or HASH_ENOTFOUND when no field is live. */
int hash_random(hash *h, int64_t now_ms, hash_entry *out);
/* Emits min(count, hash_len) distinct live fields chosen at random (HRANDFIELD with a
 * positive count) and returns how many. May allocate O(count) scratch. */
size_t hash_random_distinct(hash *h, int64_t now_ms, size_t count, hash_visit_fn fn, void *ctx);
/* Emits count live fields chosen independently at random, repetitions allowed (HRANDFIELD
 * with a negative count), and returns count (0 if no field is live). May allocate O(n)
 * scratch for a compact hash. */
size_t hash_random_repeat(hash *h, int64_t now_ms, size_t count, hash_visit_fn fn, void *ctx);

#endif
