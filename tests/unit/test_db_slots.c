/* Unit tests for db/'s key slots (db_set_key_slots): the per-slot counts and lists stay
 * equal to the stored keys through adds, deletes, overwrites, expiry (lazy and active),
 * renames (db_take_value), eviction, FLUSHDB (plain and detached) and SWAPDB, under random
 * operations checked against the table itself. */
#include "mayfly/db/db.h"
#include "mayfly/types/string.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/rand.h"
#include "unit/test.h"

#include <stdio.h>

#define NSLOTS 16
#define NKEYS 2000

/* A trivial partition: the key's number mod NSLOTS (keys are "k<number>"). */
static int slot_of_key(const char *key, size_t len) {
    long n = 0;
    for (size_t i = 1; i < len; i++)
        n = n * 10 + (key[i] - '0');
    return (int)(n % NSLOTS);
}

static slice key_of(int i, char *out) {
    int n = snprintf(out, 32, "k%d", i);
    return (slice){out, (size_t)n};
}

typedef struct tally {
    size_t per_slot[NSLOTS];
    size_t total;
} tally;

static void count_node(dbentry *e, void *ctx) {
    tally *t = ctx;
    t->per_slot[slot_of_key(e->key, e->klen)]++;
    t->total++;
}

/* Every slot's count equals the keys of that slot in the table, and its list holds exactly
 * them (each of that slot, no repeats: the list length equals the count and every listed
 * key is found in the table). Returns 0 or the first failing slot + 1. */
static int check_slots(db *d) {
    tally t = {{0}, 0};
    uint64_t cursor = 0;
    do
        cursor = db_scan(d, cursor, count_node, &t);
    while (cursor != 0);
    for (int s = 0; s < NSLOTS; s++) {
        if (db_slot_size(d, s) != t.per_slot[s]) return s + 1;
        size_t n = 0;
        for (dbentry *e = db_slot_first(d, s); e; e = db_slot_next(e)) {
            if (slot_of_key(e->key, e->klen) != s || db_find_raw(d, dbentry_key(e)) != e)
                return s + 1;
            if (++n > t.per_slot[s]) return s + 1;
        }
        if (n != t.per_slot[s]) return s + 1;
    }
    return 0;
}

TEST(refused_with_keys) {
    db_init_all(1);
    char kb[32];
    db_add(db_get(0), key_of(1, kb), &string_from_ll(1)->hdr);
    ASSERT_EQ(-1, db_set_key_slots(NSLOTS, slot_of_key));
    ASSERT_EQ(0, db_key_slots_enabled());
    db_free_all();
}

/* One random operation on d at now. */
static void random_op(db *d, db *other, int64_t *now) {
    char kb[32];
    int i = (int)rand_below(NKEYS);
    slice k = key_of(i, kb);
    unsigned op = (unsigned)rand_below(1000);
    if (op < 400) {
        db_set(d, k, &string_from_ll(i)->hdr, rand_below(2) == 0);
    } else if (op < 600) {
        db_delete(d, k, *now);
    } else if (op < 750) {
        dbentry *e = db_find(d, k, *now);
        if (e) e = db_set_expire(d, e, *now + 1 + (int64_t)rand_below(50));
    } else if (op < 850) { /* RENAME k -> j */
        dbentry *e = db_find(d, k, *now);
        char jb[32];
        slice j = key_of((int)rand_below(NKEYS), jb);
        if (e && !slice_eq(j, k)) {
            obj *v = db_take_value(d, e);
            db_delete(d, j, *now);
            db_add(d, j, v);
        }
    } else if (op < 900) {
        *now += (int64_t)rand_below(20);
        db_active_expire(*now, 1000000);
    } else if (op < 950) {
        dbentry *e = db_find(d, k, *now);
        if (e) db_evict(d, e);
    } else if (op < 953) {
        db_swap(d, other);
    } else if (op < 955) {
        db_flush(d);
    } else if (op < 957) {
        db_detached_free(db_flush_detached(d));
    } else {
        db_find(d, k, *now); /* lazy expiry */
    }
}

TEST(random_ops_keep_slots_exact) {
    uint64_t seed = 0x5107;
    rand_seed(seed);
    dict_set_seed(seed);
    db_init_all(2);
    ASSERT_EQ(0, db_set_key_slots(NSLOTS, slot_of_key));
    ASSERT_EQ(1, db_key_slots_enabled());
    int64_t now = 1000000;
    for (int step = 0; step < 60000; step++) {
        random_op(db_get((int)rand_below(2)), db_get(0), &now);
        if (step % 1000 != 999) continue;
        for (int id = 0; id < 2; id++) {
            int bad = check_slots(db_get(id));
            if (bad)
                TEST_FAIL("step %d db %d slot %d: list or count differs from the table", step, id,
                          bad - 1);
        }
    }
    /* A full database: every slot listed. */
    db *d = db_get(0);
    db_flush(d);
    char kb[32];
    for (int i = 0; i < NKEYS; i++)
        db_add(d, key_of(i, kb), &string_from_ll(i)->hdr);
    ASSERT_EQ(0, check_slots(d));
    ASSERT_EQ(NKEYS / NSLOTS, db_slot_size(d, 3));
    ASSERT_EQ(0, db_slot_size(d, NSLOTS));
    ASSERT(db_slot_first(d, -1) == NULL);
    db_free_all();
    ASSERT_EQ(0, db_set_key_slots(0, NULL));
}

int main(void) {
    RUN(refused_with_keys);
    RUN(random_ops_keep_slots_exact);
    return test_report();
}
