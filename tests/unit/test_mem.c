/* Unit tests for util/mem: the allocator set-up of mem_init. */
#define _DEFAULT_SOURCE /* mincore */
#include "mayfly/util/mem.h"
#include "test.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Pages of [p, p + len) resident in memory (mincore); len and p page-aligned. */
static size_t resident_pages(void *p, size_t len) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = len / page, count = 0;
    unsigned char *vec = malloc(n);
    if (!vec || mincore(p, len, vec) != 0) {
        free(vec);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        count += vec[i] & 1;
    free(vec);
    return count;
}

/* A freed block of tens of MB (the old bucket array at the end of a rehash) keeps its
 * pages: they are purged later by jemalloc's background thread, not by an madvise inside
 * free() on the loop thread (jemalloc 5.3's arena 0 did that from 8 MB up). */
TEST(big_free_is_not_purged_inline) {
    mem_stats st;
    mem_get_stats(&st);
    if (strncmp(st.allocator, "jemalloc", 8) != 0) {
        printf("SKIP: big_free_is_not_purged_inline needs jemalloc (allocator %s)\n", st.allocator);
        return;
    }
    mem_init();
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t mb = 8; mb <= 64; mb *= 2) {
        size_t len = mb << 20;
        char *p = mem_alloc(len);
        memset(p, 1, len);
        uintptr_t lo = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
        uintptr_t hi = ((uintptr_t)p + len) & ~(uintptr_t)(page - 1);
        size_t pages = (hi - lo) / page;
        ASSERT_EQ(pages, resident_pages((void *)lo, hi - lo));
        mem_free(p);
        /* Decay would purge a little of it within the first seconds at most. */
        size_t kept = resident_pages((void *)lo, hi - lo);
        if (kept < pages / 2)
            TEST_FAIL("%zu MB block: %zu of %zu pages resident after free", mb, kept, pages);
    }
}

int main(void) {
    RUN(big_free_is_not_purged_inline);
    return test_report();
}
