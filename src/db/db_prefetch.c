/* db_prefetch: cache warming for a pipelined batch of commands (net/conn.c peeks at the
 * batch, cmd/ picks each command's key and field).
 *
 * A command on a random key of a large keyspace waits on a chain of dependent cache
 * misses: the bucket, the entry (its key is compared), the value's header, the value's
 * storage, and in a big hash the field's slot and entry: each load needs the one before.
 * Executed one after the other, sixteen pipelined commands wait on 16 x 4-6 misses in
 * series. Here every step is taken for the whole batch before the next step, each step
 * issuing prefetches whose addresses the previous step's (now cached) loads give, so the
 * misses of the batch overlap and the commands then run on cached lines. Only reads: no
 * rehash step, no expiry, no statistics; a wrong guess costs a wasted prefetch. */
#include "db/db_int.h"
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"

typedef struct pf_item {
    slice key;
    uint64_t kh, fh;          /* dict_hash of key and of the field */
    int field;                /* fh is set: a field of a hash value */
    dict_node *const *bucket; /* the key's bucket, NULL for an empty table */
    const dbentry *e;         /* the entry, once found */
} pf_item;

static const hash *big_hash_of(const pf_item *it) {
    if (!it->e || !it->field) return NULL;
    const hash *h = (const hash *)it->e->val;
    return hash_is_table(h) ? h : NULL;
}

/* Steps 1-2: the keys' buckets, then the chains' first entries. */
static void prefetch_buckets(const db *d, pf_item *it, int n, const slice *keys) {
    for (int i = 0; i < n; i++) {
        it[i] = (pf_item){.key = keys[i], .kh = dict_hash(keys[i].p, keys[i].len)};
        it[i].bucket = dict_bucket(&d->keys, it[i].kh);
        if (it[i].bucket) __builtin_prefetch(it[i].bucket);
    }
    for (int i = 0; i < n; i++)
        if (it[i].bucket && *it[i].bucket) __builtin_prefetch(*it[i].bucket);
}

/* Steps 3-4: the entries found, their values (and deadline records), then the values'
 * storage; the fields' hashes for step 5. */
static void prefetch_values(const db *d, pf_item *it, int n, const slice *fields) {
    for (int i = 0; i < n; i++) {
        it[i].e = (const dbentry *)dict_peek_h(&d->keys, it[i].key.p, it[i].key.len, it[i].kh);
        if (!it[i].e) continue;
        __builtin_prefetch(it[i].e->val);
        if (it[i].e->ttl) __builtin_prefetch(TTL_OF(it[i].e));
    }
    for (int i = 0; i < n; i++) {
        if (!it[i].e || it[i].e->val->type != OBJ_HASH) continue;
        hash_prefetch((const hash *)it[i].e->val);
        if (fields[i].len) {
            it[i].fh = dict_hash(fields[i].p, fields[i].len);
            it[i].field = 1;
        }
    }
}

void db_prefetch(const db *d, int n, const slice *keys, const slice *fields) {
    pf_item it[DB_PREFETCH_MAX];
    if (n > DB_PREFETCH_MAX) n = DB_PREFETCH_MAX;
    if (dict_size(&d->keys) == 0) return;
    prefetch_buckets(d, it, n, keys);
    prefetch_values(d, it, n, fields);
    for (int step = 0; step < 2; step++) /* steps 5-6: a big hash's field slot, entry */
        for (int i = 0; i < n; i++) {
            const hash *h = big_hash_of(&it[i]);
            if (h) hash_prefetch_field(h, it[i].fh, step);
        }
}
