/* mem: the one allocator module. Only mem.c knows jemalloc.
 *
 * Allocation never fails: on out-of-memory the process prints a message and aborts,
 * so callers never check for NULL. maxmemory is enforced by policy before a write. */
#ifndef MAYFLY_UTIL_MEM_H
#define MAYFLY_UTIL_MEM_H

#include <stddef.h>

/* Sets the allocator up for a server loop (call once at start-up, before big blocks are
 * freed): no freed block, however large, is returned to the OS inside free() on the
 * calling thread; jemalloc's background thread does it by decay. */
void mem_init(void);
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

/* Large arrays that grow and shrink by doubling (the expiry index's heap): pages of their
 * own (mmap), resized by mremap, which moves page table entries instead of copying the
 * contents (a realloc from 40 to 80 MB copies 40 MB in one call). Resizes p, a mapping of
 * old_bytes made here (NULL and 0: a new one), to new_bytes (0: unmaps it; returns NULL);
 * the first min(old, new) bytes are kept, the rest is zero. Counted in mem_used. */
void *mem_map_resize(void *p, size_t old_bytes, size_t new_bytes);

typedef struct mem_stats {
    size_t allocated;      /* bytes the application holds (jemalloc stats.allocated) */
    size_t active;         /* bytes in active pages */
    size_t resident;       /* bytes resident in allocator-owned pages */
    size_t retained;       /* bytes retained by the allocator, not returned to the OS */
    size_t muzzy;          /* bytes in pages purged lazily (MADV_FREE), still resident */
    const char *allocator; /* "jemalloc-5.3.0" or "libc" */
} mem_stats;

/* The bytes the process holds through the allocator right now (INFO used_memory; what
 * maxmemory is checked against), cheap enough to read before every command: with jemalloc,
 * the sum over the registered threads of jemalloc's own per-thread counters of bytes
 * allocated less bytes freed (no statistics refresh, no lock); without it, a counter of
 * the blocks allocated through this module. Call it from the main thread only (its first
 * call registers that thread, see mem_thread_register). */
size_t mem_used(void);
/* Adds the calling thread's counters to mem_used. The thread calling mem_used is registered
 * by its first call; a thread that frees blocks other threads allocated (lazy freeing)
 * registers itself, else the memory it frees would stay counted. At most MEM_THREADS_MAX
 * threads; registering twice has no effect. */
#define MEM_THREADS_MAX 8
void mem_thread_register(void);
/* Removes the calling thread's counters, keeping their balance in mem_used; call it
 * before the thread ends, while the main thread waits for it (joins): mem_used reads the
 * counters without a lock. */
void mem_thread_unregister(void);

/* Fills *out (OUT) with the allocator's current figures. */
void mem_get_stats(mem_stats *out);
/* The process resident set size in bytes, from /proc (0 if unknown). */
size_t mem_rss(void);
/* Asks the allocator to return unused pages to the OS; returns 0, or -1 if it failed (MEMORY
 * PURGE's "Error purging dirty pages"). */
int mem_purge(void);
/* Flushes the calling thread's cache of freed blocks back to the allocator's arenas (a
 * thread that frees in bulk, so the pages can be purged). */
void mem_flush_thread_cache(void);
/* Calls write(text, ctx) with pieces of the allocator's statistics report (MEMORY
 * MALLOC-STATS); returns 0, or -1 when the allocator has none (libc). */
int mem_stats_report(void (*write)(const char *text, void *ctx), void *ctx);

#endif
