/* dict_interim: TEMPORARY stand-in for util/dict.c so that the keyspace branch links and
 * can be tested before the `dict` branch lands. Delete this file when merging `dict`.
 *
 * One chained table, resized all at once (no incremental rehash), FNV-1a hashing with a
 * seed. SCAN uses the same reverse-binary cursor as the real dict, so the SCAN guarantee
 * holds across resizes between calls. */
#include "util/dict.h"
#include "util/mem.h"

#include <string.h>

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

uint64_t dict_hash(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

void dict_set_seed(uint64_t s) {
    seed = s;
}

void dict_init(dict *d, const dict_type *type) {
    memset(d, 0, sizeof(*d));
    d->type = type;
    d->rehash_idx = -1;
}

void dict_deinit(dict *d) {
    mem_free(d->table[0]);
    dict_init(d, d->type);
}

static size_t nbuckets(const dict *d) {
    return d->table[0] ? (size_t)1 << d->size_exp[0] : 0;
}

static uint64_t hash_node(const dict *d, const dict_node *n) {
    const char *k;
    size_t len;
    d->type->key_of(n, &k, &len);
    return dict_hash(k, len);
}

static void resize(dict *d, uint64_t exp) {
    size_t old = nbuckets(d);
    dict_node **t = mem_calloc((size_t)1 << exp, sizeof(*t));
    for (size_t i = 0; i < old; i++) {
        dict_node *n = d->table[0][i];
        while (n) {
            dict_node *next = n->next;
            size_t b = hash_node(d, n) & (((size_t)1 << exp) - 1);
            n->next = t[b];
            t[b] = n;
            n = next;
        }
    }
    mem_free(d->table[0]);
    d->table[0] = t;
    d->size_exp[0] = exp;
}

void dict_clear(dict *d, void (*free_fn)(dict_node *, void *), void *ctx) {
    for (size_t i = 0; i < nbuckets(d); i++) {
        dict_node *n = d->table[0][i];
        while (n) {
            dict_node *next = n->next;
            if (free_fn) free_fn(n, ctx);
            n = next;
        }
    }
    dict_deinit(d);
}

dict_node *dict_find_h(dict *d, const char *key, size_t len, uint64_t hash) {
    if (!d->table[0]) return NULL;
    for (dict_node *n = d->table[0][hash & (nbuckets(d) - 1)]; n; n = n->next) {
        const char *k;
        size_t kl;
        d->type->key_of(n, &k, &kl);
        if (kl == len && (len == 0 || memcmp(k, key, len) == 0)) return n;
    }
    return NULL;
}

dict_node *dict_find(dict *d, const char *key, size_t len) {
    return dict_find_h(d, key, len, dict_hash(key, len));
}

void dict_add_h(dict *d, dict_node *node, uint64_t hash) {
    if (!d->table[0])
        resize(d, 2);
    else if (d->used[0] >= nbuckets(d))
        resize(d, d->size_exp[0] + 1);
    size_t b = hash & (nbuckets(d) - 1);
    node->next = d->table[0][b];
    d->table[0][b] = node;
    d->used[0]++;
}

void dict_add(dict *d, dict_node *node) {
    dict_add_h(d, node, hash_node(d, node));
}

void dict_unlink(dict *d, dict_node *node) {
    dict_node **pp = &d->table[0][hash_node(d, node) & (nbuckets(d) - 1)];
    while (*pp != node)
        pp = &(*pp)->next;
    *pp = node->next;
    d->used[0]--;
}

dict_node *dict_remove(dict *d, const char *key, size_t len) {
    dict_node *n = dict_find(d, key, len);
    if (n) dict_unlink(d, n);
    return n;
}

void dict_replace_node(dict *d, dict_node *old, dict_node *new_node) {
    dict_node **pp = &d->table[0][hash_node(d, old) & (nbuckets(d) - 1)];
    while (*pp != old)
        pp = &(*pp)->next;
    new_node->next = old->next;
    *pp = new_node;
}

int dict_rehash_step(dict *d, int n) {
    (void)d;
    (void)n;
    return 0;
}

int dict_rehash_for(dict *d, int64_t budget_us) {
    (void)d;
    (void)budget_us;
    return 0;
}

void dict_maybe_shrink(dict *d) {
    if (d->table[0] && d->size_exp[0] > 2 && d->used[0] * 8 < nbuckets(d)) {
        uint64_t exp = 2;
        while (((size_t)1 << exp) < d->used[0])
            exp++;
        resize(d, exp);
    }
}

static uint64_t rev64(uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

uint64_t dict_scan(dict *d, uint64_t cursor, void (*fn)(dict_node *, void *), void *ctx) {
    if (!d->table[0] || d->used[0] == 0) return 0;
    uint64_t mask = nbuckets(d) - 1;
    for (dict_node *n = d->table[0][cursor & mask]; n;) {
        dict_node *next = n->next;
        fn(n, ctx);
        n = next;
    }
    cursor |= ~mask;
    cursor = rev64(cursor);
    cursor++;
    return rev64(cursor);
}

dict_node *dict_random(dict *d, uint64_t (*rand_fn)(void)) {
    if (dict_size(d) == 0) return NULL;
    for (;;) {
        dict_node *n = d->table[0][rand_fn() & (nbuckets(d) - 1)];
        if (!n) continue;
        size_t len = 0;
        for (dict_node *m = n; m; m = m->next)
            len++;
        size_t k = rand_fn() % len;
        while (k--)
            n = n->next;
        return n;
    }
}

void dict_iter_init(dict_iter *it, dict *d) {
    it->d = d;
    it->table = 0;
    it->index = -1;
    it->entry = NULL;
    it->next = NULL;
}

dict_node *dict_iter_next(dict_iter *it) {
    for (;;) {
        if (it->next) {
            it->entry = it->next;
            it->next = it->entry->next;
            return it->entry;
        }
        it->index++;
        if (!it->d->table[0] || (size_t)it->index >= nbuckets(it->d)) return NULL;
        it->next = it->d->table[0][it->index];
    }
}

void dict_iter_deinit(dict_iter *it) {
    (void)it;
}
