/* mem: the one allocator module. Only mem.c knows jemalloc.
 *
 * Allocation never fails: on out-of-memory the process prints a message and aborts,
 * so callers never check for NULL. maxmemory is enforced by policy before a write. */
#ifndef MAYFLY_UTIL_MEM_H
#define MAYFLY_UTIL_MEM_H

#include <stddef.h>

/* Returns an owned block of at least size bytes (size 0 gives a unique small block). */
void *mem_alloc(size_t size);
/* Like mem_alloc, zero-filled. */
void *mem_calloc(size_t count, size_t size);
/* Resizes ptr (which may be NULL); returns the possibly moved block. */
void *mem_realloc(void *ptr, size_t size);
/* Frees ptr; mem_free(NULL) does nothing. */
void mem_free(void *ptr);
/* Returns an owned copy of len bytes of p, NUL-terminated. */
char *mem_strndup(const char *p, size_t len);
/* Returns an owned copy of the C string s. */
char *mem_strdup(const char *s);
/* The usable size of an allocated block (its size class). */
size_t mem_usable(const void *ptr);

typedef struct mem_stats {
    size_t allocated;      /* bytes the application holds (jemalloc stats.allocated) */
    size_t active;         /* bytes in active pages */
    size_t resident;       /* bytes resident in allocator-owned pages */
    size_t retained;       /* bytes retained by the allocator, not returned to the OS */
    const char *allocator; /* "jemalloc-5.3.0" or "libc" */
} mem_stats;

/* Fills *out (OUT) with the allocator's current figures. */
void mem_get_stats(mem_stats *out);
/* The process resident set size in bytes, from /proc (0 if unknown). */
size_t mem_rss(void);
/* Asks the allocator to return unused pages to the OS. */
void mem_purge(void);

#endif
