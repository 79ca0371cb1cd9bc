/* prezero: one background thread that zeroes the big new arrays of growing tables (the
 * next bucket array of dict, otab), so that the loop thread never takes their page faults.
 *
 * A fresh array of tens or hundreds of MB costs one page fault per 4 KB page at its first
 * write (~2-3 us on this class of VM, and up to ~0.5 ms now and then when the hypervisor
 * must back the page); the tables used to zero it a page per few adds on the loop thread,
 * ~30 faults in each millisecond of SETs while a 128 MB array was prepared. Here the owner
 * hands the array to the thread and keeps using its old table meanwhile (the tables'
 * "prepare" phase), polling prezero_step until every page is zero:
 *
 *     owner: prezero_begin(p) ──▶ queue (mutex) ──▶ thread: claim page i, memset, done++
 *            prezero_step(z, k, help): claims pages itself only without a thread or if help
 *            prezero_end(z): claims the rest away, waits for a page in flight, drops its ref
 *
 * Pages are claimed one at a time from an atomic counter, by the thread and, when the
 * thread is absent or late, by the owner, so each page is zeroed exactly once; the array
 * is zero when `done` reaches the page count (release/acquire: the owner then sees every
 * zero). A job is freed by whichever of owner and thread drops the last reference, so an
 * owner may end a job the thread has not even picked up yet. The thread and its queue are
 * a util/worker. */
#include "mayfly/util/prezero.h"

#include "mayfly/util/mem.h"
#include "mayfly/util/worker.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

struct prezero {
    worker_job job; /* first: the thread's queue entry */
    char *p;
    size_t len, pages;      /* pages: len / PREZERO_PAGE, rounded up */
    _Atomic size_t claimed; /* pages handed out (may run past `pages`) */
    _Atomic size_t done;    /* pages zeroed */
    _Atomic int refs;       /* owner + the thread while queued or working */
};

static worker zeroer;
static _Atomic size_t by_thread, by_owner;

static void unref(prezero *z) {
    if (atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) == 1) mem_free(z);
}

/* Zeroes pages claimed from z until none is left or `max` are done, counting each in
 * *count before it counts as done (so whoever sees the array done sees the counts). */
static void zero_pages(prezero *z, size_t max, _Atomic size_t *count) {
    for (size_t n = 0; n < max; n++) {
        size_t i = atomic_fetch_add_explicit(&z->claimed, 1, memory_order_relaxed);
        if (i >= z->pages) break;
        size_t off = i * PREZERO_PAGE;
        memset(z->p + off, 0, z->len - off < PREZERO_PAGE ? z->len - off : PREZERO_PAGE);
        atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&z->done, 1, memory_order_release);
    }
}

/* On the thread. */
static void run_job(worker_job *j) {
    prezero *z = (prezero *)j;
    zero_pages(z, SIZE_MAX, &by_thread);
    unref(z);
}

/* A job the thread never picked up: the owner's steps zero it. */
static void drop_job(worker_job *j) {
    unref((prezero *)j);
}

int prezero_thread_start(void) {
    return worker_start(&zeroer);
}

int prezero_thread_running(void) {
    return worker_running(&zeroer);
}

void prezero_thread_stop(void) {
    worker_stop(&zeroer, drop_job);
}

prezero *prezero_begin(void *p, size_t len) {
    prezero *z = mem_alloc(sizeof(*z));
    z->p = p;
    z->len = len;
    z->pages = (len + PREZERO_PAGE - 1) / PREZERO_PAGE;
    atomic_init(&z->claimed, 0);
    atomic_init(&z->done, 0);
    z->job.run = run_job;
    atomic_init(&z->refs, 2); /* the thread's reference, unless it does not run */
    if (worker_submit(&zeroer, &z->job) < 0) atomic_store(&z->refs, 1);
    return z;
}

int prezero_step(prezero *z, size_t pages, int help) {
    if (atomic_load_explicit(&z->done, memory_order_acquire) >= z->pages) return 1;
    if (help || !worker_running(&zeroer)) zero_pages(z, pages, &by_owner);
    return atomic_load_explicit(&z->done, memory_order_acquire) >= z->pages;
}

void prezero_end(prezero *z) {
    if (!z) return;
    size_t c = atomic_exchange_explicit(&z->claimed, z->pages, memory_order_relaxed);
    if (c > z->pages) c = z->pages;
    /* Every page claimed before the exchange is being zeroed or done: wait for it (a
     * single page's memset, unless the thread is preempted in the middle of it). */
    while (atomic_load_explicit(&z->done, memory_order_acquire) < c)
        sched_yield();
    unref(z);
}

size_t prezero_done_bytes(prezero *z) {
    size_t bytes = atomic_load_explicit(&z->done, memory_order_acquire) * PREZERO_PAGE;
    return bytes < z->len ? bytes : z->len;
}

void prezero_counts(size_t *thread_pages, size_t *owner_pages) {
    *thread_pages = atomic_load(&by_thread);
    *owner_pages = atomic_load(&by_owner);
}
