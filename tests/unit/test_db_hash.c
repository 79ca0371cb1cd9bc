/* Unit tests: the keyspace's handling of hashes with field TTLs (db.c): filing under the
 * earliest deadline, lazy reaping of every due field on lookup, the active cycle's
 * per-pop work limit, fields_expired hook reports, expired_subkeys and subexpiry. */
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "unit/test.h"

#include <stdio.h>

static const hash_limits lim = {16, 64}; /* big hashes become hashtables */

/* What the hooks heard. */
static char heard[4096];
static size_t heard_len, hook_calls, touched;

static void on_fields_expired(db *d, const char *key, size_t klen, const slice *fields, size_t n) {
    (void)d;
    hook_calls++;
    heard_len +=
        (size_t)snprintf(heard + heard_len, sizeof(heard) - heard_len, "%.*s:", (int)klen, key);
    for (size_t i = 0; i < n; i++)
        heard_len += (size_t)snprintf(heard + heard_len, sizeof(heard) - heard_len, "%.*s,",
                                      (int)fields[i].len, fields[i].p);
}

static void on_touched(db *d, const char *key, size_t klen) {
    (void)d;
    (void)key;
    (void)klen;
    touched++;
}

static void reset(void) {
    db_init_all(2);
    db_stat = (db_stats){0};
    static const db_hooks hooks = {.fields_expired = on_fields_expired, .key_touched = on_touched};
    db_hooks_add(&hooks); /* a second call has no effect */
    heard[0] = '\0';
    heard_len = hook_calls = touched = 0;
}

/* HEXPIRE / HPERSIST of field f0 of the hash in e (which may move: stored back). */
static int hexpire_f0(dbentry *e, int64_t deadline) {
    hash *h = (hash *)e->val;
    int r = hash_expire(&h, 0, slice_of("f0"), deadline, HASH_COND_NONE);
    e->val = (obj *)h;
    return r;
}
static int hpersist_f0(dbentry *e) {
    hash *h = (hash *)e->val;
    int r = hash_persist(&h, 0, slice_of("f0"));
    e->val = (obj *)h;
    return r;
}

/* Adds key h with fields f0..f(n-1), field i due at deadline0 + i (0: no TTL). */
static dbentry *add_hash(db *d, const char *key, int n, int64_t deadline0) {
    hash *h = hash_new();
    for (int i = 0; i < n; i++) {
        char f[16];
        snprintf(f, sizeof(f), "f%d", i);
        hash_set(&h, &lim, 0, slice_of(f), slice_of("v"), deadline0 ? HASH_TTL_SET : HASH_TTL_CLEAR,
                 deadline0 ? deadline0 + i : 0);
    }
    return db_add(d, slice_of(key), (obj *)h);
}

TEST(filing_and_lazy_reap) {
    reset();
    db *d = db_get(0);
    dbentry *e = add_hash(d, "h", 3, 1000);
    add_hash(d, "plain", 2, 0);
    ASSERT_EQ(1, d->subexpiry);
    ASSERT_EQ(1000, db_entry_ttl(e)->exp.when);
    ASSERT_EQ(1, expire_index_size(&d->expires));
    /* Nothing due yet: nothing reaped. */
    ASSERT(db_find(d, slice_of("h"), 999) == e);
    ASSERT_EQ(0, hook_calls);
    /* Two due: both go in one lookup, reported in deadline order, and re-filed. */
    ASSERT(db_find(d, slice_of("h"), 1001) == e);
    ASSERT_STR_EQ("h:f0,f1,", heard);
    ASSERT_EQ(2, db_stat.expired_subkeys);
    ASSERT_EQ(1, touched);
    ASSERT_EQ(1002, db_entry_ttl(e)->exp.when);
    ASSERT_EQ(1, hash_len((hash *)e->val, 1001));
    /* The last one: the key goes (a deletion, not a key expiry), and the index with it. */
    ASSERT(db_find(d, slice_of("h"), 5000) == NULL);
    ASSERT_EQ(3, db_stat.expired_subkeys);
    ASSERT_EQ(0, db_stat.expired_keys);
    ASSERT_EQ(0, d->subexpiry);
    ASSERT_EQ(0, expire_index_size(&d->expires));
    ASSERT_EQ(1, db_size(d));
    db_free_all();
}

TEST(key_ttl_beside_field_ttls) {
    reset();
    db *d = db_get(0);
    dbentry *e = add_hash(d, "h", 2, 5000);
    e = db_set_expire(d, e, 3000);
    ASSERT_EQ(3000, db_entry_ttl(e)->exp.when); /* the earlier of the two */
    e = db_set_expire(d, e, 0);
    ASSERT_EQ(5000, db_entry_ttl(e)->exp.when);
    e = db_set_expire(d, e, 4000);
    ASSERT(db_find(d, slice_of("h"), 4000) == NULL); /* the key TTL wins */
    ASSERT_EQ(1, db_stat.expired_keys);
    ASSERT_EQ(0, d->subexpiry);
    db_free_all();
}

TEST(active_cycle_drains_in_limited_pops) {
    reset();
    db *d = db_get(1);
    dbentry *big = add_hash(d, "big", 300, 100);
    ASSERT_EQ(ENC_HASHTABLE, big->val->enc);
    add_hash(d, "small", 2, 100);
    ASSERT_EQ(2, d->subexpiry);
    /* Half the big hash is due. */
    int backlog = db_active_expire(250, 1000000);
    ASSERT_EQ(0, backlog);
    ASSERT_EQ(151 + 2, db_stat.expired_subkeys); /* f0..f150 of big (100..250), both small */
    ASSERT_EQ(1, db_size(d));
    ASSERT_EQ(1, d->subexpiry);
    dbentry *e = db_find_raw(d, slice_of("big"));
    ASSERT(e != NULL);
    ASSERT_EQ(251, db_entry_ttl(e)->exp.when);
    ASSERT_EQ(149, hash_stored((hash *)e->val));
    db_active_expire(10000, 1000000);
    ASSERT_EQ(0, db_size(d));
    ASSERT_EQ(302, db_stat.expired_subkeys);
    ASSERT_EQ(0, d->subexpiry);
    db_free_all();
}

TEST(copy_move_flush_keep_counts) {
    reset();
    db *a = db_get(0), *b = db_get(1);
    dbentry *e = add_hash(a, "h", 2, 100);
    db_add(b, slice_of("h"), obj_dup(e->val)); /* COPY: the copy counts afresh */
    ASSERT_EQ(1, a->subexpiry);
    ASSERT_EQ(1, b->subexpiry);
    ASSERT_EQ(100, db_entry_ttl(db_find_raw(b, slice_of("h")))->exp.when);
    obj *v = db_take_value(a, e); /* MOVE */
    ASSERT_EQ(0, a->subexpiry);
    ASSERT_EQ(0, expire_index_size(&a->expires));
    db_add(a, slice_of("h2"), v);
    ASSERT_EQ(1, a->subexpiry);
    db_swap(a, b);
    ASSERT_EQ(1, a->subexpiry);
    db_flush(a);
    ASSERT_EQ(0, a->subexpiry);
    ASSERT_EQ(0, expire_index_size(&a->expires));
    db_active_expire(1000000, 1000000);
    ASSERT_EQ(2, db_stat.expired_subkeys); /* only the hash left in b */
    db_free_all();
}

/* db_refile_fields leaves an entry filed early when its deadline moves later; the lookup
 * or the active cycle that meets it reaps nothing and files it exactly. Earlier moves and
 * the loss of every TTL are applied at once. */
TEST(lazy_refile_of_later_deadlines) {
    reset();
    db *d = db_get(0);
    /* f0 with a deadline and a field without: filed in the heap (not slim). */
    hash *h0 = hash_new();
    hash_set(&h0, &lim, 0, slice_of("f0"), slice_of("v"), HASH_TTL_SET, 1000);
    hash_set(&h0, &lim, 0, slice_of("plain"), slice_of("v"), HASH_TTL_CLEAR, 0);
    dbentry *e = db_add(d, slice_of("h"), (obj *)h0);
    ASSERT(e->ttl && !e->slim);
    ASSERT_EQ(HASH_EXPIRE_SET, hexpire_f0(e, 5000));
    e = db_refile_fields(d, e);
    ASSERT_EQ(1000, db_entry_ttl(e)->exp.when); /* early, not wrong */
    ASSERT(db_find(d, slice_of("h"), 1001) == e);
    ASSERT_EQ(0, db_stat.expired_subkeys);
    ASSERT_EQ(0, touched);
    ASSERT_EQ(5000, db_entry_ttl(e)->exp.when); /* the lookup filed it exactly */
    /* Through the active cycle. */
    ASSERT_EQ(HASH_EXPIRE_SET, hexpire_f0(e, 9000));
    e = db_refile_fields(d, e);
    ASSERT_EQ(5000, db_entry_ttl(e)->exp.when);
    ASSERT_EQ(0, db_active_expire(6000, 1000000));
    ASSERT_EQ(9000, db_entry_ttl(e)->exp.when);
    ASSERT_EQ(2, hash_len((hash *)e->val, 6000));
    /* Earlier: at once. */
    ASSERT_EQ(HASH_EXPIRE_SET, hexpire_f0(e, 7000));
    e = db_refile_fields(d, e);
    ASSERT_EQ(7000, db_entry_ttl(e)->exp.when);
    /* No TTL left: out of the index at once. */
    ASSERT_EQ(HASH_PERSIST_OK, hpersist_f0(e));
    e = db_refile_fields(d, e);
    ASSERT_EQ(0, expire_index_size(&d->expires));
    ASSERT_EQ(0, d->subexpiry);
    ASSERT_EQ(0, db_active_expire(100000, 1000000));
    ASSERT_EQ(2, hash_len((hash *)e->val, 100000));
    db_free_all();
}

/* Adds key with n fields all due at deadline (a hashtable past 16 fields). */
static dbentry *add_shared(db *d, const char *key, int n, int64_t deadline) {
    hash *h = hash_new();
    for (int i = 0; i < n; i++) {
        char f[16];
        snprintf(f, sizeof(f), "f%d", i);
        hash_set(&h, &lim, 0, slice_of(f), slice_of("v"), HASH_TTL_SET, deadline);
    }
    return db_add(d, slice_of(key), (obj *)h);
}

/* One field write through db_hash_open / db_hash_close (as the command layer does). */
static dbentry *write_expire(db *d, dbentry *e, const char *f, int64_t deadline) {
    db_hash_write w;
    hash *h = db_hash_open(e, &w);
    hash_expire(&h, 0, slice_of(f), deadline, HASH_COND_NONE);
    return db_hash_close(d, e, h, &w);
}

/* A hash without a key TTL whose every field has one deadline is filed without a dbttl,
 * in deaths only ("slim"): lookups, DBSIZE, db_soonest and the active cycle see it there;
 * a write that keeps the deadline shared re-files it, one that parts the deadlines or a
 * key TTL gives it its dbttl. */
TEST(slim_entries) {
    reset();
    db *d = db_get(0);
    dbentry *a = add_shared(d, "a", 1, 500);
    dbentry *b = add_shared(d, "b", 10, 700);
    dbentry *big = add_shared(d, "big", 40, 800); /* a hashtable */
    dbentry *h = add_hash(d, "h", 3, 600);        /* 600, 601, 602: the heap's */
    ASSERT(!a->ttl && a->slim && !b->ttl && b->slim && !big->ttl && big->slim);
    ASSERT(h->ttl && !h->slim);
    ASSERT_EQ(1, expire_index_size(&d->expires));
    ASSERT_EQ(4, ostree_len(&d->deaths));
    ASSERT_EQ(4, d->subexpiry);
    int64_t when = 0;
    ASSERT(db_soonest(d, &when) == a && when == 500);
    ASSERT_EQ(4, db_size_visible(d, 499));
    ASSERT_EQ(3, db_size_visible(d, 500));
    /* The active cycle takes the slim entry, then the heap's hash, in deadline order. */
    ASSERT_EQ(0, db_active_expire(550, 1000000));
    ASSERT(db_find_raw(d, slice_of("a")) == NULL);
    ASSERT_EQ(3, db_size(d));
    ASSERT(db_soonest(d, &when) == h && when == 600);
    ASSERT_EQ(0, db_active_expire(690, 1000000));
    ASSERT(db_find_raw(d, slice_of("h")) == NULL);
    ASSERT(db_soonest(d, &when) == b && when == 700);
    /* Writes keeping one deadline (every field refreshed in one run, as HSETEX FIELDS
     * does) re-file it; parting them gives the entry its dbttl. */
    db_hash_write bw;
    hash *bh = db_hash_open(b, &bw);
    ASSERT_EQ(700, bw.filed);
    for (int i = 0; i < 10; i++) {
        char f[16];
        snprintf(f, sizeof(f), "f%d", i);
        hash_expire(&bh, 0, slice_of(f), 750, HASH_COND_NONE);
    }
    b = db_hash_close(d, b, bh, &bw);
    ASSERT(b->slim && !b->ttl);
    ASSERT_EQ(0, ostree_check(&d->deaths));
    ASSERT_EQ(2, db_size_visible(d, 749));
    ASSERT_EQ(1, db_size_visible(d, 750));
    b = write_expire(d, b, "f3", 900);
    ASSERT(!b->slim && b->ttl);
    ASSERT_EQ(750, db_entry_ttl(b)->exp.when);
    ASSERT_EQ(900, db_entry_ttl(b)->death);
    ASSERT_EQ(2, db_size_visible(d, 750));
    /* The close filed it exactly: the caller's db_refile_fields (hc_finish) after it
     * finds nothing to change (same entry, deadline, death, counts). */
    size_t in_heap = expire_index_size(&d->expires), deaths = ostree_len(&d->deaths);
    size_t sub = d->subexpiry;
    ASSERT(db_refile_fields(d, b) == b);
    ASSERT_EQ(750, db_entry_ttl(b)->exp.when);
    ASSERT_EQ(900, db_entry_ttl(b)->death);
    ASSERT_EQ(in_heap, expire_index_size(&d->expires));
    ASSERT_EQ(deaths, ostree_len(&d->deaths));
    ASSERT_EQ(sub, d->subexpiry);
    /* A slim entry's: returns at once (its close re-filed it if its deadline moved). */
    dbentry *s1 = add_shared(d, "s1", 3, 3000);
    s1 = write_expire(d, s1, "f1", 3000);
    ASSERT(s1->slim && db_refile_fields(d, s1) == s1 && s1->slim);
    db_delete_entry(d, s1);
    /* A key TTL on a slim entry gives it its dbttl too. */
    big = db_set_expire(d, db_find_raw(d, slice_of("big")), 2000);
    ASSERT(!big->slim && big->ttl);
    ASSERT_EQ(800, db_entry_ttl(big)->death);
    ASSERT_EQ(2, ostree_len(&d->deaths));
    /* Lazy expiry of a slim entry: the lookup at its deadline deletes it whole. */
    dbentry *c = add_shared(d, "c", 5, 1000);
    ASSERT(c->slim);
    ASSERT(db_find(d, slice_of("c"), 999) == c);
    long long subkeys = db_stat.expired_subkeys;
    ASSERT(db_find(d, slice_of("c"), 1000) == NULL);
    ASSERT_EQ(subkeys + 5, db_stat.expired_subkeys);
    ASSERT(db_find_raw(d, slice_of("c")) == NULL);
    /* Emptied by writes: out of deaths at once. */
    dbentry *e = add_shared(d, "e", 1, 5000);
    db_hash_write w;
    hash *hv = db_hash_open(e, &w);
    ASSERT_EQ(1, hash_del(&hv, 0, slice_of("f0")));
    e = db_hash_close(d, e, hv, &w);
    ASSERT(!e->slim && !e->ttl);
    ASSERT_EQ(2, ostree_len(&d->deaths));
    db_delete_entry(d, e);
    ASSERT_EQ(0, ostree_check(&d->deaths));
    db_free_all();
}

int main(void) {
    RUN(filing_and_lazy_reap);
    RUN(key_ttl_beside_field_ttls);
    RUN(active_cycle_drains_in_limited_pops);
    RUN(copy_move_flush_keep_counts);
    RUN(lazy_refile_of_later_deadlines);
    RUN(slim_entries);
    return test_report();
}
