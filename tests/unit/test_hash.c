/* Unit tests of types/hash: both encodings, field TTLs, conversion, reaping, sampling,
 * a seeded differential test against a naive model, and the memory targets. */
#include "mayfly/types/hash.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"
#include "test.h"
#include "test_rng.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL /* a "now" in 2023, in Unix ms */

static const hash_limits lim_default = {512, 64};
static const hash_limits lim_ht = {0, 64}; /* every hash is a hashtable from its first set */

static slice S(const char *s) {
    return slice_of(s);
}

static int get_str(hash *h, int64_t now, const char *f, char *out, size_t cap) {
    hash_entry e;
    if (hash_get(h, now, S(f), &e) != HASH_OK) return 0;
    snprintf(out, cap, "%.*s", (int)e.value.len, e.value.p);
    return 1;
}

static int64_t deadline_of(hash *h, int64_t now, const char *f) {
    hash_entry e;
    return hash_get(h, now, S(f), &e) == HASH_OK ? e.deadline : -2;
}

TEST(basic_compact) {
    hash *h = hash_new();
    char buf[64];
    ASSERT_STR_EQ("listpack", hash_encoding_name(h));
    ASSERT_EQ(1, hash_set(&h, &lim_default, T0, S("a"), S("1"), HASH_TTL_CLEAR, 0));
    ASSERT_EQ(1, hash_set(&h, &lim_default, T0, S("b"), S("22"), HASH_TTL_CLEAR, 0));
    ASSERT_EQ(0, hash_set(&h, &lim_default, T0, S("a"), S("333"), HASH_TTL_CLEAR, 0));
    ASSERT_EQ(2, hash_len(h, T0));
    ASSERT(get_str(h, T0, "a", buf, sizeof(buf)));
    ASSERT_STR_EQ("333", buf);
    ASSERT_EQ(HASH_ENOTFOUND, hash_get(h, T0, S("zz"), NULL));
    ASSERT_EQ(HASH_OK, hash_get(h, T0, S("b"), NULL));
    ASSERT_EQ(1, hash_del(&h, T0, S("a")));
    ASSERT_EQ(0, hash_del(&h, T0, S("a")));
    ASSERT_EQ(1, hash_len(h, T0));
    ASSERT_EQ(ENC_LISTPACK, hash_encoding(h));
    /* Binary-safe: NUL bytes in field and value, and empty strings. */
    slice bf = {"x\0y", 3}, bv = {"\0\0", 2};
    ASSERT_EQ(1, hash_set(&h, &lim_default, T0, bf, bv, HASH_TTL_CLEAR, 0));
    ASSERT_EQ(1, hash_set(&h, &lim_default, T0, S(""), S(""), HASH_TTL_CLEAR, 0));
    hash_entry e;
    ASSERT_EQ(HASH_OK, hash_get(h, T0, bf, &e));
    ASSERT_MEM_EQ("\0\0", 2, e.value.p, e.value.len);
    ASSERT_EQ(HASH_OK, hash_get(h, T0, S(""), &e));
    ASSERT_EQ(0, e.value.len);
    ASSERT_EQ(HASH_ENOTFOUND, hash_get(h, T0, (slice){"x", 1}, NULL));
    hash_free(h);
    hash_free(NULL);
}

static void ttl_policies_on(const hash_limits *lim, const char *enc_plain, const char *enc_ttl) {
    hash *h = hash_new();
    hash_set(&h, lim, T0, S("f"), S("v"), HASH_TTL_CLEAR, 0);
    ASSERT_STR_EQ(enc_plain, hash_encoding_name(h));
    ASSERT_EQ(HASH_NO_TTL, hash_next_deadline(h));
    ASSERT_EQ(0, hash_set(&h, lim, T0, S("f"), S("v2"), HASH_TTL_SET, T0 + 1000));
    ASSERT_STR_EQ(enc_ttl, hash_encoding_name(h));
    ASSERT_EQ(T0 + 1000, deadline_of(h, T0, "f"));
    ASSERT_EQ(T0 + 1000, hash_next_deadline(h));
    /* KEEP (HINCRBY) keeps it, CLEAR (HSET) drops it. */
    ASSERT_EQ(0, hash_set(&h, lim, T0, S("f"), S("v3"), HASH_TTL_KEEP, 0));
    ASSERT_EQ(T0 + 1000, deadline_of(h, T0, "f"));
    ASSERT_EQ(0, hash_set(&h, lim, T0, S("f"), S("v4"), HASH_TTL_CLEAR, 0));
    ASSERT_EQ(HASH_NO_TTL, deadline_of(h, T0, "f"));
    ASSERT_EQ(HASH_NO_TTL, hash_next_deadline(h));
    ASSERT_STR_EQ(enc_plain, hash_encoding_name(h));
    ASSERT_EQ(0, hash_ttl_count(h));
    /* KEEP on a new field gives no TTL. */
    ASSERT_EQ(1, hash_set(&h, lim, T0, S("g"), S("1"), HASH_TTL_KEEP, 0));
    ASSERT_EQ(HASH_NO_TTL, deadline_of(h, T0, "g"));
    /* A due field is absent for writers: set reports "new" and KEEP does not revive it. */
    hash_set(&h, lim, T0, S("g"), S("1"), HASH_TTL_SET, T0 + 10);
    ASSERT_EQ(1, hash_set(&h, lim, T0 + 10, S("g"), S("2"), HASH_TTL_KEEP, 0));
    ASSERT_EQ(HASH_NO_TTL, deadline_of(h, T0 + 10, "g"));
    hash_free(h);
}

TEST(ttl_policies) {
    ttl_policies_on(&lim_default, "listpack", "listpackex");
    if (test_failed_now) return;
    ttl_policies_on(&lim_ht, "hashtable", "hashtable");
}

static void expire_rules_on(const hash_limits *lim) {
    hash *h = hash_new();
    hash_set(&h, lim, T0, S("a"), S("1"), HASH_TTL_CLEAR, 0);
    hash_set(&h, lim, T0, S("b"), S("2"), HASH_TTL_CLEAR, 0);
    ASSERT_EQ(HASH_EXPIRE_NOFIELD, hash_expire(&h, T0, S("zz"), T0 + 5, 0));
    /* No TTL yet: XX and GT fail, NX and LT succeed. */
    ASSERT_EQ(HASH_EXPIRE_NOTMET, hash_expire(&h, T0, S("a"), T0 + 100, HASH_COND_XX));
    ASSERT_EQ(HASH_EXPIRE_NOTMET, hash_expire(&h, T0, S("a"), T0 + 100, HASH_COND_GT));
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("a"), T0 + 100, HASH_COND_LT));
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("b"), T0 + 300, HASH_COND_NX));
    /* With a TTL: NX fails; GT/LT compare strictly. */
    ASSERT_EQ(HASH_EXPIRE_NOTMET, hash_expire(&h, T0, S("a"), T0 + 200, HASH_COND_NX));
    ASSERT_EQ(HASH_EXPIRE_NOTMET, hash_expire(&h, T0, S("a"), T0 + 100, HASH_COND_GT));
    ASSERT_EQ(HASH_EXPIRE_NOTMET, hash_expire(&h, T0, S("a"), T0 + 100, HASH_COND_LT));
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("a"), T0 + 200, HASH_COND_GT));
    ASSERT_EQ(T0 + 200, deadline_of(h, T0, "a"));
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("a"), T0 + 50, HASH_COND_LT));
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("a"), T0 + 60, HASH_COND_XX));
    ASSERT_EQ(T0 + 60, hash_next_deadline(h));
    /* The condition comes first, then a past deadline deletes the field. */
    ASSERT_EQ(HASH_EXPIRE_NOTMET, hash_expire(&h, T0, S("b"), T0 - 1, HASH_COND_GT));
    ASSERT_EQ(HASH_EXPIRE_DELETED, hash_expire(&h, T0, S("b"), T0, 0));
    ASSERT_EQ(HASH_ENOTFOUND, hash_get(h, T0, S("b"), NULL));
    ASSERT_EQ(1, hash_len(h, T0));
    /* Persist. */
    ASSERT_EQ(HASH_PERSIST_NOFIELD, hash_persist(&h, T0, S("b")));
    ASSERT_EQ(HASH_PERSIST_OK, hash_persist(&h, T0, S("a")));
    ASSERT_EQ(HASH_PERSIST_NOTTL, hash_persist(&h, T0, S("a")));
    ASSERT_EQ(HASH_NO_TTL, hash_next_deadline(h));
    /* A due field is gone for expire and persist too. */
    hash_expire(&h, T0, S("a"), T0 + 10, 0);
    ASSERT_EQ(HASH_EXPIRE_NOFIELD, hash_expire(&h, T0 + 10, S("a"), T0 + 99, 0));
    ASSERT_EQ(HASH_PERSIST_NOFIELD, hash_persist(&h, T0 + 10, S("a")));
    ASSERT_EQ(0, hash_len(h, T0 + 10));
    ASSERT_EQ(1, hash_stored(h));
    hash_free(h);
}

TEST(expire_rules) {
    expire_rules_on(&lim_default);
    if (test_failed_now) return;
    expire_rules_on(&lim_ht);
}

typedef struct reaped {
    char names[64][16];
    size_t n;
} reaped;

static void on_reap(const char *f, size_t flen, void *ctx) {
    reaped *r = ctx;
    if (r->n < 64) snprintf(r->names[r->n], 16, "%.*s", (int)flen, f);
    r->n++;
}

static void reap_order_on(const hash_limits *lim) {
    hash *h = hash_new();
    /* Deadlines deliberately out of insertion order. */
    const int64_t d[8] = {50, 10, 70, 30, 20, 80, 60, 40};
    char f[8];
    for (int i = 0; i < 8; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        hash_set(&h, lim, T0, S(f), S("v"), HASH_TTL_SET, T0 + d[i]);
    }
    hash_set(&h, lim, T0, S("keep"), S("v"), HASH_TTL_CLEAR, 0);
    ASSERT_EQ(T0 + 10, hash_next_deadline(h));
    ASSERT_EQ(9, hash_len(h, T0));
    ASSERT_EQ(5, hash_len(h, T0 + 45)); /* due ones are not counted, even unreaped */
    reaped r = {0};
    ASSERT_EQ(2, hash_reap(&h, T0 + 45, 2, on_reap, &r));
    ASSERT_STR_EQ("f1", r.names[0]);
    ASSERT_STR_EQ("f4", r.names[1]);
    ASSERT_EQ(T0 + 30, hash_next_deadline(h));
    ASSERT_EQ(2, hash_reap(&h, T0 + 45, 100, on_reap, &r));
    ASSERT_STR_EQ("f3", r.names[2]);
    ASSERT_STR_EQ("f7", r.names[3]);
    ASSERT_EQ(0, hash_reap(&h, T0 + 45, 100, on_reap, &r));
    ASSERT_EQ(T0 + 50, hash_next_deadline(h));
    ASSERT_EQ(4, hash_reap(&h, T0 + 1000, 100, NULL, NULL));
    ASSERT_EQ(HASH_NO_TTL, hash_next_deadline(h));
    ASSERT_EQ(1, hash_len(h, T0 + 1000));
    ASSERT_STR_EQ(lim->max_listpack_entries ? "listpack" : "hashtable", hash_encoding_name(h));
    hash_free(h);
}

TEST(reap_order) {
    reap_order_on(&lim_default);
    if (test_failed_now) return;
    reap_order_on(&lim_ht);
}

TEST(conversion_keeps_ttls) {
    hash_limits lim = {16, 8};
    hash *h = hash_new();
    char f[16];
    for (int i = 0; i < 16; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        if (i % 2)
            hash_set(&h, &lim, T0, S(f), S("v"), HASH_TTL_SET, T0 + 100 + i);
        else
            hash_set(&h, &lim, T0, S(f), S("v"), HASH_TTL_CLEAR, 0);
    }
    ASSERT_STR_EQ("listpackex", hash_encoding_name(h));
    hash_set(&h, &lim, T0, S("f16"), S("v"), HASH_TTL_CLEAR, 0);
    ASSERT_STR_EQ("hashtable", hash_encoding_name(h));
    ASSERT_EQ(17, hash_len(h, T0));
    ASSERT_EQ(8, hash_ttl_count(h));
    ASSERT_EQ(T0 + 101, hash_next_deadline(h));
    for (int i = 0; i < 16; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        ASSERT_EQ(i % 2 ? T0 + 100 + i : HASH_NO_TTL, deadline_of(h, T0, f));
    }
    /* Value length conversion, and it never converts back. */
    hash *g = hash_new();
    hash_set(&g, &lim, T0, S("a"), S("12345678"), HASH_TTL_SET, T0 + 5);
    ASSERT_STR_EQ("listpackex", hash_encoding_name(g));
    hash_set(&g, &lim, T0, S("b"), S("123456789"), HASH_TTL_CLEAR, 0);
    ASSERT_STR_EQ("hashtable", hash_encoding_name(g));
    ASSERT_EQ(T0 + 5, deadline_of(g, T0, "a"));
    hash_del(&g, T0, S("b"));
    ASSERT_STR_EQ("hashtable", hash_encoding_name(g));
    /* A long field converts too. */
    hash *k = hash_new();
    hash_set(&k, &lim, T0, S("123456789"), S("v"), HASH_TTL_CLEAR, 0);
    ASSERT_STR_EQ("hashtable", hash_encoding_name(k));
    hash_free(h);
    hash_free(g);
    hash_free(k);
}

/* Long field and value lengths exercise the hashtable entry's long form. */
TEST(long_entries) {
    hash *h = hash_new();
    static char big[5000];
    memset(big, 'x', sizeof(big));
    slice f = {big, 100}, v = {big, 5000};
    ASSERT_EQ(1, hash_set(&h, &lim_default, T0, f, v, HASH_TTL_SET, T0 + 9));
    ASSERT_STR_EQ("hashtable", hash_encoding_name(h));
    hash_entry e;
    ASSERT_EQ(HASH_OK, hash_get(h, T0, f, &e));
    ASSERT_EQ(5000, e.value.len);
    ASSERT_EQ(T0 + 9, e.deadline);
    ASSERT_EQ(HASH_PERSIST_OK, hash_persist(&h, T0, f));
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, f, T0 + 7, 0));
    ASSERT_EQ(0, hash_set(&h, &lim_default, T0, f, (slice){big, 3}, HASH_TTL_KEEP, 0));
    ASSERT_EQ(HASH_OK, hash_get(h, T0, f, &e));
    ASSERT_EQ(3, e.value.len);
    ASSERT_EQ(T0 + 7, e.deadline);
    ASSERT_EQ(1, hash_reap(&h, T0 + 7, 10, NULL, NULL));
    ASSERT_EQ(0, hash_len(h, T0 + 7));
    hash_free(h);
}

typedef struct collect {
    int seen[4096];
    size_t n;
    int64_t now;
    int bad;
} collect;

static void on_visit(const hash_entry *e, void *ctx) {
    collect *c = ctx;
    int i = atoi(e->field.p + 1); /* fields are "f<number>" */
    if (i < 0 || i >= 4096 || (e->deadline != HASH_NO_TTL && e->deadline <= c->now))
        c->bad = 1;
    else
        c->seen[i]++;
    c->n++;
}

/* Readers skip due fields: scan, iteration, random and random-distinct. */
static void readers_on(const hash_limits *lim, int nfields) {
    hash *h = hash_new();
    char f[16];
    for (int i = 0; i < nfields; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        if (i % 3 == 0)
            hash_set(&h, lim, T0, S(f), S("v"), HASH_TTL_SET, T0 + 10);
        else
            hash_set(&h, lim, T0, S(f), S("v"), HASH_TTL_SET, T0 + 1000 + i);
    }
    int64_t now = T0 + 10;
    size_t live = (size_t)nfields - (size_t)(nfields + 2) / 3;
    ASSERT_EQ(live, hash_len(h, now));
    static collect c;
    memset(&c, 0, sizeof(c));
    c.now = now;
    uint64_t cur = 0;
    do
        cur = hash_scan(h, now, cur, 10, on_visit, &c);
    while (cur);
    ASSERT(!c.bad);
    for (int i = 0; i < nfields; i++)
        ASSERT(i % 3 == 0 ? c.seen[i] == 0 : c.seen[i] >= 1);

    hash_iter it;
    hash_entry e;
    size_t n = 0;
    hash_iter_init(&it, h, now);
    while (hash_iter_next(&it, &e)) {
        ASSERT(e.deadline > now);
        n++;
    }
    hash_iter_deinit(&it);
    ASSERT_EQ(live, n);

    for (int k = 0; k < 200; k++) {
        ASSERT_EQ(HASH_OK, hash_random(h, now, &e));
        ASSERT(e.deadline > now);
    }
    size_t counts[] = {1, 5, live / 2, live - 1, live, live + 7};
    for (size_t j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
        memset(&c, 0, sizeof(c));
        c.now = now;
        size_t want = counts[j] < live ? counts[j] : live;
        ASSERT_EQ(want, hash_random_distinct(h, now, counts[j], on_visit, &c));
        ASSERT_EQ(want, c.n);
        ASSERT(!c.bad);
        for (int i = 0; i < nfields; i++)
            ASSERT(c.seen[i] <= 1);
    }
    memset(&c, 0, sizeof(c));
    c.now = now;
    ASSERT_EQ(3 * live, hash_random_repeat(h, now, 3 * live, on_visit, &c));
    ASSERT_EQ(3 * live, c.n);
    ASSERT(!c.bad);
    /* Nothing live: the samplers return nothing. */
    ASSERT_EQ(HASH_ENOTFOUND, hash_random(h, T0 + 1000000, &e));
    ASSERT_EQ(0, hash_random_repeat(h, T0 + 1000000, 5, on_visit, &c));
    ASSERT_EQ(0, hash_random_distinct(h, T0 + 1000000, 5, on_visit, &c));
    hash_free(h);
}

TEST(readers_skip_due) {
    readers_on(&lim_default, 60);
    if (test_failed_now) return;
    readers_on(&lim_ht, 3000);
}

TEST(dup_and_memory) {
    const hash_limits *lims[2] = {&lim_default, &lim_ht};
    for (int l = 0; l < 2; l++) {
        hash *h = hash_new();
        char f[16];
        for (int i = 0; i < 300; i++) {
            snprintf(f, sizeof(f), "f%d", i);
            hash_set(&h, lims[l], T0, S(f), S("value"), i % 2 ? HASH_TTL_SET : HASH_TTL_CLEAR,
                     T0 + 1000 - i);
        }
        hash *c = hash_dup(h);
        ASSERT_STR_EQ(hash_encoding_name(h), hash_encoding_name(c));
        ASSERT_EQ(hash_len(h, T0), hash_len(c, T0));
        ASSERT_EQ(hash_next_deadline(h), hash_next_deadline(c));
        hash_free(h); /* the copy must not share anything */
        for (int i = 0; i < 300; i++) {
            snprintf(f, sizeof(f), "f%d", i);
            ASSERT_EQ(i % 2 ? T0 + 1000 - i : HASH_NO_TTL, deadline_of(c, T0, f));
        }
        ASSERT(hash_memory(c) > 300 * 10);
        ASSERT_EQ(150, hash_reap(&c, T0 + 5000, 1000, NULL, NULL));
        ASSERT_EQ(HASH_NO_TTL, hash_next_deadline(c));
        hash_free(c);
    }
}

/* ---- differential test against a naive model ---------------------------------------- */

#define POOL 300

typedef struct mfield {
    int present;
    char v[80];
    size_t vlen;
    int64_t dl;
} mfield;

typedef struct model {
    mfield f[POOL];
    int64_t now;
} model;

static uint64_t dbelow(uint64_t n) {
    return rng() % n;
}

static size_t fname(int i, char *buf) {
    /* Varied lengths, some with NUL bytes, some long enough to force a conversion. */
    if (i % 50 == 49) {
        memset(buf, 'L', 70);
        return (size_t)(70 + snprintf(buf + 70, 16, "%d", i));
    }
    int n = snprintf(buf, 32, "f%d", i);
    if (i % 7 == 0) buf[n++] = '\0';
    return (size_t)n;
}

static int m_live(const model *m, int i) {
    return m->f[i].present && !(m->f[i].dl && m->f[i].dl <= m->now);
}

typedef struct reap_check {
    model *m;
    int64_t last;
    int bad;
    size_t n;
} reap_check;

/* The pool index of a field name made by fname, or -1. */
static int find_field(const char *f, size_t flen) {
    char buf[128];
    size_t k = 0;
    while (k < flen && (f[k] == 'f' || f[k] == 'L'))
        k++;
    int i = 0;
    while (k < flen && f[k] >= '0' && f[k] <= '9')
        i = i * 10 + (f[k++] - '0');
    if (i >= POOL) return -1;
    size_t n = fname(i, buf);
    return n == flen && memcmp(buf, f, n) == 0 ? i : -1;
}

static void on_reap_check(const char *f, size_t flen, void *ctx) {
    reap_check *rc = ctx;
    int i = find_field(f, flen);
    if (i < 0 || !rc->m->f[i].present || !rc->m->f[i].dl || rc->m->f[i].dl > rc->m->now ||
        rc->m->f[i].dl < rc->last) {
        rc->bad = 1;
        return;
    }
    rc->last = rc->m->f[i].dl;
    rc->m->f[i].present = 0;
    rc->n++;
}

static int64_t rand_deadline(const model *m) {
    int64_t d = m->now + (int64_t)dbelow(300) - 30;
    return d < 1 ? 1 : d;
}

/* Runs one seeded sequence; returns 0 on success, else the failing step. */
static int diff_run(uint64_t seed, int steps) {
    rng_state = seed;
    static model m;
    memset(&m, 0, sizeof(m));
    m.now = T0;
    hash_limits lim = {8 + dbelow(120), 16 + dbelow(64)};
    hash *h = hash_new();
    char fb[128], vb[80];
    int rc = 0;
    for (int step = 1; step <= steps && !rc; step++) {
        int i = (int)dbelow(POOL);
        size_t fl = fname(i, fb);
        slice f = {fb, fl};
        mfield *mf = &m.f[i];
        int live = m_live(&m, i);
        int op = (int)dbelow(100);
        if (op < 30) { /* set */
            size_t vl = dbelow(10) == 0 ? dbelow(80) : dbelow(20);
            for (size_t k = 0; k < vl; k++)
                vb[k] = (char)rng();
            int policy = (int)dbelow(3);
            int64_t d = rand_deadline(&m);
            int r = hash_set(&h, &lim, m.now, f, (slice){vb, vl}, (enum hash_ttl_policy)policy, d);
            if (r != !live) rc = step;
            int64_t nd = policy == HASH_TTL_SET ? d : policy == HASH_TTL_KEEP && live ? mf->dl : 0;
            mf->present = 1;
            memcpy(mf->v, vb, vl);
            mf->vlen = vl;
            mf->dl = nd;
        } else if (op < 40) { /* del */
            if (hash_del(&h, m.now, f) != live) rc = step;
            if (live) mf->present = 0; /* a due field stays stored for hash_reap */
        } else if (op < 55) {          /* get */
            hash_entry e;
            int r = hash_get(h, m.now, f, &e);
            if ((r == HASH_OK) != live)
                rc = step;
            else if (live && (e.value.len != mf->vlen || memcmp(e.value.p, mf->v, mf->vlen) ||
                              e.deadline != mf->dl))
                rc = step;
        } else if (op < 70) { /* expire */
            static const int conds[] = {0, HASH_COND_NX, HASH_COND_XX, HASH_COND_GT, HASH_COND_LT};
            int cond = conds[dbelow(5)];
            int64_t d = rand_deadline(&m);
            int want;
            if (!live)
                want = HASH_EXPIRE_NOFIELD;
            else if (mf->dl == 0 ? (cond & (HASH_COND_XX | HASH_COND_GT)) != 0
                                 : (cond == HASH_COND_NX || (cond == HASH_COND_GT && mf->dl >= d) ||
                                    (cond == HASH_COND_LT && mf->dl <= d)))
                want = HASH_EXPIRE_NOTMET;
            else if (d <= m.now)
                want = HASH_EXPIRE_DELETED, mf->present = 0;
            else
                want = HASH_EXPIRE_SET, mf->dl = d;
            if (hash_expire(&h, m.now, f, d, cond) != want) rc = step;
        } else if (op < 75) { /* persist */
            int want = !live     ? HASH_PERSIST_NOFIELD
                       : !mf->dl ? HASH_PERSIST_NOTTL
                                 : HASH_PERSIST_OK;
            if (want == HASH_PERSIST_OK) mf->dl = 0;
            if (hash_persist(&h, m.now, f) != want) rc = step;
        } else if (op < 82) { /* reap */
            size_t max = dbelow(4) == 0 ? SIZE_MAX : dbelow(6);
            size_t due = 0;
            for (int k = 0; k < POOL; k++)
                due += m.f[k].present && m.f[k].dl && m.f[k].dl <= m.now;
            reap_check chk = {&m, 0, 0, 0};
            size_t n = hash_reap(&h, m.now, max, on_reap_check, &chk);
            if (chk.bad || n != chk.n || n != (due < max ? due : max)) rc = step;
            /* Whatever is still due must not be earlier than what was reaped. */
            for (int k = 0; k < POOL; k++)
                if (m.f[k].present && m.f[k].dl && m.f[k].dl <= m.now && m.f[k].dl < chk.last)
                    rc = step;
        } else if (op < 92) { /* time passes */
            m.now += (int64_t)dbelow(40);
        } else { /* full comparison */
            size_t nlive = 0, nstored = 0, nttl = 0;
            int64_t next = 0;
            for (int k = 0; k < POOL; k++) {
                if (!m.f[k].present) continue;
                nstored++;
                nlive += m_live(&m, k);
                if (m.f[k].dl) {
                    nttl++;
                    if (!next || m.f[k].dl < next) next = m.f[k].dl;
                }
            }
            if (hash_len(h, m.now) != nlive || hash_stored(h) != nstored ||
                hash_ttl_count(h) != nttl || hash_next_deadline(h) != next)
                rc = step;
            if (hash_encoding(h) != ENC_HASHTABLE &&
                (hash_encoding(h) == ENC_LISTPACKEX) != (nttl > 0))
                rc = step;
            hash_iter it;
            hash_entry e;
            size_t n = 0;
            hash_iter_init(&it, h, m.now);
            while (hash_iter_next(&it, &e)) {
                int k = find_field(e.field.p, e.field.len);
                if (k < 0 || !m_live(&m, k) || e.deadline != m.f[k].dl ||
                    e.value.len != m.f[k].vlen || memcmp(e.value.p, m.f[k].v, e.value.len))
                    rc = step;
                n++;
            }
            hash_iter_deinit(&it);
            if (n != nlive) rc = step;
            hash *c = hash_dup(h);
            if (hash_len(c, m.now) != nlive || hash_next_deadline(c) != next) rc = step;
            hash_free(c);
        }
    }
    hash_free(h);
    return rc;
}

/* hash_from_entries builds what hash_set would, in every encoding, and refuses duplicates. */
TEST(from_entries) {
    static const size_t sizes[] = {0, 1, 5, 9, 300, 600};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        for (int ttl = 0; ttl < 2; ttl++) {
            hash_entry *e = malloc((n + 1) * sizeof(*e));
            char(*names)[16] = malloc((n + 1) * sizeof(*names));
            hash *ref = hash_new();
            for (size_t i = 0; i < n; i++) {
                int fl = snprintf(names[i], sizeof(names[i]), "f%zu", i);
                int64_t dl = ttl && i % 2 ? T0 + 5000 - (int64_t)i : HASH_NO_TTL;
                e[i] = (hash_entry){{names[i], (size_t)fl}, S("v"), dl};
                hash_set(&ref, &lim_default, T0, e[i].field, e[i].value,
                         dl ? HASH_TTL_SET : HASH_TTL_CLEAR, dl);
            }
            hash *h = hash_from_entries(&lim_default, e, n);
            ASSERT(h != NULL);
            ASSERT_STR_EQ(hash_encoding_name(ref), hash_encoding_name(h));
            ASSERT_EQ(n, hash_len(h, T0));
            ASSERT_EQ(hash_ttl_count(ref), hash_ttl_count(h));
            ASSERT_EQ(hash_next_deadline(ref), hash_next_deadline(h));
            for (size_t i = 0; i < n; i++)
                ASSERT_EQ(e[i].deadline, deadline_of(h, T0, names[i]));
            /* The same again with one field repeated at the end: refused. */
            if (n > 0) {
                e[n] = e[n / 2];
                ASSERT(hash_from_entries(&lim_default, e, n + 1) == NULL);
            }
            hash_free(h);
            hash_free(ref);
            free(e);
            free(names);
        }
    }
    /* A long value makes a hashtable, as hash_set would. */
    char big[100];
    memset(big, 'x', sizeof(big));
    hash_entry one = {S("f"), {big, sizeof(big)}, HASH_NO_TTL};
    hash *h = hash_from_entries(&lim_default, &one, 1);
    ASSERT_STR_EQ("hashtable", hash_encoding_name(h));
    hash_free(h);
}

TEST(differential) {
    uint64_t base = (uint64_t)strtoull(getenv("HASH_SEED") ? getenv("HASH_SEED") : "1", NULL, 10);
    for (uint64_t s = base; s < base + 30; s++) {
        int step = diff_run(s, 4000);
        if (step) TEST_FAIL("differential test failed: seed %" PRIu64 " step %d", s, step);
    }
}

/* ---- memory targets ------------------------------------------------------------------ */

static size_t allocated(void) {
    mem_stats st;
    mem_get_stats(&st);
    return st.allocated;
}

/* Bytes per field of nh hashes x nf fields with 16-byte values; ttl: 0 none, 1 one
 * deadline per hash, 2 a deadline per field. */
static double per_field_small(size_t nh, size_t nf, int ttl) {
    hash **hs = malloc(nh * sizeof(*hs)); /* libc malloc: not part of the figure */
    size_t before = allocated();
    char f[16];
    const char *v = "0123456789abcdef";
    for (size_t i = 0; i < nh; i++) {
        hs[i] = hash_new();
        for (size_t j = 0; j < nf; j++) {
            snprintf(f, sizeof(f), "f%zu", j);
            int64_t d = T0 + 3600000 + (ttl == 2 ? (int64_t)j * 1000 : 0);
            hash_set(&hs[i], &lim_default, T0, S(f), S(v), ttl ? HASH_TTL_SET : HASH_TTL_CLEAR, d);
        }
    }
    double per = (double)(allocated() - before) / (double)(nh * nf);
    for (size_t i = 0; i < nh; i++)
        hash_free(hs[i]);
    free(hs);
    return per;
}

static double per_field_big(size_t n, int ttl, const char **enc) {
    size_t before = allocated();
    hash *h = hash_new();
    char f[32];
    const char *v = "0123456789abcdef";
    rng_state = 42;
    for (size_t i = 0; i < n; i++) {
        snprintf(f, sizeof(f), "field:%07zu", i);
        hash_set(&h, &lim_default, T0, S(f), S(v), ttl ? HASH_TTL_SET : HASH_TTL_CLEAR,
                 T0 + 1000 + (int64_t)dbelow(86400000));
    }
    double per = (double)(allocated() - before) / (double)n;
    *enc = hash_encoding_name(h);
    hash_free(h);
    return per;
}

TEST(memory_targets) {
    mem_stats st;
    mem_get_stats(&st);
    int measure = strcmp(st.allocator, "libc") != 0;
    size_t nh = measure ? 100000 : 5000, big = measure ? 1000000 : 20000;
    double a = per_field_small(nh, 10, 0);
    double b = per_field_small(nh, 10, 1);
    double b2 = per_field_small(nh / 5, 10, 2);
    const char *enc_c, *enc_d;
    double c = per_field_big(big, 0, &enc_c);
    double d = per_field_big(big, 1, &enc_d);
    printf("memory (%s): %zu hashes x 10 fields: %.1f B/field, with TTL %.1f (distinct "
           "deadlines %.1f); one hash of %zu fields (%s): %.1f B/field, with TTL %.1f\n",
           st.allocator, nh, a, b, b2, big, enc_c, c, d);
    ASSERT_STR_EQ("hashtable", enc_c);
    ASSERT_STR_EQ("hashtable", enc_d);
    if (!measure) return; /* libc figures are not comparable */
    /* A compact hash is one allocation, header included: 16 + 10 x 20 bytes without TTLs,
     * 22 + 10 x 20 when the fields share a deadline (no TTL byte at the base): the
     * 224-byte class either way. */
    ASSERT(a <= 22.5);
    ASSERT(b <= 22.5);
    ASSERT(b2 <= 25.7);
    ASSERT(c <= 71.0);
    ASSERT(d <= 67.0);
}

/* A compact hash moves when its blob is resized or rebuilt, and converts into a new
 * allocation: the object header (access clock, flags) goes along every time. */
TEST(header_survives_moves) {
    hash *h = hash_new();
    obj *o = (obj *)h;
    o->lru = 123456;
    o->flags = OBJF_SUBEXPIRY;
    char f[16];
    for (int i = 0; i < 40; i++) { /* grows: reallocs */
        snprintf(f, sizeof(f), "f%d", i);
        hash_set(&h, &lim_default, T0, S(f), S("v"), HASH_TTL_CLEAR, 0);
    }
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("f3"), T0 + 50, 0)); /* to LISTPACKEX */
    ASSERT_EQ(HASH_EXPIRE_SET, hash_expire(&h, T0, S("f4"), T0 + 20, 0)); /* new base */
    ASSERT_STR_EQ("listpackex", hash_encoding_name(h));
    ASSERT_EQ(123456, ((obj *)h)->lru);
    ASSERT_EQ(OBJF_SUBEXPIRY, ((obj *)h)->flags);
    ASSERT_EQ(1, hash_reap(&h, T0 + 20, 10, NULL, NULL)); /* base moves back */
    ASSERT_EQ(T0 + 50, hash_next_deadline(h));
    ASSERT_EQ(HASH_PERSIST_OK, hash_persist(&h, T0, S("f3"))); /* back to LISTPACK */
    ASSERT_STR_EQ("listpack", hash_encoding_name(h));
    ASSERT_EQ(123456, ((obj *)h)->lru);
    hash_limits small = {39, 64}; /* 39 fields after the reap */
    hash_set(&h, &small, T0, S("one more"), S("v"), HASH_TTL_CLEAR, 0); /* converts */
    ASSERT_STR_EQ("hashtable", hash_encoding_name(h));
    ASSERT_EQ(123456, ((obj *)h)->lru);
    ASSERT_EQ(OBJF_SUBEXPIRY, ((obj *)h)->flags);
    ASSERT_EQ(40, hash_len(h, T0));
    hash_free(h);
    /* The first TTL of an empty hash (a fresh LISTPACKEX blob) keeps it too. */
    h = hash_new();
    ((obj *)h)->lru = 77;
    hash_set(&h, &lim_default, T0, S("a"), S("b"), HASH_TTL_SET, T0 + 5);
    ASSERT_EQ(77, ((obj *)h)->lru);
    ASSERT_EQ(T0 + 5, deadline_of(h, T0, "a"));
    hash_free(h);
}

int main(void) {
    rand_seed(12345);
    RUN(memory_targets); /* first, while the allocator's caches are cold */
    RUN(basic_compact);
    RUN(ttl_policies);
    RUN(expire_rules);
    RUN(reap_order);
    RUN(conversion_keeps_ttls);
    RUN(long_entries);
    RUN(readers_skip_due);
    RUN(dup_and_memory);
    RUN(from_entries);
    RUN(differential);
    RUN(header_survives_moves);
    return test_report();
}
