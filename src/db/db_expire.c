/* db_expire: the reaping half of the keyspace. What is due goes in two ways with the same
 * effect (hooks, expired_keys / expired_subkeys, free):
 *   - lazily (db_found_due, from db.c's lookups), within a budget of DB_LAZY_REAP_MAX
 *     fields per command: a key past its TTL goes; a hash with no live field goes whole;
 *     a live hash has due fields reaped up to the budget, the rest wait, invisible;
 *   - actively (db_active_expire), draining each database's expiry index in deadline order
 *     within a time budget (reap_owner).
 * A value too big to free at once is queued and freed in steps by the active cycle. Field
 * eviction (db_evict_field) and the exact soonest deadline (db_soonest) live here too, as
 * they share the reaping of a hash's fields. */
#include "db/db_int.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"

#include <stddef.h>
#include <string.h>

static int next_expire_db;                    /* round-robin start of the active cycle */
static size_t lazy_budget = DB_LAZY_REAP_MAX; /* due fields this command may still reap */

/* Values of expired keys being freed in steps by the active cycle, oldest first. */
static struct {
    obj **v;
    size_t head, len, cap;
} pending;

/* A value that costs more allocations than this to free is freed in steps. */
#define FREE_AT_ONCE_MAX 64
/* Allocations freed between two reads of the clock while draining pending values. */
#define FREE_STEP 1024
/* Cap on the due owners counted for INFO's backlog figure. Each count walks heap items
 * whose owners are scattered in memory (a cache miss apiece), outside the slice budget,
 * so it must stay small: 10000 cost about as much as the slice itself. */
#define BACKLOG_COUNT_CAP 256

void db_lazy_budget_reset(void) {
    lazy_budget = DB_LAZY_REAP_MAX;
}

/* Queues v to be freed by the active cycle in steps. */
static void queue_free(obj *v) {
    if (pending.head == pending.len) pending.head = pending.len = 0;
    if (pending.len == pending.cap) {
        if (pending.head > 0) {
            pending.len -= pending.head;
            memmove(pending.v, pending.v + pending.head, pending.len * sizeof(*pending.v));
            pending.head = 0;
        } else {
            pending.cap = pending.cap ? pending.cap * 2 : 16;
            pending.v = mem_realloc(pending.v, pending.cap * sizeof(*pending.v));
        }
    }
    pending.v[pending.len++] = v;
}

/* Frees the value of an expired key: as any dropped value when that is cheap (the freer,
 * lazyfree-lazy-expire), else in steps between requests by the active cycle, whatever the
 * lazy-free settings (a hash of a million fields takes tens of milliseconds to free). */
static void expire_value(obj *v) {
    if (obj_free_cost(v) <= FREE_AT_ONCE_MAX)
        db_drop_value(v, DB_FREE_EXPIRE);
    else
        queue_free(v);
}

/* Frees pending values until none is left or budget_us has passed since start (monotonic
 * microseconds); returns 1 if some remain. */
static int free_pending(int64_t start, int64_t budget_us) {
    while (pending.head < pending.len) {
        if (clock_mono_us() - start >= budget_us) return 1;
        if (obj_free_some(pending.v[pending.head], FREE_STEP)) pending.head++;
    }
    pending.head = pending.len = 0;
    return 0;
}

void db_pending_free_all(void) {
    while (free_pending(clock_mono_us(), INT64_MAX)) {
    }
    mem_free(pending.v);
    memset(&pending, 0, sizeof(pending));
}

size_t db_pending_frees(void) {
    return pending.len - pending.head;
}

/* Deletes an entry because its TTL passed: hooks, statistics, free. */
static void expire_entry(db *d, dbentry *e) {
    db_unlink_entry(d, e);
    db_stat.expired_keys++;
    DB_HOOK(key_expired, d, e->key, e->klen);
    DB_HOOK(key_touched, d, e->key, e->klen);
    expire_value(e->val);
    db_entry_mem_free(e);
}

/* Field names reaped from one hash, packed as [size_t len][bytes]... for the hook. */
typedef struct reaped_fields {
    buf names;
    size_t n;
} reaped_fields;

static void note_reaped(const char *f, size_t flen, void *ctx) {
    reaped_fields *r = ctx;
    buf_append(&r->names, &flen, sizeof(flen));
    buf_append(&r->names, f, flen);
    r->n++;
}

/* 1 if the hook set h wants reaped field names now. */
static int set_wants_fields(const db_hooks *h) {
    return h->fields_expired && (!h->fields_wanted || h->fields_wanted());
}

/* 1 if some registered hook set wants reaped field names now. */
static int fields_hooked(void) {
    for (int i = 0; i < db_hook_count; i++)
        if (set_wants_fields(db_hook_sets[i])) return 1;
    return 0;
}

/* The names noted in r as one slice array (the caller frees it with mem_free). */
static slice *reaped_slices(const reaped_fields *r) {
    slice *fields = mem_alloc(r->n * sizeof(*fields));
    size_t off = 0;
    for (size_t i = 0; i < r->n; i++) {
        size_t len;
        memcpy(&len, r->names.data + off, sizeof(len));
        fields[i] = (slice){r->names.data + off + sizeof(len), len};
        off += sizeof(len) + len;
    }
    return fields;
}

/* Hands the reaped names to the fields_expired hooks (those without hash_expired, when
 * only_unhashed: a hash retired as a unit is one DEL for the others) as one slice array. */
static void report_reaped(db *d, const dbentry *e, const reaped_fields *r, int only_unhashed) {
    slice *fields = reaped_slices(r);
    for (int i = 0; i < db_hook_count; i++) {
        const db_hooks *hk = db_hook_sets[i];
        if (set_wants_fields(hk) && !(only_unhashed && hk->hash_expired))
            hk->fields_expired(d, e->key, e->klen, fields, r->n);
    }
    mem_free(fields);
}

/* Reaps up to max due fields of the hash in e (deadline order), reporting them through
 * the fields_expired hooks and counting expired_subkeys. A hash left empty is deleted (a
 * key deletion: key_touched, no expired_keys) and 1 is returned; otherwise the entry is
 * re-filed under its next deadline and 0 is returned. *n_out (may be NULL) gets the count. */
static int reap_fields_n(db *d, dbentry *e, int64_t now_ms, size_t max, size_t *n_out) {
    db_slim_unfile(d, e); /* filed by the deadline the reap takes away */
    hash *h = (hash *)e->val;
    reaped_fields r = {.n = 0};
    int report = fields_hooked();
    if (report) buf_init(&r.names);
    size_t n = hash_reap(&h, now_ms, max, report ? note_reaped : NULL, &r);
    e->val = (obj *)h; /* a compact hash moves when it shrinks */
    if (n_out) *n_out = n;
    db_stat.expired_subkeys += (long long)n;
    if (n > 0 && report) report_reaped(d, e, &r, 0);
    if (report) buf_deinit(&r.names);
    if (n > 0) DB_HOOK(key_touched, d, e->key, e->klen);
    if (hash_stored(h) == 0) {
        db_delete_entry(d, e);
        return 1;
    }
    db_refile_in_place(d, e);
    return 0;
}

/* Collects every stored field name of h (OUT: r, which the caller deinits). */
static void note_all_names(hash *h, reaped_fields *r) {
    hash_iter it;
    hash_entry he;
    buf_init(&r->names);
    r->n = 0;
    hash_iter_init(&it, h, DB_NOW_NOTHING_DUE);
    while (hash_iter_next(&it, &he))
        note_reaped(he.field.p, he.field.len, r);
    hash_iter_deinit(&it);
}

/* Deletes, as one unit, a hash none of whose stored fields is live any more: each of them
 * counts as expired; hook sets with hash_expired hear of the key once (the log writes one
 * DEL), the others that want fields get every name; the value is freed in steps when it
 * is large. O(1) unless a hook set needs the names. */
static void retire_hash(db *d, dbentry *e) {
    hash *h = (hash *)e->val;
    db_stat.expired_subkeys += (long long)hash_stored(h);
    int names = 0;
    for (int i = 0; i < db_hook_count; i++) {
        const db_hooks *hk = db_hook_sets[i];
        if (hk->hash_expired)
            hk->hash_expired(d, e->key, e->klen);
        else if (set_wants_fields(hk))
            names = 1;
    }
    if (names) {
        reaped_fields r;
        note_all_names(h, &r);
        report_reaped(d, e, &r, 1);
        buf_deinit(&r.names);
    }
    DB_HOOK(key_touched, d, e->key, e->klen);
    db_unlink_entry(d, e);
    expire_value(e->val);
    db_entry_mem_free(e);
}

/* Deletes a hash that has no live field left: field by field, with their names, when
 * there are at most *budget of them (as a reap that empties it, lowering *budget), else
 * as one unit (retire_hash). When no hook set wants field names (no log, no replica, no
 * notifications) the two are alike to every observer, and the unit is much cheaper: no
 * pass over the fields to sort them by deadline, no blob rewritten field by field (a
 * million small hashes due at once spent most of their reaping time there). */
static void expire_dead_hash(db *d, dbentry *e, int64_t now_ms, size_t *budget) {
    size_t n = hash_stored((const hash *)e->val);
    if (n > *budget) {
        retire_hash(d, e);
        return;
    }
    *budget -= n;
    if (!fields_hooked())
        retire_hash(d, e);
    else
        reap_fields_n(d, e, now_ms, SIZE_MAX, NULL);
}

int db_entry_live(const dbentry *e, int64_t now_ms) {
    if (!e->ttl) return !e->slim || hash_next_deadline((const hash *)e->val) > now_ms;
    const dbttl *t = TTL_OF(e);
    if (t->expire_ms != 0 && t->expire_ms <= now_ms) return 0;
    if (e->val->type == OBJ_HASH && t->exp.slot && t->exp.when <= now_ms)
        return hash_has_live((const hash *)e->val, now_ms);
    return 1;
}

dbentry *db_found_due(db *d, dbentry *e, int64_t now_ms) {
    int64_t expire_ms = db_entry_expire(e);
    if (expire_ms != 0 && expire_ms <= now_ms) {
        if (db_get_expire_mode() != DB_EXPIRE_HIDE) expire_entry(d, e);
        return NULL;
    }
    /* Hidden: readers skip due fields themselves (hash_field_live). */
    if (db_get_expire_mode() == DB_EXPIRE_HIDE) return db_entry_live(e, now_ms) ? e : NULL;
    if (!hash_has_live((const hash *)e->val, now_ms)) {
        expire_dead_hash(d, e, now_ms, &lazy_budget);
        return NULL;
    }
    /* Some due fields go, as many as this command's budget allows; readers skip the rest
     * (hash_field_live), which the active cycle or later lookups reap. */
    size_t n = 0;
    if (lazy_budget > 0) reap_fields_n(d, e, now_ms, lazy_budget, &n);
    lazy_budget -= n;
    return e;
}

/* The soonest of the expiry heap, exact (NULL: empty). */
static dbentry *heap_soonest(db *d, int64_t *when) {
    /* Each pass either answers or files one early entry under its true deadline for good
     * (until its next write), so this ends after at most one pass per filed entry. */
    for (;;) {
        expire_item *item = expire_index_peek(&d->expires);
        if (!item) return NULL;
        dbentry *e = ENTRY_OF_ITEM(item);
        int64_t exact = db_filing_deadline(e);
        if (exact == item->when) {
            *when = exact;
            return e;
        }
        db_refile_in_place(d, e);
    }
}

dbentry *db_soonest(db *d, int64_t *when) {
    dbentry *e = heap_soonest(d, when);
    /* Slim entries are only in deaths. Any other entry there is filed in the heap no later
     * than its death, so when deaths begins with one, the heap's soonest comes first. */
    dbentry *s = ostree_min(&d->deaths);
    if (!s || !s->slim) return e;
    int64_t k = hash_next_deadline((const hash *)s->val);
    if (e && *when <= k) return e;
    *when = k;
    return s;
}

void db_evict_field(db *d, dbentry *e) {
    hash *h = (hash *)e->val;
    if (hash_stored(h) <= 1 || hash_ttl_count(h) == 0) {
        db_evict(d, e);
        return;
    }
    db_slim_unfile(d, e);
    reaped_fields r = {.n = 0};
    buf_init(&r.names);
    /* The earliest field is the one due at its own deadline. */
    size_t n = hash_reap(&h, hash_next_deadline(h), 1, note_reaped, &r);
    e->val = (obj *)h;
    if (n > 0) {
        size_t len;
        memcpy(&len, r.names.data, sizeof(len));
        slice field = {r.names.data + sizeof(len), len};
        db_stat.evicted_fields++;
        DB_HOOK(fields_evicted, d, e->key, e->klen, &field, 1);
        DB_HOOK(key_touched, d, e->key, e->klen);
    }
    buf_deinit(&r.names);
    db_refile_in_place(d, e);
}

/* The active cycle's callback: reaps what is due of one owner. */
static int64_t reap_owner(expire_item *item, int64_t now_ms, size_t work_limit, size_t *work,
                          void *ctx) {
    db *d = ctx;
    dbentry *e = ENTRY_OF_ITEM(item);
    const dbttl *t = TTL_OF(e);
    if (t->expire_ms != 0 && t->expire_ms <= now_ms) {
        expire_entry(d, e);
        (*work)++;
        return EXPIRE_NONE;
    }
    if (e->val->type == OBJ_HASH) {
        /* t->death is exact: a hash past it has no live field, which is known without
         * reading its fields (hash_has_live walks a compact hash for its last deadline). */
        if ((t->death != 0 && t->death <= now_ms) || !hash_has_live((const hash *)e->val, now_ms)) {
            size_t budget = DB_LAZY_REAP_MAX;
            expire_dead_hash(d, e, now_ms, &budget);
            *work += DB_LAZY_REAP_MAX - budget + 1;
            return EXPIRE_NONE;
        }
        /* At most work_limit fields per pop: the cycle re-files a hash still due and
         * checks its budget, so a huge hash drains over several slices. */
        size_t n = 0;
        int gone = reap_fields_n(d, e, now_ms, work_limit, &n);
        *work += n;
        if (gone) return EXPIRE_NONE;
    }
    int64_t next = db_filing_deadline(e);
    if (next == EXPIRE_NONE) expire_index_set(&d->expires, item, EXPIRE_NONE);
    return next;
}

/* Reaps d's due slim entries (db.h: filed only in deaths; every field of the hash is due
 * at once, so it goes whole), earliest first, until budget_us (monotonic microseconds from
 * start) is spent. Returns how many due entries remain (0: done). Any other due entry in
 * deaths is the heap's, which the caller drained first, and is skipped. */
static size_t expire_slim(db *d, int64_t now_ms, int64_t start, int64_t budget_us) {
    size_t due = ostree_count_le(&d->deaths, now_ms), rank = 0;
    for (unsigned steps = 1; rank < due; steps++) {
        if ((steps & 15) == 0 && clock_mono_us() - start >= budget_us) return due - rank;
        dbentry *e = ostree_at(&d->deaths, rank);
        if (!e->slim) {
            rank++;
            continue;
        }
        size_t budget = DB_LAZY_REAP_MAX;
        expire_dead_hash(d, e, now_ms, &budget);
        due--;
    }
    return 0;
}

int db_active_expire(int64_t now_ms, int64_t budget_us) {
    db_note_time(now_ms);
    if (db_get_expire_mode() == DB_EXPIRE_HIDE) {
        db_stat.expire_cycle_backlog = 0;
        return 0;
    }
    int backlog = 0;
    long long due = 0;
    /* The monotonic clock only measures the budget; deadlines are compared with now_ms. */
    int64_t start = clock_mono_us();
    /* Values of expired keys waiting to be freed get a quarter of the budget first, so that
     * memory comes back during a long storm too, and what is left of it at the end. */
    if (pending.head < pending.len) free_pending(start, budget_us / 4);
    int ndbs = db_count();
    for (int i = 0; i < ndbs; i++) {
        db *d = db_get((next_expire_db + i) % ndbs);
        /* Each database gets what is left of the budget; expire_cycle returns at once when
         * nothing is due, so an idle database costs a heap peek. */
        int64_t left = budget_us - (clock_mono_us() - start);
        if (left < 1) left = 1;
        size_t slim_left = 0;
        if (expire_cycle(&d->expires, now_ms, left, reap_owner, d) ||
            (slim_left = expire_slim(d, now_ms, start, budget_us)) > 0) {
            backlog = 1;
            due += (long long)expire_index_count_due(&d->expires, now_ms, BACKLOG_COUNT_CAP);
            due += (long long)(slim_left < BACKLOG_COUNT_CAP ? slim_left : BACKLOG_COUNT_CAP);
            /* Start with this database next time, so none is starved. */
            next_expire_db = (next_expire_db + i) % ndbs;
            break;
        }
    }
    db_stat.expire_cycle_backlog = due;
    if (pending.head < pending.len && free_pending(start, budget_us)) backlog = 1;
    return backlog;
}
