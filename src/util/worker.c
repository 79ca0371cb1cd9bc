/* worker: one background thread that runs jobs off a queue (util/prezero's zeroing,
 * evict/lazyfree's freeing).
 *
 *     owner: worker_submit(w, j) ──▶ queue (mutex, FIFO) ──▶ thread: j->run(j)
 *            worker_stop(w, NULL)      the thread runs what is queued, then exits
 *            worker_stop(w, leftover)  it exits after the job at hand; the rest go back
 *
 * A job is a struct worker_job embedded in the user's own; what it does, and who frees
 * it, is the user's business. The thread registers with util/mem, since it frees memory
 * the loop thread allocated. */
#include "mayfly/util/worker.h"

#include "mayfly/util/mem.h"

#include <stddef.h>

static worker_job *next_job(worker *w) {
    uv_mutex_lock(&w->lock);
    while (!w->head && !w->stopping)
        uv_cond_wait(&w->wake, &w->lock);
    worker_job *j = (w->stopping && !w->drain) ? NULL : w->head;
    if (j) {
        w->head = j->next;
        if (!w->head) w->tail = NULL;
    }
    uv_mutex_unlock(&w->lock);
    return j;
}

static void run(void *arg) {
    worker *w = arg;
    mem_thread_register();
    for (worker_job *j; (j = next_job(w));)
        j->run(j);
    mem_thread_unregister();
}

int worker_start(worker *w) {
    if (atomic_load(&w->running)) return 0;
    uv_mutex_init(&w->lock);
    uv_cond_init(&w->wake);
    w->head = w->tail = NULL;
    w->stopping = 0;
    if (uv_thread_create(&w->thread, run, w) != 0) {
        uv_cond_destroy(&w->wake);
        uv_mutex_destroy(&w->lock);
        return -1;
    }
    atomic_store(&w->running, 1);
    return 0;
}

int worker_running(const worker *w) {
    return atomic_load(&w->running);
}

int worker_submit(worker *w, worker_job *j) {
    if (!atomic_load(&w->running)) return -1;
    j->next = NULL;
    uv_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    uv_cond_signal(&w->wake);
    uv_mutex_unlock(&w->lock);
    return 0;
}

void worker_stop(worker *w, void (*leftover)(worker_job *j)) {
    if (!atomic_load(&w->running)) return;
    atomic_store(&w->running, 0); /* new jobs stay with their owners */
    uv_mutex_lock(&w->lock);
    w->stopping = 1;
    w->drain = leftover == NULL;
    uv_cond_signal(&w->wake);
    uv_mutex_unlock(&w->lock);
    uv_thread_join(&w->thread);
    /* Drained, the queue is empty; otherwise these were never picked up. */
    for (worker_job *j = leftover ? w->head : NULL, *next; j; j = next) {
        next = j->next;
        leftover(j);
    }
    w->head = w->tail = NULL;
    uv_cond_destroy(&w->wake);
    uv_mutex_destroy(&w->lock);
}
