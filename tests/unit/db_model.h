/* The plain model of a keyspace that the db/ model tests (test_db_backlog, test_db_hide)
 * compare every read with: which keys and fields are stored (live or due), their deadlines
 * and values, and the names both use. Include it once, after defining NK (keys) and NF
 * (fields per hash). */
#ifndef MAYFLY_TESTS_UNIT_DB_MODEL_H
#define MAYFLY_TESTS_UNIT_DB_MODEL_H

#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/slice.h"

#include <stdint.h>
#include <stdio.h>

typedef struct mfield {
    int present;      /* stored (live or due) */
    int64_t deadline; /* 0: none */
    long long value;
} mfield;

typedef struct mkey {
    int present; /* stored */
    int is_hash;
    int64_t expire_ms; /* key TTL, 0: none */
    long long value;   /* string value */
    mfield f[NF];
} mkey;

static mkey m[NK];

/* The hash writers on the hash of an entry, as the command layer runs them (hc_set and
 * friends): through db_hash_open / db_hash_close, which store the hash back (a compact
 * hash moves) and re-file a slim entry (which may move the entry: *ep is updated). */
static inline int ent_hash_set(db *d, dbentry **ep, const hash_limits *lim, int64_t t, slice f,
                               slice v, enum hash_ttl_policy pol, int64_t dl) {
    db_hash_write w;
    hash *h = db_hash_open(*ep, &w);
    int r = hash_set(&h, lim, t, f, v, pol, dl);
    *ep = db_hash_close(d, *ep, h, &w);
    return r;
}
static inline int ent_hash_del(db *d, dbentry **ep, int64_t t, slice f) {
    db_hash_write w;
    hash *h = db_hash_open(*ep, &w);
    int r = hash_del(&h, t, f);
    *ep = db_hash_close(d, *ep, h, &w);
    return r;
}
static inline int ent_hash_expire(db *d, dbentry **ep, int64_t t, slice f, int64_t dl, int cond) {
    db_hash_write w;
    hash *h = db_hash_open(*ep, &w);
    int r = hash_expire(&h, t, f, dl, cond);
    *ep = db_hash_close(d, *ep, h, &w);
    return r;
}
static int64_t now;

static inline slice kname(int i, char *out) {
    return (slice){out, (size_t)snprintf(out, 16, "k%d", i)};
}
static inline slice fname(int j, char *out) {
    return (slice){out, (size_t)snprintf(out, 16, "f%d", j)};
}
/* The number in a slice that is not NUL-terminated ("f7" from 1, "123" from 0). */
static inline long long num_of(slice s, size_t from) {
    long long v = 0;
    for (size_t i = from; i < s.len; i++)
        v = v * 10 + (s.p[i] - '0');
    return v;
}
static inline slice vtext(long long v, char *out) {
    return (slice){out, (size_t)snprintf(out, 24, "%lld", v)};
}

static inline int m_field_live(const mfield *f, int64_t t) {
    return f->present && (f->deadline == 0 || f->deadline > t);
}
static inline int m_stored_fields(int i) {
    int n = 0;
    for (int j = 0; j < NF; j++)
        n += m[i].f[j].present;
    return n;
}
static inline int m_live_fields(int i, int64_t t) {
    int n = 0;
    for (int j = 0; j < NF; j++)
        n += m_field_live(&m[i].f[j], t);
    return n;
}
static inline int m_visible(int i, int64_t t) {
    if (!m[i].present) return 0;
    if (m[i].expire_ms != 0 && m[i].expire_ms <= t) return 0;
    return !m[i].is_hash || m_live_fields(i, t) > 0;
}

#endif
