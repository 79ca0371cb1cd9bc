/* dict: intrusive chained hash table with incremental rehashing; see dict.h.
 *
 * Layout. A dict has one or two bucket arrays of 2^size_exp pointers to chains of the
 * caller's nodes. A bucket array is allocated with mem_calloc and is the only memory the
 * dict owns; nodes are linked through their embedded dict_node and never allocated here.
 *
 *     not rehashing:  table[0] = [b0][b1][b2][b3]    table[1] = NULL, rehash_idx = -1
 *     rehashing:      table[0] = [--][--][b2][b3]    buckets below rehash_idx are empty
 *                     table[1] = [b0]...[b7]         every new entry is linked here
 *
 * Invariants:
 *  - a node in table[t] sits in bucket hash(key) & (2^size_exp[t] - 1);
 *  - used[t] counts the nodes of table[t]; when rehashing, table[0] buckets below
 *    rehash_idx are empty (moved), and the rehash ends as soon as used[0] reaches 0, when
 *    table[1] becomes table[0];
 *  - sizes are powers of two, at least DICT_MIN_SIZE; an empty dict may have no table.
 *
 * Resizing. Before an insert, a table at load factor 1 starts growing to the next power
 * of two >= 2 * used; after a removal, a table below load 1/8 starts shrinking the same
 * way. Starting allocates the new array, and each find, add or remove then moves one
 * bucket (visiting at most 10 empty ones), so no call stalls. A new array of
 * PREPARE_MIN_BYTES or more (a grow's, or a shrink's: a 32 MB calloc of recycled pages is
 * a memset of milliseconds) is not used at once: it waits in `next`, uninitialised, while
 * util/prezero's thread zeroes it (or, without that thread, every PREPARE_ADDS-th add and
 * the cron zero one more page of it, and so do they when the thread is late: table[0] at
 * load 1.5), table[0] taking adds above load 1 meanwhile; then it becomes table[1] and the
 * rehash starts. calloc would have zeroed a recycled array in one call (milliseconds for
 * tens of MB), and a fresh one would fault a page in at nearly every insert at first
 * (adds land at random places): measured, 200-300 page faults in one loop turn of 320
 * SETs growing a 2M-key table; zeroed a page per 32 adds on the loop thread, the 2^24
 * buckets of a 10M-key table still cost it 32,768 faults. The server's cron finishes big
 * rehashes with dict_rehash_for. While pause_rehash > 0
 * (iterators, scan callbacks) no bucket moves, so chains stay where a walker left them.
 *
 * SCAN. The cursor holds a bucket index whose bits are incremented from the top mask bit
 * downwards ("reverse binary"). Bucket i of a table of 2^k buckets holds the keys whose
 * hash ends in the k bits of i, and the reverse order visits all indices with the same
 * low bits together, so the set of buckets already visited is described by the cursor
 * alone, whatever the table size: after a grow or shrink between calls the scan goes on
 * from the same cursor without skipping any bucket still to visit (a shrink may repeat
 * some). During a rehash it visits the bucket of the smaller table and every bucket of
 * the larger one that folds onto it. */
#include "mayfly/util/dict.h"

#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/prezero.h"

#include <assert.h>
#include <string.h>
#include <xxhash.h>

#define DICT_MIN_EXP 2                 /* smallest table: 4 buckets */
#define DICT_EMPTY_VISITS 10           /* empty buckets a rehash step may skip per bucket moved */
#define PREPARE_MIN_BYTES (256 * 1024) /* new arrays from this size are zeroed in steps */
/* Adds per step: a page of a fresh array costs ~10-20 us of page fault on this class of VM
 * (measured), so a turn of ~300 SETs zeroed ~37 of them at 1 page per 8 adds. At 32 the
 * old table reaches load ~1.13 before the new one is ready (it holds 1/256 of its buckets
 * per page: 2 * size / 512 pages, 32 adds each). */
#define PREPARE_ADDS 32

static uint64_t hash_seed;

uint64_t dict_hash(const char *key, size_t len) {
    return XXH3_64bits_withSeed(key, len, hash_seed);
}

void dict_set_seed(uint64_t seed) {
    hash_seed = seed;
}

static inline int is_rehashing(const dict *d) {
    return d->rehash_idx != -1;
}

/* Number of buckets of table t (0 when it is not allocated). */
static inline size_t table_size(const dict *d, int t) {
    return d->table[t] ? (size_t)1 << d->size_exp[t] : 0;
}

static inline size_t table_mask(const dict *d, int t) {
    return ((size_t)1 << d->size_exp[t]) - 1;
}

static inline uint64_t hash_node(const dict *d, const dict_node *node) {
    const char *key;
    size_t len;
    d->type->key_of(node, &key, &len);
    return dict_hash(key, len);
}

/* The smallest exponent whose table holds 2 * used entries at load factor 1/2. */
static uint64_t exp_for(size_t used) {
    uint64_t e = DICT_MIN_EXP;
    while (((size_t)1 << e) < 2 * used)
        e++;
    return e;
}

void dict_init(dict *d, const dict_type *type) {
    d->type = type;
    d->table[0] = d->table[1] = NULL;
    d->size_exp[0] = d->size_exp[1] = 0;
    d->used[0] = d->used[1] = 0;
    d->rehash_idx = -1;
    d->pause_rehash = 0;
    d->max_chain[0] = d->max_chain[1] = 0;
    d->next = NULL;
    d->next_exp = 0;
    d->prep = NULL;
}

/* Drops the table being prepared, if any (its zeroing stopped first). */
static void drop_next(dict *d) {
    prezero_end(d->prep);
    d->prep = NULL;
    mem_free(d->next);
    d->next = NULL;
}

void dict_deinit(dict *d) {
    mem_free(d->table[0]);
    mem_free(d->table[1]);
    drop_next(d);
    dict_init(d, d->type);
}

void dict_clear(dict *d, void (*free_fn)(dict_node *, void *), void *ctx) {
    for (int t = 0; t < 2 && free_fn; t++) {
        size_t size = table_size(d, t);
        for (size_t i = 0; i < size; i++) {
            dict_node *n = d->table[t][i];
            while (n) {
                dict_node *next = n->next;
                free_fn(n, ctx);
                n = next;
            }
        }
    }
    dict_deinit(d);
}

int dict_drain(dict *d, size_t max, void (*free_fn)(dict_node *, void *), void *ctx) {
    /* Table 0 from the rehash cursor up (buckets below it are empty, whether a rehash was
     * under way or the drain began at 0), then table 1 the same way once it replaces 0. */
    if (d->rehash_idx < 0) d->rehash_idx = 0;
    drop_next(d); /* a table being prepared is not needed any more */
    /* Work in eighths: a freed entry costs 8, an empty bucket passed over 1. */
    size_t work = 0, budget = max * 8;
    while (dict_size(d) > 0) {
        if (d->used[0] == 0) {
            mem_free(d->table[0]);
            d->table[0] = d->table[1];
            d->size_exp[0] = d->size_exp[1];
            d->used[0] = d->used[1];
            d->table[1] = NULL;
            d->used[1] = 0;
            d->rehash_idx = 0;
            continue;
        }
        if (work >= budget) return 1;
        dict_node *n = d->table[0][d->rehash_idx];
        if (!n) {
            d->rehash_idx++;
            work++;
            continue;
        }
        d->table[0][d->rehash_idx] = n->next;
        d->used[0]--;
        free_fn(n, ctx);
        work += 8;
    }
    return 0;
}

/* Raises table t's longest-chain bound to the length of the chain starting at head. The
 * bound only falls when the table is replaced (a resize), which keeps it an upper bound. */
static inline void note_chain(dict *d, int t, const dict_node *head) {
    size_t len = 0;
    for (const dict_node *n = head; n; n = n->next)
        len++;
    if (len > d->max_chain[t]) d->max_chain[t] = len;
}

/* Ends a rehash: the new table replaces the old, now empty, one. */
static void finish_rehash(dict *d) {
    assert(d->used[0] == 0);
    mem_free(d->table[0]);
    d->table[0] = d->table[1];
    d->size_exp[0] = d->size_exp[1];
    d->used[0] = d->used[1];
    d->max_chain[0] = d->max_chain[1];
    d->table[1] = NULL;
    d->size_exp[1] = 0;
    d->used[1] = 0;
    d->max_chain[1] = 0;
    d->rehash_idx = -1;
}

/* Starts moving the entries into a new table of 2^exp buckets (not rehashing yet). */
static void start_resize(dict *d, uint64_t exp) {
    assert(!is_rehashing(d));
    d->table[1] = mem_calloc((size_t)1 << exp, sizeof(dict_node *));
    d->size_exp[1] = exp;
    d->used[1] = 0;
    d->max_chain[1] = 0;
    d->rehash_idx = 0;
    if (d->used[0] == 0) finish_rehash(d);
}

/* Starts resizing to 2^exp buckets (growing, or shrinking): at once for a small array, else
 * by preparing one. */
static void begin_grow(dict *d, uint64_t exp) {
    size_t bytes = ((size_t)1 << exp) * sizeof(dict_node *);
    if (bytes < PREPARE_MIN_BYTES) {
        start_resize(d, exp);
        return;
    }
    d->next = mem_alloc(bytes);
    d->next_exp = exp;
    d->prep = prezero_begin(d->next, bytes);
}

/* 1 when the table being prepared is late: table[0] holds half again as many entries as
 * buckets (the zeroing thread did not get a CPU for a long while), and the caller's steps
 * zero pages too. */
static int prepare_late(const dict *d) {
    return d->used[0] >= table_size(d, 0) + table_size(d, 0) / 2;
}

/* Zeroes up to `pages` more pages of the table being prepared (when no thread does it, or
 * it is late) and, once it is all zero and no walker holds the dict, makes it the rehash
 * target. Returns 1 while preparing. */
static int prepare_step(dict *d, size_t pages) {
    if (!prezero_step(d->prep, pages, prepare_late(d)) || d->pause_rehash > 0) return 1;
    prezero_end(d->prep);
    d->prep = NULL;
    d->table[1] = d->next;
    d->size_exp[1] = d->next_exp;
    d->used[1] = 0;
    d->max_chain[1] = 0;
    d->rehash_idx = 0;
    d->next = NULL;
    return 0;
}

/* Moves every node of bucket rehash_idx of table[0] to table[1]. */
static void move_bucket(dict *d) {
    dict_node **from = &d->table[0][d->rehash_idx];
    dict_node *n = *from;
    size_t mask = table_mask(d, 1);
    while (n) {
        dict_node *next = n->next;
        size_t idx = (size_t)hash_node(d, n) & mask;
        n->next = d->table[1][idx];
        d->table[1][idx] = n;
        note_chain(d, 1, n);
        d->used[0]--;
        d->used[1]++;
        n = next;
    }
    *from = NULL;
}

int dict_rehash_step(dict *d, int n) {
    if (!is_rehashing(d) || d->pause_rehash > 0) return is_rehashing(d);
    int empty_visits = n * DICT_EMPTY_VISITS;
    while (n-- > 0 && d->used[0] != 0) {
        /* used[0] > 0, so a non-empty bucket remains at or after rehash_idx. */
        while (d->table[0][d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        move_bucket(d);
        d->rehash_idx++;
    }
    if (d->used[0] == 0) finish_rehash(d);
    return is_rehashing(d);
}

int dict_rehash_for(dict *d, int64_t budget_us) {
    int64_t start = clock_mono_us();
    while (d->next) {
        if (!prepare_step(d, 16)) break;
        /* Ready but held by a walker, or being zeroed by the thread (not late): later. */
        if (prezero_step(d->prep, 0, 0) || (prezero_thread_running() && !prepare_late(d))) return 1;
        if (clock_mono_us() - start >= budget_us) return 1;
    }
    if (d->pause_rehash > 0) return is_rehashing(d);
    while (dict_rehash_step(d, 100))
        if (clock_mono_us() - start >= budget_us) return 1;
    return 0;
}

/* The implicit single step of find/add/remove. */
static inline void rehash_tick(dict *d) {
    if (is_rehashing(d) && d->pause_rehash == 0) dict_rehash_step(d, 1);
}

/* After a removal: while a smaller table is being prepared (a shrink), a page of it zeroed
 * every PREPARE_ADDS removals, as the adds of a growth do in dict_add_h. */
static inline void shrink_tick(dict *d) {
    if (d->next && d->next_exp < d->size_exp[0] && d->used[0] % PREPARE_ADDS == 0)
        prepare_step(d, 1);
}

void dict_maybe_shrink(dict *d) {
    /* Not while paused: shrinking an empty table swaps it at once, under an iterator. Not
     * while a grow is being prepared either (it goes ahead; a shrink may follow it). */
    if (is_rehashing(d) || d->pause_rehash > 0 || d->table[0] == NULL || d->next) return;
    size_t size = table_size(d, 0);
    if (d->size_exp[0] > DICT_MIN_EXP && d->used[0] < size / 8) begin_grow(d, exp_for(d->used[0]));
}

void dict_reserve(dict *d, size_t n) {
    if (d->table[0] != NULL || n == 0) return;
    uint64_t exp = exp_for(n);
    d->table[0] = mem_calloc((size_t)1 << exp, sizeof(dict_node *));
    d->size_exp[0] = exp;
}

static inline dict_node *find_in_chain(const dict_type *type, dict_node *n, const char *key,
                                       size_t len) {
    for (; n; n = n->next) {
        const char *k;
        size_t klen;
        type->key_of(n, &k, &klen);
        if (klen == len && memcmp(k, key, len) == 0) return n;
    }
    return NULL;
}

dict_node *dict_find_h(dict *d, const char *key, size_t len, uint64_t hash) {
    if (dict_size(d) == 0) return NULL;
    rehash_tick(d);
    size_t idx = (size_t)hash & table_mask(d, 0);
    if (!is_rehashing(d)) return find_in_chain(d->type, d->table[0][idx], key, len);
    if ((int64_t)idx >= d->rehash_idx) {
        dict_node *n = find_in_chain(d->type, d->table[0][idx], key, len);
        if (n) return n;
    }
    idx = (size_t)hash & table_mask(d, 1);
    return find_in_chain(d->type, d->table[1][idx], key, len);
}

dict_node *const *dict_bucket(const dict *d, uint64_t hash) {
    if (d->table[0] == NULL) return NULL;
    size_t idx = (size_t)hash & table_mask(d, 0);
    if (is_rehashing(d) && (int64_t)idx < d->rehash_idx)
        return &d->table[1][(size_t)hash & table_mask(d, 1)];
    return &d->table[0][idx];
}

dict_node *dict_peek_h(const dict *d, const char *key, size_t len, uint64_t hash) {
    dict_node *const *b = dict_bucket(d, hash);
    if (!b) return NULL;
    dict_node *n = find_in_chain(d->type, *b, key, len);
    if (n || !is_rehashing(d) || b != &d->table[0][(size_t)hash & table_mask(d, 0)]) return n;
    return find_in_chain(d->type, d->table[1][(size_t)hash & table_mask(d, 1)], key, len);
}

dict_node *dict_find(dict *d, const char *key, size_t len) {
    return dict_find_h(d, key, len, dict_hash(key, len));
}

/* The type's say on growing table[0] now (grow_allowed). */
static int may_grow(const dict *d) {
    if (!d->type->grow_allowed) return 1;
    size_t more = ((size_t)1 << exp_for(d->used[0])) * sizeof(dict_node *);
    return d->type->grow_allowed(more, (double)d->used[0] / (double)table_size(d, 0));
}

void dict_add_h(dict *d, dict_node *node, uint64_t hash) {
    rehash_tick(d);
    if (d->table[0] == NULL) {
        d->table[0] = mem_calloc((size_t)1 << DICT_MIN_EXP, sizeof(dict_node *));
        d->size_exp[0] = DICT_MIN_EXP;
    } else if (!is_rehashing(d) && d->used[0] >= table_size(d, 0)) {
        if (d->next) {
            if (d->used[0] % PREPARE_ADDS == 0) prepare_step(d, 1);
        } else if (may_grow(d)) {
            begin_grow(d, exp_for(d->used[0]));
        }
    }
    int t = is_rehashing(d) ? 1 : 0;
    size_t idx = (size_t)hash & table_mask(d, t);
    node->next = d->table[t][idx];
    d->table[t][idx] = node;
    note_chain(d, t, node);
    d->used[t]++;
}

void dict_add(dict *d, dict_node *node) {
    dict_add_h(d, node, hash_node(d, node));
}

/* Returns the link (bucket head or a node's next) pointing at the node with this key,
 * and its table in *t (OUT), or NULL. */
static dict_node **find_link_by_key(dict *d, const char *key, size_t len, uint64_t hash, int *t) {
    for (*t = 0; *t < 2 && d->table[*t]; (*t)++) {
        size_t idx = (size_t)hash & table_mask(d, *t);
        if (*t == 0 && (int64_t)idx < d->rehash_idx) continue;
        for (dict_node **link = &d->table[*t][idx]; *link; link = &(*link)->next) {
            const char *k;
            size_t klen;
            d->type->key_of(*link, &k, &klen);
            if (klen == len && memcmp(k, key, len) == 0) return link;
        }
    }
    return NULL;
}

/* Returns the link pointing at exactly this node pointer (which is only compared, never
 * read, so it may be a stale pointer), and its table in *t (OUT), or NULL. */
static dict_node **find_link_by_ptr(dict *d, const dict_node *node, uint64_t hash, int *t) {
    for (*t = 0; *t < 2 && d->table[*t]; (*t)++) {
        size_t idx = (size_t)hash & table_mask(d, *t);
        if (*t == 0 && (int64_t)idx < d->rehash_idx) continue;
        for (dict_node **link = &d->table[*t][idx]; *link; link = &(*link)->next)
            if (*link == node) return link;
    }
    return NULL;
}

dict_node *dict_remove(dict *d, const char *key, size_t len) {
    if (dict_size(d) == 0) return NULL;
    rehash_tick(d);
    int t;
    dict_node **link = find_link_by_key(d, key, len, dict_hash(key, len), &t);
    if (!link) return NULL;
    dict_node *n = *link;
    *link = n->next;
    d->used[t]--;
    shrink_tick(d);
    dict_maybe_shrink(d);
    return n;
}

void dict_unlink(dict *d, dict_node *node) {
    rehash_tick(d);
    int t;
    dict_node **link = find_link_by_ptr(d, node, hash_node(d, node), &t);
    assert(link && "dict_unlink: node not in dict");
    *link = node->next;
    d->used[t]--;
    shrink_tick(d);
    dict_maybe_shrink(d);
}

void dict_replace_node(dict *d, dict_node *old, dict_node *new_node) {
    /* No rehash step here: old may already be freed (realloc), and a step would read it. */
    int t;
    dict_node **link = find_link_by_ptr(d, old, hash_node(d, new_node), &t);
    assert(link && "dict_replace_node: old node not in dict");
    *link = new_node;
}

/* Reverses the bits of v. */
static uint64_t reverse_bits(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

/* Adds one to the cursor's masked bits counted from the top mask bit downwards; the
 * bits above the mask end up zero. Wraps to 0 after the last bucket. */
static uint64_t cursor_next(uint64_t v, uint64_t mask) {
    v |= ~mask; /* so the carry runs out of the mask once the masked bits are all ones */
    return reverse_bits(reverse_bits(v) + 1);
}

static void emit_chain(dict_node *n, void (*fn)(dict_node *, void *), void *ctx) {
    while (n) {
        dict_node *next = n->next;
        fn(n, ctx);
        n = next;
    }
}

uint64_t dict_scan(dict *d, uint64_t cursor, void (*fn)(dict_node *, void *), void *ctx) {
    if (dict_size(d) == 0) return 0;
    d->pause_rehash++;
    if (!is_rehashing(d)) {
        uint64_t mask = table_mask(d, 0);
        emit_chain(d->table[0][cursor & mask], fn, ctx);
        cursor = cursor_next(cursor, mask);
    } else {
        int small = d->size_exp[0] <= d->size_exp[1] ? 0 : 1;
        int large = 1 - small;
        uint64_t small_mask = table_mask(d, small), large_mask = table_mask(d, large);
        emit_chain(d->table[small][cursor & small_mask], fn, ctx);
        /* Every bucket of the larger table that folds onto that one: the same low bits
         * with each value of the extra high bits. When those bits wrap to zero, the carry
         * has gone on into the small mask bits, which moves the cursor to the next bucket
         * of the smaller table. */
        do {
            emit_chain(d->table[large][cursor & large_mask], fn, ctx);
            cursor = cursor_next(cursor, large_mask);
        } while (cursor & (small_mask ^ large_mask));
    }
    d->pause_rehash--;
    return cursor;
}

dict_node *dict_random(dict *d, uint64_t (*rand_fn)(void)) {
    if (dict_size(d) == 0) return NULL;
    rehash_tick(d);
    /* Buckets of table[0] below rehash_idx are empty: draw among the rest of table[0] and
     * all of table[1], as one range. */
    uint64_t start = is_rehashing(d) ? (uint64_t)d->rehash_idx : 0;
    uint64_t s0 = table_size(d, 0);
    uint64_t span = s0 - start + (is_rehashing(d) ? table_size(d, 1) : 0);
    size_t bound = d->max_chain[0] > d->max_chain[1] ? d->max_chain[0] : d->max_chain[1];
    assert(span > 0 && bound > 0); /* a dict with entries has buckets and a longest chain */
    for (;;) {
        uint64_t i = start + rand_fn() % span;
        dict_node *n = i < s0 ? d->table[0][i] : d->table[1][i - s0];
        /* Each (bucket, position < bound) pair is equally likely; an entry is returned
         * only for the pair naming it, so every entry has the same chance. */
        for (size_t pos = (size_t)(rand_fn() % bound); n && pos; pos--)
            n = n->next;
        if (n) return n;
    }
}

size_t dict_buckets_memory(const dict *d) {
    size_t n = 0;
    for (int t = 0; t < 2; t++)
        if (d->table[t]) n += table_size(d, t) * sizeof(dict_node *);
    if (d->next) n += ((size_t)1 << d->next_exp) * sizeof(dict_node *);
    return n;
}

int dict_is_rehashing(const dict *d) {
    return is_rehashing(d);
}

size_t dict_sample(dict *d, dict_node **out, size_t n, uint64_t (*rand_fn)(void)) {
    if (dict_size(d) == 0 || n == 0) return 0;
    rehash_tick(d);
    /* The same range as dict_random: the rest of table[0], then table[1]. */
    uint64_t start = is_rehashing(d) ? (uint64_t)d->rehash_idx : 0;
    uint64_t s0 = table_size(d, 0);
    uint64_t span = s0 - start + (is_rehashing(d) ? table_size(d, 1) : 0);
    assert(span > 0); /* a dict with entries has buckets */
    uint64_t off = rand_fn() % span;
    size_t got = 0;
    uint64_t steps = (uint64_t)n * 10;
    if (steps > span) steps = span;
    for (uint64_t k = 0; k < steps && got < n; k++) {
        uint64_t i = start + (off + k) % span;
        for (dict_node *e = i < s0 ? d->table[0][i] : d->table[1][i - s0]; e && got < n;
             e = e->next)
            out[got++] = e;
    }
    return got;
}

void dict_iter_init(dict_iter *it, dict *d) {
    it->d = d;
    it->table = 0;
    it->index = -1;
    it->entry = it->next = NULL;
    d->pause_rehash++;
}

dict_node *dict_iter_next(dict_iter *it) {
    dict *d = it->d;
    dict_node *n = it->next;
    while (!n) {
        it->index++;
        if ((size_t)it->index >= table_size(d, it->table)) {
            if (it->table == 1 || !is_rehashing(d)) {
                it->index = (int64_t)table_size(d, it->table); /* stay at the end */
                it->entry = NULL;
                return NULL;
            }
            it->table = 1;
            it->index = -1;
            continue;
        }
        n = d->table[it->table][it->index];
    }
    it->entry = n;
    it->next = n->next;
    return n;
}

dict_node *dict_iter_delete(dict_iter *it) {
    dict_node *n = it->entry;
    assert(n && "dict_iter_delete: no current entry");
    dict_unlink(it->d, n);
    it->entry = NULL;
    return n;
}

void dict_iter_deinit(dict_iter *it) {
    assert(it->d->pause_rehash > 0);
    it->d->pause_rehash--;
    /* Deletions during the walk could not shrink the table (paused). */
    dict_maybe_shrink(it->d);
}
