/* ostree: an order-statistic B+ tree of item pointers; see ostree.h.
 *
 * Layout. Leaves hold up to LEAF_CAP item pointers sorted by (key, address). Inner nodes
 * hold up to FAN children, each with the number of items below it (cnt) and, from the
 * second child on, a separator: a (key, address) pair that is <= every item of that child
 * and > every item of the child before it. All leaves are at depth `height`.
 *
 *              inner: cnt   [ 40 ][ 63 ][ 12 ]
 *                     sep   [ -- ][k=9 ][k=30]       child i holds items >= sep[i]
 *                     child [ L0 ][ L1 ][ L2 ]       and < sep[i + 1]
 *
 * Descending to the child of a probe (k, a) picks the last child whose separator is <= the
 * probe, so the descent reads only the inner nodes; the leaf search reads items' keys.
 * Separators stay valid lower bounds when items are removed (they are never raised), so a
 * removal changes no separator.
 *
 * Splits. A full leaf first hands items to a neighbour with room; failing that, a full leaf
 * and its full right neighbour become three leaves two thirds full (B*-tree); failing that
 * (the last leaf of its parent) it splits in two halves, except when the new item goes past
 * its end: then the old leaf stays full and the new one starts with the item, so keys filed
 * in increasing order (a TTL refreshed to now + constant) fill leaves completely. Inner
 * nodes split in halves, or keep full when the new child goes last. Merges. A leaf (or inner node)
 * under a quarter full is merged into a neighbour when both fit in three quarters of a node; an
 * empty node is unlinked; a root with one child gives way to that child. No node is ever copied
 * whole or reallocated. */
#include "mayfly/util/ostree.h"

#include "mayfly/util/mem.h"

#include <assert.h>
#include <string.h>

#define ISZ 6        /* bytes per item pointer in a leaf: user-space addresses fit 48 bits */
#define LEAF_CAP 170 /* 4 + 170 * 6 = 1024 bytes, one jemalloc size class */
#define FAN 31       /* 8 + 31 * 32 = 1000 bytes, in the 1024-byte class */
#define MAX_HEIGHT 40

typedef struct leaf {
    uint32_t n;                 /* items */
    uint8_t it[LEAF_CAP * ISZ]; /* item pointers, 6 bytes each, little-endian */
} leaf;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OSTREE_LE 1 /* a 6-byte pointer is two loads or stores (4 + 2), not six */
#else
#define OSTREE_LE 0
#endif

/* The low 32 bits of item j of an array of 6-byte pointers. */
static inline uint32_t low_at(const uint8_t *arr, size_t j) {
    const uint8_t *b = arr + j * ISZ;
    uint32_t lo;
    if (OSTREE_LE) {
        memcpy(&lo, b, 4);
        return lo;
    }
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Item j of an array of 6-byte pointers. */
static inline void *get_at(const uint8_t *arr, size_t j) {
    const uint8_t *b = arr + j * ISZ;
    uint64_t hi = (uint64_t)b[4] | (uint64_t)b[5] << 8;
    return (void *)(uintptr_t)(low_at(arr, j) | hi << 32);
}

static inline void set_at(uint8_t *arr, size_t j, const void *item) {
    uint64_t v = (uint64_t)(uintptr_t)item;
    assert((v >> (8 * ISZ)) == 0);
    uint8_t *b = arr + j * ISZ;
    if (OSTREE_LE) {
        memcpy(b, &v, ISZ);
        return;
    }
    for (int i = 0; i < ISZ; i++, v >>= 8)
        b[i] = (uint8_t)v;
}

#define IT(l, j) ((l)->it + (size_t)(j)*ISZ)

typedef struct inner {
    uint32_t n; /* children */
    uint32_t unused;
    size_t cnt[FAN];   /* items under each child */
    int64_t sk[FAN];   /* separator keys (sk[0] is the node's own lower bound, if known) */
    uintptr_t sa[FAN]; /* separator addresses */
    void *ch[FAN];     /* children: leaves when this node is at depth height - 1 */
} inner;

/* The inner nodes of a descent and the child taken in each, root first. */
typedef struct path {
    inner *n[MAX_HEIGHT];
    unsigned i[MAX_HEIGHT];
} path;

/* 1 if (k1, a1) sorts before (k2, a2). */
static inline int before(int64_t k1, uintptr_t a1, int64_t k2, uintptr_t a2) {
    return k1 < k2 || (k1 == k2 && a1 < a2);
}

static inline int64_t key_at(const ostree *t, const leaf *l, unsigned j) {
    return t->key_of(get_at(l->it, j));
}

void ostree_init(ostree *t, ostree_key_fn key_of) {
    t->root = NULL;
    t->len = 0;
    t->bytes = 0;
    t->height = 0;
    t->key_of = key_of;
}

static void free_subtree(void *node, unsigned levels) {
    if (levels > 0) {
        inner *in = node;
        for (unsigned i = 0; i < in->n; i++)
            free_subtree(in->ch[i], levels - 1);
    }
    mem_free(node);
}

/* Frees up to *budget nodes of a subtree, last children first (each inner node's n counts
 * the children left); returns 1 once the node itself is freed. */
static int free_some(void *node, unsigned levels, size_t *budget) {
    if (levels > 0) {
        inner *in = node;
        while (in->n > 0) {
            if (!free_some(in->ch[in->n - 1], levels - 1, budget)) return 0;
            in->n--;
        }
    }
    if (*budget == 0) return 0;
    mem_free(node);
    (*budget)--;
    return 1;
}

int ostree_drain(ostree *t, size_t max_nodes) {
    size_t budget = max_nodes ? max_nodes : 1;
    if (t->root && !free_some(t->root, t->height, &budget)) return 1;
    ostree_init(t, t->key_of);
    return 0;
}

void ostree_deinit(ostree *t) {
    if (t->root) free_subtree(t->root, t->height);
    ostree_init(t, t->key_of);
}

static leaf *new_leaf(ostree *t) {
    leaf *l = mem_alloc(sizeof(leaf));
    l->n = 0;
    t->bytes += sizeof(leaf);
    return l;
}

static inner *new_inner(ostree *t) {
    inner *in = mem_alloc(sizeof(inner));
    in->n = 0;
    t->bytes += sizeof(inner);
    return in;
}

static void free_node(ostree *t, void *node, int is_leaf) {
    t->bytes -= is_leaf ? sizeof(leaf) : sizeof(inner);
    mem_free(node);
}

/* The child of in whose range holds the probe (k, a). */
static inline unsigned child_for(const inner *in, int64_t k, uintptr_t a) {
    unsigned lo = 1, hi = in->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (before(k, a, in->sk[mid], in->sa[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo - 1;
}

/* The first position in l whose item sorts after (k, a). */
static unsigned leaf_upper(const ostree *t, const leaf *l, int64_t k, uintptr_t a) {
    unsigned n = l->n;
    if (n == 0) return 0;
    int64_t last = key_at(t, l, n - 1);
    if (before(last, (uintptr_t)get_at(l->it, n - 1), k, a)) return n; /* the common append */
    unsigned lo = 0, hi = n - 1;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (before(k, a, key_at(t, l, mid), (uintptr_t)get_at(l->it, mid)))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static size_t sum_counts(const inner *in, unsigned from, unsigned to) {
    size_t s = 0;
    for (unsigned i = from; i < to; i++)
        s += in->cnt[i];
    return s;
}

/* Inserts child c (cnt items, separator (k, a)) at position i of in, which has room. */
static void inner_insert(inner *in, unsigned i, void *c, size_t cnt, int64_t k, uintptr_t a) {
    unsigned tail = in->n - i;
    memmove(in->cnt + i + 1, in->cnt + i, tail * sizeof(in->cnt[0]));
    memmove(in->sk + i + 1, in->sk + i, tail * sizeof(in->sk[0]));
    memmove(in->sa + i + 1, in->sa + i, tail * sizeof(in->sa[0]));
    memmove(in->ch + i + 1, in->ch + i, tail * sizeof(in->ch[0]));
    in->cnt[i] = cnt;
    in->sk[i] = k;
    in->sa[i] = a;
    in->ch[i] = c;
    in->n++;
}

/* Removes child i of in (the child itself is not freed). */
static void inner_delete(inner *in, unsigned i) {
    unsigned tail = in->n - i - 1;
    memmove(in->cnt + i, in->cnt + i + 1, tail * sizeof(in->cnt[0]));
    memmove(in->sk + i, in->sk + i + 1, tail * sizeof(in->sk[0]));
    memmove(in->sa + i, in->sa + i + 1, tail * sizeof(in->sa[0]));
    memmove(in->ch + i, in->ch + i + 1, tail * sizeof(in->ch[0]));
    in->n--;
}

/* Appends children [from, from + n) of src to dst. */
static void inner_append(inner *dst, const inner *src, unsigned from, unsigned n) {
    memcpy(dst->cnt + dst->n, src->cnt + from, n * sizeof(dst->cnt[0]));
    memcpy(dst->sk + dst->n, src->sk + from, n * sizeof(dst->sk[0]));
    memcpy(dst->sa + dst->n, src->sa + from, n * sizeof(dst->sa[0]));
    memcpy(dst->ch + dst->n, src->ch + from, n * sizeof(dst->ch[0]));
    dst->n += n;
}

/* The node at depth d (of path p) got a new right sibling `right` holding right_cnt items
 * with lower bound (k, a), and now holds left_cnt items itself: links the sibling into the
 * parents, splitting them as needed, up to a new root. */
static void link_right(ostree *t, path *p, unsigned d, void *right, size_t left_cnt,
                       size_t right_cnt, int64_t k, uintptr_t a) {
    while (d > 0) {
        inner *in = p->n[d - 1];
        unsigned i = p->i[d - 1];
        in->cnt[i] = left_cnt;
        if (in->n < FAN) {
            inner_insert(in, i + 1, right, right_cnt, k, a);
            return;
        }
        /* Split in: the new child goes to i + 1 of FAN + 1 children. */
        inner *r = new_inner(t);
        unsigned keep = i + 1 == FAN ? FAN : (FAN + 1) / 2;
        if (i + 1 < keep) {
            inner_append(r, in, keep - 1, FAN - (keep - 1));
            in->n = keep - 1;
            inner_insert(in, i + 1, right, right_cnt, k, a);
        } else {
            inner_append(r, in, keep, FAN - keep);
            in->n = keep;
            inner_insert(r, i + 1 - keep, right, right_cnt, k, a);
        }
        left_cnt = sum_counts(in, 0, in->n);
        right_cnt = sum_counts(r, 0, r->n);
        k = r->sk[0];
        a = r->sa[0];
        right = r;
        d--;
    }
    inner *root = new_inner(t);
    root->n = 2;
    root->ch[0] = t->root;
    root->cnt[0] = left_cnt;
    root->sk[0] = INT64_MIN;
    root->sa[0] = 0;
    root->ch[1] = right;
    root->cnt[1] = right_cnt;
    root->sk[1] = k;
    root->sa[1] = a;
    t->root = root;
    t->height++;
    assert(t->height < MAX_HEIGHT);
}

/* Spreads the LEAF_CAP + 1 items of all (child i of par, full, plus the new item) over it
 * and a neighbour that has SHARE_MIN free slots, instead of splitting (with the 2-in-3
 * split below, leaves filled in random order average over 80% full instead of 70%).
 * Returns 0 if no neighbour has the room. */
#define SHARE_MIN 4
static int share_with_sibling(ostree *t, inner *par, unsigned i, uint8_t *all) {
    leaf *l = par->ch[i];
    const unsigned total = LEAF_CAP + 1;
    if (i > 0 && ((leaf *)par->ch[i - 1])->n + SHARE_MIN <= LEAF_CAP) {
        leaf *left = par->ch[i - 1];
        unsigned sum = left->n + total, to_left = sum / 2 - left->n;
        memcpy(IT(left, left->n), all, to_left * ISZ);
        left->n += to_left;
        l->n = total - to_left;
        memcpy(l->it, all + to_left * ISZ, l->n * ISZ);
        par->cnt[i - 1] = left->n;
        par->cnt[i] = l->n;
        par->sk[i] = key_at(t, l, 0);
        par->sa[i] = (uintptr_t)get_at(l->it, 0);
        return 1;
    }
    if (i + 1 < par->n && ((leaf *)par->ch[i + 1])->n + SHARE_MIN <= LEAF_CAP) {
        leaf *right = par->ch[i + 1];
        unsigned sum = right->n + total, to_right = sum / 2 - right->n;
        memmove(IT(right, to_right), right->it, right->n * ISZ);
        memcpy(right->it, all + (total - to_right) * ISZ, to_right * ISZ);
        right->n += to_right;
        l->n = total - to_right;
        memcpy(l->it, all, l->n * ISZ);
        par->cnt[i] = l->n;
        par->cnt[i + 1] = right->n;
        par->sk[i + 1] = key_at(t, right, 0);
        par->sa[i + 1] = (uintptr_t)get_at(right->it, 0);
        return 1;
    }
    return 0;
}

/* When the full leaf (child i of the last inner node on p, its LEAF_CAP + 1 items in all)
 * has a full right neighbour, the two become three leaves two thirds full (a B*-tree
 * split), so that leaves filled at random stay above two thirds. Returns 0 without a right
 * neighbour. */
static int split_two_in_three(ostree *t, path *p, uint8_t *all) {
    unsigned d = t->height - 1;
    inner *par = p->n[d];
    unsigned i = p->i[d];
    if (i + 1 >= par->n) return 0;
    leaf *l = par->ch[i], *right = par->ch[i + 1];
    const unsigned total = LEAF_CAP + 1 + right->n;
    uint8_t both[(2 * LEAF_CAP + 1) * ISZ];
    memcpy(both, all, (LEAF_CAP + 1) * ISZ);
    memcpy(both + (LEAF_CAP + 1) * ISZ, right->it, right->n * ISZ);
    leaf *third = new_leaf(t);
    l->n = total / 3;
    right->n = (total - l->n) / 2;
    third->n = total - l->n - right->n;
    memcpy(l->it, both, l->n * ISZ);
    memcpy(right->it, both + l->n * ISZ, right->n * ISZ);
    memcpy(third->it, both + (l->n + right->n) * ISZ, third->n * ISZ);
    par->cnt[i] = l->n;
    par->sk[i + 1] = key_at(t, right, 0);
    par->sa[i + 1] = (uintptr_t)get_at(right->it, 0);
    p->i[d] = i + 1;
    link_right(t, p, t->height, third, right->n, third->n, key_at(t, third, 0),
               (uintptr_t)get_at(third->it, 0));
    return 1;
}

void ostree_insert(ostree *t, void *item) {
    int64_t k = t->key_of(item);
    uintptr_t a = (uintptr_t)item;
    t->len++;
    if (!t->root) {
        leaf *l = new_leaf(t);
        set_at(l->it, 0, item);
        l->n = 1;
        t->root = l;
        return;
    }
    path p;
    void *node = t->root;
    for (unsigned d = 0; d < t->height; d++) {
        inner *in = node;
        unsigned i = child_for(in, k, a);
        in->cnt[i]++;
        p.n[d] = in;
        p.i[d] = i;
        node = in->ch[i];
    }
    leaf *l = node;
    unsigned pos = leaf_upper(t, l, k, a);
    if (l->n < LEAF_CAP) {
        memmove(IT(l, pos + 1), IT(l, pos), (l->n - pos) * ISZ);
        set_at(l->it, pos, item);
        l->n++;
        return;
    }
    /* Full: LEAF_CAP + 1 items, the new one at pos. */
    uint8_t all[(LEAF_CAP + 1) * ISZ];
    memcpy(all, l->it, pos * ISZ);
    set_at(all, pos, item);
    memcpy(all + (pos + 1) * ISZ, IT(l, pos), (LEAF_CAP - pos) * ISZ);
    if (t->height > 0) {
        if (share_with_sibling(t, p.n[t->height - 1], p.i[t->height - 1], all)) return;
        if (pos < LEAF_CAP && split_two_in_three(t, &p, all)) return;
    }
    unsigned keep = pos == LEAF_CAP ? LEAF_CAP : (LEAF_CAP + 1) / 2;
    leaf *r = new_leaf(t);
    memcpy(l->it, all, keep * ISZ);
    l->n = keep;
    r->n = LEAF_CAP + 1 - keep;
    memcpy(r->it, all + keep * ISZ, r->n * ISZ);
    link_right(t, &p, t->height, r, l->n, r->n, key_at(t, r, 0), (uintptr_t)get_at(r->it, 0));
}

/* A root with one child gives way to it, as many times as needed. */
static void collapse_root(ostree *t) {
    while (t->height > 0 && ((inner *)t->root)->n <= 1) {
        inner *root = t->root;
        t->root = root->n ? root->ch[0] : NULL;
        t->height = root->n ? t->height - 1 : 0;
        free_node(t, root, 0);
    }
}

/* Child i of par, an inner node under a quarter full, goes into a neighbour when both fit
 * in three quarters of a node; returns 1 if it was merged so. */
static int merge_inner(ostree *t, inner *par, unsigned i) {
    inner *in = par->ch[i];
    unsigned room = FAN * 3 / 4;
    if (i > 0 && ((inner *)par->ch[i - 1])->n + in->n <= room) {
        inner *left = par->ch[i - 1];
        in->sk[0] = par->sk[i];
        in->sa[0] = par->sa[i];
        inner_append(left, in, 0, in->n);
        par->cnt[i - 1] += par->cnt[i];
        inner_delete(par, i);
        free_node(t, in, 0);
        return 1;
    }
    if (i + 1 < par->n && ((inner *)par->ch[i + 1])->n + in->n <= room) {
        inner *right = par->ch[i + 1];
        right->sk[0] = par->sk[i + 1];
        right->sa[0] = par->sa[i + 1];
        inner_append(in, right, 0, right->n);
        par->cnt[i] += par->cnt[i + 1];
        inner_delete(par, i + 1);
        free_node(t, right, 0);
        return 1;
    }
    return 0;
}

/* Merges inner node d of the path (under a quarter full) into a neighbour when both fit in
 * three quarters of a node, unlinks it when empty, and collapses a one-child root; goes on
 * up the path while parents underflow in turn. */
static void settle_inner(ostree *t, path *p, unsigned d) {
    for (; d > 0; d--) {
        inner *in = p->n[d];
        inner *par = p->n[d - 1];
        unsigned i = p->i[d - 1];
        if (in->n == 0) {
            inner_delete(par, i);
            free_node(t, in, 0);
        } else if (in->n >= FAN / 4 || !merge_inner(t, par, i)) {
            return;
        }
    }
    collapse_root(t);
}

/* Removes the item at position j of leaf l, reached by path p (counts already lowered). */
static void remove_in_leaf(ostree *t, path *p, leaf *l, unsigned j) {
    memmove(IT(l, j), IT(l, j + 1), (l->n - j - 1) * ISZ);
    l->n--;
    t->len--;
    unsigned d = t->height;
    if (d == 0) {
        if (l->n == 0) {
            free_node(t, l, 1);
            t->root = NULL;
        }
        return;
    }
    inner *par = p->n[d - 1];
    unsigned i = p->i[d - 1];
    if (l->n == 0) {
        inner_delete(par, i);
        free_node(t, l, 1);
    } else if (l->n < LEAF_CAP / 4) {
        unsigned room = LEAF_CAP * 3 / 4;
        if (i > 0 && ((leaf *)par->ch[i - 1])->n + l->n <= room) {
            leaf *left = par->ch[i - 1];
            memcpy(IT(left, left->n), l->it, l->n * ISZ);
            left->n += l->n;
            par->cnt[i - 1] += par->cnt[i];
            inner_delete(par, i);
            free_node(t, l, 1);
        } else if (i + 1 < par->n && ((leaf *)par->ch[i + 1])->n + l->n <= room) {
            leaf *right = par->ch[i + 1];
            memcpy(IT(l, l->n), right->it, right->n * ISZ);
            l->n += right->n;
            par->cnt[i] += par->cnt[i + 1];
            inner_delete(par, i + 1);
            free_node(t, right, 1);
        } else {
            return;
        }
    } else {
        return;
    }
    settle_inner(t, p, d - 1);
}

void ostree_remove(ostree *t, void *item) {
    ostree_remove_key(t, item, t->key_of(item));
}

void ostree_remove_key(ostree *t, void *item, int64_t k) {
    uintptr_t a = (uintptr_t)item;
    path p;
    void *node = t->root;
    assert(node && "ostree_remove: empty tree");
    for (unsigned d = 0; d < t->height; d++) {
        inner *in = node;
        unsigned i = child_for(in, k, a);
        assert(in->cnt[i] > 0);
        in->cnt[i]--;
        p.n[d] = in;
        p.i[d] = i;
        node = in->ch[i];
    }
    leaf *l = node;
    /* A scan of the leaf's low words (4 bytes a step) and the whole pointer where one
     * matches: reading items' keys for a binary search would miss the cache up to 7 times. */
    uint32_t want = (uint32_t)a;
    unsigned j = 0;
    while (j < l->n && (low_at(l->it, j) != want || get_at(l->it, j) != item))
        j++;
    assert(j < l->n && "ostree_remove: item not filed (or its key changed)");
    remove_in_leaf(t, &p, l, j);
}

void *ostree_min(const ostree *t) {
    void *node = t->root;
    if (!node) return NULL;
    for (unsigned d = 0; d < t->height; d++)
        node = ((inner *)node)->ch[0];
    return get_at(((leaf *)node)->it, 0);
}

void *ostree_max(const ostree *t) {
    void *node = t->root;
    if (!node) return NULL;
    for (unsigned d = 0; d < t->height; d++) {
        inner *in = node;
        node = in->ch[in->n - 1];
    }
    leaf *l = node;
    return get_at(l->it, l->n - 1);
}

void *ostree_pop_min(ostree *t) {
    void *node = t->root;
    if (!node) return NULL;
    path p;
    for (unsigned d = 0; d < t->height; d++) {
        inner *in = node;
        in->cnt[0]--;
        p.n[d] = in;
        p.i[d] = 0;
        node = in->ch[0];
    }
    leaf *l = node;
    void *item = get_at(l->it, 0);
    remove_in_leaf(t, &p, l, 0);
    return item;
}

size_t ostree_count_le(const ostree *t, int64_t bound) {
    const void *node = t->root;
    if (!node) return 0;
    size_t acc = 0;
    for (unsigned d = 0; d < t->height; d++) {
        const inner *in = node;
        unsigned i = child_for(in, bound, UINTPTR_MAX);
        acc += sum_counts(in, 0, i);
        node = in->ch[i];
    }
    const leaf *l = node;
    /* The first position whose key is > bound. */
    unsigned lo = 0, hi = l->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (key_at(t, l, mid) > bound)
            hi = mid;
        else
            lo = mid + 1;
    }
    return acc + lo;
}

void *ostree_at(const ostree *t, size_t r) {
    assert(r < t->len);
    const void *node = t->root;
    for (unsigned d = 0; d < t->height; d++) {
        const inner *in = node;
        unsigned i = 0;
        while (r >= in->cnt[i]) {
            r -= in->cnt[i];
            i++;
        }
        node = in->ch[i];
    }
    return get_at(((const leaf *)node)->it, r);
}

/* ---- invariant check (tests) --------------------------------------------------------- */

typedef struct check_state {
    const ostree *t;
    int have_prev;
    int64_t pk;
    uintptr_t pa;
    size_t items, bytes;
} check_state;

/* Checks the subtree at node (levels inner levels above its leaves) whose items must be >=
 * (lk, la) when has_lo; returns its item count, or a negative code. */
/* Checks a leaf's items against the previous item and the lower bound; returns its count
 * or a negative code. */
static long long check_leaf(check_state *st, const leaf *l, int has_lo, int64_t lk, uintptr_t la) {
    st->bytes += sizeof(leaf);
    if (l->n == 0 || l->n > LEAF_CAP) return -1;
    for (unsigned j = 0; j < l->n; j++) {
        int64_t k = key_at(st->t, l, j);
        uintptr_t a = (uintptr_t)get_at(l->it, j);
        if (st->have_prev && !before(st->pk, st->pa, k, a)) return -2;
        if (has_lo && before(k, a, lk, la)) return -3;
        st->have_prev = 1;
        st->pk = k;
        st->pa = a;
    }
    st->items += l->n;
    return l->n;
}

static long long check_node(check_state *st, const void *node, unsigned levels, int has_lo,
                            int64_t lk, uintptr_t la) {
    if (levels == 0) return check_leaf(st, node, has_lo, lk, la);
    const inner *in = node;
    st->bytes += sizeof(inner);
    if (in->n == 0 || in->n > FAN) return -4;
    long long total = 0;
    for (unsigned i = 0; i < in->n; i++) {
        int lo = i > 0 ? 1 : has_lo;
        int64_t k = i > 0 ? in->sk[i] : lk;
        uintptr_t a = i > 0 ? in->sa[i] : la;
        if (i > 0 && st->have_prev && !before(st->pk, st->pa, k, a)) return -5;
        long long n = check_node(st, in->ch[i], levels - 1, lo, k, a);
        if (n < 0) return n;
        if ((size_t)n != in->cnt[i]) return -6;
        total += n;
    }
    return total;
}

int ostree_check(const ostree *t) {
    if (!t->root) return t->len == 0 && t->height == 0 && t->bytes == 0 ? 0 : -7;
    check_state st = {t, 0, 0, 0, 0, 0};
    long long n = check_node(&st, t->root, t->height, 0, 0, 0);
    if (n < 0) return (int)n;
    if ((size_t)n != t->len) return -8;
    if (st.bytes != t->bytes) return -9;
    if (t->height > 0 && ((const inner *)t->root)->n < 2) return -10;
    return 0;
}
