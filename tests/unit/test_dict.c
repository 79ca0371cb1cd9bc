/* Unit tests for util/dict: basic operations, a seeded differential test against a
 * direct-address reference model, the SCAN guarantee across grow and shrink, iterators,
 * dict_random and dict_rehash_for. Set DICT_TEST_SEED to replay a seed. */
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/prezero.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"
#include "unit/test_rng.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- test entries: the key is "k<id>" ---- */

typedef struct ent {
    dict_node node; /* first, as dict requires */
    uint32_t id;
    uint8_t len;
    char key[15];
} ent;

static void ent_key_of(const dict_node *n, const char **key, size_t *len) {
    const ent *e = (const ent *)n;
    *key = e->key;
    *len = e->len;
}

static const dict_type ent_type = {.key_of = ent_key_of};

static void make_key(uint32_t id, char *buf, uint8_t *len) {
    *len = (uint8_t)snprintf(buf, 15, "k%" PRIu32, id);
}

static ent *ent_new(uint32_t id) {
    ent *e = mem_alloc(sizeof(*e));
    e->id = id;
    make_key(id, e->key, &e->len);
    return e;
}

static ent *find_id(dict *d, uint32_t id) {
    char k[15];
    uint8_t len;
    make_key(id, k, &len);
    return (ent *)dict_find(d, k, len);
}

static ent *remove_id(dict *d, uint32_t id) {
    char k[15];
    uint8_t len;
    make_key(id, k, &len);
    return (ent *)dict_remove(d, k, len);
}

static void free_ent(dict_node *n, void *ctx) {
    (*(size_t *)ctx)++;
    mem_free(n);
}

static int is_rehashing(const dict *d) {
    return d->rehash_idx != -1;
}
static size_t buckets(const dict *d, int t) {
    return d->table[t] ? (size_t)1 << d->size_exp[t] : 0;
}

/* Walks the tables and checks the structural invariants; returns a message or NULL. */
static const char *check_structure(dict *d) {
    size_t count[2] = {0, 0};
    for (int t = 0; t < 2; t++) {
        size_t size = buckets(d, t);
        if (size && size < 4) return "table smaller than 4";
        for (size_t i = 0; i < size; i++) {
            for (dict_node *n = d->table[t][i]; n; n = n->next) {
                const ent *e = (const ent *)n;
                if ((dict_hash(e->key, e->len) & (size - 1)) != i) return "node in wrong bucket";
                if (t == 0 && (int64_t)i < d->rehash_idx) return "moved bucket not empty";
                count[t]++;
            }
        }
    }
    if (count[0] != d->used[0] || count[1] != d->used[1]) return "used counts wrong";
    if (!is_rehashing(d) && d->table[1]) return "table[1] outside a rehash";
    if (is_rehashing(d) && !d->table[1]) return "rehash without table[1]";
    /* Above load 1 only while a large new table is being zeroed, and then by little. */
    if (!is_rehashing(d) && d->table[0] && d->used[0] > buckets(d, 0) &&
        (!d->next || d->used[0] > buckets(d, 0) + buckets(d, 0) / 8))
        return "load above 1";
    if (d->next &&
        (is_rehashing(d) || prezero_done_bytes(d->prep) > ((size_t)1 << d->next_exp) * 8))
        return "table prepared during a rehash";
    return NULL;
}

/* ---- tests ---- */

TEST(hash_is_seeded) {
    uint64_t a = dict_hash("hello", 5);
    ASSERT(a == dict_hash("hello", 5));
    ASSERT(a != dict_hash("hellp", 5));
    dict_set_seed(12345);
    ASSERT(a != dict_hash("hello", 5));
    dict_set_seed(0);
    ASSERT(a == dict_hash("hello", 5));
}

TEST(basic_add_find_remove) {
    dict d;
    dict_init(&d, &ent_type);
    ASSERT(find_id(&d, 1) == NULL);
    ASSERT(remove_id(&d, 1) == NULL);
    ASSERT_EQ(0, dict_scan(&d, 0, NULL, NULL));
    for (uint32_t i = 0; i < 1000; i++) {
        ent *e = ent_new(i);
        if (i % 2)
            dict_add(&d, &e->node);
        else
            dict_add_h(&d, &e->node, dict_hash(e->key, e->len));
        ASSERT_EQ(i + 1, dict_size(&d));
    }
    for (uint32_t i = 0; i < 1000; i++) {
        ent *e = find_id(&d, i);
        ASSERT(e && e->id == i);
        char k[15];
        uint8_t len;
        make_key(i, k, &len);
        ASSERT(dict_find_h(&d, k, len, dict_hash(k, len)) == &e->node);
    }
    ASSERT(find_id(&d, 1000) == NULL);
    for (uint32_t i = 0; i < 1000; i += 2) {
        ent *e = remove_id(&d, i);
        ASSERT(e && e->id == i);
        mem_free(e);
        ASSERT(remove_id(&d, i) == NULL);
    }
    ASSERT_EQ(500, dict_size(&d));
    /* dict_unlink of specific nodes. */
    for (uint32_t i = 1; i < 1000; i += 4) {
        ent *e = find_id(&d, i);
        dict_unlink(&d, &e->node);
        mem_free(e);
        ASSERT(find_id(&d, i) == NULL);
    }
    ASSERT_EQ(250, dict_size(&d));
    ASSERT(check_structure(&d) == NULL);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(250, freed);
    ASSERT_EQ(0, dict_size(&d));
    ASSERT(find_id(&d, 3) == NULL);
    dict_deinit(&d);
}

TEST(shrinks_to_minimum) {
    dict d;
    dict_init(&d, &ent_type);
    for (uint32_t i = 0; i < 5000; i++)
        dict_add(&d, &ent_new(i)->node);
    ASSERT_EQ(0, dict_rehash_for(&d, 1000 * 1000));
    ASSERT_EQ(8192, buckets(&d, 0));
    for (uint32_t i = 0; i < 5000; i++)
        mem_free(remove_id(&d, i));
    while (dict_rehash_step(&d, 100)) {
    }
    dict_maybe_shrink(&d);
    ASSERT_EQ(0, dict_size(&d));
    ASSERT_EQ(4, buckets(&d, 0));
    ASSERT(!is_rehashing(&d));
    dict_deinit(&d);
}

TEST(replace_node) {
    dict d;
    dict_init(&d, &ent_type);
    for (uint32_t i = 0; i < 100; i++)
        dict_add(&d, &ent_new(i)->node);
    for (uint32_t i = 0; i < 100; i += 3) {
        ent *old = find_id(&d, i);
        /* Realloc to a bigger size moves the block and frees old under ASan. */
        ent *moved = mem_realloc(old, 4096);
        dict_replace_node(&d, (dict_node *)old, &moved->node);
        ASSERT(find_id(&d, i) == moved);
    }
    ASSERT_EQ(100, dict_size(&d));
    ASSERT(check_structure(&d) == NULL);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(100, freed);
    dict_deinit(&d);
}

/* Differential test: 100k+ random add/remove/find against an array indexed by id,
 * growing to about 200k entries and shrinking back, with full checks during rehashes. */
#define DIFF_IDS 300000

static const char *diff_full_check(dict *d, ent **model, size_t model_size) {
    const char *err = check_structure(d);
    if (err) return err;
    if (dict_size(d) != model_size) return "size differs from model";
    for (uint32_t id = 0; id < DIFF_IDS; id++)
        if (find_id(d, id) != model[id]) return "find differs from model";
    return NULL;
}

TEST(differential) {
    uint64_t seed = test_seed("DICT_TEST_SEED");
    rng_state = seed;
    ent **model = calloc(DIFF_IDS, sizeof(*model));
    uint32_t *live = calloc(DIFF_IDS, sizeof(*live)); /* ids present, to pick removals */
    uint32_t *pos = calloc(DIFF_IDS, sizeof(*pos));   /* index of each present id in live */
    size_t model_size = 0, checks_rehashing[2] = {0, 0};
    dict d;
    dict_init(&d, &ent_type);
    /* Phase 0 grows (85% adds, 5% removes) to 200k entries, phase 1 shrinks (85% removes,
     * 5% adds) to 1000; the other 10% are finds. */
    int phase = 0;
    size_t max_size = 0, max_buckets = 0;
    for (long op = 0; phase < 2; op++) {
        unsigned r = (unsigned)(rng() % 100);
        int add = phase == 0 ? r < 85 : r < 5;
        int find = r >= 90;
        uint32_t id = (uint32_t)(rng() % DIFF_IDS);
        if (find) {
            ent *found = find_id(&d, id);
            if (found != model[id]) TEST_FAIL("seed %" PRIu64 ": find %u wrong", seed, id);
        } else if (add && !model[id]) {
            model[id] = ent_new(id);
            dict_add(&d, &model[id]->node);
            pos[id] = (uint32_t)model_size;
            live[model_size++] = id;
        } else if (!add && model_size > 0) {
            id = live[rng() % model_size];
            ent *e = remove_id(&d, id);
            if (e != model[id]) TEST_FAIL("seed %" PRIu64 ": remove %u wrong", seed, id);
            mem_free(e);
            model[id] = NULL;
            uint32_t last = live[--model_size];
            live[pos[id]] = last;
            pos[last] = pos[id];
        }
        if (dict_size(&d) != model_size) TEST_FAIL("seed %" PRIu64 ": size differs", seed);
        if (model_size > max_size) max_size = model_size;
        if (buckets(&d, 0) > max_buckets) max_buckets = buckets(&d, 0);
        /* Full checks: a few mid-rehash in each phase, and at every phase change. */
        int mid_rehash = is_rehashing(&d) && d.rehash_idx > 0 && rng() % 1000 == 0 &&
                         checks_rehashing[phase] < 4;
        int end_of_phase = phase == 0 ? model_size >= 200000 : model_size <= 1000;
        if (mid_rehash || end_of_phase) {
            const char *err = diff_full_check(&d, model, model_size);
            if (err) TEST_FAIL("seed %" PRIu64 ": op %ld: %s", seed, op, err);
            checks_rehashing[phase] += (size_t)mid_rehash;
        }
        if (end_of_phase) phase++;
    }
    /* Let the rehash finish, then check the table has shrunk back. */
    while (dict_rehash_step(&d, 1000)) {
    }
    dict_maybe_shrink(&d);
    while (dict_rehash_step(&d, 1000)) {
    }
    const char *err = diff_full_check(&d, model, model_size);
    if (err) TEST_FAIL("seed %" PRIu64 ": after rehash: %s", seed, err);
    ASSERT(max_size >= 200000);
    ASSERT(max_buckets >= 262144);
    ASSERT(buckets(&d, 0) <= 4096);
    ASSERT(checks_rehashing[0] >= 1 && checks_rehashing[1] >= 1);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(model_size, freed);
    dict_deinit(&d);
    free(model);
    free(live);
    free(pos);
}

/* ---- SCAN ---- */

typedef struct scan_seen {
    unsigned char *seen; /* times each id was emitted (saturating) */
    size_t calls;
} scan_seen;

static void mark_seen(dict_node *n, void *ctx) {
    scan_seen *s = ctx;
    ent *e = (ent *)n;
    if (s->seen[e->id] < 255) s->seen[e->id]++;
    s->calls++;
}

TEST(scan_stable_table_exactly_once) {
    dict d;
    dict_init(&d, &ent_type);
    for (uint32_t i = 0; i < 3000; i++)
        dict_add(&d, &ent_new(i)->node);
    while (dict_rehash_step(&d, 100)) {
    }
    scan_seen s = {calloc(3000, 1), 0};
    uint64_t cursor = 0;
    size_t steps = 0;
    do {
        cursor = dict_scan(&d, cursor, mark_seen, &s);
        steps++;
    } while (cursor != 0);
    ASSERT_EQ(buckets(&d, 0), steps);
    for (uint32_t i = 0; i < 3000; i++)
        ASSERT_EQ(1, s.seen[i]);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    dict_deinit(&d);
    free(s.seen);
}

/* One scan while other keys come and go between calls. Ids below n_stable stay for the
 * whole scan and must all be seen. The volatile keys (ids from n_stable) first grow the
 * dict to about peak entries, then are removed again, so the scan spans a grow and a
 * shrink with rehashes in progress at many calls. Returns a message or NULL. */
static const char *scan_under_churn(uint32_t n_stable, uint32_t peak, uint32_t per_call,
                                    int *saw_grow, int *saw_shrink, int *saw_rehash) {
    dict d;
    dict_init(&d, &ent_type);
    const char *err = NULL;
    uint32_t max_id = n_stable + peak + 1;
    scan_seen s = {calloc(max_id, 1), 0};
    for (uint32_t i = 0; i < n_stable; i++)
        dict_add(&d, &ent_new(i)->node);
    uint32_t next_vol = n_stable, oldest_vol = n_stable;
    int growing = 1;
    size_t start_buckets = buckets(&d, 0), max_buckets = start_buckets;
    uint64_t cursor = 0;
    do {
        if (is_rehashing(&d)) *saw_rehash = 1;
        cursor = dict_scan(&d, cursor, mark_seen, &s);
        /* Churn: random-ish numbers of adds or removes, then maybe some rehash steps. */
        uint32_t k = (uint32_t)(rng() % (2 * per_call + 1));
        for (uint32_t j = 0; j < k; j++) {
            if (growing && next_vol < n_stable + peak) {
                dict_add(&d, &ent_new(next_vol++)->node);
            } else if (oldest_vol < next_vol) {
                growing = 0;
                ent *e = remove_id(&d, oldest_vol++);
                mem_free(e);
            }
        }
        if (rng() % 4 == 0) dict_rehash_step(&d, (int)(rng() % 4));
        if (buckets(&d, 0) > max_buckets) max_buckets = buckets(&d, 0);
        if (!growing && buckets(&d, 0) < max_buckets) *saw_shrink = 1;
    } while (cursor != 0);
    if (max_buckets > start_buckets) *saw_grow = 1;
    for (uint32_t i = 0; i < n_stable && !err; i++)
        if (s.seen[i] == 0) err = "stable entry missed by scan";
    if (!err) err = check_structure(&d);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    dict_deinit(&d);
    free(s.seen);
    return err;
}

TEST(scan_guarantee_across_grow_and_shrink) {
    char err[160];
    if (!churn_rounds("DICT_TEST_SEED", scan_under_churn, 20, 200, err, sizeof(err)))
        TEST_FAIL("%s", err);
}

/* ---- iterators ---- */

TEST(iterator_visits_all_once_during_rehash) {
    dict d;
    dict_init(&d, &ent_type);
    /* 1024 entries fill 1024 buckets; the 1025th add starts a rehash. */
    for (uint32_t i = 0; i < 1025; i++)
        dict_add(&d, &ent_new(i)->node);
    ASSERT(is_rehashing(&d));
    dict_rehash_step(&d, 10);
    ASSERT(is_rehashing(&d));
    unsigned char seen[1025] = {0};
    dict_iter it;
    dict_iter_init(&it, &d);
    dict_node *n;
    int64_t idx_before = d.rehash_idx;
    while ((n = dict_iter_next(&it))) {
        seen[((ent *)n)->id]++;
        ASSERT(find_id(&d, ((ent *)n)->id) == (ent *)n); /* finds do not move buckets */
    }
    ASSERT(dict_iter_next(&it) == NULL);
    ASSERT_EQ(idx_before, d.rehash_idx);
    dict_iter_deinit(&it);
    for (int i = 0; i < 1025; i++)
        ASSERT_EQ(1, seen[i]);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    dict_deinit(&d);
}

TEST(iterator_delete_current) {
    dict d;
    dict_init(&d, &ent_type);
    for (uint32_t i = 0; i < 4000; i++)
        dict_add(&d, &ent_new(i)->node);
    dict_iter it;
    dict_iter_init(&it, &d);
    dict_node *n;
    size_t visited = 0;
    while ((n = dict_iter_next(&it))) {
        visited++;
        if (((ent *)n)->id % 2 == 0) mem_free(dict_iter_delete(&it));
    }
    dict_iter_deinit(&it);
    ASSERT_EQ(4000, visited);
    ASSERT_EQ(2000, dict_size(&d));
    for (uint32_t i = 0; i < 4000; i++)
        ASSERT((find_id(&d, i) != NULL) == (i % 2 == 1));
    ASSERT(check_structure(&d) == NULL);

    /* Deleting everything, then the table shrinks once the iterator is done. */
    size_t before = buckets(&d, 0);
    dict_iter_init(&it, &d);
    visited = 0;
    while ((n = dict_iter_next(&it))) {
        visited++;
        mem_free(dict_iter_delete(&it));
    }
    dict_iter_deinit(&it);
    ASSERT_EQ(2000, visited);
    ASSERT_EQ(0, dict_size(&d));
    ASSERT(buckets(&d, 0) < before);
    ASSERT(check_structure(&d) == NULL);
    dict_deinit(&d);
}

TEST(iterator_empty_dict) {
    dict d;
    dict_init(&d, &ent_type);
    dict_iter it;
    dict_iter_init(&it, &d);
    ASSERT(dict_iter_next(&it) == NULL);
    dict_iter_deinit(&it);
    ASSERT_EQ(0, d.pause_rehash);
    dict_deinit(&d);
}

/* ---- random ---- */

TEST(random_returns_members) {
    rng_state = 42;
    dict d;
    dict_init(&d, &ent_type);
    ASSERT(dict_random(&d, rng) == NULL);
    for (uint32_t i = 0; i < 20; i++)
        dict_add(&d, &ent_new(i)->node);
    unsigned hits[20] = {0};
    for (int k = 0; k < 4000; k++) {
        ent *e = (ent *)dict_random(&d, rng);
        ASSERT(e && find_id(&d, e->id) == e);
        hits[e->id]++;
    }
    for (int i = 0; i < 20; i++)
        ASSERT(hits[i] > 0);
    /* During a rehash (grow), every draw is still a member. */
    for (uint32_t i = 20; i < 33; i++)
        dict_add(&d, &ent_new(i)->node);
    d.pause_rehash++; /* hold the rehash open */
    ASSERT(is_rehashing(&d));
    for (int k = 0; k < 2000; k++) {
        ent *e = (ent *)dict_random(&d, rng);
        ASSERT(e && e->id < 33);
    }
    d.pause_rehash--;
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    dict_deinit(&d);
}

/* Pearson's chi-square of draws over n equally likely outcomes. */
static double chi_square(const unsigned *hits, int n, int draws) {
    double expect = (double)draws / n, chi = 0;
    for (int i = 0; i < n; i++)
        chi += (hits[i] - expect) * (hits[i] - expect) / expect;
    return chi;
}

/* Issue 21: a random bucket then a random entry of its chain favoured entries alone in
 * their bucket (10 entries in 16 buckets gave chi-square in the hundreds). df = 9: 40 is
 * a 1-in-100,000 event for a fair draw; also during a rehash. */
TEST(random_is_uniform) {
    rng_state = 7;
    dict d;
    dict_init(&d, &ent_type);
    for (uint32_t i = 0; i < 10; i++)
        dict_add(&d, &ent_new(i)->node);
    unsigned hits[17] = {0};
    for (int k = 0; k < 20000; k++)
        hits[((ent *)dict_random(&d, rng))->id]++;
    double chi = chi_square(hits, 10, 20000);
    if (chi >= 40) fprintf(stderr, "chi-square %.1f\n", chi);
    ASSERT(chi < 40);
    for (uint32_t i = 10; i < 17; i++)
        dict_add(&d, &ent_new(i)->node);
    d.pause_rehash++;
    ASSERT(is_rehashing(&d));
    memset(hits, 0, sizeof(hits));
    for (int k = 0; k < 34000; k++)
        hits[((ent *)dict_random(&d, rng))->id]++;
    d.pause_rehash--;
    chi = chi_square(hits, 17, 34000);
    if (chi >= 50) fprintf(stderr, "chi-square during rehash %.1f\n", chi);
    ASSERT(chi < 50); /* df = 16 */
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
}

/* ---- rehash_for ---- */

TEST(rehash_for_completes) {
    dict d;
    dict_init(&d, &ent_type);
    for (uint32_t i = 0; i < 65537; i++)
        dict_add(&d, &ent_new(i)->node);
    /* 1 MB of buckets: prepared (zeroed in steps) before the rehash can start. */
    ASSERT(!is_rehashing(&d) && d.next != NULL);
    ASSERT_EQ(17, d.next_exp);
    d.pause_rehash++;
    ASSERT_EQ(1, dict_rehash_for(&d, 10 * 1000 * 1000)); /* zeroed, but not installed */
    ASSERT(!is_rehashing(&d) && d.next != NULL);
    d.pause_rehash--;
    /* The next step (every 32nd add) installs it. */
    uint32_t id = 65537;
    while (!is_rehashing(&d) && id < 65537 + 32)
        dict_add(&d, &ent_new(id++)->node);
    ASSERT(is_rehashing(&d) && d.next == NULL);
    ASSERT_EQ(131072, buckets(&d, 1));
    d.pause_rehash++;
    ASSERT_EQ(1, dict_rehash_for(&d, 1000));
    ASSERT_EQ(1, dict_rehash_step(&d, 1000));
    d.pause_rehash--;
    ASSERT_EQ(0, dict_rehash_for(&d, 10 * 1000 * 1000));
    ASSERT(!is_rehashing(&d));
    ASSERT_EQ(131072, buckets(&d, 0));
    ASSERT_EQ(0, dict_rehash_for(&d, 1000));
    ASSERT(check_structure(&d) == NULL);
    for (uint32_t i = 0; i < id; i++)
        ASSERT(find_id(&d, i) != NULL);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(id, freed);
    dict_deinit(&d);
}

/* dict_sample: entries of the dict, never more than asked, none twice in one call. */
TEST(sample_returns_distinct_members) {
    dict d;
    dict_init(&d, &ent_type);
    dict_node *out[16];
    ASSERT_EQ(0, (long long)dict_sample(&d, out, 16, rand_u64));
    for (uint32_t i = 0; i < 1000; i++)
        dict_add(&d, &ent_new(i)->node);
    for (int round = 0; round < 200; round++) {
        size_t n = dict_sample(&d, out, 16, rand_u64);
        ASSERT(n >= 1 && n <= 16);
        for (size_t i = 0; i < n; i++) {
            ent *e = (ent *)out[i];
            ASSERT(find_id(&d, e->id) == e);
            for (size_t j = 0; j < i; j++)
                ASSERT(out[j] != out[i]);
        }
    }
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(1000, (long long)freed);
}

static int grow_ok = 1;
static size_t grow_asked_bytes;
static double grow_asked_load;
static int ask_grow(size_t more, double load) {
    grow_asked_bytes = more;
    grow_asked_load = load;
    return grow_ok || load > 1.618;
}
static const dict_type guarded_type = {.key_of = ent_key_of, .grow_allowed = ask_grow};

/* A type may put growth off; the table then fills past load 1 until it allows it. */
TEST(grow_check_puts_growth_off) {
    dict d;
    dict_init(&d, &guarded_type);
    for (uint32_t i = 0; i < 64; i++)
        dict_add(&d, &ent_new(i)->node);
    dict_rehash_for(&d, 100000);
    size_t size = (size_t)1 << d.size_exp[0];
    grow_ok = 0;
    uint32_t id = 64;
    while (d.used[0] < size)
        dict_add(&d, &ent_new(id++)->node);
    dict_add(&d, &ent_new(id++)->node); /* at load 1: asked, refused */
    ASSERT_EQ(0, is_rehashing(&d));
    ASSERT_EQ((long long)(2 * size * sizeof(dict_node *)), (long long)grow_asked_bytes);
    while ((double)d.used[0] / (double)size <= 1.618)
        dict_add(&d, &ent_new(id++)->node);
    ASSERT_EQ(0, is_rehashing(&d));
    dict_add(&d, &ent_new(id++)->node); /* past 1.618: the type lets it grow */
    ASSERT(grow_asked_load > 1.618);
    ASSERT(is_rehashing(&d) || ((size_t)1 << d.size_exp[0]) > size);
    for (uint32_t i = 0; i < id; i++)
        ASSERT(find_id(&d, i) != NULL);
    grow_ok = 1;
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ((long long)id, (long long)freed);
}

/* A table past 256 KB grows through a prepared array: finds, removes and iteration stay
 * exact while it is zeroed, the load stays near 1, and the rehash follows. */
TEST(grow_prepares_large_table) {
    dict d;
    dict_init(&d, &ent_type);
    rng_state = test_seed("DICT_TEST_SEED");
    int prepared = 0;
    uint32_t n = 70000;
    for (uint32_t i = 0; i < n; i++) {
        dict_add(&d, &ent_new(i)->node);
        if (d.next) prepared = 1;
        ASSERT(find_id(&d, (uint32_t)(rng() % (i + 1))) != NULL);
        if (i % 5000 == 0 || (d.next && i % 256 == 0)) {
            const char *why = check_structure(&d);
            if (why) fprintf(stderr, "grow_prepares_large_table at %u: %s\n", i, why);
            ASSERT(why == NULL);
        }
    }
    ASSERT(prepared);
    size_t seen = 0;
    dict_iter it;
    dict_iter_init(&it, &d);
    while (dict_iter_next(&it))
        seen++;
    dict_iter_deinit(&it);
    ASSERT_EQ(n, seen);
    for (uint32_t i = 0; i < n; i += 2)
        mem_free(remove_id(&d, i));
    for (uint32_t i = 0; i < n; i++)
        ASSERT((find_id(&d, i) != NULL) == (i % 2 == 1));
    ASSERT(check_structure(&d) == NULL);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(n / 2, freed);
}

/* The zeroing of a growth's array is spread thin: a page per 32 adds at most (each page of
 * a fresh array is a page fault of 10-20 us on the VMs measured; at a page per 8 adds a
 * loop turn of ~300 SETs spent ~0.5 ms in them), the old table taking the adds meanwhile
 * within load 1.125. */
TEST(grow_zeroes_a_page_per_32_adds) {
    dict d;
    dict_init(&d, &ent_type);
    uint32_t i = 0, start = 0;
    int prepared = 0;
    while (i < 140000) {
        dict_add(&d, &ent_new(i++)->node);
        if (!d.next) continue;
        if (!prepared) start = i - 1;
        prepared = 1;
        size_t adds = i - start;
        if (prezero_done_bytes(d.prep) > (adds / 32 + 1) * 4096)
            TEST_FAIL("%zu bytes zeroed after %zu adds", prezero_done_bytes(d.prep), adds);
        ASSERT(d.used[0] <= buckets(&d, 0) + buckets(&d, 0) / 8);
    }
    ASSERT(prepared);
    ASSERT(check_structure(&d) == NULL);
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(i, freed);
}

/* A shrink to an array past 256 KB prepares it too (a calloc of recycled pages zeroes it
 * in one call): removals alone zero it a page at a time, finds stay exact meanwhile, and
 * the rehash into it then completes. */
TEST(shrink_prepares_large_table) {
    dict d;
    dict_init(&d, &ent_type);
    uint32_t n = 300000;
    for (uint32_t i = 0; i < n; i++)
        dict_add(&d, &ent_new(i)->node);
    while (dict_rehash_step(&d, 1000)) {
    }
    uint64_t big_exp = d.size_exp[0];
    int prepared = 0;
    uint32_t i = 0;
    for (; i < n && d.size_exp[0] == big_exp; i++) {
        mem_free(remove_id(&d, i));
        if (d.next) {
            prepared = 1;
            ASSERT(d.next_exp < big_exp);
            ASSERT(((size_t)1 << d.next_exp) * sizeof(dict_node *) >= 256 * 1024);
        }
        if (i % 4096 == 0 || (d.next && i % 512 == 0)) {
            const char *why = check_structure(&d);
            if (why) fprintf(stderr, "shrink_prepares_large_table at %u: %s\n", i, why);
            ASSERT(why == NULL);
            ASSERT(find_id(&d, i + 1 + (uint32_t)(rng() % (n - i - 1))) != NULL);
            ASSERT(find_id(&d, i) == NULL);
        }
    }
    ASSERT(prepared);
    ASSERT(d.size_exp[0] < big_exp); /* shrunk by removals alone */
    ASSERT(check_structure(&d) == NULL);
    for (uint32_t j = 0; j < n; j += 7)
        ASSERT((find_id(&d, j) != NULL) == (j >= i));
    size_t freed = 0;
    dict_clear(&d, free_ent, &freed);
    ASSERT_EQ(n - i, freed);
}

/* dict_peek_h (the prefetcher's find) answers as dict_find_h at every point of growing and
 * shrinking rehashes, without moving a bucket; dict_bucket holds the chain it searches
 * first. */
TEST(peek_agrees_with_find_during_rehash) {
    dict d;
    dict_init(&d, &ent_type);
    ASSERT(dict_bucket(&d, 1) == NULL);
    ASSERT(dict_peek_h(&d, "k1", 2, dict_hash("k1", 2)) == NULL);
    int rehashes = 0;
    for (int phase = 0; phase < 2; phase++) { /* growing, then shrinking */
        for (uint32_t i = 0; i < 6000; i++) {
            if (phase == 0)
                dict_add(&d, &ent_new(i)->node);
            else
                mem_free(remove_id(&d, i));
            rehashes += dict_is_rehashing(&d);
            for (uint32_t j = i > 20 ? i - 20 : 0; j <= i + 20; j++) {
                char k[15];
                uint8_t len;
                make_key(j, k, &len);
                uint64_t h = dict_hash(k, len);
                dict before = d;
                dict_node *peeked = dict_peek_h(&d, k, len, h);
                ASSERT(memcmp(&before, &d, sizeof(d)) == 0); /* nothing moved */
                ASSERT(dict_size(&d) == 0 || dict_bucket(&d, h) != NULL);
                ASSERT(peeked == dict_find_h(&d, k, len, h));
                ASSERT((peeked != NULL) == (phase == 0 ? j <= i : j > i && j < 6000));
            }
        }
    }
    ASSERT(rehashes > 0);
    dict_deinit(&d);
}

int main(void) {
    RUN(hash_is_seeded);
    RUN(basic_add_find_remove);
    RUN(shrinks_to_minimum);
    RUN(replace_node);
    RUN(differential);
    RUN(scan_stable_table_exactly_once);
    RUN(scan_guarantee_across_grow_and_shrink);
    RUN(iterator_visits_all_once_during_rehash);
    RUN(iterator_delete_current);
    RUN(iterator_empty_dict);
    RUN(random_returns_members);
    RUN(random_is_uniform);
    RUN(rehash_for_completes);
    RUN(sample_returns_distinct_members);
    RUN(grow_check_puts_growth_off);
    RUN(grow_prepares_large_table);
    RUN(grow_zeroes_a_page_per_32_adds);
    RUN(shrink_prepares_large_table);
    RUN(peek_agrees_with_find_during_rehash);
    return test_report();
}
