/* db: the keyspace. Databases 0..N-1, each a dict of keys -> values plus the ordered
 * index of expiry owners (expire/) and the count of keys by the instant they go. Lazy
 * expiry happens here, on lookup.
 *
 * A key is one allocation, a dbentry: 20 bytes before the key, and 32 more in front of
 * it (a dbttl) for a key that has ever had a deadline, its own or a field's:
 *
 *     [ dbttl{ expire_ms | death | expire_item (when, slot) } ]  only when e->ttl
 *     [ dict_node next | obj *val | klen:30 ttl:1 slim:1 | key... ]
 *
 * Most keys never have a TTL and so carry none of its bookkeeping (a 9-byte key's entry is
 * 32 bytes, 64 with it). Nor does a hash without a key TTL whose every field has the same
 * deadline (HSETEX ... FIELDS n of a new hash): such an entry is "slim", filed only in
 * deaths under that deadline, which its value holds (hash_next_deadline), and a write to
 * its hash goes through db_hash_open / db_hash_close, which re-file it (or give it its
 * dbttl when its fields' deadlines part). An entry gains its dbttl when it first needs one, by
 * being reallocated: db_set_expire, db_refile, db_refile_fields and db_replace_value may move the
 * entry and return where it went, and the pointer passed in is dead afterwards (they are
 * warn_unused_result). It keeps it until it is deleted (PERSIST does not shrink it).
 *
 * expire_ms is the key's own TTL (0 = none). exp is filed in the database's expiry
 * index under the earliest of expire_ms and, for a hash, its earliest field deadline,
 * so that one index serves key TTLs and field TTLs alike. death is the instant from which
 * the key is logically gone: its TTL or, for a hash whose every field has a deadline, its
 * last field deadline, whichever comes first (0 = never); the database files its entries
 * by death in an order-statistic tree, so DBSIZE subtracts the keys already gone, however
 * many, in O(log n).
 *
 * Lookups (db_find) first apply lazy expiry, a bounded amount per command (at most
 * DB_LAZY_REAP_MAX fields, reset by db_lazy_budget_reset): a key past its TTL is deleted,
 * a hash with no live field left is deleted as a whole, and a live hash has up to the
 * budget of its due fields reaped; the rest stay stored until the active cycle gets to
 * them, and every reader skips them (hash_field_live), so callers never see an expired key
 * or field, only the work is spread. Time is an argument (now_ms); db/ never reads the
 * clock.
 *
 * Expiry modes (db_set_expire_mode), for every database at once:
 *
 *     DB_EXPIRE_REAP  lookups delete what is due (hooks report it), the active cycle runs
 *     DB_EXPIRE_HIDE  a replica's: due keys and fields stay stored until its primary's
 *                     DEL / HDEL arrive, but no lookup, count or iteration shows them;
 *                     nothing is deleted on its own (no lazy reaping, no active cycle)
 *
 * A replica applies its primary's commands at now_ms = DB_NOW_NOTHING_DUE: then no key or
 * field is due, so they see, and delete, exactly what is stored, as the primary did (as
 * Redis's master client sees logically expired keys as live). */
#ifndef MAYFLY_DB_DB_H
#define MAYFLY_DB_DB_H

#include "mayfly/expire/expire.h"
#include "mayfly/types/object.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/ostree.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dbentry {
    dict_node node;     /* link in db->keys; must be first */
    obj *val;           /* owned value */
    uint32_t klen : 30; /* key length */
    uint32_t ttl : 1;   /* a dbttl sits in front of the entry (db_entry_ttl) */
    uint32_t slim : 1;  /* no dbttl, filed in deaths by its hash's one field deadline */
    char key[];         /* key bytes (not NUL-terminated) */
} dbentry;
/* The longest key an entry holds (klen's 30 bits). Keys reach the keyspace from the
 * protocol (proto-max-bulk-len is capped at this) and from RDB files (refused above it). */
#define DB_KEY_MAX (((size_t)1 << 30) - 1)

/* The deadline bookkeeping of an entry that has had one (e->ttl), just in front of it. */
typedef struct dbttl {
    int64_t expire_ms; /* key TTL deadline in Unix ms, 0 = none */
    int64_t death;     /* filed in db->deaths under this instant (0 = never gone, not filed) */
    expire_item exp;   /* filed under min(expire_ms, hash's next field deadline) */
    uint32_t unused;
} dbttl;

/* The bookkeeping of e (NULL when it has none: no deadline ever). */
static inline dbttl *db_entry_ttl(const dbentry *e) {
    return e->ttl ? (dbttl *)((char *)(uintptr_t)e - sizeof(dbttl)) : NULL;
}
/* The key TTL deadline of e in Unix ms (0 = none). */
static inline int64_t db_entry_expire(const dbentry *e) {
    return e->ttl ? db_entry_ttl(e)->expire_ms : 0;
}

typedef struct db {
    int id;
    dict keys;              /* dbentry by key */
    expire_index expires;   /* owners with a deadline */
    ostree deaths;          /* entries with a death, by death: DBSIZE counts the gone ones */
    size_t keys_with_ttl;   /* entries with expire_ms != 0 (INFO keyspace expires=) */
    long double expire_sum; /* sum of expire_ms over those entries (INFO avg_ttl=) */
    size_t subexpiry;       /* hashes with field TTLs (INFO keyspace subexpiry=) */
    struct db_slots *slots; /* per-slot lists and counts (db_set_key_slots), NULL if none */
} db;

/* Counters shown by INFO stats. */
typedef struct db_stats {
    long long expired_keys;    /* keys deleted because their TTL passed */
    long long expired_subkeys; /* hash fields deleted because their TTL passed */
    long long evicted_keys;    /* keys deleted by db_evict (maxmemory) */
    long long evicted_fields;  /* hash fields deleted by db_evict_field (volatile-soonest) */
    long long keyspace_hits, keyspace_misses;
    long long expire_cycle_backlog; /* due owners left by the last active slice */
    long long dirty;                /* changes since the last save (for persistence) */
} db_stats;
extern db_stats db_stat;

/* Hooks the upper layers register (any member may be NULL). Several sets can be registered
 * (WATCH, keyspace notifications, the append-only log); each event calls every set, in
 * registration order, so all of them hear about lazy and active expiry and eviction too. */
typedef struct db_hooks {
    /* A key was written, deleted or expired (WATCH). */
    void (*key_touched)(db *d, const char *key, size_t klen);
    /* A key was created (db_add: SET of a new key, HSET creating a hash, RENAME/MOVE/COPY
     * to a new name): keyspace notifications' "new" event. */
    void (*key_added)(db *d, const char *key, size_t klen);
    /* A read lookup found no key (counted in keyspace_misses): the "keymiss" event. */
    void (*key_missed)(db *d, const char *key, size_t klen);
    /* A key expired (lazily or actively); called before it is freed. */
    void (*key_expired)(db *d, const char *key, size_t klen);
    /* A key is being evicted (db_evict); called before it is freed. */
    void (*key_evicted)(db *d, const char *key, size_t klen);
    /* Fields of a hash expired (one call per hash per reap, names in fields[0..n)). */
    void (*fields_expired)(db *d, const char *key, size_t klen, const slice *fields, size_t n);
    /* A hash field is being evicted (db_evict_field, the volatile-soonest policy); called
     * before it is freed, names in fields[0..n). */
    void (*fields_evicted)(db *d, const char *key, size_t klen, const slice *fields, size_t n);
    /* Every field still stored in a hash has expired, and the key goes with them: a hash with
     * more stored fields than one command may reap is deleted as a whole, not field by field
     * (the log writes DEL, notifications publish "hexpired" and "del"). Called before the
     * entry is freed. A set without it, that wants fields, gets fields_expired with every
     * stored name instead. */
    void (*hash_expired)(db *d, const char *key, size_t klen);
    /* Whether fields_expired is wanted right now (NULL: always). Reaping gathers field names
     * only when some set wants them, so a server without notifications or a log reaps
     * without copying a byte. */
    int (*fields_wanted)(void);
    /* d's keys are about to be dropped (FLUSHDB/FLUSHALL: with == NULL) or exchanged with
     * those of `with` (SWAPDB, called once per side). Called before the change (WATCH). */
    void (*db_replaced)(db *d, db *with);
} db_hooks;

#define DB_MAX_HOOKS 8
/* Registers a set of hooks; hooks must stay valid for the life of the process (static).
 * Registering the same set twice has no effect. */
void db_hooks_add(const db_hooks *hooks);
/* The registered sets (for db.c's DB_HOOK macro). */
extern const db_hooks *db_hook_sets[DB_MAX_HOOKS];
extern int db_hook_count;
/* Calls member `fn` of every registered set that has it. */
#define DB_HOOK(fn, ...)                                                                           \
    do {                                                                                           \
        for (int hk_ = 0; hk_ < db_hook_count; hk_++)                                              \
            if (db_hook_sets[hk_]->fn) db_hook_sets[hk_]->fn(__VA_ARGS__);                         \
    } while (0)

enum db_expire_mode {
    DB_EXPIRE_REAP = 0, /* the default: lazy and active expiry delete what is due */
    DB_EXPIRE_HIDE = 1, /* due keys and fields are invisible, never deleted by db/ itself */
};
/* The "now" before every deadline: lookups at this time see everything stored as live (a
 * replica applying its primary's stream). It is not taken as the time of day (access
 * times, INFO avg_ttl). */
#define DB_NOW_NOTHING_DUE ((int64_t)0)

/* Sets the expiry mode of every database (default DB_EXPIRE_REAP). */
void db_set_expire_mode(enum db_expire_mode mode);
enum db_expire_mode db_get_expire_mode(void);

/* The most due fields one command reaps lazily, across all the keys it looks up. */
#define DB_LAZY_REAP_MAX 1000
/* Gives the next command its lazy-reaping budget (the command layer calls it before each
 * command). A lookup that finds more due fields than the budget left reaps what the budget
 * allows and leaves the rest to the active cycle; readers never see them. */
void db_lazy_budget_reset(void);

/* The access clock of an entry (seconds, for OBJECT IDLETIME and eviction's LRU): 32 bits
 * kept with the value. */
static inline uint32_t db_entry_lru(const dbentry *e) {
    return e->val->lru;
}
static inline void db_entry_set_lru(dbentry *e, uint32_t v) {
    e->val->lru = v;
}

/* How an access (a read without DB_LOOKUP_NOTOUCH, a write through db_accessed, a value
 * replaced) and a new value set the clock: on_access(old, now_ms) returns the new clock,
 * on_create(0, now_ms) a new value's. NULL for both (the default) is the LRU clock: the
 * access time in seconds. An LFU policy installs its counters (evict/). */
typedef uint32_t (*db_clock_fn)(uint32_t old, int64_t now_ms);
void db_set_access_clock(db_clock_fn on_access, db_clock_fn on_create);
/* Records an access to e by a write command at now_ms (Redis's lookupKeyWrite touches the
 * key as a read does). */
void db_accessed(dbentry *e, int64_t now_ms);

/* Installs the check the key tables ask before growing (dict_type.grow_allowed; NULL, the
 * default: always). evict/ puts growth off while it would cross maxmemory. */
void db_set_grow_check(int (*fn)(size_t more_bytes, double load));

/* Why the keyspace lets a value go: lazy freeing (lazyfree-lazy-*) decides per reason
 * whether a big value is freed on the loop or on a background thread. */
enum db_free_why {
    DB_FREE_SERVER = 0, /* overwritten or deleted by the server (SET over a key, RENAME's
                           destination, a hash emptied): lazyfree-lazy-server-del */
    DB_FREE_USER = 1,   /* DEL: lazyfree-lazy-user-del */
    DB_FREE_UNLINK = 2, /* UNLINK: always lazily when big */
    DB_FREE_EXPIRE = 3, /* its TTL passed: lazyfree-lazy-expire */
    DB_FREE_EVICT = 4,  /* evicted (maxmemory): lazyfree-lazy-eviction */
};
/* Installs the function that frees values the keyspace drops (NULL, the default: obj_free
 * at once). It must free val, now or later (on another thread: values own no keyspace
 * state once dropped). */
void db_set_value_freer(void (*fn)(obj *val, enum db_free_why why));

/* Creates n databases (databases directive); call once at start-up. */
void db_init_all(int n);
/* Frees every database and value (shutdown; tests). */
void db_free_all(void);
/* Number of databases. */
int db_count(void);
/* Database id (0 <= id < db_count()). */
db *db_get(int id);

/* Finds key, applying lazy expiry at now_ms; NULL if absent or expired. No statistics,
 * no access time (the write path: Redis's lookupKeyWrite). */
dbentry *db_find(db *d, slice key, int64_t now_ms);
/* db_find with the key's hash already computed by dict_hash (find-then-add paths). */
dbentry *db_find_h(db *d, slice key, uint64_t hash, int64_t now_ms);
/* Finds key without applying expiry (WATCH bookkeeping, tests). */
dbentry *db_find_raw(db *d, slice key);

/* A pipelined batch of commands is about to run: keys[i] is the key command i looks up
 * (at most DB_PREFETCH_MAX), fields[i] a hash field it touches (len 0: none). Their
 * buckets, entries, values and (in a big hash) the fields' slots and entries are brought
 * into the cache in steps over the whole batch, so that the commands' cache misses overlap
 * instead of following one another (db_prefetch.c). Changes nothing. */
#define DB_PREFETCH_MAX 16
void db_prefetch(const db *d, int n, const slice *keys, const slice *fields);
/* 1 if the stored entry e is logically live at now_ms: its key TTL is not due and, for a
 * hash, some field is live. No side effects (iterations that must not delete: KEYS). */
int db_entry_live(const dbentry *e, int64_t now_ms);
/* 1 if key exists with a key TTL at or before now_ms (Redis's keyIsExpired). */
int db_is_expired(db *d, slice key, int64_t now_ms);

#define DB_LOOKUP_NOTOUCH 1u /* leave the access time alone (TTL, TYPE, OBJECT...) */
#define DB_LOOKUP_NOSTATS 2u /* do not count a keyspace hit or miss */
/* The read path: db_find plus keyspace_hits/misses and the access time, as flags allow. */
dbentry *db_lookup(db *d, slice key, int64_t now_ms, unsigned flags);
/* db_lookup(d, key, now_ms, 0) (read commands). */
dbentry *db_lookup_read(db *d, slice key, int64_t now_ms);
/* Adds key (absent, or hidden in DB_EXPIRE_HIDE mode: the hidden entry is dropped, as
 * the write overwrites it) with value val; takes ownership of val. */
dbentry *db_add(db *d, slice key, obj *val);
/* db_add with the key's hash already computed by dict_hash. */
dbentry *db_add_h(db *d, slice key, uint64_t hash, obj *val);
/* db_add plus db_set_expire(when_ms) when when_ms != 0, allocating the entry with its dbttl
 * at once (RESTORE, RENAME, loading). */
dbentry *db_add_expire(db *d, slice key, obj *val, int64_t when_ms);
/* db_add_expire with the key's hash already computed by dict_hash. */
dbentry *db_add_expire_h(db *d, slice key, uint64_t hash, obj *val, int64_t when_ms);
/* The functions that may move an entry (it gains its dbttl) return where it is now. */
#define DB_MOVES __attribute__((warn_unused_result))
/* Marks the result of a DB_MOVES call that the caller no longer needs (GCC does not take a
 * (void) cast for that): db_entry_done(db_set_expire(d, e, when)). */
static inline void db_entry_done(dbentry *e) {
    (void)e;
}
/* Replaces the value of an existing entry (frees the old one); keeps the TTL. Returns the
 * entry (moved when the new value has field TTLs and e had no dbttl). */
DB_MOVES dbentry *db_replace_value(db *d, dbentry *e, obj *val);
/* Sets key to val (taking ownership), adding or replacing; clears the TTL unless
 * keep_ttl. Returns the entry (the old one may have moved). */
dbentry *db_set(db *d, slice key, obj *val, int keep_ttl);
/* Deletes key (an expired key counts as absent and is reaped); returns 1 if it existed. */
int db_delete(db *d, slice key, int64_t now_ms);
/* db_delete with the reason lazy freeing goes by (DEL: DB_FREE_USER, UNLINK: DB_FREE_UNLINK). */
int db_delete_why(db *d, slice key, int64_t now_ms, enum db_free_why why);
/* Deletes an entry found by db_find (frees it). */
void db_delete_entry(db *d, dbentry *e);
/* Unlinks an entry and returns its value, freeing the entry (RENAME/MOVE). */
obj *db_take_value(db *d, dbentry *e);
/* Evicts an entry found by db_find or sampled by an eviction policy (maxmemory): counts
 * evicted_keys, runs the key_evicted and key_touched hooks (notifications, the journal's DEL,
 * WATCH), then frees it. The one way evict/ deletes a key. */
void db_evict(db *d, dbentry *e);
/* The entry owning d's earliest deadline, a key TTL or a hash field's, due ones included,
 * with that deadline in *when; NULL when d has none. Exact: an entry filed earlier than its
 * deadline (db_refile_fields) is re-filed first. */
dbentry *db_soonest(db *d, int64_t *when);
/* Evicts the field of the hash in e with the earliest deadline (volatile-soonest): counts
 * evicted_fields, runs the fields_evicted hooks (the journal's HDEL, notifications) and
 * key_touched, re-files the entry. The hash's last field takes the key with it: db_evict. */
void db_evict_field(db *d, dbentry *e);

/* Sets the key TTL (0 removes it) and re-files the entry; returns it (moved when it gains
 * its dbttl). */
DB_MOVES dbentry *db_set_expire(db *d, dbentry *e, int64_t when_ms);
/* Re-files the entry after its hash's field deadlines changed (call after any write that
 * sets, clears or removes field TTLs). Deletes nothing. Returns the entry (moved when it
 * gains its dbttl). */
DB_MOVES dbentry *db_refile(db *d, dbentry *e);

/* db_refile for a write to a hash's fields (the command layer's HSET, HSETEX, HPEXPIRE,
 * ...): when the deadline only moved later, the entry stays filed under the earlier one,
 * which costs nothing now; the active cycle or the next lookup that finds it "due" reaps
 * nothing and files it exactly. Repeatedly extended deadlines (HSETEX/HPEXPIRE refreshes)
 * so skip an O(log n) walk of the expiry heap, a cache miss per level, on every write. */
DB_MOVES dbentry *db_refile_fields(db *d, dbentry *e);

/* A write to the hash value of e (e->val must be a hash): db_hash_open returns the hash
 * and notes in *w how e is filed; the caller runs one hash writer on it (hash_set, hash_del,
 * hash_expire, hash_persist), which may move it, and hands the result to db_hash_close,
 * which stores it in e and re-files a slim entry at once (a slim entry's filing deadline
 * is read from its value, so it must not change unnoticed). Nothing else may touch the
 * database in between. Returns the entry (moved when it gains its dbttl). For other
 * entries this is a store: the caller's db_refile_fields does the filing, as before. */
typedef struct db_hash_write {
    int64_t filed; /* the slim entry's deadline, 0 if it is not slim */
} db_hash_write;
struct hash; /* mayfly/types/hash.h */
/* The slim halves of db_hash_open / db_hash_close. */
struct hash *db_hash_open_slim(const dbentry *e, db_hash_write *w);
DB_MOVES dbentry *db_hash_close_slim(db *d, dbentry *e, const db_hash_write *w);
static inline struct hash *db_hash_open(const dbentry *e, db_hash_write *w) {
    if (e->slim) return db_hash_open_slim(e, w);
    w->filed = 0;
    return (struct hash *)e->val;
}
DB_MOVES static inline dbentry *db_hash_close(db *d, dbentry *e, struct hash *h,
                                              const db_hash_write *w) {
    e->val = (obj *)h;
    return w->filed ? db_hash_close_slim(d, e, w) : e;
}

/* Records a write to key: WATCH invalidation (db_hook.key_touched) and the dirty counter. */
void db_touch(db *d, slice key);

/* Number of stored keys (keys already gone but not yet reaped or, in DB_EXPIRE_HIDE
 * mode, hidden are counted too). */
size_t db_size(const db *d);
/* DBSIZE: db_size less the keys gone at now_ms (key TTL passed, or no live field left in
 * a hash), in O(log n) however many they are. */
size_t db_size_visible(const db *d, int64_t now_ms);
/* Sizes an empty database for about keys keys, so that loading them never resizes its
 * table (RDB's RESIZEDB hint). No effect on a database that has keys. */
void db_reserve(db *d, size_t keys);
/* Removes all keys (FLUSHDB). */
void db_flush(db *d);
/* The former contents of a database, detached by db_flush_detached to be freed elsewhere. */
typedef struct db_detached db_detached;
/* Empties d as db_flush does (hooks included) and returns its former keys and index
 * (owned), to be freed with db_detached_free, on any thread (FLUSHDB ASYNC). */
db_detached *db_flush_detached(db *d);
/* Number of keys in x. */
size_t db_detached_size(const db_detached *x);
/* Frees x and every key and value in it; touches nothing else, so any thread may call it. */
void db_detached_free(db_detached *x);
/* Swaps the contents of two databases (SWAPDB). */
void db_swap(db *a, db *b);

/* ---- key slots ----
 * An optional partition of every database's keys into nslots groups by slot_of(key) (Redis
 * Cluster's hash slots: server.c installs cluster_keyslot in cluster mode), with a count
 * and a list per group, so a group's keys are counted in O(1) and listed in O(their
 * number) (CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT, SETSLOT NODE's check). Each entry then
 * carries two list links in front of it (16 bytes a key); nothing is spent without it. */

/* Turns the key slots on. Call at start-up, before any key exists (returns -1 otherwise:
 * the entries already allocated have no room for the links); 0 on success. */
int db_set_key_slots(int nslots, int (*slot_of)(const char *key, size_t len));
/* 1 when db_set_key_slots is in effect. */
int db_key_slots_enabled(void);
/* Stored keys of slot in d (those gone but not yet reaped included, as Redis counts them);
 * 0 without key slots. */
size_t db_slot_size(const db *d, int slot);
/* The first stored entry of slot in d (NULL: none), and the one after e in its slot. The
 * list is stable while nothing is added or deleted. */
dbentry *db_slot_first(const db *d, int slot);
dbentry *db_slot_next(const dbentry *e);

/* SCAN step: calls fn for the keys of one cursor step; returns the next cursor. fn must
 * not add or delete keys (collect them, then check each with db_find). Expired keys not
 * yet reaped are visited too. */
uint64_t db_scan(db *d, uint64_t cursor, void (*fn)(dbentry *e, void *ctx), void *ctx);
/* Calls fn once for every stored entry of d (those gone but not yet reaped included), in
 * table order. fn must not add or delete keys. */
void db_foreach(db *d, void (*fn)(dbentry *e, void *ctx), void *ctx);
/* Eviction sampling (evict/). None of these applies lazy expiry or changes anything. */
/* Fills out[0..n) with up to n entries found near a random place of d's table (dict_sample);
 * returns how many. */
size_t db_sample(db *d, dbentry **out, size_t n);
/* Fills out[0..n) with up to n entries drawn at random among those with a key TTL (Redis's
 * db->expires: a hash whose fields have TTLs but the key none is not one of them); returns
 * how many (an entry may appear twice). */
size_t db_sample_volatile(db *d, dbentry **out, size_t n);
/* A uniformly random entry (allkeys-random), or NULL when d is empty. */
dbentry *db_random_entry(db *d);
/* A random entry with a key TTL (volatile-random), or NULL when d has none. */
dbentry *db_random_volatile(db *d);
/* Number of entries with a key TTL. */
static inline size_t db_volatile_count(const db *d) {
    return d->keys_with_ttl;
}

/* A random live key, or NULL if the database holds none. */
dbentry *db_random(db *d, int64_t now_ms);

/* Active expiry of every database for about budget_us; returns 1 if a backlog remains.
 * Also frees, within the budget, the values of expired keys too large to free at once
 * (db_pending_frees). Reaps nothing in DB_EXPIRE_HIDE mode. */
int db_active_expire(int64_t now_ms, int64_t budget_us);
/* Incremental rehash work for about budget_us (cron). */
void db_rehash(int64_t budget_us);

/* Values of expired keys still being freed in steps by the active cycle (INFO memory's
 * lazyfree_pending_objects). */
size_t db_pending_frees(void);

/* Writes the INFO keyspace lines (the caller writes "# Keyspace\r\n"): one
 * "dbN:keys=..,expires=..,avg_ttl=..,subexpiry=..\r\n" line per non-empty database, keys
 * as db_size_visible at now_ms. avg_ttl is measured from now_ms. */
void db_info_keyspace(buf *b, int64_t now_ms);
/* Bookkeeping bytes of d (MEMORY STATS overhead.hashtable.*): the key table's buckets and
 * entry headers (main), the expiry index's array (expires); *rehashing gets the bucket
 * bytes of a table being rehashed away from (0 if none). */
void db_overhead(const db *d, size_t *main, size_t *expires, size_t *rehashing);
/* Estimated bytes used by an entry: key, entry header and value (MEMORY USAGE). */
size_t db_entry_memory(const dbentry *e);

static inline slice dbentry_key(const dbentry *e) {
    return (slice){e->key, e->klen};
}

#endif
