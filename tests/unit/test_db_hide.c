/* Unit tests for DB_EXPIRE_HIDE, a replica's expiry: due keys and fields stay stored until
 * the primary's DEL / HDEL (applied at DB_NOW_NOTHING_DUE) remove them, yet no read shows
 * or counts them. Model-based: random client writes, primary deletes and writes, and clock
 * moves against a trivial model of what is stored; after every step a random key's reads
 * (lookup, HLEN, HGET, iteration, HRANDFIELD, TTL) and, often, the whole keyspace's counts
 * (DBSIZE, KEYS-style liveness, RANDOMKEY) are compared with what the model says is live.
 * Nothing may ever be reaped. At the end the mode goes back to REAP and the hidden part is
 * reaped with exactly the model's counts. The seed is printed on failure. */
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"

#include <stdio.h>

#define NK 48 /* keys */
#define NF 12 /* fields per hash: above the listpack limit below, so both encodings occur */
#include "unit/db_model.h"

static const hash_limits lim = {8, 64};

static long long reaps_heard; /* expiry hooks: must stay 0 in HIDE mode */

static void on_key_expired(db *d, const char *key, size_t klen) {
    (void)d, (void)key, (void)klen;
    reaps_heard++;
}
static void on_fields_expired(db *d, const char *key, size_t klen, const slice *f, size_t n) {
    (void)d, (void)key, (void)klen, (void)f, (void)n;
    reaps_heard++;
}

static int64_t some_deadline(void) {
    return now - 300 + (int64_t)rand_below(2000); /* sometimes already past */
}

/* ---- operations, each on the db and on the model ---- */

/* A client's SET k v [PX]: WRONGTYPE on a visible hash; a hidden key is overwritten. */
static void op_set(db *d, int i) {
    char kb[16], vb[24];
    slice k = kname(i, kb);
    dbentry *e = db_find(d, k, now);
    if (e && e->val->type != OBJ_STRING) return;
    long long v = (long long)rand_below(1000000);
    int64_t ttl = rand_below(2) ? now + 1 + (int64_t)rand_below(1500) : 0;
    slice vs = vtext(v, vb);
    obj *val = &string_new(vs.p, vs.len)->hdr;
    if (e)
        e = db_replace_value(d, e, val);
    else
        e = db_add(d, k, val);
    e = db_set_expire(d, e, ttl);
    memset(&m[i], 0, sizeof(m[i]));
    m[i] = (mkey){.present = 1, .is_hash = 0, .expire_ms = ttl, .value = v};
}

/* A client's HSET / HSETEX PXAT / HINCRBY-like KEEPTTL write of one field. */
static void op_hset(db *d, int i) {
    char kb[16], fb[16], vb[24];
    slice k = kname(i, kb);
    dbentry *e = db_find(d, k, now);
    if (e && e->val->type != OBJ_HASH) return;
    if (!e) {
        e = db_add(d, k, (obj *)hash_new());
        memset(&m[i], 0, sizeof(m[i]));
        m[i].present = 1;
        m[i].is_hash = 1;
    }
    int j = (int)rand_below(NF);
    long long v = (long long)rand_below(1000000);
    unsigned pol = (unsigned)rand_below(3);
    int64_t dl = pol == HASH_TTL_SET ? some_deadline() : 0;
    if (dl < 1) dl = 1;
    ent_hash_set(d, &e, &lim, now, fname(j, fb), vtext(v, vb), (enum hash_ttl_policy)pol, dl);
    e = db_refile_fields(d, e);
    mfield *f = &m[i].f[j];
    int64_t keep = m_field_live(f, now) ? f->deadline : 0;
    *f = (mfield){1, pol == HASH_TTL_SET ? dl : pol == HASH_TTL_KEEP ? keep : 0, v};
}

/* A client's HDEL: a due field is dropped too (types/ contract); an emptied hash goes. */
static void op_hdel(db *d, int i) {
    char kb[16], fb[16];
    dbentry *e = db_find(d, kname(i, kb), now);
    if (!e || e->val->type != OBJ_HASH) return;
    int j = (int)rand_below(NF);
    ent_hash_del(d, &e, now, fname(j, fb));
    if (m_field_live(&m[i].f[j], now)) m[i].f[j].present = 0; /* a due one stays stored */
    if (hash_stored((hash *)e->val) == 0) {
        db_delete_entry(d, e);
        m[i].present = 0;
    } else {
        e = db_refile_fields(d, e);
    }
}

/* A client's PEXPIREAT on a visible key. */
static void op_expire(db *d, int i) {
    char kb[16];
    dbentry *e = db_find(d, kname(i, kb), now);
    if (!e) return;
    int64_t when = now + 1 + (int64_t)rand_below(1500);
    e = db_set_expire(d, e, when);
    m[i].expire_ms = when;
}

/* The primary's DEL: applied at DB_NOW_NOTHING_DUE, it removes whatever is stored. */
static void op_primary_del(db *d, int i) {
    char kb[16];
    int had = db_delete(d, kname(i, kb), DB_NOW_NOTHING_DUE);
    if (had != m[i].present) TEST_FAIL("primary DEL k%d: db %d, model %d", i, had, m[i].present);
    m[i].present = 0;
}

/* The primary's HDEL of one field (e.g. its reap), and its HSET of one field. */
static void op_primary_hdel(db *d, int i) {
    char kb[16], fb[16];
    dbentry *e = db_find(d, kname(i, kb), DB_NOW_NOTHING_DUE);
    if ((e != NULL) != m[i].present) TEST_FAIL("primary sees k%d: db %d", i, e != NULL);
    if (!e || e->val->type != OBJ_HASH) return;
    int j = (int)rand_below(NF);
    int had = ent_hash_del(d, &e, DB_NOW_NOTHING_DUE, fname(j, fb));
    if (had != m[i].f[j].present) TEST_FAIL("primary HDEL k%d f%d: db %d", i, j, had);
    m[i].f[j].present = 0;
    if (hash_stored((hash *)e->val) == 0) {
        db_delete_entry(d, e);
        m[i].present = 0;
    } else {
        e = db_refile(d, e);
    }
}

static void op_primary_hset(db *d, int i) {
    char kb[16], fb[16], vb[24];
    slice k = kname(i, kb);
    dbentry *e = db_find(d, k, DB_NOW_NOTHING_DUE);
    if (e && e->val->type != OBJ_HASH) return;
    if (!e) {
        e = db_add(d, k, (obj *)hash_new());
        memset(&m[i], 0, sizeof(m[i]));
        m[i].present = 1;
        m[i].is_hash = 1;
    }
    int j = (int)rand_below(NF);
    long long v = (long long)rand_below(1000000);
    int64_t dl = rand_below(2) ? some_deadline() : 0;
    if (dl < 0) dl = 1;
    ent_hash_set(d, &e, &lim, DB_NOW_NOTHING_DUE, fname(j, fb), vtext(v, vb),
                 dl ? HASH_TTL_SET : HASH_TTL_CLEAR, dl);
    e = db_refile_fields(d, e);
    m[i].f[j] = (mfield){1, dl, v};
}

/* ---- checks ---- */

static void collect_field(const hash_entry *he, void *ctx) {
    int *seen = ctx;
    seen[num_of(he->field, 1)]++;
}

/* Every read of key i at now agrees with the model. Returns 0, or -1 after a failure. */
static int check_key(db *d, int i) {
    char kb[16], fb[16];
    slice k = kname(i, kb);
    dbentry *raw = db_find_raw(d, k);
    if ((raw != NULL) != m[i].present) {
        fprintf(stderr, "k%d stored: db %d, model %d\n", i, raw != NULL, m[i].present);
        return -1;
    }
    if (raw && db_entry_live(raw, now) != m_visible(i, now)) {
        fprintf(stderr, "k%d db_entry_live %d\n", i, db_entry_live(raw, now));
        return -1;
    }
    dbentry *e = db_lookup(d, k, now, DB_LOOKUP_NOTOUCH);
    if ((e != NULL) != m_visible(i, now)) {
        fprintf(stderr, "k%d visible: db %d, model %d (now %lld)\n", i, e != NULL,
                m_visible(i, now), (long long)now);
        return -1;
    }
    if (!e) return 0;
    if (db_entry_expire(e) != m[i].expire_ms) {
        fprintf(stderr, "k%d ttl %lld vs %lld\n", i, (long long)db_entry_expire(e),
                (long long)m[i].expire_ms);
        return -1;
    }
    if (!m[i].is_hash) {
        char vb[24];
        slice want = vtext(m[i].value, vb);
        char tmp[32];
        return slice_eq(string_bytes((const string *)e->val, tmp), want) ? 0 : -1;
    }
    hash *h = (hash *)e->val;
    if (hash_len(h, now) != (size_t)m_live_fields(i, now)) {
        fprintf(stderr, "k%d HLEN %zu vs %d\n", i, hash_len(h, now), m_live_fields(i, now));
        return -1;
    }
    if ((size_t)m_stored_fields(i) != hash_stored(h)) return -1;
    for (int j = 0; j < NF; j++) {
        hash_entry he;
        int rc = hash_get(h, now, fname(j, fb), &he);
        int live = m_field_live(&m[i].f[j], now);
        if ((rc == HASH_OK) != live) {
            fprintf(stderr, "k%d f%d HGET %d vs live %d\n", i, j, rc, live);
            return -1;
        }
        if (live && (he.deadline != m[i].f[j].deadline || num_of(he.value, 0) != m[i].f[j].value))
            return -1;
    }
    int seen[NF] = {0};
    hash_iter it;
    hash_entry he;
    hash_iter_init(&it, h, now);
    while (hash_iter_next(&it, &he))
        collect_field(&he, seen);
    hash_iter_deinit(&it);
    for (int j = 0; j < NF; j++)
        if (seen[j] != m_field_live(&m[i].f[j], now)) {
            fprintf(stderr, "k%d HGETALL f%d seen %d\n", i, j, seen[j]);
            return -1;
        }
    if (hash_random(h, now, &he) != HASH_OK) return -1;
    if (!m_field_live(&m[i].f[num_of(he.field, 1)], now)) return -1;
    int picks[NF] = {0};
    size_t got = hash_random_distinct(h, now, NF, collect_field, picks);
    if (got != (size_t)m_live_fields(i, now)) return -1;
    for (int j = 0; j < NF; j++)
        if (picks[j] != m_field_live(&m[i].f[j], now)) return -1;
    return 0;
}

/* Whole-keyspace counts: DBSIZE, stored size, RANDOMKEY. */
static int check_counts(db *d) {
    size_t visible = 0, stored = 0;
    for (int i = 0; i < NK; i++) {
        visible += (size_t)m_visible(i, now);
        stored += (size_t)m[i].present;
    }
    if (db_size(d) != stored || db_size_visible(d, now) != visible) {
        fprintf(stderr, "sizes: db %zu/%zu, model %zu/%zu\n", db_size(d), db_size_visible(d, now),
                stored, visible);
        return -1;
    }
    for (int r = 0; r < 4; r++) {
        dbentry *e = db_random(d, now);
        if ((e != NULL) != (visible > 0)) return -1;
        if (e && !m_visible((int)num_of(dbentry_key(e), 1), now)) {
            fprintf(stderr, "RANDOMKEY gave hidden %.*s\n", (int)e->klen, e->key);
            return -1;
        }
    }
    return 0;
}

static void run_random(uint64_t seed, int steps) {
    rand_seed(seed);
    dict_set_seed(seed);
    db_init_all(1);
    db_stat = (db_stats){0};
    db *d = db_get(0);
    memset(m, 0, sizeof(m));
    reaps_heard = 0;
    now = 1000000;
    db_set_expire_mode(DB_EXPIRE_HIDE);
    for (int step = 0; step < steps; step++) {
        int i = (int)rand_below(NK);
        unsigned op = (unsigned)rand_below(100);
        if (op < 12)
            op_set(d, i);
        else if (op < 40)
            op_hset(d, i);
        else if (op < 45)
            op_hdel(d, i);
        else if (op < 50)
            op_expire(d, i);
        else if (op < 55)
            op_primary_del(d, i);
        else if (op < 65)
            op_primary_hdel(d, i);
        else if (op < 70)
            op_primary_hset(d, i);
        else if (op < 80)
            now += (int64_t)rand_below(400);
        if (test_failed_now) break;
        if (check_key(d, (int)rand_below(NK)) < 0 || (step % 16 == 0 && check_counts(d) < 0)) {
            fprintf(stderr, "seed %llu, step %d\n", (unsigned long long)seed, step);
            TEST_FAIL("hidden reads differ from the model");
        }
        if (db_active_expire(now, 1000) != 0) TEST_FAIL("active expiry ran in HIDE mode");
        if (reaps_heard || db_stat.expired_keys || db_stat.expired_subkeys)
            TEST_FAIL("something was reaped in HIDE mode (seed %llu, step %d)",
                      (unsigned long long)seed, step);
    }
    if (test_failed_now) return;
    for (int i = 0; i < NK; i++)
        if (check_key(d, i) < 0)
            TEST_FAIL("final check k%d, seed %llu", i, (unsigned long long)seed);
    /* Back to REAP: lookups reap exactly what the model says is hidden. */
    long long want_keys = 0, want_fields = 0;
    for (int i = 0; i < NK; i++) {
        if (!m[i].present) continue;
        if (m[i].expire_ms != 0 && m[i].expire_ms <= now) {
            want_keys++;
            continue;
        }
        if (m[i].is_hash) want_fields += m_stored_fields(i) - m_live_fields(i, now);
    }
    db_set_expire_mode(DB_EXPIRE_REAP);
    char kb[16];
    for (int i = 0; i < NK; i++)
        db_find(d, kname(i, kb), now);
    ASSERT_EQ(want_keys, db_stat.expired_keys);
    ASSERT_EQ(want_fields, db_stat.expired_subkeys);
    size_t visible = 0;
    for (int i = 0; i < NK; i++)
        visible += (size_t)m_visible(i, now);
    ASSERT_EQ(visible, db_size(d));
    db_free_all();
}

TEST(random_ops_against_model) {
    static const db_hooks hooks = {.key_expired = on_key_expired,
                                   .fields_expired = on_fields_expired};
    db_hooks_add(&hooks);
    for (uint64_t seed = 1; seed <= 6 && !test_failed_now; seed++)
        run_random(0x41de0000 + seed, 20000);
    db_set_expire_mode(DB_EXPIRE_REAP);
}

/* The small cases by name: a hash whose fields are all due is absent for readers, counted
 * out of DBSIZE, yet its fields come back to the primary's view at DB_NOW_NOTHING_DUE. */
TEST(hidden_hash_and_key_by_hand) {
    db_init_all(1);
    db_stat = (db_stats){0};
    db *d = db_get(0);
    db_set_expire_mode(DB_EXPIRE_HIDE);
    hash *h = hash_new();
    hash_set(&h, &lim, 0, slice_of("a"), slice_of("1"), HASH_TTL_SET, 100);
    hash_set(&h, &lim, 0, slice_of("b"), slice_of("2"), HASH_TTL_SET, 200);
    db_entry_done(db_refile(d, db_add(d, slice_of("h"), (obj *)h)));
    dbentry *s = db_add(d, slice_of("s"), &string_new("x", 1)->hdr);
    s = db_set_expire(d, s, 150);
    ASSERT_EQ(2, db_size_visible(d, 99));
    ASSERT_EQ(1, hash_len(h, 150));
    ASSERT_EQ(1, db_size_visible(d, 150)); /* s hidden */
    ASSERT(db_lookup(d, slice_of("s"), 150, 0) == NULL);
    ASSERT(db_lookup(d, slice_of("h"), 250, 0) == NULL); /* every field due */
    ASSERT_EQ(0, db_size_visible(d, 250));
    ASSERT(db_random(d, 250) == NULL);
    ASSERT_EQ(2, db_size(d)); /* still stored */
    ASSERT(db_find(d, slice_of("h"), DB_NOW_NOTHING_DUE) != NULL);
    ASSERT_EQ(2, hash_len(h, DB_NOW_NOTHING_DUE));
    ASSERT_EQ(0, db_stat.expired_keys + db_stat.expired_subkeys);
    /* A client's write over a hidden key replaces it. */
    db_add(d, slice_of("s"), &string_new("y", 1)->hdr);
    ASSERT_EQ(2, db_size(d));
    dbentry *ns = db_lookup(d, slice_of("s"), 250, 0);
    ASSERT(ns != NULL && db_entry_expire(ns) == 0);
    db_set_expire_mode(DB_EXPIRE_REAP);
    db_free_all();
}

int main(void) {
    RUN(hidden_hash_and_key_by_hand);
    RUN(random_ops_against_model);
    return test_report();
}
