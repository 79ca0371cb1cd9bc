/* fsync_thread: a queue of fsync/close jobs and the thread that runs them; see the header.
 *
 *     loop ──submit──▶ jobs[head..tail) ──▶ thread: fsync, maybe close, running--
 *
 * One mutex guards the ring and the counters; the thread sleeps on a condition variable. */
#include "persist/fsync_thread_int.h"

#include <errno.h>
#include <unistd.h>
#include <uv.h>

#define QUEUE_CAP 64

typedef struct job {
    int fd;
    int close_after;
} job;

static uv_thread_t thread;
static uv_mutex_t lock;
static uv_cond_t wake, idle;
static job jobs[QUEUE_CAP];
static int head, count, running, started, last_error;

static void run(void *arg) {
    (void)arg;
    for (;;) {
        uv_mutex_lock(&lock);
        while (count == 0)
            uv_cond_wait(&wake, &lock);
        job j = jobs[head];
        head = (head + 1) % QUEUE_CAP;
        count--;
        running = 1;
        uv_mutex_unlock(&lock);

        int rc = fdatasync(j.fd);
        int err = rc < 0 ? errno : 0;
        if (j.close_after) close(j.fd);

        uv_mutex_lock(&lock);
        running = 0;
        if (err && err != EINVAL) last_error = err;
        if (count == 0) uv_cond_broadcast(&idle);
        uv_mutex_unlock(&lock);
    }
}

void fsync_thread_start(void) {
    if (started) return;
    uv_mutex_init(&lock);
    uv_cond_init(&wake);
    uv_cond_init(&idle);
    if (uv_thread_create(&thread, run, NULL) == 0) started = 1;
}

void fsync_thread_submit(int fd, int close_after) {
    if (started) {
        uv_mutex_lock(&lock);
        if (count < QUEUE_CAP) {
            jobs[(head + count) % QUEUE_CAP] = (job){fd, close_after};
            count++;
            uv_cond_signal(&wake);
            uv_mutex_unlock(&lock);
            return;
        }
        uv_mutex_unlock(&lock);
    }
    /* No thread or a full queue: do it here rather than lose it. */
    if (fdatasync(fd) < 0 && errno != EINVAL) last_error = errno;
    if (close_after) close(fd);
}

int fsync_thread_pending(void) {
    if (!started) return 0;
    uv_mutex_lock(&lock);
    int n = count + running;
    uv_mutex_unlock(&lock);
    return n;
}

int fsync_thread_take_error(void) {
    if (!started) {
        int e = last_error;
        last_error = 0;
        return e;
    }
    uv_mutex_lock(&lock);
    int e = last_error;
    last_error = 0;
    uv_mutex_unlock(&lock);
    return e;
}

void fsync_thread_drain(void) {
    if (!started) return;
    uv_mutex_lock(&lock);
    while (count > 0 || running)
        uv_cond_wait(&idle, &lock);
    uv_mutex_unlock(&lock);
}
