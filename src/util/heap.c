/* heap: storage of the binary min-heap; the sifts are generated per element type by
 * HEAP_GENERATE (heap.h), so that key reads and position updates inline.
 *
 * The array doubles when full and halves when under a quarter full. From HEAP_MAP_MIN
 * slots (1 MB of pointers) up it is a mapping of its own, resized by mremap
 * (mem_map_resize): the kernel moves the pages, nothing is copied, so pushing the ten
 * millionth owner does not copy 40 MB inside one command. Below that it is an ordinary
 * block (a realloc copies at most 512 KB); the step between the two copies that much. */
#include "mayfly/util/heap.h"

#include "mayfly/util/mem.h"

#include <string.h>

#define HEAP_FIRST_CAP 8
#define HEAP_TRIM_ABOVE 64

static inline int is_mapped(size_t cap) {
    return cap >= HEAP_MAP_MIN;
}

/* Moves the array to cap slots (len stay), mapped or not by its size. */
static void set_cap(heap *h, size_t cap) {
    size_t old = h->cap * sizeof(*h->a), want = cap * sizeof(*h->a);
    if (is_mapped(h->cap) && is_mapped(cap)) {
        h->a = mem_map_resize(h->a, old, want);
    } else if (!is_mapped(h->cap) && !is_mapped(cap)) {
        h->a = mem_realloc(h->a, want);
    } else {
        void **a = is_mapped(cap) ? mem_map_resize(NULL, 0, want) : mem_alloc(want);
        if (h->len) memcpy(a, h->a, h->len * sizeof(*h->a));
        if (is_mapped(h->cap))
            mem_map_resize(h->a, old, 0);
        else
            mem_free(h->a);
        h->a = a;
    }
    h->cap = cap;
}

void heap_init(heap *h) {
    h->a = NULL;
    h->len = 0;
    h->cap = 0;
}

void heap_init_sized(heap *h, size_t len, size_t cap) {
    heap_init(h);
    if (cap == 0) return;
    set_cap(h, cap);
    h->len = len;
}

void heap_deinit(heap *h) {
    if (is_mapped(h->cap))
        mem_map_resize(h->a, h->cap * sizeof(*h->a), 0);
    else
        mem_free(h->a);
    heap_init(h);
}

void heap_reserve(heap *h) {
    if (h->len < h->cap) return;
    set_cap(h, h->cap ? h->cap * 2 : HEAP_FIRST_CAP);
}

void heap_trim(heap *h) {
    if (h->len == 0) {
        heap_deinit(h);
        return;
    }
    size_t cap = h->cap;
    while (cap > HEAP_TRIM_ABOVE && h->len < cap / 4)
        cap /= 2;
    if (cap != h->cap) set_cap(h, cap);
}
