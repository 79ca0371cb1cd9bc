/* otab: Robin Hood open-addressing table of item pointers; see otab.h for the layout.
 *
 * Invariants of each table (cap slots, home range `range`, tail cap - range <= 255):
 *  - an occupied slot p holds an item whose home is p - dist, with dist <= 255, and every
 *    slot from its home to p is occupied;
 *  - along a run of occupied slots the homes never decrease (Robin Hood order), so the
 *    items of one home are contiguous and a search stops at the first larger home;
 *  - used[k] counts the occupied slots of table k.
 * While resizing, adds go to table 1 and table 0 is emptied a run at a time from
 * rehash_idx up; every slot of table 0 below rehash_idx is empty and slot rehash_idx - 1
 * ended a run, so an item of table 0 has its home at or above rehash_idx: a lookup whose
 * home in table 0 is below it only looks in table 1.
 *
 * An insert that finds no room (a run reaching the end of the array, or a dist past 255)
 * cannot happen at these loads short of astronomically bad luck with the seeded hash; it
 * is still handled: everything is moved at once into a larger table (rebuild). */
#include "mayfly/util/otab.h"

#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/prezero.h"

#include <assert.h>
#include <string.h>

#define PTR_MASK ((UINT64_C(1) << 48) - 1)
#define FRAG_SHIFT 48
#define DIST_SHIFT 56
#define DIST_ONE (UINT64_C(1) << DIST_SHIFT)
#define DIST_MAX 255u
#define MIN_CAP 8
#define PREPARE_MIN_BYTES (256 * 1024) /* new arrays from this size are zeroed in steps */
/* Adds per step. A growth from n items (load 0.8) prepares ~1.6 n slots, n / 315 pages:
 * at 8 adds a page the old table takes 2.5% more items meanwhile (load ~0.82), and an
 * HSET of 100 fields faults in 12 fresh pages instead of 50 (~10-20 us each, measured). */
#define PREPARE_ADDS 8
#define PREPARE_LATE 84 /* percent of table 0's home range: a late zeroing thread gets help */
#define EMPTY_VISITS 64 /* empty slots a resize step may pass per run moved */
#define RANDOM_TRIES 1000

__extension__ typedef unsigned __int128 u128;

static inline void *s_item(uint64_t s) {
    return (void *)(uintptr_t)(s & PTR_MASK);
}
static inline size_t s_dist(uint64_t s) {
    return (size_t)(s >> DIST_SHIFT);
}
static inline unsigned s_frag(uint64_t s) {
    return (unsigned)(s >> FRAG_SHIFT) & 0xffu;
}
static inline unsigned frag_of(uint64_t h) {
    return (unsigned)(h & 0xffu);
}
static inline uint64_t make_slot(const void *item, unsigned frag, size_t dist) {
    uint64_t p = (uint64_t)(uintptr_t)item;
    assert((p & ~PTR_MASK) == 0 && p != 0);
    return p | ((uint64_t)frag << FRAG_SHIFT) | ((uint64_t)dist << DIST_SHIFT);
}
static inline size_t home_of(uint64_t h, size_t range) {
    return (size_t)(((u128)h * range) >> 64);
}
/* The smallest hash whose home is >= j (j < range). */
static inline uint64_t boundary(size_t j, size_t range) {
    u128 num = ((u128)j << 64) + range - 1;
    return (uint64_t)(num / range);
}

static size_t range_of(size_t cap) {
    size_t tail = cap / 8;
    return cap - (tail > DIST_MAX ? DIST_MAX : tail);
}

/* 1 if n items fill more than MAX_LOAD (4/5) of a home range. */
static inline int over_load(size_t n, size_t range) {
    return n * 5 > range * 4;
}

/* The smallest size class (8, 10, 12, 14 x 2^k slots) holding n items within MAX_LOAD. */
static size_t cap_for(size_t n) {
    for (size_t p = 1;; p <<= 1)
        for (size_t m = 8; m < 16; m += 2)
            if (!over_load(n, range_of(m * p))) return m * p;
}

/* The size class after cap. */
static size_t class_after(size_t cap) {
    for (size_t p = 1;; p <<= 1)
        for (size_t m = 8; m < 16; m += 2)
            if (m * p > cap) return m * p;
}

static inline uint64_t hash_item(const otab *t, const void *item) {
    const char *key;
    size_t len;
    t->type->key_of(item, &key, &len);
    return dict_hash(key, len);
}

static inline int resizing(const otab *t) {
    return t->slots[1] != NULL;
}

void otab_init(otab *t, const otab_type *type) {
    memset(t, 0, sizeof(*t));
    t->type = type;
}

/* Drops the table being prepared, if any (its zeroing stopped first). */
static void drop_next(otab *t) {
    prezero_end(t->prep);
    t->prep = NULL;
    mem_free(t->next);
    t->next = NULL;
}

void otab_deinit(otab *t) {
    mem_free(t->slots[0]);
    mem_free(t->slots[1]);
    drop_next(t);
    otab_init(t, t->type);
}

void otab_clear(otab *t, void (*free_fn)(void *, void *), void *ctx) {
    for (int k = 0; k < 2 && free_fn; k++)
        for (size_t p = 0; t->slots[k] && p < t->cap[k]; p++)
            if (t->slots[k][p]) free_fn(s_item(t->slots[k][p]), ctx);
    otab_deinit(t);
}

size_t otab_bytes(const otab *t) {
    return (t->cap[0] + t->cap[1] + (t->next ? t->next_cap : 0)) * sizeof(uint64_t);
}

int otab_is_resizing(const otab *t) {
    return resizing(t) || t->next != NULL;
}

/* Files item in table k; returns 0 (table unchanged) when it has no room for it. */
static int insert_raw(otab *t, int k, void *item, uint64_t h) {
    uint64_t *s = t->slots[k];
    size_t cap = t->cap[k], home = home_of(h, t->range[k]);
    size_t p = home;
    while (p < cap && s[p] && p - s_dist(s[p]) <= home)
        p++;
    if (p - home > DIST_MAX) return 0;
    size_t e = p;
    while (e < cap && s[e]) {
        if (s_dist(s[e]) == DIST_MAX) return 0;
        e++;
    }
    if (e >= cap) return 0;
    for (size_t i = e; i > p; i--) /* shift the rest of the run up by one */
        s[i] = s[i - 1] + DIST_ONE;
    s[p] = make_slot(item, frag_of(h), p - home);
    t->used[k]++;
    return 1;
}

/* Empties slot p of table k, pulling the rest of its run back (backward shift). */
static void delete_at(otab *t, int k, size_t p) {
    uint64_t *s = t->slots[k];
    size_t cap = t->cap[k];
    while (p + 1 < cap && s[p + 1] && s_dist(s[p + 1]) > 0) {
        s[p] = s[p + 1] - DIST_ONE;
        p++;
    }
    s[p] = 0;
    t->used[k]--;
}

/* The home of h in table k, or SIZE_MAX when table k cannot hold it (table 0 below the
 * resize cursor). */
static inline size_t search_home(const otab *t, int k, uint64_t h) {
    size_t home = home_of(h, t->range[k]);
    if (k == 0 && resizing(t) && home < t->rehash_idx) return SIZE_MAX;
    return home;
}

/* Slot index of the item with this key in table k, or SIZE_MAX. */
static size_t find_key(const otab *t, int k, const char *key, size_t len, uint64_t h) {
    size_t home = search_home(t, k, h);
    if (home == SIZE_MAX) return SIZE_MAX;
    const uint64_t *s = t->slots[k];
    unsigned frag = frag_of(h);
    for (size_t p = home; p < t->cap[k]; p++) {
        uint64_t v = s[p];
        if (!v) return SIZE_MAX;
        size_t hm = p - s_dist(v);
        if (hm > home) return SIZE_MAX;
        if (hm == home && s_frag(v) == frag) {
            const char *k2;
            size_t l2;
            t->type->key_of(s_item(v), &k2, &l2);
            if (l2 == len && memcmp(k2, key, len) == 0) return p;
        }
    }
    return SIZE_MAX;
}

/* Slot index of exactly this item pointer (compared only) in table k, or SIZE_MAX. */
static size_t find_ptr(const otab *t, int k, const void *item, uint64_t h) {
    if (!t->slots[k]) return SIZE_MAX;
    size_t home = search_home(t, k, h);
    if (home == SIZE_MAX) return SIZE_MAX;
    const uint64_t *s = t->slots[k];
    for (size_t p = home; p < t->cap[k]; p++) {
        uint64_t v = s[p];
        if (!v || p - s_dist(v) > home) return SIZE_MAX;
        if (s_item(v) == item) return p;
    }
    return SIZE_MAX;
}

/* ---- resizing ------------------------------------------------------------------------ */

static void finish_resize(otab *t) {
    assert(t->used[0] == 0);
    mem_free(t->slots[0]);
    t->slots[0] = t->slots[1];
    t->cap[0] = t->cap[1];
    t->range[0] = t->range[1];
    t->used[0] = t->used[1];
    t->slots[1] = NULL;
    t->cap[1] = t->range[1] = t->used[1] = 0;
    t->rehash_idx = 0;
}

/* Makes arr (cap slots, all zero) the table being filled. */
static void begin_resize(otab *t, uint64_t *arr, size_t cap) {
    assert(!resizing(t));
    t->slots[1] = arr;
    t->cap[1] = cap;
    t->range[1] = range_of(cap);
    t->used[1] = 0;
    t->rehash_idx = 0;
    t->ahead = 0;
    if (t->used[0] == 0) finish_resize(t);
}

/* Moves every item of both tables (and extra, if not NULL) into one new table of at
 * least min_cap slots, at once; a larger one if some item finds no room. */
static void rebuild(otab *t, size_t min_cap, void *extra, uint64_t extra_h) {
    assert(t->pause == 0);
    drop_next(t);
    for (size_t cap = min_cap;; cap = class_after(cap)) {
        otab n;
        otab_init(&n, t->type);
        n.slots[0] = mem_calloc(cap, sizeof(uint64_t));
        n.cap[0] = cap;
        n.range[0] = range_of(cap);
        int ok = !extra || insert_raw(&n, 0, extra, extra_h);
        for (int k = 0; k < 2 && ok; k++)
            for (size_t p = 0; t->slots[k] && p < t->cap[k] && ok; p++)
                if (t->slots[k][p])
                    ok = insert_raw(&n, 0, s_item(t->slots[k][p]),
                                    hash_item(t, s_item(t->slots[k][p])));
        if (!ok) {
            mem_free(n.slots[0]);
            continue;
        }
        mem_free(t->slots[0]);
        mem_free(t->slots[1]);
        n.type = t->type;
        *t = n;
        return;
    }
}

/* No room for item in table k: rebuild into a table one class above the larger one. */
static void add_no_room(otab *t, void *item, uint64_t h) {
    size_t cap = t->cap[0] > t->cap[1] ? t->cap[0] : t->cap[1];
    size_t want = cap_for(otab_size(t) + 1);
    rebuild(t, want > cap ? want : class_after(cap), item, h);
}

/* Starts growing or shrinking to cap slots: at once for a small array, else by preparing
 * one a page at a time. */
static void begin_grow(otab *t, size_t cap) {
    size_t bytes = cap * sizeof(uint64_t);
    if (bytes < PREPARE_MIN_BYTES) {
        begin_resize(t, mem_calloc(cap, sizeof(uint64_t)), cap);
        return;
    }
    t->next = mem_alloc(bytes);
    t->next_cap = cap;
    t->prep = prezero_begin(t->next, bytes);
}

/* 1 when the table being prepared is late: table 0 past load 0.84 (PREPARE_LATE) of its
 * home range (the zeroing thread did not get a CPU for a long while); the caller's steps
 * then zero pages too, before a run reaches the end of the array and forces a rebuild. */
static int prepare_late(const otab *t) {
    return t->used[0] * 100 > t->range[0] * PREPARE_LATE;
}

/* Zeroes up to `pages` more pages of the table being prepared (when no thread does it, or
 * it is late) and, once it is all zero and nothing walks the table, starts the resize
 * into it. Returns 1 while preparing. */
static int prepare_step(otab *t, size_t pages) {
    if (!prezero_step(t->prep, pages, prepare_late(t)) || t->pause > 0) return 1;
    prezero_end(t->prep);
    t->prep = NULL;
    uint64_t *arr = t->next;
    t->next = NULL;
    begin_resize(t, arr, t->next_cap);
    return 0;
}

/* Moves the run of table 0 starting at rehash_idx (an occupied slot) to table 1. */
static void move_run(otab *t) {
    uint64_t *s = t->slots[0];
    size_t i = t->rehash_idx, cap = t->cap[0];
    while (i < cap && s[i]) {
        if (i + 8 < cap && s[i + 8]) __builtin_prefetch(s_item(s[i + 8]));
        void *item = s_item(s[i]);
        if (!insert_raw(t, 1, item, hash_item(t, item))) {
            rebuild(t, class_after(t->cap[1]), NULL, 0);
            return;
        }
        s[i] = 0;
        t->used[0]--;
        i++;
    }
    t->rehash_idx = i;
}

int otab_resize_step(otab *t, int n) {
    if (t->pause > 0) return otab_is_resizing(t);
    if (t->next) return prepare_step(t, (size_t)n) || resizing(t);
    if (!resizing(t)) return 0;
    int empty_visits = n * EMPTY_VISITS;
    while (n-- > 0 && t->used[0] != 0) {
        /* used[0] > 0, so an occupied slot remains at or after rehash_idx. */
        while (t->slots[0][t->rehash_idx] == 0) {
            t->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        move_run(t);
        if (!resizing(t)) return 0; /* rebuilt */
    }
    if (t->used[0] == 0) finish_resize(t);
    return resizing(t);
}

/* The implicit step of find/add/remove: a run moved, or, while a smaller table is being
 * prepared for a shrink, a page of it zeroed every PREPARE_ADDS operations (the adds of a
 * growth zero theirs in otab_add_h). */
static inline void tick(otab *t) {
    if (resizing(t) && t->pause == 0)
        otab_resize_step(t, 1);
    else if (t->next && t->next_cap < t->cap[0] && t->used[0] % PREPARE_ADDS == 0)
        prepare_step(t, 1);
}

static void maybe_shrink(otab *t) {
    if (resizing(t) || t->next || t->pause > 0 || !t->slots[0] || t->cap[0] <= MIN_CAP) return;
    if (t->used[0] * 8 >= t->range[0]) return;
    size_t cap = cap_for(t->used[0] * 2);
    if (cap < t->cap[0]) begin_grow(t, cap); /* a large smaller table is prepared too */
}

void otab_reserve(otab *t, size_t n) {
    if (t->slots[0] || n == 0) return;
    size_t cap = cap_for(n);
    t->slots[0] = mem_calloc(cap, sizeof(uint64_t));
    t->cap[0] = cap;
    t->range[0] = range_of(cap);
}

/* ---- operations ---------------------------------------------------------------------- */

void *otab_find_h(otab *t, const char *key, size_t len, uint64_t hash) {
    if (otab_size(t) == 0) return NULL;
    tick(t);
    size_t p = find_key(t, 0, key, len, hash);
    if (p != SIZE_MAX) return s_item(t->slots[0][p]);
    if (!resizing(t)) return NULL;
    p = find_key(t, 1, key, len, hash);
    return p != SIZE_MAX ? s_item(t->slots[1][p]) : NULL;
}

/* The table a lookup of h searches first (table 1 once table 0's run for it has moved). */
static int table_of(const otab *t, uint64_t h) {
    return resizing(t) && home_of(h, t->range[0]) < t->rehash_idx ? 1 : 0;
}

void otab_prefetch_slot(const otab *t, uint64_t hash) {
    int k = table_of(t, hash);
    if (t->slots[k]) __builtin_prefetch(&t->slots[k][home_of(hash, t->range[k])]);
}

void otab_prefetch_item(const otab *t, uint64_t hash) {
    int k = table_of(t, hash);
    if (!t->slots[k]) return;
    size_t home = home_of(hash, t->range[k]), end = home + 8;
    unsigned frag = frag_of(hash);
    for (size_t p = home; p < t->cap[k] && p < end; p++) {
        uint64_t v = t->slots[k][p];
        if (!v || p - s_dist(v) > home) return;
        if (p - s_dist(v) == home && s_frag(v) == frag) {
            __builtin_prefetch(s_item(v));
            return;
        }
    }
}

void *otab_find(otab *t, const char *key, size_t len) {
    return otab_find_h(t, key, len, dict_hash(key, len));
}

/* An add's share of a resize. Table 0 must be empty before table 1 passes its load limit,
 * so each add moves twice its share of the items left: 2 * used[0] / room, room being the
 * items table 1 can still take within MAX_LOAD (a growth leaves room for 14-30% more
 * items: 8-15 per add). Runs move whole (at load 0.8 they are tens of items long), so
 * what a run moves beyond the share is credited to the next adds. The former fixed four
 * runs per add moved several times more than that: an HSET of 100 fields into a 10M-field
 * hash being resized spent about a millisecond moving runs. */
static void add_step(otab *t) {
    size_t limit = t->range[1] / 5 * 4, total = otab_size(t);
    size_t share = 2 * t->used[0] / (limit > total ? limit - total : 1) + 1;
    if (t->ahead >= share) {
        t->ahead -= share;
        return;
    }
    share -= t->ahead;
    size_t moved = 0;
    int empty_visits = 4 * EMPTY_VISITS;
    while (moved < share && t->used[0] != 0) {
        /* used[0] > 0, so an occupied slot remains at or after rehash_idx. */
        if (t->slots[0][t->rehash_idx] == 0) {
            t->rehash_idx++;
            if (--empty_visits == 0) break;
            continue;
        }
        size_t before = t->used[0];
        move_run(t);
        if (!resizing(t)) return; /* rebuilt */
        moved += before - t->used[0];
    }
    t->ahead = moved > share ? moved - share : 0;
    if (t->used[0] == 0) finish_resize(t);
}

void otab_add_h(otab *t, void *item, uint64_t hash) {
    if (resizing(t) && t->pause == 0) add_step(t);
    if (!t->slots[0]) {
        otab_reserve(t, 1);
    } else if (!resizing(t)) {
        if (t->next && t->next_cap < t->cap[0] &&
            over_load(t->used[0] + 1 + (t->used[0] + 1) / 3, range_of(t->next_cap))) {
            /* Adds since a shrink began: the smaller table would run out of room. */
            drop_next(t);
        }
        if (t->next) {
            if (t->used[0] % PREPARE_ADDS == 0) prepare_step(t, 1);
        } else if (over_load(t->used[0] + 1, t->range[0])) {
            /* Room for 30% more: a class step (1.14-1.25x) would move every item about
             * 5.4 times over the growth of a table, this about 2.5 times (simulated); the
             * load then ranges 0.5-0.8 instead of 0.64-0.8. */
            size_t cap = cap_for(t->used[0] + 1 + (t->used[0] + 1) * 3 / 10);
            begin_grow(t, cap > t->cap[0] ? cap : class_after(t->cap[0]));
        }
    }
    if (!insert_raw(t, resizing(t) ? 1 : 0, item, hash)) add_no_room(t, item, hash);
}

void otab_add(otab *t, void *item) {
    otab_add_h(t, item, hash_item(t, item));
}

void otab_remove(otab *t, void *item) {
    tick(t);
    uint64_t h = hash_item(t, item);
    for (int k = 0; k < 2; k++) {
        size_t p = find_ptr(t, k, item, h);
        if (p == SIZE_MAX) continue;
        delete_at(t, k, p);
        maybe_shrink(t);
        return;
    }
    assert(0 && "otab_remove: item not filed");
}

void *otab_remove_key(otab *t, const char *key, size_t len) {
    if (otab_size(t) == 0) return NULL;
    tick(t);
    uint64_t h = dict_hash(key, len);
    for (int k = 0; k < 2 && t->slots[k]; k++) {
        size_t p = find_key(t, k, key, len, h);
        if (p == SIZE_MAX) continue;
        void *item = s_item(t->slots[k][p]);
        delete_at(t, k, p);
        maybe_shrink(t);
        return item;
    }
    return NULL;
}

void otab_replace(otab *t, const void *old, void *new_item) {
    /* No resize step: old may be freed already and a step would read it. */
    uint64_t h = hash_item(t, new_item);
    for (int k = 0; k < 2; k++) {
        size_t p = find_ptr(t, k, old, h);
        if (p == SIZE_MAX) continue;
        uint64_t v = t->slots[k][p];
        t->slots[k][p] = make_slot(new_item, s_frag(v), s_dist(v));
        return;
    }
    assert(0 && "otab_replace: old item not filed");
}

/* ---- scan, random, drain ------------------------------------------------------------- */

/* Emits the items of table k whose home is >= i, from slot i to the end of its run;
 * returns the first slot after the walk (> i), an empty one or cap. */
static size_t scan_run(const otab *t, int k, size_t i, void (*fn)(void *, void *), void *ctx) {
    const uint64_t *s = t->slots[k];
    size_t p = i;
    for (; p < t->cap[k] && s[p]; p++)
        if (p - s_dist(s[p]) >= i) fn(s_item(s[p]), ctx);
    return p > i ? p : i + 1;
}

/* Emits the items of table k whose home lies in [i, q]: they sit before the first empty
 * slot at or after q. */
static void scan_span(const otab *t, int k, size_t i, size_t q, void (*fn)(void *, void *),
                      void *ctx) {
    const uint64_t *s = t->slots[k];
    for (size_t p = i; p < t->cap[k]; p++) {
        if (!s[p]) {
            if (p >= q) return;
            continue;
        }
        size_t hm = p - s_dist(s[p]);
        if (hm >= i && hm <= q) fn(s_item(s[p]), ctx);
    }
}

uint64_t otab_scan(otab *t, uint64_t cursor, void (*fn)(void *, void *), void *ctx) {
    if (otab_size(t) == 0) return 0;
    t->pause++;
    int small = resizing(t) && t->cap[1] < t->cap[0] ? 1 : 0;
    size_t range = t->range[small];
    /* All items with a hash in [cursor, next) have their home in [i, j) of the smaller
     * table and sit in the slots walked, since slot j is empty (or past the end). */
    size_t j = scan_run(t, small, home_of(cursor, range), fn, ctx);
    uint64_t next = j >= range ? 0 : boundary(j, range);
    if (resizing(t)) {
        int large = 1 - small;
        size_t rl = t->range[large];
        size_t q = next ? home_of(next - 1, rl) : rl - 1;
        scan_span(t, large, home_of(cursor, rl), q, fn, ctx);
    }
    t->pause--;
    return next;
}

/* Slot i of the two tables seen as one array (table 0 first). */
static inline uint64_t slot_at(const otab *t, size_t i) {
    if (i < t->cap[0]) return t->slots[0][i];
    return t->slots[1] ? t->slots[1][i - t->cap[0]] : 0;
}

void *otab_random(otab *t, uint64_t (*rand_fn)(void)) {
    if (otab_size(t) == 0) return NULL;
    tick(t);
    size_t total = t->cap[0] + t->cap[1];
    for (int tries = 0; tries < RANDOM_TRIES; tries++) {
        uint64_t v = slot_at(t, (size_t)(rand_fn() % total));
        if (v) return s_item(v);
    }
    /* Very sparse (a shrink held off by a walker): the next item after a random slot. */
    size_t r = (size_t)(rand_fn() % total);
    for (size_t k = 0; k < total; k++) {
        uint64_t v = slot_at(t, (r + k) % total);
        if (v) return s_item(v);
    }
    return NULL;
}

int otab_drain(otab *t, size_t max, void (*free_fn)(void *, void *), void *ctx) {
    /* Table 0 from rehash_idx up (0 unless resizing, when the slots below are empty),
     * then table 1 once it replaces table 0. Work in eighths: an item costs 8, an empty
     * slot 1. */
    drop_next(t);
    size_t work = 0, budget = max * 8;
    while (otab_size(t) > 0) {
        if (t->used[0] == 0) {
            finish_resize(t);
            continue;
        }
        if (work >= budget) return 1;
        uint64_t v = t->slots[0][t->rehash_idx];
        t->slots[0][t->rehash_idx++] = 0;
        if (!v) {
            work++;
            continue;
        }
        t->used[0]--;
        free_fn(s_item(v), ctx);
        work += 8;
    }
    return 0;
}

/* ---- iteration ----------------------------------------------------------------------- */

void otab_iter_init(otab_iter *it, otab *t) {
    it->t = t;
    it->table = 0;
    it->fresh = 1;
    it->index = 0;
    it->item = NULL;
    t->pause++;
}

void *otab_iter_next(otab_iter *it) {
    otab *t = it->t;
    if (!it->fresh) it->index++;
    it->fresh = 0;
    for (;;) {
        if (!t->slots[it->table] || it->index >= t->cap[it->table]) {
            if (it->table == 0 && resizing(t)) {
                it->table = 1;
                it->index = 0;
                continue;
            }
            it->fresh = 1; /* stay at the end */
            it->item = NULL;
            return NULL;
        }
        uint64_t v = t->slots[it->table][it->index];
        if (v) return it->item = s_item(v);
        it->index++;
    }
}

void *otab_iter_delete(otab_iter *it) {
    void *item = it->item;
    assert(item && "otab_iter_delete: no current item");
    assert(s_item(it->t->slots[it->table][it->index]) == item);
    delete_at(it->t, it->table, it->index);
    it->item = NULL;
    it->fresh = 1; /* the backward shift may have pulled the next item into this slot */
    return item;
}

void otab_iter_deinit(otab_iter *it) {
    assert(it->t->pause > 0);
    it->t->pause--;
    maybe_shrink(it->t);
}

/* ---- checks -------------------------------------------------------------------------- */

static int check_table(const otab *t, int k) {
    const uint64_t *s = t->slots[k];
    size_t used = 0, prev_home = 0;
    for (size_t p = 0; p < t->cap[k]; p++) {
        if (!s[p]) continue;
        used++;
        size_t dist = s_dist(s[p]);
        if (dist > p) return -1;
        size_t home = p - dist;
        uint64_t h = hash_item(t, s_item(s[p]));
        if (home != home_of(h, t->range[k]) || s_frag(s[p]) != frag_of(h)) return -2;
        if (dist > 0 && !s[p - 1]) return -3; /* a gap between home and slot */
        if (p > 0 && s[p - 1] && home < prev_home) return -4;
        if (k == 0 && resizing(t) && home < t->rehash_idx) return -5;
        prev_home = home;
    }
    return used == t->used[k] ? 0 : -6;
}

int otab_check(const otab *t) {
    for (int k = 0; k < 2; k++) {
        if (!t->slots[k]) {
            if (t->used[k]) return -7;
            continue;
        }
        if (t->range[k] != range_of(t->cap[k])) return -8;
        int rc = check_table(t, k);
        if (rc) return rc - 10 * k;
    }
    return 0;
}
