/* db: the keyspace. An array of databases, each a dict of dbentry (key bytes embedded in
 * the entry) plus an expire_index of the entries that have a deadline and an ostree of the
 * entries that will be gone at some instant.
 *
 *     dbs[id] ── keys: dict ──▶ [dbttl{ expire_ms | death | exp }] dbentry{ node | val | key }
 *             ├─ expires: heap of &dbttl.exp, earliest first          (what to reap next)
 *             └─ deaths: ostree of dbentry by dbttl.death              (how many are gone)
 *
 * An entry carries a dbttl only once it has had a deadline (db.h); an entry without one is
 * in neither index, and promote() reallocates it with one the first time it needs it.
 * Except a slim entry: no dbttl, no key TTL, and a hash value whose stored fields all have
 * one deadline, which is both its filing deadline and its death; it is filed in deaths
 * only, under that deadline read from the value (death_key), and db_hash_open/close
 * re-file it after every write to the hash (its key must never change unnoticed while
 * filed). The active cycle reaps the due ones from deaths after draining the heap.
 *
 * Invariants:
 *   - an entry is in `expires` iff its filing deadline is not EXPIRE_NONE, where the
 *     filing deadline is the earlier of expire_ms and, for a hash, its next field deadline;
 *     it is filed under that deadline or, after db_refile_fields, possibly an earlier one
 *     (never a later one), which the reaping paths correct when they meet it;
 *   - a slim entry (e->slim) is in deaths and not in expires; every other entry in deaths
 *     has a dbttl;
 *   - an entry is in `deaths` iff death_of(e) != 0, filed under exactly its death ==
 *     death_of(e): the earlier of expire_ms and, for a hash whose every field has a
 *     deadline, the last of them. From that instant no lookup can return the key, so
 *     DBSIZE is the stored count less ostree_count_le(deaths, now), exact in O(log n) even
 *     while a million gone keys wait to be reaped;
 *   - keys_with_ttl and expire_sum count exactly the entries with expire_ms != 0.
 *
 * Expiry (db_expire.c) happens in two places, with the same effect (hooks, expired_keys,
 * free):
 *   - lazily in db_find, when a command touches a key past its deadline, within the
 *     command's budget of DB_LAZY_REAP_MAX fields: a key past its TTL goes; a hash with no
 *     live field goes, whole (retire_hash); a live hash has due fields reaped up to the
 *     budget and the rest stay for the active cycle, invisible to every reader;
 *   - actively in db_active_expire, which drains each database's heap in deadline order
 *     within a time budget.
 * A value too big to free in one go (a hashtable hash) is queued when its key expires and
 * freed by the active cycle in steps (pending_frees), so no command pays for it.
 * In DB_EXPIRE_HIDE mode (a replica) neither happens: check_live answers "absent" for a key
 * past its TTL or a hash without a live field, and leaves them stored; db_add drops such a
 * hidden entry when a write overwrites its key. The REAP path pays nothing for this: the
 * mode is tested only once something is found due.
 *
 * With key slots on (db_set_key_slots, cluster mode), every entry is allocated with a
 * slot_link in front of it, and each database keeps a list head and a count per slot:
 * entries are linked in db_add and unlinked in unlink_entry, the one way out of the table
 * (flushes reset the heads). The prefix size is fixed before the first key exists.
 *
 * db/ never reads the clock: every entry point that needs "now" takes now_ms. The latest
 * now_ms seen is remembered for the access times of new values and for INFO avg_ttl. */
#include "mayfly/db/db.h"

#include "db/db_int.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

db_stats db_stat;
const db_hooks *db_hook_sets[DB_MAX_HOOKS];
int db_hook_count;

void db_hooks_add(const db_hooks *hooks) {
    for (int i = 0; i < db_hook_count; i++)
        if (db_hook_sets[i] == hooks) return;
    assert(db_hook_count < DB_MAX_HOOKS);
    db_hook_sets[db_hook_count++] = hooks;
}

static db *dbs;
static int ndbs;
static int64_t last_now_ms; /* latest time the keyspace was given */
static enum db_expire_mode expire_mode;

/* ---- key slots ---- */

typedef struct slot_link {
    dbentry *prev, *next;
} slot_link;

struct db_slots {
    dbentry **head; /* [nslots] */
    size_t *count;  /* [nslots] */
};

static int nslots; /* 0: key slots off */
static int (*slot_of)(const char *key, size_t len);
static size_t entry_prefix; /* bytes allocated in front of each entry: sizeof(slot_link) */

#define LINK_OF(e) ((slot_link *)((char *)(e)-TTL_BYTES(e) - sizeof(slot_link)))

int db_set_key_slots(int n, int (*fn)(const char *key, size_t len)) {
    for (int i = 0; i < ndbs; i++)
        if (dict_size(&dbs[i].keys) != 0) return -1;
    nslots = n;
    slot_of = fn;
    entry_prefix = n > 0 ? sizeof(slot_link) : 0;
    return 0;
}

int db_key_slots_enabled(void) {
    return nslots > 0;
}

static void slots_free(db *d) {
    if (!d->slots) return;
    mem_free(d->slots->head);
    mem_free(d->slots->count);
    mem_free(d->slots);
    d->slots = NULL;
}

static void slot_link_in(db *d, dbentry *e) {
    if (!nslots) return;
    if (!d->slots) {
        d->slots = mem_alloc(sizeof(*d->slots));
        d->slots->head = mem_calloc((size_t)nslots, sizeof(dbentry *));
        d->slots->count = mem_calloc((size_t)nslots, sizeof(size_t));
    }
    int s = slot_of(e->key, e->klen);
    slot_link *l = LINK_OF(e);
    l->prev = NULL;
    l->next = d->slots->head[s];
    if (l->next) LINK_OF(l->next)->prev = e;
    d->slots->head[s] = e;
    d->slots->count[s]++;
}

static void slot_link_out(db *d, dbentry *e) {
    if (!nslots) return;
    slot_link *l = LINK_OF(e);
    int s = slot_of(e->key, e->klen);
    if (l->prev)
        LINK_OF(l->prev)->next = l->next;
    else
        d->slots->head[s] = l->next;
    if (l->next) LINK_OF(l->next)->prev = l->prev;
    d->slots->count[s]--;
}

size_t db_slot_size(const db *d, int slot) {
    if (!d->slots || slot < 0 || slot >= nslots) return 0;
    return d->slots->count[slot];
}

dbentry *db_slot_first(const db *d, int slot) {
    if (!d->slots || slot < 0 || slot >= nslots) return NULL;
    return d->slots->head[slot];
}

dbentry *db_slot_next(const dbentry *e) {
    return LINK_OF(e)->next;
}

/* The allocation an entry lives in, and its release. */
static void *entry_base(const dbentry *e) {
    return (char *)(uintptr_t)e - TTL_BYTES(e) - entry_prefix;
}

void db_entry_mem_free(dbentry *e) {
    mem_free(entry_base(e));
}

static void key_of(const dict_node *node, const char **key, size_t *len) {
    const dbentry *e = (const dbentry *)node;
    *key = e->key;
    *len = e->klen;
}

static int (*grow_check)(size_t more_bytes, double load);

static int keys_grow_allowed(size_t more_bytes, double load) {
    return !grow_check || grow_check(more_bytes, load);
}

void db_set_grow_check(int (*fn)(size_t more_bytes, double load)) {
    grow_check = fn;
}

static const dict_type keys_type = {.key_of = key_of, .grow_allowed = keys_grow_allowed};

/* A slim entry's death is its hash's one field deadline, read from the value. */
static int64_t death_key(const void *item) {
    const dbentry *e = item;
    return e->ttl ? TTL_OF(e)->death : hash_next_deadline((const hash *)e->val);
}

static inline void note_time(int64_t now_ms) {
    if (now_ms != DB_NOW_NOTHING_DUE) last_now_ms = now_ms;
}

void db_note_time(int64_t now_ms) {
    note_time(now_ms);
}

void db_set_expire_mode(enum db_expire_mode mode) {
    expire_mode = mode;
}

enum db_expire_mode db_get_expire_mode(void) {
    return expire_mode;
}

/* ---- access clocks ---- */

static db_clock_fn clock_on_access; /* NULL: the LRU clock, seconds */
static db_clock_fn clock_on_create;

void db_set_access_clock(db_clock_fn on_access, db_clock_fn on_create) {
    clock_on_access = on_access;
    clock_on_create = on_create;
}

/* The time an access happens at: now_ms, or the latest real time for the replica's
 * DB_NOW_NOTHING_DUE. */
static inline int64_t access_ms(int64_t now_ms) {
    return now_ms != DB_NOW_NOTHING_DUE ? now_ms : last_now_ms;
}

static inline uint32_t clock_touched(uint32_t old, int64_t now_ms) {
    if (clock_on_access) return clock_on_access(old, access_ms(now_ms));
    return (uint32_t)(access_ms(now_ms) / 1000);
}

static uint32_t clock_new(void) {
    if (clock_on_create) return clock_on_create(0, last_now_ms);
    return (uint32_t)(last_now_ms / 1000);
}

void db_accessed(dbentry *e, int64_t now_ms) {
    e->val->lru = clock_touched(e->val->lru, now_ms);
}

/* ---- freeing values ---- */

static void (*value_freer)(obj *val, enum db_free_why why);

void db_set_value_freer(void (*fn)(obj *val, enum db_free_why why)) {
    value_freer = fn;
}

void db_drop_value(obj *val, enum db_free_why why) {
    if (value_freer)
        value_freer(val, why);
    else
        obj_free(val);
}

static void db_init_one(db *d, int id) {
    memset(d, 0, sizeof(*d));
    d->id = id;
    dict_init(&d->keys, &keys_type);
    expire_index_init(&d->expires);
    ostree_init(&d->deaths, death_key);
}

/* The deadline an entry is filed under: its key TTL or its hash's next field deadline,
 * whichever comes first. */
int64_t db_filing_deadline(const dbentry *e) {
    int64_t when = db_entry_expire(e);
    if (e->val->type == OBJ_HASH) {
        int64_t f = hash_next_deadline((const hash *)e->val);
        if (f != EXPIRE_NONE && (when == EXPIRE_NONE || f < when)) when = f;
    }
    return when;
}

/* Keeps d->subexpiry (hashes with field TTLs, INFO keyspace) in step with the value of e:
 * OBJF_SUBEXPIRY on the value records whether it is counted. counted = 0 uncounts. */
static void count_subexpiry(db *d, obj *val, int counted) {
    int was = (val->flags & OBJF_SUBEXPIRY) != 0;
    if (counted == was) return;
    if (counted) {
        val->flags |= OBJF_SUBEXPIRY;
        d->subexpiry++;
    } else {
        val->flags &= (uint16_t)~OBJF_SUBEXPIRY;
        d->subexpiry--;
    }
}

static int has_field_ttls(const obj *val) {
    return val->type == OBJ_HASH && hash_ttl_count((const hash *)val) > 0;
}

/* The instant from which e is logically gone (0: never): its key TTL or, for a hash whose
 * every stored field has a deadline, the last of those, whichever comes first. */
static int64_t death_of(const dbentry *e) {
    int64_t when = db_entry_expire(e);
    if (e->val->type == OBJ_HASH) {
        int64_t f = hash_death((const hash *)e->val);
        if (f != HASH_NO_TTL && (when == 0 || f < when)) when = f;
    }
    return when;
}

/* 1 if e, which has no dbttl, can be filed slim: its value is a hash whose stored fields
 * all have one deadline (its filing deadline when and its death are that deadline). */
static int slim_fits(const dbentry *e, int64_t when, int64_t death) {
    return !e->ttl && e->val->type == OBJ_HASH && when != EXPIRE_NONE && when == death;
}

void db_slim_unfile(db *d, dbentry *e) {
    if (!e->slim) return;
    ostree_remove(&d->deaths, e);
    e->slim = 0;
}

/* Files e, which has a dbttl, in d->deaths under k, or takes it out (k == 0). */
static void set_death(db *d, dbentry *e, int64_t k) {
    dbttl *t = TTL_OF(e);
    if (k == t->death) return;
    if (t->death) ostree_remove(&d->deaths, e);
    t->death = k;
    if (k) ostree_insert(&d->deaths, e);
}

/* Gives e, which has none, its dbttl: the entry moves (the dict's link, the slot list's
 * neighbours follow it). e is in no index yet (only entries with a dbttl are). */
static dbentry *promote(db *d, dbentry *e) {
    db_slim_unfile(d, e); /* its value is as filed: only db_hash_close changes it */
    size_t body = offsetof(dbentry, key) + e->klen;
    char *base = mem_alloc(entry_prefix + sizeof(dbttl) + body);
    dbentry *ne = (dbentry *)(base + entry_prefix + sizeof(dbttl));
    memcpy(ne, e, body);
    ne->ttl = 1;
    *TTL_OF(ne) = (dbttl){.expire_ms = 0, .death = 0, .exp = {.when = EXPIRE_NONE, .slot = 0}};
    dict_replace_node(&d->keys, &e->node, &ne->node);
    if (nslots) {
        slot_link *l = LINK_OF(ne);
        *l = *LINK_OF(e);
        if (l->prev)
            LINK_OF(l->prev)->next = ne;
        else
            d->slots->head[slot_of(ne->key, ne->klen)] = ne;
        if (l->next) LINK_OF(l->next)->prev = ne;
    }
    db_entry_mem_free(e);
    return ne;
}

/* Frees an entry that is no longer linked anywhere; its value goes by drop_value. */
static void free_entry(dbentry *e, enum db_free_why why) {
    db_drop_value(e->val, why);
    db_entry_mem_free(e);
}

/* Removes the entry's TTL bookkeeping (counters and indexes). */
static void forget_deadlines(db *d, dbentry *e) {
    count_subexpiry(d, e->val, 0);
    if (!e->ttl) {
        db_slim_unfile(d, e);
        return;
    }
    dbttl *t = TTL_OF(e);
    if (t->expire_ms != 0) {
        d->keys_with_ttl--;
        d->expire_sum -= (long double)t->expire_ms;
        t->expire_ms = 0;
    }
    expire_index_set(&d->expires, &t->exp, EXPIRE_NONE);
    if (t->death) {
        ostree_remove(&d->deaths, e);
        t->death = 0;
    }
}

/* Unlinks an entry from its database (dict and index); the caller frees it. */
void db_unlink_entry(db *d, dbentry *e) {
    dict_unlink(&d->keys, &e->node);
    slot_link_out(d, e);
    forget_deadlines(d, e);
}

void db_init_all(int n) {
    if (dbs) db_free_all();
    assert(n > 0);
    dbs = mem_calloc((size_t)n, sizeof(db));
    ndbs = n;
    for (int i = 0; i < n; i++)
        db_init_one(&dbs[i], i);
}

/* Frees an entry and its value at once (flushes, shutdown, detached contents). */
static void free_node(dict_node *node, void *ctx) {
    (void)ctx;
    dbentry *e = (dbentry *)node;
    obj_free(e->val);
    db_entry_mem_free(e);
}

void db_free_all(void) {
    db_pending_free_all();
    for (int i = 0; i < ndbs; i++) {
        dict_clear(&dbs[i].keys, free_node, NULL);
        dict_deinit(&dbs[i].keys);
        expire_index_deinit(&dbs[i].expires);
        ostree_deinit(&dbs[i].deaths);
        slots_free(&dbs[i]);
    }
    mem_free(dbs);
    dbs = NULL;
    ndbs = 0;
}

int db_count(void) {
    return ndbs;
}

db *db_get(int id) {
    assert(id >= 0 && id < ndbs);
    return &dbs[id];
}

/* Applies lazy expiry to a found entry; returns it, or NULL if it expired. */
static inline dbentry *check_live(db *d, dbentry *e, int64_t now_ms) {
    note_time(now_ms);
    if (!e || !(e->ttl | e->slim)) return e;
    if (!e->ttl) {
        /* Slim: every field has the one deadline, due all at once. */
        if (hash_next_deadline((const hash *)e->val) > now_ms) return e;
        return db_found_due(d, e, now_ms);
    }
    const dbttl *t = TTL_OF(e);
    if ((t->expire_ms != 0 && t->expire_ms <= now_ms) ||
        (e->val->type == OBJ_HASH && t->exp.slot && t->exp.when <= now_ms))
        return db_found_due(d, e, now_ms);
    return e;
}

/* DB_EXPIRE_HIDE: a write is about to add key, which may be stored but hidden; the write
 * overwrites it, so the hidden entry goes (no hooks: nothing expired, the key is written). */
static void drop_hidden(db *d, slice key, uint64_t khash) {
    dbentry *e = (dbentry *)dict_find_h(&d->keys, key.p, key.len, khash);
    if (e) db_delete_entry(d, e);
}

dbentry *db_find(db *d, slice key, int64_t now_ms) {
    return check_live(d, (dbentry *)dict_find(&d->keys, key.p, key.len), now_ms);
}

dbentry *db_find_h(db *d, slice key, uint64_t khash, int64_t now_ms) {
    return check_live(d, (dbentry *)dict_find_h(&d->keys, key.p, key.len, khash), now_ms);
}

dbentry *db_find_raw(db *d, slice key) {
    return (dbentry *)dict_find(&d->keys, key.p, key.len);
}

int db_is_expired(db *d, slice key, int64_t now_ms) {
    dbentry *e = db_find_raw(d, key);
    int64_t expire_ms = e ? db_entry_expire(e) : 0;
    return expire_ms != 0 && expire_ms <= now_ms;
}

dbentry *db_lookup(db *d, slice key, int64_t now_ms, unsigned flags) {
    dbentry *e = db_find(d, key, now_ms);
    if (!(flags & DB_LOOKUP_NOSTATS)) {
        if (e)
            db_stat.keyspace_hits++;
        else {
            db_stat.keyspace_misses++;
            DB_HOOK(key_missed, d, key.p, key.len);
        }
    }
    if (e && !(flags & DB_LOOKUP_NOTOUCH)) e->val->lru = clock_touched(e->val->lru, now_ms);
    return e;
}

dbentry *db_lookup_read(db *d, slice key, int64_t now_ms) {
    return db_lookup(d, key, now_ms, 0);
}

/* 1 if every stored field of h has one and the same deadline. */
static int one_deadline(const hash *h) {
    int64_t next = hash_next_deadline(h);
    return next != HASH_NO_TTL && next == hash_death(h);
}

/* Allocates an entry for key holding val (not yet linked), with a dbttl when with_ttl or
 * val has field deadlines. */
static dbentry *new_entry(slice key, obj *val, int with_ttl) {
    assert(key.len <= DB_KEY_MAX);
    /* A hash whose fields share one deadline goes slim (file_new), without a dbttl. */
    size_t ttl =
        with_ttl || (has_field_ttls(val) && !one_deadline((const hash *)val)) ? sizeof(dbttl) : 0;
    char *base = mem_alloc(entry_prefix + ttl + offsetof(dbentry, key) + key.len);
    dbentry *e = (dbentry *)(base + entry_prefix + ttl);
    e->node.next = NULL;
    e->val = val;
    e->klen = (uint32_t)key.len;
    e->ttl = ttl != 0;
    e->slim = 0;
    if (ttl)
        *TTL_OF(e) = (dbttl){.expire_ms = 0, .death = 0, .exp = {.when = EXPIRE_NONE, .slot = 0}};
    if (key.len) memcpy(e->key, key.p, key.len);
    if (val->lru == 0) val->lru = clock_new();
    return e;
}

/* Files a new entry whose value may carry field deadlines. */
static void file_new(db *d, dbentry *e) {
    if (e->ttl) {
        int64_t when = db_filing_deadline(e);
        if (when != EXPIRE_NONE) expire_index_set(&d->expires, &TTL_OF(e)->exp, when);
        set_death(d, e, death_of(e));
    } else if (has_field_ttls(e->val)) {
        /* new_entry left the dbttl out: the fields share one deadline */
        e->slim = 1;
        ostree_insert(&d->deaths, e);
    }
    /* A copied value may carry its original's flag: count it afresh here. */
    e->val->flags &= (uint16_t)~OBJF_SUBEXPIRY;
    count_subexpiry(d, e->val, has_field_ttls(e->val));
}

static dbentry *add_entry(db *d, slice key, uint64_t khash, obj *val, int with_ttl) {
    if (expire_mode == DB_EXPIRE_HIDE) drop_hidden(d, key, khash);
    dbentry *e = new_entry(key, val, with_ttl);
    dict_add_h(&d->keys, &e->node, khash);
    slot_link_in(d, e);
    file_new(d, e);
    DB_HOOK(key_added, d, key.p, key.len);
    return e;
}

dbentry *db_add(db *d, slice key, obj *val) {
    return add_entry(d, key, dict_hash(key.p, key.len), val, 0);
}

dbentry *db_add_h(db *d, slice key, uint64_t khash, obj *val) {
    return add_entry(d, key, khash, val, 0);
}

dbentry *db_add_expire(db *d, slice key, obj *val, int64_t when_ms) {
    return db_add_expire_h(d, key, dict_hash(key.p, key.len), val, when_ms);
}

dbentry *db_add_expire_h(db *d, slice key, uint64_t khash, obj *val, int64_t when_ms) {
    dbentry *e = add_entry(d, key, khash, val, when_ms != 0);
    return when_ms != 0 ? db_set_expire(d, e, when_ms) : e;
}

dbentry *db_replace_value(db *d, dbentry *e, obj *val) {
    obj *old = e->val;
    if (val == old) return e;
    /* The write counts as an access, and the new value inherits the key's clock (an LFU
     * counter is not reset by SET), as Redis's dbSetValue. */
    val->lru = clock_touched(old->lru, last_now_ms);
    int refile = old->type == OBJ_HASH || val->type == OBJ_HASH;
    db_slim_unfile(d, e); /* filed by the old value's deadline */
    e->val = val;
    val->flags &= (uint16_t)~OBJF_SUBEXPIRY; /* a copied value is counted afresh */
    count_subexpiry(d, old, 0);
    db_drop_value(old, DB_FREE_SERVER);
    return refile ? db_refile(d, e) : e;
}

dbentry *db_set(db *d, slice key, obj *val, int keep_ttl) {
    dbentry *e = db_find_raw(d, key);
    if (!e) return db_add(d, key, val);
    e = db_replace_value(d, e, val);
    if (!keep_ttl && db_entry_expire(e) != 0) e = db_set_expire(d, e, 0);
    return e;
}

void db_delete_entry(db *d, dbentry *e) {
    db_unlink_entry(d, e);
    free_entry(e, DB_FREE_SERVER);
}

int db_delete(db *d, slice key, int64_t now_ms) {
    return db_delete_why(d, key, now_ms, DB_FREE_SERVER);
}

int db_delete_why(db *d, slice key, int64_t now_ms, enum db_free_why why) {
    dbentry *e = db_find(d, key, now_ms);
    if (!e) return 0;
    db_unlink_entry(d, e);
    free_entry(e, why);
    return 1;
}

void db_evict(db *d, dbentry *e) {
    db_unlink_entry(d, e);
    db_stat.evicted_keys++;
    DB_HOOK(key_evicted, d, e->key, e->klen);
    DB_HOOK(key_touched, d, e->key, e->klen);
    free_entry(e, DB_FREE_EVICT);
}

obj *db_take_value(db *d, dbentry *e) {
    obj *val = e->val;
    db_unlink_entry(d, e);
    db_entry_mem_free(e);
    return val;
}

dbentry *db_set_expire(db *d, dbentry *e, int64_t when_ms) {
    if (!e->ttl) {
        if (when_ms == 0) return e; /* no TTL before or after */
        e = promote(d, e);
    }
    dbttl *t = TTL_OF(e);
    if (t->expire_ms != 0) {
        d->keys_with_ttl--;
        d->expire_sum -= (long double)t->expire_ms;
    }
    t->expire_ms = when_ms;
    if (when_ms != 0) {
        d->keys_with_ttl++;
        d->expire_sum += (long double)when_ms;
    }
    return db_refile(d, e);
}

/* The refiling common to db_refile and db_refile_fields: when is the filing deadline;
 * exact: file under it even when it moved later. */
static dbentry *refile_as(db *d, dbentry *e, int64_t when, int exact) {
    int64_t death = death_of(e);
    if (!e->ttl) {
        /* A slim entry's value is as filed (db_hash_close re-files it after each write),
         * so it still fits. */
        assert(!e->slim || slim_fits(e, when, death));
        if (slim_fits(e, when, death)) {
            if (!e->slim) {
                e->slim = 1;
                ostree_insert(&d->deaths, e);
            }
            count_subexpiry(d, e->val, 1);
            return e;
        }
        if (when == EXPIRE_NONE && death == 0) {
            count_subexpiry(d, e->val, has_field_ttls(e->val));
            return e;
        }
        e = promote(d, e);
    }
    dbttl *t = TTL_OF(e);
    /* Filed no later than the true deadline: early is safe (see db.h). */
    if (exact || when == EXPIRE_NONE || !t->exp.slot || when < t->exp.when)
        expire_index_set(&d->expires, &t->exp, when);
    set_death(d, e, death);
    count_subexpiry(d, e->val, has_field_ttls(e->val));
    return e;
}

dbentry *db_refile(db *d, dbentry *e) {
    return refile_as(d, e, db_filing_deadline(e), 1);
}

void db_refile_in_place(db *d, dbentry *e) {
    dbentry *same = refile_as(d, e, db_filing_deadline(e), 1);
    assert(same == e);
    (void)same;
}

dbentry *db_refile_fields(db *d, dbentry *e) {
    if (e->slim) return e; /* filed exactly by db_hash_close after the write */
    return refile_as(d, e, db_filing_deadline(e), 0);
}

hash *db_hash_open_slim(const dbentry *e, db_hash_write *w) {
    w->filed = hash_next_deadline((const hash *)e->val);
    return (hash *)e->val;
}

dbentry *db_hash_close_slim(db *d, dbentry *e, const db_hash_write *w) {
    const hash *h = (const hash *)e->val;
    /* Unchanged when every field still has the deadline it is filed under. */
    if (hash_next_deadline(h) == w->filed && hash_death(h) == w->filed) return e;
    ostree_remove_key(&d->deaths, e, w->filed);
    e->slim = 0;
    return refile_as(d, e, db_filing_deadline(e), 1);
}

void db_touch(db *d, slice key) {
    db_stat.dirty++;
    DB_HOOK(key_touched, d, key.p, key.len);
}

size_t db_size(const db *d) {
    return dict_size(&d->keys);
}

size_t db_size_visible(const db *d, int64_t now_ms) {
    return dict_size(&d->keys) - ostree_count_le(&d->deaths, now_ms);
}

void db_reserve(db *d, size_t keys) {
    if (dict_size(&d->keys) == 0) dict_reserve(&d->keys, keys);
}

void db_flush(db *d) {
    DB_HOOK(db_replaced, d, NULL);
    dict_clear(&d->keys, free_node, NULL);
    expire_index_deinit(&d->expires);
    ostree_deinit(&d->deaths);
    slots_free(d);
    d->keys_with_ttl = 0;
    d->expire_sum = 0;
    d->subexpiry = 0;
}

struct db_detached {
    dict keys;
    expire_index expires;
    ostree deaths; /* its nodes only: the entries go with keys */
};

db_detached *db_flush_detached(db *d) {
    DB_HOOK(db_replaced, d, NULL);
    db_detached *x = mem_alloc(sizeof(*x));
    x->keys = d->keys;
    x->expires = d->expires;
    x->deaths = d->deaths;
    dict_init(&d->keys, &keys_type);
    expire_index_init(&d->expires);
    ostree_init(&d->deaths, death_key);
    slots_free(d); /* the detached entries' links are never followed again */
    d->keys_with_ttl = 0;
    d->expire_sum = 0;
    d->subexpiry = 0;
    return x;
}

size_t db_detached_size(const db_detached *x) {
    return dict_size(&x->keys);
}

void db_detached_free(db_detached *x) {
    if (!x) return;
    dict_clear(&x->keys, free_node, NULL);
    dict_deinit(&x->keys);
    expire_index_deinit(&x->expires);
    ostree_deinit(&x->deaths);
    mem_free(x);
}

void db_swap(db *a, db *b) {
    if (a == b) return;
    DB_HOOK(db_replaced, a, b);
    DB_HOOK(db_replaced, b, a);
    db tmp = *a;
    *a = *b;
    *b = tmp;
    /* The ids stay with the slots: sessions keep their database number. */
    b->id = a->id;
    a->id = tmp.id;
}

struct scan_ctx {
    void (*fn)(dbentry *e, void *ctx);
    void *ctx;
};

static void scan_node(dict_node *node, void *arg) {
    struct scan_ctx *sc = arg;
    sc->fn((dbentry *)node, sc->ctx);
}

uint64_t db_scan(db *d, uint64_t cursor, void (*fn)(dbentry *e, void *ctx), void *ctx) {
    struct scan_ctx sc = {fn, ctx};
    return dict_scan(&d->keys, cursor, scan_node, &sc);
}

void db_foreach(db *d, void (*fn)(dbentry *e, void *ctx), void *ctx) {
    dict_iter it;
    dict_iter_init(&it, &d->keys);
    for (dict_node *n; (n = dict_iter_next(&it)) != NULL;)
        fn((dbentry *)n, ctx);
    dict_iter_deinit(&it);
}

struct first_live {
    int64_t now_ms;
    dbentry *found;
};

static void note_first_live(dict_node *node, void *arg) {
    struct first_live *fl = arg;
    if (!fl->found && db_entry_live((dbentry *)node, fl->now_ms)) fl->found = (dbentry *)node;
}

#define RANDOM_HIDDEN_TRIES 100

/* ---- eviction sampling ---- */

size_t db_sample(db *d, dbentry **out, size_t n) {
    return dict_sample(&d->keys, (dict_node **)out, n, rand_u64);
}

/* Draws per wanted entry before giving up: the index also holds hashes filed only for
 * their field deadlines, which are not volatile keys. */
#define VOLATILE_TRIES 4

/* An entry of the expiry index at a random position, or NULL when it is empty. */
static dbentry *random_filed(db *d) {
    size_t len = expire_index_size(&d->expires);
    if (len == 0) return NULL;
    return ENTRY_OF_ITEM((expire_item *)d->expires.h.a[rand_u64() % len]);
}

size_t db_sample_volatile(db *d, dbentry **out, size_t n) {
    size_t got = 0;
    if (d->keys_with_ttl == 0) return 0;
    for (size_t tries = 0; got < n && tries < n * VOLATILE_TRIES; tries++) {
        dbentry *e = random_filed(d);
        if (e && db_entry_expire(e) != 0) out[got++] = e;
    }
    return got;
}

dbentry *db_random_entry(db *d) {
    return (dbentry *)dict_random(&d->keys, rand_u64);
}

dbentry *db_random_volatile(db *d) {
    if (d->keys_with_ttl == 0) return NULL;
    for (int tries = 0; tries < 64; tries++) {
        dbentry *e = random_filed(d);
        if (e && db_entry_expire(e) != 0) return e;
    }
    /* Few keys with a TTL among many hashes filed for their fields: walk the index from a
     * random position (keys_with_ttl > 0, so one is found). */
    size_t len = expire_index_size(&d->expires), at = rand_u64() % len;
    for (size_t i = 0; i < len; i++) {
        dbentry *e = ENTRY_OF_ITEM((expire_item *)d->expires.h.a[(at + i) % len]);
        if (db_entry_expire(e) != 0) return e;
    }
    return NULL;
}

dbentry *db_random(db *d, int64_t now_ms) {
    for (int tries = 0;; tries++) {
        dbentry *e = (dbentry *)dict_random(&d->keys, rand_u64);
        if (!e) return NULL;
        /* An expired pick is reaped (shrinking the table) or, on a replica, hidden; after
         * a while the table is walked from a random place for a live key instead, so a
         * table of mostly gone keys does not make one command reap them all. */
        if (check_live(d, e, now_ms)) return e;
        if (tries == RANDOM_HIDDEN_TRIES) break;
    }
    /* From a random cursor to the end of the table, then, if need be, the whole of it. */
    struct first_live fl = {now_ms, NULL};
    uint64_t cursor = rand_u64();
    do
        cursor = dict_scan(&d->keys, cursor, note_first_live, &fl);
    while (!fl.found && cursor != 0);
    if (!fl.found) {
        do
            cursor = dict_scan(&d->keys, cursor, note_first_live, &fl);
        while (!fl.found && cursor != 0);
    }
    return fl.found;
}

void db_rehash(int64_t budget_us) {
    for (int i = 0; i < ndbs; i++) {
        dict_maybe_shrink(&dbs[i].keys);
        dict_rehash_for(&dbs[i].keys, budget_us / ndbs > 0 ? budget_us / ndbs : 1);
    }
}

void db_info_keyspace(buf *b, int64_t now_ms) {
    note_time(now_ms);
    for (int i = 0; i < ndbs; i++) {
        db *d = &dbs[i];
        size_t keys = db_size_visible(d, now_ms);
        if (keys == 0) continue;
        long long avg = 0;
        if (d->keys_with_ttl > 0) {
            long double mean = d->expire_sum / (long double)d->keys_with_ttl;
            avg = (long long)(mean - (long double)last_now_ms);
            if (avg < 0) avg = 0;
        }
        buf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld,subexpiry=%zu\r\n", i, keys,
                   d->keys_with_ttl, avg, d->subexpiry);
    }
}

void db_overhead(const db *d, size_t *main, size_t *expires, size_t *rehashing) {
    /* Entry headers: every entry's, plus a dbttl for each one filed (those with a dbttl
     * and no deadline left are not counted: an estimate). */
    *main = dict_buckets_memory(&d->keys) +
            dict_size(&d->keys) * (offsetof(dbentry, key) + entry_prefix) +
            expire_index_size(&d->expires) * sizeof(dbttl);
    *expires = d->expires.h.cap * sizeof(void *);
    *rehashing = 0;
    if (dict_is_rehashing(&d->keys) && d->keys.table[0])
        *rehashing = ((size_t)1 << d->keys.size_exp[0]) * sizeof(dict_node *);
}

size_t db_entry_memory(const dbentry *e) {
    return mem_usable(entry_base(e)) + obj_memory(e->val);
}
