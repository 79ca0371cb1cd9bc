/* Unit tests for db/ with a backlog of due fields (DB_EXPIRE_REAP): lazy reaping is bounded
 * per command, so hashes of thousands of fields that fall due at once stay stored for a
 * while; every read must still behave as if each due field were gone.
 *
 * A random sequence of writes (single fields, bulk writes of up to 2,500 fields sharing a
 * deadline, deletes, TTL changes, strings with TTLs), time jumps (forwards, and sometimes
 * back, as DEBUG CLOCK-OFFSET allows) and slices of the active cycle runs against a plain
 * model. The db's expiry hooks keep the model's idea of what is stored in step, and check
 * that only due fields and keys are ever reported, and at most DB_LAZY_REAP_MAX fields per
 * command. After each step every read of a random key (lookup, HLEN, HGET, iteration,
 * HSCAN, HRANDFIELD) and the keyspace counts (DBSIZE, KEYS, RANDOMKEY) are compared with
 * the model's live view. Small listpack limits make hashes convert to hashtables.
 *
 * Each seed runs twice: with hooks that want the reaped fields named (as the log, a replica
 * or keyspace notifications do), and with none that do (the common server: no log, no
 * notifications), where db/ may delete a dead hash as a unit without naming its fields. In
 * the second mode the model learns what was reaped by looking at the keys db/ reports as
 * touched after each command: each due field still in the model is looked up among the
 * stored ones (a live field or key missing is an error). */
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

#define NK 12
#define NF 2600
#include "unit/db_model.h"

static hash_limits lim = {16, 64};

static long long reaped_this_command; /* fields reported since the last budget reset */
static long long max_reaped_per_command;
static int hook_errors;
static int names_wanted = 1; /* the model's hooks want reaped fields named */
static int touched[NK];      /* keys db/ reported as touched since the last sync */

static void begin_command(void) {
    db_lazy_budget_reset();
    reaped_this_command = 0;
}

/* ---- hooks: what db/ reports keeps the model's stored view in step ---- */

static int key_index(const char *key, size_t klen) {
    return (int)num_of((slice){key, klen}, 1);
}

static void on_key_expired(db *d, const char *key, size_t klen) {
    (void)d;
    int i = key_index(key, klen);
    if (!m[i].present || m[i].expire_ms == 0 || m[i].expire_ms > now) hook_errors++;
    memset(&m[i], 0, sizeof(m[i]));
}

static void on_fields_expired(db *d, const char *key, size_t klen, const slice *f, size_t n) {
    (void)d;
    int i = key_index(key, klen);
    for (size_t k = 0; k < n; k++) {
        mfield *mf = &m[i].f[num_of(f[k], 1)];
        if (!mf->present || mf->deadline == 0 || mf->deadline > now) hook_errors++;
        mf->present = 0;
    }
    reaped_this_command += (long long)n;
    if (reaped_this_command > max_reaped_per_command) max_reaped_per_command = reaped_this_command;
    if (m_stored_fields(i) == 0) memset(&m[i], 0, sizeof(m[i]));
}

static void on_hash_expired(db *d, const char *key, size_t klen) {
    (void)d;
    int i = key_index(key, klen);
    if (!m[i].present || !m[i].is_hash || m_live_fields(i, now) != 0) hook_errors++;
    memset(&m[i], 0, sizeof(m[i]));
}

static int want_names(void) {
    return names_wanted;
}

static void on_key_touched(db *d, const char *key, size_t klen) {
    (void)d;
    touched[key_index(key, klen)] = 1;
}

static const db_hooks model_hooks = {
    .key_expired = on_key_expired,
    .fields_expired = on_fields_expired,
    .hash_expired = on_hash_expired,
    .fields_wanted = want_names,
    .key_touched = on_key_touched,
};

/* Without named fields: brings the model's stored view of every touched key in step with
 * what db/ stores, allowing only due fields (and keys with no live field) to have gone. The
 * fields found gone count as reaped by the command that just ran. */
static void sync_touched(db *d) {
    if (names_wanted) return;
    char kb[16], fb[16];
    for (int i = 0; i < NK; i++) {
        if (!touched[i]) continue;
        touched[i] = 0;
        if (!m[i].present) continue;
        dbentry *raw = db_find_raw(d, kname(i, kb));
        if (!raw) {
            if (m_visible(i, now)) hook_errors++; /* a visible key went */
            memset(&m[i], 0, sizeof(m[i]));
            continue;
        }
        if (!m[i].is_hash) continue;
        if (raw->val->type != OBJ_HASH) {
            hook_errors++;
            continue;
        }
        hash *h = (hash *)raw->val;
        for (int j = 0; j < NF; j++) {
            mfield *f = &m[i].f[j];
            if (!f->present || m_field_live(f, now)) continue;
            hash_entry he;
            if (hash_get(h, DB_NOW_NOTHING_DUE, fname(j, fb), &he) == HASH_OK) continue;
            f->present = 0;
            reaped_this_command++;
        }
        if (reaped_this_command > max_reaped_per_command)
            max_reaped_per_command = reaped_this_command;
    }
}

/* ---- operations (each one command) ---- */

static int64_t some_deadline(void) {
    int64_t d = now - 200 + (int64_t)rand_below(1500); /* sometimes already past */
    return d < 1 ? 1 : d;
}

/* Ends a write to hash entry e of key i as hc_finish does. */
static void finish_hash(db *d, dbentry *e, int i) {
    if (hash_stored((hash *)e->val) == 0) {
        db_delete_entry(d, e);
        memset(&m[i], 0, sizeof(m[i]));
    } else {
        db_entry_done(db_refile_fields(d, e));
    }
}

/* Looks key i up for a hash write, creating the hash; NULL if it holds a string. */
static dbentry *hash_for_write(db *d, int i) {
    char kb[16];
    slice k = kname(i, kb);
    dbentry *e = db_find(d, k, now);
    if (e && e->val->type != OBJ_HASH) return NULL;
    if (!e) {
        if (m[i].present) hook_errors++; /* lookup said absent: the model must agree */
        e = db_add(d, k, (obj *)hash_new());
        memset(&m[i], 0, sizeof(m[i]));
        m[i].present = 1;
        m[i].is_hash = 1;
    }
    return e;
}

/* HSET / HSETEX / HINCRBY-like write of `count` fields from `first`, all with one policy
 * and deadline (a bulk write of thousands of fields that fall due together). */
static void op_hset(db *d, int i, int first, int count) {
    begin_command();
    dbentry *e = hash_for_write(d, i);
    if (!e) return;
    unsigned pol = (unsigned)rand_below(3);
    int64_t dl = some_deadline();
    char fb[16], vb[24];
    for (int j = first; j < first + count && j < NF; j++) {
        long long v = (long long)rand_below(1000000);
        ent_hash_set(d, &e, &lim, now, fname(j, fb), vtext(v, vb), (enum hash_ttl_policy)pol, dl);
        mfield *f = &m[i].f[j];
        int64_t keep = m_field_live(f, now) ? f->deadline : 0;
        *f = (mfield){1, pol == HASH_TTL_SET ? dl : pol == HASH_TTL_KEEP ? keep : 0, v};
    }
    finish_hash(d, e, i);
}

static void op_hdel(db *d, int i) {
    begin_command();
    char kb[16], fb[16];
    dbentry *e = db_find(d, kname(i, kb), now);
    if (!e || e->val->type != OBJ_HASH) return;
    int j = (int)rand_below(NF);
    int live = m_field_live(&m[i].f[j], now);
    if (ent_hash_del(d, &e, now, fname(j, fb)) != live) hook_errors++;
    if (live) m[i].f[j].present = 0; /* a due field stays stored for the reaper */
    finish_hash(d, e, i);
}

static void op_hexpire(db *d, int i) {
    begin_command();
    char kb[16], fb[16];
    dbentry *e = db_find(d, kname(i, kb), now);
    if (!e || e->val->type != OBJ_HASH) return;
    int j = (int)rand_below(NF);
    int64_t dl = some_deadline();
    int rc = ent_hash_expire(d, &e, now, fname(j, fb), dl, HASH_COND_NONE);
    mfield *f = &m[i].f[j];
    if (!m_field_live(f, now)) {
        if (rc != HASH_EXPIRE_NOFIELD) hook_errors++;
    } else if (dl <= now) {
        if (rc != HASH_EXPIRE_DELETED) hook_errors++;
        f->present = 0;
    } else {
        if (rc != HASH_EXPIRE_SET) hook_errors++;
        f->deadline = dl;
    }
    finish_hash(d, e, i);
}

static void op_set(db *d, int i) {
    begin_command();
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
    db_entry_done(db_set_expire(d, e, ttl));
    memset(&m[i], 0, sizeof(m[i]));
    m[i] = (mkey){.present = 1, .is_hash = 0, .expire_ms = ttl, .value = v};
}

/* ---- checks ---- */

static void collect_field(const hash_entry *he, void *ctx) {
    int *seen = ctx;
    seen[num_of(he->field, 1)]++;
}

/* Every read of key i at now agrees with the model (one command). Returns 0 or -1. */
static int check_key(db *d, int i) {
    char kb[16], fb[16];
    static int seen[NF];
    slice k = kname(i, kb);
    begin_command();
    dbentry *e = db_lookup(d, k, now, DB_LOOKUP_NOTOUCH);
    sync_touched(d);
    if ((e != NULL) != m_visible(i, now)) {
        fprintf(stderr, "k%d visible: db %d, model %d\n", i, e != NULL, m_visible(i, now));
        return -1;
    }
    dbentry *raw = db_find_raw(d, k);
    if ((raw != NULL) != m[i].present) {
        fprintf(stderr, "k%d stored: db %d, model %d\n", i, raw != NULL, m[i].present);
        return -1;
    }
    if (!e) return 0;
    if (!m[i].is_hash) return e->val->type == OBJ_STRING ? 0 : -1;
    hash *h = (hash *)e->val;
    int live = m_live_fields(i, now);
    if (hash_len(h, now) != (size_t)live || !hash_has_live(h, now)) {
        fprintf(stderr, "k%d HLEN %zu vs %d\n", i, hash_len(h, now), live);
        return -1;
    }
    if ((size_t)m_stored_fields(i) != hash_stored(h)) {
        fprintf(stderr, "k%d stored fields %zu vs %d\n", i, hash_stored(h), m_stored_fields(i));
        return -1;
    }
    for (int probe = 0; probe < 48; probe++) {
        int j = (int)rand_below(NF);
        hash_entry he;
        int rc = hash_get(h, now, fname(j, fb), &he);
        if ((rc == HASH_OK) != m_field_live(&m[i].f[j], now)) {
            fprintf(stderr, "k%d f%d HGET %d\n", i, j, rc);
            return -1;
        }
        if (rc == HASH_OK &&
            (he.deadline != m[i].f[j].deadline || num_of(he.value, 0) != m[i].f[j].value))
            return -1;
    }
    /* HGETALL */
    memset(seen, 0, sizeof(seen));
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
    /* HSCAN to the end: every live field at least once, no due one. */
    memset(seen, 0, sizeof(seen));
    uint64_t cursor = 0;
    int calls = 0;
    do
        cursor = hash_scan(h, now, cursor, 50, collect_field, seen);
    while (cursor != 0 && ++calls < 100000);
    for (int j = 0; j < NF; j++)
        if ((seen[j] > 0) != m_field_live(&m[i].f[j], now)) {
            fprintf(stderr, "k%d HSCAN f%d seen %d\n", i, j, seen[j]);
            return -1;
        }
    /* HRANDFIELD: one, a few distinct, a few with repeats. */
    if (hash_random(h, now, &he) != HASH_OK || !m_field_live(&m[i].f[num_of(he.field, 1)], now))
        return -1;
    memset(seen, 0, sizeof(seen));
    size_t want = 1 + rand_below(8);
    size_t got = hash_random_distinct(h, now, want, collect_field, seen);
    if (got != (want < (size_t)live ? want : (size_t)live)) return -1;
    for (int j = 0; j < NF; j++)
        if (seen[j] > 1 || (seen[j] && !m_field_live(&m[i].f[j], now))) return -1;
    memset(seen, 0, sizeof(seen));
    if (hash_random_repeat(h, now, 20, collect_field, seen) != 20) return -1;
    for (int j = 0; j < NF; j++)
        if (seen[j] && !m_field_live(&m[i].f[j], now)) return -1;
    return 0;
}

/* DBSIZE, KEYS (every stored entry tested for liveness without reaping), RANDOMKEY. */
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
    size_t keys = 0;
    char kb[16];
    for (int i = 0; i < NK; i++) {
        dbentry *raw = db_find_raw(d, kname(i, kb));
        if (raw && db_entry_live(raw, now)) keys++;
    }
    if (keys != visible) return -1;
    begin_command();
    dbentry *e = db_random(d, now);
    sync_touched(d);
    if (e && !m_visible(key_index(e->key, e->klen), now)) return -1;
    /* RANDOMKEY may reap what it picks: compare with the model as it is now. */
    visible = 0;
    for (int i = 0; i < NK; i++)
        visible += (size_t)m_visible(i, now);
    if ((e != NULL) != (visible > 0)) return -1;
    return 0;
}

static void run_random(uint64_t seed, int steps, int names) {
    names_wanted = names;
    memset(touched, 0, sizeof(touched));
    rand_seed(seed);
    dict_set_seed(seed);
    db_init_all(1);
    db_set_expire_mode(DB_EXPIRE_REAP);
    db *d = db_get(0);
    memset(m, 0, sizeof(m));
    now = 1000000;
    hook_errors = 0;
    max_reaped_per_command = 0;
    lim.max_listpack_entries = 8 + rand_below(120);
    for (int step = 0; step < steps; step++) {
        int i = (int)rand_below(NK);
        unsigned op = (unsigned)rand_below(100);
        if (op < 25)
            op_hset(d, i, (int)rand_below(NF), 1);
        else if (op < 33)
            op_hset(d, i, (int)rand_below(NF / 2), (int)rand_below(NF));
        else if (op < 40)
            op_hdel(d, i);
        else if (op < 48)
            op_hexpire(d, i);
        else if (op < 54)
            op_set(d, i);
        else if (op < 72)
            now += (int64_t)rand_below(300);
        else if (op < 74)
            now -= (int64_t)rand_below(200); /* DEBUG CLOCK-OFFSET can go back */
        else if (op < 84) {
            /* The cycle is not a command: what it reaps (named or found gone by
             * sync_touched) is not held to a command's budget. */
            begin_command();
            long long max_before = max_reaped_per_command;
            db_active_expire(now, 1 + (int64_t)rand_below(40));
            sync_touched(d);
            max_reaped_per_command = max_before;
            reaped_this_command = 0;
        }
        sync_touched(d);
        if (test_failed_now) break;
        if (check_key(d, (int)rand_below(NK)) < 0 || (step % 8 == 0 && check_counts(d) < 0)) {
            fprintf(stderr, "seed %llu, step %d\n", (unsigned long long)seed, step);
            TEST_FAIL("reads differ from the model");
        }
        if (hook_errors) {
            fprintf(stderr, "seed %llu, step %d\n", (unsigned long long)seed, step);
            TEST_FAIL("a hook reported a live field or key, or a write disagreed");
        }
    }
    if (max_reaped_per_command > DB_LAZY_REAP_MAX)
        TEST_FAIL("a command reaped %lld fields", max_reaped_per_command);
    /* Let the cycle finish: everything due is reaped, and what is left is all live. */
    now += 5000;
    for (int r = 0; r < 100000 && db_active_expire(now, 1000); r++) {
    }
    reaped_this_command = 0;
    sync_touched(d);
    for (int i = 0; i < NK; i++)
        if (m[i].present && !m_visible(i, now)) TEST_FAIL("k%d still stored after the cycle", i);
    ASSERT_EQ(0, hook_errors);
    ASSERT_EQ(0, db_pending_frees());
    db_free_all();
}

TEST(random_ops_with_backlog) {
    /* 3 seeds x 2 hook modes x 600 steps (3 x 800 took ~4 s in a Release build on a loaded
     * machine; the whole must stay within the unit limit
     * under ASan, where 6 x 1,500 took over 120 s). */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (int names = 1; names >= 0; names--) {
            run_random(seed * 7919, 600, names);
            if (test_failed_now) {
                fprintf(stderr, "(fields %s)\n", names ? "named" : "not named");
                return;
            }
        }
    }
}

/* One hash of 5,000 fields due at once: a lookup reaps at most DB_LAZY_REAP_MAX of them,
 * reads see none, and the hash, dead, is deleted as a whole by the next lookup. */
TEST(mass_due_hash_is_bounded) {
    names_wanted = 1;
    db_init_all(1);
    db_set_expire_mode(DB_EXPIRE_REAP);
    db *d = db_get(0);
    memset(m, 0, sizeof(m));
    hook_errors = 0;
    now = 1000000;
    begin_command();
    dbentry *e = hash_for_write(d, 0);
    char fb[16];
    for (int j = 0; j < 2500; j++) {
        ent_hash_set(d, &e, &lim, now, fname(j, fb), slice_of("v"), HASH_TTL_SET, now + 100);
        m[0].f[j] = (mfield){1, now + 100, 0};
    }
    ent_hash_set(d, &e, &lim, now, slice_of("f2500"), slice_of("v"), HASH_TTL_CLEAR, 0);
    m[0].f[2500] = (mfield){1, 0, 0};
    finish_hash(d, e, 0);
    ASSERT_EQ(1, db_size_visible(d, now));
    now += 200;
    begin_command();
    e = db_lookup(d, slice_of("k0"), now, 0);
    ASSERT(e != NULL);
    ASSERT_EQ(DB_LAZY_REAP_MAX, reaped_this_command);
    ASSERT_EQ(2501 - DB_LAZY_REAP_MAX, hash_stored((hash *)e->val));
    ASSERT_EQ(1, hash_len((hash *)e->val, now));
    ASSERT_EQ(1, db_size_visible(d, now));
    /* The last live field goes: the hash is dead with 1,500 fields still stored. */
    begin_command();
    ASSERT_EQ(1, ent_hash_del(d, &e, now, slice_of("f2500")));
    m[0].f[2500].present = 0;
    finish_hash(d, e, 0);
    ASSERT_EQ(0, db_size_visible(d, now));
    ASSERT_EQ(1, db_size(d));
    begin_command();
    ASSERT(db_lookup(d, slice_of("k0"), now, 0) == NULL); /* deleted whole: hash_expired */
    ASSERT_EQ(0, db_size(d));
    ASSERT_EQ(0, m[0].present);
    ASSERT_EQ(0, hook_errors);
    /* Its 1,500 entries are freed by the cycle, not by the lookup. */
    ASSERT_EQ(1, db_pending_frees());
    db_active_expire(now, 100000);
    ASSERT_EQ(0, db_pending_frees());
    db_free_all();
}

int main(void) {
    db_hooks_add(&model_hooks);
    RUN(mass_due_hash_is_bounded);
    RUN(random_ops_with_backlog);
    return test_report();
}
