/* heap: storage of the binary min-heap; the sifts are generated per element type by
 * HEAP_GENERATE (heap.h), so that key reads and position updates inline. */
#include "mayfly/util/heap.h"

#include "mayfly/util/mem.h"

#define HEAP_FIRST_CAP 8
#define HEAP_TRIM_ABOVE 64

void heap_init(heap *h) {
    h->a = NULL;
    h->len = 0;
    h->cap = 0;
}

void heap_init_sized(heap *h, size_t len, size_t cap) {
    heap_init(h);
    if (cap == 0) return;
    h->a = mem_alloc(cap * sizeof(*h->a));
    h->len = len;
    h->cap = cap;
}

void heap_deinit(heap *h) {
    mem_free(h->a);
    heap_init(h);
}

void heap_reserve(heap *h) {
    if (h->len < h->cap) return;
    h->cap = h->cap ? h->cap * 2 : HEAP_FIRST_CAP;
    h->a = mem_realloc(h->a, h->cap * sizeof(*h->a));
}

void heap_trim(heap *h) {
    if (h->len == 0) {
        heap_deinit(h);
        return;
    }
    size_t cap = h->cap;
    while (cap > HEAP_TRIM_ABOVE && h->len < cap / 4)
        cap /= 2;
    if (cap != h->cap) {
        h->cap = cap;
        h->a = mem_realloc(h->a, h->cap * sizeof(*h->a));
    }
}
