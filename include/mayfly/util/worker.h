/* worker: one background thread that runs jobs off a first-in first-out queue
 * (util/worker.c). util/prezero and evict/lazyfree each own one. */
#ifndef MAYFLY_UTIL_WORKER_H
#define MAYFLY_UTIL_WORKER_H

#include <stdatomic.h>
#include <uv.h>

/* A job, embedded in the user's own struct: run is called on the thread, once, and may
 * free the job. */
typedef struct worker_job {
    void (*run)(struct worker_job *j);
    struct worker_job *next;
} worker_job;

/* A worker; zero-initialised (static storage) until worker_start. */
typedef struct worker {
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t wake;
    worker_job *head, *tail;
    _Atomic int running; /* takes jobs */
    int stopping;
    int drain; /* on stop: run what is queued (1) or hand it back (0) */
} worker;

/* Starts w's thread (once; later calls do nothing). The thread registers with util/mem,
 * so what it frees leaves mem_used. A thread inherits its creator's CPU affinity. Returns
 * 0, or -1 if it could not start (w stays stopped). */
int worker_start(worker *w);
/* 1 while w's thread runs. */
int worker_running(const worker *w);
/* Queues j for w's thread: 0, or -1 when the thread is not running (j stays the
 * caller's). */
int worker_submit(worker *w, worker_job *j);
/* Stops and joins w's thread. With leftover NULL, the thread first runs every job queued;
 * otherwise it stops after the job at hand and each job it never picked up is passed to
 * leftover, in order, on the calling thread. Jobs submitted meanwhile are refused. */
void worker_stop(worker *w, void (*leftover)(worker_job *j));

#endif
