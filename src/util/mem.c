/* mem: allocation wrappers over jemalloc (or libc malloc in sanitizer builds).
 *
 * With MAYFLY_JEMALLOC, jemalloc is linked in and replaces malloc for the whole process
 * (libuv and libc allocations included), so its statistics cover everything. Without it
 * (sanitizer builds) the figures come from a counter of the blocks allocated here. */
#include "mayfly/util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MAYFLY_JEMALLOC
#include <jemalloc/jemalloc.h>
/* jemalloc reads this at its initialisation (the MALLOC_CONF environment variable can
 * still override it):
 *  - oversize_threshold:0: by default blocks of 8 MB and more (a big dict's bucket array,
 *    a big hash's deadline heap) live in a separate arena whose freed pages are returned
 *    to the OS at once, inside free(): freeing the old 64 MB bucket array at the end of a
 *    rehash stalled the loop for about 10 ms. Here they are ordinary large blocks, whose
 *    pages are returned by decay like any others.
 *  - background_thread:true: decay purging runs on jemalloc's own thread instead of
 *    inside malloc/free calls on the loop thread (Redis's jemalloc-bg-thread, on by
 *    default there too). */
const char *malloc_conf = "oversize_threshold:0,background_thread:true";
#else
#include <malloc.h>
static size_t libc_used; /* bytes allocated through this module (sanitizer builds) */
#endif

static void oom(size_t size) {
    fprintf(stderr, "mayfly: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *mem_alloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
#ifndef MAYFLY_JEMALLOC
    libc_used += malloc_usable_size(p);
#endif
    return p;
}

void *mem_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
#ifndef MAYFLY_JEMALLOC
    libc_used += malloc_usable_size(p);
#endif
    return p;
}

void *mem_realloc(void *ptr, size_t size) {
#ifndef MAYFLY_JEMALLOC
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
#endif
    void *p = realloc(ptr, size ? size : 1);
    if (!p) oom(size);
#ifndef MAYFLY_JEMALLOC
    libc_used += malloc_usable_size(p) - old;
#endif
    return p;
}

void mem_free(void *ptr) {
    if (!ptr) return;
#ifndef MAYFLY_JEMALLOC
    libc_used -= malloc_usable_size(ptr);
#endif
    free(ptr);
}

char *mem_strndup(const char *p, size_t len) {
    char *s = mem_alloc(len + 1);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

char *mem_strdup(const char *s) {
    return mem_strndup(s, strlen(s));
}

size_t mem_usable(const void *ptr) {
#ifdef MAYFLY_JEMALLOC
    return malloc_usable_size((void *)ptr);
#else
    return malloc_usable_size((void *)ptr);
#endif
}

void mem_get_stats(mem_stats *out) {
    memset(out, 0, sizeof(*out));
#ifdef MAYFLY_JEMALLOC
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(size_t);
    mallctl("stats.allocated", &out->allocated, &sz, NULL, 0);
    mallctl("stats.active", &out->active, &sz, NULL, 0);
    mallctl("stats.resident", &out->resident, &sz, NULL, 0);
    mallctl("stats.retained", &out->retained, &sz, NULL, 0);
    const char *version = "unknown";
    size_t vsz = sizeof(version);
    mallctl("version", &version, &vsz, NULL, 0);
    static char name[64];
    snprintf(name, sizeof(name), "jemalloc-%.*s", (int)strcspn(version, "-"), version);
    out->allocator = name;
#else
    out->allocated = libc_used;
    out->active = libc_used;
    out->resident = libc_used;
    out->allocator = "libc";
#endif
}

size_t mem_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long pages = 0, rss = 0;
    int n = fscanf(f, "%lu %lu", &pages, &rss);
    fclose(f);
    return n == 2 ? (size_t)rss * 4096u : 0;
}

void mem_purge(void) {
#ifdef MAYFLY_JEMALLOC
    mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
#endif
}
