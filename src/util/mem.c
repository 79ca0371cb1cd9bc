/* mem: allocation wrappers over jemalloc (or libc malloc in sanitizer builds).
 *
 * With MAYFLY_JEMALLOC, jemalloc is linked in and replaces malloc for the whole process
 * (libuv and libc allocations included), so its statistics cover everything. Without it
 * (sanitizer builds) the figures come from a counter of the blocks allocated here.
 *
 * mem_used, the figure maxmemory is checked against before every command, must cost a few
 * loads: jemalloc's stats.allocated needs an "epoch" refresh that merges every arena's
 * statistics under their locks. Instead each thread that may allocate or free in bulk
 * registers the addresses of jemalloc's per-thread byte counters (thread.allocatedp and
 * thread.deallocatedp, kept by jemalloc on its fast path anyway), and mem_used sums
 * allocated - deallocated over them, plus the balance left by threads that unregistered:
 *
 *     threads[0] main:     allocated 900 MB, deallocated 300 MB  ─┐
 *     threads[1] lazyfree: allocated   0 MB, deallocated 200 MB  ─┼─▶ mem_used = 400 MB
 *     retired: 0                                                  ─┘
 *
 * A thread that frees blocks another allocated has a negative balance: the sum is right,
 * not each term. */
#include "mayfly/util/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <uv.h>

#ifdef MAYFLY_JEMALLOC
#include <jemalloc/jemalloc.h>
/* jemalloc reads this at its initialisation (the MALLOC_CONF environment variable can
 * still override it):
 *  - oversize_threshold:0: by default blocks of 8 MB and more (a big dict's bucket array,
 *    a big hash's deadline heap) live in a separate arena whose freed pages are returned
 *    to the OS at once, inside free(): freeing the old 64 MB bucket array at the end of a
 *    rehash stalled the loop for about 10 ms. Here they are ordinary large blocks, whose
 *    pages are returned by decay like any others. That alone is not enough: see mem_init.
 *  - background_thread:true: decay purging runs on jemalloc's own thread instead of
 *    inside malloc/free calls on the loop thread (Redis's jemalloc-bg-thread, on by
 *    default there too). */
const char *malloc_conf = "oversize_threshold:0,background_thread:true";
#else
#include <malloc.h>
/* Bytes allocated through this module (sanitizer builds); atomic, as the lazy-free thread
 * frees too. */
static _Atomic long long libc_used;
#endif

typedef struct thread_counters {
    const uint64_t *allocated; /* jemalloc's thread.allocatedp of the thread */
    const uint64_t *deallocated;
    uv_thread_t id;
} thread_counters;

static thread_counters threads[MEM_THREADS_MAX];
static _Atomic int nthreads;
static _Atomic long long retired; /* balance of the threads that unregistered */
static _Atomic long long mapped;  /* bytes of the mappings of mem_map_resize */
static uv_mutex_t threads_lock;
static uv_once_t threads_once = UV_ONCE_INIT;
static _Thread_local int registered_here; /* the calling thread is in threads[] */

static void init_threads_lock(void) {
    uv_mutex_init(&threads_lock);
}

static void oom(size_t size) {
    fprintf(stderr, "mayfly: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void mem_init(void) {
#ifdef MAYFLY_JEMALLOC
    /* Each arena also has its own copy of the threshold, above which a freed block is
     * purged at once, inside free(), instead of by decay. jemalloc 5.3 creates arena 0
     * (the main thread's) before it reads oversize_threshold:0, so arena 0 keeps the
     * default 8 MB: every freed block of 8 MB or more was madvise(MADV_DONTNEED)-ed on
     * the loop thread (measured: the old 64 MB bucket array at the end of the key table's
     * rehash, a loop turn of 16 ms of CPU). A threshold no block reaches turns that off
     * in the arenas that exist; arenas created later take the global value, which
     * oversize_threshold:0 already set out of reach. */
    unsigned narenas = 0;
    size_t sz = sizeof(narenas);
    if (mallctl("arenas.narenas", &narenas, &sz, NULL, 0) != 0) return;
    size_t never = SIZE_MAX;
    for (unsigned i = 0; i < narenas; i++) {
        char name[48];
        snprintf(name, sizeof(name), "arena.%u.oversize_threshold", i);
        /* Fails harmlessly (EFAULT) for an arena not created yet. */
        mallctl(name, NULL, NULL, &never, sizeof(never));
    }
#endif
}

void *mem_alloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
#ifndef MAYFLY_JEMALLOC
    atomic_fetch_add_explicit(&libc_used, (long long)malloc_usable_size(p), memory_order_relaxed);
#endif
    return p;
}

void *mem_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
#ifndef MAYFLY_JEMALLOC
    atomic_fetch_add_explicit(&libc_used, (long long)malloc_usable_size(p), memory_order_relaxed);
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
    atomic_fetch_add_explicit(&libc_used, (long long)malloc_usable_size(p) - (long long)old,
                              memory_order_relaxed);
#endif
    return p;
}

void mem_free(void *ptr) {
    if (!ptr) return;
#ifndef MAYFLY_JEMALLOC
    atomic_fetch_sub_explicit(&libc_used, (long long)malloc_usable_size(ptr), memory_order_relaxed);
#endif
    free(ptr);
}

void *mem_map_resize(void *p, size_t old_bytes, size_t new_bytes) {
    void *q = NULL;
    if (new_bytes == 0) {
        if (p) munmap(p, old_bytes);
    } else if (!p) {
        q = mmap(NULL, new_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else {
        q = mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE);
    }
    if (q == MAP_FAILED) oom(new_bytes);
    atomic_fetch_add_explicit(&mapped, (long long)new_bytes - (long long)(p ? old_bytes : 0),
                              memory_order_relaxed);
    return q;
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
    size_t pmuzzy = 0, page = 0;
    sz = sizeof(size_t);
    if (mallctl("stats.arenas.4096.pmuzzy", &pmuzzy, &sz, NULL, 0) == 0 &&
        mallctl("arenas.page", &page, &sz, NULL, 0) == 0)
        out->muzzy = pmuzzy * page;
    const char *version = "unknown";
    size_t vsz = sizeof(version);
    mallctl("version", &version, &vsz, NULL, 0);
    static char name[64];
    snprintf(name, sizeof(name), "jemalloc-%.*s", (int)strcspn(version, "-"), version);
    out->allocator = name;
#else
    long long used = atomic_load_explicit(&libc_used, memory_order_relaxed);
    out->allocated = used > 0 ? (size_t)used : 0;
    out->active = out->allocated;
    out->resident = out->allocated;
    out->allocator = "libc";
#endif
}

void mem_thread_register(void) {
    if (registered_here) return;
    uv_once(&threads_once, init_threads_lock);
    uv_thread_t self = uv_thread_self();
    uv_mutex_lock(&threads_lock);
    int n = atomic_load(&nthreads);
    for (int i = 0; i < n; i++) {
        if (uv_thread_equal(&threads[i].id, &self)) {
            uv_mutex_unlock(&threads_lock);
            return;
        }
    }
    if (n < MEM_THREADS_MAX) {
        thread_counters *t = &threads[n];
        t->id = self;
        t->allocated = t->deallocated = NULL;
#ifdef MAYFLY_JEMALLOC
        uint64_t *p = NULL;
        size_t sz = sizeof(p);
        if (mallctl("thread.allocatedp", &p, &sz, NULL, 0) == 0) t->allocated = p;
        sz = sizeof(p);
        if (mallctl("thread.deallocatedp", &p, &sz, NULL, 0) == 0) t->deallocated = p;
#endif
        atomic_store(&nthreads, n + 1);
        registered_here = 1;
    }
    uv_mutex_unlock(&threads_lock);
}

/* The byte balance of one registered thread. */
static long long balance_of(const thread_counters *t) {
    if (!t->allocated || !t->deallocated) return 0;
    return (long long)(__atomic_load_n(t->allocated, __ATOMIC_RELAXED) -
                       __atomic_load_n(t->deallocated, __ATOMIC_RELAXED));
}

void mem_thread_unregister(void) {
    uv_once(&threads_once, init_threads_lock);
    uv_thread_t self = uv_thread_self();
    uv_mutex_lock(&threads_lock);
    int n = atomic_load(&nthreads);
    for (int i = 0; i < n; i++) {
        if (!uv_thread_equal(&threads[i].id, &self)) continue;
        atomic_fetch_add(&retired, balance_of(&threads[i]));
        threads[i] = threads[n - 1];
        atomic_store(&nthreads, n - 1);
        registered_here = 0;
        break;
    }
    uv_mutex_unlock(&threads_lock);
}

size_t mem_used(void) {
#ifdef MAYFLY_JEMALLOC
    if (!registered_here) mem_thread_register();
    int n = atomic_load_explicit(&nthreads, memory_order_acquire);
    long long sum = atomic_load_explicit(&retired, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        sum += balance_of(&threads[i]);
    sum += atomic_load_explicit(&mapped, memory_order_relaxed);
    return sum > 0 ? (size_t)sum : 0;
#else
    long long used = atomic_load_explicit(&libc_used, memory_order_relaxed) +
                     atomic_load_explicit(&mapped, memory_order_relaxed);
    return used > 0 ? (size_t)used : 0;
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

int mem_purge(void) {
#ifdef MAYFLY_JEMALLOC
    /* 4096 is MALLCTL_ARENAS_ALL: every arena. */
    return mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0 ? 0 : -1;
#else
    return 0;
#endif
}

void mem_flush_thread_cache(void) {
#ifdef MAYFLY_JEMALLOC
    /* Fails harmlessly when the thread has no cache. */
    mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
#endif
}

#ifdef MAYFLY_JEMALLOC
struct report_ctx {
    void (*write)(const char *text, void *ctx);
    void *ctx;
};

static void report_piece(void *arg, const char *text) {
    struct report_ctx *r = arg;
    r->write(text, r->ctx);
}
#endif

int mem_stats_report(void (*write)(const char *text, void *ctx), void *ctx) {
#ifdef MAYFLY_JEMALLOC
    struct report_ctx r = {write, ctx};
    malloc_stats_print(report_piece, &r, NULL);
    return 0;
#else
    (void)write;
    (void)ctx;
    return -1;
#endif
}
